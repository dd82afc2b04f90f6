/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <stdlib.h>

#include "bus-client.h"
#include "bus-print.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "verb-limit.h"

int limit_value_parse(const char *s, bool size, uint64_t *ret) {
        uint64_t v;
        int r;

        assert(ret);

        r = size ? parse_size(s, &v) : parse_uint64(s, &v);
        if (r < 0)
                return r;
        if (v == 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

int disk_limit_args_append(sd_bus_message *m, const DiskLimitArgs *a) {
        int r;

        assert(a);
        assert(m);

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{st}");
        if (r >= 0 && a->bytes_set)
                r = sd_bus_message_append(m, "{st}", "byte_limit", a->bytes);
        if (r >= 0 && a->inodes_set)
                r = sd_bus_message_append(m, "{st}", "inode_limit", a->inodes);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

int limit_dict_print(FILE *f, sd_bus_message *reply, bool json) {
        _cleanup_free_ PrintField *fields = NULL;
        size_t n = 0;
        const char *key;
        uint64_t v;
        int r;

        assert(f);
        assert(reply);

        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{st}");
        if (r < 0)
                return r;
        /* The keys stay valid while 'reply' lives. */
        while ((r = sd_bus_message_read(reply, "{st}", &key, &v)) > 0) {
                PrintField *p;

                if (n >= 64)
                        return -ENOMEM; /* LimitDisk answers two keys; anything like this is broken */
                p = reallocarray(fields, n + 1, sizeof(PrintField));
                if (!p)
                        return -ENOMEM;
                fields = p;
                fields[n++] = (PrintField){
                        .key = key,
                        .value = v,
                        .type = streq(key, "byte_limit") ? PRINT_FIELD_BYTES : PRINT_FIELD_NUMBER,
                        .zero_is_none = true,
                };
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        print_fields(f, fields, n, json);
        return 0;
}

/* Calls a Limit* method whose answer is one t, and prints it as 'field' says. */
static int
limit_one(sd_bus *bus, const char *method, const char *handle, uint64_t value, PrintField field, bool json) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = bus_call_manager(bus, method, 0, &reply, "st", handle, value);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "t", &field.value);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply of %s(): %m", method);
        print_fields(stdout, &field, 1, json);
        return 0;
}

int limit_memory(sd_bus *bus, const char *handle, uint64_t bytes, bool json) {
        assert(bus);
        assert(handle);

        return limit_one(
                bus,
                "LimitMemory",
                handle,
                bytes,
                (PrintField){ .key = "memory_limit", .type = PRINT_FIELD_BYTES, .zero_is_none = true },
                json);
}

int limit_cpu(sd_bus *bus, const char *handle, uint64_t weight, bool json) {
        assert(bus);
        assert(handle);

        return limit_one(
                bus,
                "LimitCpu",
                handle,
                weight,
                (PrintField){ .key = "cpu_weight", .type = PRINT_FIELD_NUMBER },
                json);
}

int limit_cpu_quota_parse(const char *s, uint64_t *ret) {
        _cleanup_free_ char *number = NULL;
        uint64_t v;

        assert(ret);

        if (streq(s, "none") || streq(s, "infinity")) {
                *ret = UINT64_MAX;
                return 0;
        }
        if (endswith(s, "%")) {
                number = strndup(s, strlen(s) - 1);
                if (!number)
                        return -ENOMEM;
                s = number;
        }
        if (parse_uint64(s, &v) < 0 || v == 0 || v == UINT64_MAX)
                return -EINVAL;
        *ret = v;
        return 0;
}

int limit_cpu_quota(sd_bus *bus, const char *handle, uint64_t percent, bool json) {
        assert(bus);
        assert(handle);

        return limit_one(
                bus,
                "LimitCpuQuota",
                handle,
                percent,
                (PrintField){ .key = "cpu_quota", .type = PRINT_FIELD_NUMBER, .zero_is_none = true },
                json);
}

int limit_disk(sd_bus *bus, const char *handle, const DiskLimitArgs *a, bool json) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        assert(bus);

        r = bus_manager_new_call(bus, "LimitDisk", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", handle);
        if (r >= 0)
                r = disk_limit_args_append(m, a);
        if (r < 0)
                return log_error_errno(r, "Failed to create a LimitDisk() call: %m");
        r = bus_call_message(bus, m, 0, &reply);
        if (r < 0)
                return r;
        r = limit_dict_print(stdout, reply, json);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply of LimitDisk(): %m");
        return 0;
}

int limit_bandwidth(sd_bus *bus, const char *handle, uint64_t rate, uint64_t burst, bool json) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        PrintField fields[] = {
                { .key = "rate", .type = PRINT_FIELD_RATE, .zero_is_none = true },
                { .key = "burst", .type = PRINT_FIELD_BYTES, .zero_is_none = true },
        };
        int r;

        assert(bus);
        assert(handle);

        r = bus_call_manager(bus, "LimitBandwidth", 0, &reply, "stt", handle, rate, burst);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "tt", &fields[0].value, &fields[1].value);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply of LimitBandwidth(): %m");
        print_fields(stdout, fields, ELEMENTSOF(fields), json);
        return 0;
}
