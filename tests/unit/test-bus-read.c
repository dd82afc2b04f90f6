/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * bus_message_read_strv_max(): what it reads, where it stops, and that it stays linear: 10^6 entries (a
 * message the system bus accepts) are read in well under a second.
 */

#include <time.h>

#include "bus-pair.h"
#include "bus-read.h"
#include "strv.h"
#include "tests.h"

/* A sealed message with one "as" of n copies of 'entry', rewound for reading. */
static sd_bus_message *message_with_strv(sd_bus *bus, size_t n, const char *entry) {
        sd_bus_message *m = NULL;

        ASSERT_OK(sd_bus_message_new_method_call(bus, &m, NULL, "/x", "x.y", "Z"));
        ASSERT_OK(sd_bus_message_open_container(m, 'a', "s"));
        for (size_t i = 0; i < n; i++)
                ASSERT_OK(sd_bus_message_append_basic(m, 's', entry));
        ASSERT_OK(sd_bus_message_close_container(m));
        ASSERT_OK(sd_bus_message_seal(m, 1, 0));
        ASSERT_OK(sd_bus_message_rewind(m, true));
        return m;
}

TEST(read_strv_max) {
        sd_bus *server = NULL, *client = NULL;
        sd_bus_message *m;
        char **l = NULL;

        ASSERT_OK(bus_pair_new(&server, &client));

        /* empty: NULL, as sd_bus_message_read_strv() gives */
        m = message_with_strv(client, 0, "x");
        ASSERT_OK(bus_message_read_strv_max(m, 10, &l));
        ASSERT_TRUE(l == NULL);
        sd_bus_message_unref(m);

        m = message_with_strv(client, 3, "abc");
        ASSERT_OK(bus_message_read_strv_max(m, 3, &l));
        ASSERT_EQ(strv_length(l), 3);
        ASSERT_STREQ(l[2], "abc");
        l = strv_free(l);
        sd_bus_message_unref(m);

        /* one more than allowed: refused, nothing returned */
        m = message_with_strv(client, 4, "abc");
        ASSERT_ERROR(bus_message_read_strv_max(m, 3, &l), E2BIG);
        ASSERT_TRUE(l == NULL);
        sd_bus_message_unref(m);

        /* not an "as" */
        ASSERT_OK(sd_bus_message_new_method_call(client, &m, NULL, "/x", "x.y", "Z"));
        ASSERT_OK(sd_bus_message_append(m, "u", 7));
        ASSERT_OK(sd_bus_message_seal(m, 1, 0));
        ASSERT_OK(sd_bus_message_rewind(m, true));
        ASSERT_TRUE(bus_message_read_strv_max(m, 3, &l) < 0);
        sd_bus_message_unref(m);

        sd_bus_close_unref(client);
        sd_bus_close_unref(server);
}

TEST(read_strv_max_is_linear) {
        sd_bus *server = NULL, *client = NULL;
        sd_bus_message *m;
        char **l = NULL;

        ASSERT_OK(bus_pair_new(&server, &client));
        m = message_with_strv(client, 1000000, "x");

        /* No timing here (a test never asserts a time): sd_bus_message_read_strv() needs minutes for a
         * million entries (libsystemd 252), which the suite's 60 s timeout turns into a failure. */
        ASSERT_ERROR(bus_message_read_strv_max(m, 4096, &l), E2BIG);
        ASSERT_NULL(l);

        ASSERT_OK(sd_bus_message_rewind(m, true));
        ASSERT_OK(bus_message_read_strv_max(m, SIZE_MAX, &l));
        ASSERT_EQ(strv_length(l), 1000000);
        strv_free(l);

        sd_bus_message_unref(m);
        sd_bus_close_unref(client);
        sd_bus_close_unref(server);
}
