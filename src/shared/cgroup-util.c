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

int cg_keyed_get_uint64(const char *text, const char *key, uint64_t *ret) {
        size_t klen = strlen(key);

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
        size_t n;

        n = strlen(text);
        while (n > 0 && strchr(" \t\n", text[n - 1]))
                n--;
        s = strndup(text, n);
        if (!s)
                return -ENOMEM;
        if (streq(s, "max")) {
                *ret = UINT64_MAX;
                return 0;
        }
        return parse_uint64(s, ret) < 0 ? -EINVAL : 0;
}
