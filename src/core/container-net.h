/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A container's network policy (firewall.h) as domain verbs: NetIn and NetOut, and the firewall steps of
 * its life:
 *     Create    container_net_add()     its chain and map element, before Create answers
 *     teardown  container_net_remove()  all of its objects (the last container takes the table along)
 *     start-up  container_net_adopt()   the table rebuilt from every active or stopped container
 * A NetIn or NetOut is done when its transaction is; the host port of a NetIn is taken from the pool (and
 * recorded in the container) before the transaction is queued, so that a teardown queued in between
 * removes it too, and a NetIn that fails gives it back exactly once. No sd-bus here: the D-Bus adapter is
 * src/bus/bus-net.c.
 *
 * Whether the container is busy with a lifecycle operation (created, stopped, destroyed) is the caller's
 * to check first (the lifecycle's business); the verbs check everything else.
 */

#include <stdint.h>

#include "container.h"
#include "firewall.h"
#include "warden-error.h"

/*
 * Called on the event loop when the transaction is over. 'error' is NULL on success (then the rule is in
 * force and recorded in the container's state file). On failure it is:
 *     FAILED with a message: the transaction failed (the message says which rule, and what nft said);
 *     FAILED without a message: NetOut only, the rule is in force but could not be recorded (-ENOMEM), so
 *                               it goes at the next start-up.
 * 'rule' is the NetIn mapping as made (the host port chosen, the container port filled in).
 */
typedef void (*container_net_in_done_t)(
        Manager *m, const NetInRule *rule, const WardenError *error, void *userdata);
typedef void (*container_net_out_done_t)(Manager *m, const WardenError *error, void *userdata);

/*
 * NetIn: TCP to host port 'host_port' (0: the next free one of port_range) reaches the container's port
 * 'container_port' (0: the same as the host port). 0 if queued ('done' is called later); otherwise a
 * negative errno with *reterr set, and 'done' is never called:
 *     INVALID_STATE   the container is not active
 *     NOT_SUPPORTED   no network policy (wardend without a firewall or port pool, or a container without
 *                     a network)
 *     POOL_EXHAUSTED  no port left in port_range, or the host port is a NetIn mapping of a container
 *     FAILED          -ENOMEM (no message), or the transaction could not be queued (with a message)
 */
int container_net_in(
        Container *c,
        uint16_t host_port,
        uint16_t container_port,
        container_net_in_done_t done,
        void *userdata,
        WardenError *reterr);

/* NetOut: the container may reach what 'rule' (validated: net_out_rule_from_spec()) allows. 0 if queued;
 * INVALID_STATE, NOT_SUPPORTED and FAILED as for container_net_in(). */
int container_net_out(
        Container *c,
        const NetOutRule *rule,
        container_net_out_done_t done,
        void *userdata,
        WardenError *reterr);

/* Queues the container's objects (c needs its network); done is called when they are in place.
 * -EOPNOTSUPP (wardend has no firewall), -EINVAL (no network), -ENOMEM. */
int container_net_add(Container *c, firewall_done_t done, void *userdata, FirewallJob **ret);
/* Queues their removal if they were added; *ret is NULL (and done is never called) if there is nothing to
 * remove. -EINVAL, -ENOMEM. */
int container_net_remove(Container *c, firewall_done_t done, void *userdata, FirewallJob **ret);

/* Start-up, before the loop runs: rebuilds the table for the re-adopted containers, synchronously. Logs;
 * a failure leaves the last wardend's rules in force and is not fatal. */
void container_net_adopt(Manager *m);
