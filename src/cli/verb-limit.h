/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * wardenctl's limit commands: limit-memory, limit-cpu, limit-disk and limit-bandwidth (LimitMemory,
 * LimitCpu, LimitDisk, LimitBandwidth; see wardenctl(1) and org.warden.Manager(5)). Without a value they
 * query; each prints the value in force that wardend answers. The commands log their failures
 * ("wardenctl: <wardend's message>") and return a negative errno then. The parsers and the message
 * builders neither log nor talk to the bus, and never write *ret on failure.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/*
 * The value of limit-memory (size true: a size in bytes with an optional K, M, G or T suffix) or of
 * limit-cpu (size false: a plain number), and of --rate= and --burst=. 0 is refused: to wardend it means
 * "query", which is what leaving the value out says. -EINVAL: malformed or 0; -ERANGE: too large.
 */
int limit_value_parse(const char *s, bool size, uint64_t *ret);

/* The LimitDisk dictionary: only the keys given are sent; none queries. */
typedef struct DiskLimitArgs {
        bool bytes_set, inodes_set;
        uint64_t bytes;  /* "byte_limit" */
        uint64_t inodes; /* "inode_limit" */
} DiskLimitArgs;

/* Appends LimitDisk's a{st} for 'a'. 0 or sd-bus's negative errno. */
int disk_limit_args_append(sd_bus_message *m, const DiskLimitArgs *a);

/*
 * Reads an a{st} of limits (LimitDisk's answer) and writes it with print_fields(): "byte_limit" as a size,
 * other keys as numbers, 0 as none. 0 or a negative errno of sd-bus (-ENOMEM: too many keys).
 */
int limit_dict_print(FILE *f, sd_bus_message *reply, bool json);

/* LimitMemory with 'bytes' (0: query); prints "memory_limit: BYTES (SIZE)". */
int limit_memory(sd_bus *bus, const char *handle, uint64_t bytes, bool json);

/* LimitCpu with 'weight' (0: query); prints "cpu_weight: N". */
int limit_cpu(sd_bus *bus, const char *handle, uint64_t weight, bool json);

/* A CPU quota as limit-cpu-quota takes it: "N" or "N%" (N > 0) into N, "none" (or "infinity") into
 * UINT64_MAX, which LimitCpuQuota takes as "no quota". -EINVAL otherwise, or -ENOMEM. */
int limit_cpu_quota_parse(const char *s, uint64_t *ret);

/* LimitCpuQuota with 'percent' (0: query, UINT64_MAX: remove); prints "cpu_quota: N" (0: none). */
int limit_cpu_quota(sd_bus *bus, const char *handle, uint64_t percent, bool json);

/* LimitDisk with the keys of 'a' (none set: query); prints the limits in force. */
int limit_disk(sd_bus *bus, const char *handle, const DiskLimitArgs *a, bool json);

/* LimitBandwidth with 'rate' (bytes/s) and 'burst' (bytes), (0, 0): query; prints "rate" and "burst". */
int limit_bandwidth(sd_bus *bus, const char *handle, uint64_t rate, uint64_t burst, bool json);
