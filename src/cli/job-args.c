/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <signal.h>
#include <string.h>
#include <strings.h>

#include "job-args.h"
#include "macro.h"
#include "parse-util.h"
#include "string-table.h"

static const char *const job_rlimit_table[_JOB_RLIMIT_MAX] = {
        [JOB_RLIMIT_AS] = "as",
        [JOB_RLIMIT_CORE] = "core",
        [JOB_RLIMIT_CPU] = "cpu",
        [JOB_RLIMIT_DATA] = "data",
        [JOB_RLIMIT_FSIZE] = "fsize",
        [JOB_RLIMIT_LOCKS] = "locks",
        [JOB_RLIMIT_MEMLOCK] = "memlock",
        [JOB_RLIMIT_MSGQUEUE] = "msgqueue",
        [JOB_RLIMIT_NICE] = "nice",
        [JOB_RLIMIT_NOFILE] = "nofile",
        [JOB_RLIMIT_NPROC] = "nproc",
        [JOB_RLIMIT_RSS] = "rss",
        [JOB_RLIMIT_RTPRIO] = "rtprio",
        [JOB_RLIMIT_RTTIME] = "rttime",
        [JOB_RLIMIT_SIGPENDING] = "sigpending",
        [JOB_RLIMIT_STACK] = "stack",
};

DEFINE_STRING_TABLE_LOOKUP(job_rlimit, JobRlimit);

/* The limits counted in bytes, which take a size suffix. */
static bool job_rlimit_is_bytes(JobRlimit r) {
        switch (r) {
        case JOB_RLIMIT_AS:
        case JOB_RLIMIT_CORE:
        case JOB_RLIMIT_DATA:
        case JOB_RLIMIT_FSIZE:
        case JOB_RLIMIT_MEMLOCK:
        case JOB_RLIMIT_MSGQUEUE:
        case JOB_RLIMIT_RSS:
        case JOB_RLIMIT_STACK:
                return true;
        default:
                return false;
        }
}

int job_rlimit_parse(const char *s, JobRlimit *ret_resource, uint64_t *ret_value) {
        char name[16];
        const char *eq;
        uint64_t value;
        JobRlimit resource;
        int r;

        assert(ret_resource);
        assert(ret_value);

        eq = s ? strchr(s, '=') : NULL;
        if (!eq || eq == s || (size_t) (eq - s) >= sizeof(name))
                return -EINVAL;
        memcpy(name, s, (size_t) (eq - s));
        name[eq - s] = '\0';
        resource = job_rlimit_from_string(name);
        if (resource < 0)
                return -EINVAL;

        if (strcmp(eq + 1, "infinity") == 0 || strcmp(eq + 1, "unlimited") == 0)
                value = UINT64_MAX;
        else {
                r = job_rlimit_is_bytes(resource) ? parse_size(eq + 1, &value)
                                                  : parse_uint64(eq + 1, &value);
                if (r < 0)
                        return r;
        }
        *ret_resource = resource;
        *ret_value = value;
        return 0;
}

/* "RTMIN", "RTMIN+N", "RTMAX", "RTMAX-N" (without "SIG"). */
static int signal_rt_from_string(const char *s) {
        uint32_t n = 0;
        int base, sign, r;

        if (strncasecmp(s, "RTMIN", 5) == 0) {
                base = SIGRTMIN;
                sign = 1;
        } else if (strncasecmp(s, "RTMAX", 5) == 0) {
                base = SIGRTMAX;
                sign = -1;
        } else
                return -EINVAL;
        s += 5;
        if (*s != '\0') {
                if (*s != (sign > 0 ? '+' : '-'))
                        return -EINVAL;
                r = parse_uint32(s + 1, &n);
                if (r < 0 || n > (uint32_t) (SIGRTMAX - SIGRTMIN))
                        return -EINVAL;
        }
        return base + sign * (int) n;
}

int signal_from_string(const char *s) {
        uint32_t n;

        if (!s || !*s)
                return -EINVAL;
        if (*s >= '0' && *s <= '9') {
                if (parse_uint32(s, &n) < 0 || n < 1 || n > (uint32_t) SIGRTMAX)
                        return -EINVAL;
                return (int) n;
        }
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (int sig = 1; sig < SIGRTMIN; sig++) {
                const char *name = sigabbrev_np(sig);

                if (name && strcasecmp(name, s) == 0)
                        return sig;
        }
        return signal_rt_from_string(s);
}

int job_id_parse(const char *s, uint32_t *ret) {
        uint32_t id;
        int r;

        assert(ret);

        r = parse_uint32(s, &id);
        if (r < 0)
                return r;
        if (id == 0)
                return -EINVAL;
        *ret = id;
        return 0;
}

static int append_fd(sd_bus_message *m, const char *key, int fd) {
        if (fd < 0)
                return 0;
        return sd_bus_message_append(m, "{sv}", key, "h", fd);
}

static int append_rlimits(sd_bus_message *m, const JobOptions *o) {
        bool any = false;
        int r;

        for (JobRlimit i = 0; i < _JOB_RLIMIT_MAX; i++)
                any = any || o->rlimit_set[i];
        if (!any)
                return 0;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "rlimits");
        if (r >= 0)
                r = sd_bus_message_open_container(m, SD_BUS_TYPE_VARIANT, "a{st}");
        if (r >= 0)
                r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{st}");
        for (JobRlimit i = 0; r >= 0 && i < _JOB_RLIMIT_MAX; i++)
                if (o->rlimit_set[i])
                        r = sd_bus_message_append(m, "{st}", job_rlimit_to_string(i), o->rlimit[i]);
        for (int level = 0; r >= 0 && level < 3; level++) /* array, variant, dict entry */
                r = sd_bus_message_close_container(m);
        return r;
}

int job_options_append(sd_bus_message *m, const JobOptions *o) {
        int r;

        assert(m);
        assert(o);

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r >= 0 && o->user)
                r = sd_bus_message_append(m, "{sv}", "user", "s", o->user);
        if (r >= 0 && o->privileged)
                r = sd_bus_message_append(m, "{sv}", "privileged", "b", 1);
        if (r >= 0 && o->env) {
                r = sd_bus_message_open_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "env");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, SD_BUS_TYPE_VARIANT, "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, o->env);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && o->dir)
                r = sd_bus_message_append(m, "{sv}", "dir", "s", o->dir);
        if (r >= 0)
                r = append_rlimits(m, o);
        if (r >= 0 && o->tty)
                r = sd_bus_message_append(m, "{sv}", "tty", "b", 1);
        if (r >= 0 && o->tty && o->tty_rows > 0 && o->tty_cols > 0)
                r = sd_bus_message_append(
                        m, "{sv}{sv}", "tty_rows", "q", o->tty_rows, "tty_cols", "q", o->tty_cols);
        if (r >= 0)
                r = append_fd(m, "stdin", o->stdin_fd);
        if (r >= 0)
                r = append_fd(m, "stdout", o->stdout_fd);
        if (r >= 0)
                r = append_fd(m, "stderr", o->stderr_fd);
        if (r >= 0 && o->discard_output)
                r = sd_bus_message_append(m, "{sv}", "discard_output", "b", 1);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r < 0 ? r : 0;
}
