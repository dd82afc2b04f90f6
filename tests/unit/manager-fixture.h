/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The unit tests' wardend without a system bus: a Manager with the default configuration and an empty
 * registry, and a client connected to it over a socketpair (bus-pair.h), for calls through the real
 * vtables without systemd or dbus-daemon.
 */

#include <systemd/sd-bus.h>

#include "manager.h"

typedef struct Fixture {
        Manager manager;
        sd_bus *server, *client;
} Fixture;

/* The Manager and the pair; with 'vtables' also org.warden.Manager and the container objects on 'server'
 * (and the bus errors' map). */
void fixture_init(Fixture *f, bool vtables);

/* Frees the containers the test added, the calls' counts, the bus layer's state, the configuration and the
 * pair. */
void fixture_done(Fixture *f);
