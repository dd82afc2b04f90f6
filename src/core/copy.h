/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Copying files and trees between the host and a container's root, like "cp -a" / "rsync -a": regular files
 * (content, mode, mtime), directories, symbolic links copied as links (never followed inside the tree),
 * hard links within the copied tree kept as hard links. Other file types (device nodes, FIFOs, sockets) are
 * skipped and logged. No sd-bus here: container-copy.c runs this on a worker thread.
 *
 * Each side of a copy is a root fd and an absolute path:
 *     AT_FDCWD      a host path, resolved as usual (symlinks in it are followed, magic links refused);
 *     a dir fd      a path inside that tree (a container's root), resolved for every component with
 *                   openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): absolute symlinks and ".." stay
 *                   inside, so nothing planted in the tree can make us read or write outside of it.
 * Below the named paths, the walk uses only *at() calls relative to directory fds with O_NOFOLLOW /
 * AT_SYMLINK_NOFOLLOW, and every file is created with O_CREAT|O_EXCL (or under a temporary name that is
 * then renamed over the old entry): a symlink in either tree is never followed.
 *
 * Path semantics (rsync's):
 *   - src ends with "/" (or is "/"): src must be a directory; its contents go into dst, which is created
 *     (as a copy of src: mode and mtime) if missing; an existing dst directory keeps its own mode, owner
 *     and mtime.
 *   - otherwise src itself is copied: to dst if dst does not exist; into dst/basename(src) if dst is a
 *     directory; over dst if dst is not a directory and src is not one either (replaced, never written
 *     through).
 *   - dst ends with "/": dst must be a directory or missing (then it is created, mode 0755).
 *   - The last component of dst is never followed: a symlink there is an error (-ELOOP).
 * Below the top, an existing entry is merged (directory onto directory: the existing one keeps its
 * metadata), replaced (a non-directory is replaced by whatever the source has there) or refused (-EISDIR:
 * a directory where the source has a non-directory).
 *
 * A copy that fails part-way leaves what it copied so far (and no temporary files).
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

#define UID_INVALID ((uid_t) -1)
#define GID_INVALID ((gid_t) -1)

/* Trees deeper than this are refused (the walk holds two fds per level). */
#define COPY_DEPTH_MAX 128

typedef struct CopyOptions {
        uid_t uid; /* owner of everything created; UID_INVALID: not changed (the caller's, i.e. root) */
        gid_t gid; /* GID_INVALID: not changed */
        /* false: S_ISUID and S_ISGID are removed from regular files (directories keep S_ISGID). */
        bool keep_setid;
        /* If set, checked between files and between chunks of a file: true stops the copy (-ECANCELED). */
        const atomic_bool *cancel;
        /* Tags the log messages (skipped files) with this container handle; may be NULL. */
        const char *container;
} CopyOptions;

typedef struct CopyStats {
        uint64_t files;       /* regular files written */
        uint64_t directories; /* directories created */
        uint64_t symlinks;
        uint64_t hardlinks; /* entries made as hard links to a file copied before */
        uint64_t skipped;   /* device nodes, FIFOs, sockets, a directory met inside its own copy */
        uint64_t bytes;
} CopyStats;

typedef struct CopyPlan CopyPlan;

/*
 * Checks a path given by a client: absolute and normalised (no "..", ".", "//"), except that it may end with
 * one "/" (significant, see above). Sets *ret_trailing_slash (may be NULL). -EINVAL otherwise.
 */
int copy_path_check(const char *path, bool *ret_trailing_slash);

/*
 * Resolves both sides and decides what goes where; writes nothing. The returned plan holds fds of the
 * source and of the destination directory, so a later rename of the named paths does not redirect it.
 * Errors that mean "these paths do not fit" (a client error), with a message for people in
 * *reterr_message (may be NULL):
 *     -EINVAL   a path is not absolute and normalised, or the source is not a regular file, directory or
 *               symlink;
 *     -ENOENT   the source, or the directory that is to contain the destination, does not exist;
 *     -ENOTDIR  a path component is not a directory, src or dst ends with "/" but is no directory, or a
 *               directory would replace a non-directory;
 *     -ELOOP    the destination is a symlink (never followed), or resolving a path met too many symlinks
 *               or a magic link.
 * Any other negative errno (-ENOMEM, -EACCES, -EMFILE, ...) is a failure to forward.
 */
int copy_plan_new(
        int src_root_fd,
        const char *src,
        int dst_root_fd,
        const char *dst,
        CopyPlan **ret,
        char **reterr_message);
CopyPlan *copy_plan_free(CopyPlan *p);

/*
 * Where the plan really reads (source) or writes (!source) on the side that is not a container's root: the
 * path of the fd it holds (host-path.h), plus the entry's name in it. What wardend checks a host path
 * against its allow-list with. -ESTALE if the fd has no path any more; -ENOMEM.
 */
int copy_plan_real_path(const CopyPlan *p, bool source, char **ret);
DEFINE_TRIVIAL_CLEANUP_FUNC(CopyPlan *, copy_plan_free);

/*
 * Copies as planned. ret_stats (may be NULL) is filled also on failure (what was done so far). Every
 * error is a failure of the copy, which may have left a partial destination; *reterr_message (may be NULL)
 * names the file and the reason. -ECANCELED: o->cancel was set; -EISDIR: a directory is in the way of a
 * file; -ELOOP: more than COPY_DEPTH_MAX levels; -ESTALE: an entry changed type while we copied it; any
 * other negative errno from the file system (-ENOSPC, -EROFS, -EIO, ...).
 */
int copy_plan_execute(CopyPlan *p, const CopyOptions *o, CopyStats *ret_stats, char **reterr_message);

/* copy_plan_new() + copy_plan_execute(), with the errors of both. */
int copy_tree(
        int src_root_fd,
        const char *src,
        int dst_root_fd,
        const char *dst,
        const CopyOptions *o,
        CopyStats *ret_stats,
        char **reterr_message);

/*
 * Owners given as "user:group" or "user" (then the user's primary group); each part a name or a number.
 * copy_owner_check() checks the syntax only (-EINVAL). copy_owner_resolve() looks the names up in the
 * host's user database (blocking: NSS): -EINVAL bad syntax, -ESRCH no such user or group (or a numeric
 * user without a passwd entry and without a group), other negative errno from NSS.
 */
int copy_owner_check(const char *owner);
int copy_owner_resolve(const char *owner, uid_t *ret_uid, gid_t *ret_gid);

/*
 * Copies the rest of src_fd into dst_fd: copy_file_range() in chunks of 1 MiB, or read()/write() through
 * *buffer (allocated here on first use, 64 KiB; the caller frees it) where the file systems cannot do
 * that. After each chunk 'step' (may be NULL) gets its size and may stop the copy with a negative errno.
 * 0 or a negative errno. Shared by CopyIn/CopyOut and the shifted copy of a rootfs (shift-copy.h).
 */
typedef int (*copy_step_t)(uint64_t bytes, void *userdata);
int copy_fd_data(int src_fd, int dst_fd, char **buffer, copy_step_t step, void *userdata);
