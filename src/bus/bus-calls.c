/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>

#include "bus-calls.h"
#include "bus-state.h"
#include "event-util.h"
#include "log.h"

typedef struct ClientCalls {
        char *sender; /* the key in BusManager.client_calls */
        unsigned n;
} ClientCalls;

static ClientCalls *client_calls_get(Manager *manager, sd_bus_message *call) {
        if (!manager || !call)
                return NULL;
        return hashmap_get(manager->bus_manager->client_calls, sd_bus_message_get_sender(call));
}

/* When the event loop ends (SIGTERM, idle exit): forget the counts. Calls may rightly still be held then (a
 * Link waiting for a job that outlives this wardend); what lets them go afterwards finds no count. */
static int client_calls_flush(sd_event_source *s, void *userdata) {
        Manager *manager = userdata;
        ClientCalls *cc;

        HASHMAP_FOREACH(cc, manager->bus_manager->client_calls) {
                free(cc->sender);
                free(cc);
        }
        manager->bus_manager->client_calls = hashmap_free(manager->bus_manager->client_calls);
        return 0;
}

static int client_calls_add(Manager *manager, const char *sender) {
        ClientCalls *cc;
        int r;

        cc = hashmap_get(manager->bus_manager->client_calls, sender);
        if (cc) {
                cc->n++;
                return 0;
        }
        if (!manager->bus_manager->client_calls) {
                sd_event_source *s = NULL;
                int k = 0;

                manager->bus_manager->client_calls = hashmap_new();
                if (!manager->bus_manager->client_calls)
                        return -ENOMEM;
                if (manager->event) {
                        k = sd_event_add_exit(manager->event, &s, client_calls_flush, manager);
                        if (k >= 0)
                                k = event_source_float(s, "client-calls-flush");
                }
                if (k < 0) {
                        manager->bus_manager->client_calls =
                                hashmap_free(manager->bus_manager->client_calls);
                        return k;
                }
        }
        cc = calloc(1, sizeof(ClientCalls));
        if (!cc)
                return -ENOMEM;
        cc->sender = strdup(sender);
        r = cc->sender ? hashmap_put(manager->bus_manager->client_calls, cc->sender, cc) : -ENOMEM;
        if (r < 0) {
                free(cc->sender);
                free(cc);
                return r;
        }
        cc->n = 1;
        return 0;
}

sd_bus_message *bus_call_hold(Manager *manager, sd_bus_message *call) {
        const char *sender;

        if (!call)
                return NULL;
        sd_bus_message_ref(call);
        sender = sd_bus_message_get_sender(call);
        /* On failure the call goes on uncounted: refusing it here would leave the caller's operation half
         * done. */
        if (manager && sender && client_calls_add(manager, sender) < 0)
                log_oom();
        return call;
}

sd_bus_message *bus_call_release(Manager *manager, sd_bus_message *call) {
        ClientCalls *cc;

        if (!call)
                return NULL;
        cc = client_calls_get(manager, call);
        if (cc && --cc->n == 0) {
                hashmap_remove(manager->bus_manager->client_calls, cc->sender);
                free(cc->sender);
                free(cc);
        }
        sd_bus_message_unref(call);
        return NULL;
}

unsigned bus_calls_in_flight(Manager *manager, const char *sender) {
        ClientCalls *cc;

        if (!manager || !sender)
                return 0;
        cc = hashmap_get(manager->bus_manager->client_calls, sender);
        return cc ? cc->n : 0;
}

int bus_calls_check(
        Manager *manager,
        sd_bus_message *m,
        bool (*admitted)(Manager *manager, sd_bus_message *m),
        sd_bus_error *error) {
        const char *sender;
        unsigned n;

        assert(manager);
        assert(m);

        if (!sd_bus_message_is_method_call(m, NULL, NULL))
                return 0;
        sender = sd_bus_message_get_sender(m);
        n = bus_calls_in_flight(manager, sender);
        if (n < manager->config.max_calls_per_client)
                return 0;
        /* A call that comes back with polkit's answer was admitted already and is counted among the n. */
        if (admitted && admitted(manager, m))
                return 0;

        log_debug(
                "Refusing %s() of '%s': %u calls in flight.",
                strna(sd_bus_message_get_member(m)),
                sender,
                n);
        return sd_bus_error_setf(
                error,
                SD_BUS_ERROR_LIMITS_EXCEEDED,
                "Too many calls in flight from '%s' (max_calls_per_client=%u): wait for the answers "
                "first.",
                sender,
                manager->config.max_calls_per_client);
}
