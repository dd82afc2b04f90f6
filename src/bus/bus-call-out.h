/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * wardend's own method calls to other services (systemd, polkit), through one queue. dbus-daemon lets a
 * connection wait for at most max_replies_per_connection replies at once (128 by default on the system bus)
 * and refuses every further call itself ("The maximum number of pending replies per connection has been
 * reached"). With a thousand containers and several clients, each with up to max_calls_per_client calls in
 * flight, wardend would ask systemd more than that at once (StartTransientUnit of every Create, the
 * GetAll of every Info, ...). So at most BUS_CALLS_OUT_MAX calls are on the bus at any time; the others wait
 * here, in the order they were made, and are sent as answers come back.
 *
 * A BusCallOut is used like an sd_bus_slot of sd_bus_call_async(): the callback gets the reply (or the
 * error), and bus_call_out_free() cancels the call if it has not been answered (the callback is then never
 * called). Without 'ret' the call belongs to the queue and goes after its callback.
 */

#include <systemd/sd-bus.h>

#include "macro.h"
#include "manager.h"

#define BUS_CALLS_OUT_MAX 64U

typedef struct BusCallOut BusCallOut;

/* Takes a reference on 'call' (a method call with a reply expected). 'timeout_usec' counts from when it is
 * sent (0: sd-bus' default). 0 or negative errno (sending it). */
int bus_call_out(
        Manager *m,
        sd_bus_message *call,
        uint64_t timeout_usec,
        sd_bus_message_handler_t callback,
        void *userdata,
        BusCallOut **ret);

/* Like sd_bus_call_method_async() through the queue. */
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
        ...);

BusCallOut *bus_call_out_free(BusCallOut *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(BusCallOut *, bus_call_out_free);

/* How many are on the bus, how many wait. */
unsigned bus_calls_out_sent(Manager *m);
unsigned bus_calls_out_queued(Manager *m);

/* At the end: forgets the calls that nobody owns (those that are owned go with their owners). */
void bus_calls_out_done(Manager *m);
