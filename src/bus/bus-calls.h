/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Calls in flight, per client. A method call that wardend answers later (Create, Stop, Destroy, a Link or
 * Run waiting for its job, Spawn waiting for wshd, Signal, ResizeTty, CopyIn, CopyOut, Info waiting for
 * systemd, a polkit check) keeps its request message until then: it takes it with bus_call_hold() instead of
 * sd_bus_message_ref() and lets it go with bus_call_release() instead of sd_bus_message_unref(). The calls
 * held are counted per sender (unique bus name) in BusManager.client_calls; an entry exists while its count
 * is > 0.
 *
 * bus_calls_check(), from the bus filter, refuses every further method call of a client that holds
 * max_calls_per_client calls already, with org.freedesktop.DBus.Error.LimitsExceeded, so that no client can
 * make wardend's memory grow without bound.
 *
 * Messages without a sender (a direct connection, the unit tests' socketpair) are not counted; 'manager'
 * may be NULL (nothing counted then either).
 */

#include <systemd/sd-bus.h>

#include "manager.h"

/* Like sd_bus_message_ref(); NULL in, NULL out. Never fails: a count that cannot be allocated is logged
 * and skipped. */
sd_bus_message *bus_call_hold(Manager *manager, sd_bus_message *call);
/* Like sd_bus_message_unref() of a message taken with bus_call_hold(); returns NULL. */
sd_bus_message *bus_call_release(Manager *manager, sd_bus_message *call);

/* How many calls of 'sender' are held. */
unsigned bus_calls_in_flight(Manager *manager, const char *sender);

/* For the bus filter: 0 if method call 'm' may be dispatched; otherwise LimitsExceeded is set on 'error'
 * and its negative errno returned (the filter returns it, sd-bus then answers and drops the call).
 * 'admitted' (may be NULL), asked only for a client at its limit: is m a call that comes back with
 * polkit's answer (bus_polkit_has_answer()), admitted before and counted already? It is never refused. */
int bus_calls_check(
        Manager *manager,
        sd_bus_message *m,
        bool (*admitted)(Manager *manager, sd_bus_message *m),
        sd_bus_error *error);
