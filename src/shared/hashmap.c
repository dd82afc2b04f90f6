/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

typedef struct Entry {
        struct Entry *next;
        const char *key;
        void *value;
} Entry;

struct Hashmap {
        Entry **buckets;
        size_t n_buckets;
        size_t n_entries;
};

/* FNV-1a: good enough for short identifiers; the keys are validated handles, not attacker-sized blobs. */
static size_t string_hash(const char *s) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= UINT64_C(0x100000001b3);
        }
        return (size_t) h;
}

Hashmap *hashmap_new(void) {
        Hashmap *h = calloc(1, sizeof(Hashmap));

        if (!h)
                return NULL;
        h->n_buckets = 16;
        h->buckets = calloc(h->n_buckets, sizeof(Entry *));
        if (!h->buckets) {
                free(h);
                return NULL;
        }
        return h;
}

Hashmap *hashmap_free(Hashmap *h) {
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n_buckets; i++)
                for (Entry *e = h->buckets[i], *n; e; e = n) {
                        n = e->next;
                        free(e);
                }
        free(h->buckets);
        free(h);
        return NULL;
}

static Entry **hashmap_find(Hashmap *h, const char *key) {
        Entry **p = &h->buckets[string_hash(key) % h->n_buckets];

        for (; *p; p = &(*p)->next)
                if (streq((*p)->key, key))
                        return p;
        return p;
}

static int hashmap_grow(Hashmap *h) {
        size_t n = h->n_buckets * 2;
        Entry **b = calloc(n, sizeof(Entry *));

        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_buckets; i++)
                for (Entry *e = h->buckets[i], *next; e; e = next) {
                        size_t k = string_hash(e->key) % n;

                        next = e->next;
                        e->next = b[k];
                        b[k] = e;
                }
        free(h->buckets);
        h->buckets = b;
        h->n_buckets = n;
        return 0;
}

int hashmap_put(Hashmap *h, const char *key, void *value) {
        Entry **p, *e;

        assert(h);
        assert(key);

        p = hashmap_find(h, key);
        if (*p)
                return -EEXIST;
        if (h->n_entries + 1 > h->n_buckets * 3 / 4 && hashmap_grow(h) >= 0)
                p = hashmap_find(h, key);

        e = malloc(sizeof(Entry));
        if (!e)
                return -ENOMEM;
        *e = (Entry){ .next = NULL, .key = key, .value = value };
        *p = e;
        h->n_entries++;
        return 0;
}

void *hashmap_get(Hashmap *h, const char *key) {
        Entry **p;

        if (!h || !key)
                return NULL;
        p = hashmap_find(h, key);
        return *p ? (*p)->value : NULL;
}

void *hashmap_remove(Hashmap *h, const char *key) {
        Entry **p, *e;
        void *v;

        if (!h || !key)
                return NULL;
        p = hashmap_find(h, key);
        e = *p;
        if (!e)
                return NULL;
        *p = e->next;
        v = e->value;
        free(e);
        h->n_entries--;
        return v;
}

size_t hashmap_size(Hashmap *h) {
        return h ? h->n_entries : 0;
}

bool hashmap_iterate(Hashmap *h, Iterator *i, void **ret_value, const char **ret_key) {
        Entry *e;

        assert(i);

        if (!h)
                return false;
        if (!i->started) {
                i->started = true;
                i->bucket = 0;
                i->next = h->buckets[0];
        }
        /* 'next' was read before the previous entry was handed out, so removing that one is safe. */
        while (!i->next) {
                if (++i->bucket >= h->n_buckets)
                        return false;
                i->next = h->buckets[i->bucket];
        }
        e = i->next;
        i->next = e->next;
        if (ret_value)
                *ret_value = e->value;
        if (ret_key)
                *ret_key = e->key;
        return true;
}
