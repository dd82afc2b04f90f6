/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The parsers of what the kernel's cgroup files say, each checked against what it promises:
 *   - cg_view_parse() (wshd's /proc/self/cgroup): cgroup2 alone or a list of hierarchies, never both; every
 *     hierarchy a NUL-terminated controller list of [a-z0-9_,=] that is a line's list in the input (or "",
 *     the cgroup2 line's), at most CG_VIEW_MAX of them; only the documented errors;
 *   - cg_keyed_get_uint64() (memory.events, memory.oom_control, cpu.stat) and cg_parse_cpu_stat_usage(): a
 *     value found is the key's line's number, usage_usec × 1000 without overflow;
 *   - cg_parse_limit() and cg_parse_counter(): a number prints back to the text (trailing whitespace off);
 *     "max" is a limit, never a counter.
 * The input is one C string (up to its first NUL).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-util.h"
#include "log.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_view(const char *s) {
        CgroupView v;
        int r;

        memset(&v, 0xaa, sizeof(v));
        r = cg_view_parse(s, &v);
        if (r < 0) {
                if (!IN_SET(r, -EINVAL, -ENOENT, -E2BIG))
                        abort();
                return;
        }
        if (v.n_hierarchies > CG_VIEW_MAX || (v.unified && v.n_hierarchies > 0))
                abort();
        for (size_t i = 0; i < v.n_hierarchies; i++) {
                const char *h = v.hierarchies[i];
                char needle[CG_CONTROLLERS_MAX + 4];
                size_t n = strnlen(h, CG_CONTROLLERS_MAX);

                if (n >= CG_CONTROLLERS_MAX || strspn(h, "abcdefghijklmnopqrstuvwxyz0123456789_,=") != n)
                        abort();
                /* ":<list>:" is in the input: a line's list, not something made up */
                (void) snprintf(needle, sizeof(needle), ":%s:", h);
                if (!strstr(s, needle))
                        abort();
        }
}

/* The number after "key " on the first line that starts with it, by a second reading of the text. */
static bool keyed_value(const char *s, const char *key, uint64_t *ret) {
        size_t klen = strlen(key);

        for (const char *p = s; p;) {
                if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
                        char *end = NULL;

                        if (p[klen + 1] < '0' || p[klen + 1] > '9')
                                return false;
                        errno = 0;
                        *ret = strtoull(p + klen + 1, &end, 10);
                        return errno == 0 && (*end == '\n' || *end == '\0');
                }
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return false;
}

static void check_keyed(const char *s) {
        uint64_t v = 0, w = 0;
        int r;

        r = cg_keyed_get_uint64(s, "oom_kill", &v);
        if (r >= 0 && (!keyed_value(s, "oom_kill", &w) || v != w))
                abort();
        if (r < 0 && !IN_SET(r, -ENOENT, -EINVAL, -ENOMEM))
                abort();
        r = cg_parse_cpu_stat_usage(s, &v);
        if (r >= 0 && (!keyed_value(s, "usage_usec", &w) || w > UINT64_MAX / 1000 || v != w * 1000))
                abort();
        if (r < 0 && !IN_SET(r, -ENOENT, -EINVAL, -ERANGE, -ENOMEM))
                abort();
}

/* v printed is the first n bytes of s, but for leading zeros (which the kernel never writes) */
static bool prints_as(uint64_t v, const char *s, size_t n) {
        char buf[32];

        while (n > 1 && s[0] == '0') {
                s++;
                n--;
        }
        (void) snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return strlen(buf) == n && strncmp(buf, s, n) == 0;
}

static void check_numbers(const char *s) {
        size_t n = strlen(s);
        uint64_t v;
        int r;

        while (n > 0 && strchr(" \t\n", s[n - 1]))
                n--;
        r = cg_parse_limit(s, &v);
        if (r >= 0 && !(v == UINT64_MAX && n == 3 && strncmp(s, "max", 3) == 0) && !prints_as(v, s, n))
                abort();
        r = cg_parse_counter(s, &v);
        if (r >= 0 && !prints_as(v, s, n))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL;

        s = strndup((const char *) data, size);
        if (!s)
                return 0;
        log_set_max_level(LOG_CRIT);

        check_view(s);
        check_keyed(s);
        check_numbers(s);
        return 0;
}
