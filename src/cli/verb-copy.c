/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-client.h"
#include "log.h"
#include "macro.h"
#include "verb-copy.h"

/* Appends "/" and the component 'c' of length 'n' to the path 'p' of length *len (buffer of PATH_MAX). */
static int path_append(char *p, size_t *len, const char *c, size_t n) {
        if (*len + 1 + n >= PATH_MAX)
                return -ENAMETOOLONG;
        if (*len == 0 || p[*len - 1] != '/')
                p[(*len)++] = '/';
        memcpy(p + *len, c, n);
        *len += n;
        p[*len] = '\0';
        return 0;
}

int path_make_absolute_cwd(const char *path, char **ret) {
        _cleanup_free_ char *full = NULL;
        char buf[PATH_MAX] = "", *last_dotdot = NULL, *p;
        const char *c, *next;
        size_t len = 0, n;
        bool contents;
        int r;

        assert(ret);

        if (isempty(path))
                return -EINVAL;
        if (path[0] == '/')
                full = strdup(path);
        else {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);

                if (!cwd)
                        return negative_errno();
                if (asprintf(&full, "%s/%s", cwd, path) < 0)
                        full = NULL;
        }
        if (!full)
                return -ENOMEM;

        /* rsync's rule, which wardend follows: "DIR/" (and so "DIR/." and ".") names DIR's contents. */
        contents = endswith(full, "/") || endswith(full, "/.");

        /* ".." is resolved by the kernel, as opening the path would: everything up to the last ".." goes
         * through realpath(), since a component before it may be a symlink. */
        for (char *d = full; (d = strstr(d, "..")); d += 2)
                if (d[-1] == '/' && (d[2] == '/' || d[2] == '\0'))
                        last_dotdot = d;
        c = full;
        if (last_dotdot) {
                char saved = last_dotdot[2];

                last_dotdot[2] = '\0';
                if (!realpath(full, buf))
                        return negative_errno();
                last_dotdot[2] = saved;
                len = strlen(buf);
                if (streq(buf, "/"))
                        len = 0;
                c = last_dotdot + 2;
        }

        /* The rest lexically: no empty or "." components. */
        for (; *c; c = next) {
                next = strchrnul(c, '/');
                n = (size_t) (next - c);
                if (*next == '/')
                        next++;
                if (n == 0 || (n == 1 && c[0] == '.'))
                        continue;
                r = path_append(buf, &len, c, n);
                if (r < 0)
                        return r;
        }
        if (len == 0 || contents) {
                if (len + 1 >= PATH_MAX)
                        return -ENAMETOOLONG;
                if (len == 0 || buf[len - 1] != '/')
                        buf[len++] = '/';
                buf[len] = '\0';
        }
        p = strdup(buf);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int copy_in(sd_bus *bus, const char *handle, const char *src, const char *dst) {
        _cleanup_free_ char *path = NULL;
        int r;

        assert(bus);
        assert(handle);

        r = path_make_absolute_cwd(src, &path);
        if (r < 0)
                return log_error_errno(r, "Failed to make '%s' an absolute path: %m", src);
        return bus_call_manager(bus, "CopyIn", 0, NULL, "sss", handle, path, dst);
}

int copy_out(sd_bus *bus, const char *handle, const char *src, const char *dst, const char *owner) {
        _cleanup_free_ char *path = NULL;
        int r;

        assert(bus);
        assert(handle);

        r = path_make_absolute_cwd(dst, &path);
        if (r < 0)
                return log_error_errno(r, "Failed to make '%s' an absolute path: %m", dst);
        return bus_call_manager(bus, "CopyOut", 0, NULL, "ssss", handle, src, path, strempty(owner));
}
