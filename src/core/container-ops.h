/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The side effects of a container's life, behind one table (Manager.ops): what needs systemd, the kernel, a
 * worker thread or wshd. The lifecycle (container-lifecycle.h) only calls these; the daemon plugs in the
 * real ones (container_ops_init_real() for what core can do itself, src/bus/bus-container-ops.c for the
 * scope over the bus), unit tests fake ones that complete each step when the test says so.
 *
 * An asynchronous entry takes (done, userdata, ret) and hands back a ContainerOpCall: 'done' is called once,
 * on the event loop, with 0 or a negative errno (and, where the implementation has the words, a WardenError
 * for the caller); container_op_call_free() cancels it: 'done' is not called then. The call is freed before
 * 'done' runs: 'done' forgets its pointer to it and never frees it. 'done' is never called before the entry
 * returns. 0 or a negative errno if it could not start (nothing is called back then); 0 with *ret NULL:
 * there was nothing to do (nothing is called back either).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "network.h"
#include "rootfs.h"
#include "warden-error.h"
#include "worker.h"

typedef struct Manager Manager;
typedef struct Container Container;
typedef struct FirewallJob FirewallJob;

typedef void (*container_op_done_t)(int result, const WardenError *error, void *userdata);

typedef struct ContainerOpCall ContainerOpCall;
struct ContainerOpCall {
        container_op_done_t done;
        void *userdata;
        /* the implementation's object (a Worker, a SystemdJob, a WshdCall, a FirewallJob, a test's step) and
         * how to cancel it: nothing may be called back after impl_free() */
        void *impl;
        void (*impl_free)(void *impl);
};

/* -ENOMEM. */
int container_op_call_new(container_op_done_t done, void *userdata, ContainerOpCall **ret);
/* Cancels (impl_free(impl)); 'done' is not called. NULL-safe; returns NULL. */
ContainerOpCall *container_op_call_free(ContainerOpCall *call);
DEFINE_TRIVIAL_CLEANUP_FUNC(ContainerOpCall *, container_op_call_free);
/* For implementations whose work is a worker thread (worker.h): start it with container_op_call_worker_done
 * and the call as its done callback and userdata, then hand it to the call (which then cancels it when
 * freed); its result becomes the call's. */
void container_op_call_worker_done(Worker *w, int result, void *userdata);
void container_op_call_set_worker(ContainerOpCall *call, Worker *w);
/* For implementations: the work is over (impl is released by the caller already, or still owned by the
 * call and freed here): frees the call, then calls done(result, error, userdata). */
void container_op_call_complete(ContainerOpCall *call, int result, const WardenError *error);

typedef struct ContainerOps {
        /* The root file system (worker threads): overlay, files and bind mounts under c->path (takes over
         * the bind mounts and userns_fd, which is -EBADF without a user namespace); its removal. Results are
         * rootfs_setup()'s and rootfs_teardown()'s. */
        int (*rootfs_setup)(
                Container *c,
                BindMount *bind_mounts,
                size_t n_bind_mounts,
                int userns_fd,
                container_op_done_t done,
                void *userdata,
                ContainerOpCall **ret);
        int (*rootfs_teardown)(
                Manager *m,
                const char *path,
                container_op_done_t done,
                void *userdata,
                ContainerOpCall **ret);
        /* Depot directories no container owns (takes 'dirs'); fire and forget, logs. */
        void (*remove_orphans)(Manager *m, char **dirs);

        /* wshd's helper: spawned blocked; 'G' on *ret_go_fd releases it, wshd reports on *ret_status_fd
         * (both ours to close). 'done' reports its exit (the call reaps it; freeing the call kills it). */
        int (*helper_spawn)(
                Container *c,
                pid_t *ret_pid,
                int *ret_go_fd,
                int *ret_status_fd,
                container_op_done_t done,
                void *userdata,
                ContainerOpCall **ret);
        /* The helper's network namespace (/proc/<helper>/ns/net); the user namespace that owns one. */
        int (*helper_netns)(pid_t helper, int *ret_fd);
        int (*netns_userns)(int netns_fd, int *ret_fd);

        /* wshd (c->leader_pid): an fd that becomes readable when it exits; whether it still lives in the
         * container's scope; SIGKILL through 'pidfd' if >= 0, else after checking it is still wshd. */
        int (*leader_open)(Container *c, int *ret_fd);
        bool (*leader_is_alive)(const Container *c);
        void (*leader_kill)(Container *c, int pidfd);
        /* wshd's greeting and its Stop (every other process; 'timeout_usec' 0: SIGKILL at once). */
        int (*wshd_hello)(Container *c, container_op_done_t done, void *userdata, ContainerOpCall **ret);
        int (*wshd_stop)(
                Container *c,
                uint64_t timeout_usec,
                container_op_done_t done,
                void *userdata,
                ContainerOpCall **ret);

        /* The scope with 'pid' in it (StartTransientUnit). done(0) when its start job is done; result < 0
         * and an error when the call failed (the unit was not made, e.g. CONTAINER_EXISTS for a unit of that
         * name); result > 0 and an error when the job ran but did not succeed (the unit may exist). */
        int (*scope_start)(
                Container *c, pid_t pid, container_op_done_t done, void *userdata, ContainerOpCall **ret);
        /* StopUnit(c->unit); failures come with a message to log. */
        int (*scope_stop)(Container *c, container_op_done_t done, void *userdata, ContainerOpCall **ret);

        /* The veth pair (worker), its deletion with the ifb of its bandwidth limit (worker), the bandwidth
         * limit on the host side (worker). */
        int (*network_setup)(
                Container *c,
                const NetworkConfig *config,
                int netns_fd,
                container_op_done_t done,
                void *userdata,
                ContainerOpCall **ret);
        int (*network_delete)(
                Manager *m,
                const char *ifname,
                container_op_done_t done,
                void *userdata,
                ContainerOpCall **ret);
        int (*bandwidth_setup)(
                Container *c,
                const char *host_ifname,
                container_op_done_t done,
                void *userdata,
                ContainerOpCall **ret);

        /* The container's nft objects: added, removed, and at start-up the table of every container again.
         */
        int (*firewall_add)(Container *c, container_op_done_t done, void *userdata, ContainerOpCall **ret);
        int (*firewall_remove)(
                Container *c, container_op_done_t done, void *userdata, ContainerOpCall **ret);
        void (*firewall_adopt)(Manager *m);

        /* The other parts of a container, synchronous: its jobs (start: before it is announced; adopt: at
         * start-up; teardown: waiters answered), its copies in flight (cancelled before the root goes), its
         * limits (created: the limits that need the running container, and the OOM watch
         * (container_oom_watch_new()); adopt: the bandwidth limit again, and container_oom_adopt()). */
        int (*jobs_start)(Container *c);
        int (*jobs_adopt)(Container *c);
        void (*jobs_teardown)(Container *c);
        void (*copies_cancel)(Container *c);
        int (*limits_created)(Container *c);
        void (*limits_adopt)(Container *c);
} ContainerOps;

/* Every entry but the scope's (scope_start, scope_stop: left NULL for the front end, which reaches
 * systemd). */
void container_ops_init_real(ContainerOps *ops);
