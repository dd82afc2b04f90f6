/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-error.h"
#include "bus-warden-error.h"
#include "macro.h"

int bus_error_set_warden(sd_bus_error *ret, const WardenError *e) {
        _cleanup_free_ char *name = NULL;
        const char *generic = NULL;
        int error;

        assert(e);

        error = e->error < 0 ? e->error : -EIO;
        if (e->name) {
                (void) sd_bus_error_setf(ret, e->name, "%s", e->message ?: strerror(-error));
                return error;
        }
        switch (e->kind) {
        case WARDEN_ERROR_KIND_FAILED:
                if (e->message)
                        return sd_bus_error_set_errnof(ret, -error, "%s", e->message);
                return sd_bus_error_set_errno(ret, -error);
        case WARDEN_ERROR_KIND_INVALID_ARGS:
                generic = SD_BUS_ERROR_INVALID_ARGS;
                break;
        case WARDEN_ERROR_KIND_LIMITS_EXCEEDED:
                generic = SD_BUS_ERROR_LIMITS_EXCEEDED;
                break;
        case WARDEN_ERROR_KIND_ACCESS_DENIED:
                generic = SD_BUS_ERROR_ACCESS_DENIED;
                break;
        case WARDEN_ERROR_KIND_NOT_SUPPORTED:
                generic = SD_BUS_ERROR_NOT_SUPPORTED;
                break;
        case WARDEN_ERROR_KIND_IO_ERROR:
                generic = SD_BUS_ERROR_IO_ERROR;
                break;
        default:
                break;
        }
        if (!generic) {
                const char *kind = warden_error_kind_to_string(e->kind);

                if (!kind || asprintf(&name, WARDEN_ERROR_PREFIX "%s", kind) < 0)
                        return sd_bus_error_set_errno(ret, -error);
        }
        (void) sd_bus_error_setf(ret, generic ?: name, "%s", e->message ?: strerror(-error));
        return error;
}

int bus_reply_warden_error(sd_bus_message *m, const WardenError *e) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        assert(m);
        assert(e);

        (void) bus_error_set_warden(&error, e);
        return sd_bus_reply_method_error(m, &error);
}
