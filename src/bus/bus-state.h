/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the bus layer keeps for the Manager: the connection, the callers it tracks and the calls it makes to
 * other services. Core holds it as an opaque pointer (Manager.bus_manager) and never looks inside; the bus
 * layer allocates it when it attaches to a Manager (bus_manager_attach(), bus-manager.h) and releases it,
 * the connection last, through Manager.bus_done, which manager_free() calls after the containers are gone
 * and before the event loop goes.
 */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "hashmap.h"
#include "manager.h"

typedef struct BusManager {
        /* The connection (bus_manager_connect()); NULL in the unit tests' socketpair fixture unless a test
         * sets it. */
        sd_bus *bus;
        bool bus_lost; /* the connection went away (bus-manager.c) */

        /* systemd job object path → SystemdJob (bus-systemd.c) */
        Hashmap *systemd_jobs;

        /* Callers (bus-polkit.c, bus-calls.c): polkit checks being asked, by request; calls held while they
         * are worked on, by the sender's unique bus name. */
        Hashmap *polkit_queries;
        Hashmap *client_calls;

        /* The clients that reference containers (bus-clients.h), by unique bus name, and the bus matches
         * wardend holds: a fixed few, whatever the number of containers and clients. */
        Hashmap *clients;
        bool clients_unwatched; /* the NameOwnerChanged match is not (yet) in place */
        struct BusMatch *name_owner_match;
        struct BusMatch *job_removed_match;

        /* wardend's own calls to other services (bus-call-out.h): waiting, and on the bus. */
        struct BusCallOut *calls_out_head, *calls_out_tail, *calls_out_sent, *calls_out_sent_tail;
        unsigned n_calls_out_queued, n_calls_out;
} BusManager;

/* The connection, or NULL when there is none (no bus layer attached, or not connected). */
static inline sd_bus *manager_bus(const Manager *m) {
        return m && m->bus_manager ? m->bus_manager->bus : NULL;
}
