/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * CopyIn and CopyOut on the bus (org.warden.Manager(5), "COPYING FILES"): the handlers check polkit, read
 * and check the arguments (InvalidArgs), refuse while the container is busy with its lifecycle
 * (InvalidState), decide whether the caller needs host-path authority (polkit), and answer when core's copy
 * is done. The copies in flight, their cap (COPY_PER_CONTAINER_MAX) and the cancel at teardown are core's:
 * container-copy.h.
 */

#include <systemd/sd-bus.h>

#include "container.h"

/* userdata is the Container; 'm' is read up to the first argument after the handle. */
int bus_copy_method_copy_in(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_copy_method_copy_out(sd_bus_message *m, void *userdata, sd_bus_error *error);
