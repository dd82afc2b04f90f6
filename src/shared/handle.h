/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Container handles (api.md "Names"): 1–64 characters of [A-Za-z0-9_.-], not starting with '.' or '-'.
 * Generated handles are 11 lowercase base-32 characters.
 */

#include <stdbool.h>
#include <stddef.h>

#define HANDLE_MAX 64
#define HANDLE_GENERATED_LEN 11

bool handle_is_valid(const char *h);
/* Fills buf (at least HANDLE_GENERATED_LEN + 1 bytes) from getrandom(). 0 or negative errno. */
int handle_generate(char *buf, size_t size);
/*
 * "warden-<handle>.scope". Every handle character is valid in a unit name and a '-' has no meaning for
 * scopes (only slices nest), so the handle needs no escaping. -EINVAL for an invalid handle, -ENOMEM.
 */
int handle_to_unit_name(const char *h, char **ret);
