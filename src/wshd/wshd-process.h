/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * wshd's processes: what it starts for a SPAWN request (a "job" in the wire protocol,
 * src/shared/wshd-proto.h, whose job id it carries; named Process here because wardend's core has a Job of
 * its own), and the child's side between fork() and exec().
 *
 * The server (wshd-server.h) keeps them in a fixed table, reaps them, reports their exits and frees them on
 * RELEASE; a process with a tty has a pty master and maybe a relay (wshd-pty.h).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "macro.h"
#include "wshd-confine.h"
#include "wshd-proto.h"
#include "wshd-pty.h"

typedef enum ProcessState {
        PROCESS_RUNNING,  /* not reaped yet */
        PROCESS_DRAINING, /* reaped; the relay is still passing on what the terminal holds */
        PROCESS_EXITED,   /* reported; kept until RELEASE */
} ProcessState;

typedef struct Connection Connection;

typedef struct Process {
        bool in_use;
        uint32_t id; /* the job id of the wire protocol */
        pid_t pid;
        ProcessState state;
        int wait_status;
        int master_fd;     /* the pty master while the process runs (RESIZE, relay); -EBADF without a tty */
        Relay *relay;      /* with a tty and caller fds */
        bool attached;     /* spawned with job_id 0: reported to its owner only, then forgotten */
        Connection *owner; /* attached: the connection that spawned it; NULL once that closed */
} Process;

/* The child of a SPAWN, between fork() and exec(): every signal at its default, a session of its own, its
 * stdio (the pty's slave 'slave_fd' as its controlling terminal, or role_fd[], or /dev/null), the rlimits
 * ('nofile': wshd's original RLIMIT_NOFILE, then those of the request), groups, gid, uid, confinement, the
 * directory, then exec. A failure is recorded with setup_error() and reported on the child's stderr as
 * "wshd: <what>: <error>", with exit status 127 (program not found) or 126, as a shell does. */
_noreturn_ void
process_exec(const WshdMessage *req,
             const int role_fd[static _WSHD_FD_ROLE_MAX],
             int slave_fd,
             const struct rlimit *nofile,
             const Confinement *confinement);
