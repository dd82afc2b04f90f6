/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <syslog.h>

#include "fileio.h"
#include "limit-check.h"
#include "manager-config.h"
#include "parse-util.h"
#include "strv.h"
#include "tests.h"

static void load_bad(const char *text, int expected_r, const char *expected_message) {
        ManagerConfig c;
        char *msg = NULL;

        manager_config_init(&c);
        ASSERT_ERROR(manager_config_load_text(&c, "test.conf", text, &msg), expected_r);
        ASSERT_NOT_NULL(msg);
        if (!strstr(msg, expected_message))
                tests_fail(__FILE__, __LINE__, "message '%s' does not contain '%s'", msg, expected_message);
        free(msg);
        manager_config_done(&c);
}

TEST(defaults_when_missing) {
        ManagerConfig c;
        char *msg = NULL;

        manager_config_init(&c);
        ASSERT_OK(manager_config_load(&c, "/nonexistent/wardend.conf", &msg));
        ASSERT_NULL(msg);
        ASSERT_EQ(c.idle_timeout_usec, 30 * USEC_PER_SEC);
        ASSERT_EQ(c.log_level, LOG_INFO);
        ASSERT_EQ(c.max_containers, 1024);
        ASSERT_EQ(c.grace_time_usec, 300 * USEC_PER_SEC);
        ASSERT_STREQ(c.depot_path, LOCALSTATEDIR "/lib/warden/containers");
        ASSERT_STREQ(c.default_rootfs, WARDEN_ROOTFS_DIR);
        ASSERT_STREQ(c.user, "vcap");
        ASSERT_EQ(c.uid_base, 10001u);
        ASSERT_EQ(c.pool.address, 0x0afe0000u);
        ASSERT_EQ(c.pool.prefixlen, 20);
        ASSERT_TRUE(manager_config_pool_size(&c) >= 1024);
        ASSERT_EQ(c.mtu, 1500);
        ASSERT_EQ(c.job_output_limit, 10 * 1024 * 1024);
        ASSERT_EQ(c.max_calls_per_client, 64u);
        ASSERT_EQ(c.max_jobs_per_container, 256u);
        ASSERT_EQ(c.cpu_quota, LIMIT_CPU_QUOTA_AUTO);
        ASSERT_EQ(c.pids_limit, 0u);
        ASSERT_FALSE(c.user_namespace);
        ASSERT_EQ(c.userns_uid_base, 0x40000000u);
        ASSERT_EQ(manager_config_userns_ranges(&c), 1024u);
        manager_config_done(&c);
}

TEST(user_namespaces) {
        ManagerConfig c;
        char *msg = NULL;

        manager_config_init(&c);
        ASSERT_OK(manager_config_load_text(
                &c,
                "u.conf",
                "[containers]\nuser_namespace = yes\nuserns_uid_base = 131072\nuserns_uid_count = "
                "196608\n",
                &msg));
        ASSERT_TRUE(c.user_namespace);
        ASSERT_EQ(c.userns_uid_base, 131072u);
        ASSERT_EQ(manager_config_userns_ranges(&c), 3u);
        manager_config_done(&c);
}

TEST(full_file) {
        ManagerConfig c;
        char *msg = NULL;

        manager_config_init(&c);
        ASSERT_OK(manager_config_load_text(
                &c,
                "test.conf",
                "# comment\n"
                "; another\n"
                "\n"
                "[daemon]\n"
                "idle_timeout = 2min\n"
                "  log_level=debug  \n"
                "max_containers = 10\n"
                "max_calls_per_client = 3\n"
                "[containers]\n"
                "max_jobs_per_container = 65536\n"
                "grace_time = 0\n"
                "depot = /srv//warden/\n"
                "rootfs = /srv/rootfs\n"
                "job_output_limit = 64K\n"
                "cpu_quota = 150%\n"
                "pids_limit = 2048\n"
                "[ network ]\n"
                "pool = 172.16.0.0/16\n"
                "mtu = 9000",
                &msg));
        ASSERT_EQ(c.idle_timeout_usec, 120 * USEC_PER_SEC);
        ASSERT_EQ(c.log_level, LOG_DEBUG);
        ASSERT_EQ(c.max_containers, 10);
        ASSERT_EQ(c.grace_time_usec, 0);
        ASSERT_STREQ(c.depot_path, "/srv/warden");
        ASSERT_STREQ(c.default_rootfs, "/srv/rootfs");
        ASSERT_EQ(c.pool.address, 0xac100000u);
        ASSERT_EQ(c.pool.prefixlen, 16);
        ASSERT_EQ(manager_config_pool_size(&c), 16384);
        ASSERT_EQ(c.mtu, 9000);
        ASSERT_EQ(c.job_output_limit, 64 * 1024);
        ASSERT_EQ(c.max_calls_per_client, 3u);
        ASSERT_EQ(c.max_jobs_per_container, 65536u);
        ASSERT_EQ(c.cpu_quota, 150u);
        ASSERT_EQ(c.pids_limit, 2048u);
        manager_config_done(&c);
}

TEST(errors_name_file_line_and_key) {
        load_bad(
                "[daemon]\nidle_timeout = 5x\n",
                EINVAL,
                "test.conf:2: key 'idle_timeout': invalid value '5x'");
        load_bad("[daemon]\n\nbogus = 1\n", EINVAL, "test.conf:3: unknown key 'bogus' in section [daemon]");
        load_bad("[nope]\n", EINVAL, "test.conf:1: unknown section [nope]");
        load_bad("idle_timeout = 1\n", EINVAL, "test.conf:1: key 'idle_timeout' outside of a section");
        load_bad("[daemon]\njust words\n", EINVAL, "test.conf:2: expected 'key = value'");
        load_bad("[daemon\n", EINVAL, "test.conf:1: invalid section header");
        load_bad(
                "[daemon]\nlog_level = loud\n",
                EINVAL,
                "key 'log_level': invalid value 'loud', expected one of");
        load_bad("[daemon]\nmax_containers = 0\n", ERANGE, "key 'max_containers': out of range value '0'");
        load_bad(
                "[daemon]\nmax_calls_per_client = 0\n",
                ERANGE,
                "key 'max_calls_per_client': out of range value '0'");
        load_bad(
                "[containers]\nmax_jobs_per_container = 65537\n",
                ERANGE,
                "key 'max_jobs_per_container': out of range value '65537'");
        load_bad(
                "[containers]\nmax_calls_per_client = 5\n",
                EINVAL,
                "unknown key 'max_calls_per_client' in section [containers]");
        load_bad("[network]\npool = 10.0.0.1/8\n", EINVAL, "key 'pool': invalid value");
        load_bad("[network]\npool = 10.0.0.0/31\n", ERANGE, "key 'pool': out of range");
        load_bad("[network]\nmtu = 100\n", ERANGE, "key 'mtu': out of range value '100'");
        load_bad(
                "[containers]\ncpu_quota = 18446744073709551614\n",
                ERANGE,
                "key 'cpu_quota': out of range value");
        load_bad("[containers]\ncpu_quota = 100001%\n", ERANGE, "key 'cpu_quota': out of range value");
        load_bad("[containers]\ncpu_quota = half\n", EINVAL, "key 'cpu_quota': invalid value 'half'");
        load_bad("[containers]\npids_limit = 4194305\n", ERANGE, "key 'pids_limit': out of range value");
        load_bad(
                "[containers]\njob_output_limit = 17M\n",
                ERANGE,
                "key 'job_output_limit': out of range value '17M'");
        load_bad(
                "[containers]\njob_output_limit = 1000\n",
                ERANGE,
                "key 'job_output_limit': out of range value '1000'");
        load_bad(
                "[containers]\ndepot = relative/path\n",
                EINVAL,
                "key 'depot': invalid value 'relative/path'");
        load_bad("[containers]\ndepot = /a/../b\n", EINVAL, "key 'depot'");
        load_bad("[daemon]\nidle_timeout = 1\x01\n", EINVAL, "test.conf:2: control characters");
        load_bad("[containers]\nuser_namespace = maybe\n", EINVAL, "key 'user_namespace': invalid value");
        load_bad("[containers]\nuserns_uid_base = 1000\n", ERANGE, "key 'userns_uid_base': out of range");
        load_bad("[containers]\nuserns_uid_base = 65537\n", ERANGE, "key 'userns_uid_base': out of range");
        load_bad("[containers]\nuserns_uid_count = 0\n", ERANGE, "key 'userns_uid_count': out of range");
        /* overlapping the containers' users, or reaching (uid_t) -1 */
        load_bad(
                "[containers]\nuserns_uid_base = 65536\n",
                ERANGE,
                "must end below 4294967295 and not overlap");
        load_bad("[containers]\nuserns_uid_base = 4294901760\n", ERANGE, "not overlap");
}

TEST(failed_load_keeps_config) {
        ManagerConfig c;
        char *msg = NULL;

        manager_config_init(&c);
        ASSERT_OK(manager_config_load_text(&c, "a.conf", "[daemon]\nidle_timeout = 7\n", &msg));
        ASSERT_EQ(c.idle_timeout_usec, 7 * USEC_PER_SEC);
        ASSERT_ERROR(
                manager_config_load_text(&c, "b.conf", "[daemon]\nidle_timeout = 9\nx = y\n", &msg), EINVAL);
        ASSERT_NOT_NULL(strstr(msg, "b.conf:3"));
        ASSERT_EQ(c.idle_timeout_usec, 7 * USEC_PER_SEC);
        free(msg);
        manager_config_done(&c);
}

TEST(file_errors) {
        ManagerConfig c;
        char *msg = NULL, *path = NULL;

        manager_config_init(&c);
        ASSERT_TRUE(asprintf(&path, "%s/w.conf", tests_tmpdir()) > 0);
        ASSERT_OK(write_file_atomic(path, "[daemon]\nidle_timeout=3\0junk", 28, 0644));
        ASSERT_ERROR(manager_config_load(&c, path, &msg), EINVAL);
        ASSERT_TRUE(strstr(msg, "NUL") != NULL);
        free(msg);
        free(path);
        manager_config_done(&c);
}

TEST(dump_roundtrip) {
        ManagerConfig c, d;
        char *buf = NULL, *msg = NULL;
        size_t size = 0;
        FILE *f;

        manager_config_init(&c);
        manager_config_init(&d);
        ASSERT_OK(manager_config_load_text(
                &c,
                "x",
                "[network]\npool = 192.168.0.0/22\n[daemon]\nidle_timeout=0\n"
                "[access]\nbind_sources = /srv/a /srv/b\nforce_user_namespace = yes\n",
                &msg));
        f = open_memstream(&buf, &size);
        manager_config_dump(&c, f);
        fclose(f);
        ASSERT_OK(manager_config_load_text(&d, "dump", buf, &msg));
        ASSERT_EQ(d.pool.address, c.pool.address);
        ASSERT_EQ(d.pool.prefixlen, 22);
        ASSERT_EQ(d.idle_timeout_usec, 0);
        ASSERT_STREQ(d.depot_path, c.depot_path);
        ASSERT_NOT_NULL(strstr(buf, "bind_sources = /srv/a /srv/b\n"));
        ASSERT_EQ(strv_length(d.bind_sources), 2);
        ASSERT_STREQ(d.bind_sources[1], "/srv/b");
        ASSERT_NULL(d.copy_directories);
        ASSERT_TRUE(d.force_user_namespace);
        free(buf);
        manager_config_done(&c);
        manager_config_done(&d);
}

TEST(access) {
        ManagerConfig c;
        char *msg = NULL;

        manager_config_init(&c);
        ASSERT_OK(manager_config_load_text(&c, "x", "", &msg));
        ASSERT_NULL(c.bind_sources); /* empty by default */
        ASSERT_NULL(c.copy_directories);
        ASSERT_NULL(c.rootfs_directories);
        ASSERT_FALSE(c.force_user_namespace);
        ASSERT_OK(manager_config_load_text(
                &c,
                "x",
                "[access]\nbind_sources = /srv/a  /srv/b\t/srv/a\ncopy_directories = /srv/x\n"
                "rootfs_directories = /srv/rootfs\nforce_user_namespace = yes\n",
                &msg));
        ASSERT_EQ(strv_length(c.bind_sources), 2);
        ASSERT_STREQ(c.bind_sources[0], "/srv/a");
        ASSERT_STREQ(c.bind_sources[1], "/srv/b");
        ASSERT_STREQ(c.copy_directories[0], "/srv/x");
        ASSERT_STREQ(c.rootfs_directories[0], "/srv/rootfs");
        ASSERT_TRUE(c.force_user_namespace);

        /* a later line replaces the list; an empty value empties it */
        ASSERT_OK(manager_config_load_text(&c, "x", "[access]\nbind_sources = /a\nbind_sources =\n", &msg));
        ASSERT_NULL(c.bind_sources);
        manager_config_done(&c);

        load_bad("[access]\nbind_sources = relative\n", EINVAL, "bind_sources");
        load_bad("[access]\ncopy_directories = /a/../etc\n", EINVAL, "copy_directories");
        load_bad("[access]\nrootfs_directories = /a/\n", EINVAL, "rootfs_directories");
        load_bad("[access]\nforce_user_namespace = maybe\n", EINVAL, "force_user_namespace");
}
