/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The job runtime (src/core/job-runtime.c) against a fake wshd served from the same event loop, as in
 * test-wshd-client.c: a Manager with a state directory and a container whose directory is in a temporary
 * depot. No root, no systemd, no bus.
 */

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "fileio.h"
#include "job-runtime.h"
#include "job.h"
#include "macro.h"
#include "manager.h"
#include "strv.h"
#include "tests.h"
#include "wshd-client.h"

#define FAKE_CONNS_MAX 16

typedef struct Fake Fake;

typedef struct FakeConn {
        Fake *fake;
        int fd;
        sd_event_source *source;
} FakeConn;

/* wshd as the runtime sees it: WATCH, SPAWN, SIGNAL, RESIZE, RELEASE. */
struct Fake {
        sd_event *event;
        int listen_fd;
        sd_event_source *listen_source;
        FakeConn conns[FAKE_CONNS_MAX];
        int watch_fd; /* the WATCH connection, kept to send exits on */

        /* what the WATCH reply says */
        uint32_t running[8];
        size_t n_running;
        WshdExited exited[8];
        size_t n_exited;

        int32_t spawn_error; /* > 0: SPAWN is answered with this errno */
        bool signal_silent;  /* SIGNAL gets no answer */
        unsigned n_watches;
        unsigned n_spawns;
        uint32_t spawned_id;
        int out_fd, err_fd; /* the last SPAWN's stdout/stderr */
        unsigned n_signals;
        uint32_t signalled_id;
        uint32_t signal;
        unsigned n_releases;
        uint32_t released_ids[8];
        JobState released_recorded_state[8]; /* what the job's record said when RELEASE came */
        int released_recorded_status[8];

        const char *records_dir;
};

typedef struct Env {
        Manager manager;
        Container *c;
        Fake fake;
        char *depot_dir;
        char *records_dir;
        unsigned n_jobs_changed;
        unsigned n_exited_events;
        int last_exited_status;
} Env;

static Env *env_of_manager; /* the events' way back to the test's state */

static void on_container_changed(Container *c, const char *property) {
        ASSERT_STREQ(property, "Jobs");
        env_of_manager->n_jobs_changed++;
}

static void on_job_exited(Container *c, const Job *j) {
        env_of_manager->n_exited_events++;
        env_of_manager->last_exited_status = j->exit_status;
}

static const ManagerEvents test_events = {
        .container_changed = on_container_changed,
        .job_exited = on_job_exited,
};

static JobState record_state(const char *dir, uint32_t id, int *ret_status) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_(job_freep) Job *j = NULL;
        char name[JOB_FILE_NAME_MAX];

        job_file_name(id, "state", name);
        ASSERT_TRUE(asprintf(&path, "%s/%s", dir, name) > 0);
        if (read_full_file(path, 64 * 1024, &text, NULL) < 0)
                return _JOB_STATE_INVALID;
        ASSERT_OK(job_deserialize(text, &j));
        if (ret_status)
                *ret_status = j->exit_status;
        return j->state;
}

static bool file_exists(const char *dir, uint32_t id, const char *suffix) {
        _cleanup_free_ char *path = NULL;
        char name[JOB_FILE_NAME_MAX];

        job_file_name(id, suffix, name);
        ASSERT_TRUE(asprintf(&path, "%s/%s", dir, name) > 0);
        return access(path, F_OK) == 0;
}

static void fake_reply(int fd, uint16_t type, uint32_t serial, int32_t error) {
        WshdMessage m;

        wshd_message_init(&m, type, serial);
        m.error = error;
        ASSERT_OK(wshd_message_send(fd, &m));
}

static void conn_close(FakeConn *k) {
        k->source = sd_event_source_disable_unref(k->source);
        if (k->fake->watch_fd == k->fd)
                k->fake->watch_fd = -1;
        k->fd = safe_close(k->fd);
}

static int fake_on_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FakeConn *k = userdata;
        Fake *f = k->fake;
        WshdMessage req, m;
        int r;

        r = wshd_message_recv(fd, &req);
        if (r == -EAGAIN)
                return 0;
        if (r < 0) {
                conn_close(k);
                return 0;
        }

        switch (req.type) {
        case WSHD_REQUEST_WATCH:
                f->n_watches++;
                f->watch_fd = fd;
                wshd_message_init(&m, WSHD_REPLY_WATCH, req.serial);
                m.running = f->running;
                m.n_running = f->n_running;
                m.exited = f->exited;
                m.n_exited = f->n_exited;
                ASSERT_OK(wshd_message_send(fd, &m));
                break;
        case WSHD_REQUEST_SPAWN:
                f->n_spawns++;
                f->spawned_id = req.job_id;
                for (size_t i = 0; i < req.n_fds; i++) {
                        if (req.fd_roles[i] == WSHD_FD_STDOUT) {
                                safe_close(f->out_fd);
                                f->out_fd = TAKE_FD(req.fds[i]);
                        } else if (req.fd_roles[i] == WSHD_FD_STDERR) {
                                safe_close(f->err_fd);
                                f->err_fd = TAKE_FD(req.fds[i]);
                        }
                }
                if (f->spawn_error > 0)
                        fake_reply(fd, WSHD_REPLY_ERROR, req.serial, f->spawn_error);
                else {
                        wshd_message_init(&m, WSHD_REPLY_SPAWN, req.serial);
                        m.job_id = req.job_id;
                        m.pid = 100 + req.job_id;
                        ASSERT_OK(wshd_message_send(fd, &m));
                }
                break;
        case WSHD_REQUEST_SIGNAL:
                f->n_signals++;
                f->signalled_id = req.job_id;
                f->signal = req.signal;
                if (!f->signal_silent)
                        fake_reply(fd, WSHD_REPLY_OK, req.serial, 0);
                break;
        case WSHD_REQUEST_RESIZE:
                fake_reply(fd, WSHD_REPLY_ERROR, req.serial, ENOTTY);
                break;
        case WSHD_REQUEST_RELEASE:
                ASSERT_TRUE(f->n_releases < ELEMENTSOF(f->released_ids));
                f->released_ids[f->n_releases] = req.job_id;
                f->released_recorded_state[f->n_releases] = record_state(
                        f->records_dir, req.job_id, &f->released_recorded_status[f->n_releases]);
                f->n_releases++;
                fake_reply(fd, WSHD_REPLY_OK, req.serial, 0);
                break;
        default:
                fake_reply(fd, WSHD_REPLY_ERROR, req.serial, EINVAL);
        }
        wshd_message_done(&req);
        return 0;
}

static int fake_on_listen(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Fake *f = userdata;
        int cfd;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
                return 0;
        for (size_t i = 0; i < FAKE_CONNS_MAX; i++) {
                FakeConn *k = &f->conns[i];

                if (k->fd >= 0)
                        continue;
                k->fd = cfd;
                ASSERT_OK(sd_event_add_io(f->event, &k->source, cfd, EPOLLIN, fake_on_conn, k));
                return 0;
        }
        tests_fail(__FILE__, __LINE__, "too many connections to the fake wshd");
}

/* Sends an exit of job 'id' on the WATCH connection. */
static void fake_exit(Fake *f, uint32_t id, uint32_t wait_status) {
        WshdMessage m;

        ASSERT_TRUE(f->watch_fd >= 0);
        wshd_message_init(&m, WSHD_EVENT_EXIT, 0);
        m.job_id = id;
        m.pid = 100 + id;
        m.wait_status = wait_status;
        ASSERT_OK(wshd_message_send(f->watch_fd, &m));
}

#define RUN_UNTIL(e, expr)                                                       \
        do {                                                                     \
                while (!(expr))                                                  \
                        ASSERT_OK(sd_event_run((e)->manager.event, UINT64_MAX)); \
        } while (false)

static void env_init(Env *e) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_free_ char *state = NULL, *containers = NULL, *path = NULL, *sock = NULL;
        const char *tmp = tests_tmpdir();

        *e = (Env){ .fake = {
                            .listen_fd = -EBADF, .watch_fd = -EBADF, .out_fd = -EBADF, .err_fd = -EBADF } };
        env_of_manager = e;
        for (size_t i = 0; i < FAKE_CONNS_MAX; i++)
                e->fake.conns[i] = (FakeConn){ .fake = &e->fake, .fd = -EBADF };

        manager_config_init(&e->manager.config);
        e->manager.containers = hashmap_new();
        ASSERT_NOT_NULL(e->manager.containers);
        ASSERT_OK(sd_event_new(&e->manager.event));
        e->manager.events = &test_events;
        e->manager.seccomp_fd = -EBADF;
        ASSERT_TRUE(asprintf(&state, "%s/state", tmp) > 0);
        ASSERT_TRUE(asprintf(&containers, "%s/containers", state) > 0);
        ASSERT_OK(mkdir_p(containers, 0700));
        e->manager.state_dir = TAKE_PTR(state);

        ASSERT_OK(container_new("box", &e->c));
        ASSERT_TRUE(asprintf(&path, "%s/depot/box", tmp) > 0);
        ASSERT_OK(mkdir_p(path, 0700));
        ASSERT_TRUE(asprintf(&e->depot_dir, "%s/jobs", path) > 0);
        e->c->path = TAKE_PTR(path);
        e->c->state = CONTAINER_ACTIVE;
        e->c->uid = 1000;
        e->c->next_job_id = 1;
        ASSERT_OK(manager_add_container(&e->manager, e->c));
        ASSERT_OK(manager_job_records_path(&e->manager, "box", &e->records_dir));
        e->fake.records_dir = e->records_dir;

        e->fake.event = e->manager.event;
        ASSERT_TRUE(asprintf(&sock, "%s/wshd.sock", e->c->path) > 0);
        ASSERT_TRUE(strlen(sock) < sizeof(sa.sun_path));
        memcpy(sa.sun_path, sock, strlen(sock) + 1);
        e->fake.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ASSERT_TRUE(e->fake.listen_fd >= 0);
        ASSERT_OK(bind(e->fake.listen_fd, (struct sockaddr *) &sa, sizeof(sa)));
        ASSERT_OK(listen(e->fake.listen_fd, 16));
        ASSERT_OK(sd_event_add_io(
                e->manager.event,
                &e->fake.listen_source,
                e->fake.listen_fd,
                EPOLLIN,
                fake_on_listen,
                &e->fake));
}

static void env_done(Env *e) {
        container_free(e->c);
        for (size_t i = 0; i < FAKE_CONNS_MAX; i++)
                if (e->fake.conns[i].fd >= 0)
                        conn_close(&e->fake.conns[i]);
        sd_event_source_disable_unref(e->fake.listen_source);
        safe_close(e->fake.listen_fd);
        safe_close(e->fake.out_fd);
        safe_close(e->fake.err_fd);
        hashmap_free(e->manager.containers);
        manager_config_done(&e->manager.config);
        free(e->manager.state_dir);
        sd_event_unref(e->manager.event);
        free(e->depot_dir);
        free(e->records_dir);
}

static void env_start(Env *e) {
        ASSERT_OK(job_runtime_container_start(e->c));
        RUN_UNTIL(e, e->fake.n_watches == 1 && e->fake.watch_fd >= 0);
}

/* ---- callbacks ---------------------------------------------------------------------------------------- */

typedef struct Answer {
        unsigned n;
        uint32_t id;
        JobState state;
        int exit_status;
        char *out, *err;
        char **events;
        WardenError error;
        bool cancelled;
} Answer;

static void answer_done(Answer *a) {
        free(a->out);
        free(a->err);
        strv_free(a->events);
        warden_error_done(&a->error);
}

static void record_answer(Answer *a, const Job *j, const WardenError *error) {
        a->n++;
        if (j) {
                a->id = j->id;
                a->state = j->state;
                a->exit_status = j->exit_status;
                STRV_FOREACH(ev, j->events)
                        ASSERT_OK(strv_extend(&a->events, *ev));
        }
        if (error) {
                a->cancelled = job_runtime_cancelled(error);
                (void) warden_error_copy(&a->error, error);
        }
}

static void
on_done(Container *c, const Job *j, const JobOutputs *o, const WardenError *error, void *userdata) {
        Answer *a = userdata;

        record_answer(a, j, error);
        if (o) {
                a->out = strndup(o->out ?: "", o->out_size);
                a->err = strndup(o->err ?: "", o->err_size);
        }
}

static void on_spawned(Container *c, const Job *j, const WardenError *error, void *userdata) {
        record_answer(userdata, j, error);
}

static void on_request(Container *c, const WardenError *error, void *userdata) {
        record_answer(userdata, NULL, error);
}

static void params_init(JobSpawnParams *p) {
        *p = JOB_SPAWN_PARAMS_NULL;
        ASSERT_OK(strv_extend(&p->argv, "true"));
}

static uint32_t spawn_one(Env *e, Answer *spawned) {
        _cleanup_(job_spawn_params_done) JobSpawnParams p;
        WardenError error = WARDEN_ERROR_NULL;

        params_init(&p);
        ASSERT_OK(job_runtime_spawn(e->c, &p, on_spawned, spawned, &error));
        ASSERT_FALSE(warden_error_is_set(&error));
        RUN_UNTIL(e, spawned->n == 1);
        ASSERT_FALSE(warden_error_is_set(&spawned->error));
        return spawned->id;
}

/* Reads what the non-blocking pipe 'fd' has into buf (at *n); true at its end. */
static bool drain(int fd, char *buf, size_t size, size_t *n) {
        for (;;) {
                ssize_t k = read(fd, buf + *n, size - 1 - *n);

                if (k > 0) {
                        *n += (size_t) k;
                        buf[*n] = 0;
                        continue;
                }
                if (k == 0)
                        return true;
                ASSERT_TRUE(errno == EAGAIN);
                return false;
        }
}

static void write_all(int fd, const char *s, size_t n) {
        ASSERT_EQ(write(fd, s, n), (ssize_t) n);
}

/* ---- tests -------------------------------------------------------------------------------------------- */

TEST(stream_replays_and_follows) {
        Env e;
        _cleanup_(answer_done) Answer spawned = {};
        _cleanup_close_ int out = -EBADF, err = -EBADF, out2 = -EBADF, err2 = -EBADF;
        char buf[64] = {}, buf2[64] = {}, ebuf[64] = {};
        size_t n = 0, n2 = 0, en = 0;
        bool out_end = false, err_end = false;
        Job *j;

        env_init(&e);
        env_start(&e);
        j = container_get_job(e.c, spawn_one(&e, &spawned));

        write_all(e.fake.out_fd, "abc", 3);
        ASSERT_OK(job_runtime_stream(e.c, j, &out, &err, NULL));
        ASSERT_OK(fcntl(out, F_SETFL, O_NONBLOCK));
        ASSERT_OK(fcntl(err, F_SETFL, O_NONBLOCK));
        /* what was there is in the pipe when the caller gets it */
        ASSERT_FALSE(drain(out, buf, sizeof(buf), &n));
        ASSERT_STREQ(buf, "abc");

        /* more follows, from inotify */
        write_all(e.fake.out_fd, "def", 3);
        write_all(e.fake.err_fd, "E", 1);
        RUN_UNTIL(&e, drain(out, buf, sizeof(buf), &n) || n == 6);
        ASSERT_STREQ(buf, "abcdef");

        /* a second stream replays from the start */
        ASSERT_OK(job_runtime_stream(e.c, j, &out2, &err2, NULL));
        ASSERT_OK(fcntl(out2, F_SETFL, O_NONBLOCK));
        ASSERT_FALSE(drain(out2, buf2, sizeof(buf2), &n2));
        ASSERT_STREQ(buf2, "abcdef");

        /* the pipes end with the job */
        fake_exit(&e.fake, j->id, 0);
        RUN_UNTIL(
                &e,
                (out_end = out_end || drain(out, buf, sizeof(buf), &n)) &&
                        (err_end = err_end || drain(err, ebuf, sizeof(ebuf), &en)));
        ASSERT_STREQ(buf, "abcdef");
        ASSERT_STREQ(ebuf, "E");
        env_done(&e);
}

static void write_record(const char *dir, Job *j) {
        _cleanup_free_ char *text = NULL, *path = NULL;
        char name[JOB_FILE_NAME_MAX];

        ASSERT_OK(mkdir_p(dir, 0700));
        ASSERT_OK(job_serialize(j, &text));
        job_file_name(j->id, "state", name);
        ASSERT_TRUE(asprintf(&path, "%s/%s", dir, name) > 0);
        ASSERT_OK(write_file_atomic(path, text, strlen(text), 0600));
}

static void make_record(const char *dir, uint32_t id, JobState state, int exit_status) {
        _cleanup_(job_freep) Job *j = NULL;

        ASSERT_OK(job_new(id, &j));
        j->state = state;
        j->exit_status = exit_status;
        j->output = JOB_OUTPUT_DISCARD;
        write_record(dir, j);
}

TEST(exit_recorded_before_release) {
        Env e;
        _cleanup_(answer_done) Answer spawned = {}, linked = {};
        uint32_t id;
        Job *j;

        env_init(&e);
        make_record(e.records_dir, 9, JOB_RUNNING, 0); /* a leftover of an earlier container of that name */
        env_start(&e);
        ASSERT_FALSE(file_exists(e.records_dir, 9, "state"));

        id = spawn_one(&e, &spawned);
        ASSERT_EQ(id, 1);
        ASSERT_EQ(e.fake.spawned_id, 1);
        ASSERT_EQ(e.n_jobs_changed, 1);
        ASSERT_EQ(record_state(e.records_dir, id, NULL), JOB_STARTING); /* recorded before SPAWN went out */
        ASSERT_TRUE(file_exists(e.depot_dir, id, "stdout"));
        j = container_get_job(e.c, id);
        ASSERT_NOT_NULL(j);
        ASSERT_EQ(j->state, JOB_RUNNING);
        ASSERT_EQ(j->pid, 101);

        fake_exit(&e.fake, id, 3 << 8);
        RUN_UNTIL(&e, e.fake.n_releases == 1);
        ASSERT_EQ(e.fake.released_ids[0], id);
        /* the record said "exited, 3" by the time wshd was told to forget the exit */
        ASSERT_EQ(e.fake.released_recorded_state[0], JOB_EXITED);
        ASSERT_EQ(e.fake.released_recorded_status[0], 3);
        ASSERT_EQ(e.n_exited_events, 1);
        ASSERT_EQ(e.last_exited_status, 3);

        /* Link answers at once, then the job and its files are gone */
        ASSERT_OK(job_runtime_find(e.c, id, &j, NULL));
        ASSERT_OK(job_runtime_link(e.c, j, on_done, &linked));
        ASSERT_EQ(linked.n, 1);
        ASSERT_FALSE(warden_error_is_set(&linked.error));
        ASSERT_EQ(linked.exit_status, 3);
        ASSERT_STREQ(linked.out, "");
        ASSERT_NULL(container_get_job(e.c, id));
        ASSERT_FALSE(file_exists(e.records_dir, id, "state"));
        ASSERT_FALSE(file_exists(e.depot_dir, id, "stdout"));
        ASSERT_EQ(e.n_jobs_changed, 2);

        {
                WardenError error = WARDEN_ERROR_NULL;

                ASSERT_ERROR(job_runtime_find(e.c, id, &j, &error), ESRCH);
                ASSERT_EQ(error.kind, WARDEN_ERROR_KIND_NO_SUCH_JOB);
                ASSERT_STREQ(error.message, "No job 1 in container 'box' (or it was linked already).");
                warden_error_done(&error);
        }
        env_done(&e);
}

TEST(exit_unrecorded_stays_in_wshd) {
        Env e;
        _cleanup_(answer_done) Answer spawned = {};
        _cleanup_free_ char *record = NULL;
        uint32_t id;
        Job *j;

        env_init(&e);
        env_start(&e);
        id = spawn_one(&e, &spawned);
        j = container_get_job(e.c, id);

        /* the exit cannot be recorded: wshd must keep it */
        ASSERT_TRUE(asprintf(&record, "%s/1.state", e.records_dir) > 0);
        ASSERT_OK(unlink(record));
        ASSERT_OK(rmdir(e.records_dir));
        fake_exit(&e.fake, id, 0);
        RUN_UNTIL(&e, e.n_exited_events == 1);
        ASSERT_EQ(j->state, JOB_EXITED);

        /* the next WATCH reply repeats it; now it is recorded, and only then released */
        ASSERT_OK(mkdir_p(e.records_dir, 0700));
        e.fake.exited[e.fake.n_exited++] = (WshdExited){ .job_id = id, .pid = 101, .wait_status = 0 };
        for (size_t i = 0; i < FAKE_CONNS_MAX; i++)
                if (e.fake.conns[i].fd >= 0 && e.fake.conns[i].fd == e.fake.watch_fd)
                        conn_close(&e.fake.conns[i]);
        RUN_UNTIL(&e, e.fake.n_releases == 1);
        ASSERT_EQ(e.fake.n_watches, 2);
        ASSERT_EQ(e.fake.released_ids[0], id);
        ASSERT_EQ(e.fake.released_recorded_state[0], JOB_EXITED);
        ASSERT_EQ(e.n_exited_events, 1); /* told once */
        env_done(&e);
}

TEST(waiters_fan_out) {
        Env e;
        _cleanup_(job_spawn_params_done) JobSpawnParams p;
        _cleanup_(answer_done) Answer a = {}, b = {}, c = {};
        WardenError error = WARDEN_ERROR_NULL;
        Job *j;

        env_init(&e);
        env_start(&e);
        params_init(&p);

        ASSERT_OK(job_runtime_run(e.c, &p, on_done, &a, &error));
        RUN_UNTIL(&e, e.fake.n_spawns == 1 && e.fake.out_fd >= 0 && e.fake.err_fd >= 0);
        ASSERT_OK(job_runtime_find(e.c, e.fake.spawned_id, &j, NULL));
        ASSERT_OK(job_runtime_link(e.c, j, on_done, &b));
        ASSERT_OK(job_runtime_link(e.c, j, on_done, &c));
        RUN_UNTIL(&e, j->state == JOB_RUNNING);
        ASSERT_EQ(a.n + b.n + c.n, 0);

        write_all(e.fake.out_fd, "hello\n", 6);
        write_all(e.fake.err_fd, "oops", 4);
        fake_exit(&e.fake, j->id, SIGTERM); /* killed by a signal: 128 + 15 */
        RUN_UNTIL(&e, a.n == 1);

        /* every waiter got the same answer, once */
        Answer *all[] = { &a, &b, &c };
        for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                ASSERT_EQ(all[i]->n, 1);
                ASSERT_FALSE(warden_error_is_set(&all[i]->error));
                ASSERT_EQ(all[i]->id, 1);
                ASSERT_EQ(all[i]->exit_status, 128 + SIGTERM);
                ASSERT_STREQ(all[i]->out, "hello\n");
                ASSERT_STREQ(all[i]->err, "oops");
        }
        ASSERT_EQ(e.c->n_jobs, 0);
        ASSERT_FALSE(file_exists(e.depot_dir, 1, "stdout"));
        ASSERT_FALSE(file_exists(e.depot_dir, 1, "stderr"));
        /* its waiters had it: the exit needs no record, and wshd may forget it */
        RUN_UNTIL(&e, e.fake.n_releases == 1);
        env_done(&e);
}

TEST(output_limit) {
        Env e;
        _cleanup_(answer_done) Answer spawned = {}, linked = {};
        char buf[40];
        uint32_t id;
        Job *j;

        env_init(&e);
        e.manager.config.job_output_limit = 16;
        env_start(&e);
        id = spawn_one(&e, &spawned);
        j = container_get_job(e.c, id);

        /* at the limit: nothing happens */
        write_all(e.fake.out_fd, "0123456789", 10);
        write_all(e.fake.err_fd, "abcdef", 6);
        ASSERT_OK(sd_event_run(e.manager.event, 0));
        ASSERT_OK(sd_event_run(e.manager.event, 0));
        ASSERT_EQ(e.fake.n_signals, 0);
        ASSERT_FALSE(j->output_exceeded);

        /* one byte over, on either stream: SIGKILL, recorded */
        write_all(e.fake.err_fd, "g", 1);
        RUN_UNTIL(&e, e.fake.n_signals == 1);
        ASSERT_EQ(e.fake.signalled_id, id);
        ASSERT_EQ(e.fake.signal, SIGKILL);
        ASSERT_TRUE(j->output_exceeded);
        ASSERT_TRUE(strv_contains(j->events, JOB_EVENT_OUTPUT_EXCEEDED));

        /* more output does not kill it twice */
        memset(buf, 'x', sizeof(buf));
        write_all(e.fake.out_fd, buf, sizeof(buf));
        ASSERT_OK(sd_event_run(e.manager.event, 0));
        ASSERT_OK(sd_event_run(e.manager.event, 0));
        ASSERT_EQ(e.fake.n_signals, 1);

        fake_exit(&e.fake, id, SIGKILL);
        RUN_UNTIL(&e, e.fake.n_releases == 1);
        ASSERT_EQ(e.fake.released_recorded_status[0], 255);
        ASSERT_OK(job_runtime_link(e.c, j, on_done, &linked));
        ASSERT_EQ(linked.n, 1);
        ASSERT_EQ(linked.exit_status, 255);
        ASSERT_TRUE(strv_contains(linked.events, JOB_EVENT_OUTPUT_EXCEEDED));
        /* the limit holds for both streams together */
        ASSERT_EQ(strlen(linked.out) + strlen(linked.err), 16);
        ASSERT_STREQ(linked.out, "0123456789xxxxxx");
        ASSERT_STREQ(linked.err, "");
        env_done(&e);
}

TEST(adopt_from_records) {
        Env e;
        _cleanup_(answer_done) Answer linked = {};
        _cleanup_free_ char *garbage = NULL;
        int status = 0;
        Job *j;

        env_init(&e);
        make_record(e.records_dir, 1, JOB_RUNNING, 0);  /* still runs */
        make_record(e.records_dir, 2, JOB_EXITED, 7);   /* ended and recorded, not linked */
        make_record(e.records_dir, 4, JOB_RUNNING, 0);  /* ended while nobody watched */
        make_record(e.records_dir, 5, JOB_STARTING, 0); /* its SPAWN never arrived: lost */
        make_record(e.depot_dir, 3, JOB_RUNNING, 0);    /* an older wardend's record, in the depot */
        ASSERT_TRUE(asprintf(&garbage, "%s/6.state", e.records_dir) > 0);
        ASSERT_OK(write_file_atomic(garbage, "nonsense\n", 9, 0600));

        e.fake.running[e.fake.n_running++] = 1;
        e.fake.running[e.fake.n_running++] = 3;
        e.fake.exited[e.fake.n_exited++] = (WshdExited){ .job_id = 4, .pid = 104, .wait_status = 9 << 8 };

        ASSERT_OK(job_runtime_container_adopt(e.c));
        ASSERT_EQ(e.c->n_jobs, 5);
        ASSERT_EQ(e.c->next_job_id, 6);
        /* the old record moved to the state directory; the unusable one is gone */
        ASSERT_FALSE(file_exists(e.depot_dir, 3, "state"));
        ASSERT_EQ(record_state(e.records_dir, 3, NULL), JOB_RUNNING);
        ASSERT_FALSE(file_exists(e.records_dir, 6, "state"));

        RUN_UNTIL(&e, e.fake.n_watches == 1 && e.fake.n_releases == 1);
        ASSERT_EQ(container_get_job(e.c, 1)->state, JOB_RUNNING);
        ASSERT_EQ(container_get_job(e.c, 3)->state, JOB_RUNNING);
        j = container_get_job(e.c, 4);
        ASSERT_EQ(j->state, JOB_EXITED);
        ASSERT_EQ(j->exit_status, 9);
        ASSERT_EQ(e.fake.released_ids[0], 4);
        ASSERT_EQ(e.fake.released_recorded_state[0], JOB_EXITED);
        ASSERT_EQ(e.fake.released_recorded_status[0], 9);
        j = container_get_job(e.c, 5);
        ASSERT_EQ(j->state, JOB_EXITED);
        ASSERT_EQ(j->exit_status, 255);
        ASSERT_TRUE(strv_contains(j->events, JOB_EVENT_LOST));
        ASSERT_EQ(record_state(e.records_dir, 5, &status), JOB_EXITED);
        ASSERT_EQ(status, 255);
        ASSERT_EQ(e.n_exited_events, 2);

        /* an exit recorded before the restart is there to link */
        ASSERT_OK(job_runtime_find(e.c, 2, &j, NULL));
        ASSERT_OK(job_runtime_link(e.c, j, on_done, &linked));
        ASSERT_EQ(linked.n, 1);
        ASSERT_EQ(linked.exit_status, 7);
        ASSERT_EQ(e.c->n_jobs, 4);
        env_done(&e);
}

TEST(spawn_refused) {
        Env e;
        _cleanup_(job_spawn_params_done) JobSpawnParams p;
        _cleanup_(answer_done) Answer run = {}, spawned = {}, run2 = {};
        WardenError error = WARDEN_ERROR_NULL;

        env_init(&e);
        env_start(&e);
        params_init(&p);

        e.fake.spawn_error = ENOENT;
        ASSERT_OK(job_runtime_run(e.c, &p, on_done, &run, &error));
        ASSERT_OK(job_runtime_spawn(e.c, &p, on_spawned, &spawned, &error));
        RUN_UNTIL(&e, run.n == 1 && spawned.n == 1);
        ASSERT_EQ(run.error.kind, WARDEN_ERROR_KIND_FAILED);
        ASSERT_EQ(run.error.error, -ENOENT);
        ASSERT_EQ(run.state, JOB_STARTING); /* how the front end tells it from an output error */
        ASSERT_STREQ(run.error.message, "wshd of 'box' could not start the job: No such file or directory.");
        ASSERT_STREQ(spawned.error.message, run.error.message);
        ASSERT_EQ(e.c->n_jobs, 0);
        ASSERT_FALSE(file_exists(e.records_dir, 1, "state"));
        ASSERT_FALSE(file_exists(e.depot_dir, 1, "stdout"));

        e.fake.spawn_error = EAGAIN;
        ASSERT_OK(job_runtime_run(e.c, &p, on_done, &run2, &error));
        RUN_UNTIL(&e, run2.n == 1);
        ASSERT_EQ(run2.error.kind, WARDEN_ERROR_KIND_POOL_EXHAUSTED);
        ASSERT_STREQ(run2.error.message, "Too many jobs in container 'box'.");
        env_done(&e);
}

TEST(spawn_checks) {
        Env e;
        _cleanup_(job_spawn_params_done) JobSpawnParams p;
        _cleanup_(answer_done) Answer spawned = {};
        WardenError error = WARDEN_ERROR_NULL;

        env_init(&e);
        params_init(&p);

        /* no runtime yet */
        ASSERT_ERROR(job_runtime_spawn(e.c, &p, on_spawned, &spawned, &error), EBADFD);
        ASSERT_EQ(error.kind, WARDEN_ERROR_KIND_INVALID_STATE);
        ASSERT_STREQ(error.message, "Container 'box' cannot run jobs.");

        env_start(&e);
        e.c->state = CONTAINER_STOPPED;
        ASSERT_ERROR(job_runtime_spawn(e.c, &p, on_spawned, &spawned, &error), EBADFD);
        ASSERT_STREQ(error.message, "Container 'box' is stopped: jobs start only in an active container.");
        e.c->state = CONTAINER_ACTIVE;

        e.c->uid = 0;
        ASSERT_ERROR(job_runtime_spawn(e.c, &p, on_spawned, &spawned, &error), EBADFD);
        ASSERT_STREQ(error.message, "Container 'box' has no user of its own.");
        e.c->uid = 1000;

        e.manager.config.max_jobs_per_container = 1;
        ASSERT_EQ(spawn_one(&e, &spawned), 1);
        ASSERT_ERROR(job_runtime_spawn(e.c, &p, on_spawned, &spawned, &error), ENOSR);
        ASSERT_EQ(error.kind, WARDEN_ERROR_KIND_POOL_EXHAUSTED);
        ASSERT_EQ(spawned.n, 1); /* a verb that fails never calls back */
        warden_error_done(&error);
        env_done(&e);
}

TEST(signal_and_resize) {
        Env e;
        _cleanup_(answer_done) Answer spawned = {}, sig = {}, resize = {};
        WardenError error = WARDEN_ERROR_NULL;
        Job *j;

        env_init(&e);
        env_start(&e);
        j = container_get_job(e.c, spawn_one(&e, &spawned));

        ASSERT_OK(job_runtime_signal(e.c, j, SIGTERM, on_request, &sig, &error));
        RUN_UNTIL(&e, sig.n == 1);
        ASSERT_FALSE(warden_error_is_set(&sig.error));
        ASSERT_EQ(e.fake.signal, SIGTERM);

        /* no terminal: refused before wshd is asked */
        ASSERT_ERROR(job_runtime_resize_tty(e.c, j, 24, 80, on_request, &resize, &error), EBADFD);
        ASSERT_STREQ(error.message, "Job 1 has no terminal.");
        /* wshd's answer mapped */
        j->tty = true;
        ASSERT_OK(job_runtime_resize_tty(e.c, j, 24, 80, on_request, &resize, &error));
        RUN_UNTIL(&e, resize.n == 1);
        ASSERT_EQ(resize.error.kind, WARDEN_ERROR_KIND_INVALID_STATE);
        ASSERT_STREQ(resize.error.message, "Job 1 has no terminal.");

        fake_exit(&e.fake, j->id, 0);
        RUN_UNTIL(&e, j->state == JOB_EXITED);
        ASSERT_ERROR(job_runtime_signal(e.c, j, SIGTERM, on_request, &sig, &error), EBADFD);
        ASSERT_STREQ(error.message, "Job 1 is no longer running.");
        warden_error_done(&error);
        env_done(&e);
}

TEST(teardown_answers_everyone) {
        Env e;
        _cleanup_(answer_done) Answer spawned = {}, a = {}, b = {}, sig = {};
        WardenError error = WARDEN_ERROR_NULL;
        Job *j;

        env_init(&e);
        env_start(&e);
        j = container_get_job(e.c, spawn_one(&e, &spawned));
        ASSERT_OK(job_runtime_link(e.c, j, on_done, &a));
        ASSERT_OK(job_runtime_link(e.c, j, on_done, &b));
        e.fake.signal_silent = true;
        ASSERT_OK(job_runtime_signal(e.c, j, SIGTERM, on_request, &sig, &error));
        RUN_UNTIL(&e, e.fake.n_signals == 1);
        ASSERT_TRUE(file_exists(e.records_dir, 1, "state"));

        job_runtime_container_teardown(e.c);
        ASSERT_NULL(e.c->job_runtime);
        ASSERT_EQ(a.n, 1);
        ASSERT_EQ(b.n, 1);
        ASSERT_EQ(sig.n, 1);
        ASSERT_EQ(a.error.kind, WARDEN_ERROR_KIND_INVALID_STATE);
        ASSERT_STREQ(a.error.message, "Container 'box' was destroyed while job 1 ran.");
        ASSERT_STREQ(b.error.message, a.error.message);
        ASSERT_EQ(sig.error.kind, WARDEN_ERROR_KIND_INVALID_STATE);
        ASSERT_STREQ(sig.error.message, "Container 'box' is being destroyed.");
        ASSERT_TRUE(access(e.records_dir, F_OK) < 0 && errno == ENOENT);
        env_done(&e);
}

TEST(free_cancels) {
        Env e;
        _cleanup_(answer_done) Answer spawned = {}, a = {};
        Job *j;

        env_init(&e);
        env_start(&e);
        j = container_get_job(e.c, spawn_one(&e, &spawned));
        ASSERT_OK(job_runtime_link(e.c, j, on_done, &a));

        /* wardend exits: nobody is answered, the jobs and their records stay */
        job_runtime_free(e.c);
        ASSERT_EQ(a.n, 1);
        ASSERT_TRUE(a.cancelled);
        ASSERT_EQ(e.c->n_jobs, 1);
        ASSERT_TRUE(file_exists(e.records_dir, 1, "state"));
        ASSERT_FALSE(job_runtime_cancelled(NULL));
        env_done(&e);
}
