/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The copy engine, without root: a fake "container root" in a temporary directory, with symlinks planted in
 * it that point outside; the host side is the temporary directory itself.
 */

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "copy.h"
#include "fileio.h"
#include "path-util.h"
#include "tests.h"

/* Formatted paths, kept until arena_clear() at the end of each test. */
static char **arena = NULL;
static size_t arena_n = 0;

static char *P(const char *format, ...) __attribute__((format(printf, 1, 2)));
static char *P(const char *format, ...) {
        va_list ap;
        char *s, **a;

        va_start(ap, format);
        ASSERT_TRUE(vasprintf(&s, format, ap) >= 0);
        va_end(ap);
        a = reallocarray(arena, arena_n + 1, sizeof(char *));
        ASSERT_NOT_NULL(a);
        arena = a;
        arena[arena_n++] = s;
        return s;
}

static void arena_clear(void) {
        for (size_t i = 0; i < arena_n; i++)
                free(arena[i]);
        arena = mfree(arena);
        arena_n = 0;
}

/* The engine needs openat2() (Linux >= 5.6); valgrind 3.19 does not know the system call. */
static void require_openat2(void) {
        struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
        long fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));

        if (fd < 0 && errno == ENOSYS)
                tests_skip("openat2() is not available here (under valgrind?)");
        if (fd >= 0)
                close((int) fd);
}

static void write_text(const char *path, const char *text, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(loop_write(fd, text, strlen(text)));
        ASSERT_EQ(fchmod(fd, mode), 0);
        ASSERT_EQ(close(fd), 0);
}

static void assert_text(const char *path, const char *expected) {
        char *s = NULL;

        ASSERT_OK(read_full_file(path, 64 * 1024 * 1024, &s, NULL));
        ASSERT_STREQ(s, expected);
        free(s);
}

static struct stat lstat_ok(const char *path) {
        struct stat st;

        if (lstat(path, &st) < 0)
                tests_fail(__FILE__, __LINE__, "lstat %s: %m", path);
        return st;
}

static bool exists(const char *path) {
        struct stat st;

        return lstat(path, &st) >= 0;
}

static void assert_link(const char *path, const char *target) {
        char buf[4096];
        ssize_t n = readlink(path, buf, sizeof(buf) - 1);

        ASSERT_TRUE(n >= 0);
        buf[n] = '\0';
        ASSERT_STREQ(buf, target);
}

static void set_mtime(const char *path, time_t t) {
        struct timespec ts[2] = { { .tv_sec = t }, { .tv_sec = t } };

        ASSERT_EQ(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

#define MODE(st) ((st).st_mode & 07777)

/* A fresh directory "<tmp>/<name>". */
static char *mkdir_fresh(const char *name) {
        char *p;

        require_openat2();
        p = P("%s/%s", tests_tmpdir(), name);

        ASSERT_EQ(mkdir(p, 0755), 0);
        return p;
}

/*
 * <tmp>/<name>/tree (0750):
 *     script.sh 0755, data 0644 (+ hard and sub/hard2, hard links of it), setuid 04755, link -> script.sh,
 *     abs -> /etc/passwd, sub/nested/deep.txt (0711 and 0600), empty/ 0700, fifo;
 * mtimes 1000000000 + something.
 */
static char *make_tree(const char *name) {
        char *t = P("%s/tree", mkdir_fresh(name));

        ASSERT_EQ(mkdir(t, 0750), 0);
        write_text(P("%s/script.sh", t), "#!/bin/sh\necho hi\n", 0755);
        write_text(P("%s/data", t), "data\n", 0644);
        write_text(P("%s/setuid", t), "x", 04755);
        ASSERT_EQ(symlink("script.sh", P("%s/link", t)), 0);
        ASSERT_EQ(symlink("/etc/passwd", P("%s/abs", t)), 0);
        ASSERT_EQ(mkdir(P("%s/sub", t), 0755), 0);
        ASSERT_EQ(mkdir(P("%s/sub/nested", t), 0711), 0);
        write_text(P("%s/sub/nested/deep.txt", t), "deep\n", 0600);
        ASSERT_EQ(mkdir(P("%s/empty", t), 0700), 0);
        ASSERT_EQ(mkfifo(P("%s/fifo", t), 0644), 0);
        ASSERT_EQ(link(P("%s/data", t), P("%s/hard", t)), 0);
        ASSERT_EQ(link(P("%s/data", t), P("%s/sub/hard2", t)), 0);
        set_mtime(P("%s/script.sh", t), 1000000001);
        set_mtime(P("%s/data", t), 1000000002);
        set_mtime(P("%s/link", t), 1000000003);
        set_mtime(P("%s/sub/nested/deep.txt", t), 1000000004);
        set_mtime(P("%s/sub/nested", t), 1000000005);
        set_mtime(P("%s/sub", t), 1000000006);
        set_mtime(t, 1000000007);
        return t;
}

/* Checks a copy of make_tree()'s tree at 'd'; the mtimes of its directories only if 'fresh' (a copy over
 * an earlier one changes their content, hence their mtimes). */
static void check_tree_full(const char *d, bool setid_kept, bool fresh) {
        struct stat st, st2, st3;

        st = lstat_ok(d);
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        ASSERT_EQ(MODE(st), 0750);
        if (fresh)
                ASSERT_EQ(st.st_mtim.tv_sec, 1000000007);

        st = lstat_ok(P("%s/script.sh", d));
        ASSERT_TRUE(S_ISREG(st.st_mode));
        ASSERT_EQ(MODE(st), 0755);
        ASSERT_EQ(st.st_mtim.tv_sec, 1000000001);
        assert_text(P("%s/script.sh", d), "#!/bin/sh\necho hi\n");

        st = lstat_ok(P("%s/data", d));
        ASSERT_EQ(MODE(st), 0644);
        ASSERT_EQ(st.st_mtim.tv_sec, 1000000002);
        ASSERT_EQ(st.st_nlink, 3);
        assert_text(P("%s/data", d), "data\n");
        st2 = lstat_ok(P("%s/hard", d));
        st3 = lstat_ok(P("%s/sub/hard2", d));
        ASSERT_EQ(st.st_ino, st2.st_ino);
        ASSERT_EQ(st.st_ino, st3.st_ino);

        st = lstat_ok(P("%s/setuid", d));
        ASSERT_EQ(MODE(st), setid_kept ? 04755 : 0755);

        st = lstat_ok(P("%s/link", d));
        ASSERT_TRUE(S_ISLNK(st.st_mode));
        ASSERT_EQ(st.st_mtim.tv_sec, 1000000003);
        assert_link(P("%s/link", d), "script.sh");
        assert_link(P("%s/abs", d), "/etc/passwd");

        st = lstat_ok(P("%s/sub", d));
        if (fresh)
                ASSERT_EQ(st.st_mtim.tv_sec, 1000000006);
        st = lstat_ok(P("%s/sub/nested", d));
        ASSERT_EQ(MODE(st), 0711);
        if (fresh)
                ASSERT_EQ(st.st_mtim.tv_sec, 1000000005);
        st = lstat_ok(P("%s/sub/nested/deep.txt", d));
        ASSERT_EQ(MODE(st), 0600);
        ASSERT_EQ(st.st_mtim.tv_sec, 1000000004);
        assert_text(P("%s/sub/nested/deep.txt", d), "deep\n");
        st = lstat_ok(P("%s/empty", d));
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        ASSERT_EQ(MODE(st), 0700);

        ASSERT_FALSE(exists(P("%s/fifo", d))); /* skipped */
}

static void check_tree(const char *d, bool setid_kept) {
        check_tree_full(d, setid_kept, true);
}

static int root_open(const char *path) {
        int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

        ASSERT_TRUE(fd >= 0);
        return fd;
}

static const CopyOptions plain = {
        .uid = UID_INVALID,
        .gid = GID_INVALID,
};

TEST(path_check) {
        static const char *const good[] = { "/", "/a", "/a/b", "/a/b/", "/a.b/..c/.d" };
        static const char *const bad[] = { "",    "a",     "a/b",  "//",   "/a//b", "/a/../b",
                                           "/..", "/a/..", "/./a", "/a/.", "/a//",  "/a/b//" };
        bool slash;

        FOREACH_ARRAY(p, good, ELEMENTSOF(good))
                ASSERT_OK(copy_path_check(*p, NULL));
        FOREACH_ARRAY(p, bad, ELEMENTSOF(bad))
                ASSERT_ERROR(copy_path_check(*p, NULL), EINVAL);
        ASSERT_OK(copy_path_check("/a/b/", &slash));
        ASSERT_TRUE(slash);
        ASSERT_OK(copy_path_check("/a/b", &slash));
        ASSERT_FALSE(slash);
        ASSERT_OK(copy_path_check("/", &slash));
        ASSERT_FALSE(slash);

        ASSERT_EQ(path_is_normalized("/a/b"), 1);
        ASSERT_EQ(path_is_normalized("/"), 1);
        ASSERT_EQ(path_is_normalized("/a/b/"), 0);
        ASSERT_EQ(path_is_normalized("a/b"), 0);
        ASSERT_EQ(path_is_normalized("/a/./b"), 0);
        ASSERT_EQ(path_is_normalized("/a/../b"), 0);
}

TEST(copy_in_tree) {
        char *tree = make_tree("in"), *root = mkdir_fresh("in-root");
        int root_fd = root_open(root);
        CopyOptions keep = plain;
        CopyStats stats = {};
        char *message = NULL;

        /* dst missing: the tree becomes /app */
        ASSERT_OK(copy_tree(AT_FDCWD, tree, root_fd, "/app", &plain, &stats, &message));
        ASSERT_NULL(message);
        check_tree(P("%s/app", root), false);
        ASSERT_EQ(stats.files, 4);       /* script.sh data setuid deep.txt */
        ASSERT_EQ(stats.hardlinks, 2);   /* hard, sub/hard2 */
        ASSERT_EQ(stats.symlinks, 2);    /* link abs */
        ASSERT_EQ(stats.directories, 4); /* app sub nested empty */
        ASSERT_EQ(stats.skipped, 1);     /* fifo */
        ASSERT_EQ(stats.bytes, strlen("#!/bin/sh\necho hi\n") + strlen("data\n") + 1 + strlen("deep\n"));

        /* dst an existing directory: into it, as /app/tree */
        ASSERT_OK(copy_tree(AT_FDCWD, tree, root_fd, "/app", &plain, NULL, NULL));
        check_tree(P("%s/app/tree", root), false);

        /* into "/": /tree; setuid kept when asked */
        keep.keep_setid = true;
        ASSERT_OK(copy_tree(AT_FDCWD, tree, root_fd, "/", &keep, NULL, NULL));
        check_tree(P("%s/tree", root), true);

        /* a second copy over the first: merged, still right; existing directories keep their mode */
        ASSERT_EQ(chmod(P("%s/app/tree/sub", root), 0700), 0);
        ASSERT_OK(copy_tree(AT_FDCWD, tree, root_fd, "/app", &plain, NULL, NULL));
        ASSERT_EQ(MODE(lstat_ok(P("%s/app/tree/sub", root))), 0700);
        ASSERT_EQ(chmod(P("%s/app/tree/sub", root), 0755), 0);
        check_tree_full(P("%s/app/tree", root), false, false);

        /* no temporary file left anywhere */
        ASSERT_EQ(system(P("test -z \"$(find %s -name '.#*')\"", root)), 0);
        close(root_fd);
        arena_clear();
}

TEST(trailing_slash) {
        char *tree = make_tree("slash"), *root = mkdir_fresh("slash-root"), *all;
        int root_fd = root_open(root);
        struct stat st;

        /* "tree/" to a missing dst: dst is a copy of the directory */
        ASSERT_OK(copy_tree(AT_FDCWD, P("%s/", tree), root_fd, "/new", &plain, NULL, NULL));
        check_tree(P("%s/new", root), false);

        /* "tree/" to an existing dst: the contents go in; dst keeps its own mode */
        ASSERT_EQ(mkdir(P("%s/existing", root), 0711), 0);
        ASSERT_OK(copy_tree(AT_FDCWD, P("%s/", tree), root_fd, "/existing", &plain, NULL, NULL));
        st = lstat_ok(P("%s/existing", root));
        ASSERT_EQ(MODE(st), 0711);
        assert_text(P("%s/existing/script.sh", root), "#!/bin/sh\necho hi\n");
        assert_link(P("%s/existing/link", root), "script.sh");
        ASSERT_FALSE(exists(P("%s/existing/tree", root)));

        /* "dst/" missing: made (0755), src goes into it */
        ASSERT_OK(copy_tree(AT_FDCWD, tree, root_fd, "/made/", &plain, NULL, NULL));
        st = lstat_ok(P("%s/made", root));
        ASSERT_EQ(MODE(st), 0755);
        check_tree(P("%s/made/tree", root), false);

        /* "dst/" that is a file, "src/" that is a file: refused */
        write_text(P("%s/file", root), "f", 0644);
        ASSERT_ERROR(copy_tree(AT_FDCWD, tree, root_fd, "/file/", &plain, NULL, NULL), ENOTDIR);
        ASSERT_ERROR(copy_tree(AT_FDCWD, P("%s/data/", tree), root_fd, "/x", &plain, NULL, NULL), ENOTDIR);
        ASSERT_FALSE(exists(P("%s/x", root)));

        /* "/" as the source: the contents of the root */
        all = mkdir_fresh("slash-all");
        ASSERT_OK(copy_tree(root_fd, "/", AT_FDCWD, all, &plain, NULL, NULL));
        assert_text(P("%s/file", all), "f");
        check_tree(P("%s/new", all), false);

        close(root_fd);
        arena_clear();
}

TEST(file_over_file) {
        char *host = mkdir_fresh("over"), *root = mkdir_fresh("over-root"), *message = NULL;
        int root_fd = root_open(root);
        size_t n = 3 * 1024 * 1024 + 17;
        char *big, *got = NULL;
        struct stat st;

        write_text(P("%s/file", host), "new\n", 0640);
        set_mtime(P("%s/file", host), 1234567890);
        write_text(P("%s/f", root), "old\n", 0600);
        ASSERT_EQ(link(P("%s/f", root), P("%s/f2", root)), 0);

        /* replaced, not written through: the other name of the old file keeps the old content */
        ASSERT_OK(copy_tree(AT_FDCWD, P("%s/file", host), root_fd, "/f", &plain, NULL, NULL));
        assert_text(P("%s/f", root), "new\n");
        assert_text(P("%s/f2", root), "old\n");
        st = lstat_ok(P("%s/f", root));
        ASSERT_EQ(MODE(st), 0640);
        ASSERT_EQ(st.st_mtim.tv_sec, 1234567890);
        ASSERT_EQ(st.st_nlink, 1);

        /* a directory cannot replace a file at the top; a directory in the way of a file below it stays */
        ASSERT_ERROR(copy_tree(AT_FDCWD, host, root_fd, "/f", &plain, NULL, &message), ENOTDIR);
        ASSERT_NOT_NULL(message);
        free(message);
        message = NULL;
        ASSERT_EQ(mkdir(P("%s/file", root), 0755), 0);
        ASSERT_ERROR(copy_tree(AT_FDCWD, P("%s/", host), root_fd, "/", &plain, NULL, &message), EISDIR);
        ASSERT_TRUE(strstr(message, "at 'file'") != NULL);
        free(message);
        ASSERT_TRUE(S_ISDIR(lstat_ok(P("%s/file", root)).st_mode));

        /* empty and big files (more than one copy_file_range() chunk) */
        write_text(P("%s/empty", host), "", 0644);
        big = malloc(n + 1);
        ASSERT_NOT_NULL(big);
        for (size_t i = 0; i < n; i++)
                big[i] = (char) ('a' + i % 23);
        big[n] = '\0';
        write_text(P("%s/big", host), big, 0644);
        ASSERT_OK(copy_tree(AT_FDCWD, host, root_fd, "/", &plain, NULL, NULL));
        ASSERT_OK(read_full_file(P("%s/over/big", root), n + 1, &got, NULL));
        ASSERT_TRUE(strcmp(got, big) == 0);
        free(got);
        free(big);
        ASSERT_EQ(lstat_ok(P("%s/over/empty", root)).st_size, 0);

        close(root_fd);
        arena_clear();
}

/* Writes: symlinks planted in the root never make a copy land outside of it. */
TEST(write_escape) {
        char *host = mkdir_fresh("wesc"), *root = mkdir_fresh("wesc-root"),
             *outside = mkdir_fresh("wesc-out");
        char *outside_name = strrchr(outside, '/') + 1, *src = P("%s/evil", host), *tree;
        int root_fd = root_open(root);
        struct stat st;

        write_text(src, "payload\n", 0644);
        write_text(P("%s/target", outside), "precious\n", 0644);
        ASSERT_EQ(mkdir(P("%s/tmp", root), 01777), 0);
        ASSERT_EQ(symlink(outside, P("%s/tmp/x", root)), 0); /* absolute: a host path */
        ASSERT_EQ(symlink("/", P("%s/tmp/slash", root)), 0);
        ASSERT_EQ(symlink(P("../../%s", outside_name), P("%s/tmp/y", root)), 0); /* ../.. of the root */

        /* through a symlinked parent: resolved inside the root, where that path does not exist */
        ASSERT_ERROR(copy_tree(AT_FDCWD, src, root_fd, "/tmp/x/evil", &plain, NULL, NULL), ENOENT);
        ASSERT_ERROR(copy_tree(AT_FDCWD, src, root_fd, "/tmp/y/evil", &plain, NULL, NULL), ENOENT);
        ASSERT_FALSE(exists(P("%s/evil", outside)));

        /* where it exists inside, it lands inside */
        ASSERT_EQ(mkdir(P("%s/%s", root, outside_name), 0755), 0);
        ASSERT_OK(copy_tree(AT_FDCWD, src, root_fd, "/tmp/y/evil", &plain, NULL, NULL));
        assert_text(P("%s/%s/evil", root, outside_name), "payload\n");
        ASSERT_OK(copy_tree(AT_FDCWD, src, root_fd, "/tmp/slash/evil2", &plain, NULL, NULL));
        assert_text(P("%s/evil2", root), "payload\n");
        ASSERT_FALSE(exists(P("%s/evil", outside)));
        ASSERT_FALSE(exists(P("/evil2")));

        /* a symlink as the destination itself: refused, not followed, not replaced */
        ASSERT_ERROR(copy_tree(AT_FDCWD, src, root_fd, "/tmp/x", &plain, NULL, NULL), ELOOP);
        ASSERT_ERROR(copy_tree(AT_FDCWD, src, root_fd, "/tmp/slash", &plain, NULL, NULL), ELOOP);
        assert_link(P("%s/tmp/x", root), outside);

        /* below the top, symlinks in the way are replaced: by a directory, by a file */
        tree = mkdir_fresh("wesc/tree");
        ASSERT_EQ(mkdir(P("%s/sub", tree), 0755), 0);
        write_text(P("%s/sub/file", tree), "in sub\n", 0644);
        write_text(P("%s/target", tree), "mine\n", 0644);
        ASSERT_EQ(mkdir(P("%s/d", root), 0755), 0);
        ASSERT_EQ(mkdir(P("%s/d/tree", root), 0755), 0);
        ASSERT_EQ(symlink(outside, P("%s/d/tree/sub", root)), 0);
        ASSERT_EQ(symlink(P("%s/target", outside), P("%s/d/tree/target", root)), 0);
        ASSERT_OK(copy_tree(AT_FDCWD, tree, root_fd, "/d", &plain, NULL, NULL));
        st = lstat_ok(P("%s/d/tree/sub", root));
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        assert_text(P("%s/d/tree/sub/file", root), "in sub\n");
        st = lstat_ok(P("%s/d/tree/target", root));
        ASSERT_TRUE(S_ISREG(st.st_mode));
        assert_text(P("%s/d/tree/target", root), "mine\n");
        assert_text(P("%s/target", outside), "precious\n");
        ASSERT_FALSE(exists(P("%s/file", outside)));

        /* ".." in a path is refused before anything is resolved */
        ASSERT_ERROR(copy_tree(AT_FDCWD, src, root_fd, "/tmp/../../evil", &plain, NULL, NULL), EINVAL);

        close(root_fd);
        arena_clear();
}

/* Reads: symlinks planted in the root never make a copy read a host file. */
TEST(read_escape) {
        char *host = mkdir_fresh("resc"), *root = mkdir_fresh("resc-root"), *secret, *out, *message = NULL;
        int root_fd = root_open(root);
        struct stat st;

        write_text(secret = P("%s/secret", host), "host secret\n", 0600);
        out = mkdir_fresh("resc/out");
        ASSERT_EQ(mkdir(P("%s/tmp", root), 01777), 0);
        ASSERT_EQ(symlink(secret, P("%s/tmp/sec", root)), 0);
        ASSERT_EQ(symlink(host, P("%s/tmp/x", root)), 0);
        ASSERT_EQ(symlink("../../../../../../../../..", P("%s/tmp/up", root)), 0);
        ASSERT_EQ(mkdir(P("%s/tree", root), 0755), 0);
        ASSERT_EQ(symlink(secret, P("%s/tree/l", root)), 0);
        ASSERT_EQ(symlink(host, P("%s/tree/dirlink", root)), 0);
        write_text(P("%s/plain", root), "from the container\n", 0644);

        /* the symlink itself is copied, as a link */
        ASSERT_OK(copy_tree(root_fd, "/tmp/sec", AT_FDCWD, P("%s/sec", out), &plain, NULL, NULL));
        st = lstat_ok(P("%s/sec", out));
        ASSERT_TRUE(S_ISLNK(st.st_mode));
        assert_link(P("%s/sec", out), secret);

        /* through symlinked parents, or "src/": resolved inside the root, where there is no such file */
        ASSERT_ERROR(copy_tree(root_fd, "/tmp/x/secret", AT_FDCWD, out, &plain, NULL, &message), ENOENT);
        ASSERT_TRUE(strstr(message, "does not exist") != NULL);
        free(message);
        message = NULL;
        ASSERT_ERROR(copy_tree(root_fd, P("/tmp/up%s", secret), AT_FDCWD, out, &plain, NULL, NULL), ENOENT);
        ASSERT_ERROR(copy_tree(root_fd, "/tmp/x/", AT_FDCWD, out, &plain, NULL, NULL), ENOENT);
        ASSERT_FALSE(exists(P("%s/secret", out)));

        /* a tree with symlinks to outside: the links are copied, never followed */
        ASSERT_OK(copy_tree(root_fd, "/tree", AT_FDCWD, out, &plain, NULL, NULL));
        assert_link(P("%s/tree/l", out), secret);
        st = lstat_ok(P("%s/tree/dirlink", out));
        ASSERT_TRUE(S_ISLNK(st.st_mode));

        /* a host destination that is a symlink: refused, the file it points to untouched */
        ASSERT_EQ(symlink(secret, P("%s/dstlink", out)), 0);
        ASSERT_ERROR(
                copy_tree(root_fd, "/plain", AT_FDCWD, P("%s/dstlink", out), &plain, NULL, NULL), ELOOP);
        assert_text(secret, "host secret\n");
        assert_link(P("%s/dstlink", out), secret);

        /* the parent of the destination must exist */
        ASSERT_ERROR(
                copy_tree(root_fd, "/plain", AT_FDCWD, P("%s/no/such", out), &plain, NULL, &message),
                ENOENT);
        ASSERT_TRUE(strstr(message, "does not exist") != NULL);
        free(message);

        /* and the plain file does come out */
        ASSERT_OK(copy_tree(root_fd, "/plain", AT_FDCWD, P("%s/plain", out), &plain, NULL, NULL));
        assert_text(P("%s/plain", out), "from the container\n");

        close(root_fd);
        arena_clear();
}

/*
 * Entries in the way below the top, here in a host destination (CopyOut): a symlink is replaced (by a file,
 * a symlink or a hard link), never written through; a directory in the way of any of them is an error and
 * stays. Directories keep S_ISGID but lose S_ISUID.
 */
TEST(in_the_way) {
        static const char *const linked[] = { "f", "l", "a", "b" }, *const dirs[] = { "l", "a", "b" };
        char *root = mkdir_fresh("way-root"), *outside = mkdir_fresh("way-outside"), *message = NULL;
        int root_fd = root_open(root);
        struct stat a, b;
        char *out;

        ASSERT_EQ(mkdir(P("%s/way", root), 0755), 0);
        write_text(P("%s/way/f", root), "new\n", 0644);
        ASSERT_EQ(symlink("f", P("%s/way/l", root)), 0);
        write_text(P("%s/way/a", root), "ab\n", 0644);
        ASSERT_EQ(link(P("%s/way/a", root), P("%s/way/b", root)), 0);
        ASSERT_EQ(mkdir(P("%s/way/sgid", root), 0755), 0);
        ASSERT_EQ(chmod(P("%s/way/sgid", root), 02755), 0);
        ASSERT_EQ(mkdir(P("%s/way/suid", root), 0755), 0);
        ASSERT_EQ(chmod(P("%s/way/suid", root), 04755), 0);
        write_text(P("%s/target", outside), "precious\n", 0644);

        /* symlinks to outside in the way of a file, a symlink and both names of a hard link */
        out = mkdir_fresh("way-out");
        ASSERT_EQ(mkdir(P("%s/way", out), 0755), 0);
        FOREACH_ARRAY(name, linked, ELEMENTSOF(linked))
                ASSERT_EQ(symlink(P("%s/target", outside), P("%s/way/%s", out, *name)), 0);
        ASSERT_OK(copy_tree(root_fd, "/way", AT_FDCWD, out, &plain, NULL, NULL));
        assert_text(P("%s/target", outside), "precious\n");
        ASSERT_TRUE(S_ISREG(lstat_ok(P("%s/way/f", out)).st_mode));
        assert_text(P("%s/way/f", out), "new\n");
        assert_link(P("%s/way/l", out), "f");
        a = lstat_ok(P("%s/way/a", out));
        b = lstat_ok(P("%s/way/b", out));
        ASSERT_TRUE(S_ISREG(a.st_mode));
        ASSERT_EQ(a.st_ino, b.st_ino);
        ASSERT_EQ(a.st_nlink, 2);
        assert_text(P("%s/way/a", out), "ab\n");
        ASSERT_EQ(MODE(lstat_ok(P("%s/way/sgid", out))), 02755);
        ASSERT_EQ(MODE(lstat_ok(P("%s/way/suid", out))), 0755);
        ASSERT_EQ(system(P("test -z \"$(find %s -name '.#*')\"", out)), 0);

        /* a directory in the way of a symlink, of either name of a hard link (the first is copied, the
         * second linked, in the order of readdir()) */
        FOREACH_ARRAY(name, dirs, ELEMENTSOF(dirs)) {
                out = mkdir_fresh(P("way-out-%s", *name));
                ASSERT_EQ(mkdir(P("%s/way", out), 0755), 0);
                ASSERT_EQ(mkdir(P("%s/way/%s", out, *name), 0755), 0);
                ASSERT_ERROR(copy_tree(root_fd, "/way", AT_FDCWD, out, &plain, NULL, &message), EISDIR);
                ASSERT_TRUE(strstr(message, P("at 'way/%s'", *name)) != NULL);
                message = mfree(message);
                ASSERT_TRUE(S_ISDIR(lstat_ok(P("%s/way/%s", out, *name)).st_mode));
                ASSERT_EQ(system(P("test -z \"$(find %s -name '.#*')\"", out)), 0);
        }

        close(root_fd);
        arena_clear();
}

TEST(sources) {
        char *host = mkdir_fresh("srcs"), *root = mkdir_fresh("srcs-root");
        int root_fd = root_open(root);

        ASSERT_ERROR(copy_tree(AT_FDCWD, P("%s/missing", host), root_fd, "/x", &plain, NULL, NULL), ENOENT);
        ASSERT_ERROR(copy_tree(AT_FDCWD, "relative", root_fd, "/x", &plain, NULL, NULL), EINVAL);
        ASSERT_ERROR(copy_tree(AT_FDCWD, host, root_fd, "x", &plain, NULL, NULL), EINVAL);
        ASSERT_ERROR(copy_tree(AT_FDCWD, host, root_fd, "/a//b", &plain, NULL, NULL), EINVAL);
        /* a FIFO named as the source: refused (inside a tree it is skipped) */
        ASSERT_EQ(mkfifo(P("%s/fifo", host), 0644), 0);
        ASSERT_ERROR(copy_tree(AT_FDCWD, P("%s/fifo", host), root_fd, "/x", &plain, NULL, NULL), EINVAL);
        /* a symlink named as the source is copied as a link, even a dangling one */
        ASSERT_EQ(symlink("/nowhere", P("%s/dangling", host)), 0);
        ASSERT_OK(copy_tree(AT_FDCWD, P("%s/dangling", host), root_fd, "/d", &plain, NULL, NULL));
        assert_link(P("%s/d", root), "/nowhere");
        ASSERT_FALSE(exists(P("%s/x", root)));

        close(root_fd);
        arena_clear();
}

TEST(hardlinks_across_directories) {
        char *host = mkdir_fresh("hl"), *out = mkdir_fresh("hl-out");
        CopyStats stats = {};
        struct stat a, b, c;

        ASSERT_EQ(mkdir(P("%s/a", host), 0755), 0);
        ASSERT_EQ(mkdir(P("%s/b", host), 0755), 0);
        write_text(P("%s/a/one", host), "1", 0644);
        ASSERT_EQ(link(P("%s/a/one", host), P("%s/b/two", host)), 0);
        ASSERT_EQ(link(P("%s/b/two", host), P("%s/b/three", host)), 0);
        /* a file with a link outside the copied tree is a file of its own in the copy */
        write_text(P("%s/lonely", host), "l", 0644);
        ASSERT_EQ(link(P("%s/lonely", host), P("%s/outside-link", out)), 0);

        ASSERT_OK(copy_tree(AT_FDCWD, host, AT_FDCWD, out, &plain, &stats, NULL));
        a = lstat_ok(P("%s/hl/a/one", out));
        b = lstat_ok(P("%s/hl/b/two", out));
        c = lstat_ok(P("%s/hl/b/three", out));
        ASSERT_EQ(a.st_ino, b.st_ino);
        ASSERT_EQ(a.st_ino, c.st_ino);
        ASSERT_EQ(a.st_nlink, 3);
        ASSERT_EQ(stats.hardlinks, 2);
        ASSERT_EQ(lstat_ok(P("%s/hl/lonely", out)).st_nlink, 1);
        arena_clear();
}

TEST(chown) {
        static const char *const names[] = { "", "/d", "/d/f", "/d/l" };
        char *host = mkdir_fresh("own"), *out = mkdir_fresh("own-out");
        CopyOptions o = plain;
        struct stat st;

        /* somebody else: with our own ids the check below would pass without any chown */
        if (geteuid() != 0)
                tests_skip("not root: no chown to another user (CAP_CHOWN)");
        o.uid = 12345;
        o.gid = 23456;
        ASSERT_EQ(mkdir(P("%s/d", host), 0755), 0);
        write_text(P("%s/d/f", host), "f", 02755);
        ASSERT_EQ(symlink("f", P("%s/d/l", host)), 0);
        ASSERT_OK(copy_tree(AT_FDCWD, host, AT_FDCWD, out, &o, NULL, NULL));
        FOREACH_ARRAY(name, names, ELEMENTSOF(names)) {
                st = lstat_ok(P("%s/own%s", out, *name));
                ASSERT_EQ(st.st_uid, o.uid);
                ASSERT_EQ(st.st_gid, o.gid);
        }
        ASSERT_EQ(MODE(lstat_ok(P("%s/own/d/f", out))), 0755); /* setgid stripped */
        ASSERT_EQ(MODE(lstat_ok(P("%s/own", out))), 0755);
        arena_clear();
}

TEST(owner) {
        static const char *const bad[] = { "", ":", "a:", ":b", "a:b:c", "-a", "a b", "a/b", "\xc3\xa9" };
        uid_t uid;
        gid_t gid;

        ASSERT_OK(copy_owner_check("root"));
        ASSERT_OK(copy_owner_check("root:root"));
        ASSERT_OK(copy_owner_check("1000:1000"));
        ASSERT_OK(copy_owner_check("_svc-x.y$:g"));
        FOREACH_ARRAY(b, bad, ELEMENTSOF(bad))
                ASSERT_ERROR(copy_owner_check(*b), EINVAL);

        ASSERT_OK(copy_owner_resolve("root", &uid, &gid));
        ASSERT_EQ(uid, 0);
        ASSERT_EQ(gid, 0);
        ASSERT_OK(copy_owner_resolve("0", &uid, &gid));
        ASSERT_EQ(uid, 0);
        ASSERT_EQ(gid, 0);
        ASSERT_OK(copy_owner_resolve("root:12", &uid, &gid));
        ASSERT_EQ(uid, 0);
        ASSERT_EQ(gid, 12);
        ASSERT_OK(copy_owner_resolve("4000000:4000001", &uid, &gid));
        ASSERT_EQ(uid, 4000000);
        ASSERT_EQ(gid, 4000001);
        ASSERT_ERROR(copy_owner_resolve("no-such-user-warden", &uid, &gid), ESRCH);
        ASSERT_ERROR(copy_owner_resolve("root:no-such-group-warden", &uid, &gid), ESRCH);
        ASSERT_ERROR(copy_owner_resolve("4000000", &uid, &gid), ESRCH); /* no primary group known */
        ASSERT_ERROR(copy_owner_resolve("4294967295:0", &uid, &gid), EINVAL);
        ASSERT_ERROR(copy_owner_resolve("a:b:c", &uid, &gid), EINVAL);
}

TEST(cancel_depth_and_itself) {
        char *host = mkdir_fresh("misc"), *out = mkdir_fresh("misc-out"), *message = NULL;
        atomic_bool cancel = true;
        CopyOptions o = plain;
        CopyStats stats = {};
        int fd;

        write_text(P("%s/f", host), "f", 0644);
        o.cancel = &cancel;
        ASSERT_ERROR(copy_tree(AT_FDCWD, host, AT_FDCWD, out, &o, NULL, &message), ECANCELED);
        ASSERT_TRUE(strstr(message, "cancelled") != NULL);
        free(message);
        message = NULL;
        ASSERT_FALSE(exists(P("%s/misc", out)));

        /* deeper than COPY_DEPTH_MAX */
        fd = open(host, O_PATH | O_DIRECTORY | O_CLOEXEC);
        for (unsigned i = 0; i < COPY_DEPTH_MAX + 2; i++) {
                int next;

                ASSERT_EQ(mkdirat(fd, "d", 0755), 0);
                next = openat(fd, "d", O_PATH | O_DIRECTORY | O_CLOEXEC);
                ASSERT_TRUE(next >= 0);
                close(fd);
                fd = next;
        }
        close(fd);
        ASSERT_ERROR(copy_tree(AT_FDCWD, host, AT_FDCWD, out, &plain, NULL, &message), ELOOP);
        ASSERT_TRUE(strstr(message, "too many levels") != NULL);
        free(message);
        ASSERT_EQ(system(P("rm -rf %s/d %s/misc", host, out)), 0);

        /* into itself: terminates, the copy is not copied again */
        ASSERT_EQ(mkdir(P("%s/sub", host), 0755), 0);
        ASSERT_OK(copy_tree(AT_FDCWD, host, AT_FDCWD, P("%s/sub", host), &plain, &stats, NULL));
        ASSERT_EQ(stats.skipped, 1);
        assert_text(P("%s/sub/misc/f", host), "f");
        ASSERT_TRUE(exists(P("%s/sub/misc/sub", host)));
        ASSERT_FALSE(exists(P("%s/sub/misc/sub/misc", host)));
        arena_clear();
}

/* Files are written under temporary names; what a copy that was cut off left (another process' tag) goes
 * with the next copy into that directory, at the top and below it; nothing temporary stays behind. */
static size_t count_tmp(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        ASSERT_NOT_NULL(d);
        while ((de = readdir(d)))
                if (strncmp(de->d_name, ".#warden-copy.", 14) == 0)
                        n++;
        closedir(d);
        return n;
}

TEST(temporary_names) {
        char *host = mkdir_fresh("tmpnames"), *root = mkdir_fresh("tmpnames-root");
        const char *stale = ".#warden-copy.0123456789abcdef.0000002a";
        int root_fd = root_open(root);

        write_text(P("%s/file", host), "new\n", 0640);
        ASSERT_EQ(mkdir(P("%s/sub", host), 0755), 0);
        write_text(P("%s/sub/inner", host), "inner\n", 0600);
        ASSERT_EQ(mkdir(P("%s/d", root), 0755), 0);
        ASSERT_EQ(mkdir(P("%s/d/sub", root), 0755), 0);
        write_text(P("%s/d/%s", root, stale), "partial", 0600);
        write_text(P("%s/d/sub/%s", root, stale), "partial", 0600);
        ASSERT_EQ(mkdir(P("%s/d/.#warden-copy.dir", root), 0755), 0); /* never one of ours: kept */
        write_text(P("%s/d/other", root), "other\n", 0644);

        ASSERT_OK(copy_tree(AT_FDCWD, P("%s/", host), root_fd, "/d", &plain, NULL, NULL));
        assert_text(P("%s/d/file", root), "new\n");
        assert_text(P("%s/d/sub/inner", root), "inner\n");
        assert_text(P("%s/d/other", root), "other\n");
        ASSERT_FALSE(exists(P("%s/d/%s", root, stale)));
        ASSERT_FALSE(exists(P("%s/d/sub/%s", root, stale)));
        ASSERT_EQ(count_tmp(P("%s/d", root)), 1); /* the directory */
        ASSERT_EQ(count_tmp(P("%s/d/sub", root)), 0);

        /* a file over a file, and a file that cannot be renamed into place: no temporary left either */
        ASSERT_OK(copy_tree(AT_FDCWD, P("%s/file", host), root_fd, "/d/other", &plain, NULL, NULL));
        assert_text(P("%s/d/other", root), "new\n");
        ASSERT_EQ(mkdir(P("%s/d/sub/file", root), 0755), 0);
        ASSERT_ERROR(
                copy_tree(AT_FDCWD, P("%s/file", host), root_fd, "/d/sub/", &plain, NULL, NULL), EISDIR);
        ASSERT_EQ(count_tmp(P("%s/d", root)), 1);
        ASSERT_EQ(count_tmp(P("%s/d/sub", root)), 0);

        close(root_fd);
        arena_clear();
}

/* What the plan really reads and writes on the host side. */
TEST(plan_real_path) {
        char *host = mkdir_fresh("realpath"), *root = mkdir_fresh("realpath-root"), *s = NULL;
        char *real_host = realpath(host, NULL);
        int root_fd = root_open(root);
        CopyPlan *p = NULL;

        ASSERT_NOT_NULL(real_host);
        write_text(P("%s/file", host), "x", 0644);
        ASSERT_EQ(mkdir(P("%s/dir", host), 0755), 0);
        ASSERT_EQ(symlink(host, P("%s/link", root)), 0); /* inside the root: not followed out */
        ASSERT_EQ(symlink("dir", P("%s/hostlink", host)), 0);

        /* CopyIn: the source */
        ASSERT_OK(copy_plan_new(AT_FDCWD, P("%s/file", host), root_fd, "/x", &p, NULL));
        ASSERT_OK(copy_plan_real_path(p, true, &s));
        ASSERT_STREQ(s, P("%s/file", real_host));
        free(s);
        p = copy_plan_free(p);
        ASSERT_OK(copy_plan_new(AT_FDCWD, P("%s/hostlink/", host), root_fd, "/x", &p, NULL));
        ASSERT_OK(copy_plan_real_path(p, true, &s));
        ASSERT_STREQ(s, P("%s/dir", real_host));
        free(s);
        p = copy_plan_free(p);

        /* CopyOut: where the target is made (a symlink as the last component is refused, not followed) */
        ASSERT_ERROR(copy_plan_new(root_fd, "/link", AT_FDCWD, P("%s/hostlink", host), &p, NULL), ELOOP);
        ASSERT_OK(copy_plan_new(root_fd, "/link", AT_FDCWD, P("%s/hostlink/x", host), &p, NULL));
        ASSERT_OK(copy_plan_real_path(p, false, &s));
        ASSERT_STREQ(s, P("%s/dir/x", real_host));
        free(s);
        p = copy_plan_free(p);
        ASSERT_OK(copy_plan_new(root_fd, "/link", AT_FDCWD, P("%s/dir", host), &p, NULL));
        ASSERT_OK(copy_plan_real_path(p, false, &s));
        ASSERT_STREQ(s, P("%s/dir/link", real_host));
        free(s);
        p = copy_plan_free(p);
        ASSERT_OK(copy_plan_new(root_fd, "/link", AT_FDCWD, P("%s/new/", host), &p, NULL));
        ASSERT_OK(copy_plan_real_path(p, false, &s));
        ASSERT_STREQ(s, P("%s/new/link", real_host));
        free(s);
        p = copy_plan_free(p);

        free(real_host);
        close(root_fd);
        arena_clear();
}
