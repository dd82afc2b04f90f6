/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The job runtime: jobs (src/core/job.h has the records) started in a container through its wshd, and the
 * per-container machinery behind them. No sd-bus here: the verbs take a done callback and report a
 * WardenError (warden-error.h); src/bus/bus-job.c reads the arguments, asks polkit and replies.
 *
 *   - one WATCH connection to the container's wshd reports every exit; an exit is written to the job's
 *     record before wshd is told to forget it (RELEASE), so no exit is lost across a wardend restart;
 *   - captured output goes from the job straight into files of the jobs directory; wardend only reads them
 *     (Link, Stream) and watches their size with inotify to enforce job_output_limit;
 *   - Link and Run wait asynchronously: each waiter is a done callback, and every waiter of a job gets the
 *     same answer, then the job is gone;
 *   - what the front end must hear of goes through the Manager's events (manager.h): container_changed(c,
 *     "Jobs") when the list of jobs changes, job_exited(c, j) when a job ends.
 *
 * Callbacks. Each verb that takes one calls it exactly once, unless the verb itself fails (then never): with
 * error NULL on success, or the error. When the container's runtime is freed without a teardown (wardend
 * exits; the jobs go on), the callbacks still pending get a cancellation (job_runtime_cancelled()): no
 * answer is due then, the front end only lets go of what it holds. A callback must not free the container.
 */

#include <stdbool.h>
#include <stdint.h>

#include "container.h"
#include "job.h"
#include "warden-error.h"
#include "wshd-proto.h"

typedef struct JobRuntime JobRuntime;

/* What a caller asks of a new job (Spawn, Run); the front end has checked the arguments as such. */
typedef struct JobSpawnParams {
        char **argv;
        char **env; /* KEY=VALUE, over the container's and the defaults */
        const char *user;
        bool privileged;
        const char *dir; /* absolute and normalised; NULL: the user's home */
        WshdRlimit rlimits[WSHD_RLIMITS_MAX];
        size_t n_rlimits;
        bool tty;
        uint16_t tty_rows; /* 0: the default (24 × 80) */
        uint16_t tty_cols;
        int fds[3]; /* stdin, stdout, stderr of the caller (owned), -EBADF if not given */
        bool discard_output;
} JobSpawnParams;

#define JOB_SPAWN_PARAMS_NULL ((JobSpawnParams){ .fds = { -EBADF, -EBADF, -EBADF } })

/* Frees argv and env and closes the fds. */
void job_spawn_params_done(JobSpawnParams *p);

/* The captured output of an exited job, at most job_output_limit bytes of both together. */
typedef struct JobOutputs {
        const void *out;
        size_t out_size;
        const void *err;
        size_t err_size;
} JobOutputs;

/*
 * A Link or Run answered. Success: error NULL, j exited (j->exit_status, j->events) and 'outputs' its
 * output; both are valid during the call only (the job is discarded right after). Errors:
 *   - wshd refused to start the job: j is still JOB_STARTING; POOL_EXHAUSTED (too many jobs), or FAILED
 *     with wshd's errno ("wshd of 'x' could not start the job: …");
 *   - FAILED: the output could not be read ("Failed to read the output of job N: …");
 *   - INVALID_STATE: the container was destroyed while the job ran;
 *   - a cancellation (job_runtime_cancelled()).
 * j may be NULL with an error.
 */
typedef void (*job_done_t)(
        Container *c, const Job *j, const JobOutputs *outputs, const WardenError *error, void *userdata);
/* A Spawn answered: wshd started j (error NULL), or the errors of a job_done_t but the output's. */
typedef void (*job_spawned_t)(Container *c, const Job *j, const WardenError *error, void *userdata);
/* A Signal or ResizeTty answered: error NULL once wshd did it; INVALID_STATE if the job has exited or has no
 * terminal; FAILED with wshd's errno; INVALID_STATE: the container is being destroyed; a cancellation. */
typedef void (*job_request_done_t)(Container *c, const WardenError *error, void *userdata);

/* The error a pending callback gets when the runtime goes away without a teardown (FAILED, -ECANCELED). */
bool job_runtime_cancelled(const WardenError *e) _pure_;

/* A container became active: set up its jobs directory (leftover records removed) and start watching. Logs;
 * negative errno if it cannot. A no-op if it is set up already. */
int job_runtime_container_start(Container *c);
/* A re-adopted container: load its jobs from the records directory (and the depot, where an older wardend
 * kept them) and watch them; the exits that happened meanwhile come with the WATCH reply. Logs. */
int job_runtime_container_adopt(Container *c);
/* The container is going away: its records are removed, every waiter and request gets INVALID_STATE, every
 * stream ends, the watch is closed. */
void job_runtime_container_teardown(Container *c);
/* Frees c's runtime (container_free() calls it): pending callbacks are cancelled; records stay. */
void job_runtime_free(Container *c);

/*
 * Starts a job. 0 with the request sent to wshd, or a negative errno with *reterr set and nothing left
 * behind (no callback then):
 *   INVALID_STATE   the container is not active, cannot run jobs, or has no user of its own;
 *   POOL_EXHAUSTED  max_jobs_per_container jobs are there already;
 *   INVALID_ARGS    no such user in the container, argv and env too large for wshd;
 *   NO_SPACE        the depot is full (the output files);
 *   FAILED          anything else (errno and message say what).
 * job_runtime_spawn() answers once wshd started it (or not); job_runtime_run() once it has ended, as a
 * Link. The container's list of jobs changes at once (container_changed).
 */
int job_runtime_spawn(
        Container *c, const JobSpawnParams *p, job_spawned_t done, void *userdata, WardenError *reterr);
int job_runtime_run(
        Container *c, const JobSpawnParams *p, job_done_t done, void *userdata, WardenError *reterr);

/* The job 'id' of c, for the verbs below. -ESRCH (NO_SUCH_JOB) if there is none (or it was linked). */
int job_runtime_find(Container *c, uint32_t id, Job **ret, WardenError *reterr);

/* Waits for j's end (done may run before this returns, if j has ended already). -ENOMEM. */
int job_runtime_link(Container *c, Job *j, job_done_t done, void *userdata);

/* Two pipes (read ends, for the caller) that replay j's captured stdout and stderr from their start and
 * follow them until j ends (an output that was not captured just ends with j). FAILED on error. */
int job_runtime_stream(Container *c, Job *j, int *ret_stdout, int *ret_stderr, WardenError *reterr);

/* A signal (1..SIGRTMAX) to j's process group, a new size of j's terminal (rows, cols > 0).
 * INVALID_STATE if j is not running (or, for the size, has no terminal); FAILED if wshd cannot be reached.
 */
int job_runtime_signal(
        Container *c, Job *j, int sig, job_request_done_t done, void *userdata, WardenError *reterr);
int job_runtime_resize_tty(
        Container *c,
        Job *j,
        uint16_t rows,
        uint16_t cols,
        job_request_done_t done,
        void *userdata,
        WardenError *reterr);
