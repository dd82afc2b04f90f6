/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The words of a limit out of range (limit-check.h), for Create's options (container-spec.h) and the Limit*
 * methods alike: INVALID_ARGS in *e, naming the option ('what') and the range. Return -EINVAL.
 */

#include <stdint.h>

#include "warden-error.h"

int limit_error_memory_range(WardenError *e, const char *what);
int limit_error_disk_range(
        WardenError *e, const char *what, const char *bytes_name, const char *inodes_name);
/* mtu: the configured one (0: 1500) */
int limit_error_bandwidth_range(WardenError *e, uint32_t mtu, const char *what);
