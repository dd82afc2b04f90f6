/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * wshd-pty: the pty and its window size, and the relay between a pty master and a caller's pipes, driven
 * in the test process (the test holds the slave, standing in for the process); a relay's exit through
 * wshd-process (reaped, drained, finished).
 *
 * The loops wait for the relay's fds with epoll (no timeouts): a relay that never finishes fails the test
 * by meson's timeout.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "macro.h"
#include "parse-util.h"
#include "tests.h"
#include "wshd-process.h"
#include "wshd-pty.h"

/* Waits for an event of the relay unless it may make progress without one. */
static void wait_relay(const Relay *r, int epoll_fd) {
        struct epoll_event ev[8];

        if (relay_again(r))
                return;
        ASSERT_TRUE(epoll_wait(epoll_fd, ev, ELEMENTSOF(ev), -1) > 0);
}

/* Appends what the pipe 'fd' (non-blocking) holds to buf (of 'size'); the new length. */
static size_t collect(int fd, char *buf, size_t len, size_t size) {
        for (;;) {
                ssize_t n = read(fd, buf + len, size - 1 - len);

                if (n <= 0) {
                        ASSERT_TRUE(n < 0 && errno == EAGAIN);
                        buf[len] = 0;
                        return len;
                }
                len += (size_t) n;
        }
}

typedef struct Fixture {
        int proc_fd, epoll_fd, master, slave;
        int out[2]; /* the caller's stdout: the relay writes out[1], the test reads out[0] */
} Fixture;

static void fixture_init(Fixture *f) {
        *f = (Fixture){ .proc_fd = -EBADF,
                        .epoll_fd = -EBADF,
                        .master = -EBADF,
                        .slave = -EBADF,
                        .out = { -EBADF, -EBADF } };
        ASSERT_OK(f->proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        ASSERT_OK(f->epoll_fd = epoll_create1(EPOLL_CLOEXEC));
        ASSERT_OK(pty_open(getuid(), 24, 80, &f->master, &f->slave));
        ASSERT_OK(pipe2(f->out, O_CLOEXEC | O_NONBLOCK));
}

static void fixture_done(Fixture *f) {
        safe_close(f->proc_fd);
        safe_close(f->epoll_fd);
        safe_close(f->master);
        safe_close(f->slave);
        close_pairp(&f->out);
}

/* The fixture and a relay that also passes on the caller's stdin, the pipe 'in' (the test writes in[1]);
 * the terminal without echo, so that nothing waits on the output side. */
static Relay *input_relay_new(Fixture *f, int in[2]) {
        struct termios t;
        Relay *r = NULL;

        fixture_init(f);
        ASSERT_OK(tcgetattr(f->slave, &t));
        t.c_lflag &= ~(tcflag_t) ECHO;
        ASSERT_OK(tcsetattr(f->slave, TCSANOW, &t));
        ASSERT_OK(pipe2(in, O_CLOEXEC));
        ASSERT_OK(relay_new(f->proc_fd, f->epoll_fd, 0, 1, f->master, in[0], f->out[1], &r));
        return r;
}

/* The fixture and a relay of the terminal's output only, 's' written to the terminal. */
static Relay *output_relay_new(Fixture *f, const char *s) {
        Relay *r = NULL;

        fixture_init(f);
        ASSERT_OK(relay_new(f->proc_fd, f->epoll_fd, 0, 1, f->master, -EBADF, f->out[1], &r));
        ASSERT_EQ(write(f->slave, s, strlen(s)), (ssize_t) strlen(s));
        return r;
}

/* Writes 's' to the caller's stdin 'fd' (closing it if 'close_it'), and lets the relay pass it on. */
static void feed(Relay *r, int fd, const char *s, bool close_it) {
        ASSERT_EQ(write(fd, s, strlen(s)), (ssize_t) strlen(s));
        if (close_it)
                safe_close(fd);
        ASSERT_FALSE(relay_run(r, 0));
}

TEST(pty_open_resize) {
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        struct winsize ws = {};
        struct stat st;
        int flags;

        ASSERT_OK(pty_open(getuid(), 24, 80, &master, &slave));
        ASSERT_TRUE(isatty(slave));
        ASSERT_OK(fstat(slave, &st));
        ASSERT_EQ(st.st_uid, getuid());
        ASSERT_OK(flags = fcntl(master, F_GETFL));
        ASSERT_TRUE(flags & O_NONBLOCK);
        ASSERT_OK(ioctl(slave, TIOCGWINSZ, &ws));
        ASSERT_EQ(ws.ws_row, 24);
        ASSERT_EQ(ws.ws_col, 80);

        ASSERT_OK(pty_resize(master, 50, 132));
        ASSERT_OK(ioctl(slave, TIOCGWINSZ, &ws));
        ASSERT_EQ(ws.ws_row, 50);
        ASSERT_EQ(ws.ws_col, 132);
        ASSERT_OK(pty_resize(master, 65535, 1));
        ASSERT_OK(ioctl(slave, TIOCGWINSZ, &ws));
        ASSERT_EQ(ws.ws_row, 65535);
        ASSERT_EQ(ws.ws_col, 1);

        ASSERT_ERROR(pty_resize(999, 1, 1), EBADF);

        /* root (as in CI) hands the slave to the process's user; anyone else can only give it to itself */
        if (getuid() == 0) {
                master = safe_close(master);
                slave = safe_close(slave);
                ASSERT_OK(pty_open(65534, 24, 80, &master, &slave));
                ASSERT_OK(fstat(slave, &st));
                ASSERT_EQ(st.st_uid, 65534U);
        }
}

TEST(relay_wrong_direction) {
        Fixture f;
        _cleanup_close_pair_ int in[2] = EBADF_PAIR;
        Relay *r = NULL;

        fixture_init(&f);
        ASSERT_OK(pipe2(in, O_CLOEXEC));
        /* stdout open for reading, stdin for writing */
        ASSERT_ERROR(relay_new(f.proc_fd, f.epoll_fd, 0, 1, f.master, -EBADF, f.out[0], &r), EBADF);
        ASSERT_ERROR(relay_new(f.proc_fd, f.epoll_fd, 0, 1, f.master, in[1], f.out[1], &r), EBADF);
        ASSERT_NULL(r);
        /* the right way round */
        ASSERT_OK(relay_new(f.proc_fd, f.epoll_fd, 0, 1, f.master, in[0], f.out[1], &r));
        ASSERT_NOT_NULL(r);
        ASSERT_EQ(relay_deadline(r), UINT64_MAX);
        relay_free(r);
        fixture_done(&f);
}

TEST(relay_output) {
        Fixture f;
        _cleanup_(relay_freep) Relay *r = NULL;
        char buf[256];
        size_t len = 0;

        r = output_relay_new(&f, "hello\n");
        while (len < 7) {
                ASSERT_FALSE(relay_run(r, 0));
                len = collect(f.out[0], buf, len, sizeof(buf));
                if (len < 7)
                        wait_relay(r, f.epoll_fd);
        }
        /* as a terminal passes it on (ONLCR) */
        ASSERT_STREQ(buf, "hello\r\n");
        r = relay_free(r);
        fixture_done(&f);
}

TEST(relay_input_and_eof) {
        Fixture f;
        _cleanup_close_pair_ int in[2] = EBADF_PAIR, in2[2] = EBADF_PAIR;
        _cleanup_(relay_freep) Relay *r = NULL;
        char buf[64];

        r = input_relay_new(&f, in);
        feed(r, in[1], "line\n", false);
        /* the slave is blocking: the read waits for the line */
        ASSERT_EQ(read(f.slave, buf, sizeof(buf)), 5);
        ASSERT_TRUE(memcmp(buf, "line\n", 5) == 0);

        /* the caller's stdin ends amid a line: one EOF character ends the line, a second is the EOF */
        feed(r, TAKE_FD(in[1]), "abc", true);
        ASSERT_EQ(read(f.slave, buf, sizeof(buf)), 3);
        ASSERT_TRUE(memcmp(buf, "abc", 3) == 0);
        /* both came in one write: the second is there already (non-blocking, so that a missing one fails) */
        ASSERT_OK(fcntl(f.slave, F_SETFL, O_NONBLOCK));
        ASSERT_EQ(read(f.slave, buf, sizeof(buf)), 0);
        r = relay_free(r);
        fixture_done(&f);

        /* after a whole line, one EOF character: the next read is the EOF, the one after waits for more */
        r = input_relay_new(&f, in2);
        feed(r, TAKE_FD(in2[1]), "x\n", true);
        ASSERT_EQ(read(f.slave, buf, sizeof(buf)), 2);
        ASSERT_EQ(read(f.slave, buf, sizeof(buf)), 0);
        ASSERT_OK(fcntl(f.slave, F_SETFL, O_NONBLOCK));
        ASSERT_TRUE(read(f.slave, buf, sizeof(buf)) < 0 && errno == EAGAIN);
        r = relay_free(r);
        fixture_done(&f);
}

/* The caller's stdout is a regular file: shared as it is (its offset moves on), run without events. */
TEST(relay_output_file) {
        Fixture f;
        _cleanup_(relay_freep) Relay *r = NULL;
        _cleanup_close_ int fd = -EBADF;
        char path[PATH_MAX], buf[64] = {};
        struct stat st = {};

        fixture_init(&f);
        (void) snprintf(path, sizeof(path), "%s/out", tests_tmpdir());
        ASSERT_OK(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        ASSERT_EQ(write(fd, "<", 1), 1);
        ASSERT_OK(relay_new(f.proc_fd, f.epoll_fd, 0, 1, f.master, -EBADF, fd, &r));
        ASSERT_EQ(write(f.slave, "f\n", 2), 2);
        while (st.st_size < 4) {
                ASSERT_FALSE(relay_run(r, 0));
                ASSERT_OK(fstat(fd, &st));
                ASSERT_EQ(lseek(fd, 0, SEEK_CUR), st.st_size);
                if (st.st_size < 4)
                        wait_relay(r, f.epoll_fd);
        }
        fd = safe_close(fd);
        ASSERT_OK(fd = open(path, O_RDONLY | O_CLOEXEC));
        ASSERT_EQ(read(fd, buf, sizeof(buf) - 1), 4);
        ASSERT_STREQ(buf, "<f\r\n");
        r = relay_free(r);
        fixture_done(&f);
}

/* The process exits with output left in its terminal and the slave closed: the exit is final once the
 * output is passed on; the table's entry loses its relay and pty. */
TEST(process_exit_drains) {
        Fixture f;
        _cleanup_free_ ProcessTable *t = malloc(sizeof(ProcessTable));
        Relay *r = NULL;
        Process *p;
        char buf[256];
        size_t len = 0;
        bool final;

        ASSERT_NOT_NULL(t);
        process_table_init(t);
        r = output_relay_new(&f, "bye\n");
        p = process_table_free_slot(t);
        ASSERT_NOT_NULL(p);
        process_table_add(
                t,
                p,
                &(Process){
                        .in_use = true, .id = 1, .pid = 100, .master_fd = TAKE_FD(f.master), .relay = r });
        ASSERT_EQ(t->n_relays, 1U);

        f.slave = safe_close(f.slave);
        final = process_reaped(p, 3 << 8, 1000);
        ASSERT_EQ(p->state, PROCESS_DRAINING);
        ASSERT_EQ(p->wait_status, 3 << 8);
        ASSERT_EQ(relay_deadline(r), 1000 + 10 * USEC_PER_SEC);
        while (!final) {
                wait_relay(r, f.epoll_fd);
                final = process_relay(p, 1000);
        }
        len = collect(f.out[0], buf, len, sizeof(buf));
        ASSERT_STREQ(buf, "bye\r\n");

        process_finish(t, p);
        ASSERT_EQ(p->state, PROCESS_EXITED);
        ASSERT_NULL(p->relay);
        ASSERT_EQ(p->master_fd, -EBADF);
        ASSERT_EQ(t->n_relays, 0U);
        ASSERT_TRUE(process_table_find(t, 1) == p);
        process_table_remove(t, p);
        ASSERT_EQ(t->n_processes, 0U);
        fixture_done(&f);
}

/* A process left its terminal open (to a background child) when it exited: what the terminal holds is
 * passed on, and the exit is final once a read finds nothing more. */
TEST(relay_exit_slave_open) {
        Fixture f;
        _cleanup_(relay_freep) Relay *r = NULL;
        char buf[256];
        size_t len = 0;
        bool final = false;

        r = output_relay_new(&f, "left\n");
        relay_exited(r, 0);
        while (!final) {
                final = relay_run(r, 0);
                if (!final)
                        wait_relay(r, f.epoll_fd);
        }
        len = collect(f.out[0], buf, len, sizeof(buf));
        ASSERT_STREQ(buf, "left\r\n");
        /* written after the exit was final: not passed on any more by a run */
        ASSERT_EQ(write(f.slave, "late\n", 5), 5);
        ASSERT_TRUE(relay_run(r, 0));
        ASSERT_EQ(collect(f.out[0], buf, 0, sizeof(buf)), 0U);
        r = relay_free(r);
        fixture_done(&f);
}

/* Nobody reads the caller's stdout: the exit is reported at the drain's deadline, not before. */
TEST(relay_exit_deadline) {
        Fixture f;
        _cleanup_(relay_freep) Relay *r = NULL;
        static char fill[4096];
        uint64_t deadline;

        r = output_relay_new(&f, "stuck\n");
        while (write(f.out[1], fill, sizeof(fill)) > 0)
                ;
        ASSERT_EQ(errno, EAGAIN);

        relay_exited(r, 5000);
        deadline = relay_deadline(r);
        ASSERT_EQ(deadline, 5000 + 10 * USEC_PER_SEC);
        ASSERT_FALSE(relay_run(r, 5000));
        ASSERT_FALSE(relay_run(r, deadline - 1));
        ASSERT_TRUE(relay_run(r, deadline));
        r = relay_free(r);
        fixture_done(&f);
}
