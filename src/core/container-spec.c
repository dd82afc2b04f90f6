/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container-spec.h"
#include "fileio.h"
#include "handle.h"
#include "host-path.h"
#include "limit-check.h"
#include "limit-error.h"
#include "log.h"
#include "manager.h"
#include "parse-util.h"
#include "path-util.h"
#include "strv.h"

void create_spec_done(CreateSpec *s) {
        assert(s);

        free(s->rootfs_resolved);
        bind_mounts_free(s->bind_mounts, s->n_bind_mounts);
        strv_free(s->properties);
        strv_free(s->env);
        *s = (CreateSpec){};
}

/* A failure with nothing to say but the errno: the front end words it (D-Bus: the errno's own error). */
static int fail_errno(WardenError *e, int error) {
        if (e) {
                warden_error_done(e);
                e->error = error;
        }
        return error;
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
static int check_mountable(
        const char *option,
        const char *given,
        const char *resolved,
        char *const *state_trees,
        WardenError *reterr) {
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
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_ARGS,
                        0,
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
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_ARGS,
                        0,
                        "Option '%s': '%s' resolves to '%s', which is not a normalised path.",
                        option,
                        given,
                        strna(resolved));
        return 0;
}

/* The source is opened here, once: the checks are about the object opened, and that is what the rootfs
 * worker mounts (BindMount.source_fd), whatever the path names by then. */
static int
check_bind_mount_source(Manager *manager, BindMount *b, char *const *state_trees, WardenError *reterr) {
        _cleanup_strv_free_ char **allowed = NULL;
        _cleanup_free_ char *real = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = check_mountable("bind_mounts", b->source, NULL, state_trees, reterr);
        if (r < 0)
                return r;
        fd = host_path_open(b->source, 0, &real);
        if (IN_SET(fd, -ENOENT, -ENOTDIR, -ESTALE))
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_BIND_MOUNT_SOURCE,
                        0,
                        "Bind mount source '%s' does not exist.",
                        b->source);
        if (fd < 0)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_FAILED,
                        fd,
                        "Failed to open bind mount source '%s': %m",
                        b->source);
        r = check_mountable("bind_mounts", b->source, real, state_trees, reterr);
        if (r < 0)
                return r;

        r = host_path_resolve_dirs(manager->config.bind_sources, NULL, &allowed);
        if (r < 0)
                return fail_errno(reterr, r);
        b->source_fd = TAKE_FD(fd);
        b->has_source_fd = true;
        return !host_path_in_dirs(real, allowed);
}

/* The rootfs must be a directory, mountable, and a path the overlay's options can carry also once resolved;
 * outside the default rootfs and rootfs_directories it needs host-path authority (returns 1). The resolved
 * path is what the container gets. */
static int check_rootfs(Manager *manager, CreateSpec *o, char *const *state_trees, WardenError *reterr) {
        const char *rootfs = o->rootfs ?: manager->config.default_rootfs;
        _cleanup_strv_free_ char **allowed = NULL;
        _cleanup_free_ char *real = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        /* first, so that "/" and the like are refused by the rule that names them */
        if (path_is_normalized(rootfs) > 0) {
                r = check_mountable("rootfs", rootfs, NULL, state_trees, reterr);
                if (r < 0)
                        return r;
        }
        r = rootfs_check(rootfs);
        if (r == -ENOMEDIUM)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_ROOTFS_NOT_FOUND,
                        0,
                        "Root file system '%s' does not exist or is not a directory%s.",
                        rootfs,
                        o->rootfs ? "" : " (build the default one with warden-mkrootfs)");
        if (r < 0)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_ARGS,
                        0,
                        "Option 'rootfs': '%s' is not an absolute, normalised path to a directory "
                        "other than '/'.",
                        rootfs);
        fd = host_path_open(rootfs, O_DIRECTORY, &real);
        if (IN_SET(fd, -ENOENT, -ENOTDIR, -ESTALE))
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_ROOTFS_NOT_FOUND,
                        0,
                        "Root file system '%s' does not exist or is not a directory.",
                        rootfs);
        if (fd < 0)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_FAILED,
                        fd,
                        "Failed to open root file system '%s': %m",
                        rootfs);
        r = check_mountable("rootfs", rootfs, real, state_trees, reterr);
        if (r < 0)
                return r;
        if (rootfs_check(real) < 0)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_ARGS,
                        0,
                        "Option 'rootfs': '%s' resolves to '%s', which the overlay's options cannot "
                        "carry.",
                        rootfs,
                        real);

        r = host_path_resolve_dirs(
                manager->config.rootfs_directories, manager->config.default_rootfs, &allowed);
        if (r < 0)
                return fail_errno(reterr, r);
        free(o->rootfs_resolved);
        o->rootfs_resolved = TAKE_PTR(real);
        return !host_path_in_dirs(o->rootfs_resolved, allowed);
}

int create_spec_check(Manager *manager, CreateSpec *o, WardenError *reterr) {
        _cleanup_strv_free_ char **state_trees = NULL;
        int r;

        assert(manager);
        assert(o);

        if (o->handle && !handle_is_valid(o->handle))
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_HANDLE,
                        0,
                        "Invalid container handle '%s': a handle has 1 to %i characters of "
                        "[A-Za-z0-9_.-] and "
                        "does not start with '.' or '-'.",
                        o->handle,
                        HANDLE_MAX);
        if (o->handle && manager_get_container(manager, o->handle))
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_CONTAINER_EXISTS,
                        0,
                        "Container '%s' exists already.",
                        o->handle);

        r = manager_state_trees(manager, &state_trees);
        if (r < 0)
                return fail_errno(reterr, r);
        r = check_rootfs(manager, o, state_trees, reterr);
        if (r < 0)
                return r;
        if (r > 0)
                o->needs_host_paths = true;

        FOREACH_ARRAY(b, o->bind_mounts, o->n_bind_mounts) {
                _cleanup_free_ char *msg = NULL;

                r = bind_mount_check(b, &msg);
                if (r == -EMEDIUMTYPE)
                        return warden_error_setf(
                                reterr,
                                WARDEN_ERROR_KIND_BIND_MOUNT_SOURCE,
                                0,
                                "Bind mount source '%s' does not exist.",
                                b->source);
                if (r == -ENOMEM)
                        return fail_errno(reterr, r);
                if (r < 0)
                        return warden_error_setf(
                                reterr,
                                WARDEN_ERROR_KIND_INVALID_ARGS,
                                0,
                                "Option 'bind_mounts': %s",
                                msg ?: "invalid bind mount.");
                r = check_bind_mount_source(manager, b, state_trees, reterr);
                if (r < 0)
                        return r;
                if (r > 0)
                        o->needs_host_paths = true;
        }

        if (o->have_user_namespace ? o->user_namespace : manager->config.user_namespace) {
                r = userns_supported();
                if (r < 0)
                        return warden_error_setf(
                                reterr,
                                WARDEN_ERROR_KIND_NOT_SUPPORTED,
                                r,
                                "Option 'user_namespace': this kernel has no user namespaces or "
                                "allows none (user.max_user_namespaces = 0): %s.",
                                strerror(-r));
        }

        if (o->cpu_weight > 10000)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_ARGS,
                        0,
                        "Option 'cpu_weight' must be from 1 to 10000 (0: default).");
        if (o->cpu_quota > 0 && o->cpu_quota != LIMIT_CPU_QUOTA_NONE &&
            limit_check_cpu_quota(o->cpu_quota) < 0)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_ARGS,
                        0,
                        "Option 'cpu_quota' must be from %u to %u percent of one CPU (0: the "
                        "configured default, 18446744073709551615: none).",
                        LIMIT_CPU_QUOTA_MIN,
                        LIMIT_CPU_QUOTA_MAX);
        if (o->pids_limit > 0 && limit_check_pids(o->pids_limit) < 0)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_ARGS,
                        0,
                        "Option 'pids_limit' must be from %u to %" PRIu64 " (0: the configured default).",
                        LIMIT_PIDS_MIN,
                        LIMIT_PIDS_MAX);
        if (o->memory_limit > 0 && limit_check_memory(o->memory_limit) < 0)
                return limit_error_memory_range(reterr, "Option 'memory_limit' (0: none)");
        if (o->disk_inode_limit > 0 && o->disk_limit == 0)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_ARGS,
                        0,
                        "Option 'disk_inode_limit' needs 'disk_limit': the inodes are those of the "
                        "writable layer's own file system.");
        if (o->disk_limit > 0 && limit_check_disk(o->disk_limit, o->disk_inode_limit) < 0)
                return limit_error_disk_range(reterr, "Option", "disk_limit", "disk_inode_limit");
        if ((o->bandwidth_rate > 0 || o->bandwidth_burst > 0) &&
            limit_check_bandwidth(o->bandwidth_rate, o->bandwidth_burst, manager->config.mtu) < 0)
                return limit_error_bandwidth_range(
                        reterr, manager->config.mtu, "Option 'bandwidth' ((0, 0): none)");
        for (char **p = o->properties; p && p[0]; p += 2)
                if (isempty(p[0]))
                        return warden_error_setf(
                                reterr,
                                WARDEN_ERROR_KIND_INVALID_ARGS,
                                0,
                                "Option 'properties': empty key.");
        return o->needs_host_paths;
}
