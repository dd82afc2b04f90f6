/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "bus-calls.h"
#include "bus-copy.h"
#include "bus-error.h"
#include "bus-lifecycle.h"
#include "bus-polkit.h"
#include "bus-util.h"
#include "copy.h"
#include "host-path.h"
#include "log.h"
#include "manager.h"
#include "parse-util.h"
#include "strv.h"
#include "worker.h"

/* Everything the worker thread needs, owned by the worker (worker.h): copies, never pointers into the
 * loop's state. The loop reads the results in the done callback and sets 'cancel'. */
typedef struct CopyJob {
        bool copy_in;
        int root_fd; /* the container's root (O_PATH of <path>/rootfs, the overlay) */
        char *src;
        char *dst;
        char *owner; /* CopyOut: "" or "user[:group]" */
        uid_t uid;   /* CopyIn: the container's user */
        gid_t gid;
        char *handle;
        /* the caller has no host-path authority: the host side must really be in these (copy_directories,
         * resolved) */
        bool restricted;
        char **allowed_dirs;
        atomic_bool cancel;

        /* results */
        bool bad_request; /* the paths or the owner do not fit: InvalidArgs */
        bool started;     /* the copying itself began: the destination may be partial */
        bool denied;      /* the host side is outside the allowed directories: AccessDenied */
        char *message;
        CopyStats stats;
} CopyJob;

typedef struct CopyOperation CopyOperation;
struct CopyOperation {
        Manager *manager;
        Container *container; /* NULL once the container is being torn down */
        CopyOperation *next;  /* in Container.copies */
        CopyOperation *prev;
        sd_bus_message *request;
        Worker *worker;
        CopyJob *job; /* the worker's; valid as long as the worker is */
        char *handle;
        uint64_t started_usec;
        bool counted; /* in Manager.n_operations */
};

static void copy_job_free(void *data) {
        CopyJob *j = data;

        if (!j)
                return;
        safe_close(j->root_fd);
        free(j->src);
        free(j->dst);
        free(j->owner);
        free(j->handle);
        strv_free(j->allowed_dirs);
        free(j->message);
        free(j);
}

static inline void copy_job_freep(CopyJob **j) {
        copy_job_free(*j);
}

static void copy_operation_unlink(CopyOperation *op) {
        Container *c = op->container;

        if (!c)
                return;
        if (op->prev)
                op->prev->next = op->next;
        else
                c->copies = op->next;
        if (op->next)
                op->next->prev = op->prev;
        op->next = op->prev = NULL;
        op->container = NULL;
}

static void copy_operation_free(CopyOperation *op) {
        if (!op)
                return;
        copy_operation_unlink(op);
        worker_free(op->worker);
        if (op->counted) {
                assert(op->manager->n_operations > 0);
                op->manager->n_operations--;
        }
        bus_call_release(op->manager, op->request);
        free(op->handle);
        free(op);
}

void bus_copy_cancel(Container *c) {
        CopyOperation *op;

        while ((op = c->copies)) {
                copy_operation_unlink(op);
                atomic_store(&op->job->cancel, true);
                log_full_errno_container(
                                LOG_DEBUG,
                                0,
                                op->handle,
                                "Cancelling a copy of container '%s'.",
                                op->handle);
        }
}

/* ---- on the worker thread ------------------------------------------------------------------------- */

static int copy_work(void *data) {
        _cleanup_(copy_plan_freep) CopyPlan *plan = NULL;
        CopyJob *j = data;
        CopyOptions o = {
                .uid = UID_INVALID,
                .gid = GID_INVALID,
                .cancel = &j->cancel,
                .container = j->handle,
        };
        int r;

        if (j->copy_in) {
                o.uid = j->uid;
                o.gid = j->gid;
        } else if (!isempty(j->owner)) {
                /* NSS may block (LDAP, …): that is why it is done here */
                r = copy_owner_resolve(j->owner, &o.uid, &o.gid);
                if (IN_SET(r, -EINVAL, -ESRCH)) {
                        j->bad_request = true;
                        if (asprintf(&j->message,
                                     "Owner '%s': no such user or group on the host (a user without an "
                                     "entry in "
                                     "the user database needs a group: 'uid:gid').",
                                     j->owner) < 0)
                                j->message = NULL;
                        return r;
                }
                if (r < 0) {
                        if (asprintf(&j->message,
                                     "Failed to look up owner '%s': %s",
                                     j->owner,
                                     strerror(-r)) < 0)
                                j->message = NULL;
                        return r;
                }
        }

        if (j->copy_in)
                r = copy_plan_new(AT_FDCWD, j->src, j->root_fd, j->dst, &plan, &j->message);
        else
                r = copy_plan_new(j->root_fd, j->src, AT_FDCWD, j->dst, &plan, &j->message);
        if (r < 0) {
                j->bad_request = IN_SET(r, -EINVAL, -ENOENT, -ENOTDIR, -ELOOP);
                return r;
        }
        if (j->restricted) {
                /* the object the plan holds, not the path: a symlink swapped in since the loop's check
                 * changes nothing */
                _cleanup_free_ char *real = NULL;

                r = copy_plan_real_path(plan, j->copy_in, &real);
                if (r < 0 || !host_path_in_dirs(real, j->allowed_dirs)) {
                        j->denied = true;
                        if (asprintf(&j->message,
                                     "Host path '%s' is '%s', outside wardend's copy_directories: "
                                     "that needs the polkit action '%s'.",
                                     j->copy_in ? j->src : j->dst,
                                     real ?: "(gone)",
                                     WARDEN_POLKIT_ACTION_HOST_PATHS) < 0)
                                j->message = NULL;
                        return -EACCES;
                }
        }
        j->started = true;
        return copy_plan_execute(plan, &o, &j->stats, &j->message);
}

/* ---- on the loop --------------------------------------------------------------------------------- */

static void copy_done(Worker *w, int result, void *userdata) {
        CopyOperation *op = userdata;
        CopyJob *j = op->job;
        const char *method = j->copy_in ? "CopyIn" : "CopyOut";

        /* A teardown removes the root under a running copy: whatever error the copy met after the cancel
         * (ENOENT, say) is that, not a failure of its own. */
        if (result < 0 && atomic_load(&j->cancel))
                result = -ECANCELED;

        if (result >= 0) {
                log_full_errno_container(
                                LOG_INFO,
                                0,
                                op->handle,
                                "Container '%s': %s '%s' to '%s': %llu files, %llu directories, %llu "
                                "symlinks, "
                                "%llu hard links, %llu bytes, %llu skipped, in %llums.",
                                op->handle,
                                method,
                                j->src,
                                j->dst,
                                (unsigned long long) j->stats.files,
                                (unsigned long long) j->stats.directories,
                                (unsigned long long) j->stats.symlinks,
                                (unsigned long long) j->stats.hardlinks,
                                (unsigned long long) j->stats.bytes,
                                (unsigned long long) j->stats.skipped,
                                (unsigned long long) ((now_usec(CLOCK_MONOTONIC) - op->started_usec) / USEC_PER_MSEC));
                (void) sd_bus_reply_method_return(op->request, NULL);
        } else if (result == -ECANCELED) {
                log_full_errno_container(
                                LOG_INFO,
                                0,
                                op->handle,
                                "Container '%s': %s '%s' to '%s' stopped: the container is being destroyed.",
                                op->handle,
                                method,
                                j->src,
                                j->dst);
                (void) sd_bus_reply_method_errorf(
                                op->request,
                                WARDEN_ERROR_INVALID_STATE,
                                "Container '%s' was destroyed during the copy; the destination may be "
                                "incomplete.",
                                op->handle);
        } else if (j->denied || j->bad_request) {
                /* a host path outside copy_directories is worth a notice; a bad path is the caller's */
                log_full_errno_container(
                                j->denied ? LOG_NOTICE : LOG_DEBUG,
                                result,
                                op->handle,
                                "Container '%s': %s refused: %s",
                                op->handle,
                                method,
                                strna(j->message));
                (void) sd_bus_reply_method_errorf(
                                op->request,
                                j->denied ? SD_BUS_ERROR_ACCESS_DENIED : SD_BUS_ERROR_INVALID_ARGS,
                                "%s",
                                strna(j->message));
        } else if (result == -ENOMEM && !j->message)
                (void) sd_bus_reply_method_errno(op->request, ENOMEM, NULL);
        else {
                log_full_errno_container(
                                LOG_ERR,
                                result,
                                op->handle,
                                "Container '%s': %s failed: %s",
                                op->handle,
                                method,
                                j->message ?: strerror(-result));
                /* IOError, not the errno's own name: EEXIST or ENXIO would read as ContainerExists or
                 * NoSuchContainer, EACCES as if the caller were denied. */
                (void) sd_bus_reply_method_errorf(
                                op->request,
                                SD_BUS_ERROR_IO_ERROR,
                                "%s%s",
                                j->message ?: strerror(-result),
                                j->started ? " The destination may be incomplete." : "");
        }
        copy_operation_free(op);
}

/* An O_PATH fd of the container's root as the host sees it: <path>/rootfs, which must be a mount (the
 * overlay), not the bare directory under it. -ENOMEDIUM if it is not mounted. */
static int container_open_root(const Container *c) {
        _cleanup_close_ int dir_fd = -EBADF, fd = -EBADF;
        struct stat dir_st, root_st;

        if (!c->path)
                return -ENOMEDIUM;
        dir_fd = open(c->path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        fd = openat(dir_fd, "rootfs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(dir_fd, &dir_st) < 0 || fstat(fd, &root_st) < 0)
                return -errno;
        if (dir_st.st_dev == root_st.st_dev)
                return -ENOMEDIUM;
        return TAKE_FD(fd);
}

/* A host path of a copy as it resolves now: with a trailing "/" (a directory, followed by the copy) the
 * whole path if it exists, else its directory's real path plus its last component, which the copy does not
 * follow (copy.h); "/" for "/". Used to decide whether host-path authority is needed at all; the worker
 * checks again on what it opened. */
static int copy_host_path_resolve(const char *path, char **ret) {
        _cleanup_free_ char *p = strdup(path), *real = NULL;
        char *slash, *s;
        size_t n;

        if (!p)
                return -ENOMEM;
        n = strlen(p);
        if (n > 1 && p[n - 1] == '/') {
                p[n - 1] = '\0';
                s = realpath(p, NULL);
                if (s) {
                        *ret = s;
                        return 0;
                }
        }
        if (streq(p, "/")) {
                *ret = TAKE_PTR(p);
                return 0;
        }
        slash = strrchr(p, '/');
        *slash = '\0';
        real = realpath(slash == p ? "/" : p, NULL);
        if (!real)
                return -errno;
        if (asprintf(&s, "%s/%s", streq(real, "/") ? "" : real, slash + 1) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int method_copy(sd_bus_message *m, Container *c, sd_bus_error *error, bool copy_in) {
        _cleanup_strv_free_ char **allowed = NULL;
        _cleanup_free_ char *resolved = NULL;
        bool restricted = false;
        uid_t uid;
        _cleanup_(copy_job_freep) CopyJob *j = NULL;
        const char *src, *dst, *owner = "", *host, *inside;
        CopyOperation *op;
        unsigned n = 0;
        int r;

        r = bus_verify_manage(m, c->manager, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */
        r = sd_bus_message_read(m, "ss", &src, &dst);
        if (r < 0)
                return r;
        if (!copy_in) {
                r = sd_bus_message_read(m, "s", &owner);
                if (r < 0)
                        return r;
        }
        bus_lifecycle_reference(c, m);

        host = copy_in ? src : dst;
        inside = copy_in ? dst : src;
        if (copy_path_check(host, NULL) < 0)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Host path '%s' is not absolute and normalised (no '..', '.' or empty "
                                "components).",
                                host);
        if (copy_path_check(inside, NULL) < 0)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Container path '%s' is not absolute and normalised (no '..', '.' or empty "
                                "components).",
                                inside);
        if (!isempty(owner) && copy_owner_check(owner) < 0)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Invalid owner '%s': expected 'user:group', 'user' or '' (names or "
                                "numbers).",
                                owner);

        if (c->operation)
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_INVALID_STATE,
                                "Container '%s' is being created, stopped or destroyed.",
                                c->handle);
        if (c->state != CONTAINER_ACTIVE || !c->manager)
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_INVALID_STATE,
                                "Container '%s' is %s; files can be copied only while it is active.",
                                c->handle,
                                container_state_to_string(c->state));
        for (op = c->copies; op; op = op->next)
                n++;
        if (n >= COPY_PER_CONTAINER_MAX)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_LIMITS_EXCEEDED,
                                "Container '%s' has %u copies in flight already.",
                                c->handle,
                                n);

        /* Host paths: inside copy_directories, org.warden.manage is enough (the worker makes sure of it on
         * what it opens); elsewhere, org.warden.host-paths is needed; root may do anything. */
        r = bus_sender_uid(m, &uid);
        if (r < 0)
                return r;
        if (uid != 0) {
                r = host_path_resolve_dirs(c->manager->config.copy_directories, NULL, &allowed);
                if (r < 0)
                        return r;
                r = copy_host_path_resolve(host, &resolved);
                if (r == -ENOMEM)
                        return r;
                restricted = r >= 0 && host_path_in_dirs(resolved, allowed);
                if (!restricted) {
                        r = bus_verify_host_paths(m, c->manager, error);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                return 1; /* polkit is asked; the call comes back with its answer */
                }
        }

        j = calloc(1, sizeof(CopyJob));
        if (!j)
                return -ENOMEM;
        j->root_fd = container_open_root(c);
        if (j->root_fd == -ENOMEDIUM)
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_INVALID_STATE,
                                "The root file system of container '%s' is not mounted.",
                                c->handle);
        if (j->root_fd < 0)
                return sd_bus_error_set_errnof(
                                error,
                                j->root_fd,
                                "Failed to open the root of container '%s': %m",
                                c->handle);
        j->copy_in = copy_in;
        /* The container's user, uid = gid (see rootfs.c), as the host sees it (with a user namespace: in
         * its range); a container without one gets root's files. */
        j->uid = c->uid > 0 ? (uid_t) container_host_uid(c, c->uid) : UID_INVALID;
        j->gid = c->uid > 0 ? (gid_t) container_host_uid(c, c->uid) : GID_INVALID;
        j->src = strdup(src);
        j->dst = strdup(dst);
        j->owner = strdup(owner);
        j->handle = strdup(c->handle);
        if (!j->src || !j->dst || !j->owner || !j->handle)
                return -ENOMEM;
        j->restricted = restricted;
        j->allowed_dirs = TAKE_PTR(allowed);

        op = calloc(1, sizeof(CopyOperation));
        if (!op)
                return -ENOMEM;
        op->manager = c->manager;
        op->request = bus_call_hold(c->manager, m);
        op->started_usec = now_usec(CLOCK_MONOTONIC);
        op->handle = strdup(c->handle);
        op->job = j;
        if (!op->handle) {
                copy_operation_free(op);
                return -ENOMEM;
        }
        /* worker_start() owns the job from here on, also when it fails */
        r =
                        worker_start(c->manager->event,
                                     "warden-copy",
                                     copy_work,
                                     TAKE_PTR(j),
                                     copy_job_free,
                                     copy_done,
                                     op,
                                     &op->worker);
        if (r < 0) {
                op->job = NULL;
                copy_operation_free(op);
                return sd_bus_error_set_errnof(error, r, "Failed to start copying: %m");
        }

        op->container = c;
        op->next = c->copies;
        if (op->next)
                op->next->prev = op;
        c->copies = op;
        op->counted = true;
        c->manager->n_operations++;
        return 1;
}

int bus_copy_method_copy_in(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_copy(m, userdata, error, true);
}

int bus_copy_method_copy_out(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_copy(m, userdata, error, false);
}
