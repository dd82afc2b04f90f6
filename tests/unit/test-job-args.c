/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The parsers of wardenctl's process commands (job-args.c): --rlimit=, signals and job ids, and the Spawn
 * options a{sv} (read back from a real message).
 */

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-pair.h"
#include "job-args.h"
#include "strv.h"
#include "tests.h"

TEST(rlimit_parse) {
        JobRlimit res = _JOB_RLIMIT_INVALID;
        uint64_t v = 0;

        ASSERT_OK(job_rlimit_parse("nofile=1024", &res, &v));
        ASSERT_EQ(res, JOB_RLIMIT_NOFILE);
        ASSERT_EQ(v, 1024);
        ASSERT_OK(job_rlimit_parse("core=infinity", &res, &v));
        ASSERT_EQ(res, JOB_RLIMIT_CORE);
        ASSERT_TRUE(v == UINT64_MAX);
        ASSERT_OK(job_rlimit_parse("stack=unlimited", &res, &v));
        ASSERT_TRUE(v == UINT64_MAX);
        /* sizes for the limits in bytes, plain numbers for the others */
        ASSERT_OK(job_rlimit_parse("as=512M", &res, &v));
        ASSERT_EQ(res, JOB_RLIMIT_AS);
        ASSERT_EQ(v, 512ULL << 20);
        ASSERT_OK(job_rlimit_parse("nproc=0", &res, &v));
        ASSERT_EQ(res, JOB_RLIMIT_NPROC);
        ASSERT_EQ(v, 0);
        ASSERT_ERROR(job_rlimit_parse("nofile=1K", &res, &v), EINVAL);
        ASSERT_ERROR(job_rlimit_parse("nofile=", &res, &v), EINVAL);
        ASSERT_ERROR(job_rlimit_parse("nofile=-1", &res, &v), EINVAL);
        ASSERT_ERROR(job_rlimit_parse("nofile", &res, &v), EINVAL);
        ASSERT_ERROR(job_rlimit_parse("=5", &res, &v), EINVAL);
        ASSERT_ERROR(job_rlimit_parse("NOFILE=5", &res, &v), EINVAL);
        ASSERT_ERROR(job_rlimit_parse("files=5", &res, &v), EINVAL);
        ASSERT_ERROR(job_rlimit_parse("averyveryverylongname=5", &res, &v), EINVAL);
        ASSERT_ERROR(job_rlimit_parse("nofile=99999999999999999999999", &res, &v), ERANGE);
        /* not written on failure */
        res = JOB_RLIMIT_CPU;
        v = 7;
        ASSERT_ERROR(job_rlimit_parse("cpu=x", &res, &v), EINVAL);
        ASSERT_EQ(res, JOB_RLIMIT_CPU);
        ASSERT_EQ(v, 7);

        for (JobRlimit r = 0; r < _JOB_RLIMIT_MAX; r++)
                ASSERT_EQ(job_rlimit_from_string(job_rlimit_to_string(r)), r);
        ASSERT_NULL(job_rlimit_to_string(_JOB_RLIMIT_MAX));
        ASSERT_EQ(job_rlimit_from_string(NULL), _JOB_RLIMIT_INVALID);
}

TEST(signal_parse) {
        char buf[16];

        ASSERT_EQ(signal_from_string("TERM"), SIGTERM);
        ASSERT_EQ(signal_from_string("SIGTERM"), SIGTERM);
        ASSERT_EQ(signal_from_string("term"), SIGTERM);
        ASSERT_EQ(signal_from_string("sigkill"), SIGKILL);
        ASSERT_EQ(signal_from_string("HUP"), SIGHUP);
        ASSERT_EQ(signal_from_string("USR1"), SIGUSR1);
        ASSERT_EQ(signal_from_string("WINCH"), SIGWINCH);
        ASSERT_EQ(signal_from_string("9"), 9);
        ASSERT_EQ(signal_from_string("15"), 15);
        ASSERT_EQ(signal_from_string("RTMIN"), SIGRTMIN);
        ASSERT_EQ(signal_from_string("SIGRTMIN+3"), SIGRTMIN + 3);
        ASSERT_EQ(signal_from_string("RTMAX-1"), SIGRTMAX - 1);
        ASSERT_EQ(signal_from_string("RTMAX"), SIGRTMAX);
        snprintf(buf, sizeof(buf), "%d", SIGRTMAX);
        ASSERT_EQ(signal_from_string(buf), SIGRTMAX);
        snprintf(buf, sizeof(buf), "%d", SIGRTMAX + 1);
        ASSERT_ERROR(signal_from_string(buf), EINVAL);
        ASSERT_ERROR(signal_from_string("0"), EINVAL);
        ASSERT_ERROR(signal_from_string("-9"), EINVAL);
        ASSERT_ERROR(signal_from_string(""), EINVAL);
        ASSERT_ERROR(signal_from_string("SIG"), EINVAL);
        ASSERT_ERROR(signal_from_string("FOO"), EINVAL);
        ASSERT_ERROR(signal_from_string("RTMIN-1"), EINVAL);
        ASSERT_ERROR(signal_from_string("RTMAX+1"), EINVAL);
        ASSERT_ERROR(signal_from_string("RTMIN+99"), EINVAL);
        ASSERT_ERROR(signal_from_string("9x"), EINVAL);
}

TEST(job_id_parse) {
        uint32_t id = 5;

        ASSERT_OK(job_id_parse("1", &id));
        ASSERT_EQ(id, 1);
        ASSERT_OK(job_id_parse("4294967295", &id));
        ASSERT_EQ(id, UINT32_MAX);
        id = 5;
        ASSERT_ERROR(job_id_parse("0", &id), EINVAL);
        ASSERT_ERROR(job_id_parse("4294967296", &id), ERANGE);
        ASSERT_ERROR(job_id_parse("x", &id), EINVAL);
        ASSERT_ERROR(job_id_parse("-1", &id), EINVAL);
        ASSERT_ERROR(job_id_parse("", &id), EINVAL);
        ASSERT_EQ(id, 5);
}

/* Builds the Spawn options for 'o' into a sealed message, rewound for reading. */
static sd_bus_message *options_message(sd_bus *client, const JobOptions *o) {
        sd_bus_message *m = NULL;

        ASSERT_OK(sd_bus_message_new_method_call(client, &m, "org.example", "/", "org.example", "Spawn"));
        ASSERT_OK(job_options_append(m, o));
        ASSERT_OK(sd_bus_message_seal(m, 1, 0));
        ASSERT_OK(sd_bus_message_rewind(m, true));
        return m;
}

TEST(options_empty) {
        sd_bus *server = NULL, *client = NULL;
        JobOptions o = JOB_OPTIONS_INIT;
        sd_bus_message *m;

        ASSERT_OK(bus_pair_new(&server, &client));
        m = options_message(client, &o);
        ASSERT_OK(sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}"));
        /* nothing set, nothing sent: wardend's defaults apply */
        ASSERT_EQ(sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv"), 0);
        sd_bus_message_unref(m);
        sd_bus_close_unref(client);
        sd_bus_close_unref(server);
}

TEST(options_all) {
        sd_bus *server = NULL, *client = NULL;
        JobOptions o = JOB_OPTIONS_INIT;
        char **env = STRV_MAKE("A=1", "B=two words");
        _cleanup_strv_free_ char **got_env = NULL, **keys = NULL;
        struct stat a, b;
        int pipe_fds[2];
        sd_bus_message *m;
        const char *key;
        int r;

        ASSERT_OK(pipe2(pipe_fds, O_CLOEXEC));
        o.user = "alice";
        o.privileged = true;
        o.env = env;
        o.dir = "/tmp";
        o.rlimit_set[JOB_RLIMIT_NOFILE] = true;
        o.rlimit[JOB_RLIMIT_NOFILE] = 77;
        o.rlimit_set[JOB_RLIMIT_CORE] = true;
        o.rlimit[JOB_RLIMIT_CORE] = UINT64_MAX;
        o.tty = true;
        o.tty_rows = 24;
        o.tty_cols = 80;
        o.stdin_fd = pipe_fds[0];
        o.stdout_fd = pipe_fds[1];
        o.discard_output = true;

        ASSERT_OK(bus_pair_new(&server, &client));
        m = options_message(client, &o);
        ASSERT_OK(sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}"));
        while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                ASSERT_OK(sd_bus_message_read(m, "s", &key));
                ASSERT_OK(strv_extend(&keys, key));
                if (streq(key, "user")) {
                        const char *s;

                        ASSERT_OK(sd_bus_message_read(m, "v", "s", &s));
                        ASSERT_STREQ(s, "alice");
                } else if (streq(key, "privileged") || streq(key, "tty") || streq(key, "discard_output")) {
                        int bv = 0;

                        ASSERT_OK(sd_bus_message_read(m, "v", "b", &bv));
                        ASSERT_TRUE(bv);
                } else if (streq(key, "env")) {
                        ASSERT_OK(sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, "as"));
                        ASSERT_OK(sd_bus_message_read_strv(m, &got_env));
                        ASSERT_OK(sd_bus_message_exit_container(m));
                } else if (streq(key, "dir")) {
                        const char *s;

                        ASSERT_OK(sd_bus_message_read(m, "v", "s", &s));
                        ASSERT_STREQ(s, "/tmp");
                } else if (streq(key, "rlimits")) {
                        const char *name;
                        uint64_t v;

                        ASSERT_OK(sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, "a{st}"));
                        ASSERT_OK(sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{st}"));
                        /* in the order of the table: core before nofile */
                        ASSERT_EQ(sd_bus_message_read(m, "{st}", &name, &v), 1);
                        ASSERT_STREQ(name, "core");
                        ASSERT_TRUE(v == UINT64_MAX);
                        ASSERT_EQ(sd_bus_message_read(m, "{st}", &name, &v), 1);
                        ASSERT_STREQ(name, "nofile");
                        ASSERT_EQ(v, 77);
                        ASSERT_EQ(sd_bus_message_read(m, "{st}", &name, &v), 0);
                        ASSERT_OK(sd_bus_message_exit_container(m));
                        ASSERT_OK(sd_bus_message_exit_container(m));
                } else if (streq(key, "tty_rows") || streq(key, "tty_cols")) {
                        uint16_t q;

                        ASSERT_OK(sd_bus_message_read(m, "v", "q", &q));
                        ASSERT_EQ(q, streq(key, "tty_rows") ? 24 : 80);
                } else if (streq(key, "stdin") || streq(key, "stdout")) {
                        int fd;

                        ASSERT_OK(sd_bus_message_read(m, "v", "h", &fd));
                        /* a copy of our fd: the same pipe end */
                        ASSERT_OK(fstat(fd, &a));
                        ASSERT_OK(fstat(streq(key, "stdin") ? pipe_fds[0] : pipe_fds[1], &b));
                        ASSERT_TRUE(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
                        ASSERT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, streq(key, "stdin") ? O_RDONLY : O_WRONLY);
                } else
                        tests_fail(__FILE__, __LINE__, "unexpected key '%s'", key);
                ASSERT_OK(sd_bus_message_exit_container(m));
        }
        ASSERT_OK(r);
        ASSERT_TRUE(strv_contains(got_env, "A=1") && strv_contains(got_env, "B=two words"));
        ASSERT_EQ(strv_length(got_env), 2);
        /* every option once; stderr not passed, so not sent */
        ASSERT_EQ(strv_length(keys), 11);
        ASSERT_FALSE(strv_contains(keys, "stderr"));

        sd_bus_message_unref(m);
        sd_bus_close_unref(client);
        sd_bus_close_unref(server);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
}

TEST(options_tty_without_size) {
        sd_bus *server = NULL, *client = NULL;
        JobOptions o = JOB_OPTIONS_INIT;
        _cleanup_strv_free_ char **keys = NULL;
        sd_bus_message *m;
        const char *key;

        o.tty = true; /* size unknown (0): not sent, wardend picks one */
        o.tty_cols = 80;
        ASSERT_OK(bus_pair_new(&server, &client));
        m = options_message(client, &o);
        ASSERT_OK(sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}"));
        while (sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv") > 0) {
                ASSERT_OK(sd_bus_message_read(m, "s", &key));
                ASSERT_OK(strv_extend(&keys, key));
                ASSERT_OK(sd_bus_message_skip(m, "v"));
                ASSERT_OK(sd_bus_message_exit_container(m));
        }
        ASSERT_EQ(strv_length(keys), 1);
        ASSERT_STREQ(keys[0], "tty");
        sd_bus_message_unref(m);
        sd_bus_close_unref(client);
        sd_bus_close_unref(server);
}
