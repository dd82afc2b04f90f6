/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * stdio-relay: which of a caller's descriptors a job may hold (only anonymous pipes), and the relay of the
 * others through pipes (files, terminals of a pty of our own, /dev/null), without a wardend.
 */

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "stdio-relay.h"
#include "tests.h"

static void assert_kind(int fd, HostFdKind kind, const char *what) {
        const char *w = NULL;

        ASSERT_EQ(host_fd_classify(fd, &w), (int) kind);
        ASSERT_STREQ(w, what);
}

TEST(classify) {
        const char *dir = tests_tmpdir();
        char fifo[PATH_MAX], file[PATH_MAX];
        _cleanup_close_pair_ int p[2] = EBADF_PAIR, s[2] = EBADF_PAIR;
        _cleanup_close_ int d = -EBADF, f = -EBADF, o = -EBADF, n = -EBADF, q = -EBADF, master = -EBADF,
                            slave = -EBADF;

        (void) snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
        (void) snprintf(file, sizeof(file), "%s/file", dir);
        ASSERT_OK(pipe2(p, O_CLOEXEC));
        assert_kind(p[0], HOST_FD_PIPE, "a pipe");
        assert_kind(p[1], HOST_FD_PIPE, "a pipe");
        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s));
        assert_kind(s[0], HOST_FD_OTHER, "a socket");
        ASSERT_OK(mkfifo(fifo, 0600));
        ASSERT_OK(q = open(fifo, O_RDWR | O_CLOEXEC));
        assert_kind(q, HOST_FD_OTHER, "a named FIFO");
        ASSERT_OK(f = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        assert_kind(f, HOST_FD_OTHER, "a regular file");
        ASSERT_OK(o = open(file, O_PATH | O_CLOEXEC));
        assert_kind(o, HOST_FD_PATH, "an O_PATH descriptor");
        ASSERT_OK(d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        assert_kind(d, HOST_FD_DIRECTORY, "a directory");
        ASSERT_OK(n = open("/dev/null", O_RDONLY | O_CLOEXEC));
        assert_kind(n, HOST_FD_OTHER, "a character device");
        ASSERT_OK(openpty(&master, &slave, NULL, NULL, NULL));
        assert_kind(slave, HOST_FD_OTHER, "a terminal");
        ASSERT_ERROR(host_fd_classify(999, NULL), EBADF);
}

TEST(setup) {
        const char *dir = tests_tmpdir();
        _cleanup_close_pair_ int p[2] = EBADF_PAIR;
        _cleanup_close_ int d = -EBADF, f = -EBADF, g = -EBADF, master = -EBADF, slave = -EBADF,
                            slave2 = -EBADF;
        StdioRelay r = STDIO_RELAY_NULL;
        int bad = -1;

        ASSERT_OK(pipe2(p, O_CLOEXEC));
        ASSERT_OK(f = openat(AT_FDCWD, dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
        ASSERT_OK(g = fcntl(f, F_DUPFD_CLOEXEC, 3));

        /* a pipe as it is; a file relayed; 2>&1 on the same pipe as 1 */
        ASSERT_OK(stdio_relay_setup(&r, (const int[]){ p[0], f, g }, &bad));
        ASSERT_EQ(r.job_fd[0], p[0]);
        ASSERT_NULL(r.channel[0]);
        ASSERT_NOT_NULL(r.channel[1]);
        ASSERT_EQ(host_fd_classify(r.job_fd[1], NULL), HOST_FD_PIPE);
        ASSERT_EQ(r.job_fd[2], r.job_fd[1]);
        ASSERT_NULL(r.channel[2]);
        stdio_relay_done(&r);
        ASSERT_EQ(fcntl(p[0], F_GETFD) >= 0, true); /* the caller's stays open */

        /* one terminal opened twice: one pipe too; a closed descriptor: none */
        ASSERT_OK(openpty(&master, &slave, NULL, NULL, NULL));
        ASSERT_OK(slave2 = open(ttyname(slave), O_RDWR | O_NOCTTY | O_CLOEXEC));
        r = (StdioRelay) STDIO_RELAY_NULL;
        ASSERT_OK(stdio_relay_setup(&r, (const int[]){ 999, slave, slave2 }, &bad));
        ASSERT_EQ(r.job_fd[0], -EBADF);
        ASSERT_NULL(r.channel[0]);
        ASSERT_NOT_NULL(r.channel[1]); /* relayed, and not -EBADF twice */
        ASSERT_EQ(host_fd_classify(r.job_fd[1], NULL), HOST_FD_PIPE);
        ASSERT_EQ(r.job_fd[2], r.job_fd[1]);
        ASSERT_NULL(r.channel[2]);
        stdio_relay_done(&r);

        /* a directory, never */
        ASSERT_OK(d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        r = (StdioRelay) STDIO_RELAY_NULL;
        ASSERT_ERROR(stdio_relay_setup(&r, (const int[]){ d, p[1], -EBADF }, &bad), EISDIR);
        ASSERT_EQ(bad, 0);
        stdio_relay_done(&r);
}

TEST(relay) {
        const char *dir = tests_tmpdir();
        char buf[64] = {};
        _cleanup_free_ char *big = malloc(60000);
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        StdioRelay r = STDIO_RELAY_NULL;
        struct stat st;
        int job_in, job_out;

        ASSERT_NOT_NULL(big);
        ASSERT_OK(in = openat(AT_FDCWD, dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
        ASSERT_OK(out = openat(AT_FDCWD, dir, O_TMPFILE | O_RDWR | O_APPEND | O_CLOEXEC, 0600));
        ASSERT_EQ(write(in, "input\n", 6), 6);
        ASSERT_OK(lseek(in, 0, SEEK_SET));
        ASSERT_OK(stdio_relay_setup(&r, (const int[]){ in, out, -EBADF }, NULL));
        job_in = r.job_fd[0];
        job_out = r.job_fd[1];

        /* stdin: a regular file is never polled (epoll refuses it): the channel waits for room in the pipe
         */
        {
                short events = 0;

                ASSERT_EQ(relay_channel_wait(r.channel[0], &events), r.channel[0]->dst);
                ASSERT_EQ(events, POLLOUT);
        }
        ASSERT_EQ(relay_channel_step(r.channel[0]), RELAY_MORE);
        ASSERT_EQ(relay_channel_step(r.channel[0]), RELAY_DONE); /* EOF: our end closed, the job sees EOF */
        ASSERT_EQ(read(job_in, buf, sizeof(buf)), 6);
        ASSERT_STREQ(buf, "input\n");
        ASSERT_EQ(read(job_in, buf, sizeof(buf)), 0);

        /* stdout: what the job wrote before its exit is out after a drain, all of it */
        memset(big, 'x', 60000);
        ASSERT_EQ(write(job_out, big, 60000), 60000);
        ASSERT_EQ(relay_channel_step(r.channel[1]), RELAY_MORE);
        ASSERT_EQ(write(job_out, "end\n", 4), 4);
        relay_channel_drain(r.channel[1]);
        ASSERT_OK(fstat(out, &st));
        ASSERT_EQ(st.st_size, 60004);
        ASSERT_EQ(relay_channel_step(r.channel[1]), RELAY_WAIT); /* empty, the job's end still open */
        stdio_relay_close_job_fds(&r);
        ASSERT_EQ(relay_channel_step(r.channel[1]), RELAY_DONE); /* no writer left: EOF */
        stdio_relay_done(&r);
}
