/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NULL-terminated string arrays. Functions return -ENOMEM on allocation failure and nothing else. */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

#define STRV_FOREACH(s, l) for (char **s = (l); s && *s; s++)

/* A literal string list, e.g. STRV_MAKE("key", "value"). */
#define STRV_MAKE(...) ((char **) ((const char *[]){ __VA_ARGS__, NULL }))

char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);
/* Takes ownership of 'value' on success and on failure. */
int strv_consume(char ***l, char *value);
int strv_extend(char ***l, const char *value);
/* Sorts in place; returns l. */
char **strv_sort(char **l);
/* Removes (and frees) every entry equal to 's'; returns whether there was one. An emptied list is freed and
 * *l set to NULL. */
bool strv_remove(char ***l, const char *s);
