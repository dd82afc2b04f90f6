/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* path_normalize() (path-util.c). */

#include "macro.h"
#include "path-util.h"
#include "tests.h"

TEST(path_normalize) {
        char *p = NULL;

        ASSERT_OK(path_normalize("//var/./lib//warden/", &p));
        ASSERT_STREQ(p, "/var/lib/warden");
        p = mfree(p);
        ASSERT_OK(path_normalize("/", &p));
        ASSERT_STREQ(p, "/");
        p = mfree(p);
        ASSERT_ERROR(path_normalize("var/lib", &p), EINVAL);
        ASSERT_ERROR(path_normalize("/var/../etc", &p), EINVAL);
        ASSERT_ERROR(path_normalize("", &p), EINVAL);
        ASSERT_NULL(p);
}
