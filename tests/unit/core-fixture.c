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

void core_fixture_enter_namespaces(int flags) {
        if (unshare(flags) < 0) {
                tests_become_root(); /* a user namespace of our own, mapping us to root */
                if (unshare(flags) < 0)
                        tests_skip("cannot make namespaces of our own (neither root nor unprivileged user "
                                   "namespaces)");
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
