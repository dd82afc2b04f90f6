/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

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
