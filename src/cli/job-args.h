/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The options of a process that wardenctl starts (run, spawn, shell) and the Spawn options a{sv} they turn
 * into; parsers for job ids, signals and resource limits. Nothing here logs or talks to the bus:
 * job_options_append() only builds a message. Parsers never write *ret on failure.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

typedef enum JobRlimit {
        JOB_RLIMIT_AS,
        JOB_RLIMIT_CORE,
        JOB_RLIMIT_CPU,
        JOB_RLIMIT_DATA,
        JOB_RLIMIT_FSIZE,
        JOB_RLIMIT_LOCKS,
        JOB_RLIMIT_MEMLOCK,
        JOB_RLIMIT_MSGQUEUE,
        JOB_RLIMIT_NICE,
        JOB_RLIMIT_NOFILE,
        JOB_RLIMIT_NPROC,
        JOB_RLIMIT_RSS,
        JOB_RLIMIT_RTPRIO,
        JOB_RLIMIT_RTTIME,
        JOB_RLIMIT_SIGPENDING,
        JOB_RLIMIT_STACK,
        _JOB_RLIMIT_MAX,
        _JOB_RLIMIT_INVALID = -EINVAL,
} JobRlimit;

/* The key of the Spawn option "rlimits" a{st}: "nofile", "as", …, as the lower-case RLIMIT_* name. */
const char *job_rlimit_to_string(JobRlimit r);
JobRlimit job_rlimit_from_string(const char *s);

typedef struct JobOptions {
        const char *user; /* NULL: the container's default user */
        bool privileged;
        char **env;      /* KEY=VALUE; not owned */
        const char *dir; /* NULL: wardend's default */
        bool rlimit_set[_JOB_RLIMIT_MAX];
        uint64_t rlimit[_JOB_RLIMIT_MAX];
        bool tty;
        uint16_t tty_rows, tty_cols; /* 0: not sent (wardend's default size) */
        bool discard_output;
        int stdin_fd, stdout_fd, stderr_fd; /* < 0: not passed (stdin is /dev/null, output is captured) */
} JobOptions;

#define JOB_OPTIONS_INIT \
        { .stdin_fd = -EBADF, .stdout_fd = -EBADF, .stderr_fd = -EBADF }

/*
 * "NAME=VALUE" of --rlimit=: NAME as job_rlimit_from_string() knows it, VALUE a number (for the limits in
 * bytes, with an optional K, M, G or T suffix), or "infinity" / "unlimited" (RLIM_INFINITY, UINT64_MAX).
 * -EINVAL: malformed or an unknown NAME; -ERANGE: VALUE too large.
 */
int job_rlimit_parse(const char *s, JobRlimit *ret_resource, uint64_t *ret_value);

/*
 * A signal by name, with or without "SIG" and in any case ("TERM", "SIGTERM", "term"), "RTMIN+N" /
 * "RTMAX-N", or by number (1 to SIGRTMAX). Returns the signal number, or -EINVAL.
 */
int signal_from_string(const char *s);

/* A job id as Spawn printed it: a decimal number from 1 to 2^32-1. -EINVAL, -ERANGE. */
int job_id_parse(const char *s, uint32_t *ret);

/*
 * Appends the Spawn options a{sv} for 'o': only the options that are set, so that wardend's defaults apply
 * to the others. Returns 0 or the negative errno of sd-bus.
 */
int job_options_append(sd_bus_message *m, const JobOptions *o);
