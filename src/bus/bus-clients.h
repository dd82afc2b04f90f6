/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Which clients reference which container (for the grace time, see container-lifecycle.h). A client is a
 * unique bus name; it references a container by calling a method of it, and stops referencing it when it
 * leaves the bus. A container that no client references any more starts its grace timer
 * (container_unreferenced(), container-lifecycle.h).
 *
 * Clients are seen leaving through ONE match on the bus driver's NameOwnerChanged signal, for the whole
 * manager: the match rules wardend holds on the bus never grow with the number of containers or clients.
 * (dbus-daemon refuses a connection's 513th match rule by default; an sd_bus_track per container costs one
 * rule per container, and sd-bus closes the connection when such a rule is refused.)
 *
 * Container.clients lists the names that reference the container; BusManager.clients maps each such name to
 * its entry, which counts its containers and goes with the last of them or with the client.
 *
 * A client may be gone already when it is first recorded: a Create is answered seconds after it was asked,
 * a call may come back from polkit later. So the first time a name is recorded, the bus driver is asked
 * for its owner (GetNameOwner); the driver answers after every NameOwnerChanged it sent before, and
 * "NameHasNoOwner" means the client left.
 */

#include <systemd/sd-bus.h>

#include "container.h"
#include "manager.h"

/* After connecting, before the name is requested: the match. Logs. */
int bus_clients_setup(Manager *m);

/* Forgets every client and drops the match (before the bus goes). */
void bus_clients_done(Manager *m);

/* The sender of 'message' references c. No-op for a message without a sender (a direct connection).
 * -ENOMEM. */
int bus_clients_reference(Container *c, sd_bus_message *message);

/* c goes (teardown): no client references it any more. */
void bus_clients_forget(Container *c);

/* Is any client referencing c? */
static inline bool bus_clients_referenced(const Container *c) {
        return c->clients && c->clients[0];
}
