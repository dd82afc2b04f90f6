/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>

#include "bus-container-ops.h"
#include "bus-systemd.h"
#include "container.h"
#include "log.h"
#include "manager.h"
#include "worker.h"

/* ---- the scope --------------------------------------------------------------------------------------- */

typedef struct ScopeCall {
        ContainerOpCall *call;
        Container *container;
        SystemdJob *job;
        bool start; /* StartTransientUnit, else StopUnit */
} ScopeCall;

static void scope_call_free(void *p) {
        ScopeCall *s = p;

        if (!s)
                return;
        bus_systemd_job_free(s->job);
        free(s);
}

/* The start or stop job is over: the words the lifecycle passes on (a failed Create's as they were). */
static void scope_job_done(Manager *m, const char *result, const sd_bus_error *error, void *userdata) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        ScopeCall *s = userdata;
        ContainerOpCall *call = s->call;
        Container *c = s->container;
        int r = 0;

        s->job = NULL; /* freed by bus-systemd.c after we return */
        call->impl = NULL;
        if (!result) {
                if (s->start && sd_bus_error_has_name(error, "org.freedesktop.systemd1.UnitExists"))
                        r = warden_error_setf(
                                &e,
                                WARDEN_ERROR_KIND_CONTAINER_EXISTS,
                                0,
                                "Unit %s exists already: %s",
                                c->unit,
                                error->message ?: "");
                else {
                        r = warden_error_setf(
                                &e,
                                WARDEN_ERROR_KIND_FAILED,
                                error ? sd_bus_error_get_errno(error) : EIO,
                                "Failed to %s %s: %s",
                                s->start ? "start" : "stop",
                                c->unit,
                                error && error->message ? error->message : "unknown error");
                        /* the client hears systemd's own name for it */
                        (void) warden_error_set_name(
                                &e, error && error->name ? error->name : SD_BUS_ERROR_FAILED);
                }
        } else if (!streq(result, "done")) {
                (void) warden_error_setf(
                        &e,
                        WARDEN_ERROR_KIND_FAILED,
                        -EIO,
                        s->start ? "Starting %s failed: job result '%s'."
                                 : "Stopping %s finished with '%s'.",
                        c->unit,
                        result);
                r = 1; /* the job ran: the unit may exist */
        }
        scope_call_free(s);
        container_op_call_complete(call, r, r != 0 ? &e : NULL);
}

static int scope_call_new(
        Container *c,
        bool start,
        container_op_done_t done,
        void *userdata,
        ContainerOpCall **ret_call,
        ScopeCall **ret) {
        _cleanup_(container_op_call_freep) ContainerOpCall *call = NULL;
        ScopeCall *s;
        int r;

        r = container_op_call_new(done, userdata, &call);
        if (r < 0)
                return r;
        s = calloc(1, sizeof(ScopeCall));
        if (!s)
                return -ENOMEM;
        s->call = call;
        s->container = c;
        s->start = start;
        call->impl = s;
        call->impl_free = scope_call_free;
        *ret = s;
        *ret_call = TAKE_PTR(call);
        return 0;
}

static int
bus_scope_start(Container *c, pid_t pid, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        _cleanup_(container_op_call_freep) ContainerOpCall *call = NULL;
        ScopeCall *s;
        int r;

        r = scope_call_new(c, true, done, userdata, &call, &s);
        if (r < 0)
                return r;
        r = bus_systemd_start_scope(c->manager, c, pid, scope_job_done, s, &s->job);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(call);
        return 0;
}

static int bus_scope_stop(Container *c, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        _cleanup_(container_op_call_freep) ContainerOpCall *call = NULL;
        ScopeCall *s;
        int r;

        r = scope_call_new(c, false, done, userdata, &call, &s);
        if (r < 0)
                return r;
        r = bus_systemd_stop_unit(c->manager, c->unit, scope_job_done, s, &s->job);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(call);
        return 0;
}

const ContainerOps *bus_container_ops(void) {
        static ContainerOps ops;
        static bool initialized = false;

        if (initialized)
                return &ops;
        container_ops_init_real(&ops);
        ops.scope_start = bus_scope_start;
        ops.scope_stop = bus_scope_stop;
        initialized = true;
        return &ops;
}
