/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The real vtables of wardend, called over an in-process socketpair bus (no dbus-daemon, no root, no
 * systemd): arguments, replies and named errors of every method that exists so far.
 */

#include <stdarg.h>
#include <unistd.h>

#include "bus-container.h"
#include "bus-error.h"
#include "bus-manager.h"
#include "bus-pair.h"
#include "bus-util.h"
#include "manager.h"
#include "strv.h"
#include "manager-fixture.h"
#include "tests.h"

static Container *add_container(Fixture *f, const char *handle, const char *key, const char *value) {
        Container *c = NULL;

        ASSERT_OK(container_new(handle, &c));
        if (key)
                ASSERT_OK(container_set_property(c, key, value));
        ASSERT_OK(manager_add_container(&f->manager, c));
        return c;
}

static sd_bus_message *new_call(Fixture *f, const char *path, const char *iface, const char *member) {
        sd_bus_message *m = NULL;

        ASSERT_OK(sd_bus_message_new_method_call(f->client, &m, NULL, path, iface, member));
        return m;
}

static sd_bus_message *manager_call(Fixture *f, const char *member) {
        return new_call(f, WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, member);
}

/* Calls and expects the named error. */
static void expect_error(Fixture *f, sd_bus_message *m, const char *name) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = bus_pair_call(f->server, f->client, m, NULL, &e);
        if (r >= 0 || !sd_bus_error_has_name(&e, name))
                tests_fail(
                        __FILE__,
                        __LINE__,
                        "%s: expected %s, got r=%d %s: %s",
                        sd_bus_message_get_member(m),
                        name,
                        r,
                        strna(e.name),
                        strna(e.message));
        sd_bus_error_free(&e);
        sd_bus_message_unref(m);
}

static sd_bus_message *expect_ok(Fixture *f, sd_bus_message *m) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        r = bus_pair_call(f->server, f->client, m, &reply, &e);
        if (r < 0)
                tests_fail(
                        __FILE__,
                        __LINE__,
                        "%s failed: %s: %s",
                        sd_bus_message_get_member(m),
                        strna(e.name),
                        strna(e.message));
        sd_bus_message_unref(m);
        return reply;
}

TEST(ping_and_echo) {
        Fixture f;
        sd_bus_message *m, *reply;
        const char *s;

        fixture_init(&f, true);
        sd_bus_message_unref(expect_ok(&f, manager_call(&f, "Ping")));

        m = manager_call(&f, "Echo");
        ASSERT_OK(sd_bus_message_append(m, "s", "hello, wärden"));
        reply = expect_ok(&f, m);
        ASSERT_OK(sd_bus_message_read(reply, "s", &s));
        ASSERT_STREQ(s, "hello, wärden");
        sd_bus_message_unref(reply);
        fixture_done(&f);
}

TEST(version_property) {
        Fixture f;
        sd_bus_message *m, *reply;
        const char *s;

        fixture_init(&f, true);
        m = new_call(&f, WARDEN_MANAGER_PATH, "org.freedesktop.DBus.Properties", "Get");
        ASSERT_OK(sd_bus_message_append(m, "ss", WARDEN_MANAGER_INTERFACE, "Version"));
        reply = expect_ok(&f, m);
        ASSERT_OK(sd_bus_message_read(reply, "v", "s", &s));
        ASSERT_STREQ(s, WARDEN_VERSION);
        sd_bus_message_unref(reply);
        fixture_done(&f);
}

static char **call_list(Fixture *f, const char *k, const char *v) {
        sd_bus_message *m = manager_call(f, "List"), *reply;
        char **l = NULL;

        ASSERT_OK(sd_bus_message_open_container(m, 'a', "{ss}"));
        if (k)
                ASSERT_OK(sd_bus_message_append(m, "{ss}", k, v));
        ASSERT_OK(sd_bus_message_close_container(m));
        reply = expect_ok(f, m);
        ASSERT_OK(sd_bus_message_read_strv(reply, &l));
        sd_bus_message_unref(reply);
        return l;
}

TEST(list_filters_by_properties) {
        Fixture f;
        char **l;
        sd_bus_message *m;

        fixture_init(&f, true);
        l = call_list(&f, NULL, NULL);
        ASSERT_EQ(strv_length(l), 0);
        strv_free(l);

        add_container(&f, "web-2", "app", "web");
        add_container(&f, "web-1", "app", "web");
        add_container(&f, "db", "app", "db");

        l = call_list(&f, NULL, NULL);
        ASSERT_EQ(strv_length(l), 3);
        ASSERT_STREQ(l[0], "db");
        ASSERT_STREQ(l[1], "web-1");
        ASSERT_STREQ(l[2], "web-2");
        strv_free(l);

        l = call_list(&f, "app", "web");
        ASSERT_EQ(strv_length(l), 2);
        strv_free(l);
        l = call_list(&f, "app", "nothing");
        ASSERT_EQ(strv_length(l), 0);
        strv_free(l);

        m = manager_call(&f, "List");
        ASSERT_OK(sd_bus_message_append(m, "a{ss}", 2, "a", "1", "a", "2"));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS);
        fixture_done(&f);
}

TEST(info) {
        Fixture f;
        sd_bus_message *m, *reply;
        Container *c;
        const char *key;
        unsigned n = 0;
        bool saw_state = false;

        fixture_init(&f, true);
        c = add_container(&f, "box", "owner", "me");
        c->state = CONTAINER_ACTIVE;
        c->grace_time = 12;

        m = manager_call(&f, "Info");
        ASSERT_OK(sd_bus_message_append(m, "s", "box"));
        reply = expect_ok(&f, m);
        ASSERT_OK(sd_bus_message_enter_container(reply, 'a', "{sv}"));
        while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
                ASSERT_OK(sd_bus_message_read(reply, "s", &key));
                if (streq(key, "state")) {
                        const char *s;
                        ASSERT_OK(sd_bus_message_read(reply, "v", "s", &s));
                        ASSERT_STREQ(s, "active");
                        saw_state = true;
                } else if (streq(key, "grace_time")) {
                        uint32_t u;
                        ASSERT_OK(sd_bus_message_read(reply, "v", "u", &u));
                        ASSERT_EQ(u, 12);
                } else if (streq(key, "unit")) {
                        const char *s;
                        ASSERT_OK(sd_bus_message_read(reply, "v", "s", &s));
                        ASSERT_STREQ(s, "warden-box.scope");
                } else
                        ASSERT_OK(sd_bus_message_skip(reply, "v"));
                ASSERT_OK(sd_bus_message_exit_container(reply));
                n++;
        }
        ASSERT_TRUE(saw_state);
        ASSERT_TRUE(n >= 12);
        sd_bus_message_unref(reply);

        /* the same through the container object */
        m = new_call(&f, "/org/warden/container/box", WARDEN_CONTAINER_INTERFACE, "Info");
        sd_bus_message_unref(expect_ok(&f, m));

        m = manager_call(&f, "Info");
        ASSERT_OK(sd_bus_message_append(m, "s", "missing"));
        expect_error(&f, m, WARDEN_ERROR_NO_SUCH_CONTAINER);

        m = manager_call(&f, "Info");
        ASSERT_OK(sd_bus_message_append(m, "s", "../../etc"));
        expect_error(&f, m, WARDEN_ERROR_INVALID_HANDLE);

        m = manager_call(&f, "Info");
        ASSERT_OK(sd_bus_message_append(m, "s", ""));
        expect_error(&f, m, WARDEN_ERROR_INVALID_HANDLE);
        fixture_done(&f);
}

TEST(container_object_properties) {
        Fixture f;
        sd_bus_message *m, *reply;
        const char *s;
        char *path = NULL;
        Container *c;

        fixture_init(&f, true);
        c = add_container(&f, "a-b.c_d", "k", "v");
        ASSERT_OK(container_bus_path(c, &path));
        ASSERT_TRUE(strncmp(path, "/org/warden/container/", 22) == 0);

        m = new_call(&f, path, "org.freedesktop.DBus.Properties", "Get");
        ASSERT_OK(sd_bus_message_append(m, "ss", WARDEN_CONTAINER_INTERFACE, "Unit"));
        reply = expect_ok(&f, m);
        ASSERT_OK(sd_bus_message_read(reply, "v", "s", &s));
        ASSERT_STREQ(s, "warden-a-b.c_d.scope");
        sd_bus_message_unref(reply);

        m = new_call(&f, path, "org.freedesktop.DBus.Properties", "GetAll");
        ASSERT_OK(sd_bus_message_append(m, "s", WARDEN_CONTAINER_INTERFACE));
        sd_bus_message_unref(expect_ok(&f, m));

        /* the node enumerator lists the container */
        m = new_call(&f, WARDEN_CONTAINER_PREFIX, "org.freedesktop.DBus.Introspectable", "Introspect");
        reply = expect_ok(&f, m);
        ASSERT_OK(sd_bus_message_read(reply, "s", &s));
        ASSERT_TRUE(strstr(s, "<node name=\"") != NULL);
        sd_bus_message_unref(reply);

        /* an unknown container has no object */
        m = new_call(&f, "/org/warden/container/nope", WARDEN_CONTAINER_INTERFACE, "Info");
        expect_error(&f, m, SD_BUS_ERROR_UNKNOWN_OBJECT);
        free(path);
        fixture_done(&f);
}

/* Root gets a state error (tests_become_root(): whether the test runs as root or not). */
TEST(container_not_ready) {
        Fixture f;
        sd_bus_message *m;

        tests_become_root();
        fixture_init(&f, true);
        add_container(&f, "x", NULL, NULL);

        /* a container that is not active runs no job */
        m = new_call(&f, "/org/warden/container/x", WARDEN_CONTAINER_INTERFACE, "Spawn");
        ASSERT_OK(sd_bus_message_append(m, "asa{sv}", 1, "true", 0));
        expect_error(&f, m, WARDEN_ERROR_INVALID_STATE);

        /* a missing container: root learns it is missing */
        m = manager_call(&f, "Destroy");
        ASSERT_OK(sd_bus_message_append(m, "s", "gone"));
        expect_error(&f, m, WARDEN_ERROR_NO_SUCH_CONTAINER);
        fixture_done(&f);
}

/* Anyone else (tests_become_unprivileged(): whether the test runs as root or not) is refused before
 * anything is looked at: the same calls as above and in the tests below, with arguments that would give
 * root another error. */
TEST(refused_to_others) {
        Fixture f;
        sd_bus_message *m;

        tests_become_unprivileged();
        fixture_init(&f, true);
        add_container(&f, "x", NULL, NULL);

        m = new_call(&f, "/org/warden/container/x", WARDEN_CONTAINER_INTERFACE, "Spawn");
        ASSERT_OK(sd_bus_message_append(m, "asa{sv}", 1, "true", 0));
        expect_error(&f, m, SD_BUS_ERROR_ACCESS_DENIED);
        m = manager_call(&f, "Destroy");
        ASSERT_OK(sd_bus_message_append(m, "s", "gone"));
        expect_error(&f, m, SD_BUS_ERROR_ACCESS_DENIED);
        m = manager_call(&f, "Create");
        ASSERT_OK(sd_bus_message_append(m, "a{sv}", 1, "handle", "s", "bad/handle"));
        expect_error(&f, m, SD_BUS_ERROR_ACCESS_DENIED);
        m = manager_call(&f, "LimitCpu");
        ASSERT_OK(sd_bus_message_append(m, "st", "nope", (uint64_t) 0));
        expect_error(&f, m, SD_BUS_ERROR_ACCESS_DENIED);
        m = manager_call(&f, "NetOut");
        ASSERT_OK(sd_bus_message_append(m, "sa{sv}", "x", 1, "protocol", "s", "tcp"));
        expect_error(&f, m, SD_BUS_ERROR_ACCESS_DENIED);
        m = manager_call(&f, "NetIn");
        ASSERT_OK(sd_bus_message_append(m, "sqq", "nosuch", 0, 0));
        expect_error(&f, m, SD_BUS_ERROR_ACCESS_DENIED);
        fixture_done(&f);
}

/* Create checks every option before it allocates or starts anything. */
/* Create with an a{sv} of the given entries (count first, as sd_bus_message_append() takes it). */
static void expect_create_error(Fixture *f, const char *name, ...) {
        sd_bus_message *m = manager_call(f, "Create");
        va_list ap;

        va_start(ap, name);
        ASSERT_OK(sd_bus_message_appendv(m, "a{sv}", ap));
        va_end(ap);
        expect_error(f, m, name);
}

TEST(create_validation) {
        Fixture f;
        sd_bus_message *m;

        tests_become_root();
        fixture_init(&f, true);
        add_container(&f, "taken", NULL, NULL);

        expect_create_error(&f, WARDEN_ERROR_INVALID_HANDLE, 1, "handle", "s", "bad/handle");
        expect_create_error(&f, WARDEN_ERROR_CONTAINER_EXISTS, 1, "handle", "s", "taken");
        expect_create_error(&f, SD_BUS_ERROR_INVALID_ARGS, 1, "bogus", "s", "x");
        expect_create_error(&f, SD_BUS_ERROR_INVALID_ARGS, 1, "grace_time", "s", "x");
        expect_create_error(&f, WARDEN_ERROR_ROOTFS_NOT_FOUND, 1, "rootfs", "s", "/nonexistent/rootfs");
        expect_create_error(&f, SD_BUS_ERROR_INVALID_ARGS, 1, "rootfs", "s", "relative");
        expect_create_error(
                &f,
                SD_BUS_ERROR_INVALID_ARGS,
                2,
                "rootfs",
                "s",
                "/",
                "bind_mounts",
                "a(ssb)",
                1,
                "/nonexistent",
                "/mnt",
                0); /* rootfs "/" is refused first */
        expect_create_error(
                &f,
                WARDEN_ERROR_BIND_MOUNT_SOURCE,
                2,
                "rootfs",
                "s",
                "/usr",
                "bind_mounts",
                "a(ssb)",
                1,
                "/nonexistent",
                "/mnt",
                0);
        expect_create_error(
                &f,
                SD_BUS_ERROR_INVALID_ARGS,
                2,
                "rootfs",
                "s",
                "/usr",
                "bind_mounts",
                "a(ssb)",
                1,
                "/tmp",
                "/mnt/../..",
                0);
        /* the host's kernel interfaces and its root never go into a container, not even through a symlink */
        static const char *const exposing[] = { "/", "/proc", "/sys/fs", "/dev", "/proc/self/cwd" };
        for (size_t i = 0; i < ELEMENTSOF(exposing); i++)
                expect_create_error(
                        &f,
                        SD_BUS_ERROR_INVALID_ARGS,
                        2,
                        "rootfs",
                        "s",
                        "/usr",
                        "bind_mounts",
                        "a(ssb)",
                        1,
                        exposing[i],
                        "/mnt",
                        1);
        expect_create_error(
                &f, SD_BUS_ERROR_INVALID_ARGS, 2, "rootfs", "s", "/usr", "env", "as", 1, "NOEQUALS");

        expect_create_error(
                &f,
                SD_BUS_ERROR_INVALID_ARGS,
                2,
                "rootfs",
                "s",
                "/usr",
                "cpu_weight",
                "t",
                (uint64_t) 20000);
        expect_create_error(
                &f,
                SD_BUS_ERROR_INVALID_ARGS,
                2,
                "rootfs",
                "s",
                "/usr",
                "cpu_quota",
                "t",
                (uint64_t) 100001);
        expect_create_error(
                &f,
                SD_BUS_ERROR_INVALID_ARGS,
                2,
                "rootfs",
                "s",
                "/usr",
                "pids_limit",
                "t",
                (uint64_t) 1 << 23);

        /* limits out of range */
        expect_create_error(
                &f, SD_BUS_ERROR_INVALID_ARGS, 2, "rootfs", "s", "/usr", "disk_limit", "t", (uint64_t) 1);
        expect_create_error(
                &f,
                SD_BUS_ERROR_INVALID_ARGS,
                2,
                "rootfs",
                "s",
                "/usr",
                "disk_inode_limit",
                "t",
                (uint64_t) 100); /* without disk_limit */
        expect_create_error(
                &f,
                SD_BUS_ERROR_INVALID_ARGS,
                3,
                "rootfs",
                "s",
                "/usr",
                "disk_limit",
                "t",
                (uint64_t) 1 << 20,
                "disk_inode_limit",
                "t",
                (uint64_t) 2000); /* more than one per KiB */
        expect_create_error(
                &f,
                SD_BUS_ERROR_INVALID_ARGS,
                2,
                "rootfs",
                "s",
                "/usr",
                "memory_limit",
                "t",
                (uint64_t) 4096);
        expect_create_error(
                &f,
                SD_BUS_ERROR_INVALID_ARGS,
                2,
                "rootfs",
                "s",
                "/usr",
                "bandwidth",
                "(tt)",
                (uint64_t) 1000000,
                (uint64_t) 0);
        expect_create_error(
                &f, SD_BUS_ERROR_INVALID_ARGS, 2, "rootfs", "s", "/usr", "bandwidth", "t", (uint64_t) 1);

        /* nothing was registered by any of these */
        ASSERT_EQ(hashmap_size(f.manager.containers), 1);

        /* a container that is not running cannot be stopped */
        m = manager_call(&f, "Stop");
        ASSERT_OK(sd_bus_message_append(m, "sb", "taken", false));
        expect_error(&f, m, WARDEN_ERROR_INVALID_STATE);
        fixture_done(&f);
}

/* Spawn (and Run, which reads the same options) checks every option before anything starts. */
static void expect_spawn_error(Fixture *f, const char *name, const char *arg0, ...) {
        sd_bus_message *m = manager_call(f, "Spawn");
        va_list ap;

        ASSERT_OK(sd_bus_message_append(m, "s", "x"));
        if (arg0)
                ASSERT_OK(sd_bus_message_append(m, "as", 1, arg0));
        else
                ASSERT_OK(sd_bus_message_append(m, "as", 0));
        va_start(ap, arg0);
        ASSERT_OK(sd_bus_message_appendv(m, "a{sv}", ap));
        va_end(ap);
        expect_error(f, m, name);
}

TEST(spawn_validation) {
        Fixture f;
        sd_bus_message *m;

        tests_become_root();
        fixture_init(&f, true);
        add_container(&f, "x", NULL, NULL);

        expect_spawn_error(&f, SD_BUS_ERROR_INVALID_ARGS, NULL, 0);
        expect_spawn_error(&f, SD_BUS_ERROR_INVALID_ARGS, "", 0);
        expect_spawn_error(&f, SD_BUS_ERROR_INVALID_ARGS, "true", 1, "bogus", "s", "x");
        expect_spawn_error(&f, SD_BUS_ERROR_INVALID_ARGS, "true", 1, "user", "u", 0);
        expect_spawn_error(&f, SD_BUS_ERROR_INVALID_ARGS, "true", 1, "user", "s", "");
        expect_spawn_error(&f, SD_BUS_ERROR_INVALID_ARGS, "true", 1, "dir", "s", "relative");
        expect_spawn_error(&f, SD_BUS_ERROR_INVALID_ARGS, "true", 1, "dir", "s", "/a/../b");
        expect_spawn_error(&f, SD_BUS_ERROR_INVALID_ARGS, "true", 1, "env", "as", 1, "NOEQUALS");
        expect_spawn_error(&f, SD_BUS_ERROR_INVALID_ARGS, "true", 1, "env", "as", 1, "=x");
        expect_spawn_error(
                &f, SD_BUS_ERROR_INVALID_ARGS, "true", 1, "rlimits", "a{st}", 1, "bogus", (uint64_t) 1);
        expect_spawn_error(
                &f, SD_BUS_ERROR_INVALID_ARGS, "true", 2, "user", "s", "vcap", "privileged", "b", 1);
        expect_spawn_error(&f, SD_BUS_ERROR_INVALID_ARGS, "true", 1, "tty_rows", "q", 10);
        expect_spawn_error(
                &f, SD_BUS_ERROR_INVALID_ARGS, "true", 2, "discard_output", "b", 1, "stdout", "h", 1);
        /* valid options, but the container is not active */
        expect_spawn_error(
                &f,
                WARDEN_ERROR_INVALID_STATE,
                "true",
                2,
                "rlimits",
                "a{st}",
                1,
                "nofile",
                (uint64_t) 64,
                "env",
                "as",
                1,
                "A=b");

        /* jobs that do not exist */
        m = manager_call(&f, "Link");
        ASSERT_OK(sd_bus_message_append(m, "su", "x", 1));
        expect_error(&f, m, WARDEN_ERROR_NO_SUCH_JOB);
        m = manager_call(&f, "Stream");
        ASSERT_OK(sd_bus_message_append(m, "su", "x", 7));
        expect_error(&f, m, WARDEN_ERROR_NO_SUCH_JOB);
        m = manager_call(&f, "Signal");
        ASSERT_OK(sd_bus_message_append(m, "sui", "x", 1, 9));
        expect_error(&f, m, WARDEN_ERROR_NO_SUCH_JOB);
        m = manager_call(&f, "ResizeTty");
        ASSERT_OK(sd_bus_message_append(m, "suqq", "x", 1, 24, 80));
        expect_error(&f, m, WARDEN_ERROR_NO_SUCH_JOB);
        fixture_done(&f);
}

/* The Limit* methods: queries answer what is recorded; changes are checked before anything happens. */
TEST(limits) {
        Fixture f;
        sd_bus_message *m, *reply;
        Container *c;
        const char *k1 = NULL, *k2 = NULL;
        uint64_t a = 0, b = 0;

        tests_become_root();
        fixture_init(&f, true);
        c = add_container(&f, "lim", NULL, NULL);

        /* being created: neither queries nor changes */
        m = manager_call(&f, "LimitMemory");
        ASSERT_OK(sd_bus_message_append(m, "st", "lim", (uint64_t) 0));
        expect_error(&f, m, WARDEN_ERROR_INVALID_STATE);

        c->state = CONTAINER_STOPPED;
        c->memory_limit = 32 << 20;
        c->disk_limit = 16 << 20;
        c->disk_inode_limit = 4096;
        c->bandwidth_rate = 125000;
        c->bandwidth_burst = 16384;
        c->has_net = true;

        m = manager_call(&f, "LimitMemory");
        ASSERT_OK(sd_bus_message_append(m, "st", "lim", (uint64_t) 0));
        reply = expect_ok(&f, m);
        ASSERT_OK(sd_bus_message_read(reply, "t", &a));
        ASSERT_EQ(a, 32u << 20);
        sd_bus_message_unref(reply);

        m = new_call(&f, "/org/warden/container/lim", WARDEN_CONTAINER_INTERFACE, "LimitCpu");
        ASSERT_OK(sd_bus_message_append(m, "t", (uint64_t) 0));
        reply = expect_ok(&f, m);
        ASSERT_OK(sd_bus_message_read(reply, "t", &a));
        ASSERT_EQ(a, 100u); /* never set: systemd's default is in force */
        sd_bus_message_unref(reply);

        c->cpu_quota = 150;
        m = manager_call(&f, "LimitCpuQuota");
        ASSERT_OK(sd_bus_message_append(m, "st", "lim", (uint64_t) 0));
        reply = expect_ok(&f, m);
        ASSERT_OK(sd_bus_message_read(reply, "t", &a));
        ASSERT_EQ(a, 150u);
        sd_bus_message_unref(reply);

        m = manager_call(&f, "LimitBandwidth");
        ASSERT_OK(sd_bus_message_append(m, "stt", "lim", (uint64_t) 0, (uint64_t) 0));
        reply = expect_ok(&f, m);
        ASSERT_OK(sd_bus_message_read(reply, "tt", &a, &b));
        ASSERT_EQ(a, 125000u);
        ASSERT_EQ(b, 16384u);
        sd_bus_message_unref(reply);

        m = manager_call(&f, "LimitDisk");
        ASSERT_OK(sd_bus_message_append(m, "sa{st}", "lim", 0));
        reply = expect_ok(&f, m);
        ASSERT_OK(sd_bus_message_read(reply, "a{st}", 2, &k1, &a, &k2, &b));
        ASSERT_STREQ(k1, "byte_limit");
        ASSERT_STREQ(k2, "inode_limit");
        ASSERT_EQ(a, 16u << 20);
        ASSERT_EQ(b, 4096u);
        sd_bus_message_unref(reply);

        /* a stopped container: no changes */
        m = manager_call(&f, "LimitCpu");
        ASSERT_OK(sd_bus_message_append(m, "st", "lim", (uint64_t) 200));
        expect_error(&f, m, WARDEN_ERROR_INVALID_STATE);

        /* active: bad values are InvalidArgs, before anything is asked of systemd or the kernel */
        c->state = CONTAINER_ACTIVE;
        m = manager_call(&f, "LimitCpu");
        ASSERT_OK(sd_bus_message_append(m, "st", "lim", (uint64_t) 10001));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS);
        m = manager_call(&f, "LimitCpuQuota");
        ASSERT_OK(sd_bus_message_append(m, "st", "lim", (uint64_t) 100001));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS);
        m = manager_call(&f, "LimitCpuQuota");
        ASSERT_OK(sd_bus_message_append(m, "st", "lim", UINT64_MAX - 1));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS);
        m = manager_call(&f, "LimitMemory");
        ASSERT_OK(sd_bus_message_append(m, "st", "lim", (uint64_t) 1000));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS);
        m = manager_call(&f, "LimitBandwidth");
        ASSERT_OK(sd_bus_message_append(m, "stt", "lim", (uint64_t) 1000000, (uint64_t) 0));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS);
        m = manager_call(&f, "LimitBandwidth");
        ASSERT_OK(sd_bus_message_append(m, "stt", "lim", (uint64_t) 1000000, (uint64_t) 100));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS); /* below one frame */
        m = manager_call(&f, "LimitDisk");
        ASSERT_OK(sd_bus_message_append(m, "sa{st}", "lim", 1, "bytes", (uint64_t) 1));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS); /* unknown key */
        m = manager_call(&f, "LimitDisk");
        ASSERT_OK(sd_bus_message_append(
                m, "sa{st}", "lim", 2, "byte_limit", (uint64_t) 1 << 24, "byte_limit", (uint64_t) 1 << 24));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS); /* twice */
        m = manager_call(&f, "LimitDisk");
        ASSERT_OK(sd_bus_message_append(m, "sa{st}", "lim", 1, "byte_limit", (uint64_t) 100));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS);

        /* the disk limits are those of the file system made at Create: the same values are fine, others
         * are LimitFailed */
        m = manager_call(&f, "LimitDisk");
        ASSERT_OK(sd_bus_message_append(m, "sa{st}", "lim", 1, "byte_limit", (uint64_t) 16 << 20));
        sd_bus_message_unref(expect_ok(&f, m));
        m = manager_call(&f, "LimitDisk");
        ASSERT_OK(sd_bus_message_append(m, "sa{st}", "lim", 1, "byte_limit", (uint64_t) 32 << 20));
        expect_error(&f, m, WARDEN_ERROR_LIMIT_FAILED);
        m = manager_call(&f, "LimitDisk");
        ASSERT_OK(sd_bus_message_append(m, "sa{st}", "lim", 1, "inode_limit", (uint64_t) 5000));
        expect_error(&f, m, WARDEN_ERROR_LIMIT_FAILED);
        c->disk_limit = 0;
        c->disk_inode_limit = 0;
        m = manager_call(&f, "LimitDisk");
        ASSERT_OK(sd_bus_message_append(m, "sa{st}", "lim", 1, "byte_limit", (uint64_t) 16 << 20));
        expect_error(&f, m, WARDEN_ERROR_LIMIT_FAILED); /* no capped layer: only at Create */

        /* an unknown container */
        m = manager_call(&f, "LimitMemory");
        ASSERT_OK(sd_bus_message_append(m, "st", "nope", (uint64_t) 0));
        expect_error(&f, m, WARDEN_ERROR_NO_SUCH_CONTAINER);
        fixture_done(&f);
}

TEST(bad_calls) {
        Fixture f;
        sd_bus_message *m;

        fixture_init(&f, true);
        expect_error(&f, manager_call(&f, "NoSuchMethod"), SD_BUS_ERROR_UNKNOWN_METHOD);

        m = manager_call(&f, "Echo");
        ASSERT_OK(sd_bus_message_append(m, "u", 42));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS);

        expect_error(&f, manager_call(&f, "Echo"), SD_BUS_ERROR_INVALID_ARGS);

        m = manager_call(&f, "Info");
        ASSERT_OK(sd_bus_message_append(m, "ss", "a", "b"));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS);

        expect_error(
                &f,
                new_call(&f, "/org/warden/Nope", WARDEN_MANAGER_INTERFACE, "Ping"),
                SD_BUS_ERROR_UNKNOWN_OBJECT);
        fixture_done(&f);
}

TEST(error_map) {
        sd_bus_error e = SD_BUS_ERROR_NULL;

        ASSERT_OK(bus_error_register_map());
        ASSERT_OK(bus_error_register_map()); /* idempotent */
        sd_bus_error_set(&e, WARDEN_ERROR_NO_SUCH_CONTAINER, "x");
        ASSERT_EQ(sd_bus_error_get_errno(&e), ENXIO);
        sd_bus_error_free(&e);
        sd_bus_error_set(&e, WARDEN_ERROR_POOL_EXHAUSTED, "x");
        ASSERT_EQ(sd_bus_error_get_errno(&e), ENOSR);
        sd_bus_error_free(&e);
        sd_bus_error_set(&e, WARDEN_ERROR_INVALID_HANDLE, "x");
        ASSERT_EQ(sd_bus_error_get_errno(&e), EBADR);
        sd_bus_error_free(&e);
}

/* Arrays a caller sends are bounded before they are read in full (tests/integration/test-hostile.sh sends
 * the big ones over the real bus); an option given twice is refused instead of leaking the first value. */
TEST(array_limits_and_duplicates) {
        Fixture f;
        sd_bus_message *m;

        tests_become_root();
        fixture_init(&f, true);
        add_container(&f, "x", NULL, NULL);

        /* List: anyone may call it, with at most 1024 pairs */
        m = manager_call(&f, "List");
        ASSERT_OK(sd_bus_message_open_container(m, 'a', "{ss}"));
        for (unsigned i = 0; i <= BUS_STRING_PAIRS_MAX; i++) {
                char k[16];

                (void) snprintf(k, sizeof(k), "k%u", i);
                ASSERT_OK(sd_bus_message_append(m, "{ss}", k, "v"));
        }
        ASSERT_OK(sd_bus_message_close_container(m));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS);

        /* Spawn: 4097 argv entries, 4097 env entries */
        m = manager_call(&f, "Spawn");
        ASSERT_OK(sd_bus_message_append(m, "s", "x"));
        ASSERT_OK(sd_bus_message_open_container(m, 'a', "s"));
        for (unsigned i = 0; i <= 4096; i++)
                ASSERT_OK(sd_bus_message_append(m, "s", "x"));
        ASSERT_OK(sd_bus_message_close_container(m));
        ASSERT_OK(sd_bus_message_append(m, "a{sv}", 0));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS);

        m = manager_call(&f, "Spawn");
        ASSERT_OK(sd_bus_message_append(m, "sas", "x", 1, "true"));
        ASSERT_OK(sd_bus_message_open_container(m, 'a', "{sv}"));
        ASSERT_OK(sd_bus_message_open_container(m, 'e', "sv"));
        ASSERT_OK(sd_bus_message_append(m, "s", "env"));
        ASSERT_OK(sd_bus_message_open_container(m, 'v', "as"));
        ASSERT_OK(sd_bus_message_open_container(m, 'a', "s"));
        for (unsigned i = 0; i <= 4096; i++)
                ASSERT_OK(sd_bus_message_append(m, "s", "A=b"));
        ASSERT_OK(sd_bus_message_close_container(m));
        ASSERT_OK(sd_bus_message_close_container(m));
        ASSERT_OK(sd_bus_message_close_container(m));
        ASSERT_OK(sd_bus_message_close_container(m));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS);

        /* Create: 257 bind mounts */
        m = manager_call(&f, "Create");
        ASSERT_OK(sd_bus_message_open_container(m, 'a', "{sv}"));
        ASSERT_OK(sd_bus_message_open_container(m, 'e', "sv"));
        ASSERT_OK(sd_bus_message_append(m, "s", "bind_mounts"));
        ASSERT_OK(sd_bus_message_open_container(m, 'v', "a(ssb)"));
        ASSERT_OK(sd_bus_message_open_container(m, 'a', "(ssb)"));
        for (unsigned i = 0; i <= 256; i++)
                ASSERT_OK(sd_bus_message_append(m, "(ssb)", "/tmp", "/mnt", 0));
        ASSERT_OK(sd_bus_message_close_container(m));
        ASSERT_OK(sd_bus_message_close_container(m));
        ASSERT_OK(sd_bus_message_close_container(m));
        ASSERT_OK(sd_bus_message_close_container(m));
        expect_error(&f, m, SD_BUS_ERROR_INVALID_ARGS);

        /* an option twice */
        expect_create_error(&f, SD_BUS_ERROR_INVALID_ARGS, 2, "env", "as", 1, "A=1", "env", "as", 1, "B=2");
        expect_spawn_error(&f, SD_BUS_ERROR_INVALID_ARGS, "true", 2, "dir", "s", "/", "dir", "s", "/tmp");

        ASSERT_EQ(hashmap_size(f.manager.containers), 1);
        fixture_done(&f);
}
