/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "pool.h"

#define WORD_BITS 64U

/*
 * One bit per id, set when taken. 'next' is the offset (from 'first') where the next search starts: one past
 * the id handed out last. A search scans 64 ids per word, so even a nearly full pool of 4M ids costs at most
 * 64K word reads, and a pool that is filled in order costs one word read per allocation.
 */
struct IdPool {
        uint32_t first;
        uint32_t count;
        uint32_t n_taken;
        uint32_t next;
        uint64_t *bits;
        uint64_t words_read; /* by the searches, ever: what the tests count instead of timing */
};

int id_pool_new(uint32_t first, uint32_t count, IdPool **ret) {
        _cleanup_(id_pool_freep) IdPool *p = NULL;

        assert(ret);

        if (count == 0 || (uint64_t) first + count - 1 > UINT32_MAX)
                return -EINVAL;

        p = calloc(1, sizeof(IdPool));
        if (!p)
                return -ENOMEM;
        p->first = first;
        p->count = count;
        p->bits = calloc(((size_t) count + WORD_BITS - 1) / WORD_BITS, sizeof(uint64_t));
        if (!p->bits)
                return -ENOMEM;

        *ret = TAKE_PTR(p);
        return 0;
}

IdPool *id_pool_free(IdPool *p) {
        if (!p)
                return NULL;
        free(p->bits);
        free(p);
        return NULL;
}

static bool bit_is_set(const IdPool *p, uint32_t offset) {
        return p->bits[offset / WORD_BITS] & (UINT64_C(1) << (offset % WORD_BITS));
}

/* First free offset in [from, to), or -1. */
static int64_t find_free(IdPool *p, uint32_t from, uint32_t to) {
        uint64_t i = from; /* 64 bits: rounding up to the next word must not wrap at the top of the range */

        while (i < to) {
                /* Free bits of this word at or above i, as ones. */
                uint64_t w = ~p->bits[i / WORD_BITS] & (~UINT64_C(0) << (i % WORD_BITS));
                uint64_t offset;

                p->words_read++;
                if (w == 0) {
                        i = (i / WORD_BITS + 1) * WORD_BITS;
                        continue;
                }
                offset = (i / WORD_BITS) * WORD_BITS + (uint64_t) __builtin_ctzll(w);
                return offset < to ? (int64_t) offset : -1;
        }
        return -1;
}

int id_pool_allocate(IdPool *p, uint32_t *ret) {
        int64_t offset;

        assert(p);
        assert(ret);

        if (p->n_taken >= p->count)
                return -ENOSR;

        offset = find_free(p, p->next, p->count);
        if (offset < 0)
                offset = find_free(p, 0, p->next);
        assert(offset >= 0); /* n_taken < count, so there is a free bit somewhere */

        p->bits[offset / WORD_BITS] |= UINT64_C(1) << (offset % WORD_BITS);
        p->n_taken++;
        p->next = (uint32_t) offset + 1 < p->count ? (uint32_t) offset + 1 : 0;
        *ret = p->first + (uint32_t) offset;
        return 0;
}

static bool id_pool_contains(const IdPool *p, uint32_t id) {
        return id >= p->first && id - p->first < p->count;
}

int id_pool_reserve(IdPool *p, uint32_t id) {
        uint32_t offset;

        assert(p);

        if (!id_pool_contains(p, id))
                return -ERANGE;
        offset = id - p->first;
        if (bit_is_set(p, offset))
                return -EADDRINUSE;

        /* 'next' stays: reserving (re-adopting an existing container) is not handing an id out. */
        p->bits[offset / WORD_BITS] |= UINT64_C(1) << (offset % WORD_BITS);
        p->n_taken++;
        return 0;
}

void id_pool_release(IdPool *p, uint32_t id) {
        uint32_t offset;

        assert(p);

        if (!id_pool_contains(p, id))
                return;
        offset = id - p->first;
        if (!bit_is_set(p, offset))
                return;
        p->bits[offset / WORD_BITS] &= ~(UINT64_C(1) << (offset % WORD_BITS));
        p->n_taken--;
}

bool id_pool_is_taken(const IdPool *p, uint32_t id) {
        assert(p);

        return id_pool_contains(p, id) && bit_is_set(p, id - p->first);
}

uint64_t id_pool_words_read(const IdPool *p) {
        assert(p);

        return p->words_read;
}

uint32_t id_pool_n_taken(const IdPool *p) {
        assert(p);

        return p->n_taken;
}

struct AddressPool {
        uint32_t network; /* host byte order */
        unsigned prefixlen;
        IdPool *subnets; /* indexes of the /30s, from 0 */
};

int address_pool_new(uint32_t network, unsigned prefixlen, AddressPool **ret) {
        _cleanup_(address_pool_freep) AddressPool *p = NULL;
        uint32_t mask;
        int r;

        assert(ret);

        if (prefixlen < 1 || prefixlen > 30)
                return -EINVAL;
        mask = ~UINT32_C(0) << (32 - prefixlen);
        if (network & ~mask)
                return -EINVAL;

        p = calloc(1, sizeof(AddressPool));
        if (!p)
                return -ENOMEM;
        p->network = network;
        p->prefixlen = prefixlen;
        r = id_pool_new(0, UINT32_C(1) << (30 - prefixlen), &p->subnets);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(p);
        return 0;
}

AddressPool *address_pool_free(AddressPool *p) {
        if (!p)
                return NULL;
        id_pool_free(p->subnets);
        free(p);
        return NULL;
}

uint32_t address_pool_size(const AddressPool *p) {
        assert(p);

        return UINT32_C(1) << (30 - p->prefixlen);
}

uint64_t address_pool_words_read(const AddressPool *p) {
        assert(p);

        return id_pool_words_read(p->subnets);
}

int address_pool_allocate(AddressPool *p, uint32_t *ret_index) {
        assert(p);

        return id_pool_allocate(p->subnets, ret_index);
}

int address_pool_reserve(AddressPool *p, const char *address, uint32_t *ret_index) {
        struct in_addr a;
        uint32_t host, index;
        int r;

        assert(p);

        if (!address || inet_pton(AF_INET, address, &a) != 1)
                return -EINVAL;
        host = ntohl(a.s_addr);
        if ((host >> (32 - p->prefixlen)) != (p->network >> (32 - p->prefixlen)))
                return -ERANGE;

        index = (host - p->network) / 4;
        r = id_pool_reserve(p->subnets, index);
        if (r < 0)
                return r;
        if (ret_index)
                *ret_index = index;
        return 0;
}

int address_pool_reserve_index(AddressPool *p, uint32_t index) {
        assert(p);

        return id_pool_reserve(p->subnets, index);
}

void address_pool_release(AddressPool *p, uint32_t index) {
        assert(p);

        id_pool_release(p->subnets, index);
}

static void format_address(uint32_t host_order, char ret[static INET_ADDRSTRLEN]) {
        struct in_addr a = { .s_addr = htonl(host_order) };

        assert_se(inet_ntop(AF_INET, &a, ret, INET_ADDRSTRLEN));
}

int address_pool_addresses(
        const AddressPool *p,
        uint32_t index,
        char ret_host[static INET_ADDRSTRLEN],
        char ret_container[static INET_ADDRSTRLEN]) {
        uint32_t subnet;

        assert(p);
        assert(ret_host);
        assert(ret_container);

        if (index >= address_pool_size(p))
                return -ERANGE;

        subnet = p->network + index * 4;
        format_address(subnet + 1, ret_host);
        format_address(subnet + 2, ret_container);
        return 0;
}
