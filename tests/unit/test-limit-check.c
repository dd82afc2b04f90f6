/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The ranges a client may ask for (limit-check.h). */

#include "limit-check.h"
#include "tests.h"

TEST(memory_range) {
        ASSERT_ERROR(limit_check_memory(0), ERANGE);
        ASSERT_ERROR(limit_check_memory(LIMIT_MEMORY_MIN - 1), ERANGE);
        ASSERT_OK(limit_check_memory(LIMIT_MEMORY_MIN));
        ASSERT_OK(limit_check_memory(32ULL << 20));
        ASSERT_OK(limit_check_memory(LIMIT_MEMORY_MAX));
        ASSERT_ERROR(limit_check_memory(LIMIT_MEMORY_MAX + 1), ERANGE);
        ASSERT_ERROR(limit_check_memory(UINT64_MAX), ERANGE);
        ASSERT_EQ(limit_memory_round(50000000, 4096), 49999872u);
        ASSERT_EQ(limit_memory_round(8192, 4096), 8192u);
        ASSERT_EQ(limit_memory_round(123, 0), 123u);
}

TEST(cpu_range) {
        ASSERT_ERROR(limit_check_cpu_weight(0), ERANGE);
        ASSERT_OK(limit_check_cpu_weight(1));
        ASSERT_OK(limit_check_cpu_weight(100));
        ASSERT_OK(limit_check_cpu_weight(10000));
        ASSERT_ERROR(limit_check_cpu_weight(10001), ERANGE);
        ASSERT_ERROR(limit_check_cpu_quota(0), ERANGE);
        ASSERT_OK(limit_check_cpu_quota(1));
        ASSERT_OK(limit_check_cpu_quota(250));
        ASSERT_OK(limit_check_cpu_quota(100000));
        ASSERT_ERROR(limit_check_cpu_quota(100001), ERANGE);
        ASSERT_ERROR(limit_check_cpu_quota(UINT64_MAX), ERANGE);
        ASSERT_ERROR(limit_check_cpu_quota(LIMIT_CPU_QUOTA_AUTO), ERANGE);
        /* auto: a quarter of the machine, at least half a CPU */
        ASSERT_EQ(limit_cpu_quota_auto(0), 50u);
        ASSERT_EQ(limit_cpu_quota_auto(1), 50u);
        ASSERT_EQ(limit_cpu_quota_auto(2), 50u);
        ASSERT_EQ(limit_cpu_quota_auto(4), 100u);
        ASSERT_EQ(limit_cpu_quota_auto(64), 1600u);
        ASSERT_EQ(limit_cpu_quota_auto(UINT32_MAX), (uint64_t) LIMIT_CPU_QUOTA_MAX);
}

TEST(pids_range) {
        ASSERT_ERROR(limit_check_pids(0), ERANGE);
        ASSERT_OK(limit_check_pids(1));
        ASSERT_OK(limit_check_pids(4194304));
        ASSERT_ERROR(limit_check_pids(4194305), ERANGE);
}

TEST(disk_range) {
        ASSERT_ERROR(limit_check_disk(0, 0), ERANGE);
        ASSERT_ERROR(limit_check_disk((1 << 20) - 1, 0), ERANGE);
        ASSERT_OK(limit_check_disk(1 << 20, 0));
        ASSERT_OK(limit_check_disk(1 << 20, 16));
        ASSERT_OK(limit_check_disk(1 << 20, 1024)); /* one inode per KiB: the densest mke2fs makes */
        ASSERT_ERROR(limit_check_disk(1 << 20, 1025), ERANGE);
        ASSERT_ERROR(limit_check_disk(1 << 20, 15), ERANGE);
        ASSERT_OK(limit_check_disk(16ULL << 40, 0));
        ASSERT_ERROR(limit_check_disk((16ULL << 40) + 1, 0), ERANGE);
}

TEST(bandwidth_range) {
        ASSERT_EQ(limit_bandwidth_min_burst(0), 1514u);
        ASSERT_EQ(limit_bandwidth_min_burst(9000), 9014u);
        ASSERT_OK(limit_check_bandwidth(1000000, 65536, 1500));
        ASSERT_OK(limit_check_bandwidth(1000000, 1514, 0));
        ASSERT_ERROR(limit_check_bandwidth(1000000, 1513, 0), ERANGE); /* a full frame would never pass */
        ASSERT_ERROR(limit_check_bandwidth(1000000, 9013, 9000), ERANGE);
        ASSERT_ERROR(limit_check_bandwidth(0, 65536, 0), ERANGE);
        ASSERT_OK(limit_check_bandwidth(INT32_MAX, 1ULL << 30, 0));
        ASSERT_ERROR(limit_check_bandwidth((uint64_t) INT32_MAX + 1, 65536, 0), ERANGE);
        ASSERT_ERROR(limit_check_bandwidth(1000000, (1ULL << 30) + 1, 0), ERANGE);
        /* the bucket must last at most 100 s at the rate */
        ASSERT_OK(limit_check_bandwidth(100, 10000, 0));
        ASSERT_ERROR(limit_check_bandwidth(100, 10001, 0), ERANGE);
        ASSERT_ERROR(limit_check_bandwidth(10, 1514, 0), ERANGE);
        ASSERT_ERROR(limit_check_bandwidth(UINT64_MAX, UINT64_MAX, 0), ERANGE);
}
