/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A container's root filesystem, with libmount:
 *
 *     <path>/upper/   the writable layer (overlay upperdir)
 *     <path>/work/    overlay workdir
 *     <path>/rootfs/  the overlay: lowerdir=<base rootfs> (never written), upperdir, workdir
 *
 * or, with a disk limit, the writable layer on a file system of its own (disk.h), where upperdir and workdir
 * must both be:
 *
 *     <path>/disk.img, <path>/disk/   the file system's image and its mount point
 *     <path>/disk/upper/, <path>/disk/work/
 *
 * plus the request's bind mounts on top of <path>/rootfs, and the container's own files written through the
 * overlay (so they land in the writable layer): /etc/hostname, /etc/hosts, /etc/resolv.conf, and its
 * unprivileged user in /etc/passwd and /etc/group with a home directory.
 *
 * With a user namespace (userns_uid > 0), the base rootfs' uid k must show as userns_uid + k (which the
 * container sees as k), and everything wardend creates in the root belongs to userns_uid + its uid inside:
 * the writable layer holds host uids. The lower layer is then one of
 *
 *     an idmapped mount of the base rootfs, mounted at <path>/lower only while the overlay is mounted
 *     (overlayfs keeps a private clone of it): nothing copied, the base shared with every container;
 *
 *     <path>/lower/, a shifted copy of the base rootfs (shift-copy.h) on the depot's file system, outside
 *     the disk limit's file system (the base is never charged to the container), removed with <path>:
 *     for a base whose file system cannot be idmapped (overlayfs, NFS, tmpfs before Linux 6.3, ...),
 *     an idmapped mount (a mount that is one already), or a kernel whose overlayfs refuses idmapped
 *     layers (before 5.19).
 *
 * Which one is RootfsConfig.userns_rootfs' choice: USERNS_ROOTFS_AUTO tries the idmapped mount and falls
 * back to the copy (logged at info level with its cost), the others force one.
 *
 * rootfs_setup() and rootfs_teardown() are synchronous (mounting and removing trees can take a while):
 * wardend runs them in a worker process (worker.h), never on its event loop.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

typedef struct BindMount {
        char *source;      /* host path, absolute and normalised */
        char *destination; /* path inside the container, absolute and normalised, not "/" */
        bool read_only;
        /* with has_source_fd: an O_PATH fd of the source as it was checked (host-path.h), which is what gets
         * mounted, whatever the path names by then; closed by bind_mounts_free() */
        bool has_source_fd;
        int source_fd;
} BindMount;

/* Frees the n entries and the array itself. */
void bind_mounts_free(BindMount *b, size_t n);

/*
 * Checks a bind mount request from a client, before anything is done: both paths absolute and normalised (no
 * "..", no "." components, no "//"), destination not "/", source exists. -EINVAL with a message in
 * *reterr_message for a bad path; -EMEDIUMTYPE if the source does not exist.
 */
int bind_mount_check(const BindMount *b, char **reterr_message);

/* Checks a base rootfs: an absolute path to a directory. -ENOMEDIUM if missing or not a directory; -EINVAL
 * if not absolute/normalised, "/", or containing a character that the overlay's mount options cannot carry
 * (',' ':' '\\' or a control character). */
int rootfs_check(const char *path);

typedef enum UsernsRootfs {
        USERNS_ROOTFS_AUTO,  /* an idmapped mount where possible, else a shifted copy */
        USERNS_ROOTFS_IDMAP, /* an idmapped mount or nothing (-EOPNOTSUPP) */
        USERNS_ROOTFS_COPY,  /* a shifted copy, always */
        _USERNS_ROOTFS_MAX,
        _USERNS_ROOTFS_INVALID = -EINVAL,
} UsernsRootfs;

/* "auto", "idmap", "copy" (the configuration's userns_rootfs=); -EINVAL for anything else. */
const char *userns_rootfs_to_string(UsernsRootfs m);
UsernsRootfs userns_rootfs_from_string(const char *s);

typedef struct RootfsConfig {
        const char *base;   /* base rootfs (lowerdir) */
        bool base_resolved; /* the caller resolved and checked 'base': a symlink in it since is -ENOMEDIUM */
        const char *path;   /* the container's directory, <depot>/<handle>; created */
        const char *hostname; /* = handle */
        const char *user;     /* "vcap" */
        uid_t uid;            /* uid and gid of the user */
        const char *host_ip;  /* may be NULL */
        const char *container_ip;
        const BindMount *bind_mounts;
        size_t n_bind_mounts;
        uint64_t disk_bytes;  /* > 0: the writable layer on a file system of this size (disk.h) */
        uint64_t disk_inodes; /* and this many inodes; 0: mke2fs's default */
        uid_t userns_uid;     /* 0: no user namespace; else the host uid (= gid) of the container's root */
        int userns_fd; /* with userns_uid: the container's user namespace, for the idmapped lower layer */
        UsernsRootfs userns_rootfs; /* with userns_uid: idmapped or shifted copy (see above) */
} RootfsConfig;

/*
 * Creates <path> and its layout, mounts the overlay and the bind mounts (read-only ones really read-only,
 * submounts included: MOUNT_ATTR_RDONLY on the whole cloned tree), each destination resolved inside
 * <path>/rootfs with openat2(RESOLVE_IN_ROOT) and created if missing (a directory, or an empty file if the
 * source is not a directory), so that ".." and symlinks in the rootfs can never make it point outside. Also
 * makes sure the mount points /proc, /dev, /sys, /tmp exist in the container. On failure everything it did
 * is undone (nothing mounted, <path> removed). -ENOMEDIUM: base rootfs missing; -EMEDIUMTYPE: a bind source
 * vanished; -EEXIST: <path> exists already (it is left alone); -EINVAL: a bad path, user name, hostname or
 * address in cfg (see rootfs_check() and bind_mount_check()); -EOPNOTSUPP: with a user namespace and
 * USERNS_ROOTFS_IDMAP, the base rootfs cannot be idmapped (see above); other negative errno. With
 * base_resolved, a symlink that has appeared in the base's path since it was checked is -ENOMEDIUM too (what
 * was checked has gone from there). Needs Linux
 * >= 5.12 (open_tree(), move_mount(), mount_setattr(), openat2()), with a user namespace and an idmapped
 * lower layer >= 5.19 (overlayfs on idmapped layers).
 */
int rootfs_setup(const RootfsConfig *cfg);

/* Lazily detaches <path>/rootfs with everything mounted below it, and <path>/disk if there is one, then
 * removes <path> without crossing into other file systems. 0 if <path> does not exist. */
int rootfs_teardown(const char *path);

/*
 * The container's /etc/passwd and /etc/group, from the base rootfs' files ('contents'; NULL if the base has
 * none, then a root entry is made up): every line is kept except one for 'user', which is replaced by
 * "user:x:uid:uid::/home/user:/bin/sh" (passwd) or "user:x:gid:" (group), appended at the end. Pure
 * functions. -EINVAL: 'user' is not a valid user name (letters, digits, '_', '-', '.', starting with a
 * letter or '_', at most 31 characters); -ENOMEM.
 */
int rootfs_passwd_add(const char *contents, const char *user, uid_t uid, char **ret);
int rootfs_group_add(const char *contents, const char *user, gid_t gid, char **ret);
