/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>

#include "limit-check.h"

int limit_check_memory(uint64_t bytes) {
        return bytes >= LIMIT_MEMORY_MIN && bytes <= LIMIT_MEMORY_MAX ? 0 : -ERANGE;
}

int limit_check_cpu_weight(uint64_t weight) {
        return weight >= LIMIT_CPU_WEIGHT_MIN && weight <= LIMIT_CPU_WEIGHT_MAX ? 0 : -ERANGE;
}

int limit_check_cpu_quota(uint64_t percent) {
        return percent >= LIMIT_CPU_QUOTA_MIN && percent <= LIMIT_CPU_QUOTA_MAX ? 0 : -ERANGE;
}

uint64_t limit_cpu_quota_auto(unsigned n_cpus) {
        uint64_t q = (uint64_t) n_cpus * 25;

        if (q < 50)
                return 50;
        return q > LIMIT_CPU_QUOTA_MAX ? LIMIT_CPU_QUOTA_MAX : q;
}

int limit_check_pids(uint64_t tasks) {
        return tasks >= LIMIT_PIDS_MIN && tasks <= LIMIT_PIDS_MAX ? 0 : -ERANGE;
}

int limit_check_disk(uint64_t bytes, uint64_t inodes) {
        if (bytes < LIMIT_DISK_BYTES_MIN || bytes > LIMIT_DISK_BYTES_MAX)
                return -ERANGE;
        if (inodes == 0)
                return 0;
        if (inodes < LIMIT_DISK_INODES_MIN || inodes > bytes / LIMIT_DISK_BYTES_PER_INODE_MIN)
                return -ERANGE;
        return 0;
}

uint64_t limit_bandwidth_min_burst(uint32_t mtu) {
        return (uint64_t) (mtu > 0 ? mtu : 1500) + LIMIT_BANDWIDTH_LINK_HEADER;
}

int limit_check_bandwidth(uint64_t rate, uint64_t burst, uint32_t mtu) {
        if (rate < 1 || rate > LIMIT_BANDWIDTH_RATE_MAX)
                return -ERANGE;
        if (burst < limit_bandwidth_min_burst(mtu) || burst > LIMIT_BANDWIDTH_BURST_MAX)
                return -ERANGE;
        /* rate < 2^31, so the product cannot overflow */
        if (burst > rate * LIMIT_BANDWIDTH_BUCKET_SECONDS_MAX)
                return -ERANGE;
        return 0;
}

uint64_t limit_memory_round(uint64_t bytes, uint64_t page_size) {
        if (page_size == 0)
                return bytes;
        return bytes / page_size * page_size;
}
