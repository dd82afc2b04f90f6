/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "bus-call-out.h"
#include "bus-calls.h"
#include "bus-clients.h"
#include "bus-container-ops.h"
#include "bus-container.h"
#include "bus-copy.h"
#include "bus-error.h"
#include "bus-job.h"
#include "bus-lifecycle.h"
#include "bus-limits.h"
#include "bus-manager.h"
#include "bus-net.h"
#include "bus-polkit.h"
#include "bus-state.h"
#include "bus-util.h"
#include "handle.h"
#include "log.h"
#include "parse-util.h"
#include "strv.h"
#include "warden-messages.h"

static int property_get_version(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", WARDEN_VERSION);
}

static int property_get_containers(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = userdata;
        int r;

        r = manager_list_containers(m, NULL, &l);
        if (r < 0)
                return r;
        return sd_bus_message_append_strv(reply, l);
}

static int method_ping(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(m, NULL);
}

static int method_echo(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *s;
        int r;

        r = sd_bus_message_read(m, "s", &s);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "s", s);
}

static int method_list(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **filter = NULL, **l = NULL;
        Manager *manager = userdata;
        int r;

        r = bus_message_read_string_pairs(m, &filter);
        if (r == -EINVAL)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Duplicate key in properties.");
        if (r == -E2BIG)
                return sd_bus_error_setf(
                        error, SD_BUS_ERROR_INVALID_ARGS, "More than %u properties.", BUS_STRING_PAIRS_MAX);
        if (r < 0)
                return r;

        r = manager_list_containers(manager, filter, &l);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(reply, l);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/*
 * The Manager's methods that name a container: read and check the handle, look the container up, then run
 * the same implementation as the container object. A caller who may not change anything learns
 * "AccessDenied" before learning whether the container exists.
 */
static int method_by_handle(
        sd_bus_message *m,
        Manager *manager,
        sd_bus_error *error,
        sd_bus_message_handler_t handler,
        bool mutating) {
        const char *handle;
        Container *c;
        bool valid;
        int r;

        r = sd_bus_message_read(m, "s", &handle);
        if (r < 0)
                return r;

        valid = handle_is_valid(handle);
        c = valid ? manager_get_container(manager, handle) : NULL;
        if (!c && mutating) {
                r = bus_verify_manage(m, manager, error);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 1; /* polkit is asked; the call comes back with its answer */
        }
        if (!valid)
                return sd_bus_error_setf(
                        error,
                        WARDEN_ERROR_INVALID_HANDLE,
                        "Invalid container handle: a handle has 1 to %i characters of "
                        "[A-Za-z0-9_.-] "
                        "and does not start with '.' or '-'.",
                        HANDLE_MAX);
        if (!c)
                return sd_bus_error_setf(
                        error, WARDEN_ERROR_NO_SUCH_CONTAINER, "No container '%s'.", handle);
        return handler(m, c, error);
}

#define DEFINE_METHOD_BY_HANDLE(name, handler, mutating)                                   \
        static int method_##name(sd_bus_message *m, void *userdata, sd_bus_error *error) { \
                return method_by_handle(m, userdata, error, handler, mutating);            \
        }

DEFINE_METHOD_BY_HANDLE(info, bus_container_method_info, false)
DEFINE_METHOD_BY_HANDLE(stop, bus_lifecycle_method_stop, true)
DEFINE_METHOD_BY_HANDLE(destroy, bus_lifecycle_method_destroy, true)
DEFINE_METHOD_BY_HANDLE(spawn, bus_job_method_spawn, true)
DEFINE_METHOD_BY_HANDLE(run, bus_job_method_run, true)
DEFINE_METHOD_BY_HANDLE(link, bus_job_method_link, true)
DEFINE_METHOD_BY_HANDLE(stream, bus_job_method_stream, true)
DEFINE_METHOD_BY_HANDLE(signal, bus_job_method_signal, true)
DEFINE_METHOD_BY_HANDLE(resize_tty, bus_job_method_resize_tty, true)
DEFINE_METHOD_BY_HANDLE(copy_in, bus_copy_method_copy_in, true)
DEFINE_METHOD_BY_HANDLE(copy_out, bus_copy_method_copy_out, true)
DEFINE_METHOD_BY_HANDLE(net_in, bus_net_method_net_in, true)
DEFINE_METHOD_BY_HANDLE(net_out, bus_net_method_net_out, true)
DEFINE_METHOD_BY_HANDLE(limit_memory, bus_limits_method_memory, true)
DEFINE_METHOD_BY_HANDLE(limit_cpu, bus_limits_method_cpu, true)
DEFINE_METHOD_BY_HANDLE(limit_cpu_quota, bus_limits_method_cpu_quota, true)
DEFINE_METHOD_BY_HANDLE(limit_disk, bus_limits_method_disk, true)
DEFINE_METHOD_BY_HANDLE(limit_bandwidth, bus_limits_method_bandwidth, true)

/* clang-format off */
const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Containers", "as", property_get_containers, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),

        SD_BUS_METHOD_WITH_ARGS("Ping", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_ping, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Echo", SD_BUS_ARGS("s", message), SD_BUS_RESULT("s", message), method_echo, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Create", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("s", handle, "o", container), bus_lifecycle_method_create, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_ARGS("s", handle, "b", kill), SD_BUS_NO_RESULT, method_stop, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Destroy", SD_BUS_ARGS("s", handle), SD_BUS_NO_RESULT, method_destroy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("List", SD_BUS_ARGS("a{ss}", properties), SD_BUS_RESULT("as", handles), method_list, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Info", SD_BUS_ARGS("s", handle), SD_BUS_RESULT("a{sv}", info), method_info, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Spawn", SD_BUS_ARGS("s", handle, "as", argv, "a{sv}", options), SD_BUS_RESULT("u", job_id), method_spawn, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Link", SD_BUS_ARGS("s", handle, "u", job_id), SD_BUS_RESULT("i", exit_status, "ay", stdout, "ay", stderr, "a{sv}", info), method_link, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Stream", SD_BUS_ARGS("s", handle, "u", job_id), SD_BUS_RESULT("h", stdout, "h", stderr), method_stream, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Run", SD_BUS_ARGS("s", handle, "as", argv, "a{sv}", options), SD_BUS_RESULT("i", exit_status, "ay", stdout, "ay", stderr, "a{sv}", info), method_run, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Signal", SD_BUS_ARGS("s", handle, "u", job_id, "i", signal), SD_BUS_NO_RESULT, method_signal, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResizeTty", SD_BUS_ARGS("s", handle, "u", job_id, "q", rows, "q", cols), SD_BUS_NO_RESULT, method_resize_tty, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CopyIn", SD_BUS_ARGS("s", handle, "s", src_path, "s", dst_path), SD_BUS_NO_RESULT, method_copy_in, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CopyOut", SD_BUS_ARGS("s", handle, "s", src_path, "s", dst_path, "s", owner), SD_BUS_NO_RESULT, method_copy_out, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("NetIn", SD_BUS_ARGS("s", handle, "q", host_port, "q", container_port), SD_BUS_RESULT("q", host_port, "q", container_port), method_net_in, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("NetOut", SD_BUS_ARGS("s", handle, "a{sv}", rule), SD_BUS_NO_RESULT, method_net_out, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("LimitMemory", SD_BUS_ARGS("s", handle, "t", bytes), SD_BUS_RESULT("t", bytes), method_limit_memory, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("LimitCpu", SD_BUS_ARGS("s", handle, "t", weight), SD_BUS_RESULT("t", weight), method_limit_cpu, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("LimitCpuQuota", SD_BUS_ARGS("s", handle, "t", percent), SD_BUS_RESULT("t", percent), method_limit_cpu_quota, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("LimitDisk", SD_BUS_ARGS("s", handle, "a{st}", limits), SD_BUS_RESULT("a{st}", limits), method_limit_disk, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("LimitBandwidth", SD_BUS_ARGS("s", handle, "t", rate, "t", burst), SD_BUS_RESULT("t", rate, "t", burst), method_limit_bandwidth, SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("ContainerCreated", SD_BUS_ARGS("s", handle, "o", container), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ContainerDestroyed", SD_BUS_ARGS("s", handle), 0),
        SD_BUS_SIGNAL_WITH_ARGS("JobExited", SD_BUS_ARGS("s", handle, "u", job_id, "i", exit_status), 0),
        SD_BUS_SIGNAL_WITH_ARGS("OutOfMemory", SD_BUS_ARGS("s", handle), 0),
        SD_BUS_VTABLE_END
};
/* clang-format on */

static void bus_manager_containers_changed(Manager *m) {
        if (!manager_bus(m))
                return;
        (void) sd_bus_emit_properties_changed(
                manager_bus(m), WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, "Containers", NULL);
}

static void bus_manager_container_announced(Container *c) {
        _cleanup_free_ char *path = NULL;
        Manager *m = c->manager;

        if (!m || !manager_bus(m) || container_bus_path(c, &path) < 0)
                return;
        (void) sd_bus_emit_signal(
                manager_bus(m),
                WARDEN_MANAGER_PATH,
                WARDEN_MANAGER_INTERFACE,
                "ContainerCreated",
                "so",
                c->handle,
                path);
}

static void bus_manager_container_gone(Manager *m, const char *handle) {
        if (!manager_bus(m))
                return;
        (void) sd_bus_emit_signal(
                manager_bus(m),
                WARDEN_MANAGER_PATH,
                WARDEN_MANAGER_INTERFACE,
                "ContainerDestroyed",
                "s",
                handle);
}

static void bus_manager_container_changed(Container *c, const char *property) {
        _cleanup_free_ char *path = NULL;
        Manager *m = c->manager;

        if (!m || !manager_bus(m) || container_bus_path(c, &path) < 0)
                return;
        (void) sd_bus_emit_properties_changed(
                manager_bus(m), path, WARDEN_CONTAINER_INTERFACE, property, NULL);
}

static void bus_manager_container_oom(Container *c) {
        Manager *m = c->manager;

        if (!m || !manager_bus(m))
                return;
        (void) sd_bus_emit_signal(
                manager_bus(m),
                WARDEN_MANAGER_PATH,
                WARDEN_MANAGER_INTERFACE,
                "OutOfMemory",
                "s",
                c->handle);
}

static const ManagerEvents bus_manager_events = {
        .containers_changed = bus_manager_containers_changed,
        .container_announced = bus_manager_container_announced,
        .container_gone = bus_manager_container_gone,
        .container_changed = bus_manager_container_changed,
        .container_forget = bus_clients_forget,
        .container_oom = bus_manager_container_oom,
        .job_exited = bus_job_exited,
};

/* manager_free()'s hook (Manager.bus_done): what the bus layer holds, in the order manager_free() released
 * it when it lived in the Manager (after the containers, before the event loop): the maps, the calls out,
 * the clients, the matches, then the connection. */
static void bus_manager_done(Manager *m) {
        BusManager *bm = m->bus_manager;

        if (!bm)
                return;
        bm->systemd_jobs = hashmap_free(bm->systemd_jobs);
        /* emptied by an exit source of the event loop (bus-polkit.c) */
        bm->polkit_queries = hashmap_free(bm->polkit_queries);
        bm->client_calls = hashmap_free(bm->client_calls); /* empty once every held call is let go */
        bus_calls_out_done(m);
        bus_clients_done(m);
        m->bus_manager->job_removed_match = bus_match_free(m->bus_manager->job_removed_match);
        if (bm->bus)
                sd_bus_flush_close_unref(bm->bus);
        m->bus_manager = mfree(bm);
}

int bus_manager_attach(Manager *m) {
        BusManager *bm;

        assert(m);

        if (m->bus_manager)
                return 0;
        bm = calloc(1, sizeof(BusManager));
        if (!bm)
                return -ENOMEM;
        bm->systemd_jobs = hashmap_new();
        if (!bm->systemd_jobs) {
                free(bm);
                return -ENOMEM;
        }
        m->bus_manager = bm;
        m->bus_done = bus_manager_done;
        return 0;
}

int bus_manager_register(Manager *m, sd_bus *bus) {
        int r;

        assert(m);
        assert(bus);

        r = bus_manager_attach(m);
        if (r < 0)
                return log_oom();
        r = sd_bus_add_object_vtable(
                bus, NULL, WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the Manager object: %m");
        r = bus_container_register(m, bus);
        if (r < 0)
                return r;
        m->events = &bus_manager_events;
        m->ops = bus_container_ops();
        return 0;
}

static int bus_manager_dispatch_idle(sd_event_source *s, uint64_t usec, void *userdata);

/* (Re)starts the idle countdown from now, with the idle_timeout in force (it may have changed on SIGHUP);
 * an idle_timeout of 0 switches it off. */
static int bus_manager_rearm_idle(Manager *m) {
        uint64_t timeout = m->config.idle_timeout_usec;
        int r;

        if (timeout == 0 || timeout == USEC_INFINITY)
                return m->idle_source ? sd_event_source_set_enabled(m->idle_source, SD_EVENT_OFF) : 0;

        if (!m->idle_source) {
                r = sd_event_add_time_relative(
                        m->event,
                        &m->idle_source,
                        CLOCK_MONOTONIC,
                        timeout,
                        100 * USEC_PER_MSEC,
                        bus_manager_dispatch_idle,
                        m);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(m->idle_source, "idle-exit");
                return 0;
        }
        r = sd_event_source_set_time_relative(m->idle_source, timeout);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(m->idle_source, SD_EVENT_ONESHOT);
}

/* Every message that reaches us is activity: it restarts the idle countdown. A client with too many calls in
 * flight is refused here, before any handler runs. */
static int bus_manager_filter(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        /* sd-bus' own signal when the connection is gone; it ends the event loop next
         * (sd_bus_set_exit_on_disconnect()), and main() then exits with a failure. */
        if (sd_bus_message_is_signal(message, "org.freedesktop.DBus.Local", "Disconnected")) {
                m->bus_manager->bus_lost = true;
                return 0;
        }

        if (!m->exiting)
                (void) bus_manager_rearm_idle(m);
        return bus_calls_check(m, message, bus_polkit_has_answer, error);
}

static int bus_manager_name_released(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        /* Everything sent to the name before the release was queued ahead of this reply and has been
         * answered; what comes after goes to the next instance, which the bus activates. */
        return sd_event_exit(m->event, 0);
}

static int bus_manager_dispatch_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        if (!manager_is_idle(m))
                return bus_manager_rearm_idle(m);

        log_event(
                LOG_INFO,
                0,
                NULL,
                WARDEN_MESSAGE_IDLE_EXIT,
                "Idle for %llus, exiting; the next call activates wardend again.",
                (unsigned long long) (m->config.idle_timeout_usec / USEC_PER_SEC));
        m->exiting = true;
        /* STOPPING=1 first: systemd then queues a new start job for an activation request that races with
         * our exit, instead of thinking the service is still up. */
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Exiting after idle timeout.");
        r = sd_bus_release_name_async(manager_bus(m), NULL, WARDEN_BUS_NAME, bus_manager_name_released, m);
        if (r < 0) {
                log_warning_errno(r, "Failed to release the bus name, exiting anyway: %m");
                return sd_event_exit(m->event, 0);
        }
        return 0;
}

int bus_manager_setup_idle_exit(Manager *m) {
        int r;

        r = bus_manager_rearm_idle(m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the idle timer: %m");
        if (!m->idle_source)
                log_debug("Exit on idle is disabled.");
        return 0;
}

int bus_manager_connect(Manager *m, const char *address) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        assert(m);

        if (address) {
                r = sd_bus_new(&bus);
                if (r < 0)
                        return log_error_errno(r, "Failed to allocate bus: %m");
                r = sd_bus_set_address(bus, address);
                if (r < 0)
                        return log_error_errno(r, "Invalid bus address '%s': %m", address);
                r = sd_bus_set_bus_client(bus, true);
                if (r < 0)
                        return log_error_errno(r, "Failed to make the bus a client: %m");
                r = sd_bus_start(bus);
        } else
                r = sd_bus_open_system_with_description(&bus, "wardend");
        if (r < 0)
                return log_error_errno(
                        r, "Failed to connect to the %s bus: %m", address ? "given" : "system");

        r = bus_manager_register(m, bus);
        if (r < 0)
                return r;
        r = sd_bus_add_filter(bus, NULL, bus_manager_filter, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the bus filter: %m");
        /* sd-bus names the connection's sources itself: bus-input, bus-output, bus-time, bus-exit. */
        r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0)
                return log_error_errno(r, "Failed to exit on disconnect: %m");

        m->bus_manager->bus = TAKE_PTR(bus);
        /* Before the name is ours: every call that can reference a container comes after the match. */
        r = bus_clients_setup(m);
        if (r < 0)
                return r;

        /* Synchronous on purpose: this is start-up, before the loop runs, and a second instance must fail
         * right here with a clear message. */
        r = sd_bus_request_name(manager_bus(m), WARDEN_BUS_NAME, 0);
        if (r == -EEXIST)
                return log_error_errno(
                        r,
                        "The bus name '%s' is owned by another process; is wardend already running?",
                        WARDEN_BUS_NAME);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire the bus name '%s': %m", WARDEN_BUS_NAME);
        return 0;
}
