/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "macro.h"
#include "parse-util.h"

#define WARDEN_BUS_NAME "org.warden.Manager"
#define WARDEN_MANAGER_PATH "/org/warden/Manager"
#define WARDEN_MANAGER_INTERFACE "org.warden.Manager"
#define WARDEN_CONTAINER_PREFIX "/org/warden/container"
#define WARDEN_CONTAINER_INTERFACE "org.warden.Container"
#define WARDEN_GROUP "warden"

/* Pairs an a{ss} may have: reading them is quadratic (the duplicate check), and a caller decides how many.
 */
#define BUS_STRING_PAIRS_MAX 1024U

/* Reads an a{ss} into a key, value, … list (NULL-terminated). -EINVAL on a duplicate key; -E2BIG for more
 * than BUS_STRING_PAIRS_MAX pairs (the rest is not read). */
int bus_message_read_string_pairs(sd_bus_message *m, char ***ret);

/* One key of an a{sv} of options and the type its value must have. */
typedef struct BusOptionSpec {
        const char *key;
        const char *signature;
} BusOptionSpec;

/* Reads the value of 'key'; 'm' stands inside its variant. */
typedef int (*bus_option_reader_t)(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error);

/* Opens the "{sv}" entry 'key' of an a{sv} and its variant of type 'signature'; closes both again. */
int bus_message_open_dict_entry(sd_bus_message *m, const char *key, const char *signature);
int bus_message_close_dict_entry(sd_bus_message *m);

/* Reads an a{sv} of options (at most 64 specs): an unknown key, a key given twice, or a value of another
 * type than its spec says, is InvalidArgs naming the key; every other entry goes to 'reader'. Returns what
 * the reader or sd-bus failed with. The messages speak of options ("Unknown option 'x'.") when 'context' is
 * NULL, else of the keys of 'context' ("NetOut rule: unknown key 'x' (a, b, c)."). */
int bus_message_read_options(
        sd_bus_message *m,
        const char *context,
        const BusOptionSpec *specs,
        size_t n_specs,
        bus_option_reader_t reader,
        void *userdata,
        sd_bus_error *error);

/*
 * A signal match that survives a refusal. dbus-daemon refuses a connection's AddMatch beyond
 * max_match_rules_per_connection (512 by default), and when sd-bus installs a match on its own it closes the
 * whole connection on such a refusal. A BusMatch instead logs the refusal and asks again every
 * BUS_MATCH_RETRY_USEC for as long as it exists (wardend holds only a few, whatever the number of containers
 * and clients). 'installed' (may be NULL) is called each time the bus confirms the match. The strings must
 * outlive the BusMatch (literals). The bus must be attached to an event loop (for the retries).
 */
#define BUS_MATCH_RETRY_USEC (5 * USEC_PER_SEC)
typedef struct BusMatch BusMatch;
int bus_match_new(
        sd_bus *bus,
        const char *sender,
        const char *path,
        const char *interface,
        const char *member,
        sd_bus_message_handler_t callback,
        void (*installed)(void *userdata),
        void *userdata,
        BusMatch **ret);
BusMatch *bus_match_free(BusMatch *bm);
DEFINE_TRIVIAL_CLEANUP_FUNC(BusMatch *, bus_match_free);
