/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * No host object reaches a job. A job may hold only anonymous pipes of the caller's: a pipe is a buffer of
 * the kernel's with no name, owner, mode or place in any file system. Anything else that a caller's stdin,
 * stdout or stderr may be (a regular file, a terminal, a device, a directory, a socket, a named FIFO, an
 * O_PATH descriptor) is a host object that container root could reopen through /proc/self/fd with other
 * access rights, chmod, chown, ioctl (TIOCSTI) or walk (a directory), or, for a socket, use for more than
 * bytes (SCM_RIGHTS and SCM_CREDENTIALS, getpeername, sendto from the host's network namespace).
 *
 * wardend refuses such descriptors (org.warden.Error.HostFd); the clients (wardenctl, wsh) relay their own
 * through pipes they make here: the job gets one end, the client copies between the other end and its
 * descriptor. Negative errno on failure, never logs. libc only (wsh links it).
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum HostFdKind {
        HOST_FD_PIPE,      /* an anonymous pipe: may be given to a job as it is */
        HOST_FD_DIRECTORY, /* never given, never relayed */
        HOST_FD_PATH,      /* an O_PATH descriptor: the same */
        HOST_FD_OTHER,     /* any other host object: relayed, or refused */
        _HOST_FD_KIND_MAX,
        _HOST_FD_KIND_INVALID = -EINVAL,
} HostFdKind;

/* What fd is; *ret_what (if not NULL) names it for messages ("a regular file", "a terminal", ...).
 * Never asks the file's file system or driver (statx() of what is cached, no ioctl): it does not block on a
 * FUSE file. -EBADF: fd is not open; other negative errno from fcntl(), statx() or pipe2(). */
int host_fd_classify(int fd, const char **ret_what);

/* One direction of a relay: from src to dst through a buffer. */
typedef struct RelayChannel {
        int src, dst;            /* -EBADF once done */
        bool src_ours, dst_ours; /* closed at the end (the pipe's end); else the caller's, left open */
        bool src_pollable;       /* else (a regular file, /dev/null) it is always ready */
        uint8_t *buf;
        size_t off, len;
} RelayChannel;

typedef enum RelayStep {
        RELAY_MORE, /* moved data: call again */
        RELAY_WAIT, /* wait for relay_channel_wait()'s fd and events */
        RELAY_DONE, /* EOF, or one side failed: the channel is closed */
} RelayStep;

/* Copies at most one buffer: reads if it is empty, then writes what it can. A dst that is the caller's is
 * written as it is (blocking, unless the caller made it non-blocking). Never fails: an error ends it. */
RelayStep relay_channel_step(RelayChannel *c);

/* The fd to wait for and its poll events (POLLIN/POLLOUT); -1 when the channel is done. */
int relay_channel_wait(const RelayChannel *c, short *ret_events);

/* After the job has exited: copies what its output pipe still holds, until it is empty. */
void relay_channel_drain(RelayChannel *c);

typedef struct StdioRelay {
        int job_fd[3]; /* what the job gets as its 0, 1, 2: -EBADF for none */
        bool job_fd_ours[3];
        RelayChannel *channel[3]; /* NULL: passed as it is, not given, or (2) shares 1's channel */
} StdioRelay;

#define STDIO_RELAY_NULL                             \
        {                                            \
                .job_fd = { -EBADF, -EBADF, -EBADF } \
        }

/*
 * Sets up the job's stdin, stdout and stderr from fds[0..2] (-EBADF: none; a closed one is none too): an
 * anonymous pipe is passed as it is, anything else gets a pipe of ours and a channel. When fds[1] and fds[2]
 * are one open file (2>&1) or one terminal, both get the same pipe, so that the order of the job's writes
 * to them is kept. -EISDIR: fds[*ret_bad] is a directory or an O_PATH descriptor (never relayed); other
 * negative errno: from pipe(), fcntl() or malloc().
 */
int stdio_relay_setup(StdioRelay *r, const int fds[3], int *ret_bad);

/* Closes our copies of the job's ends once they are sent: the job then sees EOF and EPIPE properly. */
void stdio_relay_close_job_fds(StdioRelay *r);

void stdio_relay_done(StdioRelay *r);
