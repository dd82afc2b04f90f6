/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* How wardenctl prints answers (bus-print.c), as text and as JSON. */

#include <stdio.h>
#include <stdlib.h>

#include "bus-print.h"
#include "macro.h"
#include "tests.h"

/* What print_fields() writes. */
static char *fields_text(const PrintField *fields, size_t n, bool json) {
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        ASSERT_NOT_NULL(f = open_memstream(&text, &size));
        print_fields(f, fields, n, json);
        ASSERT_EQ(fclose(f), 0);
        return text;
}

TEST(print_fields) {
        const PrintField bandwidth[] = {
                { .key = "rate", .value = 1 << 20, .type = PRINT_FIELD_RATE, .zero_is_none = true },
                { .key = "burst", .value = 65536, .type = PRINT_FIELD_BYTES, .zero_is_none = true },
        };
        const PrintField none[] = {
                { .key = "rate", .value = 0, .type = PRINT_FIELD_RATE, .zero_is_none = true },
                { .key = "burst", .value = 0, .type = PRINT_FIELD_BYTES, .zero_is_none = true },
        };
        const PrintField ports[] = {
                { .key = "host_port", .value = 61001 },
                { .key = "container_port", .value = 8080 },
        };
        const PrintField memory = {
                .key = "memory_limit", .value = 64 << 20, .type = PRINT_FIELD_BYTES, .zero_is_none = true
        };
        const PrintField weight = { .key = "cpu_weight", .value = 400 };
        const PrintField small = { .key = "x", .value = 1000, .type = PRINT_FIELD_BYTES };
        const PrintField unlimited = { .key = "x", .value = UINT64_MAX, .type = PRINT_FIELD_BYTES };
        const PrintField zero = { .key = "x", .value = 0 };
        char *s;

        /* keys right-aligned to the longest, as wardenctl info does; sizes as info prints them */
        ASSERT_STREQ(s = fields_text(&memory, 1, false), "memory_limit: 67108864 (64.0M)\n");
        free(s);
        ASSERT_STREQ(s = fields_text(&weight, 1, false), "cpu_weight: 400\n");
        free(s);
        ASSERT_STREQ(
                s = fields_text(bandwidth, 2, false), " rate: 1048576 (1.0M/s)\nburst: 65536 (64.0K)\n");
        free(s);
        ASSERT_STREQ(s = fields_text(none, 2, false), " rate: 0 (none)\nburst: 0 (none)\n");
        free(s);
        ASSERT_STREQ(s = fields_text(ports, 2, false), "     host_port: 61001\ncontainer_port: 8080\n");
        free(s);
        ASSERT_STREQ(s = fields_text(&small, 1, false), "x: 1000\n");
        free(s);
        ASSERT_STREQ(s = fields_text(&unlimited, 1, false), "x: 18446744073709551615 (unlimited)\n");
        free(s);
        /* 0 is a number like any other unless it means none */
        ASSERT_STREQ(s = fields_text(&zero, 1, false), "x: 0\n");
        free(s);

        /* JSON: plain numbers */
        ASSERT_STREQ(s = fields_text(bandwidth, 2, true), "{\"rate\": 1048576, \"burst\": 65536}\n");
        free(s);
        ASSERT_STREQ(s = fields_text(&unlimited, 1, true), "{\"x\": 18446744073709551615}\n");
        free(s);
        ASSERT_STREQ(s = fields_text(NULL, 0, true), "{}\n");
        free(s);
}
