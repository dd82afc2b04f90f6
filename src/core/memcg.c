/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-util.h"
#include "fileio.h"
#include "memcg.h"

#define CGROUP_FILE_MAX 4096

void memcg_done(Memcg *m) {
        assert(m);

        m->path = mfree(m->path);
}

static bool is_dir(const char *path) {
        struct stat st;

        return stat(path, &st) >= 0 && S_ISDIR(st.st_mode);
}

static bool controllers_contain(const char *path, const char *controller) {
        _cleanup_free_ char *text = NULL;

        if (read_full_file(path, CGROUP_FILE_MAX, &text, NULL) < 0)
                return false;
        for (char *p = text, *w; (w = strsep(&p, " \n"));)
                if (streq(w, controller))
                        return true;
        return false;
}

int memcg_find(const char *root, const char *slice, const char *unit, Memcg *ret) {
        _cleanup_free_ char *hierarchy = NULL, *controllers = NULL, *path = NULL;

        assert(ret);
        assert(root);
        assert(slice);
        assert(unit);

        if (asprintf(&hierarchy, "%s/memory", root) < 0)
                return -ENOMEM;
        if (is_dir(hierarchy)) {
                if (asprintf(&path, "%s/%s/%s", hierarchy, slice, unit) < 0)
                        return -ENOMEM;
                if (!is_dir(path))
                        return -ENOENT;
                *ret = (Memcg){ .version = MEMCG_V1, .path = TAKE_PTR(path) };
                return 0;
        }

        if (asprintf(&controllers, "%s/cgroup.controllers", root) < 0)
                return -ENOMEM;
        if (!controllers_contain(controllers, "memory"))
                return -EOPNOTSUPP;
        if (asprintf(&path, "%s/%s/%s", root, slice, unit) < 0)
                return -ENOMEM;
        if (!is_dir(path))
                return -ENOENT;
        *ret = (Memcg){ .version = MEMCG_V2, .path = TAKE_PTR(path) };
        return 0;
}

static int read_cgroup_file(const Memcg *m, const char *name, char **ret) {
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "%s/%s", m->path, name) < 0)
                return -ENOMEM;
        return read_full_file(p, CGROUP_FILE_MAX, ret, NULL);
}

/* One number of the cgroup: the file named for its version, parsed by 'parse'. */
static int read_cgroup_value(
        const Memcg *m,
        const char *v1_name,
        const char *v2_name,
        int (*parse)(const char *text, uint64_t *ret),
        uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_cgroup_file(m, m->version == MEMCG_V1 ? v1_name : v2_name, &text);
        if (r < 0)
                return r;
        return parse(text, ret);
}

static int parse_oom_kills(const char *text, uint64_t *ret) {
        return cg_keyed_get_uint64(text, "oom_kill", ret);
}

int memcg_read_oom_kills(const Memcg *m, uint64_t *ret) {
        assert(m);
        assert(ret);

        return read_cgroup_value(m, "memory.oom_control", "memory.events", parse_oom_kills, ret);
}

int memcg_read_usage(const Memcg *m, uint64_t *ret) {
        assert(m);
        assert(ret);

        return read_cgroup_value(m, "memory.usage_in_bytes", "memory.current", cg_parse_counter, ret);
}

int memcg_read_limit(const Memcg *m, uint64_t *ret) {
        assert(m);
        assert(ret);

        return read_cgroup_value(m, "memory.limit_in_bytes", "memory.max", cg_parse_limit, ret);
}

int cgroup_read_cpu_usage(const char *root, const char *slice, const char *unit, uint64_t *ret_ns) {
        static const struct {
                const char *hierarchy, *file;
        } places[] = {
                { "unified/", "cpu.stat" }, /* hybrid */
                { "", "cpu.stat" },         /* cgroup2 */
                { "cpuacct/", "cpuacct.usage" },
        };
        int r;

        assert(root);
        assert(slice);
        assert(unit);
        assert(ret_ns);

        FOREACH_ARRAY(p, places, ELEMENTSOF(places)) {
                _cleanup_free_ char *path = NULL, *text = NULL;

                if (asprintf(&path, "%s/%s%s/%s/%s", root, p->hierarchy, slice, unit, p->file) < 0)
                        return -ENOMEM;
                r = read_full_file(path, CGROUP_FILE_MAX, &text, NULL);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                if (streq(p->file, "cpu.stat"))
                        return cg_parse_cpu_stat_usage(text, ret_ns);
                return cg_parse_counter(text, ret_ns);
        }
        return -ENOENT;
}

int memcg_set_swap_limit(const Memcg *m, uint64_t bytes) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        char buf[32];
        int n;

        assert(m);

        if (m->version != MEMCG_V1)
                return 0;
        if (asprintf(&p, "%s/memory.memsw.limit_in_bytes", m->path) < 0)
                return -ENOMEM;
        fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT && access(m->path, F_OK) >= 0 ? -EOPNOTSUPP : -errno;
        n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long) bytes);
        /* one write(): the kernel parses each write on its own */
        if (write(fd, buf, (size_t) n) != n)
                return -errno;
        return 0;
}

int memcg_reclaim_below(const Memcg *m, uint64_t bytes) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t usage;
        char buf[32];
        int n, r;

        assert(m);

        if (m->version != MEMCG_V2)
                return 0;
        r = memcg_read_usage(m, &usage);
        if (r < 0)
                return r;
        if (usage <= bytes)
                return 0;

        if (asprintf(&p, "%s/memory.reclaim", m->path) < 0)
                return -ENOMEM;
        fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT)
                return -errno;
        if (fd >= 0) {
                n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long) (usage - bytes));
                /* EAGAIN: less than that could be reclaimed; what is left is read below */
                if (write(fd, buf, (size_t) n) != n && errno != EAGAIN)
                        return -errno;
        }

        r = memcg_read_usage(m, &usage);
        if (r < 0)
                return r;
        return usage <= bytes ? 0 : -EBUSY;
}

static int memcg_watch_v1(const Memcg *m, int *ret_fd) {
        _cleanup_free_ char *control = NULL, *event_control = NULL;
        _cleanup_close_ int efd = -EBADF, ofd = -EBADF, cfd = -EBADF;
        char buf[64];
        int n;

        if (asprintf(&control, "%s/memory.oom_control", m->path) < 0 ||
            asprintf(&event_control, "%s/cgroup.event_control", m->path) < 0)
                return -ENOMEM;
        efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0)
                return -errno;
        ofd = open(control, O_RDONLY | O_CLOEXEC);
        if (ofd < 0)
                return -errno;
        cfd = open(event_control, O_WRONLY | O_CLOEXEC);
        if (cfd < 0)
                return -errno;
        /* "<eventfd> <fd of memory.oom_control>": the kernel takes its own references to both files */
        n = snprintf(buf, sizeof(buf), "%d %d", efd, ofd);
        if (write(cfd, buf, (size_t) n) != n)
                return -errno;
        *ret_fd = TAKE_FD(efd);
        return 0;
}

static int memcg_watch_v2(const Memcg *m, int *ret_fd) {
        _cleanup_free_ char *events = NULL, *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (asprintf(&events, "%s/memory.events", m->path) < 0)
                return -ENOMEM;
        fd = open(events, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        /* kernfs reports EPOLLPRI for changes after the last read */
        r = read_full_fd(fd, CGROUP_FILE_MAX, &text, NULL);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int memcg_watch_oom(const Memcg *m, int *ret_fd, uint32_t *ret_events) {
        int r;

        assert(m);
        assert(ret_events);
        assert(ret_fd);

        if (m->version == MEMCG_V1) {
                r = memcg_watch_v1(m, ret_fd);
                if (r >= 0)
                        *ret_events = EPOLLIN;
        } else {
                r = memcg_watch_v2(m, ret_fd);
                if (r >= 0)
                        *ret_events = EPOLLPRI;
        }
        return r;
}

void memcg_watch_flush(const Memcg *m, int fd) {
        assert(m);

        if (m->version == MEMCG_V1) {
                eventfd_t v;

                (void) eventfd_read(fd, &v);
        } else {
                char buf[CGROUP_FILE_MAX];

                (void) pread(fd, buf, sizeof(buf), 0);
        }
}
