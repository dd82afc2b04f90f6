/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-call-out.h"
#include "bus-calls.h"
#include "bus-container.h"
#include "bus-copy.h"
#include "bus-error.h"
#include "bus-job.h"
#include "bus-lifecycle.h"
#include "bus-net.h"
#include "bus-limits.h"
#include "bus-polkit.h"
#include "bus-state.h"
#include "bus-systemd.h"
#include "bus-util.h"
#include "confine.h"
#include "limit-check.h"
#include "log.h"
#include "memcg.h"
#include "parse-util.h"
#include "strv.h"

int container_bus_path(const Container *c, char **ret) {
        int r;

        assert(c);

        r = sd_bus_path_encode(WARDEN_CONTAINER_PREFIX, c->handle, ret);
        return r < 0 ? r : 0;
}

static int property_get_state(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Container *c = userdata;

        return sd_bus_message_append(reply, "s", container_state_to_string(c->state));
}

static int property_get_leader_pid(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Container *c = userdata;

        return sd_bus_message_append(reply, "u", (uint32_t) (c->leader_pid > 0 ? c->leader_pid : 0));
}

static int append_string_pairs(sd_bus_message *reply, char **pairs) {
        int r;

        r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "{ss}");
        if (r < 0)
                return r;
        for (char **p = pairs; p && p[0] && p[1]; p += 2) {
                r = sd_bus_message_append(reply, "{ss}", p[0], p[1]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_properties(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Container *c = userdata;

        return append_string_pairs(reply, c->properties);
}

static int property_get_jobs(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        return bus_job_append_ids(reply, userdata);
}

/* Strings that may be unset are shown as "" on the bus. */
static int property_get_string_or_empty(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", strempty(*(char **) userdata));
}

/* Resource usage of the scope: from the kernel's cgroup files where wardend finds them (cgroup_stats()),
 * else from systemd's unit properties; UINT64_MAX where neither knows. */
typedef struct UnitStats {
        uint64_t memory_current;
        uint64_t cpu_usage_ns;
        uint64_t tasks_current;
        uint64_t oom_kills;
} UnitStats;

#define UNIT_STATS_UNKNOWN ((UnitStats){ UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX })

static int append_info(sd_bus_message *reply, const Container *c, const UnitStats *stats) {
        char uid_map[64];
        int r;

        r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;

        r = sd_bus_message_append(
                reply,
                "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}",
                "state",
                "s",
                container_state_to_string(c->state),
                "handle",
                "s",
                c->handle,
                "unit",
                "s",
                c->unit,
                "leader_pid",
                "u",
                (uint32_t) (c->leader_pid > 0 ? c->leader_pid : 0),
                "host_ip",
                "s",
                strempty(c->host_ip),
                "container_ip",
                "s",
                strempty(c->container_ip),
                "container_path",
                "s",
                strempty(c->path),
                "rootfs",
                "s",
                strempty(c->rootfs),
                "grace_time",
                "u",
                c->grace_time);
        if (r < 0)
                return r;

        /* The user namespace as /proc/PID/uid_map shows it (gid_map is the same); without one, the host's
         * own identity map. */
        if (c->userns_uid > 0)
                (void) snprintf(
                        uid_map,
                        sizeof(uid_map),
                        "0 %" PRIu32 " %" PRIu32,
                        c->userns_uid,
                        USERNS_RANGE_SIZE);
        else
                (void) snprintf(uid_map, sizeof(uid_map), "0 0 %" PRIu32, UINT32_MAX);
        r = sd_bus_message_append(
                reply, "{sv}{sv}", "user_namespace", "b", c->userns_uid > 0, "uid_map", "s", uid_map);
        if (r < 0)
                return r;

        r = bus_message_open_dict_entry(reply, "job_ids", "au");
        if (r < 0)
                return r;
        r = bus_job_append_ids(reply, c);
        if (r < 0)
                return r;
        r = bus_message_close_dict_entry(reply);
        if (r < 0)
                return r;

        r = bus_message_open_dict_entry(reply, "events", "as");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(reply, c->events);
        if (r < 0)
                return r;
        r = bus_message_close_dict_entry(reply);
        if (r < 0)
                return r;

        r = bus_message_open_dict_entry(reply, "properties", "a{ss}");
        if (r < 0)
                return r;
        r = append_string_pairs(reply, c->properties);
        if (r < 0)
                return r;
        r = bus_message_close_dict_entry(reply);
        if (r < 0)
                return r;

        /* Limits in force (0: none; the weight systemd's default if never set); usage only where systemd
         * reports it. */
        r = sd_bus_message_append(
                reply,
                "{sv}{sv}{sv}{sv}",
                "memory_limit",
                "t",
                c->memory_limit,
                "cpu_weight",
                "t",
                c->cpu_weight > 0 ? c->cpu_weight : (uint64_t) LIMIT_CPU_WEIGHT_DEFAULT,
                "cpu_quota",
                "t",
                c->cpu_quota,
                "pids_limit",
                "t",
                c->pids_limit);
        if (r < 0)
                return r;
        const struct {
                const char *key;
                uint64_t value;
        } usage[] = {
                { "memory_current", stats->memory_current },
                { "cpu_usage_ns", stats->cpu_usage_ns },
                { "tasks_current", stats->tasks_current },
                { "oom_kills", stats->oom_kills },
        };
        FOREACH_ARRAY(u, usage, ELEMENTSOF(usage)) {
                if (u->value == UINT64_MAX)
                        continue;
                r = sd_bus_message_append(reply, "{sv}", u->key, "t", u->value);
                if (r < 0)
                        return r;
        }
        r = bus_limits_append_info(reply, c);
        if (r < 0)
                return r;

        r = bus_net_append_info(reply, c);
        if (r < 0)
                return r;

        return sd_bus_message_close_container(reply);
}

static int reply_info(sd_bus_message *request, const Container *c, const UnitStats *stats) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(request, &reply);
        if (r < 0)
                return r;
        r = append_info(reply, c, stats);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

typedef struct InfoRequest {
        Manager *manager;
        sd_bus_message *request;
        char *handle;
} InfoRequest;

static void info_request_free(InfoRequest *i) {
        bus_call_release(i->manager, i->request);
        free(i->handle);
        free(i);
}

static void read_unit_stats(sd_bus_message *reply, UnitStats *stats) {
        const char *name;

        if (sd_bus_message_enter_container(reply, 'a', "{sv}") <= 0)
                return;
        while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
                uint64_t *field = NULL;

                if (sd_bus_message_read(reply, "s", &name) < 0)
                        return;
                if (streq(name, "MemoryCurrent"))
                        field = &stats->memory_current;
                else if (streq(name, "CPUUsageNSec"))
                        field = &stats->cpu_usage_ns;
                else if (streq(name, "TasksCurrent"))
                        field = &stats->tasks_current;
                if (field) {
                        if (sd_bus_message_read(reply, "v", "t", field) < 0)
                                return;
                } else if (sd_bus_message_skip(reply, "v") < 0)
                        return;
                if (sd_bus_message_exit_container(reply) < 0)
                        return;
        }
}

/*
 * The container's own cgroup files, read directly: memory.current (v2) or memory.usage_in_bytes (v1), the
 * OOM kill count of memory.events (v2) or memory.oom_control (v1), and the CPU time of cgroup2's cpu.stat or
 * v1's cpuacct.usage. systemd's properties are what is left where these are missing: systemd 252 reports
 * no CPUUsageNSec where cpu and cpuacct are separate v1 hierarchies, and its MemoryCurrent depends on the
 * unit's memory accounting. A few small reads of cgroupfs: nothing that blocks.
 */
static void cgroup_stats(const Container *c, UnitStats *stats) {
        _cleanup_(memcg_done) Memcg mc = {};
        uint64_t v;

        if (memcg_find(MEMCG_ROOT, WARDEN_SLICE, c->unit, &mc) >= 0) {
                if (memcg_read_usage(&mc, &v) >= 0)
                        stats->memory_current = v;
                if (memcg_read_oom_kills(&mc, &v) >= 0)
                        stats->oom_kills = v;
        }
        if (cgroup_read_cpu_usage(MEMCG_ROOT, WARDEN_SLICE, c->unit, &v) >= 0)
                stats->cpu_usage_ns = v;
}

static int info_got_unit_properties(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        InfoRequest *i = userdata;
        UnitStats stats = UNIT_STATS_UNKNOWN;
        Container *c;

        /* The container may have gone while systemd answered. */
        c = manager_get_container(i->manager, i->handle);
        if (!c)
                (void) sd_bus_reply_method_errorf(
                        i->request, WARDEN_ERROR_NO_SUCH_CONTAINER, "No container '%s'.", i->handle);
        else {
                if (!sd_bus_message_is_method_error(reply, NULL))
                        read_unit_stats(reply, &stats);
                cgroup_stats(c, &stats);
                if (reply_info(i->request, c, &stats) < 0)
                        (void) sd_bus_reply_method_errno(i->request, ENOMEM, NULL);
        }
        info_request_free(i);
        return 0;
}

int bus_container_method_info(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *unit_path = NULL;
        Container *c = userdata;
        Manager *manager = c->manager;
        UnitStats stats = UNIT_STATS_UNKNOWN;
        InfoRequest *i;
        int r;

        if (!manager || !manager_bus(manager) || !IN_SET(c->state, CONTAINER_ACTIVE, CONTAINER_STOPPED))
                return reply_info(m, c, &stats);

        /* Usage comes from systemd, asynchronously: the unit's accounting properties. */
        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", c->unit, &unit_path);
        if (r < 0)
                return r;
        i = calloc(1, sizeof(InfoRequest));
        if (!i)
                return -ENOMEM;
        i->manager = manager;
        i->request = bus_call_hold(manager, m);
        i->handle = strdup(c->handle);
        if (!i->handle) {
                info_request_free(i);
                return -ENOMEM;
        }
        r = bus_call_out_method(
                manager,
                "org.freedesktop.systemd1",
                unit_path,
                "org.freedesktop.DBus.Properties",
                "GetAll",
                0,
                info_got_unit_properties,
                i,
                NULL,
                "s",
                "org.freedesktop.systemd1.Scope");
        if (r < 0) {
                info_request_free(i);
                return reply_info(m, c, &stats);
        }
        return 1;
}

/* clang-format off */
const sd_bus_vtable container_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Handle", "s", NULL, offsetof(Container, handle), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Unit", "s", NULL, offsetof(Container, unit), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LeaderPID", "u", property_get_leader_pid, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HostIP", "s", property_get_string_or_empty, offsetof(Container, host_ip), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ContainerIP", "s", property_get_string_or_empty, offsetof(Container, container_ip), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Path", "s", property_get_string_or_empty, offsetof(Container, path), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Rootfs", "s", property_get_string_or_empty, offsetof(Container, rootfs), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Properties", "a{ss}", property_get_properties, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("GraceTime", "u", NULL, offsetof(Container, grace_time), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Jobs", "au", property_get_jobs, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_ARGS("b", kill), SD_BUS_NO_RESULT, bus_lifecycle_method_stop, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Destroy", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, bus_lifecycle_method_destroy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Info", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sv}", info), bus_container_method_info, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Spawn", SD_BUS_ARGS("as", argv, "a{sv}", options), SD_BUS_RESULT("u", job_id), bus_job_method_spawn, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Run", SD_BUS_ARGS("as", argv, "a{sv}", options), SD_BUS_RESULT("i", exit_status, "ay", stdout, "ay", stderr, "a{sv}", info), bus_job_method_run, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Link", SD_BUS_ARGS("u", job_id), SD_BUS_RESULT("i", exit_status, "ay", stdout, "ay", stderr, "a{sv}", info), bus_job_method_link, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Stream", SD_BUS_ARGS("u", job_id), SD_BUS_RESULT("h", stdout, "h", stderr), bus_job_method_stream, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Signal", SD_BUS_ARGS("u", job_id, "i", signal), SD_BUS_NO_RESULT, bus_job_method_signal, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResizeTty", SD_BUS_ARGS("u", job_id, "q", rows, "q", cols), SD_BUS_NO_RESULT, bus_job_method_resize_tty, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CopyIn", SD_BUS_ARGS("s", src_path, "s", dst_path), SD_BUS_NO_RESULT, bus_copy_method_copy_in, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CopyOut", SD_BUS_ARGS("s", src_path, "s", dst_path, "s", owner), SD_BUS_NO_RESULT, bus_copy_method_copy_out, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("NetIn", SD_BUS_ARGS("q", host_port, "q", container_port), SD_BUS_RESULT("q", host_port, "q", container_port), bus_net_method_net_in, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("NetOut", SD_BUS_ARGS("a{sv}", rule), SD_BUS_NO_RESULT, bus_net_method_net_out, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("LimitMemory", SD_BUS_ARGS("t", bytes), SD_BUS_RESULT("t", bytes), bus_limits_method_memory, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("LimitCpu", SD_BUS_ARGS("t", weight), SD_BUS_RESULT("t", weight), bus_limits_method_cpu, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("LimitCpuQuota", SD_BUS_ARGS("t", percent), SD_BUS_RESULT("t", percent), bus_limits_method_cpu_quota, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("LimitDisk", SD_BUS_ARGS("a{st}", limits), SD_BUS_RESULT("a{st}", limits), bus_limits_method_disk, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("LimitBandwidth", SD_BUS_ARGS("t", rate, "t", burst), SD_BUS_RESULT("t", rate, "t", burst), bus_limits_method_bandwidth, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
/* clang-format on */

static int container_object_find(
        sd_bus *bus,
        const char *path,
        const char *interface,
        void *userdata,
        void **found,
        sd_bus_error *error) {
        _cleanup_free_ char *handle = NULL;
        Manager *m = userdata;
        Container *c;
        int r;

        r = sd_bus_path_decode(path, WARDEN_CONTAINER_PREFIX, &handle);
        if (r <= 0)
                return r;
        c = manager_get_container(m, handle);
        if (!c)
                return 0;
        *found = c;
        return 1;
}

static int container_node_enumerator(
        sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = userdata;
        Container *c;
        int r;

        HASHMAP_FOREACH(c, m->containers) {
                char *p;

                r = container_bus_path(c, &p);
                if (r < 0)
                        return r;
                r = strv_consume(&l, p);
                if (r < 0)
                        return r;
        }
        *nodes = TAKE_PTR(l);
        return 1;
}

int bus_container_register(Manager *m, sd_bus *bus) {
        int r;

        assert(bus);
        assert(m);

        r = sd_bus_add_fallback_vtable(
                bus,
                NULL,
                WARDEN_CONTAINER_PREFIX,
                WARDEN_CONTAINER_INTERFACE,
                container_vtable,
                container_object_find,
                m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the container objects: %m");
        r = sd_bus_add_node_enumerator(bus, NULL, WARDEN_CONTAINER_PREFIX, container_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the container node enumerator: %m");
        return 0;
}
