/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A container's size-capped writable layer: an ext4 file system of exactly the byte limit in an image file,
 * on a loop device, mounted where the overlay's upperdir and workdir live:
 *
 *     <path>/disk.img   the image, preallocated: all of it is the container's even when the depot is full
 *     <path>/disk/      its mount point, private; upper/ and work/ are made in it by rootfs.c
 *
 * Writing past the byte limit fails with ENOSPC inside the container, creating more files than the inode
 * limit allows fails with ENOSPC too: both are the file system's own limits, exact and independent of the
 * memory cgroup (see wardend(8), "DISK LIMITS", for why not tmpfs or quotas). The limits are fixed when the
 * file system is made.
 *
 * Synchronous (mke2fs runs ~30 ms, attaching and mounting another ~20 ms): wardend calls these on worker
 * threads. No logging above debug.
 */

#include <stdint.h>

#define DISK_IMAGE "disk.img"
#define DISK_MOUNT "disk"

#ifndef MKE2FS_PATH
#        define MKE2FS_PATH "/sbin/mke2fs"
#endif

/*
 * Creates <path>/disk.img of 'bytes' (rounded up to the 4 KiB block; preallocated, unless the depot's file
 * system cannot: then sparse), formats it as ext4 without a journal
 * (a container's layer does not outlive a crash of the host anyway), no reserved blocks and 'inodes' inodes
 * (0: mke2fs's default for the size; mke2fs rounds up to fill its inode tables), attaches it to a free loop
 * device that detaches itself when the last mount of it is gone, and mounts it at <path>/disk. On failure
 * nothing of it remains. <path> must exist. -ENOENT if mke2fs is not installed; -ENXIO if no loop device can
 * be had; -ENOSPC if the depot has no room for the image; other negative errno.
 */
int disk_setup(const char *path, uint64_t bytes, uint64_t inodes);

/* Lazily unmounts <path>/disk if something is mounted there; 0 if not. The loop device goes by itself once
 * the container's overlay, the file system's last user, is gone. */
int disk_teardown(const char *path);

typedef struct DiskUsage {
        uint64_t bytes_used;
        uint64_t bytes_total; /* what the files may use: the image minus the file system's own metadata */
        uint64_t inodes_used;
        uint64_t inodes_total; /* the inode limit in force */
} DiskUsage;

/* statfs() of <path>/disk. -ENOENT if the container has no capped layer. */
int disk_usage(const char *path, DiskUsage *ret);
