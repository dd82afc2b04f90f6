/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The cgroup file parsers (cgroup-util.h), what of the cgroup hierarchies a container is shown, and the
 * cgroup of a process. */

#include <unistd.h>

#include "cgroup-util.h"
#include "macro.h"
#include "tests.h"

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

TEST(cgroup_path_of_a_pid) {
        _cleanup_free_ char *path = NULL;

        /* every process has a cgroup2 line ("0::") on a unified or hybrid host, as on ours */
        ASSERT_OK(cg_pid_get_path(getpid(), "", &path));
        ASSERT_TRUE(path[0] == '/');
        ASSERT_ERROR(cg_pid_get_path(getpid(), "no-such-controller", &path), ENOENT);
        ASSERT_ERROR(cg_pid_get_path(4194305, "", &path), ENOENT); /* above pid_max: never a process */
}
