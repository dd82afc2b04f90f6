/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The pieces of wardenctl's process and file commands that need no wardend: parsing of --rlimit=, signals
 * and job ids, the Spawn options a{sv} (read back from a real message), raw mode and size of a terminal (on
 * a pty of our own), JSON of arbitrary bytes and absolute host paths.
 */

#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-pair.h"
#include "job-args.h"
#include "json-util.h"
#include "strv.h"
#include "tests.h"
#include "tty-util.h"
#include "verb-copy.h"

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

TEST(tty_raw_and_size) {
        TtyRaw raw = TTY_RAW_NULL;
        struct termios before, during, after;
        struct winsize ws = { .ws_row = 33, .ws_col = 101 };
        uint16_t rows = 0, cols = 0;
        int master, slave, fds[2];

        if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
                tests_skip("no pty available");

        ASSERT_OK(tcgetattr(slave, &before));
        ASSERT_TRUE(before.c_lflag & ICANON);
        ASSERT_OK(tty_raw_enable(&raw, slave));
        ASSERT_EQ(raw.fd, slave);
        ASSERT_OK(tcgetattr(slave, &during));
        ASSERT_FALSE(during.c_lflag & (ICANON | ECHO | ISIG | IEXTEN));
        ASSERT_FALSE(during.c_iflag & (ICRNL | IXON));
        ASSERT_FALSE(during.c_oflag & OPOST);
        ASSERT_EQ(during.c_cc[VMIN], 1);
        ASSERT_OK(tty_raw_restore(&raw));
        ASSERT_TRUE(raw.fd < 0);
        ASSERT_OK(tcgetattr(slave, &after));
        ASSERT_EQ(after.c_lflag, before.c_lflag);
        ASSERT_EQ(after.c_iflag, before.c_iflag);
        ASSERT_EQ(after.c_oflag, before.c_oflag);
        ASSERT_EQ(after.c_cflag, before.c_cflag);
        /* a second restore does nothing */
        ASSERT_OK(tty_raw_restore(&raw));

        ASSERT_OK(ioctl(master, TIOCSWINSZ, &ws));
        ASSERT_OK(tty_get_size(slave, &rows, &cols));
        ASSERT_EQ(rows, 33);
        ASSERT_EQ(cols, 101);
        ws = (struct winsize){};
        ASSERT_OK(ioctl(master, TIOCSWINSZ, &ws));
        ASSERT_ERROR(tty_get_size(slave, &rows, &cols), ENODATA);
        ASSERT_EQ(rows, 33);

        /* not a terminal */
        ASSERT_OK(pipe2(fds, O_CLOEXEC));
        ASSERT_ERROR(tty_raw_enable(&raw, fds[0]), ENOTTY);
        ASSERT_TRUE(raw.fd < 0);
        ASSERT_ERROR(tty_get_size(fds[0], &rows, &cols), ENOTTY);
        close(fds[0]);
        close(fds[1]);
        close(master);
        close(slave);
}

static char *json_of(const void *data, size_t size) {
        char *s = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&s, &n);

        ASSERT_NOT_NULL(f);
        json_write_bytes(f, data, size);
        ASSERT_EQ(fclose(f), 0);
        return s;
}

#define ASSERT_JSON(data, expected)                                         \
        do {                                                                \
                _cleanup_free_ char *_j_ = json_of(data, sizeof(data) - 1); \
                ASSERT_STREQ(_j_, expected);                                \
        } while (false)

TEST(json_bytes) {
        ASSERT_JSON("", "\"\"");
        ASSERT_JSON("hi\n", "\"hi\\n\"");
        ASSERT_JSON("a\"b\\c\t\r", "\"a\\\"b\\\\c\\t\\r\"");
        ASSERT_JSON("nul\0x", "\"nul\\u0000x\"");
        ASSERT_JSON("\x1b[0m\x7f", "\"\\u001b[0m\\u007f\"");
        /* valid UTF-8 as is: 2, 3 and 4 bytes */
        ASSERT_JSON("w\xc3\xa4rden \xe2\x82\xac \xf0\x9f\x98\x80",
                    "\"w\xc3\xa4rden \xe2\x82\xac \xf0\x9f\x98\x80\"");
        /* invalid: a lone continuation byte, a truncated sequence, an overlong form, a surrogate, above
         * U+10FFFF, 0xff: one U+FFFD per byte that is not part of a valid sequence */
        ASSERT_JSON("\x80", "\"\\ufffd\"");
        ASSERT_JSON("\xe2\x82", "\"\\ufffd\\ufffd\"");
        ASSERT_JSON("\xc0\xaf", "\"\\ufffd\\ufffd\"");
        ASSERT_JSON("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
        ASSERT_JSON("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
        ASSERT_JSON("a\xffz", "\"a\\ufffdz\"");
}

/* path_make_absolute_cwd(path) must give 'base' followed by 'suffix'. */
static void check_path(const char *path, const char *base, const char *suffix) {
        _cleanup_free_ char *p = NULL, *expected = NULL;

        ASSERT_TRUE(asprintf(&expected, "%s%s", base, suffix) > 0);
        ASSERT_OK(path_make_absolute_cwd(path, &p));
        ASSERT_STREQ(p, expected);
}

TEST(path_make_absolute_cwd) {
        _cleanup_free_ char *cwd = getcwd(NULL, 0), *t = NULL, *p = NULL;
        char *dir;

        ASSERT_NOT_NULL(cwd);
        /* a directory of our own without symlinks above it, holding "real/sub" and "link" -> "real/sub" */
        dir = tests_tmpdir();
        ASSERT_NOT_NULL(dir);
        t = realpath(dir, NULL);
        ASSERT_NOT_NULL(t);
        ASSERT_OK(chdir(t));
        ASSERT_OK(mkdir("real", 0755));
        ASSERT_OK(mkdir("real/sub", 0755));
        ASSERT_OK(symlink("real/sub", "link"));

        check_path("/etc/passwd", "/etc/passwd", "");
        check_path("/etc//./passwd", "/etc/passwd", "");
        check_path("/", "/", "");
        check_path("/.", "/", "");
        check_path("/..", "/", "");
        check_path("/etc/../tmp/x", "/tmp/x", "");
        check_path("a/b", t, "/a/b");
        check_path("./a//b", t, "/a/b");
        /* a trailing "/" (a directory's contents, in rsync's terms) is kept; "." and "DIR/." mean the same
         */
        check_path("a/", t, "/a/");
        check_path("a/b/.", t, "/a/b/");
        check_path(".", t, "/");
        check_path("./", t, "/");
        /* ".." as the kernel resolves it: through the symlink, not lexically */
        check_path("link/../f", t, "/real/f");
        check_path("real/sub/..//./g/", t, "/real/g/");
        ASSERT_OK(chdir("real/sub"));
        check_path("..", t, "/real");
        check_path("../../x", t, "/x");
        ASSERT_ERROR(path_make_absolute_cwd("nosuch/../x", &p), ENOENT);
        ASSERT_ERROR(path_make_absolute_cwd("", &p), EINVAL);
        ASSERT_NULL(p);

        ASSERT_OK(chdir("/"));
        check_path("x", "/x", "");
        check_path(".", "/", "");
        check_path("../y", "/y", "");
        ASSERT_OK(chdir(cwd));
}
