/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Absolute host paths of wardenctl's copy commands (verb-copy.c). */

#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "tests.h"
#include "verb-copy.h"

/* path_make_absolute_cwd(path) must give 'base' followed by 'suffix'. */
static void check_path(const char *path, const char *base, const char *suffix) {
        _cleanup_free_ char *p = NULL, *expected = NULL;

        ASSERT_TRUE(asprintf(&expected, "%s%s", base, suffix) > 0);
        ASSERT_OK(path_make_absolute_cwd(path, &p));
        ASSERT_STREQ(p, expected);
}

TEST(path_make_absolute_cwd) {
        _cleanup_free_ char *cwd = getcwd(NULL, 0), *t = NULL, *p = NULL;
        char *dir;

        ASSERT_NOT_NULL(cwd);
        /* a directory of our own without symlinks above it, holding "real/sub" and "link" -> "real/sub" */
        dir = tests_tmpdir();
        ASSERT_NOT_NULL(dir);
        t = realpath(dir, NULL);
        ASSERT_NOT_NULL(t);
        ASSERT_OK(chdir(t));
        ASSERT_OK(mkdir("real", 0755));
        ASSERT_OK(mkdir("real/sub", 0755));
        ASSERT_OK(symlink("real/sub", "link"));

        check_path("/etc/passwd", "/etc/passwd", "");
        check_path("/etc//./passwd", "/etc/passwd", "");
        check_path("/", "/", "");
        check_path("/.", "/", "");
        check_path("/..", "/", "");
        check_path("/etc/../tmp/x", "/tmp/x", "");
        check_path("a/b", t, "/a/b");
        check_path("./a//b", t, "/a/b");
        /* a trailing "/" (a directory's contents, in rsync's terms) is kept; "." and "DIR/." mean the same
         */
        check_path("a/", t, "/a/");
        check_path("a/b/.", t, "/a/b/");
        check_path(".", t, "/");
        check_path("./", t, "/");
        /* ".." as the kernel resolves it: through the symlink, not lexically */
        check_path("link/../f", t, "/real/f");
        check_path("real/sub/..//./g/", t, "/real/g/");
        ASSERT_OK(chdir("real/sub"));
        check_path("..", t, "/real");
        check_path("../../x", t, "/x");
        ASSERT_ERROR(path_make_absolute_cwd("nosuch/../x", &p), ENOENT);
        ASSERT_ERROR(path_make_absolute_cwd("", &p), EINVAL);
        ASSERT_NULL(p);

        ASSERT_OK(chdir("/"));
        check_path("x", "/x", "");
        check_path(".", "/", "");
        check_path("../y", "/y", "");
        ASSERT_OK(chdir(cwd));
}
