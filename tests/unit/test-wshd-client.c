/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * wshd_call() against a fake wshd served from the same event loop: the listening socket and each accepted
 * connection are sd-event io sources too, so that nothing needs a second process.
 */

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "macro.h"
#include "tests.h"

static void set_sun_path(struct sockaddr_un *sa, const char *path) {
        size_t n = strlen(path);

        ASSERT_TRUE(n < sizeof(sa->sun_path));
        memcpy(sa->sun_path, path, n + 1);
}
#include "wshd-client.h"

typedef enum FakeMode {
        FAKE_ANSWER,
        FAKE_SILENT,
        FAKE_WRONG_SERIAL,
        FAKE_GARBAGE,
        FAKE_CLOSE,
} FakeMode;

typedef struct Fake {
        sd_event *event;
        FakeMode mode;
        int listen_fd;
        int conn_fd;
        sd_event_source *listen_source;
        sd_event_source *conn_source;
        unsigned n_requests;
        uint32_t last_serial;
        int received_fd; /* first fd of the last request */

        /* the client side */
        unsigned n_callbacks;
        int error;
        WshdMessage reply;
        WshdCall *call;
} Fake;

static int fake_on_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Fake *f = userdata;
        WshdMessage req, m;
        int r;

        r = wshd_message_recv(fd, &req);
        if (r == -EAGAIN)
                return 0;
        if (r < 0) {
                f->conn_source = sd_event_source_disable_unref(f->conn_source);
                return 0;
        }
        f->n_requests++;
        f->last_serial = req.serial;
        if (req.n_fds > 0) {
                f->received_fd = req.fds[0];
                req.fds[0] = -1;
        }

        switch (f->mode) {
        case FAKE_ANSWER:
        case FAKE_WRONG_SERIAL:
                wshd_message_init(&m, WSHD_REPLY_HELLO, req.serial + (f->mode == FAKE_WRONG_SERIAL));
                m.version = WSHD_PROTOCOL_VERSION;
                m.pid = 4242;
                m.n_processes = 3;
                m.message = (char *) "hi";
                ASSERT_OK(wshd_message_send(fd, &m));
                break;
        case FAKE_GARBAGE:
                ASSERT_EQ(send(fd, "garbage!", 8, 0), 8);
                break;
        case FAKE_CLOSE:
                f->conn_source = sd_event_source_disable_unref(f->conn_source);
                f->conn_fd = safe_close(f->conn_fd);
                break;
        case FAKE_SILENT:
                break;
        }
        wshd_message_done(&req);
        return 0;
}

static int fake_on_listen(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Fake *f = userdata;
        int cfd;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
                return 0;
        ASSERT_TRUE(f->conn_fd < 0);
        f->conn_fd = cfd;
        ASSERT_OK(sd_event_add_io(f->event, &f->conn_source, cfd, EPOLLIN, fake_on_conn, f));
        return 0;
}

static char *fake_socket_path(void) {
        static char path[256];

        snprintf(path, sizeof(path), "%s/wshd.sock", tests_tmpdir());
        return path;
}

static void fake_start(Fake *f, FakeMode mode) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        *f = (Fake){ .mode = mode, .listen_fd = -1, .conn_fd = -1, .received_fd = -1 };
        ASSERT_OK(sd_event_new(&f->event));
        f->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ASSERT_TRUE(f->listen_fd >= 0);
        set_sun_path(&sa, fake_socket_path());
        (void) unlink(sa.sun_path);
        ASSERT_OK(bind(f->listen_fd, (struct sockaddr *) &sa, sizeof(sa)));
        ASSERT_OK(listen(f->listen_fd, 8));
        ASSERT_OK(sd_event_add_io(f->event, &f->listen_source, f->listen_fd, EPOLLIN, fake_on_listen, f));
        wshd_message_init(&f->reply, 0, 0);
}

static void fake_stop(Fake *f) {
        sd_event_source_disable_unref(f->conn_source);
        sd_event_source_disable_unref(f->listen_source);
        safe_close(f->conn_fd);
        safe_close(f->listen_fd);
        safe_close(f->received_fd);
        wshd_call_free(f->call);
        wshd_message_done(&f->reply);
        sd_event_unref(f->event);
}

static void on_reply(WshdCall *call, int error, WshdMessage *reply, void *userdata) {
        Fake *f = userdata;

        ASSERT_TRUE(call == f->call);
        f->n_callbacks++;
        f->error = error;
        if (reply) {
                ASSERT_TRUE(error == 0);
                f->reply = *reply;
                reply->message = NULL; /* taken */
        } else
                ASSERT_TRUE(error < 0);
        /* the callback may free the call */
        f->call = wshd_call_free(f->call);
        (void) sd_event_exit(f->event, 0);
}

static void run_call(Fake *f, const WshdMessage *req, uint64_t timeout_usec) {
        ASSERT_OK(wshd_call(f->event, fake_socket_path(), req, timeout_usec, on_reply, f, &f->call));
        ASSERT_NOT_NULL(f->call);
        ASSERT_OK(sd_event_loop(f->event));
        ASSERT_EQ(f->n_callbacks, 1);
        ASSERT_NULL(f->call);
}

TEST(call_hello) {
        Fake f;
        WshdMessage req;

        fake_start(&f, FAKE_ANSWER);
        wshd_message_init(&req, WSHD_REQUEST_HELLO, 0);
        run_call(&f, &req, 5 * 1000 * 1000);
        ASSERT_EQ(f.error, 0);
        ASSERT_EQ(f.n_requests, 1);
        ASSERT_TRUE(f.last_serial != 0);
        ASSERT_EQ(f.reply.type, WSHD_REPLY_HELLO);
        ASSERT_EQ(f.reply.serial, f.last_serial);
        ASSERT_EQ(f.reply.pid, 4242);
        ASSERT_EQ(f.reply.n_processes, 3);
        ASSERT_STREQ(f.reply.message, "hi");
        fake_stop(&f);
}

TEST(call_serials_differ) {
        Fake f;
        WshdMessage req;
        uint32_t first;

        fake_start(&f, FAKE_ANSWER);
        wshd_message_init(&req, WSHD_REQUEST_HELLO, 0);
        run_call(&f, &req, 0);
        first = f.last_serial;
        fake_stop(&f);

        /* a finished event loop cannot run again: a new fake with its own */
        fake_start(&f, FAKE_ANSWER);
        run_call(&f, &req, 0);
        ASSERT_EQ(f.error, 0);
        ASSERT_TRUE(f.last_serial != first);
        fake_stop(&f);
}

TEST(call_passes_fds) {
        Fake f;
        WshdMessage req;
        int p[2];
        char c = 0;

        ASSERT_OK(pipe2(p, O_CLOEXEC));
        fake_start(&f, FAKE_ANSWER);
        wshd_message_init(&req, WSHD_REQUEST_STOP, 0);
        req.timeout_ms = 5;
        req.fds[0] = p[1];
        req.n_fds = 1;
        ASSERT_OK(wshd_call(f.event, fake_socket_path(), &req, 0, on_reply, &f, &f.call));
        /* the call holds its own duplicate: closing ours right away must not matter */
        close(p[1]);
        ASSERT_OK(sd_event_loop(f.event));
        ASSERT_EQ(f.error, 0);
        ASSERT_TRUE(f.received_fd >= 0);
        ASSERT_EQ(write(f.received_fd, "z", 1), 1);
        f.received_fd = safe_close(f.received_fd);
        ASSERT_EQ(read(p[0], &c, 1), 1);
        ASSERT_EQ(c, 'z');
        /* every write end is closed now: the call did not leak its duplicate */
        ASSERT_EQ(read(p[0], &c, 1), 0);
        close(p[0]);
        fake_stop(&f);
}

TEST(call_timeout) {
        Fake f;
        WshdMessage req;
        uint64_t a, b;

        fake_start(&f, FAKE_SILENT);
        wshd_message_init(&req, WSHD_REQUEST_HELLO, 0);
        ASSERT_OK(sd_event_now(f.event, CLOCK_MONOTONIC, &a));
        run_call(&f, &req, 100 * 1000);
        ASSERT_EQ(f.error, -ETIMEDOUT);
        ASSERT_EQ(f.n_requests, 1);
        ASSERT_OK(sd_event_now(f.event, CLOCK_MONOTONIC, &b));
        /* not before its time (no upper bound: a loaded machine may be late; a unit mix-up that made it
         * 1000 times longer runs into meson's timeout) */
        ASSERT_TRUE(b - a >= 100 * 1000);
        fake_stop(&f);
}

TEST(call_bad_replies) {
        Fake f;
        WshdMessage req;

        wshd_message_init(&req, WSHD_REQUEST_HELLO, 0);

        fake_start(&f, FAKE_WRONG_SERIAL);
        run_call(&f, &req, 5 * 1000 * 1000);
        ASSERT_EQ(f.error, -EBADMSG);
        fake_stop(&f);

        fake_start(&f, FAKE_GARBAGE);
        run_call(&f, &req, 5 * 1000 * 1000);
        ASSERT_EQ(f.error, -EBADMSG);
        fake_stop(&f);

        fake_start(&f, FAKE_CLOSE);
        run_call(&f, &req, 5 * 1000 * 1000);
        ASSERT_EQ(f.error, -ECONNRESET);
        fake_stop(&f);
}

TEST(call_immediate_errors) {
        Fake f;
        WshdMessage req;
        WshdCall *call = NULL;
        char path[256];
        int fd;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        fake_start(&f, FAKE_ANSWER);
        wshd_message_init(&req, WSHD_REQUEST_HELLO, 0);

        snprintf(path, sizeof(path), "%s/nonexistent", tests_tmpdir());
        ASSERT_ERROR(wshd_call(f.event, path, &req, 0, on_reply, &f, &call), ENOENT);
        ASSERT_NULL(call);

        /* bound but not listening */
        snprintf(path, sizeof(path), "%s/refused", tests_tmpdir());
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        set_sun_path(&sa, path);
        ASSERT_OK(bind(fd, (struct sockaddr *) &sa, sizeof(sa)));
        ASSERT_ERROR(wshd_call(f.event, path, &req, 0, on_reply, &f, &call), ECONNREFUSED);
        close(fd);

        memset(path, 'a', sizeof(path) - 1);
        path[sizeof(path) - 1] = 0;
        ASSERT_ERROR(wshd_call(f.event, path, &req, 0, on_reply, &f, &call), ENAMETOOLONG);
        ASSERT_ERROR(wshd_call(f.event, "", &req, 0, on_reply, &f, &call), EINVAL);

        req.message = (char *) "\xff";
        ASSERT_ERROR(wshd_call(f.event, fake_socket_path(), &req, 0, on_reply, &f, &call), EINVAL);
        ASSERT_EQ(f.n_callbacks, 0);
        fake_stop(&f);
}

static int on_quit(sd_event_source *s, uint64_t usec, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

TEST(call_cancel) {
        Fake f;
        WshdMessage req;

        fake_start(&f, FAKE_ANSWER);
        wshd_message_init(&req, WSHD_REQUEST_HELLO, 0);
        ASSERT_OK(wshd_call(f.event, fake_socket_path(), &req, 50 * 1000, on_reply, &f, &f.call));
        f.call = wshd_call_free(f.call);
        ASSERT_OK(sd_event_add_time_relative(f.event, NULL, CLOCK_MONOTONIC, 200 * 1000, 0, on_quit, NULL));
        ASSERT_OK(sd_event_loop(f.event));
        /* neither the reply nor the timeout reached the callback */
        ASSERT_EQ(f.n_callbacks, 0);
        fake_stop(&f);
}

TEST(call_retries_full_backlog) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        Fake f;
        WshdMessage req;
        int blocker, probe, accepted;

        fake_start(&f, FAKE_ANSWER);
        /* no accepting for now, and room for one pending connection only */
        f.listen_source = sd_event_source_disable_unref(f.listen_source);
        ASSERT_OK(listen(f.listen_fd, 0));
        set_sun_path(&sa, fake_socket_path());
        blocker = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ASSERT_OK(connect(blocker, (struct sockaddr *) &sa, sizeof(sa)));
        ASSERT_TRUE(connect(probe, (struct sockaddr *) &sa, sizeof(sa)) < 0 && errno == EAGAIN);
        close(probe);

        wshd_message_init(&req, WSHD_REQUEST_HELLO, 0);
        ASSERT_OK(wshd_call(f.event, fake_socket_path(), &req, 5 * 1000 * 1000, on_reply, &f, &f.call));

        /* make room, then serve */
        accepted = accept4(f.listen_fd, NULL, NULL, SOCK_CLOEXEC);
        ASSERT_TRUE(accepted >= 0);
        close(accepted);
        close(blocker);
        ASSERT_OK(sd_event_add_io(f.event, &f.listen_source, f.listen_fd, EPOLLIN, fake_on_listen, &f));
        ASSERT_OK(sd_event_loop(f.event));
        ASSERT_EQ(f.n_callbacks, 1);
        ASSERT_EQ(f.error, 0);
        ASSERT_EQ(f.reply.pid, 4242);
        fake_stop(&f);
}
