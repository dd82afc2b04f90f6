/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The pieces of wardenctl's limit commands that need no wardend (verb-limit.c): parsing of limit values, the
 * LimitDisk a{st}, and how the limits are printed, as text and as JSON.
 */

#include <stdio.h>
#include <stdlib.h>

#include "bus-pair.h"
#include "macro.h"
#include "tests.h"
#include "verb-limit.h"

TEST(limit_cpu_quota_parse) {
        uint64_t v = 0;

        ASSERT_OK(limit_cpu_quota_parse("50", &v));
        ASSERT_EQ(v, 50u);
        ASSERT_OK(limit_cpu_quota_parse("250%", &v));
        ASSERT_EQ(v, 250u);
        ASSERT_OK(limit_cpu_quota_parse("none", &v));
        ASSERT_EQ(v, UINT64_MAX);
        ASSERT_OK(limit_cpu_quota_parse("infinity", &v));
        ASSERT_EQ(v, UINT64_MAX);
        v = 7;
        ASSERT_ERROR(limit_cpu_quota_parse("0", &v), EINVAL); /* would only query */
        ASSERT_ERROR(limit_cpu_quota_parse("%", &v), EINVAL);
        ASSERT_ERROR(limit_cpu_quota_parse("50%%", &v), EINVAL);
        ASSERT_ERROR(limit_cpu_quota_parse("half", &v), EINVAL);
        ASSERT_ERROR(limit_cpu_quota_parse("18446744073709551615", &v), EINVAL);
        ASSERT_EQ(v, 7u);
}

TEST(limit_value_parse) {
        uint64_t v = 0;

        ASSERT_OK(limit_value_parse("64M", true, &v));
        ASSERT_EQ(v, 64ULL << 20);
        ASSERT_OK(limit_value_parse("1G", true, &v));
        ASSERT_EQ(v, 1ULL << 30);
        ASSERT_OK(limit_value_parse("4096", true, &v));
        ASSERT_EQ(v, 4096);
        ASSERT_OK(limit_value_parse("400", false, &v));
        ASSERT_EQ(v, 400);
        /* 0 would only query */
        v = 7;
        ASSERT_ERROR(limit_value_parse("0", true, &v), EINVAL);
        ASSERT_ERROR(limit_value_parse("0", false, &v), EINVAL);
        ASSERT_ERROR(limit_value_parse("0K", true, &v), EINVAL);
        /* a weight has no suffix */
        ASSERT_ERROR(limit_value_parse("1K", false, &v), EINVAL);
        ASSERT_ERROR(limit_value_parse("", true, &v), EINVAL);
        ASSERT_ERROR(limit_value_parse("-1", true, &v), EINVAL);
        ASSERT_ERROR(limit_value_parse("12X", true, &v), EINVAL);
        ASSERT_ERROR(limit_value_parse(" 5", false, &v), EINVAL);
        ASSERT_ERROR(limit_value_parse("99999999999999999999", false, &v), ERANGE);
        ASSERT_ERROR(limit_value_parse("99999999T", true, &v), ERANGE);
        ASSERT_EQ(v, 7);
}

/* LimitDisk's a{st} for 'a', read back as a list "key=value ..." */
static char *disk_dict(sd_bus *client, const DiskLimitArgs *a) {
        sd_bus_message *m = NULL;
        char *text = NULL;
        size_t size = 0;
        const char *key;
        uint64_t v;
        FILE *f;

        ASSERT_OK(
                sd_bus_message_new_method_call(client, &m, "org.example", "/", "org.example", "LimitDisk"));
        ASSERT_OK(disk_limit_args_append(m, a));
        ASSERT_OK(sd_bus_message_seal(m, 1, 0));
        ASSERT_OK(sd_bus_message_rewind(m, true));
        ASSERT_NOT_NULL(f = open_memstream(&text, &size));
        ASSERT_OK(sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{st}"));
        while (sd_bus_message_read(m, "{st}", &key, &v) > 0)
                fprintf(f, "%s=%" PRIu64 " ", key, v);
        ASSERT_EQ(fclose(f), 0);
        sd_bus_message_unref(m);
        return text;
}

TEST(disk_limit_args) {
        sd_bus *server = NULL, *client = NULL;
        char *s;

        ASSERT_OK(bus_pair_new(&server, &client));
        /* none: the query */
        ASSERT_STREQ(s = disk_dict(client, &(DiskLimitArgs){}), "");
        free(s);
        ASSERT_STREQ(
                s = disk_dict(client, &(DiskLimitArgs){ .bytes_set = true, .bytes = 16 << 20 }),
                "byte_limit=16777216 ");
        free(s);
        ASSERT_STREQ(
                s = disk_dict(client, &(DiskLimitArgs){ .inodes_set = true, .inodes = 256 }),
                "inode_limit=256 ");
        free(s);
        /* 0 is sent when given: wardend judges it */
        ASSERT_STREQ(
                s = disk_dict(
                        client,
                        &(DiskLimitArgs){ .bytes_set = true, .bytes = 0, .inodes_set = true, .inodes = 9 }),
                "byte_limit=0 inode_limit=9 ");
        free(s);
        sd_bus_close_unref(client);
        sd_bus_close_unref(server);
}

TEST(limit_dict_print) {
        sd_bus *server = NULL, *client = NULL;
        sd_bus_message *m = NULL;
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        ASSERT_OK(bus_pair_new(&server, &client));
        /* LimitDisk's answer; a key wardenctl does not know is printed as a number */
        ASSERT_OK(sd_bus_message_new_method_call(client, &m, "org.example", "/", "org.example", "X"));
        ASSERT_OK(sd_bus_message_append(
                m,
                "a{st}",
                3,
                "byte_limit",
                UINT64_C(16) << 20,
                "inode_limit",
                UINT64_C(256),
                "new_key",
                UINT64_C(0)));
        ASSERT_OK(sd_bus_message_seal(m, 1, 0));

        ASSERT_OK(sd_bus_message_rewind(m, true));
        ASSERT_NOT_NULL(f = open_memstream(&text, &size));
        ASSERT_OK(limit_dict_print(f, m, false));
        ASSERT_EQ(fclose(f), 0);
        ASSERT_STREQ(text, " byte_limit: 16777216 (16.0M)\ninode_limit: 256\n    new_key: 0 (none)\n");
        text = mfree(text);

        ASSERT_OK(sd_bus_message_rewind(m, true));
        ASSERT_NOT_NULL(f = open_memstream(&text, &size));
        ASSERT_OK(limit_dict_print(f, m, true));
        ASSERT_EQ(fclose(f), 0);
        ASSERT_STREQ(text, "{\"byte_limit\": 16777216, \"inode_limit\": 256, \"new_key\": 0}\n");
        text = mfree(text);

        sd_bus_message_unref(m);
        sd_bus_close_unref(client);
        sd_bus_close_unref(server);
}
