/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Users of a container, looked up in its own /etc/passwd and /etc/group (never the host's, never through
 * NSS): the files are read through the container's root with openat2(RESOLVE_IN_ROOT), so a symlinked /etc
 * in an untrusted rootfs cannot point wardend at a host file.
 */

#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

typedef struct ContainerUser {
        uid_t uid;
        gid_t gid;
        char *home;    /* "/" if the entry has none */
        gid_t *groups; /* supplementary groups (of /etc/group), the primary one excluded */
        size_t n_groups;
} ContainerUser;

void container_user_done(ContainerUser *u);

/* Pure parsers, on the files' contents. -ENOENT: no such user; -EINVAL: the matching entry is malformed;
 * -ENOMEM. A name that is all digits matches an entry with that uid if no entry has that name. */
int passwd_lookup(const char *passwd, const char *name, ContainerUser *ret);
/* Adds the groups (other than u->gid) that list 'name' as a member; at most 'max' of them. */
int group_lookup_members(const char *group, const char *name, size_t max, ContainerUser *u);

/* Both, on <root>/etc/passwd and <root>/etc/group (a missing group file means no supplementary groups).
 * Reads at most 1 MiB of each. */
int container_user_lookup(const char *root, const char *name, size_t max_groups, ContainerUser *ret);
