/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * CopyIn and CopyOut as core's verbs (container-copy.h) without a bus: the checks before a copy starts, the
 * per-container cap, the cancel at teardown (every copy in flight is done with INVALID_STATE and none
 * refers to the container any more), a copy that runs, and a restricted one whose host side is outside the
 * allowed directories. The container's root is a tmpfs mounted in a mount namespace of the test's own.
 */

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container-copy.h"
#include "core-fixture.h"
#include "strv.h"

/* The tmpfs mounted, taken down at exit before tests_tmpdir() is removed (also when a test fails). */
static char *mounted[8];
static unsigned n_mounted;

static void unmount_all(void) {
        for (unsigned i = 0; i < n_mounted; i++)
                (void) umount2(mounted[i], MNT_DETACH);
}

/* Namespaces of our own (mounts stay in them), and the tmpfs taken down at exit. */
static void enter_mountns(void) {
        core_fixture_enter_namespaces(CLONE_NEWNS);
        ASSERT_OK(atexit(unmount_all) != 0 ? -ENOMEM : 0); /* after tests_tmpdir()'s: runs first */
}

static char *path_join(const char *a, const char *b) {
        char *p = NULL;

        ASSERT_TRUE(asprintf(&p, "%s/%s", a, b) > 0);
        return p;
}

static void make_dir(const char *p) {
        ASSERT_OK(mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0);
}

static void write_text(const char *p, const char *text) {
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

/* An active container registered in m, with its directory <dir>/<handle> and (if 'mount_root') a tmpfs on
 * <dir>/<handle>/rootfs. */
static Container *add_container(Manager *m, const char *dir, const char *handle, bool mount_root) {
        Container *c = NULL;
        char *root;

        ASSERT_OK(container_new(handle, &c));
        c->state = CONTAINER_ACTIVE;
        c->path = path_join(dir, handle);
        make_dir(c->path);
        root = path_join(c->path, "rootfs");
        make_dir(root);
        if (mount_root) {
                ASSERT_OK(mount("tmpfs", root, "tmpfs", 0, "size=1m"));
                ASSERT_TRUE(n_mounted < ELEMENTSOF(mounted));
                mounted[n_mounted++] = root;
        } else
                free(root);
        ASSERT_OK(manager_add_container(m, c));
        return c;
}

typedef struct Results {
        unsigned n, n_failed;
        WardenError last;
} Results;

static void on_done(Manager *m, const WardenError *e, void *userdata) {
        Results *res = userdata;

        ASSERT_NOT_NULL(m);
        res->n++;
        if (e) {
                res->n_failed++;
                (void) warden_error_copy(&res->last, e);
        }
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

TEST(copy) {
        WardenError e = WARDEN_ERROR_NULL;
        Results res = {};
        Manager m;
        Container *c;
        char *dir = tests_tmpdir(), *src = path_join(dir, "hello.txt"), *missing = path_join(dir, "missing"),
             *copied = NULL;
        ContainerCopyRequest ok = { .copy_in = true, .src = src, .dst = "/hello.txt" },
                             failing = { .copy_in = true, .src = missing, .dst = "/x" };
        struct stat st;

        require_openat2();
        enter_mountns();
        core_fixture_init(&m);
        c = add_container(&m, dir, "web", true);
        write_text(src, "hello\n");

        /* a copy that runs to its end */
        ASSERT_OK(container_copy(c, &ok, on_done, &res, &e));
        ASSERT_EQ(container_copies_count(c), 1);
        ASSERT_EQ(m.n_operations, 1);
        core_fixture_run_until(&m, &res.n, 1);
        ASSERT_EQ(res.n_failed, 0);
        ASSERT_EQ(container_copies_count(c), 0);
        ASSERT_EQ(m.n_operations, 0);
        copied = path_join(c->path, "rootfs/hello.txt");
        ASSERT_OK(stat(copied, &st));
        ASSERT_EQ(st.st_size, 6);

        /* a bad source: InvalidArgs, from the worker */
        ASSERT_OK(container_copy(c, &failing, on_done, &res, &e));
        core_fixture_run_until(&m, &res.n, 2);
        ASSERT_WARDEN_ERROR(&res.last, WARDEN_ERROR_KIND_INVALID_ARGS, "missing");
        ASSERT_EQ(m.n_operations, 0);

        warden_error_done(&e);
        warden_error_done(&res.last);
        free(copied);
        free(src);
        free(missing);
        core_fixture_done(&m);
}

TEST(cap_and_cancel) {
        WardenError e = WARDEN_ERROR_NULL;
        Results res = {};
        Manager m;
        Container *c;
        char *dir = tests_tmpdir(), *missing = path_join(dir, "missing");
        ContainerCopyRequest failing = { .copy_in = true, .src = missing, .dst = "/x" };

        enter_mountns();
        core_fixture_init(&m);
        c = add_container(&m, dir, "web", true);

        /* the cap: the copies stay in flight until the loop sees them done */
        for (unsigned i = 0; i < COPY_PER_CONTAINER_MAX; i++)
                ASSERT_OK(container_copy(c, &failing, on_done, &res, &e));
        ASSERT_EQ(container_copies_count(c), COPY_PER_CONTAINER_MAX);
        ASSERT_EQ(m.n_operations, COPY_PER_CONTAINER_MAX);
        ASSERT_ERROR(container_copy(c, &failing, on_done, &res, &e), EIO);
        ASSERT_WARDEN_ERROR(
                &e, WARDEN_ERROR_KIND_LIMITS_EXCEEDED, "Container 'web' has 8 copies in flight already.");
        ASSERT_ERROR(container_copy_check(c, &e), EIO);
        ASSERT_WARDEN_ERROR(&e, WARDEN_ERROR_KIND_LIMITS_EXCEEDED, "copies in flight already");

        /* the teardown cancels them: none refers to c any more, each is done with InvalidState (whatever
         * error the copy met after the cancel is the cancel's: here, its missing source) */
        container_copies_cancel(c);
        ASSERT_NULL(c->copies);
        ASSERT_EQ(container_copies_count(c), 0);
        ASSERT_OK(container_copy_check(c, &e)); /* room again */
        core_fixture_run_until(&m, &res.n, COPY_PER_CONTAINER_MAX);
        ASSERT_EQ(res.n_failed, COPY_PER_CONTAINER_MAX);
        ASSERT_WARDEN_ERROR(
                &res.last,
                WARDEN_ERROR_KIND_INVALID_STATE,
                "Container 'web' was destroyed during the copy; the destination may be incomplete.");
        ASSERT_EQ(m.n_operations, 0);

        warden_error_done(&e);
        warden_error_done(&res.last);
        free(missing);
        core_fixture_done(&m);
}

TEST(refused) {
        WardenError e = WARDEN_ERROR_NULL;
        Results res = {};
        Manager m;
        Container *c, *bare;
        char *dir = tests_tmpdir(), *src = path_join(dir, "hello.txt");
        ContainerCopyRequest req = { .copy_in = true, .src = src, .dst = "/hello.txt" };

        enter_mountns();
        core_fixture_init(&m);
        c = add_container(&m, dir, "web", true);
        bare = add_container(&m, dir, "bare", false);
        write_text(src, "hello\n");

        c->state = CONTAINER_STOPPED;
        ASSERT_ERROR(container_copy(c, &req, on_done, &res, &e), EBADFD);
        ASSERT_WARDEN_ERROR(
                &e,
                WARDEN_ERROR_KIND_INVALID_STATE,
                "Container 'web' is stopped; files can be copied only while it is active.");
        c->state = CONTAINER_ACTIVE;

        /* the root is not mounted */
        ASSERT_ERROR(container_copy(bare, &req, on_done, &res, &e), EBADFD);
        ASSERT_WARDEN_ERROR(
                &e,
                WARDEN_ERROR_KIND_INVALID_STATE,
                "The root file system of container 'bare' is not mounted.");
        ASSERT_EQ(m.n_operations, 0);
        ASSERT_EQ(res.n, 0);
        warden_error_done(&e);
        free(src);
        core_fixture_done(&m);
}

/* Host paths: inside copy_directories or not, and the worker's own check on what it opened. */
TEST(host_paths) {
        WardenError e = WARDEN_ERROR_NULL;
        Results res = {};
        Manager m;
        Container *c;
        char *slash = NULL;
        char *dir = tests_tmpdir(), *allowed = path_join(dir, "allowed"), *inside = path_join(allowed, "f"),
             *outside = path_join(dir, "f"), **dirs = NULL;
        ContainerCopyRequest req = {
                .copy_in = true,
                .src = outside,
                .dst = "/f",
                .authority = "the polkit action 'org.example.test'",
        };

        require_openat2();
        enter_mountns();
        core_fixture_init(&m);
        c = add_container(&m, dir, "web", true);
        make_dir(allowed);
        write_text(inside, "in\n");
        write_text(outside, "out\n");
        ASSERT_OK(strv_extend(&m.config.copy_directories, allowed));

        ASSERT_EQ(container_copy_host_path_allowed(c, inside, &dirs), 1);
        ASSERT_NOT_NULL(dirs);
        dirs = strv_free(dirs);
        ASSERT_EQ(container_copy_host_path_allowed(c, outside, &dirs), 0);
        ASSERT_NULL(dirs);
        /* a directory's contents ("dir/"): the directory itself counts */
        ASSERT_TRUE(asprintf(&slash, "%s/", allowed) > 0);
        ASSERT_EQ(container_copy_host_path_allowed(c, slash, &dirs), 1);
        free(slash);

        /* restricted to them (as if the path had changed since the check): the worker refuses what it
         * opened outside of them */
        req.allowed_dirs = dirs;
        ASSERT_OK(container_copy(c, &req, on_done, &res, &e));
        core_fixture_run_until(&m, &res.n, 1);
        ASSERT_WARDEN_ERROR(
                &res.last, WARDEN_ERROR_KIND_ACCESS_DENIED, "outside wardend's copy_directories");
        ASSERT_WARDEN_ERROR(
                &res.last,
                WARDEN_ERROR_KIND_ACCESS_DENIED,
                "that needs the polkit action 'org.example.test'.");

        /* unrestricted, the same copy is fine */
        req.allowed_dirs = NULL;
        ASSERT_OK(container_copy(c, &req, on_done, &res, &e));
        core_fixture_run_until(&m, &res.n, 2);
        ASSERT_EQ(res.n_failed, 1);

        strv_free(dirs);
        warden_error_done(&e);
        warden_error_done(&res.last);
        free(allowed);
        free(inside);
        free(outside);
        core_fixture_done(&m);
}
