/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A job: one process started in a container through wshd (Spawn/Run), as wardend records it. Job ids are
 * per container, start at 1 and are never reused while the container lives.
 *
 * On disk (both directories go with the container):
 *     <state_dir>/jobs/<handle>/<id>.state
 *                    the record: the job as KEY=VALUE lines (job_serialize()), written atomically when it
 *                    starts and when it ends, so that a restarted wardend knows every job and every
 *                    recorded exit. In wardend's state directory (a tmpfs, see manager.h), not in the
 *                    depot: a container that fills the depot cannot keep jobs from being recorded.
 *     <depot>/<handle>/jobs/<id>.stdout
 *     <depot>/<handle>/jobs/<id>.stderr
 *                    the captured output, written by the job itself through the descriptor wardend passed
 *                    (absent when the caller gave its own descriptors or asked to discard the output)
 * An older wardend kept the record beside the output, in the depot: such records are moved at re-adoption.
 * The process is a child of wshd, not of wardend: it outlives a wardend restart, and wshd keeps its exit
 * status until wardend has recorded it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

typedef enum JobState {
        JOB_STARTING, /* SPAWN sent, not answered yet */
        JOB_RUNNING,
        JOB_EXITED,
        _JOB_STATE_MAX,
        _JOB_STATE_INVALID = -EINVAL,
} JobState;

/* Where the job's stdout/stderr go. */
typedef enum JobOutput {
        JOB_OUTPUT_CAPTURED, /* files in the depot's jobs directory */
        JOB_OUTPUT_CALLER,   /* the caller's own descriptors (at least one of stdout/stderr) */
        JOB_OUTPUT_DISCARD,
        _JOB_OUTPUT_MAX,
        _JOB_OUTPUT_INVALID = -EINVAL,
} JobOutput;

#define JOB_EVENT_OUTPUT_EXCEEDED "command exceeded maximum output"
#define JOB_EVENT_LOST "job lost: wshd does not know it"

typedef struct Job {
        uint32_t id;
        JobState state;
        JobOutput output;
        bool tty;
        pid_t pid;       /* in the container's PID namespace; 0 until known */
        int exit_status; /* when JOB_EXITED: the code, 128+signal, or 255 (output limit, lost) */
        bool output_exceeded;
        char **events;         /* e.g. JOB_EVENT_OUTPUT_EXCEEDED */
        uint64_t started_usec; /* CLOCK_REALTIME */
        uint64_t exited_usec;

        /* Runtime only (src/core/job-runtime.c): the waiters, the output's descriptors, … */
        struct JobLive *live;
} Job;

typedef struct JobLive JobLive;

const char *job_state_to_string(JobState s) _pure_;
JobState job_state_from_string(const char *s) _pure_;
const char *job_output_to_string(JobOutput o) _pure_;
JobOutput job_output_from_string(const char *s) _pure_;

int job_new(uint32_t id, Job **ret);
/* Frees the record; the runtime part must have been released by job-runtime.c. */
Job *job_free(Job *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(Job *, job_free);

/* -ENOMEM. */
int job_add_event(Job *j, const char *event);
/* The shell's convention for a waitpid() status: the exit code, or 128 + the signal that ended it. */
int job_exit_status_from_wait(uint32_t wait_status) _pure_;

int job_serialize(const Job *j, char **ret);
/* -EINVAL: malformed, unknown version, or missing ID/STATE; -ENOMEM. Unknown keys are ignored. */
int job_deserialize(const char *text, Job **ret);

/* Names of the files of job 'id': "<id>.state" (the record), "<id>.stdout", "<id>.stderr" (the output). */
#define JOB_FILE_NAME_MAX (10 + 8 + 1)
void job_file_name(uint32_t id, const char *suffix, char buf[static JOB_FILE_NAME_MAX]);
/* Parses "<id>.state" (as found in a records directory); -EINVAL for any other name. */
int job_parse_state_file_name(const char *name, uint32_t *ret_id);
