/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Resource limit names (rlimit-util.c). */

#include <sys/resource.h>

#include "rlimit-util.h"
#include "tests.h"

TEST(rlimit_names) {
        ASSERT_EQ(rlimit_from_name("nofile"), RLIMIT_NOFILE);
        ASSERT_EQ(rlimit_from_name("as"), RLIMIT_AS);
        ASSERT_EQ(rlimit_from_name("stack"), RLIMIT_STACK);
        ASSERT_ERROR(rlimit_from_name("NOFILE"), EINVAL);
        ASSERT_ERROR(rlimit_from_name(""), EINVAL);
}
