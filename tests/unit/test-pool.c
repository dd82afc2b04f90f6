/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <time.h>

#include "pool.h"
#include "tests.h"

static uint32_t allocate(IdPool *p) {
        uint32_t id = UINT32_MAX;

        ASSERT_OK(id_pool_allocate(p, &id));
        return id;
}

TEST(id_pool_invalid) {
        IdPool *p = NULL;

        ASSERT_ERROR(id_pool_new(0, 0, &p), EINVAL);
        ASSERT_ERROR(id_pool_new(UINT32_MAX, 2, &p), EINVAL);
        ASSERT_NULL(p);
        ASSERT_OK(id_pool_new(UINT32_MAX, 1, &p));
        ASSERT_EQ(allocate(p), UINT32_MAX);
        ASSERT_ERROR(id_pool_allocate(p, &(uint32_t){ 0 }), ENOSR);
        id_pool_free(p);
}

TEST(id_pool_order_and_exhaustion) {
        _cleanup_(id_pool_freep) IdPool *p = NULL;
        uint32_t id = 12345;

        ASSERT_OK(id_pool_new(100, 130, &p)); /* more than two words, the last one partial */
        for (uint32_t i = 0; i < 130; i++) {
                ASSERT_FALSE(id_pool_is_taken(p, 100 + i));
                ASSERT_EQ(allocate(p), 100 + i);
                ASSERT_TRUE(id_pool_is_taken(p, 100 + i));
        }
        ASSERT_EQ(id_pool_n_taken(p), 130);
        ASSERT_ERROR(id_pool_allocate(p, &id), ENOSR);
        ASSERT_EQ(id, 12345); /* not written on failure */
        ASSERT_FALSE(id_pool_is_taken(p, 99));
        ASSERT_FALSE(id_pool_is_taken(p, 230));
}

TEST(id_pool_wrap_around) {
        _cleanup_(id_pool_freep) IdPool *p = NULL;

        ASSERT_OK(id_pool_new(0, 10, &p));
        for (uint32_t i = 0; i < 8; i++)
                ASSERT_EQ(allocate(p), i);
        id_pool_release(p, 2);
        id_pool_release(p, 5);
        ASSERT_EQ(id_pool_n_taken(p), 6);
        /* Next-fit: 8 and 9 come first, then the search wraps to the released ones. */
        ASSERT_EQ(allocate(p), 8);
        ASSERT_EQ(allocate(p), 9);
        ASSERT_EQ(allocate(p), 2);
        ASSERT_EQ(allocate(p), 5);
        ASSERT_ERROR(id_pool_allocate(p, &(uint32_t){ 0 }), ENOSR);
        ASSERT_EQ(id_pool_n_taken(p), 10);
}

TEST(id_pool_release_and_reuse) {
        _cleanup_(id_pool_freep) IdPool *p = NULL;
        uint32_t a, b;

        ASSERT_OK(id_pool_new(1, 1000, &p));
        a = allocate(p);
        b = allocate(p);
        ASSERT_EQ(a, 1);
        ASSERT_EQ(b, 2);
        id_pool_release(p, a);
        ASSERT_FALSE(id_pool_is_taken(p, a));
        ASSERT_EQ(id_pool_n_taken(p), 1);
        /* The released id is reused only after every other id was handed out once. */
        for (uint32_t i = 3; i <= 1000; i++)
                ASSERT_EQ(allocate(p), i);
        ASSERT_EQ(allocate(p), a);
        ASSERT_EQ(id_pool_n_taken(p), 1000);

        /* Releasing a free or foreign id changes nothing. */
        id_pool_release(p, 0);
        id_pool_release(p, 1001);
        ASSERT_EQ(id_pool_n_taken(p), 1000);
        id_pool_release(p, 500);
        id_pool_release(p, 500);
        ASSERT_EQ(id_pool_n_taken(p), 999);
        ASSERT_EQ(allocate(p), 500);
}

TEST(id_pool_reserve) {
        _cleanup_(id_pool_freep) IdPool *p = NULL;

        ASSERT_OK(id_pool_new(10, 5, &p));
        ASSERT_ERROR(id_pool_reserve(p, 9), ERANGE);
        ASSERT_ERROR(id_pool_reserve(p, 15), ERANGE);
        ASSERT_OK(id_pool_reserve(p, 10));
        ASSERT_OK(id_pool_reserve(p, 12));
        ASSERT_ERROR(id_pool_reserve(p, 12), EADDRINUSE);
        ASSERT_EQ(id_pool_n_taken(p), 2);
        /* Allocation skips reserved ids. */
        ASSERT_EQ(allocate(p), 11);
        ASSERT_EQ(allocate(p), 13);
        ASSERT_EQ(allocate(p), 14);
        ASSERT_ERROR(id_pool_allocate(p, &(uint32_t){ 0 }), ENOSR);
        ASSERT_ERROR(id_pool_reserve(p, 14), EADDRINUSE);
}

TEST(address_pool_invalid) {
        AddressPool *p = NULL;

        ASSERT_ERROR(address_pool_new(0x0afe0000, 0, &p), EINVAL);
        ASSERT_ERROR(address_pool_new(0x0afe0000, 31, &p), EINVAL);
        ASSERT_ERROR(address_pool_new(0x0afe0000, 32, &p), EINVAL);
        ASSERT_ERROR(address_pool_new(0x0afe0004, 20, &p), EINVAL); /* host bits set */
        ASSERT_ERROR(address_pool_new(0x0afe1000, 19, &p), EINVAL);
        ASSERT_NULL(p);
        ASSERT_OK(address_pool_new(0x0afe0004, 30, &p));
        ASSERT_EQ(address_pool_size(p), 1);
        p = address_pool_free(p);
        ASSERT_OK(address_pool_new(0x80000000, 1, &p));
        ASSERT_EQ(address_pool_size(p), UINT32_C(1) << 29);
        address_pool_free(p);
}

TEST(address_pool_addresses) {
        _cleanup_(address_pool_freep) AddressPool *p = NULL;
        char host[INET_ADDRSTRLEN], container[INET_ADDRSTRLEN];
        uint32_t index;

        ASSERT_OK(address_pool_new(0x0afe0000, 20, &p)); /* 10.254.0.0/20 */
        ASSERT_EQ(address_pool_size(p), 1024);

        ASSERT_OK(address_pool_addresses(p, 0, host, container));
        ASSERT_STREQ(host, "10.254.0.1");
        ASSERT_STREQ(container, "10.254.0.2");
        ASSERT_OK(address_pool_addresses(p, 1, host, container));
        ASSERT_STREQ(host, "10.254.0.5");
        ASSERT_STREQ(container, "10.254.0.6");
        ASSERT_OK(address_pool_addresses(p, 1023, host, container));
        ASSERT_STREQ(host, "10.254.15.253");
        ASSERT_STREQ(container, "10.254.15.254");
        ASSERT_ERROR(address_pool_addresses(p, 1024, host, container), ERANGE);

        ASSERT_OK(address_pool_allocate(p, &index));
        ASSERT_EQ(index, 0);
        ASSERT_OK(address_pool_allocate(p, &index));
        ASSERT_EQ(index, 1);
}

TEST(address_pool_reserve) {
        _cleanup_(address_pool_freep) AddressPool *p = NULL;
        uint32_t index = 0;

        ASSERT_OK(address_pool_new(0x0afe0000, 20, &p));

        ASSERT_ERROR(address_pool_reserve(p, "", &index), EINVAL);
        ASSERT_ERROR(address_pool_reserve(p, "10.254.0", &index), EINVAL);
        ASSERT_ERROR(address_pool_reserve(p, "10.254.0.256", &index), EINVAL);
        ASSERT_ERROR(address_pool_reserve(p, "fe80::1", &index), EINVAL);
        ASSERT_ERROR(address_pool_reserve(p, "10.254.16.1", &index), ERANGE);
        ASSERT_ERROR(address_pool_reserve(p, "10.253.255.254", &index), ERANGE);
        ASSERT_ERROR(address_pool_reserve(p, "11.254.0.1", &index), ERANGE);

        /* Any of the four addresses of a /30 names it. */
        ASSERT_OK(address_pool_reserve(p, "10.254.0.6", &index));
        ASSERT_EQ(index, 1);
        ASSERT_ERROR(address_pool_reserve(p, "10.254.0.4", &index), EADDRINUSE);
        ASSERT_ERROR(address_pool_reserve(p, "10.254.0.5", &index), EADDRINUSE);
        ASSERT_ERROR(address_pool_reserve(p, "10.254.0.7", &index), EADDRINUSE);
        ASSERT_OK(address_pool_reserve(p, "10.254.15.255", &index));
        ASSERT_EQ(index, 1023);
        ASSERT_OK(address_pool_reserve(p, "10.254.0.0", &index));
        ASSERT_EQ(index, 0);

        /* Allocation goes around the reserved ones; releasing makes them free again. */
        ASSERT_OK(address_pool_allocate(p, &index));
        ASSERT_EQ(index, 2);
        address_pool_release(p, 1);
        ASSERT_OK(address_pool_reserve(p, "10.254.0.5", &index));
        ASSERT_EQ(index, 1);

        /* By index, as on re-adoption. */
        ASSERT_ERROR(address_pool_reserve_index(p, 1), EADDRINUSE);
        ASSERT_ERROR(address_pool_reserve_index(p, 1024), ERANGE);
        ASSERT_OK(address_pool_reserve_index(p, 3));
        ASSERT_OK(address_pool_allocate(p, &index));
        ASSERT_EQ(index, 4);
}

TEST(address_pool_large) {
        _cleanup_(address_pool_freep) AddressPool *p = NULL;
        char host[INET_ADDRSTRLEN], container[INET_ADDRSTRLEN];
        uint32_t index = 0;

        ASSERT_OK(address_pool_new(0x0a000000, 8, &p)); /* 10.0.0.0/8: 4M subnets */
        ASSERT_EQ(address_pool_size(p), UINT32_C(1) << 22);

        for (uint32_t i = 0; i < 100000; i++) {
                ASSERT_OK(address_pool_allocate(p, &index));
                ASSERT_EQ(index, i);
        }
        /* Free every other one of the first 1000 and allocate from the end of the range: the cursor
         * runs past the taken ones word by word, not bit by bit. */
        for (uint32_t i = 0; i < 1000; i += 2)
                address_pool_release(p, i);
        ASSERT_OK(address_pool_reserve(p, "10.255.255.254", &index));
        ASSERT_OK(address_pool_allocate(p, &index));
        ASSERT_EQ(index, 100000);
        /* In order, each allocation reads one word (two at a word's end); the search from the end of the
         * range reads the words from there to the next free bit once. A search that rescans from the
         * start, or reads bit by bit, reads millions. */
        ASSERT_TRUE(address_pool_words_read(p) <= 2 * 100002 + (100000 / 64 + 2));

        ASSERT_OK(address_pool_addresses(p, (UINT32_C(1) << 22) - 1, host, container));
        ASSERT_STREQ(host, "10.255.255.253");
        ASSERT_STREQ(container, "10.255.255.254");
}

TEST(address_pool_large_wrap) {
        _cleanup_(address_pool_freep) AddressPool *p = NULL;
        uint32_t index = 0;
        uint64_t words;

        ASSERT_OK(address_pool_new(0x0a000000, 8, &p));
        /* Fill all but one subnet, near the start, then make the cursor wrap to find it. */
        for (uint32_t i = 0; i < address_pool_size(p); i++)
                ASSERT_OK(address_pool_allocate(p, &index));
        ASSERT_ERROR(address_pool_allocate(p, &index), ENOSR);
        /* filling in order: one word per allocation, two at a word's end */
        ASSERT_TRUE(address_pool_words_read(p) <= 2 * (uint64_t) address_pool_size(p));
        address_pool_release(p, 77);
        words = address_pool_words_read(p);
        ASSERT_OK(address_pool_allocate(p, &index));
        ASSERT_EQ(index, 77);
        /* the wrapped search reads at most every word of the bitmap once */
        ASSERT_TRUE(address_pool_words_read(p) - words <= address_pool_size(p) / 64 + 2);
        ASSERT_ERROR(address_pool_allocate(p, &index), ENOSR);
}
