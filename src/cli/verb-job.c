/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-client.h"
#include "bus-util.h"
#include "event-util.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "stdio-relay.h"
#include "strv.h"
#include "tty-util.h"
#include "verb-job.h"

/* A status that does not fit a process's exit code (it should not happen) is reported as 255. */
static int exit_status_clamp(int status) {
        return status >= 0 && status <= 255 ? status : 255;
}

/* 'env' plus TERM=$TERM, unless 'env' sets TERM already or we have none: the job's terminal is ours. */
static int env_add_term(char **env, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *term = getenv("TERM");
        _cleanup_free_ char *s = NULL;

        STRV_FOREACH(e, env) {
                if (startswith(*e, "TERM="))
                        term = NULL;
                if (strv_extend(&l, *e) < 0)
                        return -ENOMEM;
        }
        if (term && *term) {
                if (asprintf(&s, "TERM=%s", term) < 0)
                        return -ENOMEM;
                if (strv_consume(&l, TAKE_PTR(s)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* Reads the "events" of Link's info a{sv} (the rest is skipped). */
static int read_link_info(sd_bus_message *reply, char ***ret_events) {
        _cleanup_strv_free_ char **events = NULL;
        const char *key;
        int r;

        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "events") &&
                    sd_bus_message_enter_container(reply, SD_BUS_TYPE_VARIANT, "as") > 0) {
                        events = strv_free(events);
                        r = sd_bus_message_read_strv(reply, &events);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        *ret_events = TAKE_PTR(events);
        return 0;
}

static void log_events(uint32_t job_id, char **events) {
        STRV_FOREACH(e, events)
                log_warning("Job %" PRIu32 ": %s", job_id, *e);
}

/* The state of job_run(): Spawn, then Link, driven by an event loop that also watches our signals. */
typedef struct JobSession {
        sd_bus *bus;
        sd_event *event;
        const char *handle;
        bool tty;
        TtyRaw raw;
        sd_bus_slot *spawn_slot, *link_slot;
        StdioRelay relay; /* without a tty: our stdin/stdout/stderr, relayed unless pipes */
        sd_event_source *relay_source[3];
        uint32_t job_id;    /* 0 until Spawn answered */
        int pending_signal; /* arrived before the job id was known: forwarded then */
        bool resize_pending;
        unsigned n_signals;
        int interrupted; /* the second signal, which ended the wait */
        int exit_status;
        char **events;
        /* The first failure; logged once the terminal is restored. */
        int error;
        const char *failed_method;
        sd_bus_error bus_error;
} JobSession;

static void job_session_done(JobSession *s) {
        s->spawn_slot = sd_bus_slot_unref(s->spawn_slot);
        s->link_slot = sd_bus_slot_unref(s->link_slot);
        for (size_t i = 0; i < ELEMENTSOF(s->relay_source); i++)
                s->relay_source[i] = sd_event_source_disable_unref(s->relay_source[i]);
        stdio_relay_done(&s->relay);
        (void) tty_raw_restore(&s->raw);
        if (s->event)
                (void) sd_bus_detach_event(s->bus);
        s->event = sd_event_unref(s->event);
        s->events = strv_free(s->events);
        sd_bus_error_free(&s->bus_error);
}

static int job_session_fail(JobSession *s, const char *method, int error, const sd_bus_error *e) {
        if (s->error == 0) {
                s->error = error < 0 ? error : -EIO;
                s->failed_method = method;
                if (e)
                        (void) sd_bus_error_copy(&s->bus_error, e);
        }
        return sd_event_exit(s->event, 0);
}

/* Replies to Signal() and ResizeTty() only matter for debugging: the job may have ended in between. */
static int on_minor_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                log_debug("%s() failed: %s", (const char *) userdata, e->message ?: e->name);
        return 0;
}

static void job_session_forward_signal(JobSession *s, int sig) {
        int r;

        r = sd_bus_call_method_async(
                s->bus,
                NULL,
                WARDEN_BUS_NAME,
                WARDEN_MANAGER_PATH,
                WARDEN_MANAGER_INTERFACE,
                "Signal",
                on_minor_reply,
                (void *) "Signal",
                "sui",
                s->handle,
                s->job_id,
                sig);
        if (r < 0)
                log_debug_errno(r, "Failed to send Signal(): %m");
}

static void job_session_resize(JobSession *s) {
        uint16_t rows, cols;
        int r;

        if (!s->tty || tty_get_size(STDIN_FILENO, &rows, &cols) < 0)
                return;
        r = sd_bus_call_method_async(
                s->bus,
                NULL,
                WARDEN_BUS_NAME,
                WARDEN_MANAGER_PATH,
                WARDEN_MANAGER_INTERFACE,
                "ResizeTty",
                on_minor_reply,
                (void *) "ResizeTty",
                "suqq",
                s->handle,
                s->job_id,
                rows,
                cols);
        if (r < 0)
                log_debug_errno(r, "Failed to send ResizeTty(): %m");
}

static int on_link_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        JobSession *s = userdata;
        int32_t status;
        int r;

        s->link_slot = sd_bus_slot_unref(s->link_slot);
        if (sd_bus_message_is_method_error(reply, NULL))
                return job_session_fail(
                        s, "Link", sd_bus_message_get_errno(reply), sd_bus_message_get_error(reply));

        r = sd_bus_message_read(reply, "i", &status);
        if (r >= 0)
                r = sd_bus_message_skip(reply, "ayay");
        if (r >= 0)
                r = read_link_info(reply, &s->events);
        if (r < 0)
                return job_session_fail(s, "Link", r, NULL);
        s->exit_status = status;
        /* Everything the job wrote before it exited is in our pipes by now: out with it, in order, before we
         * exit. What it left behind in the background and writes later goes nowhere (EPIPE). */
        for (size_t i = 1; i < ELEMENTSOF(s->relay.channel); i++)
                if (s->relay.channel[i])
                        relay_channel_drain(s->relay.channel[i]);
        return sd_event_exit(s->event, 0);
}

static int on_spawn_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        JobSession *s = userdata;
        int r;

        s->spawn_slot = sd_bus_slot_unref(s->spawn_slot);
        if (sd_bus_message_is_method_error(reply, NULL))
                return job_session_fail(
                        s, "Spawn", sd_bus_message_get_errno(reply), sd_bus_message_get_error(reply));
        r = sd_bus_message_read(reply, "u", &s->job_id);
        if (r < 0)
                return job_session_fail(s, "Spawn", r, NULL);

        /* Link waits for as long as the job runs: no timeout. */
        r = sd_bus_message_new_method_call(
                s->bus, &m, WARDEN_BUS_NAME, WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, "Link");
        if (r >= 0)
                r = sd_bus_message_append(m, "su", s->handle, s->job_id);
        if (r >= 0)
                r = sd_bus_call_async(s->bus, &s->link_slot, m, on_link_reply, s, UINT64_MAX);
        if (r < 0)
                return job_session_fail(s, "Link", r, NULL);

        /* Raw only now: until Spawn has answered, our messages may still need the terminal as it was. */
        if (s->tty) {
                r = tty_raw_enable(&s->raw, STDIN_FILENO);
                if (r < 0)
                        log_warning_errno(r, "Failed to put the terminal into raw mode, ignoring: %m");
        }
        if (s->resize_pending)
                job_session_resize(s);
        if (s->pending_signal > 0)
                job_session_forward_signal(s, s->pending_signal);
        return 0;
}

static int on_signal(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        JobSession *s = userdata;
        int sig = (int) si->ssi_signo;

        if (sig == SIGWINCH) {
                if (s->job_id > 0)
                        job_session_resize(s);
                else
                        s->resize_pending = true;
                return 0;
        }

        /* The first signal is the job's business; a second one means the user gives up waiting. */
        if (++s->n_signals > 1) {
                s->interrupted = sig;
                return sd_event_exit(s->event, 0);
        }
        if (s->job_id > 0)
                job_session_forward_signal(s, sig);
        else
                s->pending_signal = sig;
        return 0;
}

/* Waits for what the channel needs next; off once it is done. */
static int relay_source_arm(sd_event_source *source, const RelayChannel *c) {
        short events;
        int fd, r;

        fd = relay_channel_wait(c, &events);
        if (fd < 0)
                return sd_event_source_set_enabled(source, SD_EVENT_OFF);
        r = sd_event_source_set_io_fd(source, fd);
        if (r >= 0)
                r = sd_event_source_set_io_events(
                        source, (uint32_t) events); /* POLLIN/POLLOUT: EPOLLIN/EPOLLOUT */
        return r;
}

static int on_relay_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        RelayChannel *c = userdata;
        int r;

        (void) relay_channel_step(c);
        r = relay_source_arm(source, c);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the relay of the job's standard streams: %m");
        return 0;
}

/* Our stdin, stdout and stderr for the job: pipes as they are, anything else (files, terminals, sockets)
 * through pipes of ours, so that no host object of ours reaches the job (stdio-relay.h). */
static int job_session_relay(JobSession *s, JobOptions *o) {
        static const char *const names[] = { "input", "output", "error output" };
        static const char *const relay_descriptions[] = { "relay-stdin", "relay-stdout", "relay-stderr" };
        const int fds[3] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO };
        const char *what = "a directory";
        int bad = 0, r;

        r = stdio_relay_setup(&s->relay, fds, &bad);
        if (r == -EISDIR) {
                (void) host_fd_classify(fds[bad], &what);
                return log_error_errno(
                        SYNTHETIC_ERRNO(EISDIR),
                        "Standard %s is %s: it cannot be given to a job, nor relayed.",
                        names[bad],
                        what);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to set up the relay of the job's standard streams: %m");

        for (size_t i = 0; i < ELEMENTSOF(s->relay.channel); i++) {
                RelayChannel *c = s->relay.channel[i];
                short events;
                int fd;

                if (!c)
                        continue;
                fd = relay_channel_wait(c, &events);
                r = sd_event_add_io(s->event, &s->relay_source[i], fd, (uint32_t) events, on_relay_io, c);
                if (r < 0)
                        return log_error_errno(
                                r, "Failed to watch the relay of the job's standard streams: %m");
                (void) sd_event_source_set_description(s->relay_source[i], relay_descriptions[i]);
        }
        o->stdin_fd = s->relay.job_fd[0];
        o->stdout_fd = s->relay.job_fd[1];
        o->stderr_fd = s->relay.job_fd[2];
        return 0;
}

int job_run(sd_bus *bus, const char *handle, char **argv, const JobOptions *options) {
        static const int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH };
        _cleanup_(job_session_done) JobSession s = {
                .bus = bus,
                .handle = handle,
                .tty = options->tty,
                .raw = TTY_RAW_NULL,
                .relay = STDIO_RELAY_NULL,
                .exit_status = -1,
                .bus_error = SD_BUS_ERROR_NULL,
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_strv_free_ char **env = NULL;
        JobOptions o = *options;
        sigset_t mask;
        int r;

        assert(bus);
        assert(options);

        if (o.tty && !isatty(STDIN_FILENO))
                return log_error_errno(
                        SYNTHETIC_ERRNO(ENOTTY),
                        "A job with a terminal (--tty, shell) needs a terminal on standard input.");

        /* Blocked from here on, so that none is lost before the event loop watches them; never unblocked,
         * since wardenctl exits right after. */
        assert_se(sigemptyset(&mask) == 0);
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                assert_se(sigaddset(&mask, signals[i]) == 0);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");

        if (o.tty) {
                r = env_add_term(o.env, &env);
                if (r < 0)
                        return log_oom();
                o.env = env;
                (void) tty_get_size(STDIN_FILENO, &o.tty_rows, &o.tty_cols);
                /* wshd relays the terminal to these two; the job's stderr is the terminal as well. */
                o.stdin_fd = STDIN_FILENO;
                o.stdout_fd = STDOUT_FILENO;
                o.stderr_fd = -EBADF;
        }

        r = sd_event_new(&s.event);
        if (r < 0)
                return log_error_errno(r, "Failed to create an event loop: %m");
        if (!o.tty) {
                /* The relay's reader or writer going away is an error of that stream, not our end: EPIPE.
                 * A terminal on stdin that we read while in the background is EIO (the job's EOF), not a
                 * stop; and we write to it as the job would, TOSTOP or not. */
                (void) signal(SIGPIPE, SIG_IGN);
                (void) signal(SIGTTIN, SIG_IGN);
                (void) signal(SIGTTOU, SIG_IGN);
                r = job_session_relay(&s, &o);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                sd_event_source *source = NULL;
                char description[32];

                r = sd_event_add_signal(s.event, &source, signals[i], on_signal, &s);
                if (r >= 0) {
                        (void) snprintf(description, sizeof(description), "signal-%d", signals[i]);
                        r = event_source_float(source, description);
                }
                if (r < 0)
                        return log_error_errno(r, "Failed to watch signal %d: %m", signals[i]);
        }
        r = sd_bus_attach_event(bus, s.event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        r = bus_manager_new_call(bus, "Spawn", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", handle);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv);
        if (r >= 0)
                r = job_options_append(m, &o);
        if (r < 0)
                return log_error_errno(r, "Failed to create a Spawn() call: %m");
        r = sd_bus_call_async(bus, &s.spawn_slot, m, on_spawn_reply, &s, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to send Spawn(): %m");
        /* The job's ends of the relay pipes are in the message now (copies): ours go, so that the job sees
         * EOF on stdin when we close it, and we see EOF when the job and what it left behind close theirs.
         */
        m = sd_bus_message_unref(m);
        stdio_relay_close_job_fds(&s.relay);

        r = sd_event_loop(s.event);
        (void) tty_raw_restore(&s.raw);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        if (s.error < 0)
                return bus_log_error(&s.bus_error, s.error, s.failed_method);
        if (s.interrupted > 0) {
                if (s.job_id > 0)
                        log_error(
                                "Interrupted; job %" PRIu32 " of '%s' may still be running "
                                "('wardenctl link %s %" PRIu32 "' waits for it).",
                                s.job_id,
                                handle,
                                handle,
                                s.job_id);
                else
                        log_error("Interrupted; the job may have been started nonetheless.");
                return 128 + s.interrupted;
        }
        log_events(s.job_id, s.events);
        return exit_status_clamp(s.exit_status);
}

int job_spawn(sd_bus *bus, const char *handle, char **argv, const JobOptions *options, bool json) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_strv_free_ char **env = NULL;
        JobOptions o = *options;
        uint32_t job_id;
        int r;

        assert(bus);
        assert(options);

        if (o.tty) {
                r = env_add_term(o.env, &env);
                if (r < 0)
                        return log_oom();
                o.env = env;
                /* The size of our terminal, if we have one; else wardend's default. */
                (void) tty_get_size(STDIN_FILENO, &o.tty_rows, &o.tty_cols);
        }

        r = bus_manager_new_call(bus, "Spawn", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", handle);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv);
        if (r >= 0)
                r = job_options_append(m, &o);
        if (r < 0)
                return log_error_errno(r, "Failed to create a Spawn() call: %m");
        r = bus_call_message(bus, m, 0, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "u", &job_id);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply: %m");

        if (json)
                printf("{\"job_id\": %" PRIu32 "}\n", job_id);
        else
                printf("%" PRIu32 "\n", job_id);
        return 0;
}

int job_link(sd_bus *bus, const char *handle, uint32_t job_id, bool json) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **events = NULL;
        const void *out, *err;
        size_t n_out, n_err;
        int32_t status;
        int r;

        assert(bus);
        assert(handle);

        r = bus_call_manager(bus, "Link", UINT64_MAX, &reply, "su", handle, job_id);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "i", &status);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &out, &n_out);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &err, &n_err);
        if (r >= 0)
                r = read_link_info(reply, &events);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply: %m");

        if (json) {
                printf("{\"job_id\": %" PRIu32 ", \"exit_status\": %" PRIi32 ", \"stdout\": ",
                       job_id,
                       status);
                json_write_bytes(stdout, out, n_out);
                fputs(", \"stderr\": ", stdout);
                json_write_bytes(stdout, err, n_err);
                fputs(", \"events\": [", stdout);
                STRV_FOREACH(e, events) {
                        if (e != events)
                                fputs(", ", stdout);
                        json_write_string(stdout, *e);
                }
                puts("]}");
        } else {
                r = loop_write(STDOUT_FILENO, out, n_out);
                if (r < 0)
                        return log_error_errno(r, "Failed to write the job's output: %m");
                r = loop_write(STDERR_FILENO, err, n_err);
                if (r < 0)
                        return log_error_errno(r, "Failed to write the job's error output: %m");
                log_events(job_id, events);
        }
        return exit_status_clamp(status);
}

int job_stream(sd_bus *bus, const char *handle, uint32_t job_id) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_close_ int out_fd = -EBADF, err_fd = -EBADF;
        struct pollfd p[2];
        char buf[64 * 1024];
        int a, b, r;

        assert(bus);
        assert(handle);

        r = bus_call_manager(bus, "Stream", 0, &reply, "su", handle, job_id);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "hh", &a, &b);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply: %m");
        /* The message owns its fds: keep copies of our own. */
        out_fd = fcntl(a, F_DUPFD_CLOEXEC, 3);
        if (out_fd < 0)
                return log_error_errno(errno, "Failed to duplicate a file descriptor: %m");
        err_fd = fcntl(b, F_DUPFD_CLOEXEC, 3);
        if (err_fd < 0)
                return log_error_errno(errno, "Failed to duplicate a file descriptor: %m");
        reply = sd_bus_message_unref(reply);

        p[0] = (struct pollfd){ .fd = out_fd, .events = POLLIN };
        p[1] = (struct pollfd){ .fd = err_fd, .events = POLLIN };
        while (p[0].fd >= 0 || p[1].fd >= 0) {
                if (poll(p, ELEMENTSOF(p), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "Failed to wait for the job's output: %m");
                }
                for (size_t i = 0; i < ELEMENTSOF(p); i++) {
                        ssize_t n;

                        if (p[i].fd < 0 || p[i].revents == 0)
                                continue;
                        n = read(p[i].fd, buf, sizeof(buf));
                        if (n < 0) {
                                if (errno == EINTR || errno == EAGAIN)
                                        continue;
                                return log_error_errno(errno, "Failed to read the job's output: %m");
                        }
                        if (n == 0) {
                                /* EOF: the job has ended and all of this stream is out. poll() skips
                                 * negative fds; the fd itself is closed by the cleanup. */
                                p[i].fd = -1;
                                continue;
                        }
                        r = loop_write(i == 0 ? STDOUT_FILENO : STDERR_FILENO, buf, (size_t) n);
                        if (r < 0)
                                return log_error_errno(r, "Failed to write the job's output: %m");
                }
        }
        return 0;
}

int job_signal(sd_bus *bus, const char *handle, uint32_t job_id, int sig) {
        assert(bus);
        assert(handle);

        return bus_call_manager(bus, "Signal", 0, NULL, "sui", handle, job_id, sig);
}
