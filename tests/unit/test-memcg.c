/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The memory cgroup and CPU usage lookups (memcg.h) on a fake cgroupfs of both layouts. */

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "memcg.h"
#include "tests.h"

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
        char *root = tests_tmpdir(), *v1 = NULL, *v2 = NULL, *cg = NULL, *swap = NULL;
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
        put(cg, "memory.memsw.limit_in_bytes", ""); /* a file of ours: its old text is not truncated */
        ASSERT_OK(memcg_set_swap_limit(&m, 1 << 20));
        ASSERT_FILE(cg, "memory.memsw.limit_in_bytes", "1048576");
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
        ASSERT_TRUE(asprintf(&swap, "%s/memory.swap.max", cg) > 0);
        ASSERT_TRUE(access(swap, F_OK) < 0 && errno == ENOENT); /* nothing written */
        free(swap);
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
