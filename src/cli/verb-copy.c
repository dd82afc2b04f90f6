/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus-client.h"
#include "log.h"
#include "macro.h"
#include "verb-copy.h"

int path_make_absolute_cwd(const char *path, char **ret) {
        _cleanup_free_ char *cwd = NULL;
        char *p;

        if (path[0] == '/')
                p = strdup(path);
        else {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return negative_errno();
                /* The host paths are wardend's to open: it does not share our working directory. */
                if (asprintf(&p, "%s%s%s", cwd, streq(cwd, "/") ? "" : "/", path) < 0)
                        p = NULL;
        }
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int copy_in(sd_bus *bus, const char *handle, const char *src, const char *dst) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = path_make_absolute_cwd(src, &path);
        if (r < 0)
                return log_error_errno(r, "Failed to make '%s' an absolute path: %m", src);
        return bus_call_manager(bus, "CopyIn", 0, NULL, "sss", handle, path, dst);
}

int copy_out(sd_bus *bus, const char *handle, const char *src, const char *dst, const char *owner) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = path_make_absolute_cwd(dst, &path);
        if (r < 0)
                return log_error_errno(r, "Failed to make '%s' an absolute path: %m", dst);
        return bus_call_manager(bus, "CopyOut", 0, NULL, "ssss", handle, src, path, strempty(owner));
}
