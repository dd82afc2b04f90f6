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
 * Processes (SPAWN; "jobs" on the wire): wshd forks, the child sets itself up and execs; the exit is
 * recorded when wshd reaps it and reported to the watchers (or, for an attached process, to the connection
 * that spawned it). A process with a tty gets a pty made here, inside the container; when the caller passed
 * output fds, wshd relays between the pty master and them in its own loop, non-blocking, with a bounded
 * buffer per direction, and reports the exit only once what the process wrote to its terminal has been
 * passed on. Nothing here ever waits for a
 * child or for a peer: a connection that cannot take a message is closed.
 *
 * Confinement (wardend(8), CONFINEMENT): wshd masks the dangerous parts of /proc and /sys before it pivots,
 * then confines itself and every process it starts (wshd-confine.h). With --userns=BASE the helper makes a
 * user namespace whose root is host uid BASE (and that owns the network, IPC and UTS namespaces); wshd sets
 * everything up as the host's root and enters that user namespace last, so that its own mount and PID
 * namespaces stay owned by the host's and nobody in the container can ever change them.
 *
 * The parts: wshd-setup.h (namespaces, mounts, pivot_root, with the one way a set-up step fails),
 * wshd-confine.h (capabilities, no_new_privs, seccomp), wshd-server.h (the socket, connections, requests,
 * the process table), wshd-process.h (a process between fork() and exec()), wshd-pty.h (ptys, the relay,
 * window sizes). This file is the order of things: the helper's steps, then wshd's.
 *
 * Links libc and src/shared only: it runs in every container for its whole life and should be small.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "confine.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "wshd-confine.h"
#include "wshd-server.h"
#include "wshd-setup.h"

static const char *arg_root = NULL;
static const char *arg_socket = NULL;
static const char *arg_hostname = NULL;
static int arg_go_fd = -EBADF;
static int arg_status_fd = -EBADF;
static int arg_seccomp_fd = -EBADF;
static uint32_t arg_userns = 0; /* host uid (= gid) of the container's root; 0: no user namespace */
static bool arg_verbose = false;

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

/* Reads exactly 'size' bytes, retrying on EINTR; -EPIPE at EOF (the writer gave up on us). */
static int read_exactly(int fd, void *buf, size_t size) {
        ssize_t n;

        do
                n = read(fd, buf, size);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return n == (ssize_t) size ? 0 : -EPIPE;
}

/* The helper, before the go byte: signals blocked, the seccomp filter read, the early namespaces. */
static int helper_before_go(Setup *setup, Confinement *confinement) {
        sigset_t mask;
        int r;

        /* Blocked before the fork so that no signal is lost before wshd reads them from its signalfd.
         * SIGPIPE is blocked (not ignored) so that writes to a closed pipe fail with EPIPE instead; a
         * blocked mask is reset before exec, an ignored disposition would be inherited. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGPIPE);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return setup_error(-errno, "sigprocmask");

        r = confinement_read_filter(confinement, TAKE_FD(arg_seccomp_fd));
        if (r < 0)
                return r;
        return setup_early_namespaces(setup);
}

/* The helper, in the scope: the cgroup view, the late namespaces, and wshd forked into them. Returns in
 * both: *ret_pid is 0 in wshd. */
static int helper_fork_wshd(Setup *setup, int pid_pipe[static 2], pid_t *ret_pid) {
        pid_t pid;
        int r;

        if (pipe2(pid_pipe, O_CLOEXEC) < 0)
                return setup_error(-errno, "pipe2");
        r = setup_read_cgroup_view(setup);
        if (r < 0)
                return r;
        r = setup_late_namespaces();
        if (r < 0)
                return r;
        pid = fork();
        if (pid < 0)
                return setup_error(-errno, "fork into the new namespaces");
        *ret_pid = pid;
        return 0;
}

/* wshd: the root, confinement, the last steps, then the server. */
static int wshd_set_up(Setup *setup, Confinement *confinement, uint32_t host_pid, Server **ret) {
        _cleanup_close_ int listen_fd = -EBADF, proc_fd = -EBADF;
        int r;

        r = setup_mounts_private();
        if (r < 0)
                return r;
        /* The socket lives on the host side, outside the root: bind it while we can still see it. */
        listen_fd = server_listen(arg_socket);
        if (listen_fd < 0)
                return listen_fd;
        proc_fd = setup_root(setup);
        if (proc_fd < 0)
                return proc_fd;
        /* Entering the user namespace gives a full bounding set in it: confined after that. */
        r = setup_enter_userns(setup);
        if (r < 0)
                return r;
        r = confinement_self(confinement);
        if (r < 0)
                return r;
        r = setup_finish((const int[]){ listen_fd, proc_fd, setup_status_fd() }, 3);
        if (r < 0)
                return r;
        return server_new(TAKE_FD(listen_fd), TAKE_FD(proc_fd), host_pid, confinement, ret);
}

/* PID 1 of the new namespaces. Never returns. */
static _noreturn_ void run_wshd(Setup *setup, Confinement *confinement, int pid_fd) {
        Server *server = NULL;
        pid_t host_pid;
        int r;

        /* The helper sends our PID as it sees it (fork()'s return value) once it has written PID=. EOF
         * means it died before that: wardend gave up on us, and nobody reads an ERROR= any more. */
        r = read_exactly(pid_fd, &host_pid, sizeof(host_pid));
        if (r < 0)
                _exit(EXIT_FAILURE);
        (void) close(pid_fd);

        r = wshd_set_up(setup, confinement, (uint32_t) host_pid, &server);
        if (r < 0)
                setup_fail(r);

        log_info("Ready, PID %d on the host.", (int) host_pid);
        setup_status_write("READY=1\n");
        setup_status_close();

        server_run(server);
}

int main(int argc, char *argv[]) {
        /* static: the filter is 32 KiB, and wshd and every process inherit it */
        static Confinement confinement = {};
        static char prefix[128];
        _cleanup_close_pair_ int pid_pipe[2] = EBADF_PAIR;
        Setup setup = { .userns_fd = -EBADF };
        char go = 0, line[64];
        pid_t pid;
        int r;

        log_set_prefix("wshd");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        (void) snprintf(prefix, sizeof(prefix), "wshd[%s]", arg_hostname);
        log_set_prefix(prefix);
        setup_status_set_fd(arg_status_fd);
        setup.root = arg_root;
        setup.hostname = arg_hostname;
        setup.userns = arg_userns;

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

        r = helper_before_go(&setup, &confinement);
        if (r < 0)
                setup_fail(r);
        setup_status_write("NETNS=1\n");

        /* No process is made before wardend says so: it first moves us into the container's scope. EOF or
         * anything else: wardend gave up on us. */
        r = read_exactly(arg_go_fd, &go, 1);
        if (r < 0 || go != 'G')
                _exit(EXIT_FAILURE);
        arg_go_fd = safe_close(arg_go_fd);

        r = helper_fork_wshd(&setup, pid_pipe, &pid);
        if (r < 0)
                setup_fail(r);
        if (pid == 0) {
                pid_pipe[1] = safe_close(pid_pipe[1]);
                run_wshd(&setup, &confinement, TAKE_FD(pid_pipe[0]));
        }

        /* The helper: report and leave without waiting, wshd is reparented to the host's reaper. */
        (void) snprintf(line, sizeof(line), "PID=%d\n", (int) pid);
        setup_status_write(line);
        pid_pipe[0] = safe_close(pid_pipe[0]);
        if (write(pid_pipe[1], &pid, sizeof(pid)) != (ssize_t) sizeof(pid))
                log_error_errno(errno, "Failed to pass PID to wshd: %m"); /* wshd then exits on EOF */
        _exit(EXIT_SUCCESS);
}
