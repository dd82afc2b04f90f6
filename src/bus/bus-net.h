/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Network policy on the bus: NetIn and NetOut (org.warden.Container, and org.warden.Manager with a handle),
 * Info's net_in and net_out, and the firewall steps of a container's life (see firewall.h):
 *     Create    bus_net_container_add()     its chain and map element, before the reply
 *     teardown  bus_net_container_remove()  all of its objects (the last container takes the table along)
 *     start-up  bus_net_adopt()             the table rebuilt from every active or stopped container
 * A NetIn or NetOut is answered when its transaction is done; its host port is taken (and recorded in the
 * container) before the transaction is queued, so that a Destroy that comes in between removes it too.
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

/* Queues the container's objects (c needs its network); done is called when they are in place. -EINVAL
 * (no network), -ENOMEM. */
int bus_net_container_add(Container *c, firewall_done_t done, void *userdata, FirewallJob **ret);
/* Queues their removal if they were added; *ret is NULL (and done is never called) if there is nothing to
 * remove. -ENOMEM. */
int bus_net_container_remove(Container *c, firewall_done_t done, void *userdata, FirewallJob **ret);

/* Start-up, before the loop runs: rebuilds the table for the re-adopted containers, synchronously. Logs;
 * a failure leaves the last wardend's rules in force and is not fatal. */
void bus_net_adopt(Manager *m);
