/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The shifted copy of a base rootfs: for a container with a user namespace whose base rootfs cannot be
 * idmapped (rootfs.h), a copy of the tree that shows the base's owners inside the container because every
 * uid and gid k of the base belongs to base + k on the host (k >= 65536: base + 65534, "nobody" inside),
 * as an idmapped mount would show them.
 *
 * What is copied, and how (a copy into a fresh directory that nobody else can write):
 *   - directories, regular files (content, FICLONE or copy_file_range where the file systems allow it),
 *     symbolic links (as links, never followed), FIFOs and sockets (made anew);
 *   - owner and group shifted, then the whole mode: S_ISUID/S_ISGID are kept (the owner is the container's
 *     own root or user, whose set-id programs give nothing the container does not have; and every job runs
 *     with no_new_privs anyway), then access and modification times;
 *   - hard links within the tree as hard links;
 *   - extended attributes of regular files and directories, as far as the destination takes them (one it
 *     refuses is dropped and counted, never an error): POSIX ACLs with their named users and groups
 *     shifted; security.capability rewritten as a namespaced (v3) capability whose root is the
 *     container's root, base + 0 (a v3 one of the base gets its root shifted, or is dropped if that is out
 *     of the range) -- what an idmapped mount shows -- so that file capabilities count only inside the
 *     container's user namespace; overlayfs' own trusted.overlay.* and user.overlay.* are left out (they
 *     would mean something to the container's overlay);
 *   - not copied: character and block device nodes (overlayfs whiteouts among them; a container's /dev is
 *     wshd's own, and a device node owned by the container's root would be one more way to a host device),
 *     extended attributes of symlinks, FIFOs and sockets, and directories that are mount points of another
 *     file system (the caller passes a clone of the base's mount alone, where none are seen: overlayfs
 *     does not see them either).
 * The walk uses only *at() calls relative to directory fds: nothing is ever resolved through a symlink of
 * the source, and a source entry that changes type while it is copied is an error (-ESTALE) rather than
 * something opened that should not be (a FIFO, a device).
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* Deeper trees are refused (-ELOOP): the walk holds two fds per level. */
#define SHIFT_COPY_DEPTH_MAX 128U

typedef struct ShiftCopyStats {
        uint64_t files;       /* regular files written */
        uint64_t directories; /* the top one included */
        uint64_t symlinks;
        uint64_t hardlinks; /* names made as links to a file copied before */
        uint64_t special;   /* FIFOs and sockets */
        uint64_t skipped;   /* device nodes, other file systems, unknown types */
        uint64_t bytes;
        uint64_t xattrs;         /* extended attributes copied */
        uint64_t xattrs_dropped; /* ... and left out or refused by the destination */
} ShiftCopyStats;

/* The host's uid (or gid) for id k inside a user namespace at 'base': base + k, or base + 65534 beyond the
 * range. base 0 means no shift at all. */
uid_t shift_id(uint32_t base, uint32_t id);

/*
 * A security.capability value (revision 1, 2 or 3; little endian, as on disk) as it must be written into
 * the shifted copy: revision 3 with rootid shift_id(base, rootid) (0 for revisions 1 and 2), in *ret
 * (XATTR_CAPS_SZ_3 = 24 bytes). base 0: copied as it is (*ret_size = size). -EINVAL: not a valid value;
 * -EOVERFLOW: a revision 3 value whose root is outside the range (it means nothing in the container).
 */
int shift_fscaps(const void *value, size_t size, uint32_t base, void *ret, size_t *ret_size);

/* A system.posix_acl_access or system.posix_acl_default value: the ids of its named users and groups
 * shifted, in place. -EINVAL: not a valid value. */
int shift_posix_acl(void *value, size_t size, uint32_t base);

/*
 * Copies everything below the directory src_fd into the directory dst_fd, which must be empty and
 * writable by no one else; then gives dst_fd itself the (shifted) owner, mode and times of src_fd. Both fds
 * (O_PATH ones will do) stay the caller's. Needs CAP_CHOWN and CAP_FOWNER (and CAP_DAC_READ_SEARCH for a
 * base that is not all readable) unless base is 0 and the caller owns every source file. Statistics in
 * *ret_stats (may be NULL), also after a failure; on failure, where it failed (relative to the top, "."
 * for the top itself) in *ret_failed (may be NULL; NULL if unknown). What was copied is left for the caller
 * to remove. -ELOOP: deeper than SHIFT_COPY_DEPTH_MAX; -ESTALE: the source changed under the copy; -ENOMEM;
 * other negative errno.
 */
int shift_copy_tree(int src_fd, int dst_fd, uint32_t base, ShiftCopyStats *ret_stats, char **ret_failed);
