/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The org.warden.Manager interface at /org/warden/Manager, the bus connection and the exit-on-idle logic.
 */

#include <systemd/sd-bus.h>

#include "manager.h"

extern const sd_bus_vtable manager_vtable[];

/* Gives m the bus layer's state (bus-state.h) if it has none yet, and sets m->bus_done, which releases it.
 * bus_manager_register() calls it; a test that drives bus code without the vtables calls it itself.
 * -ENOMEM. */
int bus_manager_attach(Manager *m);

/* Registers the Manager and container objects on 'bus' (any bus: the system bus, or a test's socketpair). */
int bus_manager_register(Manager *m, sd_bus *bus);

/*
 * Connects to the system bus (or 'address'), registers the objects, attaches the bus to the event loop and
 * takes the name org.warden.Manager. -EEXIST: another process owns the name. Logs.
 */
int bus_manager_connect(Manager *m, const char *address);

/*
 * Arms the idle timer: after config.idle_timeout without any bus traffic while manager_is_idle(), wardend
 * releases its name and leaves the event loop; the next call activates it again. Logs.
 */
int bus_manager_setup_idle_exit(Manager *m);
