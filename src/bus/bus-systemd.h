/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Talking to systemd (org.freedesktop.systemd1) without ever blocking: transient scopes are started and
 * units stopped with asynchronous calls, and completion is the JobRemoved signal of the job the call queued
 * — the way systemd-run and machined wait. One match for JobRemoved serves every pending job
 * (BusManager.systemd_jobs maps job object path → SystemdJob).
 */

#include <systemd/sd-bus.h>

#include "bus-call-out.h"
#include "container.h"
#include "manager.h"

/* How long a call to systemd may take once it is on the bus (bus-call-out.h), rather than sd-bus' 25 s: on a
 * slow machine (an emulated guest) systemd answers the 64 StartTransientUnit calls one after another, each
 * taking up to a second. A Create as a whole has 120 s. */
#define SYSTEMD_CALL_TIMEOUT_USEC (90 * USEC_PER_SEC)

typedef struct SystemdJob SystemdJob;

/*
 * Called once: result is systemd's job result ("done", "failed", "canceled", "timeout", "dependency",
 * "skipped"), or NULL if the call itself failed, in which case 'error' says why. The SystemdJob is freed
 * right after the callback returns.
 */
typedef void (*systemd_job_done_t)(
        Manager *m, const char *result, const sd_bus_error *error, void *userdata);

/* Subscribes to systemd's signals and installs the JobRemoved match. Called once, after connecting. */
int bus_systemd_setup(Manager *m);

/*
 * StartTransientUnit(c->unit, "fail") for a scope in warden.slice with Delegate=yes, accounting on, the
 * container's create-time limits, and 'pid' as its only process. Calls back when the start job is finished.
 * Freeing *ret (bus_systemd_job_free) cancels the wait: the callback is not called.
 */
int bus_systemd_start_scope(
        Manager *m, const Container *c, pid_t pid, systemd_job_done_t cb, void *userdata, SystemdJob **ret);

/* StopUnit(unit, "fail"). A unit systemd does not know is "done" at once. */
int bus_systemd_stop_unit(
        Manager *m, const char *unit, systemd_job_done_t cb, void *userdata, SystemdJob **ret);

/* One unit property of type t, for bus_systemd_set_unit_properties(). */
typedef struct UnitProperty {
        const char *name;
        uint64_t value;
} UnitProperty;

/*
 * SetUnitProperties(unit, runtime=true, props): systemd applies them to the cgroup at once and keeps them
 * until the unit goes. No job: 'cb' gets systemd's reply (a method error if it refused);
 * bus_call_out_free(*ret) cancels the call. Like every call of wardend's to systemd, it goes through the
 * queue of bus-call-out.h.
 */
int bus_systemd_set_unit_properties(
        Manager *m,
        const char *unit,
        const UnitProperty *props,
        size_t n_props,
        sd_bus_message_handler_t cb,
        void *userdata,
        BusCallOut **ret);

SystemdJob *bus_systemd_job_free(SystemdJob *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(SystemdJob *, bus_systemd_job_free);

/* The D-Bus object path of a unit. */
int bus_systemd_unit_path(const char *unit, char **ret);
