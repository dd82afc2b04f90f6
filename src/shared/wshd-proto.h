/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The wire protocol between the host (wardend, wsh) and wshd, the container's init, on wshd's unix socket
 * (SOCK_SEQPACKET: one datagram is one message; file descriptors travel with it as SCM_RIGHTS).
 *
 * A message is a fixed header followed by fields:
 *
 *     u32 length        of the whole message, header included (little endian, like every integer here)
 *     u16 version       WSHD_PROTOCOL_VERSION
 *     u16 type          WshdMessageType
 *     u32 serial        chosen by the requester; a reply carries the serial of its request
 *     fields            each: u16 tag, u16 reserved (0), u32 size, then 'size' bytes, padded to 4
 *
 * Decoding is a pure function that refuses anything malformed with -EBADMSG: a short or overlong message, a
 * length that disagrees with the datagram, an unknown version, a field that runs past the end, a string
 * field that is not NUL-free UTF-8... Unknown tags are skipped (a newer peer). This file is shared by
 * wardend and wshd and needs nothing but libc.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSHD_PROTOCOL_VERSION 1
/* Fits the default socket send buffer (net.core.wmem_default is 208 KiB): argv and env of one SPAWN share
 * it. */
#define WSHD_MESSAGE_MAX (128U * 1024U)
#define WSHD_FDS_MAX 4
/* Jobs (running, or exited and not yet released) that one wshd keeps at most; SPAWN beyond: EAGAIN. */
#define WSHD_JOBS_MAX 1024U
/* Entries of the repeated SPAWN fields at most (the message size limits them anyway). */
#define WSHD_ARGV_MAX 4096U
#define WSHD_GROUPS_MAX 64U
#define WSHD_RLIMITS_MAX 16U

typedef enum WshdMessageType {
        /* requests */
        WSHD_REQUEST_HELLO = 1, /* no fields; answered by WSHD_REPLY_HELLO */
        WSHD_REQUEST_STOP = 2,  /* timeout_ms: SIGTERM to every process but wshd (SIGKILL at once if 0),
                                   SIGKILL after timeout_ms; answered by WSHD_REPLY_OK once none is left */
        WSHD_REQUEST_SPAWN = 3, /* job_id, argv (>= 1), env, dir, uid + gid (both required), groups, rlimits,
                                   tty, fds with fd_roles; answered by WSHD_REPLY_SPAWN. See "Jobs" below. */
        WSHD_REQUEST_SIGNAL = 4, /* job_id, signal: to the job's process group; OK, or ESRCH if the job is
                                    not running (unknown, or exited) */
        WSHD_REQUEST_RESIZE = 5, /* job_id, tty (rows, cols): TIOCSWINSZ on its pty; ENOTTY if it has none,
                                    ESRCH if it is not running */
        WSHD_REQUEST_WATCH = 6,  /* no fields; answered by WSHD_REPLY_WATCH, after which this connection gets
                                    a  WSHD_EVENT_EXIT for every job that exits, until it is closed */
        WSHD_REQUEST_RELEASE = 7, /* job_id: forget an exited job (its exit has been recorded); OK, ESRCH if
                                     unknown, EBUSY if still running */
        /* replies */
        WSHD_REPLY_OK = 100,
        WSHD_REPLY_ERROR = 101, /* error (positive errno), message */
        WSHD_REPLY_HELLO = 102, /* version, pid (wshd's PID as the host sees it), n_processes */
        WSHD_REPLY_SPAWN = 103, /* job_id, pid (the job's PID in the container's PID namespace); carries the
                                   pty master as its only fd when a tty was asked for without caller fds */
        WSHD_REPLY_WATCH = 104, /* running (the ids of running jobs), exited (exited, unreleased jobs) */
        /* events: unsolicited, serial 0 */
        WSHD_EVENT_EXIT = 200, /* job_id, pid, wait_status; to every WATCH connection, and for a job spawned
                                  with job_id 0 to the connection that spawned it */
} WshdMessageType;

/*
 * Jobs. wardend numbers its jobs itself (job_id > 0, unique per container) and SPAWNs them; wshd forks, sets
 * the child up (new session, the fds on 0/1/2 or the pty's slave as controlling terminal, rlimits, groups,
 * gid, uid, no_new_privs unless uid is 0, env, dir) and execs argv[0], searched in the PATH of env. When
 * that fails, the child writes "wshd: <what>: <error>" to its stderr and exits 127 (program not found) or
 * 126 (any other failure), as a shell does; SPAWN itself succeeds once the fork did.
 *
 * wshd reaps the job and keeps its wait status until a RELEASE for it, so an exit that happens while nobody
 * watches (wardend restarting) is reported to the next WATCH (in its reply) and is never lost; each exit is
 * reported as an event exactly once to each WATCH connection that was open when it happened.
 *
 * A job spawned with job_id 0 (wsh's jobs) is "attached": wshd gives it an id of its own above 2^31, reports
 * its exit only to the spawning connection and forgets it then (or when that connection closes first).
 *
 * fd_roles[i] says what fds[i] is: WSHD_FD_STDIN/STDOUT/STDERR (used as the job's 0/1/2; a missing one is
 * /dev/null). With tty: wshd makes a pty in the container; if the caller passed an STDOUT fd, wshd itself
 * relays between the pty master and the caller's fds (STDIN into the pty, output to STDOUT) for the life of
 * the job, so that the job's terminal outlives the caller's connection; without fds, the master goes back to
 * the caller in the reply, which relays itself (wsh). RESIZE applies to either.
 */
typedef enum WshdFdRole {
        WSHD_FD_STDIN = 0,
        WSHD_FD_STDOUT = 1,
        WSHD_FD_STDERR = 2,
        _WSHD_FD_ROLE_MAX,
} WshdFdRole;

/*
 * Field tags. Integers have exactly their size (u32/i32: 4 bytes); a string carries its bytes without a
 * terminating NUL. A scalar field appears at most once (a duplicate is malformed); a list is a repeated tag,
 * one field per element, in order, so that lists need no count and no nesting. Tag 0 is invalid; tags this
 * side does not know are skipped, so a newer peer may add fields without a new version.
 *
 * Integer fields that are 0 are left out by the encoder and read back as 0, except where said otherwise.
 */
typedef enum WshdField {
        WSHD_FIELD_VERSION = 1,     /* u32 */
        WSHD_FIELD_PID = 2,         /* u32 */
        WSHD_FIELD_N_PROCESSES = 3, /* u32 */
        WSHD_FIELD_TIMEOUT_MS = 4,  /* u32 */
        WSHD_FIELD_ERROR = 5,       /* i32 */
        WSHD_FIELD_MESSAGE = 6,     /* string */
        /* 7..15 unused */
        WSHD_FIELD_ARGV = 16,        /* string, repeated */
        WSHD_FIELD_ENV = 17,         /* string "K=V" (K non-empty, no '='), repeated */
        WSHD_FIELD_DIR = 18,         /* string, absolute */
        WSHD_FIELD_UID = 19,         /* u32; always written in SPAWN (0 is root), which requires it */
        WSHD_FIELD_GID = 20,         /* u32; likewise */
        WSHD_FIELD_GROUPS = 21,      /* u32, repeated */
        WSHD_FIELD_RLIMIT = 22,      /* u32 resource, u32 0, u64 soft, u64 hard; repeated */
        WSHD_FIELD_TTY = 23,         /* u32 rows, u32 cols; present = a tty */
        WSHD_FIELD_JOB_ID = 24,      /* u32 */
        WSHD_FIELD_WAIT_STATUS = 25, /* u32, as from waitpid(); always written in EVENT_EXIT */
        WSHD_FIELD_SIGNAL = 26,      /* u32, 1..64 */
        WSHD_FIELD_FD_ROLE = 27,     /* u32 WshdFdRole, repeated: the role of the n-th passed fd */
        WSHD_FIELD_RUNNING = 28,     /* u32 job id, repeated */
        WSHD_FIELD_EXITED = 29,      /* u32 job_id, u32 pid, u32 wait_status; repeated */
} WshdField;

#define WSHD_HEADER_SIZE 12U
#define WSHD_FIELD_HEADER_SIZE 8U

typedef struct WshdRlimit {
        uint32_t resource; /* RLIMIT_* */
        uint64_t soft;     /* RLIM_INFINITY as is */
        uint64_t hard;
} WshdRlimit;

typedef struct WshdExited {
        uint32_t job_id;
        uint32_t pid;
        uint32_t wait_status;
} WshdExited;

typedef struct WshdMessage {
        uint16_t type;
        uint32_t serial;

        /* fields; which ones a type uses is said above; unset ones are 0 / NULL */
        uint32_t version;
        uint32_t pid;
        uint32_t n_processes;
        uint32_t timeout_ms;
        int32_t error;
        char *message;

        uint32_t job_id;
        char **argv; /* NULL-terminated (NULL if none) */
        char **env;  /* NULL-terminated (NULL if none) */
        char *dir;
        uint32_t uid;
        uint32_t gid;
        uint32_t *groups;
        size_t n_groups;
        WshdRlimit *rlimits;
        size_t n_rlimits;
        bool tty;
        uint32_t tty_rows;
        uint32_t tty_cols;
        uint32_t wait_status;
        uint32_t signal;
        uint32_t fd_roles[WSHD_FDS_MAX];
        size_t n_fd_roles;
        uint32_t *running;
        size_t n_running;
        WshdExited *exited;
        size_t n_exited;

        int fds[WSHD_FDS_MAX]; /* received or to send, -1 if unused */
        size_t n_fds;
} WshdMessage;

/* Initialises *m to an empty message of 'type' (fds -1). */
void wshd_message_init(WshdMessage *m, uint16_t type, uint32_t serial);
/* Frees strings and arrays and closes fds. */
void wshd_message_done(WshdMessage *m);

/* -ENOMEM; -E2BIG if it would exceed WSHD_MESSAGE_MAX or a list has more entries than its WSHD_*_MAX;
 * -EINVAL for anything else the peer would refuse: a string that is not valid UTF-8, an env entry that is
 * not "K=V", a relative dir, a signal above 64, an fd role out of range, more than WSHD_FDS_MAX fd roles, a
 * SPAWN without argv, a SIGNAL without signal. *ret_buf is freed by the caller. fds are not part of the
 * buffer. */
int wshd_message_encode(const WshdMessage *m, void **ret_buf, size_t *ret_size);
/* -EBADMSG: malformed (the wire format above, and what encode refuses with -EINVAL/-E2BIG; also a SPAWN
 * without uid or gid, an EVENT_EXIT without wait_status); -EPROTO: another version; -ENOMEM. On success *ret
 * owns its strings and arrays; fds stay -1. */
int wshd_message_decode(const void *buf, size_t size, WshdMessage *ret);
/* The fields of two messages are the same (fds are not compared). For tests and fuzzers. */
bool wshd_message_equal(const WshdMessage *a, const WshdMessage *b);
/* An env entry as SPAWN accepts it: "K=V" with a non-empty K. */
bool wshd_env_valid(const char *s);

/* One message (with m->fds) on a SOCK_SEQPACKET socket. -EAGAIN on a non-blocking socket that is full;
 * -EPIPE/-ECONNRESET when the peer is gone; -EINVAL: more than WSHD_FDS_MAX fds or a string that is not
 * UTF-8; -EBADF: a negative fd; -E2BIG as for encode. Never raises SIGPIPE. */
int wshd_message_send(int fd, const WshdMessage *m);
/* The same with an already encoded buffer (see wshd_message_encode()), for senders that keep it around while
 * waiting for the socket to become writable. */
int wshd_message_send_buffer(int fd, const void *buf, size_t size, const int *fds, size_t n_fds);
/* One message with its fds (MSG_CMSG_CLOEXEC). -EAGAIN if none is waiting (non-blocking socket), -ECONNRESET
 * on EOF, -EBADMSG/-EPROTO as above (received fds are closed then). */
int wshd_message_recv(int fd, WshdMessage *ret);
