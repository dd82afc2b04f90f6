/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/*
 * The cgroup of 'pid' in one hierarchy, as /proc/PID/cgroup lists it: 'controller' is the hierarchy's
 * controller list as written there ("memory", "name=systemd", ...), or "" for the cgroup2 hierarchy ("0::").
 * -ENOENT if the process has no line for it (or is gone), -ENOMEM.
 */
int cg_pid_get_path(pid_t pid, const char *controller, char **ret);

/*
 * The value of 'key' in a cgroup file of "key value" lines (memory.oom_control, memory.events, pids.events,
 * cpu.stat). -ENOENT if the key is missing, -EINVAL if its value is not a number.
 */
int cg_keyed_get_uint64(const char *text, const char *key, uint64_t *ret);

/* A cgroup limit file's content: a number, or "max" (cgroup2) for no limit, returned as UINT64_MAX. Trailing
 * whitespace is ignored. -EINVAL otherwise. */
int cg_parse_limit(const char *text, uint64_t *ret);
