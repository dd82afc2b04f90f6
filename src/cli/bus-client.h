/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What clients of wardend (wardenctl, bench/warden-bench) share. */

#include <systemd/sd-bus.h>

/* Connects to the system bus, or to 'address' if not NULL. Logs "Failed to connect to the ... bus". */
int bus_connect_client(const char *address, sd_bus **ret);
