/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>

#include "bus-calls.h"
#include "bus-copy.h"
#include "bus-error.h"
#include "bus-lifecycle.h"
#include "bus-polkit.h"
#include "bus-util.h"
#include "bus-warden-error.h"
#include "container-copy.h"
#include "copy.h"
#include "strv.h"

static void copy_done(Manager *manager, const WardenError *e, void *userdata) {
        sd_bus_message *request = userdata;

        if (e)
                (void) bus_reply_warden_error(request, e);
        else
                (void) sd_bus_reply_method_return(request, NULL);
        bus_call_release(manager, request);
}

static int method_copy(sd_bus_message *m, Container *c, sd_bus_error *error, bool copy_in) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        _cleanup_strv_free_ char **allowed = NULL;
        ContainerCopyRequest req = { .copy_in = copy_in, .owner = "" };
        sd_bus_message *request;
        const char *host, *inside;
        uid_t uid;
        int r;

        assert(m);
        assert(c);

        r = bus_verify_manage(m, c->manager, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */
        r = sd_bus_message_read(m, "ss", &req.src, &req.dst);
        if (r < 0)
                return r;
        if (!copy_in) {
                r = sd_bus_message_read(m, "s", &req.owner);
                if (r < 0)
                        return r;
        }
        bus_lifecycle_reference(c, m);

        host = copy_in ? req.src : req.dst;
        inside = copy_in ? req.dst : req.src;
        if (copy_path_check(host, NULL) < 0)
                return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_INVALID_ARGS,
                        "Host path '%s' is not absolute and normalised (no '..', '.' or empty "
                        "components).",
                        host);
        if (copy_path_check(inside, NULL) < 0)
                return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_INVALID_ARGS,
                        "Container path '%s' is not absolute and normalised (no '..', '.' or empty "
                        "components).",
                        inside);
        if (!isempty(req.owner) && copy_owner_check(req.owner) < 0)
                return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_INVALID_ARGS,
                        "Invalid owner '%s': expected 'user:group', 'user' or '' (names or "
                        "numbers).",
                        req.owner);

        if (bus_lifecycle_busy_reason(c))
                return sd_bus_error_setf(
                        error,
                        WARDEN_ERROR_INVALID_STATE,
                        "Container '%s' is being created, stopped or destroyed.",
                        c->handle);
        r = container_copy_check(c, &e);
        if (r < 0)
                return bus_error_set_warden(error, &e);

        /* Host paths: inside copy_directories, org.warden.manage is enough (the worker makes sure of it on
         * what it opens); elsewhere, org.warden.host-paths is needed; root may do anything. */
        r = bus_sender_uid(m, &uid);
        if (r < 0)
                return r;
        if (uid != 0) {
                r = container_copy_host_path_allowed(c, host, &allowed);
                if (r < 0)
                        return r;
                if (r == 0) {
                        r = bus_verify_host_paths(m, c->manager, error);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                return 1; /* polkit is asked; the call comes back with its answer */
                }
        }
        req.allowed_dirs = allowed;
        req.authority = "the polkit action '" WARDEN_POLKIT_ACTION_HOST_PATHS "'";

        request = bus_call_hold(c->manager, m);
        r = container_copy(c, &req, copy_done, request, &e);
        if (r < 0) {
                bus_call_release(c->manager, request);
                return bus_error_set_warden(error, &e);
        }
        return 1;
}

int bus_copy_method_copy_in(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_copy(m, userdata, error, true);
}

int bus_copy_method_copy_out(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_copy(m, userdata, error, false);
}
