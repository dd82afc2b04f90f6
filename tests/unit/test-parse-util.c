/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "parse-util.h"
#include "tests.h"

TEST(parse_uint64) {
        uint64_t v;

        ASSERT_OK(parse_uint64("0", &v));
        ASSERT_EQ(v, 0);
        ASSERT_OK(parse_uint64("18446744073709551615", &v));
        ASSERT_TRUE(v == UINT64_MAX);
        ASSERT_ERROR(parse_uint64("18446744073709551616", &v), ERANGE);
        ASSERT_ERROR(parse_uint64("-1", &v), EINVAL);
        ASSERT_ERROR(parse_uint64(" 1", &v), EINVAL);
        ASSERT_ERROR(parse_uint64("1 ", &v), EINVAL);
        ASSERT_ERROR(parse_uint64("", &v), EINVAL);
        ASSERT_ERROR(parse_uint64("0x10", &v), EINVAL);
}

TEST(parse_uint32) {
        uint32_t v;

        ASSERT_OK(parse_uint32("4294967295", &v));
        ASSERT_EQ(v, UINT32_MAX);
        ASSERT_ERROR(parse_uint32("4294967296", &v), ERANGE);
}

TEST(parse_boolean) {
        bool b = false;

        ASSERT_OK(parse_boolean("yes", &b));
        ASSERT_TRUE(b);
        ASSERT_OK(parse_boolean("OFF", &b));
        ASSERT_FALSE(b);
        ASSERT_ERROR(parse_boolean("maybe", &b), EINVAL);
}

TEST(parse_sec) {
        uint64_t u;

        ASSERT_OK(parse_sec("30", &u));
        ASSERT_EQ(u, 30 * USEC_PER_SEC);
        ASSERT_OK(parse_sec("2min", &u));
        ASSERT_EQ(u, 120 * USEC_PER_SEC);
        ASSERT_OK(parse_sec("250ms", &u));
        ASSERT_EQ(u, 250 * USEC_PER_MSEC);
        ASSERT_OK(parse_sec("1h", &u));
        ASSERT_EQ(u, 3600 * USEC_PER_SEC);
        ASSERT_OK(parse_sec("0", &u));
        ASSERT_EQ(u, 0);
        ASSERT_OK(parse_sec("infinity", &u));
        ASSERT_TRUE(u == USEC_INFINITY);
        ASSERT_ERROR(parse_sec("5x", &u), EINVAL);
        ASSERT_ERROR(parse_sec("s", &u), EINVAL);
        ASSERT_ERROR(parse_sec("99999999999999999h", &u), ERANGE);
}

TEST(parse_size) {
        uint64_t v;

        ASSERT_OK(parse_size("10M", &v));
        ASSERT_EQ(v, 10 * 1024 * 1024);
        ASSERT_OK(parse_size("7", &v));
        ASSERT_EQ(v, 7);
        ASSERT_ERROR(parse_size("10Q", &v), EINVAL);
        ASSERT_ERROR(parse_size("99999999999T", &v), ERANGE);
}

TEST(parse_ipv4_cidr) {
        uint32_t a;
        unsigned p;

        ASSERT_OK(parse_ipv4_cidr("10.254.0.0/20", &a, &p));
        ASSERT_EQ(a, 0x0afe0000u);
        ASSERT_EQ(p, 20);
        ASSERT_ERROR(parse_ipv4_cidr("10.254.0.1/20", &a, &p), EINVAL); /* host bits */
        ASSERT_ERROR(parse_ipv4_cidr("10.254.0.0/33", &a, &p), ERANGE);
        ASSERT_ERROR(parse_ipv4_cidr("10.254.0.0", &a, &p), EINVAL);
        ASSERT_ERROR(parse_ipv4_cidr("10.254.0/24", &a, &p), EINVAL);
        ASSERT_ERROR(parse_ipv4_cidr("10.254.0.0/x", &a, &p), EINVAL);
}
