/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>

#include "bus-state.h"
#include "bus-systemd.h"
#include "bus-util.h"
#include "log.h"
#include "parse-util.h"

#define SYSTEMD_BUS_NAME "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER_INTERFACE "org.freedesktop.systemd1.Manager"
#define SYSTEMD_UNIT_PREFIX "/org/freedesktop/systemd1/unit"

struct SystemdJob {
        Manager *manager;
        BusCallOut *call; /* while the StartTransientUnit/StopUnit call is in flight */
        char *job_path;   /* then: registered in manager->bus_manager->systemd_jobs under this key */
        systemd_job_done_t done;
        void *userdata;
};

SystemdJob *bus_systemd_job_free(SystemdJob *j) {
        if (!j)
                return NULL;
        bus_call_out_free(j->call);
        if (j->job_path) {
                if (hashmap_get(j->manager->bus_manager->systemd_jobs, j->job_path) == j)
                        (void) hashmap_remove(j->manager->bus_manager->systemd_jobs, j->job_path);
                free(j->job_path);
        }
        free(j);
        return NULL;
}

static void systemd_job_finish(SystemdJob *j, const char *result, const sd_bus_error *error) {
        systemd_job_done_t done = j->done;
        void *userdata = j->userdata;
        Manager *m = j->manager;

        /* Free first: the callback may well start the next job and must find the map clean. */
        bus_systemd_job_free(j);
        done(m, result, error, userdata);
}

static int match_job_removed(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *path, *unit, *result;
        SystemdJob *j;
        uint32_t id;
        int r;

        r = sd_bus_message_read(message, "uoss", &id, &path, &unit, &result);
        if (r < 0) {
                log_debug_errno(r, "Failed to parse JobRemoved: %m");
                return 0;
        }
        j = hashmap_get(m->bus_manager->systemd_jobs, path);
        if (!j)
                return 0;
        log_debug("Job %u for %s finished: %s.", id, unit, result);
        systemd_job_finish(j, result, NULL);
        return 0;
}

int bus_systemd_setup(Manager *m) {
        int r;

        assert(m);

        r = bus_match_new(
                manager_bus(m),
                SYSTEMD_BUS_NAME,
                SYSTEMD_PATH,
                SYSTEMD_MANAGER_INTERFACE,
                "JobRemoved",
                match_job_removed,
                NULL,
                m,
                &m->bus_manager->job_removed_match);
        if (r < 0)
                return r;
        /* systemd sends its signals only while someone is subscribed. */
        r = sd_bus_call_method_async(
                manager_bus(m),
                NULL,
                SYSTEMD_BUS_NAME,
                SYSTEMD_PATH,
                SYSTEMD_MANAGER_INTERFACE,
                "Subscribe",
                NULL,
                NULL,
                NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to systemd: %m");
        return 0;
}

/* The reply to StartTransientUnit/StopUnit: the path of the job to wait for. */
static int reply_job_queued(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        SystemdJob *j = userdata;
        const sd_bus_error *e;
        const char *path;
        int r;

        j->call = bus_call_out_free(j->call);

        e = sd_bus_message_get_error(reply);
        if (e) {
                systemd_job_finish(j, NULL, e);
                return 0;
        }

        r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0) {
                j->job_path = strdup(path);
                r = j->job_path ? hashmap_put(j->manager->bus_manager->systemd_jobs, j->job_path, j)
                                : -ENOMEM;
        }
        if (r < 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                free(j->job_path);
                j->job_path = NULL;
                sd_bus_error_set_errnof(&error, r, "Failed to track the systemd job: %m");
                systemd_job_finish(j, NULL, &error);
        }
        return 0;
}

static int systemd_job_new(Manager *m, systemd_job_done_t cb, void *userdata, SystemdJob **ret) {
        SystemdJob *j = calloc(1, sizeof(SystemdJob));

        if (!j)
                return -ENOMEM;
        j->manager = m;
        j->done = cb;
        j->userdata = userdata;
        *ret = j;
        return 0;
}

/* Confinement: the container may open (and mknod) only the pseudo devices wshd puts in its /dev and its
 * own terminals, so that not even its root can reach a host disk through a device node. systemd enforces it
 * through the devices cgroup (v1) or a BPF device program (v2). DevicePolicy=closed would allow the
 * standard pseudo devices by itself; they are listed all the same, to be independent of that. */
static int append_device_policy(sd_bus_message *msg) {
        static const char *const allowed[] = {
                "/dev/null",    "/dev/zero", "/dev/full", "/dev/random",
                "/dev/urandom", "/dev/tty",  "/dev/ptmx", "char-pts",
        };
        int r;

        r = sd_bus_message_append(msg, "(sv)", "DevicePolicy", "s", "closed");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(msg, "s", "DeviceAllow");
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'v', "a(ss)");
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'a', "(ss)");
        FOREACH_ARRAY(a, allowed, ELEMENTSOF(allowed))
                if (r >= 0)
                        r = sd_bus_message_append(msg, "(ss)", *a, "rwm");
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        return r;
}

int bus_systemd_start_scope(
        Manager *m, const Container *c, pid_t pid, systemd_job_done_t cb, void *userdata, SystemdJob **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        _cleanup_(bus_systemd_job_freep) SystemdJob *j = NULL;
        _cleanup_free_ char *description = NULL;
        int r;

        assert(m);
        assert(c);
        assert(ret);

        r = systemd_job_new(m, cb, userdata, &j);
        if (r < 0)
                return r;
        if (asprintf(&description, "warden container %s", c->handle) < 0)
                return -ENOMEM;

        r = sd_bus_message_new_method_call(
                manager_bus(m),
                &msg,
                SYSTEMD_BUS_NAME,
                SYSTEMD_PATH,
                SYSTEMD_MANAGER_INTERFACE,
                "StartTransientUnit");
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "ss", c->unit, "fail");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'a', "(sv)");
        if (r < 0)
                return r;
        r = sd_bus_message_append(
                msg,
                "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)",
                "Description",
                "s",
                description,
                "Slice",
                "s",
                WARDEN_SLICE,
                "Delegate",
                "b",
                1,
                "MemoryAccounting",
                "b",
                1,
                "CPUAccounting",
                "b",
                1,
                "TasksAccounting",
                "b",
                1,
                /* wshd exits on SIGTERM and the kernel kills the rest of its PID namespace: a stop
                 * never needs systemd's 90 s default. */
                "TimeoutStopUSec",
                "t",
                m->config.stop_timeout_usec,
                "CollectMode",
                "s",
                "inactive-or-failed");
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "(sv)", "PIDs", "au", 1, (uint32_t) pid);
        if (r < 0)
                return r;
        r = append_device_policy(msg);
        if (r < 0)
                return r;
        if (c->memory_limit > 0) {
                /* a hard cap: no swap beyond it (cgroup2; on v1 bus-limits.c sets memory.memsw) */
                r = sd_bus_message_append(
                        msg, "(sv)(sv)", "MemoryMax", "t", c->memory_limit, "MemorySwapMax", "t", 0);
                if (r < 0)
                        return r;
        }
        if (c->cpu_weight > 0) {
                r = sd_bus_message_append(msg, "(sv)", "CPUWeight", "t", c->cpu_weight);
                if (r < 0)
                        return r;
        }
        if (c->cpu_quota > 0) {
                /* CPUQuota=N% is this property in µs of CPU time per second of wall time */
                r = sd_bus_message_append(
                        msg, "(sv)", "CPUQuotaPerSecUSec", "t", c->cpu_quota * (USEC_PER_SEC / 100));
                if (r < 0)
                        return r;
        }
        if (c->pids_limit > 0) {
                r = sd_bus_message_append(msg, "(sv)", "TasksMax", "t", c->pids_limit);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(msg);
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "a(sa(sv))", 0);
        if (r < 0)
                return r;

        r = bus_call_out(m, msg, SYSTEMD_CALL_TIMEOUT_USEC, reply_job_queued, j, &j->call);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

static int reply_stop_queued(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        SystemdJob *j = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        /* Nothing to stop: the unit is already gone (its last process exited and it was collected). */
        if (e && sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit")) {
                j->call = bus_call_out_free(j->call);
                systemd_job_finish(j, "done", NULL);
                return 0;
        }
        return reply_job_queued(reply, userdata, ret_error);
}

int bus_systemd_stop_unit(
        Manager *m, const char *unit, systemd_job_done_t cb, void *userdata, SystemdJob **ret) {
        _cleanup_(bus_systemd_job_freep) SystemdJob *j = NULL;
        int r;

        assert(m);
        assert(ret);
        assert(unit);

        r = systemd_job_new(m, cb, userdata, &j);
        if (r < 0)
                return r;
        r = bus_call_out_method(
                m,
                SYSTEMD_BUS_NAME,
                SYSTEMD_PATH,
                SYSTEMD_MANAGER_INTERFACE,
                "StopUnit",
                SYSTEMD_CALL_TIMEOUT_USEC,
                reply_stop_queued,
                j,
                &j->call,
                "ss",
                unit,
                "fail");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

int bus_systemd_unit_path(const char *unit, char **ret) {
        int r;

        assert(unit);
        assert(ret);

        r = sd_bus_path_encode(SYSTEMD_UNIT_PREFIX, unit, ret);
        return r < 0 ? r : 0;
}

int bus_systemd_set_unit_properties(
        Manager *m,
        const char *unit,
        const UnitProperty *props,
        size_t n_props,
        sd_bus_message_handler_t cb,
        void *userdata,
        BusCallOut **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        assert(m);
        assert(unit);

        r = sd_bus_message_new_method_call(
                manager_bus(m),
                &msg,
                SYSTEMD_BUS_NAME,
                SYSTEMD_PATH,
                SYSTEMD_MANAGER_INTERFACE,
                "SetUnitProperties");
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "sb", unit, 1);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'a', "(sv)");
        if (r < 0)
                return r;
        FOREACH_ARRAY(p, props, n_props) {
                r = sd_bus_message_append(msg, "(sv)", p->name, "t", p->value);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(msg);
        if (r < 0)
                return r;
        return bus_call_out(m, msg, SYSTEMD_CALL_TIMEOUT_USEC, cb, userdata, ret);
}
