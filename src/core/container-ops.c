/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <inttypes.h>
#include <linux/nsfs.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bandwidth.h"
#include "cgroup-util.h"
#include "container-copy.h"
#include "container-limits.h"
#include "container-net.h"
#include "container-ops.h"
#include "container.h"
#include "log.h"
#include "manager.h"
#include "parse-util.h"
#include "strv.h"
#include "job-runtime.h"
#include "worker.h"
#include "wshd-client.h"

#define WSHD_PATH LIBEXECDIR "/wshd"
#define HELLO_TIMEOUT_USEC (10 * USEC_PER_SEC)

/* ---- calls ------------------------------------------------------------------------------------------- */

int container_op_call_new(container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        ContainerOpCall *call;

        assert(done);
        assert(ret);

        call = calloc(1, sizeof(ContainerOpCall));
        if (!call)
                return -ENOMEM;
        call->done = done;
        call->userdata = userdata;
        *ret = call;
        return 0;
}

ContainerOpCall *container_op_call_free(ContainerOpCall *call) {
        if (!call)
                return NULL;
        if (call->impl && call->impl_free)
                call->impl_free(call->impl);
        free(call);
        return NULL;
}

void container_op_call_complete(ContainerOpCall *call, int result, const WardenError *error) {
        container_op_done_t done;
        void *userdata;

        assert(call);

        done = call->done;
        userdata = call->userdata;
        container_op_call_free(call);
        done(result, error, userdata);
}

static void worker_free_void(void *w) {
        worker_free(w);
}

/* The usual shape: a worker whose result is the call's. */
void container_op_call_worker_done(Worker *w, int result, void *userdata) {
        ContainerOpCall *call = userdata;

        assert(call);

        call->impl = NULL;
        worker_free(w);
        container_op_call_complete(call, result, NULL);
}

void container_op_call_set_worker(ContainerOpCall *call, Worker *w) {
        assert(call);
        assert(w);

        call->impl = w;
        call->impl_free = worker_free_void;
}

static int call_start_worker(
        Manager *m,
        const char *name,
        worker_run_t run,
        void *data,
        void (*data_free)(void *data),
        container_op_done_t done,
        void *userdata,
        ContainerOpCall **ret) {
        _cleanup_(container_op_call_freep) ContainerOpCall *call = NULL;
        Worker *w;
        int r;

        r = container_op_call_new(done, userdata, &call);
        if (r < 0) {
                if (data_free)
                        data_free(data);
                return r;
        }
        r = worker_start(m->event, name, run, data, data_free, container_op_call_worker_done, call, &w);
        if (r < 0)
                return r;
        container_op_call_set_worker(call, w);
        *ret = TAKE_PTR(call);
        return 0;
}

/* ---- the root file system ---------------------------------------------------------------------------- */

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

static int rootfs_setup_work(void *data) {
        RootfsJob *j = data;

        return rootfs_setup(&j->config);
}

static int real_rootfs_setup(
        Container *c,
        BindMount *bind_mounts,
        size_t n_bind_mounts,
        int userns_fd,
        container_op_done_t done,
        void *userdata,
        ContainerOpCall **ret) {
        Manager *m = c->manager;
        RootfsJob *j;

        j = calloc(1, sizeof(RootfsJob));
        if (!j) {
                safe_close(userns_fd);
                bind_mounts_free(bind_mounts, n_bind_mounts);
                return -ENOMEM;
        }
        j->bind_mounts = bind_mounts;
        j->n_bind_mounts = n_bind_mounts;
        j->config = (RootfsConfig){
                .base = j->strings[0] = strdup(c->rootfs),
                .base_resolved = true, /* checked and resolved before the Create started */
                .path = j->strings[1] = strdup(c->path),
                .hostname = j->strings[2] = strdup(c->handle),
                .user = j->strings[3] = strdup(m->config.user),
                .uid = c->uid,
                .host_ip = j->strings[4] = strdup(c->host_ip),
                .container_ip = j->strings[5] = strdup(c->container_ip),
                .bind_mounts = j->bind_mounts,
                .n_bind_mounts = j->n_bind_mounts,
                .disk_bytes = c->disk_limit,
                .disk_inodes = c->disk_inode_limit,
                .userns_uid = c->userns_uid,
                .userns_fd = c->userns_uid > 0 ? userns_fd : -EBADF,
                .userns_rootfs = m->config.userns_rootfs,
        };
        if (c->userns_uid == 0)
                safe_close(userns_fd);
        FOREACH_ARRAY(p, j->strings, ELEMENTSOF(j->strings))
                if (!*p) {
                        rootfs_job_free(j);
                        return -ENOMEM;
                }
        return call_start_worker(
                m, "warden-rootfs", rootfs_setup_work, j, rootfs_job_free, done, userdata, ret);
}

static int rootfs_teardown_work(void *data) {
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

static int real_rootfs_teardown(
        Manager *m, const char *path, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        return call_start_worker(m, "warden-rootfs", rootfs_teardown_work, p, free, done, userdata, ret);
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

static void real_remove_orphans(Manager *m, char **dirs) {
        Worker *w;

        (void) worker_start(
                m->event,
                "warden-orphans",
                orphan_dirs_work,
                dirs,
                strv_free_void,
                orphan_dirs_done,
                NULL,
                &w);
}

/* ---- wshd's helper ----------------------------------------------------------------------------------- */

typedef struct Helper {
        pid_t pid;
        sd_event_source *source; /* reaps it */
        ContainerOpCall *call;
} Helper;

static void helper_free(void *data) {
        Helper *h = data;

        if (!h)
                return;
        if (h->pid > 0) {
                (void) kill(h->pid, SIGKILL);
                (void) waitpid(h->pid, NULL, 0);
        }
        sd_event_source_disable_unref(h->source);
        free(h);
}

static int helper_exited(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Helper *h = userdata;
        ContainerOpCall *call = h->call;
        int status = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;

        h->pid = 0;
        call->impl = NULL;
        helper_free(h);
        container_op_call_complete(call, status, NULL);
        return 0;
}

/* posix_spawn() (vfork-like, no copy of our memory, safe with worker threads around) with go → fd 3, status
 * → fd 4, the seccomp filter → fd 5, stdin/stdout /dev/null, stderr inherited (the journal), nothing else,
 * no blocked signals. */
static int real_helper_spawn(
        Container *c,
        pid_t *ret_pid,
        int *ret_go_fd,
        int *ret_status_fd,
        container_op_done_t done,
        void *userdata,
        ContainerOpCall **ret) {
        _cleanup_close_pair_ int go[2] = EBADF_PAIR, status[2] = EBADF_PAIR;
        _cleanup_free_ char *arg_root = NULL, *arg_socket = NULL, *arg_hostname = NULL, *arg_userns = NULL;
        _cleanup_(container_op_call_freep) ContainerOpCall *call = NULL;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        Helper *h;
        sigset_t none;
        pid_t pid;
        int r;

        if (asprintf(&arg_root, "--root=%s/rootfs", c->path) < 0 ||
            asprintf(&arg_socket, "--socket=%s/wshd.sock", c->path) < 0 ||
            asprintf(&arg_hostname, "--hostname=%s", c->handle) < 0 ||
            (c->userns_uid > 0 && asprintf(&arg_userns, "--userns=%" PRIu32, c->userns_uid) < 0))
                return -ENOMEM;
        r = container_op_call_new(done, userdata, &call);
        if (r < 0)
                return r;
        h = calloc(1, sizeof(Helper));
        if (!h)
                return -ENOMEM;
        h->call = call;
        call->impl = h;
        call->impl_free = helper_free;
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
            (r = -posix_spawn_file_actions_adddup2(&fa, c->manager->seccomp_fd, 5)) < 0 ||
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

        h->pid = pid; /* from here on freeing the call kills and reaps it */
        r = sd_event_add_child(c->manager->event, &h->source, pid, WEXITED, helper_exited, h);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(h->source, "container-helper");
        *ret_pid = pid;
        *ret_go_fd = TAKE_FD(go[1]);
        *ret_status_fd = TAKE_FD(status[0]);
        *ret = TAKE_PTR(call);
        return 0;
}

static int real_helper_netns(pid_t helper, int *ret_fd) {
        _cleanup_free_ char *ns = NULL;
        int fd;

        if (asprintf(&ns, "/proc/%i/ns/net", (int) helper) < 0)
                return -ENOMEM;
        fd = open(ns, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

static int real_netns_userns(int netns_fd, int *ret_fd) {
        int fd = ioctl(netns_fd, NS_GET_USERNS);

        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

/* ---- wshd -------------------------------------------------------------------------------------------- */

static int pidfd_open_pid(pid_t pid) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);

        return fd < 0 ? -errno : fd;
}

static int real_leader_open(Container *c, int *ret_fd) {
        int fd = pidfd_open_pid(c->leader_pid);

        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

/* Is c->leader_pid still the container's wshd? Guards against a recycled PID: it must live in the
 * container's scope. */
static bool real_leader_is_alive(const Container *c) {
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

/* SIGKILL to wshd: as the init of the container's PID namespace takes every process of it along. Through
 * the pidfd we hold, or one opened after checking that the PID is still wshd in its scope. */
static void real_leader_kill(Container *c, int pidfd) {
        _cleanup_close_ int fd = -EBADF;

        if (pidfd < 0 && c->leader_pid > 0 && real_leader_is_alive(c)) {
                fd = pidfd_open_pid(c->leader_pid);
                pidfd = fd;
        }
        if (pidfd < 0)
                return;
        if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
                log_container_warning_errno(c, errno, "Failed to kill wshd of '%s': %m", c->handle);
}

static void wshd_call_free_void(void *p) {
        wshd_call_free(p);
}

static void hello_done(WshdCall *wc, int error, WshdMessage *reply, void *userdata) {
        ContainerOpCall *call = userdata;
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        int reply_error = 0;

        /* the reply belongs to the call: look at it before the call goes */
        if (error >= 0 && reply->type != WSHD_REPLY_HELLO)
                reply_error = reply->type == WSHD_REPLY_ERROR && reply->error > 0 ? -reply->error : -EPROTO;
        call->impl = NULL;
        wshd_call_free(wc);
        if (error >= 0 && reply_error < 0) {
                (void) warden_error_setf(
                        &e, WARDEN_ERROR_KIND_FAILED, reply_error, "wshd refused the greeting: %m");
                container_op_call_complete(call, reply_error, &e);
                return;
        }
        container_op_call_complete(call, error < 0 ? error : 0, NULL);
}

static int wshd_request(
        Container *c,
        WshdMessage *req,
        uint64_t timeout_usec,
        wshd_callback_t cb,
        container_op_done_t done,
        void *userdata,
        ContainerOpCall **ret) {
        _cleanup_(container_op_call_freep) ContainerOpCall *call = NULL;
        _cleanup_free_ char *socket_path = NULL;
        WshdCall *wc;
        int r;

        if (asprintf(&socket_path, "%s/wshd.sock", c->path) < 0)
                return -ENOMEM;
        r = container_op_call_new(done, userdata, &call);
        if (r < 0)
                return r;
        r = wshd_call(c->manager->event, socket_path, req, timeout_usec, cb, call, &wc);
        if (r < 0)
                return r;
        call->impl = wc;
        call->impl_free = wshd_call_free_void;
        *ret = TAKE_PTR(call);
        return 0;
}

static int real_wshd_hello(Container *c, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        WshdMessage hello;
        int r;

        wshd_message_init(&hello, WSHD_REQUEST_HELLO, 0);
        r = wshd_request(c, &hello, HELLO_TIMEOUT_USEC, hello_done, done, userdata, ret);
        wshd_message_done(&hello);
        return r;
}

static void stop_done(WshdCall *wc, int error, WshdMessage *reply, void *userdata) {
        ContainerOpCall *call = userdata;

        /* the reply belongs to the call: look at it before the call goes */
        if (error >= 0 && reply->type == WSHD_REPLY_ERROR)
                error = reply->error > 0 ? -reply->error : -EIO;
        else if (error >= 0 && reply->type != WSHD_REPLY_OK)
                error = -EPROTO;
        call->impl = NULL;
        wshd_call_free(wc);
        container_op_call_complete(call, error < 0 ? error : 0, NULL);
}

static int real_wshd_stop(
        Container *c,
        uint64_t timeout_usec,
        container_op_done_t done,
        void *userdata,
        ContainerOpCall **ret) {
        WshdMessage req;
        int r;

        wshd_message_init(&req, WSHD_REQUEST_STOP, 0);
        req.timeout_ms = (uint32_t) (timeout_usec / USEC_PER_MSEC);
        r = wshd_request(c, &req, timeout_usec + 10 * USEC_PER_SEC, stop_done, done, userdata, ret);
        wshd_message_done(&req);
        return r;
}

/* ---- network ----------------------------------------------------------------------------------------- */

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

static int network_setup_work(void *data) {
        NetworkJob *j = data;

        return network_setup(&j->config, j->netns_fd);
}

/* takes netns_fd */
static int real_network_setup(
        Container *c,
        const NetworkConfig *config,
        int netns_fd,
        container_op_done_t done,
        void *userdata,
        ContainerOpCall **ret) {
        NetworkJob *j;

        j = calloc(1, sizeof(NetworkJob));
        if (!j) {
                safe_close(netns_fd);
                return -ENOMEM;
        }
        j->config = *config;
        j->netns_fd = netns_fd;
        j->host_ip = strdup(config->host_ip);
        j->container_ip = strdup(config->container_ip);
        if (!j->host_ip || !j->container_ip) {
                network_job_free(j);
                return -ENOMEM;
        }
        j->config.host_ip = j->host_ip;
        j->config.container_ip = j->container_ip;
        return call_start_worker(
                c->manager, "warden-network", network_setup_work, j, network_job_free, done, userdata, ret);
}

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

static int real_network_delete(
        Manager *m, const char *ifname, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        char *name = strdup(ifname);

        if (!name)
                return -ENOMEM;
        return call_start_worker(m, "warden-network", link_deletion_work, name, free, done, userdata, ret);
}

/* ---- the bandwidth limit (container-limits.h) --------------------------------------------------------- */

static int real_bandwidth_setup(
        Container *c,
        const char *host_ifname,
        container_op_done_t done,
        void *userdata,
        ContainerOpCall **ret) {
        _cleanup_(container_op_call_freep) ContainerOpCall *call = NULL;
        Worker *w;
        int r;

        r = container_op_call_new(done, userdata, &call);
        if (r < 0)
                return r;
        r = container_bandwidth_start(c, host_ifname, container_op_call_worker_done, call, &w);
        if (r < 0)
                return r;
        container_op_call_set_worker(call, w);
        *ret = TAKE_PTR(call);
        return 0;
}

/* ---- the firewall bookkeeping (container-net.h) ------------------------------------------------------ */

static void firewall_job_cancel_void(void *p) {
        firewall_job_cancel(p);
}

static void firewall_done(int result, const char *message, void *userdata) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        ContainerOpCall *call = userdata;

        call->impl = NULL;
        if (result < 0 && message)
                (void) warden_error_setf(&e, WARDEN_ERROR_KIND_FAILED, result, "%s", message);
        container_op_call_complete(call, result, result < 0 && message ? &e : NULL);
}

static int firewall_call(
        int (*f)(Container *c, firewall_done_t done, void *userdata, FirewallJob **ret),
        Container *c,
        container_op_done_t done,
        void *userdata,
        ContainerOpCall **ret) {
        _cleanup_(container_op_call_freep) ContainerOpCall *call = NULL;
        FirewallJob *j = NULL;
        int r;

        r = container_op_call_new(done, userdata, &call);
        if (r < 0)
                return r;
        r = f(c, firewall_done, call, &j);
        if (r < 0)
                return r;
        if (!j) {
                *ret = NULL; /* nothing to do */
                return 0;
        }
        call->impl = j;
        call->impl_free = firewall_job_cancel_void;
        *ret = TAKE_PTR(call);
        return 0;
}

static int real_firewall_add(Container *c, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        return firewall_call(container_net_add, c, done, userdata, ret);
}

static int
real_firewall_remove(Container *c, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        return firewall_call(container_net_remove, c, done, userdata, ret);
}

void container_ops_init_real(ContainerOps *ops) {
        assert(ops);

        *ops = (ContainerOps){
                .rootfs_setup = real_rootfs_setup,
                .rootfs_teardown = real_rootfs_teardown,
                .remove_orphans = real_remove_orphans,
                .helper_spawn = real_helper_spawn,
                .helper_netns = real_helper_netns,
                .netns_userns = real_netns_userns,
                .leader_open = real_leader_open,
                .leader_is_alive = real_leader_is_alive,
                .leader_kill = real_leader_kill,
                .wshd_hello = real_wshd_hello,
                .wshd_stop = real_wshd_stop,
                .network_setup = real_network_setup,
                .network_delete = real_network_delete,
                .bandwidth_setup = real_bandwidth_setup,
                .firewall_add = real_firewall_add,
                .firewall_remove = real_firewall_remove,
                .firewall_adopt = container_net_adopt,
                .jobs_start = job_runtime_container_start,
                .jobs_adopt = job_runtime_container_adopt,
                .jobs_teardown = job_runtime_container_teardown,
                .copies_cancel = container_copies_cancel,
                .limits_created = container_limits_created,
                .limits_adopt = container_limits_adopt,
        };
}
