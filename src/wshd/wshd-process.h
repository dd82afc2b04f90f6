/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * wshd's processes: what it starts for a SPAWN request (a "job" in the wire protocol,
 * src/shared/wshd-proto.h, whose job id it carries; named Process here because wardend's core has a Job of
 * its own), and the child's side between fork() and exec().
 *
 * They live in a fixed table (ProcessTable, WSHD_JOBS_MAX entries, so that the loop can name an entry in
 * an epoll key). The server (wshd-server.h) adds them on SPAWN, reaps them, reports their exits when this
 * part says an exit is final, and removes them on RELEASE (or after reporting an attached one). A process
 * with a tty has a pty master and maybe a relay (wshd-pty.h); the exit of one with a relay is final only
 * once its terminal is drained.
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

/* Attached processes (job_id 0 in SPAWN) get ids from here up; wardend's are below. */
#define PROCESS_ATTACHED_ID_MIN UINT32_C(0x80000000)

typedef struct ProcessTable {
        Process processes[WSHD_JOBS_MAX];
        size_t n_processes; /* entries in use */
        size_t n_relays;    /* entries with a relay */
        uint32_t next_attached_id;
} ProcessTable;

void process_table_init(ProcessTable *t);
/* The entry of job 'id', NULL: none. */
Process *process_table_find(ProcessTable *t, uint32_t id);
/* The running (not yet reaped) process 'pid', NULL: none (an orphan of the namespace). */
Process *process_table_find_running(ProcessTable *t, pid_t pid);
/* A free entry, NULL: the table is full. */
Process *process_table_free_slot(ProcessTable *t);
/* An unused id for an attached process. */
uint32_t process_table_attached_id(ProcessTable *t);
/* Entry 'i' if it is in use, else NULL. */
Process *process_table_get(ProcessTable *t, size_t i);
size_t process_table_index(const ProcessTable *t, const Process *p);
/* Fills the free entry 'slot' with 'p' (taking its master fd and relay). */
void process_table_add(ProcessTable *t, Process *slot, const Process *p);
/* The entry goes, with its pty and relay. The caller accounts for its owner. */
void process_table_remove(ProcessTable *t, Process *p);
/* Attached processes of 'owner' are forgotten by it (they run on and are reaped silently). */
void process_table_disown(ProcessTable *t, const Connection *owner);

/* Reaped with 'status': true if the exit is final now (no relay); else the relay drains from 'now' on. */
bool process_reaped(Process *p, int status, uint64_t now);
/* Runs the relay of 'p' (which has one): true if its exit is final now. */
bool process_relay(Process *p, uint64_t now);
/* The exit is final: PROCESS_EXITED, the pty and relay gone. */
void process_finish(ProcessTable *t, Process *p);

/* The child of a SPAWN, between fork() and exec(): every signal at its default, a session of its own, its
 * stdio (the pty's slave 'slave_fd' as its controlling terminal, or role_fd[], or /dev/null), the rlimits
 * ('nofile': wshd's original RLIMIT_NOFILE, then those of the request), groups, gid, uid, confinement, the
 * directory, then exec. A failure is recorded with setup_error() and reported on the child's stderr as
 * "wshd: <what>: <error>", with exit status 127 (program not found) or 126, as a shell does. */
_noreturn_ void process_exec(
        const WshdMessage *req,
        const int role_fd[static _WSHD_FD_ROLE_MAX],
        int slave_fd,
        const struct rlimit *nofile,
        const Confinement *confinement);
