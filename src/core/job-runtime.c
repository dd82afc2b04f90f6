/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/param.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "job-runtime.h"
#include "log.h"
#include "manager.h"
#include "parse-util.h"
#include "strv.h"
#include "user-lookup.h"
#include "wshd-client.h"

/* Job ids are persisted in blocks, so that a Spawn rarely rewrites the container's state file, yet no id is
 * ever handed out twice across restarts. */
#define JOB_ID_BLOCK 64U
#define SPAWN_TIMEOUT_USEC (30 * USEC_PER_SEC)
#define CALL_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define WATCH_RETRY_MIN_USEC (50 * USEC_PER_MSEC)
#define WATCH_RETRY_MAX_USEC (2 * USEC_PER_SEC)
#define STREAM_CHUNK (64U * 1024U)
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct Streamer Streamer;
typedef struct PendingCall PendingCall;

/* A Link or Run waiting for the end of a job. */
typedef struct JobWaiter {
        job_done_t done;
        void *userdata;
} JobWaiter;

/* The runtime half of a Job (Job.live). */
struct JobLive {
        JobRuntime *owner;
        Job *job;
        WshdCall *spawn_call;
        job_spawned_t spawned; /* a Spawn waiting for wshd's answer */
        void *spawned_userdata;
        JobWaiter *waiters; /* Link and Run */
        size_t n_waiters;
        int out_fd; /* captured output, read side; -EBADF if not captured */
        int err_fd;
        bool killing;         /* SIGKILL sent for exceeding the output limit */
        bool exit_unrecorded; /* its exit could not be written to its record: wshd keeps it */
};

/* One Stream pipe: replays a captured file from its start, then follows it until the job ends. */
struct Streamer {
        Streamer *prev, *next;
        JobRuntime *owner;
        uint32_t job_id;
        int src_fd; /* -EBADF: nothing to replay, the pipe just ends with the job */
        loff_t offset;
        int pipe_fd;
        sd_event_source *io_source;
        bool job_done;
};

typedef enum PendingKind {
        PENDING_RELEASE,
        PENDING_SIGNAL,
        PENDING_RESIZE,
        PENDING_KILL,
} PendingKind;

/* A request to wshd that is not tied to a job's life (RELEASE, SIGNAL, RESIZE). */
struct PendingCall {
        PendingCall *prev, *next;
        JobRuntime *owner;
        PendingKind kind;
        uint32_t job_id;
        WshdCall *call;
        job_request_done_t done; /* the caller to answer (SIGNAL, RESIZE), if any */
        void *userdata;
};

/* Per container (Container.job_runtime). */
struct JobRuntime {
        Container *container;
        char *records_dir; /* <state_dir>/jobs/<handle>: the jobs' records (<id>.state) */
        int records_fd;
        char *output_dir; /* <depot>/<handle>/jobs: their captured output (<id>.stdout, <id>.stderr) */
        int output_fd;
        char *socket_path;
        WshdWatch *watch;
        sd_event_source *retry_source;
        uint64_t retry_usec;
        sd_event_source *inotify_source;
        Streamer *streamers;
        PendingCall *calls;
};

static const WardenError cancelled = { .kind = WARDEN_ERROR_KIND_FAILED, .error = -ECANCELED };

bool job_runtime_cancelled(const WardenError *e) {
        return e && e->kind == WARDEN_ERROR_KIND_FAILED && e->error == -ECANCELED && !e->message;
}

/* An errno without a message of ours (FAILED; the front end names it after the errno). Returns r. */
static int error_errno(WardenError *reterr, int r) {
        if (reterr) {
                warden_error_done(reterr);
                reterr->error = r;
        }
        return r;
}

static Manager *jr_manager(JobRuntime *jr) {
        return jr->container->manager;
}

static void emit_jobs_changed(Container *c) {
        Manager *m = c->manager;

        if (m && m->events && m->events->container_changed)
                m->events->container_changed(c, "Jobs");
}

static void emit_job_exited(Container *c, const Job *j) {
        Manager *m = c->manager;

        if (m && m->events && m->events->job_exited)
                m->events->job_exited(c, j);
}

void job_spawn_params_done(JobSpawnParams *p) {
        assert(p);

        p->argv = strv_free(p->argv);
        p->env = strv_free(p->env);
        for (size_t i = 0; i < ELEMENTSOF(p->fds); i++)
                p->fds[i] = safe_close(p->fds[i]);
}

/* ---- files ------------------------------------------------------------------------------------------- */

/* The record goes to wardend's state directory, which no container can fill: recording a job never fails
 * because the depot is full. */
static int job_save(JobRuntime *jr, Job *j) {
        _cleanup_free_ char *text = NULL, *path = NULL;
        char name[JOB_FILE_NAME_MAX];
        int r;

        r = job_serialize(j, &text);
        if (r < 0)
                return r;
        job_file_name(j->id, "state", name);
        if (asprintf(&path, "%s/%s", jr->records_dir, name) < 0)
                return -ENOMEM;
        return write_file_atomic(path, text, strlen(text), 0600);
}

static void unlink_job_file(JobRuntime *jr, int dir_fd, const char *dir, uint32_t id, const char *suffix) {
        char name[JOB_FILE_NAME_MAX];

        job_file_name(id, suffix, name);
        if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
                log_container_warning_errno(jr->container, -errno, "Failed to remove %s/%s: %m", dir, name);
}

/* The record, the captured output, and a record that an older wardend left beside the output. */
static void job_remove_files(JobRuntime *jr, uint32_t id) {
        unlink_job_file(jr, jr->records_fd, jr->records_dir, id, "state");
        unlink_job_file(jr, jr->output_fd, jr->output_dir, id, "stdout");
        unlink_job_file(jr, jr->output_fd, jr->output_dir, id, "stderr");
        unlink_job_file(jr, jr->output_fd, jr->output_dir, id, "state");
}

static int open_output(JobRuntime *jr, uint32_t id, const char *suffix, bool create) {
        char name[JOB_FILE_NAME_MAX];
        int fd;

        job_file_name(id, suffix, name);
        if (create)
                fd =
                        openat(jr->output_fd,
                               name,
                               O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                               0600);
        else
                fd = openat(jr->output_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? -errno : fd;
}

/* The captured output is in the depot: a full depot is NoSpace, whatever else goes wrong keeps its errno. */
static int job_file_error(WardenError *reterr, int r, const char *what, uint32_t id) {
        if (r == -ENOSPC)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_NO_SPACE,
                        r,
                        "Failed to %s job %u: %s",
                        what,
                        id,
                        strerror(-r));
        return warden_error_setf(reterr, WARDEN_ERROR_KIND_FAILED, r, "Failed to %s job %u: %m", what, id);
}

static int open_null(void) {
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC | O_NOCTTY);

        return fd < 0 ? -errno : fd;
}

static uint64_t fd_size(int fd) {
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0)
                return 0;
        return (uint64_t) st.st_size;
}

/* The first 'limit' bytes of a captured file. Reads from the depot's local file system: these are files
 * the job has just written, in the page cache. */
static int read_output(int fd, uint64_t limit, void **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size, n = 0;

        size = (size_t) MIN(fd_size(fd), limit);
        buf = malloc(MAX(size, (size_t) 1));
        if (!buf)
                return -ENOMEM;
        while (n < size) {
                ssize_t k = pread(fd, buf + n, size - n, (off_t) n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

/* ---- job records ------------------------------------------------------------------------------------- */

static void streamer_free(Streamer *s);
static void streamer_pump(Streamer *s);
static void pending_free(PendingCall *p, const WardenError *error);

/* Releases j's runtime half; the callbacks still pending get 'error' (a cancellation, or the teardown's). */
static void job_live_free(Job *j, const WardenError *spawn_error, const WardenError *waiter_error) {
        JobLive *live = j->live;
        Container *c;

        if (!live)
                return;
        c = live->owner->container;
        live->spawn_call = wshd_call_free(live->spawn_call);
        if (live->spawned) {
                job_spawned_t done = TAKE_PTR(live->spawned);

                done(c, j, spawn_error, live->spawned_userdata);
        }
        for (size_t i = 0; i < live->n_waiters; i++)
                live->waiters[i].done(c, j, NULL, waiter_error, live->waiters[i].userdata);
        free(live->waiters);
        safe_close(live->out_fd);
        safe_close(live->err_fd);
        free(live);
        j->live = NULL;
}

static int job_live_new(JobRuntime *jr, Job *j) {
        JobLive *live;

        live = calloc(1, sizeof(JobLive));
        if (!live)
                return -ENOMEM;
        live->owner = jr;
        live->job = j;
        live->out_fd = live->err_fd = -EBADF;
        j->live = live;
        return 0;
}

static void release_job_in_wshd(JobRuntime *jr, uint32_t id);

/* Forgets a job for good: its files, its record. Streams of it go on from their own descriptors. Its
 * callbacks must have been answered. */
static void job_discard(JobRuntime *jr, Job *j) {
        Container *c = jr->container;

        assert(!j->live || (!j->live->spawned && j->live->n_waiters == 0));

        if (j->live && j->live->exit_unrecorded)
                release_job_in_wshd(jr, j->id); /* the exit was delivered: no record is needed any more */
        job_remove_files(jr, j->id);
        job_live_free(j, &cancelled, &cancelled);
        container_remove_job(c, j);
        job_free(j);
        emit_jobs_changed(c);
}

/* Takes the waiters of j: each is answered once. */
static JobWaiter *job_take_waiters(Job *j, size_t *ret_n) {
        *ret_n = j->live->n_waiters;
        j->live->n_waiters = 0;
        return TAKE_PTR(j->live->waiters);
}

/* Answers every Link/Run waiting for j with its exit status and output, then discards the job. */
static void job_answer_waiters(JobRuntime *jr, Job *j) {
        JobLive *live = j->live;
        uint64_t limit = jr_manager(jr)->config.job_output_limit;
        _cleanup_(warden_error_done) WardenError error = WARDEN_ERROR_NULL;
        _cleanup_free_ void *out = NULL, *err = NULL;
        _cleanup_free_ JobWaiter *waiters = NULL;
        JobOutputs outputs = {};
        size_t n_waiters;
        int r = 0;

        assert(j->state == JOB_EXITED);
        if (live->n_waiters == 0)
                return;

        if (live->out_fd >= 0)
                r = read_output(live->out_fd, limit, &out, &outputs.out_size);
        /* The limit holds for both together (a killed job may have written a little more). */
        if (r >= 0 && live->err_fd >= 0)
                r = read_output(live->err_fd, limit - outputs.out_size, &err, &outputs.err_size);
        if (r < 0)
                (void) warden_error_setf(
                        &error,
                        WARDEN_ERROR_KIND_FAILED,
                        r,
                        "Failed to read the output of job %u: %m",
                        j->id);
        outputs.out = out;
        outputs.err = err;

        waiters = job_take_waiters(j, &n_waiters);
        for (size_t i = 0; i < n_waiters; i++)
                waiters[i].done(
                        jr->container,
                        j,
                        r < 0 ? NULL : &outputs,
                        r < 0 ? &error : NULL,
                        waiters[i].userdata);
        job_discard(jr, j);
}

static int add_waiter(JobLive *live, job_done_t done, void *userdata) {
        JobWaiter *n;

        n = reallocarray(live->waiters, live->n_waiters + 1, sizeof(JobWaiter));
        if (!n)
                return -ENOMEM;
        live->waiters = n;
        live->waiters[live->n_waiters++] = (JobWaiter){ .done = done, .userdata = userdata };
        return 0;
}

/*
 * wshd reported the end of job j (or lost it): record it, then tell everyone. Returns 0 if wshd may forget
 * the exit now (it is recorded, or its waiters have it), negative errno if recording it failed: wshd must
 * keep it then, so that a restarted wardend still learns it (and job_discard() releases it after a Link).
 */
static int job_exited(JobRuntime *jr, Job *j, int exit_status, const char *event) {
        Container *c = jr->container;
        int r;

        if (j->state == JOB_EXITED) {
                /* reported again after a reconnect: recorded already, or try again */
                if (!j->live->exit_unrecorded)
                        return 0;
                r = job_save(jr, j);
                if (r >= 0)
                        j->live->exit_unrecorded = false;
                return r;
        }

        j->state = JOB_EXITED;
        j->exit_status = j->output_exceeded ? 255 : exit_status;
        j->exited_usec = now_usec(CLOCK_REALTIME);
        if (event)
                (void) job_add_event(j, event);
        /* A job with waiters is answered and forgotten right below: nothing to record then. */
        r = j->live->n_waiters > 0 && !j->live->spawn_call ? 0 : job_save(jr, j);
        j->live->exit_unrecorded = r < 0;
        if (r < 0)
                log_container_warning_errno(
                        c, r, "Failed to record the exit of job %u of '%s': %m", j->id, c->handle);
        log_container_debug(c, "Job %u of '%s' exited with status %i.", j->id, c->handle, j->exit_status);

        emit_job_exited(c, j);

        for (Streamer *s = jr->streamers, *next; s; s = next) {
                next = s->next;
                if (s->job_id == j->id) {
                        s->job_done = true;
                        streamer_pump(s);
                }
        }
        if (!j->live->spawn_call)
                job_answer_waiters(jr, j); /* may discard j, but not if r < 0: it had no waiters then */
        /* else spawn_done() answers, once the Spawn itself is answered */
        return r;
}

/* ---- calls to wshd that outlive their request -------------------------------------------------------- */

static void pending_free(PendingCall *p, const WardenError *error) {
        if (!p)
                return;
        if (p->prev)
                p->prev->next = p->next;
        else if (p->owner)
                p->owner->calls = p->next;
        if (p->next)
                p->next->prev = p->prev;
        wshd_call_free(p->call);
        if (p->done)
                p->done(p->owner->container, error, p->userdata);
        free(p);
}

static void pending_done(WshdCall *call, int error, WshdMessage *reply, void *userdata) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        PendingCall *p = userdata;
        JobRuntime *jr = p->owner;
        Container *c = jr->container;
        /* wshd's errno is positive on the wire (wshd-proto.h) */
        int r = error < 0 ? error : (reply->type == WSHD_REPLY_ERROR ? -reply->error : 0);

        if (reply && reply->type != WSHD_REPLY_ERROR && reply->type != WSHD_REPLY_OK)
                r = -EBADMSG;

        switch (p->kind) {
        case PENDING_RELEASE:
                if (r != 0 && r != -ESRCH)
                        log_container_debug_errno(
                                c, r, "wshd of '%s' did not release job %u: %m", c->handle, p->job_id);
                break;
        case PENDING_KILL:
                if (r != 0 && r != -ESRCH)
                        log_container_warning_errno(
                                c, r, "Failed to kill job %u of '%s': %m", p->job_id, c->handle);
                break;
        case PENDING_SIGNAL:
        case PENDING_RESIZE:
                if (r == -ESRCH)
                        (void) warden_error_setf(
                                &e, WARDEN_ERROR_KIND_INVALID_STATE, 0, "Job %u has exited.", p->job_id);
                else if (r == -ENOTTY)
                        (void) warden_error_setf(
                                &e,
                                WARDEN_ERROR_KIND_INVALID_STATE,
                                0,
                                "Job %u has no terminal.",
                                p->job_id);
                else if (r != 0)
                        (void) warden_error_setf(
                                &e,
                                WARDEN_ERROR_KIND_FAILED,
                                r,
                                "wshd failed to act on job %u: %m",
                                p->job_id);
                break;
        }
        pending_free(p, r == 0 ? NULL : &e);
}

static int pending_call(
        JobRuntime *jr, PendingKind kind, const WshdMessage *req, job_request_done_t done, void *userdata) {
        PendingCall *p;
        int r;

        p = calloc(1, sizeof(PendingCall));
        if (!p)
                return -ENOMEM;
        p->kind = kind;
        p->job_id = req->job_id;
        r = wshd_call(
                jr_manager(jr)->event, jr->socket_path, req, CALL_TIMEOUT_USEC, pending_done, p, &p->call);
        if (r < 0) {
                free(p);
                return r;
        }
        p->done = done;
        p->userdata = userdata;
        p->owner = jr;
        p->next = jr->calls;
        if (p->next)
                p->next->prev = p;
        jr->calls = p;
        return 0;
}

static void release_job_in_wshd(JobRuntime *jr, uint32_t id) {
        WshdMessage req;
        int r;

        wshd_message_init(&req, WSHD_REQUEST_RELEASE, 0);
        req.job_id = id;
        r = pending_call(jr, PENDING_RELEASE, &req, NULL, NULL);
        if (r < 0)
                log_container_debug_errno(
                        jr->container,
                        r,
                        "Failed to release job %u in wshd of '%s': %m",
                        id,
                        jr->container->handle);
}

/* ---- streams ----------------------------------------------------------------------------------------- */

static void streamer_free(Streamer *s) {
        if (!s)
                return;
        if (s->prev)
                s->prev->next = s->next;
        else if (s->owner)
                s->owner->streamers = s->next;
        if (s->next)
                s->next->prev = s->prev;
        sd_event_source_disable_unref(s->io_source);
        safe_close(s->src_fd);
        safe_close(s->pipe_fd);
        free(s);
}

static int streamer_on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Streamer *s = userdata;

        if (revents & EPOLLERR) {
                streamer_free(s); /* the reader is gone */
                return 0;
        }
        streamer_pump(s);
        return 0;
}

/* Moves what the file has beyond our offset into the pipe, without ever blocking; ends the pipe once the
 * job is done and everything was passed on. */
static void streamer_pump(Streamer *s) {
        uint64_t limit = jr_manager(s->owner)->config.job_output_limit;

        while (s->src_fd >= 0 && (uint64_t) s->offset < limit) {
                size_t want = (size_t) MIN((uint64_t) STREAM_CHUNK, limit - (uint64_t) s->offset);
                ssize_t n = splice(s->src_fd, &s->offset, s->pipe_fd, NULL, want, SPLICE_F_NONBLOCK);

                if (n > 0)
                        continue;
                if (n == 0)
                        break; /* everything so far is passed on */
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN) {
                        /* The pipe is full: go on when the reader made room. */
                        (void) sd_event_source_set_io_events(s->io_source, EPOLLOUT);
                        (void) sd_event_source_set_enabled(s->io_source, SD_EVENT_ON);
                        return;
                }
                streamer_free(s); /* EPIPE: the reader is gone; anything else: give up on this stream */
                return;
        }

        if (s->job_done) {
                streamer_free(s);
                return;
        }
        /* Wait for more output (inotify) or the end of the job; still notice a reader that goes away. */
        (void) sd_event_source_set_io_events(s->io_source, 0);
        (void) sd_event_source_set_enabled(s->io_source, SD_EVENT_ON);
}

static int streamer_new(JobRuntime *jr, Job *j, int src_fd, int *ret_read_fd) {
        _cleanup_close_pair_ int pipe_fds[2] = EBADF_PAIR;
        Streamer *s;
        int r;

        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
                return -errno;
        if (fcntl(pipe_fds[1], F_SETFL, O_NONBLOCK) < 0)
                return -errno;

        s = calloc(1, sizeof(Streamer));
        if (!s)
                return -ENOMEM;
        s->src_fd = -EBADF;
        s->pipe_fd = TAKE_FD(pipe_fds[1]);
        s->job_id = j->id;
        s->job_done = j->state == JOB_EXITED;
        if (src_fd >= 0) {
                /* A descriptor of our own: each stream has its own offset. */
                char path[sizeof("/proc/self/fd/") + 12];

                (void) snprintf(path, sizeof(path), "/proc/self/fd/%i", src_fd);
                s->src_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (s->src_fd < 0) {
                        r = -errno;
                        streamer_free(s);
                        return r;
                }
        }
        r = sd_event_add_io(jr_manager(jr)->event, &s->io_source, s->pipe_fd, 0, streamer_on_io, s);
        if (r < 0) {
                streamer_free(s);
                return r;
        }
        (void) sd_event_source_set_description(s->io_source, "job-stream");
        s->owner = jr;
        s->next = jr->streamers;
        if (s->next)
                s->next->prev = s;
        jr->streamers = s;

        *ret_read_fd = TAKE_FD(pipe_fds[0]);
        return 0;
}

/* ---- the WATCH connection ---------------------------------------------------------------------------- */

static void watch_start(JobRuntime *jr);
static void job_check_output(JobRuntime *jr, Job *j);

static int watch_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        JobRuntime *jr = userdata;

        jr->retry_source = sd_event_source_disable_unref(jr->retry_source);
        watch_start(jr);
        return 0;
}

static void watch_schedule_retry(JobRuntime *jr, int error) {
        Container *c = jr->container;
        int r;

        jr->retry_usec = jr->retry_usec == 0 ? WATCH_RETRY_MIN_USEC
                                             : MIN(jr->retry_usec * 2, (uint64_t) WATCH_RETRY_MAX_USEC);
        log_container_debug_errno(
                c,
                error,
                "Lost the job watch of '%s' (%m), trying again in %llums.",
                c->handle,
                (unsigned long long) (jr->retry_usec / USEC_PER_MSEC));
        r = sd_event_add_time_relative(
                jr_manager(jr)->event,
                &jr->retry_source,
                CLOCK_MONOTONIC,
                jr->retry_usec,
                0,
                watch_retry,
                jr);
        if (r < 0) {
                log_container_error_errno(c, r, "Failed to schedule the job watch of '%s': %m", c->handle);
                return;
        }
        (void) sd_event_source_set_description(jr->retry_source, "job-watch-retry");
}

/* An exit that wshd reports, as an event or (replayed) in the WATCH reply. */
static void watch_exit(JobRuntime *jr, uint32_t job_id, uint32_t wait_status, bool replayed) {
        Job *j = container_get_job(jr->container, job_id);

        if (j) {
                if (job_exited(jr, j, job_exit_status_from_wait(wait_status), NULL) >= 0)
                        release_job_in_wshd(jr, job_id); /* recorded: wshd may forget it */
        } else if (replayed && job_id > 0 && job_id < jr->container->next_job_id)
                /* One of ours that was linked and forgotten by a wardend that died before it released the
                 * exit in wshd. Jobs others spawned on the socket (root's tools) are left alone. */
                release_job_in_wshd(jr, job_id);
}

static bool id_listed(const uint32_t *ids, size_t n, uint32_t id) {
        for (size_t i = 0; i < n; i++)
                if (ids[i] == id)
                        return true;
        return false;
}

static void watch_reply(JobRuntime *jr, const WshdMessage *reply) {
        Container *c = jr->container;

        jr->retry_usec = 0;
        for (size_t i = 0; i < reply->n_exited; i++)
                watch_exit(jr, reply->exited[i].job_id, reply->exited[i].wait_status, true);

        /* What we think runs but wshd knows nothing of is lost (its SPAWN never arrived, say). A job whose
         * SPAWN is in flight now is not known yet, rightly. */
        for (size_t i = 0; i < c->n_jobs;) {
                Job *j = c->jobs[i];
                size_t n_before = c->n_jobs;

                if (j->state != JOB_EXITED && id_listed(reply->running, reply->n_running, j->id)) {
                        j->state = JOB_RUNNING;
                        job_check_output(jr, j); /* it may have written a lot while nobody watched */
                } else if (
                        j->state != JOB_EXITED && !j->live->spawn_call &&
                        !id_listed(reply->running, reply->n_running, j->id)) {
                        log_container_warning(
                                c, "Job %u of '%s' is unknown to its wshd: lost.", j->id, c->handle);
                        (void) job_exited(jr, j, 255, JOB_EVENT_LOST);
                }
                if (c->n_jobs == n_before)
                        i++; /* else j was discarded: the same index holds the next job */
        }
}

static void watch_callback(WshdWatch *w, int error, const WshdMessage *message, void *userdata) {
        JobRuntime *jr = userdata;

        if (error < 0) {
                jr->watch = wshd_watch_free(jr->watch);
                watch_schedule_retry(jr, error);
                return;
        }
        if (message->type == WSHD_REPLY_WATCH)
                watch_reply(jr, message);
        else if (message->type == WSHD_EVENT_EXIT)
                watch_exit(jr, message->job_id, message->wait_status, false);
}

static void watch_start(JobRuntime *jr) {
        int r;

        r = wshd_watch_new(jr_manager(jr)->event, jr->socket_path, watch_callback, jr, &jr->watch);
        if (r < 0)
                watch_schedule_retry(jr, r);
}

/* ---- output limit ------------------------------------------------------------------------------------ */

static void job_check_output(JobRuntime *jr, Job *j) {
        JobLive *live = j->live;
        Container *c = jr->container;
        uint64_t limit = jr_manager(jr)->config.job_output_limit;
        WshdMessage req;
        int r;

        if (j->state == JOB_EXITED || live->killing || j->output != JOB_OUTPUT_CAPTURED)
                return;
        if (fd_size(live->out_fd) + fd_size(live->err_fd) <= limit)
                return;

        log_container_notice(
                c,
                "Job %u of '%s' exceeded the output limit of %llu bytes, killing it.",
                j->id,
                c->handle,
                (unsigned long long) limit);
        live->killing = true;
        j->output_exceeded = true;
        (void) job_add_event(j, JOB_EVENT_OUTPUT_EXCEEDED);
        (void) job_save(jr, j);

        wshd_message_init(&req, WSHD_REQUEST_SIGNAL, 0);
        req.job_id = j->id;
        req.signal = SIGKILL;
        r = pending_call(jr, PENDING_KILL, &req, NULL, NULL);
        if (r < 0)
                log_container_warning_errno(c, r, "Failed to kill job %u of '%s': %m", j->id, c->handle);
}

static int on_output_modified(sd_event_source *s, const struct inotify_event *event, void *userdata) {
        JobRuntime *jr = userdata;
        uint32_t id;
        char *end;
        Job *j;

        if (event->len == 0 || !(event->mask & IN_MODIFY))
                return 0;
        id = (uint32_t) strtoul(event->name, &end, 10);
        if (end == event->name || (!streq(end, ".stdout") && !streq(end, ".stderr")))
                return 0;
        j = container_get_job(jr->container, id);
        if (!j)
                return 0;

        job_check_output(jr, j);
        for (Streamer *st = jr->streamers, *next; st; st = next) {
                next = st->next;
                if (st->job_id == id)
                        streamer_pump(st);
        }
        return 0;
}

/* ---- per-container runtime --------------------------------------------------------------------------- */

static void runtime_free(Container *c, const WardenError *error) {
        JobRuntime *jr = c->job_runtime;

        if (!jr)
                return;
        for (size_t i = 0; i < c->n_jobs; i++)
                job_live_free(c->jobs[i], error, error);
        while (jr->streamers)
                streamer_free(jr->streamers);
        while (jr->calls)
                pending_free(jr->calls, error);
        wshd_watch_free(jr->watch);
        sd_event_source_disable_unref(jr->retry_source);
        sd_event_source_disable_unref(jr->inotify_source);
        safe_close(jr->records_fd);
        safe_close(jr->output_fd);
        free(jr->records_dir);
        free(jr->output_dir);
        free(jr->socket_path);
        free(jr);
        c->job_runtime = NULL;
}

void job_runtime_free(Container *c) {
        assert(c);

        runtime_free(c, &cancelled);
}

static int open_dir(const char *path) {
        int fd = open(path, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

        return fd < 0 ? -errno : fd;
}

/* 'fresh': a new container, whose records directory must be empty (a leftover is removed first). */
static int runtime_new(Container *c, bool fresh, JobRuntime **ret) {
        JobRuntime *jr;
        int r;

        assert(!c->job_runtime);
        if (!c->path || !c->manager)
                return -EINVAL;

        jr = calloc(1, sizeof(JobRuntime));
        if (!jr)
                return -ENOMEM;
        jr->container = c;
        jr->records_fd = jr->output_fd = -EBADF;
        c->job_runtime = jr;

        if (manager_job_records_path(c->manager, c->handle, &jr->records_dir) < 0 ||
            asprintf(&jr->output_dir, "%s/jobs", c->path) < 0 ||
            asprintf(&jr->socket_path, "%s/wshd.sock", c->path) < 0) {
                job_runtime_free(c);
                return -ENOMEM;
        }
        r = fresh ? manager_remove_job_records(c->manager, c->handle) : 0;
        if (r >= 0)
                r = mkdir_p(jr->records_dir, 0700);
        if (r >= 0)
                r = jr->records_fd = open_dir(jr->records_dir);
        if (r >= 0 && mkdir(jr->output_dir, 0700) < 0 && errno != EEXIST)
                r = -errno;
        if (r >= 0)
                r = jr->output_fd = open_dir(jr->output_dir);
        if (r >= 0)
                r = sd_event_add_inotify(
                        c->manager->event,
                        &jr->inotify_source,
                        jr->output_dir,
                        IN_MODIFY | IN_ONLYDIR | IN_DONT_FOLLOW,
                        on_output_modified,
                        jr);
        if (r < 0) {
                job_runtime_free(c);
                return r;
        }
        (void) sd_event_source_set_description(jr->inotify_source, "job-output");

        watch_start(jr);
        *ret = jr;
        return 0;
}

int job_runtime_container_start(Container *c) {
        JobRuntime *jr;
        int r;

        assert(c);

        if (c->job_runtime)
                return 0;
        r = runtime_new(c, true, &jr);
        if (r < 0)
                return log_container_error_errno(c, r, "Failed to set up the jobs of '%s': %m", c->handle);
        return 0;
}

/* Loads record 'name' of directory dir_fd (path 'dir'). 1 with the job registered (*ret), 0 if the record
 * was unusable (it is removed, with the job's output), negative errno. */
static int load_job(JobRuntime *jr, int dir_fd, const char *dir, const char *name, uint32_t id, Job **ret) {
        _cleanup_free_ char *text = NULL;
        _cleanup_(job_freep) Job *j = NULL;
        _cleanup_close_ int fd = -EBADF;
        Container *c = jr->container;
        int r;

        fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        r = fd < 0 ? -errno : read_full_fd(fd, 64 * 1024, &text, NULL);
        if (r >= 0)
                r = job_deserialize(text, &j);
        if (r >= 0 && j->id != id)
                r = -EINVAL;
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_container_warning_errno(
                        c, r, "Ignoring the unusable job state file %s/%s: %m", dir, name);
                job_remove_files(jr, id);
                return 0;
        }

        r = job_live_new(jr, j);
        if (r < 0)
                return r;
        if (j->output == JOB_OUTPUT_CAPTURED) {
                j->live->out_fd = open_output(jr, id, "stdout", false);
                j->live->err_fd = open_output(jr, id, "stderr", false);
        }
        if (id >= c->next_job_id)
                c->next_job_id = id + 1;
        r = container_add_job(c, j);
        if (r < 0) {
                job_live_free(j, &cancelled, &cancelled);
                return r;
        }
        *ret = TAKE_PTR(j);
        return 1;
}

static DIR *open_dir_stream(int dir_fd) {
        int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        DIR *d;

        if (fd < 0)
                return NULL;
        d = fdopendir(fd);
        if (!d)
                safe_close(fd);
        return d;
}

/* The records in the state directory. */
static int load_records(JobRuntime *jr) {
        _cleanup_(closedirp) DIR *d = NULL;
        int r;

        d = open_dir_stream(jr->records_fd);
        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));) {
                uint32_t id;
                Job *j;

                if (strstr(de->d_name, ".tmp.")) {
                        (void) unlinkat(jr->records_fd, de->d_name, 0); /* an interrupted atomic write */
                        continue;
                }
                if (job_parse_state_file_name(de->d_name, &id) < 0)
                        continue;
                r = load_job(jr, jr->records_fd, jr->records_dir, de->d_name, id, &j);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Records that a wardend of an older version kept in the depot, beside the output: moved to the state
 * directory, or, if that fails, used from where they are (the next start tries again). Where both places
 * have a record of a job, the one in the state directory is the newer. */
static int load_old_records(JobRuntime *jr) {
        Container *c = jr->container;
        _cleanup_(closedirp) DIR *d = NULL;
        unsigned n_moved = 0;
        int r;

        d = open_dir_stream(jr->output_fd);
        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));) {
                uint32_t id;
                Job *j;

                if (strstr(de->d_name, ".state.tmp.")) {
                        (void) unlinkat(jr->output_fd, de->d_name, 0);
                        continue;
                }
                if (job_parse_state_file_name(de->d_name, &id) < 0)
                        continue;
                if (container_get_job(c, id)) {
                        (void) unlinkat(jr->output_fd, de->d_name, 0);
                        continue;
                }
                r = load_job(jr, jr->output_fd, jr->output_dir, de->d_name, id, &j);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                r = job_save(jr, j);
                if (r >= 0 && unlinkat(jr->output_fd, de->d_name, 0) < 0)
                        r = -errno;
                if (r < 0)
                        log_container_warning_errno(
                                c,
                                r,
                                "Failed to move the record of job %u of '%s' to %s: %m",
                                id,
                                c->handle,
                                jr->records_dir);
                else
                        n_moved++;
        }
        if (n_moved > 0)
                log_container_info(
                        c,
                        "Moved %u job record(s) of '%s' from %s to %s.",
                        n_moved,
                        c->handle,
                        jr->output_dir,
                        jr->records_dir);
        return 0;
}

int job_runtime_container_adopt(Container *c) {
        JobRuntime *jr;
        int r;

        assert(c);

        r = runtime_new(c, false, &jr);
        if (r < 0)
                return log_container_error_errno(c, r, "Failed to set up the jobs of '%s': %m", c->handle);

        r = load_records(jr);
        if (r >= 0)
                r = load_old_records(jr);
        if (r < 0)
                return log_container_error_errno(c, r, "Failed to load the jobs of '%s': %m", c->handle);
        if (c->n_jobs > 0)
                log_container_info(c, "Re-adopted %zu job(s) of '%s'.", c->n_jobs, c->handle);
        /* The exits that happened meanwhile come with the WATCH reply. */
        return 0;
}

void job_runtime_container_teardown(Container *c) {
        _cleanup_(warden_error_done) WardenError destroying = WARDEN_ERROR_NULL;
        JobRuntime *jr;
        int r;

        assert(c);

        jr = c->job_runtime;
        /* The records go now, whether or not the jobs were set up: nothing reads them any more. */
        r = c->manager ? manager_remove_job_records(c->manager, c->handle) : 0;
        if (r < 0)
                log_container_warning_errno(c, r, "Failed to remove the job records of '%s': %m", c->handle);
        if (!jr)
                return;

        (void) warden_error_setf(
                &destroying,
                WARDEN_ERROR_KIND_INVALID_STATE,
                0,
                "Container '%s' is being destroyed.",
                c->handle);
        for (size_t i = 0; i < c->n_jobs; i++) {
                _cleanup_(warden_error_done) WardenError ran = WARDEN_ERROR_NULL;
                Job *j = c->jobs[i];

                (void) warden_error_setf(
                        &ran,
                        WARDEN_ERROR_KIND_INVALID_STATE,
                        0,
                        "Container '%s' was destroyed while job %u ran.",
                        c->handle,
                        j->id);
                job_live_free(j, &destroying, &ran);
        }
        runtime_free(c, &destroying); /* the pending requests; streams end: their pipes close */
}

/* ---- Spawn, Run ----------------------------------------------------------------------------------------
 */

/* Replaces or adds KEY=VALUE in *env. */
static int env_set(char ***env, const char *assignment) {
        size_t klen = (size_t) (strchr(assignment, '=') - assignment);

        STRV_FOREACH(e, *env)
                if (strncmp(*e, assignment, klen + 1) == 0) {
                        char *copy = strdup(assignment);

                        if (!copy)
                                return -ENOMEM;
                        free(*e);
                        *e = copy;
                        return 0;
                }
        return strv_extend(env, assignment);
}

static int env_setf(char ***env, const char *key, const char *value) {
        _cleanup_free_ char *s = NULL;

        if (asprintf(&s, "%s=%s", key, value) < 0)
                return -ENOMEM;
        return env_set(env, s);
}

/* The job's identity: root (privileged, or "root"), the container's user (default), or one looked up in the
 * container's own /etc/passwd. */
static int resolve_user(
        Container *c,
        const JobSpawnParams *p,
        const char **ret_name,
        ContainerUser *ret,
        WardenError *reterr) {
        Manager *m = c->manager;
        const char *name;
        _cleanup_free_ char *root = NULL;
        int r;

        if (p->privileged || streq_ptr(p->user, "root")) {
                *ret = (ContainerUser){ .uid = 0, .gid = 0, .home = strdup("/root") };
                *ret_name = "root";
                return ret->home ? 0 : error_errno(reterr, -ENOMEM);
        }
        name = p->user ?: m->config.user;
        if (!p->user || streq(p->user, m->config.user)) {
                if (c->uid == 0)
                        return warden_error_setf(
                                reterr,
                                WARDEN_ERROR_KIND_INVALID_STATE,
                                0,
                                "Container '%s' has no user of its own.",
                                c->handle);
                *ret = (ContainerUser){ .uid = c->uid, .gid = c->uid };
                if (asprintf(&ret->home, "/home/%s", m->config.user) < 0)
                        return error_errno(reterr, -ENOMEM);
                *ret_name = m->config.user;
                return 0;
        }

        if (asprintf(&root, "%s/rootfs", c->path) < 0)
                return error_errno(reterr, -ENOMEM);
        r = container_user_lookup(root, name, WSHD_GROUPS_MAX, ret);
        if (r == -ENOENT)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_ARGS,
                        0,
                        "No user '%s' in the container's /etc/passwd.",
                        name);
        if (r < 0)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_FAILED,
                        r,
                        "Failed to look up user '%s' in the container: %m",
                        name);
        *ret_name = name;
        return 0;
}

static int
build_env(Container *c, const JobSpawnParams *p, const char *user, const ContainerUser *u, char ***ret) {
        _cleanup_strv_free_ char **env = NULL;
        int r;

        r = env_setf(&env, "PATH", DEFAULT_PATH);
        if (r >= 0)
                r = env_setf(&env, "HOME", u->home);
        if (r >= 0)
                r = env_setf(&env, "USER", user);
        if (r >= 0)
                r = env_setf(&env, "LOGNAME", user);
        if (r >= 0 && p->tty)
                r = env_setf(&env, "TERM", "xterm");
        STRV_FOREACH(e, c->env)
                if (r >= 0)
                        r = env_set(&env, *e);
        STRV_FOREACH(e, p->env)
                if (r >= 0)
                        r = env_set(&env, *e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(env);
        return 0;
}

static void spawn_done(WshdCall *call, int error, WshdMessage *reply, void *userdata) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        Job *j = userdata;
        JobLive *live = j->live;
        JobRuntime *jr = live->owner;
        Container *c = jr->container;
        job_spawned_t spawned = TAKE_PTR(live->spawned); /* answered right below */
        int r = error < 0 ? error : 0;

        /* wshd's errno is positive on the wire (wshd-proto.h) */
        if (r == 0 && reply->type == WSHD_REPLY_ERROR)
                r = reply->error > 0 ? -reply->error : -EPROTO;
        else if (r == 0 && reply->type != WSHD_REPLY_SPAWN)
                r = -EBADMSG;

        if (r == 0 && j->state == JOB_STARTING) {
                j->state = JOB_RUNNING;
                j->pid = (pid_t) reply->pid;
        } else if (r == 0)
                j->pid = (pid_t) reply->pid;                 /* its exit came first, on the watch */
        live->spawn_call = wshd_call_free(live->spawn_call); /* reply is gone from here on */

        if (r < 0) {
                _cleanup_free_ JobWaiter *waiters = NULL;
                size_t n_waiters;

                log_container_debug_errno(c, r, "SPAWN of job %u in '%s' failed: %m", j->id, c->handle);
                if (r == -EAGAIN)
                        (void) warden_error_setf(
                                &e,
                                WARDEN_ERROR_KIND_POOL_EXHAUSTED,
                                0,
                                "Too many jobs in container '%s'.",
                                c->handle);
                else
                        (void) warden_error_setf(
                                &e,
                                WARDEN_ERROR_KIND_FAILED,
                                r,
                                "wshd of '%s' could not start the job: %s.",
                                c->handle,
                                strerror(-r));
                if (spawned)
                        spawned(c, j, &e, live->spawned_userdata);
                waiters = job_take_waiters(j, &n_waiters);
                for (size_t i = 0; i < n_waiters; i++)
                        waiters[i].done(c, j, NULL, &e, waiters[i].userdata);
                job_discard(jr, j);
                return;
        }

        /* The state file still says "starting": a restarted wardend learns the rest from wshd. */
        if (spawned)
                spawned(c, j, NULL, live->spawned_userdata);
        if (j->state == JOB_EXITED)
                job_answer_waiters(jr, j);
}

static uint32_t allocate_job_id(Container *c) {
        uint32_t id = c->next_job_id++;

        if (id > c->job_ids_reserved) {
                int r;

                c->job_ids_reserved = id + JOB_ID_BLOCK - 1;
                r = container_save(c);
                if (r < 0)
                        log_container_warning_errno(
                                c, r, "Failed to write the state file of '%s': %m", c->handle);
        }
        return id;
}

static int
spawn(Container *c,
      const JobSpawnParams *p,
      job_spawned_t spawned,
      job_done_t done,
      void *userdata,
      WardenError *reterr) {
        _cleanup_(container_user_done) ContainerUser u = {};
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_close_ int out_w = -EBADF, err_w = -EBADF, out_r = -EBADF, err_r = -EBADF;
        _cleanup_(job_freep) Job *j = NULL;
        const char *user_name = NULL;
        JobRuntime *jr;
        JobLive *live;
        WshdMessage req;
        uint32_t id;
        int r;

        assert(c);
        assert(p);
        assert(spawned || done);

        if (c->state != CONTAINER_ACTIVE)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_STATE,
                        0,
                        "Container '%s' is %s: jobs start only in an active container.",
                        c->handle,
                        c->operation ? "busy" : container_state_to_string(c->state));
        jr = c->job_runtime;
        if (!jr)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_STATE,
                        0,
                        "Container '%s' cannot run jobs.",
                        c->handle);
        if (c->n_jobs >= c->manager->config.max_jobs_per_container)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_POOL_EXHAUSTED,
                        0,
                        "Too many jobs in container '%s' (max_jobs_per_container=%u): Link the "
                        "exited ones first.",
                        c->handle,
                        c->manager->config.max_jobs_per_container);

        r = resolve_user(c, p, &user_name, &u, reterr);
        if (r < 0)
                return r;
        r = build_env(c, p, user_name, &u, &env);
        if (r < 0)
                return error_errno(reterr, r);

        id = allocate_job_id(c);
        r = job_new(id, &j);
        if (r < 0)
                return error_errno(reterr, r);
        j->tty = p->tty;
        j->started_usec = now_usec(CLOCK_REALTIME);
        j->output = p->discard_output                    ? JOB_OUTPUT_DISCARD
                    : (p->fds[1] >= 0 || p->fds[2] >= 0) ? JOB_OUTPUT_CALLER
                                                         : JOB_OUTPUT_CAPTURED;

        /* Output that the caller does not take goes to files, or is discarded: without a tty, into the
         * container's own /dev/null, which wshd gives for every stream it gets no fd for (ours is the
         * host's node on a writable mount, and container root could chmod it through /proc/self/fd); with
         * one, wshd relays the pty to ours and the job never sees it. */
        if (p->fds[1] < 0 && !(p->discard_output && !p->tty)) {
                out_w = p->discard_output ? open_null() : open_output(jr, id, "stdout", true);
                if (out_w < 0)
                        return job_file_error(reterr, out_w, "create the output of", id);
        }
        if (p->fds[2] < 0 && !p->tty && !p->discard_output) {
                err_w = open_output(jr, id, "stderr", true);
                if (err_w < 0) {
                        job_remove_files(jr, id);
                        return job_file_error(reterr, err_w, "create the output of", id);
                }
        }
        if (j->output == JOB_OUTPUT_CAPTURED) {
                out_r = open_output(jr, id, "stdout", false);
                err_r = p->tty ? -EBADF : open_output(jr, id, "stderr", false);
                if (out_r < 0 || (!p->tty && err_r < 0)) {
                        job_remove_files(jr, id);
                        return warden_error_setf(
                                reterr,
                                WARDEN_ERROR_KIND_FAILED,
                                -EIO,
                                "Failed to open the output of job %u.",
                                id);
                }
        }

        r = job_save(jr, j);
        if (r < 0) {
                job_remove_files(jr, id);
                return job_file_error(reterr, r, "record", id);
        }

        wshd_message_init(&req, WSHD_REQUEST_SPAWN, 0);
        req.job_id = id;
        req.argv = p->argv;
        req.env = env;
        req.dir = (char *) (p->dir ?: u.home);
        req.uid = u.uid;
        req.gid = u.gid;
        req.groups = u.groups;
        req.n_groups = u.n_groups;
        req.rlimits = (WshdRlimit *) p->rlimits;
        req.n_rlimits = p->n_rlimits;
        if (p->tty) {
                req.tty = true;
                req.tty_rows = p->tty_rows > 0 ? p->tty_rows : 24;
                req.tty_cols = p->tty_cols > 0 ? p->tty_cols : 80;
        }
        {
                int fd_in = p->fds[0], fd_out = p->fds[1] >= 0 ? p->fds[1] : out_w,
                    fd_err = p->fds[2] >= 0 ? p->fds[2] : err_w;
                const struct {
                        int fd;
                        WshdFdRole role;
                } fds[] = { { fd_in, WSHD_FD_STDIN },
                            { fd_out, WSHD_FD_STDOUT },
                            { fd_err, WSHD_FD_STDERR } };

                for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                        if (fds[i].fd < 0)
                                continue;
                        req.fds[req.n_fds++] = fds[i].fd;
                        req.fd_roles[req.n_fd_roles++] = fds[i].role;
                }
        }

        r = job_live_new(jr, j);
        if (r < 0) {
                job_remove_files(jr, id);
                return error_errno(reterr, r);
        }
        live = j->live;
        live->out_fd = TAKE_FD(out_r);
        live->err_fd = TAKE_FD(err_r);

        r = wshd_call(
                c->manager->event,
                jr->socket_path,
                &req,
                SPAWN_TIMEOUT_USEC,
                spawn_done,
                j,
                &live->spawn_call);
        /* wshd_call() copied what it needs: the request's fields stay ours. */
        req.fds[0] = req.fds[1] = req.fds[2] = -EBADF;
        req.n_fds = 0;
        if (r < 0) {
                job_remove_files(jr, id);
                job_live_free(j, NULL, NULL);
                if (r == -E2BIG)
                        return warden_error_setf(
                                reterr,
                                WARDEN_ERROR_KIND_INVALID_ARGS,
                                0,
                                "argv and env of the job are too large.");
                return warden_error_setf(
                        reterr, WARDEN_ERROR_KIND_FAILED, r, "Failed to reach wshd of '%s': %m", c->handle);
        }
        if (done)
                r = add_waiter(live, done, userdata);
        if (r < 0) {
                job_remove_files(jr, id);
                job_live_free(j, NULL, NULL);
                return error_errno(reterr, r);
        }

        r = container_add_job(c, j);
        if (r < 0) {
                live->n_waiters = 0; /* the caller hears of it through the return value */
                job_remove_files(jr, id);
                job_live_free(j, NULL, NULL);
                return error_errno(reterr, r);
        }
        /* Only now that nothing fails any more: the callback is called once, or never. */
        if (spawned) {
                live->spawned = spawned;
                live->spawned_userdata = userdata;
        }
        TAKE_PTR(j);
        emit_jobs_changed(c);
        return 0;
}

int job_runtime_spawn(
        Container *c, const JobSpawnParams *p, job_spawned_t done, void *userdata, WardenError *reterr) {
        assert(done);
        return spawn(c, p, done, NULL, userdata, reterr);
}

int job_runtime_run(
        Container *c, const JobSpawnParams *p, job_done_t done, void *userdata, WardenError *reterr) {
        assert(done);
        return spawn(c, p, NULL, done, userdata, reterr);
}

/* ---- Link, Stream, Signal, ResizeTty ------------------------------------------------------------------ */

int job_runtime_find(Container *c, uint32_t id, Job **ret, WardenError *reterr) {
        Job *j;

        assert(c);
        assert(ret);

        j = container_get_job(c, id);
        if (!j || !j->live)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_NO_SUCH_JOB,
                        0,
                        "No job %u in container '%s' (or it was linked already).",
                        id,
                        c->handle);
        *ret = j;
        return 0;
}

int job_runtime_link(Container *c, Job *j, job_done_t done, void *userdata) {
        int r;

        assert(c);
        assert(j);
        assert(j->live);
        assert(done);

        r = add_waiter(j->live, done, userdata);
        if (r < 0)
                return r;
        if (j->state == JOB_EXITED && !j->live->spawn_call)
                job_answer_waiters(c->job_runtime, j);
        return 0;
}

int job_runtime_stream(Container *c, Job *j, int *ret_stdout, int *ret_stderr, WardenError *reterr) {
        _cleanup_close_ int out = -EBADF, err = -EBADF;
        JobRuntime *jr;
        int r;

        assert(c);
        assert(j);
        assert(j->live);
        assert(ret_stdout);
        assert(ret_stderr);

        jr = c->job_runtime;
        r = streamer_new(jr, j, j->live->out_fd, &out);
        if (r >= 0)
                r = streamer_new(jr, j, j->live->err_fd, &err);
        if (r < 0)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_FAILED,
                        r,
                        "Failed to set up the stream of job %u: %m",
                        j->id);

        /* Whatever is there already is in the pipes before the caller gets them. */
        for (Streamer *s = jr->streamers, *next; s; s = next) {
                next = s->next;
                if (s->job_id == j->id)
                        streamer_pump(s);
        }
        *ret_stdout = TAKE_FD(out);
        *ret_stderr = TAKE_FD(err);
        return 0;
}

static int job_request(
        Container *c,
        Job *j,
        PendingKind kind,
        WshdMessage *req,
        job_request_done_t done,
        void *userdata,
        WardenError *reterr) {
        int r;

        if (j->state != JOB_RUNNING)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_STATE,
                        0,
                        "Job %u is %s.",
                        j->id,
                        j->state == JOB_EXITED ? "no longer running" : "still starting");
        req->job_id = j->id;
        r = pending_call(c->job_runtime, kind, req, done, userdata);
        if (r < 0)
                return warden_error_setf(
                        reterr, WARDEN_ERROR_KIND_FAILED, r, "Failed to reach wshd of '%s': %m", c->handle);
        return 0;
}

int job_runtime_signal(
        Container *c, Job *j, int sig, job_request_done_t done, void *userdata, WardenError *reterr) {
        WshdMessage req;

        assert(c);
        assert(j);
        assert(done);
        assert(sig >= 1 && sig <= SIGRTMAX);

        wshd_message_init(&req, WSHD_REQUEST_SIGNAL, 0);
        req.signal = (uint32_t) sig;
        return job_request(c, j, PENDING_SIGNAL, &req, done, userdata, reterr);
}

int job_runtime_resize_tty(
        Container *c,
        Job *j,
        uint16_t rows,
        uint16_t cols,
        job_request_done_t done,
        void *userdata,
        WardenError *reterr) {
        WshdMessage req;

        assert(c);
        assert(j);
        assert(done);
        assert(rows > 0 && cols > 0);

        if (!j->tty)
                return warden_error_setf(
                        reterr, WARDEN_ERROR_KIND_INVALID_STATE, 0, "Job %u has no terminal.", j->id);
        wshd_message_init(&req, WSHD_REQUEST_RESIZE, 0);
        req.tty = true;
        req.tty_rows = rows;
        req.tty_cols = cols;
        return job_request(c, j, PENDING_RESIZE, &req, done, userdata, reterr);
}
