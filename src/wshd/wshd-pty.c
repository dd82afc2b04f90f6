/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "wshd-pty.h"

#ifndef TIOCGPTPEER
#        define TIOCGPTPEER _IO('T', 0x41)
#endif

/* Per direction of a relay. */
#define RELAY_BUFFER_SIZE (16U * 1024U)
/* Rounds of reading and writing per relay and wake-up, so that one busy process cannot starve the rest. */
#define RELAY_ROUNDS 16
/* After a tty process's exit, what its terminal still holds is passed on before the exit is reported: until
 * the master has nothing more to give (or says that the slave is closed everywhere), but no more than this
 * (a process that inherited the terminal may go on writing) and for no longer than this (a reader that
 * never reads must not keep the exit from being reported). */
#define DRAIN_BYTES_MAX (1024U * 1024U)
#define DRAIN_TIMEOUT_USEC (10 * USEC_PER_SEC)

struct Relay {
        int epoll_fd;  /* the loop's, not ours */
        uint64_t key;  /* epoll data of our fds: key + RelayFd */
        uint32_t id;   /* the process, for log messages */
        int master_fd; /* the pty master, not ours */
        int in_fd;     /* -1: none, at EOF or failed */
        int out_fd;    /* -1: none or failed (what the process writes is then read and dropped) */
        /* regular files: epoll refuses them and they are always ready */
        bool plain[_RELAY_FD_MAX];
        uint32_t watched[_RELAY_FD_MAX]; /* the epoll events registered for each fd, 0: not registered */
        bool again;  /* may make progress without an event (plain files, rounds used up) */
        bool exited; /* the process exited: draining */

        uint8_t in_buf[RELAY_BUFFER_SIZE];
        size_t in_len;
        bool in_line_start; /* the last byte passed on was a newline (or none was) */

        uint8_t out_buf[RELAY_BUFFER_SIZE];
        size_t out_start, out_len;

        bool master_eof;      /* the slave is closed everywhere: nothing more will come */
        bool drained;         /* after the exit, a read of the master found nothing more */
        size_t after_exit;    /* bytes read from the master after the exit */
        uint64_t drain_until; /* CLOCK_MONOTONIC usec: report the exit then at the latest */
};

int pty_open(uint32_t uid, uint32_t rows, uint32_t cols, int *ret_master, int *ret_slave) {
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        char name[64];
        int r;

        assert(ret_master);
        assert(ret_slave);

        /* O_NOCTTY everywhere: wshd is a session leader without a terminal and must not get one. */
        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (master < 0)
                return -errno;
        if (grantpt(master) < 0 || unlockpt(master) < 0)
                return -errno;
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0) {
                /* kernels before 4.13 */
                if (ptsname_r(master, name, sizeof(name)) != 0)
                        return -errno;
                slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (slave < 0)
                        return -errno;
        }
        /* owned by the process's user, so that an unprivileged process can use it */
        if (fchown(slave, (uid_t) uid, (gid_t) -1) < 0)
                return -errno;
        r = pty_resize(master, rows, cols);
        if (r < 0)
                return r;

        *ret_master = TAKE_FD(master);
        *ret_slave = TAKE_FD(slave);
        return 0;
}

int pty_resize(int master_fd, uint32_t rows, uint32_t cols) {
        struct winsize ws = {
                .ws_row = (unsigned short) rows,
                .ws_col = (unsigned short) cols,
        };

        assert(master_fd >= 0);

        return RET_NERRNO(ioctl(master_fd, TIOCSWINSZ, &ws));
}

static int relay_fd(Relay *r, RelayFd which) {
        switch (which) {
        case RELAY_MASTER:
                return r->master_fd;
        case RELAY_IN:
                return r->in_fd;
        case RELAY_OUT:
                return r->out_fd;
        default:
                assert_not_reached();
        }
}

/* Registers what we wait for on one fd; nothing means not registered at all, so that a hung-up fd we are
 * not reading from does not wake us up over and over. */
static void relay_watch(Relay *r, RelayFd which, uint32_t events) {
        struct epoll_event ev = { .events = events, .data.u64 = r->key + which };
        int fd = relay_fd(r, which), op;

        if (fd < 0 || r->plain[which])
                events = 0;
        if (events == r->watched[which])
                return;
        if (events == 0) {
                (void) epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
                r->watched[which] = 0;
                return;
        }
        op = r->watched[which] == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
        if (epoll_ctl(r->epoll_fd, op, fd, &ev) < 0) {
                /* EPERM: a regular file or directory, which is always ready; anything else (ENOMEM)
                 * is treated the same, which is at worst a busier loop. */
                log_debug_errno(
                        errno, "Failed to watch fd %d of job %" PRIu32 ", polling it: %m", fd, r->id);
                r->plain[which] = true;
                r->watched[which] = 0;
                r->again = true;
                return;
        }
        r->watched[which] = events;
}

static void relay_close(Relay *r, RelayFd which) {
        int *fd = which == RELAY_IN ? &r->in_fd : &r->out_fd;

        assert(which != RELAY_MASTER);
        relay_watch(r, which, 0);
        *fd = safe_close(*fd);
}

/* One of the caller's fds for the relay, as a private non-blocking file description where possible (a
 * reopen through /proc, so that O_NONBLOCK does not change the caller's): pipes, FIFOs, terminals. A
 * regular file is used as it is (reopening would lose its offset; it never blocks). A socket cannot be
 * reopened: its shared description is made non-blocking. */
static int relay_open_fd(int proc_fd, int fd, bool output, int *ret, bool *ret_plain) {
        _cleanup_close_ int nfd = -EBADF;
        char path[64];
        struct stat st;
        int flags;

        flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return -errno;
        /* never more than the caller gave */
        if ((flags & O_ACCMODE) == (output ? O_RDONLY : O_WRONLY))
                return -EBADF;
        if (fstat(fd, &st) < 0)
                return -errno;

        if (S_ISREG(st.st_mode)) {
                nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (nfd < 0)
                        return -errno;
                *ret = TAKE_FD(nfd);
                *ret_plain = true;
                return 0;
        }

        (void) snprintf(path, sizeof(path), "self/fd/%d", fd);
        nfd = openat(
                proc_fd,
                path,
                (output ? O_WRONLY | (flags & O_APPEND) : O_RDONLY) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (nfd < 0) {
                nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (nfd < 0)
                        return -errno;
                if (!(flags & O_NONBLOCK) && fcntl(nfd, F_SETFL, flags | O_NONBLOCK) < 0)
                        return -errno;
        }
        *ret = TAKE_FD(nfd);
        *ret_plain = false;
        return 0;
}

int relay_new(
        int proc_fd,
        int epoll_fd,
        uint64_t key,
        uint32_t id,
        int master_fd,
        int in_fd,
        int out_fd,
        Relay **ret) {
        _cleanup_free_ Relay *r = NULL;
        int k;

        assert(proc_fd >= 0);
        assert(epoll_fd >= 0);
        assert(master_fd >= 0);
        assert(out_fd >= 0);
        assert(ret);

        r = malloc(sizeof(Relay));
        if (!r)
                return -ENOMEM;
        *r = (Relay){
                .epoll_fd = epoll_fd,
                .key = key,
                .id = id,
                .master_fd = master_fd,
                .in_fd = -EBADF,
                .out_fd = -EBADF,
                .in_line_start = true,
        };
        k = relay_open_fd(proc_fd, out_fd, true, &r->out_fd, &r->plain[RELAY_OUT]);
        if (k < 0)
                return k;
        if (in_fd >= 0) {
                k = relay_open_fd(proc_fd, in_fd, false, &r->in_fd, &r->plain[RELAY_IN]);
                if (k < 0) {
                        r->out_fd = safe_close(r->out_fd);
                        return k;
                }
        }
        *ret = TAKE_PTR(r);
        return 0;
}

Relay *relay_free(Relay *r) {
        if (!r)
                return NULL;
        relay_watch(r, RELAY_MASTER, 0);
        relay_close(r, RELAY_IN);
        relay_close(r, RELAY_OUT);
        return mfree(r);
}

bool relay_again(const Relay *r) {
        assert(r);
        return r->again;
}

uint64_t relay_deadline(const Relay *r) {
        assert(r);
        return r->exited ? r->drain_until : UINT64_MAX;
}

/* Stdin of a tty process ended: a terminal says so with its EOF character (twice if a line is pending, the
 * first only ends the line), unless the process switched the line discipline to raw mode. */
static void relay_input_eof(Relay *r) {
        struct termios t;

        relay_close(r, RELAY_IN);
        if (r->master_eof || tcgetattr(r->master_fd, &t) < 0 || !(t.c_lflag & ICANON))
                return;
        /* relay_run() reads at most RELAY_BUFFER_SIZE - 2, so there is room */
        if (!r->in_line_start)
                r->in_buf[r->in_len++] = t.c_cc[VEOF];
        r->in_buf[r->in_len++] = t.c_cc[VEOF];
}

static bool relay_drain_done(const Relay *r) {
        return r->master_eof || r->drained || r->after_exit >= DRAIN_BYTES_MAX;
}

bool relay_run(Relay *r, uint64_t now) {
        bool progress = true;
        ssize_t n;

        assert(r);
        r->again = false;

        for (unsigned round = 0; round < RELAY_ROUNDS && progress; round++) {
                progress = false;

                /* caller -> in_buf; two bytes stay free for the EOF characters */
                if (r->in_fd >= 0 && !r->exited && r->in_len + 2 < RELAY_BUFFER_SIZE) {
                        n = read(r->in_fd, r->in_buf + r->in_len, RELAY_BUFFER_SIZE - 2 - r->in_len);
                        if (n > 0) {
                                r->in_len += (size_t) n;
                                r->in_line_start = r->in_buf[r->in_len - 1] == '\n';
                                progress = true;
                        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                                relay_input_eof(r);
                                progress = true;
                        }
                }

                /* in_buf -> master */
                if (r->in_len > 0 && !r->master_eof && !r->exited) {
                        n = write(r->master_fd, r->in_buf, r->in_len);
                        if (n > 0) {
                                memmove(r->in_buf, r->in_buf + n, r->in_len - (size_t) n);
                                r->in_len -= (size_t) n;
                                progress = true;
                        } else if (n < 0 && errno != EAGAIN && errno != EINTR)
                                r->in_len = 0; /* nobody can read it */
                }

                /* master -> out_buf */
                if (!r->master_eof && !(r->exited && relay_drain_done(r)) &&
                    r->out_start + r->out_len < RELAY_BUFFER_SIZE) {
                        if (r->out_len == 0)
                                r->out_start = 0;
                        n =
                                read(r->master_fd,
                                     r->out_buf + r->out_start + r->out_len,
                                     RELAY_BUFFER_SIZE - r->out_start - r->out_len);
                        if (n > 0) {
                                if (r->out_fd >= 0)
                                        r->out_len += (size_t) n;
                                if (r->exited)
                                        r->after_exit += (size_t) n;
                                progress = true;
                        } else if (n < 0 && errno == EAGAIN) {
                                if (r->exited)
                                        r->drained = true;
                        } else if (n == 0 || errno != EINTR) {
                                /* EIO: the slave is closed everywhere, after everything written to it was
                                 * read. Input has nowhere to go any more. */
                                r->master_eof = true;
                                r->in_len = 0;
                                relay_close(r, RELAY_IN);
                                progress = true;
                        }
                }

                /* out_buf -> caller */
                if (r->out_len > 0) {
                        n = write(r->out_fd, r->out_buf + r->out_start, r->out_len);
                        if (n > 0) {
                                r->out_start += (size_t) n;
                                r->out_len -= (size_t) n;
                                progress = true;
                        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                                /* The reader is gone: go on reading the terminal (the process must not
                                 * block on it) and drop what comes. */
                                log_debug_errno(
                                        errno, "Output of job %" PRIu32 " failed, dropping it: %m", r->id);
                                relay_close(r, RELAY_OUT);
                                r->out_len = 0;
                                progress = true;
                        }
                }
        }
        if (progress)
                r->again = true;

        if (r->exited && ((relay_drain_done(r) && r->out_len == 0) || now >= r->drain_until))
                return true;

        relay_watch(
                r,
                RELAY_MASTER,
                (!r->master_eof && r->out_start + r->out_len < RELAY_BUFFER_SIZE &&
                                 !(r->exited && relay_drain_done(r))
                         ? EPOLLIN
                         : 0) |
                        (!r->master_eof && r->in_len > 0 && !r->exited ? EPOLLOUT : 0));
        relay_watch(r, RELAY_IN, !r->exited && r->in_len + 2 < RELAY_BUFFER_SIZE ? EPOLLIN : 0);
        relay_watch(r, RELAY_OUT, r->out_len > 0 ? EPOLLOUT : 0);
        /* plain files are ready without an event */
        if ((r->plain[RELAY_IN] && r->in_fd >= 0 && !r->exited && r->in_len + 2 < RELAY_BUFFER_SIZE) ||
            (r->plain[RELAY_OUT] && r->out_len > 0))
                r->again = true;
        return false;
}

void relay_exited(Relay *r, uint64_t now) {
        assert(r);

        /* Input for a dead process is pointless; its output is passed on before the exit is reported
         * (wardend reads a captured process's output right after the event). */
        r->exited = true;
        r->in_len = 0;
        relay_close(r, RELAY_IN);
        r->drain_until = now + DRAIN_TIMEOUT_USEC;
}
