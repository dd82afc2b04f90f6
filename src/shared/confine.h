/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What every container is confined to, shared by wardend (which documents and checks it) and wshd (which
 * applies it). See wardend(8), CONFINEMENT.
 */

#include <linux/capability.h>
#include <stdint.h>

#define CAP_BIT(c) (UINT64_C(1) << (c))

/*
 * The bounding set of every process in a container, and all that root in it (a privileged job) has: the
 * capabilities Docker gives a container by default. Not in it, among others: CAP_SYS_ADMIN, CAP_SYS_MODULE,
 * CAP_SYS_TIME, CAP_SYS_RAWIO, CAP_SYS_PTRACE, CAP_SYS_BOOT, CAP_NET_ADMIN, CAP_MAC_*, CAP_SYSLOG, CAP_BPF,
 * CAP_PERFMON, CAP_DAC_READ_SEARCH (open_by_handle_at), CAP_SYS_RESOURCE, CAP_LINUX_IMMUTABLE.
 * Jobs of any other user have an empty bounding set and no capabilities at all.
 */
#define CONTAINER_CAPABILITIES                                                                        \
        (CAP_BIT(CAP_CHOWN) | CAP_BIT(CAP_DAC_OVERRIDE) | CAP_BIT(CAP_FOWNER) | CAP_BIT(CAP_FSETID) | \
         CAP_BIT(CAP_KILL) | CAP_BIT(CAP_SETGID) | CAP_BIT(CAP_SETUID) | CAP_BIT(CAP_SETPCAP) |       \
         CAP_BIT(CAP_NET_BIND_SERVICE) | CAP_BIT(CAP_NET_RAW) | CAP_BIT(CAP_SYS_CHROOT) |             \
         CAP_BIT(CAP_MKNOD) | CAP_BIT(CAP_AUDIT_WRITE) | CAP_BIT(CAP_SETFCAP))

/* User namespaces (Create option user_namespace): container uids 0..USERNS_RANGE_SIZE-1 are host uids
 * base..base+USERNS_RANGE_SIZE-1; the same for gids. */
#define USERNS_RANGE_SIZE UINT32_C(65536)
/* The container's own unprivileged user inside a user namespace: not from the uid pool, since it only has
 * to be unique inside (on the host it is base + this). */
#define USERNS_CONTAINER_UID UINT32_C(10001)

/* The seccomp filter's raw BPF that wardend hands wshd is never longer than this (the kernel's limit). */
#define SECCOMP_FILTER_INSNS_MAX 4096U
