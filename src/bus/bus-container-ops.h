/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The real ContainerOps (container-ops.h): core's own entries (container_ops_init_real()), plus the one
 * that needs the bus: the scope (StartTransientUnit/StopUnit through bus-systemd.h).
 */

#include "container-ops.h"

/* The table, filled in on first use; static storage. */
const ContainerOps *bus_container_ops(void);
