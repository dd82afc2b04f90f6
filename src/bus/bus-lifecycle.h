/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A container's life: Create, Stop, Destroy, the grace timer, the watch on wshd, re-adoption at start-up.
 * Every step that waits (systemd jobs, worker processes, wshd) is asynchronous; the D-Bus request is
 * answered when the whole operation is over, and a failed Create is answered only after everything it made
 * is undone.
 *
 * Create, in order (each step undone if a later one fails):
 *     1. allocate     handle, uid, /30                      (on the loop, instant)
 *     2. rootfs       overlay + files + bind mounts          (worker process)
 *     3. scope        helper forked, blocked; StartTransientUnit(PIDs=helper); JobRemoved → release it
 *     4. wshd         helper clones wshd into new namespaces; wshd reports READY on the status pipe
 *     5. network      veth pair with its peer made in wshd's netns (worker process)
 *     5b. firewall    the container's nft chain and map element (bus-net.h; queued at step 2, in parallel)
 *     6. hello        wshd answers on its socket → state "active", state file, ContainerCreated, reply
 *
 * Teardown (Destroy, a failed Create, a lost wshd, an expired grace time, a dead container found at start):
 *     StopUnit → worker: delete the veth, detach and remove the rootfs → release uid and /30 → remove the
 *     state file → unregister → ContainerDestroyed (if it had been announced) → reply. The container's nft
 *     objects are removed side by side (bus-net.h), before the uid, /30 and NetIn ports are released.
 */

#include <systemd/sd-bus.h>

#include "container.h"
#include "manager.h"

int bus_lifecycle_method_create(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_lifecycle_method_stop(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_lifecycle_method_destroy(sd_bus_message *m, void *userdata, sd_bus_error *error);

/* "being created", "being stopped", "being destroyed" while a lifecycle operation is in flight, else NULL.
 */
const char *bus_lifecycle_busy_reason(const Container *c);

/* The caller of 'm' references c (grace time): cancels a running grace timer. Logs, never fails the call. */
void bus_lifecycle_reference(Container *c, sd_bus_message *m);

/* After connecting: checks every re-adopted container (wshd alive and in its scope), watches it, re-arms its
 * grace timer; cleans up the dead ones, and scopes and depot directories no container owns. */
int bus_lifecycle_adopt(Manager *m);
