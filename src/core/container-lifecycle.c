/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <dirent.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container-lifecycle.h"
#include "container-oom.h"
#include "container-ops.h"
#include "fileio.h"
#include "handle.h"
#include "limit-check.h"
#include "log.h"
#include "network.h"
#include "parse-util.h"
#include "strv.h"
#include "warden-messages.h"

#define CREATE_TIMEOUT_USEC (120 * USEC_PER_SEC)
#define STATUS_MAX 1024

static const char *const operation_names[_CONTAINER_OPERATION_TYPE_MAX] = {
        [CONTAINER_OPERATION_CREATE] = "being created",
        [CONTAINER_OPERATION_STOP] = "being stopped",
        [CONTAINER_OPERATION_TEARDOWN] = "being destroyed",
        [CONTAINER_OPERATION_LIMIT] = "being changed",
};

/* The steps of a Create that are done (container-lifecycle.h). */
typedef enum CreateStep {
        CREATE_STEP_ROOTFS = 1 << 0, /* the root file system is made */
        CREATE_STEP_SCOPE = 1 << 1,  /* the scope's start job ran: the unit may exist */
        CREATE_STEP_NETWORK_STARTED =
                1 << 2,                 /* we hold wshd's netns; the veth is made or waits for a deletion */
        CREATE_STEP_READY = 1 << 3,     /* wshd reported READY */
        CREATE_STEP_HELLO = 1 << 4,     /* wshd answered the greeting */
        CREATE_STEP_NETWORK = 1 << 5,   /* the veth is made (ours to delete) */
        CREATE_STEP_FIREWALL = 1 << 6,  /* its nft objects are in */
        CREATE_STEP_BANDWIDTH = 1 << 7, /* its bandwidth limit is in force (or there is none) */
} CreateStep;

typedef struct CreateOperation {
        ContainerOperation base; /* c->operation points here */
        Manager *manager;
        Container *container;
        container_done_t done;
        void *userdata;
        uint64_t started_usec;

        BindMount *bind_mounts;
        size_t n_bind_mounts;

        sd_event_source *timeout_source;
        ContainerOpCall *rootfs_call;
        ContainerOpCall *network_call; /* the veth, then the bandwidth limit */
        ContainerOpCall *scope_call;
        ContainerOpCall *hello_call;
        ContainerOpCall *firewall_call;
        ContainerOpCall *helper_call; /* until the helper exits; freeing it kills it */

        pid_t helper_pid;
        int go_fd; /* write 'G' to release the helper into its scope */
        int status_fd;
        sd_event_source *status_source;
        char status[STATUS_MAX];
        size_t status_size;

        int netns_fd;
        NetworkConfig network;
        CreateStep steps;
        bool failing;
        WardenError failure;
} CreateOperation;

typedef struct StopOperation {
        ContainerOperation base;
        Container *container;
        ContainerOpCall *call;
        container_done_t done;
        void *userdata;
} StopOperation;

typedef struct TeardownOperation {
        ContainerOperation base;
        Manager *manager;
        Container *container;
        container_done_t done; /* Destroy, or a failed Create (with 'error') */
        void *userdata;
        WardenError error; /* a failed Create's */
        bool stop_unit;
        bool announce; /* container_gone */
        ContainerOpCall *scope_call;
        ContainerOpCall *rootfs_call;
        ContainerOpCall *firewall_call; /* removing its nft objects */
        char *path;
        char host_ifname[NETWORK_IFNAME_MAX];
        uint64_t started_usec;
} TeardownOperation;

static ContainerOperation limit_operation = { .type = CONTAINER_OPERATION_LIMIT };

static void container_teardown(
        Container *c,
        container_done_t done,
        void *userdata,
        const WardenError *failure,
        bool stop_unit,
        bool delete_link);

static bool container_is_referenced(const Container *c) {
        return c->clients && c->clients[0];
}

const char *container_busy_reason(const Container *c) {
        assert(c);
        return c->operation ? operation_names[c->operation->type] : NULL;
}

const char *container_get_state(const Container *c) {
        assert(c);
        return container_busy_reason(c) ?: container_state_to_string(c->state);
}

/* Debug log of each step's time since the start of its operation (the steps overlap), as "step NAME took
 * Nus", which bench/run collects. */
static void container_emit_changed(Container *c, const char *property) {
        Manager *m = c->manager;

        if (m && m->events && m->events->container_changed)
                m->events->container_changed(c, property);
}

static void container_set_state(Container *c, ContainerState state) {
        int r;

        if (c->state == state)
                return;
        c->state = state;
        r = container_save(c);
        if (r < 0)
                log_container_warning_errno(c, r, "Failed to save the state of '%s': %m", c->handle);
        container_emit_changed(c, "State");
}

static void operation_begin(Container *c, ContainerOperation *op) {
        assert(!c->operation);
        c->operation = op;
        c->manager->n_operations++;
}

static void operation_end(Manager *m, Container *c, ContainerOperation *op) {
        if (c && c->operation == op)
                c->operation = NULL;
        assert(m->n_operations > 0);
        m->n_operations--;
}

/* ---- grace time ---------------------------------------------------------------------------------- */

static int grace_expired(sd_event_source *s, uint64_t usec, void *userdata) {
        Container *c = userdata;

        c->grace_source = sd_event_source_disable_unref(c->grace_source);
        if (c->operation)
                return 0; /* being destroyed or changed already; the next reference decides */
        log_container_info(
                c,
                "Container '%s' was not referenced by any client for %us, destroying it.",
                c->handle,
                c->grace_time);
        container_teardown(c, NULL, NULL, NULL, true, true);
        return 0;
}

static void container_arm_grace(Container *c) {
        int r;

        if (c->grace_time == 0 || c->grace_source || !c->manager)
                return;
        r = sd_event_add_time_relative(
                c->manager->event,
                &c->grace_source,
                CLOCK_MONOTONIC,
                (uint64_t) c->grace_time * USEC_PER_SEC,
                USEC_PER_SEC / 10,
                grace_expired,
                c);
        if (r < 0) {
                log_container_warning_errno(c, r, "Failed to start the grace timer of '%s': %m", c->handle);
                return;
        }
        (void) sd_event_source_set_description(c->grace_source, "container-grace");
        log_container_debug(c, "Grace timer of '%s' started (%us).", c->handle, c->grace_time);
}

void container_unreferenced(Container *c) {
        assert(c);
        container_arm_grace(c);
}

void container_referenced(Container *c) {
        assert(c);
        c->grace_source = sd_event_source_disable_unref(c->grace_source);
}

/* ---- wshd watch and GC --------------------------------------------------------------------------- */

static int leader_exited(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Container *c = userdata;

        c->leader_source = sd_event_source_disable_unref(c->leader_source);
        if (c->operation && c->operation->type == CONTAINER_OPERATION_TEARDOWN)
                return 0; /* expected */

        log_container_event(
                c,
                LOG_WARNING,
                SYNTHETIC_ERRNO(ESRCH),
                WARDEN_MESSAGE_CONTAINER_LOST,
                "Container '%s': its wshd (PID %i) exited, cleaning the container up.",
                c->handle,
                (int) c->leader_pid);
        /* at once if idle; else once the operation in flight is over (a Stop learns it from its wshd call
         * failing) */
        manager_enqueue_gc(c->manager, c);
        return 0;
}

void container_gc(Container *c) {
        assert(c);

        if (!c->manager || c->operation || c->leader_source ||
            !IN_SET(c->state, CONTAINER_ACTIVE, CONTAINER_STOPPED))
                return;
        container_teardown(c, NULL, NULL, NULL, true, true);
}

static int container_watch_leader(Container *c) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = c->manager->ops->leader_open(c, &fd);
        if (r < 0)
                return r;
        r = sd_event_add_io(c->manager->event, &c->leader_source, fd, EPOLLIN, leader_exited, c);
        if (r < 0)
                return r;
        r = sd_event_source_set_io_fd_own(c->leader_source, true);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        (void) sd_event_source_set_description(c->leader_source, "container-leader");
        return 0;
}

/* ---- veths being deleted -------------------------------------------------------------------------- */

/*
 * Deleting a veth makes the kernel wait for RCU grace periods (~25 ms here): that is the slowest part of a
 * teardown and it is kept off the caller's path. Destroy answers once the container's processes, scope and
 * files are gone and its /30 is free again; the link is deleted meanwhile (and would go with the container's
 * network namespace anyway). A Create that gets the same /30 before that has finished waits for it before
 * it builds its own veth of the same name. Manager.links_deleting: host ifname → LinkDeletion.
 */
static void create_network_go(CreateOperation *op);

typedef struct LinkDeletion {
        Manager *manager;
        char ifname[NETWORK_IFNAME_MAX];
        ContainerOpCall *call;
        CreateOperation **waiters;
        size_t n_waiters;
} LinkDeletion;

static void link_deletion_done(int result, const WardenError *error, void *userdata) {
        LinkDeletion *ld = userdata;
        Manager *m = ld->manager;

        ld->call = NULL;
        (void) hashmap_remove(m->links_deleting, ld->ifname);
        log_debug("Link %s deleted%s.", ld->ifname, result < 0 ? " (with errors)" : "");
        /* the waiters go on; each removes itself from nothing, the entry is gone already */
        for (size_t i = 0; i < ld->n_waiters; i++)
                create_network_go(ld->waiters[i]);
        free(ld->waiters);
        free(ld);
        assert(m->n_operations > 0);
        m->n_operations--;
}

static void link_deletion_start(Manager *m, const char *ifname) {
        LinkDeletion *ld;
        int r;

        if (hashmap_get(m->links_deleting, ifname) || strlen(ifname) >= NETWORK_IFNAME_MAX)
                return;
        ld = calloc(1, sizeof(LinkDeletion));
        if (!ld) {
                log_oom();
                return;
        }
        ld->manager = m;
        strcpy(ld->ifname, ifname);
        r = m->ops->network_delete(m, ld->ifname, link_deletion_done, ld, &ld->call);
        if (r >= 0)
                r = hashmap_put(m->links_deleting, ld->ifname, ld);
        if (r < 0) {
                log_error_errno(r, "Failed to start deleting link %s: %m", ifname);
                container_op_call_free(ld->call);
                free(ld);
                return;
        }
        m->n_operations++;
}

static int link_deletion_add_waiter(LinkDeletion *ld, CreateOperation *op) {
        CreateOperation **w = reallocarray(ld->waiters, ld->n_waiters + 1, sizeof(CreateOperation *));

        if (!w)
                return -ENOMEM;
        ld->waiters = w;
        ld->waiters[ld->n_waiters++] = op;
        return 0;
}

static void link_deletion_remove_waiter(Manager *m, const char *ifname, CreateOperation *op) {
        LinkDeletion *ld = hashmap_get(m->links_deleting, ifname);

        for (size_t i = 0; ld && i < ld->n_waiters; i++)
                if (ld->waiters[i] == op) {
                        memmove(ld->waiters + i, ld->waiters + i + 1, (ld->n_waiters - i - 1) * sizeof(op));
                        ld->n_waiters--;
                        return;
                }
}

/* ---- teardown ------------------------------------------------------------------------------------ */

static void container_kill_leader(Container *c) {
        int pidfd = -EBADF;

        if (c->leader_source)
                pidfd = sd_event_source_get_io_fd(c->leader_source);
        c->manager->ops->leader_kill(c, pidfd);
}

static void teardown_operation_free(TeardownOperation *op) {
        if (!op)
                return;
        if (op->container && op->container->operation == &op->base)
                op->container->operation = NULL;
        container_op_call_free(op->scope_call);
        container_op_call_free(op->rootfs_call);
        container_op_call_free(op->firewall_call);
        warden_error_done(&op->error);
        free(op->path);
        free(op);
}

static void teardown_finish(TeardownOperation *op) {
        Manager *m = op->manager;
        Container *c = op->container;
        _cleanup_free_ char *handle = strdup(c->handle);
        int r;

        log_container_step(c->handle, "destroy.total", op->started_usec);
        manager_release_container_resources(m, c);
        r = container_remove_state(c);
        if (r < 0)
                log_container_warning_errno(c, r, "Failed to remove the state file of '%s': %m", c->handle);

        c->state = CONTAINER_DESTROYED;
        container_emit_changed(c, "State");
        op->container = NULL;
        c->operation = NULL;
        container_free(c); /* unregisters it: Containers changes */

        if (op->announce && handle && m->events && m->events->container_gone)
                m->events->container_gone(m, handle);
        log_event(
                LOG_INFO,
                0,
                handle,
                WARDEN_MESSAGE_CONTAINER_DESTROYED,
                "Container '%s' destroyed.",
                strna(handle));

        if (op->done)
                op->done(NULL, warden_error_is_set(&op->error) ? &op->error : NULL, op->userdata);
        assert(m->n_operations > 0);
        m->n_operations--;
        teardown_operation_free(op);
}

static void teardown_maybe_finish(TeardownOperation *op) {
        if (op->scope_call || op->rootfs_call || op->firewall_call)
                return;
        teardown_finish(op);
}

static void teardown_firewall_done(int result, const WardenError *error, void *userdata) {
        TeardownOperation *op = userdata;

        op->firewall_call = NULL;
        log_container_step(op->container->handle, "destroy.firewall", op->started_usec);
        if (result < 0)
                log_container_warning_errno(
                        op->container,
                        result,
                        "Failed to remove the nft rules of container '%s': %s",
                        op->container->handle,
                        error && error->message ? error->message : strerror(-result));
        teardown_maybe_finish(op);
}

static void teardown_rootfs_done(int result, const WardenError *error, void *userdata) {
        TeardownOperation *op = userdata;

        op->rootfs_call = NULL;
        log_container_step(op->container->handle, "destroy.rootfs", op->started_usec);
        if (result < 0)
                log_container_error_errno(
                        op->container,
                        result,
                        "Cleaning up the root file system of container '%s' was incomplete: %m",
                        op->container->handle);
        teardown_maybe_finish(op);
}

static void teardown_unit_stopped(int result, const WardenError *error, void *userdata) {
        TeardownOperation *op = userdata;

        op->scope_call = NULL;
        log_container_step(op->container->handle, "destroy.unit", op->started_usec);
        if (result != 0)
                log_container_warning(
                        op->container,
                        "%s",
                        error && error->message ? error->message : "Failed to stop the scope.");
        teardown_maybe_finish(op);
}

/*
 * Tears c down completely: wshd is killed (and with it every process of the container), the scope is
 * stopped, the root file system is detached and removed and the nft objects go, side by side; 'done' is
 * called when all of that is done, with 'failure' (a failed Create's) if given. The veth is deleted
 * meanwhile, off the caller's path (see "veths being deleted"). The container must not have another
 * operation in flight.
 */
static void container_teardown(
        Container *c,
        container_done_t done,
        void *userdata,
        const WardenError *failure,
        bool stop_unit,
        bool delete_link) {
        Manager *m = c->manager;
        const ContainerOps *ops = m->ops;
        TeardownOperation *op;
        int r;

        assert(m);
        assert(!c->operation);

        if (ops->copies_cancel)
                ops->copies_cancel(c); /* before the root goes away under them */
        /* Waiters of jobs get their answer now: nothing of the container will report anything any more. */
        if (ops->jobs_teardown)
                ops->jobs_teardown(c);

        op = calloc(1, sizeof(TeardownOperation));
        if (!op) {
                _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;

                log_oom();
                if (done) {
                        if (!failure)
                                (void) warden_error_setf(
                                        &e, WARDEN_ERROR_KIND_FAILED, -ENOMEM, "Out of memory.");
                        done(NULL, failure ?: &e, userdata);
                }
                return;
        }
        op->base = (ContainerOperation){ .type = CONTAINER_OPERATION_TEARDOWN, .teardown = op };
        op->started_usec = now_usec(CLOCK_MONOTONIC);
        op->manager = m;
        op->container = c;
        op->done = done;
        op->userdata = userdata;
        if (failure)
                (void) warden_error_copy(&op->error, failure);
        op->stop_unit = stop_unit;
        op->announce = !failure && c->state != CONTAINER_BORN;
        op->path = c->path ? strdup(c->path) : NULL;
        /* A Create that failed before its veth existed must not delete a link of that name: it is someone
         * else's (that is why it failed). */
        if (c->has_net && delete_link) {
                NetworkConfig n = {};

                if (network_ifnames(c->net_id, &n) >= 0)
                        memcpy(op->host_ifname, n.host_ifname, sizeof(op->host_ifname));
        }
        operation_begin(c, &op->base);
        c->grace_source = sd_event_source_disable_unref(c->grace_source);
        if (m->events && m->events->container_forget)
                m->events->container_forget(c);
        container_oom_forget(c);

        if (op->host_ifname[0])
                link_deletion_start(m, op->host_ifname);
        if (ops->firewall_remove) {
                r = ops->firewall_remove(c, teardown_firewall_done, op, &op->firewall_call);
                if (r < 0)
                        log_container_warning_errno(
                                c, r, "Failed to remove the nft rules of container '%s': %m", c->handle);
        }
        container_kill_leader(c);
        if (op->stop_unit && c->unit) {
                r = ops->scope_stop(c, teardown_unit_stopped, op, &op->scope_call);
                if (r < 0)
                        log_container_warning_errno(c, r, "Failed to stop %s: %m", c->unit);
        }
        if (op->path) {
                r = ops->rootfs_teardown(m, op->path, teardown_rootfs_done, op, &op->rootfs_call);
                if (r < 0)
                        log_container_error_errno(c, r, "Failed to start the cleanup worker: %m");
        }
        teardown_maybe_finish(op);
}

/* ---- create -------------------------------------------------------------------------------------- */

/*
 * The steps overlap where they can: the rootfs worker and the scope (helper + StartTransientUnit) run side
 * by side and wshd is released when both are done; the veth is made as soon as wshd's network namespace
 * exists (its PID is known) while wshd still sets up its mounts; the greeting goes out when wshd is ready.
 * The container is there when both the greeting and the network are.
 */

static CreateOperation *create_operation_free(CreateOperation *op) {
        if (!op)
                return NULL;
        if (op->container && op->container->operation == &op->base)
                op->container->operation = NULL;
        if ((op->steps & CREATE_STEP_NETWORK_STARTED) && !op->network_call &&
            !(op->steps & CREATE_STEP_NETWORK) && op->network.host_ifname[0])
                link_deletion_remove_waiter(op->manager, op->network.host_ifname, op);
        sd_event_source_disable_unref(op->timeout_source);
        container_op_call_free(op->rootfs_call);
        container_op_call_free(op->network_call);
        container_op_call_free(op->scope_call);
        container_op_call_free(op->hello_call);
        /* it runs all the same; the teardown's removal is queued after it */
        container_op_call_free(op->firewall_call);
        container_op_call_free(op->helper_call); /* kills the helper if it is still blocked */
        sd_event_source_disable_unref(op->status_source);
        safe_close(op->go_fd);
        safe_close(op->status_fd);
        safe_close(op->netns_fd);
        bind_mounts_free(op->bind_mounts, op->n_bind_mounts);
        warden_error_done(&op->failure);
        free(op);
        return NULL;
}

static void create_log_step(CreateOperation *op, const char *step) {
        log_container_step(op->container->handle, step, op->started_usec);
}

/* Undoes everything and reports the failure. */
static void create_finish_failure(CreateOperation *op) {
        _cleanup_(warden_error_done) WardenError failure = WARDEN_ERROR_NULL;
        Container *c = op->container;
        Manager *m = op->manager;
        container_done_t done = op->done;
        void *userdata = op->userdata;
        bool stop_unit = (op->steps & CREATE_STEP_SCOPE) || op->scope_call;
        bool delete_link = op->steps & CREATE_STEP_NETWORK;

        failure = op->failure;
        op->failure = WARDEN_ERROR_NULL;
        log_container_warning(
                c,
                "Creating container '%s' failed: %s",
                c->handle,
                failure.message ?: strerror(-failure.error));
        operation_end(m, c, &op->base);
        create_operation_free(op);
        container_teardown(c, done, userdata, &failure, stop_unit, delete_link);
}

/* Fails the Create (the first failure is the one reported). Running workers are left to finish: only if the
 * network worker made the veth may the cleanup delete a link of that name, and the rootfs worker may still
 * be making the writable layer's file system (mke2fs, a loop device, mounts) that the cleanup must not race
 * with. The last of them to finish finishes the failure. */
static bool create_workers_running(const CreateOperation *op) {
        return op->network_call || op->rootfs_call;
}

static void create_fail(CreateOperation *op, const WardenError *error) {
        if (op->failing)
                return;
        op->failing = true;
        (void) warden_error_copy(&op->failure, error);

        op->timeout_source = sd_event_source_disable_unref(op->timeout_source);
        op->hello_call = container_op_call_free(op->hello_call);
        op->status_source = sd_event_source_disable_unref(op->status_source);
        if (create_workers_running(op))
                return; /* the worker's done callback finishes the failure */
        create_finish_failure(op);
}

/* A failure of kind 'kind' (FAILED: the errno says what; a full depot is NO_SPACE whichever step found
 * out). */
static void create_failf(CreateOperation *op, WardenErrorKind kind, int error, const char *fmt, ...)
        _printf_(4, 5);
static void create_failf(CreateOperation *op, WardenErrorKind kind, int error, const char *fmt, ...) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        va_list ap;

        if (kind == WARDEN_ERROR_KIND_FAILED && IN_SET(error, ENOSPC, -ENOSPC))
                kind = WARDEN_ERROR_KIND_NO_SPACE;
        va_start(ap, fmt);
        (void) warden_error_setv(&e, kind, error, fmt, ap);
        va_end(ap);
        create_fail(op, &e);
}

/* A failure the implementation of a step put into words, or ours. */
static void create_fail_step(CreateOperation *op, int result, const WardenError *error, const char *fmt, ...)
        _printf_(4, 5);
static void
create_fail_step(CreateOperation *op, int result, const WardenError *error, const char *fmt, ...) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        va_list ap;

        if (warden_error_is_set(error) && error->name) {
                create_fail(op, error); /* a peer's own name for it (systemd's), passed on as it is */
                return;
        }
        if (warden_error_is_set(error)) {
                /* as ours: a full depot is NO_SPACE whichever step found out */
                create_failf(op, error->kind, error->error, "%s", error->message ?: strerror(-error->error));
                return;
        }
        va_start(ap, fmt);
        (void) warden_error_setv(
                &e,
                IN_SET(result, ENOSPC, -ENOSPC) ? WARDEN_ERROR_KIND_NO_SPACE : WARDEN_ERROR_KIND_FAILED,
                result,
                fmt,
                ap);
        va_end(ap);
        create_fail(op, &e);
}

static void create_succeed(CreateOperation *op) {
        Container *c = op->container;
        Manager *m = op->manager;
        container_done_t done = op->done;
        void *userdata = op->userdata;
        uint64_t started_usec = op->started_usec;
        int r;

        r = container_watch_leader(c);
        if (r < 0) {
                create_failf(
                        op,
                        WARDEN_ERROR_KIND_FAILED,
                        r,
                        "Failed to watch wshd (PID %i): %m",
                        (int) c->leader_pid);
                return;
        }
        r = m->ops->limits_created ? m->ops->limits_created(c) : 0;
        if (r < 0) {
                create_failf(
                        op,
                        WARDEN_ERROR_KIND_LIMIT_FAILED,
                        0,
                        "Failed to apply the limits of '%s'.",
                        c->handle);
                return;
        }
        r = m->ops->jobs_start ? m->ops->jobs_start(c) : 0;
        if (r < 0) {
                create_failf(
                        op, WARDEN_ERROR_KIND_FAILED, r, "Failed to set up the jobs of the container: %m");
                return;
        }

        operation_end(m, c, &op->base);
        create_operation_free(op);

        container_set_state(c, CONTAINER_ACTIVE); /* also writes the state file */
        container_emit_changed(c, "LeaderPID");
        done(c, NULL, userdata); /* the front end's caller references c now */
        if (!container_is_referenced(c))
                container_arm_grace(c);
        if (m->events && m->events->container_announced)
                m->events->container_announced(c);
        log_container_step(c->handle, "create.total", started_usec);
        log_container_event(
                c,
                LOG_INFO,
                0,
                WARDEN_MESSAGE_CONTAINER_CREATED,
                "Container '%s' created: %s, wshd PID %i, %s ↔ %s.",
                c->handle,
                c->unit,
                (int) c->leader_pid,
                strna(c->host_ip),
                strna(c->container_ip));
}

static void create_maybe_succeed(CreateOperation *op) {
        if ((op->steps & (CREATE_STEP_HELLO | CREATE_STEP_NETWORK | CREATE_STEP_FIREWALL)) ==
                    (CREATE_STEP_HELLO | CREATE_STEP_NETWORK | CREATE_STEP_FIREWALL) &&
            !op->network_call)
                create_succeed(op);
}

/* ---- create: the container's nft objects, side by side with the other steps ---- */

static void create_firewall_done(int result, const WardenError *error, void *userdata) {
        CreateOperation *op = userdata;

        op->firewall_call = NULL;
        if (result < 0) {
                create_failf(
                        op,
                        WARDEN_ERROR_KIND_FAILED,
                        result,
                        "Failed to install the container's firewall rules: %s",
                        error && error->message ? error->message : strerror(-result));
                return;
        }
        create_log_step(op, "create.firewall");
        op->steps |= CREATE_STEP_FIREWALL;
        create_maybe_succeed(op);
}

static int create_start_firewall(CreateOperation *op) {
        if (!op->manager->ops->firewall_add) {
                op->steps |= CREATE_STEP_FIREWALL;
                return 0;
        }
        return op->manager->ops->firewall_add(op->container, create_firewall_done, op, &op->firewall_call);
}

static void create_hello_done(int result, const WardenError *error, void *userdata) {
        CreateOperation *op = userdata;

        op->hello_call = NULL;
        if (result < 0) {
                create_fail_step(op, result, error, "wshd did not answer on its socket: %m");
                return;
        }
        create_log_step(op, "create.hello");
        op->steps |= CREATE_STEP_HELLO;
        create_maybe_succeed(op);
}

static void create_say_hello(CreateOperation *op) {
        int r;

        r = op->manager->ops->wshd_hello(op->container, create_hello_done, op, &op->hello_call);
        if (r < 0)
                create_failf(op, WARDEN_ERROR_KIND_FAILED, r, "Failed to connect to wshd: %m");
}

/* The bandwidth limit given to Create, on the veth that now exists. */
static void create_bandwidth_done(int result, const WardenError *error, void *userdata) {
        CreateOperation *op = userdata;

        op->network_call = NULL;
        op->steps |= CREATE_STEP_BANDWIDTH;
        if (op->failing) {
                /* the veth is ours (CREATE_STEP_NETWORK): the cleanup deletes it */
                if (!create_workers_running(op))
                        create_finish_failure(op);
                return;
        }
        if (result < 0) {
                create_failf(
                        op,
                        WARDEN_ERROR_KIND_LIMIT_FAILED,
                        0,
                        "Failed to limit the bandwidth of '%s' on '%s': %s",
                        op->container->handle,
                        op->network.host_ifname,
                        strerror(-result));
                return;
        }
        create_log_step(op, "create.bandwidth");
        create_maybe_succeed(op);
}

static void create_start_bandwidth(CreateOperation *op) {
        int r;

        if (op->container->bandwidth_rate == 0 || (op->steps & CREATE_STEP_BANDWIDTH) ||
            !op->manager->ops->bandwidth_setup) {
                create_maybe_succeed(op);
                return;
        }
        r = op->manager->ops->bandwidth_setup(
                op->container, op->network.host_ifname, create_bandwidth_done, op, &op->network_call);
        if (r < 0)
                create_failf(op, WARDEN_ERROR_KIND_FAILED, r, "Failed to start the bandwidth worker: %m");
}

static void create_network_done(int result, const WardenError *error, void *userdata) {
        CreateOperation *op = userdata;

        op->network_call = NULL;
        if (op->failing) {
                /* Something else failed meanwhile: the veth is ours to delete only if we made it. */
                if (result >= 0)
                        op->steps |= CREATE_STEP_NETWORK;
                if (!create_workers_running(op))
                        create_finish_failure(op);
                return;
        }
        if (result == -EEXIST) {
                create_failf(
                        op,
                        WARDEN_ERROR_KIND_FAILED,
                        result,
                        "Failed to set up the network: a link named '%s' exists already.",
                        op->network.host_ifname);
                return;
        }
        if (result < 0) {
                create_failf(
                        op,
                        WARDEN_ERROR_KIND_FAILED,
                        result,
                        "Failed to set up the network (%s): %m",
                        op->network.host_ifname);
                return;
        }
        create_log_step(op, "create.network");
        op->steps |= CREATE_STEP_NETWORK;
        create_start_bandwidth(op);
}

/* The helper made wshd's network namespace before anything else: build the veth in it while the rootfs is
 * mounted and systemd starts the scope. */
static void create_network_go(CreateOperation *op) {
        int r;

        r = op->manager->ops->network_setup(
                op->container,
                &op->network,
                TAKE_FD(op->netns_fd),
                create_network_done,
                op,
                &op->network_call);
        if (r < 0)
                create_failf(op, WARDEN_ERROR_KIND_FAILED, r, "Failed to start the network worker: %m");
}

static void create_start_network(CreateOperation *op) {
        Container *c = op->container;
        LinkDeletion *ld;
        int r;

        r = op->manager->ops->helper_netns(op->helper_pid, &op->netns_fd);
        if (r < 0) {
                create_failf(
                        op, WARDEN_ERROR_KIND_FAILED, r, "Failed to open the network namespace of wshd: %m");
                return;
        }
        r = network_ifnames(c->net_id, &op->network);
        if (r < 0) {
                create_failf(op, WARDEN_ERROR_KIND_FAILED, r, "Failed to name the network interfaces: %m");
                return;
        }
        op->network.host_ip = c->host_ip;
        op->network.container_ip = c->container_ip;
        op->network.prefixlen = 30;
        op->network.mtu = op->manager->config.mtu;
        op->steps |= CREATE_STEP_NETWORK_STARTED;

        /* The /30 was just released by a destroyed container whose veth of the same name is still being
         * deleted: build ours once that is done. */
        ld = hashmap_get(op->manager->links_deleting, op->network.host_ifname);
        if (ld) {
                r = link_deletion_add_waiter(ld, op);
                if (r < 0)
                        create_failf(op, WARDEN_ERROR_KIND_FAILED, r, "Out of memory.");
                return;
        }
        create_network_go(op);
}

static void create_maybe_release(CreateOperation *op);
static int create_start_rootfs(CreateOperation *op, int userns_fd);

/* The helper made the container's user namespace first and wshd's network namespace in it: the rootfs
 * (its lower layer idmapped into that user namespace) can be made now. False once the operation failed. */
static bool create_start_rootfs_userns(CreateOperation *op) {
        _cleanup_close_ int netns_fd = -EBADF;
        int userns_fd, r;

        r = op->manager->ops->helper_netns(op->helper_pid, &netns_fd);
        if (r < 0) {
                create_failf(
                        op, WARDEN_ERROR_KIND_FAILED, r, "Failed to open the network namespace of wshd: %m");
                return false;
        }
        r = op->manager->ops->netns_userns(netns_fd, &userns_fd);
        if (r < 0) {
                create_failf(
                        op, WARDEN_ERROR_KIND_FAILED, r, "Failed to get the user namespace of wshd: %m");
                return false;
        }
        r = create_start_rootfs(op, userns_fd);
        if (r < 0) {
                create_failf(op, WARDEN_ERROR_KIND_FAILED, r, "Failed to start the rootfs worker: %m");
                return false;
        }
        return true;
}

/* One line of the status pipe: "NETNS=1" and "PID=<wshd's pid>" from the helper, then "READY=1" from wshd,
 * or "ERROR=<errno> <text>". Returns false once the operation has failed. */
static bool create_status_line(CreateOperation *op, const char *line) {
        Container *c = op->container;

        if (streq(line, "NETNS=1")) {
                if (op->helper_pid <= 0 || op->network_call || (op->steps & CREATE_STEP_NETWORK) ||
                    (c->userns_uid > 0 && (op->rootfs_call || (op->steps & CREATE_STEP_ROOTFS)))) {
                        create_failf(
                                op,
                                WARDEN_ERROR_KIND_FAILED,
                                -EPROTO,
                                "wshd reported its network namespace twice or too late.");
                        return false;
                }
                create_log_step(op, "create.netns");
                if (c->userns_uid > 0 && !create_start_rootfs_userns(op))
                        return false;
                create_start_network(op);
                if (op->failing)
                        return false;
                create_maybe_release(op);
                return !op->failing;
        }
        if (startswith(line, "PID=")) {
                uint32_t v;

                if (c->leader_pid > 0 || parse_uint32(line + 4, &v) < 0 || v <= 1 || v > INT32_MAX) {
                        create_failf(
                                op,
                                WARDEN_ERROR_KIND_FAILED,
                                -EPROTO,
                                "wshd reported a bad PID line '%s'.",
                                line);
                        return false;
                }
                c->leader_pid = (pid_t) v;
                create_log_step(op, "create.wshd-forked");
                return true;
        }
        if (streq(line, "READY=1")) {
                if (c->leader_pid <= 0) {
                        create_failf(
                                op,
                                WARDEN_ERROR_KIND_FAILED,
                                -EPROTO,
                                "wshd was ready before its PID was known.");
                        return false;
                }
                op->steps |= CREATE_STEP_READY;
                create_log_step(op, "create.wshd");
                create_say_hello(op);
                return !op->failing;
        }
        if (startswith(line, "ERROR=")) {
                char *text;
                long e = strtol(line + 6, &text, 10);

                create_failf(
                        op,
                        WARDEN_ERROR_KIND_FAILED,
                        e > 0 && e < 4096 ? (int) -e : -EIO,
                        "Failed to start wshd: %s",
                        isempty(text) ? "unknown error" : text + strspn(text, " "));
                return false;
        }
        return true; /* something newer: ignore */
}

static int create_status_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CreateOperation *op = userdata;
        char *nl;
        ssize_t n;

        n = read(fd, op->status + op->status_size, sizeof(op->status) - 1 - op->status_size);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                create_failf(op, WARDEN_ERROR_KIND_FAILED, -errno, "Failed to read wshd's status: %m");
                return 0;
        }
        op->status_size += (size_t) n;
        op->status[op->status_size] = '\0';

        while ((nl = strchr(op->status, '\n'))) {
                size_t len = (size_t) (nl - op->status) + 1;

                *nl = '\0';
                if (!create_status_line(op, op->status))
                        return 0;
                memmove(op->status, op->status + len, op->status_size - len + 1);
                op->status_size -= len;
        }

        if (n == 0) {
                /* EOF: the helper and wshd closed their ends */
                op->status_source = sd_event_source_disable_unref(op->status_source);
                op->status_fd = safe_close(op->status_fd);
                if (!(op->steps & CREATE_STEP_READY))
                        create_failf(
                                op,
                                WARDEN_ERROR_KIND_FAILED,
                                -EIO,
                                "wshd exited before it was ready (see the journal of warden.service).");
        } else if (op->status_size >= sizeof(op->status) - 1)
                create_failf(op, WARDEN_ERROR_KIND_FAILED, -EPROTO, "wshd's status is garbage.");
        return 0;
}

/* Both the rootfs and the scope exist: let the helper fork wshd. */
static void create_maybe_release(CreateOperation *op) {
        const CreateStep needed = CREATE_STEP_ROOTFS | CREATE_STEP_SCOPE | CREATE_STEP_NETWORK_STARTED;
        int r;

        /* ... and once we hold its network namespace: after 'G' the helper may be gone any moment. */
        if ((op->steps & needed) != needed || op->go_fd < 0)
                return;
        r = loop_write(op->go_fd, "G", 1);
        op->go_fd = safe_close(op->go_fd);
        if (r < 0)
                create_failf(op, WARDEN_ERROR_KIND_FAILED, r, "Failed to release wshd: %m");
}

static void create_scope_started(int result, const WardenError *error, void *userdata) {
        CreateOperation *op = userdata;

        op->scope_call = NULL;
        if (result < 0) {
                create_fail_step(op, result, error, "Failed to start %s: %m", op->container->unit);
                return;
        }
        op->steps |= CREATE_STEP_SCOPE;
        if (result > 0) {
                create_fail_step(op, -EIO, error, "Starting %s failed.", op->container->unit);
                return;
        }
        create_log_step(op, "create.scope");
        create_maybe_release(op);
}

static void create_helper_exited(int result, const WardenError *error, void *userdata) {
        CreateOperation *op = userdata;

        op->helper_call = NULL;
        op->helper_pid = 0;
        if (result != 0)
                log_container_debug(op->container, "wshd's helper exited with status %i.", result);
}

static void create_rootfs_done(int result, const WardenError *error, void *userdata) {
        CreateOperation *op = userdata;
        Container *c = op->container;

        op->rootfs_call = NULL;
        if (op->failing) {
                /* something else failed meanwhile; whatever the worker made is under <path>, which the
                 * cleanup removes */
                if (!create_workers_running(op))
                        create_finish_failure(op);
                return;
        }
        if (result == -ENOMEDIUM) {
                create_failf(
                        op,
                        WARDEN_ERROR_KIND_ROOTFS_NOT_FOUND,
                        0,
                        "Root file system '%s' vanished.",
                        c->rootfs);
                return;
        }
        if (result == -EMEDIUMTYPE) {
                create_failf(op, WARDEN_ERROR_KIND_BIND_MOUNT_SOURCE, 0, "A bind mount source vanished.");
                return;
        }
        /* only with userns_rootfs = idmap: otherwise a shifted copy is made instead */
        if (result == -EOPNOTSUPP && c->userns_uid > 0 &&
            op->manager->config.userns_rootfs == USERNS_ROOTFS_IDMAP) {
                create_failf(
                        op,
                        WARDEN_ERROR_KIND_NOT_SUPPORTED,
                        result,
                        "Option 'user_namespace': root file system '%s' cannot be idmapped into the "
                        "container's user namespace: its file system has no idmapped mounts (overlayfs "
                        "has none; ext4, xfs and btrfs have, tmpfs since Linux 6.3), or this kernel "
                        "lacks them (Linux 5.19 is needed); and userns_rootfs = idmap forbids a "
                        "shifted copy.",
                        c->rootfs);
                return;
        }
        if (result < 0) {
                create_failf(
                        op,
                        WARDEN_ERROR_KIND_FAILED,
                        result,
                        "Failed to set up the root file system in '%s': %m",
                        c->path);
                return;
        }
        create_log_step(op, "create.rootfs");
        op->steps |= CREATE_STEP_ROOTFS;
        create_maybe_release(op);
}

static int create_timed_out(sd_event_source *s, uint64_t usec, void *userdata) {
        CreateOperation *op = userdata;

        create_failf(op, WARDEN_ERROR_KIND_FAILED, -ETIMEDOUT, "Creating the container timed out.");
        return 0;
}

/* userns_fd: taken over */
static int create_start_rootfs(CreateOperation *op, int userns_fd) {
        BindMount *b = TAKE_PTR(op->bind_mounts);
        size_t n = op->n_bind_mounts;

        /* the bind mounts are needed by this step only: hand them over */
        op->n_bind_mounts = 0;
        return op->manager->ops->rootfs_setup(
                op->container, b, n, userns_fd, create_rootfs_done, op, &op->rootfs_call);
}

/* Steps 2 and 3 side by side: the rootfs in a worker, the helper into a new scope. With a user namespace
 * the rootfs waits for it (its lower layer is idmapped into it): the helper makes it at once. */
static int create_start(CreateOperation *op) {
        Manager *m = op->manager;
        int r;

        r = sd_event_add_time_relative(
                m->event,
                &op->timeout_source,
                CLOCK_MONOTONIC,
                CREATE_TIMEOUT_USEC,
                0,
                create_timed_out,
                op);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(op->timeout_source, "container-create-timeout");
        /* The scope first: systemd's job is the longest step. */
        r = m->ops->helper_spawn(
                op->container,
                &op->helper_pid,
                &op->go_fd,
                &op->status_fd,
                create_helper_exited,
                op,
                &op->helper_call);
        if (r < 0)
                return r;
        r = sd_event_add_io(
                m->event, &op->status_source, op->status_fd, EPOLLIN, create_status_readable, op);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(op->status_source, "container-create-status");
        r = m->ops->scope_start(op->container, op->helper_pid, create_scope_started, op, &op->scope_call);
        if (r < 0)
                return r;
        r = create_start_firewall(op);
        if (r < 0)
                return r;
        if (op->container->userns_uid > 0)
                return 0; /* create_status_line(), at NETNS=1 */
        return create_start_rootfs(op, -EBADF);
}

/* The quota a new container gets: Create's option (LIMIT_CPU_QUOTA_NONE: none), or the configuration's,
 * where "auto" depends on the CPUs wardend may run on. */
static uint64_t create_cpu_quota(Manager *m, uint64_t asked) {
        cpu_set_t set;

        if (asked == LIMIT_CPU_QUOTA_NONE)
                return 0;
        if (asked > 0)
                return asked;
        if (m->config.cpu_quota != LIMIT_CPU_QUOTA_AUTO)
                return m->config.cpu_quota;
        if (sched_getaffinity(0, sizeof(set), &set) < 0)
                return limit_cpu_quota_auto(1);
        return limit_cpu_quota_auto((unsigned) CPU_COUNT(&set));
}

/* Step 1: everything that can be decided at once — the handle, the uid and the /30. */
static int create_allocate(Manager *m, CreateSpec *spec, Container **ret, WardenError *reterr) {
        _cleanup_(container_freep) Container *c = NULL;
        char handle[HANDLE_MAX + 1], host[INET_ADDRSTRLEN], cont[INET_ADDRSTRLEN];
        int r;

        if (spec->handle)
                strncpy(handle, spec->handle, sizeof(handle) - 1), handle[HANDLE_MAX] = '\0';
        else
                do {
                        r = handle_generate(handle, sizeof(handle));
                        if (r < 0)
                                return warden_error_setf(
                                        reterr, WARDEN_ERROR_KIND_FAILED, r, "%s", strerror(-r));
                } while (manager_get_container(m, handle));

        r = container_new(handle, &c);
        if (r < 0)
                return warden_error_setf(reterr, WARDEN_ERROR_KIND_FAILED, r, "%s", strerror(-r));
        c->rootfs = strdup(spec->rootfs_resolved);
        if (asprintf(&c->path, "%s/%s", m->config.depot_path, handle) < 0 || !c->rootfs)
                return warden_error_setf(reterr, WARDEN_ERROR_KIND_FAILED, -ENOMEM, "%s", strerror(ENOMEM));
        c->grace_time = spec->have_grace_time ? spec->grace_time
                                              : (uint32_t) (m->config.grace_time_usec / USEC_PER_SEC);
        c->properties = TAKE_PTR(spec->properties);
        c->env = TAKE_PTR(spec->env);
        c->memory_limit = spec->memory_limit;
        c->cpu_weight = spec->cpu_weight;
        c->cpu_quota = create_cpu_quota(m, spec->cpu_quota);
        c->pids_limit = spec->pids_limit > 0 ? spec->pids_limit : m->config.pids_limit;
        c->disk_limit = spec->disk_limit;
        c->disk_inode_limit = spec->disk_inode_limit;
        c->bandwidth_rate = spec->bandwidth_rate;
        c->bandwidth_burst = spec->bandwidth_burst;
        c->created_usec = now_usec(CLOCK_REALTIME);

        if (spec->have_user_namespace ? spec->user_namespace : m->config.user_namespace) {
                r = manager_allocate_userns(m, c);
                if (r == -ENOSR)
                        return warden_error_setf(
                                reterr,
                                WARDEN_ERROR_KIND_POOL_EXHAUSTED,
                                r,
                                "No user namespace range left in the pool (see userns_uid_count).");
        } else {
                r = id_pool_allocate(m->uids, &c->uid);
                if (r == -ENOSR)
                        return warden_error_setf(
                                reterr,
                                WARDEN_ERROR_KIND_POOL_EXHAUSTED,
                                r,
                                "No uid left in the pool (see uid_count).");
        }
        if (r < 0)
                return warden_error_setf(reterr, WARDEN_ERROR_KIND_FAILED, r, "%s", strerror(-r));

        if (spec->network)
                r = address_pool_reserve(m->addresses, spec->network, &c->net_id);
        else
                r = address_pool_allocate(m->addresses, &c->net_id);
        if (r >= 0) {
                c->has_net = true;
                r = address_pool_addresses(m->addresses, c->net_id, host, cont);
        }
        if (r >= 0) {
                c->host_ip = strdup(host);
                c->container_ip = strdup(cont);
                if (!c->host_ip || !c->container_ip)
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = manager_add_container(m, c);
        if (r < 0) {
                manager_release_container_resources(m, c);
                switch (r) {
                case -EINVAL:
                case -ERANGE:
                        return warden_error_setf(
                                reterr,
                                WARDEN_ERROR_KIND_INVALID_ARGS,
                                r,
                                "Option 'network': '%s' is not an IPv4 address inside the pool.",
                                spec->network);
                case -EADDRINUSE:
                        return warden_error_setf(
                                reterr,
                                WARDEN_ERROR_KIND_POOL_EXHAUSTED,
                                r,
                                "Network '%s' is taken by another container.",
                                spec->network);
                case -ENOSR:
                        return warden_error_setf(
                                reterr,
                                WARDEN_ERROR_KIND_POOL_EXHAUSTED,
                                r,
                                "No network left in the address pool.");
                case -EEXIST:
                        return warden_error_setf(
                                reterr,
                                WARDEN_ERROR_KIND_CONTAINER_EXISTS,
                                r,
                                "Container '%s' exists already.",
                                handle);
                case -EUSERS:
                        return warden_error_setf(
                                reterr,
                                WARDEN_ERROR_KIND_POOL_EXHAUSTED,
                                r,
                                "Too many containers (max_containers=%u).",
                                m->config.max_containers);
                default:
                        return warden_error_setf(reterr, WARDEN_ERROR_KIND_FAILED, r, "%s", strerror(-r));
                }
        }
        *ret = TAKE_PTR(c);
        return 0;
}

int container_create(
        Manager *m,
        CreateSpec *spec,
        container_done_t done,
        void *userdata,
        Container **ret,
        WardenError *reterr) {
        CreateOperation *op;
        Container *c = NULL;
        int r;

        assert(m);
        assert(m->ops);
        assert(spec);
        assert(spec->rootfs_resolved);
        assert(done);

        op = calloc(1, sizeof(CreateOperation));
        if (!op) {
                bind_mounts_free(TAKE_PTR(spec->bind_mounts), spec->n_bind_mounts);
                spec->n_bind_mounts = 0;
                spec->properties = strv_free(spec->properties);
                spec->env = strv_free(spec->env);
                return warden_error_setf(reterr, WARDEN_ERROR_KIND_FAILED, -ENOMEM, "%s", strerror(ENOMEM));
        }
        *op = (CreateOperation){
                .base.type = CONTAINER_OPERATION_CREATE,
                .manager = m,
                .done = done,
                .userdata = userdata,
                .started_usec = now_usec(CLOCK_MONOTONIC),
                .go_fd = -EBADF,
                .status_fd = -EBADF,
                .netns_fd = -EBADF,
                .bind_mounts = TAKE_PTR(spec->bind_mounts),
                .n_bind_mounts = spec->n_bind_mounts,
        };
        op->base.create = op;
        spec->n_bind_mounts = 0;

        r = create_allocate(m, spec, &c, reterr);
        spec->properties = strv_free(spec->properties);
        spec->env = strv_free(spec->env);
        if (r < 0) {
                create_operation_free(op);
                return r;
        }
        op->container = c;
        operation_begin(c, &op->base);
        if (ret)
                *ret = c;

        /* Recorded before anything exists outside: a wardend that dies from here on finds a "born" container
         * at its next start and cleans up whatever this one left. */
        r = container_save(c);
        if (r < 0) {
                create_failf(op, WARDEN_ERROR_KIND_FAILED, r, "Failed to write the state file: %m");
                return 0;
        }
        r = create_start(op);
        if (r < 0)
                create_failf(op, WARDEN_ERROR_KIND_FAILED, r, "Failed to start creating the container: %m");
        return 0;
}

/* ---- stop ---------------------------------------------------------------------------------------- */

static void stop_operation_free(StopOperation *op) {
        if (!op)
                return;
        if (op->container && op->container->operation == &op->base)
                op->container->operation = NULL;
        container_op_call_free(op->call);
        free(op);
}

static void stop_done(int result, const WardenError *error, void *userdata) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        StopOperation *op = userdata;
        Container *c = op->container;
        Manager *m = c->manager;
        container_done_t done = op->done;
        void *done_userdata = op->userdata;

        op->call = NULL;
        operation_end(m, c, &op->base);
        stop_operation_free(op);

        if (result < 0)
                (void) warden_error_setf(
                        &e,
                        WARDEN_ERROR_KIND_FAILED,
                        result,
                        "Failed to stop the processes of '%s': %m",
                        c->handle);
        else {
                container_set_state(c, CONTAINER_STOPPED);
                log_container_info(c, "Container '%s' stopped.", c->handle);
        }
        if (done)
                done(c, result < 0 ? &e : NULL, done_userdata);

        /* wshd may have died while we waited: now that the stop is over, the GC looks */
        manager_enqueue_gc(m, c);
}

int container_stop(Container *c, bool kill_now, container_done_t done, void *userdata, WardenError *reterr) {
        Manager *m;
        StopOperation *op;
        int r;

        assert(c);
        assert(c->manager);

        m = c->manager;
        if (c->operation || !IN_SET(c->state, CONTAINER_ACTIVE, CONTAINER_STOPPED))
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_STATE,
                        -EBADFD,
                        "Container '%s' is %s.",
                        c->handle,
                        container_get_state(c));

        op = calloc(1, sizeof(StopOperation));
        if (!op)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_FAILED,
                        -ENOMEM,
                        "Failed to reach wshd of '%s': %m",
                        c->handle);
        op->base = (ContainerOperation){ .type = CONTAINER_OPERATION_STOP, .stop = op };
        op->container = c;
        op->done = done;
        op->userdata = userdata;
        r = m->ops->wshd_stop(c, kill_now ? 0 : m->config.stop_timeout_usec, stop_done, op, &op->call);
        if (r < 0) {
                stop_operation_free(op);
                return warden_error_setf(
                        reterr, WARDEN_ERROR_KIND_FAILED, r, "Failed to reach wshd of '%s': %m", c->handle);
        }
        operation_begin(c, &op->base);
        return 0;
}

/* ---- operations of other parts (limits) ----------------------------------------------------------- */

int container_check_idle(Container *c, WardenError *reterr) {
        assert(c);

        if (!c->operation)
                return 0;
        return warden_error_setf(
                reterr,
                WARDEN_ERROR_KIND_INVALID_STATE,
                -EBADFD,
                "Container '%s' is %s.",
                c->handle,
                container_busy_reason(c));
}

void container_hold(Container *c) {
        assert(c);
        operation_begin(c, &limit_operation);
}

bool container_is_held(const Container *c) {
        assert(c);
        return c->operation == &limit_operation;
}

bool container_release(Container *c) {
        assert(c);
        assert(c->operation == &limit_operation);

        operation_end(c->manager, c, &limit_operation);
        /* wshd died meanwhile (leader_exited() left it to the GC) */
        if (!c->leader_source && c->state != CONTAINER_DESTROYED) {
                manager_enqueue_gc(c->manager, c);
                return false;
        }
        /* the grace time may have run out meanwhile (grace_expired() left it to the next reference) */
        if (!container_is_referenced(c))
                container_arm_grace(c);
        /* an OOM came while it was held (container-oom.h) */
        if (c->oom_pending) {
                c->oom_pending = false;
                container_oom(c);
        }
        return true;
}

/* ---- destroy ------------------------------------------------------------------------------------- */

int container_destroy(Container *c, container_done_t done, void *userdata, WardenError *reterr) {
        assert(c);
        assert(c->manager);

        if (c->operation)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_STATE,
                        -EBADFD,
                        "Container '%s' is %s.",
                        c->handle,
                        container_busy_reason(c));
        log_container_info(c, "Destroying container '%s'.", c->handle);
        container_teardown(c, done, userdata, NULL, true, true);
        return 0;
}

/* ---- re-adoption --------------------------------------------------------------------------------- */

static void adopt_cleanup(Container *c, const char *why) {
        log_container_event(
                c,
                LOG_WARNING,
                SYNTHETIC_ERRNO(ESRCH),
                WARDEN_MESSAGE_CONTAINER_LOST,
                "Container '%s': %s; cleaning it up.",
                c->handle,
                why);
        container_teardown(c, NULL, NULL, NULL, true, true);
}

/* Directories in the depot that no container owns: left by a wardend that died in the middle of a Create
 * before it wrote the state file (it writes it first), or by a failed cleanup. */
static void adopt_orphan_dirs(Manager *m) {
        _cleanup_strv_free_ char **dirs = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        d = opendir(m->config.depot_path);
        if (!d)
                return;
        while ((de = readdir(d))) {
                char *p;

                if (de->d_name[0] == '.' || manager_get_container(m, de->d_name))
                        continue;
                if (asprintf(&p, "%s/%s", m->config.depot_path, de->d_name) < 0 ||
                    strv_consume(&dirs, p) < 0)
                        return;
                log_warning("Removing '%s', which belongs to no known container.", p);
        }
        if (dirs)
                m->ops->remove_orphans(m, TAKE_PTR(dirs));
}

void container_adopt_all(Manager *m) {
        Container *c;
        int r;

        assert(m);
        assert(m->ops);

        /* first the rules of every container in force again, then the dead ones cleaned up */
        if (m->ops->firewall_adopt)
                m->ops->firewall_adopt(m);
        HASHMAP_FOREACH(c, m->containers) {
                if (c->state == CONTAINER_BORN) {
                        adopt_cleanup(c, "wardend stopped while creating it");
                        continue;
                }
                if (c->state == CONTAINER_DESTROYED) {
                        adopt_cleanup(c, "wardend stopped while destroying it");
                        continue;
                }
                if (!m->ops->leader_is_alive(c)) {
                        adopt_cleanup(c, "its wshd is gone");
                        continue;
                }
                r = container_watch_leader(c);
                if (r < 0) {
                        adopt_cleanup(c, "its wshd cannot be watched");
                        continue;
                }
                if (m->ops->jobs_adopt)
                        (void) m->ops->jobs_adopt(c); /* logs; Spawn refuses without it */
                container_arm_grace(c);
                if (m->ops->limits_adopt)
                        m->ops->limits_adopt(c);
        }

        adopt_orphan_dirs(m);
}
