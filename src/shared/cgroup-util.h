/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/*
 * The cgroup of 'pid' in one hierarchy, as /proc/PID/cgroup lists it: 'controller' is the hierarchy's
 * controller list as written there ("memory", "name=systemd", ...), or "" for the cgroup2 hierarchy ("0::").
 * -ENOENT if the process has no line for it (or is gone), -ENOMEM.
 */
int cg_pid_get_path(pid_t pid, const char *controller, char **ret);
