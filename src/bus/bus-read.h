/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Readers of the arrays a caller sends, for the method handlers: each stops at a maximum number of entries
 * and takes time linear in what it read. A message on the system bus may be 32 MiB, room for 4 million
 * strings; sd_bus_message_read_strv() of libsystemd 252 appends them one at a time with a strv_extend() that
 * counts the list each time, and 10^6 argv entries kept wardend's event loop (and every other caller) busy
 * for many minutes (found by tests/integration/test-hostile.sh).
 */

#include <stddef.h>
#include <systemd/sd-bus.h>

/*
 * Reads an "as" into a NULL-terminated list (NULL for an empty array, as sd_bus_message_read_strv() gives).
 * -E2BIG: more than 'max' entries (the rest is not read); -ENOMEM; other negative errno from sd-bus.
 */
int bus_message_read_strv_max(sd_bus_message *m, size_t max, char ***ret);

/*
 * Reads the option 'env' (as) of Create or Spawn/Run: at most 'max' entries, each "KEY=VALUE" with a
 * non-empty KEY. Sets InvalidArgs on 'error' for anything else; -ENOMEM and sd-bus errors as they come.
 */
int bus_message_read_env(sd_bus_message *m, size_t max, char ***ret, sd_bus_error *error);
