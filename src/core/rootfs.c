/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <libmount.h>

#include "disk.h"
#include "confine.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "path-util.h"
#include "rootfs.h"
#include "shift-copy.h"
#include "string-table.h"

DEFINE_CLEANUP_FUNC_VOID(struct libmnt_context *, mnt_free_context);
DEFINE_CLEANUP_FUNC_VOID(struct libmnt_table *, mnt_free_table);
DEFINE_CLEANUP_FUNC_VOID(struct libmnt_iter *, mnt_free_iter);

/* The container's own small files: anything bigger in the base rootfs is refused rather than copied. */
#define ETC_FILE_MAX (4U * 1024U * 1024U)
/* rm_rf() keeps one fd per level; deeper directories are moved up to the top first (see rm_children()). */
#define RM_MAX_DEPTH 64U

static const char default_passwd[] = "root:x:0:0:root:/root:/bin/sh\n";
static const char default_group[] = "root:x:0:\n";

void bind_mounts_free(BindMount *b, size_t n) {
        if (!b)
                return;
        for (size_t i = 0; i < n; i++) {
                free(b[i].source);
                free(b[i].destination);
                if (b[i].has_source_fd)
                        safe_close(b[i].source_fd);
        }
        free(b);
}

_printf_(2, 3) static int bad_path(char **reterr_message, const char *format, ...) {
        va_list ap;
        int k;

        if (!reterr_message)
                return -EINVAL;
        va_start(ap, format);
        k = vasprintf(reterr_message, format, ap);
        va_end(ap);
        if (k < 0) {
                *reterr_message = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

int bind_mount_check(const BindMount *b, char **reterr_message) {
        struct stat st;
        int r;

        assert(b);

        r = path_is_normalized(b->source);
        if (r < 0)
                return r;
        if (r == 0)
                return bad_path(
                        reterr_message,
                        "Bind mount source '%s' is not an absolute, normalised path (no '..', '.', "
                        "'//' "
                        "or trailing '/').",
                        strempty(b->source));
        r = path_is_normalized(b->destination);
        if (r < 0)
                return r;
        if (r == 0)
                return bad_path(
                        reterr_message,
                        "Bind mount destination '%s' is not an absolute, normalised path (no '..', "
                        "'.', "
                        "'//' or trailing '/').",
                        strempty(b->destination));
        if (streq(b->destination, "/"))
                return bad_path(reterr_message, "Bind mount destination may not be '/'.");

        if (b->has_source_fd) /* what is mounted; the path may name something else by now */
                return 0;
        if (stat(b->source, &st) < 0) {
                if (errno != ENOENT && errno != ENOTDIR)
                        return -errno;
                if (reterr_message &&
                    asprintf(reterr_message, "Bind mount source '%s' does not exist.", b->source) < 0) {
                        *reterr_message = NULL;
                        return -ENOMEM;
                }
                return -EMEDIUMTYPE;
        }
        return 0;
}

/* The overlay's options are "key=value,..." with ':' separating lower layers (and '\' escaping in the
 * kernel's parser): a path with any of these could inject options, so such paths are refused outright. */
static bool path_overlay_safe(const char *p) {
        for (const char *c = p; *c; c++)
                if (*c == ',' || *c == ':' || *c == '\\' || (unsigned char) *c < ' ' || *c == 0x7f)
                        return false;
        return true;
}

/* For the base rootfs and the container's directory. */
static int check_overlay_path(const char *path) {
        int r;

        r = path_is_normalized(path);
        if (r < 0)
                return r;
        if (r == 0 || streq(path, "/") || !path_overlay_safe(path))
                return -EINVAL;
        return 0;
}

int rootfs_check(const char *path) {
        struct stat st;
        int r;

        r = check_overlay_path(path);
        if (r < 0)
                return r;
        if (stat(path, &st) < 0)
                return errno == ENOENT || errno == ENOTDIR ? -ENOMEDIUM : -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOMEDIUM;
        return 0;
}

static bool user_name_valid(const char *user) {
        size_t n;

        if (!user ||
            !(user[0] == '_' || (user[0] >= 'a' && user[0] <= 'z') || (user[0] >= 'A' && user[0] <= 'Z')))
                return false;
        n = strspn(user, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
        return user[n] == '\0' && n <= 31;
}

/* Goes on a line of /etc/hosts and into /etc/hostname: no blanks, no comment sign, no control characters. */
static bool hosts_word_valid(const char *s) {
        if (!s || s[0] == '\0' || strlen(s) > 253)
                return false;
        for (const char *c = s; *c; c++)
                if ((unsigned char) *c <= ' ' || *c == '#' || *c == 0x7f || *c == '/')
                        return false;
        return true;
}

/* Every line of 'contents' (or 'fallback') except the one for 'user', then 'line'. */
static int
etc_file_add(const char *contents, const char *fallback, const char *user, const char *line, char **ret) {
        const char *p = contents ?: fallback;
        size_t ulen = strlen(user), n = 0;
        char *out;

        out = malloc(strlen(p) + 1 + strlen(line) + 1);
        if (!out)
                return -ENOMEM;
        while (*p) {
                const char *e = strchrnul(p, '\n');
                size_t l = (size_t) (e - p);

                if (!(l > ulen && strncmp(p, user, ulen) == 0 && p[ulen] == ':')) {
                        memcpy(out + n, p, l);
                        n += l;
                        out[n++] = '\n';
                }
                p = *e ? e + 1 : e;
        }
        strcpy(out + n, line);
        *ret = out;
        return 0;
}

int rootfs_passwd_add(const char *contents, const char *user, uid_t uid, char **ret) {
        _cleanup_free_ char *line = NULL;

        assert(ret);

        if (!user_name_valid(user))
                return -EINVAL;
        if (asprintf(&line, "%s:x:%u:%u::/home/%s:/bin/sh\n", user, (unsigned) uid, (unsigned) uid, user) <
            0)
                return -ENOMEM;
        return etc_file_add(contents, default_passwd, user, line, ret);
}

int rootfs_group_add(const char *contents, const char *user, gid_t gid, char **ret) {
        _cleanup_free_ char *line = NULL;

        assert(ret);

        if (!user_name_valid(user))
                return -EINVAL;
        if (asprintf(&line, "%s:x:%u:\n", user, (unsigned) gid) < 0)
                return -ENOMEM;
        return etc_file_add(contents, default_group, user, line, ret);
}

/*
 * openat2() confined to the tree at root_fd: absolute symlinks and ".." resolve as if root_fd were "/", and
 * magic links (/proc/self/root, ...) are refused. The base rootfs is untrusted: its /etc may well be a
 * symlink to the host's /etc.
 */
static int openat_in_root(int root_fd, const char *path, int flags, mode_t mode) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .mode = (flags & O_CREAT) ? mode : 0,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        path += strspn(path, "/");
        fd = syscall(SYS_openat2, root_fd, path[0] ? path : ".", &how, sizeof(how));
        return fd < 0 ? -errno : (int) fd;
}

/* Creates 'name' in dir_fd, never through a symlink: a directory with 'mode' (whatever the umask), or an
 * empty regular file. Returns an fd of it. */
static int create_at(int dir_fd, const char *name, mode_t mode, bool file) {
        _cleanup_close_ int fd = -EBADF;

        if (file) {
                fd = openat(
                        dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
                return fd < 0 ? -errno : TAKE_FD(fd);
        }
        if (mkdirat(dir_fd, name, mode) < 0)
                return -errno;
        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fchmod(fd, mode) < 0)
                return -errno;
        return TAKE_FD(fd);
}

/*
 * Opens 'path' inside the tree at root_fd and creates what is missing on the way, one component at a time:
 * directories with 'mode' (whatever the umask), and as the last component an empty regular file instead if
 * 'final_file'. Every prefix is resolved from the root again with openat2(RESOLVE_IN_ROOT), and a missing
 * component is created with mkdirat()/openat(O_NOFOLLOW) relative to the directory its parent resolved to,
 * so neither symlinks nor ".." in the tree can make us create or open anything outside of it. Returns an fd
 * of the last component (O_PATH if it existed already).
 */
static int mkdir_in_root(int root_fd, const char *path, mode_t mode, bool final_file) {
        _cleanup_close_ int parent_fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        char *p;

        buf = strdup(path + strspn(path, "/"));
        if (!buf)
                return -ENOMEM;
        parent_fd = openat_in_root(root_fd, ".", O_PATH | O_DIRECTORY, 0);
        if (parent_fd < 0)
                return parent_fd;

        p = buf;
        while (*p) {
                _cleanup_close_ int fd = -EBADF;
                size_t l = strcspn(p, "/");
                bool last = p[l + strspn(p + l, "/")] == '\0';
                char saved = p[l];

                p[l] = '\0'; /* buf is now the prefix up to and including this component */
                fd = openat_in_root(root_fd, buf, O_PATH | (last && final_file ? 0 : O_DIRECTORY), 0);
                if (fd == -ENOENT)
                        fd = create_at(parent_fd, p, mode, last && final_file);
                if (fd < 0)
                        return fd;

                safe_close(parent_fd);
                parent_fd = TAKE_FD(fd);
                p[l] = saved;
                p += l;
                p += strspn(p, "/");
        }
        return TAKE_FD(parent_fd);
}

/*
 * Writes <dir>/<name> inside the root as a new file renamed over the old one: the old one is never opened,
 * so a base rootfs whose /etc/hosts is a device node, a FIFO or a symlink gets it replaced, not written to.
 */
static int
write_file_in_root(int root_fd, const char *dir, const char *name, const char *data, mode_t mode) {
        _cleanup_close_ int dir_fd = -EBADF, fd = -EBADF;
        char tmp[NAME_MAX + 1];
        int r;

        dir_fd = mkdir_in_root(root_fd, dir, 0755, false);
        if (dir_fd < 0)
                return dir_fd;

        for (unsigned i = 0;; i++) {
                (void) snprintf(tmp, sizeof(tmp), ".#%s.%u.%u", name, (unsigned) getpid(), i);
                fd = openat(
                        dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, mode);
                if (fd >= 0)
                        break;
                if (errno != EEXIST || i >= 100)
                        return -errno;
        }

        r = RET_NERRNO(fchmod(fd, mode));
        if (r >= 0)
                r = loop_write(fd, data, strlen(data));
        if (r >= 0)
                r = RET_NERRNO(renameat(dir_fd, tmp, dir_fd, name));
        if (r < 0)
                (void) unlinkat(dir_fd, tmp, 0);
        return r;
}

/*
 * Reads a regular file inside the root. Anything else (FIFO, device node, directory) counts as missing
 * (-ENOENT) and is never opened for reading: opening a FIFO would block, reading a device node could copy
 * host data into the container.
 */
static int read_file_in_root(int root_fd, const char *path, char **ret) {
        _cleanup_close_ int path_fd = -EBADF, fd = -EBADF;
        struct stat st, st2;

        path_fd = openat_in_root(root_fd, path, O_PATH, 0);
        if (path_fd < 0)
                return path_fd;
        if (fstat(path_fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -ENOENT;
        fd = openat_in_root(root_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st2) < 0)
                return -errno;
        if (st2.st_dev != st.st_dev || st2.st_ino != st.st_ino)
                return -ESTALE;
        if (st2.st_size > (off_t) ETC_FILE_MAX)
                return -EFBIG;

        return read_full_fd(fd, ETC_FILE_MAX, ret, NULL);
}

/* The host's resolver configuration. systemd-resolved's stub (127.0.0.53) is not reachable from the
 * container's network namespace, so its list of upstream servers is used instead when there is one. */
static char *host_resolv_conf(void) {
        char *s = NULL;

        if (read_full_file("/etc/resolv.conf", 64 * 1024, &s, NULL) < 0)
                return strdup("");
        if (strstr(s, "nameserver 127.0.0.53")) {
                char *upstream = NULL;

                if (read_full_file("/run/systemd/resolve/resolv.conf", 64 * 1024, &upstream, NULL) >= 0) {
                        free(s);
                        s = upstream;
                }
        }
        return s;
}

static int write_etc_files(int root_fd, const RootfsConfig *cfg) {
        _cleanup_free_ char *hostname = NULL, *hosts = NULL, *resolv = NULL, *old = NULL, *passwd = NULL,
                            *group = NULL;
        int r;

        if (asprintf(&hostname, "%s\n", cfg->hostname) < 0)
                return -ENOMEM;
        r = write_file_in_root(root_fd, "etc", "hostname", hostname, 0644);
        if (r < 0)
                return log_debug_errno(r, "Failed to write /etc/hostname: %m");

        if (asprintf(
                    &hosts,
                    "127.0.0.1\tlocalhost\n%s%s%s%s",
                    strempty(cfg->container_ip),
                    cfg->container_ip ? "\t" : "",
                    cfg->container_ip ? cfg->hostname : "",
                    cfg->container_ip ? "\n" : "") < 0)
                return -ENOMEM;
        r = write_file_in_root(root_fd, "etc", "hosts", hosts, 0644);
        if (r < 0)
                return log_debug_errno(r, "Failed to write /etc/hosts: %m");

        resolv = host_resolv_conf();
        if (!resolv)
                return -ENOMEM;
        r = write_file_in_root(root_fd, "etc", "resolv.conf", resolv, 0644);
        if (r < 0)
                return log_debug_errno(r, "Failed to write /etc/resolv.conf: %m");

        r = read_file_in_root(root_fd, "etc/passwd", &old);
        if (r < 0 && r != -ENOENT)
                return log_debug_errno(r, "Failed to read the base rootfs' /etc/passwd: %m");
        r = rootfs_passwd_add(old, cfg->user, cfg->uid, &passwd);
        if (r < 0)
                return r;
        r = write_file_in_root(root_fd, "etc", "passwd", passwd, 0644);
        if (r < 0)
                return log_debug_errno(r, "Failed to write /etc/passwd: %m");

        old = mfree(old);
        r = read_file_in_root(root_fd, "etc/group", &old);
        if (r < 0 && r != -ENOENT)
                return log_debug_errno(r, "Failed to read the base rootfs' /etc/group: %m");
        r = rootfs_group_add(old, cfg->user, (gid_t) cfg->uid, &group);
        if (r < 0)
                return r;
        r = write_file_in_root(root_fd, "etc", "group", group, 0644);
        if (r < 0)
                return log_debug_errno(r, "Failed to write /etc/group: %m");
        return 0;
}

/* The host's view of a uid or gid of the container (see rootfs.h); ids beyond the range are "nobody". */
static uid_t host_id(const RootfsConfig *cfg, uid_t id) {
        if (cfg->userns_uid == 0)
                return id;
        return cfg->userns_uid + (id < USERNS_RANGE_SIZE ? id : 65534);
}

static int make_dirs(int root_fd, const RootfsConfig *cfg) {
        static const struct {
                const char *path;
                mode_t mode;
        } mount_points[] = {
                { "proc", 0555 },
                { "dev", 0755 },
                { "sys", 0555 },
                { "tmp", 01777 },
        };
        _cleanup_close_ int home_fd = -EBADF, fd = -EBADF;
        int r;

        /* Modes apply to directories we create; the base's own choices are left alone. */
        for (size_t i = 0; i < ELEMENTSOF(mount_points); i++) {
                _cleanup_close_ int mp_fd = -EBADF;

                mp_fd = mkdir_in_root(root_fd, mount_points[i].path, mount_points[i].mode, false);
                if (mp_fd < 0)
                        return log_debug_errno(mp_fd, "Failed to create /%s: %m", mount_points[i].path);
        }

        home_fd = mkdir_in_root(root_fd, "home", 0755, false);
        if (home_fd < 0)
                return log_debug_errno(home_fd, "Failed to create /home: %m");
        r = RET_NERRNO(mkdirat(home_fd, cfg->user, 0755));
        if (r < 0 && r != -EEXIST)
                return log_debug_errno(r, "Failed to create /home/%s: %m", cfg->user);
        /* Not through a symlink: we are about to hand this directory to the user. */
        fd = openat(home_fd, cfg->user, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return log_debug_errno(errno, "Failed to open /home/%s: %m", cfg->user);
        if (r >= 0 && fchmod(fd, 0755) < 0)
                return -errno;
        if (fchown(fd, host_id(cfg, cfg->uid), (gid_t) host_id(cfg, cfg->uid)) < 0)
                return log_debug_errno(errno, "Failed to chown /home/%s: %m", cfg->user);
        return 0;
}

/*
 * A recursive bind with the new mount API: the source tree is cloned (open_tree), made read-only as a whole
 * if asked for (mount_setattr(AT_RECURSIVE) sets only MOUNT_ATTR_RDONLY, so the source's nosuid/nodev/noexec
 * stay as they are and no EPERM from a remount that would clear them), then attached to the destination fd
 * (move_mount), never to a path that could be resolved again.
 */
static int bind_mount_one(int root_fd, const BindMount *b) {
        _cleanup_close_ int tree_fd = -EBADF, dest_fd = -EBADF;
        struct stat st, dst;

        if (b->has_source_fd)
                tree_fd = open_tree(
                        b->source_fd,
                        "",
                        AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        else
                tree_fd = open_tree(AT_FDCWD, b->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (tree_fd < 0)
                return errno == ENOENT || errno == ENOTDIR ? -EMEDIUMTYPE : -errno;
        if (fstat(tree_fd, &st) < 0)
                return -errno;

        dest_fd = mkdir_in_root(root_fd, b->destination, 0755, !S_ISDIR(st.st_mode));
        if (dest_fd < 0)
                return log_debug_errno(
                        dest_fd, "Failed to create bind mount destination '%s': %m", b->destination);
        if (fstat(dest_fd, &dst) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode) != S_ISDIR(dst.st_mode))
                return log_debug_errno(
                        SYNTHETIC_ERRNO(S_ISDIR(st.st_mode) ? ENOTDIR : EISDIR),
                        "Bind mount destination '%s' is not of the same type as source '%s'.",
                        b->destination,
                        b->source);

        if (b->read_only) {
                struct mount_attr attr = {
                        .attr_set = MOUNT_ATTR_RDONLY,
                };

                if (mount_setattr(tree_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                        return log_debug_errno(
                                errno, "Failed to make bind mount of '%s' read-only: %m", b->source);
        }
        if (move_mount(tree_fd, "", dest_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return log_debug_errno(
                        errno, "Failed to bind mount '%s' on '%s': %m", b->source, b->destination);
        return 0;
}

/* lowerdir=base, upperdir and workdir in 'layer' */
static int mount_overlay(const char *base, const char *layer, const char *target) {
        _cleanup_(mnt_free_contextp) struct libmnt_context *cxt = NULL;
        _cleanup_free_ char *options = NULL;
        int r;

        if (asprintf(&options, "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", base, layer, layer) < 0)
                return -ENOMEM;
        cxt = mnt_new_context();
        if (!cxt)
                return -ENOMEM;
        /* Exactly this: no fstab lookup, no /sbin/mount.overlay helper, no utab entry, no path rewriting. */
        r = mnt_context_disable_canonicalize(cxt, true);
        if (r >= 0)
                r = mnt_context_disable_helpers(cxt, true);
        if (r >= 0)
                r = mnt_context_disable_mtab(cxt, true);
        if (r >= 0)
                r = mnt_context_set_fstype(cxt, "overlay");
        if (r >= 0)
                r = mnt_context_set_source(cxt, "overlay");
        if (r >= 0)
                r = mnt_context_set_target(cxt, target);
        if (r >= 0)
                r = mnt_context_set_options(cxt, options);
        if (r < 0)
                return r;

        r = mnt_context_mount(cxt);
        if (r == 0)
                return 0;
        if (mnt_context_syscall_called(cxt) && mnt_context_get_syscall_errno(cxt) > 0)
                return -mnt_context_get_syscall_errno(cxt);
        return r < 0 ? r : -EIO;
}

static const char *const userns_rootfs_table[_USERNS_ROOTFS_MAX] = {
        [USERNS_ROOTFS_AUTO] = "auto",
        [USERNS_ROOTFS_IDMAP] = "idmap",
        [USERNS_ROOTFS_COPY] = "copy",
};

DEFINE_STRING_TABLE_LOOKUP(userns_rootfs, UsernsRootfs);

/* Whether 'path' is on an idmapped mount: the kernel lists "idmapped" among such a mount's options. */
static bool path_on_idmapped_mount(const char *path) {
        _cleanup_(mnt_free_tablep) struct libmnt_table *table = NULL;
        _cleanup_(mnt_free_iterp) struct libmnt_iter *iter = NULL;
        struct libmnt_fs *fs;
        struct statx sx;

        if (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, STATX_MNT_ID, &sx) < 0 || !(sx.stx_mask & STATX_MNT_ID))
                return false;
        table = mnt_new_table_from_file("/proc/self/mountinfo");
        iter = mnt_new_iter(MNT_ITER_FORWARD);
        if (!table || !iter)
                return false;
        while (mnt_table_next_fs(table, iter, &fs) == 0)
                if ((uint64_t) mnt_fs_get_id(fs) == sx.stx_mnt_id)
                        return mnt_optstr_get_option(mnt_fs_get_vfs_options(fs), "idmapped", NULL, NULL) ==
                               0;
        return false;
}

/* Linux before major.minor? False if the release cannot be read. */
static bool kernel_older_than(unsigned major, unsigned minor) {
        struct utsname u;
        unsigned a, b;

        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &a, &b) != 2)
                return false;
        return a < major || (a == major && b < minor);
}

/*
 * The base rootfs, idmapped into the container's user namespace and read-only, mounted on 'target'.
 * -EOPNOTSUPP (and why in *ret_reason) when it cannot be, and only then: mount_setattr(MOUNT_ATTR_IDMAP)
 * fails with EINVAL for a file system without idmapped mounts (no FS_ALLOW_IDMAP: overlayfs, NFS, tmpfs
 * before 6.3, ...) or one mounted in another user namespace -- and for a user namespace fd that is none,
 * which is ruled out first; with EPERM for a mount that is idmapped already (or a caller without
 * CAP_SYS_ADMIN over the user namespace, which wardend always has), told apart by the mount's options; with
 * ENOSYS or E2BIG on a kernel without it.
 */
static int mount_idmapped_lower(const RootfsConfig *cfg, const char *target, const char **ret_reason) {
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY,
                .userns_fd = (uint64_t) cfg->userns_fd,
        };
        _cleanup_close_ int tree_fd = -EBADF;

        if (cfg->userns_fd < 0 || ioctl(cfg->userns_fd, NS_GET_NSTYPE) != CLONE_NEWUSER)
                return log_debug_errno(
                        SYNTHETIC_ERRNO(EBADF), "No user namespace to idmap the rootfs into.");

        tree_fd = open_tree(AT_FDCWD, cfg->base, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree_fd < 0)
                return errno == ENOENT || errno == ENOTDIR ? -ENOMEDIUM : -errno;
        if (mount_setattr(tree_fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
                int e = errno;

                if (IN_SET(e, EINVAL, EOPNOTSUPP))
                        *ret_reason = "its file system has no idmapped mounts";
                else if (IN_SET(e, ENOSYS, E2BIG))
                        *ret_reason = "this kernel has no idmapped mounts";
                else if (e == EPERM && path_on_idmapped_mount(cfg->base))
                        *ret_reason = "it is on an idmapped mount already";
                else
                        return log_debug_errno(e, "Cannot make an idmapped mount of '%s': %m", cfg->base);
                return log_debug_errno(
                        SYNTHETIC_ERRNO(EOPNOTSUPP),
                        "Cannot make an idmapped mount of '%s' (errno %i): %s.",
                        cfg->base,
                        e,
                        *ret_reason);
        }
        if (move_mount(tree_fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}

/* <path>/lower as a copy of the base shifted into the user namespace (shift-copy.h). */
static int make_shifted_lower(const RootfsConfig *cfg, const char *lower, const char *reason) {
        _cleanup_close_ int src_fd = -EBADF, dst_fd = -EBADF;
        _cleanup_free_ char *failed = NULL;
        uint64_t start = now_usec(CLOCK_MONOTONIC);
        ShiftCopyStats stats;
        int r;

        /* The base's own mount, without whatever is mounted below it: what overlayfs would see of it. */
        src_fd = open_tree(AT_FDCWD, cfg->base, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (src_fd < 0)
                return errno == ENOENT || errno == ENOTDIR ? -ENOMEDIUM : -errno;
        if (mkdir(lower, 0700) < 0)
                return -errno;
        dst_fd = open(lower, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dst_fd < 0)
                return -errno;

        r = shift_copy_tree(src_fd, dst_fd, cfg->userns_uid, &stats, &failed);
        if (r < 0)
                return log_full_errno_container(
                        LOG_WARNING,
                        r,
                        cfg->hostname,
                        "Failed to copy the base rootfs '%s' into the user namespace, at '%s': %m",
                        cfg->base,
                        strna(failed));
        log_full_errno_container(
                LOG_INFO,
                0,
                cfg->hostname,
                "Base rootfs '%s' not idmapped (%s): its copy shifted into the user namespace is "
                "the "
                "lower layer: %" PRIu64 " files (%.1f MiB), %" PRIu64 " directories, %" PRIu64
                " symlinks, %" PRIu64 " hard links, %" PRIu64 " skipped, in %" PRIu64 " ms.",
                cfg->base,
                reason,
                stats.files,
                (double) stats.bytes / (1024.0 * 1024.0),
                stats.directories,
                stats.symlinks,
                stats.hardlinks,
                stats.skipped,
                (now_usec(CLOCK_MONOTONIC) - start) / 1000);
        return 0;
}

/*
 * The overlay over the base seen through the user namespace: an idmapped lower layer mounted on
 * <path>/lower only for as long as it takes, or (if that cannot be, and cfg->userns_rootfs lets us) a
 * shifted copy in <path>/lower.
 */
static int mount_overlay_userns(const RootfsConfig *cfg, const char *layer, const char *target) {
        _cleanup_free_ char *lower = NULL;
        const char *reason = "userns_rootfs = copy";
        int r;

        if (asprintf(&lower, "%s/lower", cfg->path) < 0)
                return -ENOMEM;
        if (cfg->userns_rootfs != USERNS_ROOTFS_COPY) {
                if (mkdir(lower, 0700) < 0)
                        return -errno;
                r = mount_idmapped_lower(cfg, lower, &reason);
                if (r >= 0) {
                        r = mount_overlay(lower, layer, target);
                        if (r == -EINVAL && kernel_older_than(5, 19)) {
                                reason = "overlayfs takes no idmapped layers before Linux 5.19";
                                r = log_debug_errno(SYNTHETIC_ERRNO(EOPNOTSUPP), "%s", reason);
                        }
                        if (umount2(lower, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && r >= 0)
                                r = -errno;
                }
                if (rmdir(lower) < 0 && r >= 0)
                        r = -errno;
                if (r != -EOPNOTSUPP || cfg->userns_rootfs == USERNS_ROOTFS_IDMAP)
                        return r;
        }

        r = make_shifted_lower(cfg, lower, reason);
        if (r < 0)
                return r;
        return mount_overlay(lower, layer, target);
}

/*
 * With a user namespace, what we create in the root must belong to the container's root: this thread
 * writes with fsuid and fsgid = its host uid. setfsuid() is per thread (glibc does not apply it to the whole
 * process, as it does setuid()), and it clears the file-related capabilities from the effective set, which
 * we raise again (they stay permitted): we must still read whatever the base holds and chown the home.
 */
static int fsid_set(uid_t uid) {
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = {};

        (void) setfsgid((gid_t) uid);
        (void) setfsuid(uid);
        if ((uid_t) setfsuid((uid_t) -1) != uid || (gid_t) setfsgid((gid_t) -1) != (gid_t) uid)
                return -EPERM;
        if (syscall(SYS_capget, &header, data) < 0)
                return -errno;
        data[0].effective = data[0].permitted;
        data[1].effective = data[1].permitted;
        if (syscall(SYS_capset, &header, data) < 0)
                return -errno;
        return 0;
}

/* Everything after mkdir <path>; the caller undoes it all on failure. */
static int rootfs_populate(const RootfsConfig *cfg) {
        _cleanup_free_ char *layer = NULL, *upper = NULL, *work = NULL, *rootfs = NULL;
        _cleanup_close_ int root_fd = -EBADF;
        struct stat st;
        int r;

        /* the writable layer: in <path>, or on its own size-capped file system at <path>/disk */
        if (cfg->disk_bytes > 0) {
                r = disk_setup(cfg->path, cfg->disk_bytes, cfg->disk_inodes);
                if (r < 0)
                        return log_debug_errno(
                                r, "Failed to make the writable layer of '%s': %m", cfg->path);
                if (asprintf(&layer, "%s/" DISK_MOUNT, cfg->path) < 0)
                        return -ENOMEM;
        } else {
                layer = strdup(cfg->path);
                if (!layer)
                        return -ENOMEM;
        }
        if (asprintf(&upper, "%s/upper", layer) < 0 || asprintf(&work, "%s/work", layer) < 0 ||
            asprintf(&rootfs, "%s/rootfs", cfg->path) < 0)
                return -ENOMEM;

        /* The overlay's root directory takes owner and mode from upperdir: copy them from the base, or the
         * container's "/" would be root's 0700. */
        if (stat(cfg->base, &st) < 0)
                return errno == ENOENT ? -ENOMEDIUM : -errno;
        if (mkdir(upper, 0755) < 0 || chown(upper, host_id(cfg, st.st_uid), host_id(cfg, st.st_gid)) < 0 ||
            chmod(upper, st.st_mode & 07777) < 0 || mkdir(work, 0700) < 0 || mkdir(rootfs, 0755) < 0)
                return log_debug_errno(errno, "Failed to create the layout of '%s': %m", cfg->path);

        r = cfg->userns_uid > 0 ? mount_overlay_userns(cfg, layer, rootfs)
                                : mount_overlay(cfg->base, layer, rootfs);
        if (r < 0)
                return log_debug_errno(
                        r, "Failed to mount overlay on '%s' (lowerdir '%s'): %m", rootfs, cfg->base);
        /* Private: the container's bind mounts must not propagate to the host's peers, and mounts the host
         * makes later below the depot must not show up inside. */
        if (mount(NULL, rootfs, NULL, MS_PRIVATE, NULL) < 0)
                return log_debug_errno(errno, "Failed to make '%s' a private mount: %m", rootfs);

        root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0)
                return -errno;

        if (cfg->userns_uid > 0) {
                r = fsid_set(cfg->userns_uid);
                if (r < 0)
                        return log_debug_errno(
                                r, "Failed to write as uid %u: %m", (unsigned) cfg->userns_uid);
        }
        r = write_etc_files(root_fd, cfg);
        if (r < 0)
                return r;
        r = make_dirs(root_fd, cfg);
        if (r < 0)
                return r;

        for (size_t i = 0; i < cfg->n_bind_mounts; i++) {
                r = bind_mount_one(root_fd, &cfg->bind_mounts[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int mkdir_parents(const char *path) {
        _cleanup_free_ char *parent = NULL;
        char *slash;

        parent = strdup(path);
        if (!parent)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (!slash || slash == parent)
                return 0;
        *slash = '\0';
        return mkdir_p(parent, 0700);
}

int rootfs_setup(const RootfsConfig *cfg) {
        int r, q;

        assert(cfg);

        r = rootfs_check(cfg->base);
        if (r < 0)
                return log_debug_errno(r, "Base rootfs '%s' is not usable: %m", strna(cfg->base));
        if (cfg->base_resolved) {
                /* What the caller checked had no symlinks: one swapped in since would redirect the mount
                 * (the overlay takes a path, not an fd). */
                struct open_how how = {
                        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                        .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                };
                _cleanup_close_ int fd = (int) syscall(SYS_openat2, AT_FDCWD, cfg->base, &how, sizeof(how));

                if (fd < 0)
                        return log_debug_errno(
                                IN_SET(errno, ENOENT, ENOTDIR, ELOOP) ? ENOMEDIUM : errno,
                                "Base rootfs '%s' is not what was checked any more: %m",
                                cfg->base);
        }
        r = check_overlay_path(cfg->path);
        if (r < 0)
                return log_debug_errno(r, "Container directory '%s' is not usable: %m", strna(cfg->path));
        if (!hosts_word_valid(cfg->hostname) || !user_name_valid(cfg->user) ||
            (cfg->container_ip && !hosts_word_valid(cfg->container_ip)))
                return -EINVAL;
        for (size_t i = 0; i < cfg->n_bind_mounts; i++) {
                r = bind_mount_check(&cfg->bind_mounts[i], NULL);
                if (r < 0)
                        return r;
        }

        r = mkdir_parents(cfg->path);
        if (r < 0)
                return r;
        /* A directory that exists already is not ours to reuse: it may be another container's. */
        if (mkdir(cfg->path, 0700) < 0)
                return -errno;

        r = rootfs_populate(cfg);
        if (cfg->userns_uid > 0) {
                /* back to our own (the kernel raises the file capabilities again) */
                (void) setfsgid(getegid());
                (void) setfsuid(geteuid());
        }
        if (r < 0) {
                q = rootfs_teardown(cfg->path);
                if (q < 0)
                        log_debug_errno(
                                q, "Failed to remove '%s' after a failed setup, ignoring: %m", cfg->path);
                return r;
        }
        return 0;
}

typedef struct RmRoot {
        int fd;          /* the top directory, where too deep subtrees are moved to */
        dev_t dev;       /* never cross into another file system... */
        uint64_t mnt_id; /* ...or another mount of the same one */
        unsigned n_moved;
} RmRoot;

static int statx_dir_entry(int dir_fd, const char *name, int flags, struct statx *sx) {
        if (statx(dir_fd,
                  name,
                  flags | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
                  STATX_TYPE | STATX_INO | STATX_MNT_ID,
                  sx) < 0)
                return -errno;
        return 0;
}

static bool same_mount(const RmRoot *root, const struct statx *sx) {
        if (makedev(sx->stx_dev_major, sx->stx_dev_minor) != root->dev)
                return false;
        return !(sx->stx_mask & STATX_MNT_ID) || sx->stx_mnt_id == root->mnt_id;
}

/*
 * Removes everything below dir_fd, which stays open (we read through a new open file description). One fd
 * per level: a container can make its upper layer arbitrarily deep, so at RM_MAX_DEPTH a subtree is renamed
 * to the top directory instead and removed in the next pass (*moved). Returns the first error, after going
 * on with the rest.
 */
static int rm_children(int dir_fd, RmRoot *root, unsigned depth, bool *moved) {
        _cleanup_(closedirp) DIR *d = NULL;
        int fd, r = 0;

        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }

        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                struct statx sx;
                int q;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                q = statx_dir_entry(dirfd(d), de->d_name, 0, &sx);
                if (q == -ENOENT)
                        continue;
                if (q < 0) {
                        if (r == 0)
                                r = q;
                        continue;
                }

                if (S_ISDIR(sx.stx_mode)) {
                        _cleanup_close_ int sub_fd = -EBADF;
                        struct statx sx2;

                        if (!same_mount(root, &sx)) {
                                /* A mount point (or something else we must not enter): leave it, and let
                                 * the rmdir of its parent fail. */
                                if (r == 0)
                                        r = -EBUSY;
                                continue;
                        }
                        if (depth >= RM_MAX_DEPTH) {
                                char name[64];

                                for (;;) {
                                        (void) snprintf(name, sizeof(name), ".#rm.%u", root->n_moved++);
                                        q = RET_NERRNO(renameat2(
                                                dirfd(d), de->d_name, root->fd, name, RENAME_NOREPLACE));
                                        if (q != -EEXIST)
                                                break;
                                }
                                if (q < 0 && r == 0)
                                        r = q;
                                if (q >= 0)
                                        *moved = true;
                                continue;
                        }

                        sub_fd = openat(
                                dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub_fd < 0) {
                                if (errno != ENOENT && r == 0)
                                        r = -errno;
                                continue;
                        }
                        /* It must still be what we looked at: no mount or rename in between. */
                        q = statx_dir_entry(sub_fd, "", AT_EMPTY_PATH, &sx2);
                        if (q >= 0 && (sx2.stx_ino != sx.stx_ino || !same_mount(root, &sx2)))
                                q = -EBUSY;
                        if (q >= 0)
                                q = rm_children(sub_fd, root, depth + 1, moved);
                        if (q >= 0)
                                q = RET_NERRNO(unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR));
                } else
                        q = RET_NERRNO(unlinkat(dirfd(d), de->d_name, 0));
                if (q < 0 && q != -ENOENT && r == 0)
                        r = q;
        }
        if (errno > 0 && r == 0)
                r = -errno;
        return r;
}

static int rm_rf(const char *path) {
        _cleanup_close_ int fd = -EBADF;
        RmRoot root = {};
        struct statx sx;
        bool moved;
        int r;

        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        r = statx_dir_entry(fd, "", AT_EMPTY_PATH, &sx);
        if (r < 0)
                return r;
        root = (RmRoot){
                .fd = fd,
                .dev = makedev(sx.stx_dev_major, sx.stx_dev_minor),
                .mnt_id = sx.stx_mnt_id,
        };

        do {
                moved = false;
                r = rm_children(fd, &root, 0, &moved);
        } while (r >= 0 && moved);
        if (r < 0)
                return r;

        if (rmdir(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int rootfs_teardown(const char *path) {
        _cleanup_free_ char *rootfs = NULL;
        struct stat st;
        int r;

        assert(path);

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;

        if (asprintf(&rootfs, "%s/rootfs", path) < 0)
                return -ENOMEM;
        /* Detaching takes the bind mounts below along. Repeated in case something was stacked on top. Only
         * when it is a mount point: a half-made directory must be removable without privileges too. */
        for (unsigned i = 0; i < 16; i++) {
                struct statx sx;

                if (statx(AT_FDCWD, rootfs, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &sx) < 0) {
                        if (errno == ENOENT)
                                break;
                        return -errno;
                }
                if ((sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
                    !(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
                        break;
                if (umount2(rootfs, MNT_DETACH | UMOUNT_NOFOLLOW) < 0) {
                        if (errno == EINVAL || errno == ENOENT)
                                break;
                        return log_debug_errno(errno, "Failed to unmount '%s': %m", rootfs);
                }
        }
        /* the writable layer's own file system, if it has one */
        r = disk_teardown(path);
        if (r < 0)
                return r;

        return rm_rf(path);
}
