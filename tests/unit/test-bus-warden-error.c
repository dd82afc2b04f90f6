/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>

#include "bus-error.h"
#include "bus-warden-error.h"
#include "tests.h"

static void check(WardenErrorKind kind, int error, const char *name, const char *want_name, int want_errno) {
        _cleanup_(sd_bus_error_free) sd_bus_error b = SD_BUS_ERROR_NULL;
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;

        (void) warden_error_setf(&e, kind, error, "what went wrong");
        if (name)
                (void) warden_error_set_name(&e, name);
        ASSERT_EQ(bus_error_set_warden(&b, &e), e.error);
        ASSERT_STREQ(b.name, want_name);
        ASSERT_STREQ(b.message, "what went wrong");
        if (want_errno != 0)
                ASSERT_EQ(sd_bus_error_get_errno(&b), want_errno);
}

TEST(names) {
        ASSERT_OK(bus_error_register_map());

        /* the API's own kinds: org.warden.Error.<kind>, and the errno comes back through the map */
        check(WARDEN_ERROR_KIND_INVALID_STATE, 0, NULL, WARDEN_ERROR_INVALID_STATE, EBADFD);
        check(WARDEN_ERROR_KIND_NO_SUCH_CONTAINER, 0, NULL, WARDEN_ERROR_NO_SUCH_CONTAINER, ENXIO);
        check(WARDEN_ERROR_KIND_POOL_EXHAUSTED, 0, NULL, WARDEN_ERROR_POOL_EXHAUSTED, ENOSR);
        check(WARDEN_ERROR_KIND_HOST_FD, 0, NULL, WARDEN_ERROR_HOST_FD, EBADE);
        check(WARDEN_ERROR_KIND_NO_SPACE, -ENOSPC, NULL, WARDEN_ERROR_NO_SPACE, ENOSPC);
        /* the generic ones: D-Bus' names */
        check(WARDEN_ERROR_KIND_INVALID_ARGS, 0, NULL, SD_BUS_ERROR_INVALID_ARGS, 0);
        check(WARDEN_ERROR_KIND_LIMITS_EXCEEDED, 0, NULL, SD_BUS_ERROR_LIMITS_EXCEEDED, 0);
        check(WARDEN_ERROR_KIND_ACCESS_DENIED, -EPERM, NULL, SD_BUS_ERROR_ACCESS_DENIED, 0);
        check(WARDEN_ERROR_KIND_NOT_SUPPORTED, -EOPNOTSUPP, NULL, SD_BUS_ERROR_NOT_SUPPORTED, 0);
        check(WARDEN_ERROR_KIND_IO_ERROR, 0, NULL, SD_BUS_ERROR_IO_ERROR, 0);
        /* FAILED: named after the errno */
        check(WARDEN_ERROR_KIND_FAILED, -ENOMEM, NULL, SD_BUS_ERROR_NO_MEMORY, ENOMEM);
        /* a peer's name goes through unchanged, whatever the kind */
        check(WARDEN_ERROR_KIND_FAILED,
              -EIO,
              "org.freedesktop.systemd1.NoSuchUnit",
              "org.freedesktop.systemd1.NoSuchUnit",
              0);
}

TEST(no_message) {
        _cleanup_(sd_bus_error_free) sd_bus_error b = SD_BUS_ERROR_NULL;
        WardenError e = { .kind = WARDEN_ERROR_KIND_INVALID_STATE, .error = -EBADFD };

        ASSERT_EQ(bus_error_set_warden(&b, &e), -EBADFD);
        ASSERT_STREQ(b.name, WARDEN_ERROR_INVALID_STATE);
        ASSERT_STREQ(b.message, strerror(EBADFD));
}
