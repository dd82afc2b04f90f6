/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Who may change things (org.warden.Manager(5), ACCESS): root always, without asking anyone; every other
 * caller if polkit grants it the action org.warden.manage (polkit/org.warden.policy; the rules file
 * polkit/50-org.warden.rules grants it to the members of the group "warden"), and for host paths outside
 * wardend's allow-lists also org.warden.host-paths (administrators only). polkit is asked
 * asynchronously, with CheckAuthorization for the subject "system-bus-name" (the caller's unique name),
 * interactively only if the caller set the ALLOW_INTERACTIVE_AUTHORIZATION flag on its call.
 *
 * Without polkit (not installed, not running, masked, not answering within its timeout, or no bus daemon at
 * all), members of the group "warden" are allowed and everyone else is refused: the policy that the rules
 * file gives polkit.
 *
 * How a method handler uses it, before it reads or changes anything it could not read again:
 *
 *         r = bus_verify_manage(m, manager, error);
 *         if (r < 0)
 *                 return r;
 *         if (r == 0)
 *                 return 1; (polkit is asked; the call comes back here with the answer)
 *
 * While polkit is asked, the request is kept in BusManager.polkit_queries (held with bus_call_hold(), so it
 * counts as a call in flight of its sender, and counted in Manager.n_operations). With the answer the
 * request is put back into the bus's read queue (sd_bus_enqueue_for_read()): sd-bus dispatches it again,
 * from the start, to the same handler, and this time bus_verify_manage() finds the answer, forgets the query
 * and returns the verdict. An answer that nobody comes back for (the container object went away meanwhile)
 * is dropped after a while.
 */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "manager.h"

#define WARDEN_POLKIT_ACTION_MANAGE "org.warden.manage"
#define WARDEN_POLKIT_ACTION_HOST_PATHS "org.warden.host-paths"

/*
 * May the sender of 'm' change things? 1: yes, go on. 0: polkit is being asked, the handler returns 1 at
 * once. Refused: -EACCES with AccessDenied (or InteractiveAuthorizationRequired, if polkit would ask for a
 * password and the caller did not allow that) set on 'error'. Other negative errno: the sender's credentials
 * could not be had, or out of memory. 'manager' may be NULL (tests): then polkit is not asked.
 */
int bus_verify_manage(sd_bus_message *m, Manager *manager, sd_bus_error *error);

/*
 * May the sender of 'm' use host paths that wardend's allow-lists do not cover (bind mount sources, CopyIn
 * and CopyOut host paths, a rootfs outside the rootfs directories)? Asked only after bus_verify_manage()
 * said yes, in the same dispatch; the same answers. The action org.warden.host-paths is for administrators
 * only (auth_admin): the rules file does not grant it to the group "warden", and without polkit nobody but
 * root has it. While this is asked, bus_verify_manage() of the call dispatched again says yes at once (it
 * said so before host paths were asked).
 */
int bus_verify_host_paths(sd_bus_message *m, Manager *manager, sd_bus_error *error);

/* The uid of the sender of 'm' (what bus_verify_manage() goes by: 0 is root). Negative errno. */
int bus_sender_uid(sd_bus_message *m, uid_t *ret);

/* Has polkit answered for 'm', which is being dispatched again? */
bool bus_polkit_has_answer(Manager *manager, sd_bus_message *m);
