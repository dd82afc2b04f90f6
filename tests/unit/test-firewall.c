/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The network policy: NetOut rules (parser, validator, state-file form), the nft text of every transaction,
 * the configuration keys, the state file, the NetOut/NetIn argument checks on the real vtables, and — in a
 * network namespace of the test's own — the Firewall queue against the kernel: rebuild, a container's
 * objects, NetIn, NetOut, a refused transaction, the table going with the last container.
 */

#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <unistd.h>
#include <nftables/libnftables.h>

#include "bus-error.h"
#include "bus-manager.h"
#include "bus-net.h"
#include "bus-pair.h"
#include "bus-util.h"
#include "container.h"
#include "firewall.h"
#include "manager-config.h"
#include "manager.h"
#include "manager-fixture.h"
#include "strv.h"
#include "tests.h"

/* ---- rules --------------------------------------------------------------------------------------- */

TEST(network_parse) {
        NetNetworkKind kind;
        uint32_t first, last;
        unsigned p;

        ASSERT_OK(net_network_parse("10.1.2.3", &kind, &first, &last, &p));
        ASSERT_EQ(kind, NET_NETWORK_ADDRESS);
        ASSERT_EQ(first, 0x0a010203);
        ASSERT_EQ(last, 0x0a010203);
        ASSERT_EQ(p, 32);

        ASSERT_OK(net_network_parse("10.0.0.0/8", &kind, &first, &last, &p));
        ASSERT_EQ(kind, NET_NETWORK_CIDR);
        ASSERT_EQ(first, 0x0a000000);
        ASSERT_EQ(last, 0x0affffff);
        ASSERT_EQ(p, 8);

        ASSERT_OK(net_network_parse("10.99.0.3/32", &kind, &first, &last, &p));
        ASSERT_EQ(first, last);
        ASSERT_EQ(p, 32);
        ASSERT_OK(net_network_parse("0.0.0.0/0", &kind, &first, &last, &p));
        ASSERT_EQ(first, 0);
        ASSERT_EQ(last, UINT32_MAX);

        ASSERT_OK(net_network_parse("10.0.0.1-10.0.0.9", &kind, &first, &last, &p));
        ASSERT_EQ(kind, NET_NETWORK_RANGE);
        ASSERT_EQ(first, 0x0a000001);
        ASSERT_EQ(last, 0x0a000009);
        ASSERT_OK(net_network_parse("10.0.0.1-10.0.0.1", &kind, &first, &last, &p));

        ASSERT_ERROR(net_network_parse("10.0.0.1/8", &kind, &first, &last, &p), EINVAL); /* host bits */
        ASSERT_ERROR(net_network_parse("10.0.0.0/33", &kind, &first, &last, &p), EINVAL);
        ASSERT_ERROR(net_network_parse("10.0.0.9-10.0.0.1", &kind, &first, &last, &p), EINVAL);
        ASSERT_ERROR(net_network_parse("10.0.0.1-", &kind, &first, &last, &p), EINVAL);
        ASSERT_ERROR(net_network_parse("-10.0.0.1", &kind, &first, &last, &p), EINVAL);
        ASSERT_ERROR(net_network_parse("10.0.0.256", &kind, &first, &last, &p), EINVAL);
        ASSERT_ERROR(net_network_parse("host.example", &kind, &first, &last, &p), EINVAL);
        ASSERT_ERROR(net_network_parse("", &kind, &first, &last, &p), EINVAL);
        ASSERT_ERROR(net_network_parse("::1", &kind, &first, &last, &p), EINVAL);
        ASSERT_ERROR(net_network_parse(NULL, &kind, &first, &last, &p), EINVAL);
}

/* Expects the spec to be refused with a message containing 'fragment'. */
static void expect_invalid(const NetOutRuleSpec *spec, const char *fragment) {
        NetOutRule rule;
        char *message = NULL;

        ASSERT_ERROR(net_out_rule_from_spec(spec, &rule, &message), EINVAL);
        ASSERT_NOT_NULL(message);
        if (!strstr(message, fragment))
                tests_fail(__FILE__, __LINE__, "message '%s' does not contain '%s'", message, fragment);
        free(message);
}

TEST(rule_validation) {
        NetOutRule r;
        char *message = NULL;

        ASSERT_OK(net_out_rule_from_spec(&(NetOutRuleSpec){ .network = "10.0.0.0/8" }, &r, &message));
        ASSERT_EQ(r.protocol, NET_PROTOCOL_ALL);
        ASSERT_EQ(r.port_min, 0);
        ASSERT_EQ(r.icmp_type, -1);
        ASSERT_EQ(r.icmp_code, -1);

        ASSERT_OK(net_out_rule_from_spec(
                &(NetOutRuleSpec){ .network = "1.2.3.4", .protocol = "tcp", .has_port = true, .port = 80 },
                &r,
                &message));
        ASSERT_EQ(r.protocol, NET_PROTOCOL_TCP);
        ASSERT_EQ(r.port_min, 80);
        ASSERT_EQ(r.port_max, 80);
        ASSERT_FALSE(r.port_is_range);

        ASSERT_OK(net_out_rule_from_spec(
                &(NetOutRuleSpec){ .network = "1.2.3.4-1.2.3.8",
                                   .protocol = "udp",
                                   .has_port_range = true,
                                   .port_range = { 53, 53 } },
                &r,
                &message));
        ASSERT_TRUE(r.port_is_range);
        ASSERT_EQ(r.port_min, 53);

        ASSERT_OK(net_out_rule_from_spec(
                &(NetOutRuleSpec){ .network = "1.2.3.4",
                                   .protocol = "icmp",
                                   .has_icmp_type = true,
                                   .icmp_type = 8,
                                   .has_icmp_code = true,
                                   .icmp_code = 0 },
                &r,
                &message));
        ASSERT_EQ(r.icmp_type, 8);
        ASSERT_EQ(r.icmp_code, 0);
        /* -1 is "any", as in Warden */
        ASSERT_OK(net_out_rule_from_spec(
                &(NetOutRuleSpec){
                        .network = "1.2.3.4", .protocol = "icmp", .has_icmp_type = true, .icmp_type = -1 },
                &r,
                &message));
        ASSERT_EQ(r.icmp_type, -1);
        ASSERT_NULL(message);

        expect_invalid(&(NetOutRuleSpec){ .protocol = "tcp" }, "'network' is required");
        expect_invalid(&(NetOutRuleSpec){ .network = "10.0.0.1/8" }, "is not an IPv4 address");
        expect_invalid(
                &(NetOutRuleSpec){ .network = "10.0.0.0/8", .protocol = "sctp" }, "unknown protocol 'sctp'");
        expect_invalid(&(NetOutRuleSpec){ .network = "10.0.0.0/8", .protocol = "TCP" }, "unknown protocol");
        expect_invalid(
                &(NetOutRuleSpec){ .network = "10.0.0.0/8",
                                   .protocol = "tcp",
                                   .has_port_range = true,
                                   .port_range = { 90, 80 } },
                "port_range 90-80: the first port is greater than the last");
        expect_invalid(
                &(NetOutRuleSpec){ .network = "10.0.0.0/8",
                                   .protocol = "tcp",
                                   .has_port_range = true,
                                   .port_range = { 0, 80 } },
                "starts at 0");
        expect_invalid(
                &(NetOutRuleSpec){ .network = "10.0.0.0/8", .protocol = "tcp", .has_port = true, .port = 0 },
                "port 0");
        expect_invalid(
                &(NetOutRuleSpec){ .network = "10.0.0.0/8", .has_port = true, .port = 80 },
                "not to protocol 'all'");
        expect_invalid(
                &(NetOutRuleSpec){
                        .network = "10.0.0.0/8", .protocol = "icmp", .has_port = true, .port = 80 },
                "not to protocol 'icmp'");
        expect_invalid(
                &(NetOutRuleSpec){ .network = "10.0.0.0/8",
                                   .protocol = "tcp",
                                   .has_port = true,
                                   .port = 80,
                                   .has_port_range = true,
                                   .port_range = { 80, 90 } },
                "either 'port' or 'port_range'");
        expect_invalid(
                &(NetOutRuleSpec){
                        .network = "10.0.0.0/8", .protocol = "icmp", .has_icmp_code = true, .icmp_code = 0 },
                "icmp_code needs an icmp_type");
        expect_invalid(
                &(NetOutRuleSpec){ .network = "10.0.0.0/8",
                                   .protocol = "icmp",
                                   .has_icmp_type = true,
                                   .icmp_type = -1,
                                   .has_icmp_code = true,
                                   .icmp_code = 3 },
                "icmp_code needs an icmp_type");
        expect_invalid(
                &(NetOutRuleSpec){ .network = "10.0.0.0/8", .has_icmp_type = true, .icmp_type = 8 },
                "apply to protocol icmp only");
        expect_invalid(
                &(NetOutRuleSpec){ .network = "10.0.0.0/8",
                                   .protocol = "icmp",
                                   .has_icmp_type = true,
                                   .icmp_type = 256 },
                "icmp_type 256 is out of range");
        expect_invalid(
                &(NetOutRuleSpec){ .network = "10.0.0.0/8",
                                   .protocol = "icmp",
                                   .has_icmp_type = true,
                                   .icmp_type = 8,
                                   .has_icmp_code = true,
                                   .icmp_code = -2 },
                "icmp_code -2 is out of range");
}

static NetOutRule rule_of(const char *s) {
        NetOutRule r;

        ASSERT_OK(net_out_rule_from_string(s, &r));
        return r;
}

TEST(rule_string_roundtrip) {
        static const char *const rules[] = {
                "network:10.0.0.0/8 protocol:all",
                "network:10.1.2.3 protocol:tcp port:80",
                "network:10.1.2.3/32 protocol:udp port_range:53-60",
                "network:10.0.0.1-10.0.0.9 protocol:icmp icmp_type:8 icmp_code:0",
                "network:0.0.0.0/0 protocol:icmp icmp_type:3",
        };
        NetOutRule r;

        FOREACH_ARRAY(s, rules, ELEMENTSOF(rules)) {
                char *back = NULL;

                r = rule_of(*s);
                ASSERT_OK(net_out_rule_to_string(&r, &back));
                ASSERT_STREQ(back, *s);
                free(back);
        }
        /* the words may come in any order; what is refused by the validator is refused here */
        r = rule_of("protocol:tcp network:10.1.2.3 port:80");
        ASSERT_EQ(r.port_min, 80);
        ASSERT_ERROR(net_out_rule_from_string("network:10.1.2.3 protocol:all port:80", &r), EINVAL);
        ASSERT_ERROR(net_out_rule_from_string("protocol:tcp", &r), EINVAL);
        ASSERT_ERROR(net_out_rule_from_string("network:10.1.2.3 bogus:1", &r), EINVAL);
        ASSERT_ERROR(net_out_rule_from_string("network:10.1.2.3 network:10.1.2.4", &r), EINVAL);
        ASSERT_ERROR(net_out_rule_from_string("network:10.1.2.3 protocol:tcp port:65536", &r), EINVAL);
        ASSERT_ERROR(net_out_rule_from_string("network10.1.2.3", &r), EINVAL);
        ASSERT_ERROR(net_out_rule_from_string("network:10.1.2.3 protocol:tcp port_range:80", &r), EINVAL);
        ASSERT_EQ(net_protocol_from_string("icmp"), NET_PROTOCOL_ICMP);
        ASSERT_EQ(net_protocol_from_string("ICMP"), _NET_PROTOCOL_INVALID);
        ASSERT_STREQ(net_protocol_to_string(NET_PROTOCOL_UDP), "udp");
        ASSERT_NULL(net_protocol_to_string(_NET_PROTOCOL_MAX));
}

/* ---- nft text ------------------------------------------------------------------------------------ */

static const NetInRule test_net_in[] = { { 61001, 8080 }, { 9000, 9000 } };

static NetOutRule test_net_out[5];

static FirewallContainer test_container(void) {
        test_net_out[0] = rule_of("network:10.0.0.0/8 protocol:tcp port:80");
        test_net_out[1] = rule_of("network:10.0.0.1-10.0.0.9 protocol:udp port_range:53-60");
        test_net_out[2] = rule_of("network:10.1.2.3 protocol:icmp icmp_type:8 icmp_code:0");
        test_net_out[3] = rule_of("network:0.0.0.0/0 protocol:all");
        test_net_out[4] = rule_of("network:10.1.2.3/32 protocol:tcp");
        return (FirewallContainer){
                .id = 7,
                .handle = "web-1",
                .container_ip = "10.254.0.30",
                .net_in = test_net_in,
                .n_net_in = ELEMENTSOF(test_net_in),
                .net_out = test_net_out,
                .n_net_out = ELEMENTSOF(test_net_out),
        };
}

TEST(text_container) {
        FirewallContainer fc = test_container();
        char *t = NULL;

        ASSERT_OK(firewall_text_container_add(&fc, &t));
        ASSERT_STREQ(
                t,
                "add chain inet warden out-7 { comment \"container web-1\"; }\n"
                "flush chain inet warden out-7\n"
                "add element inet warden egress { \"w-7-0\" comment \"web-1\" : jump out-7 }\n"
                "add element inet warden sources { \"w-7-0\" . 10.254.0.30 }\n"
                "add element arp warden sources { \"w-7-0\" . 10.254.0.30 }\n"
                "add element inet warden net_in { 61001 : 10.254.0.30 . 8080 }\n"
                "add element inet warden net_in { 9000 : 10.254.0.30 . 9000 }\n"
                "add rule inet warden out-7 ip daddr 10.0.0.0/8 tcp dport 80 accept\n"
                "add rule inet warden out-7 ip daddr 10.0.0.1-10.0.0.9 udp dport 53-60 accept\n"
                "add rule inet warden out-7 ip daddr 10.1.2.3 icmp type 8 icmp code 0 accept\n"
                "add rule inet warden out-7 meta nfproto ipv4 accept\n"
                "add rule inet warden out-7 ip daddr 10.1.2.3 meta l4proto tcp accept\n");
        free(t);

        ASSERT_OK(firewall_text_container_remove(&fc, &t));
        ASSERT_STREQ(
                t,
                "add chain inet warden out-7\n"
                "add element inet warden egress { \"w-7-0\" : jump out-7 }\n"
                "delete element inet warden egress { \"w-7-0\" }\n"
                "delete chain inet warden out-7\n"
                "add element inet warden sources { \"w-7-0\" . 10.254.0.30 }\n"
                "add element arp warden sources { \"w-7-0\" . 10.254.0.30 }\n"
                "delete element inet warden sources { \"w-7-0\" . 10.254.0.30 }\n"
                "delete element arp warden sources { \"w-7-0\" . 10.254.0.30 }\n"
                "add element inet warden net_in { 61001 : 10.254.0.30 . 8080 }\n"
                "delete element inet warden net_in { 61001 }\n"
                "add element inet warden net_in { 9000 : 10.254.0.30 . 9000 }\n"
                "delete element inet warden net_in { 9000 }\n");
        free(t);

        ASSERT_OK(firewall_text_net_in(&fc, &test_net_in[0], &t));
        ASSERT_STREQ(t, "add element inet warden net_in { 61001 : 10.254.0.30 . 8080 }\n");
        free(t);
        ASSERT_OK(firewall_text_net_out(&fc, &test_net_out[1], &t));
        ASSERT_STREQ(t, "add rule inet warden out-7 ip daddr 10.0.0.1-10.0.0.9 udp dport 53-60 accept\n");
        free(t);

        /* a handle goes into comments: only a valid one */
        fc.handle = "bad\" ; flush ruleset";
        ASSERT_ERROR(firewall_text_container_add(&fc, &t), EINVAL);
        fc.handle = "web-1";
        fc.container_ip = "10.254.0.30 . 1 }";
        ASSERT_ERROR(firewall_text_net_in(&fc, &test_net_in[0], &t), EINVAL);
        fc.container_ip = "10.254.0.30";
        ASSERT_ERROR(firewall_text_net_in(&fc, &(NetInRule){ 0, 80 }, &t), EINVAL);
}

static void test_policy(FirewallPolicy *p, bool allow_host_access) {
        ManagerConfig c;
        char *msg = NULL;

        manager_config_init(&c);
        ASSERT_OK(manager_config_load_text(
                &c,
                "test.conf",
                "[network]\n"
                "pool = 10.254.0.0/20\n"
                "allow_networks = 10.99.0.3, 192.168.0.0/16\n"
                "deny_networks = 10.99.0.4/32\n",
                &msg));
        c.allow_host_access = allow_host_access;
        ASSERT_OK(firewall_policy_from_config(&c, p));
        manager_config_done(&c);
}

TEST(text_base) {
        FirewallPolicy p;
        char *t = NULL;

        test_policy(&p, false);
        ASSERT_EQ(p.n_allow_networks, 2);
        ASSERT_OK(firewall_text_base(&p, &t));
        ASSERT_STREQ(
                t,
                "add table inet warden\n"
                "delete table inet warden\n"
                "add table inet warden { comment \"warden: container network policy, managed by "
                "wardend\"; }\n"
                "add set inet warden allow_networks { type ipv4_addr; flags interval; auto-merge; }\n"
                "add element inet warden allow_networks { 10.99.0.3/32, 192.168.0.0/16 }\n"
                "add set inet warden deny_networks { type ipv4_addr; flags interval; auto-merge; }\n"
                "add element inet warden deny_networks { 10.99.0.4/32 }\n"
                "add map inet warden egress { type ifname : verdict; }\n"
                "add map inet warden net_in { type inet_service : ipv4_addr . inet_service; }\n"
                "add chain inet warden forward { type filter hook forward priority filter; policy "
                "accept; }\n"
                "add chain inet warden from_container\n"
                "add chain inet warden to_container\n"
                "add chain inet warden refuse\n"
                "add rule inet warden refuse meta l4proto tcp reject with tcp reset\n"
                "add rule inet warden refuse reject with icmpx admin-prohibited\n"
                "add rule inet warden forward ct state established,related accept\n"
                "add rule inet warden forward iifname \"w-*\" jump from_container\n"
                "add rule inet warden forward oifname \"w-*\" jump to_container\n"
                "add rule inet warden from_container oifname \"w-*\" goto refuse\n"
                "add rule inet warden from_container ip daddr @deny_networks goto refuse\n"
                "add rule inet warden from_container iifname vmap @egress\n"
                "add rule inet warden from_container ip daddr @allow_networks accept\n"
                "add rule inet warden from_container goto refuse\n"
                "add rule inet warden to_container ct status dnat accept\n"
                "add rule inet warden to_container goto refuse\n"
                "add chain inet warden input { type filter hook input priority filter; policy accept; "
                "}\n"
                "add rule inet warden input iifname \"w-*\" ct state established,related accept\n"
                "add rule inet warden input iifname \"w-*\" goto refuse\n"
                "add chain inet warden prerouting { type nat hook prerouting priority dstnat; policy "
                "accept; }\n"
                "add chain inet warden output { type nat hook output priority -100; policy accept; }\n"
                "add chain inet warden postrouting { type nat hook postrouting priority srcnat; policy "
                "accept; }\n"
                "add rule inet warden prerouting fib daddr type local ip daddr != 127.0.0.0/8 dnat ip "
                "to tcp "
                "dport map @net_in\n"
                "add rule inet warden output fib daddr type local ip daddr != 127.0.0.0/8 dnat ip to "
                "tcp dport "
                "map @net_in\n"
                "add rule inet warden postrouting ip saddr 10.254.0.0/20 oifname != \"w-*\" "
                "masquerade\n"
                "add set inet warden sources { type ifname . ipv4_addr; }\n"
                "add counter inet warden spoofed\n"
                "add counter inet warden ipv6\n"
                "add chain inet warden antispoof { type filter hook prerouting priority raw; policy "
                "accept; }\n"
                "add rule inet warden antispoof iifname != \"w-*\" accept\n"
                "add rule inet warden antispoof iifname . ip saddr @sources accept\n"
                "add rule inet warden antispoof meta nfproto ipv6 counter name ipv6 drop\n"
                "add rule inet warden antispoof counter name spoofed drop\n"
                "add table arp warden\n"
                "delete table arp warden\n"
                "add table arp warden { comment \"warden: no ARP spoofing from containers, managed by "
                "wardend\"; }\n"
                "add set arp warden sources { type ifname . ipv4_addr; }\n"
                "add counter arp warden spoofed\n"
                "add chain arp warden input { type filter hook input priority filter; policy accept; "
                "}\n"
                "add rule arp warden input iifname != \"w-*\" accept\n"
                "add rule arp warden input iifname . arp saddr ip @sources accept\n"
                "add rule arp warden input counter name spoofed drop\n");
        free(t);
        firewall_policy_done(&p);

        /* allow_host_access: no input chain at all (ARP's is another table's) */
        test_policy(&p, true);
        ASSERT_OK(firewall_text_base(&p, &t));
        ASSERT_NULL(strstr(t, "inet warden input"));
        ASSERT_NOT_NULL(strstr(t, "inet warden antispoof"));
        free(t);
        firewall_policy_done(&p);
}

/* ---- configuration and state file ---------------------------------------------------------------- */

TEST(config_keys) {
        ManagerConfig c;
        char *msg = NULL;
        char *dump = NULL;
        size_t size = 0;
        FILE *f;

        manager_config_init(&c);
        ASSERT_OK(manager_config_load_text(&c, "t.conf", "", &msg));
        ASSERT_EQ(c.port_range[0], 61001);
        ASSERT_EQ(c.port_range[1], 65000);
        ASSERT_EQ(c.allow_networks.n, 0);
        ASSERT_FALSE(c.allow_host_access);
        ASSERT_TRUE(c.enable_ip_forward);

        ASSERT_OK(manager_config_load_text(
                &c,
                "t.conf",
                "[network]\nport_range = 2000-2000\nallow_networks = 10.0.0.0/8 1.2.3.4,5.6.0.0/16\n"
                "deny_networks =\nallow_host_access = yes\nenable_ip_forward = no\n",
                &msg));
        ASSERT_EQ(c.port_range[0], 2000);
        ASSERT_EQ(c.port_range[1], 2000);
        ASSERT_EQ(c.allow_networks.n, 3);
        ASSERT_EQ(c.allow_networks.networks[1].address, 0x01020304);
        ASSERT_EQ(c.allow_networks.networks[1].prefixlen, 32);
        ASSERT_EQ(c.allow_networks.networks[2].prefixlen, 16);
        ASSERT_EQ(c.deny_networks.n, 0);
        ASSERT_TRUE(c.allow_host_access);
        ASSERT_FALSE(c.enable_ip_forward);

        f = open_memstream(&dump, &size);
        ASSERT_NOT_NULL(f);
        manager_config_dump(&c, f);
        ASSERT_EQ(fclose(f), 0);
        ASSERT_NOT_NULL(strstr(dump, "port_range = 2000-2000\n"));
        ASSERT_NOT_NULL(strstr(dump, "allow_networks = 10.0.0.0/8 1.2.3.4/32 5.6.0.0/16\n"));
        ASSERT_NOT_NULL(strstr(dump, "deny_networks =\n"));
        ASSERT_NOT_NULL(strstr(dump, "allow_host_access = yes\n"));
        ASSERT_NOT_NULL(strstr(dump, "enable_ip_forward = no\n"));
        free(dump);

        static const char *const bad[] = {
                "[network]\nport_range = 0-10\n",           "[network]\nport_range = 10-5\n",
                "[network]\nport_range = 1-65536\n",        "[network]\nport_range = 80\n",
                "[network]\nallow_networks = 10.0.0.1/8\n", "[network]\ndeny_networks = nowhere\n",
                "[network]\nallow_host_access = maybe\n",
        };
        FOREACH_ARRAY(b, bad, ELEMENTSOF(bad)) {
                ASSERT_TRUE(manager_config_load_text(&c, "bad.conf", *b, &msg) < 0);
                ASSERT_NOT_NULL(strstr(msg, "bad.conf:2"));
                msg = mfree(msg);
        }
        /* a bad file leaves the configuration in force */
        ASSERT_EQ(c.allow_networks.n, 3);
        manager_config_done(&c);
}

TEST(state_file) {
        Container *c = NULL, *d = NULL;
        NetOutRule r1, r2;
        char *text = NULL;

        ASSERT_OK(container_new("box", &c));
        c->state = CONTAINER_ACTIVE;
        ASSERT_OK(container_add_net_in(c, &(NetInRule){ 61001, 8080 }));
        ASSERT_OK(container_add_net_in(c, &(NetInRule){ 9000, 9000 }));
        r1 = rule_of("network:10.0.0.1-10.0.0.9 protocol:icmp icmp_type:8 icmp_code:0");
        r2 = rule_of("network:10.0.0.0/8 protocol:tcp port_range:80-90");
        ASSERT_OK(container_add_net_out(c, &r1));
        ASSERT_OK(container_add_net_out(c, &r2));
        ASSERT_OK(container_serialize(c, &text));
        ASSERT_NOT_NULL(strstr(text, "NET_IN=61001:8080\nNET_IN=9000:9000\n"));

        ASSERT_OK(container_deserialize(text, &d));
        ASSERT_EQ(d->n_net_in, 2);
        ASSERT_EQ(d->net_in[1].host_port, 9000);
        ASSERT_EQ(d->n_net_out, 2);
        ASSERT_EQ(d->net_out[0].icmp_type, 8);
        ASSERT_EQ(d->net_out[1].port_max, 90);
        ASSERT_TRUE(d->net_out[1].port_is_range);
        ASSERT_EQ(container_remove_net_in(d, 61001), 1);
        ASSERT_EQ(container_remove_net_in(d, 61001), 0);
        ASSERT_EQ(d->n_net_in, 1);
        ASSERT_EQ(d->net_in[0].host_port, 9000);
        container_free(d);
        d = NULL;
        free(text);
        container_free(c);

        ASSERT_ERROR(container_deserialize("VERSION=1\nHANDLE=x\nSTATE=active\nNET_IN=0:80\n", &d), EINVAL);
        ASSERT_ERROR(
                container_deserialize("VERSION=1\nHANDLE=x\nSTATE=active\nNET_IN=70000:80\n", &d), EINVAL);
        ASSERT_ERROR(
                container_deserialize("VERSION=1\nHANDLE=x\nSTATE=active\nNET_OUT=protocol:tcp\n", &d),
                EINVAL);
        /* a key of a newer wardend is still fine */
        ASSERT_OK(container_deserialize("VERSION=1\nHANDLE=x\nSTATE=active\nNET_SOMETHING=1\n", &d));
        container_free(d);
}

/* ---- the bus: argument checks on the real vtables ------------------------------------------------ */

static void expect_error(Fixture *f, sd_bus_message *m, const char *name, const char *fragment) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = bus_pair_call(f->server, f->client, m, NULL, &e);
        if (r >= 0 || !sd_bus_error_has_name(&e, name) ||
            (fragment && !strstr(strempty(e.message), fragment)))
                tests_fail(
                        __FILE__,
                        __LINE__,
                        "%s: expected %s (%s), got r=%d %s: %s",
                        sd_bus_message_get_member(m),
                        name,
                        strempty(fragment),
                        r,
                        strna(e.name),
                        strna(e.message));
        sd_bus_error_free(&e);
        sd_bus_message_unref(m);
}

/* As root (tests_become_root(): whether the test runs as root or not); test-bus-manager's refused_to_others
 * checks that anyone else is refused first. */
TEST(bus_arguments) {
        const char *inval = SD_BUS_ERROR_INVALID_ARGS;
        Fixture f;
        Container *c = NULL;
        sd_bus_message *m;

        tests_become_root();
        fixture_init(&f, true);
        ASSERT_OK(container_new("x", &c));
        ASSERT_OK(manager_add_container(&f.manager, c)); /* "born": no NetIn or NetOut yet */

#define NET_OUT(fragment, ...)                                                                         \
        do {                                                                                           \
                m = NULL;                                                                              \
                ASSERT_OK(sd_bus_message_new_method_call(                                              \
                        f.client, &m, NULL, WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, "NetOut")); \
                ASSERT_OK(sd_bus_message_append(m, "sa{sv}", "x", __VA_ARGS__));                       \
                expect_error(&f, m, inval, (fragment));                                                \
        } while (false)

        NET_OUT("'network' is required", 1, "protocol", "s", "tcp");
        NET_OUT("unknown key 'log'", 2, "network", "s", "10.0.0.0/8", "log", "b", 1);
        NET_OUT("key 'port' must be of type 'q', got 's'",
                3,
                "network",
                "s",
                "10.0.0.0/8",
                "protocol",
                "s",
                "tcp",
                "port",
                "s",
                "80");
        NET_OUT("key 'icmp_type' must be of type 'i', got 'u'",
                3,
                "network",
                "s",
                "1.2.3.4",
                "protocol",
                "s",
                "icmp",
                "icmp_type",
                "u",
                8);
        NET_OUT("key 'network' given twice", 2, "network", "s", "10.0.0.0/8", "network", "s", "10.0.0.0/8");
        NET_OUT("first port is greater",
                3,
                "network",
                "s",
                "10.0.0.0/8",
                "protocol",
                "s",
                "tcp",
                "port_range",
                "(qq)",
                90,
                80);
        NET_OUT("unknown protocol 'gre'", 2, "network", "s", "10.0.0.0/8", "protocol", "s", "gre");
        NET_OUT("icmp_code needs an icmp_type",
                3,
                "network",
                "s",
                "10.0.0.0/8",
                "protocol",
                "s",
                "icmp",
                "icmp_code",
                "i",
                0);
#undef NET_OUT

        /* a valid rule, but the container is not active */
        m = NULL;
        ASSERT_OK(sd_bus_message_new_method_call(
                f.client, &m, NULL, "/org/warden/container/x", WARDEN_CONTAINER_INTERFACE, "NetOut"));
        ASSERT_OK(sd_bus_message_append(m, "a{sv}", 1, "network", "s", "10.0.0.0/8"));
        expect_error(&f, m, WARDEN_ERROR_INVALID_STATE, "is born");

        m = NULL;
        ASSERT_OK(sd_bus_message_new_method_call(
                f.client, &m, NULL, WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, "NetIn"));
        ASSERT_OK(sd_bus_message_append(m, "sqq", "x", 0, 0));
        expect_error(&f, m, WARDEN_ERROR_INVALID_STATE, NULL);

        m = NULL;
        ASSERT_OK(sd_bus_message_new_method_call(
                f.client, &m, NULL, WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, "NetIn"));
        ASSERT_OK(sd_bus_message_append(m, "sqq", "nosuch", 0, 0));
        expect_error(&f, m, WARDEN_ERROR_NO_SUCH_CONTAINER, NULL);
        fixture_done(&f);
}

/* ---- against the kernel, in a network namespace of our own ---------------------------------------- */

/* Root gets a network namespace; anyone else a user namespace with one (nf_tables asks for CAP_NET_ADMIN
 * in the namespace's owner). Never the machine's own ruleset. */
static void enter_private_netns(void) {
        if (unshare(CLONE_NEWNET) >= 0)
                return;
        tests_become_root();
        if (unshare(CLONE_NEWNET) < 0)
                tests_skip("cannot make a network namespace");
}

/* "nft list ..." in the current namespace; NULL if it fails (e.g. no such table). */
static char *nft_list(const char *what) {
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        char cmd[256], *out = NULL;

        ASSERT_NOT_NULL(ctx);
        ASSERT_OK(nft_ctx_buffer_output(ctx));
        ASSERT_OK(nft_ctx_buffer_error(ctx));
        snprintf(cmd, sizeof(cmd), "list %s", what);
        if (nft_run_cmd_from_buffer(ctx, cmd) == 0)
                out = strdup(nft_ctx_get_output_buffer(ctx));
        nft_ctx_free(ctx);
        return out;
}

/* "nft list table TABLE" shows each string of 'present' and none of 'absent' (NULL-terminated lists). */
static void assert_listed(const char *table, char **present, char **absent) {
        char what[64], *l;

        snprintf(what, sizeof(what), "table %s", table);
        l = nft_list(what);
        ASSERT_NOT_NULL(l);
        STRV_FOREACH(p, present)
                ASSERT_NOT_NULL(strstr(l, *p));
        STRV_FOREACH(p, absent)
                ASSERT_NULL(strstr(l, *p));
        free(l);
}

/* Runs nft text in the current namespace: 0, or nft's result. */
static int nft_do(const char *text) {
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        int r;

        ASSERT_NOT_NULL(ctx);
        ASSERT_OK(nft_ctx_buffer_output(ctx));
        ASSERT_OK(nft_ctx_buffer_error(ctx));
        r = nft_run_cmd_from_buffer(ctx, text);
        nft_ctx_free(ctx);
        return r;
}

typedef struct Done {
        unsigned n;
        int results[8];
        char *messages[8];
} Done;

static void on_done(int result, const char *message, void *userdata) {
        Done *d = userdata;

        ASSERT_TRUE(d->n < ELEMENTSOF(d->results));
        d->results[d->n] = result;
        d->messages[d->n] = message ? strdup(message) : NULL;
        d->n++;
}

static void run_until(sd_event *e, Done *d, unsigned n) {
        for (unsigned i = 0; d->n < n && i < 100; i++)
                ASSERT_OK(sd_event_run(e, 100 * 1000));
        ASSERT_EQ(d->n, n);
}

TEST(kernel) {
        FirewallPolicy p;
        Firewall *fw = NULL;
        sd_event *e = NULL;
        FirewallContainer a = test_container(), b = test_container();
        FirewallJob *cancelled = NULL;
        NetOutRule extra = rule_of("network:172.16.0.0/12 protocol:udp port:53");
        Done d = {};
        char *msg = NULL, *l, *t = NULL;

        enter_private_netns();
        test_policy(&p, false);
        p.enable_ip_forward = false;
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(firewall_new(e, &p, &fw));
        firewall_policy_done(&p);

        /* start-up with nothing known: nothing is touched */
        ASSERT_OK(firewall_sync(fw, NULL, 0, false, &msg));
        ASSERT_NULL(nft_list("table inet warden"));

        /* the first container makes the table; the text the kernel accepted is what we generated */
        b.id = 8;
        b.handle = "db";
        b.container_ip = "10.254.0.34";
        b.n_net_in = 0;
        b.n_net_out = 0;
        a.n_net_in = 1;
        ASSERT_OK(firewall_add_container(fw, &a, on_done, &d, NULL));
        ASSERT_OK(firewall_add_container(fw, &b, on_done, &d, NULL));
        ASSERT_OK(firewall_add_net_in(fw, &b, &(NetInRule){ 61002, 5432 }, on_done, &d, NULL));
        ASSERT_OK(firewall_add_net_out(fw, &b, &extra, on_done, &d, &cancelled));
        firewall_job_cancel(cancelled); /* not reported, but done all the same */
        /* refused by the kernel: a NetIn port that is taken (same key, other data) */
        ASSERT_OK(firewall_add_net_in(fw, &b, &(NetInRule){ 61001, 1 }, on_done, &d, NULL));
        ASSERT_EQ(firewall_n_containers(fw), 2);
        run_until(e, &d, 4);
        ASSERT_OK(d.results[0]);
        ASSERT_OK(d.results[1]);
        ASSERT_OK(d.results[2]);
        ASSERT_ERROR(d.results[3], EIO);
        ASSERT_NOT_NULL(d.messages[3]);
        ASSERT_NOT_NULL(strstr(d.messages[3], "net_in"));

        l = nft_list("table inet warden");
        ASSERT_NOT_NULL(l);
        ASSERT_NOT_NULL(
                strstr(l,
                       "chain out-7 {\n\t\tcomment \"container web-1\"\n\t\tip daddr 10.0.0.0/8 tcp "
                       "dport 80 accept"));
        ASSERT_NOT_NULL(
                strstr(l, "ip daddr 10.1.2.3 icmp type echo-request icmp code net-unreachable accept"));
        ASSERT_NOT_NULL(strstr(l, "ip daddr 172.16.0.0/12 udp dport 53 accept")); /* the cancelled one */
        ASSERT_NOT_NULL(strstr(l, "61001 : 10.254.0.30 . 8080"));
        ASSERT_NOT_NULL(strstr(l, "61002 : 10.254.0.34 . 5432"));
        ASSERT_NOT_NULL(strstr(l, "\"w-8-0\" comment \"db\" : jump out-8"));
        ASSERT_NOT_NULL(strstr(l, "elements = { 10.99.0.3, 192.168.0.0/16 }"));
        free(l);
        /* each link's one source address, for IP and for ARP */
        assert_listed(
                "inet warden",
                STRV_MAKE(
                        "\"w-7-0\" . 10.254.0.30",
                        "\"w-8-0\" . 10.254.0.34",
                        "iifname . ip saddr @sources accept",
                        "meta nfproto ipv6 counter name \"ipv6\" drop",
                        "counter name \"spoofed\" drop"),
                NULL);
        assert_listed(
                "arp warden",
                STRV_MAKE(
                        "\"w-7-0\" . 10.254.0.30",
                        "\"w-8-0\" . 10.254.0.34",
                        "iifname . arp saddr ip @sources accept",
                        "counter name \"spoofed\" drop"),
                NULL);

        /* removing one takes its objects only; removing is idempotent */
        ASSERT_OK(firewall_remove_container(fw, &a, on_done, &d, NULL));
        run_until(e, &d, 5);
        ASSERT_OK(d.results[4]);
        assert_listed(
                "inet warden",
                STRV_MAKE("out-8", "\"w-8-0\" . 10.254.0.34"),
                STRV_MAKE("out-7", "w-7-0", "10.254.0.30"));
        assert_listed("arp warden", STRV_MAKE("\"w-8-0\" . 10.254.0.34"), STRV_MAKE("w-7-0"));
        /* again, by hand: nothing to remove, still fine, and the other container's pair stays */
        ASSERT_OK(firewall_text_container_remove(&a, &t));
        ASSERT_OK(nft_do(t));
        free(t);
        assert_listed("arp warden", STRV_MAKE("\"w-8-0\" . 10.254.0.34"), STRV_MAKE("w-7-0"));

        /* the last one takes the table along */
        b.net_in = &(NetInRule){ 61002, 5432 };
        b.n_net_in = 1;
        ASSERT_OK(firewall_remove_container(fw, &b, on_done, &d, NULL));
        run_until(e, &d, 6);
        ASSERT_OK(d.results[5]);
        ASSERT_NULL(nft_list("table inet warden"));
        ASSERT_NULL(nft_list("table arp warden"));
        ASSERT_EQ(firewall_n_containers(fw), 0);
        fw = firewall_free(fw);

        /* a restart: the table is rebuilt from the containers, replacing whatever was there */
        test_policy(&p, true);
        p.enable_ip_forward = false;
        ASSERT_OK(firewall_new(e, &p, &fw));
        firewall_policy_done(&p);
        a.n_net_in = 2;
        ASSERT_OK(firewall_sync(fw, &a, 1, true, &msg));
        ASSERT_EQ(firewall_n_containers(fw), 1);
        fw = firewall_free(fw);
        test_policy(&p, true);
        p.enable_ip_forward = false;
        ASSERT_OK(firewall_new(e, &p, &fw));
        firewall_policy_done(&p);
        ASSERT_OK(firewall_sync(fw, &a, 1, true, &msg)); /* the same again: idempotent */
        l = nft_list("table inet warden");
        ASSERT_NOT_NULL(l);
        ASSERT_NOT_NULL(strstr(l, "9000 : 10.254.0.30 . 9000"));
        ASSERT_NULL(strstr(l, "chain input")); /* allow_host_access */
        ASSERT_NOT_NULL(strstr(l, "\"w-7-0\" . 10.254.0.30"));
        free(l);
        assert_listed("arp warden", STRV_MAKE("\"w-7-0\" . 10.254.0.30"), NULL);
        /* no container left but some known: the table is wiped */
        fw = firewall_free(fw);
        test_policy(&p, true);
        ASSERT_OK(firewall_new(e, &p, &fw));
        firewall_policy_done(&p);
        ASSERT_OK(firewall_sync(fw, NULL, 0, true, &msg));
        ASSERT_NULL(nft_list("table inet warden"));
        ASSERT_NULL(nft_list("table arp warden"));
        firewall_free(fw);
        sd_event_unref(e);
        for (unsigned i = 0; i < d.n; i++)
                free(d.messages[i]);
}
