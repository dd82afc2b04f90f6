/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "container-copy.h"
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
        char *authority;
        atomic_bool cancel;

        /* results */
        bool bad_request; /* the paths or the owner do not fit: INVALID_ARGS */
        bool started;     /* the copying itself began: the destination may be partial */
        bool denied;      /* the host side is outside the allowed directories: ACCESS_DENIED */
        char *message;
        CopyStats stats;
} CopyJob;

struct ContainerCopy {
        Manager *manager;
        Container *container; /* NULL once the container is being torn down */
        ContainerCopy *next;  /* in Container.copies */
        ContainerCopy *prev;
        container_copy_done_t done;
        void *userdata;
        Worker *worker;
        CopyJob *job; /* the worker's; valid as long as the worker is */
        char *handle;
        uint64_t started_usec;
        bool counted; /* in Manager.n_operations */
};

/* FAILED with the errno and no message: the front end answers with the errno's own error. */
static int copy_error_errno(WardenError *e, int error) {
        warden_error_done(e);
        e->error = error;
        return error;
}

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
        free(j->authority);
        free(j->message);
        free(j);
}

static inline void copy_job_freep(CopyJob **j) {
        copy_job_free(*j);
}

static void container_copy_unlink(ContainerCopy *op) {
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

static void container_copy_free(ContainerCopy *op) {
        if (!op)
                return;
        container_copy_unlink(op);
        worker_free(op->worker);
        if (op->counted) {
                assert(op->manager->n_operations > 0);
                op->manager->n_operations--;
        }
        free(op->handle);
        free(op);
}

unsigned container_copies_count(const Container *c) {
        unsigned n = 0;

        assert(c);

        for (ContainerCopy *op = c->copies; op; op = op->next)
                n++;
        return n;
}

void container_copies_cancel(Container *c) {
        ContainerCopy *op;

        assert(c);

        while ((op = c->copies)) {
                container_copy_unlink(op);
                atomic_store(&op->job->cancel, true);
                log_container_debug(c, "Cancelling a copy of container '%s'.", op->handle);
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
                        if (asprintf(
                                    &j->message,
                                    "Owner '%s': no such user or group on the host (a user without an "
                                    "entry in "
                                    "the user database needs a group: 'uid:gid').",
                                    j->owner) < 0)
                                j->message = NULL;
                        return r;
                }
                if (r < 0) {
                        if (asprintf(
                                    &j->message,
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
                        if (asprintf(
                                    &j->message,
                                    "Host path '%s' is '%s', outside wardend's copy_directories: "
                                    "that needs %s.",
                                    j->copy_in ? j->src : j->dst,
                                    real ?: "(gone)",
                                    strna(j->authority)) < 0)
                                j->message = NULL;
                        return -EACCES;
                }
        }
        j->started = true;
        return copy_plan_execute(plan, &o, &j->stats, &j->message);
}

/* ---- on the loop --------------------------------------------------------------------------------- */

static void copy_done(Worker *w, int result, void *userdata) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        ContainerCopy *op = userdata;
        CopyJob *j = op->job;
        const char *method = j->copy_in ? "CopyIn" : "CopyOut";

        /* A teardown removes the root under a running copy: whatever error the copy met after the cancel
         * (ENOENT, say) is that, not a failure of its own. */
        if (result < 0 && atomic_load(&j->cancel))
                result = -ECANCELED;

        if (result >= 0)
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
        else if (result == -ECANCELED) {
                log_full_errno_container(
                        LOG_INFO,
                        0,
                        op->handle,
                        "Container '%s': %s '%s' to '%s' stopped: the container is being destroyed.",
                        op->handle,
                        method,
                        j->src,
                        j->dst);
                (void) warden_error_setf(
                        &e,
                        WARDEN_ERROR_KIND_INVALID_STATE,
                        0,
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
                (void) warden_error_setf(
                        &e,
                        j->denied ? WARDEN_ERROR_KIND_ACCESS_DENIED : WARDEN_ERROR_KIND_INVALID_ARGS,
                        result,
                        "%s",
                        strna(j->message));
        } else if (result == -ENOMEM && !j->message)
                (void) copy_error_errno(&e, -ENOMEM);
        else {
                log_full_errno_container(
                        LOG_ERR,
                        result,
                        op->handle,
                        "Container '%s': %s failed: %s",
                        op->handle,
                        method,
                        j->message ?: strerror(-result));
                /* IO_ERROR, not the errno's own kind: EEXIST or ENXIO would read as ContainerExists or
                 * NoSuchContainer, EACCES as if the caller were denied. */
                (void) warden_error_setf(
                        &e,
                        WARDEN_ERROR_KIND_IO_ERROR,
                        result,
                        "%s%s",
                        j->message ?: strerror(-result),
                        j->started ? " The destination may be incomplete." : "");
        }
        op->done(op->manager, result >= 0 ? NULL : &e, op->userdata);
        container_copy_free(op);
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
        if (!slash)
                return -EINVAL;
        *slash = '\0';
        real = realpath(slash == p ? "/" : p, NULL);
        if (!real)
                return -errno;
        if (asprintf(&s, "%s/%s", streq(real, "/") ? "" : real, slash + 1) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int container_copy_host_path_allowed(Container *c, const char *path, char ***ret_allowed_dirs) {
        _cleanup_strv_free_ char **allowed = NULL;
        _cleanup_free_ char *resolved = NULL;
        int r;

        assert(c);
        assert(c->manager);
        assert(path);
        assert(ret_allowed_dirs);

        r = host_path_resolve_dirs(c->manager->config.copy_directories, NULL, &allowed);
        if (r < 0)
                return r;
        r = copy_host_path_resolve(path, &resolved);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !host_path_in_dirs(resolved, allowed)) {
                *ret_allowed_dirs = NULL;
                return 0;
        }
        *ret_allowed_dirs = TAKE_PTR(allowed);
        return 1;
}

int container_copy_check(Container *c, WardenError *reterr) {
        unsigned n;

        assert(c);

        if (c->state != CONTAINER_ACTIVE || !c->manager)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_STATE,
                        0,
                        "Container '%s' is %s; files can be copied only while it is active.",
                        c->handle,
                        container_state_to_string(c->state));
        n = container_copies_count(c);
        if (n >= COPY_PER_CONTAINER_MAX)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_LIMITS_EXCEEDED,
                        0,
                        "Container '%s' has %u copies in flight already.",
                        c->handle,
                        n);
        return 0;
}

static int copy_job_new(Container *c, const ContainerCopyRequest *req, CopyJob **ret) {
        _cleanup_(copy_job_freep) CopyJob *j = NULL;

        j = calloc(1, sizeof(CopyJob));
        if (!j)
                return -ENOMEM;
        j->root_fd = -EBADF;
        j->copy_in = req->copy_in;
        /* The container's user, uid = gid (see rootfs.c), as the host sees it (with a user namespace: in
         * its range); a container without one gets root's files. */
        j->uid = c->uid > 0 ? (uid_t) container_host_uid(c, c->uid) : UID_INVALID;
        j->gid = c->uid > 0 ? (gid_t) container_host_uid(c, c->uid) : GID_INVALID;
        j->src = strdup(req->src);
        j->dst = strdup(req->dst);
        j->owner = strdup(req->owner ?: "");
        j->handle = strdup(c->handle);
        if (!j->src || !j->dst || !j->owner || !j->handle)
                return -ENOMEM;
        if (req->allowed_dirs) {
                j->restricted = true;
                for (char *const *d = req->allowed_dirs; *d; d++)
                        if (strv_extend(&j->allowed_dirs, *d) < 0)
                                return -ENOMEM;
                if (req->authority) {
                        j->authority = strdup(req->authority);
                        if (!j->authority)
                                return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(j);
        return 0;
}

int container_copy(
        Container *c,
        const ContainerCopyRequest *req,
        container_copy_done_t done,
        void *userdata,
        WardenError *reterr) {
        _cleanup_(copy_job_freep) CopyJob *j = NULL;
        ContainerCopy *op;
        int r;

        assert(c);
        assert(req);
        assert(req->src);
        assert(req->dst);
        assert(done);
        assert(reterr);

        r = container_copy_check(c, reterr);
        if (r < 0)
                return r;

        r = copy_job_new(c, req, &j);
        if (r < 0)
                return copy_error_errno(reterr, r);
        j->root_fd = container_open_root(c);
        if (j->root_fd == -ENOMEDIUM)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_STATE,
                        0,
                        "The root file system of container '%s' is not mounted.",
                        c->handle);
        if (j->root_fd < 0)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_FAILED,
                        j->root_fd,
                        "Failed to open the root of container '%s': %m",
                        c->handle);

        op = calloc(1, sizeof(ContainerCopy));
        if (!op)
                return copy_error_errno(reterr, -ENOMEM);
        op->manager = c->manager;
        op->done = done;
        op->userdata = userdata;
        op->started_usec = now_usec(CLOCK_MONOTONIC);
        op->handle = strdup(c->handle);
        op->job = j;
        if (!op->handle) {
                container_copy_free(op);
                return copy_error_errno(reterr, -ENOMEM);
        }
        /* worker_start() owns the job from here on, also when it fails */
        r = worker_start(
                c->manager->event,
                "warden-copy",
                copy_work,
                TAKE_PTR(j),
                copy_job_free,
                copy_done,
                op,
                &op->worker);
        if (r < 0) {
                op->job = NULL;
                container_copy_free(op);
                return warden_error_setf(reterr, WARDEN_ERROR_KIND_FAILED, r, "Failed to start copying: %m");
        }

        op->container = c;
        op->next = c->copies;
        if (op->next)
                op->next->prev = op;
        c->copies = op;
        op->counted = true;
        c->manager->n_operations++;
        return 0;
}
