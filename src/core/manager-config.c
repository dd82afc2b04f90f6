/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conf-parser.h"
#include "confine.h"
#include "limit-check.h"
#include "log.h"
#include "manager-config.h"
#include "parse-util.h"
#include "path-util.h"
#include "strv.h"

#define DEFAULT_IDLE_TIMEOUT_USEC (30 * USEC_PER_SEC)
#define DEFAULT_MAX_CONTAINERS 1024
#define DEFAULT_MAX_CALLS_PER_CLIENT 64
#define DEFAULT_MAX_JOBS_PER_CONTAINER 256
#define DEFAULT_GRACE_TIME_USEC (300 * USEC_PER_SEC)
#define DEFAULT_DEPOT_PATH LOCALSTATEDIR "/lib/warden/containers"
#define DEFAULT_ROOTFS WARDEN_ROOTFS_DIR
#define DEFAULT_USER "vcap"
#define DEFAULT_UID_BASE 10001
#define DEFAULT_UID_COUNT 65536
#define DEFAULT_STOP_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define DEFAULT_JOB_OUTPUT_LIMIT (UINT64_C(10) * 1024 * 1024)
/* Inside the range that systemd reserves for containers (524288-1879048191, systemd's UIDS-GIDS.md), far
 * from the start of it: 1024 ranges of 65536 uids from 2^30. */
#define DEFAULT_USERNS_UID_BASE UINT32_C(0x40000000)
#define DEFAULT_USERNS_UID_COUNT (UINT32_C(1024) * USERNS_RANGE_SIZE)
#define DEFAULT_POOL_ADDRESS 0x0afe0000u /* 10.254.0.0 */
#define DEFAULT_POOL_PREFIXLEN 20        /* 1024 /30 networks */
#define DEFAULT_MTU 1500
#define DEFAULT_PORT_FIRST 61001 /* above Linux' default ip_local_port_range (32768-60999) */
#define DEFAULT_PORT_LAST 65000

/* A container network is a /30; the pool must hold at least one and should not be absurdly large. */
static int config_parse_pool(const char *value, void *data) {
        IPv4Network *n = data;
        uint32_t a;
        unsigned p;
        int r;

        r = parse_ipv4_cidr(value, &a, &p);
        if (r < 0)
                return r;
        if (p > 30 || p < 8)
                return -ERANGE;
        n->address = a;
        n->prefixlen = p;
        return 0;
}

static int config_parse_mtu(const char *value, void *data) {
        uint32_t v;
        int r;

        r = parse_uint32(value, &v);
        if (r < 0)
                return r;
        if (v < 576 || v > 65535) /* IPv4 minimum; the kernel's maximum for veth */
                return -ERANGE;
        *(uint32_t *) data = v;
        return 0;
}

/* A count from 1 to 65536: max_containers, max_calls_per_client, max_jobs_per_container. */
static int config_parse_limit(const char *value, void *data) {
        uint32_t v;
        int r;

        r = parse_uint32(value, &v);
        if (r < 0)
                return r;
        if (v < 1 || v > 65536)
                return -ERANGE;
        *(uint32_t *) data = v;
        return 0;
}

static int config_parse_depot(const char *value, void *data) {
        if (strlen(value) > DEPOT_PATH_MAX)
                return -ENAMETOOLONG;
        return config_parse_absolute_path(value, data);
}

/* A portable user name, as useradd accepts it by default. */
static int config_parse_user(const char *value, void *data) {
        size_t n = strlen(value);

        if (n == 0 || n > 32 || !strchr("abcdefghijklmnopqrstuvwxyz_", value[0]) ||
            strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
                return -EINVAL;
        return config_parse_string(value, data);
}

static int config_parse_uid_base(const char *value, void *data) {
        uint32_t v;
        int r;

        r = parse_uint32(value, &v);
        if (r < 0)
                return r;
        if (v < 1000 || v > UINT32_C(0x7fffffff)) /* not a system uid; well below (uid_t) -1 */
                return -ERANGE;
        *(uint32_t *) data = v;
        return 0;
}

static int config_parse_uid_count(const char *value, void *data) {
        uint32_t v;
        int r;

        r = parse_uint32(value, &v);
        if (r < 0)
                return r;
        if (v < 1 || v > UINT32_C(0x1000000))
                return -ERANGE;
        *(uint32_t *) data = v;
        return 0;
}

/* Whole ranges, above the system users. */
static int config_parse_userns_uid(const char *value, void *data) {
        uint32_t v;
        int r;

        r = parse_uint32(value, &v);
        if (r < 0)
                return r;
        if (v < USERNS_RANGE_SIZE || v % USERNS_RANGE_SIZE != 0)
                return -ERANGE;
        *(uint32_t *) data = v;
        return 0;
}

static int config_parse_userns_rootfs(const char *value, void *data) {
        int m = userns_rootfs_from_string(value);

        if (m < 0)
                return m;
        *(UsernsRootfs *) data = (UsernsRootfs) m;
        return 0;
}

/* Link answers with the whole output in one D-Bus message, and the system bus refuses messages over 32 MiB
 * (dbus-daemon's default max_message_size). */
static int config_parse_job_output_limit(const char *value, void *data) {
        uint64_t v;
        int r;

        r = parse_size(value, &v);
        if (r < 0)
                return r;
        if (v < 1024 || v > UINT64_C(16) * 1024 * 1024)
                return -ERANGE;
        *(uint64_t *) data = v;
        return 0;
}

/* "N%" or "N" (percent of one CPU), 0 for none, or "auto". */
static int config_parse_cpu_quota(const char *value, void *data) {
        _cleanup_free_ char *number = NULL;
        size_t n = strlen(value);
        uint64_t v;
        int r;

        if (streq(value, "auto")) {
                *(uint64_t *) data = LIMIT_CPU_QUOTA_AUTO;
                return 0;
        }
        number = strndup(value, n > 0 && value[n - 1] == '%' ? n - 1 : n);
        if (!number)
                return -ENOMEM;
        r = parse_uint64(number, &v);
        if (r < 0)
                return r;
        if (v > 0 && limit_check_cpu_quota(v) < 0)
                return -ERANGE;
        *(uint64_t *) data = v;
        return 0;
}

/* A number of tasks, or 0 for systemd's default. */
static int config_parse_pids_limit(const char *value, void *data) {
        uint64_t v;
        int r;

        r = parse_uint64(value, &v);
        if (r < 0)
                return r;
        if (v > 0 && limit_check_pids(v) < 0)
                return -ERANGE;
        *(uint64_t *) data = v;
        return 0;
}

/* "first-last", 1 <= first <= last <= 65535. */
static int config_parse_port_range(const char *value, void *data) {
        uint16_t *range = data;
        const char *dash = strchr(value, '-');
        _cleanup_free_ char *first = NULL;
        uint32_t a, b;

        if (!dash)
                return -EINVAL;
        first = strndup(value, (size_t) (dash - value));
        if (!first)
                return -ENOMEM;
        if (parse_uint32(first, &a) < 0 || parse_uint32(dash + 1, &b) < 0)
                return -EINVAL;
        if (a < 1 || b > 65535 || a > b)
                return -ERANGE;
        range[0] = (uint16_t) a;
        range[1] = (uint16_t) b;
        return 0;
}

/* Networks a.b.c.d/n (or single addresses) separated by spaces or commas; empty: none. Replaces the list. */
static int config_parse_networks(const char *value, void *data) {
        IPv4NetworkList *l = data, n = {};
        _cleanup_free_ char *copy = strdup(value);
        char *p, *word;

        if (!copy)
                return -ENOMEM;
        p = copy;
        while ((word = strsep(&p, " \t,"))) {
                IPv4Network *grown;
                uint32_t a;
                unsigned prefixlen = 32;
                int r;

                if (word[0] == '\0')
                        continue;
                if (strchr(word, '/'))
                        r = parse_ipv4_cidr(word, &a, &prefixlen);
                else {
                        struct in_addr in;

                        r = inet_pton(AF_INET, word, &in) == 1 ? 0 : -EINVAL;
                        a = ntohl(in.s_addr);
                }
                if (r < 0) {
                        free(n.networks);
                        return -EINVAL;
                }
                grown = reallocarray(n.networks, n.n + 1, sizeof(IPv4Network));
                if (!grown) {
                        free(n.networks);
                        return -ENOMEM;
                }
                n.networks = grown;
                n.networks[n.n++] = (IPv4Network){ .address = a, .prefixlen = prefixlen };
        }
        free(l->networks);
        *l = n;
        return 0;
}

/* Absolute, normalised paths separated by blanks; empty: none. Replaces the list. */
static int config_parse_path_list(const char *value, void *data) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *copy = strdup(value);
        char *p, *word;
        int r;

        if (!copy)
                return -ENOMEM;
        p = copy;
        while ((word = strsep(&p, " \t"))) {
                if (word[0] == '\0')
                        continue;
                r = path_is_normalized(word);
                if (r < 0)
                        return r;
                if (r == 0)
                        return -EINVAL;
                if (strv_contains(l, word))
                        continue;
                r = strv_extend(&l, word);
                if (r < 0)
                        return r;
        }
        strv_free(*(char ***) data);
        *(char ***) data = TAKE_PTR(l);
        return 0;
}

static const ConfigItem config_items[] = {
        { "daemon",
          "idle_timeout",
          config_parse_sec,
          offsetof(ManagerConfig, idle_timeout_usec),
          "a time span such as 30, 30s, 2min, or 0 to never exit" },
        { "daemon",
          "log_level",
          config_parse_log_level,
          offsetof(ManagerConfig, log_level),
          "one of emerg, alert, crit, err, warning, notice, info, debug" },
        { "daemon",
          "max_containers",
          config_parse_limit,
          offsetof(ManagerConfig, max_containers),
          "a number from 1 to 65536" },
        { "daemon",
          "max_calls_per_client",
          config_parse_limit,
          offsetof(ManagerConfig, max_calls_per_client),
          "a number from 1 to 65536" },
        { "containers",
          "grace_time",
          config_parse_sec,
          offsetof(ManagerConfig, grace_time_usec),
          "a time span such as 300, 5min, or 0 for never" },
        { "containers",
          "depot",
          config_parse_depot,
          offsetof(ManagerConfig, depot_path),
          "an absolute path without '..' of at most 32 characters" },
        { "containers",
          "rootfs",
          config_parse_absolute_path,
          offsetof(ManagerConfig, default_rootfs),
          "an absolute path without '..'" },
        { "containers",
          "user",
          config_parse_user,
          offsetof(ManagerConfig, user),
          "a user name of [a-z0-9_-], starting with a letter or '_', at most 32 characters" },
        { "containers",
          "uid_base",
          config_parse_uid_base,
          offsetof(ManagerConfig, uid_base),
          "a number from 1000 to 2147483647" },
        { "containers",
          "uid_count",
          config_parse_uid_count,
          offsetof(ManagerConfig, uid_count),
          "a number from 1 to 16777216" },
        { "containers",
          "stop_timeout",
          config_parse_sec,
          offsetof(ManagerConfig, stop_timeout_usec),
          "a time span such as 10, 10s, 500ms" },
        { "containers",
          "job_output_limit",
          config_parse_job_output_limit,
          offsetof(ManagerConfig, job_output_limit),
          "a size from 1K to 16M such as 10M (K, M, G: powers of 1024)" },
        { "containers",
          "max_jobs_per_container",
          config_parse_limit,
          offsetof(ManagerConfig, max_jobs_per_container),
          "a number from 1 to 65536" },
        { "containers",
          "cpu_quota",
          config_parse_cpu_quota,
          offsetof(ManagerConfig, cpu_quota),
          "a percentage of one CPU from 1% to 100000%, 0 for none, or auto" },
        { "containers",
          "pids_limit",
          config_parse_pids_limit,
          offsetof(ManagerConfig, pids_limit),
          "a number of tasks from 1 to 4194304, or 0 for systemd's default" },
        { "containers",
          "user_namespace",
          config_parse_bool,
          offsetof(ManagerConfig, user_namespace),
          "a boolean (yes/no, true/false, on/off, 1/0)" },
        { "containers",
          "userns_uid_base",
          config_parse_userns_uid,
          offsetof(ManagerConfig, userns_uid_base),
          "a multiple of 65536, at least 65536" },
        { "containers",
          "userns_uid_count",
          config_parse_userns_uid,
          offsetof(ManagerConfig, userns_uid_count),
          "a multiple of 65536, at least 65536" },
        { "containers",
          "userns_rootfs",
          config_parse_userns_rootfs,
          offsetof(ManagerConfig, userns_rootfs),
          "one of auto, idmap, copy" },
        { "network",
          "pool",
          config_parse_pool,
          offsetof(ManagerConfig, pool),
          "an IPv4 network a.b.c.d/N with N from 8 to 30 and no host bits set" },
        { "network", "mtu", config_parse_mtu, offsetof(ManagerConfig, mtu), "a number from 576 to 65535" },
        { "network",
          "port_range",
          config_parse_port_range,
          offsetof(ManagerConfig, port_range),
          "two ports FIRST-LAST with 1 <= FIRST <= LAST <= 65535" },
        { "network",
          "allow_networks",
          config_parse_networks,
          offsetof(ManagerConfig, allow_networks),
          "IPv4 addresses or networks a.b.c.d/N without host bits, separated by spaces or commas" },
        { "network",
          "deny_networks",
          config_parse_networks,
          offsetof(ManagerConfig, deny_networks),
          "IPv4 addresses or networks a.b.c.d/N without host bits, separated by spaces or commas" },
        { "network",
          "allow_host_access",
          config_parse_bool,
          offsetof(ManagerConfig, allow_host_access),
          "a boolean (yes/no)" },
        { "network",
          "enable_ip_forward",
          config_parse_bool,
          offsetof(ManagerConfig, enable_ip_forward),
          "a boolean (yes/no)" },
        { "access",
          "bind_sources",
          config_parse_path_list,
          offsetof(ManagerConfig, bind_sources),
          "absolute, normalised paths separated by blanks" },
        { "access",
          "copy_directories",
          config_parse_path_list,
          offsetof(ManagerConfig, copy_directories),
          "absolute, normalised paths separated by blanks" },
        { "access",
          "rootfs_directories",
          config_parse_path_list,
          offsetof(ManagerConfig, rootfs_directories),
          "absolute, normalised paths separated by blanks" },
        { "access",
          "force_user_namespace",
          config_parse_bool,
          offsetof(ManagerConfig, force_user_namespace),
          "a boolean (yes/no)" },
};

void manager_config_init(ManagerConfig *c) {
        assert(c);

        *c = (ManagerConfig){
                .idle_timeout_usec = DEFAULT_IDLE_TIMEOUT_USEC,
                .log_level = LOG_INFO,
                .max_containers = DEFAULT_MAX_CONTAINERS,
                .max_calls_per_client = DEFAULT_MAX_CALLS_PER_CLIENT,
                .grace_time_usec = DEFAULT_GRACE_TIME_USEC,
                .depot_path = NULL,
                .default_rootfs = NULL,
                .user = NULL,
                .uid_base = DEFAULT_UID_BASE,
                .uid_count = DEFAULT_UID_COUNT,
                .stop_timeout_usec = DEFAULT_STOP_TIMEOUT_USEC,
                .job_output_limit = DEFAULT_JOB_OUTPUT_LIMIT,
                .max_jobs_per_container = DEFAULT_MAX_JOBS_PER_CONTAINER,
                .cpu_quota = LIMIT_CPU_QUOTA_AUTO,
                .user_namespace = false,
                .userns_uid_base = DEFAULT_USERNS_UID_BASE,
                .userns_uid_count = DEFAULT_USERNS_UID_COUNT,
                .userns_rootfs = USERNS_ROOTFS_AUTO,
                .pool = { .address = DEFAULT_POOL_ADDRESS, .prefixlen = DEFAULT_POOL_PREFIXLEN },
                .mtu = DEFAULT_MTU,
                .port_range = { DEFAULT_PORT_FIRST, DEFAULT_PORT_LAST },
                .allow_host_access = false,
                .enable_ip_forward = true,
        };
}

void manager_config_done(ManagerConfig *c) {
        assert(c);

        c->depot_path = mfree(c->depot_path);
        c->default_rootfs = mfree(c->default_rootfs);
        c->user = mfree(c->user);
        c->allow_networks.networks = mfree(c->allow_networks.networks);
        c->allow_networks.n = 0;
        c->deny_networks.networks = mfree(c->deny_networks.networks);
        c->deny_networks.n = 0;
        c->bind_sources = strv_free(c->bind_sources);
        c->copy_directories = strv_free(c->copy_directories);
        c->rootfs_directories = strv_free(c->rootfs_directories);
}

static int manager_config_fill_defaults(ManagerConfig *c, const char *path, char **reterr_message) {
        if (!c->depot_path) {
                c->depot_path = strdup(DEFAULT_DEPOT_PATH);
                if (!c->depot_path)
                        return -ENOMEM;
        }
        if (!c->default_rootfs) {
                c->default_rootfs = strdup(DEFAULT_ROOTFS);
                if (!c->default_rootfs)
                        return -ENOMEM;
        }
        if (!c->user) {
                c->user = strdup(DEFAULT_USER);
                if (!c->user)
                        return -ENOMEM;
        }
        if ((uint64_t) c->uid_base + c->uid_count > UINT32_C(0xffffffff))
                return -ERANGE;
        /* The user namespaces' host uids are nobody's but theirs: not the containers' users', and not
         * (uid_t) -1. */
        if ((uint64_t) c->userns_uid_base + c->userns_uid_count > UINT32_C(0xffffffff) ||
            ((uint64_t) c->userns_uid_base < (uint64_t) c->uid_base + c->uid_count &&
             (uint64_t) c->uid_base < (uint64_t) c->userns_uid_base + c->userns_uid_count)) {
                if (reterr_message &&
                    asprintf(
                            reterr_message,
                            "%s: [containers] userns_uid_base=%" PRIu32 ", userns_uid_count=%" PRIu32
                            ": the range must end below 4294967295 and not overlap uid_base=%" PRIu32
                            ", uid_count=%" PRIu32 ".",
                            path,
                            c->userns_uid_base,
                            c->userns_uid_count,
                            c->uid_base,
                            c->uid_count) < 0)
                        *reterr_message = NULL;
                return -ERANGE;
        }
        return 0;
}

/* Parses into a copy, so that a bad file leaves the configuration in force untouched (SIGHUP reload). */
static int
manager_config_apply(ManagerConfig *c, const char *path, const char *text, char **reterr_message) {
        ManagerConfig n;
        int r;

        manager_config_init(&n);
        if (text)
                r = config_parse_text(
                        path, text, config_items, ELEMENTSOF(config_items), &n, reterr_message);
        else
                r = config_parse_file(path, config_items, ELEMENTSOF(config_items), &n, reterr_message);
        if (r == -ENOENT)
                r = 0;
        if (r >= 0)
                r = manager_config_fill_defaults(&n, path, reterr_message);
        if (r < 0) {
                manager_config_done(&n);
                return r;
        }
        manager_config_done(c);
        *c = n;
        return 0;
}

int manager_config_load(ManagerConfig *c, const char *path, char **reterr_message) {
        return manager_config_apply(c, path, NULL, reterr_message);
}

int manager_config_load_text(
        ManagerConfig *c, const char *filename, const char *text, char **reterr_message) {
        return manager_config_apply(c, filename, text, reterr_message);
}

static void dump_sec(FILE *f, const char *key, uint64_t usec) {
        if (usec == USEC_INFINITY)
                fprintf(f, "%s = infinity\n", key);
        else if (usec % USEC_PER_SEC == 0)
                fprintf(f, "%s = %llus\n", key, (unsigned long long) (usec / USEC_PER_SEC));
        else
                fprintf(f, "%s = %lluus\n", key, (unsigned long long) usec);
}

static void dump_networks(FILE *f, const char *key, const IPv4NetworkList *l) {
        fprintf(f, "%s =", key);
        for (size_t i = 0; i < l->n; i++) {
                struct in_addr a = { .s_addr = htonl(l->networks[i].address) };
                char buf[INET_ADDRSTRLEN];

                fprintf(f, " %s/%u", inet_ntop(AF_INET, &a, buf, sizeof(buf)), l->networks[i].prefixlen);
        }
        fputc('\n', f);
}

static void dump_paths(FILE *f, const char *key, char *const *l) {
        fprintf(f, "%s =", key);
        for (char *const *p = l; p && *p; p++)
                fprintf(f, " %s", *p);
        fputc('\n', f);
}

void manager_config_dump(const ManagerConfig *c, FILE *f) {
        struct in_addr a = { .s_addr = htonl(c->pool.address) };
        char buf[INET_ADDRSTRLEN];

        assert(c);
        assert(f);

        fputs("[daemon]\n", f);
        dump_sec(f, "idle_timeout", c->idle_timeout_usec);
        fprintf(f, "log_level = %s\n", log_level_to_string(c->log_level));
        fprintf(f, "max_containers = %u\n", c->max_containers);
        fprintf(f, "max_calls_per_client = %u\n", c->max_calls_per_client);
        fputs("\n[containers]\n", f);
        dump_sec(f, "grace_time", c->grace_time_usec);
        fprintf(f, "depot = %s\n", strna(c->depot_path));
        fprintf(f, "rootfs = %s\n", strna(c->default_rootfs));
        fprintf(f, "user = %s\n", strna(c->user));
        fprintf(f, "uid_base = %u\n", c->uid_base);
        fprintf(f, "uid_count = %u\n", c->uid_count);
        dump_sec(f, "stop_timeout", c->stop_timeout_usec);
        fprintf(f, "job_output_limit = %llu\n", (unsigned long long) c->job_output_limit);
        fprintf(f, "max_jobs_per_container = %u\n", c->max_jobs_per_container);
        if (c->cpu_quota == LIMIT_CPU_QUOTA_AUTO)
                fprintf(f, "cpu_quota = auto\n");
        else
                fprintf(f, "cpu_quota = %llu%%\n", (unsigned long long) c->cpu_quota);
        fprintf(f, "pids_limit = %llu\n", (unsigned long long) c->pids_limit);
        fprintf(f, "user_namespace = %s\n", c->user_namespace ? "yes" : "no");
        fprintf(f, "userns_uid_base = %u\n", c->userns_uid_base);
        fprintf(f, "userns_uid_count = %u\n", c->userns_uid_count);
        fprintf(f, "userns_rootfs = %s\n", userns_rootfs_to_string(c->userns_rootfs));
        fputs("\n[network]\n", f);
        fprintf(f, "pool = %s/%u\n", inet_ntop(AF_INET, &a, buf, sizeof(buf)), c->pool.prefixlen);
        fprintf(f, "mtu = %u\n", c->mtu);
        fprintf(f, "port_range = %u-%u\n", c->port_range[0], c->port_range[1]);
        dump_networks(f, "allow_networks", &c->allow_networks);
        dump_networks(f, "deny_networks", &c->deny_networks);
        fprintf(f, "allow_host_access = %s\n", yes_no(c->allow_host_access));
        fprintf(f, "enable_ip_forward = %s\n", yes_no(c->enable_ip_forward));
        fputs("\n[access]\n", f);
        dump_paths(f, "bind_sources", c->bind_sources);
        dump_paths(f, "copy_directories", c->copy_directories);
        dump_paths(f, "rootfs_directories", c->rootfs_directories);
        fprintf(f, "force_user_namespace = %s\n", yes_no(c->force_user_namespace));
}

uint32_t manager_config_userns_ranges(const ManagerConfig *c) {
        assert(c);

        return c->userns_uid_count / USERNS_RANGE_SIZE;
}

uint32_t manager_config_pool_size(const ManagerConfig *c) {
        assert(c);

        return UINT32_C(1) << (30 - c->pool.prefixlen);
}
