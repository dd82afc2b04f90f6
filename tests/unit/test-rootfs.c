/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs.h"
#include "tests.h"

static char *join(const char *a, const char *b) {
        char *s;

        ASSERT_TRUE(asprintf(&s, "%s/%s", a, b) >= 0);
        return s;
}

static void write_text(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        ASSERT_NOT_NULL(f);
        ASSERT_TRUE(fputs(text, f) >= 0);
        ASSERT_EQ(fclose(f), 0);
}

static int check(const char *source, const char *destination, char **message) {
        BindMount b = { .source = (char *) source, .destination = (char *) destination };

        return bind_mount_check(&b, message);
}

TEST(bind_mount_check_good) {
        char *m = NULL;

        ASSERT_OK(check("/tmp", "/data", &m));
        ASSERT_NULL(m);
        ASSERT_OK(check("/", "/host", &m));
        ASSERT_OK(check("/etc/hostname", "/etc/host-name", NULL));
}

TEST(bind_mount_check_bad_paths) {
        static const char *const bad[][2] = {
                { "tmp", "/data" },     { "/tmp", "data" },
                { "/tmp/..", "/data" }, { "/tmp", "/data/../etc" },
                { "//tmp", "/data" },   { "/tmp", "/data//x" },
                { "/tmp/", "/data" },   { "/tmp", "/data/" },
                { "/tmp/.", "/data" },  { "/tmp", "/./data" },
                { "/tmp", "/" },        { "", "/data" },
                { "/tmp", "" },         { "/tmp", "/etc/../../../tmp/x" },
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char *m = NULL;

                ASSERT_ERROR(check(bad[i][0], bad[i][1], &m), EINVAL);
                ASSERT_NOT_NULL(m);
                ASSERT_TRUE(strstr(m, "Bind mount") != NULL);
                free(m);
                /* Without a place for the message, the same answer. */
                ASSERT_ERROR(check(bad[i][0], bad[i][1], NULL), EINVAL);
        }
        ASSERT_ERROR(check(NULL, "/data", NULL), EINVAL);
        ASSERT_ERROR(check("/tmp", NULL, NULL), EINVAL);
}

TEST(bind_mount_check_missing_source) {
        char *dir = tests_tmpdir(), *missing = join(dir, "nope"), *m = NULL, *below = NULL,
             *file = join(dir, "f");

        ASSERT_ERROR(check(missing, "/data", &m), EMEDIUMTYPE);
        ASSERT_NOT_NULL(m);
        ASSERT_TRUE(strstr(m, missing) != NULL);
        free(m);
        ASSERT_ERROR(check(missing, "/data", NULL), EMEDIUMTYPE);

        /* A path through a regular file does not exist either. */
        write_text(file, "x");
        below = join(file, "x");
        ASSERT_ERROR(check(below, "/data", NULL), EMEDIUMTYPE);
        /* Syntax is checked first. */
        ASSERT_ERROR(check(missing, "/", NULL), EINVAL);
        free(missing);
        free(below);
        free(file);
}

TEST(bind_mounts_free) {
        BindMount *b = calloc(2, sizeof(BindMount));

        ASSERT_NOT_NULL(b);
        b[0].source = strdup("/a");
        b[0].destination = strdup("/b");
        b[1].source = strdup("/c");
        bind_mounts_free(b, 2);
        bind_mounts_free(NULL, 0);
}

TEST(rootfs_check) {
        char *dir = tests_tmpdir(), *file = join(dir, "file"), *missing = join(dir, "missing"),
             *comma = join(dir, "a,b"), *colon = join(dir, "a:b"), *slash = NULL;

        ASSERT_OK(rootfs_check(dir));
        ASSERT_ERROR(rootfs_check(missing), ENOMEDIUM);
        write_text(file, "x");
        ASSERT_ERROR(rootfs_check(file), ENOMEDIUM);

        ASSERT_ERROR(rootfs_check("/"), EINVAL);
        ASSERT_ERROR(rootfs_check("relative"), EINVAL);
        ASSERT_ERROR(rootfs_check(""), EINVAL);
        ASSERT_ERROR(rootfs_check(NULL), EINVAL);
        ASSERT_ERROR(rootfs_check("/usr/../etc"), EINVAL);
        ASSERT_ERROR(rootfs_check("//usr"), EINVAL);
        ASSERT_TRUE(asprintf(&slash, "%s/", dir) >= 0);
        ASSERT_ERROR(rootfs_check(slash), EINVAL);

        /* Would inject overlay options: refused even though the directories exist. */
        ASSERT_EQ(mkdir(comma, 0755), 0);
        ASSERT_EQ(mkdir(colon, 0755), 0);
        ASSERT_ERROR(rootfs_check(comma), EINVAL);
        ASSERT_ERROR(rootfs_check(colon), EINVAL);
        ASSERT_ERROR(rootfs_check("/tmp/a\\b"), EINVAL);
        ASSERT_ERROR(rootfs_check("/tmp/a\nb"), EINVAL);
        free(file);
        free(missing);
        free(comma);
        free(colon);
        free(slash);
}

TEST(passwd_add) {
        char *s = NULL;

        /* No base file: a root entry is made up. */
        ASSERT_OK(rootfs_passwd_add(NULL, "vcap", 10001, &s));
        ASSERT_STREQ(s, "root:x:0:0:root:/root:/bin/sh\nvcap:x:10001:10001::/home/vcap:/bin/sh\n");
        free(s);

        /* The base's entries are kept, a missing final newline is added. */
        ASSERT_OK(rootfs_passwd_add(
                "root:x:0:0::/root:/bin/bash\ndaemon:x:1:1::/:/bin/false", "vcap", 1000, &s));
        ASSERT_STREQ(
                s,
                "root:x:0:0::/root:/bin/bash\ndaemon:x:1:1::/:/bin/false\n"
                "vcap:x:1000:1000::/home/vcap:/bin/sh\n");
        free(s);

        /* An old entry for the same user is replaced; "vcapx" is another user. */
        ASSERT_OK(rootfs_passwd_add(
                "vcap:x:5:5::/:/bin/false\nvcapx:x:6:6::/:/bin/false\nroot:x:0:0::/root:/bin/sh\n",
                "vcap",
                1000,
                &s));
        ASSERT_STREQ(
                s,
                "vcapx:x:6:6::/:/bin/false\nroot:x:0:0::/root:/bin/sh\n"
                "vcap:x:1000:1000::/home/vcap:/bin/sh\n");
        free(s);

        /* An empty base file stays empty (no root entry made up: the base chose so). */
        ASSERT_OK(rootfs_passwd_add("", "u", 7, &s));
        ASSERT_STREQ(s, "u:x:7:7::/home/u:/bin/sh\n");
        free(s);

        s = NULL;
        ASSERT_ERROR(rootfs_passwd_add(NULL, "", 1000, &s), EINVAL);
        ASSERT_ERROR(rootfs_passwd_add(NULL, "a:b", 1000, &s), EINVAL);
        ASSERT_ERROR(rootfs_passwd_add(NULL, "a\nroot", 1000, &s), EINVAL);
        ASSERT_ERROR(rootfs_passwd_add(NULL, "-rf", 1000, &s), EINVAL);
        ASSERT_ERROR(rootfs_passwd_add(NULL, "../x", 1000, &s), EINVAL);
        ASSERT_ERROR(rootfs_passwd_add(NULL, "a/b", 1000, &s), EINVAL);
        ASSERT_ERROR(rootfs_passwd_add(NULL, "1abc", 1000, &s), EINVAL);
        ASSERT_ERROR(rootfs_passwd_add(NULL, "abcdefghijabcdefghijabcdefghijab", 1000, &s), EINVAL);
        ASSERT_ERROR(rootfs_passwd_add(NULL, NULL, 1000, &s), EINVAL);
        ASSERT_NULL(s);
        ASSERT_OK(rootfs_passwd_add(NULL, "abcdefghijabcdefghijabcdefghija", 1000, &s));
        free(s);
        ASSERT_OK(rootfs_passwd_add(NULL, "_x.y-z9", 1000, &s));
        free(s);
}

TEST(group_add) {
        char *s = NULL;

        ASSERT_OK(rootfs_group_add(NULL, "vcap", 10001, &s));
        ASSERT_STREQ(s, "root:x:0:\nvcap:x:10001:\n");
        free(s);

        ASSERT_OK(rootfs_group_add("root:x:0:\nvcap:x:1:\nnogroup:x:65534:\n", "vcap", 1000, &s));
        ASSERT_STREQ(s, "root:x:0:\nnogroup:x:65534:\nvcap:x:1000:\n");
        free(s);

        ASSERT_ERROR(rootfs_group_add(NULL, "a:b", 1000, &s), EINVAL);
}

TEST(teardown_missing) {
        char *dir = tests_tmpdir(), *missing = join(dir, "nope"), *file = join(dir, "file");

        ASSERT_OK(rootfs_teardown(missing));
        write_text(file, "x");
        ASSERT_ERROR(rootfs_teardown(file), ENOTDIR);
        ASSERT_EQ(access(file, F_OK), 0);
        free(missing);
        free(file);
}

TEST(teardown_tree_with_symlinks_out) {
        char *dir = tests_tmpdir(), *outside = join(dir, "outside"), *victim = join(outside, "victim"),
             *c = join(dir, "c"), *p;
        struct stat st;

        /* Something that must survive, and a container directory full of ways to reach it. */
        ASSERT_EQ(mkdir(outside, 0755), 0);
        write_text(victim, "precious");

        ASSERT_EQ(mkdir(c, 0700), 0);
        p = join(c, "upper");
        ASSERT_EQ(mkdir(p, 0755), 0);
        free(p);
        p = join(c, "work");
        ASSERT_EQ(mkdir(p, 0700), 0);
        free(p);
        p = join(c, "rootfs"); /* not mounted: the umount is skipped */
        ASSERT_EQ(mkdir(p, 0755), 0);
        free(p);
        p = join(c, "upper/etc");
        ASSERT_EQ(mkdir(p, 0755), 0);
        free(p);
        p = join(c, "upper/etc/passwd");
        write_text(p, "root:x:0:0::/:/bin/sh\n");
        free(p);
        p = join(c, "upper/dir-link");
        ASSERT_EQ(symlink(outside, p), 0);
        free(p);
        p = join(c, "upper/file-link");
        ASSERT_EQ(symlink(victim, p), 0);
        free(p);
        p = join(c, "upper/etc/rel-link");
        ASSERT_EQ(symlink("../../../outside", p), 0);
        free(p);
        p = join(c, "upper/fifo");
        ASSERT_EQ(mkfifo(p, 0600), 0);
        free(p);
        /* A directory we cannot read or search: root ignores that, others would fail (test runs as either).
         */
        p = join(c, "work/work");
        ASSERT_EQ(mkdir(p, 0700), 0);
        free(p);
        p = join(c, "rootfs"); /* "rootfs" may also be a symlink pointing out in a half-made directory */
        ASSERT_EQ(rmdir(p), 0);
        ASSERT_EQ(symlink(outside, p), 0);
        free(p);

        ASSERT_OK(rootfs_teardown(c));
        ASSERT_ERROR(lstat(c, &st) < 0 ? -errno : 0, ENOENT);
        ASSERT_EQ(stat(victim, &st), 0);
        ASSERT_EQ(st.st_size, 8);
        ASSERT_EQ(stat(outside, &st), 0);

        /* Again: nothing left is fine. */
        ASSERT_OK(rootfs_teardown(c));
        free(outside);
        free(victim);
        free(c);
}

TEST(teardown_deep_tree) {
        char *dir = tests_tmpdir(), *c = join(dir, "c");
        int fd;

        /* Deeper than rm_rf() keeps fds open for: the too deep part is moved up and removed in a later pass.
         */
        ASSERT_EQ(mkdir(c, 0700), 0);
        fd = open(c, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        for (unsigned i = 0; i < 300; i++) {
                int sub;

                ASSERT_EQ(mkdirat(fd, "d", 0755), 0);
                if (i % 7 == 0) {
                        int f = openat(fd, "file", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

                        ASSERT_TRUE(f >= 0);
                        close(f);
                }
                sub = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                ASSERT_TRUE(sub >= 0);
                close(fd);
                fd = sub;
        }
        close(fd);

        ASSERT_OK(rootfs_teardown(c));
        ASSERT_EQ(access(c, F_OK), -1);
        ASSERT_EQ(errno, ENOENT);
        free(c);
}

TEST(setup_refuses_bad_config) {
        char *dir = tests_tmpdir(), *path = join(dir, "c1"), *missing = join(dir, "nope");
        BindMount bad = { .source = (char *) "/tmp", .destination = (char *) "/" };
        BindMount gone = { .source = missing, .destination = (char *) "/data" };
        RootfsConfig cfg = {
                .base = dir,
                .path = path,
                .hostname = "c1",
                .user = "vcap",
                .uid = 10001,
                .container_ip = "10.254.0.2",
        };

        /* All of these are refused before anything is created, so they work without root. */
        cfg.base = missing;
        ASSERT_ERROR(rootfs_setup(&cfg), ENOMEDIUM);
        cfg.base = "/";
        ASSERT_ERROR(rootfs_setup(&cfg), EINVAL);
        cfg.base = dir;
        /* a base that was resolved has no symlink in its path; one that appeared since is refused */
        char *link = join(dir, "base-link");
        ASSERT_EQ(symlink(dir, link), 0);
        cfg.base = link;
        cfg.base_resolved = true;
        ASSERT_ERROR(rootfs_setup(&cfg), ENOMEDIUM);
        cfg.base_resolved = false;
        cfg.base = dir;
        ASSERT_EQ(unlink(link), 0);
        free(link);

        cfg.path = "relative";
        ASSERT_ERROR(rootfs_setup(&cfg), EINVAL);
        cfg.path = "/tmp/a,lowerdir=/";
        ASSERT_ERROR(rootfs_setup(&cfg), EINVAL);
        cfg.path = path;

        cfg.user = "a:b";
        ASSERT_ERROR(rootfs_setup(&cfg), EINVAL);
        cfg.user = "vcap";
        cfg.hostname = "a b";
        ASSERT_ERROR(rootfs_setup(&cfg), EINVAL);
        cfg.hostname = "c1";
        cfg.container_ip = "10.0.0.1\n1.2.3.4";
        ASSERT_ERROR(rootfs_setup(&cfg), EINVAL);
        cfg.container_ip = "10.254.0.2";

        cfg.bind_mounts = &bad;
        cfg.n_bind_mounts = 1;
        ASSERT_ERROR(rootfs_setup(&cfg), EINVAL);
        cfg.bind_mounts = &gone;
        ASSERT_ERROR(rootfs_setup(&cfg), EMEDIUMTYPE);

        ASSERT_EQ(access(path, F_OK), -1);

        /* An existing directory is never reused. */
        cfg.n_bind_mounts = 0;
        ASSERT_EQ(mkdir(path, 0700), 0);
        ASSERT_ERROR(rootfs_setup(&cfg), EEXIST);
        ASSERT_EQ(access(path, F_OK), 0);
        free(path);
        free(missing);
}
