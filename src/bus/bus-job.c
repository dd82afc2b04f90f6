/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/param.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bus-calls.h"
#include "bus-container.h"
#include "bus-error.h"
#include "bus-job.h"
#include "bus-lifecycle.h"
#include "bus-polkit.h"
#include "bus-read.h"
#include "bus-util.h"
#include "fileio.h"
#include "job.h"
#include "log.h"
#include "parse-util.h"
#include "path-util.h"
#include "rlimit-util.h"
#include "stdio-relay.h"
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

typedef struct JobsRuntime JobsRuntime;
typedef struct Streamer Streamer;
typedef struct PendingCall PendingCall;

/* The runtime half of a Job (Job.runtime). */
typedef struct JobRuntime {
        JobsRuntime *owner;
        Job *job;
        WshdCall *spawn_call;
        sd_bus_message *spawn_request; /* a Spawn waiting for wshd's answer */
        sd_bus_message **waiters;      /* Link and Run */
        size_t n_waiters;
        int out_fd; /* captured output, read side; -EBADF if not captured */
        int err_fd;
        bool killing;         /* SIGKILL sent for exceeding the output limit */
        bool exit_unrecorded; /* its exit could not be written to its record: wshd keeps it */
} JobRuntime;

/* One Stream pipe: replays a captured file from its start, then follows it until the job ends. */
struct Streamer {
        Streamer *prev, *next;
        JobsRuntime *owner;
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
        JobsRuntime *owner;
        PendingKind kind;
        uint32_t job_id;
        WshdCall *call;
        sd_bus_message *request; /* the D-Bus call to answer, if any */
};

/* Per container (Container.jobs_runtime). */
struct JobsRuntime {
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

static Manager *jr_manager(JobsRuntime *jr) {
        return jr->container->manager;
}

static void emit_jobs_changed(Container *c) {
        _cleanup_free_ char *path = NULL;

        if (!c->manager || !c->manager->bus || container_bus_path(c, &path) < 0)
                return;
        (void) sd_bus_emit_properties_changed(
                        c->manager->bus, path, WARDEN_CONTAINER_INTERFACE, "Jobs", NULL);
}

/* ---- files ------------------------------------------------------------------------------------------- */

/* The record goes to wardend's state directory, which no container can fill: recording a job never fails
 * because the depot is full. */
static int job_save(JobsRuntime *jr, Job *j) {
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

static void unlink_job_file(JobsRuntime *jr, int dir_fd, const char *dir, uint32_t id, const char *suffix) {
        char name[JOB_FILE_NAME_MAX];

        job_file_name(id, suffix, name);
        if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
                log_full_errno_container(
                                LOG_WARNING,
                                errno,
                                jr->container->handle,
                                "Failed to remove %s/%s: %m",
                                dir,
                                name);
}

/* The record, the captured output, and a record that an older wardend left beside the output. */
static void job_remove_files(JobsRuntime *jr, uint32_t id) {
        unlink_job_file(jr, jr->records_fd, jr->records_dir, id, "state");
        unlink_job_file(jr, jr->output_fd, jr->output_dir, id, "stdout");
        unlink_job_file(jr, jr->output_fd, jr->output_dir, id, "stderr");
        unlink_job_file(jr, jr->output_fd, jr->output_dir, id, "state");
}

static int open_output(JobsRuntime *jr, uint32_t id, const char *suffix, bool create) {
        char name[JOB_FILE_NAME_MAX];
        int fd;

        job_file_name(id, suffix, name);
        if (create)
                fd = openat(jr->output_fd,
                            name,
                            O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                            0600);
        else
                fd = openat(jr->output_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? -errno : fd;
}

/* The captured output is in the depot: a full depot is NoSpace, whatever else goes wrong keeps its errno. */
static int job_file_error(sd_bus_error *error, int r, const char *what, uint32_t id) {
        if (r == -ENOSPC)
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_NO_SPACE,
                                "Failed to %s job %u: %s",
                                what,
                                id,
                                strerror(-r));
        return sd_bus_error_set_errnof(error, -r, "Failed to %s job %u: %m", what, id);
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
static void pending_free(PendingCall *p);

static JobRuntime *job_runtime(Job *j) {
        return j->runtime;
}

static void job_runtime_free(Job *j) {
        JobRuntime *rt = j->runtime;

        if (!rt)
                return;
        wshd_call_free(rt->spawn_call);
        bus_call_release(jr_manager(rt->owner), rt->spawn_request);
        for (size_t i = 0; i < rt->n_waiters; i++)
                bus_call_release(jr_manager(rt->owner), rt->waiters[i]);
        free(rt->waiters);
        safe_close(rt->out_fd);
        safe_close(rt->err_fd);
        free(rt);
        j->runtime = NULL;
}

static int job_runtime_new(JobsRuntime *jr, Job *j) {
        JobRuntime *rt;

        rt = calloc(1, sizeof(JobRuntime));
        if (!rt)
                return -ENOMEM;
        rt->owner = jr;
        rt->job = j;
        rt->out_fd = rt->err_fd = -EBADF;
        j->runtime = rt;
        return 0;
}

static void release_job_in_wshd(JobsRuntime *jr, uint32_t id);

/* Forgets a job for good: its files, its record. Streams of it go on from their own descriptors. */
static void job_discard(JobsRuntime *jr, Job *j) {
        Container *c = jr->container;

        if (j->runtime && job_runtime(j)->exit_unrecorded)
                release_job_in_wshd(jr, j->id); /* the exit was delivered: no record is needed any more */
        job_remove_files(jr, j->id);
        job_runtime_free(j);
        container_remove_job(c, j);
        job_free(j);
        emit_jobs_changed(c);
}

static int append_info(sd_bus_message *reply, Job *j) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}", "job_id", "u", j->id);
        if (r < 0)
                return r;
        r = bus_message_open_dict_entry(reply, "events", "as");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(reply, j->events);
        if (r < 0)
                return r;
        r = bus_message_close_dict_entry(reply);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* Answers every Link/Run waiting for j with its exit status and output, then discards the job. */
static void job_answer_waiters(JobsRuntime *jr, Job *j) {
        JobRuntime *rt = job_runtime(j);
        uint64_t limit = jr_manager(jr)->config.job_output_limit;
        _cleanup_free_ void *out = NULL, *err = NULL;
        size_t out_size = 0, err_size = 0;
        int r = 0;

        assert(j->state == JOB_EXITED);
        if (rt->n_waiters == 0)
                return;

        if (rt->out_fd >= 0)
                r = read_output(rt->out_fd, limit, &out, &out_size);
        /* The limit holds for both together (a killed job may have written a little more). */
        if (r >= 0 && rt->err_fd >= 0)
                r = read_output(rt->err_fd, limit - out_size, &err, &err_size);

        for (size_t i = 0; i < rt->n_waiters; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                int k = r;

                if (k >= 0)
                        k = sd_bus_message_new_method_return(rt->waiters[i], &reply);
                if (k >= 0)
                        k = sd_bus_message_append(reply, "i", (int32_t) j->exit_status);
                if (k >= 0)
                        k = sd_bus_message_append_array(reply, 'y', out ?: "", out_size);
                if (k >= 0)
                        k = sd_bus_message_append_array(reply, 'y', err ?: "", err_size);
                if (k >= 0)
                        k = append_info(reply, j);
                if (k >= 0)
                        k = sd_bus_send(NULL, reply, NULL);
                if (k < 0) {
                        log_full_errno_container(
                                        LOG_WARNING,
                                        k,
                                        jr->container->handle,
                                        "Failed to answer the link of job %u of '%s': %m",
                                        j->id,
                                        jr->container->handle);
                        (void) sd_bus_reply_method_errnof(
                                        rt->waiters[i],
                                        -k,
                                        "Failed to read the output of job %u: %m",
                                        j->id);
                }
        }
        job_discard(jr, j);
}

static int add_waiter(JobRuntime *rt, sd_bus_message *m) {
        sd_bus_message **n;

        n = reallocarray(rt->waiters, rt->n_waiters + 1, sizeof(sd_bus_message *));
        if (!n)
                return -ENOMEM;
        rt->waiters = n;
        rt->waiters[rt->n_waiters++] = bus_call_hold(jr_manager(rt->owner), m);
        return 0;
}

/*
 * wshd reported the end of job j (or lost it): record it, then tell everyone. Returns 0 if wshd may forget
 * the exit now (it is recorded, or its waiters have it), negative errno if recording it failed: wshd must
 * keep it then, so that a restarted wardend still learns it (and job_discard() releases it after a Link).
 */
static int job_exited(JobsRuntime *jr, Job *j, int exit_status, const char *event) {
        Container *c = jr->container;
        Manager *m = jr_manager(jr);
        int r;

        if (j->state == JOB_EXITED) {
                /* reported again after a reconnect: recorded already, or try again */
                if (!job_runtime(j)->exit_unrecorded)
                        return 0;
                r = job_save(jr, j);
                if (r >= 0)
                        job_runtime(j)->exit_unrecorded = false;
                return r;
        }

        j->state = JOB_EXITED;
        j->exit_status = j->output_exceeded ? 255 : exit_status;
        j->exited_usec = now_usec(CLOCK_REALTIME);
        if (event)
                (void) job_add_event(j, event);
        /* A job with waiters is answered and forgotten right below: nothing to record then. */
        r = job_runtime(j)->n_waiters > 0 && !job_runtime(j)->spawn_call ? 0 : job_save(jr, j);
        job_runtime(j)->exit_unrecorded = r < 0;
        if (r < 0)
                log_full_errno_container(
                                LOG_WARNING,
                                r,
                                c->handle,
                                "Failed to record the exit of job %u of '%s': %m",
                                j->id,
                                c->handle);
        log_full_errno_container(
                        LOG_DEBUG,
                        0,
                        c->handle,
                        "Job %u of '%s' exited with status %i.",
                        j->id,
                        c->handle,
                        j->exit_status);

        if (m->bus)
                (void) sd_bus_emit_signal(
                                m->bus,
                                WARDEN_MANAGER_PATH,
                                WARDEN_MANAGER_INTERFACE,
                                "JobExited",
                                "sui",
                                c->handle,
                                j->id,
                                (int32_t) j->exit_status);

        for (Streamer *s = jr->streamers, *next; s; s = next) {
                next = s->next;
                if (s->job_id == j->id) {
                        s->job_done = true;
                        streamer_pump(s);
                }
        }
        if (!job_runtime(j)->spawn_call)
                job_answer_waiters(jr, j); /* may discard j, but not if r < 0: it had no waiters then */
        /* else spawn_done() answers, once the Spawn itself is answered */
        return r;
}

/* ---- calls to wshd that outlive their request -------------------------------------------------------- */

static void pending_free(PendingCall *p) {
        if (!p)
                return;
        if (p->prev)
                p->prev->next = p->next;
        else if (p->owner)
                p->owner->calls = p->next;
        if (p->next)
                p->next->prev = p->prev;
        wshd_call_free(p->call);
        bus_call_release(p->owner ? jr_manager(p->owner) : NULL, p->request);
        free(p);
}

static void pending_done(WshdCall *call, int error, WshdMessage *reply, void *userdata) {
        PendingCall *p = userdata;
        JobsRuntime *jr = p->owner;
        int e = error < 0 ? -error : (reply->type == WSHD_REPLY_ERROR ? reply->error : 0);

        if (reply && reply->type != WSHD_REPLY_ERROR && reply->type != WSHD_REPLY_OK)
                e = EBADMSG;

        switch (p->kind) {
        case PENDING_RELEASE:
                if (e != 0 && e != ESRCH)
                        log_full_errno_container(
                                        LOG_DEBUG,
                                        e,
                                        jr->container->handle,
                                        "wshd of '%s' did not release job %u: %m",
                                        jr->container->handle,
                                        p->job_id);
                break;
        case PENDING_KILL:
                if (e != 0 && e != ESRCH)
                        log_full_errno_container(
                                        LOG_WARNING,
                                        e,
                                        jr->container->handle,
                                        "Failed to kill job %u of '%s': %m",
                                        p->job_id,
                                        jr->container->handle);
                break;
        case PENDING_SIGNAL:
        case PENDING_RESIZE:
                if (e == 0)
                        (void) sd_bus_reply_method_return(p->request, NULL);
                else if (e == ESRCH)
                        (void) sd_bus_reply_method_errorf(
                                        p->request,
                                        WARDEN_ERROR_INVALID_STATE,
                                        "Job %u has exited.",
                                        p->job_id);
                else if (e == ENOTTY)
                        (void) sd_bus_reply_method_errorf(
                                        p->request,
                                        WARDEN_ERROR_INVALID_STATE,
                                        "Job %u has no terminal.",
                                        p->job_id);
                else
                        (void) sd_bus_reply_method_errnof(
                                        p->request, e, "wshd failed to act on job %u: %m", p->job_id);
                break;
        }
        pending_free(p);
}

static int pending_call(JobsRuntime *jr, PendingKind kind, const WshdMessage *req, sd_bus_message *request) {
        PendingCall *p;
        int r;

        p = calloc(1, sizeof(PendingCall));
        if (!p)
                return -ENOMEM;
        p->kind = kind;
        p->job_id = req->job_id;
        r = wshd_call(jr_manager(jr)->event,
                      jr->socket_path,
                      req,
                      CALL_TIMEOUT_USEC,
                      pending_done,
                      p,
                      &p->call);
        if (r < 0) {
                free(p);
                return r;
        }
        p->request = bus_call_hold(jr_manager(jr), request);
        p->owner = jr;
        p->next = jr->calls;
        if (p->next)
                p->next->prev = p;
        jr->calls = p;
        return 0;
}

static void release_job_in_wshd(JobsRuntime *jr, uint32_t id) {
        WshdMessage req;
        int r;

        wshd_message_init(&req, WSHD_REQUEST_RELEASE, 0);
        req.job_id = id;
        r = pending_call(jr, PENDING_RELEASE, &req, NULL);
        if (r < 0)
                log_full_errno_container(
                                LOG_DEBUG,
                                r,
                                jr->container->handle,
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

static int streamer_new(JobsRuntime *jr, Job *j, int src_fd, int *ret_read_fd) {
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
        s->owner = jr;
        s->next = jr->streamers;
        if (s->next)
                s->next->prev = s;
        jr->streamers = s;

        *ret_read_fd = TAKE_FD(pipe_fds[0]);
        return 0;
}

/* ---- the WATCH connection ---------------------------------------------------------------------------- */

static void watch_start(JobsRuntime *jr);
static void job_check_output(JobsRuntime *jr, Job *j);

static int watch_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        JobsRuntime *jr = userdata;

        jr->retry_source = sd_event_source_disable_unref(jr->retry_source);
        watch_start(jr);
        return 0;
}

static void watch_schedule_retry(JobsRuntime *jr, int error) {
        int r;

        jr->retry_usec = jr->retry_usec == 0 ? WATCH_RETRY_MIN_USEC
                                             : MIN(jr->retry_usec * 2, (uint64_t) WATCH_RETRY_MAX_USEC);
        log_full_errno_container(
                        LOG_DEBUG,
                        error,
                        jr->container->handle,
                        "Lost the job watch of '%s' (%m), trying again in %llums.",
                        jr->container->handle,
                        (unsigned long long) (jr->retry_usec / USEC_PER_MSEC));
        r = sd_event_add_time_relative(
                        jr_manager(jr)->event,
                        &jr->retry_source,
                        CLOCK_MONOTONIC,
                        jr->retry_usec,
                        0,
                        watch_retry,
                        jr);
        if (r < 0)
                log_full_errno_container(
                                LOG_ERR,
                                r,
                                jr->container->handle,
                                "Failed to schedule the job watch of '%s': %m",
                                jr->container->handle);
}

/* An exit that wshd reports, as an event or (replayed) in the WATCH reply. */
static void watch_exit(JobsRuntime *jr, uint32_t job_id, uint32_t wait_status, bool replayed) {
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

static void watch_reply(JobsRuntime *jr, const WshdMessage *reply) {
        Container *c = jr->container;

        jr->retry_usec = 0;
        for (size_t i = 0; i < reply->n_exited; i++)
                watch_exit(jr, reply->exited[i].job_id, reply->exited[i].wait_status, true);

        /* What we think runs but wshd knows nothing of is lost (its SPAWN never arrived, say). A job whose
         * SPAWN is in flight now is not known yet, rightly. */
        for (size_t i = 0; i < c->n_jobs;) {
                Job *j = c->jobs[i];
                JobRuntime *rt = job_runtime(j);
                size_t n_before = c->n_jobs;

                if (j->state != JOB_EXITED && id_listed(reply->running, reply->n_running, j->id)) {
                        j->state = JOB_RUNNING;
                        job_check_output(jr, j); /* it may have written a lot while nobody watched */
                } else if (j->state != JOB_EXITED && !rt->spawn_call &&
                           !id_listed(reply->running, reply->n_running, j->id)) {
                        log_full_errno_container(
                                        LOG_WARNING,
                                        0,
                                        c->handle,
                                        "Job %u of '%s' is unknown to its wshd: lost.",
                                        j->id,
                                        c->handle);
                        (void) job_exited(jr, j, 255, JOB_EVENT_LOST);
                }
                if (c->n_jobs == n_before)
                        i++; /* else j was discarded: the same index holds the next job */
        }
}

static void watch_callback(WshdWatch *w, int error, const WshdMessage *message, void *userdata) {
        JobsRuntime *jr = userdata;

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

static void watch_start(JobsRuntime *jr) {
        int r;

        r = wshd_watch_new(jr_manager(jr)->event, jr->socket_path, watch_callback, jr, &jr->watch);
        if (r < 0)
                watch_schedule_retry(jr, r);
}

/* ---- output limit ------------------------------------------------------------------------------------ */

static void job_check_output(JobsRuntime *jr, Job *j) {
        JobRuntime *rt = job_runtime(j);
        uint64_t limit = jr_manager(jr)->config.job_output_limit;
        WshdMessage req;
        int r;

        if (j->state == JOB_EXITED || rt->killing || j->output != JOB_OUTPUT_CAPTURED)
                return;
        if (fd_size(rt->out_fd) + fd_size(rt->err_fd) <= limit)
                return;

        log_full_errno_container(
                        LOG_NOTICE,
                        0,
                        jr->container->handle,
                        "Job %u of '%s' exceeded the output limit of %llu bytes, killing it.",
                        j->id,
                        jr->container->handle,
                        (unsigned long long) limit);
        rt->killing = true;
        j->output_exceeded = true;
        (void) job_add_event(j, JOB_EVENT_OUTPUT_EXCEEDED);
        (void) job_save(jr, j);

        wshd_message_init(&req, WSHD_REQUEST_SIGNAL, 0);
        req.job_id = j->id;
        req.signal = SIGKILL;
        r = pending_call(jr, PENDING_KILL, &req, NULL);
        if (r < 0)
                log_full_errno_container(
                                LOG_WARNING,
                                r,
                                jr->container->handle,
                                "Failed to kill job %u of '%s': %m",
                                j->id,
                                jr->container->handle);
}

static int on_output_modified(sd_event_source *s, const struct inotify_event *event, void *userdata) {
        JobsRuntime *jr = userdata;
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

static void jobs_runtime_free(Container *c) {
        JobsRuntime *jr = c->jobs_runtime;

        if (!jr)
                return;
        for (size_t i = 0; i < c->n_jobs; i++)
                job_runtime_free(c->jobs[i]);
        while (jr->streamers)
                streamer_free(jr->streamers);
        while (jr->calls)
                pending_free(jr->calls);
        wshd_watch_free(jr->watch);
        sd_event_source_disable_unref(jr->retry_source);
        sd_event_source_disable_unref(jr->inotify_source);
        safe_close(jr->records_fd);
        safe_close(jr->output_fd);
        free(jr->records_dir);
        free(jr->output_dir);
        free(jr->socket_path);
        free(jr);
        c->jobs_runtime = NULL;
        c->jobs_runtime_free = NULL;
}

static int open_dir(const char *path) {
        int fd = open(path, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

        return fd < 0 ? -errno : fd;
}

/* 'fresh': a new container, whose records directory must be empty (a leftover is removed first). */
static int jobs_runtime_new(Container *c, bool fresh, JobsRuntime **ret) {
        JobsRuntime *jr;
        int r;

        assert(!c->jobs_runtime);
        if (!c->path || !c->manager)
                return -EINVAL;

        jr = calloc(1, sizeof(JobsRuntime));
        if (!jr)
                return -ENOMEM;
        jr->container = c;
        jr->records_fd = jr->output_fd = -EBADF;
        c->jobs_runtime = jr;
        c->jobs_runtime_free = jobs_runtime_free;

        if (manager_job_records_path(c->manager, c->handle, &jr->records_dir) < 0 ||
            asprintf(&jr->output_dir, "%s/jobs", c->path) < 0 ||
            asprintf(&jr->socket_path, "%s/wshd.sock", c->path) < 0) {
                jobs_runtime_free(c);
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
                jobs_runtime_free(c);
                return r;
        }

        watch_start(jr);
        *ret = jr;
        return 0;
}

int bus_job_container_start(Container *c) {
        JobsRuntime *jr;
        int r;

        if (c->jobs_runtime)
                return 0;
        r = jobs_runtime_new(c, true, &jr);
        if (r < 0)
                return log_full_errno_container(
                                LOG_ERR, r, c->handle, "Failed to set up the jobs of '%s': %m", c->handle);
        return 0;
}

/* Loads record 'name' of directory dir_fd (path 'dir'). 1 with the job registered (*ret), 0 if the record
 * was unusable (it is removed, with the job's output), negative errno. */
static int load_job(JobsRuntime *jr, int dir_fd, const char *dir, const char *name, uint32_t id, Job **ret) {
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
                log_full_errno_container(
                                LOG_WARNING,
                                r,
                                c->handle,
                                "Ignoring the unusable job state file %s/%s: %m",
                                dir,
                                name);
                job_remove_files(jr, id);
                return 0;
        }

        r = job_runtime_new(jr, j);
        if (r < 0)
                return r;
        if (j->output == JOB_OUTPUT_CAPTURED) {
                job_runtime(j)->out_fd = open_output(jr, id, "stdout", false);
                job_runtime(j)->err_fd = open_output(jr, id, "stderr", false);
        }
        if (id >= c->next_job_id)
                c->next_job_id = id + 1;
        r = container_add_job(c, j);
        if (r < 0) {
                job_runtime_free(j);
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
static int load_records(JobsRuntime *jr) {
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
static int load_old_records(JobsRuntime *jr) {
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
                        log_full_errno_container(
                                        LOG_WARNING,
                                        r,
                                        c->handle,
                                        "Failed to move the record of job %u of '%s' to %s: %m",
                                        id,
                                        c->handle,
                                        jr->records_dir);
                else
                        n_moved++;
        }
        if (n_moved > 0)
                log_full_errno_container(
                                LOG_INFO,
                                0,
                                c->handle,
                                "Moved %u job record(s) of '%s' from %s to %s.",
                                n_moved,
                                c->handle,
                                jr->output_dir,
                                jr->records_dir);
        return 0;
}

int bus_job_container_adopt(Container *c) {
        JobsRuntime *jr;
        int r;

        r = jobs_runtime_new(c, false, &jr);
        if (r < 0)
                return log_full_errno_container(
                                LOG_ERR, r, c->handle, "Failed to set up the jobs of '%s': %m", c->handle);

        r = load_records(jr);
        if (r >= 0)
                r = load_old_records(jr);
        if (r < 0)
                return log_full_errno_container(
                                LOG_ERR, r, c->handle, "Failed to load the jobs of '%s': %m", c->handle);
        if (c->n_jobs > 0)
                log_full_errno_container(
                                LOG_INFO,
                                0,
                                c->handle,
                                "Re-adopted %zu job(s) of '%s'.",
                                c->n_jobs,
                                c->handle);
        /* The exits that happened meanwhile come with the WATCH reply. */
        return 0;
}

void bus_job_container_teardown(Container *c) {
        JobsRuntime *jr = c->jobs_runtime;
        int r;

        /* The records go now, whether or not the jobs were set up: nothing reads them any more. */
        r = c->manager ? manager_remove_job_records(c->manager, c->handle) : 0;
        if (r < 0)
                log_full_errno_container(
                                LOG_WARNING,
                                r,
                                c->handle,
                                "Failed to remove the job records of '%s': %m",
                                c->handle);
        if (!jr)
                return;
        for (size_t i = 0; i < c->n_jobs; i++) {
                JobRuntime *rt = job_runtime(c->jobs[i]);

                if (rt->spawn_request)
                        (void) sd_bus_reply_method_errorf(
                                        rt->spawn_request,
                                        WARDEN_ERROR_INVALID_STATE,
                                        "Container '%s' is being destroyed.",
                                        c->handle);
                for (size_t k = 0; k < rt->n_waiters; k++)
                        (void) sd_bus_reply_method_errorf(
                                        rt->waiters[k],
                                        WARDEN_ERROR_INVALID_STATE,
                                        "Container '%s' was destroyed while job %u ran.",
                                        c->handle,
                                        c->jobs[i]->id);
        }
        for (PendingCall *p = jr->calls; p; p = p->next)
                if (p->request)
                        (void) sd_bus_reply_method_errorf(
                                        p->request,
                                        WARDEN_ERROR_INVALID_STATE,
                                        "Container '%s' is being destroyed.",
                                        c->handle);
        jobs_runtime_free(c); /* streams end: their pipes close */
}

int bus_job_append_ids(sd_bus_message *reply, const Container *c) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "u");
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_jobs; i++) {
                r = sd_bus_message_append(reply, "u", c->jobs[i]->id);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* ---- Spawn options ----------------------------------------------------------------------------------- */

typedef struct SpawnOptions {
        char **argv;
        char **env;
        const char *user;
        bool privileged;
        const char *dir;
        WshdRlimit rlimits[WSHD_RLIMITS_MAX];
        size_t n_rlimits;
        bool tty;
        uint16_t tty_rows;
        uint16_t tty_cols;
        int fds[3]; /* stdin, stdout, stderr of the caller (duplicates), -EBADF if not given */
        bool discard_output;
} SpawnOptions;

static void spawn_options_done(SpawnOptions *o) {
        strv_free(o->argv);
        strv_free(o->env);
        for (size_t i = 0; i < 3; i++)
                safe_close(o->fds[i]);
}

static const BusOptionSpec spawn_option_specs[] = {
        { "user", "s" },        { "privileged", "b" }, { "env", "as" },     { "dir", "s" },
        { "rlimits", "a{st}" }, { "tty", "b" },        { "tty_rows", "q" }, { "tty_cols", "q" },
        { "stdin", "h" },       { "stdout", "h" },     { "stderr", "h" },   { "discard_output", "b" },
};
_Static_assert(ELEMENTSOF(spawn_option_specs) <= 32, "read_spawn_options() keeps a uint32_t of them");

static int read_rlimits(sd_bus_message *m, SpawnOptions *o, sd_bus_error *error) {
        const char *name;
        uint64_t value;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{st}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "{st}", &name, &value)) > 0) {
                int resource = rlimit_from_name(name);

                if (resource < 0)
                        return sd_bus_error_setf(
                                        error,
                                        SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'rlimits': unknown resource '%s'.",
                                        name);
                for (size_t i = 0; i < o->n_rlimits; i++)
                        if (o->rlimits[i].resource == (uint32_t) resource)
                                return sd_bus_error_setf(
                                                error,
                                                SD_BUS_ERROR_INVALID_ARGS,
                                                "Option 'rlimits': '%s' given twice.",
                                                name);
                if (o->n_rlimits >= WSHD_RLIMITS_MAX)
                        return sd_bus_error_set(
                                        error,
                                        SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'rlimits': too many entries.");
                /* UINT64_MAX is RLIM_INFINITY: "unlimited". */
                o->rlimits[o->n_rlimits++] = (WshdRlimit){
                        .resource = (uint32_t) resource,
                        .soft = value,
                        .hard = value,
                };
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_fd_option(sd_bus_message *m, int *fd) {
        int r, k;

        r = sd_bus_message_read(m, "h", &k);
        if (r < 0)
                return r;
        *fd = fcntl(k, F_DUPFD_CLOEXEC, 3);
        return *fd < 0 ? -errno : 0;
}

static int read_spawn_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error) {
        SpawnOptions *o = userdata;
        int b, r;

        if (streq(key, "user"))
                return sd_bus_message_read(m, "s", &o->user);
        if (streq(key, "privileged")) {
                r = sd_bus_message_read(m, "b", &b);
                o->privileged = b;
                return r;
        }
        if (streq(key, "env"))
                return bus_message_read_env(m, WSHD_ARGV_MAX, &o->env, error);
        if (streq(key, "dir"))
                return sd_bus_message_read(m, "s", &o->dir);
        if (streq(key, "rlimits"))
                return read_rlimits(m, o, error);
        if (streq(key, "tty")) {
                r = sd_bus_message_read(m, "b", &b);
                o->tty = b;
                return r;
        }
        if (streq(key, "tty_rows"))
                return sd_bus_message_read(m, "q", &o->tty_rows);
        if (streq(key, "tty_cols"))
                return sd_bus_message_read(m, "q", &o->tty_cols);
        if (streq(key, "stdin"))
                return read_fd_option(m, &o->fds[0]);
        if (streq(key, "stdout"))
                return read_fd_option(m, &o->fds[1]);
        if (streq(key, "stderr"))
                return read_fd_option(m, &o->fds[2]);
        if (streq(key, "discard_output")) {
                r = sd_bus_message_read(m, "b", &b);
                o->discard_output = b;
                return r;
        }
        assert_not_reached();
}

static int read_spawn_options(sd_bus_message *m, SpawnOptions *o, sd_bus_error *error) {
        int r;

        r = bus_message_read_strv_max(m, WSHD_ARGV_MAX, &o->argv);
        if (r == -E2BIG)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "argv has more than %u entries.",
                                WSHD_ARGV_MAX);
        if (r < 0)
                return r;

        return bus_message_read_options(
                        m,
                        NULL,
                        spawn_option_specs,
                        ELEMENTSOF(spawn_option_specs),
                        read_spawn_option,
                        o,
                        error);
}

/* No host object reaches a job (stdio-relay.h): without a tty, the job gets the caller's descriptors
 * themselves, so only anonymous pipes are taken. With a tty, wshd relays between the pty and them and the
 * job sees only the pty: anything but a directory or an O_PATH descriptor will do. */
static int check_caller_fds(const SpawnOptions *o, sd_bus_error *error) {
        static const char *const names[] = { "stdin", "stdout", "stderr" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                const char *what;
                int k;

                if (o->fds[i] < 0)
                        continue;
                k = host_fd_classify(o->fds[i], &what);
                if (k < 0)
                        return k;
                if (k == HOST_FD_PIPE)
                        continue;
                if (o->tty && k == HOST_FD_OTHER)
                        continue;
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_HOST_FD,
                                "Option '%s' is %s: a job gets only pipes of the caller's (relay the rest "
                                "through a pipe, as wardenctl does)%s.",
                                names[i],
                                what,
                                k != HOST_FD_OTHER || o->tty ? "" : ", or terminals with 'tty'");
        }
        return 0;
}

static int check_spawn_options(SpawnOptions *o, sd_bus_error *error) {
        if (strv_length(o->argv) == 0 || isempty(o->argv[0]))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "argv must name a program.");
        if (strv_length(o->argv) > WSHD_ARGV_MAX)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "argv has more than %u entries.",
                                WSHD_ARGV_MAX);
        if (o->dir) {
                _cleanup_free_ char *n = NULL;

                if (!path_is_absolute(o->dir) || path_normalize(o->dir, &n) < 0 || !streq(n, o->dir))
                        return sd_bus_error_setf(
                                        error,
                                        SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'dir': '%s' is not an absolute, normalised path.",
                                        o->dir);
        }
        if (o->user && isempty(o->user))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Option 'user' is empty.");
        if (o->user && o->privileged && !streq(o->user, "root"))
                return sd_bus_error_set(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Options 'user' and 'privileged' contradict each other.");
        if ((o->tty_rows > 0 || o->tty_cols > 0) && !o->tty)
                return sd_bus_error_set(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Options 'tty_rows' and 'tty_cols' need 'tty'.");
        if (o->tty && o->fds[1] < 0 && (o->fds[0] >= 0 || o->fds[2] >= 0))
                return sd_bus_error_set(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "A terminal job relays to the caller's 'stdout': pass it with 'stdin'.");
        if (o->discard_output && (o->fds[1] >= 0 || o->fds[2] >= 0))
                return sd_bus_error_set(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'discard_output' contradicts 'stdout'/'stderr'.");
        return check_caller_fds(o, error);
}

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
static int
resolve_user(Container *c,
             const SpawnOptions *o,
             const char **ret_name,
             ContainerUser *ret,
             sd_bus_error *error) {
        Manager *m = c->manager;
        const char *name;
        _cleanup_free_ char *root = NULL;
        int r;

        if (o->privileged || streq_ptr(o->user, "root")) {
                *ret = (ContainerUser){ .uid = 0, .gid = 0, .home = strdup("/root") };
                *ret_name = "root";
                return ret->home ? 0 : -ENOMEM;
        }
        name = o->user ?: m->config.user;
        if (!o->user || streq(o->user, m->config.user)) {
                if (c->uid == 0)
                        return sd_bus_error_setf(
                                        error,
                                        WARDEN_ERROR_INVALID_STATE,
                                        "Container '%s' has no user of its own.",
                                        c->handle);
                *ret = (ContainerUser){ .uid = c->uid, .gid = c->uid };
                if (asprintf(&ret->home, "/home/%s", m->config.user) < 0)
                        return -ENOMEM;
                *ret_name = m->config.user;
                return 0;
        }

        if (asprintf(&root, "%s/rootfs", c->path) < 0)
                return -ENOMEM;
        r = container_user_lookup(root, name, WSHD_GROUPS_MAX, ret);
        if (r == -ENOENT)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "No user '%s' in the container's /etc/passwd.",
                                name);
        if (r < 0)
                return sd_bus_error_set_errnof(
                                error, r, "Failed to look up user '%s' in the container: %m", name);
        *ret_name = name;
        return 0;
}

static int
build_env(Container *c, const SpawnOptions *o, const char *user, const ContainerUser *u, char ***ret) {
        _cleanup_strv_free_ char **env = NULL;
        int r;

        r = env_setf(&env, "PATH", DEFAULT_PATH);
        if (r >= 0)
                r = env_setf(&env, "HOME", u->home);
        if (r >= 0)
                r = env_setf(&env, "USER", user);
        if (r >= 0)
                r = env_setf(&env, "LOGNAME", user);
        if (r >= 0 && o->tty)
                r = env_setf(&env, "TERM", "xterm");
        STRV_FOREACH(e, c->env)
                if (r >= 0)
                        r = env_set(&env, *e);
        STRV_FOREACH(e, o->env)
                if (r >= 0)
                        r = env_set(&env, *e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(env);
        return 0;
}

/* ---- Spawn, Run ----------------------------------------------------------------------------------------
 */

static void spawn_done(WshdCall *call, int error, WshdMessage *reply, void *userdata) {
        Job *j = userdata;
        JobRuntime *rt = job_runtime(j);
        JobsRuntime *jr = rt->owner;
        Container *c = jr->container;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *spawn_request =
                        sd_bus_message_ref(rt->spawn_request);
        int e = error < 0 ? -error : 0;

        rt->spawn_request = bus_call_release(c->manager, rt->spawn_request); /* answered right below */

        if (e == 0 && reply->type == WSHD_REPLY_ERROR)
                e = reply->error > 0 ? reply->error : EPROTO;
        else if (e == 0 && reply->type != WSHD_REPLY_SPAWN)
                e = EBADMSG;

        if (e == 0 && j->state == JOB_STARTING) {
                j->state = JOB_RUNNING;
                j->pid = (pid_t) reply->pid;
        } else if (e == 0)
                j->pid = (pid_t) reply->pid;             /* its exit came first, on the watch */
        rt->spawn_call = wshd_call_free(rt->spawn_call); /* reply is gone from here on */

        if (e != 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;

                log_full_errno_container(
                                LOG_DEBUG,
                                e,
                                c->handle,
                                "SPAWN of job %u in '%s' failed: %m",
                                j->id,
                                c->handle);
                if (e == EAGAIN)
                        (void) sd_bus_error_setf(
                                        &err,
                                        WARDEN_ERROR_POOL_EXHAUSTED,
                                        "Too many jobs in container '%s'.",
                                        c->handle);
                else
                        (void) sd_bus_error_setf(
                                        &err,
                                        SD_BUS_ERROR_FAILED,
                                        "wshd of '%s' could not start the job: %s.",
                                        c->handle,
                                        strerror(e));
                if (spawn_request)
                        (void) sd_bus_reply_method_error(spawn_request, &err);
                for (size_t i = 0; i < rt->n_waiters; i++)
                        (void) sd_bus_reply_method_error(rt->waiters[i], &err);
                job_discard(jr, j);
                return;
        }

        /* The state file still says "starting": a restarted wardend learns the rest from wshd. */
        if (spawn_request)
                (void) sd_bus_reply_method_return(spawn_request, "u", j->id);
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
                        log_full_errno_container(
                                        LOG_WARNING,
                                        r,
                                        c->handle,
                                        "Failed to write the state file of '%s': %m",
                                        c->handle);
        }
        return id;
}

static int spawn(sd_bus_message *m, Container *c, bool link, sd_bus_error *error) {
        _cleanup_(spawn_options_done) SpawnOptions o = { .fds = { -EBADF, -EBADF, -EBADF } };
        _cleanup_(container_user_done) ContainerUser u = {};
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_close_ int out_w = -EBADF, err_w = -EBADF, out_r = -EBADF, err_r = -EBADF;
        _cleanup_(job_freep) Job *j = NULL;
        const char *user_name = NULL;
        JobsRuntime *jr;
        JobRuntime *rt;
        WshdMessage req;
        uint32_t id;
        int r;

        r = bus_verify_manage(m, c->manager, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */
        r = read_spawn_options(m, &o, error);
        if (r < 0)
                return r;
        r = check_spawn_options(&o, error);
        if (r < 0)
                return r;
        if (c->state != CONTAINER_ACTIVE)
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_INVALID_STATE,
                                "Container '%s' is %s: jobs start only in an active container.",
                                c->handle,
                                c->operation ? "busy" : container_state_to_string(c->state));
        jr = c->jobs_runtime;
        if (!jr)
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_INVALID_STATE,
                                "Container '%s' cannot run jobs.",
                                c->handle);
        if (c->n_jobs >= c->manager->config.max_jobs_per_container)
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_POOL_EXHAUSTED,
                                "Too many jobs in container '%s' (max_jobs_per_container=%u): Link the "
                                "exited ones first.",
                                c->handle,
                                c->manager->config.max_jobs_per_container);

        r = resolve_user(c, &o, &user_name, &u, error);
        if (r < 0)
                return r;
        r = build_env(c, &o, user_name, &u, &env);
        if (r < 0)
                return r;

        id = allocate_job_id(c);
        r = job_new(id, &j);
        if (r < 0)
                return r;
        j->tty = o.tty;
        j->started_usec = now_usec(CLOCK_REALTIME);
        j->output = o.discard_output                   ? JOB_OUTPUT_DISCARD
                    : (o.fds[1] >= 0 || o.fds[2] >= 0) ? JOB_OUTPUT_CALLER
                                                       : JOB_OUTPUT_CAPTURED;

        /* Output that the caller does not take goes to files, or is discarded: without a tty, into the
         * container's own /dev/null, which wshd gives for every stream it gets no fd for (ours is the
         * host's node on a writable mount, and container root could chmod it through /proc/self/fd); with
         * one, wshd relays the pty to ours and the job never sees it. */
        if (o.fds[1] < 0 && !(o.discard_output && !o.tty)) {
                out_w = o.discard_output ? open_null() : open_output(jr, id, "stdout", true);
                if (out_w < 0)
                        return job_file_error(error, out_w, "create the output of", id);
        }
        if (o.fds[2] < 0 && !o.tty && !o.discard_output) {
                err_w = open_output(jr, id, "stderr", true);
                if (err_w < 0) {
                        job_remove_files(jr, id);
                        return job_file_error(error, err_w, "create the output of", id);
                }
        }
        if (j->output == JOB_OUTPUT_CAPTURED) {
                out_r = open_output(jr, id, "stdout", false);
                err_r = o.tty ? -EBADF : open_output(jr, id, "stderr", false);
                if (out_r < 0 || (!o.tty && err_r < 0)) {
                        job_remove_files(jr, id);
                        return sd_bus_error_set_errnof(
                                        error, EIO, "Failed to open the output of job %u.", id);
                }
        }

        r = job_save(jr, j);
        if (r < 0) {
                job_remove_files(jr, id);
                return job_file_error(error, r, "record", id);
        }

        wshd_message_init(&req, WSHD_REQUEST_SPAWN, 0);
        req.job_id = id;
        req.argv = o.argv;
        req.env = env;
        req.dir = (char *) (o.dir ?: u.home);
        req.uid = u.uid;
        req.gid = u.gid;
        req.groups = u.groups;
        req.n_groups = u.n_groups;
        req.rlimits = o.rlimits;
        req.n_rlimits = o.n_rlimits;
        if (o.tty) {
                req.tty = true;
                req.tty_rows = o.tty_rows > 0 ? o.tty_rows : 24;
                req.tty_cols = o.tty_cols > 0 ? o.tty_cols : 80;
        }
        {
                int fd_in = o.fds[0], fd_out = o.fds[1] >= 0 ? o.fds[1] : out_w,
                    fd_err = o.fds[2] >= 0 ? o.fds[2] : err_w;
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

        r = job_runtime_new(jr, j);
        if (r < 0) {
                job_remove_files(jr, id);
                return r;
        }
        rt = job_runtime(j);
        rt->out_fd = TAKE_FD(out_r);
        rt->err_fd = TAKE_FD(err_r);

        r = wshd_call(c->manager->event,
                      jr->socket_path,
                      &req,
                      SPAWN_TIMEOUT_USEC,
                      spawn_done,
                      j,
                      &rt->spawn_call);
        /* wshd_call() copied what it needs: the request's fields stay ours. */
        req.fds[0] = req.fds[1] = req.fds[2] = -EBADF;
        req.n_fds = 0;
        if (r < 0) {
                job_remove_files(jr, id);
                job_runtime_free(j);
                if (r == -E2BIG)
                        return sd_bus_error_set(
                                        error,
                                        SD_BUS_ERROR_INVALID_ARGS,
                                        "argv and env of the job are too large.");
                return sd_bus_error_set_errnof(error, -r, "Failed to reach wshd of '%s': %m", c->handle);
        }
        if (link)
                r = add_waiter(rt, m);
        else
                rt->spawn_request = bus_call_hold(c->manager, m);
        if (r < 0) {
                job_remove_files(jr, id);
                job_runtime_free(j);
                return r;
        }

        r = container_add_job(c, j);
        if (r < 0) {
                job_remove_files(jr, id);
                job_runtime_free(j);
                return r;
        }
        TAKE_PTR(j);
        bus_lifecycle_reference(c, m);
        emit_jobs_changed(c);
        return 1;
}

int bus_job_method_spawn(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return spawn(m, userdata, false, error);
}

int bus_job_method_run(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return spawn(m, userdata, true, error);
}

/* ---- Link, Stream, Signal, ResizeTty ---------------------------------------------------------------------
 */

/* The start of every method on a job: the caller's authorisation, then the job. 1 with *ret set; 0 while
 * polkit is asked (the handler returns 1: the call comes back with the answer); or an error. */
static int job_method_begin(sd_bus_message *m, Container *c, Job **ret, sd_bus_error *error) {
        uint32_t id;
        Job *j;
        int r;

        r = bus_verify_manage(m, c->manager, error);
        if (r <= 0)
                return r;
        r = sd_bus_message_read(m, "u", &id);
        if (r < 0)
                return r;
        j = container_get_job(c, id);
        if (!j || !j->runtime)
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_NO_SUCH_JOB,
                                "No job %u in container '%s' (or it was linked already).",
                                id,
                                c->handle);
        *ret = j;
        return 1;
}

int bus_job_method_link(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        Job *j;
        int r;

        r = job_method_begin(m, c, &j, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = add_waiter(job_runtime(j), m);
        if (r < 0)
                return r;
        bus_lifecycle_reference(c, m);
        if (j->state == JOB_EXITED && !job_runtime(j)->spawn_call)
                job_answer_waiters(c->jobs_runtime, j);
        return 1;
}

int bus_job_method_stream(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        _cleanup_close_ int out = -EBADF, err = -EBADF;
        JobRuntime *rt;
        Job *j;
        int r;

        r = job_method_begin(m, c, &j, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        rt = job_runtime(j);
        r = streamer_new(c->jobs_runtime, j, rt->out_fd, &out);
        if (r >= 0)
                r = streamer_new(c->jobs_runtime, j, rt->err_fd, &err);
        if (r < 0)
                return sd_bus_error_set_errnof(
                                error, -r, "Failed to set up the stream of job %u: %m", j->id);

        /* Whatever is there already is in the pipes before the caller gets them. */
        for (Streamer *s = ((JobsRuntime *) c->jobs_runtime)->streamers, *next; s; s = next) {
                next = s->next;
                if (s->job_id == j->id)
                        streamer_pump(s);
        }
        bus_lifecycle_reference(c, m);
        return sd_bus_reply_method_return(m, "hh", out, err);
}

static int
job_request(sd_bus_message *m,
            Container *c,
            Job *j,
            PendingKind kind,
            WshdMessage *req,
            sd_bus_error *error) {
        int r;

        if (j->state != JOB_RUNNING)
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_INVALID_STATE,
                                "Job %u is %s.",
                                j->id,
                                j->state == JOB_EXITED ? "no longer running" : "still starting");
        req->job_id = j->id;
        r = pending_call(c->jobs_runtime, kind, req, m);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Failed to reach wshd of '%s': %m", c->handle);
        bus_lifecycle_reference(c, m);
        return 1;
}

int bus_job_method_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        WshdMessage req;
        int32_t sig;
        Job *j;
        int r;

        r = job_method_begin(m, c, &j, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = sd_bus_message_read(m, "i", &sig);
        if (r < 0)
                return r;
        if (sig < 1 || sig > SIGRTMAX)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Invalid signal %" PRIi32 ": not 1..%i.",
                                sig,
                                SIGRTMAX);
        wshd_message_init(&req, WSHD_REQUEST_SIGNAL, 0);
        req.signal = (uint32_t) sig;
        return job_request(m, c, j, PENDING_SIGNAL, &req, error);
}

int bus_job_method_resize_tty(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        uint16_t rows, cols;
        WshdMessage req;
        Job *j;
        int r;

        r = job_method_begin(m, c, &j, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = sd_bus_message_read(m, "qq", &rows, &cols);
        if (r < 0)
                return r;
        if (rows == 0 || cols == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Rows and columns must not be 0.");
        if (!j->tty)
                return sd_bus_error_setf(
                                error, WARDEN_ERROR_INVALID_STATE, "Job %u has no terminal.", j->id);
        wshd_message_init(&req, WSHD_REQUEST_RESIZE, 0);
        req.tty = true;
        req.tty_rows = rows;
        req.tty_cols = cols;
        return job_request(m, c, j, PENDING_RESIZE, &req, error);
}
