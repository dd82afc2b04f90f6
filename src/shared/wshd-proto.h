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

#include <stddef.h>
#include <stdint.h>

#define WSHD_PROTOCOL_VERSION 1
#define WSHD_MESSAGE_MAX (64U * 1024U)
#define WSHD_FDS_MAX 4

typedef enum WshdMessageType {
        /* requests */
        WSHD_REQUEST_HELLO = 1, /* no fields; answered by WSHD_REPLY_HELLO */
        WSHD_REQUEST_STOP = 2,  /* timeout_ms: SIGTERM to every process but wshd (SIGKILL at once if 0),
                                   SIGKILL after timeout_ms; answered by WSHD_REPLY_OK once none is left */
        /* replies */
        WSHD_REPLY_OK = 100,
        WSHD_REPLY_ERROR = 101, /* error (positive errno), message */
        WSHD_REPLY_HELLO = 102, /* version, pid (wshd's PID as the host sees it), n_processes */
} WshdMessageType;

/*
 * Field tags. Integers have exactly their size (u32/i32: 4 bytes); a string carries its bytes without a
 * terminating NUL. A scalar field appears at most once (a duplicate is malformed); a list is a repeated tag,
 * one field per element, in order, so that lists need no count and no nesting. Tag 0 is invalid; tags this
 * side does not know are skipped, so a newer peer may add fields without a new version.
 *
 * Reserved for running processes in the container (not decoded yet, listed so that nobody reuses them):
 *     16 ARGV (string, repeated)          17 ENV (string "K=V", repeated)     18 DIR (string)
 *     19 UID (u32)                        20 GID (u32)                        21 USER (string)
 *     22 RLIMIT (repeated: u32 resource, u32 0, u64 soft, u64 hard)           23 TTY (u32 rows, u32 columns)
 *     24 JOB_ID (u32)                     25 EXIT_STATUS (i32)                26 SIGNAL (u32)
 *     27 FD_ROLE (u32, repeated: what the n-th passed fd is: stdin, stdout, stderr, status, pty master)
 */
typedef enum WshdField {
        WSHD_FIELD_VERSION = 1,     /* u32 */
        WSHD_FIELD_PID = 2,         /* u32 */
        WSHD_FIELD_N_PROCESSES = 3, /* u32 */
        WSHD_FIELD_TIMEOUT_MS = 4,  /* u32 */
        WSHD_FIELD_ERROR = 5,       /* i32 */
        WSHD_FIELD_MESSAGE = 6,     /* string */
} WshdField;

#define WSHD_HEADER_SIZE 12U
#define WSHD_FIELD_HEADER_SIZE 8U

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

        int fds[WSHD_FDS_MAX]; /* received or to send, -1 if unused */
        size_t n_fds;
} WshdMessage;

/* Initialises *m to an empty message of 'type' (fds -1). */
void wshd_message_init(WshdMessage *m, uint16_t type, uint32_t serial);
/* Frees strings and closes fds. */
void wshd_message_done(WshdMessage *m);

/* -ENOMEM; -E2BIG if it would exceed WSHD_MESSAGE_MAX; -EINVAL if a string is not valid UTF-8 (the peer
 * would refuse the message). *ret_buf is freed by the caller. fds are not part of the buffer. */
int wshd_message_encode(const WshdMessage *m, void **ret_buf, size_t *ret_size);
/* -EBADMSG: malformed; -EPROTO: another version; -ENOMEM. On success *ret owns its strings; fds stay -1. */
int wshd_message_decode(const void *buf, size_t size, WshdMessage *ret);

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
