/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Errors of the container domain, free of any front end: core reports a WardenError (kind, errno,
 * message) and each front end maps it to its own names. src/bus/bus-error.h maps the kinds to
 * org.warden.Error.* (and a few org.freedesktop.DBus.Error.*) names; a future front end (Garden) maps the
 * same kinds to its own.
 *
 * The sign of errno values, everywhere in this tree:
 *   - a function that can fail returns 0 (or a non-negative count) on success and a NEGATIVE errno on
 *     failure (style.md 3.3);
 *   - every errno stored or passed on is negative too: WardenError.error, the 'error' argument of every
 *     done callback (worker_done_t, firewall_done_t, the verbs' callbacks), a job's spawn error;
 *   - positive values exist only where the kernel or libc put them: errno itself, a wire format that
 *     carries one (wshd-proto.h says so where it does), and the 'error' of the log backend.
 *   Convert at those edges, once: `r = -errno`, `-reply->error`.
 *
 * Domain codes. Some errno values mean one thing of the domain when core returns them; callers match
 * these and forward everything else unchanged. Each maps to one kind (warden_error_kind_from_errno()), and
 * the D-Bus error map (bus-error.c) maps the kind's name back to the same errno for clients:
 *
 *     -ENXIO         no such container                  NO_SUCH_CONTAINER
 *     -EEXIST        the handle is taken                CONTAINER_EXISTS
 *     -EBADR         the handle is not valid            INVALID_HANDLE
 *     -EBADFD        the container's state forbids it   INVALID_STATE   (also: busy with an operation)
 *     -ESRCH         no such job                        NO_SUCH_JOB
 *     -ENOSR         a pool (uids, /30s, ports, user namespace ranges) is exhausted   POOL_EXHAUSTED
 *     -ENOMEDIUM     the rootfs directory is missing    ROOTFS_NOT_FOUND
 *     -EMEDIUMTYPE   a bind mount source is refused     BIND_MOUNT_SOURCE
 *     -ECOMM         systemd or the kernel refused a limit; what was in force stays   LIMIT_FAILED
 *     -ENOSPC        the writable layer is full         NO_SPACE
 *     -EBADE         a file descriptor that is not an anonymous pipe   HOST_FD
 *
 * Generic kinds take no errno of their own: INVALID_ARGS, LIMITS_EXCEEDED, ACCESS_DENIED, NOT_SUPPORTED,
 * IO_ERROR, and FAILED (anything else: the errno says what, the message says where).
 */

#include <stdarg.h>
#include <stdbool.h>

#include "macro.h"

typedef enum WardenErrorKind {
        WARDEN_ERROR_KIND_FAILED,
        WARDEN_ERROR_KIND_INVALID_ARGS,
        WARDEN_ERROR_KIND_LIMITS_EXCEEDED,
        WARDEN_ERROR_KIND_ACCESS_DENIED,
        WARDEN_ERROR_KIND_NOT_SUPPORTED,
        WARDEN_ERROR_KIND_IO_ERROR,
        WARDEN_ERROR_KIND_NO_SUCH_CONTAINER,
        WARDEN_ERROR_KIND_CONTAINER_EXISTS,
        WARDEN_ERROR_KIND_INVALID_HANDLE,
        WARDEN_ERROR_KIND_INVALID_STATE,
        WARDEN_ERROR_KIND_NO_SUCH_JOB,
        WARDEN_ERROR_KIND_POOL_EXHAUSTED,
        WARDEN_ERROR_KIND_ROOTFS_NOT_FOUND,
        WARDEN_ERROR_KIND_BIND_MOUNT_SOURCE,
        WARDEN_ERROR_KIND_LIMIT_FAILED,
        WARDEN_ERROR_KIND_NO_SPACE,
        WARDEN_ERROR_KIND_HOST_FD,
        _WARDEN_ERROR_KIND_MAX,
        _WARDEN_ERROR_KIND_INVALID = -EINVAL,
} WardenErrorKind;

typedef struct WardenError {
        WardenErrorKind kind;
        int error;     /* negative errno; 0: no error */
        char *message; /* for the caller, complete ("Container 'x' is being stopped."); NULL: none */
        char *name; /* rarely set: the name a peer gave this error (systemd's, over D-Bus), for a front end
                     * that speaks the peer's protocol to pass on as it was; NULL: named after the kind */
} WardenError;

#define WARDEN_ERROR_NULL ((WardenError){ .kind = WARDEN_ERROR_KIND_FAILED })

/* "Failed", "InvalidArgs", …, "NoSuchContainer", … (the API's names without a prefix). */
const char *warden_error_kind_to_string(WardenErrorKind k) _pure_;
WardenErrorKind warden_error_kind_from_string(const char *s) _pure_;

/* The kind a domain code stands for (the table above); FAILED for any other errno. */
WardenErrorKind warden_error_kind_from_errno(int error) _pure_;
/* The errno of a domain kind (negative); 0 for a generic kind. */
int warden_error_kind_errno(WardenErrorKind k) _pure_;

/*
 * Sets *e (if e is not NULL; a message set before is replaced) and returns 'error' as a negative errno, so
 * that it can end a function: `return warden_error_setf(e, WARDEN_ERROR_KIND_INVALID_STATE, -EBADFD,
 * "Container '%s' is %s.", …);`. A name set before is cleared. 'error' may be 0 for a kind with an errno of
 * its own (it is taken from the table; -EINVAL for INVALID_ARGS, -EIO otherwise). "%m" in the format prints
 * 'error'. Out of memory for the message leaves it NULL; the kind and errno are set all the same.
 */
int warden_error_setf(WardenError *e, WardenErrorKind kind, int error, const char *format, ...)
        _printf_(4, 5);
int warden_error_setv(WardenError *e, WardenErrorKind kind, int error, const char *format, va_list ap)
        _printf_(4, 0);
/* The same with the kind taken from the errno (a domain code, or FAILED). */
#define warden_error_set_errnof(e, error, ...) \
        warden_error_setf((e), warden_error_kind_from_errno(error), (error), __VA_ARGS__)

/* Sets e->name (a copy; NULL clears it) and returns e->error. Out of memory leaves it NULL. */
int warden_error_set_name(WardenError *e, const char *name);

/* Copies src into *dst (the message and name duplicated). Returns src->error. */
int warden_error_copy(WardenError *dst, const WardenError *src);
bool warden_error_is_set(const WardenError *e) _pure_;
/* Frees the message and the name, and resets *e to WARDEN_ERROR_NULL. */
void warden_error_done(WardenError *e);
