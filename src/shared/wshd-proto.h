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
 * field that is not NUL-free UTF-8... Unknown tags are skipped (a newer peer). This file is shared by wardend
 * and wshd and needs nothing but libc.
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

/* -ENOMEM; -E2BIG if it would exceed WSHD_MESSAGE_MAX. *ret_buf is freed by the caller. fds are not part of
 * the buffer. */
int wshd_message_encode(const WshdMessage *m, void **ret_buf, size_t *ret_size);
/* -EBADMSG: malformed; -EPROTO: another version; -ENOMEM. On success *ret owns its strings; fds stay -1. */
int wshd_message_decode(const void *buf, size_t size, WshdMessage *ret);

/* One message (with m->fds) on a SOCK_SEQPACKET socket. -EAGAIN on a non-blocking socket that is full. */
int wshd_message_send(int fd, const WshdMessage *m);
/* One message with its fds (MSG_CMSG_CLOEXEC). -EAGAIN if none is waiting (non-blocking socket), -ECONNRESET
 * on EOF, -EBADMSG/-EPROTO as above (received fds are closed then). */
int wshd_message_recv(int fd, WshdMessage *ret);
