/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A container's life: Create, Stop, Destroy, the grace timer, the watch on wshd, the GC of containers whose
 * wshd is gone, re-adoption at start-up. No sd-bus here: each verb takes (…, done, userdata) and reports a
 * WardenError (warden-error.h); the front end (src/bus/bus-lifecycle.c) reads the request, asks polkit,
 * calls the verb and answers. Every side effect goes through Manager.ops (container-ops.h), every
 * announcement through Manager.events (manager.h). Every step that waits (systemd jobs, worker threads,
 * wshd) is asynchronous; a failed Create reports only after everything it made is undone.
 *
 * Create, in order (each step undone if a later one fails):
 *     1. allocate     handle, uid, /30                      (on the loop, instant)
 *     2. rootfs       overlay + files + bind mounts (ops.rootfs_setup); with a disk limit the writable
 *                     layer's own ext4 first (disk.h)
 *     3. scope        helper spawned, blocked (ops.helper_spawn); ops.scope_start(PIDs=helper); then 'G'
 *     4. wshd         the helper clones wshd into new namespaces; wshd reports READY on the status pipe
 *     5. network      veth pair with its peer made in wshd's netns (ops.network_setup), then the bandwidth
 *                     limit's qdiscs and ifb if there is one (ops.bandwidth_setup)
 *     5b. firewall    the container's nft chain and map element (ops.firewall_add; at step 2, in parallel)
 *     6. hello        wshd answers on its socket (ops.wshd_hello) → limits (ops.limits_created) → the job
 *                     watch (ops.jobs_start) → state "active", state file, done, events->container_announced
 * The steps done are a set (CreateStep) in the operation; each logs "step NAME took Nus" at debug level
 * (bench/run collects those).
 *
 * Teardown (Destroy, a failed Create, a lost wshd, an expired grace time, a dead container found at start):
 *     kill wshd, ops.scope_stop, ops.rootfs_teardown, ops.firewall_remove side by side; the veth is deleted
 *     off the caller's path (ops.network_delete) → release uid and /30 → remove the state file →
 *     unregister → container_gone (if it had been announced) → done.
 *
 * One operation at a time per container (Container.operation, typed): create, stop, teardown, or a limit
 * change held by the limits (container_hold()). A verb asked while another is in flight fails with
 * INVALID_STATE "Container 'x' is being stopped." (container_get_state()).
 */

#include <stdbool.h>
#include <stdint.h>

#include "container-spec.h"
#include "container.h"
#include "manager.h"
#include "rootfs.h"
#include "warden-error.h"

/* Reports the end of a verb: error NULL on success. c is the container, or NULL once it is gone (Destroy, a
 * failed Create). */
typedef void (*container_done_t)(Container *c, const WardenError *error, void *userdata);

/*
 * Create: allocates at once (handle, uid or user namespace range, /30, registration), writes the state file
 * and starts the steps. 0: 'done' is called exactly once, possibly before this returns: with c on success,
 * with NULL and the error once everything is undone. Negative errno: nothing was made, done is not called,
 * *reterr says why: POOL_EXHAUSTED, CONTAINER_EXISTS, INVALID_ARGS (network outside the pool), FAILED.
 * 'spec' must have passed create_spec_check() (container-spec.h). Whatever the outcome, its bind mounts,
 * properties and env are taken (set to NULL in it); the rest stays the caller's.
 */
int container_create(
        Manager *m,
        CreateSpec *spec,
        container_done_t done,
        void *userdata,
        Container **ret,
        WardenError *reterr);

/*
 * Stop: wshd stops every other process (SIGKILL at once with 'kill', else SIGTERM and SIGKILL after the
 * configured stop_timeout); the state becomes "stopped". INVALID_STATE if another operation is in flight or
 * c is neither active nor stopped; FAILED if wshd cannot be reached. done(c, error) when it is over.
 */
int container_stop(Container *c, bool kill, container_done_t done, void *userdata, WardenError *reterr);

/* Destroy: tears c down. INVALID_STATE if another operation is in flight. done(NULL, NULL) at the end. */
int container_destroy(Container *c, container_done_t done, void *userdata, WardenError *reterr);

/* The word clients see in "Container 'x' is %s.": the operation in flight ("being created", "being stopped",
 * "being destroyed", "being changed"), else the state ("born", "active", "stopped", "destroyed"). */
const char *container_get_state(const Container *c) _pure_;
/* The operation's word, or NULL if none is in flight. */
const char *container_busy_reason(const Container *c) _pure_;

/*
 * For the limits, which change a running container through systemd calls and worker threads:
 * container_check_idle(): 0, or INVALID_STATE ("Container 'x' is being stopped.") if an operation is in
 * flight. container_hold(): a limit change is now in flight (there must be no other operation): Stop and
 * Destroy fail with "being changed", a lost wshd or an expired grace time wait for it. container_release():
 * it is over; false if c is going away now (its wshd died meanwhile: the GC tears it down): leave it alone;
 * an OOM that came meanwhile is dealt with now (container_oom()).
 */
int container_check_idle(Container *c, WardenError *reterr);
void container_hold(Container *c);
bool container_is_held(const Container *c) _pure_;
bool container_release(Container *c);

/* A client references c (cancels its grace timer) / no client does any more (starts it). Logs. */
void container_referenced(Container *c);
void container_unreferenced(Container *c);

/* Manager.gc_queue's check (manager_enqueue_gc()): c is torn down if its wshd is gone and it is idle. */
void container_gc(Container *c);

/* After start-up: checks every re-adopted container (wshd alive and in its scope, ops.leader_is_alive),
 * watches it, re-arms its grace timer; tears the dead ones down; removes depot directories no container
 * owns.
 */
void container_adopt_all(Manager *m);
