/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "strv.h"
#include "tests.h"

TEST(remove) {
        _cleanup_strv_free_ char **l = NULL;

        ASSERT_FALSE(strv_remove(&l, "a")); /* NULL list */
        ASSERT_OK(strv_extend(&l, ":1.1"));
        ASSERT_OK(strv_extend(&l, ":1.2"));
        ASSERT_OK(strv_extend(&l, ":1.1"));
        ASSERT_FALSE(strv_remove(&l, ":1.3"));
        ASSERT_EQ(strv_length(l), 3);
        ASSERT_TRUE(strv_remove(&l, ":1.1")); /* every copy */
        ASSERT_EQ(strv_length(l), 1);
        ASSERT_TRUE(strv_contains(l, ":1.2"));
        ASSERT_FALSE(strv_contains(l, ":1.1"));
        ASSERT_TRUE(strv_remove(&l, ":1.2")); /* emptied: freed */
        ASSERT_NULL(l);
}

TEST(strv) {
        _cleanup_strv_free_ char **l = NULL;

        ASSERT_OK(strv_extend(&l, "b"));
        ASSERT_OK(strv_extend(&l, "a"));
        ASSERT_EQ(strv_length(l), 2);
        ASSERT_TRUE(strv_contains(l, "a"));
        ASSERT_FALSE(strv_contains(l, "c"));
        strv_sort(l);
        ASSERT_STREQ(l[0], "a");
        ASSERT_STREQ(l[1], "b");
        ASSERT_NULL(l[2]);
}
