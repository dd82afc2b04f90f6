/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A container's resource limits at run time and the kernel's OOM kills inside it.
 *
 *   LimitMemory   systemd's MemoryMax= (SetUnitProperties, runtime), plus on cgroup v1 the swap half of a
 *                 hard cap (memory.memsw.limit_in_bytes = the limit); the answer is what the kernel keeps
 *   LimitCpu      systemd's CPUWeight= (on v1 systemd writes cpu.shares = weight × 1024 / 100)
 *   LimitCpuQuota systemd's CPUQuota= (CFS bandwidth control), in percent of one CPU; CPU_QUOTA_NONE removes
 *   LimitDisk     the writable layer's own ext4 (src/core/disk.h): fixed at Create, queried here
 *   LimitBandwidth tbf both ways on the host side of the veth (src/core/bandwidth.h), a worker thread
 *
 * A change holds the container (container_hold(), container-lifecycle.h): one change at a time, no Stop or
 * Destroy meanwhile. A value of 0 (an empty dictionary) queries. Errors: InvalidState (not active, or busy),
 * InvalidArgs (out of range, unknown key), org.warden.Error.LimitFailed (systemd or the kernel refused; what
 * was in force stays).
 *
 * The limits in a container's life (Create, re-adoption) are core's: container-limits.h.
 *
 * OOM (container-oom.h): the memory cgroup's notification (src/core/memcg.h) is watched from Create (and
 * again after a restart); an OOM kill records the event "out of memory", emits OutOfMemory(handle) and stops
 * the container (SIGKILL to every process but wshd), as Warden did. The cgroup's OOM kill counter is kept in
 * the state file, so that a kill while wardend was away is noticed when it re-adopts the container.
 */

#include <systemd/sd-bus.h>

#include "container.h"
#include "manager.h"
#include "worker.h"

int bus_limits_method_memory(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_limits_method_cpu_quota(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_limits_method_cpu(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_limits_method_disk(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_limits_method_bandwidth(sd_bus_message *m, void *userdata, sd_bus_error *error);

/* Info: appends disk_limit, disk_inode_limit, disk_bytes_used, disk_inodes_used (the last two only with a
 * disk limit), bandwidth (tt), rx_bytes, tx_bytes (as seen from the container) to an open a{sv}. */
int bus_limits_append_info(sd_bus_message *reply, const Container *c);
