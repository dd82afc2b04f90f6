/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "copy.h"
#include "fileio.h"
#include "hashmap.h"
#include "host-path.h"
#include "log.h"
#include "parse-util.h"
#include "path-util.h"

#define COPY_CHUNK (1024 * 1024) /* copy_file_range() per call: the cancel flag is checked in between */
#define COPY_BUFFER (64 * 1024)  /* read()/write() fallback */
#define OPENAT2_RETRIES 32
#define TMP_NAME_TRIES 100
#define INODE_KEY_MAX (2 * 16 + 2)
/* Temporary names: TMP_PREFIX, this process' tag (16 hex digits), '.', 8 random hex digits. */
#define TMP_PREFIX ".#warden-copy."

struct CopyPlan {
        int src_fd; /* entry: O_PATH fd of the source's parent directory; contents: the source directory */
        char *src_name; /* entry: the source's name in src_fd; NULL: the contents of src_fd are copied */
        struct stat src_st;

        int dst_fd;      /* the directory the target is made in (O_PATH); hard links are found beneath it */
        char *dst_mkdir; /* if set, first made in dst_fd (dst ended with "/" and was missing); target goes in
                          */
        char *dst_name;  /* the target's name; NULL: the source's contents go into dst_fd itself */

        char *src_path; /* as given, for messages */
        char *dst_path;
};

/* A source file with more than one link, copied once already: later names become links to that copy. */
typedef struct HardlinkEntry {
        char key[INODE_KEY_MAX]; /* the source's "dev:ino" */
        char *rel;               /* the copy, relative to CopyContext.base_fd */
        dev_t dev;               /* of the copy */
        ino_t ino;
} HardlinkEntry;

typedef struct InodeEntry {
        char key[INODE_KEY_MAX];
} InodeEntry;

typedef struct CopyContext {
        const CopyOptions *options;
        CopyStats stats;
        int base_fd;
        Hashmap *hardlinks; /* source "dev:ino" → HardlinkEntry */
        Hashmap *created;   /* "dev:ino" of the directories this copy made → InodeEntry */
        char *failed;       /* where the copy failed, relative to the destination base */
        char *buffer;
        unsigned tmp_counter;
} CopyContext;

static int set_message(char **reterr_message, int r, const char *format, ...) _printf_(3, 4);
static int set_message(char **reterr_message, int r, const char *format, ...) {
        va_list ap;

        if (reterr_message) {
                char *s = NULL;

                va_start(ap, format);
                if (vasprintf(&s, format, ap) < 0)
                        s = NULL;
                va_end(ap);
                free(*reterr_message);
                *reterr_message = s;
        }
        return r;
}

static void inode_key(char key[static INODE_KEY_MAX], dev_t dev, ino_t ino) {
        (void) snprintf(key, INODE_KEY_MAX, "%llx:%llx", (unsigned long long) dev, (unsigned long long) ino);
}

static bool cancelled(const CopyContext *ctx) {
        return ctx->options->cancel && atomic_load(ctx->options->cancel);
}

/* Records where the copy failed (the innermost place: the first call wins) and returns r. */
static int fail(CopyContext *ctx, const char *rel, int r) {
        if (!ctx->failed)
                ctx->failed = strdup(rel);
        return r;
}

static int openat2_retry(int dir_fd, const char *path, uint64_t flags, uint64_t resolve) {
        struct open_how how = {
                .flags = flags | O_CLOEXEC,
                .resolve = resolve,
        };

        /* RESOLVE_IN_ROOT and RESOLVE_BENEATH give up with EAGAIN when a rename or mount elsewhere in the
         * system raced with a ".." lookup; the kernel asks us to try again. */
        for (unsigned i = 0;; i++) {
                long fd = syscall(SYS_openat2, dir_fd, path, &how, sizeof(how));

                if (fd >= 0)
                        return (int) fd;
                if (errno != EAGAIN || i >= OPENAT2_RETRIES)
                        return -errno;
        }
}

/* Opens 'path' (absolute) on one side of the copy: on the host (root_fd == AT_FDCWD) as usual, inside the
 * tree at root_fd with every component resolved in it. Magic links are refused either way. */
static int open_resolved(int root_fd, const char *path, uint64_t flags) {
        if (root_fd == AT_FDCWD)
                return openat2_retry(AT_FDCWD, path, flags, RESOLVE_NO_MAGICLINKS);
        path += strspn(path, "/");
        return openat2_retry(root_fd, path[0] ? path : ".", flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/* Opens the file behind an O_PATH fd for real: the same inode, whatever happened to its name since. */
static int reopen_fd(int path_fd, int flags) {
        char p[sizeof("/proc/self/fd/") + 12];
        int fd;

        (void) snprintf(p, sizeof(p), "/proc/self/fd/%i", path_fd);
        fd = open(p, flags | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? -errno : fd;
}

/* "/a/b/" → "/a/b" and true. -EINVAL unless absolute and normalised but for one trailing "/". */
static int path_parse(const char *path, char **ret_path, bool *ret_trailing_slash) {
        _cleanup_free_ char *p = NULL;
        bool slash = false;
        size_t n;
        int r;

        if (!path || !path_is_absolute(path))
                return -EINVAL;
        n = strlen(path);
        if (n > 1 && path[n - 1] == '/') {
                if (n == 2) /* "//" */
                        return -EINVAL;
                slash = true;
                n--;
        }
        p = strndup(path, n);
        if (!p)
                return -ENOMEM;
        r = path_is_normalized(p);
        if (r < 0)
                return r;
        if (r == 0)
                return -EINVAL;
        if (ret_path)
                *ret_path = TAKE_PTR(p);
        if (ret_trailing_slash)
                *ret_trailing_slash = slash;
        return 0;
}

int copy_path_check(const char *path, bool *ret_trailing_slash) {
        return path_parse(path, NULL, ret_trailing_slash);
}

/* "/a/b" → "/a" and "b"; "/a" → "/" and "a". Not for "/". */
static int path_split(const char *path, char **ret_dir, char **ret_name) {
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *dir = NULL, *name = NULL;

        assert(slash && slash[1]);
        dir = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        name = strdup(slash + 1);
        if (!dir || !name)
                return -ENOMEM;
        *ret_dir = TAKE_PTR(dir);
        *ret_name = TAKE_PTR(name);
        return 0;
}

CopyPlan *copy_plan_free(CopyPlan *p) {
        if (!p)
                return NULL;
        safe_close(p->src_fd);
        safe_close(p->dst_fd);
        free(p->src_name);
        free(p->dst_mkdir);
        free(p->dst_name);
        free(p->src_path);
        free(p->dst_path);
        free(p);
        return NULL;
}

static int source_error(char **reterr_message, int r, const char *src) {
        switch (r) {
        case -ENOENT:
                return set_message(reterr_message, r, "Source '%s' does not exist.", src);
        case -ENOTDIR:
                return set_message(reterr_message, r, "A component of source '%s' is not a directory.", src);
        case -ELOOP:
                return set_message(
                        reterr_message,
                        r,
                        "Source '%s' has too many levels of symbolic links, or a magic link.",
                        src);
        default:
                return set_message(reterr_message, r, "Failed to open source '%s': %s", src, strerror(-r));
        }
}

static int destination_error(char **reterr_message, int r, const char *dst) {
        switch (r) {
        case -ENOENT:
                return set_message(
                        reterr_message,
                        r,
                        "The directory that is to contain destination '%s' does not exist.",
                        dst);
        case -ENOTDIR:
                return set_message(
                        reterr_message, r, "A component of destination '%s' is not a directory.", dst);
        case -ELOOP:
                return set_message(
                        reterr_message,
                        r,
                        "Destination '%s' has too many levels of symbolic links, or a magic link.",
                        dst);
        default:
                return set_message(
                        reterr_message, r, "Failed to open destination '%s': %s", dst, strerror(-r));
        }
}

int copy_plan_new(
        int src_root_fd,
        const char *src,
        int dst_root_fd,
        const char *dst,
        CopyPlan **ret,
        char **reterr_message) {
        _cleanup_free_ char *s = NULL, *d = NULL, *dir = NULL, *name = NULL;
        _cleanup_(copy_plan_freep) CopyPlan *p = NULL;
        _cleanup_close_ int parent_fd = -EBADF;
        bool src_slash, dst_slash, contents, src_is_dir;
        struct stat st;
        int r;

        assert(src && dst && ret);

        r = path_parse(src, &s, &src_slash);
        if (r == -EINVAL)
                return set_message(
                        reterr_message, r, "Source '%s' is not an absolute, normalised path.", src);
        if (r < 0)
                return r;
        r = path_parse(dst, &d, &dst_slash);
        if (r == -EINVAL)
                return set_message(
                        reterr_message, r, "Destination '%s' is not an absolute, normalised path.", dst);
        if (r < 0)
                return r;

        p = calloc(1, sizeof(CopyPlan));
        if (!p)
                return -ENOMEM;
        p->src_fd = p->dst_fd = -EBADF;
        p->src_path = strdup(src);
        p->dst_path = strdup(dst);
        if (!p->src_path || !p->dst_path)
                return -ENOMEM;

        /* The source. */
        contents = src_slash || streq(s, "/");
        if (contents) {
                p->src_fd = open_resolved(src_root_fd, s, O_RDONLY | O_DIRECTORY | O_NOCTTY);
                if (p->src_fd == -ENOTDIR)
                        return set_message(
                                reterr_message,
                                -ENOTDIR,
                                "Source '%s' ends with '/' but is not a directory.",
                                src);
                if (p->src_fd < 0)
                        return source_error(reterr_message, p->src_fd, src);
                if (fstat(p->src_fd, &p->src_st) < 0)
                        return source_error(reterr_message, -errno, src);
        } else {
                r = path_split(s, &dir, &name);
                if (r < 0)
                        return r;
                p->src_fd = open_resolved(src_root_fd, dir, O_PATH | O_DIRECTORY);
                if (p->src_fd < 0)
                        return source_error(reterr_message, p->src_fd, src);
                if (fstatat(p->src_fd, name, &p->src_st, AT_SYMLINK_NOFOLLOW) < 0)
                        return source_error(reterr_message, -errno, src);
                if (!S_ISREG(p->src_st.st_mode) && !S_ISDIR(p->src_st.st_mode) &&
                    !S_ISLNK(p->src_st.st_mode))
                        return set_message(
                                reterr_message,
                                -EINVAL,
                                "Source '%s' is not a regular file, directory or symbolic link.",
                                src);
                p->src_name = TAKE_PTR(name);
                dir = mfree(dir);
        }
        src_is_dir = contents || S_ISDIR(p->src_st.st_mode);

        /* The destination. */
        if (streq(d, "/")) {
                p->dst_fd = open_resolved(dst_root_fd, "/", O_PATH | O_DIRECTORY);
                if (p->dst_fd < 0)
                        return destination_error(reterr_message, p->dst_fd, dst);
                if (!contents) {
                        p->dst_name = strdup(p->src_name);
                        if (!p->dst_name)
                                return -ENOMEM;
                }
                *ret = TAKE_PTR(p);
                return 0;
        }

        r = path_split(d, &dir, &name);
        if (r < 0)
                return r;
        parent_fd = open_resolved(dst_root_fd, dir, O_PATH | O_DIRECTORY);
        if (parent_fd < 0)
                return destination_error(reterr_message, parent_fd, dst);

        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                if (S_ISLNK(st.st_mode))
                        return set_message(
                                reterr_message,
                                -ELOOP,
                                "Destination '%s' is a symbolic link; it is not followed.",
                                dst);
                if (S_ISDIR(st.st_mode)) {
                        /* into it */
                        p->dst_fd = openat(parent_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (p->dst_fd < 0)
                                return destination_error(reterr_message, -errno, dst);
                        if (!contents) {
                                p->dst_name = strdup(p->src_name);
                                if (!p->dst_name)
                                        return -ENOMEM;
                        }
                } else {
                        /* over it */
                        if (dst_slash)
                                return set_message(
                                        reterr_message,
                                        -ENOTDIR,
                                        "Destination '%s' ends with '/' but is not a directory.",
                                        dst);
                        if (src_is_dir)
                                return set_message(
                                        reterr_message,
                                        -ENOTDIR,
                                        "Destination '%s' is not a directory; a directory cannot "
                                        "replace it.",
                                        dst);
                        p->dst_fd = TAKE_FD(parent_fd);
                        p->dst_name = TAKE_PTR(name);
                }
        } else if (errno == ENOENT) {
                p->dst_fd = TAKE_FD(parent_fd);
                if (dst_slash && !contents) {
                        /* "dst/" that does not exist yet: made, and src copied into it */
                        p->dst_mkdir = TAKE_PTR(name);
                        p->dst_name = strdup(p->src_name);
                        if (!p->dst_name)
                                return -ENOMEM;
                } else
                        /* src becomes dst (for "src/": a copy of the directory src) */
                        p->dst_name = TAKE_PTR(name);
        } else
                return destination_error(reterr_message, -errno, dst);

        *ret = TAKE_PTR(p);
        return 0;
}

int copy_plan_real_path(const CopyPlan *p, bool source, char **ret) {
        _cleanup_free_ char *dir = NULL;
        const char *a = source ? p->src_name : p->dst_mkdir, *b = source ? NULL : p->dst_name;
        char *s;
        int r;

        assert(p);
        assert(ret);

        r = host_path_of_fd(source ? p->src_fd : p->dst_fd, &dir);
        if (r < 0)
                return r;
        if (asprintf(
                    &s,
                    "%s%s%s%s%s",
                    streq(dir, "/") && (a || b) ? "" : dir,
                    a ? "/" : "",
                    strempty(a),
                    b ? "/" : "",
                    strempty(b)) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* ---- the walk ------------------------------------------------------------------------------------ */

static int copy_entry(
        CopyContext *ctx,
        int src_dir_fd,
        const char *src_name,
        const struct stat *st,
        int dst_dir_fd,
        const char *dst_name,
        const char *rel,
        unsigned depth);

static struct timespec *stat_times(const struct stat *st, struct timespec ts[static 2]) {
        ts[0] = st->st_atim;
        ts[1] = st->st_mtim;
        return ts;
}

static mode_t file_mode(const CopyContext *ctx, const struct stat *st) {
        mode_t mode = st->st_mode & 07777;

        return ctx->options->keep_setid ? mode : mode & ~(mode_t) (S_ISUID | S_ISGID);
}

static mode_t dir_mode(const CopyContext *ctx, const struct stat *st) {
        mode_t mode = st->st_mode & 07777;

        /* S_ISGID on a directory only makes new entries inherit its group. */
        return ctx->options->keep_setid ? mode : mode & ~(mode_t) S_ISUID;
}

static bool chown_wanted(const CopyContext *ctx) {
        return ctx->options->uid != UID_INVALID || ctx->options->gid != GID_INVALID;
}

/* Owner, then mode (chown clears S_ISUID/S_ISGID), then times, on a file or directory we made. */
static int fix_metadata(CopyContext *ctx, int fd, mode_t mode, const struct stat *st) {
        struct timespec ts[2];

        if (chown_wanted(ctx) && fchown(fd, ctx->options->uid, ctx->options->gid) < 0)
                return -errno;
        if (fchmod(fd, mode) < 0)
                return -errno;
        if (st && futimens(fd, stat_times(st, ts)) < 0)
                return -errno;
        return 0;
}

static char tmp_tag[17];
static pthread_once_t tmp_tag_once = PTHREAD_ONCE_INIT;

static void tmp_tag_init(void) {
        uint64_t v;

        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t) sizeof(v))
                v = now_usec(CLOCK_REALTIME) ^ ((uint64_t) getpid() << 32);
        (void) snprintf(tmp_tag, sizeof(tmp_tag), "%016llx", (unsigned long long) v);
}

/* A name for a new entry next to 'name' in the same directory, to be renamed over it: it carries this
 * process' tag, so that a copy can tell the leftovers of a wardend that was killed (remove_stale_tmp())
 * from the entries of copies running next to it. */
static void tmp_name(CopyContext *ctx, char buf[static NAME_MAX + 1]) {
        uint32_t r;

        (void) pthread_once(&tmp_tag_once, tmp_tag_init);
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t) sizeof(r))
                r = (uint32_t) now_usec(CLOCK_MONOTONIC);
        (void) snprintf(buf, NAME_MAX + 1, TMP_PREFIX "%s.%08x", tmp_tag, r ^ ctx->tmp_counter++);
}

/* Removes the temporary entries of other processes (a wardend killed in the middle of a copy) from the
 * directory dir_fd, which this copy is about to write into. Best effort: the copy goes on regardless. */
static void remove_stale_tmp(int dir_fd) {
        _cleanup_(closedirp) DIR *d = NULL;
        char mine[sizeof(TMP_PREFIX) + sizeof(tmp_tag)];
        int fd;

        (void) pthread_once(&tmp_tag_once, tmp_tag_init);
        (void) snprintf(mine, sizeof(mine), TMP_PREFIX "%s", tmp_tag);
        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return;
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (!startswith(de->d_name, TMP_PREFIX) || startswith(de->d_name, mine) ||
                    de->d_type == DT_DIR)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) >= 0)
                        log_debug("Removed '%s', left by a copy that was cut off.", de->d_name);
        }
}

/* Makes a new entry 'name' in dir_fd, as O_CREAT|O_EXCL does: -EEXIST if the name is taken, else >= 0. */
typedef int (*entry_make_t)(int dir_fd, const char *name, void *userdata);

/*
 * Makes the non-directory 'name' in dir_fd with make(). If the name is taken by anything but a directory,
 * the new entry is made under a temporary name, returned in tmp ("" otherwise), which entry_commit() then
 * renames over the old one: an entry in the way is replaced, never written through, and a symlink there
 * is never followed. -EISDIR: a directory is in the way. Returns what make() returned, or a negative errno.
 */
static int entry_make(
        CopyContext *ctx,
        int dir_fd,
        const char *name,
        entry_make_t make,
        void *userdata,
        char tmp[static NAME_MAX + 1]) {
        struct stat st;
        int r;

        tmp[0] = '\0';
        r = make(dir_fd, name, userdata);
        if (r != -EEXIST)
                return r;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        for (unsigned i = 0;; i++) {
                tmp_name(ctx, tmp);
                r = make(dir_fd, tmp, userdata);
                if (r != -EEXIST || i >= TMP_NAME_TRIES)
                        break;
        }
        if (r < 0)
                tmp[0] = '\0';
        return r;
}

/* The end of entry_make(): if r >= 0, the entry made under the temporary name tmp (if any) replaces
 * 'name'; if that fails or r < 0, the temporary entry is removed. Returns r or the error of the rename. */
static int entry_commit(int dir_fd, const char *name, const char *tmp, int r) {
        if (r >= 0 && tmp[0])
                r = RET_NERRNO(renameat(dir_fd, tmp, dir_fd, name));
        if (r < 0 && tmp[0])
                (void) unlinkat(dir_fd, tmp, 0);
        return r;
}

int copy_fd_data(int src_fd, int dst_fd, char **buffer, copy_step_t step, void *userdata) {
        bool use_cfr = true;
        uint64_t copied = 0;

        for (;;) {
                ssize_t n;

                if (use_cfr) {
                        n = copy_file_range(src_fd, NULL, dst_fd, NULL, COPY_CHUNK, 0);
                        if (n < 0 && IN_SET(errno, EXDEV, EINVAL, ENOSYS, EOPNOTSUPP, EBADF, ETXTBSY)) {
                                use_cfr = false;
                                continue;
                        }
                        /* A file that claims to be empty may have content all the same (procfs and the
                         * like): make sure with read(). */
                        if (n == 0 && copied == 0) {
                                use_cfr = false;
                                continue;
                        }
                } else {
                        if (!*buffer) {
                                *buffer = malloc(COPY_BUFFER);
                                if (!*buffer)
                                        return -ENOMEM;
                        }
                        n = read(src_fd, *buffer, COPY_BUFFER);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n > 0) {
                                int r = loop_write(dst_fd, *buffer, (size_t) n);

                                if (r < 0)
                                        return r;
                        }
                }
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                copied += (uint64_t) n;
                if (step) {
                        int r = step((uint64_t) n, userdata);

                        if (r < 0)
                                return r;
                }
        }
}

/* copy_fd_data()'s step for CopyIn/CopyOut: the statistics, and a teardown stops the copy */
static int copy_step(uint64_t bytes, void *userdata) {
        CopyContext *ctx = userdata;

        ctx->stats.bytes += bytes;
        return cancelled(ctx) ? -ECANCELED : 0;
}

static int copy_data(CopyContext *ctx, int src_fd, int dst_fd) {
        if (cancelled(ctx))
                return -ECANCELED;
        return copy_fd_data(src_fd, dst_fd, &ctx->buffer, copy_step, ctx);
}

static int hardlink_remember(CopyContext *ctx, const char *key, const char *rel, int dst_fd) {
        HardlinkEntry *h;
        struct stat st;
        int r;

        if (fstat(dst_fd, &st) < 0)
                return -errno;
        h = calloc(1, sizeof(HardlinkEntry));
        if (!h)
                return -ENOMEM;
        strcpy(h->key, key);
        h->rel = strdup(rel);
        h->dev = st.st_dev;
        h->ino = st.st_ino;
        if (!h->rel) {
                free(h);
                return -ENOMEM;
        }
        r = hashmap_put(ctx->hardlinks, h->key, h);
        if (r < 0) {
                free(h->rel);
                free(h);
        }
        return r;
}

typedef struct HardlinkMake {
        const HardlinkEntry *entry;
        const char *proc; /* the copy made before, as /proc/self/fd/N */
} HardlinkMake;

static int hardlink_make_one(int dir_fd, const char *name, void *userdata) {
        const HardlinkMake *l = userdata;
        struct stat st;

        if (linkat(AT_FDCWD, l->proc, dir_fd, name, AT_SYMLINK_FOLLOW) >= 0)
                return 0;
        if (errno != EEXIST)
                return -errno;
        /* Already a link to our copy: nothing to do (a rename over it would leave the temporary name). */
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && st.st_dev == l->entry->dev &&
            st.st_ino == l->entry->ino)
                return 0;
        return -EEXIST;
}

/*
 * Makes dst_name in dst_dir_fd a hard link to the copy made before. The copy is looked up beneath the
 * destination base with no symlink allowed on the way, and must still be the inode we wrote: whatever
 * happened in the destination meanwhile, the link goes to our copy or not at all. -ESTALE, -ENOENT,
 * -ELOOP, -EXDEV, -EMLINK: the caller copies the data again instead.
 */
static int hardlink_make(CopyContext *ctx, const HardlinkEntry *h, int dst_dir_fd, const char *dst_name) {
        char proc[sizeof("/proc/self/fd/") + 12], tmp[NAME_MAX + 1];
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        fd = openat2_retry(
                ctx->base_fd,
                h->rel,
                O_PATH | O_NOFOLLOW,
                RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_dev != h->dev || st.st_ino != h->ino)
                return -ESTALE;

        (void) snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fd);
        r = entry_make(ctx, dst_dir_fd, dst_name, hardlink_make_one, &(HardlinkMake){ h, proc }, tmp);
        return entry_commit(dst_dir_fd, dst_name, tmp, r);
}

/*
 * A new regular file for 'name' in dir_fd, always under a temporary name (tmp) that entry_commit() renames
 * to 'name' once it is complete: a copy that is cut off (wardend killed) never leaves a partial file under
 * the final name, only a temporary one, which the next copy into that directory removes
 * (remove_stale_tmp()). It belongs to the copy's owner from the start. -EISDIR: a directory is in the way.
 */
static int file_make_tmp(CopyContext *ctx, int dir_fd, const char *name, char tmp[static NAME_MAX + 1]) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        tmp[0] = '\0';
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                if (S_ISDIR(st.st_mode))
                        return -EISDIR;
        } else if (errno != ENOENT)
                return -errno;
        for (unsigned i = 0;; i++) {
                tmp_name(ctx, tmp);
                fd = openat(
                        dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
                if (fd >= 0 || errno != EEXIST || i >= TMP_NAME_TRIES)
                        break;
        }
        if (fd < 0) {
                tmp[0] = '\0';
                return -errno;
        }
        if (chown_wanted(ctx) && fchown(fd, ctx->options->uid, ctx->options->gid) < 0) {
                int r = -errno;

                (void) unlinkat(dir_fd, tmp, 0);
                tmp[0] = '\0';
                return r;
        }
        return TAKE_FD(fd);
}

static int copy_regular(
        CopyContext *ctx,
        int src_dir_fd,
        const char *src_name,
        const struct stat *st,
        int dst_dir_fd,
        const char *dst_name,
        const char *rel) {
        _cleanup_close_ int path_fd = -EBADF, src_fd = -EBADF, dst_fd = -EBADF;
        char key[INODE_KEY_MAX], tmp[NAME_MAX + 1];
        HardlinkEntry *h = NULL;
        struct stat sst;
        int r;

        if (st->st_nlink > 1) {
                inode_key(key, st->st_dev, st->st_ino);
                h = hashmap_get(ctx->hardlinks, key);
                if (h) {
                        r = hardlink_make(ctx, h, dst_dir_fd, dst_name);
                        if (r >= 0) {
                                ctx->stats.hardlinks++;
                                return 0;
                        }
                        if (!IN_SET(r, -ESTALE, -ENOENT, -ELOOP, -ENOTDIR, -EXDEV, -EMLINK))
                                return fail(ctx, rel, r);
                        log_debug_errno(r, "Cannot link '%s' to its first copy, copying it again: %m", rel);
                }
        }

        /* Opened as O_PATH and checked before it is opened for reading: a FIFO or device node that replaced
         * the file is never opened. */
        path_fd = openat(src_dir_fd, src_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (path_fd < 0)
                return fail(ctx, rel, -errno);
        if (fstat(path_fd, &sst) < 0)
                return fail(ctx, rel, -errno);
        if (!S_ISREG(sst.st_mode) || sst.st_dev != st->st_dev || sst.st_ino != st->st_ino)
                return fail(ctx, rel, -ESTALE);
        src_fd = reopen_fd(path_fd, O_RDONLY | O_NONBLOCK);
        if (src_fd < 0)
                return fail(ctx, rel, src_fd);

        dst_fd = file_make_tmp(ctx, dst_dir_fd, dst_name, tmp);
        if (dst_fd < 0)
                return fail(ctx, rel, dst_fd);

        r = copy_data(ctx, src_fd, dst_fd);
        if (r >= 0)
                r = fix_metadata(ctx, dst_fd, file_mode(ctx, st), st);
        r = entry_commit(dst_dir_fd, dst_name, tmp, r);
        if (r < 0)
                return fail(ctx, rel, r);
        ctx->stats.files++;

        if (st->st_nlink > 1 && !h) {
                r = hardlink_remember(ctx, key, rel, dst_fd);
                if (r < 0)
                        return fail(ctx, rel, r);
        }
        return 0;
}

static int symlink_make(int dir_fd, const char *name, void *userdata) {
        return RET_NERRNO(symlinkat(userdata, dir_fd, name));
}

static int copy_symlink(
        CopyContext *ctx,
        int src_dir_fd,
        const char *src_name,
        const struct stat *st,
        int dst_dir_fd,
        const char *dst_name,
        const char *rel) {
        char target[PATH_MAX + 1], tmp[NAME_MAX + 1];
        _cleanup_close_ int fd = -EBADF;
        struct timespec ts[2];
        struct stat lst;
        const char *name;
        ssize_t n;
        int r;

        n = readlinkat(src_dir_fd, src_name, target, sizeof(target));
        if (n < 0)
                return fail(ctx, rel, errno == EINVAL ? -ESTALE : -errno); /* no longer a symlink */
        if ((size_t) n >= sizeof(target))
                return fail(ctx, rel, -ENAMETOOLONG);
        target[n] = '\0';

        r = entry_make(ctx, dst_dir_fd, dst_name, symlink_make, target, tmp);
        if (r < 0)
                return fail(ctx, rel, r);
        name = tmp[0] ? tmp : dst_name;

        /* The owner is changed through an fd of what we just made, checked to be a symlink: were it swapped
         * for something else meanwhile, that something is not handed to the new owner. */
        fd = openat(dst_dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                r = -errno;
        else if (fstat(fd, &lst) < 0)
                r = -errno;
        else if (!S_ISLNK(lst.st_mode))
                r = -ESTALE;
        else if (
                chown_wanted(ctx) &&
                fchownat(fd, "", ctx->options->uid, ctx->options->gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) <
                        0)
                r = -errno;
        else
                r = RET_NERRNO(utimensat(dst_dir_fd, name, stat_times(st, ts), AT_SYMLINK_NOFOLLOW));
        r = entry_commit(dst_dir_fd, dst_name, tmp, r);
        if (r < 0)
                return fail(ctx, rel, r);
        ctx->stats.symlinks++;
        return 0;
}

static bool inode_created(CopyContext *ctx, const struct stat *st) {
        char key[INODE_KEY_MAX];

        inode_key(key, st->st_dev, st->st_ino);
        return hashmap_get(ctx->created, key);
}

static int inode_remember_created(CopyContext *ctx, int fd) {
        InodeEntry *e;
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return -errno;
        e = calloc(1, sizeof(InodeEntry));
        if (!e)
                return -ENOMEM;
        inode_key(e->key, st.st_dev, st.st_ino);
        r = hashmap_put(ctx->created, e->key, e);
        if (r < 0)
                free(e);
        return r == -EEXIST ? 0 : r;
}

/*
 * Opens directory 'name' in dir_fd as a destination: made (mode 0700 and ours until it is complete) if
 * missing, merged into if it is a directory, made after removing what is there
 * otherwise. Returns its fd; *ret_created tells whether we made it.
 */
static int dir_make(CopyContext *ctx, int dir_fd, const char *name, bool *ret_created) {
        _cleanup_close_ int fd = -EBADF;
        bool created = true;
        struct stat st;
        int r;

        if (mkdirat(dir_fd, name, 0700) < 0) {
                if (errno != EEXIST)
                        return -errno;
                if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                if (S_ISDIR(st.st_mode))
                        created = false;
                else if (unlinkat(dir_fd, name, 0) < 0 || mkdirat(dir_fd, name, 0700) < 0)
                        return -errno;
        }
        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (created) {
                /* Ours, not one somebody moved in its place since mkdirat() */
                if (fstat(fd, &st) < 0)
                        return -errno;
                if (st.st_uid != geteuid())
                        return -ESTALE;
                /* The owner and mode come when it is complete (fix_metadata()): until then nobody but us
                 * can put anything into it. */
                r = inode_remember_created(ctx, fd);
                if (r < 0)
                        return r;
        }
        *ret_created = created;
        return TAKE_FD(fd);
}

/* Copies every entry of the directory src_fd (taken over) into dst_fd. */
static int copy_children(CopyContext *ctx, int src_fd, int dst_fd, const char *rel, unsigned depth) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_close_ int fd = src_fd;
        int r;

        d = fdopendir(fd);
        if (!d)
                return fail(ctx, rel, -errno);
        fd = -EBADF; /* owned by d now */

        for (;;) {
                _cleanup_free_ char *child = NULL;
                struct dirent *de;
                struct stat st;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return fail(ctx, rel, -errno);
                        return 0;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (cancelled(ctx))
                        return fail(ctx, rel, -ECANCELED);

                if (asprintf(&child, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) < 0)
                        return fail(ctx, rel, -ENOMEM);
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT) {
                                log_debug("'%s' vanished while copying, skipping it.", child);
                                continue;
                        }
                        return fail(ctx, child, -errno);
                }
                r = copy_entry(ctx, dirfd(d), de->d_name, &st, dst_fd, de->d_name, child, depth);
                if (r < 0)
                        return r;
        }
}

/* src_fd: the source directory if open already (not taken over), else it is opened from src_dir_fd. */
static int copy_directory(
        CopyContext *ctx,
        int src_dir_fd,
        const char *src_name,
        int src_fd,
        const struct stat *st,
        int dst_dir_fd,
        const char *dst_name,
        const char *rel,
        unsigned depth) {
        _cleanup_close_ int fd = -EBADF, dst_fd = -EBADF;
        bool created;
        struct stat sst;
        int r;

        if (depth >= COPY_DEPTH_MAX)
                return fail(ctx, rel, -ELOOP);

        if (src_fd >= 0)
                fd = fcntl(src_fd, F_DUPFD_CLOEXEC, 3);
        else
                fd = openat(
                        src_dir_fd, src_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return fail(ctx, rel, errno == ENOTDIR || errno == ELOOP ? -ESTALE : -errno);
        if (fstat(fd, &sst) < 0)
                return fail(ctx, rel, -errno);
        if (sst.st_dev != st->st_dev || sst.st_ino != st->st_ino)
                return fail(ctx, rel, -ESTALE);
        if (inode_created(ctx, &sst)) {
                log_full_errno_container(
                        LOG_NOTICE,
                        0,
                        ctx->options->container,
                        "Not copying '%s' into itself, skipping it.",
                        rel);
                ctx->stats.skipped++;
                return 0;
        }
        /* a shared offset with src_fd: start at the beginning */
        if (src_fd >= 0 && lseek(fd, 0, SEEK_SET) < 0)
                return fail(ctx, rel, -errno);

        dst_fd = dir_make(ctx, dst_dir_fd, dst_name, &created);
        if (dst_fd < 0)
                return fail(ctx, rel, dst_fd);
        if (!created)
                remove_stale_tmp(dst_fd);

        r = copy_children(ctx, TAKE_FD(fd), dst_fd, rel, depth + 1);
        if (r < 0)
                return r;

        if (created) {
                r = fix_metadata(ctx, dst_fd, dir_mode(ctx, st), st);
                if (r < 0)
                        return fail(ctx, rel, r);
                ctx->stats.directories++;
        }
        return 0;
}

static int copy_entry(
        CopyContext *ctx,
        int src_dir_fd,
        const char *src_name,
        const struct stat *st,
        int dst_dir_fd,
        const char *dst_name,
        const char *rel,
        unsigned depth) {

        if (cancelled(ctx))
                return fail(ctx, rel, -ECANCELED);

        switch (st->st_mode & S_IFMT) {
        case S_IFREG:
                return copy_regular(ctx, src_dir_fd, src_name, st, dst_dir_fd, dst_name, rel);
        case S_IFDIR:
                return copy_directory(
                        ctx, src_dir_fd, src_name, -EBADF, st, dst_dir_fd, dst_name, rel, depth);
        case S_IFLNK:
                return copy_symlink(ctx, src_dir_fd, src_name, st, dst_dir_fd, dst_name, rel);
        default:
                log_full_errno_container(
                        LOG_NOTICE,
                        0,
                        ctx->options->container,
                        "Not copying '%s': not a regular file, directory or symbolic link.",
                        rel);
                ctx->stats.skipped++;
                return 0;
        }
}

static void copy_context_done(CopyContext *ctx) {
        HardlinkEntry *h;
        InodeEntry *e;

        HASHMAP_FOREACH(h, ctx->hardlinks) {
                hashmap_remove(ctx->hardlinks, h->key);
                free(h->rel);
                free(h);
        }
        hashmap_free(ctx->hardlinks);
        HASHMAP_FOREACH(e, ctx->created) {
                hashmap_remove(ctx->created, e->key);
                free(e);
        }
        hashmap_free(ctx->created);
        free(ctx->failed);
        free(ctx->buffer);
}

static int copy_plan_run(CopyPlan *p, CopyContext *ctx) {
        _cleanup_free_ char *top = NULL;
        _cleanup_close_ int made_fd = -EBADF;
        int dst_fd = p->dst_fd;
        bool created = false;
        int r;

        remove_stale_tmp(p->dst_fd);
        if (!p->dst_name) {
                _cleanup_close_ int fd = fcntl(p->src_fd, F_DUPFD_CLOEXEC, 3);

                if (fd < 0)
                        return fail(ctx, "", -errno);
                if (lseek(fd, 0, SEEK_SET) < 0)
                        return fail(ctx, "", -errno);
                return copy_children(ctx, TAKE_FD(fd), dst_fd, "", 0);
        }

        if (p->dst_mkdir) {
                made_fd = dir_make(ctx, p->dst_fd, p->dst_mkdir, &created);
                if (made_fd < 0)
                        return fail(ctx, p->dst_mkdir, made_fd);
                if (!created)
                        remove_stale_tmp(made_fd);
                dst_fd = made_fd;
        }

        if (asprintf(&top, "%s%s%s", strempty(p->dst_mkdir), p->dst_mkdir ? "/" : "", p->dst_name) < 0)
                return -ENOMEM;
        if (p->src_name)
                r = copy_entry(ctx, p->src_fd, p->src_name, &p->src_st, dst_fd, p->dst_name, top, 0);
        else
                r = copy_directory(ctx, -EBADF, NULL, p->src_fd, &p->src_st, dst_fd, p->dst_name, top, 0);
        if (r < 0)
                return r;

        if (p->dst_mkdir && created) {
                r = fix_metadata(ctx, made_fd, 0755, NULL);
                if (r < 0)
                        return fail(ctx, p->dst_mkdir, r);
                ctx->stats.directories++;
        }
        return 0;
}

int copy_plan_execute(CopyPlan *p, const CopyOptions *o, CopyStats *ret_stats, char **reterr_message) {
        CopyContext ctx = {
                .options = o,
                .base_fd = p->dst_fd,
        };
        int r;

        assert(p && o);

        ctx.hardlinks = hashmap_new();
        ctx.created = hashmap_new();
        if (!ctx.hardlinks || !ctx.created)
                r = -ENOMEM;
        else
                r = copy_plan_run(p, &ctx);

        if (r < 0) {
                const char *where = strempty(ctx.failed);

                if (r == -ECANCELED)
                        (void) set_message(
                                reterr_message,
                                r,
                                "Copying '%s' to '%s' was cancelled.",
                                p->src_path,
                                p->dst_path);
                else
                        (void) set_message(
                                reterr_message,
                                r,
                                "Copying '%s' to '%s' failed%s%s%s: %s",
                                p->src_path,
                                p->dst_path,
                                where[0] ? " at '" : "",
                                where,
                                where[0] ? "'" : "",
                                r == -ELOOP ? "too many levels of directories or symbolic links"
                                            : strerror(-r));
        }
        if (ret_stats)
                *ret_stats = ctx.stats;
        copy_context_done(&ctx);
        return r;
}

int copy_tree(
        int src_root_fd,
        const char *src,
        int dst_root_fd,
        const char *dst,
        const CopyOptions *o,
        CopyStats *ret_stats,
        char **reterr_message) {
        _cleanup_(copy_plan_freep) CopyPlan *p = NULL;
        int r;

        r = copy_plan_new(src_root_fd, src, dst_root_fd, dst, &p, reterr_message);
        if (r < 0)
                return r;
        return copy_plan_execute(p, o, ret_stats, reterr_message);
}

/* ---- owners -------------------------------------------------------------------------------------- */

static bool all_digits(const char *s, size_t n) {
        return n > 0 && strspn(s, "0123456789") >= n;
}

/* A user or group name as useradd accepts them, or a number. */
static bool owner_part_valid(const char *s, size_t n) {
        size_t k;

        if (n == 0 || n > 32)
                return false;
        if (all_digits(s, n))
                return true;
        if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
                return false;
        k = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
        return k == n || (k == n - 1 && s[k] == '$');
}

int copy_owner_check(const char *owner) {
        const char *colon;

        if (!owner)
                return -EINVAL;
        colon = strchr(owner, ':');
        if (!colon)
                return owner_part_valid(owner, strlen(owner)) ? 0 : -EINVAL;
        if (!owner_part_valid(owner, (size_t) (colon - owner)) ||
            !owner_part_valid(colon + 1, strlen(colon + 1)))
                return -EINVAL;
        return 0;
}

static int parse_id(const char *s, uint32_t *ret) {
        uint32_t v;
        int r;

        r = parse_uint32(s, &v);
        if (r < 0)
                return r;
        if (v == UINT32_MAX) /* (uid_t) -1 */
                return -EINVAL;
        *ret = v;
        return 0;
}

/* getpwnam_r()/getpwuid_r() with a buffer that grows as needed. name NULL: by uid. */
static int lookup_user(const char *name, uid_t uid, uid_t *ret_uid, gid_t *ret_gid) {
        for (size_t size = 4096; size <= 1024 * 1024; size *= 2) {
                _cleanup_free_ char *buf = malloc(size);
                struct passwd pw, *result = NULL;
                int r;

                if (!buf)
                        return -ENOMEM;
                r = name ? getpwnam_r(name, &pw, buf, size, &result)
                         : getpwuid_r(uid, &pw, buf, size, &result);
                if (r == ERANGE)
                        continue;
                if (r != 0)
                        return -r;
                if (!result)
                        return -ESRCH;
                *ret_uid = result->pw_uid;
                *ret_gid = result->pw_gid;
                return 0;
        }
        return -ERANGE;
}

static int lookup_group(const char *name, gid_t *ret_gid) {
        for (size_t size = 4096; size <= 1024 * 1024; size *= 2) {
                _cleanup_free_ char *buf = malloc(size);
                struct group gr, *result = NULL;
                int r;

                if (!buf)
                        return -ENOMEM;
                r = getgrnam_r(name, &gr, buf, size, &result);
                if (r == ERANGE)
                        continue;
                if (r != 0)
                        return -r;
                if (!result)
                        return -ESRCH;
                *ret_gid = result->gr_gid;
                return 0;
        }
        return -ERANGE;
}

int copy_owner_resolve(const char *owner, uid_t *ret_uid, gid_t *ret_gid) {
        _cleanup_free_ char *user = NULL;
        const char *group;
        uid_t uid = UID_INVALID; /* set on every path; gcc -O3 (the NDEBUG build) cannot tell */
        gid_t gid = GID_INVALID;
        uint32_t v;
        int r;

        assert(ret_uid);
        assert(ret_gid);

        r = copy_owner_check(owner);
        if (r < 0)
                return r;
        user = strdup(owner);
        if (!user)
                return -ENOMEM;
        group = strchr(user, ':');
        if (group)
                *(char *) group++ = '\0';

        if (all_digits(user, strlen(user))) {
                r = parse_id(user, &v);
                if (r < 0)
                        return -EINVAL;
                uid = v;
                if (!group) {
                        /* its primary group, which only the user database knows */
                        r = lookup_user(NULL, uid, &uid, &gid);
                        if (r < 0)
                                return r;
                }
        } else {
                r = lookup_user(user, 0, &uid, &gid);
                if (r < 0)
                        return r;
        }

        if (group) {
                if (all_digits(group, strlen(group))) {
                        r = parse_id(group, &v);
                        if (r < 0)
                                return -EINVAL;
                        gid = v;
                } else {
                        r = lookup_group(group, &gid);
                        if (r < 0)
                                return r;
                }
        }

        *ret_uid = uid;
        *ret_gid = gid;
        return 0;
}
