/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The per-container objects: /org/warden/container/<handle, sd_bus_path_encode()d>, interface
 * org.warden.Container. Served by a fallback vtable whose find callback looks the handle up in the registry,
 * with a node enumerator so that introspection and `busctl tree` list them (machined's pattern).
 */

#include <systemd/sd-bus.h>

#include "container.h"
#include "manager.h"

extern const sd_bus_vtable container_vtable[];

int bus_container_register(Manager *m, sd_bus *bus);

/* The object path of a container. -ENOMEM. */
int container_bus_path(const Container *c, char **ret);

/*
 * Method implementations shared by the Manager's handle-taking methods and the container object: 'm' has
 * been read up to (not including) the first argument after the handle; userdata is the Container.
 */
int bus_container_method_info(sd_bus_message *m, void *userdata, sd_bus_error *error);
