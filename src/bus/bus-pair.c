/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <systemd/sd-id128.h>

#include "bus-pair.h"
#include "macro.h"

int bus_pair_new(sd_bus **ret_server, sd_bus **ret_client) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *server = NULL, *client = NULL;
        _cleanup_close_ int a = -EBADF, b = -EBADF;
        int fds[2], r;
        sd_id128_t id;

        assert(ret_server);
        assert(ret_client);

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
                return -errno;
        a = fds[0];
        b = fds[1];

        r = sd_id128_randomize(&id);
        if (r < 0)
                return r;

        r = sd_bus_new(&server);
        if (r < 0)
                return r;
        r = sd_bus_set_fd(server, a, a);
        if (r < 0)
                return r;
        TAKE_FD(a);
        r = sd_bus_set_server(server, true, id);
        if (r < 0)
                return r;
        r = sd_bus_start(server);
        if (r < 0)
                return r;

        r = sd_bus_new(&client);
        if (r < 0)
                return r;
        r = sd_bus_set_fd(client, b, b);
        if (r < 0)
                return r;
        TAKE_FD(b);
        r = sd_bus_start(client);
        if (r < 0)
                return r;

        *ret_server = TAKE_PTR(server);
        *ret_client = TAKE_PTR(client);
        return 0;
}

typedef struct PairCall {
        bool done;
        sd_bus_message *reply;
} PairCall;

static int pair_call_done(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        PairCall *pc = userdata;

        pc->reply = sd_bus_message_ref(reply);
        pc->done = true;
        return 0;
}

int bus_pair_call(
        sd_bus *server,
        sd_bus *client,
        sd_bus_message *call,
        sd_bus_message **ret_reply,
        sd_bus_error *reterr) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        PairCall pc = {};
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 5000000;
        int r;

        assert(call);
        assert(server);
        assert(client);

        r = sd_bus_call_async(client, &slot, call, pair_call_done, &pc, 0);
        if (r < 0)
                return r;

        while (!pc.done) {
                int a, b;

                if (now_usec(CLOCK_MONOTONIC) > deadline)
                        return -ETIMEDOUT;
                a = sd_bus_process(server, NULL);
                if (a < 0)
                        return a;
                b = sd_bus_process(client, NULL);
                if (b < 0)
                        return b;
                if (a == 0 && b == 0) {
                        struct pollfd p[2] = {
                                { .fd = sd_bus_get_fd(server), .events = (short) sd_bus_get_events(server) },
                                { .fd = sd_bus_get_fd(client), .events = (short) sd_bus_get_events(client) },
                        };
                        (void) poll(p, 2, 10);
                }
        }

        if (sd_bus_message_is_method_error(pc.reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(pc.reply);

                r = -sd_bus_error_get_errno(e);
                if (r == 0)
                        r = -EIO;
                if (reterr)
                        (void) sd_bus_error_copy(reterr, e);
                sd_bus_message_unref(pc.reply);
                return r;
        }
        if (ret_reply)
                *ret_reply = pc.reply;
        else
                sd_bus_message_unref(pc.reply);
        return 0;
}
