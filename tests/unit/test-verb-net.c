/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The parsers of wardenctl's network policy commands (verb-net.c): ports, port ranges and ICMP numbers, and
 * the NetOut rule a{sv} (read back by wardend's own reader).
 */

#include <stdlib.h>

#include "bus-net.h"
#include "bus-pair.h"
#include "firewall.h"
#include "macro.h"
#include "tests.h"
#include "verb-net.h"

TEST(net_port_parse) {
        uint16_t p = 5, first = 5, last = 5;
        bool range = false;

        ASSERT_OK(net_port_parse("0", &p));
        ASSERT_EQ(p, 0);
        ASSERT_OK(net_port_parse("65535", &p));
        ASSERT_EQ(p, 65535);
        p = 5;
        ASSERT_ERROR(net_port_parse("65536", &p), ERANGE);
        ASSERT_ERROR(net_port_parse("-1", &p), EINVAL);
        ASSERT_ERROR(net_port_parse("80x", &p), EINVAL);
        ASSERT_ERROR(net_port_parse("", &p), EINVAL);
        ASSERT_ERROR(net_port_parse(NULL, &p), EINVAL);
        ASSERT_EQ(p, 5);

        ASSERT_OK(net_port_range_parse("80", &first, &last, &range));
        ASSERT_EQ(first, 80);
        ASSERT_EQ(last, 80);
        ASSERT_FALSE(range);
        ASSERT_OK(net_port_range_parse("8000-8080", &first, &last, &range));
        ASSERT_EQ(first, 8000);
        ASSERT_EQ(last, 8080);
        ASSERT_TRUE(range);
        /* the order is wardend's to judge, with its message */
        ASSERT_OK(net_port_range_parse("90-80", &first, &last, &range));
        ASSERT_EQ(first, 90);
        ASSERT_EQ(last, 80);
        first = last = 5;
        range = false;
        ASSERT_ERROR(net_port_range_parse("80-", &first, &last, &range), EINVAL);
        ASSERT_ERROR(net_port_range_parse("-80", &first, &last, &range), EINVAL);
        ASSERT_ERROR(net_port_range_parse("1-2-3", &first, &last, &range), EINVAL);
        ASSERT_ERROR(net_port_range_parse("a-b", &first, &last, &range), EINVAL);
        ASSERT_ERROR(net_port_range_parse("1-65536", &first, &last, &range), ERANGE);
        ASSERT_ERROR(net_port_range_parse("100000-2", &first, &last, &range), ERANGE);
        ASSERT_ERROR(net_port_range_parse("123456789-2", &first, &last, &range), ERANGE);
        ASSERT_ERROR(net_port_range_parse("", &first, &last, &range), EINVAL);
        ASSERT_EQ(first, 5);
        ASSERT_EQ(last, 5);
        ASSERT_FALSE(range);
}

TEST(net_icmp_parse) {
        int32_t v = 5;

        ASSERT_OK(net_icmp_parse("8", &v));
        ASSERT_EQ(v, 8);
        ASSERT_OK(net_icmp_parse("-1", &v));
        ASSERT_EQ(v, -1);
        ASSERT_OK(net_icmp_parse("0", &v));
        ASSERT_EQ(v, 0);
        /* the range (0-255, -1) is wardend's to judge; the type is an int32 */
        ASSERT_OK(net_icmp_parse("2147483647", &v));
        ASSERT_EQ(v, INT32_MAX);
        ASSERT_OK(net_icmp_parse("-2147483648", &v));
        ASSERT_EQ(v, INT32_MIN);
        v = 5;
        ASSERT_ERROR(net_icmp_parse("2147483648", &v), ERANGE);
        ASSERT_ERROR(net_icmp_parse("-2147483649", &v), ERANGE);
        ASSERT_ERROR(net_icmp_parse("", &v), EINVAL);
        ASSERT_ERROR(net_icmp_parse("-", &v), EINVAL);
        ASSERT_ERROR(net_icmp_parse("--1", &v), EINVAL);
        ASSERT_ERROR(net_icmp_parse("+1", &v), EINVAL);
        ASSERT_ERROR(net_icmp_parse("echo", &v), EINVAL);
        ASSERT_ERROR(net_icmp_parse(NULL, &v), EINVAL);
        ASSERT_EQ(v, 5);
}

/* A message with NetOut's a{sv} for 'a', sealed and rewound for reading. */
static sd_bus_message *net_out_message(sd_bus *client, const NetOutArgs *a) {
        sd_bus_message *m = NULL;

        ASSERT_OK(sd_bus_message_new_method_call(client, &m, "org.example", "/", "org.example", "NetOut"));
        ASSERT_OK(net_out_args_append(m, a));
        ASSERT_OK(sd_bus_message_seal(m, 1, 0));
        ASSERT_OK(sd_bus_message_rewind(m, true));
        return m;
}

/* Builds NetOut's a{sv} for 'a' and has wardend's own reader judge it. */
static int read_as_wardend(sd_bus *client, const NetOutArgs *a, NetOutRule *ret, char **ret_message) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = net_out_message(client, a);
        int r;

        r = bus_net_read_net_out_rule(m, ret, &e);
        sd_bus_message_unref(m);
        *ret_message = e.message ? strdup(e.message) : NULL;
        return r;
}

TEST(net_out_rule) {
        sd_bus *server = NULL, *client = NULL;
        NetOutRule rule;
        char *message = NULL;

        ASSERT_OK(bus_pair_new(&server, &client));

        /* only a network: every protocol and port */
        ASSERT_OK(read_as_wardend(client, &(NetOutArgs){ .network = "10.1.0.0/16" }, &rule, &message));
        ASSERT_EQ(rule.kind, NET_NETWORK_CIDR);
        ASSERT_EQ(rule.prefixlen, 16);
        ASSERT_EQ(rule.protocol, NET_PROTOCOL_ALL);
        ASSERT_EQ(rule.port_min, 0);

        /* one port */
        ASSERT_OK(read_as_wardend(
                client,
                &(NetOutArgs){
                        .network = "192.0.2.7", .protocol = "tcp", .port_set = true, .port_first = 443 },
                &rule,
                &message));
        ASSERT_EQ(rule.protocol, NET_PROTOCOL_TCP);
        ASSERT_EQ(rule.port_min, 443);
        ASSERT_EQ(rule.port_max, 443);
        ASSERT_FALSE(rule.port_is_range);

        /* a range goes as port_range */
        ASSERT_OK(read_as_wardend(
                client,
                &(NetOutArgs){ .network = "192.0.2.1-192.0.2.9",
                               .protocol = "udp",
                               .port_set = true,
                               .port_is_range = true,
                               .port_first = 5000,
                               .port_last = 5010 },
                &rule,
                &message));
        ASSERT_EQ(rule.kind, NET_NETWORK_RANGE);
        ASSERT_EQ(rule.protocol, NET_PROTOCOL_UDP);
        ASSERT_TRUE(rule.port_is_range);
        ASSERT_EQ(rule.port_min, 5000);
        ASSERT_EQ(rule.port_max, 5010);

        /* ICMP type and code */
        ASSERT_OK(read_as_wardend(
                client,
                &(NetOutArgs){ .network = "192.0.2.0/24",
                               .protocol = "icmp",
                               .icmp_type_set = true,
                               .icmp_type = 8,
                               .icmp_code_set = true,
                               .icmp_code = 0 },
                &rule,
                &message));
        ASSERT_EQ(rule.protocol, NET_PROTOCOL_ICMP);
        ASSERT_EQ(rule.icmp_type, 8);
        ASSERT_EQ(rule.icmp_code, 0);

        /* what the CLI leaves to wardend is refused by it, with a message */
        ASSERT_ERROR(
                read_as_wardend(
                        client,
                        &(NetOutArgs){ .network = "192.0.2.7", .port_set = true, .port_first = 80 },
                        &rule,
                        &message),
                EINVAL);
        ASSERT_NOT_NULL(message);
        message = mfree(message);
        ASSERT_ERROR(
                read_as_wardend(
                        client,
                        &(NetOutArgs){ .network = "192.0.2.7",
                                       .protocol = "tcp",
                                       .port_set = true,
                                       .port_is_range = true,
                                       .port_first = 90,
                                       .port_last = 80 },
                        &rule,
                        &message),
                EINVAL);
        ASSERT_NOT_NULL(message);
        message = mfree(message);
        ASSERT_ERROR(read_as_wardend(client, &(NetOutArgs){ .protocol = "tcp" }, &rule, &message), EINVAL);
        ASSERT_NOT_NULL(message);
        message = mfree(message);

        sd_bus_close_unref(client);
        sd_bus_close_unref(server);
}

TEST(net_out_keys) {
        sd_bus *server = NULL, *client = NULL;
        sd_bus_message *m;
        const char *key, *s;
        uint16_t a, b;
        int32_t i;

        ASSERT_OK(bus_pair_new(&server, &client));
        /* every key, with its type; nothing that was not given */
        m = net_out_message(
                client,
                &(NetOutArgs){ .network = "10.0.0.1",
                               .protocol = "tcp",
                               .port_set = true,
                               .port_is_range = true,
                               .port_first = 1,
                               .port_last = 2,
                               .icmp_type_set = true,
                               .icmp_type = -1,
                               .icmp_code_set = true,
                               .icmp_code = 3 });
        ASSERT_OK(sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}"));
        ASSERT_EQ(sd_bus_message_read(m, "{sv}", &key, "s", &s), 1);
        ASSERT_STREQ(key, "network");
        ASSERT_STREQ(s, "10.0.0.1");
        ASSERT_EQ(sd_bus_message_read(m, "{sv}", &key, "s", &s), 1);
        ASSERT_STREQ(key, "protocol");
        ASSERT_STREQ(s, "tcp");
        ASSERT_EQ(sd_bus_message_read(m, "{sv}", &key, "(qq)", &a, &b), 1);
        ASSERT_STREQ(key, "port_range");
        ASSERT_EQ(a, 1);
        ASSERT_EQ(b, 2);
        ASSERT_EQ(sd_bus_message_read(m, "{sv}", &key, "i", &i), 1);
        ASSERT_STREQ(key, "icmp_type");
        ASSERT_EQ(i, -1);
        ASSERT_EQ(sd_bus_message_read(m, "{sv}", &key, "i", &i), 1);
        ASSERT_STREQ(key, "icmp_code");
        ASSERT_EQ(i, 3);
        ASSERT_EQ(sd_bus_message_at_end(m, false), 1);
        sd_bus_message_unref(m);

        m = net_out_message(client, &(NetOutArgs){});
        ASSERT_OK(sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}"));
        ASSERT_EQ(sd_bus_message_at_end(m, false), 1);
        sd_bus_message_unref(m);

        sd_bus_close_unref(client);
        sd_bus_close_unref(server);
}
