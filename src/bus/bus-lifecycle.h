/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The D-Bus face of a container's life (the life itself is src/core/container-lifecycle.h): Create reads its
 * options, checks them (rootfs, bind mounts, limits: the errors clients see), asks polkit (and again for host
 * paths), and calls container_create(); Stop and Destroy ask polkit and call container_stop() and
 * container_destroy(). Each answers when the core verb reports, with bus_reply_warden_error() on failure.
 * The signals and property changes go out through the Manager's events (bus-manager.c).
 */

#include <systemd/sd-bus.h>

#include "container.h"
#include "manager.h"

int bus_lifecycle_method_create(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_lifecycle_method_stop(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_lifecycle_method_destroy(sd_bus_message *m, void *userdata, sd_bus_error *error);

/* "being created", "being stopped", "being destroyed" while a lifecycle operation is in flight, else NULL.
 */
const char *bus_lifecycle_busy_reason(const Container *c);

/* The caller of 'm' references c (grace time): cancels a running grace timer. Logs, never fails the call. */
void bus_lifecycle_reference(Container *c, sd_bus_message *m);
/* For src/bus/bus-clients.c: the last client that referenced c left the bus; starts its grace timer
 * (container_unreferenced()). */
void bus_lifecycle_unreferenced(Container *c);

/*
 * For src/bus/bus-limits.c (wrappers of container_check_idle(), container_hold(), container_is_held(),
 * container_release(), container_stop() of container-lifecycle.h):
 *
 * bus_lifecycle_check_idle(): 0, or InvalidState in 'error' ("Container 'x' is being stopped.") if another
 * operation is in flight.
 * bus_lifecycle_hold(): a limit change is now in flight on c (there must be no other operation): Stop and
 * Destroy answer InvalidState ("being changed"), and a lost wshd or an expired grace time wait for it.
 * bus_lifecycle_is_held(): whether it is.
 * bus_lifecycle_release(): it is over; false if c is now being torn down (its wshd died meanwhile): then
 * leave it alone.
 * bus_lifecycle_stop(): Stop with nobody to answer (after an OOM kill): every process but wshd gets SIGKILL
 * (kill) or SIGTERM, the state becomes "stopped", and 'done' is called with 0 or a negative errno.
 * -EBUSY if another operation is in flight, -ESTALE if c is neither active nor stopped.
 */
int bus_lifecycle_check_idle(Container *c, sd_bus_error *error);
void bus_lifecycle_hold(Container *c);
bool bus_lifecycle_is_held(const Container *c);
bool bus_lifecycle_release(Container *c);
int bus_lifecycle_stop(
                Container *c,
                bool kill,
                void (*done)(Container *c, int error, void *userdata),
                void *userdata);

/* After connecting: container_adopt_all(), then the scopes no container owns are stopped. */
int bus_lifecycle_adopt(Manager *m);
