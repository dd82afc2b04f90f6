/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "path-util.h"

bool path_is_absolute(const char *p) {
        return p && p[0] == '/';
}

int path_normalize(const char *path, char **ret) {
        _cleanup_free_ char *out = NULL;
        const char *p = path;
        size_t n = 0, len;

        assert(ret);

        if (!path_is_absolute(path))
                return -EINVAL;
        len = strlen(path);
        if (len > WARDEN_PATH_MAX)
                return -EINVAL;
        out = malloc(len + 1);
        if (!out)
                return -ENOMEM;

        while (*p) {
                const char *e;
                size_t l;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                e = strchrnul(p, '/');
                l = (size_t) (e - p);
                if (l == 1 && p[0] == '.') {
                        p = e;
                        continue;
                }
                if (l == 2 && p[0] == '.' && p[1] == '.')
                        return -EINVAL;
                out[n++] = '/';
                memcpy(out + n, p, l);
                n += l;
                p = e;
        }
        if (n == 0)
                out[n++] = '/';
        out[n] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

int path_is_normalized(const char *path) {
        _cleanup_free_ char *n = NULL;
        int r;

        if (!path_is_absolute(path))
                return 0;
        r = path_normalize(path, &n);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        return streq(n, path);
}

bool path_is_below_or_equal(const char *path, const char *prefix) {
        size_t n = strlen(prefix);

        assert(path);
        assert(prefix);

        if (streq(prefix, "/"))
                return true;
        return strncmp(path, prefix, n) == 0 && IN_SET(path[n], '\0', '/');
}
