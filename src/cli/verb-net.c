/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <string.h>

#include "bus-client.h"
#include "bus-print.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "verb-net.h"

int net_port_parse(const char *s, uint16_t *ret) {
        uint64_t v;
        int r;

        assert(ret);

        r = parse_uint64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT16_MAX)
                return -ERANGE;
        *ret = (uint16_t) v;
        return 0;
}

int net_port_range_parse(const char *s, uint16_t *ret_first, uint16_t *ret_last, bool *ret_is_range) {
        char first_text[8];
        const char *dash;
        uint16_t first, last;
        int r;

        assert(ret_first);
        assert(ret_last);
        assert(ret_is_range);

        if (!s)
                return -EINVAL;
        dash = strchr(s, '-');
        if (!dash) {
                r = net_port_parse(s, &first);
                if (r < 0)
                        return r;
                *ret_first = first;
                *ret_last = first;
                *ret_is_range = false;
                return 0;
        }
        /* "65535" is the longest port; a longer first part is too large or malformed. */
        if ((size_t) (dash - s) >= sizeof(first_text))
                return dash == s ? -EINVAL : -ERANGE;
        memcpy(first_text, s, (size_t) (dash - s));
        first_text[dash - s] = '\0';
        r = net_port_parse(first_text, &first);
        if (r < 0)
                return r;
        r = net_port_parse(dash + 1, &last);
        if (r < 0)
                return r;
        *ret_first = first;
        *ret_last = last;
        *ret_is_range = true;
        return 0;
}

int net_icmp_parse(const char *s, int32_t *ret) {
        bool negative;
        uint64_t v;
        int r;

        assert(ret);

        if (!s)
                return -EINVAL;
        negative = s[0] == '-';
        r = parse_uint64(s + negative, &v);
        if (r < 0)
                return r;
        if (v > (negative ? (uint64_t) INT32_MAX + 1 : (uint64_t) INT32_MAX))
                return -ERANGE;
        *ret = negative ? (int32_t) - (int64_t) v : (int32_t) v;
        return 0;
}

int net_out_args_append(sd_bus_message *m, const NetOutArgs *a) {
        int r;

        assert(a);
        assert(m);

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r >= 0 && a->network)
                r = sd_bus_message_append(m, "{sv}", "network", "s", a->network);
        if (r >= 0 && a->protocol)
                r = sd_bus_message_append(m, "{sv}", "protocol", "s", a->protocol);
        if (r >= 0 && a->port_set && a->port_is_range)
                r = sd_bus_message_append(m, "{sv}", "port_range", "(qq)", a->port_first, a->port_last);
        else if (r >= 0 && a->port_set)
                r = sd_bus_message_append(m, "{sv}", "port", "q", a->port_first);
        if (r >= 0 && a->icmp_type_set)
                r = sd_bus_message_append(m, "{sv}", "icmp_type", "i", a->icmp_type);
        if (r >= 0 && a->icmp_code_set)
                r = sd_bus_message_append(m, "{sv}", "icmp_code", "i", a->icmp_code);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

int net_in(sd_bus *bus, const char *handle, uint16_t host_port, uint16_t container_port, bool json) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint16_t host, container;
        int r;

        assert(bus);
        assert(handle);

        r = bus_call_manager(bus, "NetIn", 0, &reply, "sqq", handle, host_port, container_port);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "qq", &host, &container);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply of NetIn(): %m");
        print_fields(
                stdout,
                (const PrintField[]){
                        { .key = "host_port", .value = host },
                        { .key = "container_port", .value = container },
                },
                2,
                json);
        return 0;
}

int net_out(sd_bus *bus, const char *handle, const NetOutArgs *a) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        assert(bus);

        r = bus_manager_new_call(bus, "NetOut", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", handle);
        if (r >= 0)
                r = net_out_args_append(m, a);
        if (r < 0)
                return log_error_errno(r, "Failed to create a NetOut() call: %m");
        return bus_call_message(bus, m, 0, NULL);
}
