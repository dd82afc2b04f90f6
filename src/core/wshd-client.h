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
int wshd_call(sd_event *e,
              const char *socket_path,
              const WshdMessage *request,
              uint64_t timeout_usec,
              wshd_callback_t callback,
              void *userdata,
              WshdCall **ret);
WshdCall *wshd_call_free(WshdCall *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(WshdCall *, wshd_call_free);
