/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host-path.h"
#include "strv.h"
#include "tests.h"

static char *const state[] = {
        (char *) "/run/warden",
        (char *) "/var/lib/warden",
        (char *) "/srv/depot",
        (char *) "/elsewhere/c1",
        NULL,
};

/* 'path' is refused: by the rule of 'tree', containing it or not */
static void refused(const char *path, const char *tree, bool contains, const char *rule_part) {
        HostPathRefusal h = {};

        ASSERT_ERROR(host_path_check_mountable(path, state, &h), EPERM);
        ASSERT_STREQ(h.tree, tree);
        ASSERT_EQ(h.contains, contains);
        ASSERT_NOT_NULL(strstr(h.rule, rule_part));
}

TEST(kernel_interfaces) {
        refused("/proc", "/proc", false, "kernel");
        refused("/proc/1/root", "/proc", false, "kernel");
        refused("/sys", "/sys", false, "kernel");
        refused("/sys/fs/cgroup", "/sys", false, "kernel");
        refused("/dev", "/dev", false, "kernel");
        refused("/dev/shm/x", "/dev", false, "kernel");
}

TEST(daemons_sockets) {
        refused("/run/dbus", "/run/dbus", false, "daemons");
        refused("/run/dbus/system_bus_socket", "/run/dbus", false, "daemons");
        refused("/run/systemd", "/run/systemd", false, "daemons");
        refused("/run/systemd/private", "/run/systemd", false, "daemons");
        refused("/run/warden", "/run/warden", false, "wardend");
        refused("/run/warden/containers/c1", "/run/warden", false, "wardend");
        /* /run as a whole, but not what is below it and outside the rules */
        refused("/run", "/run/dbus", true, "daemons");
        ASSERT_OK(host_path_check_mountable("/run/user/1000/x", state, NULL));
        ASSERT_OK(host_path_check_mountable("/run/dbusx", state, NULL));
        ASSERT_OK(host_path_check_mountable("/runx", state, NULL));
}

TEST(parents_of_them) {
        refused("/", "/proc", true, "kernel");
        refused("/var", "/var/lib/warden", true, "wardend");
        refused("/var/lib", "/var/lib/warden", true, "wardend");
        refused("/srv", "/srv/depot", true, "wardend");
        refused("/elsewhere", "/elsewhere/c1", true, "wardend");
}

TEST(state_trees) {
        refused("/var/lib/warden", "/var/lib/warden", false, "wardend");
        refused("/var/lib/warden/containers/c2/upper", "/var/lib/warden", false, "wardend");
        refused("/srv/depot/c1", "/srv/depot", false, "wardend");
        refused("/elsewhere/c1/upper", "/elsewhere/c1", false, "wardend");
        ASSERT_OK(host_path_check_mountable("/elsewhere/c2", state, NULL));
        ASSERT_OK(host_path_check_mountable("/srv/depot2", state, NULL));
        ASSERT_OK(host_path_check_mountable("/var/lib/wardenx", state, NULL));
        /* without state trees only the fixed rules */
        ASSERT_OK(host_path_check_mountable("/srv/depot", NULL, NULL));
        ASSERT_ERROR(host_path_check_mountable("/run/warden", NULL, NULL), EPERM);
}

TEST(allowed) {
        ASSERT_OK(host_path_check_mountable("/usr/lib/warden/rootfs", state, NULL));
        ASSERT_OK(host_path_check_mountable("/etc", state, NULL));
        ASSERT_OK(host_path_check_mountable("/home/u/data", state, NULL));
        ASSERT_OK(host_path_check_mountable("/procx", state, NULL));
        ASSERT_OK(host_path_check_mountable("/devices", state, NULL));
}

TEST(not_normalised) {
        ASSERT_ERROR(host_path_check_mountable("", state, NULL), EINVAL);
        ASSERT_ERROR(host_path_check_mountable("proc", state, NULL), EINVAL);
        ASSERT_ERROR(host_path_check_mountable("/run/../run/dbus", state, NULL), EINVAL);
        ASSERT_ERROR(host_path_check_mountable("//proc", state, NULL), EINVAL);
        ASSERT_ERROR(host_path_check_mountable("/proc/", state, NULL), EINVAL);
        ASSERT_ERROR(host_path_check_mountable("/./proc", state, NULL), EINVAL);
        ASSERT_ERROR(host_path_check_mountable(NULL, state, NULL), EINVAL);
}

TEST(in_dirs) {
        char *const dirs[] = { (char *) "/srv/share", (char *) "/data", NULL };

        ASSERT_TRUE(host_path_in_dirs("/srv/share", dirs));
        ASSERT_TRUE(host_path_in_dirs("/srv/share/a/b", dirs));
        ASSERT_TRUE(host_path_in_dirs("/data/x", dirs));
        ASSERT_FALSE(host_path_in_dirs("/srv/sharex", dirs));
        ASSERT_FALSE(host_path_in_dirs("/srv", dirs));
        ASSERT_FALSE(host_path_in_dirs("/", dirs));
        ASSERT_FALSE(host_path_in_dirs("/data", NULL));
        ASSERT_FALSE(host_path_in_dirs("/data", STRV_MAKE(NULL)));
}

/* The fd's path, not the name's: symlinks resolved, and a rename afterwards is seen. */
TEST(open_resolves) {
        char dir[] = "/tmp/test-host-path.XXXXXX";
        char *a = NULL, *link = NULL, *moved = NULL, *real = NULL, *real_dir = NULL;
        int fd;

        ASSERT_NOT_NULL(mkdtemp(dir));
        real_dir = realpath(dir, NULL);
        ASSERT_NOT_NULL(real_dir);
        ASSERT_TRUE(asprintf(&a, "%s/a", dir) >= 0);
        ASSERT_TRUE(asprintf(&link, "%s/link", dir) >= 0);
        ASSERT_TRUE(asprintf(&moved, "%s/moved", real_dir) >= 0);
        ASSERT_EQ(mkdir(a, 0700), 0);
        ASSERT_EQ(symlink("a", link), 0);

        fd = host_path_open(link, O_DIRECTORY, &real);
        ASSERT_OK(fd);
        ASSERT_TRUE(strncmp(real, real_dir, strlen(real_dir)) == 0);
        ASSERT_STREQ(real + strlen(real_dir), "/a");
        free(real);
        ASSERT_EQ(rename(a, moved), 0);
        ASSERT_OK(host_path_of_fd(fd, &real));
        ASSERT_STREQ(real, moved);
        free(real);
        ASSERT_EQ(rmdir(moved), 0);
        ASSERT_ERROR(host_path_of_fd(fd, &real), ESTALE);
        close(fd);

        ASSERT_ERROR(host_path_open(link, O_NOFOLLOW | O_DIRECTORY, NULL), ENOTDIR);
        ASSERT_ERROR(host_path_open(a, 0, NULL), ENOENT);
        ASSERT_ERROR(host_path_open("relative", 0, NULL), EINVAL);
        ASSERT_EQ(unlink(link), 0);
        ASSERT_EQ(rmdir(dir), 0);
        free(a);
        free(link);
        free(moved);
        free(real_dir);
}
