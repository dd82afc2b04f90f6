/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-util.h"
#include "fileio.h"
#include "macro.h"

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
