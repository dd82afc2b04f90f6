/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The names bandwidth.c gives the links it makes. */

#include "bandwidth.h"
#include "tests.h"

TEST(ifb_name) {
        char n[NETWORK_IFNAME_MAX];

        ASSERT_OK(bandwidth_ifb_name("w-0-0", n));
        ASSERT_STREQ(n, "w-0-i");
        ASSERT_OK(bandwidth_ifb_name("w-4294967295-0", n));
        ASSERT_STREQ(n, "w-4294967295-i");
        ASSERT_ERROR(bandwidth_ifb_name("w-1-1", n), EINVAL);
        ASSERT_ERROR(bandwidth_ifb_name("eth0", n), EINVAL);
        ASSERT_ERROR(bandwidth_ifb_name("w-0", n), EINVAL);
        ASSERT_ERROR(bandwidth_ifb_name("w-123456789012-0", n), EINVAL); /* too long for a link name */
}
