/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "hashmap.h"
#include "tests.h"

TEST(put_get_remove) {
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new();
        int one = 1, two = 2;

        ASSERT_NOT_NULL(h);
        ASSERT_OK(hashmap_put(h, "one", &one));
        ASSERT_OK(hashmap_put(h, "two", &two));
        ASSERT_ERROR(hashmap_put(h, "one", &two), EEXIST);
        ASSERT_TRUE(hashmap_get(h, "one") == &one);
        ASSERT_TRUE(hashmap_get(h, "two") == &two);
        ASSERT_NULL(hashmap_get(h, "three"));
        ASSERT_EQ(hashmap_size(h), 2);
        ASSERT_TRUE(hashmap_remove(h, "one") == &one);
        ASSERT_NULL(hashmap_remove(h, "one"));
        ASSERT_EQ(hashmap_size(h), 1);
}

TEST(grow_and_iterate_with_removal) {
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new();
        static char keys[1000][8];
        size_t seen = 0;
        char *v;

        for (int i = 0; i < 1000; i++) {
                snprintf(keys[i], sizeof(keys[i]), "k%d", i);
                ASSERT_OK(hashmap_put(h, keys[i], keys[i]));
        }
        ASSERT_EQ(hashmap_size(h), 1000);
        for (int i = 0; i < 1000; i++)
                ASSERT_TRUE(hashmap_get(h, keys[i]) == keys[i]);

        /* removing the entry just returned must not disturb the iteration */
        HASHMAP_FOREACH(v, h) {
                seen++;
                ASSERT_TRUE(hashmap_remove(h, v) == v);
        }
        ASSERT_EQ(seen, 1000);
        ASSERT_EQ(hashmap_size(h), 0);
}
