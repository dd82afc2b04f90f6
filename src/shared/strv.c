/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>

#include "strv.h"

char **strv_free(char **l) {
        STRV_FOREACH(s, l)
                free(*s);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;

        if (!l)
                return 0;
        while (l[n])
                n++;
        return n;
}

bool strv_contains(char *const *l, const char *s) {
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

int strv_consume(char ***l, char *value) {
        size_t n = strv_length(*l);
        char **c;

        assert(l);

        c = realloc(*l, sizeof(char *) * (n + 2));
        if (!c) {
                free(value);
                return -ENOMEM;
        }
        c[n] = value;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        char *v = strdup(value);

        assert(l);
        assert(value);

        if (!v)
                return -ENOMEM;
        return strv_consume(l, v);
}

static int str_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

char **strv_sort(char **l) {
        if (l)
                qsort(l, strv_length(l), sizeof(char *), str_compare);
        return l;
}

bool strv_remove(char ***l, const char *s) {
        size_t j = 0;
        bool found = false;

        assert(l);

        if (!*l)
                return false;
        for (size_t i = 0; (*l)[i]; i++) {
                if (streq((*l)[i], s)) {
                        free((*l)[i]);
                        found = true;
                } else
                        (*l)[j++] = (*l)[i];
        }
        (*l)[j] = NULL;
        if (j == 0)
                *l = strv_free(*l);
        return found;
}
