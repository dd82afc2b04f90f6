/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#define WARDEN_PATH_MAX 4096

/*
 * Normalises an absolute path: collapses "//" and "/./", drops a trailing "/". Refuses (-EINVAL) relative
 * paths, ".." components (we never resolve them lexically: a caller must say what it means), empty strings
 * and paths longer than WARDEN_PATH_MAX. -ENOMEM.
 */
int path_normalize(const char *path, char **ret);
bool path_is_absolute(const char *p);

/*
 * Absolute and already in the form path_normalize() gives (no "..", "." or empty components, no trailing "/"
 * except for "/" itself, at most WARDEN_PATH_MAX characters): 1 if so, 0 if not, -ENOMEM.
 */
int path_is_normalized(const char *path);

/* Both normalised: is 'path' 'prefix' itself or below it? ("/" is above everything.) */
bool path_is_below_or_equal(const char *path, const char *prefix);
