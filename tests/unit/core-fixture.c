/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include "core-fixture.h"

void core_fixture_init(Manager *m) {
        *m = (Manager){ .seccomp_fd = -EBADF };
        manager_config_init(&m->config);
        m->containers = hashmap_new();
        ASSERT_NOT_NULL(m->containers);
        ASSERT_OK(sd_event_new(&m->event));
}

void core_fixture_done(Manager *m) {
        Container *c;

        HASHMAP_FOREACH(c, m->containers)
                container_free(c);
        hashmap_free(m->containers);
        firewall_free(m->firewall);
        id_pool_free(m->ports);
        sd_event_unref(m->event);
        manager_config_done(&m->config);
        free(m->state_dir);
}

static void write_text(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

void core_fixture_enter_namespaces(int flags) {
        char map[64];
        uid_t uid = geteuid();
        gid_t gid = getegid();

        if (unshare(flags) < 0) {
                if (unshare(CLONE_NEWUSER | flags) < 0)
                        tests_skip("cannot make namespaces of our own (neither root nor unprivileged user "
                                   "namespaces)");
                write_text("/proc/self/setgroups", "deny");
                snprintf(map, sizeof(map), "0 %u 1", (unsigned) uid);
                write_text("/proc/self/uid_map", map);
                snprintf(map, sizeof(map), "0 %u 1", (unsigned) gid);
                write_text("/proc/self/gid_map", map);
        }
        if (flags & CLONE_NEWNS)
                ASSERT_OK(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL));
}

void core_fixture_run_until(Manager *m, const unsigned *counter, unsigned n) {
        for (unsigned i = 0; *counter < n && i < 200; i++)
                ASSERT_OK(sd_event_run(m->event, 100 * 1000));
        ASSERT_EQ(*counter, n);
}

void core_fixture_assert_error(
        const char *file, int line, const WardenError *e, WardenErrorKind kind, const char *fragment) {
        if (e->kind != kind || !e->message || !strstr(e->message, fragment))
                tests_fail(
                        file,
                        line,
                        "expected %s with '%s', got %s '%s'",
                        warden_error_kind_to_string(kind),
                        fragment,
                        warden_error_kind_to_string(e->kind),
                        strna(e->message));
}
