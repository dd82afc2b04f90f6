/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * wshd's request server: the unix socket (src/shared/wshd-proto.h), its connections, the dispatch of
 * requests (HELLO, STOP, SPAWN, SIGNAL, RESIZE, WATCH, RELEASE), the table of processes and their exits,
 * and the loop (epoll) that also reaps every process reparented to wshd and runs the pty relays.
 *
 * Nothing here ever waits for a child or for a peer: a connection that cannot take a message is closed, and
 * wshd keeps no output queues. Connections are limited (CONNECTIONS_MAX); when all are taken, the one idle
 * for the longest time makes room for a new one. Idle means waiting for nothing of its own and having
 * nothing unread; a connection whose first request has not arrived yet is not idle for 5 s
 * (FIRST_REQUEST_GRACE_USEC): wardend connects, then writes its SPAWN.
 *
 * Errors are negative errnos; replies carry the positive value (the wire's convention).
 */

#include <stdint.h>

#include "macro.h"
#include "wshd-confine.h"

typedef struct Server Server;

/* Set-up step (records its failure with setup_error()): binds and listens on 'path', 0600 from its first
 * moment. Returns the listening fd. */
int server_listen(const char *path);

/* Set-up step (records its failure with setup_error()): a server on 'listen_fd' and wshd's /proc 'proc_fd'
 * (both taken, also on failure), with its loop (epoll, signalfd for SIGCHLD, SIGTERM, SIGINT, which the
 * caller has blocked). 'host_pid' is wshd's PID on the host (for HELLO); 'confinement' is applied to every
 * process and must outlive the server. Raises wshd's own RLIMIT_NOFILE to the hard limit; processes get the
 * one it had. */
int server_new(int listen_fd, int proc_fd, uint32_t host_pid, const Confinement *confinement, Server **ret);

/* Serves until SIGTERM or SIGINT from outside the container, then exits the process. */
_noreturn_ void server_run(Server *s);
