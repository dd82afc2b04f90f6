/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The real ContainerOps (container-ops.h): core's own entries (container_ops_init_real()), plus what lives
 * on the bus side: the scope (StartTransientUnit/StopUnit through bus-systemd.h) and, until they move to
 * core, the jobs (bus-job.h), the firewall bookkeeping (bus-net.h), the copies (bus-copy.h) and the limits
 * (bus-limits.h).
 */

#include "container-ops.h"

/* The table, filled in on first use; static storage. */
const ContainerOps *bus_container_ops(void);
