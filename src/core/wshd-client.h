/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * wardend's side of the wshd socket, on the event loop: one request, one reply, never blocking. Each call
 * opens its own connection (connect() on a unix socket does not block), sends the request when the socket is
 * writable and calls back once with the reply, an error, or -ETIMEDOUT.
 */

#include <systemd/sd-event.h>

#include "macro.h"
#include "wshd-proto.h"

typedef struct WshdCall WshdCall;

/* error: 0 and a reply (which may be WSHD_REPLY_ERROR), or a negative errno and reply NULL. The reply and
 * its fds belong to the call: take what you keep (e.g. set reply->fds[i] = -1). The callback may free the
 * call. */
typedef void (*wshd_callback_t)(WshdCall *call, int error, WshdMessage *reply, void *userdata);

/* timeout_usec: 0 means none. On success *ret is the call, to be freed with wshd_call_free() at the latest
 * after the callback ran; freeing it earlier cancels the call and the callback is not called. The request is
 * copied (its fds duplicated) and its serial replaced by one from a counter; the caller keeps its request.
 *
 * Returns at once: -ENOENT (no socket), -ECONNREFUSED (nobody listens on it), -ENAMETOOLONG, -EINVAL/-E2BIG
 * (request cannot be encoded), -ENOMEM. Through the callback: -ETIMEDOUT; -ECONNRESET or -EPIPE (wshd closed
 * the connection without a reply, e.g. it exited); -EBADMSG/-EPROTO (malformed reply, or one with another
 * serial); other negative errnos from the socket. */
int wshd_call(
        sd_event *e,
        const char *socket_path,
        const WshdMessage *request,
        uint64_t timeout_usec,
        wshd_callback_t callback,
        void *userdata,
        WshdCall **ret);
WshdCall *wshd_call_free(WshdCall *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(WshdCall *, wshd_call_free);
/* After the callback: takes the connection's socket (the caller closes it), e.g. to keep receiving on it. */
int wshd_call_steal_fd(WshdCall *c);

/*
 * A WATCH connection: a long-lived connection on which wshd reports the exits of jobs
 * (src/shared/wshd-proto.h). The callback gets the WSHD_REPLY_WATCH first (running and already exited jobs),
 * then one WSHD_EVENT_EXIT per exit; error < 0 (with message NULL) means the connection is gone (wshd closed
 * it, exited, or sent something malformed) and no more callbacks come: free the watch and, if the container
 * still lives, open a new one — the exits in between are in the next reply. message and its fds belong to
 * the watch and are valid during the callback only. The callback may free the watch.
 */
typedef struct WshdWatch WshdWatch;
typedef void (*wshd_watch_callback_t)(WshdWatch *w, int error, const WshdMessage *message, void *userdata);

/* Returns at once: -ENOENT, -ECONNREFUSED, -ENAMETOOLONG, -ENOMEM as wshd_call(). */
int wshd_watch_new(
        sd_event *e,
        const char *socket_path,
        wshd_watch_callback_t callback,
        void *userdata,
        WshdWatch **ret);
WshdWatch *wshd_watch_free(WshdWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(WshdWatch *, wshd_watch_free);
