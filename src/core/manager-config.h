/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * wardend's configuration: /etc/warden/wardend.conf (see wardend(8) and conf/wardend.conf for every key).
 * A missing file means defaults; any bad line is an error that names file, line and key.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "macro.h"
#include "rootfs.h"

typedef struct IPv4Network {
        uint32_t address; /* host byte order */
        unsigned prefixlen;
} IPv4Network;

/* A list of networks (allow_networks, deny_networks). */
typedef struct IPv4NetworkList {
        IPv4Network *networks;
        size_t n;
} IPv4NetworkList;

typedef struct ManagerConfig {
        /* [daemon] */
        uint64_t idle_timeout_usec; /* 0: never exit when idle */
        int log_level;
        uint32_t max_containers;
        uint32_t max_calls_per_client; /* calls held in flight per unique bus name */
        /* [containers] */
        uint64_t grace_time_usec; /* 0: never destroy unreferenced containers */
        char *depot_path;
        char *default_rootfs;
        char *user;        /* the containers' unprivileged user */
        uint32_t uid_base; /* its uid (= gid) comes from [uid_base, uid_base + uid_count) */
        uint32_t uid_count;
        uint64_t stop_timeout_usec;      /* Stop(kill=false): SIGTERM, then SIGKILL after this long */
        uint64_t job_output_limit;       /* bytes of captured output a job may write (stdout + stderr) */
        uint32_t max_jobs_per_container; /* running jobs plus exited ones not linked yet */
        uint64_t cpu_quota;              /* Create's default cpu_quota (percent of one CPU), 0: none, or
                                            LIMIT_CPU_QUOTA_AUTO */
        uint64_t pids_limit;             /* Create's default pids_limit, 0: systemd's DefaultTasksMax= */
        /* user namespaces (Create option user_namespace): its default, and the host uids their ranges of
         * USERNS_RANGE_SIZE come from, [userns_uid_base, userns_uid_base + userns_uid_count) */
        bool user_namespace;
        uint32_t userns_uid_base;
        uint32_t userns_uid_count;
        UsernsRootfs userns_rootfs; /* their lower layer: idmapped, a shifted copy, or whichever works */
        /* [network] */
        IPv4Network pool;
        uint32_t mtu;
        /* [network], the policy (see firewall.h) */
        uint16_t port_range[2]; /* NetIn host ports picked from [first, last] */
        IPv4NetworkList allow_networks;
        IPv4NetworkList deny_networks;
        bool allow_host_access;
        bool enable_ip_forward;
        /* [access]: what a caller with org.warden.manage but without org.warden.host-paths may use
         * (normalised absolute paths, NULL-terminated, NULL: none), see bus-polkit.h */
        char **bind_sources;       /* bind mount sources: these trees */
        char **copy_directories;   /* CopyIn sources, CopyOut destinations: in these trees */
        char **rootfs_directories; /* rootfs: in these trees (besides the default rootfs) */
        bool force_user_namespace; /* containers of callers other than root always get a user namespace */
} ManagerConfig;

#define MANAGER_CONFIG_PATH SYSCONFDIR "/warden/wardend.conf"

/* wshd's socket is <depot>/<handle>/wshd.sock and must fit in sun_path (108 bytes) with a 64-character
 * handle. */
#define DEPOT_PATH_MAX 32

void manager_config_init(ManagerConfig *c);
void manager_config_done(ManagerConfig *c);

/*
 * Loads 'path' over the defaults into *c. On failure *c is left untouched and *reterr_message says what is
 * wrong. -ENOENT is not returned: a missing file means defaults. -EINVAL/-ERANGE for bad content, -ENOMEM,
 * other negative errno if the file cannot be read.
 */
int manager_config_load(ManagerConfig *c, const char *path, char **reterr_message);
/* Same, from a string (used by tests and the fuzzer). */
int manager_config_load_text(
        ManagerConfig *c, const char *filename, const char *text, char **reterr_message);

/* Writes the effective configuration in the file's own syntax. */
void manager_config_dump(const ManagerConfig *c, FILE *f);

/* Number of /30 networks in the pool. */
uint32_t manager_config_pool_size(const ManagerConfig *c);
/* Number of user namespace ranges in the pool. */
uint32_t manager_config_userns_ranges(const ManagerConfig *c);
