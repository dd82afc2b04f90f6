/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The D-Bus face of a container's life (the life itself is src/core/container-lifecycle.h): Create reads its
 * options, checks them (rootfs, bind mounts, limits: the errors clients see), asks polkit (and again for
 * host paths), and calls container_create(); Stop and Destroy ask polkit and call container_stop() and
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

/* After connecting: container_adopt_all(), then the scopes no container owns are stopped. */
int bus_lifecycle_adopt(Manager *m);
