/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "confine.h"
#include "fileio.h"
#include "log.h"
#include "wshd-setup.h"

/* What the last failing step was doing: the one place a set-up failure's text is kept. wshd is
 * single-threaded, and a failure ends the set-up. */
static char setup_what[512];
static int status_fd = -EBADF;

int setup_error(int error, const char *format, ...) {
        va_list ap;

        assert(format);

        va_start(ap, format);
        (void) vsnprintf(setup_what, sizeof(setup_what), format, ap);
        va_end(ap);
        /* the line protocol must not be broken by a path with a newline in it */
        for (char *p = setup_what; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        return -ERRNO_VALUE(error);
}

const char *setup_error_message(void) {
        return setup_what;
}

void setup_status_set_fd(int fd) {
        status_fd = fd;
}

int setup_status_fd(void) {
        return status_fd;
}

void setup_status_write(const char *line) {
        size_t n;

        assert(line);

        if (status_fd < 0)
                return;
        n = strlen(line);
        /* One write: status lines are far below PIPE_BUF, so the helper's and wshd's lines never mix. */
        while (write(status_fd, line, n) < 0 && errno == EINTR)
                ;
}

void setup_status_close(void) {
        status_fd = safe_close(status_fd);
}

_noreturn_ void setup_fail(int error) {
        char line[1024];

        error = ERRNO_VALUE(error);
        log_error_errno(error, "%s: %m", setup_what);
        /* the status protocol's edge: a positive errno */
        (void) snprintf(line, sizeof(line), "ERROR=%d %s: %s\n", error, setup_what, strerror(error));
        setup_status_write(line);
        _exit(EXIT_FAILURE);
}

static int path_join(char *buf, size_t size, const char *a, const char *b) {
        int n;

        n = snprintf(buf, size, "%s/%s", a, b);
        if (n < 0 || (size_t) n >= size)
                return setup_error(-ENAMETOOLONG, "path '%s/%s'", a, b);
        return 0;
}

/* A mount point inside the root: created if missing, but never a symlink, which would let the image point
 * our mounts somewhere else. */
static int ensure_dir(const char *path, mode_t mode) {
        struct stat st;

        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return setup_error(-errno, "mkdir '%s'", path);
        if (lstat(path, &st) < 0)
                return setup_error(-errno, "stat '%s'", path);
        if (!S_ISDIR(st.st_mode))
                return setup_error(-ENOTDIR, "mount point '%s'", path);
        return 0;
}

/* The directory 'sub' of the root, made if missing (ensure_dir()), its path in path[]. */
static int root_dir(const Setup *s, const char *sub, mode_t mode, char *path, size_t size) {
        int r;

        r = path_join(path, size, s->root, sub);
        if (r < 0)
                return r;
        return ensure_dir(path, mode);
}

static int mount_checked(
        const char *source,
        const char *target,
        const char *fstype,
        unsigned long flags,
        const char *options) {
        if (mount(source, target, fstype, flags, options) >= 0)
                return 0;
        if (fstype)
                return setup_error(-errno, "mount %s on '%s'", fstype, strna(target));
        if (source)
                return setup_error(-errno, "bind-mount '%s' on '%s'", source, strna(target));
        return setup_error(-errno, "change propagation of '%s'", strna(target));
}

/* A file system 'fstype' on the directory 'sub' of the root (made if missing), its path in path[]. */
static int mount_root_dir(
        const Setup *s,
        const char *sub,
        mode_t mode,
        const char *fstype,
        unsigned long flags,
        const char *options,
        char *path,
        size_t size) {
        int r;

        r = root_dir(s, sub, mode, path, size);
        if (r < 0)
                return r;
        return mount_checked(fstype, path, fstype, flags, options);
}

/* A mount made read-only for everyone in the container: the bind remount changes this mount only, never the
 * file system it shows (which the host goes on writing through its own mounts). */
static int remount_read_only(const char *path) {
        if (mount(NULL,
                  path,
                  NULL,
                  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  NULL) < 0)
                return setup_error(-errno, "remount '%s' read-only", path);
        return 0;
}

static int bind_read_only(const char *path) {
        int r;

        if (access(path, F_OK) < 0 && errno == ENOENT)
                return 0; /* not in this kernel */
        r = mount_checked(path, path, NULL, MS_BIND | MS_REC, NULL);
        if (r < 0)
                return r;
        return remount_read_only(path);
}

/* Binds the node 'source' (a device node of the host's) onto 'target', read-only: a device node ignores the
 * read-only flag of its mount for I/O (reads and writes work as before), but its mode, owner and times
 * cannot be changed through it, and the flag keeps it from being replaced. */
static int bind_node_read_only(const char *source, const char *target) {
        int r;

        r = mount_checked(source, target, NULL, MS_BIND, NULL);
        if (r < 0)
                return r;
        if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0)
                return setup_error(-errno, "remount '%s' read-only", target);
        return 0;
}

static int bind_device(const char *dev, const char *name) {
        char source[64], target[PATH_MAX];
        struct stat st;
        int fd, r;

        r = path_join(source, sizeof(source), "/dev", name);
        if (r < 0)
                return r;
        if (stat(source, &st) < 0)
                return setup_error(-errno, "stat '%s'", source);
        if (!S_ISCHR(st.st_mode))
                return setup_error(-ENODEV, "'%s' is not a character device", source);

        r = path_join(target, sizeof(target), dev, name);
        if (r < 0)
                return r;
        fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0)
                return setup_error(-errno, "create '%s'", target);
        (void) close(fd);

        /* A bind mount of the host's node rather than mknod(): it also works where we may not create
         * device nodes, and the device cgroup still decides what may be opened. Read-only, as the node is
         * the host's: container root (CAP_FOWNER, CAP_CHOWN) must not chmod or chown the host's /dev/null,
         * here or through /proc/self/fd. */
        return bind_node_read_only(source, target);
}

static int symlink_checked(const Setup *s, const char *target, const char *dir, const char *name) {
        char path[PATH_MAX];
        int r;

        r = path_join(path, sizeof(path), dir, name);
        if (r < 0)
                return r;
        if (symlink(target, path) < 0)
                return setup_error(-errno, "symlink '%s'", path);
        /* root's, in the container's user namespace too */
        if (s->userns > 0 && fchownat(AT_FDCWD, path, s->userns, s->userns, AT_SYMLINK_NOFOLLOW) < 0)
                return setup_error(-errno, "chown '%s'", path);
        return 0;
}

/* In a user namespace, the tmpfs we mount belongs to its root (or to its group "tty"), not to the host's
 * root, whom the container sees as "nobody": the mount options that say so, or "". */
static void tmpfs_owner(const Setup *s, char *buf, size_t size) {
        buf[0] = '\0';
        if (s->userns > 0)
                (void) snprintf(buf, size, ",uid=%" PRIu32 ",gid=%" PRIu32, s->userns, s->userns);
}

static int setup_dev(const Setup *s) {
        static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };
        static const char *const fd_links[][2] = {
                { "/proc/self/fd", "fd" },
                { "/proc/self/fd/0", "stdin" },
                { "/proc/self/fd/1", "stdout" },
                { "/proc/self/fd/2", "stderr" },
        };
        const unsigned long dev_flags = MS_NOSUID | MS_NOEXEC | MS_STRICTATIME;
        char dev[PATH_MAX], sub[PATH_MAX], owner[64], options[128];
        int r;

        tmpfs_owner(s, owner, sizeof(owner));

        (void) snprintf(options, sizeof(options), "mode=0755,size=256k%s", owner);
        r = mount_root_dir(s, "dev", 0755, "tmpfs", dev_flags, options, dev, sizeof(dev));
        if (r < 0)
                return r;

        FOREACH_ARRAY(d, devices, ELEMENTSOF(devices)) {
                r = bind_device(dev, *d);
                if (r < 0)
                        return r;
        }

        /* A private instance: the container sees its own ptys only. gid 5 is "tty" by convention. */
        (void) snprintf(
                options, sizeof(options), "newinstance,ptmxmode=0666,mode=0620,gid=%" PRIu32, s->userns + 5);
        r = mount_root_dir(s, "dev/pts", 0755, "devpts", MS_NOSUID | MS_NOEXEC, options, sub, sizeof(sub));
        if (r < 0)
                return r;
        r = symlink_checked(s, "pts/ptmx", dev, "ptmx");
        if (r < 0)
                return r;

        (void) snprintf(options, sizeof(options), "mode=1777%s", owner);
        r = mount_root_dir(s, "dev/shm", 01777, "tmpfs", MS_NOSUID | MS_NODEV, options, sub, sizeof(sub));
        if (r < 0)
                return r;

        FOREACH_ARRAY(l, fd_links, ELEMENTSOF(fd_links)) {
                r = symlink_checked(s, (*l)[0], dev, (*l)[1]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* What of /proc and /sys a container may not change or see: the kernel's global knobs are read-only; the
 * kernel's memory, keys of other users, the kernel log, timing and scheduling internals of the whole
 * machine, and firmware and power-meter interfaces (RAPL: a side channel) are masked, files by /dev/null,
 * directories by an empty read-only tmpfs. What this kernel does not have is skipped. Nothing here can be
 * unmounted from inside: no job holds CAP_SYS_ADMIN, and the mount syscalls are filtered. */
static const char *const proc_read_only[] = { "sys", "sysrq-trigger", "irq", "bus", "fs" };
static const char *const proc_masked[] = {
        "kcore",       "keys",       "key-users",     "kmsg",        "kpagecgroup",
        "kpagecount",  "kpageflags", "latency_stats", "sched_debug", "timer_list",
        "timer_stats", "acpi",       "asound",        "scsi",
};
static const char *const sys_masked[] = { "firmware", "devices/virtual/powercap" };

static int mask_path(const char *path) {
        struct stat st;

        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                return setup_error(-errno, "stat '%s'", path);
        }
        if (S_ISDIR(st.st_mode))
                return mount_checked(
                        "tmpfs",
                        path,
                        "tmpfs",
                        MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                        "mode=0555,size=4k");
        /* Reads find nothing, writes go nowhere. */
        return bind_node_read_only("/dev/null", path);
}

static int
setup_proc_sys_masks(const Setup *s, const char *top, const char *const *masked, size_t n_masked) {
        char path[PATH_MAX], dir[PATH_MAX];
        int r;

        r = path_join(dir, sizeof(dir), s->root, top);
        if (r < 0)
                return r;
        if (streq(top, "proc"))
                FOREACH_ARRAY(p, proc_read_only, ELEMENTSOF(proc_read_only)) {
                        r = path_join(path, sizeof(path), dir, *p);
                        if (r < 0)
                                return r;
                        r = bind_read_only(path);
                        if (r < 0)
                                return r;
                }
        for (size_t i = 0; i < n_masked; i++) {
                r = path_join(path, sizeof(path), dir, masked[i]);
                if (r < 0)
                        return r;
                r = mask_path(path);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int mount_cgroup(const char *controllers, const char *path) {
        int r;

        if (controllers[0] == '\0')
                r = mount_checked("cgroup2", path, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        else
                r = mount_checked("cgroup", path, "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, controllers);
        if (r < 0)
                return r;
        return remount_read_only(path);
}

/*
 * /sys/fs/cgroup: the container's own cgroup, read-only. wshd is in its own cgroup namespace whose root is
 * the scope's cgroup, so a cgroup file system mounted here shows that cgroup as its root and nothing above
 * or beside it (the kernel ties the mount's root to the namespace). On cgroup2, the cgroup2 hierarchy; on
 * v1, a tmpfs with the hierarchies of memory, cpu, cpuacct and pids that the scope has a cgroup of its own
 * in, named as the host names them ("cpu,cpuacct" with symlinks "cpu" and "cpuacct"), plus cgroup2 at
 * "unified" on a hybrid layout (cg_view_parse()). No job can remount any of it: no CAP_SYS_ADMIN, and the
 * mount syscalls are filtered.
 */
static int setup_cgroup(const Setup *s) {
        char top[PATH_MAX], path[PATH_MAX], owner[64], options[128];
        int r;

        r = path_join(top, sizeof(top), s->root, "sys/fs/cgroup");
        if (r < 0)
                return r;
        if (access(top, F_OK) < 0)
                return setup_error(-errno, "mount point '%s'", top);
        if (s->cgroup_view.unified)
                return mount_cgroup("", top);

        tmpfs_owner(s, owner, sizeof(owner));
        (void) snprintf(options, sizeof(options), "mode=0755,size=4k%s", owner);
        r = mount_checked("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->cgroup_view.n_hierarchies; i++) {
                const char *controllers = s->cgroup_view.hierarchies[i];

                r = path_join(path, sizeof(path), top, controllers[0] == '\0' ? "unified" : controllers);
                if (r < 0)
                        return r;
                r = ensure_dir(path, 0755);
                if (r < 0)
                        return r;
                r = mount_cgroup(controllers, path);
                if (r < 0)
                        return r;
                /* a joined hierarchy is found under each of its controllers' names */
                if (strchr(controllers, ',')) {
                        char list[CG_CONTROLLERS_MAX], *p = list, *name;

                        (void) snprintf(list, sizeof(list), "%s", controllers);
                        while ((name = strsep(&p, ","))) {
                                r = symlink_checked(s, controllers, top, name);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        return remount_read_only(top);
}

int setup_mounts_private(void) {
        /* Nothing we mount may propagate back to the host. */
        return mount_checked(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

int setup_root(Setup *s) {
        _cleanup_close_ int proc_fd = -EBADF;
        char path[PATH_MAX];
        struct stat st;
        int r;

        assert(s);
        assert(s->root);
        assert(s->hostname);

        if (sethostname(s->hostname, strlen(s->hostname)) < 0)
                return setup_error(-errno, "sethostname '%s'", s->hostname);

        if (stat(s->root, &st) < 0)
                return setup_error(-errno, "root directory '%s'", s->root);
        if (!S_ISDIR(st.st_mode))
                return setup_error(-ENOTDIR, "root directory '%s'", s->root);

        /* pivot_root() needs the new root to be a mount point; binding it onto itself makes it one (and
         * keeps whatever wardend mounted below it). */
        r = mount_checked(s->root, s->root, NULL, MS_BIND | MS_REC, NULL);
        if (r < 0)
                return r;

        r = mount_root_dir(
                s, "proc", 0555, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, path, sizeof(path));
        if (r < 0)
                return r;
        proc_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (proc_fd < 0)
                return setup_error(-errno, "open '%s'", path);

        r = setup_proc_sys_masks(s, "proc", proc_masked, ELEMENTSOF(proc_masked));
        if (r < 0)
                return r;

        r = setup_dev(s);
        if (r < 0)
                return r;

        r = mount_root_dir(
                s,
                "sys",
                0555,
                "sysfs",
                MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                NULL,
                path,
                sizeof(path));
        if (r < 0)
                return r;
        r = setup_proc_sys_masks(s, "sys", sys_masked, ELEMENTSOF(sys_masked));
        if (r < 0)
                return r;
        r = setup_cgroup(s);
        if (r < 0)
                return r;

        r = root_dir(s, "tmp", 01777, path, sizeof(path));
        if (r < 0)
                return r;

        /* Stack the new root on top of the old one and detach the old one: afterwards nothing of the host's
         * file system is reachable from here, not even by wshd. */
        if (chdir(s->root) < 0)
                return setup_error(-errno, "chdir '%s'", s->root);
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return setup_error(-errno, "pivot_root into '%s'", s->root);
        if (umount2(".", MNT_DETACH) < 0)
                return setup_error(-errno, "detach the old root");
        if (chdir("/") < 0)
                return setup_error(-errno, "chdir /");

        return TAKE_FD(proc_fd);
}

/* Root of the user namespace from now on: host uid s->userns, with capabilities that count only for what
 * belongs to the container. */
int setup_enter_userns(Setup *s) {
        assert(s);

        if (s->userns_fd < 0)
                return 0;
        if (setns(s->userns_fd, CLONE_NEWUSER) < 0)
                return setup_error(-errno, "enter the container's user namespace");
        s->userns_fd = safe_close(s->userns_fd);
        if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return setup_error(-errno, "become root of the container's user namespace");
        return 0;
}

static int cmp_int(const void *a, const void *b) {
        int x = *(const int *) a, y = *(const int *) b;

        return (x > y) - (x < y);
}

static int close_fds_except(int *keep, size_t n_keep) {
        int lo = STDERR_FILENO + 1;

        /* close the gaps between the kept fds, in ascending order */
        qsort(keep, n_keep, sizeof(int), cmp_int);
        for (size_t i = 0; i <= n_keep; i++) {
                int hi = i < n_keep ? keep[i] - 1 : INT_MAX;

                if (hi >= lo && syscall(SYS_close_range, (unsigned) lo, (unsigned) hi, 0) < 0)
                        return setup_error(-errno, "close_range");
                if (i < n_keep)
                        lo = keep[i] + 1;
        }
        return 0;
}

int setup_finish(const int *keep, size_t n_keep) {
        _cleanup_close_ int null_fd = -EBADF;
        int sorted[8], r;

        assert(keep || n_keep == 0);
        assert(n_keep <= ELEMENTSOF(sorted));

        /* stdin and stdout were the host's /dev/null: swap them for ours. stderr stays, it is the journal.
         */
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0)
                return setup_error(-errno, "open /dev/null");
        if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0)
                return setup_error(-errno, "dup2 /dev/null");
        null_fd = safe_close(null_fd);

        memcpy(sorted, keep, n_keep * sizeof(int));
        r = close_fds_except(sorted, n_keep);
        if (r < 0)
                return r;

        (void) setsid();
        (void) umask(0022);
        (void) prctl(PR_SET_NAME, (unsigned long) "wshd", 0, 0, 0);
        /* Non-dumpable: root in the container cannot open wshd's fds (the host's journal stream) through
         * /proc/1/fd, nor ptrace it (that would need CAP_SYS_PTRACE, which it lacks). Last: changing
         * credentials would reset it. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return setup_error(-errno, "PR_SET_DUMPABLE");
        return 0;
}

static int write_id_map(const Setup *s, pid_t pid, const char *which) {
        _cleanup_close_ int fd = -EBADF;
        char path[64], map[64];
        int n;

        (void) snprintf(path, sizeof(path), "/proc/%i/%s", (int) pid, which);
        n = snprintf(map, sizeof(map), "0 %" PRIu32 " %" PRIu32 "\n", s->userns, USERNS_RANGE_SIZE);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return setup_error(-errno, "open '%s'", path);
        if (write(fd, map, (size_t) n) != n)
                return setup_error(-errno, "write '%s'", path);
        return 0;
}

/* The namespaces of the child 'pid' that we keep (its user namespace) or join (the others). */
static int userns_take(Setup *s, pid_t pid) {
        static const struct {
                const char *name;
                int type;
        } joined[] = {
                { "net", CLONE_NEWNET },
                { "ipc", CLONE_NEWIPC },
                { "uts", CLONE_NEWUTS },
        };
        char path[64];
        int r;

        r = write_id_map(s, pid, "uid_map");
        if (r < 0)
                return r;
        r = write_id_map(s, pid, "gid_map");
        if (r < 0)
                return r;

        (void) snprintf(path, sizeof(path), "/proc/%i/ns/user", (int) pid);
        s->userns_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->userns_fd < 0)
                return setup_error(-errno, "open '%s'", path);
        FOREACH_ARRAY(ns, joined, ELEMENTSOF(joined)) {
                _cleanup_close_ int fd = -EBADF;

                (void) snprintf(path, sizeof(path), "/proc/%i/ns/%s", (int) pid, ns->name);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return setup_error(-errno, "open '%s'", path);
                if (setns(fd, ns->type) < 0)
                        return setup_error(-errno, "join the %s namespace", ns->name);
        }
        return 0;
}

/*
 * The container's user namespace, and its network, IPC and UTS namespaces owned by it (so that root in the
 * container may bind low ports and use raw sockets in its own network namespace): made by a child, since we
 * must stay the host's root until wshd is set up. We write the child's id maps (as the host's root we may
 * map any range), keep its user namespace and join the others.
 */
static int setup_userns(Setup *s) {
        _cleanup_close_pair_ int ready[2] = EBADF_PAIR, hold[2] = EBADF_PAIR;
        char c = 0;
        int status, r;
        ssize_t n;
        pid_t pid;

        if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0)
                return setup_error(-errno, "pipe2");
        pid = fork();
        if (pid < 0)
                return setup_error(-errno, "fork");
        if (pid == 0) {
                /* The child reports by its exit status alone, to the parent below. */
                ready[0] = safe_close(ready[0]);
                hold[1] = safe_close(hold[1]);
                /* The user namespace is made first and owns the others. */
                if (unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
                        _exit(errno < 256 ? errno : EXIT_FAILURE);
                if (write(ready[1], "R", 1) != 1)
                        _exit(EXIT_FAILURE);
                while (read(hold[0], &c, 1) < 0 && errno == EINTR) /* until we are done with it */
                        ;
                _exit(EXIT_SUCCESS);
        }
        ready[1] = safe_close(ready[1]);
        hold[0] = safe_close(hold[0]);
        do
                n = read(ready[0], &c, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1) {
                hold[1] = safe_close(hold[1]);
                if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) > 1)
                        return setup_error(-WEXITSTATUS(status), "make a user namespace");
                return setup_error(-EIO, "make a user namespace");
        }

        r = userns_take(s, pid);
        /* the child may go now, and is waited for whatever happened */
        hold[1] = safe_close(hold[1]);
        (void) waitpid(pid, NULL, 0);
        return r;
}

int setup_early_namespaces(Setup *s) {
        assert(s);

        /* Namespaces are not processes: they may be made before we are in the scope. The network namespace
         * first, so that wardend can create the veth while systemd starts the scope. */
        if (s->userns > 0)
                return setup_userns(s);
        if (unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
                return setup_error(-errno, "unshare network, IPC and UTS namespaces");
        return 0;
}

int setup_read_cgroup_view(Setup *s) {
        _cleanup_free_ char *text = NULL;
        int r;

        assert(s);

        /* We are in the scope now: which of its cgroups the container gets to see, while the paths still
         * say where we are. */
        r = read_full_file("/proc/self/cgroup", 64 * 1024, &text, NULL);
        if (r < 0)
                return setup_error(r, "read /proc/self/cgroup");
        r = cg_view_parse(text, &s->cgroup_view);
        if (r < 0)
                return setup_error(r, "parse /proc/self/cgroup");
        return 0;
}

int setup_late_namespaces(void) {
        /* unshare() and then fork() rather than clone(): the same namespaces, but glibc's fork() keeps its
         * own state consistent in the child. The first child after CLONE_NEWPID is PID 1 of the new PID
         * namespace; the other namespaces are ours already and it inherits them. The cgroup namespace is
         * made here, in the scope, so that the scope's cgroup is its root: the container's processes see
         * their cgroup as "/" and nothing of the host's tree. */
        if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWCGROUP) < 0)
                return setup_error(-errno, "unshare mount, PID and cgroup namespaces");
        return 0;
}
