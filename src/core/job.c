/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "job.h"
#include "parse-util.h"
#include "strv.h"

static const char *const job_state_table[_JOB_STATE_MAX] = {
        [JOB_STARTING] = "starting",
        [JOB_RUNNING] = "running",
        [JOB_EXITED] = "exited",
};

static const char *const job_output_table[_JOB_OUTPUT_MAX] = {
        [JOB_OUTPUT_CAPTURED] = "captured",
        [JOB_OUTPUT_CALLER] = "caller",
        [JOB_OUTPUT_DISCARD] = "discard",
};

const char *job_state_to_string(JobState s) {
        return s >= 0 && s < _JOB_STATE_MAX ? job_state_table[s] : NULL;
}

JobState job_state_from_string(const char *s) {
        for (int i = 0; s && i < _JOB_STATE_MAX; i++)
                if (streq(job_state_table[i], s))
                        return (JobState) i;
        return _JOB_STATE_INVALID;
}

const char *job_output_to_string(JobOutput o) {
        return o >= 0 && o < _JOB_OUTPUT_MAX ? job_output_table[o] : NULL;
}

JobOutput job_output_from_string(const char *s) {
        for (int i = 0; s && i < _JOB_OUTPUT_MAX; i++)
                if (streq(job_output_table[i], s))
                        return (JobOutput) i;
        return _JOB_OUTPUT_INVALID;
}

int job_new(uint32_t id, Job **ret) {
        Job *j;

        assert(id > 0);
        assert(ret);

        j = calloc(1, sizeof(Job));
        if (!j)
                return -ENOMEM;
        j->id = id;
        j->state = JOB_STARTING;
        j->output = JOB_OUTPUT_CAPTURED;
        *ret = j;
        return 0;
}

Job *job_free(Job *j) {
        if (!j)
                return NULL;
        assert(!j->live);
        strv_free(j->events);
        return mfree(j);
}

int job_add_event(Job *j, const char *event) {
        if (strv_contains(j->events, event))
                return 0;
        return strv_extend(&j->events, event);
}

int job_exit_status_from_wait(uint32_t wait_status) {
        int status = (int) wait_status;

        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 255;
}

int job_serialize(const Job *j, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        assert(j);
        assert(ret);

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        fputs("# Job state, written by wardend. Do not edit.\n", f);
        fputs("VERSION=1\n", f);
        fprintf(f, "ID=%u\n", j->id);
        fprintf(f, "STATE=%s\n", job_state_to_string(j->state));
        fprintf(f, "OUTPUT=%s\n", job_output_to_string(j->output));
        fprintf(f, "TTY=%i\n", j->tty);
        if (j->pid > 0)
                fprintf(f, "PID=%i\n", (int) j->pid);
        if (j->state == JOB_EXITED)
                fprintf(f, "EXIT_STATUS=%i\n", j->exit_status);
        if (j->output_exceeded)
                fputs("OUTPUT_EXCEEDED=1\n", f);
        fprintf(f, "STARTED=%llu\n", (unsigned long long) j->started_usec);
        if (j->exited_usec > 0)
                fprintf(f, "EXITED=%llu\n", (unsigned long long) j->exited_usec);
        /* Events are wardend's own fixed texts: no escaping needed, but never let one break a line. */
        STRV_FOREACH(e, j->events)
                if (!strchr(*e, '\n'))
                        fprintf(f, "EVENT=%s\n", *e);

        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int deserialize_line(Job *j, const char *key, const char *value, bool *have_version, bool *have_id) {
        uint32_t u;
        uint64_t t;
        int r;

        if (streq(key, "VERSION")) {
                if (!streq(value, "1"))
                        return -EINVAL;
                *have_version = true;
        } else if (streq(key, "ID")) {
                r = parse_uint32(value, &u);
                if (r < 0 || u == 0)
                        return -EINVAL;
                j->id = u;
                *have_id = true;
        } else if (streq(key, "STATE")) {
                JobState s = job_state_from_string(value);

                if (s < 0)
                        return -EINVAL;
                j->state = s;
        } else if (streq(key, "OUTPUT")) {
                JobOutput o = job_output_from_string(value);

                if (o < 0)
                        return -EINVAL;
                j->output = o;
        } else if (streq(key, "TTY")) {
                r = parse_boolean(value, &j->tty);
                if (r < 0)
                        return -EINVAL;
        } else if (streq(key, "PID")) {
                r = parse_uint32(value, &u);
                if (r < 0 || u == 0 || u > INT32_MAX)
                        return -EINVAL;
                j->pid = (pid_t) u;
        } else if (streq(key, "EXIT_STATUS")) {
                r = parse_uint32(value, &u);
                if (r < 0 || u > 255)
                        return -EINVAL;
                j->exit_status = (int) u;
        } else if (streq(key, "OUTPUT_EXCEEDED")) {
                r = parse_boolean(value, &j->output_exceeded);
                if (r < 0)
                        return -EINVAL;
        } else if (streq(key, "STARTED")) {
                r = parse_uint64(value, &t);
                if (r < 0)
                        return -EINVAL;
                j->started_usec = t;
        } else if (streq(key, "EXITED")) {
                r = parse_uint64(value, &t);
                if (r < 0)
                        return -EINVAL;
                j->exited_usec = t;
        } else if (streq(key, "EVENT")) {
                if (isempty(value))
                        return -EINVAL;
                r = job_add_event(j, value);
                if (r < 0)
                        return r;
        }
        /* else: a newer writer's key */
        return 0;
}

int job_deserialize(const char *text, Job **ret) {
        _cleanup_(job_freep) Job *j = NULL;
        bool have_version = false, have_id = false;
        int r;

        assert(text);
        assert(ret);

        j = calloc(1, sizeof(Job));
        if (!j)
                return -ENOMEM;
        j->state = _JOB_STATE_INVALID;

        for (const char *p = text; *p;) {
                const char *eol = strchrnul(p, '\n'), *eq;
                _cleanup_free_ char *key = NULL;
                _cleanup_free_ char *value = NULL;

                if (eol > p && *p != '#') {
                        eq = memchr(p, '=', (size_t) (eol - p));
                        if (!eq || eq == p)
                                return -EINVAL;
                        key = strndup(p, (size_t) (eq - p));
                        value = strndup(eq + 1, (size_t) (eol - eq - 1));
                        if (!key || !value)
                                return -ENOMEM;
                        r = deserialize_line(j, key, value, &have_version, &have_id);
                        if (r < 0)
                                return r;
                }
                p = *eol ? eol + 1 : eol;
        }

        if (!have_version || !have_id || j->state < 0)
                return -EINVAL;
        *ret = TAKE_PTR(j);
        return 0;
}

void job_file_name(uint32_t id, const char *suffix, char buf[static JOB_FILE_NAME_MAX]) {
        assert(strlen(suffix) <= 7);
        (void) snprintf(buf, JOB_FILE_NAME_MAX, "%u.%s", id, suffix);
}

int job_parse_state_file_name(const char *name, uint32_t *ret_id) {
        _cleanup_free_ char *number = NULL;
        const char *dot;
        uint32_t id;

        dot = strrchr(name, '.');
        if (!dot || !streq(dot, ".state") || dot == name)
                return -EINVAL;
        number = strndup(name, (size_t) (dot - name));
        if (!number)
                return -ENOMEM;
        /* Only the canonical form: digits, no leading zero, no sign. */
        if (number[0] == '0' || strspn(number, "0123456789") != strlen(number))
                return -EINVAL;
        if (parse_uint32(number, &id) < 0 || id == 0)
                return -EINVAL;
        *ret_id = id;
        return 0;
}
