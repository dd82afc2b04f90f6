/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "log.h"
#include "wshd-client.h"

/* A full listen backlog makes connect() on a non-blocking unix socket fail with EAGAIN instead of waiting;
 * the socket stays unconnected, so we simply try again a little later (until the call's timeout). */
#define CONNECT_RETRY_USEC (10U * 1000U)

struct WshdCall {
        sd_event *event;
        sd_event_source *io_source;
        sd_event_source *timer_source;
        sd_event_source *retry_source;
        int fd;

        struct sockaddr_un address;
        socklen_t address_size;

        void *request; /* encoded, NULL once sent */
        size_t request_size;
        int fds[WSHD_FDS_MAX]; /* our duplicates of the request's fds, closed once sent */
        size_t n_fds;
        uint32_t serial;

        WshdMessage reply;

        wshd_callback_t callback;
        void *userdata;
};

static uint32_t next_serial(void) {
        static uint32_t counter = 0;

        /* 0 is what wshd uses when it cannot tell which request a reply is for: never use it */
        if (++counter == 0)
                ++counter;
        return counter;
}

static void call_close_request_fds(WshdCall *c) {
        for (size_t i = 0; i < c->n_fds; i++)
                c->fds[i] = safe_close(c->fds[i]);
        c->n_fds = 0;
}

static void call_release(WshdCall *c) {
        c->io_source = sd_event_source_disable_unref(c->io_source);
        c->timer_source = sd_event_source_disable_unref(c->timer_source);
        c->retry_source = sd_event_source_disable_unref(c->retry_source);
        c->request = mfree(c->request);
        call_close_request_fds(c);
}

WshdCall *wshd_call_free(WshdCall *c) {
        if (!c)
                return NULL;

        call_release(c);
        c->fd = safe_close(c->fd);
        wshd_message_done(&c->reply);
        sd_event_unref(c->event);
        return mfree(c);
}

int wshd_call_steal_fd(WshdCall *c) {
        int fd = c->fd;

        assert(c);

        c->fd = -EBADF;
        return fd;
}

/* Calls back exactly once. The callback may free the call, so nothing touches it afterwards. The socket
 * stays open until the call is freed (see wshd_call_steal_fd()). */
static void call_finish(WshdCall *c, int error) {
        call_release(c);
        c->callback(c, error, error >= 0 ? &c->reply : NULL, c->userdata);
}

static int call_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        WshdCall *c = userdata;
        int r;

        if (c->request) {
                r = wshd_message_send_buffer(c->fd, c->request, c->request_size, c->fds, c->n_fds);
                if (r == -EAGAIN)
                        return 0;
                if (r < 0) {
                        call_finish(c, r);
                        return 0;
                }
                c->request = mfree(c->request);
                call_close_request_fds(c);

                r = sd_event_source_set_io_events(c->io_source, EPOLLIN);
                if (r < 0)
                        call_finish(c, r);
                return 0;
        }

        r = wshd_message_recv(c->fd, &c->reply);
        if (r == -EAGAIN)
                return 0;
        if (r < 0) {
                call_finish(c, r);
                return 0;
        }
        if (c->reply.serial != c->serial) {
                /* One request per connection: any other serial is a confused peer. */
                wshd_message_done(&c->reply);
                wshd_message_init(&c->reply, 0, 0);
                call_finish(c, -EBADMSG);
                return 0;
        }

        call_finish(c, 0);
        return 0;
}

static int call_connect(WshdCall *c);

static int call_on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        WshdCall *c = userdata;
        int r;

        c->retry_source = sd_event_source_disable_unref(c->retry_source);
        r = call_connect(c);
        if (r < 0)
                call_finish(c, r);
        return 0;
}

static int call_on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        call_finish(userdata, -ETIMEDOUT);
        return 0;
}

static int call_connect(WshdCall *c) {
        int r;

        if (connect(c->fd, (const struct sockaddr *) &c->address, c->address_size) < 0) {
                if (errno == EAGAIN) {
                        r = sd_event_add_time_relative(
                                c->event,
                                &c->retry_source,
                                CLOCK_MONOTONIC,
                                CONNECT_RETRY_USEC,
                                0,
                                call_on_retry,
                                c);
                        if (r < 0)
                                return r;
                        (void) sd_event_source_set_description(c->retry_source, "wshd-call-retry");
                        return 0;
                }
                /* Unix sockets do not return this today, but if they did, writability says when. */
                if (errno != EINPROGRESS)
                        return -errno;
        }

        r = sd_event_add_io(c->event, &c->io_source, c->fd, EPOLLOUT, call_on_io, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(c->io_source, "wshd-call-io");
        return 0;
}

int wshd_call(
        sd_event *e,
        const char *socket_path,
        const WshdMessage *request,
        uint64_t timeout_usec,
        wshd_callback_t callback,
        void *userdata,
        WshdCall **ret) {
        _cleanup_(wshd_call_freep) WshdCall *c = NULL;
        WshdMessage m;
        size_t n;
        int r;

        assert_return(e, -EINVAL);
        assert_return(socket_path, -EINVAL);
        assert_return(request, -EINVAL);
        assert_return(request->n_fds <= WSHD_FDS_MAX, -EINVAL);
        assert_return(callback, -EINVAL);
        assert_return(ret, -EINVAL);

        n = strlen(socket_path);
        if (n == 0)
                return -EINVAL;
        if (n >= sizeof(c->address.sun_path))
                return -ENAMETOOLONG;

        c = calloc(1, sizeof(WshdCall));
        if (!c)
                return -ENOMEM;
        c->fd = -EBADF;
        for (size_t i = 0; i < WSHD_FDS_MAX; i++)
                c->fds[i] = -EBADF;
        wshd_message_init(&c->reply, 0, 0);
        c->event = sd_event_ref(e);
        c->callback = callback;
        c->userdata = userdata;

        c->address.sun_family = AF_UNIX;
        memcpy(c->address.sun_path, socket_path, n);
        c->address_size = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + 1);

        /* Encode now: the caller's request (strings, fds) need not outlive this function. */
        m = *request;
        m.serial = c->serial = next_serial();
        r = wshd_message_encode(&m, &c->request, &c->request_size);
        if (r < 0)
                return r;
        for (size_t i = 0; i < request->n_fds; i++) {
                c->fds[i] = fcntl(request->fds[i], F_DUPFD_CLOEXEC, 3);
                if (c->fds[i] < 0)
                        return -errno;
                c->n_fds++;
        }

        c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (c->fd < 0)
                return -errno;

        /* Errors that are known at once (no such socket, nobody listening) are returned here rather than
         * through the callback. */
        r = call_connect(c);
        if (r < 0)
                return r;

        if (timeout_usec > 0) {
                r = sd_event_add_time_relative(
                        e, &c->timer_source, CLOCK_MONOTONIC, timeout_usec, 0, call_on_timeout, c);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(c->timer_source, "wshd-call-timeout");
        }

        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- WATCH connections ------------------------------------------------------------------------------ */

struct WshdWatch {
        sd_event *event;
        WshdCall *call; /* while the WATCH request is in flight */
        sd_event_source *io_source;
        int fd;
        bool dispatching;
        bool freed;

        wshd_watch_callback_t callback;
        void *userdata;
};

WshdWatch *wshd_watch_free(WshdWatch *w) {
        if (!w)
                return NULL;

        w->call = wshd_call_free(w->call);
        w->io_source = sd_event_source_disable_unref(w->io_source);
        w->fd = safe_close(w->fd);
        w->event = sd_event_unref(w->event);
        if (w->dispatching) {
                /* Freed from its own callback: the dispatcher frees it when the callback returns. */
                w->freed = true;
                return NULL;
        }
        return mfree(w);
}

/* Calls back; returns false if the callback freed the watch (then it is gone). */
static bool watch_dispatch(WshdWatch *w, int error, const WshdMessage *message) {
        w->dispatching = true;
        w->callback(w, error, message, w->userdata);
        w->dispatching = false;
        if (w->freed) {
                free(w);
                return false;
        }
        return true;
}

static void watch_fail(WshdWatch *w, int error) {
        w->call = wshd_call_free(w->call);
        w->io_source = sd_event_source_disable_unref(w->io_source);
        w->fd = safe_close(w->fd);
        (void) watch_dispatch(w, error, NULL);
}

static int watch_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        WshdWatch *w = userdata;

        /* Events are small and few; a bounded batch per wake-up keeps other sources served. */
        for (unsigned i = 0; i < 64; i++) {
                _cleanup_(wshd_message_done) WshdMessage m;
                int r;

                wshd_message_init(&m, 0, 0);
                r = wshd_message_recv(w->fd, &m);
                if (r == -EAGAIN)
                        return 0;
                if (r < 0) {
                        watch_fail(w, r);
                        return 0;
                }
                if (m.type != WSHD_EVENT_EXIT)
                        continue; /* a newer wshd's event */
                if (!watch_dispatch(w, 0, &m))
                        return 0;
        }
        return 0;
}

static void watch_replied(WshdCall *call, int error, WshdMessage *reply, void *userdata) {
        WshdWatch *w = userdata;
        int r;

        if (error < 0) {
                watch_fail(w, error);
                return;
        }
        if (reply->type == WSHD_REPLY_ERROR) {
                watch_fail(w, reply->error > 0 ? -reply->error : -EPROTO);
                return;
        }
        if (reply->type != WSHD_REPLY_WATCH) {
                watch_fail(w, -EBADMSG);
                return;
        }

        /* Keep the connection: the events come on it. */
        w->fd = wshd_call_steal_fd(call);
        r = sd_event_add_io(w->event, &w->io_source, w->fd, EPOLLIN, watch_on_io, w);
        if (r < 0) {
                watch_fail(w, r);
                return;
        }
        (void) sd_event_source_set_description(w->io_source, "wshd-watch-io");
        if (!watch_dispatch(w, 0, reply))
                return;
        w->call = wshd_call_free(w->call);
}

int wshd_watch_new(
        sd_event *e,
        const char *socket_path,
        wshd_watch_callback_t callback,
        void *userdata,
        WshdWatch **ret) {
        _cleanup_(wshd_watch_freep) WshdWatch *w = NULL;
        WshdMessage req;
        int r;

        assert_return(e, -EINVAL);
        assert_return(callback, -EINVAL);
        assert_return(ret, -EINVAL);

        w = calloc(1, sizeof(WshdWatch));
        if (!w)
                return -ENOMEM;
        w->fd = -EBADF;
        w->event = sd_event_ref(e);
        w->callback = callback;
        w->userdata = userdata;

        wshd_message_init(&req, WSHD_REQUEST_WATCH, 0);
        r = wshd_call(e, socket_path, &req, 0, watch_replied, w, &w->call);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(w);
        return 0;
}
