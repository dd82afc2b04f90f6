/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>

#include "tests.h"
#include "warden-error.h"

TEST(kind_strings) {
        ASSERT_STREQ(warden_error_kind_to_string(WARDEN_ERROR_KIND_INVALID_STATE), "InvalidState");
        ASSERT_STREQ(warden_error_kind_to_string(WARDEN_ERROR_KIND_FAILED), "Failed");
        ASSERT_NULL(warden_error_kind_to_string(_WARDEN_ERROR_KIND_MAX));
        ASSERT_NULL(warden_error_kind_to_string((WardenErrorKind) -1));
        ASSERT_EQ(warden_error_kind_from_string("PoolExhausted"), WARDEN_ERROR_KIND_POOL_EXHAUSTED);
        ASSERT_EQ(warden_error_kind_from_string("poolexhausted"), _WARDEN_ERROR_KIND_INVALID);
        ASSERT_EQ(warden_error_kind_from_string(NULL), _WARDEN_ERROR_KIND_INVALID);
        /* every kind has a name, and the name comes back as the same kind */
        for (int k = 0; k < _WARDEN_ERROR_KIND_MAX; k++)
                ASSERT_EQ(warden_error_kind_from_string(warden_error_kind_to_string(k)), k);
}

TEST(domain_codes) {
        ASSERT_EQ(warden_error_kind_from_errno(-ENXIO), WARDEN_ERROR_KIND_NO_SUCH_CONTAINER);
        ASSERT_EQ(warden_error_kind_from_errno(-ENOSR), WARDEN_ERROR_KIND_POOL_EXHAUSTED);
        ASSERT_EQ(warden_error_kind_from_errno(-ENOMEDIUM), WARDEN_ERROR_KIND_ROOTFS_NOT_FOUND);
        ASSERT_EQ(warden_error_kind_from_errno(-EBADFD), WARDEN_ERROR_KIND_INVALID_STATE);
        ASSERT_EQ(warden_error_kind_from_errno(-ENOMEM), WARDEN_ERROR_KIND_FAILED);
        ASSERT_EQ(warden_error_kind_from_errno(-100000), WARDEN_ERROR_KIND_FAILED);
        ASSERT_EQ(warden_error_kind_from_errno(0), WARDEN_ERROR_KIND_FAILED);
        /* both directions agree for every domain kind */
        for (int k = 0; k < _WARDEN_ERROR_KIND_MAX; k++) {
                int e = warden_error_kind_errno(k);

                ASSERT_TRUE(e <= 0);
                if (e < 0)
                        ASSERT_EQ(warden_error_kind_from_errno(e), k);
        }
        ASSERT_EQ(warden_error_kind_errno(WARDEN_ERROR_KIND_INVALID_ARGS), 0);
        ASSERT_EQ(warden_error_kind_errno(WARDEN_ERROR_KIND_HOST_FD), -EBADE);
}

TEST(setf_copy_done) {
        WardenError e = WARDEN_ERROR_NULL, copy = WARDEN_ERROR_NULL;

        ASSERT_FALSE(warden_error_is_set(&e));
        ASSERT_EQ(
                warden_error_setf(
                        &e, WARDEN_ERROR_KIND_INVALID_STATE, 0, "Container '%s' is %s.", "a", "born"),
                -EBADFD);
        ASSERT_TRUE(warden_error_is_set(&e));
        ASSERT_EQ(e.kind, WARDEN_ERROR_KIND_INVALID_STATE);
        ASSERT_STREQ(e.message, "Container 'a' is born.");

        /* a positive errno is made negative; %m prints it; the old message is replaced, not leaked */
        ASSERT_EQ(warden_error_set_errnof(&e, ENOSR, "Out of addresses: %m"), -ENOSR);
        ASSERT_EQ(e.kind, WARDEN_ERROR_KIND_POOL_EXHAUSTED);
        ASSERT_EQ(e.error, -ENOSR);
        ASSERT_STREQ(e.message + strlen("Out of addresses: "), strerror(ENOSR));

        ASSERT_EQ(warden_error_setf(&e, WARDEN_ERROR_KIND_INVALID_ARGS, 0, "bad"), -EINVAL);
        ASSERT_EQ(warden_error_setf(&e, WARDEN_ERROR_KIND_IO_ERROR, 0, "io"), -EIO);
        ASSERT_EQ(warden_error_setf(NULL, WARDEN_ERROR_KIND_FAILED, -ENOMEM, "x"), -ENOMEM);

        ASSERT_EQ(warden_error_copy(&copy, &e), -EIO);
        ASSERT_EQ(copy.kind, WARDEN_ERROR_KIND_IO_ERROR);
        ASSERT_STREQ(copy.message, "io");
        ASSERT_TRUE(copy.message != e.message);

        /* a peer's name travels with a copy, and a new setf() forgets it */
        ASSERT_EQ(warden_error_set_name(&e, "org.freedesktop.systemd1.NoSuchUnit"), -EIO);
        ASSERT_EQ(warden_error_copy(&copy, &e), -EIO);
        ASSERT_STREQ(copy.name, "org.freedesktop.systemd1.NoSuchUnit");
        ASSERT_TRUE(copy.name != e.name);
        ASSERT_EQ(warden_error_setf(&e, WARDEN_ERROR_KIND_FAILED, -EPERM, "again"), -EPERM);
        ASSERT_NULL(e.name);

        warden_error_done(&e);
        warden_error_done(&copy);
        ASSERT_FALSE(warden_error_is_set(&e));
        ASSERT_NULL(e.message);
}
