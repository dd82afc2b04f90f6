/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "disk.h"
#include "log.h"
#include "macro.h"

#define DISK_BLOCK_SIZE 4096
#define LOOP_ATTACH_TRIES 64

/* Runs mke2fs on the image and waits for it (we are on a worker thread). */
static int disk_mkfs(const char *image, uint64_t inodes) {
        char inodes_arg[32];
        char *argv[24];
        char *envp[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *) "LC_ALL=C", NULL };
        posix_spawn_file_actions_t fa;
        size_t n = 0;
        pid_t pid;
        int status, r;

        argv[n++] = (char *) "mke2fs";
        argv[n++] = (char *) "-q";
        argv[n++] = (char *) "-F";
        argv[n++] = (char *) "-t";
        argv[n++] = (char *) "ext4";
        argv[n++] = (char *) "-b";
        argv[n++] = (char *) "4096";
        argv[n++] = (char *) "-m";
        argv[n++] = (char *) "0";
        argv[n++] = (char *) "-O";
        argv[n++] = (char *) "^has_journal";
        argv[n++] = (char *) "-E";
        argv[n++] = (char *) "nodiscard,lazy_itable_init=1";
        if (inodes > 0) {
                (void) snprintf(inodes_arg, sizeof(inodes_arg), "%" PRIu64, inodes);
                argv[n++] = (char *) "-N";
                argv[n++] = inodes_arg;
        }
        argv[n++] = (char *) "--";
        argv[n++] = (char *) image;
        argv[n] = NULL;

        r = -posix_spawn_file_actions_init(&fa);
        if (r < 0)
                return r;
        /* stdin and stdout /dev/null; stderr (the journal) keeps mke2fs's complaints */
        r = -posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
        if (r >= 0)
                r = -posix_spawn_file_actions_adddup2(&fa, 0, 1);
        if (r >= 0)
                r = -posix_spawn(&pid, MKE2FS_PATH, &fa, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        if (r < 0)
                return log_debug_errno(r, "Failed to run %s: %m", MKE2FS_PATH);

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return log_debug_errno(
                        SYNTHETIC_ERRNO(EIO),
                        "%s on '%s' failed (status 0x%x).",
                        MKE2FS_PATH,
                        image,
                        (unsigned) status);
        return 0;
}

/*
 * Binds 'backing_fd' to a free loop device with LOOP_CONFIGURE (one ioctl, Linux >= 5.8). Another process
 * may take the device LOOP_CTL_GET_FREE named between the two calls: then EBUSY, and we ask again. Returns
 * an fd of the device (O_RDWR) and its number; the device stays bound while the fd or a mount holds it, and
 * detaches itself after that (LO_FLAGS_AUTOCLEAR).
 */
static int loop_attach(int backing_fd, const char *image, int *ret_fd, int *ret_nr) {
        _cleanup_close_ int control = -EBADF;

        control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (control < 0)
                return errno == ENOENT ? -ENXIO : -errno;

        for (unsigned i = 0; i < LOOP_ATTACH_TRIES; i++) {
                _cleanup_close_ int fd = -EBADF;
                struct loop_config config = {
                        .fd = (uint32_t) backing_fd,
                        /* the kernel falls back to buffered I/O where the backing file cannot do direct */
                        .info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO,
                };
                char dev[32];
                int nr;

                nr = ioctl(control, LOOP_CTL_GET_FREE);
                if (nr < 0)
                        return -errno;
                (void) snprintf(dev, sizeof(dev), "/dev/loop%i", nr);
                fd = open(dev, O_RDWR | O_CLOEXEC);
                if (fd < 0) {
                        if (errno == ENOENT) /* made by LOOP_CTL_GET_FREE, not in /dev yet */
                                continue;
                        return -errno;
                }
                (void) snprintf((char *) config.info.lo_file_name, LO_NAME_SIZE, "%s", image);
                if (ioctl(fd, LOOP_CONFIGURE, &config) < 0) {
                        if (errno == EBUSY)
                                continue;
                        return -errno;
                }
                *ret_fd = TAKE_FD(fd);
                *ret_nr = nr;
                return 0;
        }
        return -ENXIO;
}

/*
 * Takes every block of the image from the depot, so that what the file system promises the container is
 * really there: in a sparse image, a write that needs a new block of the depot when another container has
 * filled it fails in the loop device, after write() said yes inside, and the data is lost. A depot that
 * cannot hold the image fails with ENOSPC instead; one that cannot preallocate at all leaves it sparse.
 */
static int disk_preallocate(int image_fd, const char *image, uint64_t bytes) {
        if (fallocate(image_fd, 0, 0, (off_t) bytes) >= 0)
                return 0;
        if (errno != EOPNOTSUPP)
                return -errno;
        log_debug_errno(errno, "The depot cannot preallocate '%s', it stays sparse: %m", image);
        return 0;
}

static int disk_make(const char *path, const char *image, const char *mnt, uint64_t bytes, uint64_t inodes) {
        _cleanup_close_ int image_fd = -EBADF, loop_fd = -EBADF;
        char dev[32];
        int nr = -1, r;

        image_fd = open(image, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (image_fd < 0)
                return -errno;
        if (ftruncate(image_fd, (off_t) bytes) < 0)
                return -errno;
        r = disk_preallocate(image_fd, image, bytes);
        if (r < 0)
                return r;
        r = disk_mkfs(image, inodes);
        if (r < 0)
                return r;
        r = disk_preallocate(image_fd, image, bytes); /* mke2fs punches a few holes where it zeroes */
        if (r < 0)
                return r;
        if (mkdir(mnt, 0755) < 0)
                return -errno;

        r = loop_attach(image_fd, image, &loop_fd, &nr);
        if (r < 0)
                return log_debug_errno(r, "Failed to attach '%s' to a loop device: %m", image);
        (void) snprintf(dev, sizeof(dev), "/dev/loop%i", nr);
        /* Nothing may punch holes into the image, which would give its blocks back to the depot (for
         * another container to take): no "discard", and no zeroing of the inode tables in the background
         * (the loop device turns both into hole punches; the preallocated blocks read as zeros anyway). */
        if (mount(dev, mnt, "ext4", 0, "noinit_itable") < 0)
                return log_debug_errno(errno, "Failed to mount %s ('%s') on '%s': %m", dev, image, mnt);
        /* Private, as the overlay above it: its copies in other mount namespaces would keep it alive. */
        if (mount(NULL, mnt, NULL, MS_PRIVATE, NULL) < 0) {
                r = -errno;
                (void) umount2(mnt, MNT_DETACH);
                return log_debug_errno(r, "Failed to make '%s' a private mount: %m", mnt);
        }
        /* closing loop_fd now leaves the mount as the device's only user */
        log_debug("Writable layer of '%s': %" PRIu64 " bytes on %s.", path, bytes, dev);
        return 0;
}

int disk_setup(const char *path, uint64_t bytes, uint64_t inodes) {
        _cleanup_free_ char *image = NULL, *mnt = NULL;
        int r;

        assert(path);

        if (bytes == 0 || bytes > UINT64_MAX - DISK_BLOCK_SIZE)
                return -EINVAL;
        bytes = (bytes + DISK_BLOCK_SIZE - 1) / DISK_BLOCK_SIZE * DISK_BLOCK_SIZE;
        if (asprintf(&image, "%s/" DISK_IMAGE, path) < 0 || asprintf(&mnt, "%s/" DISK_MOUNT, path) < 0)
                return -ENOMEM;

        r = disk_make(path, image, mnt, bytes, inodes);
        if (r < 0) {
                (void) rmdir(mnt);
                (void) unlink(image);
        }
        return r;
}

int disk_teardown(const char *path) {
        _cleanup_free_ char *mnt = NULL;

        assert(path);

        if (asprintf(&mnt, "%s/" DISK_MOUNT, path) < 0)
                return -ENOMEM;
        for (unsigned i = 0; i < 16; i++)
                if (umount2(mnt, MNT_DETACH | UMOUNT_NOFOLLOW) < 0) {
                        if (IN_SET(errno, EINVAL, ENOENT))
                                return 0; /* not (or no longer) a mount point */
                        return log_debug_errno(errno, "Failed to unmount '%s': %m", mnt);
                }
        return -EBUSY;
}

int disk_usage(const char *path, DiskUsage *ret) {
        _cleanup_free_ char *mnt = NULL;
        struct statfs sf;

        assert(ret);
        assert(path);

        if (asprintf(&mnt, "%s/" DISK_MOUNT, path) < 0)
                return -ENOMEM;
        if (statfs(mnt, &sf) < 0)
                return -errno;
        if (sf.f_type != EXT4_SUPER_MAGIC)
                return -ENOENT; /* the directory without its file system: not a capped layer */
        *ret = (DiskUsage){
                .bytes_total = (uint64_t) sf.f_blocks * (uint64_t) sf.f_bsize,
                .bytes_used = (uint64_t) (sf.f_blocks - sf.f_bfree) * (uint64_t) sf.f_bsize,
                .inodes_total = (uint64_t) sf.f_files,
                .inodes_used = (uint64_t) (sf.f_files - sf.f_ffree),
        };
        return 0;
}
