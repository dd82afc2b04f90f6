/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Resource limits by name: setrlimit(2)'s RLIMIT_<NAME> in lower case ("nofile", "as", ...), as the Spawn
 * option "rlimits" and wsh's --rlimit take them. libc only (wsh and wshd use it too). */

/* The RLIMIT_* value, or -EINVAL for an unknown name. */
int rlimit_from_name(const char *name);
