/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
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

/* A cgroup file that holds one number (memory.current, memory.usage_in_bytes, cpuacct.usage, pids.current),
 * trailing whitespace ignored. -EINVAL otherwise ("max" too: these files count, they do not limit). */
int cg_parse_counter(const char *text, uint64_t *ret);

/*
 * The CPU time of a cgroup2 cgroup in ns, from its cpu.stat ("usage_usec N", in every cgroup2 cgroup with or
 * without the cpu controller). -ENOENT if the key is missing, -EINVAL if it is not a number, -ERANGE if it
 * does not fit in ns.
 */
int cg_parse_cpu_stat_usage(const char *text, uint64_t *ret_ns);

#define CG_VIEW_MAX 8         /* hierarchies a container is shown */
#define CG_CONTROLLERS_MAX 64 /* a hierarchy's controller list, NUL included */

/*
 * Which cgroup hierarchies a container is shown at /sys/fs/cgroup (wshd mounts them inside its cgroup
 * namespace, so that each shows the container's own cgroup as its root). Decided from the container's
 * /proc/self/cgroup as read right after it was placed in its scope, before its cgroup namespace makes every
 * path read "/":
 *   - no v1 hierarchy has the memory controller (a cgroup2 host): cgroup2 at /sys/fs/cgroup, 'unified';
 *   - otherwise (v1, legacy or hybrid): a directory per v1 hierarchy with memory, cpu, cpuacct or pids, in
 *     'hierarchies' by its controller list as /proc/self/cgroup writes it ("cpu,cpuacct"), and "" for the
 *     cgroup2 hierarchy of a hybrid layout (shown at "unified").
 * Only hierarchies in which the process is in its unit's cgroup are listed: that cgroup is its path in
 * systemd's own hierarchy (name=systemd on v1, else cgroup2). Where systemd did not place it (a controller
 * that systemd does not manage for the unit, such as a cpuacct apart from cpu) it sits in a cgroup that is
 * not the container's own, which the container must not see.
 * -EINVAL for a malformed line (or a controller list with other characters than [a-z0-9_,=]), -ENOENT if
 * there is no systemd hierarchy to tell the unit's cgroup, -E2BIG if there are more hierarchies or longer
 * controller lists than fit.
 */
typedef struct CgroupView {
        bool unified; /* cgroup2 is the whole layout */
        size_t n_hierarchies;
        char hierarchies[CG_VIEW_MAX][CG_CONTROLLERS_MAX];
} CgroupView;

int cg_view_parse(const char *proc_cgroup, CgroupView *ret);
