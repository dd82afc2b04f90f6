/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fileio.h"
#include "parse-util.h"
#include "user-lookup.h"

#define ETC_FILE_MAX (1024U * 1024U)

void container_user_done(ContainerUser *u) {
        if (!u)
                return;
        u->home = mfree(u->home);
        u->groups = mfree(u->groups);
        u->n_groups = 0;
}

/* Splits one line into at most n ':'-separated fields (in place); returns how many there were. */
static size_t split_fields(char *line, char **fields, size_t n) {
        size_t k = 0;

        for (char *p = line; k < n;) {
                fields[k++] = p;
                p = strchr(p, ':');
                if (!p)
                        break;
                *p++ = '\0';
        }
        return k;
}

static int parse_id(const char *s, uint32_t *ret) {
        if (isempty(s) || strspn(s, "0123456789") != strlen(s))
                return -EINVAL;
        return parse_uint32(s, ret);
}

/* Calls f for each line of text (a writable copy); stops when f returns non-zero and returns that. */
static int for_each_line(const char *text, int (*f)(char *line, void *userdata), void *userdata) {
        _cleanup_free_ char *copy = strdup(text);
        char *p, *eol;

        if (!copy)
                return -ENOMEM;
        for (p = copy; p && *p; p = eol) {
                int r;

                eol = strchr(p, '\n');
                if (eol)
                        *eol++ = '\0';
                if (*p == '\0' || *p == '#')
                        continue;
                r = f(p, userdata);
                if (r != 0)
                        return r;
        }
        return 0;
}

typedef struct PasswdMatch {
        const char *name;
        bool by_uid;
        uint32_t uid;
        ContainerUser *user;
} PasswdMatch;

static int passwd_line(char *line, void *userdata) {
        PasswdMatch *m = userdata;
        char *f[7];
        uint32_t uid, gid;

        if (split_fields(line, f, 7) != 7)
                return 0; /* not an entry we could use; others may be fine */
        if (m->by_uid) {
                if (parse_id(f[2], &uid) < 0 || uid != m->uid)
                        return 0;
        } else if (!streq(f[0], m->name))
                return 0;

        if (parse_id(f[2], &uid) < 0 || parse_id(f[3], &gid) < 0 || uid == UINT32_MAX || gid == UINT32_MAX)
                return -EINVAL;
        m->user->uid = uid;
        m->user->gid = gid;
        m->user->home = strdup(f[5][0] == '/' ? f[5] : "/");
        return m->user->home ? 1 : -ENOMEM;
}

int passwd_lookup(const char *passwd, const char *name, ContainerUser *ret) {
        ContainerUser u = {};
        PasswdMatch m = { .name = name, .user = &u };
        int r;

        assert(passwd);
        assert(name);
        assert(ret);

        r = for_each_line(passwd, passwd_line, &m);
        if (r == 0 && parse_id(name, &m.uid) >= 0) {
                m.by_uid = true;
                r = for_each_line(passwd, passwd_line, &m);
        }
        if (r < 0) {
                container_user_done(&u);
                return r;
        }
        if (r == 0)
                return -ENOENT;
        *ret = u;
        return 0;
}

typedef struct GroupMatch {
        const char *name;
        size_t max;
        ContainerUser *user;
} GroupMatch;

static int group_line(char *line, void *userdata) {
        GroupMatch *m = userdata;
        ContainerUser *u = m->user;
        char *f[4], *member, *save = NULL;
        uint32_t gid;

        if (split_fields(line, f, 4) != 4 || parse_id(f[2], &gid) < 0 || gid == UINT32_MAX || gid == u->gid)
                return 0;
        for (member = strtok_r(f[3], ",", &save); member; member = strtok_r(NULL, ",", &save)) {
                gid_t *n;

                if (!streq(member, m->name))
                        continue;
                for (size_t i = 0; i < u->n_groups; i++)
                        if (u->groups[i] == gid)
                                return 0;
                if (u->n_groups >= m->max)
                        return 1;
                n = reallocarray(u->groups, u->n_groups + 1, sizeof(gid_t));
                if (!n)
                        return -ENOMEM;
                u->groups = n;
                u->groups[u->n_groups++] = gid;
                return 0;
        }
        return 0;
}

int group_lookup_members(const char *group, const char *name, size_t max, ContainerUser *u) {
        GroupMatch m = { .name = name, .max = max, .user = u };
        int r;

        assert(group);
        assert(u);

        r = for_each_line(group, group_line, &m);
        return r < 0 ? r : 0;
}

static int read_in_root(int root_fd, const char *path, char **ret) {
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        _cleanup_close_ int fd = -EBADF;
        long r;

        r = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        if (r < 0)
                return -errno;
        fd = (int) r;
        return read_full_fd(fd, ETC_FILE_MAX, ret, NULL);
}

int container_user_lookup(const char *root, const char *name, size_t max_groups, ContainerUser *ret) {
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        _cleanup_close_ int root_fd = -EBADF;
        ContainerUser u = {};
        int r;

        assert(ret);
        assert(root);
        assert(name);

        root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return -errno;
        r = read_in_root(root_fd, "etc/passwd", &passwd);
        if (r < 0)
                return r == -ENOENT ? -ENOENT : r;
        r = passwd_lookup(passwd, name, &u);
        if (r < 0)
                return r;

        r = read_in_root(root_fd, "etc/group", &group);
        if (r >= 0)
                r = group_lookup_members(group, name, max_groups, &u);
        else if (r == -ENOENT)
                r = 0;
        if (r < 0) {
                container_user_done(&u);
                return r;
        }
        *ret = u;
        return 0;
}
