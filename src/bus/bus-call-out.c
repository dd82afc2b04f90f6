/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdlib.h>

#include "bus-call-out.h"
#include "bus-state.h"
#include "log.h"

struct BusCallOut {
        Manager *manager;
        sd_bus_message *message; /* while it waits in the queue */
        uint64_t timeout_usec;
        sd_bus_slot *slot; /* while it is on the bus */
        sd_bus_message_handler_t callback;
        void *userdata;
        bool floating;           /* nobody holds it: it goes after its callback */
        bool detached;           /* the manager went (bus_calls_out_done()): only the memory is left */
        BusCallOut *prev, *next; /* in one of the manager's two lists (below) */
};

/* The two lists of the manager: calls waiting (calls_out_head/_tail) and calls on the bus (calls_out_sent/
 * _sent_tail). */
static void list_unlink(BusCallOut **head, BusCallOut **tail, BusCallOut *c) {
        if (c->prev)
                c->prev->next = c->next;
        else
                *head = c->next;
        if (c->next)
                c->next->prev = c->prev;
        else
                *tail = c->prev;
        c->prev = c->next = NULL;
}

static void list_append(BusCallOut **head, BusCallOut **tail, BusCallOut *c) {
        c->prev = *tail;
        c->next = NULL;
        if (*tail)
                (*tail)->next = c;
        else
                *head = c;
        *tail = c;
}

static void queue_remove(Manager *m, BusCallOut *c) {
        list_unlink(&m->bus_manager->calls_out_head, &m->bus_manager->calls_out_tail, c);
        m->bus_manager->n_calls_out_queued--;
}

static void queue_append(Manager *m, BusCallOut *c) {
        list_append(&m->bus_manager->calls_out_head, &m->bus_manager->calls_out_tail, c);
        m->bus_manager->n_calls_out_queued++;
}

static void sent_remove(Manager *m, BusCallOut *c) {
        list_unlink(&m->bus_manager->calls_out_sent, &m->bus_manager->calls_out_sent_tail, c);
        m->bus_manager->n_calls_out--;
}

static void sent_add(Manager *m, BusCallOut *c) {
        list_append(&m->bus_manager->calls_out_sent, &m->bus_manager->calls_out_sent_tail, c);
        m->bus_manager->n_calls_out++;
}

static void calls_out_dispatch(Manager *m);

static int call_out_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BusCallOut *c = userdata;
        Manager *m = c->manager;
        sd_bus_message_handler_t callback = c->callback;
        void *cb_userdata = c->userdata;

        /* sd-bus holds the slot while it calls us */
        c->slot = sd_bus_slot_unref(c->slot);
        sent_remove(m, c);
        if (c->floating)
                free(c);
        /* the next ones first: the callback may well make calls of its own, which queue up behind */
        calls_out_dispatch(m);
        return callback ? callback(reply, cb_userdata, ret_error) : 0;
}

/* Puts c on the bus. */
static int call_out_send(BusCallOut *c) {
        Manager *m = c->manager;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = TAKE_PTR(c->message);
        int r;

        r = sd_bus_call_async(manager_bus(m), &c->slot, msg, call_out_reply, c, c->timeout_usec);
        if (r < 0)
                return r;
        sent_add(m, c);
        return 0;
}

/* A queued call that could not be sent: its caller was told that it was made, so its callback gets an
 * error reply, made here. */
static void call_out_fail(BusCallOut *c, sd_bus_message *msg, int error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message_handler_t callback = c->callback;
        void *userdata = c->userdata;
        int r;

        log_warning_errno(
                error,
                "Failed to send %s() to %s: %m",
                strna(sd_bus_message_get_member(msg)),
                strna(sd_bus_message_get_destination(msg)));
        if (c->floating)
                free(c);
        if (!callback)
                return;
        sd_bus_error_set_errnof(&e, error, "Failed to send the call: %m");
        r = sd_bus_message_new_method_error(msg, &reply, &e);
        if (r < 0) {
                log_oom();
                return;
        }
        (void) callback(reply, userdata, &e);
}

static void calls_out_dispatch(Manager *m) {
        while (m->bus_manager->calls_out_head && m->bus_manager->n_calls_out < BUS_CALLS_OUT_MAX &&
               manager_bus(m)) {
                BusCallOut *c = m->bus_manager->calls_out_head;
                sd_bus_message *msg = sd_bus_message_ref(c->message);
                int r;

                queue_remove(m, c);
                r = call_out_send(c);
                if (r < 0)
                        call_out_fail(c, msg, r);
                sd_bus_message_unref(msg);
        }
}

int bus_call_out(
        Manager *m,
        sd_bus_message *call,
        uint64_t timeout_usec,
        sd_bus_message_handler_t callback,
        void *userdata,
        BusCallOut **ret) {
        BusCallOut *c;
        int r;

        assert(m && manager_bus(m) && call);
        c = calloc(1, sizeof(BusCallOut));
        if (!c)
                return -ENOMEM;
        c->manager = m;
        c->message = sd_bus_message_ref(call);
        c->timeout_usec = timeout_usec;
        c->callback = callback;
        c->userdata = userdata;
        c->floating = !ret;
        if (m->bus_manager->n_calls_out < BUS_CALLS_OUT_MAX && !m->bus_manager->calls_out_head) {
                r = call_out_send(c);
                if (r < 0) {
                        sd_bus_message_unref(c->message);
                        free(c);
                        return r;
                }
        } else {
                queue_append(m, c);
                if (m->bus_manager->n_calls_out_queued == 1 ||
                    m->bus_manager->n_calls_out_queued % 1000 == 0)
                        log_debug(
                                "%u call(s) to other services wait for one of the %u on the bus to be "
                                "answered.",
                                m->bus_manager->n_calls_out_queued,
                                m->bus_manager->n_calls_out);
        }
        if (ret)
                *ret = c;
        return 0;
}

int bus_call_out_method(
        Manager *m,
        const char *destination,
        const char *path,
        const char *interface,
        const char *member,
        uint64_t timeout_usec,
        sd_bus_message_handler_t callback,
        void *userdata,
        BusCallOut **ret,
        const char *types,
        ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        assert(m);

        r = sd_bus_message_new_method_call(manager_bus(m), &msg, destination, path, interface, member);
        if (r < 0)
                return r;
        if (types) {
                va_list ap;

                va_start(ap, types);
                r = sd_bus_message_appendv(msg, types, ap);
                va_end(ap);
                if (r < 0)
                        return r;
        }
        return bus_call_out(m, msg, timeout_usec, callback, userdata, ret);
}

BusCallOut *bus_call_out_free(BusCallOut *c) {
        Manager *m;

        if (!c)
                return NULL;
        m = c->manager;
        if (c->detached) {
                free(c);
                return NULL;
        }
        if (c->slot) {
                c->slot = sd_bus_slot_unref(c->slot);
                sent_remove(m, c);
                calls_out_dispatch(m);
        } else if (c->message) {
                queue_remove(m, c);
                c->message = sd_bus_message_unref(c->message);
        }
        free(c);
        return NULL;
}

unsigned bus_calls_out_sent(Manager *m) {
        assert(m);

        return m->bus_manager->n_calls_out;
}

unsigned bus_calls_out_queued(Manager *m) {
        assert(m);

        return m->bus_manager->n_calls_out_queued;
}

static void call_out_detach(BusCallOut *c) {
        c->message = sd_bus_message_unref(c->message);
        c->slot = sd_bus_slot_unref(c->slot);
        if (c->floating)
                free(c);
        else
                c->detached = true;
}

void bus_calls_out_done(Manager *m) {
        assert(m);

        while (m->bus_manager->calls_out_head) {
                BusCallOut *c = m->bus_manager->calls_out_head;

                queue_remove(m, c);
                call_out_detach(c);
        }
        while (m->bus_manager->calls_out_sent) {
                BusCallOut *c = m->bus_manager->calls_out_sent;

                sent_remove(m, c);
                call_out_detach(c);
        }
}
