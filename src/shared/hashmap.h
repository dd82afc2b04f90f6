/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A small hash table with string keys. Keys are not copied: the caller keeps them alive as long as the entry
 * exists (typically the key is a field of the value, e.g. Container.handle). Removing the entry that an
 * iteration just returned is allowed.
 */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef struct Hashmap Hashmap;

typedef struct Iterator {
        size_t bucket;
        void *next;
        bool started;
} Iterator;

#define ITERATOR_FIRST ((Iterator){ .bucket = 0, .next = NULL, .started = false })

Hashmap *hashmap_new(void);
Hashmap *hashmap_free(Hashmap *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Hashmap *, hashmap_free);

/* 0 on success; -EEXIST: the key is present; -ENOMEM. */
int hashmap_put(Hashmap *h, const char *key, void *value);
void *hashmap_get(Hashmap *h, const char *key);
/* Returns the value that was removed, NULL if none. */
void *hashmap_remove(Hashmap *h, const char *key);
size_t hashmap_size(Hashmap *h);
bool hashmap_iterate(Hashmap *h, Iterator *i, void **ret_value, const char **ret_key);

#define HASHMAP_FOREACH(v, h) \
        for (Iterator _it_##v = ITERATOR_FIRST; hashmap_iterate((h), &_it_##v, (void **) &(v), NULL);)
