/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Network policy on the bus: NetIn and NetOut (org.warden.Container, and org.warden.Manager with a handle),
 * and Info's net_in and net_out. The verbs are core's (container-net.h); the handlers check polkit, read
 * the arguments, refuse while the container is busy with its lifecycle (InvalidState), and answer when
 * core's transaction is done: Failed with core's message if it failed, the errors of container-net.h
 * mapped by bus_error_set_warden() if it could not be queued.
 */

#include <systemd/sd-bus.h>

#include "container.h"
#include "firewall.h"
#include "manager.h"

/* NetIn(q host_port, q container_port) → (q host_port, q container_port); 'userdata' is the Container. */
int bus_net_method_net_in(sd_bus_message *m, void *userdata, sd_bus_error *error);
/* NetOut(a{sv} rule); 'userdata' is the Container. */
int bus_net_method_net_out(sd_bus_message *m, void *userdata, sd_bus_error *error);

/*
 * Reads a NetOut rule (a{sv}) and validates it. Errors are InvalidArgs naming the key: an unknown key, a
 * key given twice, a wrong type, or what net_out_rule_from_spec() refuses. Negative errno.
 */
int bus_net_read_net_out_rule(sd_bus_message *m, NetOutRule *ret, sd_bus_error *error);

/* Appends Info's "net_in" a(qq) and "net_out" aa{sv} entries (inside the open a{sv}). */
int bus_net_append_info(sd_bus_message *reply, const Container *c);
