/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#define WARDEN_BUS_NAME "org.warden.Manager"
#define WARDEN_MANAGER_PATH "/org/warden/Manager"
#define WARDEN_MANAGER_INTERFACE "org.warden.Manager"
#define WARDEN_CONTAINER_PREFIX "/org/warden/container"
#define WARDEN_CONTAINER_INTERFACE "org.warden.Container"
#define WARDEN_GROUP "warden"

/* Reads an a{ss} into a key, value, … list (NULL-terminated). -EINVAL on a duplicate key. */
int bus_message_read_string_pairs(sd_bus_message *m, char ***ret);
