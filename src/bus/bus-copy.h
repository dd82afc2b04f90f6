/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * CopyIn and CopyOut (org.warden.Manager(5), "COPYING FILES"): the handlers check the request on the loop,
 * then src/core/copy.c does the copying on a worker thread, and the reply is sent from the worker's done
 * callback. A container keeps its copies in flight in Container.copies; tearing it down cancels them.
 */

#include <systemd/sd-bus.h>

#include "container.h"

/* At most this many copies run at the same time for one container (LimitsExceeded beyond). */
#define COPY_PER_CONTAINER_MAX 8

/* userdata is the Container; 'm' is read up to the first argument after the handle. */
int bus_copy_method_copy_in(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_copy_method_copy_out(sd_bus_message *m, void *userdata, sd_bus_error *error);

/*
 * The container is going away: every copy of it in flight stops at the next file or chunk and answers
 * InvalidState; they no longer refer to c. Called by the teardown before it removes the root.
 */
void bus_copy_cancel(Container *c);
