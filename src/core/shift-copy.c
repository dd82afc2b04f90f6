/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "confine.h"
#include "copy.h"
#include "fileio.h"
#include "hashmap.h"
#include "log.h"
#include "macro.h"
#include "shift-copy.h"

/* the kernel's XATTR_SIZE_MAX and XATTR_LIST_MAX */
#define XATTR_VALUE_MAX 65536U
#define XATTR_NAMES_MAX 65536U
#define INODE_KEY_MAX 48

/* A source file with more than one link, copied once already: later names become links to its copy. */
typedef struct Hardlink {
        char key[INODE_KEY_MAX]; /* the source's "dev:ino" */
        char *rel;               /* the copy, relative to the destination's top */
} Hardlink;

typedef struct ShiftCopy {
        uint32_t base;
        dev_t dev; /* the source's file system: we do not leave it */
        int dst_top_fd;
        ShiftCopyStats stats;
        Hashmap *hardlinks;
        char *buffer;      /* copy_fd_data()'s, for read()/write() */
        char *xattr_names; /* XATTR_NAMES_MAX */
        char *xattr_value; /* XATTR_VALUE_MAX */
        char *failed;      /* where the copy failed, relative to the top: the innermost place */
} ShiftCopy;

uid_t shift_id(uint32_t base, uint32_t id) {
        if (base == 0)
                return id;
        return base + (id < USERNS_RANGE_SIZE ? id : 65534);
}

int shift_fscaps(const void *value, size_t size, uint32_t base, void *ret, size_t *ret_size) {
        struct vfs_ns_cap_data in = {}, out = {};
        uint32_t magic, revision, rootid = 0;

        assert(ret && ret_size);

        if (!value || size < sizeof(uint32_t) || size > sizeof(in))
                return -EINVAL;
        memcpy(&in, value, size);
        magic = le32toh(in.magic_etc);
        revision = magic & VFS_CAP_REVISION_MASK;
        if (!((revision == VFS_CAP_REVISION_1 && size == XATTR_CAPS_SZ_1) ||
              (revision == VFS_CAP_REVISION_2 && size == XATTR_CAPS_SZ_2) ||
              (revision == VFS_CAP_REVISION_3 && size == XATTR_CAPS_SZ_3)))
                return -EINVAL;
        if (base == 0) {
                memcpy(ret, value, size);
                *ret_size = size;
                return 0;
        }
        if (revision == VFS_CAP_REVISION_3) {
                rootid = le32toh(in.rootid);
                if (rootid >= USERNS_RANGE_SIZE)
                        return -EOVERFLOW;
        }

        /* revision 1 has only the first 32 capabilities; the rest stays 0 */
        out.magic_etc = htole32(VFS_CAP_REVISION_3 | (magic & VFS_CAP_FLAGS_EFFECTIVE));
        out.data[0] = in.data[0];
        if (revision != VFS_CAP_REVISION_1)
                out.data[1] = in.data[1];
        out.rootid = htole32(shift_id(base, rootid));
        memcpy(ret, &out, XATTR_CAPS_SZ_3);
        *ret_size = XATTR_CAPS_SZ_3;
        return 0;
}

int shift_posix_acl(void *value, size_t size, uint32_t base) {
        struct posix_acl_xattr_header header;
        uint8_t *p = value;
        size_t n;

        if (!value || size < sizeof(header) ||
            (size - sizeof(header)) % sizeof(struct posix_acl_xattr_entry))
                return -EINVAL;
        memcpy(&header, p, sizeof(header));
        if (le32toh(header.a_version) != POSIX_ACL_XATTR_VERSION)
                return -EINVAL;

        n = (size - sizeof(header)) / sizeof(struct posix_acl_xattr_entry);
        for (size_t i = 0; i < n; i++) {
                struct posix_acl_xattr_entry e;
                uint8_t *at = p + sizeof(header) + i * sizeof(e);

                memcpy(&e, at, sizeof(e));
                if (IN_SET(le16toh(e.e_tag), ACL_USER, ACL_GROUP)) {
                        e.e_id = htole32(shift_id(base, le32toh(e.e_id)));
                        memcpy(at, &e, sizeof(e));
                }
        }
        return 0;
}

/* Records where the copy failed (the first call wins: the innermost place) and returns r. */
static int fail(ShiftCopy *sc, const char *rel, int r) {
        if (!sc->failed)
                sc->failed = strdup(rel[0] ? rel : ".");
        return r;
}

static void inode_key(char key[static INODE_KEY_MAX], dev_t dev, ino_t ino) {
        (void) snprintf(key, INODE_KEY_MAX, "%llx:%llx", (unsigned long long) dev, (unsigned long long) ino);
}

/* Opens the file behind an O_PATH fd for real: the same inode, whatever became of its name. */
static int reopen_fd(int path_fd, int flags) {
        char p[sizeof("/proc/self/fd/") + 12];
        int fd;

        (void) snprintf(p, sizeof(p), "/proc/self/fd/%i", path_fd);
        fd = open(p, flags | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? -errno : fd;
}

static bool xattr_left_out(const char *name) {
        /* overlayfs' own, which would mean something to the container's overlay */
        return startswith(name, "trusted.overlay.") || startswith(name, "user.overlay.");
}

/* One extended attribute of src_fd onto dst_fd. 0: copied; 1: left out, unreadable or refused: extended
 * attributes never fail the copy. */
static int copy_xattr(ShiftCopy *sc, int src_fd, int dst_fd, const char *name, const char *rel) {
        uint8_t caps[XATTR_CAPS_SZ_3];
        const void *value;
        size_t size;
        ssize_t n;
        int r;

        if (xattr_left_out(name))
                return 1;
        n = fgetxattr(src_fd, name, sc->xattr_value, XATTR_VALUE_MAX);
        if (n < 0) {
                /* ENODATA: removed meanwhile */
                log_debug_errno(
                        errno, "Cannot read extended attribute %s of '%s', not copying it: %m", name, rel);
                return 1;
        }
        value = sc->xattr_value;
        size = (size_t) n;

        if (streq(name, "security.capability")) {
                r = shift_fscaps(sc->xattr_value, size, sc->base, caps, &size);
                if (r < 0) {
                        log_debug_errno(r, "Not copying the file capabilities of '%s': %m", rel);
                        return 1;
                }
                value = caps;
        } else if (streq(name, "system.posix_acl_access") || streq(name, "system.posix_acl_default")) {
                r = shift_posix_acl(sc->xattr_value, size, sc->base);
                if (r < 0) {
                        log_debug_errno(r, "Not copying the ACL %s of '%s': %m", name, rel);
                        return 1;
                }
        }

        if (fsetxattr(dst_fd, name, value, size, 0) < 0) {
                /* The destination's file system may not take this namespace, or an LSM may refuse:
                 * the copy is still right for what matters here (owners and modes). */
                log_debug_errno(errno, "Not copying extended attribute %s of '%s': %m", name, rel);
                return 1;
        }
        return 0;
}

static void copy_xattrs(ShiftCopy *sc, int src_fd, int dst_fd, const char *rel) {
        ssize_t n;

        n = flistxattr(src_fd, sc->xattr_names, XATTR_NAMES_MAX);
        if (n < 0) {
                if (!IN_SET(errno, ENOTSUP, ENOSYS)) {
                        log_debug_errno(errno, "Cannot list the extended attributes of '%s': %m", rel);
                        sc->stats.xattrs_dropped++;
                }
                return;
        }
        for (const char *name = sc->xattr_names; name < sc->xattr_names + n; name += strlen(name) + 1)
                if (copy_xattr(sc, src_fd, dst_fd, name, rel) > 0)
                        sc->stats.xattrs_dropped++;
                else
                        sc->stats.xattrs++;
}

/* On a file or directory we made, in this order: the owner (a chown clears S_ISUID, S_ISGID and
 * security.capability), the extended attributes, the whole mode, the times. */
static int fix_metadata(ShiftCopy *sc, int src_fd, int dst_fd, const struct stat *st, const char *rel) {
        struct timespec ts[2] = { st->st_atim, st->st_mtim };

        if (fchown(dst_fd, shift_id(sc->base, st->st_uid), (gid_t) shift_id(sc->base, st->st_gid)) < 0)
                return -errno;
        copy_xattrs(sc, src_fd, dst_fd, rel);
        if (fchmod(dst_fd, st->st_mode & 07777) < 0)
                return -errno;
        if (futimens(dst_fd, ts) < 0)
                return -errno;
        return 0;
}

static int shift_copy_step(uint64_t bytes, void *userdata) {
        ShiftCopy *sc = userdata;

        sc->stats.bytes += bytes;
        return 0;
}

static int copy_data(ShiftCopy *sc, int src_fd, int dst_fd) {
        /* a reflink where the file systems share extents (btrfs, xfs): no data copied at all */
        if (ioctl(dst_fd, FICLONE, src_fd) >= 0) {
                struct stat st;

                if (fstat(dst_fd, &st) < 0)
                        return -errno;
                sc->stats.bytes += (uint64_t) st.st_size;
                return 0;
        }

        return copy_fd_data(src_fd, dst_fd, &sc->buffer, shift_copy_step, sc);
}

/* A later name of a file copied before: a link to the copy. False if that is not possible (the copy is
 * made again then). */
static bool
hardlink_make(ShiftCopy *sc, const Hardlink *h, int dst_dir_fd, const char *name, const char *rel) {
        /* The copy's path is in our own tree, all directories we made: nothing on it is a symlink. */
        if (linkat(sc->dst_top_fd, h->rel, dst_dir_fd, name, 0) >= 0)
                return true;
        log_debug_errno(errno, "Cannot link '%s' to its first copy '%s', copying it again: %m", rel, h->rel);
        return false;
}

static int hardlink_remember(ShiftCopy *sc, const char *key, const char *rel) {
        Hardlink *h;
        int r;

        h = calloc(1, sizeof(Hardlink));
        if (!h)
                return -ENOMEM;
        strcpy(h->key, key);
        h->rel = strdup(rel);
        if (!h->rel) {
                free(h);
                return -ENOMEM;
        }
        r = hashmap_put(sc->hardlinks, h->key, h);
        if (r < 0) {
                free(h->rel);
                free(h);
        }
        return r == -EEXIST ? 0 : r;
}

static int copy_regular(
        ShiftCopy *sc,
        int src_dir_fd,
        int dst_dir_fd,
        const char *name,
        const struct stat *st,
        const char *rel) {
        _cleanup_close_ int path_fd = -EBADF, src_fd = -EBADF, dst_fd = -EBADF;
        char key[INODE_KEY_MAX];
        struct stat sst;
        int r;

        if (st->st_nlink > 1) {
                Hardlink *h;

                inode_key(key, st->st_dev, st->st_ino);
                h = hashmap_get(sc->hardlinks, key);
                if (h && hardlink_make(sc, h, dst_dir_fd, name, rel)) {
                        sc->stats.hardlinks++;
                        return 0;
                }
        }

        /* Opened as O_PATH and checked before it is opened for reading: a FIFO or device node that replaced
         * the file is never opened. */
        path_fd = openat(src_dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (path_fd < 0)
                return -errno;
        if (fstat(path_fd, &sst) < 0)
                return -errno;
        if (!S_ISREG(sst.st_mode) || sst.st_dev != st->st_dev || sst.st_ino != st->st_ino)
                return -ESTALE;
        src_fd = reopen_fd(path_fd, O_RDONLY | O_NONBLOCK);
        if (src_fd < 0)
                return src_fd;

        /* Ours alone until fix_metadata() is done. */
        dst_fd = openat(
                dst_dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
        if (dst_fd < 0)
                return -errno;
        r = copy_data(sc, src_fd, dst_fd);
        if (r < 0)
                return r;
        r = fix_metadata(sc, src_fd, dst_fd, st, rel);
        if (r < 0)
                return r;
        sc->stats.files++;

        if (st->st_nlink > 1)
                return hardlink_remember(sc, key, rel);
        return 0;
}

/* Owner and times of a symlink, FIFO or socket we just made in our own tree (never followed). */
static int
fix_metadata_at(ShiftCopy *sc, int dst_dir_fd, const char *name, const struct stat *st, bool mode) {
        struct timespec ts[2] = { st->st_atim, st->st_mtim };

        if (fchownat(
                    dst_dir_fd,
                    name,
                    shift_id(sc->base, st->st_uid),
                    (gid_t) shift_id(sc->base, st->st_gid),
                    AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        /* not for symlinks, whose mode means nothing (and fchmodat() would follow them) */
        if (mode && fchmodat(dst_dir_fd, name, st->st_mode & 07777, 0) < 0)
                return -errno;
        if (utimensat(dst_dir_fd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return 0;
}

static int
copy_symlink(ShiftCopy *sc, int src_dir_fd, int dst_dir_fd, const char *name, const struct stat *st) {
        char target[PATH_MAX + 1];
        ssize_t n;

        n = readlinkat(src_dir_fd, name, target, sizeof(target));
        if (n < 0)
                return errno == EINVAL ? -ESTALE : -errno; /* no longer a symlink */
        if ((size_t) n >= sizeof(target))
                return -ENAMETOOLONG;
        target[n] = '\0';
        if (symlinkat(target, dst_dir_fd, name) < 0)
                return -errno;
        sc->stats.symlinks++;
        return fix_metadata_at(sc, dst_dir_fd, name, st, false);
}

static int copy_special(ShiftCopy *sc, int dst_dir_fd, const char *name, const struct stat *st) {
        if (mknodat(dst_dir_fd, name, (st->st_mode & S_IFMT) | 0600, 0) < 0)
                return -errno;
        sc->stats.special++;
        return fix_metadata_at(sc, dst_dir_fd, name, st, true);
}

static int copy_directory(
        ShiftCopy *sc, int src_fd, int dst_fd, const struct stat *st, const char *rel, unsigned depth);

static int copy_subdirectory(
        ShiftCopy *sc,
        int src_dir_fd,
        int dst_dir_fd,
        const char *name,
        const struct stat *st,
        const char *rel,
        unsigned depth) {
        _cleanup_close_ int src_fd = -EBADF, dst_fd = -EBADF;
        struct stat sst;

        if (depth >= SHIFT_COPY_DEPTH_MAX)
                return -ELOOP;

        src_fd = openat(src_dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (src_fd < 0)
                return IN_SET(errno, ENOTDIR, ELOOP) ? -ESTALE : -errno;
        if (fstat(src_fd, &sst) < 0)
                return -errno;
        if (sst.st_dev != st->st_dev || sst.st_ino != st->st_ino)
                return -ESTALE;

        /* Ours alone (0700) until fix_metadata() gives it its owner and mode, after its contents. */
        if (mkdirat(dst_dir_fd, name, 0700) < 0)
                return -errno;
        dst_fd = openat(dst_dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (dst_fd < 0)
                return -errno;
        return copy_directory(sc, src_fd, dst_fd, st, rel, depth);
}

static int copy_entry(
        ShiftCopy *sc,
        int src_dir_fd,
        int dst_dir_fd,
        const char *name,
        const struct stat *st,
        const char *rel,
        unsigned depth) {
        switch (st->st_mode & S_IFMT) {
        case S_IFREG:
                return copy_regular(sc, src_dir_fd, dst_dir_fd, name, st, rel);
        case S_IFDIR:
                if (st->st_dev != sc->dev) {
                        /* A mount point seen from the host's tree (the caller should have passed a clone of
                         * the base's mount alone): what is mounted there is not part of the base. */
                        log_debug("Not copying '%s': another file system.", rel);
                        sc->stats.skipped++;
                        return 0;
                }
                return copy_subdirectory(sc, src_dir_fd, dst_dir_fd, name, st, rel, depth + 1);
        case S_IFLNK:
                return copy_symlink(sc, src_dir_fd, dst_dir_fd, name, st);
        case S_IFIFO:
        case S_IFSOCK:
                return copy_special(sc, dst_dir_fd, name, st);
        default:
                /* character and block devices (and overlayfs whiteouts, which are character devices) */
                log_debug("Not copying '%s': a device node.", rel);
                sc->stats.skipped++;
                return 0;
        }
}

/* Everything in the directory src_fd into dst_fd, then dst_fd's own metadata. Neither fd is taken. */
static int copy_directory(
        ShiftCopy *sc, int src_fd, int dst_fd, const struct stat *st, const char *rel, unsigned depth) {
        _cleanup_(closedirp) DIR *d = NULL;
        int fd, r;

        /* a new open file description: the caller's fd keeps its offset */
        fd = openat(src_fd, ".", O_RDONLY | O_DIRECTORY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return fail(sc, rel, -errno);
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return fail(sc, rel, -errno);
        }

        for (;;) {
                _cleanup_free_ char *child = NULL;
                struct dirent *de;
                struct stat cst;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return fail(sc, rel, -errno);
                        break;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;

                if (asprintf(&child, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) < 0)
                        return fail(sc, rel, -ENOMEM);
                if (fstatat(dirfd(d), de->d_name, &cst, AT_SYMLINK_NOFOLLOW) < 0)
                        return fail(sc, child, -errno);
                r = copy_entry(sc, dirfd(d), dst_fd, de->d_name, &cst, child, depth);
                if (r < 0)
                        return fail(sc, child, r);
        }

        r = fix_metadata(sc, src_fd, dst_fd, st, rel[0] ? rel : ".");
        if (r < 0)
                return fail(sc, rel, r);
        sc->stats.directories++;
        return 0;
}

int shift_copy_tree(int src_fd, int dst_fd, uint32_t base, ShiftCopyStats *ret_stats, char **ret_failed) {
        _cleanup_close_ int src = -EBADF, dst = -EBADF;
        ShiftCopy sc = {
                .base = base,
        };
        struct stat st;
        Hardlink *h;
        int r;

        assert(src_fd >= 0 && dst_fd >= 0);

        /* Both may be O_PATH fds (open_tree() gives one): extended attributes, the owner and the mode need
         * real ones. */
        src = openat(src_fd, ".", O_RDONLY | O_DIRECTORY | O_NOCTTY | O_CLOEXEC);
        if (src < 0)
                return -errno;
        dst = openat(dst_fd, ".", O_RDONLY | O_DIRECTORY | O_NOCTTY | O_CLOEXEC);
        if (dst < 0)
                return -errno;
        if (fstat(src, &st) < 0)
                return -errno;
        sc.dev = st.st_dev;
        sc.dst_top_fd = dst;

        sc.hardlinks = hashmap_new();
        sc.xattr_names = malloc(XATTR_NAMES_MAX);
        sc.xattr_value = malloc(XATTR_VALUE_MAX);
        if (!sc.hardlinks || !sc.xattr_names || !sc.xattr_value)
                r = -ENOMEM;
        else
                r = copy_directory(&sc, src, dst, &st, "", 0);

        if (sc.hardlinks)
                HASHMAP_FOREACH(h, sc.hardlinks) {
                        hashmap_remove(sc.hardlinks, h->key);
                        free(h->rel);
                        free(h);
                }
        hashmap_free(sc.hardlinks);
        free(sc.buffer);
        free(sc.xattr_names);
        free(sc.xattr_value);
        if (ret_stats)
                *ret_stats = sc.stats;
        if (ret_failed)
                *ret_failed = r < 0 ? TAKE_PTR(sc.failed) : NULL;
        free(sc.failed);
        return r;
}
