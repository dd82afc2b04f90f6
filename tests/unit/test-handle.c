/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Container handles (handle.c): which are valid, generated ones, and their unit names. */

#include <string.h>

#include "handle.h"
#include "tests.h"

TEST(handle_is_valid) {
        char h[HANDLE_MAX + 2];

        ASSERT_TRUE(handle_is_valid("a"));
        ASSERT_TRUE(handle_is_valid("web_1.prod-2"));
        ASSERT_FALSE(handle_is_valid(""));
        ASSERT_FALSE(handle_is_valid(NULL));
        ASSERT_FALSE(handle_is_valid(".hidden"));
        ASSERT_FALSE(handle_is_valid("-x"));
        ASSERT_FALSE(handle_is_valid("a/b"));
        ASSERT_FALSE(handle_is_valid("a b"));
        ASSERT_FALSE(handle_is_valid("caf\xc3\xa9"));
        memset(h, 'a', HANDLE_MAX);
        h[HANDLE_MAX] = '\0';
        ASSERT_TRUE(handle_is_valid(h));
        h[HANDLE_MAX] = 'a';
        h[HANDLE_MAX + 1] = '\0';
        ASSERT_FALSE(handle_is_valid(h));
}

TEST(handle_generate) {
        char a[HANDLE_GENERATED_LEN + 1], b[HANDLE_GENERATED_LEN + 1];

        ASSERT_OK(handle_generate(a, sizeof(a)));
        ASSERT_OK(handle_generate(b, sizeof(b)));
        ASSERT_EQ(strlen(a), HANDLE_GENERATED_LEN);
        ASSERT_TRUE(handle_is_valid(a));
        ASSERT_TRUE(strcmp(a, b) != 0);
        for (size_t i = 0; i < HANDLE_GENERATED_LEN; i++)
                ASSERT_TRUE(strchr("abcdefghijklmnopqrstuvwxyz234567", a[i]));
        ASSERT_ERROR(handle_generate(a, 5), ENOBUFS);
}

TEST(handle_to_unit_name) {
        char *u = NULL;

        ASSERT_OK(handle_to_unit_name("web-1", &u));
        ASSERT_STREQ(u, "warden-web-1.scope");
        free(u);
        ASSERT_ERROR(handle_to_unit_name("../x", &u), EINVAL);
}
