/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host-path.h"
#include "macro.h"
#include "path-util.h"
#include "strv.h"

#define RULE_KERNEL "the kernel's interfaces and the host's devices"
#define RULE_DAEMONS "host daemons' sockets and state"
#define RULE_STATE "wardend's state and depot"

static const struct {
        const char *tree;
        const char *rule;
        bool whole; /* only the tree itself and what contains it; what is below is left to the other rules */
} never_mounted[] = {
        { "/proc", RULE_KERNEL, false },         { "/sys", RULE_KERNEL, false },
        { "/dev", RULE_KERNEL, false },          { "/run/dbus", RULE_DAEMONS, false },
        { "/run/systemd", RULE_DAEMONS, false }, { "/run/warden", RULE_STATE, false },
        { "/run", RULE_DAEMONS, true },
};

static int refuse(HostPathRefusal *ret, const char *tree, const char *rule, bool contains) {
        if (ret)
                *ret = (HostPathRefusal){ .tree = tree, .rule = rule, .contains = contains };
        return -EPERM;
}

int host_path_check_mountable(const char *path, char *const *state_trees, HostPathRefusal *ret) {
        int r;

        r = path_is_normalized(path);
        if (r < 0)
                return r;
        if (r == 0)
                return -EINVAL;

        for (size_t i = 0; i < ELEMENTSOF(never_mounted); i++) {
                const char *t = never_mounted[i].tree;

                if (path_is_below_or_equal(t, path))
                        return refuse(ret, t, never_mounted[i].rule, !streq(t, path));
                if (!never_mounted[i].whole && path_is_below_or_equal(path, t))
                        return refuse(ret, t, never_mounted[i].rule, false);
        }
        for (char *const *t = state_trees; t && *t; t++) {
                if (path_is_below_or_equal(*t, path))
                        return refuse(ret, *t, RULE_STATE, !streq(*t, path));
                if (path_is_below_or_equal(path, *t))
                        return refuse(ret, *t, RULE_STATE, false);
        }
        return 0;
}

bool host_path_in_dirs(const char *path, char *const *dirs) {
        assert(path);

        for (char *const *d = dirs; d && *d; d++)
                if (path_is_below_or_equal(path, *d))
                        return true;
        return false;
}

int host_path_resolve_dirs(char *const *dirs, const char *extra, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = strv_length(dirs);
        int r;

        assert(ret);

        for (size_t i = 0; i <= n; i++) {
                const char *d = i < n ? dirs[i] : extra;
                char *real;

                if (!d)
                        continue;
                real = realpath(d, NULL);
                if (!real)
                        continue;
                r = strv_consume(&l, real);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int host_path_of_fd(int fd, char **ret) {
        char proc[64], buf[PATH_MAX + 1];
        ssize_t n;
        char *s;

        assert(ret);

        (void) snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fd);
        n = readlink(proc, buf, sizeof(buf));
        if (n < 0)
                return -errno;
        if ((size_t) n >= sizeof(buf))
                return -ENAMETOOLONG;
        buf[n] = '\0';
        /* deleted ("... (deleted)"), or outside our root (not starting with '/'): no path to check */
        if (buf[0] != '/' || (n >= 10 && streq(buf + n - 10, " (deleted)")))
                return -ESTALE;
        s = strdup(buf);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int host_path_open(const char *path, int flags, char **ret_resolved) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!path_is_absolute(path))
                return -EINVAL;
        fd = open(path, O_PATH | O_CLOEXEC | flags);
        if (fd < 0)
                return -errno;
        if (ret_resolved) {
                r = host_path_of_fd(fd, ret_resolved);
                if (r < 0)
                        return r;
        }
        return TAKE_FD(fd);
}
