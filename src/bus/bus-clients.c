/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>

#include "bus-clients.h"
#include "bus-state.h"
#include "container-lifecycle.h"
#include "bus-util.h"
#include "log.h"
#include "strv.h"

#define DBUS_NAME "org.freedesktop.DBus"
#define DBUS_PATH "/org/freedesktop/DBus"
#define DBUS_INTERFACE "org.freedesktop.DBus"

typedef struct Client {
        Manager *manager;
        char *name;              /* the key in BusManager.clients */
        unsigned n_containers;   /* that list it in Container.clients */
        sd_bus_slot *check_slot; /* GetNameOwner in flight */
} Client;

static Client *client_free(Client *cl) {
        if (!cl)
                return NULL;
        if (hashmap_get(cl->manager->bus_manager->clients, cl->name) == cl)
                (void) hashmap_remove(cl->manager->bus_manager->clients, cl->name);
        sd_bus_slot_unref(cl->check_slot);
        free(cl->name);
        free(cl);
        return NULL;
}

/* The client left the bus: it references nothing any more. */
static void client_gone(Manager *m, const char *name) {
        Client *cl = hashmap_get(m->bus_manager->clients, name);
        Container *c;

        if (!cl)
                return;
        log_debug("Client %s left the bus; it referenced %u container(s).", name, cl->n_containers);
        HASHMAP_FOREACH(c, m->containers)
                if (strv_remove(&c->clients, name) && !bus_clients_referenced(c))
                        container_unreferenced(c);
        client_free(cl);
}

static int client_checked(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Client *cl = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        cl->check_slot = sd_bus_slot_unref(cl->check_slot);
        if (!e)
                return 0;
        if (sd_bus_error_has_name(e, "org.freedesktop.DBus.Error.NameHasNoOwner"))
                client_gone(cl->manager, cl->name);
        else
                log_debug(
                        "Cannot tell whether client %s is still there, assuming it is: %s",
                        cl->name,
                        e->message);
        return 0;
}

static void client_check(Client *cl) {
        int r;

        if (cl->check_slot)
                return;
        r = sd_bus_call_method_async(
                manager_bus(cl->manager),
                &cl->check_slot,
                DBUS_NAME,
                DBUS_PATH,
                DBUS_INTERFACE,
                "GetNameOwner",
                client_checked,
                cl,
                "s",
                cl->name);
        if (r < 0)
                log_warning_errno(
                        r, "Failed to ask whether client %s is still there, ignoring: %m", cl->name);
}

static int match_name_owner_changed(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *name, *old_owner, *new_owner;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_read(message, "sss", &name, &old_owner, &new_owner);
        if (r < 0) {
                log_debug_errno(r, "Failed to parse NameOwnerChanged: %m");
                return 0;
        }
        /* Only unique names reference containers; one goes when its connection does. */
        if (name[0] == ':' && isempty(new_owner))
                client_gone(m, name);
        return 0;
}

/* The match is (again) in place: a client that left while it was not may have been missed. */
static void name_owner_match_installed(void *userdata) {
        Manager *m = userdata;
        Client *cl;

        if (!m->bus_manager->clients_unwatched)
                return;
        m->bus_manager->clients_unwatched = false;
        HASHMAP_FOREACH(cl, m->bus_manager->clients)
                client_check(cl);
}

void bus_clients_done(Manager *m) {
        Client *cl;

        HASHMAP_FOREACH(cl, m->bus_manager->clients)
                client_free(cl);
        m->bus_manager->clients = hashmap_free(m->bus_manager->clients);
        m->bus_manager->name_owner_match = bus_match_free(m->bus_manager->name_owner_match);
}

int bus_clients_setup(Manager *m) {
        int r;

        m->bus_manager->clients = hashmap_new();
        if (!m->bus_manager->clients)
                return log_oom();
        /* Until the bus confirms the match: if it refuses it, the clients recorded meanwhile are checked
         * once it is in place. */
        m->bus_manager->clients_unwatched = true;
        r = bus_match_new(
                manager_bus(m),
                DBUS_NAME,
                DBUS_PATH,
                DBUS_INTERFACE,
                "NameOwnerChanged",
                match_name_owner_changed,
                name_owner_match_installed,
                m,
                &m->bus_manager->name_owner_match);
        if (r < 0)
                return r;
        return 0;
}

int bus_clients_reference(Container *c, sd_bus_message *message) {
        Manager *m = c->manager;
        const char *sender = sd_bus_message_get_sender(message);
        Client *cl;
        int r;

        if (!sender || !m || !m->bus_manager->clients || strv_contains(c->clients, sender))
                return 0;

        cl = hashmap_get(m->bus_manager->clients, sender);
        if (!cl) {
                cl = calloc(1, sizeof(Client));
                if (!cl)
                        return -ENOMEM;
                cl->manager = m;
                cl->name = strdup(sender);
                r = cl->name ? hashmap_put(m->bus_manager->clients, cl->name, cl) : -ENOMEM;
                if (r < 0) {
                        free(cl->name);
                        free(cl);
                        return r;
                }
                client_check(cl);
        }
        r = strv_extend(&c->clients, sender);
        if (r < 0) {
                if (cl->n_containers == 0)
                        client_free(cl);
                return r;
        }
        cl->n_containers++;
        return 0;
}

void bus_clients_forget(Container *c) {
        Manager *m = c->manager;

        STRV_FOREACH(name, c->clients) {
                Client *cl = m ? hashmap_get(m->bus_manager->clients, *name) : NULL;

                if (cl && --cl->n_containers == 0)
                        client_free(cl);
        }
        c->clients = strv_free(c->clients);
}
