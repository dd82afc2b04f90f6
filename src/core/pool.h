/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Pools of per-container resources. Pure data structures (no I/O), unit-tested.
 *
 * IdPool hands out integers of [first, first + count). Allocation is next-fit: it continues after the
 * last id handed out and wraps around, so an id that was just released is reused as late as possible
 * (its interface or conntrack entries may still be going away in the kernel).
 *
 * AddressPool splits an IPv4 network into /30 subnets and hands them out by index through an IdPool:
 * subnet i is the network address + 4*i; its first usable address (+1) is the host side, its second
 * (+2) the container side.
 */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

typedef struct IdPool IdPool;

/* -EINVAL: count is 0 or first + count overflows uint32_t; -ENOMEM. */
int id_pool_new(uint32_t first, uint32_t count, IdPool **ret);
IdPool *id_pool_free(IdPool *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(IdPool *, id_pool_free);

/* -ENOSR: every id is taken. */
int id_pool_allocate(IdPool *p, uint32_t *ret);
/* -ERANGE: outside the pool; -EADDRINUSE: already taken. */
int id_pool_reserve(IdPool *p, uint32_t id);
/* Releasing an id that is free or outside the pool does nothing. */
void id_pool_release(IdPool *p, uint32_t id);
bool id_pool_is_taken(const IdPool *p, uint32_t id);
uint32_t id_pool_n_taken(const IdPool *p);
/* Words of the bitmap the allocations have read so far: the cost of the searches, for tests. */
uint64_t id_pool_words_read(const IdPool *p);

typedef struct AddressPool AddressPool;

/* network: host byte order, prefixlen 1..30 (-EINVAL otherwise, or if network has host bits set). */
int address_pool_new(uint32_t network, unsigned prefixlen, AddressPool **ret);
AddressPool *address_pool_free(AddressPool *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(AddressPool *, address_pool_free);

uint32_t address_pool_size(const AddressPool *p); /* number of /30 subnets */

/* -ENOSR when exhausted. */
int address_pool_allocate(AddressPool *p, uint32_t *ret_index);
/*
 * Reserves the /30 that contains 'address' (dotted quad, any of its four addresses).
 * -EINVAL: not an IPv4 address; -ERANGE: outside the pool; -EADDRINUSE: taken.
 */
int address_pool_reserve(AddressPool *p, const char *address, uint32_t *ret_index);
/* Reserves subnet 'index' (re-adoption). -ERANGE: outside the pool; -EADDRINUSE: taken. */
int address_pool_reserve_index(AddressPool *p, uint32_t index);
void address_pool_release(AddressPool *p, uint32_t index);
uint64_t address_pool_words_read(const AddressPool *p);

/* Host-side and container-side addresses of subnet 'index' as dotted quads. -ERANGE if index is outside. */
int address_pool_addresses(
        const AddressPool *p,
        uint32_t index,
        char ret_host[static INET_ADDRSTRLEN],
        char ret_container[static INET_ADDRSTRLEN]);
