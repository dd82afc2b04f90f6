/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "string-table.h"
#include "warden-error.h"

static const char *const warden_error_kind_table[_WARDEN_ERROR_KIND_MAX] = {
        [WARDEN_ERROR_KIND_FAILED] = "Failed",
        [WARDEN_ERROR_KIND_INVALID_ARGS] = "InvalidArgs",
        [WARDEN_ERROR_KIND_LIMITS_EXCEEDED] = "LimitsExceeded",
        [WARDEN_ERROR_KIND_ACCESS_DENIED] = "AccessDenied",
        [WARDEN_ERROR_KIND_NOT_SUPPORTED] = "NotSupported",
        [WARDEN_ERROR_KIND_IO_ERROR] = "IOError",
        [WARDEN_ERROR_KIND_NO_SUCH_CONTAINER] = "NoSuchContainer",
        [WARDEN_ERROR_KIND_CONTAINER_EXISTS] = "ContainerExists",
        [WARDEN_ERROR_KIND_INVALID_HANDLE] = "InvalidHandle",
        [WARDEN_ERROR_KIND_INVALID_STATE] = "InvalidState",
        [WARDEN_ERROR_KIND_NO_SUCH_JOB] = "NoSuchJob",
        [WARDEN_ERROR_KIND_POOL_EXHAUSTED] = "PoolExhausted",
        [WARDEN_ERROR_KIND_ROOTFS_NOT_FOUND] = "RootfsNotFound",
        [WARDEN_ERROR_KIND_BIND_MOUNT_SOURCE] = "BindMountSource",
        [WARDEN_ERROR_KIND_LIMIT_FAILED] = "LimitFailed",
        [WARDEN_ERROR_KIND_NO_SPACE] = "NoSpace",
        [WARDEN_ERROR_KIND_HOST_FD] = "HostFd",
};

DEFINE_STRING_TABLE_LOOKUP(warden_error_kind, WardenErrorKind);

/* The domain codes (warden-error.h): errno (positive here, as an index) → kind. */
static const WardenErrorKind domain_codes[] = {
        [ENXIO] = WARDEN_ERROR_KIND_NO_SUCH_CONTAINER,
        [EEXIST] = WARDEN_ERROR_KIND_CONTAINER_EXISTS,
        [EBADR] = WARDEN_ERROR_KIND_INVALID_HANDLE,
        [EBADFD] = WARDEN_ERROR_KIND_INVALID_STATE,
        [ESRCH] = WARDEN_ERROR_KIND_NO_SUCH_JOB,
        [ENOSR] = WARDEN_ERROR_KIND_POOL_EXHAUSTED,
        [ENOMEDIUM] = WARDEN_ERROR_KIND_ROOTFS_NOT_FOUND,
        [EMEDIUMTYPE] = WARDEN_ERROR_KIND_BIND_MOUNT_SOURCE,
        [ECOMM] = WARDEN_ERROR_KIND_LIMIT_FAILED,
        [ENOSPC] = WARDEN_ERROR_KIND_NO_SPACE,
        [EBADE] = WARDEN_ERROR_KIND_HOST_FD,
};

WardenErrorKind warden_error_kind_from_errno(int error) {
        int e = error < 0 ? -error : error;

        if (e <= 0 || (size_t) e >= ELEMENTSOF(domain_codes))
                return WARDEN_ERROR_KIND_FAILED;
        return domain_codes[e]; /* 0 (FAILED) where the table has no entry */
}

int warden_error_kind_errno(WardenErrorKind k) {
        for (size_t i = 0; i < ELEMENTSOF(domain_codes); i++)
                if (domain_codes[i] == k && k != WARDEN_ERROR_KIND_FAILED)
                        return -(int) i;
        return 0;
}

int warden_error_setv(WardenError *e, WardenErrorKind kind, int error, const char *format, va_list ap) {
        char *message = NULL;

        assert(kind >= 0 && kind < _WARDEN_ERROR_KIND_MAX);
        assert(format);

        if (error > 0)
                error = -error;
        if (error == 0)
                error = warden_error_kind_errno(kind);
        if (error == 0)
                error = kind == WARDEN_ERROR_KIND_INVALID_ARGS ? -EINVAL : -EIO;
        if (!e)
                return error;

        errno = -error; /* for "%m" */
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        free(e->message);
        free(e->name);
        *e = (WardenError){ .kind = kind, .error = error, .message = message };
        return error;
}

int warden_error_setf(WardenError *e, WardenErrorKind kind, int error, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = warden_error_setv(e, kind, error, format, ap);
        va_end(ap);
        return r;
}

int warden_error_set_name(WardenError *e, const char *name) {
        assert(e);

        free(e->name);
        e->name = name ? strdup(name) : NULL; /* NULL on ENOMEM: named after the kind then */
        return e->error;
}

int warden_error_copy(WardenError *dst, const WardenError *src) {
        char *message = NULL, *name = NULL;

        assert(dst);
        assert(src);

        /* NULL on ENOMEM: the kind and errno still say it */
        if (src->message)
                message = strdup(src->message);
        if (src->name)
                name = strdup(src->name);
        free(dst->message);
        free(dst->name);
        *dst = (WardenError){ .kind = src->kind, .error = src->error, .message = message, .name = name };
        return src->error;
}

bool warden_error_is_set(const WardenError *e) {
        return e && e->error != 0;
}

void warden_error_done(WardenError *e) {
        assert(e);
        free(e->message);
        free(e->name);
        *e = WARDEN_ERROR_NULL;
}
