/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Users and groups of a container's own passwd and group files (user-lookup.c). */

#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "tests.h"
#include "user-lookup.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "# a comment\n"
                             "broken line\n"
                             "vcap:x:10001:10001::/home/vcap:/bin/sh\n"
                             "nohome:x:20:21:::/bin/false\n"
                             "bad:x:1x:0::/:/bin/sh\n";
static const char group[] = "root:x:0:\n"
                            "vcap:x:10001:\n"
                            "adm:x:4:vcap,other\n"
                            "wheel:x:10:other,vcap\n"
                            "wheel2:x:10:vcap\n" /* the same gid again: once */
                            "none:x:11:\n";

TEST(user_lookup) {
        ContainerUser u = {};

        ASSERT_OK(passwd_lookup(passwd, "vcap", &u));
        ASSERT_EQ(u.uid, 10001);
        ASSERT_EQ(u.gid, 10001);
        ASSERT_STREQ(u.home, "/home/vcap");
        ASSERT_OK(group_lookup_members(group, "vcap", 64, &u));
        ASSERT_EQ(u.n_groups, 2);
        ASSERT_EQ(u.groups[0], 4);
        ASSERT_EQ(u.groups[1], 10);
        container_user_done(&u);

        ASSERT_OK(passwd_lookup(passwd, "vcap", &u));
        ASSERT_OK(group_lookup_members(group, "vcap", 1, &u)); /* capped */
        ASSERT_EQ(u.n_groups, 1);
        container_user_done(&u);

        ASSERT_OK(passwd_lookup(passwd, "nohome", &u));
        ASSERT_STREQ(u.home, "/");
        container_user_done(&u);

        ASSERT_OK(passwd_lookup(passwd, "10001", &u)); /* by uid */
        ASSERT_STREQ(u.home, "/home/vcap");
        container_user_done(&u);

        ASSERT_ERROR(passwd_lookup(passwd, "nobody", &u), ENOENT);
        ASSERT_ERROR(passwd_lookup(passwd, "bad", &u), EINVAL);
        ASSERT_ERROR(passwd_lookup("", "root", &u), ENOENT);
}
