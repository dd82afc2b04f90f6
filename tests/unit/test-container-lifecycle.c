/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The lifecycle (src/core/container-lifecycle.c) without systemd, the kernel or wshd: a fake ContainerOps
 * records every step the lifecycle starts, and the test completes (or fails) each one when it wants to, in
 * orders the integration tests cannot bring about: the network failing while the rootfs worker still runs,
 * Destroy during each step of a Create, wshd dying during a Stop, wardend restarting between two steps.
 * wshd's status pipe is a real pipe the test writes "NETNS=1", "PID=…", "READY=1" into; its death is a pipe
 * that becomes readable.
 */

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container-lifecycle.h"
#include "container-oom.h"
#include "container-ops.h"
#include "fileio.h"
#include "manager.h"
#include "path-util.h"
#include "strv.h"
#include "tests.h"

/* ---- the fake ops ------------------------------------------------------------------------------------ */

typedef struct FakeStep {
        char name[32];
        ContainerOpCall *call;
        struct FakeStep *next;
} FakeStep;

static FakeStep *pending;  /* steps started and not completed or cancelled */
static char log_buf[4096]; /* every step started, completed or cancelled, in order: "+rootfs -rootfs …" */
static int go_read_fd = -EBADF; /* the helper's end of the go pipe: 'G' arrives here */
static int status_write_fd = -EBADF;
static int leader_write_fd = -EBADF; /* closing it makes the leader fd readable: wshd died */
static bool leader_alive = true;
static unsigned n_killed;

static void log_append(const char *what, const char *name) {
        size_t n = strlen(log_buf);

        snprintf(log_buf + n, sizeof(log_buf) - n, "%s%s ", what, name);
}

static void fake_step_cancel(void *p) {
        FakeStep *s = p;

        for (FakeStep **i = &pending; *i; i = &(*i)->next)
                if (*i == s) {
                        *i = s->next;
                        break;
                }
        log_append("x", s->name);
        free(s);
}

static int fake_start(const char *name, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        ContainerOpCall *call;
        FakeStep *s;

        ASSERT_OK(container_op_call_new(done, userdata, &call));
        s = calloc(1, sizeof(FakeStep));
        ASSERT_NOT_NULL(s);
        snprintf(s->name, sizeof(s->name), "%s", name);
        s->call = call;
        s->next = pending;
        pending = s;
        call->impl = s;
        call->impl_free = fake_step_cancel;
        log_append("+", name);
        *ret = call;
        return 0;
}

static bool is_pending(const char *name) {
        for (FakeStep *s = pending; s; s = s->next)
                if (streq(s->name, name))
                        return true;
        return false;
}

/* Completes the pending step 'name' with 'result' (the test fails if there is none). */
static void complete_with(const char *name, int result, const WardenError *error) {
        for (FakeStep **i = &pending; *i; i = &(*i)->next)
                if (streq((*i)->name, name)) {
                        FakeStep *s = *i;
                        ContainerOpCall *call = s->call;

                        *i = s->next;
                        call->impl = NULL;
                        log_append("-", s->name);
                        free(s);
                        container_op_call_complete(call, result, error);
                        return;
                }
        tests_fail(__FILE__, __LINE__, "step '%s' is not pending (log: %s)", name, log_buf);
}

static void complete(const char *name, int result) {
        complete_with(name, result, NULL);
}

static int fake_rootfs_setup(
        Container *c,
        BindMount *b,
        size_t n,
        int userns_fd,
        container_op_done_t done,
        void *userdata,
        ContainerOpCall **ret) {
        bind_mounts_free(b, n);
        safe_close(userns_fd);
        return fake_start("rootfs", done, userdata, ret);
}

static int fake_rootfs_teardown(
        Manager *m, const char *path, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        return fake_start("rootfs_teardown", done, userdata, ret);
}

static void fake_remove_orphans(Manager *m, char **dirs) {
        strv_free(dirs);
}

static int fake_helper_spawn(
        Container *c,
        pid_t *ret_pid,
        int *ret_go_fd,
        int *ret_status_fd,
        container_op_done_t done,
        void *userdata,
        ContainerOpCall **ret) {
        int go[2], status[2];

        ASSERT_OK(pipe2(go, O_CLOEXEC | O_NONBLOCK));
        ASSERT_OK(pipe2(status, O_CLOEXEC | O_NONBLOCK));
        safe_close(go_read_fd);
        safe_close(status_write_fd);
        go_read_fd = go[0];
        status_write_fd = status[1];
        *ret_pid = 4242;
        *ret_go_fd = go[1];
        *ret_status_fd = status[0];
        return fake_start("helper", done, userdata, ret);
}

static int fake_helper_netns(pid_t helper, int *ret_fd) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        ASSERT_TRUE(fd >= 0);
        *ret_fd = fd;
        return 0;
}

static int fake_netns_userns(int netns_fd, int *ret_fd) {
        return fake_helper_netns(0, ret_fd);
}

static int fake_leader_open(Container *c, int *ret_fd) {
        int p[2];

        ASSERT_OK(pipe2(p, O_CLOEXEC | O_NONBLOCK));
        safe_close(leader_write_fd);
        leader_write_fd = p[1];
        *ret_fd = p[0];
        return 0;
}

static bool fake_leader_is_alive(const Container *c) {
        return leader_alive;
}

static void fake_leader_kill(Container *c, int pidfd) {
        n_killed++;
}

static int fake_wshd_hello(Container *c, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        return fake_start("hello", done, userdata, ret);
}

static int fake_wshd_stop(
        Container *c, uint64_t timeout, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        return fake_start("wshd_stop", done, userdata, ret);
}

static int
fake_scope_start(Container *c, pid_t pid, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        ASSERT_EQ(pid, 4242);
        return fake_start("scope", done, userdata, ret);
}

static int fake_scope_stop(Container *c, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        return fake_start("scope_stop", done, userdata, ret);
}

static int fake_network_setup(
        Container *c,
        const NetworkConfig *config,
        int netns_fd,
        container_op_done_t done,
        void *userdata,
        ContainerOpCall **ret) {
        safe_close(netns_fd);
        return fake_start("network", done, userdata, ret);
}

static int fake_network_delete(
        Manager *m, const char *ifname, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        return fake_start("network_delete", done, userdata, ret);
}

static int fake_firewall_add(Container *c, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        return fake_start("firewall", done, userdata, ret);
}

static int
fake_firewall_remove(Container *c, container_op_done_t done, void *userdata, ContainerOpCall **ret) {
        return fake_start("firewall_remove", done, userdata, ret);
}

static const ContainerOps fake_ops = {
        .rootfs_setup = fake_rootfs_setup,
        .rootfs_teardown = fake_rootfs_teardown,
        .remove_orphans = fake_remove_orphans,
        .helper_spawn = fake_helper_spawn,
        .helper_netns = fake_helper_netns,
        .netns_userns = fake_netns_userns,
        .leader_open = fake_leader_open,
        .leader_is_alive = fake_leader_is_alive,
        .leader_kill = fake_leader_kill,
        .wshd_hello = fake_wshd_hello,
        .wshd_stop = fake_wshd_stop,
        .scope_start = fake_scope_start,
        .scope_stop = fake_scope_stop,
        .network_setup = fake_network_setup,
        .network_delete = fake_network_delete,
        .firewall_add = fake_firewall_add,
        .firewall_remove = fake_firewall_remove,
};

/* ---- the events -------------------------------------------------------------------------------------- */

static unsigned n_announced, n_gone, n_oom;

static void on_announced(Container *c) {
        n_announced++;
}

static void on_gone(Manager *m, const char *handle) {
        n_gone++;
}

static void on_oom(Container *c) {
        n_oom++;
}

static const ManagerEvents events = {
        .container_oom = on_oom,
        .container_announced = on_announced,
        .container_gone = on_gone,
};

/* ---- the verbs' outcome ------------------------------------------------------------------------------ */

typedef struct Outcome {
        unsigned n_done;
        bool container; /* done got the container */
        WardenError error;
} Outcome;

static void outcome_done(Container *c, const WardenError *error, void *userdata) {
        Outcome *o = userdata;

        o->n_done++;
        o->container = c;
        if (error)
                (void) warden_error_copy(&o->error, error);
}

/* ---- set-up ------------------------------------------------------------------------------------------ */

static Manager *manager_setup(void) {
        Manager *m = NULL;
        char *dir = tests_tmpdir(), *conf = NULL, *text = NULL;

        ASSERT_TRUE(asprintf(&conf, "%s/warden.conf", dir) > 0);
        ASSERT_TRUE(asprintf(&text, "[containers]\ndepot = %s/d\n", dir) > 0);
        ASSERT_OK(write_file_atomic(conf, text, strlen(text), 0600));
        ASSERT_OK(manager_new(conf, dir, &m));
        ASSERT_OK(manager_startup(m));
        m->ops = &fake_ops;
        m->events = &events;
        free(conf);
        free(text);
        return m;
}

/* Dispatches whatever is ready (without waiting), idle sources included. */
static void run(Manager *m) {
        for (unsigned i = 0; i < 1000; i++)
                if (sd_event_run(m->event, 0) <= 0)
                        return;
        tests_fail(__FILE__, __LINE__, "the event loop never settles");
}

static void status(Manager *m, const char *line) {
        ASSERT_EQ(write(status_write_fd, line, strlen(line)), (ssize_t) strlen(line));
        run(m);
}

static bool released(void) {
        char g;

        return read(go_read_fd, &g, 1) == 1 && g == 'G';
}

static Container *create(Manager *m, const char *handle, Outcome *o) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        _cleanup_(create_spec_done) CreateSpec spec = { .handle = handle };
        Container *c = NULL;

        spec.rootfs_resolved = strdup("/");
        ASSERT_NOT_NULL(spec.rootfs_resolved);
        ASSERT_OK(container_create(m, &spec, outcome_done, o, &c, &e));
        ASSERT_NOT_NULL(c);
        ASSERT_STREQ(container_get_state(c), "being created");
        return c;
}

/* The Create steps, in the order a real one mostly takes. */
enum {
        STEP_SCOPE,
        STEP_FIREWALL,
        STEP_ROOTFS,
        STEP_NETNS,
        STEP_NETWORK,
        STEP_PID,
        STEP_READY,
        STEP_HELLO,
        _STEP_MAX,
};

static void create_step(Manager *m, int step) {
        switch (step) {
        case STEP_SCOPE:
                complete("scope", 0);
                break;
        case STEP_FIREWALL:
                complete("firewall", 0);
                break;
        case STEP_ROOTFS:
                complete("rootfs", 0);
                break;
        case STEP_NETNS:
                status(m, "NETNS=1\n");
                break;
        case STEP_NETWORK:
                complete("network", 0);
                break;
        case STEP_PID:
                status(m, "PID=4243\n");
                break;
        case STEP_READY:
                status(m, "READY=1\n");
                break;
        case STEP_HELLO:
                complete("hello", 0);
                break;
        }
        run(m);
}

/* Completes a teardown's steps; the container is gone then. */
static void finish_teardown(Manager *m) {
        complete("scope_stop", 0);
        complete("rootfs_teardown", 0);
        if (is_pending("firewall_remove"))
                complete("firewall_remove", 0);
        run(m);
        /* off the caller's path: after the container is gone */
        if (is_pending("network_delete"))
                complete("network_delete", 0);
        run(m);
}

/* ---- the tests --------------------------------------------------------------------------------------- */

/* wshd is released only once the rootfs, the scope and its network namespace are there; Create reports and
 * announces once the greeting, the network and the firewall are done. */
TEST(create_in_order) {
        _cleanup_(manager_freep) Manager *m = manager_setup();
        Outcome o = {};
        Container *c = create(m, "one", &o);

        for (int step = 0; step < _STEP_MAX; step++) {
                ASSERT_EQ(o.n_done, 0u);
                ASSERT_EQ(n_announced, 0u);
                create_step(m, step);
                /* 'G' goes out right after the network namespace is known, the last of the three */
                if (step < STEP_NETNS)
                        ASSERT_FALSE(released());
                if (step == STEP_NETNS)
                        ASSERT_TRUE(released());
        }
        ASSERT_EQ(o.n_done, 1u);
        ASSERT_TRUE(o.container);
        ASSERT_FALSE(warden_error_is_set(&o.error));
        ASSERT_EQ(n_announced, 1u);
        ASSERT_EQ(c->state, CONTAINER_ACTIVE);
        ASSERT_STREQ(container_get_state(c), "active");
        ASSERT_NULL(c->operation);
        ASSERT_EQ(m->n_operations, 0u);
        ASSERT_NOT_NULL(c->leader_source);
        ASSERT_NULL(pending); /* nothing left: a helper that has not exited yet is killed */
        ASSERT_TRUE(strstr(log_buf, "xhelper"));
}

/* The veth fails while the rootfs worker still runs: nothing is undone (and nothing reported) until the
 * worker is over; the veth is not ours, so no link of its name is deleted. */
TEST(network_fails_while_rootfs_runs) {
        _cleanup_(manager_freep) Manager *m = manager_setup();
        Outcome o = {};
        Container *c = create(m, "two", &o);

        create_step(m, STEP_SCOPE);
        create_step(m, STEP_FIREWALL);
        create_step(m, STEP_NETNS);
        ASSERT_TRUE(is_pending("rootfs"));
        complete("network", -EEXIST);
        run(m);
        ASSERT_EQ(o.n_done, 0u);
        ASSERT_FALSE(is_pending("scope_stop"));
        ASSERT_FALSE(is_pending("rootfs_teardown"));
        ASSERT_STREQ(container_get_state(c), "being created");

        complete("rootfs", 0);
        run(m);
        ASSERT_FALSE(released()); /* wshd never goes */
        ASSERT_TRUE(is_pending("scope_stop"));
        ASSERT_TRUE(is_pending("rootfs_teardown"));
        ASSERT_FALSE(is_pending("network_delete"));
        ASSERT_FALSE(is_pending("helper")); /* killed with the operation */
        ASSERT_EQ(o.n_done, 0u);
        finish_teardown(m);
        ASSERT_EQ(o.n_done, 1u);
        ASSERT_FALSE(o.container);
        ASSERT_EQ(o.error.kind, WARDEN_ERROR_KIND_FAILED);
        ASSERT_EQ(o.error.error, -EEXIST);
        ASSERT_STREQ(o.error.message, "Failed to set up the network: a link named 'w-0-0' exists already.");
        ASSERT_NULL(manager_get_container(m, "two"));
        ASSERT_EQ(n_gone, 0u); /* never announced */
        ASSERT_EQ(m->n_operations, 0u);
        warden_error_done(&o.error);
}

/* A scope of that name exists already: the Create fails with the scope's own words, and the teardown leaves
 * that unit alone (it is someone else's); a start job that ran but failed leaves a unit that is stopped. */
TEST(scope_failures) {
        _cleanup_(manager_freep) Manager *m = manager_setup();
        _cleanup_(warden_error_done) WardenError exists = WARDEN_ERROR_NULL, failed = WARDEN_ERROR_NULL;
        Outcome o = {}, p = {};

        (void) create(m, "eleven", &o);
        (void) warden_error_setf(
                &exists,
                WARDEN_ERROR_KIND_CONTAINER_EXISTS,
                0,
                "Unit warden-eleven.scope exists already: x");
        complete_with("scope", -EEXIST, &exists);
        run(m);
        complete("rootfs", 0); /* the worker finishes the failure */
        run(m);
        ASSERT_FALSE(is_pending("scope_stop"));
        ASSERT_TRUE(is_pending("rootfs_teardown"));
        complete("rootfs_teardown", 0);
        complete("firewall_remove", 0);
        run(m);
        ASSERT_EQ(o.n_done, 1u);
        ASSERT_EQ(o.error.kind, WARDEN_ERROR_KIND_CONTAINER_EXISTS);
        ASSERT_STREQ(o.error.message, "Unit warden-eleven.scope exists already: x");

        (void) create(m, "twelve", &p);
        (void) warden_error_setf(
                &failed,
                WARDEN_ERROR_KIND_FAILED,
                -EIO,
                "Starting warden-twelve.scope failed: job result 'failed'.");
        complete_with("scope", 1, &failed);
        run(m);
        complete("rootfs", 0);
        run(m);
        ASSERT_TRUE(is_pending("scope_stop"));
        finish_teardown(m);
        ASSERT_EQ(p.n_done, 1u);
        ASSERT_EQ(p.error.kind, WARDEN_ERROR_KIND_FAILED);
        ASSERT_STREQ(p.error.message, "Starting warden-twelve.scope failed: job result 'failed'.");
        ASSERT_EQ(m->n_operations, 0u);
        warden_error_done(&o.error);
        warden_error_done(&p.error);
}

/* A full depot is NO_SPACE whichever step finds out: the rootfs worker, or wshd refusing the greeting. */
TEST(full_depot_is_no_space) {
        _cleanup_(manager_freep) Manager *m = manager_setup();
        _cleanup_(warden_error_done) WardenError refusal = WARDEN_ERROR_NULL;
        Outcome o = {}, p = {};

        (void) create(m, "eight", &o);
        complete("rootfs", -ENOSPC);
        run(m);
        finish_teardown(m);
        ASSERT_EQ(o.n_done, 1u);
        ASSERT_EQ(o.error.kind, WARDEN_ERROR_KIND_NO_SPACE);
        ASSERT_TRUE(strstr(o.error.message, "Failed to set up the root file system in '"));
        ASSERT_TRUE(strstr(o.error.message, "/eight': No space left on device"));

        (void) create(m, "nine", &p);
        for (int step = 0; step < STEP_HELLO; step++)
                create_step(m, step);
        (void) warden_error_setf(
                &refusal, WARDEN_ERROR_KIND_FAILED, -ENOSPC, "wshd refused the greeting: %m");
        complete_with("hello", -ENOSPC, &refusal);
        run(m);
        finish_teardown(m);
        ASSERT_EQ(p.n_done, 1u);
        ASSERT_EQ(p.error.kind, WARDEN_ERROR_KIND_NO_SPACE);
        ASSERT_STREQ(p.error.message, "wshd refused the greeting: No space left on device");
        warden_error_done(&o.error);
        warden_error_done(&p.error);
}

/* Destroy and Stop are refused at every step of a Create, with the words clients see; the Create goes on. */
TEST(destroy_during_each_create_step) {
        _cleanup_(manager_freep) Manager *m = manager_setup();
        Outcome o = {};
        Container *c = create(m, "three", &o);

        for (int step = 0; step <= _STEP_MAX; step++) {
                _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
                Outcome d = {};

                if (step < _STEP_MAX) {
                        ASSERT_ERROR(container_destroy(c, outcome_done, &d, &e), EBADFD);
                        ASSERT_EQ(e.kind, WARDEN_ERROR_KIND_INVALID_STATE);
                        ASSERT_STREQ(e.message, "Container 'three' is being created.");
                        ASSERT_ERROR(container_stop(c, true, outcome_done, &d, &e), EBADFD);
                        ASSERT_STREQ(e.message, "Container 'three' is being created.");
                        ASSERT_EQ(d.n_done, 0u);
                        create_step(m, step);
                        continue;
                }
                /* created: now Destroy goes through */
                ASSERT_EQ(o.n_done, 1u);
                ASSERT_OK(container_destroy(c, outcome_done, &d, &e));
                ASSERT_STREQ(container_get_state(c), "being destroyed");
                ASSERT_TRUE(is_pending("network_delete")); /* the veth was ours */
                finish_teardown(m);
                ASSERT_EQ(d.n_done, 1u);
                ASSERT_FALSE(warden_error_is_set(&d.error));
                ASSERT_EQ(n_gone, 1u);
                ASSERT_NULL(manager_get_container(m, "three"));
        }
}

/* wshd dies while a Stop waits for it: the GC leaves the container alone while the Stop is in flight, and
 * tears it down once the Stop has reported. */
TEST(wshd_dies_during_stop) {
        _cleanup_(manager_freep) Manager *m = manager_setup();
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        Outcome o = {}, s = {};
        Container *c = create(m, "four", &o);

        for (int step = 0; step < _STEP_MAX; step++)
                create_step(m, step);
        ASSERT_EQ(o.n_done, 1u);

        ASSERT_OK(container_stop(c, false, outcome_done, &s, &e));
        ASSERT_STREQ(container_get_state(c), "being stopped");
        leader_write_fd = safe_close(leader_write_fd); /* wshd is gone */
        run(m);
        ASSERT_NULL(c->leader_source);
        ASSERT_FALSE(is_pending("scope_stop")); /* not while the Stop is in flight */
        ASSERT_EQ(s.n_done, 0u);

        complete("wshd_stop", -ECONNRESET);
        ASSERT_EQ(s.n_done, 1u);
        ASSERT_TRUE(s.container);
        ASSERT_EQ(s.error.error, -ECONNRESET);
        ASSERT_STREQ(s.error.message, "Failed to stop the processes of 'four': Connection reset by peer");
        ASSERT_FALSE(is_pending("scope_stop")); /* the GC looks once the loop is idle */
        run(m);
        ASSERT_TRUE(is_pending("scope_stop"));
        ASSERT_STREQ(container_get_state(c), "being destroyed");
        finish_teardown(m);
        ASSERT_NULL(manager_get_container(m, "four"));
        ASSERT_EQ(n_gone, 1u);
        ASSERT_EQ(m->n_operations, 0u);
        warden_error_done(&s.error);
}

/* A limit change holds the container: wshd dying meanwhile is dealt with when it is released. */
TEST(wshd_dies_while_held) {
        _cleanup_(manager_freep) Manager *m = manager_setup();
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        Outcome o = {};
        Container *c = create(m, "five", &o);

        for (int step = 0; step < _STEP_MAX; step++)
                create_step(m, step);
        ASSERT_OK(container_check_idle(c, &e));
        container_hold(c);
        ASSERT_ERROR(container_check_idle(c, &e), EBADFD);
        ASSERT_STREQ(e.message, "Container 'five' is being changed.");
        leader_write_fd = safe_close(leader_write_fd);
        run(m);
        ASSERT_FALSE(is_pending("scope_stop"));
        ASSERT_FALSE(container_release(c));
        run(m);
        ASSERT_TRUE(is_pending("scope_stop"));
        finish_teardown(m);
        ASSERT_NULL(manager_get_container(m, "five"));
}

/* An OOM while a limit change holds the container waits for the release; then it is recorded, told, and the
 * container is stopped with SIGKILL, once: an OOM during that Stop does not stop it again. */
TEST(oom_while_held) {
        _cleanup_(manager_freep) Manager *m = manager_setup();
        Outcome o = {};
        Container *c = create(m, "seven", &o);

        for (int step = 0; step < _STEP_MAX; step++)
                create_step(m, step);
        container_hold(c);
        container_oom(c);
        ASSERT_EQ(n_oom, 0u);
        ASSERT_FALSE(is_pending("wshd_stop"));
        ASSERT_TRUE(c->oom_pending);

        ASSERT_TRUE(container_release(c));
        ASSERT_EQ(n_oom, 1u);
        ASSERT_TRUE(strv_contains(c->events, CONTAINER_OOM_EVENT));
        ASSERT_TRUE(is_pending("wshd_stop"));
        ASSERT_STREQ(container_get_state(c), "being stopped");
        ASSERT_TRUE(c->oom_stopping);

        container_oom(c); /* the kill counted late, during its own Stop */
        ASSERT_EQ(n_oom, 1u);
        complete("wshd_stop", 0);
        run(m);
        ASSERT_FALSE(c->oom_stopping);
        ASSERT_EQ(c->state, CONTAINER_STOPPED);
        container_oom(c); /* stopped: nothing runs in it but wshd */
        ASSERT_EQ(n_oom, 1u);
        ASSERT_FALSE(is_pending("wshd_stop"));
}

/* wardend dies after each step of a Create (a child process that exits where it stands), and a new one
 * starts from the state files: the container is "born" there and cleaned up; after the last step it is
 * "active" and re-adopted, and once its wshd is gone, cleaned up at the next start. */
TEST(restart_between_create_steps) {
        (void) tests_tmpdir(); /* the parent's, before the children */
        for (int last = -1; last < _STEP_MAX; last++) {
                Manager *m;
                Container *c;
                pid_t pid;
                int st;

                pid = fork();
                ASSERT_TRUE(pid >= 0);
                if (pid == 0) {
                        Outcome o = {};

                        m = manager_setup();
                        c = create(m, "six", &o);
                        for (int step = 0; step <= last; step++)
                                create_step(m, step);
                        ASSERT_EQ(o.n_done, last == _STEP_MAX - 1 ? 1u : 0u);
                        ASSERT_EQ(c->state, last == _STEP_MAX - 1 ? CONTAINER_ACTIVE : CONTAINER_BORN);
                        /* wardend killed where it stands: nothing cleaned up, nothing (not even valgrind's
                         * leak check) runs at exit; a failed check above exits 1 instead */
                        (void) kill(getpid(), SIGKILL);
                        _exit(2);
                }
                ASSERT_EQ(waitpid(pid, &st, 0), pid);
                ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

                m = manager_setup();
                c = manager_get_container(m, "six");
                ASSERT_NOT_NULL(c);
                n_gone = 0;
                container_adopt_all(m);
                run(m);
                if (last == _STEP_MAX - 1) {
                        ASSERT_NULL(c->operation);
                        ASSERT_NOT_NULL(c->leader_source);
                        ASSERT_FALSE(is_pending("scope_stop"));
                        ASSERT_EQ(c->state, CONTAINER_ACTIVE);
                } else {
                        ASSERT_STREQ(container_get_state(c), "being destroyed");
                        finish_teardown(m);
                        ASSERT_NULL(manager_get_container(m, "six"));
                        ASSERT_EQ(n_gone, 0u); /* it had never been announced */
                }
                ASSERT_NULL(pending);
                manager_free(m);

                m = manager_setup();
                if (last == _STEP_MAX - 1) {
                        /* its wshd is gone now: cleaned up, and announced as gone */
                        leader_alive = false;
                        container_adopt_all(m);
                        run(m);
                        ASSERT_TRUE(is_pending("scope_stop"));
                        finish_teardown(m);
                        ASSERT_EQ(n_gone, 1u);
                        leader_alive = true;
                }
                ASSERT_NULL(manager_get_container(m, "six")); /* no state file left behind */
                ASSERT_NULL(pending);
                manager_free(m);
        }
}

/* wardend dies during a Stop, and during a Destroy after its scope is gone: the next one finds the container
 * as it was recorded (active), sees that its wshd is gone, and cleans it up, announcing it as gone. */
TEST(restart_during_stop_and_destroy) {
        (void) tests_tmpdir();
        for (int destroy = 0; destroy <= 1; destroy++) {
                Manager *m;
                pid_t pid;
                int st;

                pid = fork();
                ASSERT_TRUE(pid >= 0);
                if (pid == 0) {
                        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
                        Outcome o = {}, d = {};
                        Container *c;

                        m = manager_setup();
                        c = create(m, "ten", &o);
                        for (int step = 0; step < _STEP_MAX; step++)
                                create_step(m, step);
                        if (destroy) {
                                ASSERT_OK(container_destroy(c, outcome_done, &d, &e));
                                complete("scope_stop", 0);
                                run(m);
                                ASSERT_EQ(d.n_done, 0u);
                        } else
                                ASSERT_OK(container_stop(c, false, outcome_done, &d, &e));
                        (void) kill(getpid(), SIGKILL);
                        _exit(2);
                }
                ASSERT_EQ(waitpid(pid, &st, 0), pid);
                ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

                m = manager_setup();
                ASSERT_NOT_NULL(manager_get_container(m, "ten"));
                ASSERT_EQ(manager_get_container(m, "ten")->state, CONTAINER_ACTIVE);
                n_gone = 0;
                leader_alive = false;
                container_adopt_all(m);
                run(m);
                ASSERT_STREQ(container_get_state(manager_get_container(m, "ten")), "being destroyed");
                finish_teardown(m);
                ASSERT_NULL(manager_get_container(m, "ten"));
                ASSERT_EQ(n_gone, 1u);
                ASSERT_EQ(m->n_operations, 0u);
                ASSERT_NULL(pending);
                leader_alive = true;
                manager_free(m);

                m = manager_setup();
                ASSERT_NULL(manager_get_container(m, "ten")); /* its state file went with it */
                manager_free(m);
        }
}
