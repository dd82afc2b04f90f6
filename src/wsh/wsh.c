/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * wsh: run a command in a container by talking to its wshd directly (root only, for debugging; after
 * Warden's wsh). It spawns an attached job (job_id 0) and waits for its exit on the same connection:
 *
 *     without --tty  the job gets wsh's own stdin, stdout and stderr: pipes as they are, anything else
 *                    (files, terminals, sockets) through pipes that wsh relays, so that no host object
 *                    reaches the job (stdio-relay.h); wsh forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to
 *                    it and waits.
 *     with --tty     wshd makes a pty in the container and hands its master back; wsh relays between it
 *                    and its own stdin/stdout, with the terminal in raw mode if stdin is one (restored on
 *                    every way out), and forwards window size changes.
 *
 * wsh exits with the job's exit status, or 128 + the signal that killed it; 255 if it could not run the
 * job (wshd unreachable, SPAWN refused), 2 for bad usage.
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "handle.h"
#include "macro.h"
#include "parse-util.h"
#include "rlimit-util.h"
#include "stdio-relay.h"
#include "strv.h"
#include "wshd-proto.h"

#define DEFAULT_DEPOT LOCALSTATEDIR "/lib/warden/containers"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define EXIT_USAGE 2
#define EXIT_WSH 255
#define BUFFER_SIZE 16384

static const char *arg_socket = NULL;
static const char *arg_handle = NULL;
static uint32_t arg_uid = 0, arg_gid = 0;
static const char *arg_dir = NULL;
static char **arg_env = NULL;
static WshdRlimit arg_rlimits[WSHD_RLIMITS_MAX];
static size_t arg_n_rlimits = 0;
static bool arg_tty = false;
static char **arg_command = NULL;

/* The terminal as it was before raw mode, restored at exit. */
static struct termios saved_termios;
static bool termios_saved = false;

static void restore_terminal(void) {
        if (termios_saved)
                (void) tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
        termios_saved = false;
}

static _noreturn_ _printf_(2, 3) void die(int status, const char *format, ...) {
        va_list ap;

        restore_terminal();
        fputs("wsh: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(status);
}

static void help(void) {
        printf("wsh [--socket PATH | HANDLE] [OPTIONS...] [--] COMMAND [ARGUMENTS...]\n\n"
               "Run COMMAND in a warden container through its wshd (root only, for debugging).\n\n"
               "  -s --socket PATH      wshd's socket (default: %s/HANDLE/wshd.sock)\n"
               "  -u --user UID[:GID]   run as UID and GID (default 0:0; GID defaults to UID)\n"
               "  -d --dir DIR          working directory (default /)\n"
               "  -e --env K=V          set an environment variable (PATH, HOME and TERM have defaults)\n"
               "  -r --rlimit NAME=N    set a resource limit, soft and hard (N, SOFT:HARD, 'unlimited')\n"
               "  -t --tty              run on a pty (the terminal is put in raw mode)\n"
               "  -h --help             show this help\n",
               DEFAULT_DEPOT);
}

static int parse_rlimit_value(const char *s, uint64_t *ret) {
        if (strcasecmp(s, "unlimited") == 0 || strcasecmp(s, "infinity") == 0) {
                *ret = (uint64_t) RLIM_INFINITY;
                return 0;
        }
        return parse_uint64(s, ret);
}

/* NAME=N or NAME=SOFT:HARD; NAME as in prlimit(1), case-insensitive, with or without "RLIMIT_". */
static int parse_rlimit(const char *s, WshdRlimit *ret) {
        const char *eq = strchr(s, '='), *name = s, *colon;
        char buf[32];
        uint64_t soft, hard;
        size_t n;
        int r;

        if (!eq)
                return -EINVAL;
        n = (size_t) (eq - s);
        if (n > 7 && strncasecmp(s, "RLIMIT_", 7) == 0) {
                name += 7;
                n -= 7;
        }
        {
                char lower[16];
                int resource;

                if (n >= sizeof(lower))
                        return -EINVAL;
                for (size_t i = 0; i < n; i++)
                        lower[i] = (char) tolower((unsigned char) name[i]);
                lower[n] = 0;
                resource = rlimit_from_name(lower);
                if (resource < 0)
                        return -EINVAL;

                colon = strchr(eq + 1, ':');
                if (colon) {
                        if ((size_t) (colon - eq - 1) >= sizeof(buf))
                                return -EINVAL;
                        memcpy(buf, eq + 1, (size_t) (colon - eq - 1));
                        buf[colon - eq - 1] = 0;
                        r = parse_rlimit_value(buf, &soft);
                        if (r < 0)
                                return r;
                        r = parse_rlimit_value(colon + 1, &hard);
                } else {
                        r = parse_rlimit_value(eq + 1, &soft);
                        hard = soft;
                }
                if (r < 0)
                        return r;
                if (soft > hard)
                        return -EINVAL;
                *ret = (WshdRlimit){ .resource = (uint32_t) resource, .soft = soft, .hard = hard };
                return 0;
        }
}

static int parse_user(const char *s, uint32_t *ret_uid, uint32_t *ret_gid) {
        const char *colon = strchr(s, ':');
        char buf[16];
        uint32_t uid, gid;
        int r;

        if (colon) {
                if ((size_t) (colon - s) >= sizeof(buf))
                        return -EINVAL;
                memcpy(buf, s, (size_t) (colon - s));
                buf[colon - s] = 0;
                r = parse_uint32(buf, &uid);
                if (r < 0)
                        return r;
                r = parse_uint32(colon + 1, &gid);
        } else {
                r = parse_uint32(s, &uid);
                gid = uid;
        }
        if (r < 0)
                return r;
        /* (uid_t) -1 means "unchanged" to the kernel */
        if (uid == UINT32_MAX || gid == UINT32_MAX)
                return -ERANGE;
        *ret_uid = uid;
        *ret_gid = gid;
        return 0;
}

/* Sets K=V in the list, replacing an earlier K. */
static int env_set(char ***env, const char *kv) {
        size_t k = (size_t) (strchr(kv, '=') - kv);

        for (size_t i = 0; *env && (*env)[i]; i++)
                if (strncmp((*env)[i], kv, k + 1) == 0) {
                        char *v = strdup(kv);

                        if (!v)
                                return -ENOMEM;
                        free((*env)[i]);
                        (*env)[i] = v;
                        return 0;
                }
        return strv_extend(env, kv);
}

static void parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },       { "socket", required_argument, NULL, 's' },
                { "user", required_argument, NULL, 'u' }, { "dir", required_argument, NULL, 'd' },
                { "env", required_argument, NULL, 'e' },  { "rlimit", required_argument, NULL, 'r' },
                { "tty", no_argument, NULL, 't' },        {},
        };
        int c, r;

        for (;;) {
                /* '+': stop at the first argument that is not an option, which is the handle (then go on)
                 * or the command (then stop) */
                c = getopt_long(argc, argv, "+hs:u:d:e:r:t", options, NULL);
                if (c < 0) {
                        if (!arg_socket && !arg_handle && optind < argc && !streq(argv[optind - 1], "--")) {
                                arg_handle = argv[optind++];
                                continue;
                        }
                        break;
                }
                switch (c) {
                case 'h':
                        help();
                        exit(EXIT_SUCCESS);
                case 's':
                        arg_socket = optarg;
                        break;
                case 'u':
                        if (parse_user(optarg, &arg_uid, &arg_gid) < 0)
                                die(EXIT_USAGE, "Invalid --user='%s', expected UID[:GID].", optarg);
                        break;
                case 'd':
                        if (optarg[0] != '/')
                                die(EXIT_USAGE, "--dir='%s' is not absolute.", optarg);
                        arg_dir = optarg;
                        break;
                case 'e':
                        if (!wshd_env_valid(optarg))
                                die(EXIT_USAGE, "Invalid --env='%s', expected K=V.", optarg);
                        if (env_set(&arg_env, optarg) < 0)
                                die(EXIT_WSH, "Out of memory.");
                        break;
                case 'r':
                        if (arg_n_rlimits >= WSHD_RLIMITS_MAX)
                                die(EXIT_USAGE, "Too many --rlimit.");
                        r = parse_rlimit(optarg, &arg_rlimits[arg_n_rlimits]);
                        if (r < 0)
                                die(EXIT_USAGE,
                                    "Invalid --rlimit='%s', expected NAME=N or NAME=SOFT:HARD.",
                                    optarg);
                        arg_n_rlimits++;
                        break;
                case 't':
                        arg_tty = true;
                        break;
                case '?':
                        exit(EXIT_USAGE);
                default:
                        assert_not_reached();
                }
        }

        /* "wsh -- HANDLE CMD" */
        if (!arg_socket && !arg_handle && optind < argc)
                arg_handle = argv[optind++];
        if (!arg_socket && !arg_handle)
                die(EXIT_USAGE, "Need --socket=PATH or a container handle. See --help.");
        if (arg_socket && arg_handle)
                die(EXIT_USAGE, "Either --socket or a handle, not both.");
        if (arg_handle && !handle_is_valid(arg_handle))
                die(EXIT_USAGE, "Invalid container handle '%s'.", arg_handle);
        if (optind >= argc)
                die(EXIT_USAGE, "No command given.");
        arg_command = argv + optind;
}

static int wshd_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(path);
        int fd;

        if (n >= sizeof(sa.sun_path))
                die(EXIT_WSH, "Socket path '%s' is too long.", path);
        memcpy(sa.sun_path, path, n);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                die(EXIT_WSH, "socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *) &sa, offsetof(struct sockaddr_un, sun_path) + n + 1) < 0)
                die(EXIT_WSH, "Failed to connect to '%s': %s", path, strerror(errno));
        return fd;
}

/* The next message that is not an answer to a SIGNAL or RESIZE (those are fire and forget). */
static void recv_message(int fd, WshdMessage *ret) {
        for (;;) {
                int r = wshd_message_recv(fd, ret);

                if (r == -EINTR)
                        continue;
                if (r == -ECONNRESET)
                        die(EXIT_WSH, "wshd closed the connection.");
                if (r < 0)
                        die(EXIT_WSH, "Failed to receive from wshd: %s", strerror(-r));
                return;
        }
}

static uint32_t next_serial = 1;

static void send_request(int fd, const WshdMessage *m) {
        int r = wshd_message_send(fd, m);

        if (r < 0)
                die(EXIT_WSH, "Failed to send to wshd: %s", strerror(-r));
}

static void send_signal(int fd, uint32_t job_id, int sig) {
        WshdMessage m;

        wshd_message_init(&m, WSHD_REQUEST_SIGNAL, next_serial++);
        m.job_id = job_id;
        m.signal = (uint32_t) sig;
        send_request(fd, &m);
}

static void send_resize(int fd, uint32_t job_id) {
        struct winsize ws;
        WshdMessage m;

        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
                return;
        wshd_message_init(&m, WSHD_REQUEST_RESIZE, next_serial++);
        m.job_id = job_id;
        m.tty = true;
        m.tty_rows = ws.ws_row;
        m.tty_cols = ws.ws_col;
        send_request(fd, &m);
}

static int exit_code(uint32_t wait_status) {
        int status = (int) wait_status;

        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return EXIT_WSH;
}

static void write_all(int fd, const uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd pfd = { .fd = fd, .events = POLLOUT };

                                (void) poll(&pfd, 1, -1);
                                continue;
                        }
                        return; /* our output is gone; the job goes on */
                }
                p += k;
                n -= (size_t) k;
        }
}

/* Reads what the pty holds right now into stdout. Returns false at EOF (the slave is closed everywhere). */
static bool drain_master(int master) {
        uint8_t buf[BUFFER_SIZE];

        for (;;) {
                ssize_t n = read(master, buf, sizeof(buf));

                if (n > 0) {
                        write_all(STDOUT_FILENO, buf, (size_t) n);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                return n < 0 && errno == EAGAIN;
        }
}

static _noreturn_ void run(int sock, uint32_t job_id, int master, StdioRelay *relay) {
        uint8_t in_buf[BUFFER_SIZE];
        size_t in_len = 0;
        bool in_open = master >= 0, master_open = master >= 0;
        sigset_t mask;
        int sfd;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGQUIT);
        sigaddset(&mask, SIGWINCH);
        sigaddset(&mask, SIGPIPE);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                die(EXIT_WSH, "sigprocmask: %s", strerror(errno));
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
                die(EXIT_WSH, "signalfd: %s", strerror(errno));

        for (;;) {
                struct pollfd p[7] = {
                        { .fd = sock, .events = POLLIN },
                        { .fd = sfd, .events = POLLIN },
                        { .fd = in_open && in_len == 0 ? STDIN_FILENO : -1, .events = POLLIN },
                        { .fd = master_open ? master : -1, .events = POLLIN | (in_len > 0 ? POLLOUT : 0) },
                };

                for (size_t i = 0; i < 3; i++)
                        p[4 + i].fd = relay->channel[i]
                                              ? relay_channel_wait(relay->channel[i], &p[4 + i].events)
                                              : -1;
                if (poll(p, ELEMENTSOF(p), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        die(EXIT_WSH, "poll: %s", strerror(errno));
                }
                for (size_t i = 0; i < 3; i++)
                        if (p[4 + i].revents)
                                (void) relay_channel_step(relay->channel[i]);

                if (p[1].revents) {
                        struct signalfd_siginfo si;

                        while (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
                                if (si.ssi_signo == SIGWINCH) {
                                        if (master >= 0)
                                                send_resize(sock, job_id);
                                } else if (si.ssi_signo != SIGPIPE)
                                        send_signal(sock, job_id, (int) si.ssi_signo);
                        }
                }

                if (p[2].revents) {
                        ssize_t n = read(STDIN_FILENO, in_buf, sizeof(in_buf));

                        if (n > 0)
                                in_len = (size_t) n;
                        else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                                struct termios t;

                                /* end of input: the terminal's EOF character, unless the job made it raw */
                                in_open = false;
                                if (tcgetattr(master, &t) >= 0 && (t.c_lflag & ICANON)) {
                                        in_buf[0] = t.c_cc[VEOF];
                                        in_len = 1;
                                }
                        }
                }

                if (master_open && (p[3].revents & POLLOUT) && in_len > 0) {
                        ssize_t n = write(master, in_buf, in_len);

                        if (n > 0) {
                                memmove(in_buf, in_buf + n, in_len - (size_t) n);
                                in_len -= (size_t) n;
                        } else if (n < 0 && errno != EAGAIN && errno != EINTR)
                                in_len = 0;
                }
                if (master_open && (p[3].revents & (POLLIN | POLLHUP | POLLERR)))
                        if (!drain_master(master)) {
                                master_open = false;
                                in_open = false;
                                in_len = 0;
                        }

                if (p[0].revents) {
                        WshdMessage m;

                        recv_message(sock, &m);
                        if (m.type == WSHD_EVENT_EXIT && m.job_id == job_id) {
                                int code = exit_code(m.wait_status);

                                /* what the job wrote last may still be in the pty, or in the relay's pipes
                                 */
                                if (master_open)
                                        (void) drain_master(master);
                                for (size_t i = 1; i < 3; i++)
                                        if (relay->channel[i])
                                                relay_channel_drain(relay->channel[i]);
                                wshd_message_done(&m);
                                restore_terminal();
                                exit(code);
                        }
                        /* answers to SIGNAL/RESIZE: a job that just exited is not an error */
                        if (m.type == WSHD_REPLY_ERROR && m.error != ESRCH)
                                fprintf(stderr, "wsh: %s\n", strna(m.message));
                        wshd_message_done(&m);
                }
        }
}

int main(int argc, char *argv[]) {
        _cleanup_free_ char *path = NULL;
        StdioRelay relay = STDIO_RELAY_NULL;
        WshdMessage m, reply;
        uint32_t job_id;
        int sock, master = -1;
        bool raw = false;

        parse_argv(argc, argv);

        {
                bool have_path = false, have_home = false, have_term = false;

                STRV_FOREACH(e, arg_env) {
                        have_path = have_path || startswith(*e, "PATH=");
                        have_home = have_home || startswith(*e, "HOME=");
                        have_term = have_term || startswith(*e, "TERM=");
                }
                if (!have_path && env_set(&arg_env, "PATH=" DEFAULT_PATH) < 0)
                        die(EXIT_WSH, "Out of memory.");
                if (!have_home && env_set(&arg_env, "HOME=/") < 0)
                        die(EXIT_WSH, "Out of memory.");
                if (arg_tty && !have_term) {
                        _cleanup_free_ char *t = NULL;

                        if (asprintf(&t, "TERM=%s", getenv("TERM") ?: "xterm") < 0 ||
                            env_set(&arg_env, t) < 0)
                                die(EXIT_WSH, "Out of memory.");
                }
        }

        if (!arg_socket) {
                if (asprintf(&path, "%s/%s/wshd.sock", DEFAULT_DEPOT, arg_handle) < 0)
                        die(EXIT_WSH, "Out of memory.");
                arg_socket = path;
        }
        sock = wshd_connect(arg_socket);

        wshd_message_init(&m, WSHD_REQUEST_SPAWN, next_serial++);
        m.argv = arg_command;
        m.env = arg_env;
        m.dir = (char *) arg_dir;
        m.uid = arg_uid;
        m.gid = arg_gid;
        m.rlimits = arg_rlimits;
        m.n_rlimits = arg_n_rlimits;
        if (arg_tty) {
                struct winsize ws = { .ws_row = 24, .ws_col = 80 };

                m.tty = true;
                if (isatty(STDIN_FILENO)) {
                        (void) ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
                        raw = true;
                }
                m.tty_rows = ws.ws_row;
                m.tty_cols = ws.ws_col;
        } else {
                /* our own stdin, stdout and stderr, those that are open: pipes as they are, the rest relayed
                 */
                static const char *const names[] = { "input", "output", "error output" };
                const int fds[3] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO };
                const char *what = "a directory";
                int bad = 0, r;

                /* as the job would see them: EPIPE, and EIO for a terminal read in the background */
                (void) signal(SIGTTIN, SIG_IGN);
                (void) signal(SIGTTOU, SIG_IGN);
                r = stdio_relay_setup(&relay, fds, &bad);
                if (r == -EISDIR) {
                        (void) host_fd_classify(fds[bad], &what);
                        die(EXIT_USAGE,
                            "Standard %s is %s: it cannot be given to a job, nor relayed.",
                            names[bad],
                            what);
                }
                if (r < 0)
                        die(EXIT_WSH, "Failed to set up the relay: %s", strerror(-r));
                for (int fd = 0; fd < 3; fd++)
                        if (relay.job_fd[fd] >= 0) {
                                m.fds[m.n_fds] = relay.job_fd[fd];
                                m.fd_roles[m.n_fd_roles++] = (uint32_t) fd;
                                m.n_fds++;
                        }
        }
        {
                int r = wshd_message_send(sock, &m);

                if (r == -E2BIG)
                        die(EXIT_USAGE, "The command and its environment are too long.");
                if (r == -EINVAL)
                        die(EXIT_USAGE, "The command or its environment is not valid UTF-8.");
                if (r < 0)
                        die(EXIT_WSH, "Failed to send to wshd: %s", strerror(-r));
        }
        /* wshd has its copies: the job sees EOF on stdin when we close ours, and EPIPE when we stop reading
         */
        stdio_relay_close_job_fds(&relay);

        recv_message(sock, &reply);
        if (reply.type == WSHD_REPLY_ERROR)
                die(EXIT_WSH, "wshd refused: %s", strna(reply.message));
        if (reply.type != WSHD_REPLY_SPAWN)
                die(EXIT_WSH, "Unexpected reply %u from wshd.", reply.type);
        job_id = reply.job_id;
        if (arg_tty) {
                if (reply.n_fds != 1)
                        die(EXIT_WSH, "wshd sent no pty.");
                master = TAKE_FD(reply.fds[0]);
                reply.fds[0] = -1;
                reply.n_fds = 0;
                if (fcntl(master, F_SETFL, O_RDWR | O_NONBLOCK) < 0)
                        die(EXIT_WSH, "fcntl: %s", strerror(errno));
        }
        wshd_message_done(&reply);

        if (raw && tcgetattr(STDIN_FILENO, &saved_termios) >= 0) {
                struct termios t = saved_termios;

                termios_saved = true;
                atexit(restore_terminal);
                cfmakeraw(&t);
                if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) < 0)
                        die(EXIT_WSH, "Failed to make the terminal raw: %s", strerror(errno));
        }

        run(sock, job_id, master, &relay);
}
