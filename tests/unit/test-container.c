/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-util.h"
#include "confine.h"
#include "container.h"
#include "fileio.h"
#include "manager.h"
#include "strv.h"
#include "tests.h"

TEST(state_names) {
        for (int i = 0; i < _CONTAINER_STATE_MAX; i++)
                ASSERT_EQ(container_state_from_string(container_state_to_string(i)), i);
        ASSERT_STREQ(container_state_to_string(CONTAINER_ACTIVE), "active");
        ASSERT_EQ(container_state_from_string("running"), _CONTAINER_STATE_INVALID);
        ASSERT_NULL(container_state_to_string(_CONTAINER_STATE_MAX));
}

TEST(new_refuses_bad_handles) {
        Container *c = NULL;

        ASSERT_ERROR(container_new("../etc", &c), EINVAL);
        ASSERT_ERROR(container_new("", &c), EINVAL);
        ASSERT_NULL(c);
        ASSERT_OK(container_new("ok", &c));
        ASSERT_STREQ(c->unit, "warden-ok.scope");
        ASSERT_EQ(c->state, CONTAINER_BORN);
        container_free(c);
}

TEST(properties) {
        _cleanup_(container_freep) Container *c = NULL;
        char **filter_ok = STRV_MAKE("app", "web");
        char **filter_bad = STRV_MAKE("app", "db");
        char **filter_missing = STRV_MAKE("nope", "x");

        ASSERT_OK(container_new("p", &c));
        ASSERT_OK(container_set_property(c, "app", "api"));
        ASSERT_OK(container_set_property(c, "app", "web"));
        ASSERT_OK(container_set_property(c, "k=with=eq", "v\nline"));
        ASSERT_STREQ(container_get_property(c, "app"), "web");
        ASSERT_EQ(strv_length(c->properties), 4);
        ASSERT_TRUE(container_match_properties(c, filter_ok));
        ASSERT_FALSE(container_match_properties(c, filter_bad));
        ASSERT_FALSE(container_match_properties(c, filter_missing));
        ASSERT_TRUE(container_match_properties(c, NULL));
}

TEST(serialize_roundtrip) {
        _cleanup_(container_freep) Container *c = NULL, *d = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL;

        ASSERT_OK(container_new("round-trip", &c));
        c->state = CONTAINER_ACTIVE;
        c->leader_pid = 4242;
        c->rootfs = strdup("/var/lib/warden/rootfs");
        c->path = strdup("/var/lib/warden/containers/round-trip");
        c->host_ip = strdup("10.254.0.1");
        c->container_ip = strdup("10.254.0.2");
        c->grace_time = 300;
        c->created_usec = 1234567890123ULL;
        c->uid = 10007;
        c->userns_uid = 0x40010000;
        c->net_id = 0; /* index 0 is a real network: has_net says it is set */
        c->has_net = true;
        c->memory_limit = 64ULL << 20;
        c->cpu_weight = 200;
        c->cpu_quota = 250;
        c->pids_limit = 512;
        c->disk_limit = 16ULL << 20;
        c->disk_inode_limit = 4096;
        c->bandwidth_rate = 1000000;
        c->bandwidth_burst = 65536;
        c->oom_kills = 3;
        ASSERT_OK(container_set_property(c, "owner", "team=a\\b"));
        ASSERT_OK(container_set_property(c, "weird\tkey", "line1\nline2\x7f"));
        ASSERT_OK(strv_extend(&c->env, "PATH=/bin:/usr/bin"));
        ASSERT_OK(strv_extend(&c->events, "out of memory"));

        ASSERT_OK(container_serialize(c, &text));
        ASSERT_NULL(strstr(text, "line1\n")); /* newlines are escaped */
        ASSERT_OK(container_deserialize(text, &d));
        ASSERT_STREQ(d->handle, "round-trip");
        ASSERT_EQ(d->state, CONTAINER_ACTIVE);
        ASSERT_EQ(d->leader_pid, 4242);
        ASSERT_STREQ(d->unit, "warden-round-trip.scope");
        ASSERT_STREQ(d->rootfs, c->rootfs);
        ASSERT_STREQ(d->path, c->path);
        ASSERT_STREQ(d->host_ip, "10.254.0.1");
        ASSERT_STREQ(d->container_ip, "10.254.0.2");
        ASSERT_EQ(d->grace_time, 300);
        ASSERT_EQ(d->created_usec, 1234567890123ULL);
        ASSERT_EQ(d->uid, 10007u);
        ASSERT_EQ(d->userns_uid, 0x40010000u);
        ASSERT_EQ(container_host_uid(d, 0), 0x40010000u);
        ASSERT_EQ(container_host_uid(d, 5), 0x40010005u);
        ASSERT_TRUE(d->has_net);
        ASSERT_EQ(d->net_id, 0u);
        ASSERT_EQ(d->memory_limit, 64ULL << 20);
        ASSERT_EQ(d->cpu_weight, 200u);
        ASSERT_EQ(d->cpu_quota, 250u);
        ASSERT_EQ(d->pids_limit, 512u);
        ASSERT_EQ(d->disk_limit, 16ULL << 20);
        ASSERT_EQ(d->disk_inode_limit, 4096u);
        ASSERT_EQ(d->bandwidth_rate, 1000000u);
        ASSERT_EQ(d->bandwidth_burst, 65536u);
        ASSERT_EQ(d->oom_kills, 3u);
        ASSERT_NOT_NULL(strstr(text, "\nBANDWIDTH_RATE=1000000\n"));
        ASSERT_STREQ(container_get_property(d, "owner"), "team=a\\b");
        ASSERT_STREQ(container_get_property(d, "weird\tkey"), "line1\nline2\x7f");
        ASSERT_STREQ(d->env[0], "PATH=/bin:/usr/bin");
        ASSERT_STREQ(d->events[0], "out of memory");

        /* a second round gives the same bytes */
        ASSERT_OK(container_serialize(d, &text2));
        ASSERT_STREQ(text, text2);
}

TEST(deserialize_rejects_garbage) {
        static const char *const bad[] = {
                "",
                "VERSION=1\nSTATE=active\n",              /* no handle */
                "VERSION=1\nHANDLE=x\n",                  /* no state */
                "HANDLE=x\nSTATE=active\n",               /* no version */
                "VERSION=2\nHANDLE=x\nSTATE=active\n",    /* future version */
                "VERSION=1\nHANDLE=../x\nSTATE=active\n", /* invalid handle */
                "VERSION=1\nHANDLE=x\nSTATE=running\n",   /* unknown state */
                "VERSION=1\nHANDLE=x\nSTATE=active\nLEADER_PID=0\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nLEADER_PID=-5\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nLEADER_PID=99999999999\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nGRACE_TIME=abc\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nnoequals\n",
                "VERSION=1\nHANDLE=x\\x\nSTATE=active\n",          /* truncated escape */
                "VERSION=1\nHANDLE=x\nSTATE=active\nPATH=\\x00\n", /* NUL */
                "VERSION=1\nHANDLE=x\nSTATE=active\nPATH=\\xzz\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nPROPERTY=novalue\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nPROPERTY=a=1\nPROPERTY=a=2\n", /* duplicate */
                "VERSION=1\nHANDLE=x\nSTATE=active\nUID=0\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nUSERNS_UID=0\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nUSERNS_UID=x\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nUID=4294967296\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nNET_ID=-1\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nMEMORY_LIMIT=lots\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nDISK_LIMIT=-1\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nDISK_INODE_LIMIT=1k\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nBANDWIDTH_RATE=\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nBANDWIDTH_BURST=18446744073709551616\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nOOM_KILLS=one\n",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                Container *c = NULL;
                int r = container_deserialize(bad[i], &c);

                if (r != -EINVAL)
                        tests_fail(__FILE__, __LINE__, "case %zu: got %d, expected -EINVAL", i, r);
                ASSERT_NULL(c);
        }
}

TEST(deserialize_ignores_unknown_keys) {
        _cleanup_(container_freep) Container *c = NULL;

        ASSERT_OK(container_deserialize("# hi\nVERSION=1\nHANDLE=x\nSTATE=stopped\nFUTURE_KEY=1\n", &c));
        ASSERT_STREQ(c->handle, "x");
        ASSERT_EQ(c->state, CONTAINER_STOPPED);
        ASSERT_STREQ(c->unit, "warden-x.scope");
        ASSERT_EQ(c->next_job_id, 1u); /* no JOB_IDS_RESERVED: no job yet, ids start at 1 */
}

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

        ASSERT_TRUE(asprintf(&live,
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

TEST(cgroup_path_of_a_pid) {
        _cleanup_free_ char *path = NULL;

        /* every process has a cgroup2 line ("0::") on a unified or hybrid host, as on ours */
        ASSERT_OK(cg_pid_get_path(getpid(), "", &path));
        ASSERT_TRUE(path[0] == '/');
        ASSERT_ERROR(cg_pid_get_path(getpid(), "no-such-controller", &path), ENOENT);
        ASSERT_ERROR(cg_pid_get_path(4194305, "", &path), ENOENT); /* above pid_max: never a process */
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
