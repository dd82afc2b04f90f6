/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A container's bandwidth limit, in both directions, with tc through libnl-route-3:
 *
 *     to the container     tbf as the root qdisc of the host side of its veth, w-<id>-0
 *     from the container   the ingress qdisc of w-<id>-0 with one u32 filter matching everything whose
 *                          action (mirred) redirects it to an ifb device w-<id>-i, whose root qdisc is a tbf
 *                          with the same rate and burst; the ifb hands the packets back to w-<id>-0's
 * ingress path, so routing and netfilter see them as coming from w-<id>-0
 *
 * Everything lives on the host side: the container, even as root with CAP_NET_ADMIN in its own network
 * namespace, can neither see nor remove it. (This kernel has no act_police, so ingress policing is not an
 * option, and a tbf on the container's end would be the container's to delete.)
 *
 * Synchronous (creating and deleting a network device waits for RCU): wardend calls these on worker threads.
 * No logging above debug.
 */

#include <stdint.h>

#include "network.h"

/* The ifb device of a container, from its host-side link name "w-<id>-0": "w-<id>-i". -EINVAL if
 * 'host_ifname' is not of that form. */
int bandwidth_ifb_name(const char *host_ifname, char ret[static NETWORK_IFNAME_MAX]);

/*
 * Applies rate (bytes/s) and burst (bytes) in both directions; idempotent: qdiscs and the filter are
 * replaced, the ifb made if missing. The values must have passed limit_check_bandwidth(). -ENODEV if the
 * host-side link does not exist; other negative errno from the kernel.
 */
int bandwidth_apply(const char *host_ifname, uint64_t rate, uint64_t burst);

/* Removes what bandwidth_apply() made (the qdiscs and the ifb). Missing parts are fine. */
int bandwidth_remove(const char *host_ifname);

/* Deletes the ifb of 'host_ifname' if it exists (the veth's qdiscs go with the veth). */
int bandwidth_teardown(const char *host_ifname);

/* The byte counters of the host-side link, from sysfs: received from the container, sent to it. */
int bandwidth_link_counters(
        const char *host_ifname, uint64_t *ret_from_container, uint64_t *ret_to_container);
