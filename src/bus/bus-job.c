/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The D-Bus side of jobs: polkit, the arguments, the replies. The jobs themselves are
 * src/core/job-runtime.c's.
 */

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "bus-calls.h"
#include "bus-error.h"
#include "bus-job.h"
#include "bus-lifecycle.h"
#include "bus-polkit.h"
#include "bus-read.h"
#include "bus-state.h"
#include "bus-util.h"
#include "bus-warden-error.h"
#include "job-runtime.h"
#include "log.h"
#include "path-util.h"
#include "rlimit-util.h"
#include "stdio-relay.h"
#include "strv.h"

void bus_job_exited(Container *c, const Job *j) {
        Manager *m;

        assert(c);
        assert(j);

        m = c->manager;
        if (!m || !manager_bus(m))
                return;
        (void) sd_bus_emit_signal(
                manager_bus(m),
                WARDEN_MANAGER_PATH,
                WARDEN_MANAGER_INTERFACE,
                "JobExited",
                "sui",
                c->handle,
                j->id,
                (int32_t) j->exit_status);
}

int bus_job_append_ids(sd_bus_message *reply, const Container *c) {
        int r;

        assert(reply);
        assert(c);

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

static int append_info(sd_bus_message *reply, const Job *j) {
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

/* ---- Spawn options ----------------------------------------------------------------------------------- */

static const BusOptionSpec spawn_option_specs[] = {
        { "user", "s" },        { "privileged", "b" }, { "env", "as" },     { "dir", "s" },
        { "rlimits", "a{st}" }, { "tty", "b" },        { "tty_rows", "q" }, { "tty_cols", "q" },
        { "stdin", "h" },       { "stdout", "h" },     { "stderr", "h" },   { "discard_output", "b" },
};
_Static_assert(ELEMENTSOF(spawn_option_specs) <= 32, "read_spawn_options() keeps a uint32_t of them");

static int read_rlimits(sd_bus_message *m, JobSpawnParams *o, sd_bus_error *error) {
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
                                error, SD_BUS_ERROR_INVALID_ARGS, "Option 'rlimits': too many entries.");
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
        JobSpawnParams *o = userdata;
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

static int read_spawn_options(sd_bus_message *m, JobSpawnParams *o, sd_bus_error *error) {
        int r;

        r = bus_message_read_strv_max(m, WSHD_ARGV_MAX, &o->argv);
        if (r == -E2BIG)
                return sd_bus_error_setf(
                        error, SD_BUS_ERROR_INVALID_ARGS, "argv has more than %u entries.", WSHD_ARGV_MAX);
        if (r < 0)
                return r;

        return bus_message_read_options(
                m, NULL, spawn_option_specs, ELEMENTSOF(spawn_option_specs), read_spawn_option, o, error);
}

/* No host object reaches a job (stdio-relay.h): without a tty, the job gets the caller's descriptors
 * themselves, so only anonymous pipes are taken. With a tty, wshd relays between the pty and them and the
 * job sees only the pty: anything but a directory or an O_PATH descriptor will do. */
static int check_caller_fds(const JobSpawnParams *o, sd_bus_error *error) {
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

static int check_spawn_options(JobSpawnParams *o, sd_bus_error *error) {
        if (strv_length(o->argv) == 0 || isempty(o->argv[0]))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "argv must name a program.");
        if (strv_length(o->argv) > WSHD_ARGV_MAX)
                return sd_bus_error_setf(
                        error, SD_BUS_ERROR_INVALID_ARGS, "argv has more than %u entries.", WSHD_ARGV_MAX);
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
                        error, SD_BUS_ERROR_INVALID_ARGS, "Options 'tty_rows' and 'tty_cols' need 'tty'.");
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

/* ---- replies ------------------------------------------------------------------------------------------ */

/* An error of a job's callback to the caller of 'm'. wshd's refusal to start a job is
 * org.freedesktop.DBus.Error.Failed (as it always was), not named after its errno. */
static void reply_job_error(sd_bus_message *m, const Job *j, const WardenError *e) {
        if (e->kind == WARDEN_ERROR_KIND_FAILED && j && j->state == JOB_STARTING)
                (void) sd_bus_reply_method_errorf(m, SD_BUS_ERROR_FAILED, "%s", strna(e->message));
        else
                (void) bus_reply_warden_error(m, e);
}

/* Link and Run: the call held in 'userdata' (bus_call_hold()) gets the job's end. */
static void job_done(Container *c, const Job *j, const JobOutputs *o, const WardenError *e, void *userdata) {
        sd_bus_message *m = userdata;
        int r;

        if (job_runtime_cancelled(e)) {
                bus_call_release(c->manager, m);
                return;
        }
        if (!e) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

                r = sd_bus_message_new_method_return(m, &reply);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "i", (int32_t) j->exit_status);
                if (r >= 0)
                        r = sd_bus_message_append_array(reply, 'y', o->out ?: "", o->out_size);
                if (r >= 0)
                        r = sd_bus_message_append_array(reply, 'y', o->err ?: "", o->err_size);
                if (r >= 0)
                        r = append_info(reply, j);
                if (r >= 0)
                        r = sd_bus_send(NULL, reply, NULL);
                if (r < 0) {
                        log_container_warning_errno(
                                c, r, "Failed to answer the link of job %u of '%s': %m", j->id, c->handle);
                        (void) sd_bus_reply_method_errnof(
                                m, -r, "Failed to read the output of job %u: %m", j->id);
                }
        } else {
                if (e->kind == WARDEN_ERROR_KIND_FAILED && j && j->state == JOB_EXITED)
                        log_container_warning_errno(
                                c,
                                e->error,
                                "Failed to answer the link of job %u of '%s': %m",
                                j->id,
                                c->handle);
                reply_job_error(m, j, e);
        }
        bus_call_release(c->manager, m);
}

/* Spawn: the call held in 'userdata' gets the job's id once wshd started it. */
static void job_spawned(Container *c, const Job *j, const WardenError *e, void *userdata) {
        sd_bus_message *m = userdata;

        if (!e)
                (void) sd_bus_reply_method_return(m, "u", j->id);
        else if (!job_runtime_cancelled(e))
                reply_job_error(m, j, e);
        bus_call_release(c->manager, m);
}

/* Signal and ResizeTty. */
static void job_request_done(Container *c, const WardenError *e, void *userdata) {
        sd_bus_message *m = userdata;

        if (!e)
                (void) sd_bus_reply_method_return(m, NULL);
        else if (!job_runtime_cancelled(e))
                (void) bus_reply_warden_error(m, e);
        bus_call_release(c->manager, m);
}

/* ---- Spawn, Run ----------------------------------------------------------------------------------------
 */

static int spawn(sd_bus_message *m, Container *c, bool link, sd_bus_error *error) {
        _cleanup_(job_spawn_params_done) JobSpawnParams p = JOB_SPAWN_PARAMS_NULL;
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        int r;

        assert(m);
        assert(c);

        r = bus_verify_manage(m, c->manager, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */
        r = read_spawn_options(m, &p, error);
        if (r < 0)
                return r;
        r = check_spawn_options(&p, error);
        if (r < 0)
                return r;

        bus_call_hold(c->manager, m);
        if (link)
                r = job_runtime_run(c, &p, job_done, m, &e);
        else
                r = job_runtime_spawn(c, &p, job_spawned, m, &e);
        if (r < 0) {
                bus_call_release(c->manager, m);
                return bus_error_set_warden(error, &e);
        }
        bus_lifecycle_reference(c, m);
        return 1;
}

int bus_job_method_spawn(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return spawn(m, userdata, false, error);
}

int bus_job_method_run(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return spawn(m, userdata, true, error);
}

/* ---- Link, Stream, Signal, ResizeTty ------------------------------------------------------------------ */

/* The start of every method on a job: the caller's authorisation, then the job. 1 with *ret set; 0 while
 * polkit is asked (the handler returns 1: the call comes back with the answer); or an error. */
static int job_method_begin(sd_bus_message *m, Container *c, Job **ret, sd_bus_error *error) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        uint32_t id;
        int r;

        assert(m);
        assert(c);
        assert(ret);

        r = bus_verify_manage(m, c->manager, error);
        if (r <= 0)
                return r;
        r = sd_bus_message_read(m, "u", &id);
        if (r < 0)
                return r;
        r = job_runtime_find(c, id, ret, &e);
        if (r < 0)
                return bus_error_set_warden(error, &e);
        return 1;
}

int bus_job_method_link(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        Job *j;
        int r;

        r = job_method_begin(m, c, &j, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        bus_call_hold(c->manager, m);
        r = job_runtime_link(c, j, job_done, m); /* may answer right away */
        if (r < 0) {
                bus_call_release(c->manager, m);
                return r;
        }
        bus_lifecycle_reference(c, m);
        return 1;
}

int bus_job_method_stream(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        _cleanup_close_ int out = -EBADF, err = -EBADF;
        Container *c = userdata;
        Job *j;
        int r;

        r = job_method_begin(m, c, &j, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = job_runtime_stream(c, j, &out, &err, &e);
        if (r < 0)
                return bus_error_set_warden(error, &e);
        bus_lifecycle_reference(c, m);
        return sd_bus_reply_method_return(m, "hh", out, err);
}

int bus_job_method_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        Container *c = userdata;
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
        bus_call_hold(c->manager, m);
        r = job_runtime_signal(c, j, sig, job_request_done, m, &e);
        if (r < 0) {
                bus_call_release(c->manager, m);
                return bus_error_set_warden(error, &e);
        }
        bus_lifecycle_reference(c, m);
        return 1;
}

int bus_job_method_resize_tty(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        Container *c = userdata;
        uint16_t rows, cols;
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
        bus_call_hold(c->manager, m);
        r = job_runtime_resize_tty(c, j, rows, cols, job_request_done, m, &e);
        if (r < 0) {
                bus_call_release(c->manager, m);
                return bus_error_set_warden(error, &e);
        }
        bus_lifecycle_reference(c, m);
        return 1;
}
