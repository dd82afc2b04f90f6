/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Which host paths may reach a container (org.warden.Manager(5), HOST PATHS): the rules that no caller, not
 * even root, gets past, for a bind mount source and for a rootfs; and the allow-lists that let a caller
 * without the polkit action org.warden.host-paths use a host path at all.
 *
 * The rules are pure functions over absolute, normalised paths (path-util.h). A caller checks the path it
 * was given and the path it resolves to (host_path_open(): the fd it then uses, so that a symlink swapped in
 * later cannot redirect it), since either may be the one that names a forbidden tree.
 *
 * Never mounted, whether the path is the tree, is inside it or contains it (a parent such as "/"):
 *     /proc, /sys, /dev                    the kernel's interfaces and the host's devices;
 *     /run/dbus, /run/systemd, /run/warden host daemons' sockets and state (the system bus, systemd,
 *                                          wardend);
 *     the state trees given by the caller  wardend's state directory, /var/lib/warden, the depot and every
 *                                          container's directory (its writable layer, wshd's socket).
 * and /run as a whole: "/run" itself and any path that contains it (what is below /run is subject to the
 * rules above only).
 */

#include <stdbool.h>

typedef struct HostPathRefusal {
        const char *tree; /* the forbidden tree (static, or one of the caller's state trees) */
        const char *rule; /* what it is, for messages: "host daemons' sockets and state" */
        bool contains;    /* the path contains the tree (rather than being it or inside it) */
} HostPathRefusal;

/*
 * May 'path' be mounted into a container? 'state_trees' (NULL-terminated, may be NULL) are wardend's own
 * trees, normalised. 0: yes. -EPERM: never, *ret (may be NULL) says by which rule. -EINVAL: 'path' is not
 * absolute and normalised.
 */
int host_path_check_mountable(const char *path, char *const *state_trees, HostPathRefusal *ret);

/* Is 'path' one of 'dirs' or below one (all normalised)? 'dirs' NULL-terminated, may be NULL. */
bool host_path_in_dirs(const char *path, char *const *dirs);

/* An allow-list as it resolves now (realpath(3) of each entry, and of 'extra' if not NULL), for
 * host_path_in_dirs(); entries that cannot be resolved (missing) are left out. -ENOMEM. */
int host_path_resolve_dirs(char *const *dirs, const char *extra, char ***ret);

/*
 * Opens 'path' (absolute) with O_PATH|O_CLOEXEC and 'flags' (O_DIRECTORY, O_NOFOLLOW), symlinks followed
 * unless O_NOFOLLOW, and says where it really is: the path of the opened fd, as /proc/self/fd shows it.
 * Returns the fd; *ret_resolved (may be NULL) gets the path. Negative errno from open(); -ESTALE if the fd
 * has no path any more (deleted, or not reachable from our root).
 */
int host_path_open(const char *path, int flags, char **ret_resolved);

/* The path of an open fd, as /proc/self/fd shows it; -ESTALE if it has none any more (deleted, or not
 * reachable from our root). */
int host_path_of_fd(int fd, char **ret);
