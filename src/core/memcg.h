/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A container's memory cgroup, for what systemd does not do for us: the swap half of a hard memory cap on
 * cgroup v1, and noticing the kernel's OOM kills inside the scope (systemd 252 sees them only through
 * cgroup2's memory.events, so on a v1 or hybrid host it does not notice at all).
 *
 *   v1 (legacy or hybrid: the memory controller has its own hierarchy)
 *       <root>/memory/<slice>/<unit>/   memory.limit_in_bytes, memory.memsw.limit_in_bytes (when the kernel
 *                                        accounts swap), memory.oom_control ("oom_kill N" since 4.13),
 *                                        cgroup.event_control (OOM notification through an eventfd)
 *   v2 (unified, with the memory controller)
 *       <root>/<slice>/<unit>/          memory.max, memory.events ("oom_kill N", pollable with EPOLLPRI)
 * and the usage Info reports: memory.usage_in_bytes (v1) or memory.current (v2), and the CPU time from
 * cgroup2's cpu.stat or v1's cpuacct.usage.
 *
 * Reading and writing these files is quick, except lowering a limit below the usage, which makes the kernel
 * reclaim first: callers do that on a worker thread. No logging above debug.
 */

#include <stdint.h>

#include "macro.h"

#define MEMCG_ROOT "/sys/fs/cgroup"

typedef enum MemcgVersion {
        MEMCG_V1,
        MEMCG_V2,
} MemcgVersion;

typedef struct Memcg {
        MemcgVersion version;
        char *path; /* the cgroup's directory */
} Memcg;

/*
 * Finds the memory cgroup of 'unit' in 'slice' below 'root' (MEMCG_ROOT; another one for tests): the v1
 * memory hierarchy if there is one, else cgroup2 if it has the memory controller. -ENOENT if the cgroup does
 * not exist (yet, or any more), -EOPNOTSUPP if there is no memory controller at all; -ENOMEM.
 */
int memcg_find(const char *root, const char *slice, const char *unit, Memcg *ret);
void memcg_done(Memcg *m);

/* The number of processes the kernel's OOM killer killed in the cgroup so far. -ENOENT: the cgroup is gone.
 */
int memcg_read_oom_kills(const Memcg *m, uint64_t *ret);

/* The memory in use as the kernel charges it to the cgroup (v1 memory.usage_in_bytes, v2 memory.current). */
int memcg_read_usage(const Memcg *m, uint64_t *ret);

/*
 * The CPU time used by the cgroup of 'unit' in 'slice' below 'root' (MEMCG_ROOT; another one for tests), in
 * ns: cgroup2's cpu.stat usage_usec where the unit has a cgroup2 cgroup (root itself, or root/unified on a
 * hybrid layout; every cgroup2 cgroup has it, with or without the cpu controller), else v1's
 * cpuacct.usage. -ENOENT if neither exists, -EINVAL (-ERANGE) if the file does not parse, -ENOMEM.
 */
int cgroup_read_cpu_usage(const char *root, const char *slice, const char *unit, uint64_t *ret_ns);

/* The memory limit in force (v1 memory.limit_in_bytes, v2 memory.max; UINT64_MAX for none). */
int memcg_read_limit(const Memcg *m, uint64_t *ret);

/*
 * v1: writes memory.memsw.limit_in_bytes (memory plus swap; the kernel wants it >= memory.limit_in_bytes).
 * -EOPNOTSUPP if the kernel does not account swap (no such file). v2: 0, nothing to do (systemd's
 * MemorySwapMax= covers it). -EINVAL from the kernel if it is below the memory limit, -EBUSY if the usage
 * could not be reclaimed below it.
 */
int memcg_set_swap_limit(const Memcg *m, uint64_t bytes);

/*
 * Before a lower limit of 'bytes' is set: on cgroup2 the kernel takes any memory.max and then, if it cannot
 * reclaim the usage below it, OOM-kills in the cgroup until it fits (wshd too: the container would be lost),
 * where v1 refuses the limit with EBUSY. So on cgroup2 the usage is reclaimed first (memory.reclaim, Linux
 * 5.19; without it the kernel's own reclaim on the write is all there is): -EBUSY if it stays above 'bytes'
 * (unreclaimable: tmpfs pages without swap, or memory in use), 0 if the limit now fits. v1: 0, nothing to
 * do. Slow (the reclaim): on a worker thread.
 */
int memcg_reclaim_below(const Memcg *m, uint64_t bytes);

/*
 * Opens a descriptor that becomes ready when the cgroup runs out of memory: v1, an eventfd registered for
 * memory.oom_control through cgroup.event_control (EPOLLIN; read its 8-byte counter to re-arm; it also fires
 * once when the cgroup is removed); v2, memory.events itself (EPOLLPRI on every change; re-armed by reading
 * it). *ret_events is what to wait for.
 */
int memcg_watch_oom(const Memcg *m, int *ret_fd, uint32_t *ret_events);

/* Consumes a wake-up of the descriptor from memcg_watch_oom(). */
void memcg_watch_flush(const Memcg *m, int fd);
