/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "stdio-relay.h"

#define RELAY_BUFFER_SIZE (64U * 1024U)

/* The type of fd's file, from what the kernel has cached: a file of a FUSE or network file system that does
 * not answer must not block the caller (wardend's event loop). */
static int fd_statx(int fd, struct statx *ret) {
        return RET_NERRNO(statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, ret));
}

/* An anonymous pipe is on pipefs, which has a single superblock: its device is that of any pipe, ours. A
 * named FIFO is on the file system of its directory. */
static int fifo_is_anonymous(const struct statx *stx) {
        _cleanup_close_pair_ int p[2] = EBADF_PAIR;
        struct statx ours;
        int r;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        r = fd_statx(p[0], &ours);
        if (r < 0)
                return r;
        return stx->stx_dev_major == ours.stx_dev_major && stx->stx_dev_minor == ours.stx_dev_minor;
}

/* Terminals by their major numbers (tty, console/ptmx, pts), since an ioctl would reach the driver, which a
 * character device in user space (CUSE) could keep from answering. */
static bool chr_is_terminal(const struct statx *stx) {
        return stx->stx_rdev_major == 4 || stx->stx_rdev_major == 5 ||
               (stx->stx_rdev_major >= 136 && stx->stx_rdev_major <= 143);
}

int host_fd_classify(int fd, const char **ret_what) {
        struct statx stx;
        const char *what;
        HostFdKind kind = HOST_FD_OTHER;
        int flags, r;

        /* Neither call asks the file's file system or driver anything. */
        flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return -errno;
        r = fd_statx(fd, &stx);
        if (r < 0)
                return r;

        if (flags & O_PATH) {
                /* a handle on a path, whatever it points to: reopened through /proc it is the object */
                what = "an O_PATH descriptor";
                kind = HOST_FD_PATH;
        } else
                switch (stx.stx_mode & S_IFMT) {
                case S_IFIFO:
                        r = fifo_is_anonymous(&stx);
                        if (r < 0)
                                return r;
                        if (r > 0) {
                                what = "a pipe";
                                kind = HOST_FD_PIPE;
                        } else
                                what = "a named FIFO";
                        break;
                case S_IFDIR:
                        what = "a directory";
                        kind = HOST_FD_DIRECTORY;
                        break;
                case S_IFREG:
                        what = "a regular file";
                        break;
                case S_IFCHR:
                        what = chr_is_terminal(&stx) ? "a terminal" : "a character device";
                        break;
                case S_IFBLK:
                        what = "a block device";
                        break;
                case S_IFSOCK:
                        what = "a socket";
                        break;
                default:
                        what = "a special file";
                }
        if (ret_what)
                *ret_what = what;
        return kind;
}

static void relay_channel_close(RelayChannel *c) {
        if (c->src_ours)
                safe_close(c->src);
        if (c->dst_ours)
                safe_close(c->dst);
        c->src = c->dst = -EBADF;
        c->len = c->off = 0;
}

RelayStep relay_channel_step(RelayChannel *c) {
        assert(c);

        if (c->src < 0)
                return RELAY_DONE;

        if (c->len == 0) {
                ssize_t n = read(c->src, c->buf, RELAY_BUFFER_SIZE);

                if (n < 0 && errno == EINTR)
                        return RELAY_MORE;
                if (n < 0 && errno == EAGAIN)
                        return RELAY_WAIT;
                if (n <= 0) {
                        /* EOF, or an error that ends the input as well: EIO from a terminal that hung up
                         * or that we read in the background (with SIGTTIN ignored) */
                        relay_channel_close(c);
                        return RELAY_DONE;
                }
                c->off = 0;
                c->len = (size_t) n;
        }
        while (c->len > 0) {
                ssize_t n = write(c->dst, c->buf + c->off, c->len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return RELAY_WAIT;
                if (n < 0) {
                        /* the reader is gone (EPIPE) or the output failed: closing our end passes that on to
                         * the job, as EPIPE (SIGPIPE) on its output or EOF on its input */
                        relay_channel_close(c);
                        return RELAY_DONE;
                }
                c->off += (size_t) n;
                c->len -= (size_t) n;
        }
        return RELAY_MORE;
}

int relay_channel_wait(const RelayChannel *c, short *ret_events) {
        assert(c);
        assert(ret_events);

        if (c->src < 0)
                return -1;
        /* A source that cannot be polled is always ready: wait for room at the destination, our pipe. */
        if (c->len > 0 || !c->src_pollable) {
                *ret_events = POLLOUT;
                return c->dst;
        }
        *ret_events = POLLIN;
        return c->src;
}

void relay_channel_drain(RelayChannel *c) {
        assert(c);

        for (;;) {
                RelayStep s = relay_channel_step(c);
                struct pollfd p;

                if (s == RELAY_DONE)
                        return;
                if (s == RELAY_MORE)
                        continue;
                if (c->len == 0)
                        return; /* the pipe is empty */
                /* a destination the caller made non-blocking: wait until it takes more */
                p = (struct pollfd){ .fd = c->dst, .events = POLLOUT };
                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                        return;
        }
}

/* epoll refuses what is always ready (regular files, /dev/null): those are read without waiting. */
static bool fd_pollable(int fd) {
        struct epoll_event ev = { .events = EPOLLIN };
        _cleanup_close_ int ep = epoll_create1(EPOLL_CLOEXEC);

        return ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) >= 0;
}

/* One open file (2>&1), or one terminal opened twice: the same destination for the order of writes. */
static bool same_output(int a, int b) {
        struct stat sa, sb;

        if (a == b || syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, a, b) == 0)
                return true;
        if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
                return false;
        return S_ISCHR(sa.st_mode) && S_ISCHR(sb.st_mode) && sa.st_rdev == sb.st_rdev && isatty(a);
}

static int relay_channel_new(int caller_fd, bool input, RelayChannel **ret_channel, int *ret_job_fd) {
        _cleanup_close_pair_ int p[2] = EBADF_PAIR;
        RelayChannel *c;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        /* only our end is non-blocking: the job's is a description of its own */
        if (fcntl(p[input ? 1 : 0], F_SETFL, O_NONBLOCK) < 0)
                return -errno;
        c = malloc(sizeof(RelayChannel));
        if (!c)
                return -ENOMEM;
        *c = (RelayChannel){ .buf = malloc(RELAY_BUFFER_SIZE) };
        if (!c->buf) {
                free(c);
                return -ENOMEM;
        }
        if (input) {
                c->src = caller_fd;
                c->src_pollable = fd_pollable(caller_fd);
                c->dst = TAKE_FD(p[1]);
                c->dst_ours = true;
                *ret_job_fd = TAKE_FD(p[0]);
        } else {
                c->src = TAKE_FD(p[0]);
                c->src_ours = true;
                c->src_pollable = true;
                c->dst = caller_fd;
                *ret_job_fd = TAKE_FD(p[1]);
        }
        *ret_channel = c;
        return 0;
}

int stdio_relay_setup(StdioRelay *r, const int fds[3], int *ret_bad) {
        int k;

        assert(r);
        assert(fds);

        for (int i = 0; i < 3; i++) {
                if (fds[i] < 0)
                        continue;
                k = host_fd_classify(fds[i], NULL);
                if (k == -EBADF)
                        continue; /* not open: the job gets none */
                if (k < 0)
                        return k;
                if (k == HOST_FD_DIRECTORY || k == HOST_FD_PATH) {
                        if (ret_bad)
                                *ret_bad = i;
                        return -EISDIR;
                }
                if (k == HOST_FD_PIPE) {
                        r->job_fd[i] = fds[i];
                        continue;
                }
                if (i == 2 && r->channel[1] && same_output(fds[1], fds[2])) {
                        r->job_fd[2] = r->job_fd[1];
                        continue;
                }
                k = relay_channel_new(fds[i], i == 0, &r->channel[i], &r->job_fd[i]);
                if (k < 0)
                        return k;
                r->job_fd_ours[i] = true;
        }
        return 0;
}

void stdio_relay_close_job_fds(StdioRelay *r) {
        assert(r);

        for (int i = 0; i < 3; i++) {
                if (r->job_fd_ours[i])
                        safe_close(r->job_fd[i]);
                r->job_fd[i] = -EBADF;
                r->job_fd_ours[i] = false;
        }
}

void stdio_relay_done(StdioRelay *r) {
        stdio_relay_close_job_fds(r);
        for (int i = 0; i < 3; i++) {
                if (!r->channel[i])
                        continue;
                relay_channel_close(r->channel[i]);
                free(r->channel[i]->buf);
                r->channel[i] = mfree(r->channel[i]);
        }
}
