/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The pure parts of the limits: the ranges a client may ask for, the cgroup file parsers (and what of the
 * cgroup hierarchies a container is shown), the memory cgroup and CPU usage lookups on a fake cgroupfs, and
 * the ifb name.
 */

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bandwidth.h"
#include "cgroup-util.h"
#include "fileio.h"
#include "limit-check.h"
#include "memcg.h"
#include "tests.h"

TEST(memory_range) {
        ASSERT_ERROR(limit_check_memory(0), ERANGE);
        ASSERT_ERROR(limit_check_memory(LIMIT_MEMORY_MIN - 1), ERANGE);
        ASSERT_OK(limit_check_memory(LIMIT_MEMORY_MIN));
        ASSERT_OK(limit_check_memory(32ULL << 20));
        ASSERT_OK(limit_check_memory(LIMIT_MEMORY_MAX));
        ASSERT_ERROR(limit_check_memory(LIMIT_MEMORY_MAX + 1), ERANGE);
        ASSERT_ERROR(limit_check_memory(UINT64_MAX), ERANGE);
        ASSERT_EQ(limit_memory_round(50000000, 4096), 49999872u);
        ASSERT_EQ(limit_memory_round(8192, 4096), 8192u);
        ASSERT_EQ(limit_memory_round(123, 0), 123u);
}

TEST(cpu_range) {
        ASSERT_ERROR(limit_check_cpu_weight(0), ERANGE);
        ASSERT_OK(limit_check_cpu_weight(1));
        ASSERT_OK(limit_check_cpu_weight(100));
        ASSERT_OK(limit_check_cpu_weight(10000));
        ASSERT_ERROR(limit_check_cpu_weight(10001), ERANGE);
        ASSERT_ERROR(limit_check_cpu_quota(0), ERANGE);
        ASSERT_OK(limit_check_cpu_quota(1));
        ASSERT_OK(limit_check_cpu_quota(250));
        ASSERT_OK(limit_check_cpu_quota(100000));
        ASSERT_ERROR(limit_check_cpu_quota(100001), ERANGE);
        ASSERT_ERROR(limit_check_cpu_quota(UINT64_MAX), ERANGE);
        ASSERT_ERROR(limit_check_cpu_quota(LIMIT_CPU_QUOTA_AUTO), ERANGE);
        /* auto: a quarter of the machine, at least half a CPU */
        ASSERT_EQ(limit_cpu_quota_auto(0), 50u);
        ASSERT_EQ(limit_cpu_quota_auto(1), 50u);
        ASSERT_EQ(limit_cpu_quota_auto(2), 50u);
        ASSERT_EQ(limit_cpu_quota_auto(4), 100u);
        ASSERT_EQ(limit_cpu_quota_auto(64), 1600u);
        ASSERT_EQ(limit_cpu_quota_auto(UINT32_MAX), (uint64_t) LIMIT_CPU_QUOTA_MAX);
}

TEST(pids_range) {
        ASSERT_ERROR(limit_check_pids(0), ERANGE);
        ASSERT_OK(limit_check_pids(1));
        ASSERT_OK(limit_check_pids(4194304));
        ASSERT_ERROR(limit_check_pids(4194305), ERANGE);
}

TEST(disk_range) {
        ASSERT_ERROR(limit_check_disk(0, 0), ERANGE);
        ASSERT_ERROR(limit_check_disk((1 << 20) - 1, 0), ERANGE);
        ASSERT_OK(limit_check_disk(1 << 20, 0));
        ASSERT_OK(limit_check_disk(1 << 20, 16));
        ASSERT_OK(limit_check_disk(1 << 20, 1024)); /* one inode per KiB: the densest mke2fs makes */
        ASSERT_ERROR(limit_check_disk(1 << 20, 1025), ERANGE);
        ASSERT_ERROR(limit_check_disk(1 << 20, 15), ERANGE);
        ASSERT_OK(limit_check_disk(16ULL << 40, 0));
        ASSERT_ERROR(limit_check_disk((16ULL << 40) + 1, 0), ERANGE);
}

TEST(bandwidth_range) {
        ASSERT_EQ(limit_bandwidth_min_burst(0), 1514u);
        ASSERT_EQ(limit_bandwidth_min_burst(9000), 9014u);
        ASSERT_OK(limit_check_bandwidth(1000000, 65536, 1500));
        ASSERT_OK(limit_check_bandwidth(1000000, 1514, 0));
        ASSERT_ERROR(limit_check_bandwidth(1000000, 1513, 0), ERANGE); /* a full frame would never pass */
        ASSERT_ERROR(limit_check_bandwidth(1000000, 9013, 9000), ERANGE);
        ASSERT_ERROR(limit_check_bandwidth(0, 65536, 0), ERANGE);
        ASSERT_OK(limit_check_bandwidth(INT32_MAX, 1ULL << 30, 0));
        ASSERT_ERROR(limit_check_bandwidth((uint64_t) INT32_MAX + 1, 65536, 0), ERANGE);
        ASSERT_ERROR(limit_check_bandwidth(1000000, (1ULL << 30) + 1, 0), ERANGE);
        /* the bucket must last at most 100 s at the rate */
        ASSERT_OK(limit_check_bandwidth(100, 10000, 0));
        ASSERT_ERROR(limit_check_bandwidth(100, 10001, 0), ERANGE);
        ASSERT_ERROR(limit_check_bandwidth(10, 1514, 0), ERANGE);
        ASSERT_ERROR(limit_check_bandwidth(UINT64_MAX, UINT64_MAX, 0), ERANGE);
}

TEST(keyed_files) {
        const char *oom_control = "oom_kill_disable 0\nunder_oom 0\noom_kill 7\n";
        const char *events = "low 0\nhigh 12\nmax 40\noom 3\noom_kill 2\noom_group_kill 0\n";
        uint64_t v = 0;

        ASSERT_OK(cg_keyed_get_uint64(oom_control, "oom_kill", &v));
        ASSERT_EQ(v, 7u);
        ASSERT_OK(cg_keyed_get_uint64(oom_control, "oom_kill_disable", &v));
        ASSERT_EQ(v, 0u);
        ASSERT_OK(cg_keyed_get_uint64(events, "oom_kill", &v)); /* not "oom", not "oom_group_kill" */
        ASSERT_EQ(v, 2u);
        ASSERT_OK(cg_keyed_get_uint64(events, "oom", &v));
        ASSERT_EQ(v, 3u);
        ASSERT_OK(cg_keyed_get_uint64("oom_kill 5", "oom_kill", &v)); /* no final newline */
        ASSERT_EQ(v, 5u);
        ASSERT_ERROR(cg_keyed_get_uint64(events, "oom_kil", &v), ENOENT);
        ASSERT_ERROR(cg_keyed_get_uint64("", "oom_kill", &v), ENOENT);
        ASSERT_ERROR(cg_keyed_get_uint64("oom_kill\n", "oom_kill", &v), ENOENT);
        ASSERT_ERROR(cg_keyed_get_uint64("oom_kill x\n", "oom_kill", &v), EINVAL);
        ASSERT_ERROR(cg_keyed_get_uint64("oom_kill -1\n", "oom_kill", &v), EINVAL);
        ASSERT_ERROR(cg_keyed_get_uint64("oom_kill 1 2\n", "oom_kill", &v), EINVAL);
}

TEST(limit_files) {
        uint64_t v = 0;

        ASSERT_OK(cg_parse_limit("33554432\n", &v));
        ASSERT_EQ(v, 33554432u);
        ASSERT_OK(cg_parse_limit("max\n", &v));
        ASSERT_EQ(v, UINT64_MAX);
        ASSERT_OK(cg_parse_limit("9223372036854771712", &v));
        ASSERT_EQ(v, 9223372036854771712u);
        ASSERT_ERROR(cg_parse_limit("", &v), EINVAL);
        ASSERT_ERROR(cg_parse_limit("maximum\n", &v), EINVAL);
        ASSERT_ERROR(cg_parse_limit("-1\n", &v), EINVAL);
}

TEST(counter_files) {
        uint64_t v = 0;

        ASSERT_OK(cg_parse_counter("268435456\n", &v));
        ASSERT_EQ(v, 268435456u);
        ASSERT_OK(cg_parse_counter("0", &v));
        ASSERT_EQ(v, 0u);
        ASSERT_ERROR(cg_parse_counter("max\n", &v), EINVAL); /* a counter, not a limit */
        ASSERT_ERROR(cg_parse_counter("", &v), EINVAL);
        ASSERT_ERROR(cg_parse_counter("12 34\n", &v), EINVAL);
        ASSERT_ERROR(cg_parse_counter("18446744073709551616\n", &v), EINVAL);
}

TEST(cpu_stat) {
        /* a cgroup2 cpu.stat of kernel 6.1, with the cpu controller (without it, the first three only) */
        const char *stat = "usage_usec 2816419\nuser_usec 1901235\nsystem_usec 915184\nnr_periods 120\n"
                           "nr_throttled 7\nthrottled_usec 402611\n";
        uint64_t v = 0;

        ASSERT_OK(cg_parse_cpu_stat_usage(stat, &v));
        ASSERT_EQ(v, UINT64_C(2816419000));
        ASSERT_OK(cg_parse_cpu_stat_usage("user_usec 1\nusage_usec 5", &v));
        ASSERT_EQ(v, 5000u);
        ASSERT_OK(cg_parse_cpu_stat_usage("usage_usec 18446744073709551\n", &v));
        ASSERT_EQ(v, UINT64_C(18446744073709551000));
        ASSERT_ERROR(cg_parse_cpu_stat_usage("usage_usec 18446744073709552\n", &v), ERANGE);
        ASSERT_ERROR(cg_parse_cpu_stat_usage("user_usec 1\nsystem_usec 2\n", &v), ENOENT);
        ASSERT_ERROR(cg_parse_cpu_stat_usage("usage_usec x\n", &v), EINVAL);
}

/* /proc/self/cgroup of wshd in its scope, on the three layouts, and what it is shown of them */
TEST(cgroup_view) {
        /* this sandbox: hybrid; cpu and cpuacct apart, systemd placed the scope in cpu but not cpuacct */
        const char *hybrid = "9:name=systemd:/warden.slice/warden-a.scope\n"
                             "8:pids:/warden.slice/warden-a.scope\n"
                             "7:blkio:/\n"
                             "5:devices:/warden.slice/warden-a.scope\n"
                             "4:memory:/warden.slice/warden-a.scope\n"
                             "3:cpuset:/\n"
                             "2:cpuacct:/\n"
                             "1:cpu:/warden.slice/warden-a.scope\n"
                             "0::/warden.slice/warden-a.scope\n";
        /* a legacy v1 host: cpu,cpuacct joined, no cgroup2 */
        const char *legacy = "11:cpu,cpuacct:/warden.slice/warden-a.scope\n"
                             "10:memory:/warden.slice\n" /* no memory limit: not the scope's own */
                             "3:pids:/warden.slice/warden-a.scope\n"
                             "1:name=systemd:/warden.slice/warden-a.scope\n";
        CgroupView v = {};

        ASSERT_OK(cg_view_parse(hybrid, &v));
        ASSERT_FALSE(v.unified);
        ASSERT_EQ(v.n_hierarchies, 4u);
        ASSERT_STREQ(v.hierarchies[0], "pids");
        ASSERT_STREQ(v.hierarchies[1], "memory");
        ASSERT_STREQ(v.hierarchies[2], "cpu");
        ASSERT_STREQ(v.hierarchies[3], ""); /* cgroup2, at "unified" */

        ASSERT_OK(cg_view_parse(legacy, &v));
        ASSERT_FALSE(v.unified);
        ASSERT_EQ(v.n_hierarchies, 2u);
        ASSERT_STREQ(v.hierarchies[0], "cpu,cpuacct");
        ASSERT_STREQ(v.hierarchies[1], "pids");

        /* cgroup2 only */
        ASSERT_OK(cg_view_parse("0::/warden.slice/warden-a.scope\n", &v));
        ASSERT_TRUE(v.unified);
        ASSERT_EQ(v.n_hierarchies, 0u);
        ASSERT_OK(cg_view_parse("0::/a:b\n", &v)); /* a path may have ':' */
        ASSERT_TRUE(v.unified);
        /* cgroup2 with a named v1 hierarchy of some other tool: still cgroup2 */
        ASSERT_OK(cg_view_parse("1:name=foo:/\n0::/warden.slice/warden-a.scope\n", &v));
        ASSERT_TRUE(v.unified);

        /* no systemd hierarchy: nothing tells the unit's cgroup */
        ASSERT_ERROR(cg_view_parse("4:memory:/x\n", &v), ENOENT);
        ASSERT_ERROR(cg_view_parse("", &v), ENOENT);
        /* malformed */
        ASSERT_ERROR(cg_view_parse("0::\n", &v), EINVAL);
        ASSERT_ERROR(cg_view_parse("0:memory:/\n", &v), EINVAL);
        ASSERT_ERROR(cg_view_parse("4::/\n", &v), EINVAL);
        ASSERT_ERROR(cg_view_parse("x:memory:/\n0::/\n", &v), EINVAL);
        ASSERT_ERROR(cg_view_parse("4:memory\n0::/\n", &v), EINVAL);
        ASSERT_ERROR(cg_view_parse("4:mem/ory:/\n0::/\n", &v), EINVAL);
        ASSERT_ERROR(cg_view_parse("4:memory:x\n0::/\n", &v), EINVAL);
        ASSERT_ERROR(cg_view_parse("0::/\n0::/\n", &v), EINVAL);
        ASSERT_ERROR(cg_view_parse("1:name=systemd:/\n2:name=systemd:/\n", &v), EINVAL);
}

TEST(ifb_name) {
        char n[NETWORK_IFNAME_MAX];

        ASSERT_OK(bandwidth_ifb_name("w-0-0", n));
        ASSERT_STREQ(n, "w-0-i");
        ASSERT_OK(bandwidth_ifb_name("w-4294967295-0", n));
        ASSERT_STREQ(n, "w-4294967295-i");
        ASSERT_ERROR(bandwidth_ifb_name("w-1-1", n), EINVAL);
        ASSERT_ERROR(bandwidth_ifb_name("eth0", n), EINVAL);
        ASSERT_ERROR(bandwidth_ifb_name("w-0", n), EINVAL);
        ASSERT_ERROR(bandwidth_ifb_name("w-123456789012-0", n), EINVAL); /* too long for a link name */
}

static void put(const char *dir, const char *name, const char *text) {
        char *p = NULL;

        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
        ASSERT_OK(write_file_atomic(p, text, strlen(text), 0644));
        free(p);
}

#define ASSERT_FILE(dir, name, text)                                \
        do {                                                        \
                char *_p = NULL, *_t = NULL;                        \
                ASSERT_TRUE(asprintf(&_p, "%s/%s", dir, name) > 0); \
                ASSERT_OK(read_full_file(_p, 4096, &_t, NULL));     \
                ASSERT_STREQ(_t, text);                             \
                free(_p);                                           \
                free(_t);                                           \
        } while (0)

static char *mkdirf(const char *dir, const char *sub) {
        char *p = NULL;

        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, sub) > 0);
        ASSERT_OK(mkdir_p(p, 0755));
        return p;
}

/* A v1 layout (a memory hierarchy of its own) and a cgroup2 layout, as directories and files. */
TEST(memcg_lookup) {
        char *root = tests_tmpdir(), *v1 = NULL, *v2 = NULL, *cg = NULL;
        Memcg m = {};
        uint64_t v = 0;

        v1 = mkdirf(root, "v1");
        cg = mkdirf(v1, "memory/warden.slice/warden-a.scope");
        put(cg, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n");
        put(cg, "memory.limit_in_bytes", "33554432\n");
        ASSERT_OK(memcg_find(v1, "warden.slice", "warden-a.scope", &m));
        ASSERT_EQ(m.version, MEMCG_V1);
        ASSERT_STREQ(m.path, cg);
        ASSERT_OK(memcg_read_oom_kills(&m, &v));
        ASSERT_EQ(v, 4u);
        ASSERT_OK(memcg_read_limit(&m, &v));
        ASSERT_EQ(v, 33554432u);
        put(cg, "memory.usage_in_bytes", "1228800\n");
        ASSERT_OK(memcg_read_usage(&m, &v));
        ASSERT_EQ(v, 1228800u);
        ASSERT_OK(memcg_reclaim_below(&m, 4096)); /* v1 refuses a limit below the usage itself */
        /* no memory.memsw.* file: the kernel accounts no swap */
        ASSERT_ERROR(memcg_set_swap_limit(&m, 1 << 20), EOPNOTSUPP);
        memcg_done(&m);
        ASSERT_NULL(m.path);
        ASSERT_ERROR(memcg_find(v1, "warden.slice", "warden-gone.scope", &m), ENOENT);
        free(cg);

        v2 = mkdirf(root, "v2");
        put(v2, "cgroup.controllers", "cpuset cpu io memory pids\n");
        cg = mkdirf(v2, "warden.slice/warden-a.scope");
        put(cg, "memory.events", "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n");
        put(cg, "memory.max", "max\n");
        ASSERT_OK(memcg_find(v2, "warden.slice", "warden-a.scope", &m));
        ASSERT_EQ(m.version, MEMCG_V2);
        ASSERT_OK(memcg_read_oom_kills(&m, &v));
        ASSERT_EQ(v, 1u);
        ASSERT_OK(memcg_read_limit(&m, &v));
        ASSERT_EQ(v, UINT64_MAX);
        ASSERT_ERROR(memcg_read_usage(&m, &v), ENOENT);
        put(cg, "memory.current", "2531328\n");
        ASSERT_OK(memcg_read_usage(&m, &v));
        ASSERT_EQ(v, 2531328u);
        /* a lower limit: fits already, or not even after a reclaim (with or without memory.reclaim) */
        ASSERT_OK(memcg_reclaim_below(&m, 2531328));
        ASSERT_ERROR(memcg_reclaim_below(&m, 1 << 20), EBUSY);
        put(cg, "memory.reclaim", "");
        ASSERT_ERROR(memcg_reclaim_below(&m, 1 << 20), EBUSY);
        ASSERT_FILE(cg, "memory.reclaim", "1482752"); /* what it asked the kernel to reclaim */
        ASSERT_OK(memcg_set_swap_limit(&m, 1 << 20)); /* systemd's MemorySwapMax= does it on v2 */
        memcg_done(&m);
        free(cg);

        /* a cgroup2 root without the memory controller, and no v1 memory hierarchy: nothing to watch */
        put(v2, "cgroup.controllers", "cpu pids\n");
        ASSERT_ERROR(memcg_find(v2, "warden.slice", "warden-a.scope", &m), EOPNOTSUPP);
        free(v1);
        free(v2);
}

/* The CPU time: cgroup2's cpu.stat on a hybrid or cgroup2 layout, else v1's cpuacct.usage. */
TEST(cpu_usage_lookup) {
        char *root = tests_tmpdir(), *dir = NULL, *cg = NULL;
        uint64_t v = 0;

        dir = mkdirf(root, "legacy");
        ASSERT_ERROR(cgroup_read_cpu_usage(dir, "warden.slice", "warden-a.scope", &v), ENOENT);
        cg = mkdirf(dir, "cpuacct/warden.slice/warden-a.scope");
        put(cg, "cpuacct.usage", "123456789\n");
        ASSERT_OK(cgroup_read_cpu_usage(dir, "warden.slice", "warden-a.scope", &v));
        ASSERT_EQ(v, 123456789u);
        free(cg);
        /* hybrid: cgroup2 at "unified" has it, whatever cpuacct says */
        cg = mkdirf(dir, "unified/warden.slice/warden-a.scope");
        put(cg, "cpu.stat", "usage_usec 42\nuser_usec 40\nsystem_usec 2\n");
        ASSERT_OK(cgroup_read_cpu_usage(dir, "warden.slice", "warden-a.scope", &v));
        ASSERT_EQ(v, 42000u);
        put(cg, "cpu.stat", "usage_usec many\n");
        ASSERT_ERROR(cgroup_read_cpu_usage(dir, "warden.slice", "warden-a.scope", &v), EINVAL);
        free(cg);
        free(dir);

        dir = mkdirf(root, "unified");
        cg = mkdirf(dir, "warden.slice/warden-a.scope");
        put(cg, "cpu.stat", "usage_usec 7\n");
        ASSERT_OK(cgroup_read_cpu_usage(dir, "warden.slice", "warden-a.scope", &v));
        ASSERT_EQ(v, 7000u);
        ASSERT_ERROR(cgroup_read_cpu_usage(dir, "warden.slice", "warden-b.scope", &v), ENOENT);
        free(cg);
        free(dir);
}
