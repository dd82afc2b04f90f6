/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A container's network, with libnl-route-3: one veth pair per container, made with a single RTM_NEWLINK
 * whose peer is created directly in the container's network namespace.
 *
 *     host side       w-<id>-0   host_ip/30, up, MTU
 *     container side  w-<id>-1   container_ip/30, up, MTU, default route via host_ip; lo up
 *
 * These calls are synchronous and the kernel makes them wait for RCU grace periods (~30 ms): wardend runs
 * them in a worker process (worker.h), never on its event loop.
 */

#include <stdint.h>

#define NETWORK_IFNAME_MAX 16 /* IFNAMSIZ */

typedef struct NetworkConfig {
        char host_ifname[NETWORK_IFNAME_MAX];      /* w-<id>-0 */
        char container_ifname[NETWORK_IFNAME_MAX]; /* w-<id>-1 */
        const char *host_ip;                       /* dotted quad */
        const char *container_ip;
        unsigned prefixlen; /* 30 */
        uint32_t mtu;       /* 0: kernel default */
} NetworkConfig;

/* Fills the two interface names from the id. -ENAMETOOLONG if they would not fit. */
int network_ifnames(uint32_t id, NetworkConfig *cfg);

/*
 * Creates and configures the pair; netns_fd is an open /proc/<pid>/ns/net of the container. Must be called
 * in the host's network namespace; it enters netns_fd only on a thread-local basis or in a child and always
 * returns in the caller's own namespace. On failure nothing of it remains. Negative errno (-EEXIST: the host
 * interface name is taken).
 */
int network_setup(const NetworkConfig *cfg, int netns_fd);

/* Deletes the host side (the kernel deletes the peer with it). 0 if it did not exist. */
int network_teardown(const char *host_ifname);

/* 1 if the link exists in the caller's network namespace, 0 if not, negative errno. */
int network_link_exists(const char *ifname);
