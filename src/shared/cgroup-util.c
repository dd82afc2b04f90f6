/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-util.h"
#include "fileio.h"
#include "macro.h"
#include "parse-util.h"

int cg_pid_get_path(pid_t pid, const char *controller, char **ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        char *line, *p;
        int r;

        if (asprintf(&path, "/proc/%i/cgroup", (int) pid) < 0)
                return -ENOMEM;
        r = read_full_file(path, 64 * 1024, &text, NULL);
        if (r < 0)
                return r == -ENOMEM ? r : -ENOENT;

        /* lines: ID:CONTROLLERS:PATH */
        for (p = text; (line = strsep(&p, "\n"));) {
                char *controllers = strchr(line, ':'), *cgroup;

                if (!controllers || !(cgroup = strchr(controllers + 1, ':')))
                        continue;
                *cgroup++ = '\0';
                if (!streq(controllers + 1, controller))
                        continue;
                *ret = strdup(cgroup);
                return *ret ? 0 : -ENOMEM;
        }
        return -ENOENT;
}

static const char *strip_trailing(const char *text, char **buf) {
        size_t n = strlen(text);

        while (n > 0 && strchr(" \t\n", text[n - 1]))
                n--;
        *buf = strndup(text, n);
        return *buf;
}

int cg_keyed_get_uint64(const char *text, const char *key, uint64_t *ret) {
        size_t klen = strlen(key);

        assert(key);
        assert(ret);

        for (const char *p = text; p && *p;) {
                const char *eol = strchrnul(p, '\n');

                if ((size_t) (eol - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == ' ') {
                        _cleanup_free_ char *value = strndup(p + klen + 1, (size_t) (eol - p) - klen - 1);

                        if (!value)
                                return -ENOMEM;
                        return parse_uint64(value, ret) < 0 ? -EINVAL : 0;
                }
                p = *eol ? eol + 1 : NULL;
        }
        return -ENOENT;
}

int cg_parse_limit(const char *text, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;

        assert(ret);

        if (!strip_trailing(text, &s))
                return -ENOMEM;
        if (streq(s, "max")) {
                *ret = UINT64_MAX;
                return 0;
        }
        return parse_uint64(s, ret) < 0 ? -EINVAL : 0;
}

int cg_parse_counter(const char *text, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;

        assert(ret);

        if (!strip_trailing(text, &s))
                return -ENOMEM;
        return parse_uint64(s, ret) < 0 ? -EINVAL : 0;
}

int cg_parse_cpu_stat_usage(const char *text, uint64_t *ret_ns) {
        uint64_t usec;
        int r;

        assert(ret_ns);

        r = cg_keyed_get_uint64(text, "usage_usec", &usec);
        if (r < 0)
                return r;
        if (usec > UINT64_MAX / 1000)
                return -ERANGE;
        *ret_ns = usec * 1000;
        return 0;
}

/* One line of /proc/PID/cgroup: "ID:CONTROLLERS:PATH" (the path may itself contain ':'). */
typedef struct CgroupLine {
        bool v2; /* ID 0 */
        const char *controllers, *path;
        size_t n_controllers, n_path;
} CgroupLine;

static int cgroup_line_parse(const char *line, size_t n, CgroupLine *ret) {
        const char *c1 = memchr(line, ':', n), *c2;
        size_t n_id;

        if (!c1)
                return -EINVAL;
        c2 = memchr(c1 + 1, ':', n - (size_t) (c1 + 1 - line));
        if (!c2)
                return -EINVAL;
        n_id = (size_t) (c1 - line);
        if (n_id == 0 || n_id > 10 || strspn(line, "0123456789") < n_id)
                return -EINVAL;
        *ret = (CgroupLine){
                .v2 = n_id == 1 && line[0] == '0',
                .controllers = c1 + 1,
                .n_controllers = (size_t) (c2 - c1 - 1),
                .path = c2 + 1,
                .n_path = n - (size_t) (c2 + 1 - line),
        };
        /* cgroup2 has no controller list, a v1 hierarchy always has one */
        if (ret->v2 != (ret->n_controllers == 0))
                return -EINVAL;
        for (size_t i = 0; i < ret->n_controllers; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_,=", ret->controllers[i]) ||
                    ret->controllers[i] == '\0')
                        return -EINVAL;
        if (ret->n_path == 0 || ret->path[0] != '/' || memchr(ret->path, '\0', ret->n_path))
                return -EINVAL;
        return 0;
}

/* Is 'name' one of the comma-separated entries of the controller list? */
static bool controllers_have(const CgroupLine *l, const char *name) {
        size_t n = strlen(name);

        for (const char *p = l->controllers, *end = l->controllers + l->n_controllers; p < end;) {
                const char *comma = memchr(p, ',', (size_t) (end - p));
                size_t len = (size_t) ((comma ? comma : end) - p);

                if (len == n && strncmp(p, name, n) == 0)
                        return true;
                p += len + 1;
        }
        return false;
}

static bool controllers_have_any(const CgroupLine *l) {
        return controllers_have(l, "memory") || controllers_have(l, "cpu") ||
               controllers_have(l, "cpuacct") || controllers_have(l, "pids");
}

/* The non-empty lines of /proc/PID/cgroup; the first malformed one fails it all. */
static int cgroup_lines_parse(const char *text, CgroupLine *lines, size_t max, size_t *ret_n) {
        size_t n = 0;
        int r;

        for (const char *p = text; *p;) {
                const char *eol = strchrnul(p, '\n');

                if (eol > p) {
                        if (n >= max)
                                return -E2BIG;
                        r = cgroup_line_parse(p, (size_t) (eol - p), &lines[n++]);
                        if (r < 0)
                                return r;
                }
                p = *eol ? eol + 1 : eol;
        }
        *ret_n = n;
        return 0;
}

static bool same_path(const CgroupLine *a, const CgroupLine *b) {
        return a->n_path == b->n_path && memcmp(a->path, b->path, a->n_path) == 0;
}

/* The kernel has at most 16 v1 hierarchies (CGROUP_SUBSYS_COUNT plus named ones stay well below). */
#define CGROUP_LINES_MAX 32

int cg_view_parse(const char *proc_cgroup, CgroupView *ret) {
        CgroupLine lines[CGROUP_LINES_MAX];
        const CgroupLine *unit = NULL, *v2 = NULL;
        CgroupView v = {};
        bool memory_v1 = false;
        size_t n;
        int r;

        assert(ret);

        r = cgroup_lines_parse(proc_cgroup, lines, ELEMENTSOF(lines), &n);
        if (r < 0)
                return r;
        FOREACH_ARRAY(l, lines, n) {
                if (l->v2) {
                        if (v2)
                                return -EINVAL;
                        v2 = l;
                        continue;
                }
                if (controllers_have(l, "name=systemd")) {
                        if (unit)
                                return -EINVAL;
                        unit = l;
                }
                memory_v1 = memory_v1 || controllers_have(l, "memory");
        }
        if (!unit)
                unit = v2;
        if (!unit)
                return -ENOENT;

        if (!memory_v1) {
                v.unified = v2 && same_path(v2, unit);
                *ret = v;
                return 0;
        }
        FOREACH_ARRAY(l, lines, n) {
                if (!same_path(l, unit) || (!l->v2 && !controllers_have_any(l)))
                        continue;
                if (v.n_hierarchies >= CG_VIEW_MAX || l->n_controllers >= CG_CONTROLLERS_MAX)
                        return -E2BIG;
                memcpy(v.hierarchies[v.n_hierarchies], l->controllers, l->n_controllers);
                v.hierarchies[v.n_hierarchies++][l->n_controllers] = '\0';
        }
        *ret = v;
        return 0;
}
