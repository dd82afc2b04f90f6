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
 *     2. rootfs       overlay + files + bind mounts          (worker process; with a disk limit the writable
 *                                                             layer's own ext4 first, src/core/disk.h)
 *     3. scope        helper forked, blocked; StartTransientUnit(PIDs=helper); JobRemoved → release it
 *     4. wshd         helper clones wshd into new namespaces; wshd reports READY on the status pipe
 *     5. network      veth pair with its peer made in wshd's netns (worker process), then the bandwidth
 *                     limit's qdiscs and ifb if there is one (another worker)
 *     5b. firewall    the container's nft chain and map element (bus-net.h; queued at step 2, in parallel)
 *     6. hello        wshd answers on its socket → limits (bus_limits_container_created()) → the job watch
 *                     (bus_job_container_start()) → state "active", state file, ContainerCreated, reply
 *
 * Teardown (Destroy, a failed Create, a lost wshd, an expired grace time, a dead container found at start):
 *     StopUnit → worker: delete the veth (and the ifb), detach and remove the rootfs → release uid and /30 →
 *     remove the state file → unregister → ContainerDestroyed (if it had been announced) → reply. The
 *     container's nft objects are removed side by side (bus-net.h), before the uid, /30 and NetIn ports are
 *     released.
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
/* For src/bus/bus-clients.c: the last client that referenced c left the bus; starts its grace timer. */
void bus_lifecycle_unreferenced(Container *c);

/*
 * For src/bus/bus-limits.c, which changes a running container through systemd calls and worker threads:
 *
 * bus_lifecycle_check_idle(): 0, or InvalidState in 'error' ("Container 'x' is being stopped.") if another
 * operation is in flight.
 * bus_lifecycle_hold(): a limit change is now in flight on c (there must be no other operation): Stop and
 * Destroy answer InvalidState ("being changed"), and a lost wshd or an expired grace time wait for it.
 * bus_lifecycle_is_held(): whether it is.
 * bus_lifecycle_release(): it is over; false if c is now being torn down (its wshd died meanwhile): then
 * leave it alone.
 * bus_lifecycle_stop(): Stop with nobody to answer (after an OOM kill): every process but wshd gets SIGKILL
 * (kill) or SIGTERM, the state becomes "stopped", and 'done' is called with 0 or a negative errno.
 * -EBUSY if another operation is in flight, -ESTALE if c is neither active nor stopped.
 */
int bus_lifecycle_check_idle(Container *c, sd_bus_error *error);
void bus_lifecycle_hold(Container *c);
bool bus_lifecycle_is_held(const Container *c);
bool bus_lifecycle_release(Container *c);
int bus_lifecycle_stop(
                Container *c,
                bool kill,
                void (*done)(Container *c, int error, void *userdata),
                void *userdata);

/* After connecting: checks every re-adopted container (wshd alive and in its scope), watches it, re-arms its
 * grace timer; cleans up the dead ones, and scopes and depot directories no container owns. */
int bus_lifecycle_adopt(Manager *m);
