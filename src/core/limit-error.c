/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>

#include "limit-check.h"
#include "limit-error.h"

int limit_error_memory_range(WardenError *e, const char *what) {
        assert(what);
        return warden_error_setf(
                e,
                WARDEN_ERROR_KIND_INVALID_ARGS,
                0,
                "%s must be from %llu (1 MiB) to %llu (1 EiB) bytes.",
                what,
                (unsigned long long) LIMIT_MEMORY_MIN,
                (unsigned long long) LIMIT_MEMORY_MAX);
}

int limit_error_disk_range(
        WardenError *e, const char *what, const char *bytes_name, const char *inodes_name) {
        return warden_error_setf(
                e,
                WARDEN_ERROR_KIND_INVALID_ARGS,
                0,
                "%s '%s' must be from %llu (1 MiB) to %llu (16 TiB) bytes, "
                "and '%s' from %u to '%s' / %u.",
                what,
                bytes_name,
                (unsigned long long) LIMIT_DISK_BYTES_MIN,
                (unsigned long long) LIMIT_DISK_BYTES_MAX,
                inodes_name,
                LIMIT_DISK_INODES_MIN,
                bytes_name,
                LIMIT_DISK_BYTES_PER_INODE_MIN);
}

int limit_error_bandwidth_range(WardenError *e, uint32_t mtu, const char *what) {
        assert(what);
        return warden_error_setf(
                e,
                WARDEN_ERROR_KIND_INVALID_ARGS,
                0,
                "%s: the rate must be from 1 to %u bytes/s, the burst from %llu bytes "
                "(the largest frame at MTU %u) to %llu (1 GiB) and at most %u seconds of the rate.",
                what,
                (unsigned) LIMIT_BANDWIDTH_RATE_MAX,
                (unsigned long long) limit_bandwidth_min_burst(mtu),
                mtu > 0 ? mtu : 1500,
                (unsigned long long) LIMIT_BANDWIDTH_BURST_MAX,
                LIMIT_BANDWIDTH_BUCKET_SECONDS_MAX);
}
