/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The Manager (manager.c) without a bus: re-adoption at start-up from the state directory, the limits, the
 * user namespace ranges and the state trees it keeps. */

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confine.h"
#include "fileio.h"
#include "manager.h"
#include "strv.h"
#include "tests.h"

static void write_state(const char *dir, const char *name, const char *text) {
        char *p = NULL;

        ASSERT_TRUE(asprintf(&p, "%s/containers/%s", dir, name) > 0);
        ASSERT_OK(write_file_atomic(p, text, strlen(text), 0600));
        free(p);
}

static bool exists(const char *dir, const char *name) {
        char p[4096];

        snprintf(p, sizeof(p), "%s/containers/%s", dir, name);
        return access(p, F_OK) == 0;
}

/* manager_startup() re-adopts what is alive and removes what is not, and the registry follows. */
TEST(manager_startup_readopts) {
        _cleanup_(manager_freep) Manager *m = NULL;
        char *conf = NULL, *dir = tests_tmpdir(), *live = NULL, **l = NULL;
        char **filter = STRV_MAKE("role", "db");

        ASSERT_TRUE(asprintf(&conf, "%s/none.conf", dir) > 0);
        ASSERT_OK(mkdir_p(dir, 0700));
        {
                char *cd = NULL;
                ASSERT_TRUE(asprintf(&cd, "%s/containers", dir) > 0);
                ASSERT_OK(mkdir_p(cd, 0700));
                free(cd);
        }

        ASSERT_TRUE(
                asprintf(
                        &live,
                        "VERSION=1\nHANDLE=alive\nSTATE=active\nLEADER_PID=%i\nPROPERTY=role=db\n",
                        (int) getpid()) > 0);
        write_state(dir, "alive", live);
        write_state(dir, "nopid", "VERSION=1\nHANDLE=nopid\nSTATE=stopped\n");
        /* PID 2^22+1 is above pid_max's default maximum: never a live process */
        write_state(dir, "dead", "VERSION=1\nHANDLE=dead\nSTATE=active\nLEADER_PID=4194305\n");
        write_state(dir, "garbage", "this is not a state file");
        write_state(dir, "mismatch", "VERSION=1\nHANDLE=other\nSTATE=active\n");
        write_state(dir, "alive.tmp.abc123", "partial");

        ASSERT_OK(manager_new(conf, dir, &m));
        ASSERT_OK(manager_startup(m));

        ASSERT_NOT_NULL(manager_get_container(m, "alive"));
        ASSERT_NOT_NULL(manager_get_container(m, "nopid"));
        /* loaded: whether its wshd lives is checked by the bus layer, which can clean it up with systemd */
        ASSERT_NOT_NULL(manager_get_container(m, "dead"));
        ASSERT_NULL(manager_get_container(m, "garbage"));
        ASSERT_NULL(manager_get_container(m, "other"));
        ASSERT_TRUE(exists(dir, "alive"));
        ASSERT_TRUE(exists(dir, "dead"));
        ASSERT_FALSE(exists(dir, "garbage"));
        ASSERT_FALSE(exists(dir, "mismatch"));
        ASSERT_FALSE(exists(dir, "alive.tmp.abc123"));
        ASSERT_FALSE(manager_is_idle(m));

        ASSERT_OK(manager_list_containers(m, NULL, &l));
        ASSERT_EQ(strv_length(l), 3);
        ASSERT_STREQ(l[0], "alive");
        ASSERT_STREQ(l[1], "dead");
        ASSERT_STREQ(l[2], "nopid");
        l = strv_free(l);
        ASSERT_OK(manager_list_containers(m, filter, &l));
        ASSERT_EQ(strv_length(l), 1);
        ASSERT_STREQ(l[0], "alive");
        l = strv_free(l);

        /* save() writes what load() reads */
        manager_get_container(m, "nopid")->grace_time = 77;
        ASSERT_OK(container_save(manager_get_container(m, "nopid")));
        ASSERT_OK(container_remove_state(manager_get_container(m, "alive")));
        ASSERT_FALSE(exists(dir, "alive"));
        m = manager_free(m);

        ASSERT_OK(manager_new(conf, dir, &m));
        ASSERT_OK(manager_startup(m));
        ASSERT_NULL(manager_get_container(m, "alive"));
        ASSERT_EQ(manager_get_container(m, "nopid")->grace_time, 77);
        free(conf);
        free(live);
}

TEST(manager_limits) {
        _cleanup_(manager_freep) Manager *m = NULL;
        char *conf = NULL, *dir = tests_tmpdir();
        Container *a = NULL, *b = NULL, *dup = NULL;

        ASSERT_TRUE(asprintf(&conf, "%s/one.conf", dir) > 0);
        ASSERT_OK(write_file_atomic(conf, "[daemon]\nmax_containers=1\n", 26, 0644));
        ASSERT_OK(manager_new(conf, dir, &m));
        ASSERT_TRUE(manager_is_idle(m));
        ASSERT_OK(container_new("a", &a));
        ASSERT_OK(container_new("a", &dup));
        ASSERT_OK(container_new("b", &b));
        ASSERT_OK(manager_add_container(m, a));
        ASSERT_ERROR(manager_add_container(m, dup), EEXIST);
        ASSERT_ERROR(manager_add_container(m, b), EUSERS);
        ASSERT_FALSE(manager_is_idle(m));
        container_free(a); /* unlinks itself */
        ASSERT_NULL(manager_get_container(m, "a"));
        ASSERT_TRUE(manager_is_idle(m));
        container_free(dup);
        container_free(b);
        free(conf);
}

/* User namespace ranges: from the configured pool, distinct, released, reserved again at start-up. */
TEST(manager_userns_ranges) {
        _cleanup_(manager_freep) Manager *m = NULL;
        static const char text[] = "[containers]\nuserns_uid_base=131072\nuserns_uid_count=131072\n";
        char *conf = NULL, *dir = tests_tmpdir(), *cd = NULL;
        Container *a = NULL, *b = NULL, *c = NULL;

        ASSERT_TRUE(asprintf(&conf, "%s/userns.conf", dir) > 0);
        ASSERT_OK(write_file_atomic(conf, text, sizeof(text) - 1, 0644));
        ASSERT_TRUE(asprintf(&cd, "%s/containers", dir) > 0);
        ASSERT_OK(mkdir_p(cd, 0700));
        /* a container recorded with the second range (by a wardend before the restart) */
        write_state(dir, "old", "VERSION=1\nHANDLE=old\nSTATE=stopped\nUID=10001\nUSERNS_UID=196608\n");
        ASSERT_OK(manager_new(conf, dir, &m));
        ASSERT_OK(manager_startup(m));

        ASSERT_OK(container_new("a", &a));
        ASSERT_OK(container_new("b", &b));
        ASSERT_OK(manager_allocate_userns(m, a));
        ASSERT_EQ(a->userns_uid, 131072u);
        ASSERT_EQ(a->uid, USERNS_CONTAINER_UID);
        /* the other range is the old container's; the container user's uid took nothing from the uid pool */
        ASSERT_ERROR(manager_allocate_userns(m, b), ENOSR);
        ASSERT_FALSE(id_pool_is_taken(m->uids, USERNS_CONTAINER_UID));
        manager_release_container_resources(m, manager_get_container(m, "old"));
        ASSERT_OK(manager_allocate_userns(m, b));
        ASSERT_EQ(b->userns_uid, 196608u);
        manager_release_container_resources(m, a);
        ASSERT_EQ(a->userns_uid, 0u);
        ASSERT_EQ(a->uid, 0u);
        ASSERT_OK(container_new("c", &c));
        ASSERT_OK(manager_allocate_userns(m, c));
        ASSERT_EQ(c->userns_uid, 131072u);
        container_free(a);
        container_free(b);
        container_free(c);
        free(conf);
        free(cd);
}

/* wardend's own trees: /var/lib/warden, the state directory, the depot, and containers' directories that the
 * depot does not cover. */
TEST(manager_state_trees) {
        _cleanup_(manager_freep) Manager *m = NULL;
        char *conf = NULL, *dir = tests_tmpdir(), **l = NULL;
        Container *in = NULL, *out = NULL;

        ASSERT_TRUE(asprintf(&conf, "%s/trees.conf", dir) > 0);
        ASSERT_OK(write_file_atomic(
                conf,
                "[containers]\ndepot = /srv/depot\n",
                strlen("[containers]\ndepot = /srv/depot\n"),
                0644));
        ASSERT_OK(manager_new(conf, dir, &m));
        ASSERT_OK(container_new("in", &in));
        ASSERT_OK(container_new("out", &out));
        in->path = strdup("/srv/depot/in");
        out->path = strdup("/var/old-depot/out");
        ASSERT_TRUE(in->path && out->path);
        ASSERT_OK(manager_add_container(m, in));
        ASSERT_OK(manager_add_container(m, out));

        ASSERT_OK(manager_state_trees(m, &l));
        ASSERT_EQ(strv_length(l), 4);
        ASSERT_STREQ(l[0], LOCALSTATEDIR "/lib/warden");
        ASSERT_STREQ(l[1], dir);
        ASSERT_STREQ(l[2], "/srv/depot");
        ASSERT_STREQ(l[3], "/var/old-depot/out");
        strv_free(l);
        free(conf);
}
