/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What a Create asks for (container_create(), container-lifecycle.h), and its checks: the handle, the root
 * file system and the bind mount sources (opened here, once: what is checked is what gets mounted), the user
 * namespace, the limits' ranges, the properties. A front end fills a CreateSpec from its request, applies
 * its own rules (D-Bus: force_user_namespace, which depends on the caller), calls create_spec_check(), asks
 * for host-path authority if it says so, and calls container_create().
 */

#include <stdbool.h>
#include <stdint.h>

#include "rootfs.h"
#include "warden-error.h"

typedef struct Manager Manager;

typedef struct CreateSpec {
        const char *handle; /* NULL: a generated one; not owned */
        const char *rootfs; /* NULL: the configured default; not owned */
        BindMount *bind_mounts;
        size_t n_bind_mounts;
        uint32_t grace_time;
        bool have_grace_time;
        const char *network; /* an address of the /30 wanted, or NULL; not owned */
        char **properties;   /* key, value, …; owned */
        char **env;          /* KEY=VALUE; owned */
        uint64_t memory_limit;
        uint64_t cpu_weight;
        uint64_t cpu_quota; /* 0: the configured default; LIMIT_CPU_QUOTA_NONE: none */
        uint64_t pids_limit;
        uint64_t disk_limit;
        uint64_t disk_inode_limit;
        uint64_t bandwidth_rate;
        uint64_t bandwidth_burst;
        bool user_namespace;
        bool have_user_namespace; /* else the configuration's user_namespace */

        /* found by create_spec_check() */
        char *rootfs_resolved; /* the rootfs, symlinks resolved: what is mounted */
        bool needs_host_paths; /* a bind mount source or the rootfs is outside wardend's allow-lists */
} CreateSpec;

/* Frees what the spec owns and resets it. */
void create_spec_done(CreateSpec *s);

/*
 * Checks s and resolves its rootfs (s->rootfs_resolved), opening the bind mount sources. 0, or 1 if the
 * caller needs host-path authority (s->needs_host_paths); negative errno with *reterr: INVALID_HANDLE,
 * CONTAINER_EXISTS, ROOTFS_NOT_FOUND, BIND_MOUNT_SOURCE, INVALID_ARGS (naming the option), NOT_SUPPORTED (no
 * user namespaces), or FAILED (reterr without a message: only the errno says what).
 */
int create_spec_check(Manager *m, CreateSpec *s, WardenError *reterr);
