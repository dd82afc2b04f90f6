/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The shifted copy (shift-copy.h): the pure parts (ids, file capabilities, ACLs) everywhere; the tree copy
 * without a shift (base 0) as any user, and with one only as root, who may chown. And the configuration
 * that chooses it (userns_rootfs=). */

#include <endian.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "confine.h"
#include "manager-config.h"
#include "rootfs.h"
#include "shift-copy.h"
#include "tests.h"

#define BASE UINT32_C(0x40020000)

/* A formatted path, valid for the next 15 calls: nothing to free. */
_printf_(1, 2) static const char *path_of(const char *format, ...) {
        static char ring[16][PATH_MAX];
        static unsigned next;
        char *s = ring[next++ % ELEMENTSOF(ring)];
        va_list ap;
        int n;

        va_start(ap, format);
        n = vsnprintf(s, PATH_MAX, format, ap);
        va_end(ap);
        ASSERT_TRUE(n > 0 && n < PATH_MAX);
        return s;
}

static void write_text(const char *path, const char *text, mode_t mode) {
        FILE *f = fopen(path, "we");

        ASSERT_NOT_NULL(f);
        ASSERT_TRUE(fputs(text, f) >= 0);
        ASSERT_EQ(fclose(f), 0);
        ASSERT_EQ(chmod(path, mode), 0);
}

/* The file's first 255 bytes, valid until the next call. */
static const char *read_text(const char *path) {
        static char buf[256];
        FILE *f = fopen(path, "re");
        size_t n;

        ASSERT_NOT_NULL(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        ASSERT_EQ(fclose(f), 0);
        return buf;
}

/* A fixed, recognisable time: seconds and nanoseconds. */
static void set_time(const char *path, time_t sec) {
        struct timespec ts[2] = { { sec, 111 }, { sec + 1, 222 } };

        ASSERT_EQ(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void assert_time(const char *path, time_t sec) {
        struct stat st;

        ASSERT_EQ(lstat(path, &st), 0);
        ASSERT_EQ(st.st_atim.tv_sec, sec);
        ASSERT_EQ(st.st_atim.tv_nsec, 111);
        ASSERT_EQ(st.st_mtim.tv_sec, sec + 1);
        ASSERT_EQ(st.st_mtim.tv_nsec, 222);
}

static struct stat lstat_of(const char *path) {
        struct stat st;

        if (lstat(path, &st) < 0)
                tests_fail(__FILE__, __LINE__, "lstat(%s): %m", path);
        return st;
}

static int copy(const char *src, const char *dst, uint32_t base, ShiftCopyStats *stats, char **failed) {
        int s, d, r;

        s = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(s >= 0);
        ASSERT_EQ(mkdir(dst, 0700), 0);
        d = open(dst, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(d >= 0);
        r = shift_copy_tree(s, d, base, stats, failed);
        close(s);
        close(d);
        return r;
}

TEST(shift_id) {
        ASSERT_EQ(shift_id(0, 0), 0);
        ASSERT_EQ(shift_id(0, 1000), 1000);
        ASSERT_EQ(shift_id(0, 70000), 70000); /* no shift: nothing changes */
        ASSERT_EQ(shift_id(BASE, 0), BASE);
        ASSERT_EQ(shift_id(BASE, 10001), BASE + 10001);
        ASSERT_EQ(shift_id(BASE, 65535), BASE + 65535);
        ASSERT_EQ(shift_id(BASE, 65536), BASE + 65534); /* beyond the range: nobody */
        ASSERT_EQ(shift_id(BASE, UINT32_MAX), BASE + 65534);
}

static struct vfs_ns_cap_data caps_value(uint32_t revision, bool effective, uint32_t rootid) {
        struct vfs_ns_cap_data c = {
                .magic_etc = htole32(revision | (effective ? VFS_CAP_FLAGS_EFFECTIVE : 0)),
                .rootid = htole32(rootid),
        };

        c.data[0].permitted = htole32(UINT32_C(1) << CAP_NET_RAW);
        c.data[0].inheritable = htole32(UINT32_C(1) << CAP_CHOWN);
        if (revision != VFS_CAP_REVISION_1)
                c.data[1].permitted = htole32(UINT32_C(1) << (CAP_BPF - 32));
        return c;
}

static void assert_caps_v3(const struct vfs_ns_cap_data *c, bool effective, bool high, uint32_t rootid) {
        ASSERT_EQ(le32toh(c->magic_etc), VFS_CAP_REVISION_3 | (effective ? VFS_CAP_FLAGS_EFFECTIVE : 0));
        ASSERT_EQ(le32toh(c->data[0].permitted), UINT32_C(1) << CAP_NET_RAW);
        ASSERT_EQ(le32toh(c->data[0].inheritable), UINT32_C(1) << CAP_CHOWN);
        ASSERT_EQ(le32toh(c->data[1].permitted), high ? UINT32_C(1) << (CAP_BPF - 32) : 0);
        ASSERT_EQ(le32toh(c->data[1].inheritable), 0);
        ASSERT_EQ(le32toh(c->rootid), rootid);
}

TEST(shift_fscaps) {
        struct vfs_ns_cap_data in, out;
        uint8_t bad[XATTR_CAPS_SZ_3 + 4] = {};
        size_t size;

        /* revision 2 (what root of the host writes): revision 3 whose root is the container's */
        in = caps_value(VFS_CAP_REVISION_2, true, 0);
        ASSERT_OK(shift_fscaps(&in, XATTR_CAPS_SZ_2, BASE, &out, &size));
        ASSERT_EQ(size, XATTR_CAPS_SZ_3);
        assert_caps_v3(&out, true, true, BASE);

        /* revision 1: the first 32 capabilities only */
        in = caps_value(VFS_CAP_REVISION_1, false, 0);
        ASSERT_OK(shift_fscaps(&in, XATTR_CAPS_SZ_1, BASE, &out, &size));
        ASSERT_EQ(size, XATTR_CAPS_SZ_3);
        assert_caps_v3(&out, false, false, BASE);

        /* revision 3: its root shifted, or dropped beyond the range */
        in = caps_value(VFS_CAP_REVISION_3, true, 1000);
        ASSERT_OK(shift_fscaps(&in, XATTR_CAPS_SZ_3, BASE, &out, &size));
        assert_caps_v3(&out, true, true, BASE + 1000);
        in = caps_value(VFS_CAP_REVISION_3, true, 65536);
        ASSERT_ERROR(shift_fscaps(&in, XATTR_CAPS_SZ_3, BASE, &out, &size), EOVERFLOW);

        /* no shift: as it is */
        in = caps_value(VFS_CAP_REVISION_2, true, 0);
        memset(&out, 0xff, sizeof(out));
        ASSERT_OK(shift_fscaps(&in, XATTR_CAPS_SZ_2, 0, &out, &size));
        ASSERT_EQ(size, XATTR_CAPS_SZ_2);
        ASSERT_EQ(memcmp(&in, &out, XATTR_CAPS_SZ_2), 0);

        /* sizes that do not fit the revision, unknown revisions, garbage */
        in = caps_value(VFS_CAP_REVISION_2, true, 0);
        ASSERT_ERROR(shift_fscaps(&in, XATTR_CAPS_SZ_3, BASE, &out, &size), EINVAL);
        ASSERT_ERROR(shift_fscaps(&in, XATTR_CAPS_SZ_1, BASE, &out, &size), EINVAL);
        in = caps_value(VFS_CAP_REVISION_3, true, 0);
        ASSERT_ERROR(shift_fscaps(&in, XATTR_CAPS_SZ_2, BASE, &out, &size), EINVAL);
        in = caps_value(0x04000000, true, 0);
        ASSERT_ERROR(shift_fscaps(&in, XATTR_CAPS_SZ_3, BASE, &out, &size), EINVAL);
        ASSERT_ERROR(shift_fscaps(bad, sizeof(bad), BASE, &out, &size), EINVAL);
        ASSERT_ERROR(shift_fscaps(bad, 2, BASE, &out, &size), EINVAL);
        ASSERT_ERROR(shift_fscaps(NULL, 0, BASE, &out, &size), EINVAL);
}

typedef struct Acl {
        struct posix_acl_xattr_header header;
        struct posix_acl_xattr_entry entries[6];
} Acl;

static Acl acl_value(void) {
        Acl a = {
                .header.a_version = htole32(POSIX_ACL_XATTR_VERSION),
                .entries = {
                        { htole16(ACL_USER_OBJ), htole16(7), htole32(ACL_UNDEFINED_ID) },
                        { htole16(ACL_USER), htole16(5), htole32(1000) },
                        { htole16(ACL_GROUP_OBJ), htole16(5), htole32(ACL_UNDEFINED_ID) },
                        { htole16(ACL_GROUP), htole16(4), htole32(70000) },
                        { htole16(ACL_MASK), htole16(5), htole32(ACL_UNDEFINED_ID) },
                        { htole16(ACL_OTHER), htole16(0), htole32(ACL_UNDEFINED_ID) },
                },
        };
        return a;
}

TEST(shift_posix_acl) {
        Acl a = acl_value(), b;

        ASSERT_OK(shift_posix_acl(&a, sizeof(a), BASE));
        ASSERT_EQ(le32toh(a.entries[1].e_id), BASE + 1000);
        ASSERT_EQ(le32toh(a.entries[3].e_id), BASE + 65534);
        /* everything else as it was */
        b = acl_value();
        b.entries[1].e_id = a.entries[1].e_id;
        b.entries[3].e_id = a.entries[3].e_id;
        ASSERT_EQ(memcmp(&a, &b, sizeof(a)), 0);

        a = acl_value();
        ASSERT_OK(shift_posix_acl(&a, sizeof(a), 0));
        b = acl_value();
        ASSERT_EQ(memcmp(&a, &b, sizeof(a)), 0);

        ASSERT_ERROR(shift_posix_acl(&a, sizeof(a) - 2, BASE), EINVAL);
        ASSERT_ERROR(shift_posix_acl(&a, 2, BASE), EINVAL);
        a.header.a_version = htole32(1);
        ASSERT_ERROR(shift_posix_acl(&a, sizeof(a), BASE), EINVAL);
}

/* The tree the copies below start from, owned by the caller. */
static void make_tree(const char *src) {
        const char *p;

        ASSERT_EQ(mkdir(src, 0755), 0);
        ASSERT_EQ(mkdir(p = path_of("%s/bin", src), 0755), 0);
        write_text(p = path_of("%s/bin/busybox", src), "#!/bin/true\n", 0755);
        set_time(p, 1000000);
        write_text(p = path_of("%s/bin/su", src), "setuid\n", 04755);
        ASSERT_EQ(link(p = path_of("%s/bin/busybox", src), path_of("%s/bin/sh", src)), 0);
        ASSERT_EQ(symlinkat("busybox", AT_FDCWD, p = path_of("%s/bin/ls", src)), 0);
        set_time(p, 2000000);
        /* absolute, pointing at the host's: copied as it is, never followed */
        ASSERT_EQ(symlinkat("/etc/passwd", AT_FDCWD, p = path_of("%s/passwd-link", src)), 0);
        ASSERT_EQ(symlinkat("/nonexistent", AT_FDCWD, p = path_of("%s/dangling", src)), 0);
        ASSERT_EQ(mkfifo(p = path_of("%s/fifo", src), 0620), 0);
        ASSERT_EQ(chmod(p, 0620), 0); /* whatever the umask */
        /* a directory we could not write into without changing its mode */
        ASSERT_EQ(mkdir(p = path_of("%s/ro", src), 0755), 0);
        write_text(p = path_of("%s/ro/file", src), "read-only dir\n", 0444);
        ASSERT_EQ(chmod(p = path_of("%s/ro", src), 0555), 0);
        set_time(p, 3000000);
        ASSERT_EQ(mkdir(p = path_of("%s/tmp", src), 01777), 0);
        ASSERT_EQ(chmod(p, 01777), 0);
        write_text(p = path_of("%s/empty", src), "", 0600);
        set_time(src, 4000000);
}

/* What a copy of make_tree() has, whoever made it */
static void check_tree(const char *src, const char *dst) {
        struct stat a, b, st;
        char target[64];
        const char *p, *q;
        ssize_t n;

        a = lstat_of(src);
        b = lstat_of(dst);
        ASSERT_EQ(b.st_mode, a.st_mode);
        assert_time(dst, 4000000);

        p = path_of("%s/bin/busybox", dst);
        assert_time(p, 1000000); /* before reading it changes its atime */
        ASSERT_STREQ(read_text(p), "#!/bin/true\n");
        st = lstat_of(p);
        ASSERT_EQ(st.st_mode, S_IFREG | 0755);
        ASSERT_EQ(st.st_nlink, 2);
        q = path_of("%s/bin/sh", dst);
        ASSERT_EQ(lstat_of(q).st_ino, st.st_ino); /* the hard link kept */

        /* set-id bits survive the chown */
        st = lstat_of(p = path_of("%s/bin/su", dst));
        ASSERT_EQ(st.st_mode, S_IFREG | 04755);

        p = path_of("%s/bin/ls", dst);
        assert_time(p, 2000000); /* before readlink() changes its atime */
        n = readlink(p, target, sizeof(target) - 1);
        ASSERT_EQ(n, 7);
        target[n] = '\0';
        ASSERT_STREQ(target, "busybox");
        n = readlink(p = path_of("%s/passwd-link", dst), target, sizeof(target) - 1);
        ASSERT_TRUE(n > 0);
        target[n] = '\0';
        ASSERT_STREQ(target, "/etc/passwd");
        ASSERT_TRUE(S_ISLNK(lstat_of(p).st_mode));
        ASSERT_TRUE(S_ISLNK(lstat_of(p = path_of("%s/dangling", dst)).st_mode));

        ASSERT_EQ(lstat_of(p = path_of("%s/fifo", dst)).st_mode, S_IFIFO | 0620);
        st = lstat_of(p = path_of("%s/ro", dst));
        ASSERT_EQ(st.st_mode, S_IFDIR | 0555);
        assert_time(p, 3000000);
        ASSERT_STREQ(read_text(p = path_of("%s/ro/file", dst)), "read-only dir\n");
        ASSERT_EQ(lstat_of(p).st_mode, S_IFREG | 0444);
        ASSERT_EQ(lstat_of(p = path_of("%s/tmp", dst)).st_mode, S_IFDIR | 01777);
        st = lstat_of(p = path_of("%s/empty", dst));
        ASSERT_EQ(st.st_size, 0);
        ASSERT_EQ(st.st_mode, S_IFREG | 0600);
}

/* the read-only directories of both, for the cleanup as a user */
static void make_writable(const char *src, const char *dst) {
        const char *p;

        (void) chmod(p = path_of("%s/ro", src), 0755);
        (void) chmod(p = path_of("%s/ro", dst), 0755);
}

TEST(copy_unshifted) {
        _cleanup_free_ char *src = strdup(path_of("%s/src", tests_tmpdir())),
                            *dst = strdup(path_of("%s/dst", tests_tmpdir()));
        const char *p;
        ShiftCopyStats stats;
        struct stat st;

        make_tree(src);
        /* a user xattr, where the file system takes one (tmpfs since Linux 6.6) */
        bool xattr = setxattr(p = path_of("%s/bin/busybox", src), "user.warden", "42", 2, 0) >= 0;

        ASSERT_OK(copy(src, dst, 0, &stats, NULL));
        check_tree(src, dst);
        st = lstat_of(p = path_of("%s/bin/busybox", dst));
        ASSERT_EQ(st.st_uid, geteuid());
        ASSERT_EQ(st.st_gid, getegid());
        ASSERT_EQ(stats.files, 4);       /* busybox, su, ro/file, empty; bin/sh is a link */
        ASSERT_EQ(stats.hardlinks, 1);   /* bin/sh */
        ASSERT_EQ(stats.directories, 4); /* the top, bin, ro, tmp */
        ASSERT_EQ(stats.symlinks, 3);
        ASSERT_EQ(stats.special, 1);
        ASSERT_EQ(stats.skipped, 0);
        ASSERT_EQ(stats.bytes, strlen("#!/bin/true\n") + strlen("setuid\n") + strlen("read-only dir\n"));
        if (xattr) {
                char v[8] = "";

                ASSERT_EQ(getxattr(p = path_of("%s/bin/busybox", dst), "user.warden", v, sizeof(v)), 2);
                ASSERT_STREQ(v, "42");
                ASSERT_EQ(stats.xattrs, 1);
        }
        make_writable(src, dst);
        if (!xattr) /* after everything else was checked */
                tests_skip("no user xattrs in the temporary directory: their copy is not checked");
}

TEST(copy_errors) {
        _cleanup_free_ char *src = strdup(path_of("%s/src", tests_tmpdir())),
                            *dst = strdup(path_of("%s/dst", tests_tmpdir())), *failed = NULL;
        char deep[PATH_MAX];
        ShiftCopyStats stats;
        const char *p;
        int fd;

        /* too deep */
        ASSERT_EQ(mkdir(src, 0755), 0);
        strcpy(deep, src);
        for (unsigned i = 0; i <= SHIFT_COPY_DEPTH_MAX; i++) {
                strcpy(deep, path_of("%s/d", deep));
                ASSERT_EQ(mkdir(deep, 0755), 0);
        }
        ASSERT_ERROR(copy(src, dst, 0, &stats, &failed), ELOOP);
        ASSERT_NOT_NULL(failed);
        ASSERT_EQ(strlen(failed), 2 * SHIFT_COPY_DEPTH_MAX - 1); /* d/d/.../d, the first too deep */
        ASSERT_EQ(stats.directories, 0);

        /* the destination is not a directory */
        fd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        write_text(p = path_of("%s/file", tests_tmpdir()), "x", 0644);
        int file_fd = open(p, O_PATH | O_CLOEXEC);
        ASSERT_TRUE(file_fd >= 0);
        ASSERT_ERROR(shift_copy_tree(fd, file_fd, 0, NULL, NULL), ENOTDIR);
        ASSERT_ERROR(shift_copy_tree(file_fd, fd, 0, NULL, NULL), ENOTDIR);
        close(fd);
        close(file_fd);
}

TEST(copy_shifted) {
        _cleanup_free_ char *src = strdup(path_of("%s/src", tests_tmpdir())),
                            *dst = strdup(path_of("%s/dst", tests_tmpdir()));
        const char *p;
        struct vfs_ns_cap_data caps, got;
        ShiftCopyStats stats;
        struct stat st;
        Acl acl;
        bool have_acl;

        /* what can be checked without root is in copy_unshifted */
        if (geteuid() != 0)
                tests_skip("not root: no shifted copy (chown needs CAP_CHOWN)");

        make_tree(src);
        ASSERT_EQ(lchown(p = path_of("%s/bin/su", src), 0, 0), 0);
        ASSERT_EQ(chmod(p, 04755), 0); /* the chown took the set-uid bit */
        ASSERT_EQ(lchown(p = path_of("%s/ro/file", src), 1000, 1001), 0);
        ASSERT_EQ(lchown(p = path_of("%s/empty", src), 70000, 65536), 0);
        ASSERT_EQ(lchown(p = path_of("%s/bin/ls", src), 5, 6), 0);
        ASSERT_EQ(lchown(src, 0, 0), 0);
        ASSERT_EQ(mknod(p = path_of("%s/null", src), S_IFCHR | 0666, makedev(1, 3)), 0);
        ASSERT_EQ(mknod(p = path_of("%s/whiteout", src), S_IFCHR, makedev(0, 0)), 0);
        /* file capabilities as root of the host writes them (revision 2) */
        caps = caps_value(VFS_CAP_REVISION_2, true, 0);
        ASSERT_EQ(
                setxattr(
                        p = path_of("%s/bin/busybox", src),
                        "security.capability",
                        &caps,
                        XATTR_CAPS_SZ_2,
                        0),
                0);
        ASSERT_EQ(setxattr(p = path_of("%s/bin", src), "trusted.overlay.opaque", "y", 1, 0), 0);
        /* an ACL (where the file system has them) on a file of its own: it changes the file's mode */
        write_text(p = path_of("%s/tmp/acl", src), "acl\n", 0640);
        acl = acl_value();
        have_acl = setxattr(p, "system.posix_acl_access", &acl, sizeof(acl), 0) >= 0;
        set_time(src, 4000000);

        ASSERT_OK(copy(src, dst, BASE, &stats, NULL));
        check_tree(src, dst);

        st = lstat_of(dst);
        ASSERT_EQ(st.st_uid, BASE);
        ASSERT_EQ(st.st_gid, BASE);
        st = lstat_of(p = path_of("%s/bin/su", dst));
        ASSERT_EQ(st.st_uid, BASE);
        ASSERT_EQ(st.st_mode, S_IFREG | 04755);
        st = lstat_of(p = path_of("%s/ro/file", dst));
        ASSERT_EQ(st.st_uid, BASE + 1000);
        ASSERT_EQ(st.st_gid, BASE + 1001);
        st = lstat_of(p = path_of("%s/empty", dst));
        ASSERT_EQ(st.st_uid, BASE + 65534);
        ASSERT_EQ(st.st_gid, BASE + 65534);
        st = lstat_of(p = path_of("%s/bin/ls", dst));
        ASSERT_EQ(st.st_uid, BASE + 5);
        ASSERT_EQ(st.st_gid, BASE + 6);
        st = lstat_of(p = path_of("%s/bin/busybox", dst));
        ASSERT_EQ(st.st_uid, BASE + geteuid());

        /* no device nodes */
        ASSERT_EQ(stats.skipped, 2);
        ASSERT_TRUE(access(p = path_of("%s/null", dst), F_OK) < 0 && errno == ENOENT);
        ASSERT_TRUE(access(p = path_of("%s/whiteout", dst), F_OK) < 0 && errno == ENOENT);

        /* capabilities of the container's root, overlayfs' own attributes left out */
        memset(&got, 0, sizeof(got));
        ASSERT_EQ(
                getxattr(p = path_of("%s/bin/busybox", dst), "security.capability", &got, sizeof(got)),
                XATTR_CAPS_SZ_3);
        assert_caps_v3(&got, true, true, BASE);
        ASSERT_TRUE(
                getxattr(p = path_of("%s/bin", dst), "trusted.overlay.opaque", NULL, 0) < 0 &&
                errno == ENODATA);
        ASSERT_TRUE(stats.xattrs_dropped >= 1);

        if (have_acl) {
                Acl shifted;
                const char *q;

                ASSERT_EQ(
                        lstat_of(p = path_of("%s/tmp/acl", dst)).st_mode,
                        lstat_of(q = path_of("%s/tmp/acl", src)).st_mode);
                ASSERT_EQ(
                        getxattr(p, "system.posix_acl_access", &shifted, sizeof(shifted)), sizeof(shifted));
                ASSERT_EQ(le32toh(shifted.entries[1].e_id), BASE + 1000);
                ASSERT_EQ(le32toh(shifted.entries[3].e_id), BASE + 65534);
        } else /* after everything else was checked */
                tests_skip("no POSIX ACLs in the temporary directory: their shift is not checked");
}

TEST(config_userns_rootfs) {
        static const struct {
                const char *text;
                UsernsRootfs expected;
        } good[] = {
                { "", USERNS_ROOTFS_AUTO },
                { "[containers]\nuserns_rootfs = auto\n", USERNS_ROOTFS_AUTO },
                { "[containers]\nuserns_rootfs = idmap\n", USERNS_ROOTFS_IDMAP },
                { "[containers]\nuserns_rootfs=copy\n", USERNS_ROOTFS_COPY },
        };
        static const char *const bad[] = {
                "[containers]\nuserns_rootfs = yes\n",
                "[containers]\nuserns_rootfs = \n",
                "[containers]\nuserns_rootfs = COPY\n",
                "[network]\nuserns_rootfs = copy\n",
        };

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                ManagerConfig c;
                char *msg = NULL, *dump = NULL, *line = NULL;
                size_t size = 0;
                FILE *f;

                manager_config_init(&c);
                ASSERT_OK(manager_config_load_text(&c, "u.conf", good[i].text, &msg));
                ASSERT_EQ(c.userns_rootfs, good[i].expected);
                f = open_memstream(&dump, &size);
                ASSERT_NOT_NULL(f);
                manager_config_dump(&c, f);
                ASSERT_EQ(fclose(f), 0);
                ASSERT_TRUE(
                        asprintf(
                                &line, "\nuserns_rootfs = %s\n", userns_rootfs_to_string(good[i].expected)) >
                        0);
                ASSERT_NOT_NULL(strstr(dump, line));
                free(dump);
                free(line);
                manager_config_done(&c);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ManagerConfig c;
                char *msg = NULL;

                manager_config_init(&c);
                ASSERT_TRUE(manager_config_load_text(&c, "u.conf", bad[i], &msg) < 0);
                ASSERT_NOT_NULL(msg);
                ASSERT_TRUE(strstr(msg, "userns_rootfs") != NULL);
                free(msg);
                manager_config_done(&c);
        }
        ASSERT_STREQ(userns_rootfs_to_string(USERNS_ROOTFS_COPY), "copy");
        ASSERT_NULL(userns_rootfs_to_string(_USERNS_ROOTFS_MAX));
        ASSERT_ERROR(userns_rootfs_from_string(NULL), EINVAL);
        ASSERT_EQ(userns_rootfs_from_string("idmap"), USERNS_ROOTFS_IDMAP);
}
