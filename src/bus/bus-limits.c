/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bandwidth.h"
#include "bus-calls.h"
#include "bus-polkit.h"
#include "bus-error.h"
#include "bus-lifecycle.h"
#include "bus-warden-error.h"
#include "container-lifecycle.h"
#include "container-oom.h"
#include "bus-limits.h"
#include "bus-systemd.h"
#include "bus-util.h"
#include "disk.h"
#include "limit-check.h"
#include "limit-error.h"
#include "log.h"
#include "memcg.h"
#include "network.h"
#include "parse-util.h"
#include "strv.h"
#include "warden-messages.h"

/* ---- range checks -------------------------------------------------------------------------------- */

static int error_memory_range(sd_bus_error *error, const char *what) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;

        (void) limit_error_memory_range(&e, what);
        return bus_error_set_warden(error, &e);
}

static int
error_disk_range(sd_bus_error *error, const char *what, const char *bytes_name, const char *inodes_name) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;

        (void) limit_error_disk_range(&e, what, bytes_name, inodes_name);
        return bus_error_set_warden(error, &e);
}

static int error_bandwidth_range(sd_bus_error *error, const Manager *m, const char *what) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;

        (void) limit_error_bandwidth_range(&e, m->config.mtu, what);
        return bus_error_set_warden(error, &e);
}

/* ---- the operation of a Limit* method ------------------------------------------------------------ */

typedef struct LimitOperation LimitOperation;

/* The arguments of a Limit* call. */
typedef struct LimitArgs {
        uint64_t value, value2;
        bool have_value, have_value2; /* LimitDisk: which keys the dictionary has */
} LimitArgs;

/*
 * What differs between the Limit* methods. limit_method() does the rest, in this order: authorise, read(),
 * a query gets reply(); a change is checked (active, idle, then check()), start()ed and answered by
 * limit_operation_finish() with reply() again, or the error.
 */
typedef struct LimitMethod {
        /* Reads the arguments: > 0 a change, 0 a query, or a negative errno / InvalidArgs. */
        int (*read)(sd_bus_message *m, LimitArgs *a, sd_bus_error *error);
        /* Answers with the values in force. */
        int (*reply)(sd_bus_message *m, const Container *c);
        /* Refuses a change that is out of range (InvalidArgs) or cannot be made (LimitFailed). */
        int (*check)(Container *c, const LimitArgs *a, sd_bus_error *error);
        /* Starts the change in op (a worker or a call to systemd); NULL: there is nothing to change, the
         * answer is the values in force. */
        int (*start)(LimitOperation *op);
} LimitMethod;

/* What a worker needs, its own copy; 'result' is read by the done callback before the worker is freed. */
typedef struct LimitJob {
        char *unit;
        char host_ifname[NETWORK_IFNAME_MAX];
        uint64_t value, value2;         /* to apply */
        uint64_t old_value, old_value2; /* the bandwidth limit, to restore on failure (0: none) */
        uint64_t result;                /* out */
} LimitJob;

struct LimitOperation {
        const LimitMethod *method;
        Container *container; /* held (container_hold()) while the operation exists */
        Manager *manager;
        sd_bus_message *request;
        BusCallOut *slot; /* a call to systemd */
        Worker *worker;
        LimitJob *job;          /* owned by the worker */
        uint64_t value, value2; /* asked for */
        sd_bus_error failure;
};

static void limit_job_free(void *data) {
        LimitJob *j = data;

        if (!j)
                return;
        free(j->unit);
        free(j);
}

static LimitOperation *limit_operation_free(LimitOperation *op) {
        if (!op)
                return NULL;
        bus_call_out_free(op->slot);
        worker_free(op->worker);
        bus_call_release(op->manager, op->request);
        sd_bus_error_free(&op->failure);
        free(op);
        return NULL;
}

static int
limit_operation_new(const LimitMethod *method, Container *c, sd_bus_message *request, LimitOperation **ret) {
        LimitOperation *op = calloc(1, sizeof(LimitOperation));

        if (!op)
                return -ENOMEM;
        op->method = method;
        op->container = c;
        op->manager = c->manager;
        op->request = bus_call_hold(c->manager, request);
        container_hold(c);
        *ret = op;
        return 0;
}

/* The end of every operation: answers (with 'failure' if set, else the values now in force) and lets go of
 * the container (which deals with an OOM that came meanwhile). */
static void limit_operation_finish(LimitOperation *op) {
        Container *c = op->container;

        if (sd_bus_error_is_set(&op->failure))
                (void) sd_bus_reply_method_error(op->request, &op->failure);
        else
                (void) op->method->reply(op->request, c);
        limit_operation_free(op);
        (void) container_release(c);
}

static int limit_start_worker(LimitOperation *op, worker_run_t run, worker_done_t done) {
        LimitJob *j;
        int r;

        j = calloc(1, sizeof(LimitJob));
        if (!j)
                return -ENOMEM;
        j->unit = strdup(op->container->unit);
        if (!j->unit) {
                limit_job_free(j);
                return -ENOMEM;
        }
        j->value = op->value;
        j->value2 = op->value2;
        if (op->container->has_net) {
                NetworkConfig n = {};

                r = network_ifnames(op->container->net_id, &n);
                if (r < 0) {
                        limit_job_free(j);
                        return r;
                }
                memcpy(j->host_ifname, n.host_ifname, sizeof(j->host_ifname));
        }
        j->old_value = op->container->bandwidth_rate;
        j->old_value2 = op->container->bandwidth_burst;
        r = worker_start(
                op->container->manager->event,
                "warden-limit",
                run,
                j,
                limit_job_free,
                done,
                op,
                &op->worker);
        if (r < 0)
                return r;
        op->job = j;
        return 0;
}

/* Takes the job's result and frees the finished worker. */
static uint64_t limit_worker_finished(LimitOperation *op) {
        uint64_t result = op->job ? op->job->result : 0;

        op->job = NULL;
        op->worker = worker_free(op->worker);
        return result;
}

/* Checks the common preconditions of a change: may change, active, nothing else in flight. */
static int limit_check_changeable(sd_bus_message *m, Container *c, sd_bus_error *error) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        int r;

        r = container_check_idle(c, &e);
        if (r < 0)
                return bus_error_set_warden(error, &e);
        if (c->state != CONTAINER_ACTIVE)
                return sd_bus_error_setf(
                        error,
                        WARDEN_ERROR_INVALID_STATE,
                        "Container '%s' is %s: limits change only while it is active.",
                        c->handle,
                        container_state_to_string(c->state));
        return 0;
}

/* A query needs a container that exists as a whole: active or stopped. */
static int limit_check_queryable(Container *c, sd_bus_error *error) {
        if (!IN_SET(c->state, CONTAINER_ACTIVE, CONTAINER_STOPPED))
                return sd_bus_error_setf(
                        error,
                        WARDEN_ERROR_INVALID_STATE,
                        "Container '%s' is %s.",
                        c->handle,
                        container_state_to_string(c->state));
        return 0;
}

/* A Limit* method: the steps every one of them takes, with what differs in 'method'. */
static int limit_method(sd_bus_message *m, Container *c, const LimitMethod *method, sd_bus_error *error) {
        LimitArgs a = {};
        LimitOperation *op;
        int r;

        r = bus_verify_manage(m, c->manager, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */
        r = method->read(m, &a, error);
        if (r < 0)
                return r;
        bus_lifecycle_reference(c, m);

        if (r == 0) {
                r = limit_check_queryable(c, error);
                if (r < 0)
                        return r;
                return method->reply(m, c);
        }
        r = limit_check_changeable(m, c, error);
        if (r < 0)
                return r;
        r = method->check(c, &a, error);
        if (r < 0)
                return r;
        if (!method->start)
                return method->reply(m, c);

        r = limit_operation_new(method, c, m, &op);
        if (r < 0)
                return r;
        op->value = a.value;
        op->value2 = a.value2;
        r = method->start(op);
        if (r < 0) {
                limit_operation_free(op);
                (void) container_release(c);
                return r;
        }
        return 1;
}

/* LimitMemory and LimitCpu: one value, 0 queries. */
static int limit_read_one(sd_bus_message *m, LimitArgs *a, sd_bus_error *error) {
        int r;

        r = sd_bus_message_read(m, "t", &a->value);
        if (r < 0)
                return r;
        return a->value > 0;
}

/* ---- LimitMemory --------------------------------------------------------------------------------- */

/*
 * Raising a v1 limit above memory.memsw.limit_in_bytes is refused by the kernel (memsw must be >= the memory
 * limit), and systemd does not know memsw on v1: so first memsw goes up to at least the new limit, then
 * systemd sets MemoryMax=, then memsw comes down to the limit the kernel really has, which makes the limit a
 * hard cap of memory plus swap. What the kernel has is the answer; if it is not what was asked (systemd
 * could not lower the limit below the usage), systemd's MemoryMax= goes back to the old value and the call
 * fails. cgroup2 takes any limit and OOM-kills to fit it: there the usage is reclaimed below the new limit
 * first, and the call fails before anything changes if it cannot be (memcg_reclaim_below()).
 */

static int memory_pre_work(void *data) {
        _cleanup_(memcg_done) Memcg mc = {};
        LimitJob *j = data;
        uint64_t current;
        int r;

        r = memcg_find(MEMCG_ROOT, WARDEN_SLICE, j->unit, &mc);
        if (r < 0)
                return r;
        if (mc.version != MEMCG_V1)
                return memcg_reclaim_below(&mc, j->value);
        r = memcg_read_limit(&mc, &current);
        if (r < 0)
                return r;
        r = memcg_set_swap_limit(&mc, j->value > current ? j->value : current);
        return r == -EOPNOTSUPP ? 0 : r; /* no swap accounting: the memory limit is all there is */
}

static int memory_post_work(void *data) {
        _cleanup_(memcg_done) Memcg mc = {};
        LimitJob *j = data;
        int r;

        r = memcg_find(MEMCG_ROOT, WARDEN_SLICE, j->unit, &mc);
        if (r < 0)
                return r;
        r = memcg_read_limit(&mc, &j->result);
        if (r < 0)
                return r;
        r = memcg_set_swap_limit(&mc, j->result);
        return r == -EOPNOTSUPP ? 0 : r;
}

static int memory_set_unit(LimitOperation *op, uint64_t bytes, sd_bus_message_handler_t cb) {
        const UnitProperty props[] = {
                { "MemoryMax", bytes > 0 ? bytes : UINT64_MAX },
                /* cgroup2: no swap beyond the limit; systemd 252 ignores it on v1 */
                { "MemorySwapMax", bytes > 0 ? 0 : UINT64_MAX },
        };

        return bus_systemd_set_unit_properties(
                op->container->manager, op->container->unit, props, ELEMENTSOF(props), cb, op, &op->slot);
}

static int memory_restored(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        LimitOperation *op = userdata;

        op->slot = bus_call_out_free(op->slot);
        if (sd_bus_message_is_method_error(reply, NULL))
                log_container_full_errno(
                        op->container,
                        LOG_WARNING,
                        0,
                        "Failed to set MemoryMax= of %s back: %s",
                        op->container->unit,
                        sd_bus_message_get_error(reply)->message);
        limit_operation_finish(op);
        return 0;
}

static void memory_post_done(Worker *w, int result, void *userdata) {
        LimitOperation *op = userdata;
        Container *c = op->container;
        uint64_t in_force = limit_worker_finished(op);
        long page = sysconf(_SC_PAGESIZE);
        int r;

        if (result < 0) {
                (void) sd_bus_error_setf(
                        &op->failure,
                        WARDEN_ERROR_LIMIT_FAILED,
                        "Failed to read back the memory limit of '%s': %s",
                        c->handle,
                        strerror(-result));
                limit_operation_finish(op);
                return;
        }
        if (in_force == limit_memory_round(op->value, page > 0 ? (uint64_t) page : 4096)) {
                c->memory_limit = in_force;
                (void) container_save(c);
                log_container_full_errno(
                        c,
                        LOG_INFO,
                        0,
                        "Memory limit of '%s' is now %llu bytes.",
                        c->handle,
                        (unsigned long long) in_force);
                limit_operation_finish(op);
                return;
        }

        (void) sd_bus_error_setf(
                &op->failure,
                WARDEN_ERROR_LIMIT_FAILED,
                "The kernel refused memory limit %llu for '%s' (the usage cannot be reclaimed "
                "below it); the limit stays %llu.",
                (unsigned long long) op->value,
                c->handle,
                (unsigned long long) (c->memory_limit > 0 ? c->memory_limit : in_force));
        r = memory_set_unit(op, c->memory_limit, memory_restored);
        if (r < 0)
                limit_operation_finish(op);
}

static int memory_unit_set(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        LimitOperation *op = userdata;
        int r;

        op->slot = bus_call_out_free(op->slot);
        if (sd_bus_message_is_method_error(reply, NULL)) {
                (void) sd_bus_error_setf(
                        &op->failure,
                        WARDEN_ERROR_LIMIT_FAILED,
                        "systemd refused MemoryMax=%llu for %s: %s",
                        (unsigned long long) op->value,
                        op->container->unit,
                        sd_bus_message_get_error(reply)->message);
                limit_operation_finish(op);
                return 0;
        }
        r = limit_start_worker(op, memory_post_work, memory_post_done);
        if (r < 0) {
                (void) sd_bus_error_set_errnof(&op->failure, r, "Failed to start a worker: %m");
                limit_operation_finish(op);
        }
        return 0;
}

static void memory_pre_done(Worker *w, int result, void *userdata) {
        LimitOperation *op = userdata;
        int r;

        (void) limit_worker_finished(op);
        if (result == -EBUSY) {
                (void) sd_bus_error_setf(
                        &op->failure,
                        WARDEN_ERROR_LIMIT_FAILED,
                        "The memory in use by '%s' cannot be reclaimed below %llu bytes; the limit "
                        "in force stays.",
                        op->container->handle,
                        (unsigned long long) op->value);
                limit_operation_finish(op);
                return;
        }
        if (result < 0) {
                (void) sd_bus_error_setf(
                        &op->failure,
                        WARDEN_ERROR_LIMIT_FAILED,
                        "Failed to prepare the memory cgroup of '%s' for the new limit: %s",
                        op->container->handle,
                        strerror(-result));
                limit_operation_finish(op);
                return;
        }
        r = memory_set_unit(op, op->value, memory_unit_set);
        if (r < 0) {
                (void) sd_bus_error_set_errnof(&op->failure, r, "Failed to call systemd: %m");
                limit_operation_finish(op);
        }
}

static int memory_reply(sd_bus_message *m, const Container *c) {
        return sd_bus_reply_method_return(m, "t", c->memory_limit);
}

static int memory_check(Container *c, const LimitArgs *a, sd_bus_error *error) {
        if (limit_check_memory(a->value) < 0)
                return error_memory_range(error, "The memory limit");
        return 0;
}

static int memory_start(LimitOperation *op) {
        return limit_start_worker(op, memory_pre_work, memory_pre_done);
}

static const LimitMethod limit_memory = {
        .read = limit_read_one,
        .reply = memory_reply,
        .check = memory_check,
        .start = memory_start,
};

int bus_limits_method_memory(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return limit_method(m, userdata, &limit_memory, error);
}

/* ---- LimitCpu ------------------------------------------------------------------------------------ */

static int cpu_unit_set(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        LimitOperation *op = userdata;
        Container *c = op->container;

        op->slot = bus_call_out_free(op->slot);
        if (sd_bus_message_is_method_error(reply, NULL))
                (void) sd_bus_error_setf(
                        &op->failure,
                        WARDEN_ERROR_LIMIT_FAILED,
                        "systemd refused CPUWeight=%llu for %s: %s",
                        (unsigned long long) op->value,
                        c->unit,
                        sd_bus_message_get_error(reply)->message);
        else {
                c->cpu_weight = op->value;
                (void) container_save(c);
                log_container_full_errno(
                        c,
                        LOG_INFO,
                        0,
                        "CPU weight of '%s' is now %llu.",
                        c->handle,
                        (unsigned long long) op->value);
        }
        limit_operation_finish(op);
        return 0;
}

static int cpu_reply(sd_bus_message *m, const Container *c) {
        return sd_bus_reply_method_return(
                m, "t", c->cpu_weight > 0 ? c->cpu_weight : (uint64_t) LIMIT_CPU_WEIGHT_DEFAULT);
}

static int cpu_check(Container *c, const LimitArgs *a, sd_bus_error *error) {
        if (limit_check_cpu_weight(a->value) < 0)
                return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_INVALID_ARGS,
                        "The CPU weight must be from %u to %u (0 queries).",
                        LIMIT_CPU_WEIGHT_MIN,
                        LIMIT_CPU_WEIGHT_MAX);
        return 0;
}

static int cpu_start(LimitOperation *op) {
        return bus_systemd_set_unit_properties(
                op->container->manager,
                op->container->unit,
                &(const UnitProperty){ "CPUWeight", op->value },
                1,
                cpu_unit_set,
                op,
                &op->slot);
}

static const LimitMethod limit_cpu = {
        .read = limit_read_one,
        .reply = cpu_reply,
        .check = cpu_check,
        .start = cpu_start,
};

int bus_limits_method_cpu(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return limit_method(m, userdata, &limit_cpu, error);
}

/* ---- LimitCpuQuota ------------------------------------------------------------------------------- */

/* UINT64_MAX ("infinity", as systemd says) takes the quota away; the container then has none (0). */
static uint64_t cpu_quota_in_force(uint64_t asked) {
        return asked == LIMIT_CPU_QUOTA_NONE ? 0 : asked;
}

static int cpu_quota_unit_set(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        LimitOperation *op = userdata;
        Container *c = op->container;

        op->slot = bus_call_out_free(op->slot);
        if (sd_bus_message_is_method_error(reply, NULL))
                (void) sd_bus_error_setf(
                        &op->failure,
                        WARDEN_ERROR_LIMIT_FAILED,
                        "systemd refused a CPU quota of %llu%% for %s: %s",
                        (unsigned long long) cpu_quota_in_force(op->value),
                        c->unit,
                        sd_bus_message_get_error(reply)->message);
        else {
                c->cpu_quota = cpu_quota_in_force(op->value);
                (void) container_save(c);
                if (c->cpu_quota > 0)
                        log_container_full_errno(
                                c,
                                LOG_INFO,
                                0,
                                "CPU quota of '%s' is now %llu%%.",
                                c->handle,
                                (unsigned long long) c->cpu_quota);
                else
                        log_container_full_errno(c, LOG_INFO, 0, "CPU quota of '%s' removed.", c->handle);
        }
        limit_operation_finish(op);
        return 0;
}

static int cpu_quota_reply(sd_bus_message *m, const Container *c) {
        return sd_bus_reply_method_return(m, "t", c->cpu_quota);
}

static int cpu_quota_check(Container *c, const LimitArgs *a, sd_bus_error *error) {
        if (a->value != LIMIT_CPU_QUOTA_NONE && limit_check_cpu_quota(a->value) < 0)
                return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_INVALID_ARGS,
                        "The CPU quota must be from %u to %u percent of one CPU (0 queries, "
                        "18446744073709551615 removes it).",
                        LIMIT_CPU_QUOTA_MIN,
                        LIMIT_CPU_QUOTA_MAX);
        return 0;
}

static int cpu_quota_start(LimitOperation *op) {
        /* CPUQuota=N% is CPUQuotaPerSecUSec=N × 10 ms; systemd's "infinity" (UINT64_MAX) is no quota */
        uint64_t usec = op->value == LIMIT_CPU_QUOTA_NONE ? UINT64_MAX : op->value * (USEC_PER_SEC / 100);

        return bus_systemd_set_unit_properties(
                op->container->manager,
                op->container->unit,
                &(const UnitProperty){ "CPUQuotaPerSecUSec", usec },
                1,
                cpu_quota_unit_set,
                op,
                &op->slot);
}

static const LimitMethod limit_cpu_quota = {
        .read = limit_read_one,
        .reply = cpu_quota_reply,
        .check = cpu_quota_check,
        .start = cpu_quota_start,
};

int bus_limits_method_cpu_quota(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return limit_method(m, userdata, &limit_cpu_quota, error);
}

/* ---- LimitDisk ----------------------------------------------------------------------------------- */

static int disk_reply(sd_bus_message *m, const Container *c) {
        return sd_bus_reply_method_return(
                m, "a{st}", 2, "byte_limit", c->disk_limit, "inode_limit", c->disk_inode_limit);
}

/* A dictionary of byte_limit and inode_limit, each at most once; an empty one queries. */
static int disk_read(sd_bus_message *m, LimitArgs *a, sd_bus_error *error) {
        const char *key;
        uint64_t v;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{st}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "{st}", &key, &v)) > 0) {
                bool *have;

                if (streq(key, "byte_limit")) {
                        have = &a->have_value;
                        a->value = v;
                } else if (streq(key, "inode_limit")) {
                        have = &a->have_value2;
                        a->value2 = v;
                } else
                        return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Unknown disk limit '%s' (known: byte_limit, inode_limit).",
                                key);
                if (*have)
                        return sd_bus_error_setf(
                                error, SD_BUS_ERROR_INVALID_ARGS, "Disk limit '%s' given twice.", key);
                *have = true;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return a->have_value || a->have_value2;
}

/*
 * The writable layer's ext4 has its size and inode count from mke2fs: they are what LimitDisk reports, and
 * a change is refused. (Shrinking a mounted ext4 is impossible; growing one needs EXT4_IOC_RESIZE_FS, which
 * requires CAP_SYS_RESOURCE, see wardend(8).) Asking for the limits in force is answered with them.
 */
static int disk_check(Container *c, const LimitArgs *a, sd_bus_error *error) {
        uint64_t check_bytes;

        check_bytes = a->have_value ? a->value : (c->disk_limit > 0 ? c->disk_limit : LIMIT_DISK_BYTES_MAX);
        if (limit_check_disk(check_bytes, a->value2) < 0 || (a->have_value2 && a->value2 == 0))
                return error_disk_range(error, "Disk limit", "byte_limit", "inode_limit");

        if (c->disk_limit == 0)
                return sd_bus_error_setf(
                        error,
                        WARDEN_ERROR_LIMIT_FAILED,
                        "Container '%s' has no disk limit: its writable layer is part of the depot. "
                        "Disk "
                        "limits are set at Create (options 'disk_limit', 'disk_inode_limit').",
                        c->handle);
        if ((a->have_value && (a->value + 4095) / 4096 * 4096 != c->disk_limit) ||
            (a->have_value2 && a->value2 != c->disk_inode_limit))
                return sd_bus_error_setf(
                        error,
                        WARDEN_ERROR_LIMIT_FAILED,
                        "The disk limits of '%s' are fixed when it is created (in force: byte_limit "
                        "%llu, "
                        "inode_limit %llu).",
                        c->handle,
                        (unsigned long long) c->disk_limit,
                        (unsigned long long) c->disk_inode_limit);
        return 0;
}

static const LimitMethod limit_disk = {
        .read = disk_read,
        .reply = disk_reply,
        .check = disk_check,
};

int bus_limits_method_disk(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return limit_method(m, userdata, &limit_disk, error);
}

/* ---- LimitBandwidth ------------------------------------------------------------------------------ */

static int bandwidth_work(void *data) {
        LimitJob *j = data;
        int r, k;

        r = bandwidth_apply(j->host_ifname, j->value, j->value2);
        if (r >= 0)
                return 0;
        /* put back what was in force, so that the failed call changed nothing */
        if (j->old_value > 0)
                k = bandwidth_apply(j->host_ifname, j->old_value, j->old_value2);
        else
                k = bandwidth_remove(j->host_ifname);
        if (k < 0)
                log_debug_errno(k, "Failed to restore the bandwidth limit of '%s': %m", j->host_ifname);
        return r;
}

static void bandwidth_done(Worker *w, int result, void *userdata) {
        LimitOperation *op = userdata;
        Container *c = op->container;

        (void) limit_worker_finished(op);
        if (result < 0)
                (void) sd_bus_error_setf(
                        &op->failure,
                        WARDEN_ERROR_LIMIT_FAILED,
                        "Failed to limit the bandwidth of '%s': %s",
                        c->handle,
                        strerror(-result));
        else {
                c->bandwidth_rate = op->value;
                c->bandwidth_burst = op->value2;
                (void) container_save(c);
                log_container_full_errno(
                        c,
                        LOG_INFO,
                        0,
                        "Bandwidth of '%s' is now limited to %llu bytes/s, burst %llu bytes.",
                        c->handle,
                        (unsigned long long) op->value,
                        (unsigned long long) op->value2);
        }
        limit_operation_finish(op);
}

static int bandwidth_read(sd_bus_message *m, LimitArgs *a, sd_bus_error *error) {
        int r;

        r = sd_bus_message_read(m, "tt", &a->value, &a->value2);
        if (r < 0)
                return r;
        return a->value > 0 || a->value2 > 0;
}

static int bandwidth_reply(sd_bus_message *m, const Container *c) {
        return sd_bus_reply_method_return(m, "tt", c->bandwidth_rate, c->bandwidth_burst);
}

static int bandwidth_check(Container *c, const LimitArgs *a, sd_bus_error *error) {
        if (limit_check_bandwidth(a->value, a->value2, c->manager->config.mtu) < 0)
                return error_bandwidth_range(error, c->manager, "Bandwidth ((0, 0) queries)");
        if (!c->has_net)
                return sd_bus_error_setf(
                        error, WARDEN_ERROR_LIMIT_FAILED, "Container '%s' has no network.", c->handle);
        return 0;
}

static int bandwidth_start(LimitOperation *op) {
        return limit_start_worker(op, bandwidth_work, bandwidth_done);
}

static const LimitMethod limit_bandwidth = {
        .read = bandwidth_read,
        .reply = bandwidth_reply,
        .check = bandwidth_check,
        .start = bandwidth_start,
};

int bus_limits_method_bandwidth(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return limit_method(m, userdata, &limit_bandwidth, error);
}

/* ---- Create and re-adoption ---------------------------------------------------------------------- */

/* ---- Info ---------------------------------------------------------------------------------------- */

int bus_limits_append_info(sd_bus_message *reply, const Container *c) {
        DiskUsage u;
        int r;

        r = sd_bus_message_append(
                reply,
                "{sv}{sv}{sv}",
                "disk_limit",
                "t",
                c->disk_limit,
                "disk_inode_limit",
                "t",
                c->disk_inode_limit,
                "bandwidth",
                "(tt)",
                c->bandwidth_rate,
                c->bandwidth_burst);
        if (r < 0)
                return r;

        /* statfs() of a mounted ext4 and two sysfs files: no I/O that could block */
        if (c->disk_limit > 0 && c->path && disk_usage(c->path, &u) >= 0) {
                r = sd_bus_message_append(
                        reply,
                        "{sv}{sv}",
                        "disk_bytes_used",
                        "t",
                        u.bytes_used,
                        "disk_inodes_used",
                        "t",
                        u.inodes_used);
                if (r < 0)
                        return r;
        }
        if (c->has_net && IN_SET(c->state, CONTAINER_ACTIVE, CONTAINER_STOPPED)) {
                NetworkConfig n = {};
                uint64_t from, to;

                if (network_ifnames(c->net_id, &n) >= 0 &&
                    bandwidth_link_counters(n.host_ifname, &from, &to) >= 0) {
                        r = sd_bus_message_append(
                                reply, "{sv}{sv}", "rx_bytes", "t", to, "tx_bytes", "t", from);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}
