/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#define WARDEN_BUS_NAME "org.warden.Manager"
#define WARDEN_MANAGER_PATH "/org/warden/Manager"
#define WARDEN_MANAGER_INTERFACE "org.warden.Manager"
#define WARDEN_CONTAINER_PREFIX "/org/warden/container"
#define WARDEN_CONTAINER_INTERFACE "org.warden.Container"
#define WARDEN_GROUP "warden"

/*
 * May the sender of 'm' change things? Root may; so may members of the group "warden" (if it exists), whom
 * the bus policy lets through as well. Returns 1 if allowed; otherwise sets AccessDenied on 'error' and
 * returns its negative errno, so that a handler can "return r". Other negative errno if the sender's
 * credentials cannot be had.
 */
int bus_verify_manage(sd_bus_message *m, sd_bus_error *error);

/* Pairs an a{ss} may have: reading them is quadratic (the duplicate check), and a caller decides how many.
 */
#define BUS_STRING_PAIRS_MAX 1024U

/* Reads an a{ss} into a key, value, … list (NULL-terminated). -EINVAL on a duplicate key; -E2BIG for more
 * than BUS_STRING_PAIRS_MAX pairs (the rest is not read). */
int bus_message_read_string_pairs(sd_bus_message *m, char ***ret);
