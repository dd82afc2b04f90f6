/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <sched.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/nsfs.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-call-out.h"
#include "bus-calls.h"
#include "bus-clients.h"
#include "bus-container.h"
#include "bus-copy.h"
#include "bus-error.h"
#include "bandwidth.h"
#include "bus-job.h"
#include "bus-lifecycle.h"
#include "bus-limits.h"
#include "bus-net.h"
#include "bus-polkit.h"
#include "bus-read.h"
#include "bus-systemd.h"
#include "bus-util.h"
#include "cgroup-util.h"
#include "fileio.h"
#include "handle.h"
#include "host-path.h"
#include "limit-check.h"
#include "log.h"
#include "network.h"
#include "parse-util.h"
#include "path-util.h"
#include "rootfs.h"
#include "strv.h"
#include "warden-messages.h"
#include "worker.h"
#include "wshd-client.h"

#define WSHD_PATH LIBEXECDIR "/wshd"
#define CREATE_TIMEOUT_USEC (120 * USEC_PER_SEC)
#define HELLO_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define STATUS_MAX 1024

typedef enum OperationType {
        OPERATION_CREATE,
        OPERATION_STOP,
        OPERATION_TEARDOWN,
        OPERATION_LIMIT, /* held by src/bus/bus-limits.c */
} OperationType;

static const char *const operation_names[] = {
        [OPERATION_CREATE] = "being created",
        [OPERATION_STOP] = "being stopped",
        [OPERATION_TEARDOWN] = "being destroyed",
        [OPERATION_LIMIT] = "being changed",
};

typedef struct CreateOperation CreateOperation;
struct CreateOperation {
        OperationType type;
        Manager *manager;
        Container *container;
        sd_bus_message *request;
        uint64_t started_usec;

        BindMount *bind_mounts;
        size_t n_bind_mounts;

        sd_event_source *timeout_source;
        Worker *rootfs_worker;
        Worker *network_worker;
        SystemdJob *job;
        WshdCall *call;
        FirewallJob *firewall_job; /* the container's nft objects (bus-net.h) */

        pid_t helper_pid;
        sd_event_source *helper_source; /* reaps the helper */
        int go_fd;                      /* write 'G' to release the helper into its scope */
        int status_fd;
        sd_event_source *status_source;
        char status[STATUS_MAX];
        size_t status_size;

        int netns_fd;
        NetworkConfig network;
        bool rootfs_done;
        bool scope_started;
        bool network_started;
        bool ready;
        bool hello_done;
        bool network_done;
        bool firewall_done;
        bool bandwidth_done;
        bool failing;
        sd_bus_error failure;
};

typedef struct StopOperation {
        OperationType type;
        Container *container;
        sd_bus_message *request; /* NULL for a stop of our own (bus_lifecycle_stop()) */
        WshdCall *call;
        void (*done)(Container *c, int error, void *userdata);
        void *userdata;
} StopOperation;

typedef struct TeardownOperation {
        OperationType type;
        Manager *manager;
        Container *container;
        sd_bus_message *request;       /* Destroy: answered at the end; NULL otherwise */
        sd_bus_message *failed_create; /* a failed Create: answered with 'error' at the end */
        sd_bus_error error;
        bool stop_unit;
        bool announce; /* emit ContainerDestroyed */
        SystemdJob *job;
        Worker *rootfs_worker;
        FirewallJob *firewall_job; /* removing its nft objects (bus-net.h) */
        char *path;
        char host_ifname[NETWORK_IFNAME_MAX];
        uint64_t started_usec;
} TeardownOperation;

static void container_teardown(
                Container *c,
                sd_bus_message *request,
                sd_bus_message *failed_create,
                const sd_bus_error *error,
                bool stop_unit,
                bool delete_link);

static const char *container_busy_reason(const Container *c) {
        const OperationType *t = c->operation;

        return t ? operation_names[*t] : NULL;
}

const char *bus_lifecycle_busy_reason(const Container *c) {
        return container_busy_reason(c);
}

/* Debug log of each step's time since the start of its operation (the steps overlap), as "step NAME took
 * Nus", which bench/run collects. */
static void log_step(const char *handle, const char *step, uint64_t started_usec) {
        log_full_errno_container(
                        LOG_DEBUG,
                        0,
                        handle,
                        "Container '%s': step %s took %lluus.",
                        handle,
                        step,
                        (unsigned long long) (now_usec(CLOCK_MONOTONIC) - started_usec));
}

static void container_emit_changed(Container *c, const char *property, ...) {
        _cleanup_free_ char *path = NULL;
        Manager *m = c->manager;

        if (!m || !m->bus || container_bus_path(c, &path) < 0)
                return;
        (void) sd_bus_emit_properties_changed(m->bus, path, WARDEN_CONTAINER_INTERFACE, property, NULL);
}

static void container_set_state(Container *c, ContainerState state) {
        int r;

        if (c->state == state)
                return;
        c->state = state;
        r = container_save(c);
        if (r < 0)
                log_full_errno_container(
                                LOG_WARNING,
                                r,
                                c->handle,
                                "Failed to save the state of '%s': %m",
                                c->handle);
        container_emit_changed(c, "State");
}

/* ---- grace time ---------------------------------------------------------------------------------- */

static int grace_expired(sd_event_source *s, uint64_t usec, void *userdata) {
        Container *c = userdata;

        c->grace_source = sd_event_source_disable_unref(c->grace_source);
        if (c->operation)
                return 0; /* being destroyed or changed already; the next reference decides */
        log_full_errno_container(
                        LOG_INFO,
                        0,
                        c->handle,
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
        if (r < 0)
                log_full_errno_container(
                                LOG_WARNING,
                                r,
                                c->handle,
                                "Failed to start the grace timer of '%s': %m",
                                c->handle);
        else
                log_full_errno_container(
                                LOG_DEBUG,
                                0,
                                c->handle,
                                "Grace timer of '%s' started (%us).",
                                c->handle,
                                c->grace_time);
}

void bus_lifecycle_unreferenced(Container *c) {
        container_arm_grace(c);
}

void bus_lifecycle_reference(Container *c, sd_bus_message *m) {
        int r;

        if (!c->manager || !c->manager->bus || c->state == CONTAINER_DESTROYED)
                return;
        r = bus_clients_reference(c, m);
        if (r < 0)
                log_full_errno_container(
                                LOG_WARNING,
                                r,
                                c->handle,
                                "Failed to reference container '%s' for its caller: %m",
                                c->handle);
        else if (bus_clients_referenced(c))
                c->grace_source = sd_event_source_disable_unref(c->grace_source);
}

/* ---- wshd watch ---------------------------------------------------------------------------------- */

static int leader_exited(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Container *c = userdata;

        c->leader_source = sd_event_source_disable_unref(c->leader_source);
        if (c->operation && *(OperationType *) c->operation == OPERATION_TEARDOWN)
                return 0; /* expected */

        log_event(LOG_WARNING,
                  SYNTHETIC_ERRNO(ESRCH),
                  c->handle,
                  WARDEN_MESSAGE_CONTAINER_LOST,
                  "Container '%s': its wshd (PID %i) exited, cleaning the container up.",
                  c->handle,
                  (int) c->leader_pid);
        if (c->operation)
                /* a Stop in flight learns it from its wshd call failing; tear down once it is over */
                return 0;
        container_teardown(c, NULL, NULL, NULL, true, true);
        return 0;
}

static bool leader_is_alive(const Container *c);

static int pidfd_open_pid(pid_t pid) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);

        return fd < 0 ? -errno : fd;
}

static int container_watch_leader(Container *c) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = pidfd_open_pid(c->leader_pid);
        if (fd < 0)
                return fd;
        r = sd_event_add_io(c->manager->event, &c->leader_source, fd, EPOLLIN, leader_exited, c);
        if (r < 0)
                return r;
        r = sd_event_source_set_io_fd_own(c->leader_source, true);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        return 0;
}

/* ---- veths being deleted -------------------------------------------------------------------------- */

/*
 * Deleting a veth makes the kernel wait for RCU grace periods (~25 ms here): that is the slowest part of a
 * teardown and it is kept off the caller's path. Destroy answers once the container's processes, scope and
 * files are gone and its /30 is free again; the link is deleted meanwhile by a worker (and would go with
 * the container's network namespace anyway). A Create that gets the same /30 before that has finished waits
 * for it before it builds its own veth of the same name. Manager.links_deleting: host ifname → LinkDeletion.
 */
static void create_network_go(CreateOperation *op);

typedef struct LinkDeletion {
        Manager *manager;
        char ifname[NETWORK_IFNAME_MAX];
        Worker *worker;
        CreateOperation **waiters;
        size_t n_waiters;
} LinkDeletion;

static int link_deletion_work(void *data) {
        const char *ifname = data;
        int r, q;

        r = network_teardown(ifname);
        if (r < 0)
                log_warning_errno(r, "Failed to delete link '%s': %m", ifname);
        /* and the ifb of its bandwidth limit, if it had one */
        q = bandwidth_teardown(ifname);
        if (q < 0)
                log_warning_errno(q, "Failed to delete the ifb of link '%s': %m", ifname);
        return r < 0 ? r : q;
}

static void link_deletion_done(Worker *w, int result, void *userdata) {
        LinkDeletion *ld = userdata;
        Manager *m = ld->manager;

        worker_free(ld->worker);
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

        if (hashmap_get(m->links_deleting, ifname))
                return;
        ld = calloc(1, sizeof(LinkDeletion));
        if (!ld) {
                log_oom();
                return;
        }
        ld->manager = m;
        if (strlen(ifname) >= sizeof(ld->ifname)) {
                free(ld);
                return;
        }
        strcpy(ld->ifname, ifname);
        r =
                        worker_start(m->event,
                                     "warden-network",
                                     link_deletion_work,
                                     strdup(ld->ifname),
                                     free,
                                     link_deletion_done,
                                     ld,
                                     &ld->worker);
        if (r >= 0)
                r = hashmap_put(m->links_deleting, ld->ifname, ld);
        if (r < 0) {
                log_error_errno(r, "Failed to start deleting link %s: %m", ifname);
                worker_free(ld->worker);
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

/* SIGKILL to wshd: as the init of the container's PID namespace takes every process of it along. Through
 * the pidfd we hold, or one opened after checking that the PID is still wshd in its scope. */
static void container_kill_leader(Container *c) {
        _cleanup_close_ int fd = -EBADF;
        int pidfd = -EBADF;

        if (c->leader_source)
                pidfd = sd_event_source_get_io_fd(c->leader_source);
        else if (c->leader_pid > 0 && leader_is_alive(c)) {
                fd = pidfd_open_pid(c->leader_pid);
                pidfd = fd;
        }
        if (pidfd < 0)
                return;
        if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
                log_full_errno_container(
                                LOG_WARNING, errno, c->handle, "Failed to kill wshd of '%s': %m", c->handle);
}

static void teardown_operation_free(TeardownOperation *op) {
        if (!op)
                return;
        if (op->container && op->container->operation == op)
                op->container->operation = NULL;
        bus_systemd_job_free(op->job);
        worker_free(op->rootfs_worker);
        firewall_job_cancel(op->firewall_job);
        bus_call_release(op->manager, op->request);
        bus_call_release(op->manager, op->failed_create);
        sd_bus_error_free(&op->error);
        free(op->path);
        free(op);
}

static void teardown_finish(TeardownOperation *op) {
        Manager *m = op->manager;
        Container *c = op->container;
        _cleanup_free_ char *handle = strdup(c->handle);
        int r;

        log_step(c->handle, "destroy.total", op->started_usec);
        manager_release_container_resources(m, c);
        r = container_remove_state(c);
        if (r < 0)
                log_full_errno_container(
                                LOG_WARNING,
                                r,
                                c->handle,
                                "Failed to remove the state file of '%s': %m",
                                c->handle);

        c->state = CONTAINER_DESTROYED;
        container_emit_changed(c, "State");
        op->container = NULL;
        c->operation = NULL;
        container_free(c); /* unregisters it: Containers changes */

        if (op->announce && handle && m->bus)
                (void) sd_bus_emit_signal(
                                m->bus,
                                WARDEN_MANAGER_PATH,
                                WARDEN_MANAGER_INTERFACE,
                                "ContainerDestroyed",
                                "s",
                                handle);
        log_event(LOG_INFO,
                  0,
                  handle,
                  WARDEN_MESSAGE_CONTAINER_DESTROYED,
                  "Container '%s' destroyed.",
                  strna(handle));

        if (op->request)
                (void) sd_bus_reply_method_return(op->request, NULL);
        if (op->failed_create)
                (void) sd_bus_reply_method_error(op->failed_create, &op->error);
        assert(m->n_operations > 0);
        m->n_operations--;
        teardown_operation_free(op);
}

/*
 * wshd is killed (and with it every process of the container), the scope is stopped and the root file system
 * is detached and removed (a worker thread), side by side; Destroy answers when all of that is done. The
 * veth is deleted meanwhile, off the caller's path (see "veths being deleted").
 */
static int teardown_rootfs_work(void *data) {
        const char *path = data;
        int r;

        /* The container's processes were sent SIGKILL when this started; one that is still dying might
         * create a file under our feet: try again for a while. */
        for (unsigned i = 0;; i++) {
                r = rootfs_teardown(path);
                if (!IN_SET(r, -ENOTEMPTY, -EBUSY) || i >= 100)
                        break;
                (void) usleep(10 * USEC_PER_MSEC);
        }
        if (r < 0)
                log_warning_errno(r, "Failed to remove '%s': %m", path);
        return r;
}

static void teardown_maybe_finish(TeardownOperation *op) {
        if (op->job || op->rootfs_worker || op->firewall_job)
                return;
        teardown_finish(op);
}

/* ---- teardown: the container's nft objects (bus-net.h) ---- */

static void teardown_firewall_done(int result, const char *message, void *userdata) {
        TeardownOperation *op = userdata;

        op->firewall_job = NULL;
        log_step(op->container->handle, "destroy.firewall", op->started_usec);
        if (result < 0)
                log_full_errno_container(
                                LOG_WARNING,
                                result,
                                op->container->handle,
                                "Failed to remove the nft rules of container '%s': %s",
                                op->container->handle,
                                message ?: strerror(-result));
        teardown_maybe_finish(op);
}

static void teardown_start_firewall(TeardownOperation *op) {
        int r;

        r = bus_net_container_remove(op->container, teardown_firewall_done, op, &op->firewall_job);
        if (r < 0)
                log_full_errno_container(
                                LOG_WARNING,
                                r,
                                op->container->handle,
                                "Failed to remove the nft rules of container '%s': %m",
                                op->container->handle);
}
/* ---- end of the firewall step ---- */

static void teardown_worker_done(Worker *w, int result, void *userdata) {
        TeardownOperation *op = userdata;

        op->rootfs_worker = worker_free(op->rootfs_worker);
        log_step(op->container->handle, "destroy.rootfs", op->started_usec);
        if (result < 0)
                log_full_errno_container(
                                LOG_ERR,
                                result,
                                op->container->handle,
                                "Cleaning up the root file system of container '%s' was incomplete: %m",
                                op->container->handle);
        teardown_maybe_finish(op);
}

static void teardown_start_rootfs(TeardownOperation *op) {
        int r;

        if (!op->path) {
                teardown_maybe_finish(op);
                return;
        }
        r =
                        worker_start(op->manager->event,
                                     "warden-rootfs",
                                     teardown_rootfs_work,
                                     strdup(op->path),
                                     free,
                                     teardown_worker_done,
                                     op,
                                     &op->rootfs_worker);
        if (r < 0) {
                log_full_errno_container(
                                LOG_ERR, r, op->container->handle, "Failed to start the cleanup worker: %m");
                teardown_maybe_finish(op);
        }
}

static void
teardown_unit_stopped(Manager *m, const char *result, const sd_bus_error *error, void *userdata) {
        TeardownOperation *op = userdata;

        op->job = NULL;
        log_step(op->container->handle, "destroy.unit", op->started_usec);
        if (!result)
                log_full_errno_container(
                                LOG_WARNING,
                                0,
                                op->container->handle,
                                "Failed to stop %s: %s",
                                op->container->unit,
                                error && error->message ? error->message : "unknown error");
        else if (!streq(result, "done"))
                log_full_errno_container(
                                LOG_WARNING,
                                0,
                                op->container->handle,
                                "Stopping %s finished with '%s'.",
                                op->container->unit,
                                result);
        teardown_maybe_finish(op);
}

/* After the veth: kill wshd (and with it every process), stop the scope and remove the root file system,
 * side by side. */
static void teardown_stop(TeardownOperation *op) {
        Container *c = op->container;
        int r;

        container_kill_leader(c);
        if (op->stop_unit && c->unit) {
                r = bus_systemd_stop_unit(op->manager, c->unit, teardown_unit_stopped, op, &op->job);
                if (r < 0)
                        log_full_errno_container(
                                        LOG_WARNING, r, c->handle, "Failed to stop %s: %m", c->unit);
        }
        teardown_start_rootfs(op);
}

/*
 * Tears c down completely. 'request' (Destroy) is answered with success at the end, 'failed_create' with
 * 'error'. The container must not have another operation in flight.
 */
static void container_teardown(
                Container *c,
                sd_bus_message *request,
                sd_bus_message *failed_create,
                const sd_bus_error *error,
                bool stop_unit,
                bool delete_link) {
        Manager *m = c->manager;
        TeardownOperation *op;

        assert(m);
        assert(!c->operation);

        bus_copy_cancel(c); /* before the root goes away under them */
        /* Waiters of jobs get their answer now: nothing of the container will report anything any more. */
        bus_job_container_teardown(c);

        op = calloc(1, sizeof(TeardownOperation));
        if (!op) {
                log_oom();
                if (request)
                        (void) sd_bus_reply_method_errno(request, ENOMEM, NULL);
                if (failed_create)
                        (void) sd_bus_reply_method_error(failed_create, error);
                return;
        }
        op->type = OPERATION_TEARDOWN;
        op->started_usec = now_usec(CLOCK_MONOTONIC);
        op->manager = m;
        op->container = c;
        op->request = bus_call_hold(m, request);
        op->failed_create = bus_call_hold(m, failed_create);
        if (error)
                (void) sd_bus_error_copy(&op->error, error);
        op->stop_unit = stop_unit;
        op->announce = !failed_create && c->state != CONTAINER_BORN;
        op->path = c->path ? strdup(c->path) : NULL;
        /* A Create that failed before its veth existed must not delete a link of that name: it is someone
         * else's (that is why it failed). */
        if (c->has_net && delete_link) {
                NetworkConfig n = {};

                if (network_ifnames(c->net_id, &n) >= 0)
                        memcpy(op->host_ifname, n.host_ifname, sizeof(op->host_ifname));
        }
        c->operation = op;
        m->n_operations++;
        c->grace_source = sd_event_source_disable_unref(c->grace_source);
        bus_clients_forget(c);
        bus_limits_forget(c);

        if (op->host_ifname[0])
                link_deletion_start(m, op->host_ifname);
        teardown_start_firewall(op);
        teardown_stop(op);
}

/* ---- create: options ----------------------------------------------------------------------------- */

typedef struct CreateOptions {
        const char *handle;
        const char *rootfs;
        BindMount *bind_mounts;
        size_t n_bind_mounts;
        uint32_t grace_time;
        bool have_grace_time;
        const char *network;
        char **properties;
        char **env;
        uint64_t memory_limit;
        uint64_t cpu_weight;
        uint64_t cpu_quota;
        uint64_t pids_limit;
        uint64_t disk_limit;
        uint64_t disk_inode_limit;
        uint64_t bandwidth_rate;
        uint64_t bandwidth_burst;
        bool user_namespace;
        bool have_user_namespace;

        /* found by check_create_options() */
        char *rootfs_resolved; /* the rootfs, symlinks resolved: what is mounted */
        bool needs_host_paths; /* a bind mount source or the rootfs is outside wardend's allow-lists */
} CreateOptions;

static void create_options_done(CreateOptions *o) {
        free(o->rootfs_resolved);
        bind_mounts_free(o->bind_mounts, o->n_bind_mounts);
        strv_free(o->properties);
        strv_free(o->env);
}

#define BIND_MOUNTS_MAX 256U

static int read_bind_mounts(sd_bus_message *m, CreateOptions *o, sd_bus_error *error) {
        const char *src, *dst;
        int ro, r;

        r = sd_bus_message_enter_container(m, 'a', "(ssb)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(ssb)", &src, &dst, &ro)) > 0) {
                BindMount *b;

                /* each is checked (stat()) on the event loop and mounted by the rootfs worker */
                if (o->n_bind_mounts >= BIND_MOUNTS_MAX)
                        return sd_bus_error_setf(
                                        error,
                                        SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'bind_mounts' has more than %u entries.",
                                        BIND_MOUNTS_MAX);

                b = reallocarray(o->bind_mounts, o->n_bind_mounts + 1, sizeof(BindMount));
                if (!b)
                        return -ENOMEM;
                o->bind_mounts = b;
                b = &o->bind_mounts[o->n_bind_mounts];
                *b = (BindMount){ .source = strdup(src), .destination = strdup(dst), .read_only = ro };
                o->n_bind_mounts++;
                if (!b->source || !b->destination)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_env(sd_bus_message *m, CreateOptions *o, sd_bus_error *error) {
        /* the container's env is part of every job's, which wshd takes up to WSHD_ARGV_MAX entries of */
        return bus_message_read_env(m, WSHD_ARGV_MAX, &o->env, error);
}

static const BusOptionSpec create_option_specs[] = {
        { "handle", "s" },
        { "rootfs", "s" },
        { "bind_mounts", "a(ssb)" },
        { "grace_time", "u" },
        { "network", "s" },
        { "properties", "a{ss}" },
        { "env", "as" },
        { "memory_limit", "t" },
        { "cpu_weight", "t" },
        { "pids_limit", "t" },
        { "disk_limit", "t" },
        { "bandwidth", "(tt)" },
        { "disk_inode_limit", "t" },
        { "user_namespace", "b" },
        { "cpu_quota", "t" },
};
_Static_assert(ELEMENTSOF(create_option_specs) <= 32, "read_create_options() keeps a uint32_t of them");

static int read_create_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error) {
        CreateOptions *o = userdata;
        if (streq(key, "handle"))
                return sd_bus_message_read(m, "s", &o->handle);
        if (streq(key, "rootfs"))
                return sd_bus_message_read(m, "s", &o->rootfs);
        if (streq(key, "bind_mounts"))
                return read_bind_mounts(m, o, error);
        if (streq(key, "grace_time")) {
                o->have_grace_time = true;
                return sd_bus_message_read(m, "u", &o->grace_time);
        }
        if (streq(key, "network"))
                return sd_bus_message_read(m, "s", &o->network);
        if (streq(key, "properties")) {
                int r = bus_message_read_string_pairs(m, &o->properties);

                if (r == -EINVAL)
                        return sd_bus_error_set(
                                        error,
                                        SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'properties': duplicate key.");
                if (r == -E2BIG)
                        return sd_bus_error_setf(
                                        error,
                                        SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'properties' has more than %u entries.",
                                        BUS_STRING_PAIRS_MAX);
                return r;
        }
        if (streq(key, "env"))
                return read_env(m, o, error);
        if (streq(key, "memory_limit"))
                return sd_bus_message_read(m, "t", &o->memory_limit);
        if (streq(key, "cpu_weight"))
                return sd_bus_message_read(m, "t", &o->cpu_weight);
        if (streq(key, "cpu_quota"))
                return sd_bus_message_read(m, "t", &o->cpu_quota);
        if (streq(key, "pids_limit"))
                return sd_bus_message_read(m, "t", &o->pids_limit);
        if (streq(key, "disk_limit"))
                return sd_bus_message_read(m, "t", &o->disk_limit);
        if (streq(key, "disk_inode_limit"))
                return sd_bus_message_read(m, "t", &o->disk_inode_limit);
        if (streq(key, "bandwidth"))
                return sd_bus_message_read(m, "(tt)", &o->bandwidth_rate, &o->bandwidth_burst);
        if (streq(key, "user_namespace")) {
                int b = 0, r;

                r = sd_bus_message_read(m, "b", &b);
                o->user_namespace = b;
                o->have_user_namespace = true;
                return r;
        }
        assert_not_reached();
}

static int read_create_options(sd_bus_message *m, CreateOptions *o, sd_bus_error *error) {
        return bus_message_read_options(
                        m,
                        NULL,
                        create_option_specs,
                        ELEMENTSOF(create_option_specs),
                        read_create_option,
                        o,
                        error);
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

/* 0 if this kernel lets us make user namespaces; cheap (two files of /proc). */
static int userns_supported(void) {
        _cleanup_free_ char *max = NULL;
        uint32_t n;
        int r;

        if (access("/proc/self/ns/user", F_OK) < 0)
                return -errno;
        r = read_full_file("/proc/sys/user/max_user_namespaces", 64, &max, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        max[strcspn(max, "\n")] = '\0';
        if (parse_uint32(max, &n) >= 0 && n == 0)
                return -ENOSPC;
        return 0;
}

/* Neither the path given nor what it resolves to may be a tree that is never mounted (host-path.h). */
static int
check_mountable(const char *option,
                const char *given,
                const char *resolved,
                char *const *state_trees,
                sd_bus_error *error) {
        HostPathRefusal h;
        const char *which = given;
        int r;

        r = host_path_check_mountable(given, state_trees, &h);
        if (r == -EPERM)
                which = NULL;
        else if (resolved && !streq(resolved, given)) {
                r = host_path_check_mountable(resolved, state_trees, &h);
                which = resolved;
        }
        if (r == -EPERM)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option '%s': '%s'%s%s%s %s %s: %s are never mounted into a container.",
                                option,
                                given,
                                which ? " (resolved: '" : "",
                                strempty(which),
                                which ? "')" : "",
                                h.contains ? "contains" : "is or is in",
                                h.tree,
                                h.rule);
        if (r < 0)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option '%s': '%s' resolves to '%s', which is not a normalised path.",
                                option,
                                given,
                                strna(resolved));
        return 0;
}

/* The source is opened here, once: the checks are about the object opened, and that is what the rootfs
 * worker mounts (BindMount.source_fd), whatever the path names by then. */
static int
check_bind_mount_source(Manager *manager, BindMount *b, char *const *state_trees, sd_bus_error *error) {
        _cleanup_strv_free_ char **allowed = NULL;
        _cleanup_free_ char *real = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = check_mountable("bind_mounts", b->source, NULL, state_trees, error);
        if (r < 0)
                return r;
        fd = host_path_open(b->source, 0, &real);
        if (IN_SET(fd, -ENOENT, -ENOTDIR, -ESTALE))
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_BIND_MOUNT_SOURCE,
                                "Bind mount source '%s' does not exist.",
                                b->source);
        if (fd < 0)
                return sd_bus_error_set_errnof(
                                error, fd, "Failed to open bind mount source '%s': %m", b->source);
        r = check_mountable("bind_mounts", b->source, real, state_trees, error);
        if (r < 0)
                return r;

        r = host_path_resolve_dirs(manager->config.bind_sources, NULL, &allowed);
        if (r < 0)
                return r;
        b->source_fd = TAKE_FD(fd);
        b->has_source_fd = true;
        return !host_path_in_dirs(real, allowed);
}

/* The rootfs must be a directory, mountable, and a path the overlay's options can carry also once resolved;
 * outside the default rootfs and rootfs_directories it needs host-path authority (returns 1). The resolved
 * path is what the container gets. */
static int check_rootfs(Manager *manager, CreateOptions *o, char *const *state_trees, sd_bus_error *error) {
        const char *rootfs = o->rootfs ?: manager->config.default_rootfs;
        _cleanup_strv_free_ char **allowed = NULL;
        _cleanup_free_ char *real = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        /* first, so that "/" and the like are refused by the rule that names them */
        if (path_is_normalized(rootfs) > 0) {
                r = check_mountable("rootfs", rootfs, NULL, state_trees, error);
                if (r < 0)
                        return r;
        }
        r = rootfs_check(rootfs);
        if (r == -ENOMEDIUM)
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_ROOTFS_NOT_FOUND,
                                "Root file system '%s' does not exist or is not a directory%s.",
                                rootfs,
                                o->rootfs ? "" : " (build the default one with warden-mkrootfs)");
        if (r < 0)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'rootfs': '%s' is not an absolute, normalised path to a directory "
                                "other than '/'.",
                                rootfs);
        fd = host_path_open(rootfs, O_DIRECTORY, &real);
        if (IN_SET(fd, -ENOENT, -ENOTDIR, -ESTALE))
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_ROOTFS_NOT_FOUND,
                                "Root file system '%s' does not exist or is not a directory.",
                                rootfs);
        if (fd < 0)
                return sd_bus_error_set_errnof(
                                error, fd, "Failed to open root file system '%s': %m", rootfs);
        r = check_mountable("rootfs", rootfs, real, state_trees, error);
        if (r < 0)
                return r;
        if (rootfs_check(real) < 0)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'rootfs': '%s' resolves to '%s', which the overlay's options cannot "
                                "carry.",
                                rootfs,
                                real);

        r = host_path_resolve_dirs(
                        manager->config.rootfs_directories, manager->config.default_rootfs, &allowed);
        if (r < 0)
                return r;
        free(o->rootfs_resolved);
        o->rootfs_resolved = TAKE_PTR(real);
        return !host_path_in_dirs(o->rootfs_resolved, allowed);
}

static int check_create_options(Manager *manager, CreateOptions *o, sd_bus_error *error) {
        _cleanup_strv_free_ char **state_trees = NULL;
        int r;

        if (o->handle && !handle_is_valid(o->handle))
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_INVALID_HANDLE,
                                "Invalid container handle '%s': a handle has 1 to %i characters of "
                                "[A-Za-z0-9_.-] and "
                                "does not start with '.' or '-'.",
                                o->handle,
                                HANDLE_MAX);
        if (o->handle && manager_get_container(manager, o->handle))
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_CONTAINER_EXISTS,
                                "Container '%s' exists already.",
                                o->handle);

        r = manager_state_trees(manager, &state_trees);
        if (r < 0)
                return r;
        r = check_rootfs(manager, o, state_trees, error);
        if (r < 0)
                return r;
        if (r > 0)
                o->needs_host_paths = true;

        FOREACH_ARRAY(b, o->bind_mounts, o->n_bind_mounts) {
                _cleanup_free_ char *msg = NULL;

                r = bind_mount_check(b, &msg);
                if (r == -EMEDIUMTYPE)
                        return sd_bus_error_setf(
                                        error,
                                        WARDEN_ERROR_BIND_MOUNT_SOURCE,
                                        "Bind mount source '%s' does not exist.",
                                        b->source);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return sd_bus_error_setf(
                                        error,
                                        SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'bind_mounts': %s",
                                        msg ?: "invalid bind mount.");
                r = check_bind_mount_source(manager, b, state_trees, error);
                if (r < 0)
                        return r;
                if (r > 0)
                        o->needs_host_paths = true;
        }

        if (o->have_user_namespace ? o->user_namespace : manager->config.user_namespace) {
                r = userns_supported();
                if (r < 0)
                        return sd_bus_error_setf(
                                        error,
                                        SD_BUS_ERROR_NOT_SUPPORTED,
                                        "Option 'user_namespace': this kernel has no user namespaces or "
                                        "allows none (user.max_user_namespaces = 0): %s.",
                                        strerror(-r));
        }

        if (o->cpu_weight > 10000)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'cpu_weight' must be from 1 to 10000 (0: default).");
        if (o->cpu_quota > 0 && o->cpu_quota != LIMIT_CPU_QUOTA_NONE &&
            limit_check_cpu_quota(o->cpu_quota) < 0)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'cpu_quota' must be from %u to %u percent of one CPU (0: the "
                                "configured default, 18446744073709551615: none).",
                                LIMIT_CPU_QUOTA_MIN,
                                LIMIT_CPU_QUOTA_MAX);
        if (o->pids_limit > 0 && limit_check_pids(o->pids_limit) < 0)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'pids_limit' must be from %u to %" PRIu64
                                " (0: the configured default).",
                                LIMIT_PIDS_MIN,
                                LIMIT_PIDS_MAX);
        r = bus_limits_check_create_options(
                        manager,
                        o->memory_limit,
                        o->disk_limit,
                        o->disk_inode_limit,
                        o->bandwidth_rate,
                        o->bandwidth_burst,
                        error);
        if (r < 0)
                return r;
        for (char **p = o->properties; p && p[0]; p += 2)
                if (isempty(p[0]))
                        return sd_bus_error_set(
                                        error, SD_BUS_ERROR_INVALID_ARGS, "Option 'properties': empty key.");
        return 0;
}

/* ---- create: the operation ----------------------------------------------------------------------- */

/*
 * The steps overlap where they can: the rootfs worker and the scope (helper + StartTransientUnit) run side
 * by side and wshd is released when both are done; the veth is made as soon as wshd's network namespace
 * exists (its PID is known) while wshd still sets up its mounts; the greeting goes out when wshd is ready.
 * The container is there when both the greeting and the network are.
 */

static CreateOperation *create_operation_free(CreateOperation *op) {
        if (!op)
                return NULL;
        if (op->container && op->container->operation == op)
                op->container->operation = NULL;
        if (op->network_started && !op->network_worker && !op->network_done && op->network.host_ifname[0])
                link_deletion_remove_waiter(op->manager, op->network.host_ifname, op);
        sd_event_source_disable_unref(op->timeout_source);
        worker_free(op->rootfs_worker);
        worker_free(op->network_worker);
        bus_systemd_job_free(op->job);
        wshd_call_free(op->call);
        /* it runs all the same; the teardown's removal is queued after it */
        firewall_job_cancel(op->firewall_job);
        if (op->helper_pid > 0 && op->helper_source) {
                (void) kill(op->helper_pid, SIGKILL);
                (void) waitpid(op->helper_pid, NULL, 0);
        }
        sd_event_source_disable_unref(op->helper_source);
        sd_event_source_disable_unref(op->status_source);
        safe_close(op->go_fd);
        safe_close(op->status_fd);
        safe_close(op->netns_fd);
        bind_mounts_free(op->bind_mounts, op->n_bind_mounts);
        bus_call_release(op->manager, op->request);
        sd_bus_error_free(&op->failure);
        free(op);
        return NULL;
}

static void create_log_step(CreateOperation *op, const char *step) {
        log_step(op->container->handle, step, op->started_usec);
}

/* Undoes everything and answers with the failure. */
static void create_finish_failure(CreateOperation *op) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *request = sd_bus_message_ref(op->request);
        _cleanup_(sd_bus_error_free) sd_bus_error failure = SD_BUS_ERROR_NULL;
        Container *c = op->container;
        Manager *m = op->manager;
        bool stop_unit = op->scope_started || op->job;
        bool delete_link = op->network_done;

        (void) sd_bus_error_move(&failure, &op->failure);
        log_full_errno_container(
                        LOG_WARNING,
                        0,
                        c->handle,
                        "Creating container '%s' failed: %s",
                        c->handle,
                        failure.message ?: failure.name);
        create_operation_free(op); /* kills the helper if it is still blocked */
        assert(m->n_operations > 0);
        m->n_operations--;
        container_teardown(c, NULL, request, &failure, stop_unit, delete_link);
}

/* Fails the Create (the first failure is the one reported). Running workers are left to finish: only if the
 * network worker made the veth may the cleanup delete a link of that name, and the rootfs worker may still
 * be making the writable layer's file system (mke2fs, a loop device, mounts) that the cleanup must not race
 * with. The last of them to finish finishes the failure. */
static bool create_workers_running(const CreateOperation *op) {
        return op->network_worker || op->rootfs_worker;
}

static void create_fail(CreateOperation *op, const sd_bus_error *error) {
        if (op->failing)
                return;
        op->failing = true;
        (void) sd_bus_error_copy(&op->failure, error);

        op->timeout_source = sd_event_source_disable_unref(op->timeout_source);
        op->call = wshd_call_free(op->call);
        op->status_source = sd_event_source_disable_unref(op->status_source);
        if (create_workers_running(op))
                return; /* the worker's done callback finishes the failure */
        create_finish_failure(op);
}

static void create_failf(CreateOperation *op, const char *name, int error, const char *fmt, ...)
                _printf_(4, 5);
static void create_failf(CreateOperation *op, const char *name, int error, const char *fmt, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        va_list ap;

        errno = error < 0 ? -error : error;
        va_start(ap, fmt);
        if (name)
                (void) sd_bus_error_setfv(&e, name, fmt, ap);
        else
                (void) sd_bus_error_set_errnofv(&e, error, fmt, ap);
        va_end(ap);
        if (!name && IN_SET(error, ENOSPC, -ENOSPC)) {
                /* The depot is full, whichever step found out: the error says so by name. */
                _cleanup_(sd_bus_error_free) sd_bus_error named = SD_BUS_ERROR_NULL;

                (void) sd_bus_error_set(&named, WARDEN_ERROR_NO_SPACE, e.message);
                create_fail(op, &named);
                return;
        }
        create_fail(op, &e);
}

static void create_succeed(CreateOperation *op) {
        Container *c = op->container;
        Manager *m = op->manager;
        _cleanup_free_ char *path = NULL;
        int r;

        r = container_bus_path(c, &path);
        if (r < 0) {
                create_failf(op, NULL, r, "Failed to build the object path: %m");
                return;
        }
        r = container_watch_leader(c);
        if (r < 0) {
                create_failf(op, NULL, r, "Failed to watch wshd (PID %i): %m", (int) c->leader_pid);
                return;
        }
        r = bus_limits_container_created(c);
        if (r < 0) {
                create_failf(op,
                             WARDEN_ERROR_LIMIT_FAILED,
                             0,
                             "Failed to apply the limits of '%s'.",
                             c->handle);
                return;
        }
        r = bus_job_container_start(c);
        if (r < 0) {
                create_failf(op, NULL, r, "Failed to set up the jobs of the container: %m");
                return;
        }

        container_set_state(c, CONTAINER_ACTIVE); /* also writes the state file */
        container_emit_changed(c, "LeaderPID");
        bus_lifecycle_reference(c, op->request);
        if (!bus_clients_referenced(c))
                container_arm_grace(c);

        (void) sd_bus_reply_method_return(op->request, "so", c->handle, path);
        (void) sd_bus_emit_signal(
                        m->bus,
                        WARDEN_MANAGER_PATH,
                        WARDEN_MANAGER_INTERFACE,
                        "ContainerCreated",
                        "so",
                        c->handle,
                        path);
        create_log_step(op, "create.total");
        log_event(LOG_INFO,
                  0,
                  c->handle,
                  WARDEN_MESSAGE_CONTAINER_CREATED,
                  "Container '%s' created: %s, wshd PID %i, %s ↔ %s.",
                  c->handle,
                  c->unit,
                  (int) c->leader_pid,
                  strna(c->host_ip),
                  strna(c->container_ip));
        create_operation_free(op);
        assert(m->n_operations > 0);
        m->n_operations--;
}

static void create_maybe_succeed(CreateOperation *op) {
        if (op->hello_done && op->network_done && !op->network_worker && op->firewall_done)
                create_succeed(op);
}

/* ---- create: the container's nft objects (bus-net.h), side by side with the other steps ---- */

static void create_firewall_done(int result, const char *message, void *userdata) {
        CreateOperation *op = userdata;

        op->firewall_job = NULL;
        if (result < 0) {
                create_failf(op,
                             NULL,
                             result,
                             "Failed to install the container's firewall rules: %s",
                             message ?: strerror(-result));
                return;
        }
        create_log_step(op, "create.firewall");
        op->firewall_done = true;
        create_maybe_succeed(op);
}

static int create_start_firewall(CreateOperation *op) {
        return bus_net_container_add(op->container, create_firewall_done, op, &op->firewall_job);
}
/* ---- end of the firewall step ---- */

static void create_hello_done(WshdCall *call, int error, WshdMessage *reply, void *userdata) {
        CreateOperation *op = userdata;
        int reply_error = 0;

        /* the reply belongs to the call: look at it before the call goes */
        if (error >= 0 && reply->type != WSHD_REPLY_HELLO)
                reply_error = reply->type == WSHD_REPLY_ERROR && reply->error > 0 ? -reply->error : -EPROTO;
        op->call = wshd_call_free(op->call);
        if (error < 0) {
                create_failf(op, NULL, error, "wshd did not answer on its socket: %m");
                return;
        }
        if (reply_error < 0) {
                create_failf(op, NULL, reply_error, "wshd refused the greeting: %m");
                return;
        }
        create_log_step(op, "create.hello");
        op->hello_done = true;
        create_maybe_succeed(op);
}

static void create_say_hello(CreateOperation *op) {
        _cleanup_free_ char *socket_path = NULL;
        WshdMessage hello;
        int r;

        if (asprintf(&socket_path, "%s/wshd.sock", op->container->path) < 0) {
                create_failf(op, NULL, -ENOMEM, "Out of memory.");
                return;
        }
        wshd_message_init(&hello, WSHD_REQUEST_HELLO, 0);
        r = wshd_call(op->manager->event,
                      socket_path,
                      &hello,
                      HELLO_TIMEOUT_USEC,
                      create_hello_done,
                      op,
                      &op->call);
        wshd_message_done(&hello);
        if (r < 0)
                create_failf(op, NULL, r, "Failed to connect to wshd: %m");
}

/* What the network worker needs, its own copy. */
typedef struct NetworkJob {
        NetworkConfig config;
        char *host_ip;
        char *container_ip;
        int netns_fd;
} NetworkJob;

static void network_job_free(void *data) {
        NetworkJob *j = data;

        if (!j)
                return;
        free(j->host_ip);
        free(j->container_ip);
        safe_close(j->netns_fd);
        free(j);
}

static int create_network_work(void *data) {
        NetworkJob *j = data;

        return network_setup(&j->config, j->netns_fd);
}

/* The bandwidth limit given to Create, on the veth that now exists (a worker, as network.c's). */
static void create_bandwidth_done(Worker *w, int result, void *userdata) {
        CreateOperation *op = userdata;

        op->network_worker = worker_free(op->network_worker);
        op->bandwidth_done = true;
        if (op->failing) {
                /* the veth is ours (network_done): the cleanup deletes it */
                if (!create_workers_running(op))
                        create_finish_failure(op);
                return;
        }
        if (result < 0) {
                create_failf(op,
                             WARDEN_ERROR_LIMIT_FAILED,
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

        if (op->container->bandwidth_rate == 0 || op->bandwidth_done) {
                create_maybe_succeed(op);
                return;
        }
        r = bus_limits_start_bandwidth_worker(
                        op->container,
                        op->network.host_ifname,
                        create_bandwidth_done,
                        op,
                        &op->network_worker);
        if (r < 0)
                create_failf(op, NULL, r, "Failed to start the bandwidth worker: %m");
}

static void create_network_done(Worker *w, int result, void *userdata) {
        CreateOperation *op = userdata;

        op->network_worker = worker_free(op->network_worker);
        op->netns_fd = safe_close(op->netns_fd);
        if (op->failing) {
                /* Something else failed meanwhile: the veth is ours to delete only if we made it. */
                op->network_done = result >= 0;
                if (!create_workers_running(op))
                        create_finish_failure(op);
                return;
        }
        if (result == -EEXIST) {
                create_failf(op,
                             NULL,
                             result,
                             "Failed to set up the network: a link named '%s' exists already.",
                             op->network.host_ifname);
                return;
        }
        if (result < 0) {
                create_failf(op,
                             NULL,
                             result,
                             "Failed to set up the network (%s): %m",
                             op->network.host_ifname);
                return;
        }
        create_log_step(op, "create.network");
        op->network_done = true;
        create_start_bandwidth(op);
}

/* The helper made wshd's network namespace before anything else: build the veth in it while the rootfs is
 * mounted and systemd starts the scope. */
static void create_network_go(CreateOperation *op) {
        Container *c = op->container;
        NetworkJob *job;
        int r;

        job = calloc(1, sizeof(NetworkJob));
        if (!job) {
                create_failf(op, NULL, -ENOMEM, "Out of memory.");
                return;
        }
        job->config = op->network;
        job->host_ip = strdup(c->host_ip);
        job->container_ip = strdup(c->container_ip);
        job->netns_fd = TAKE_FD(op->netns_fd);
        if (!job->host_ip || !job->container_ip) {
                network_job_free(job);
                create_failf(op, NULL, -ENOMEM, "Out of memory.");
                return;
        }
        job->config.host_ip = job->host_ip;
        job->config.container_ip = job->container_ip;
        r =
                        worker_start(op->manager->event,
                                     "warden-network",
                                     create_network_work,
                                     job,
                                     network_job_free,
                                     create_network_done,
                                     op,
                                     &op->network_worker);
        if (r < 0)
                create_failf(op, NULL, r, "Failed to start the network worker: %m");
}

static void create_start_network(CreateOperation *op) {
        Container *c = op->container;
        _cleanup_free_ char *ns = NULL;
        LinkDeletion *ld;
        int r;

        if (asprintf(&ns, "/proc/%i/ns/net", (int) op->helper_pid) < 0) {
                create_failf(op, NULL, -ENOMEM, "Out of memory.");
                return;
        }
        op->netns_fd = open(ns, O_RDONLY | O_CLOEXEC);
        if (op->netns_fd < 0) {
                create_failf(op, NULL, -errno, "Failed to open the network namespace of wshd: %m");
                return;
        }
        r = network_ifnames(c->net_id, &op->network);
        if (r < 0) {
                create_failf(op, NULL, r, "Failed to name the network interfaces: %m");
                return;
        }
        op->network.host_ip = c->host_ip;
        op->network.container_ip = c->container_ip;
        op->network.prefixlen = 30;
        op->network.mtu = op->manager->config.mtu;
        op->network_started = true;

        /* The /30 was just released by a destroyed container whose veth of the same name is still being
         * deleted: build ours once that is done. */
        ld = hashmap_get(op->manager->links_deleting, op->network.host_ifname);
        if (ld) {
                r = link_deletion_add_waiter(ld, op);
                if (r < 0)
                        create_failf(op, NULL, r, "Out of memory.");
                return;
        }
        create_network_go(op);
}

static void create_maybe_release(CreateOperation *op);
static int create_start_rootfs(CreateOperation *op, int userns_fd);

/* The helper made the container's user namespace first and wshd's network namespace in it: the rootfs
 * (its lower layer idmapped into that user namespace) can be made now. False once the operation failed. */
static bool create_start_rootfs_userns(CreateOperation *op) {
        _cleanup_free_ char *ns = NULL;
        _cleanup_close_ int netns_fd = -EBADF;
        int userns_fd, r;

        if (asprintf(&ns, "/proc/%i/ns/net", (int) op->helper_pid) < 0) {
                create_failf(op, NULL, -ENOMEM, "Out of memory.");
                return false;
        }
        netns_fd = open(ns, O_RDONLY | O_CLOEXEC);
        if (netns_fd < 0) {
                create_failf(op, NULL, -errno, "Failed to open the network namespace of wshd: %m");
                return false;
        }
        userns_fd = ioctl(netns_fd, NS_GET_USERNS);
        if (userns_fd < 0) {
                create_failf(op, NULL, -errno, "Failed to get the user namespace of wshd: %m");
                return false;
        }
        r = create_start_rootfs(op, userns_fd);
        if (r < 0) {
                create_failf(op, NULL, r, "Failed to start the rootfs worker: %m");
                return false;
        }
        return true;
}

/* One line of the status pipe: "NETNS=1" and "PID=<wshd's pid>" from the helper, then "READY=1" from wshd,
 * or "ERROR=<errno> <text>". Returns false once the operation has failed. */
static bool create_status_line(CreateOperation *op, const char *line) {
        Container *c = op->container;

        if (streq(line, "NETNS=1")) {
                if (op->helper_pid <= 0 || op->network_worker || op->network_done ||
                    (c->userns_uid > 0 && (op->rootfs_worker || op->rootfs_done))) {
                        create_failf(op,
                                     NULL,
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
                        create_failf(op, NULL, -EPROTO, "wshd reported a bad PID line '%s'.", line);
                        return false;
                }
                c->leader_pid = (pid_t) v;
                create_log_step(op, "create.wshd-forked");
                return true;
        }
        if (streq(line, "READY=1")) {
                if (c->leader_pid <= 0) {
                        create_failf(op, NULL, -EPROTO, "wshd was ready before its PID was known.");
                        return false;
                }
                op->ready = true;
                create_log_step(op, "create.wshd");
                create_say_hello(op);
                return !op->failing;
        }
        if (startswith(line, "ERROR=")) {
                char *text;
                long e = strtol(line + 6, &text, 10);

                create_failf(op,
                             NULL,
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
                create_failf(op, NULL, -errno, "Failed to read wshd's status: %m");
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
                if (!op->ready)
                        create_failf(op,
                                     NULL,
                                     -EIO,
                                     "wshd exited before it was ready (see the journal of warden.service).");
        } else if (op->status_size >= sizeof(op->status) - 1)
                create_failf(op, NULL, -EPROTO, "wshd's status is garbage.");
        return 0;
}

/* Both the rootfs and the scope exist: let the helper fork wshd. */
static void create_maybe_release(CreateOperation *op) {
        int r;

        /* ... and once we hold its network namespace: after 'G' the helper may be gone any moment. */
        if (!op->rootfs_done || !op->scope_started || !op->network_started || op->go_fd < 0)
                return;
        r = loop_write(op->go_fd, "G", 1);
        op->go_fd = safe_close(op->go_fd);
        if (r < 0)
                create_failf(op, NULL, r, "Failed to release wshd: %m");
}

static void create_scope_started(Manager *m, const char *result, const sd_bus_error *error, void *userdata) {
        CreateOperation *op = userdata;

        op->job = NULL;
        if (!result) {
                if (sd_bus_error_has_name(error, "org.freedesktop.systemd1.UnitExists"))
                        create_failf(op,
                                     WARDEN_ERROR_CONTAINER_EXISTS,
                                     0,
                                     "Unit %s exists already: %s",
                                     op->container->unit,
                                     error->message ?: "");
                else
                        create_failf(op,
                                     error && error->name ? error->name : SD_BUS_ERROR_FAILED,
                                     0,
                                     "Failed to start %s: %s",
                                     op->container->unit,
                                     error && error->message ? error->message : "unknown error");
                return;
        }
        op->scope_started = true;
        if (!streq(result, "done")) {
                create_failf(op,
                             NULL,
                             -EIO,
                             "Starting %s failed: job result '%s'.",
                             op->container->unit,
                             result);
                return;
        }
        create_log_step(op, "create.scope");
        create_maybe_release(op);
}

static int helper_exited(sd_event_source *s, const siginfo_t *si, void *userdata) {
        CreateOperation *op = userdata;

        op->helper_source = sd_event_source_disable_unref(op->helper_source);
        op->helper_pid = 0;
        if (si->si_code != CLD_EXITED || si->si_status != 0)
                log_full_errno_container(
                                LOG_DEBUG,
                                0,
                                op->container->handle,
                                "wshd's helper exited with status %i.",
                                si->si_status);
        return 0;
}

/* Spawns the helper: wshd, which waits on the go pipe until its scope exists. posix_spawn() (vfork-like, no
 * copy of our memory, safe with worker threads around) with go → fd 3, status → fd 4, the seccomp filter
 * → fd 5, stdin/stdout /dev/null, stderr inherited (the journal), nothing else, no blocked signals. */
static int create_spawn_helper(CreateOperation *op) {
        Container *c = op->container;
        _cleanup_close_pair_ int go[2] = EBADF_PAIR, status[2] = EBADF_PAIR;
        _cleanup_free_ char *arg_root = NULL, *arg_socket = NULL, *arg_hostname = NULL, *arg_userns = NULL;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none;
        pid_t pid;
        int r;

        if (asprintf(&arg_root, "--root=%s/rootfs", c->path) < 0 ||
            asprintf(&arg_socket, "--socket=%s/wshd.sock", c->path) < 0 ||
            asprintf(&arg_hostname, "--hostname=%s", c->handle) < 0 ||
            (c->userns_uid > 0 && asprintf(&arg_userns, "--userns=%" PRIu32, c->userns_uid) < 0))
                return -ENOMEM;
        if (pipe2(go, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0)
                return -errno;
        /* only our end is non-blocking */
        if (fcntl(status[0], F_SETFL, O_NONBLOCK) < 0)
                return -errno;

        char *argv[] = {
                (char *) "wshd",
                arg_root,
                arg_socket,
                arg_hostname,
                (char *) "--go-fd=3",
                (char *) "--status-fd=4",
                (char *) "--seccomp-fd=5",
                arg_userns, /* NULL without a user namespace: the end */
                NULL,
        };
        char *envp[] = { NULL };

        sigemptyset(&none);
        r = -posix_spawn_file_actions_init(&fa);
        if (r < 0)
                return r;
        r = -posix_spawnattr_init(&attr);
        if (r < 0) {
                posix_spawn_file_actions_destroy(&fa);
                return r;
        }
        if ((r = -posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0)) < 0 ||
            (r = -posix_spawn_file_actions_adddup2(&fa, 0, 1)) < 0 ||
            (r = -posix_spawn_file_actions_adddup2(&fa, go[0], 3)) < 0 ||
            (r = -posix_spawn_file_actions_adddup2(&fa, status[1], 4)) < 0 ||
            (r = -posix_spawn_file_actions_adddup2(&fa, op->manager->seccomp_fd, 5)) < 0 ||
            (r = -posix_spawn_file_actions_addclosefrom_np(&fa, 6)) < 0 ||
            (r = -posix_spawnattr_setsigmask(&attr, &none)) < 0 ||
            (r = -posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK)) < 0)
                goto finish;
        r = -posix_spawn(&pid, WSHD_PATH, &fa, &attr, argv, envp);
finish:
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r < 0)
                return r;

        op->helper_pid = pid;
        r = sd_event_add_child(op->manager->event, &op->helper_source, pid, WEXITED, helper_exited, op);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                op->helper_pid = 0;
                return r;
        }
        op->go_fd = TAKE_FD(go[1]);
        op->status_fd = TAKE_FD(status[0]);
        return sd_event_add_io(
                        op->manager->event,
                        &op->status_source,
                        op->status_fd,
                        EPOLLIN,
                        create_status_readable,
                        op);
}

/* What the rootfs worker needs, its own copy. */
typedef struct RootfsJob {
        RootfsConfig config;
        char *strings[6];
        BindMount *bind_mounts;
        size_t n_bind_mounts;
} RootfsJob;

static void rootfs_job_free(void *data) {
        RootfsJob *j = data;

        if (!j)
                return;
        if (j->config.userns_uid > 0)
                safe_close(j->config.userns_fd);
        FOREACH_ARRAY(p, j->strings, ELEMENTSOF(j->strings))
                free(*p);
        bind_mounts_free(j->bind_mounts, j->n_bind_mounts);
        free(j);
}

static int create_rootfs_work(void *data) {
        RootfsJob *j = data;

        return rootfs_setup(&j->config);
}

/* userns_fd: the container's user namespace with one, else -EBADF; taken over (closed on failure too) */
static int rootfs_job_new(CreateOperation *op, int userns_fd, RootfsJob **ret) {
        Container *c = op->container;
        RootfsJob *j;

        j = calloc(1, sizeof(RootfsJob));
        if (!j) {
                safe_close(userns_fd);
                return -ENOMEM;
        }
        /* the bind mounts are needed by this job only: hand them over */
        j->bind_mounts = TAKE_PTR(op->bind_mounts);
        j->n_bind_mounts = op->n_bind_mounts;
        op->n_bind_mounts = 0;
        j->config = (RootfsConfig){
                .base = j->strings[0] = strdup(c->rootfs),
                .base_resolved = true, /* check_rootfs() */
                .path = j->strings[1] = strdup(c->path),
                .hostname = j->strings[2] = strdup(c->handle),
                .user = j->strings[3] = strdup(op->manager->config.user),
                .uid = c->uid,
                .host_ip = j->strings[4] = strdup(c->host_ip),
                .container_ip = j->strings[5] = strdup(c->container_ip),
                .bind_mounts = j->bind_mounts,
                .n_bind_mounts = j->n_bind_mounts,
                .disk_bytes = c->disk_limit,
                .disk_inodes = c->disk_inode_limit,
                .userns_uid = c->userns_uid,
                .userns_fd = c->userns_uid > 0 ? userns_fd : -EBADF,
                .userns_rootfs = op->manager->config.userns_rootfs,
        };
        FOREACH_ARRAY(p, j->strings, ELEMENTSOF(j->strings))
                if (!*p) {
                        rootfs_job_free(j);
                        return -ENOMEM;
                }
        *ret = j;
        return 0;
}

static void create_rootfs_done(Worker *w, int result, void *userdata) {
        CreateOperation *op = userdata;

        op->rootfs_worker = worker_free(op->rootfs_worker);
        if (op->failing) {
                /* something else failed meanwhile; whatever the worker made is under <path>, which the
                 * cleanup removes */
                if (!create_workers_running(op))
                        create_finish_failure(op);
                return;
        }
        if (result == -ENOMEDIUM) {
                create_failf(op,
                             WARDEN_ERROR_ROOTFS_NOT_FOUND,
                             0,
                             "Root file system '%s' vanished.",
                             op->container->rootfs);
                return;
        }
        if (result == -EMEDIUMTYPE) {
                create_failf(op, WARDEN_ERROR_BIND_MOUNT_SOURCE, 0, "A bind mount source vanished.");
                return;
        }
        /* only with userns_rootfs = idmap: otherwise a shifted copy is made instead */
        if (result == -EOPNOTSUPP && op->container->userns_uid > 0 &&
            op->manager->config.userns_rootfs == USERNS_ROOTFS_IDMAP) {
                create_failf(op,
                             SD_BUS_ERROR_NOT_SUPPORTED,
                             0,
                             "Option 'user_namespace': root file system '%s' cannot be idmapped into the "
                             "container's user namespace: its file system has no idmapped mounts (overlayfs "
                             "has none; ext4, xfs and btrfs have, tmpfs since Linux 6.3), or this kernel "
                             "lacks them (Linux 5.19 is needed); and userns_rootfs = idmap forbids a "
                             "shifted copy.",
                             op->container->rootfs);
                return;
        }
        if (result < 0) {
                create_failf(op,
                             NULL,
                             result,
                             "Failed to set up the root file system in '%s': %m",
                             op->container->path);
                return;
        }
        create_log_step(op, "create.rootfs");
        op->rootfs_done = true;
        create_maybe_release(op);
}

static int create_timed_out(sd_event_source *s, uint64_t usec, void *userdata) {
        CreateOperation *op = userdata;

        create_failf(op, NULL, -ETIMEDOUT, "Creating the container timed out.");
        return 0;
}

static int create_start_rootfs(CreateOperation *op, int userns_fd) {
        RootfsJob *job;
        int r;

        r = rootfs_job_new(op, userns_fd, &job);
        if (r < 0)
                return r;
        return worker_start(
                        op->manager->event,
                        "warden-rootfs",
                        create_rootfs_work,
                        job,
                        rootfs_job_free,
                        create_rootfs_done,
                        op,
                        &op->rootfs_worker);
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
        /* The scope first: systemd's job is the longest step. */
        r = create_spawn_helper(op);
        if (r < 0)
                return r;
        r = bus_systemd_start_scope(m, op->container, op->helper_pid, create_scope_started, op, &op->job);
        if (r < 0)
                return r;
        r = create_start_firewall(op);
        if (r < 0)
                return r;
        if (op->container->userns_uid > 0)
                return 0; /* create_status_line(), at NETNS=1 */
        return create_start_rootfs(op, -EBADF);
}

/* Step 1: everything that can be decided at once — the handle, the uid and the /30. */
static int create_allocate(Manager *m, CreateOptions *o, Container **ret, sd_bus_error *error) {
        _cleanup_(container_freep) Container *c = NULL;
        char handle[HANDLE_MAX + 1], host[INET_ADDRSTRLEN], cont[INET_ADDRSTRLEN];
        int r;

        if (o->handle)
                strncpy(handle, o->handle, sizeof(handle) - 1), handle[HANDLE_MAX] = '\0';
        else
                do {
                        r = handle_generate(handle, sizeof(handle));
                        if (r < 0)
                                return r;
                } while (manager_get_container(m, handle));

        r = container_new(handle, &c);
        if (r < 0)
                return r;
        c->rootfs = strdup(o->rootfs_resolved);
        if (asprintf(&c->path, "%s/%s", m->config.depot_path, handle) < 0 || !c->rootfs)
                return -ENOMEM;
        c->grace_time = o->have_grace_time ? o->grace_time
                                           : (uint32_t) (m->config.grace_time_usec / USEC_PER_SEC);
        c->properties = TAKE_PTR(o->properties);
        c->env = TAKE_PTR(o->env);
        c->memory_limit = o->memory_limit;
        c->cpu_weight = o->cpu_weight;
        c->cpu_quota = create_cpu_quota(m, o->cpu_quota);
        c->pids_limit = o->pids_limit > 0 ? o->pids_limit : m->config.pids_limit;
        c->disk_limit = o->disk_limit;
        c->disk_inode_limit = o->disk_inode_limit;
        c->bandwidth_rate = o->bandwidth_rate;
        c->bandwidth_burst = o->bandwidth_burst;
        c->created_usec = now_usec(CLOCK_REALTIME);

        if (o->have_user_namespace ? o->user_namespace : m->config.user_namespace) {
                r = manager_allocate_userns(m, c);
                if (r == -ENOSR)
                        return sd_bus_error_set(
                                        error,
                                        WARDEN_ERROR_POOL_EXHAUSTED,
                                        "No user namespace range left in the pool (see userns_uid_count).");
        } else {
                r = id_pool_allocate(m->uids, &c->uid);
                if (r == -ENOSR)
                        return sd_bus_error_set(
                                        error,
                                        WARDEN_ERROR_POOL_EXHAUSTED,
                                        "No uid left in the pool (see uid_count).");
        }
        if (r < 0)
                return r;

        if (o->network)
                r = address_pool_reserve(m->addresses, o->network, &c->net_id);
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
                        return sd_bus_error_setf(
                                        error,
                                        SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'network': '%s' is not an IPv4 address inside the pool.",
                                        o->network);
                case -EADDRINUSE:
                        return sd_bus_error_setf(
                                        error,
                                        WARDEN_ERROR_POOL_EXHAUSTED,
                                        "Network '%s' is taken by another container.",
                                        o->network);
                case -ENOSR:
                        return sd_bus_error_set(
                                        error,
                                        WARDEN_ERROR_POOL_EXHAUSTED,
                                        "No network left in the address pool.");
                case -EEXIST:
                        return sd_bus_error_setf(
                                        error,
                                        WARDEN_ERROR_CONTAINER_EXISTS,
                                        "Container '%s' exists already.",
                                        handle);
                case -EUSERS:
                        return sd_bus_error_setf(
                                        error,
                                        WARDEN_ERROR_POOL_EXHAUSTED,
                                        "Too many containers (max_containers=%u).",
                                        m->config.max_containers);
                default:
                        return r;
                }
        }
        *ret = TAKE_PTR(c);
        return 0;
}

int bus_lifecycle_method_create(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(create_options_done) CreateOptions o = {};
        Manager *manager = userdata;
        CreateOperation *op;
        Container *c = NULL;
        int r;

        r = bus_verify_manage(m, manager, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */
        r = read_create_options(m, &o, error);
        if (r < 0)
                return r;
        if (manager->config.force_user_namespace) {
                uid_t uid;

                r = bus_sender_uid(m, &uid);
                if (r < 0)
                        return r;
                if (uid != 0 && o.have_user_namespace && !o.user_namespace)
                        return sd_bus_error_set(
                                        error,
                                        SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'user_namespace': only root may create a container "
                                        "without a user namespace of its own here (force_user_namespace = "
                                        "yes).");
                if (uid != 0)
                        o.user_namespace = o.have_user_namespace = true;
        }
        r = check_create_options(manager, &o, error);
        if (r < 0)
                return r;
        if (o.needs_host_paths) {
                r = bus_verify_host_paths(m, manager, error);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 1; /* polkit is asked; the call comes back with its answer */
        }

        op = calloc(1, sizeof(CreateOperation));
        if (!op)
                return -ENOMEM;
        *op = (CreateOperation){
                .type = OPERATION_CREATE,
                .manager = manager,
                .request = bus_call_hold(manager, m),
                .started_usec = now_usec(CLOCK_MONOTONIC),
                .go_fd = -EBADF,
                .status_fd = -EBADF,
                .netns_fd = -EBADF,
                .bind_mounts = TAKE_PTR(o.bind_mounts),
                .n_bind_mounts = o.n_bind_mounts,
        };
        o.n_bind_mounts = 0;

        r = create_allocate(manager, &o, &c, error);
        if (r < 0) {
                create_operation_free(op);
                return r;
        }
        op->container = c;
        c->operation = op;
        manager->n_operations++;

        /* Recorded before anything exists outside: a wardend that dies from here on finds a "born" container
         * at its next start and cleans up whatever this one left. */
        r = container_save(c);
        if (r < 0) {
                create_failf(op, NULL, r, "Failed to write the state file: %m");
                return 1;
        }
        r = create_start(op);
        if (r < 0)
                create_failf(op, NULL, r, "Failed to start creating the container: %m");
        return 1;
}

/* ---- stop ---------------------------------------------------------------------------------------- */

static void stop_operation_free(StopOperation *op) {
        if (!op)
                return;
        if (op->container && op->container->operation == op)
                op->container->operation = NULL;
        wshd_call_free(op->call);
        bus_call_release(op->container ? op->container->manager : NULL, op->request);
        free(op);
}

static void stop_done(WshdCall *call, int error, WshdMessage *reply, void *userdata) {
        StopOperation *op = userdata;
        Container *c = op->container;
        Manager *m = c->manager;

        /* the reply belongs to the call: look at it before the call goes */
        if (error >= 0 && reply->type == WSHD_REPLY_ERROR)
                error = reply->error > 0 ? -reply->error : -EIO;
        else if (error >= 0 && reply->type != WSHD_REPLY_OK)
                error = -EPROTO;
        op->call = wshd_call_free(op->call);

        if (error < 0) {
                if (op->request)
                        (void) sd_bus_reply_method_errnof(
                                        op->request,
                                        -error,
                                        "Failed to stop the processes of '%s': %m",
                                        c->handle);
                else
                        log_full_errno_container(
                                        LOG_WARNING,
                                        error,
                                        c->handle,
                                        "Failed to stop the processes of '%s': %m",
                                        c->handle);
        } else {
                container_set_state(c, CONTAINER_STOPPED);
                if (op->request)
                        (void) sd_bus_reply_method_return(op->request, NULL);
                log_full_errno_container(LOG_INFO, 0, c->handle, "Container '%s' stopped.", c->handle);
        }
        if (op->done)
                op->done(c, error < 0 ? error : 0, op->userdata);
        stop_operation_free(op);
        m->n_operations--;

        /* wshd died while we waited: now that the stop is over, clean up */
        if (!c->leader_source && c->state != CONTAINER_DESTROYED)
                container_teardown(c, NULL, NULL, NULL, true, true);
}

/* Asks wshd to stop every other process; 'request' (may be NULL) is answered when it has. */
static int
container_stop(Container *c,
               bool kill_now,
               sd_bus_message *request,
               void (*done)(Container *c, int error, void *userdata),
               void *userdata) {
        _cleanup_free_ char *socket_path = NULL;
        StopOperation *op;
        WshdMessage req;
        uint64_t timeout;
        int r;

        timeout = kill_now ? 0 : c->manager->config.stop_timeout_usec;
        if (asprintf(&socket_path, "%s/wshd.sock", c->path) < 0)
                return -ENOMEM;
        op = calloc(1, sizeof(StopOperation));
        if (!op)
                return -ENOMEM;
        op->type = OPERATION_STOP;
        op->container = c;
        op->request = bus_call_hold(c->manager, request);
        op->done = done;
        op->userdata = userdata;

        wshd_message_init(&req, WSHD_REQUEST_STOP, 0);
        req.timeout_ms = (uint32_t) (timeout / USEC_PER_MSEC);
        r = wshd_call(c->manager->event,
                      socket_path,
                      &req,
                      timeout + 10 * USEC_PER_SEC,
                      stop_done,
                      op,
                      &op->call);
        wshd_message_done(&req);
        if (r < 0) {
                stop_operation_free(op);
                return r;
        }
        c->operation = op;
        c->manager->n_operations++;
        return 0;
}

int bus_lifecycle_stop(
                Container *c,
                bool kill_now,
                void (*done)(Container *c, int error, void *userdata),
                void *userdata) {
        if (c->operation)
                return -EBUSY;
        if (c->state != CONTAINER_ACTIVE && c->state != CONTAINER_STOPPED)
                return -ESTALE;
        return container_stop(c, kill_now, NULL, done, userdata);
}

int bus_lifecycle_method_stop(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        int kill_now, r;

        r = bus_verify_manage(m, c->manager, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */
        r = sd_bus_message_read(m, "b", &kill_now);
        if (r < 0)
                return r;
        bus_lifecycle_reference(c, m);
        if (c->operation)
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_INVALID_STATE,
                                "Container '%s' is %s.",
                                c->handle,
                                container_busy_reason(c));
        if (c->state != CONTAINER_ACTIVE && c->state != CONTAINER_STOPPED)
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_INVALID_STATE,
                                "Container '%s' is %s.",
                                c->handle,
                                container_state_to_string(c->state));

        r = container_stop(c, kill_now, m, NULL, NULL);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to reach wshd of '%s': %m", c->handle);
        return 1;
}

/* ---- operations of other modules (limits) --------------------------------------------------------- */

static const OperationType limit_operation = OPERATION_LIMIT;

int bus_lifecycle_check_idle(Container *c, sd_bus_error *error) {
        if (!c->operation)
                return 0;
        return sd_bus_error_setf(
                        error,
                        WARDEN_ERROR_INVALID_STATE,
                        "Container '%s' is %s.",
                        c->handle,
                        container_busy_reason(c));
}

void bus_lifecycle_hold(Container *c) {
        assert(!c->operation);
        c->operation = (void *) &limit_operation;
        c->manager->n_operations++;
}

bool bus_lifecycle_is_held(const Container *c) {
        return c->operation == &limit_operation;
}

bool bus_lifecycle_release(Container *c) {
        assert(c->operation == &limit_operation);
        c->operation = NULL;
        assert(c->manager->n_operations > 0);
        c->manager->n_operations--;
        /* wshd died meanwhile (leader_exited() left it to us): clean up now */
        if (!c->leader_source && c->state != CONTAINER_DESTROYED) {
                container_teardown(c, NULL, NULL, NULL, true, true);
                return false;
        }
        /* the grace time may have run out meanwhile (grace_expired() left it to the next reference) */
        if (!bus_clients_referenced(c))
                container_arm_grace(c);
        return true;
}

/* ---- destroy ------------------------------------------------------------------------------------- */

int bus_lifecycle_method_destroy(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        int r;

        r = bus_verify_manage(m, c->manager, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */
        if (c->operation)
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_INVALID_STATE,
                                "Container '%s' is %s.",
                                c->handle,
                                container_busy_reason(c));
        log_full_errno_container(LOG_INFO, 0, c->handle, "Destroying container '%s'.", c->handle);
        container_teardown(c, m, NULL, NULL, true, true);
        return 1;
}

/* ---- re-adoption --------------------------------------------------------------------------------- */

/* Is 'pid' still the container's wshd? Guards against a recycled PID: it must live in the container's scope.
 */
static bool leader_is_alive(const Container *c) {
        /* the hierarchy systemd tracks units in: cgroup2 (hybrid or unified), or name=systemd (legacy) */
        static const char *const hierarchies[] = { "", "name=systemd" };
        _cleanup_free_ char *suffix = NULL;

        if (c->leader_pid <= 0 || asprintf(&suffix, "/%s", c->unit) < 0)
                return false;
        FOREACH_ARRAY(h, hierarchies, ELEMENTSOF(hierarchies)) {
                _cleanup_free_ char *cgroup = NULL;

                if (cg_pid_get_path(c->leader_pid, *h, &cgroup) >= 0)
                        return endswith(cgroup, suffix);
        }
        return false;
}

static void adopt_cleanup(Container *c, const char *why) {
        log_event(LOG_WARNING,
                  SYNTHETIC_ERRNO(ESRCH),
                  c->handle,
                  WARDEN_MESSAGE_CONTAINER_LOST,
                  "Container '%s': %s; cleaning it up.",
                  c->handle,
                  why);
        container_teardown(c, NULL, NULL, NULL, true, true);
}

static int reply_list_units(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *unit;
        int r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                log_debug("Listing warden scopes failed: %s", sd_bus_message_get_error(reply)->message);
                return 0;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                return 0;
        while (sd_bus_message_read(
                               reply,
                               "(ssssssouso)",
                               &unit,
                               NULL,
                               NULL,
                               NULL,
                               NULL,
                               NULL,
                               NULL,
                               NULL,
                               NULL,
                               NULL) > 0) {
                Container *c;
                const char *handle;
                _cleanup_free_ char *h = NULL;

                handle = startswith(unit, "warden-");
                if (!handle || !endswith(unit, ".scope"))
                        continue;
                h = strndup(handle, strlen(handle) - strlen(".scope"));
                if (!h)
                        return 0;
                c = manager_get_container(m, h);
                if (c)
                        continue;
                log_event(LOG_WARNING,
                          0,
                          h,
                          WARDEN_MESSAGE_CONTAINER_LOST,
                          "Scope %s belongs to no known container; stopping it.",
                          unit);
                (void) bus_call_out_method(
                                m,
                                "org.freedesktop.systemd1",
                                "/org/freedesktop/systemd1",
                                "org.freedesktop.systemd1.Manager",
                                "StopUnit",
                                SYSTEMD_CALL_TIMEOUT_USEC,
                                NULL,
                                NULL,
                                NULL,
                                "ss",
                                unit,
                                "fail");
        }
        return 0;
}

static int orphan_dirs_work(void *data) {
        char **dirs = data;
        int ret = 0;

        STRV_FOREACH(d, dirs) {
                int r = rootfs_teardown(*d);

                if (r < 0)
                        ret = r;
        }
        return ret;
}

static void strv_free_void(void *p) {
        strv_free(p);
}

static void orphan_dirs_done(Worker *w, int result, void *userdata) {
        worker_free(w);
        if (result < 0)
                log_warning_errno(result, "Failed to remove some orphaned container directories: %m");
}

/* Directories in the depot that no container owns: left by a wardend that died in the middle of a Create
 * before it wrote the state file (it writes it first), or by a failed cleanup. */
static void adopt_orphan_dirs(Manager *m) {
        _cleanup_strv_free_ char **dirs = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        Worker *w;

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
        if (!dirs)
                return;
        (void) worker_start(
                        m->event,
                        "warden-orphans",
                        orphan_dirs_work,
                        TAKE_PTR(dirs),
                        strv_free_void,
                        orphan_dirs_done,
                        NULL,
                        &w);
}

int bus_lifecycle_adopt(Manager *m) {
        Container *c;
        int r;

        /* first the rules of every container in force again, then the dead ones cleaned up */
        bus_net_adopt(m);
        HASHMAP_FOREACH(c, m->containers) {
                if (c->state == CONTAINER_BORN) {
                        adopt_cleanup(c, "wardend stopped while creating it");
                        continue;
                }
                if (c->state == CONTAINER_DESTROYED) {
                        adopt_cleanup(c, "wardend stopped while destroying it");
                        continue;
                }
                if (!leader_is_alive(c)) {
                        adopt_cleanup(c, "its wshd is gone");
                        continue;
                }
                r = container_watch_leader(c);
                if (r < 0) {
                        adopt_cleanup(c, "its wshd cannot be watched");
                        continue;
                }
                (void) bus_job_container_adopt(c); /* logs; Spawn refuses without it */
                container_arm_grace(c);
                bus_limits_adopt(c);
        }

        adopt_orphan_dirs(m);
        r = bus_call_out_method(
                        m,
                        "org.freedesktop.systemd1",
                        "/org/freedesktop/systemd1",
                        "org.freedesktop.systemd1.Manager",
                        "ListUnitsByPatterns",
                        0,
                        reply_list_units,
                        m,
                        NULL,
                        "asas",
                        0,
                        1,
                        "warden-*.scope");
        if (r < 0)
                log_debug_errno(r, "Failed to list warden scopes: %m");
        return 0;
}
