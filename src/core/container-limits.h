/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The limits of a container that need it running, in its life's steps (ContainerOps' limits_created,
 * bandwidth_setup and limits_adopt). Changing a limit at run time is a front end's request
 * (src/bus/bus-limits.c: LimitMemory, LimitCpu, LimitCpuQuota, LimitDisk, LimitBandwidth); the OOM policy
 * is container-oom.h. No sd-bus here.
 */

#include "container.h"
#include "worker.h"

/*
 * Create, when the container is up and before it is announced: the swap half of the memory limit (cgroup
 * v1), the disk limits as the writable layer's file system has them, the OOM watch and its counter
 * (container_oom_watch_new()). Logs; negative errno if a limit could not be put in force.
 */
int container_limits_created(Container *c);

/* Create: applies c's bandwidth limit on 'host_ifname' on a worker thread (bandwidth_apply()). -EINVAL:
 * the name is too long; -ENOMEM; worker_start()'s errors. */
int container_bandwidth_start(
        Container *c, const char *host_ifname, worker_done_t done, void *userdata, Worker **ret);

/*
 * Re-adoption at start-up: handles an OOM kill that happened while wardend was away (container_oom_adopt())
 * and applies the bandwidth limit again (the qdiscs or the ifb may be gone: someone ran tc, or wardend died
 * while it changed them), holding the container (container_hold()) until that is done. Logs.
 */
void container_limits_adopt(Container *c);
