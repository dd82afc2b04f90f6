/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * wshd: the container's init. wardend forks a helper, execs this binary in it and moves it into the
 * container's scope. The helper makes the network, IPC and UTS namespaces at once (so that wardend can build
 * the veth in parallel with the rest), waits for the go byte, creates the mount, PID and cgroup namespaces
 * (in the scope by then: its cgroup is the cgroup namespace's root) and forks wshd proper, which is PID 1 of
 * the new PID namespace; the helper reports wshd's PID and exits at once, so that wshd is reparented to the
 * host's reaper and outlives wardend. wshd prepares the root (proc, dev, sys, its own cgroups at
 * /sys/fs/cgroup), pivots into it, reports READY=1 and then serves requests on its unix socket
 * (src/shared/wshd-proto.h) and reaps every process that is reparented to it.
 *
 * Jobs (SPAWN): wshd forks, the child sets itself up and execs; the job's exit is recorded when wshd reaps
 * it and reported to the watchers (or, for an attached job, to the connection that spawned it). A job with
 * a tty gets a pty made here, inside the container; when the caller passed output fds, wshd relays between
 * the pty master and them in its own loop, non-blocking, with a bounded buffer per direction, and reports
 * the exit only once what the job wrote to its terminal has been passed on. Nothing here ever waits for a
 * child or for a peer: a connection that cannot take a message is closed.
 *
 * Status lines on --status-fd, each written with a single write(2):
 *     NETNS=1\n                from the helper, before the go byte: its (= wshd's) network namespace exists
 *     PID=<pid>\n              from the helper: wshd's PID in the helper's (= wardend's) PID namespace
 *     READY=1\n                from wshd: set up and listening
 *     ERROR=<errno> <text>\n   from either: set-up failed, <text> says what ("mount proc on '...': ...")
 * wardend reads until READY=1, ERROR= or EOF (both ends closed without READY=1: failure).
 *
 * Confinement (wardend(8), CONFINEMENT): wshd masks the dangerous parts of /proc and /sys before it pivots,
 * then keeps only the container's capabilities (src/shared/confine.h) for itself and its bounding set. Every
 * job gets no_new_privs and the seccomp filter that wardend compiled (raw BPF on --seccomp-fd, read once by
 * the helper); a job of any user but root gets no capabilities at all. With --userns=BASE the helper makes
 * a user namespace whose root is host uid BASE (and that owns the network, IPC and UTS namespaces); wshd
 * sets everything up as the host's root and enters that user namespace last, so that its own mount and PID
 * namespaces stay owned by the host's and nobody in the container can ever change them.
 *
 * Links libc and src/shared only: it runs in every container for its whole life and should be small.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/param.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-util.h"
#include "confine.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "wshd-proto.h"

/* Watchers, connections waiting for a STOP and the owners of attached jobs are never evicted; the others
 * share what is left. */
#define CONNECTIONS_MAX 256
#define PENDING_STOPS_MAX 8
/* Messages handled per connection and wake-up, so that one busy client cannot starve the others. */
#define MESSAGES_PER_WAKEUP 16
/* While a STOP is pending, how often to look whether the namespace is empty yet: processes that entered
 * through setns() (nsenter) are not our children and their death wakes nobody up. */
#define STOP_POLL_USEC (20 * USEC_PER_MSEC)
#define ACCEPT_RETRY_USEC (100 * USEC_PER_MSEC)
/* How long a connection that has not sent its first request yet is kept from eviction: wardend connects,
 * then writes its SPAWN, and a connection accepted in between is not idle but on its way. */
#define FIRST_REQUEST_GRACE_USEC (5 * USEC_PER_SEC)

#define EPOLL_LISTEN 0
#define EPOLL_SIGNAL 1
#define EPOLL_CONNECTION 100
/* + job index * _RELAY_FD_MAX + RelayFd */
#define EPOLL_JOB (UINT64_C(1) << 32)

/* Per direction of a pty relay. */
#define RELAY_BUFFER_SIZE (16U * 1024U)
/* Rounds of reading and writing per relay and wake-up, so that one busy job cannot starve the rest. */
#define RELAY_ROUNDS 16
/* After a tty job's exit, what its terminal still holds is passed on before the exit is reported: until the
 * master has nothing more to give (or says that the slave is closed everywhere), but no more than this (a
 * process that inherited the terminal may go on writing) and for no longer than this (a reader that never
 * reads must not keep the exit from being reported). */
#define DRAIN_BYTES_MAX (1024U * 1024U)
#define DRAIN_TIMEOUT_USEC (10 * USEC_PER_SEC)
/* Attached jobs (job_id 0 in SPAWN) get ids from here up; wardend's are below. */
#define ATTACHED_JOB_ID_MIN UINT32_C(0x80000000)

#ifndef TIOCGPTPEER
#        define TIOCGPTPEER _IO('T', 0x41)
#endif

static const char *arg_root = NULL;
static const char *arg_socket = NULL;
static const char *arg_hostname = NULL;
static int arg_go_fd = -1;
static int arg_status_fd = -1;
static int arg_seccomp_fd = -1;
static uint32_t arg_userns = 0; /* host uid (= gid) of the container's root; 0: no user namespace */
static bool arg_verbose = false;

/* The jobs' seccomp filter, read by the helper before it forks wshd. */
static struct sock_filter seccomp_insns[SECCOMP_FILTER_INSNS_MAX];
static struct sock_fprog seccomp_prog = { .filter = seccomp_insns };
/* The container's user namespace (held by the helper and wshd until wshd enters it), or -1. */
static int userns_fd = -1;
/* wshd's own capabilities once confined (confine_self()) */
static uint64_t wshd_capabilities = 0;
/* What of the cgroup hierarchies the container sees, read by the helper before the cgroup namespace. */
static CgroupView cgroup_view = {};

typedef struct Connection {
        int fd;               /* -1: free slot */
        uint64_t last_active; /* CLOCK_MONOTONIC usec of the last request (or of the accept) */
        bool spoke;           /* has sent a request */
        uint32_t pending_stops[PENDING_STOPS_MAX];
        size_t n_pending_stops;
        bool watcher;        /* sent WATCH: gets an EVENT_EXIT for every (non-attached) job that exits */
        unsigned n_attached; /* running attached jobs whose exit goes here */
} Connection;

typedef enum JobState {
        JOB_RUNNING,  /* not reaped yet */
        JOB_DRAINING, /* reaped; the relay is still passing on what the terminal holds */
        JOB_EXITED,   /* reported; kept until RELEASE */
} JobState;

typedef enum RelayFd {
        RELAY_MASTER,
        RELAY_IN,
        RELAY_OUT,
        _RELAY_FD_MAX,
} RelayFd;

/* Between a tty job's pty master and the caller's fds: caller's stdin -> in_buf -> master, master -> out_buf
 * -> caller's stdout. */
typedef struct Relay {
        int in_fd;  /* -1: none, at EOF or failed */
        int out_fd; /* -1: none or failed (what the job writes is then read and dropped) */
        /* regular files: epoll refuses them and they are always ready */
        bool plain[_RELAY_FD_MAX];
        uint32_t watched[_RELAY_FD_MAX]; /* the epoll events registered for each fd, 0: not registered */
        bool again; /* may make progress without an event (plain files, rounds used up) */

        uint8_t in_buf[RELAY_BUFFER_SIZE];
        size_t in_len;
        bool in_line_start; /* the last byte passed on was a newline (or none was) */

        uint8_t out_buf[RELAY_BUFFER_SIZE];
        size_t out_start, out_len;

        bool master_eof;      /* the slave is closed everywhere: nothing more will come */
        bool drained;         /* after the exit, a read of the master found nothing more */
        size_t after_exit;    /* bytes read from the master after the exit */
        uint64_t drain_until; /* CLOCK_MONOTONIC usec: report the exit then at the latest */
} Relay;

typedef struct Job {
        bool in_use;
        uint32_t id;
        pid_t pid;
        JobState state;
        int wait_status;
        int master_fd;            /* the pty master while the job runs (RESIZE, relay); -1 without a tty */
        Relay *relay;             /* with a tty and caller fds */
        bool attached;            /* spawned with job_id 0: reported to its owner only, then forgotten */
        struct Connection *owner; /* attached: the connection that spawned it; NULL once that closed */
} Job;

typedef struct Server {
        int epoll_fd;
        int listen_fd;
        int signal_fd;
        int proc_fd; /* our own /proc, opened before the container could mount over it */
        uint32_t host_pid;

        Connection connections[CONNECTIONS_MAX];

        Job jobs[WSHD_JOBS_MAX];
        size_t n_jobs;
        size_t n_relays;
        uint32_t next_attached_id;
        struct rlimit nofile; /* RLIMIT_NOFILE as wshd got it, for the jobs; wshd raises its own */

        bool stopping;
        uint64_t kill_at;          /* CLOCK_MONOTONIC usec: SIGKILL from then on */
        uint64_t listen_resume_at; /* accept() ran out of fds: try again then; 0: listening */
} Server;

static uint64_t monotonic_usec(void) {
        struct timespec ts;

        assert_se(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static void status_write(const char *line) {
        size_t n = strlen(line);

        if (arg_status_fd < 0)
                return;
        /* One write: status lines are far below PIPE_BUF, so the helper's and wshd's lines never mix. */
        while (write(arg_status_fd, line, n) < 0 && errno == EINTR)
                ;
}

/* Reports a set-up failure to wardend and the journal and exits. */
static _noreturn_ _printf_(2, 3) void setup_fail(int error, const char *format, ...) {
        char what[512], line[1024];
        va_list ap;

        error = ERRNO_VALUE(error);
        va_start(ap, format);
        (void) vsnprintf(what, sizeof(what), format, ap);
        va_end(ap);
        /* the line protocol must not be broken by a path with a newline in it */
        for (char *p = what; *p; p++)
                if (*p == '\n')
                        *p = ' ';

        log_error_errno(error, "%s: %m", what);
        (void) snprintf(line, sizeof(line), "ERROR=%d %s: %s\n", error, what, strerror(error));
        status_write(line);
        _exit(EXIT_FAILURE);
}

static int parse_fd(const char *s, int *ret) {
        uint32_t u;
        int r;

        r = parse_uint32(s, &u);
        if (r < 0)
                return r;
        if (u > INT32_MAX)
                return -ERANGE;
        *ret = (int) u;
        return 0;
}

static void help(void) {
        printf("wshd --root=DIR --socket=PATH --hostname=NAME --go-fd=N --status-fd=N --seccomp-fd=N\n"
               "     [--userns=UID] [--verbose]\n\n"
               "The init of a warden container; started by wardend.\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_ROOT = 0x100,
                ARG_SOCKET,
                ARG_HOSTNAME,
                ARG_GO_FD,
                ARG_STATUS_FD,
                ARG_SECCOMP_FD,
                ARG_USERNS,
                ARG_VERBOSE,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "root", required_argument, NULL, ARG_ROOT },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "hostname", required_argument, NULL, ARG_HOSTNAME },
                { "go-fd", required_argument, NULL, ARG_GO_FD },
                { "status-fd", required_argument, NULL, ARG_STATUS_FD },
                { "seccomp-fd", required_argument, NULL, ARG_SECCOMP_FD },
                { "userns", required_argument, NULL, ARG_USERNS },
                { "verbose", no_argument, NULL, ARG_VERBOSE },
                {},
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_ROOT:
                        arg_root = optarg;
                        break;
                case ARG_SOCKET:
                        arg_socket = optarg;
                        break;
                case ARG_HOSTNAME:
                        arg_hostname = optarg;
                        break;
                case ARG_GO_FD:
                        r = parse_fd(optarg, &arg_go_fd);
                        if (r < 0)
                                return log_error_errno(r, "Invalid --go-fd='%s'.", optarg);
                        break;
                case ARG_STATUS_FD:
                        r = parse_fd(optarg, &arg_status_fd);
                        if (r < 0)
                                return log_error_errno(r, "Invalid --status-fd='%s'.", optarg);
                        break;
                case ARG_SECCOMP_FD:
                        r = parse_fd(optarg, &arg_seccomp_fd);
                        if (r < 0)
                                return log_error_errno(r, "Invalid --seccomp-fd='%s'.", optarg);
                        break;
                case ARG_USERNS:
                        r = parse_uint32(optarg, &arg_userns);
                        /* not 0 (that is the host's root) and the whole range below (uid_t) -1 */
                        if (r >= 0 && (arg_userns == 0 || arg_userns > UINT32_MAX - USERNS_RANGE_SIZE))
                                r = -ERANGE;
                        if (r < 0)
                                return log_error_errno(r, "Invalid --userns='%s'.", optarg);
                        break;
                case ARG_VERBOSE:
                        arg_verbose = true;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        assert(false);
                }

        if (optind < argc)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Unexpected argument '%s'.", argv[optind]);
        /* No filter, no container: wshd never runs jobs unconfined. */
        if (!arg_root || !arg_socket || !arg_hostname || arg_go_fd < 0 || arg_status_fd < 0 ||
            arg_seccomp_fd < 0)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "--root=, --socket=, --hostname=, --go-fd=, --status-fd= and "
                                "--seccomp-fd= are required.");
        if (arg_root[0] != '/')
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--root='%s' is not absolute.", arg_root);
        if (arg_go_fd <= STDERR_FILENO || arg_status_fd <= STDERR_FILENO ||
            arg_seccomp_fd <= STDERR_FILENO || arg_go_fd == arg_status_fd || arg_seccomp_fd == arg_go_fd ||
            arg_seccomp_fd == arg_status_fd)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL), "Bad --go-fd=, --status-fd= or --seccomp-fd=.");
        return 1;
}

static void path_join(char *buf, size_t size, const char *a, const char *b) {
        int n;

        n = snprintf(buf, size, "%s/%s", a, b);
        if (n < 0 || (size_t) n >= size)
                setup_fail(ENAMETOOLONG, "path '%s/%s'", a, b);
}

static void root_path(char *buf, size_t size, const char *suffix) {
        path_join(buf, size, arg_root, suffix);
}

/* A mount point inside the root: created if missing, but never a symlink, which would let the image point
 * our mounts somewhere else. */
static void ensure_dir(const char *path, mode_t mode) {
        struct stat st;

        if (mkdir(path, mode) < 0 && errno != EEXIST)
                setup_fail(errno, "mkdir '%s'", path);
        if (lstat(path, &st) < 0)
                setup_fail(errno, "stat '%s'", path);
        if (!S_ISDIR(st.st_mode))
                setup_fail(ENOTDIR, "mount point '%s'", path);
}

static void
mount_or_fail(const char *source,
              const char *target,
              const char *fstype,
              unsigned long flags,
              const char *options) {
        if (mount(source, target, fstype, flags, options) < 0) {
                if (fstype)
                        setup_fail(errno, "mount %s on '%s'", fstype, target);
                if (source)
                        setup_fail(errno, "bind-mount '%s' on '%s'", source, target);
                setup_fail(errno, "change propagation of '%s'", target);
        }
}

/* A mount made read-only for everyone in the container: the bind remount changes this mount only, never the
 * file system it shows (which the host goes on writing through its own mounts). */
static void remount_read_only(const char *path) {
        if (mount(NULL,
                  path,
                  NULL,
                  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  NULL) < 0)
                setup_fail(errno, "remount '%s' read-only", path);
}

static void bind_read_only(const char *path) {
        if (access(path, F_OK) < 0 && errno == ENOENT)
                return; /* not in this kernel */
        mount_or_fail(path, path, NULL, MS_BIND | MS_REC, NULL);
        remount_read_only(path);
}

static int setup_socket(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(arg_socket);
        mode_t old_umask;
        int fd, r;

        if (n >= sizeof(sa.sun_path))
                setup_fail(ENAMETOOLONG, "socket path '%s'", arg_socket);
        memcpy(sa.sun_path, arg_socket, n);

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                setup_fail(errno, "socket");
        if (unlink(arg_socket) < 0 && errno != ENOENT)
                setup_fail(errno, "unlink stale socket '%s'", arg_socket);

        /* Only root may talk to wshd; the umask makes the socket 0600 from its first moment. */
        old_umask = umask(0177);
        r = bind(fd, (struct sockaddr *) &sa, offsetof(struct sockaddr_un, sun_path) + n + 1);
        umask(old_umask);
        if (r < 0)
                setup_fail(errno, "bind '%s'", arg_socket);
        if (listen(fd, SOMAXCONN) < 0)
                setup_fail(errno, "listen on '%s'", arg_socket);
        return fd;
}

/* Binds the node 'source' (a device node of the host's) onto 'target', read-only: a device node ignores the
 * read-only flag of its mount for I/O (reads and writes work as before), but its mode, owner and times
 * cannot be changed through it, and the flag keeps it from being replaced. */
static void bind_node_read_only(const char *source, const char *target) {
        mount_or_fail(source, target, NULL, MS_BIND, NULL);
        if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0)
                setup_fail(errno, "remount '%s' read-only", target);
}

static void bind_device(const char *dev, const char *name) {
        char source[64], target[PATH_MAX];
        struct stat st;
        int fd;

        path_join(source, sizeof(source), "/dev", name);
        if (stat(source, &st) < 0)
                setup_fail(errno, "stat '%s'", source);
        if (!S_ISCHR(st.st_mode))
                setup_fail(ENODEV, "'%s' is not a character device", source);

        path_join(target, sizeof(target), dev, name);
        fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0)
                setup_fail(errno, "create '%s'", target);
        (void) close(fd);

        /* A bind mount of the host's node rather than mknod(): it also works where we may not create
         * device nodes, and the device cgroup still decides what may be opened. Read-only, as the node is
         * the host's: container root (CAP_FOWNER, CAP_CHOWN) must not chmod or chown the host's /dev/null,
         * here or through /proc/self/fd. */
        bind_node_read_only(source, target);
}

static void symlink_or_fail(const char *target, const char *dir, const char *name) {
        char path[PATH_MAX];

        path_join(path, sizeof(path), dir, name);
        if (symlink(target, path) < 0)
                setup_fail(errno, "symlink '%s'", path);
        /* root's, in the container's user namespace too */
        if (arg_userns > 0 && fchownat(AT_FDCWD, path, arg_userns, arg_userns, AT_SYMLINK_NOFOLLOW) < 0)
                setup_fail(errno, "chown '%s'", path);
}

/* In a user namespace, the tmpfs we mount belongs to its root (or to its group "tty"), not to the host's
 * root, whom the container sees as "nobody": the mount options that say so, or "". */
static void tmpfs_owner(char *buf, size_t size) {
        buf[0] = '\0';
        if (arg_userns > 0)
                (void) snprintf(buf, size, ",uid=%" PRIu32 ",gid=%" PRIu32, arg_userns, arg_userns);
}

static void setup_dev(void) {
        static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };
        char dev[PATH_MAX], sub[PATH_MAX], owner[64], options[128];

        tmpfs_owner(owner, sizeof(owner));

        root_path(dev, sizeof(dev), "dev");
        ensure_dir(dev, 0755);
        (void) snprintf(options, sizeof(options), "mode=0755,size=256k%s", owner);
        mount_or_fail("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME, options);

        FOREACH_ARRAY(d, devices, ELEMENTSOF(devices))
                bind_device(dev, *d);

        root_path(sub, sizeof(sub), "dev/pts");
        ensure_dir(sub, 0755);
        /* A private instance: the container sees its own ptys only. gid 5 is "tty" by convention. */
        (void) snprintf(options,
                        sizeof(options),
                        "newinstance,ptmxmode=0666,mode=0620,gid=%" PRIu32,
                        arg_userns + 5);
        mount_or_fail("devpts", sub, "devpts", MS_NOSUID | MS_NOEXEC, options);
        symlink_or_fail("pts/ptmx", dev, "ptmx");

        root_path(sub, sizeof(sub), "dev/shm");
        ensure_dir(sub, 01777);
        (void) snprintf(options, sizeof(options), "mode=1777%s", owner);
        mount_or_fail("tmpfs", sub, "tmpfs", MS_NOSUID | MS_NODEV, options);

        symlink_or_fail("/proc/self/fd", dev, "fd");
        symlink_or_fail("/proc/self/fd/0", dev, "stdin");
        symlink_or_fail("/proc/self/fd/1", dev, "stdout");
        symlink_or_fail("/proc/self/fd/2", dev, "stderr");
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

static void mask_path(const char *path) {
        struct stat st;

        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        return;
                setup_fail(errno, "stat '%s'", path);
        }
        if (S_ISDIR(st.st_mode)) {
                mount_or_fail("tmpfs",
                              path,
                              "tmpfs",
                              MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                              "mode=0555,size=4k");
                return;
        }
        /* Reads find nothing, writes go nowhere. */
        bind_node_read_only("/dev/null", path);
}

static void setup_proc_sys_masks(const char *top, const char *const *masked, size_t n_masked) {
        char path[PATH_MAX], dir[PATH_MAX];

        root_path(dir, sizeof(dir), top);
        if (streq(top, "proc"))
                FOREACH_ARRAY(p, proc_read_only, ELEMENTSOF(proc_read_only)) {
                        path_join(path, sizeof(path), dir, *p);
                        bind_read_only(path);
                }
        for (size_t i = 0; i < n_masked; i++) {
                path_join(path, sizeof(path), dir, masked[i]);
                mask_path(path);
        }
}

/* Sets the calling thread's capability sets (64 bits each). */
static int capabilities_set(uint64_t permitted, uint64_t effective, uint64_t inheritable) {
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = {
                {
                                .effective = (uint32_t) effective,
                                .permitted = (uint32_t) permitted,
                                .inheritable = (uint32_t) inheritable,
                },
                {
                                .effective = (uint32_t) (effective >> 32),
                                .permitted = (uint32_t) (permitted >> 32),
                                .inheritable = (uint32_t) (inheritable >> 32),
                },
        };

        return syscall(SYS_capset, &header, data) < 0 ? -errno : 0;
}

static int capabilities_get_permitted(uint64_t *ret) {
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = {};

        if (syscall(SYS_capget, &header, data) < 0)
                return -errno;
        *ret = (uint64_t) data[0].permitted | ((uint64_t) data[1].permitted << 32);
        return 0;
}

/* Drops every capability but those in 'keep' from the bounding set: nothing exec()ed from here on can
 * ever get them, not even root or a file with file capabilities. */
static int bounding_set_limit(uint64_t keep) {
        for (unsigned long c = 0; c < 64; c++) {
                if (keep & CAP_BIT(c))
                        continue;
                if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
                        if (errno == EINVAL) /* past the kernel's last capability */
                                return 0;
                        return -errno;
                }
        }
        return 0;
}

/* Root of the user namespace from now on: host uid arg_userns, with capabilities that count only for what
 * belongs to the container. */
static void enter_userns(void) {
        if (setns(userns_fd, CLONE_NEWUSER) < 0)
                setup_fail(errno, "enter the container's user namespace");
        userns_fd = safe_close(userns_fd);
        userns_fd = -1;
        if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                setup_fail(errno, "become root of the container's user namespace");
}

/*
 * After the set-up wshd needs no more than the container's capabilities plus CAP_SYS_RESOURCE (to give a
 * job the rlimits asked for; the job drops it). Its bounding set is the container's: whatever runs in the
 * container descends from wshd. No CAP_SYS_ADMIN is left, so even a wshd that were taken over could not
 * mount anything; for the same reason every job (root's too) gets no_new_privs, which lets it load the
 * seccomp filter without CAP_SYS_ADMIN.
 */
static void confine_self(void) {
        uint64_t have = 0;
        int r;

        r = bounding_set_limit(CONTAINER_CAPABILITIES);
        if (r < 0)
                setup_fail(r, "limit the bounding set");
        /* what we were given, which may be less (a host that withholds some from wardend) */
        r = capabilities_get_permitted(&have);
        if (r < 0)
                setup_fail(r, "get capabilities");
        wshd_capabilities = have & (CONTAINER_CAPABILITIES | CAP_BIT(CAP_SYS_RESOURCE));
        r = capabilities_set(wshd_capabilities, wshd_capabilities, 0);
        if (r < 0)
                setup_fail(r, "drop capabilities");
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                setup_fail(errno, "clear the ambient capabilities");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                setup_fail(errno, "PR_SET_NO_NEW_PRIVS");
}

static int cmp_int(const void *a, const void *b) {
        int x = *(const int *) a, y = *(const int *) b;

        return (x > y) - (x < y);
}

static void close_fds_except(const int *keep, size_t n_keep) {
        int lo = STDERR_FILENO + 1;

        /* keep[] is sorted ascending; close the gaps between the kept fds. */
        for (size_t i = 0; i <= n_keep; i++) {
                int hi = i < n_keep ? keep[i] - 1 : INT_MAX;

                if (hi >= lo && syscall(SYS_close_range, (unsigned) lo, (unsigned) hi, 0) < 0)
                        setup_fail(errno, "close_range");
                if (i < n_keep)
                        lo = keep[i] + 1;
        }
}

static void mount_cgroup(const char *controllers, const char *path) {
        if (controllers[0] == '\0')
                mount_or_fail("cgroup2", path, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        else
                mount_or_fail("cgroup", path, "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, controllers);
        remount_read_only(path);
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
static void setup_cgroup(void) {
        char top[PATH_MAX], path[PATH_MAX], owner[64], options[128];

        root_path(top, sizeof(top), "sys/fs/cgroup");
        if (access(top, F_OK) < 0)
                setup_fail(errno, "mount point '%s'", top);
        if (cgroup_view.unified) {
                mount_cgroup("", top);
                return;
        }

        tmpfs_owner(owner, sizeof(owner));
        (void) snprintf(options, sizeof(options), "mode=0755,size=4k%s", owner);
        mount_or_fail("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options);
        for (size_t i = 0; i < cgroup_view.n_hierarchies; i++) {
                const char *controllers = cgroup_view.hierarchies[i];

                path_join(path, sizeof(path), top, controllers[0] == '\0' ? "unified" : controllers);
                ensure_dir(path, 0755);
                mount_cgroup(controllers, path);
                /* a joined hierarchy is found under each of its controllers' names */
                if (strchr(controllers, ',')) {
                        char list[CG_CONTROLLERS_MAX], *p = list, *name;

                        (void) snprintf(list, sizeof(list), "%s", controllers);
                        while ((name = strsep(&p, ",")))
                                symlink_or_fail(controllers, top, name);
                }
        }
        remount_read_only(top);
}

static void setup_root(Server *s) {
        char path[PATH_MAX];
        int null_fd, keep[3];
        struct stat st;

        /* Nothing we mount may propagate back to the host. */
        mount_or_fail(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);

        /* The socket lives on the host side, outside the root: bind it while we can still see it. */
        s->listen_fd = setup_socket();

        if (sethostname(arg_hostname, strlen(arg_hostname)) < 0)
                setup_fail(errno, "sethostname '%s'", arg_hostname);

        if (stat(arg_root, &st) < 0)
                setup_fail(errno, "root directory '%s'", arg_root);
        if (!S_ISDIR(st.st_mode))
                setup_fail(ENOTDIR, "root directory '%s'", arg_root);

        /* pivot_root() needs the new root to be a mount point; binding it onto itself makes it one (and
         * keeps whatever wardend mounted below it). */
        mount_or_fail(arg_root, arg_root, NULL, MS_BIND | MS_REC, NULL);

        root_path(path, sizeof(path), "proc");
        ensure_dir(path, 0555);
        mount_or_fail("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        s->proc_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->proc_fd < 0)
                setup_fail(errno, "open '%s'", path);

        setup_proc_sys_masks("proc", proc_masked, ELEMENTSOF(proc_masked));

        setup_dev();

        root_path(path, sizeof(path), "sys");
        ensure_dir(path, 0555);
        mount_or_fail("sysfs", path, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        setup_proc_sys_masks("sys", sys_masked, ELEMENTSOF(sys_masked));
        setup_cgroup();

        root_path(path, sizeof(path), "tmp");
        ensure_dir(path, 01777);

        /* Stack the new root on top of the old one and detach the old one: afterwards nothing of the host's
         * file system is reachable from here, not even by wshd. */
        if (chdir(arg_root) < 0)
                setup_fail(errno, "chdir '%s'", arg_root);
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                setup_fail(errno, "pivot_root into '%s'", arg_root);
        if (umount2(".", MNT_DETACH) < 0)
                setup_fail(errno, "detach the old root");
        if (chdir("/") < 0)
                setup_fail(errno, "chdir /");

        /* Entering the user namespace gives a full bounding set in it: confined after that. */
        if (userns_fd >= 0)
                enter_userns();
        confine_self();

        /* stdin and stdout were the host's /dev/null: swap them for ours. stderr stays, it is the journal.
         */
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0)
                setup_fail(errno, "open /dev/null");
        if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0)
                setup_fail(errno, "dup2 /dev/null");
        (void) close(null_fd);

        keep[0] = s->listen_fd;
        keep[1] = s->proc_fd;
        keep[2] = arg_status_fd;
        qsort(keep, ELEMENTSOF(keep), sizeof(int), cmp_int);
        close_fds_except(keep, ELEMENTSOF(keep));

        (void) setsid();
        (void) umask(0022);
        (void) prctl(PR_SET_NAME, (unsigned long) "wshd", 0, 0, 0);
        /* Non-dumpable: root in the container cannot open wshd's fds (the host's journal stream) through
         * /proc/1/fd, nor ptrace it (that would need CAP_SYS_PTRACE, which it lacks). Last: changing
         * credentials would reset it. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                setup_fail(errno, "PR_SET_DUMPABLE");
}

static void server_setup_loop(Server *s) {
        struct epoll_event ev = { .events = EPOLLIN };
        sigset_t mask;

        s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (s->epoll_fd < 0)
                setup_fail(errno, "epoll_create1");

        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        s->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (s->signal_fd < 0)
                setup_fail(errno, "signalfd");

        ev.data.u64 = EPOLL_LISTEN;
        if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->listen_fd, &ev) < 0)
                setup_fail(errno, "epoll_ctl");
        ev.data.u64 = EPOLL_SIGNAL;
        if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->signal_fd, &ev) < 0)
                setup_fail(errno, "epoll_ctl");
}

/* Processes in the namespace other than wshd, zombies included. Read from /proc rather than counted from
 * waitpid(), because processes that entered with setns() are children of a host process, not ours. */
static int count_processes(Server *s) {
        struct dirent *de;
        unsigned n = 0;
        DIR *d;
        int fd;

        fd = openat(s->proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return -ENOMEM;
        }
        while ((de = readdir(d))) {
                const char *p = de->d_name;

                if (*p < '1' || *p > '9' || streq(p, "1"))
                        continue;
                while (*p >= '0' && *p <= '9')
                        p++;
                if (*p == 0)
                        n++;
        }
        closedir(d);
        return (int) MIN(n, (unsigned) INT32_MAX);
}

static Connection *connection_from_index(Server *s, uint64_t data) {
        if (data < EPOLL_CONNECTION || data - EPOLL_CONNECTION >= CONNECTIONS_MAX)
                return NULL;
        return s->connections + (data - EPOLL_CONNECTION);
}

static void connection_forget_jobs(Server *s, Connection *c);

static void connection_close(Server *s, Connection *c) {
        if (c->fd < 0)
                return;
        (void) epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
        c->fd = safe_close(c->fd);
        c->fd = -1;
        c->n_pending_stops = 0;
        c->watcher = false;
        connection_forget_jobs(s, c);
}

/* A connection that cannot take a reply (gone, or not reading so that its buffer is full) is closed: wshd
 * keeps no output queues. */
static int connection_reply(Server *s, Connection *c, const WshdMessage *m) {
        int r;

        r = wshd_message_send(c->fd, m);
        if (r < 0) {
                log_debug_errno(r, "Failed to send reply, closing connection: %m");
                connection_close(s, c);
        }
        return r;
}

static _printf_(5, 6) int connection_reply_error(
                Server *s, Connection *c, uint32_t serial, int error, const char *format, ...) {
        WshdMessage m;
        char text[256];
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(text, sizeof(text), format, ap);
        va_end(ap);

        wshd_message_init(&m, WSHD_REPLY_ERROR, serial);
        m.error = ERRNO_VALUE(error);
        m.message = text;
        return connection_reply(s, c, &m);
}

/* ---- jobs ------------------------------------------------------------------------------------------- */

static Job *job_find(Server *s, uint32_t id) {
        if (s->n_jobs == 0)
                return NULL;
        FOREACH_ARRAY(j, s->jobs, WSHD_JOBS_MAX)
                if (j->in_use && j->id == id)
                        return j;
        return NULL;
}

static Job *job_find_running_pid(Server *s, pid_t pid) {
        if (s->n_jobs == 0)
                return NULL;
        FOREACH_ARRAY(j, s->jobs, WSHD_JOBS_MAX)
                if (j->in_use && j->state == JOB_RUNNING && j->pid == pid)
                        return j;
        return NULL;
}

static Job *job_free_slot(Server *s) {
        if (s->n_jobs >= WSHD_JOBS_MAX)
                return NULL;
        FOREACH_ARRAY(j, s->jobs, WSHD_JOBS_MAX)
                if (!j->in_use)
                        return j;
        return NULL;
}

static uint64_t relay_key(Server *s, Job *j, RelayFd which) {
        return EPOLL_JOB + (uint64_t) (j - s->jobs) * _RELAY_FD_MAX + which;
}

static Job *job_from_key(Server *s, uint64_t data) {
        uint64_t i;

        if (data < EPOLL_JOB)
                return NULL;
        i = (data - EPOLL_JOB) / _RELAY_FD_MAX;
        if (i >= WSHD_JOBS_MAX || !s->jobs[i].in_use)
                return NULL;
        return s->jobs + i;
}

static int relay_fd(Job *j, RelayFd which) {
        switch (which) {
        case RELAY_MASTER:
                return j->master_fd;
        case RELAY_IN:
                return j->relay->in_fd;
        case RELAY_OUT:
                return j->relay->out_fd;
        default:
                assert_not_reached();
        }
}

/* Registers what we wait for on one fd of a relay; nothing means not registered at all, so that a hung-up
 * fd we are not reading from does not wake us up over and over. */
static void relay_watch(Server *s, Job *j, RelayFd which, uint32_t events) {
        Relay *r = j->relay;
        struct epoll_event ev = { .events = events, .data.u64 = relay_key(s, j, which) };
        int fd = relay_fd(j, which), op;

        if (fd < 0 || r->plain[which])
                events = 0;
        if (events == r->watched[which])
                return;
        if (events == 0) {
                (void) epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
                r->watched[which] = 0;
                return;
        }
        op = r->watched[which] == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
        if (epoll_ctl(s->epoll_fd, op, fd, &ev) < 0) {
                /* EPERM: a regular file or directory, which is always ready; anything else (ENOMEM)
                 * is treated the same, which is at worst a busier loop. */
                log_debug_errno(errno,
                                "Failed to watch fd %d of job %" PRIu32 ", polling it: %m",
                                fd,
                                j->id);
                r->plain[which] = true;
                r->watched[which] = 0;
                r->again = true;
                return;
        }
        r->watched[which] = events;
}

static void relay_close(Server *s, Job *j, RelayFd which) {
        Relay *r = j->relay;
        int *fd = which == RELAY_IN ? &r->in_fd : &r->out_fd;

        assert(which != RELAY_MASTER);
        relay_watch(s, j, which, 0);
        *fd = safe_close(*fd);
        *fd = -1;
}

/* The pty, the relay and its fds go; the job entry stays. */
static void job_close_tty(Server *s, Job *j) {
        if (j->relay) {
                relay_watch(s, j, RELAY_MASTER, 0);
                relay_close(s, j, RELAY_IN);
                relay_close(s, j, RELAY_OUT);
                j->relay = mfree(j->relay);
                s->n_relays--;
        }
        j->master_fd = safe_close(j->master_fd);
        j->master_fd = -1;
}

static void job_free(Server *s, Job *j) {
        if (!j->in_use)
                return;
        job_close_tty(s, j);
        if (j->attached && j->owner && j->owner->n_attached > 0)
                j->owner->n_attached--;
        *j = (Job){ .master_fd = -1 };
        s->n_jobs--;
}

static void send_exit(Server *s, Connection *c, uint32_t job_id, pid_t pid, int wait_status) {
        WshdMessage m;

        if (c->fd < 0)
                return;
        wshd_message_init(&m, WSHD_EVENT_EXIT, 0);
        m.job_id = job_id;
        m.pid = (uint32_t) pid;
        m.wait_status = (uint32_t) wait_status;
        /* The socket is non-blocking: a watcher that does not read is closed (it gets the exits in the
         * reply to its next WATCH), never waited for. */
        (void) connection_reply(s, c, &m);
}

/* The exit is final: tell who needs to know. */
static void job_report(Server *s, Job *j) {
        j->state = JOB_EXITED;
        job_close_tty(s, j);

        if (j->attached) {
                Connection *owner = j->owner;
                uint32_t id = j->id;
                pid_t pid = j->pid;
                int status = j->wait_status;

                /* forgotten first: sending may close the connection, which would look for it */
                job_free(s, j);
                if (owner)
                        send_exit(s, owner, id, pid, status);
                return;
        }

        log_debug("Job %" PRIu32 " (PID %d) exited, status 0x%x.",
                  j->id,
                  (int) j->pid,
                  (unsigned) j->wait_status);
        FOREACH_ARRAY(c, s->connections, CONNECTIONS_MAX)
                if (c->fd >= 0 && c->watcher)
                        send_exit(s, c, j->id, j->pid, j->wait_status);
}

/* Stdin of a tty job ended: a terminal says so with its EOF character (twice if a line is pending, the first
 * only ends the line), unless the job switched the line discipline to raw mode. */
static void relay_input_eof(Server *s, Job *j) {
        Relay *r = j->relay;
        struct termios t;

        relay_close(s, j, RELAY_IN);
        if (r->master_eof || tcgetattr(j->master_fd, &t) < 0 || !(t.c_lflag & ICANON))
                return;
        /* relay_run() reads at most RELAY_BUFFER_SIZE - 2, so there is room */
        if (!r->in_line_start)
                r->in_buf[r->in_len++] = t.c_cc[VEOF];
        r->in_buf[r->in_len++] = t.c_cc[VEOF];
}

static bool relay_drain_done(Relay *r) {
        return r->master_eof || r->drained || r->after_exit >= DRAIN_BYTES_MAX;
}

/* Moves what can be moved without blocking, then registers for what it waits for. A job that has exited
 * is reported here once its terminal is drained. */
static void relay_run(Server *s, Job *j) {
        Relay *r = j->relay;
        bool progress = true;
        ssize_t n;

        assert(r);
        r->again = false;

        for (unsigned round = 0; round < RELAY_ROUNDS && progress; round++) {
                progress = false;

                /* caller -> in_buf; two bytes stay free for the EOF characters */
                if (r->in_fd >= 0 && j->state == JOB_RUNNING && r->in_len + 2 < RELAY_BUFFER_SIZE) {
                        n = read(r->in_fd, r->in_buf + r->in_len, RELAY_BUFFER_SIZE - 2 - r->in_len);
                        if (n > 0) {
                                r->in_len += (size_t) n;
                                r->in_line_start = r->in_buf[r->in_len - 1] == '\n';
                                progress = true;
                        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                                relay_input_eof(s, j);
                                progress = true;
                        }
                }

                /* in_buf -> master */
                if (r->in_len > 0 && !r->master_eof && j->state == JOB_RUNNING) {
                        n = write(j->master_fd, r->in_buf, r->in_len);
                        if (n > 0) {
                                memmove(r->in_buf, r->in_buf + n, r->in_len - (size_t) n);
                                r->in_len -= (size_t) n;
                                progress = true;
                        } else if (n < 0 && errno != EAGAIN && errno != EINTR)
                                r->in_len = 0; /* nobody can read it */
                }

                /* master -> out_buf */
                if (!r->master_eof && !(j->state != JOB_RUNNING && relay_drain_done(r)) &&
                    r->out_start + r->out_len < RELAY_BUFFER_SIZE) {
                        if (r->out_len == 0)
                                r->out_start = 0;
                        n = read(j->master_fd,
                                 r->out_buf + r->out_start + r->out_len,
                                 RELAY_BUFFER_SIZE - r->out_start - r->out_len);
                        if (n > 0) {
                                if (r->out_fd >= 0)
                                        r->out_len += (size_t) n;
                                if (j->state != JOB_RUNNING)
                                        r->after_exit += (size_t) n;
                                progress = true;
                        } else if (n < 0 && errno == EAGAIN) {
                                if (j->state != JOB_RUNNING)
                                        r->drained = true;
                        } else if (n == 0 || errno != EINTR) {
                                /* EIO: the slave is closed everywhere, after everything written to it was
                                 * read. Input has nowhere to go any more. */
                                r->master_eof = true;
                                r->in_len = 0;
                                relay_close(s, j, RELAY_IN);
                                progress = true;
                        }
                }

                /* out_buf -> caller */
                if (r->out_len > 0) {
                        n = write(r->out_fd, r->out_buf + r->out_start, r->out_len);
                        if (n > 0) {
                                r->out_start += (size_t) n;
                                r->out_len -= (size_t) n;
                                progress = true;
                        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                                /* The reader is gone: go on reading the terminal (the job must not
                                 * block on it) and drop what comes. */
                                log_debug_errno(errno,
                                                "Output of job %" PRIu32 " failed, dropping it: %m",
                                                j->id);
                                relay_close(s, j, RELAY_OUT);
                                r->out_len = 0;
                                progress = true;
                        }
                }
        }
        if (progress)
                r->again = true;

        if (j->state == JOB_DRAINING &&
            ((relay_drain_done(r) && r->out_len == 0) || monotonic_usec() >= r->drain_until)) {
                job_report(s, j);
                return;
        }

        relay_watch(s,
                    j,
                    RELAY_MASTER,
                    (!r->master_eof && r->out_start + r->out_len < RELAY_BUFFER_SIZE &&
                                                     !(j->state != JOB_RUNNING && relay_drain_done(r))
                                     ? EPOLLIN
                                     : 0) |
                                    (!r->master_eof && r->in_len > 0 && j->state == JOB_RUNNING ? EPOLLOUT
                                                                                                : 0));
        relay_watch(s,
                    j,
                    RELAY_IN,
                    j->state == JOB_RUNNING && r->in_len + 2 < RELAY_BUFFER_SIZE ? EPOLLIN : 0);
        relay_watch(s, j, RELAY_OUT, r->out_len > 0 ? EPOLLOUT : 0);
        /* plain files are ready without an event */
        if ((r->plain[RELAY_IN] && r->in_fd >= 0 && j->state == JOB_RUNNING &&
             r->in_len + 2 < RELAY_BUFFER_SIZE) ||
            (r->plain[RELAY_OUT] && r->out_len > 0))
                r->again = true;
}

static void job_exited(Server *s, Job *j, int status) {
        j->wait_status = status;
        if (!j->relay) {
                job_report(s, j);
                return;
        }

        /* Input for a dead job is pointless; its output is passed on before the exit is reported (wardend
         * reads a captured job's output right after the event). */
        j->state = JOB_DRAINING;
        j->relay->in_len = 0;
        relay_close(s, j, RELAY_IN);
        j->relay->drain_until = monotonic_usec() + DRAIN_TIMEOUT_USEC;
        relay_run(s, j);
}

static void reap_children(Server *s) {
        int status;
        pid_t pid;

        /* Orphans of the whole namespace end up here too: wshd is their init. They are reaped silently. */
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                Job *j = job_find_running_pid(s, pid);

                if (j)
                        job_exited(s, j, status);
        }
}

/* The owner of attached jobs is gone: they are forgotten (they run on, and are reaped silently). */
static void connection_forget_jobs(Server *s, Connection *c) {
        if (c->n_attached == 0)
                return;
        FOREACH_ARRAY(j, s->jobs, WSHD_JOBS_MAX)
                if (j->in_use && j->attached && j->owner == c)
                        j->owner = NULL;
        c->n_attached = 0;
}

/* The child, between fork() and exec(). Reports failures on the job's stderr and exits as a shell would. */
static _noreturn_ _printf_(2, 3) void child_fail(int exit_status, const char *format, ...) {
        char what[512];
        int error = errno;
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(what, sizeof(what), format, ap);
        va_end(ap);
        (void) dprintf(STDERR_FILENO, "wshd: %s: %s\n", what, strerror(error));
        _exit(exit_status);
}

static _noreturn_ void job_child(Server *s, const WshdMessage *req, const int role_fd[], int slave) {
        static char *empty_env[] = { NULL };
        bool privileged;
        sigset_t mask;
        uint64_t caps;
        int null_fd, r;

        /* wshd blocks some signals and may have inherited ignored ones (SIGPIPE from wardend; glibc's
         * posix_spawn() leaves its two internal signals ignored), and both survive exec: the job starts
         * with every signal at its default. The raw system call, because glibc's sigaction() refuses its
         * internal signals; all zeros is SIG_DFL with no flags and an empty mask in every architecture's
         * struct sigaction. */
        for (int sig = 1; sig < _NSIG; sig++) {
                uint64_t kernel_sigaction[4] = {};

                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) syscall(SYS_rt_sigaction, sig, kernel_sigaction, NULL, (size_t) (_NSIG / 8));
        }
        sigemptyset(&mask);
        (void) sigprocmask(SIG_SETMASK, &mask, NULL);

        if (setsid() < 0)
                child_fail(126, "setsid");

        if (slave >= 0) {
                if (ioctl(slave, TIOCSCTTY, 0) < 0)
                        child_fail(126, "make the pty the controlling terminal");
                for (int i = 0; i < 3; i++)
                        if (dup2(slave, i) < 0)
                                child_fail(126, "dup2");
        } else {
                /* wshd's stdin is /dev/null (opened before the container could touch /dev): a copy out of
                 * the way, since 0 itself may be replaced first. */
                null_fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
                if (null_fd < 0)
                        child_fail(126, "dup /dev/null");
                for (int i = 0; i < 3; i++)
                        if (dup2(role_fd[i] >= 0 ? role_fd[i] : null_fd, i) < 0)
                                child_fail(126, "dup2");
        }
        if (syscall(SYS_close_range, 3U, ~0U, 0) < 0)
                child_fail(126, "close_range");

        if (setrlimit(RLIMIT_NOFILE, &s->nofile) < 0)
                child_fail(126, "reset RLIMIT_NOFILE");
        for (size_t i = 0; i < req->n_rlimits; i++) {
                struct rlimit rl = {
                        .rlim_cur = (rlim_t) req->rlimits[i].soft,
                        .rlim_max = (rlim_t) req->rlimits[i].hard,
                };

                if (setrlimit((int) req->rlimits[i].resource, &rl) < 0)
                        child_fail(126, "setrlimit %" PRIu32, req->rlimits[i].resource);
        }

        /* Root gets the container's capabilities (wshd's bounding set already is no wider); anybody else
         * gets none, and an empty bounding set too, while we still hold CAP_SETPCAP. */
        privileged = req->uid == 0;
        if (!privileged) {
                r = bounding_set_limit(0);
                if (r < 0) {
                        errno = -r;
                        child_fail(126, "drop the bounding set");
                }
        }
        if (setgroups(req->n_groups, (const gid_t *) req->groups) < 0)
                child_fail(126, "setgroups");
        if (setgid((gid_t) req->gid) < 0)
                child_fail(126, "setgid %" PRIu32, req->gid);
        if (setuid((uid_t) req->uid) < 0)
                child_fail(126, "setuid %" PRIu32, req->uid);
        /* setuid() left the inheritable set alone, and root still has wshd's CAP_SYS_RESOURCE */
        caps = privileged ? CONTAINER_CAPABILITIES & wshd_capabilities : 0;
        r = capabilities_set(caps, caps, 0);
        if (r < 0) {
                errno = -r;
                child_fail(126, "set capabilities");
        }
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                child_fail(126, "clear the ambient capabilities");
        /* wshd has it already (inherited); said again because the filter depends on it */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                child_fail(126, "PR_SET_NO_NEW_PRIVS");
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &seccomp_prog) < 0)
                child_fail(126, "load the seccomp filter");

        /* as the job's user: a directory it may not enter is an error, not a back door */
        if (chdir(req->dir ?: "/") < 0)
                child_fail(126, "chdir '%s'", req->dir ?: "/");

        /* execvp() searches the PATH of the new environment */
        environ = req->env ?: empty_env;
        execvp(req->argv[0], req->argv);
        child_fail(errno == ENOENT ? 127 : 126, "execute '%s'", req->argv[0]);
}

/* A pty inside the container for a job: the master for wshd (and maybe the caller), the slave for the job,
 * owned by the job's user so that an unprivileged job can use it. */
static int pty_open(const WshdMessage *req, int *ret_master, int *ret_slave) {
        struct winsize ws = {
                .ws_row = (unsigned short) req->tty_rows,
                .ws_col = (unsigned short) req->tty_cols,
        };
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        char name[64];

        /* O_NOCTTY everywhere: wshd is a session leader without a terminal and must not get one. */
        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (master < 0)
                return -errno;
        if (grantpt(master) < 0 || unlockpt(master) < 0)
                return -errno;
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0) {
                /* kernels before 4.13 */
                if (ptsname_r(master, name, sizeof(name)) != 0)
                        return -errno;
                slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (slave < 0)
                        return -errno;
        }
        if (fchown(slave, (uid_t) req->uid, (gid_t) -1) < 0)
                return -errno;
        if (ioctl(master, TIOCSWINSZ, &ws) < 0)
                return -errno;

        *ret_master = TAKE_FD(master);
        *ret_slave = TAKE_FD(slave);
        return 0;
}

/* One of the caller's fds for the relay, as a private non-blocking file description where possible (a
 * reopen through /proc, so that O_NONBLOCK does not change the caller's): pipes, FIFOs, terminals. A
 * regular file is used as it is (reopening would lose its offset; it never blocks). A socket cannot be
 * reopened: its shared description is made non-blocking. */
static int relay_open_fd(Server *s, int fd, bool output, int *ret, bool *ret_plain) {
        char path[64];
        struct stat st;
        int flags, nfd;

        flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return -errno;
        /* never more than the caller gave */
        if ((flags & O_ACCMODE) == (output ? O_RDONLY : O_WRONLY))
                return -EBADF;
        if (fstat(fd, &st) < 0)
                return -errno;

        if (S_ISREG(st.st_mode)) {
                nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (nfd < 0)
                        return -errno;
                *ret = nfd;
                *ret_plain = true;
                return 0;
        }

        (void) snprintf(path, sizeof(path), "self/fd/%d", fd);
        nfd = openat(s->proc_fd,
                     path,
                     (output ? O_WRONLY | (flags & O_APPEND) : O_RDONLY) | O_NONBLOCK | O_NOCTTY |
                                     O_CLOEXEC);
        if (nfd < 0) {
                nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (nfd < 0)
                        return -errno;
                if (!(flags & O_NONBLOCK) && fcntl(nfd, F_SETFL, flags | O_NONBLOCK) < 0) {
                        int r = -errno;

                        (void) close(nfd);
                        return r;
                }
        }
        *ret = nfd;
        *ret_plain = false;
        return 0;
}

static int relay_new(Server *s, const int role_fd[], Relay **ret) {
        _cleanup_free_ Relay *r = malloc(sizeof(Relay));
        int k;

        if (!r)
                return -ENOMEM;
        *r = (Relay){
                .in_fd = -1,
                .out_fd = -1,
                .in_line_start = true,
        };
        k = relay_open_fd(s, role_fd[WSHD_FD_STDOUT], true, &r->out_fd, &r->plain[RELAY_OUT]);
        if (k < 0)
                return k;
        if (role_fd[WSHD_FD_STDIN] >= 0) {
                k = relay_open_fd(s, role_fd[WSHD_FD_STDIN], false, &r->in_fd, &r->plain[RELAY_IN]);
                if (k < 0) {
                        r->out_fd = safe_close(r->out_fd);
                        return k;
                }
        }
        *ret = TAKE_PTR(r);
        return 0;
}

static uint32_t attached_job_id(Server *s) {
        for (;;) {
                uint32_t id = s->next_attached_id;

                s->next_attached_id = id == UINT32_MAX ? ATTACHED_JOB_ID_MIN : id + 1;
                if (!job_find(s, id))
                        return id;
        }
}

static void handle_spawn(Server *s, Connection *c, const WshdMessage *req) {
        int role_fd[_WSHD_FD_ROLE_MAX] = { -1, -1, -1 };
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        _cleanup_free_ Relay *relay = NULL;
        WshdMessage m;
        uint32_t id;
        pid_t pid;
        Job *j;
        int r;

        if (s->stopping) {
                (void) connection_reply_error(s, c, req->serial, EBUSY, "The container is being stopped.");
                return;
        }
        if (req->n_fds != req->n_fd_roles) {
                (void) connection_reply_error(
                                s,
                                c,
                                req->serial,
                                EINVAL,
                                "%zu fds but %zu fd roles.",
                                req->n_fds,
                                req->n_fd_roles);
                return;
        }
        for (size_t i = 0; i < req->n_fds; i++) {
                if (role_fd[req->fd_roles[i]] >= 0) {
                        (void) connection_reply_error(
                                        s,
                                        c,
                                        req->serial,
                                        EINVAL,
                                        "fd role %" PRIu32 " given twice.",
                                        req->fd_roles[i]);
                        return;
                }
                role_fd[req->fd_roles[i]] = req->fds[i];
        }
        for (size_t i = 0; i < req->n_rlimits; i++)
                if (req->rlimits[i].resource >= RLIMIT_NLIMITS ||
                    req->rlimits[i].soft > req->rlimits[i].hard) {
                        (void) connection_reply_error(
                                        s,
                                        c,
                                        req->serial,
                                        EINVAL,
                                        "Invalid rlimit %" PRIu32 " (%" PRIu64 ", %" PRIu64 ").",
                                        req->rlimits[i].resource,
                                        req->rlimits[i].soft,
                                        req->rlimits[i].hard);
                        return;
                }
        if (req->tty && (req->tty_rows > USHRT_MAX || req->tty_cols > USHRT_MAX)) {
                (void) connection_reply_error(s, c, req->serial, EINVAL, "Window size out of range.");
                return;
        }
        if (req->tty && req->n_fds > 0 && role_fd[WSHD_FD_STDOUT] < 0) {
                (void) connection_reply_error(
                                s, c, req->serial, EINVAL, "A job with a tty and fds needs a STDOUT fd.");
                return;
        }
        if (req->job_id >= ATTACHED_JOB_ID_MIN) {
                (void) connection_reply_error(
                                s,
                                c,
                                req->serial,
                                EINVAL,
                                "Job ids from %" PRIu32 " up are wshd's own.",
                                ATTACHED_JOB_ID_MIN);
                return;
        }
        if (req->job_id != 0 && job_find(s, req->job_id)) {
                (void) connection_reply_error(
                                s, c, req->serial, EEXIST, "Job %" PRIu32 " exists already.", req->job_id);
                return;
        }
        j = job_free_slot(s);
        if (!j) {
                (void) connection_reply_error(
                                s,
                                c,
                                req->serial,
                                EAGAIN,
                                "Too many jobs (%u), release some.",
                                WSHD_JOBS_MAX);
                return;
        }

        if (req->tty) {
                r = pty_open(req, &master, &slave);
                if (r < 0) {
                        (void) connection_reply_error(
                                        s, c, req->serial, r, "Failed to make a pty: %s", strerror(-r));
                        return;
                }
                if (req->n_fds > 0) {
                        r = relay_new(s, role_fd, &relay);
                        if (r < 0) {
                                (void) connection_reply_error(
                                                s,
                                                c,
                                                req->serial,
                                                r,
                                                "Failed to set up the relay: %s",
                                                strerror(-r));
                                return;
                        }
                }
        }

        id = req->job_id != 0 ? req->job_id : attached_job_id(s);
        pid = fork();
        if (pid < 0) {
                r = -errno;
                (void) connection_reply_error(s, c, req->serial, r, "fork: %s", strerror(-r));
                return;
        }
        if (pid == 0)
                job_child(s, req, role_fd, slave);

        log_debug("Job %" PRIu32 " is PID %d: %s", id, (int) pid, req->argv[0]);
        *j = (Job){
                .in_use = true,
                .id = id,
                .pid = pid,
                .state = JOB_RUNNING,
                .master_fd = TAKE_FD(master),
                .relay = TAKE_PTR(relay),
                .attached = req->job_id == 0,
                .owner = req->job_id == 0 ? c : NULL,
        };
        s->n_jobs++;
        if (j->relay)
                s->n_relays++;
        if (j->attached)
                c->n_attached++;

        wshd_message_init(&m, WSHD_REPLY_SPAWN, req->serial);
        m.job_id = id;
        m.pid = (uint32_t) pid;
        if (j->master_fd >= 0 && !j->relay) {
                /* the caller relays; we keep our copy for RESIZE */
                m.fds[0] = j->master_fd;
                m.n_fds = 1;
        }
        (void) connection_reply(s, c, &m);

        if (j->relay)
                relay_run(s, j);
}

static Job *running_job(Server *s, Connection *c, const WshdMessage *req) {
        Job *j = job_find(s, req->job_id);

        if (!j || j->state != JOB_RUNNING) {
                (void) connection_reply_error(
                                s, c, req->serial, ESRCH, "Job %" PRIu32 " is not running.", req->job_id);
                return NULL;
        }
        return j;
}

static void handle_signal(Server *s, Connection *c, const WshdMessage *req) {
        WshdMessage m;
        Job *j;

        j = running_job(s, c, req);
        if (!j)
                return;
        /* The job is a session leader, so its PID is also its process group's. Right after the fork the
         * child may not have called setsid() yet: then it is all there is of the job, and the signal goes
         * to it alone (no handler of wshd's runs in it; what wshd blocks stays pending until the child
         * unblocks it, with the default disposition by then). */
        if (kill(-j->pid, (int) req->signal) < 0 &&
            (errno != ESRCH || kill(j->pid, (int) req->signal) < 0)) {
                (void) connection_reply_error(s, c, req->serial, errno, "kill: %s", strerror(errno));
                return;
        }
        wshd_message_init(&m, WSHD_REPLY_OK, req->serial);
        (void) connection_reply(s, c, &m);
}

static void handle_resize(Server *s, Connection *c, const WshdMessage *req) {
        struct winsize ws = {
                .ws_row = (unsigned short) req->tty_rows,
                .ws_col = (unsigned short) req->tty_cols,
        };
        WshdMessage m;
        Job *j;

        if (!req->tty || req->tty_rows > USHRT_MAX || req->tty_cols > USHRT_MAX) {
                (void) connection_reply_error(s, c, req->serial, EINVAL, "RESIZE needs a window size.");
                return;
        }
        j = running_job(s, c, req);
        if (!j)
                return;
        if (j->master_fd < 0) {
                (void) connection_reply_error(
                                s, c, req->serial, ENOTTY, "Job %" PRIu32 " has no tty.", req->job_id);
                return;
        }
        if (ioctl(j->master_fd, TIOCSWINSZ, &ws) < 0) {
                (void) connection_reply_error(s, c, req->serial, errno, "TIOCSWINSZ: %s", strerror(errno));
                return;
        }
        wshd_message_init(&m, WSHD_REPLY_OK, req->serial);
        (void) connection_reply(s, c, &m);
}

static void handle_watch(Server *s, Connection *c, const WshdMessage *req) {
        _cleanup_free_ uint32_t *running = NULL;
        _cleanup_free_ WshdExited *exited = NULL;
        WshdMessage m;

        wshd_message_init(&m, WSHD_REPLY_WATCH, req->serial);
        if (s->n_jobs > 0) {
                running = malloc(sizeof(uint32_t) * s->n_jobs);
                exited = malloc(sizeof(WshdExited) * s->n_jobs);
                if (!running || !exited) {
                        (void) connection_reply_error(s, c, req->serial, ENOMEM, "Out of memory.");
                        return;
                }
        }
        FOREACH_ARRAY(j, s->jobs, WSHD_JOBS_MAX) {
                if (!j->in_use || j->attached)
                        continue;
                /* a draining job's exit is not final yet: it comes as an event */
                if (j->state == JOB_EXITED)
                        exited[m.n_exited++] = (WshdExited){
                                .job_id = j->id,
                                .pid = (uint32_t) j->pid,
                                .wait_status = (uint32_t) j->wait_status,
                        };
                else
                        running[m.n_running++] = j->id;
        }
        m.running = running;
        m.exited = exited;

        /* from now on every exit comes as an event; none can happen in between (we are single-threaded) */
        c->watcher = true;
        (void) connection_reply(s, c, &m);
}

static void handle_release(Server *s, Connection *c, const WshdMessage *req) {
        WshdMessage m;
        Job *j;

        j = job_find(s, req->job_id);
        if (!j) {
                (void) connection_reply_error(s, c, req->serial, ESRCH, "No job %" PRIu32 ".", req->job_id);
                return;
        }
        if (j->state != JOB_EXITED) {
                (void) connection_reply_error(
                                s, c, req->serial, EBUSY, "Job %" PRIu32 " is still running.", req->job_id);
                return;
        }
        job_free(s, j);
        wshd_message_init(&m, WSHD_REPLY_OK, req->serial);
        (void) connection_reply(s, c, &m);
}

static void server_relays(Server *s, bool deadlines) {
        uint64_t now = deadlines ? monotonic_usec() : 0;

        if (s->n_relays == 0)
                return;
        FOREACH_ARRAY(j, s->jobs, WSHD_JOBS_MAX)
                if (j->in_use && j->relay &&
                    (j->relay->again ||
                     (deadlines && j->state == JOB_DRAINING && now >= j->relay->drain_until)))
                        relay_run(s, j);
}

static void stop_check(Server *s) {
        int n;

        if (!s->stopping)
                return;

        reap_children(s);
        n = count_processes(s);
        if (n < 0) {
                log_warning_errno(n, "Failed to count processes, ignoring: %m");
                return;
        }
        if (n > 0) {
                bool waited_for = false;

                if (monotonic_usec() < s->kill_at)
                        return;
                /* again on every round: something may have forked meanwhile */
                (void) kill(-1, SIGKILL);

                /* Once everybody who asked has hung up (their own timeout), stop killing: what is left
                 * cannot be killed (a zombie whose parent is outside, or stuck in the kernel), and
                 * processes started later must not die for an old STOP. */
                FOREACH_ARRAY(c, s->connections, CONNECTIONS_MAX)
                        if (c->fd >= 0 && c->n_pending_stops > 0)
                                waited_for = true;
                if (!waited_for) {
                        log_warning("%i process(es) survived SIGKILL and nobody waits for them any more.",
                                    n);
                        s->stopping = false;
                }
                return;
        }

        log_info("All processes are gone.");
        s->stopping = false;
        FOREACH_ARRAY(c, s->connections, CONNECTIONS_MAX) {
                size_t k = c->n_pending_stops;

                c->n_pending_stops = 0;
                for (size_t i = 0; i < k && c->fd >= 0; i++) {
                        WshdMessage m;

                        wshd_message_init(&m, WSHD_REPLY_OK, c->pending_stops[i]);
                        (void) connection_reply(s, c, &m);
                }
        }
}

static void handle_stop(Server *s, Connection *c, const WshdMessage *req) {
        uint64_t deadline;

        if (c->n_pending_stops >= PENDING_STOPS_MAX) {
                (void) connection_reply_error(s, c, req->serial, EBUSY, "Too many STOP requests pending.");
                return;
        }
        c->pending_stops[c->n_pending_stops++] = req->serial;

        log_info("Stopping all processes (SIGKILL after %" PRIu32 " ms).", req->timeout_ms);
        deadline = monotonic_usec() + (uint64_t) req->timeout_ms * USEC_PER_MSEC;
        if (req->timeout_ms == 0)
                (void) kill(-1, SIGKILL);
        else {
                /* PID 1 of a namespace signals everybody in it but itself with kill(-1). SIGCONT so that
                 * stopped processes get to handle the SIGTERM. */
                (void) kill(-1, SIGTERM);
                (void) kill(-1, SIGCONT);
        }
        if (!s->stopping || deadline < s->kill_at)
                s->kill_at = deadline;
        s->stopping = true;

        stop_check(s);
}

static void handle_request(Server *s, Connection *c, const WshdMessage *req) {
        WshdMessage m;
        int n;

        switch (req->type) {
        case WSHD_REQUEST_HELLO:
                reap_children(s);
                n = count_processes(s);
                if (n < 0) {
                        (void) connection_reply_error(s, c, req->serial, n, "Failed to count processes.");
                        return;
                }
                wshd_message_init(&m, WSHD_REPLY_HELLO, req->serial);
                m.version = WSHD_PROTOCOL_VERSION;
                m.pid = s->host_pid;
                m.n_processes = (uint32_t) n;
                (void) connection_reply(s, c, &m);
                return;

        case WSHD_REQUEST_STOP:
                handle_stop(s, c, req);
                return;

        case WSHD_REQUEST_SPAWN:
                handle_spawn(s, c, req);
                return;

        case WSHD_REQUEST_SIGNAL:
                handle_signal(s, c, req);
                return;

        case WSHD_REQUEST_RESIZE:
                handle_resize(s, c, req);
                return;

        case WSHD_REQUEST_WATCH:
                handle_watch(s, c, req);
                return;

        case WSHD_REQUEST_RELEASE:
                handle_release(s, c, req);
                return;

        default:
                log_debug("Unknown request type %u.", req->type);
                (void) connection_reply_error(
                                s, c, req->serial, EOPNOTSUPP, "Unknown request type %u.", req->type);
        }
}

static void connection_process(Server *s, Connection *c) {
        for (unsigned i = 0; i < MESSAGES_PER_WAKEUP && c->fd >= 0; i++) {
                WshdMessage req;
                int r;

                r = wshd_message_recv(c->fd, &req);
                if (r == -EAGAIN)
                        return;
                if (r == -EBADMSG || r == -EPROTO) {
                        log_debug_errno(r, "Malformed request, closing connection: %m");
                        (void) connection_reply_error(s, c, 0, r, "Malformed request.");
                        connection_close(s, c);
                        return;
                }
                if (r < 0) {
                        if (r != -ECONNRESET)
                                log_debug_errno(r, "Failed to receive request, closing connection: %m");
                        connection_close(s, c);
                        return;
                }

                c->last_active = monotonic_usec();
                c->spoke = true;
                handle_request(s, c, &req);
                wshd_message_done(&req); /* also closes fds nobody asked for */
        }
}

/* Idle: waits for nothing of its own (no STOP, no WATCH, no attached job) and has sent nothing that is still
 * unread. A request that waits for its turn is not idleness: wardend sends its SPAWNs on one connection
 * each, and a burst of them (500 Runs at once) had the oldest ones, not yet read, closed to make room for
 * the newest, whose callers then got "Connection reset by peer" (found by
 * tests/integration/test-hostile.sh). Nor is a connection just accepted whose first request has not arrived
 * yet: closing it made wardend's write of the SPAWN fail with EPIPE (test-hostile in an emulated guest,
 * where that window is wide). */
static bool connection_idle(const Connection *c, uint64_t now) {
        char b;

        if (c->n_pending_stops > 0 || c->watcher || c->n_attached > 0)
                return false;
        if (!c->spoke && now < c->last_active + FIRST_REQUEST_GRACE_USEC)
                return false;
        return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) <= 0; /* nothing unread (or the peer is gone) */
}

/* A free slot; if there is none, the connection idle for the longest time (still open: it is closed only
 * once a new one takes its place), so that clients that connect and then say nothing cannot lock others
 * out. NULL if no connection is idle. */
static Connection *connection_slot(Server *s) {
        Connection *oldest = NULL;
        uint64_t now = monotonic_usec();

        FOREACH_ARRAY(c, s->connections, CONNECTIONS_MAX) {
                if (c->fd < 0)
                        return c;
                if ((!oldest || c->last_active < oldest->last_active) && connection_idle(c, now))
                        oldest = c;
        }
        return oldest;
}

/* Stops accepting for ACCEPT_RETRY_USEC; new connections wait in the listen backlog meanwhile. */
static void server_pause_accept(Server *s) {
        struct epoll_event ev = { .events = 0, .data.u64 = EPOLL_LISTEN };

        (void) epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, s->listen_fd, &ev);
        s->listen_resume_at = monotonic_usec() + ACCEPT_RETRY_USEC;
}

static void server_accept(Server *s) {
        for (;;) {
                struct epoll_event ev = { .events = EPOLLIN };
                Connection *slot;
                int fd;

                slot = connection_slot(s);
                if (!slot) {
                        /* every connection has a request waiting or waits for something: the new ones stay
                         * in the backlog (their connect() waits, or fails with EAGAIN and is tried again) */
                        log_debug("Too many busy connections, pausing accept().");
                        server_pause_accept(s);
                        return;
                }

                fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                return;
                        /* Out of fds or memory: stop listening for a moment rather than spin. */
                        log_warning_errno(errno, "Failed to accept connection, pausing: %m");
                        server_pause_accept(s);
                        return;
                }

                if (slot->fd >= 0) {
                        log_debug("Too many connections, closing the one idle for the longest time.");
                        connection_close(s, slot);
                }

                ev.data.u64 = EPOLL_CONNECTION + (uint64_t) (slot - s->connections);
                if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                        log_warning_errno(errno, "Failed to watch connection, refusing it: %m");
                        (void) close(fd);
                        continue;
                }
                *slot = (Connection){ .fd = fd, .last_active = monotonic_usec() };
        }
}

static void server_signal(Server *s) {
        struct signalfd_siginfo si;

        while (read(s->signal_fd, &si, sizeof(si)) == (ssize_t) sizeof(si))
                switch (si.ssi_signo) {
                case SIGCHLD:
                        reap_children(s);
                        break;
                case SIGTERM:
                case SIGINT:
                        /* Blocked signals reach PID 1 even from inside its namespace (the kernel's
                         * protection of init only covers signals it does not handle): one sent by a
                         * process of the container (its PID is visible to us) is ignored. From outside
                         * (systemd stopping the scope) the sender's PID is 0 here. */
                        if (si.ssi_pid != 0) {
                                log_debug("Ignoring SIG%s from PID %" PRIu32 " in the container.",
                                          si.ssi_signo == SIGTERM ? "TERM" : "INT",
                                          si.ssi_pid);
                                break;
                        }
                        /* The scope is being stopped. Leaving is enough: when PID 1 of a namespace exits,
                         * the kernel kills everything else in it. */
                        log_info("Received SIG%s, exiting.", si.ssi_signo == SIGTERM ? "TERM" : "INT");
                        _exit(EXIT_SUCCESS);
                default:
                        break;
                }
}

static int server_timeout_ms(Server *s) {
        uint64_t now = monotonic_usec(), next = UINT64_MAX;

        if (s->stopping) {
                next = now + STOP_POLL_USEC;
                /* before the deadline, wake up for it; after it, keep polling (not spinning) */
                if (s->kill_at > now)
                        next = MIN(next, s->kill_at);
        }
        if (s->listen_resume_at > 0)
                next = MIN(next, s->listen_resume_at);
        if (s->n_relays > 0)
                FOREACH_ARRAY(j, s->jobs, WSHD_JOBS_MAX) {
                        if (!j->in_use || !j->relay)
                                continue;
                        if (j->relay->again)
                                return 0;
                        if (j->state == JOB_DRAINING)
                                next = MIN(next, j->relay->drain_until);
                }
        if (next == UINT64_MAX)
                return -1;
        /* round up, so that we do not wake up just before the deadline */
        return (int) MIN((next - MIN(next, now) + 999) / 1000, (uint64_t) INT32_MAX);
}

static _noreturn_ void server_run(Server *s) {
        for (;;) {
                struct epoll_event events[16];
                int n;

                n = epoll_wait(s->epoll_fd, events, ELEMENTSOF(events), server_timeout_ms(s));
                if (n < 0) {
                        if (errno != EINTR) {
                                log_error_errno(errno, "epoll_wait failed: %m");
                                (void) usleep(100 * 1000);
                        }
                        continue;
                }

                for (int i = 0; i < n; i++) {
                        uint64_t d = events[i].data.u64;
                        Connection *c;
                        Job *j;

                        if (d == EPOLL_LISTEN)
                                server_accept(s);
                        else if (d == EPOLL_SIGNAL)
                                server_signal(s);
                        else if ((j = job_from_key(s, d)) && j->relay)
                                relay_run(s, j);
                        else if ((c = connection_from_index(s, d)) && c->fd >= 0)
                                connection_process(s, c);
                }
                server_relays(s, true);

                if (s->listen_resume_at > 0 && monotonic_usec() >= s->listen_resume_at) {
                        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EPOLL_LISTEN };

                        (void) epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, s->listen_fd, &ev);
                        s->listen_resume_at = 0;
                }
                stop_check(s);
        }
}

/* The filter wardend compiled, as raw BPF: read once here (the helper), before anything of the container
 * exists; wshd and every job inherit it in memory. */
static void read_seccomp_filter(void) {
        struct stat st;
        ssize_t n;

        if (fstat(arg_seccomp_fd, &st) < 0)
                setup_fail(errno, "stat --seccomp-fd");
        if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
            st.st_size % (off_t) sizeof(struct sock_filter) != 0 ||
            st.st_size > (off_t) sizeof(seccomp_insns))
                setup_fail(EBADMSG, "seccomp filter of %lld bytes", (long long) st.st_size);
        do
                n = pread(arg_seccomp_fd, seccomp_insns, (size_t) st.st_size, 0);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t) st.st_size)
                setup_fail(n < 0 ? errno : EIO, "read the seccomp filter");
        seccomp_prog.len = (unsigned short) (st.st_size / (off_t) sizeof(struct sock_filter));
        (void) close(arg_seccomp_fd);
        arg_seccomp_fd = -1;
}

static void write_id_map(pid_t pid, const char *which) {
        char path[64], map[64];
        int fd, n;

        (void) snprintf(path, sizeof(path), "/proc/%i/%s", (int) pid, which);
        n = snprintf(map, sizeof(map), "0 %" PRIu32 " %" PRIu32 "\n", arg_userns, USERNS_RANGE_SIZE);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                setup_fail(errno, "open '%s'", path);
        if (write(fd, map, (size_t) n) != n)
                setup_fail(errno, "write '%s'", path);
        (void) close(fd);
}

/*
 * The container's user namespace, and its network, IPC and UTS namespaces owned by it (so that root in the
 * container may bind low ports and use raw sockets in its own network namespace): made by a child, since we
 * must stay the host's root until wshd is set up. We write the child's id maps (as the host's root we may
 * map any range), keep its user namespace and join the others.
 */
static void setup_userns(void) {
        static const struct {
                const char *name;
                int type;
        } joined[] = {
                { "net", CLONE_NEWNET },
                { "ipc", CLONE_NEWIPC },
                { "uts", CLONE_NEWUTS },
        };
        int ready[2], hold[2], status;
        char path[64], c = 0;
        ssize_t n;
        pid_t pid;

        if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0)
                setup_fail(errno, "pipe2");
        pid = fork();
        if (pid < 0)
                setup_fail(errno, "fork");
        if (pid == 0) {
                (void) close(ready[0]);
                (void) close(hold[1]);
                /* The user namespace is made first and owns the others. */
                if (unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
                        _exit(errno < 256 ? errno : EXIT_FAILURE);
                if (write(ready[1], "R", 1) != 1)
                        _exit(EXIT_FAILURE);
                while (read(hold[0], &c, 1) < 0 && errno == EINTR) /* until we are done with it */
                        ;
                _exit(EXIT_SUCCESS);
        }
        (void) close(ready[1]);
        (void) close(hold[0]);
        do
                n = read(ready[0], &c, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1) {
                (void) close(hold[1]);
                if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) > 1)
                        setup_fail(WEXITSTATUS(status), "make a user namespace");
                setup_fail(EIO, "make a user namespace");
        }
        (void) close(ready[0]);

        write_id_map(pid, "uid_map");
        write_id_map(pid, "gid_map");

        (void) snprintf(path, sizeof(path), "/proc/%i/ns/user", (int) pid);
        userns_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (userns_fd < 0)
                setup_fail(errno, "open '%s'", path);
        FOREACH_ARRAY(j, joined, ELEMENTSOF(joined)) {
                int fd;

                (void) snprintf(path, sizeof(path), "/proc/%i/ns/%s", (int) pid, j->name);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        setup_fail(errno, "open '%s'", path);
                if (setns(fd, j->type) < 0)
                        setup_fail(errno, "join the %s namespace", j->name);
                (void) close(fd);
        }

        (void) close(hold[1]);
        (void) waitpid(pid, NULL, 0);
}

/* PID 1 of the new namespaces. Never returns. */
static _noreturn_ void run_wshd(int pid_fd) {
        Server s = {
                .epoll_fd = -1,
                .listen_fd = -1,
                .signal_fd = -1,
                .proc_fd = -1,
        };
        pid_t host_pid;
        ssize_t n;

        FOREACH_ARRAY(c, s.connections, CONNECTIONS_MAX)
                c->fd = -1;
        FOREACH_ARRAY(j, s.jobs, WSHD_JOBS_MAX)
                j->master_fd = -1;
        s.next_attached_id = ATTACHED_JOB_ID_MIN;

        /* The helper sends our PID as it sees it (fork()'s return value) once it has written PID=. EOF
         * means it died before that: wardend gave up on us. */
        do
                n = read(pid_fd, &host_pid, sizeof(host_pid));
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t) sizeof(host_pid))
                _exit(EXIT_FAILURE);
        (void) close(pid_fd);
        s.host_pid = (uint32_t) host_pid;

        setup_root(&s);
        server_setup_loop(&s);

        /* Relays hold fds (a pty master and two of the caller's per tty job): wshd takes what the hard limit
         * allows, its jobs get the limit it was started with. */
        if (getrlimit(RLIMIT_NOFILE, &s.nofile) < 0)
                setup_fail(errno, "getrlimit RLIMIT_NOFILE");
        {
                struct rlimit rl = { .rlim_cur = s.nofile.rlim_max, .rlim_max = s.nofile.rlim_max };

                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        log_warning_errno(errno, "Failed to raise RLIMIT_NOFILE, ignoring: %m");
        }

        log_info("Ready, PID %" PRIu32 " on the host.", s.host_pid);
        status_write("READY=1\n");
        arg_status_fd = safe_close(arg_status_fd);
        arg_status_fd = -1;

        server_run(&s);
}

int main(int argc, char *argv[]) {
        static char prefix[128];
        int pid_pipe[2];
        sigset_t mask;
        char go = 0;
        pid_t pid;
        ssize_t n;
        int r;

        log_set_prefix("wshd");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        (void) snprintf(prefix, sizeof(prefix), "wshd[%s]", arg_hostname);
        log_set_prefix(prefix);

        /* wardend raises its own soft limit of descriptors (it holds a few per container); the container's
         * processes start from the usual 1024 again, as under systemd. */
        {
                struct rlimit rl;

                if (getrlimit(RLIMIT_NOFILE, &rl) >= 0 && rl.rlim_cur > 1024) {
                        rl.rlim_cur = 1024;
                        (void) setrlimit(RLIMIT_NOFILE, &rl);
                }
        }
        log_set_max_level(arg_verbose ? LOG_DEBUG : LOG_INFO);

        /* Blocked before the fork so that no signal is lost before wshd reads them from its signalfd.
         * SIGPIPE is blocked (not ignored) so that writes to a closed pipe fail with EPIPE instead; a
         * blocked mask is reset before exec, an ignored disposition would be inherited. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGPIPE);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                setup_fail(errno, "sigprocmask");

        read_seccomp_filter();

        /* Namespaces are not processes: they may be made before we are in the scope. The network namespace
         * first, so that wardend can create the veth while systemd starts the scope. */
        if (arg_userns > 0)
                setup_userns();
        else if (unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
                setup_fail(errno, "unshare network, IPC and UTS namespaces");
        status_write("NETNS=1\n");

        /* No process is made before wardend says so: it first moves us into the container's scope. */
        do
                n = read(arg_go_fd, &go, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1 || go != 'G')
                _exit(EXIT_FAILURE);
        (void) close(arg_go_fd);

        if (pipe2(pid_pipe, O_CLOEXEC) < 0)
                setup_fail(errno, "pipe2");

        /* We are in the scope now: which of its cgroups the container gets to see, while the paths still
         * say where we are. */
        {
                _cleanup_free_ char *text = NULL;

                r = read_full_file("/proc/self/cgroup", 64 * 1024, &text, NULL);
                if (r < 0)
                        setup_fail(r, "read /proc/self/cgroup");
                r = cg_view_parse(text, &cgroup_view);
                if (r < 0)
                        setup_fail(r, "parse /proc/self/cgroup");
        }

        /* unshare() and then fork() rather than clone(): the same namespaces, but glibc's fork() keeps its
         * own state consistent in the child. The first child after CLONE_NEWPID is PID 1 of the new PID
         * namespace; the other namespaces are ours already and it inherits them. The cgroup namespace is
         * made here, in the scope, so that the scope's cgroup is its root: the container's processes see
         * their cgroup as "/" and nothing of the host's tree. */
        if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWCGROUP) < 0)
                setup_fail(errno, "unshare mount, PID and cgroup namespaces");

        pid = fork();
        if (pid < 0)
                setup_fail(errno, "fork into the new namespaces");
        if (pid == 0) {
                (void) close(pid_pipe[1]);
                run_wshd(pid_pipe[0]);
        }

        /* The helper: report and leave without waiting, wshd is reparented to the host's reaper. */
        {
                char line[64];

                (void) snprintf(line, sizeof(line), "PID=%d\n", (int) pid);
                status_write(line);
        }
        (void) close(pid_pipe[0]);
        if (write(pid_pipe[1], &pid, sizeof(pid)) != (ssize_t) sizeof(pid))
                log_error_errno(errno, "Failed to pass PID to wshd: %m"); /* wshd then exits on EOF */
        _exit(EXIT_SUCCESS);
}
