/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The ranges of the resource limits a client may ask for, at Create and through the Limit* methods (see
 * org.warden.Manager(5)). Pure functions, no I/O: the bus layer calls them before anything is changed and
 * words the InvalidArgs message after the ranges below.
 */

#include <stdint.h>

#define LIMIT_MEMORY_MIN (UINT64_C(1) << 20) /* 1 MiB: less than wshd itself needs */
#define LIMIT_MEMORY_MAX (UINT64_C(1) << 60) /* 1 EiB: beyond any machine, below the kernel's "max" */

#define LIMIT_CPU_WEIGHT_MIN 1 /* systemd's CPUWeight= range */
#define LIMIT_CPU_WEIGHT_MAX 10000
#define LIMIT_CPU_WEIGHT_DEFAULT 100 /* what a scope gets without CPUWeight= */

/* A CPU quota in percent of one CPU (systemd's CPUQuota=, CFS bandwidth control): 100 is one whole CPU, 250
 * two and a half. The kernel's smallest quota is 1 ms per 100 ms period, i.e. 1 %. */
#define LIMIT_CPU_QUOTA_MIN 1
#define LIMIT_CPU_QUOTA_MAX 100000 /* 1000 CPUs */
/* What "no quota" is where 0 means something else (Create: the default; LimitCpuQuota: a query): systemd's
 * "infinity". */
#define LIMIT_CPU_QUOTA_NONE UINT64_MAX
/* The configuration's "auto": a quarter of the CPUs wardend may use, at least half a CPU (see
 * limit_cpu_quota_auto()). */
#define LIMIT_CPU_QUOTA_AUTO (UINT64_MAX - 1)

/* The most tasks a container may have (systemd's TasksMax=, the pids controller). */
#define LIMIT_PIDS_MIN 1
#define LIMIT_PIDS_MAX (UINT64_C(1) << 22) /* the kernel's largest pid_max */

/* The writable layer is an ext4 file system of exactly this many bytes (src/core/disk.h). */
#define LIMIT_DISK_BYTES_MIN (UINT64_C(1) << 20)  /* 1 MiB */
#define LIMIT_DISK_BYTES_MAX (UINT64_C(16) << 40) /* 16 TiB */
#define LIMIT_DISK_INODES_MIN 16
#define LIMIT_DISK_BYTES_PER_INODE_MIN 1024 /* mke2fs refuses denser inode tables */

/* tbf through libnl-route-3, which takes the rate and the bucket as int (bytes/s, bytes). */
#define LIMIT_BANDWIDTH_RATE_MAX INT32_MAX
#define LIMIT_BANDWIDTH_BURST_MAX (UINT64_C(1) << 30) /* 1 GiB */
/* The kernel gets the bucket as the time it lasts at the rate, in 32 bits of 64 ns ticks (~274 s). */
#define LIMIT_BANDWIDTH_BUCKET_SECONDS_MAX 100
#define LIMIT_BANDWIDTH_LINK_HEADER 14 /* Ethernet: a frame is MTU + 14 bytes */

/* 0 if 'bytes' is a memory limit in range, -ERANGE if not. */
int limit_check_memory(uint64_t bytes);

/* 0 if 'weight' is a CPU weight in range, -ERANGE if not. */
int limit_check_cpu_weight(uint64_t weight);

/* 0 if 'percent' is a CPU quota in range, -ERANGE if not. */
int limit_check_cpu_quota(uint64_t percent);

/* The quota "auto" stands for on a machine with 'n_cpus' CPUs: n_cpus × 25 %, at least 50 %. One container
 * spinning on every CPU it may have (a fork bomb held at its pids limit) then leaves the other containers'
 * processes as fast as on a quiet machine (bench/run --parts isolation). */
uint64_t limit_cpu_quota_auto(unsigned n_cpus);

/* 0 if 'tasks' is a pids limit in range, -ERANGE if not. */
int limit_check_pids(uint64_t tasks);

/*
 * 0 if 'bytes' is a disk limit in range and 'inodes' is either 0 (mke2fs's default for that size) or from
 * LIMIT_DISK_INODES_MIN to bytes / LIMIT_DISK_BYTES_PER_INODE_MIN; -ERANGE if not.
 */
int limit_check_disk(uint64_t bytes, uint64_t inodes);

/*
 * 0 if 'rate' (bytes/s) and 'burst' (bytes) make a token bucket: rate from 1 to LIMIT_BANDWIDTH_RATE_MAX,
 * burst from the largest frame the link carries (mtu + LIMIT_BANDWIDTH_LINK_HEADER; a smaller bucket would
 * drop every full-sized frame) to LIMIT_BANDWIDTH_BURST_MAX, and at most LIMIT_BANDWIDTH_BUCKET_SECONDS_MAX
 * seconds of the rate; -ERANGE if not. mtu 0 means 1500.
 */
int limit_check_bandwidth(uint64_t rate, uint64_t burst, uint32_t mtu);

/* The smallest burst limit_check_bandwidth() accepts for 'mtu' (0: 1500). */
uint64_t limit_bandwidth_min_burst(uint32_t mtu);

/* A memory limit as the kernel keeps it: rounded down to whole pages of 'page_size'. */
uint64_t limit_memory_round(uint64_t bytes, uint64_t page_size);
