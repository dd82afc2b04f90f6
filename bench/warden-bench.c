/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * warden-bench: measures wardend as a D-Bus client sees it (org.warden.Manager on the system bus, or
 * --bus-address=).
 *
 * Default mode, phases each over --iterations N:
 *   create           N Create calls in a row (the containers are kept, grace_time 0)
 *   destroy          N Destroy calls, one for each container of "create"
 *   create+destroy   N Create->Destroy pairs, timing each pair
 *   concurrent       --clients C processes, each with its own bus connection, doing N/C pairs at the same
 *                    time; reports the pair latency and the containers per second over all of them
 * --run: process latency in one running container (made here, or --handle=):
 *   command          with "-- CMD [ARGS...]" (bench/run: crun exec), CMD at the start of each iteration
 *   run              N Run(/bin/true) calls, one per iteration
 *   spawn, link      N Spawn(/bin/true) calls, each followed by Link of its job, one pair per iteration
 *   spawn+link       the two calls of each such pair together
 *   and the memory of that container's wshd and of wardend before and after those jobs.
 * --memory=LEVELS: RSS, PSS and USS (/proc/PID/smaps_rollup) of wardend, of the first container's wshd
 *   and of all wshd together, with 0, 100, ... containers (Create calls with C in flight at once), then
 *   of wardend after destroying them all.
 * With --command, it times a command instead (fork+exec+wait, N times; "%i" in an argument is replaced by
 * the iteration number), which bench/run uses to measure `crun run` with the same statistics.
 *
 * A benchmark, not a test: it asserts nothing about time. Exit status: 0 done, 1 a call failed (the D-Bus
 * error name and message are printed, and what this run created is destroyed), 2 bad usage.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bus-client.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "strv.h"

#define EXIT_USAGE 2
#define WARDEN_SERVICE "org.warden.Manager"
#define WARDEN_PATH "/org/warden/Manager"
#define WARDEN_INTERFACE "org.warden.Manager"
/* Generous: a loaded machine with four clients must not turn a slow Create into a failure. */
#define CALL_TIMEOUT_USEC (120ULL * 1000000ULL)
/* --memory: at most this many levels; wardend counts as idle once its CPU time has not moved for
 * QUIET_USEC, and is measured anyway (with a warning) after QUIET_MAX_USEC. */
#define LEVELS_MAX 16
#define QUIET_USEC (1000ULL * 1000ULL)
#define QUIET_POLL_USEC (250ULL * 1000ULL)
#define QUIET_MAX_USEC (20ULL * 1000000ULL)

typedef enum Mode {
        MODE_LIFECYCLE,
        MODE_COMMAND,
        MODE_RUN,
        MODE_MEMORY,
} Mode;

static unsigned arg_iterations = 100;
static unsigned arg_clients = 4;
static unsigned arg_warmup = 3;
static const char *arg_bus_address = NULL;
static const char *arg_rootfs = NULL;
static bool arg_json = false;
static char **arg_command = NULL; /* points into argv */
static Mode arg_mode = MODE_LIFECYCLE;
static const char *arg_handle = NULL;
static unsigned arg_levels[LEVELS_MAX];
static size_t arg_n_levels = 0;

typedef struct Stats {
        size_t n;
        double median, p95, min, max, mean; /* milliseconds */
} Stats;

static void help(void) {
        printf("%s [OPTIONS...]\n"
               "%s [OPTIONS...] --run [--handle=HANDLE] [-- CMD [ARGS...]]\n"
               "%s [OPTIONS...] --memory=LEVELS\n"
               "%s [OPTIONS...] --command -- CMD [ARGS...]\n\n"
               "Measure Create, Destroy and Create->Destroy of wardend (median, p95, min, max), and\n"
               "containers/s with concurrent clients. With --run, Run and Spawn+Link of /bin/true in one\n"
               "container. With --memory, RSS/PSS/USS of wardend and wshd with LEVELS (e.g. 0,100,500)\n"
               "containers. With --command, time CMD instead (\"%%i\" in an argument becomes the\n"
               "iteration number).\n\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "  -n --iterations=N      Calls per phase (default 100)\n"
               "  -c --clients=N         Concurrent clients in the last phase (default 4; 0 skips it);\n"
               "                         with --memory, Create/Destroy calls in flight at once\n"
               "     --warmup=N          Untimed Create->Destroy pairs (Runs, commands) first (default 3)\n"
               "     --rootfs=PATH       Pass 'rootfs' to Create (default: wardend's default rootfs)\n"
               "     --bus-address=ADDR  Talk to the wardend on this bus instead of the system bus\n"
               "     --json              Print the results as JSON\n"
               "     --run               Time Run and Spawn+Link of /bin/true in one container (and\n"
               "                         CMD, if given, at each iteration before them)\n"
               "     --handle=HANDLE     With --run: use this running container (default: create one)\n"
               "     --memory=LEVELS     Memory of wardend and wshd with each number of containers\n"
               "     --command           Time the command after '--' instead of wardend\n",
               program_invocation_short_name,
               program_invocation_short_name,
               program_invocation_short_name,
               program_invocation_short_name);
}

static uint64_t now_nsec(void) {
        struct timespec ts;

        assert_se(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static double nsec_to_ms(uint64_t d) {
        return (double) d / 1e6;
}

/* Calls are never interrupted half-way (a lost Create reply would leak a container): SIGINT and SIGTERM
 * stay blocked, and the loops look for a pending one between two calls. */
static bool stop_requested(void) {
        sigset_t pending;

        if (sigpending(&pending) < 0)
                return false;
        return sigismember(&pending, SIGINT) > 0 || sigismember(&pending, SIGTERM) > 0;
}

static int parse_unsigned(const char *s, const char *what, unsigned min, unsigned *ret) {
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > 1000000 || v < min)
                return log_error_errno(
                        SYNTHETIC_ERRNO(EINVAL), "Invalid %s '%s' (%u…1000000).", what, s, min);
        *ret = (unsigned) v;
        return 0;
}

/* "0,100,500": strictly ascending container counts. */
static int parse_levels(const char *s) {
        _cleanup_free_ char *copy = strdup(s);
        char *save = NULL;

        if (!copy)
                return log_oom();
        arg_n_levels = 0;
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                unsigned v;
                int r;

                if (arg_n_levels >= LEVELS_MAX)
                        return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL), "At most %d levels in --memory=.", LEVELS_MAX);
                r = parse_unsigned(w, "number of containers", 0, &v);
                if (r < 0)
                        return r;
                if (arg_n_levels > 0 && v <= arg_levels[arg_n_levels - 1])
                        return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "The levels of --memory= must be ascending: '%s'.",
                                s);
                arg_levels[arg_n_levels++] = v;
        }
        if (arg_n_levels == 0)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--memory= needs at least one level.");
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_WARMUP = 0x100,
                ARG_ROOTFS,
                ARG_BUS_ADDRESS,
                ARG_JSON,
                ARG_COMMAND,
                ARG_RUN,
                ARG_HANDLE,
                ARG_MEMORY,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "iterations", required_argument, NULL, 'n' },
                { "clients", required_argument, NULL, 'c' },
                { "warmup", required_argument, NULL, ARG_WARMUP },
                { "rootfs", required_argument, NULL, ARG_ROOTFS },
                { "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
                { "json", no_argument, NULL, ARG_JSON },
                { "command", no_argument, NULL, ARG_COMMAND },
                { "run", no_argument, NULL, ARG_RUN },
                { "handle", required_argument, NULL, ARG_HANDLE },
                { "memory", required_argument, NULL, ARG_MEMORY },
                {},
        };
        unsigned n_modes = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "hn:c:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'n':
                        r = parse_unsigned(optarg, "number of iterations", 1, &arg_iterations);
                        if (r < 0)
                                return r;
                        break;
                case 'c':
                        r = parse_unsigned(optarg, "number of clients", 0, &arg_clients);
                        if (r < 0)
                                return r;
                        break;
                case ARG_WARMUP:
                        r = parse_unsigned(optarg, "number of warm-up iterations", 0, &arg_warmup);
                        if (r < 0)
                                return r;
                        break;
                case ARG_ROOTFS:
                        arg_rootfs = optarg;
                        break;
                case ARG_BUS_ADDRESS:
                        arg_bus_address = optarg;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_COMMAND:
                        arg_mode = MODE_COMMAND;
                        n_modes++;
                        break;
                case ARG_RUN:
                        arg_mode = MODE_RUN;
                        n_modes++;
                        break;
                case ARG_HANDLE:
                        arg_handle = optarg;
                        break;
                case ARG_MEMORY:
                        r = parse_levels(optarg);
                        if (r < 0)
                                return r;
                        arg_mode = MODE_MEMORY;
                        n_modes++;
                        break;
                case '?':
                        return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "Try '%s --help' for more information.",
                                program_invocation_short_name);
                default:
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Unhandled option.");
                }

        if (n_modes > 1)
                return log_error_errno(
                        SYNTHETIC_ERRNO(EINVAL), "--run, --memory and --command exclude each other.");
        if (arg_handle && arg_mode != MODE_RUN)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--handle= needs --run.");
        if (arg_mode == MODE_COMMAND) {
                if (optind >= argc)
                        return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL), "--command needs a command after '--'.");
                arg_command = argv + optind;
        } else if (arg_mode == MODE_RUN && optind < argc)
                arg_command = argv + optind; /* timed at each iteration too, interleaved with the calls */
        else if (optind < argc)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Unexpected argument '%s'.", argv[optind]);
        if (arg_mode == MODE_LIFECYCLE && arg_clients > arg_iterations)
                return log_error_errno(
                        SYNTHETIC_ERRNO(EINVAL),
                        "More clients (%u) than iterations (%u).",
                        arg_clients,
                        arg_iterations);
        return 1;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

/* Sorts 'ms' in place. The median of an even count is the mean of the two middle values; p95 is the
 * nearest rank (the smallest value that at least 95% of the samples do not exceed). */
static Stats stats_compute(double *ms, size_t n) {
        Stats s = { .n = n };
        double sum = 0;
        size_t rank;

        if (n == 0)
                return s;
        qsort(ms, n, sizeof(double), cmp_double);
        s.min = ms[0];
        s.max = ms[n - 1];
        s.median = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
        rank = (n * 95 + 99) / 100; /* ceil(0.95 n), 1-based */
        s.p95 = ms[rank - 1];
        for (size_t i = 0; i < n; i++)
                sum += ms[i];
        s.mean = sum / (double) n;
        return s;
}

/* Prints "NAME: MESSAGE" of a D-Bus error, or the errno text when the call failed locally. */
static int log_call_error(const char *method, const char *handle, const sd_bus_error *error, int r) {
        if (sd_bus_error_is_set(error))
                log_error(
                        "%s%s%s%s failed: %s: %s",
                        method,
                        handle ? "('" : "",
                        strempty(handle),
                        handle ? "')" : "",
                        error->name,
                        strna(error->message));
        else
                log_error_errno(r, "%s failed: %m", method);
        return r < 0 ? r : -EIO;
}

/* Calls m (built beforehand) and times the round trip alone; a failure is logged as METHOD('HANDLE'). */
static int timed_call(
        sd_bus *bus,
        sd_bus_message *m,
        const char *method,
        const char *handle,
        sd_bus_message **ret_reply,
        uint64_t *ret_nsec) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t t0, t1;
        int r;

        t0 = now_nsec();
        r = sd_bus_call(bus, m, CALL_TIMEOUT_USEC, &error, ret_reply);
        t1 = now_nsec();
        if (r < 0)
                return log_call_error(method, handle, &error, r);
        if (ret_nsec)
                *ret_nsec = t1 - t0;
        return 0;
}

/* Ping once, untimed: activates wardend if needed, so that its start-up is not in the first Create. */
static int call_ping(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(
                bus, WARDEN_SERVICE, WARDEN_PATH, WARDEN_INTERFACE, "Ping", &error, NULL, NULL);
        if (r < 0)
                return log_call_error("Ping", NULL, &error, r);
        return 0;
}

static int new_create_call(sd_bus *bus, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, WARDEN_SERVICE, WARDEN_PATH, WARDEN_INTERFACE, "Create");
        if (r < 0)
                return log_error_errno(r, "Failed to build Create call: %m");
        /* grace_time 0: the container outlives this client's connection (the concurrent clients exit). */
        if (arg_rootfs)
                r = sd_bus_message_append(m, "a{sv}", 2, "grace_time", "u", 0, "rootfs", "s", arg_rootfs);
        else
                r = sd_bus_message_append(m, "a{sv}", 1, "grace_time", "u", 0);
        if (r < 0)
                return log_error_errno(r, "Failed to build Create call: %m");
        *ret = TAKE_PTR(m);
        return 0;
}

/* The message is built before the clock starts: only the round trip through wardend is timed. */
static int call_create(sd_bus *bus, char **ret_handle, uint64_t *ret_nsec) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *handle, *path;
        char *h;
        uint64_t nsec = 0;
        int r;

        r = new_create_call(bus, &m);
        if (r < 0)
                return r;

        r = timed_call(bus, m, "Create", NULL, &reply, &nsec);
        if (r < 0)
                return r;

        r = sd_bus_message_read(reply, "so", &handle, &path);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply of Create: %m");
        h = strdup(handle);
        if (!h)
                return log_oom();
        *ret_handle = h;
        *ret_nsec = nsec;
        return 0;
}

static int call_destroy(sd_bus *bus, const char *handle, uint64_t *ret_nsec) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        uint64_t nsec = 0;
        int r;

        r = sd_bus_message_new_method_call(
                bus, &m, WARDEN_SERVICE, WARDEN_PATH, WARDEN_INTERFACE, "Destroy");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", handle);
        if (r < 0)
                return log_error_errno(r, "Failed to build Destroy call: %m");

        r = timed_call(bus, m, "Destroy", handle, NULL, &nsec);
        if (r < 0)
                return r;
        if (ret_nsec)
                *ret_nsec = nsec;
        return 0;
}

/* After a failure: destroy what this process created and still owns (a NULL-terminated list). Errors were
 * already reported by call_destroy(). */
static void destroy_leftovers(sd_bus *bus, char **handles) {
        size_t n = 0, ok = 0;

        STRV_FOREACH(h, handles) {
                n++;
                if (call_destroy(bus, *h, NULL) >= 0)
                        ok++;
        }
        if (n > 0)
                log_info("Destroyed %zu of %zu container(s) left by this run.", ok, n);
}

/* One Create->Destroy pair, timed as a whole. On failure nothing is left behind (if Destroy works). */
static int create_destroy_pair(sd_bus *bus, double *ret_ms) {
        _cleanup_free_ char *handle = NULL;
        uint64_t t_create, t_destroy;
        int r;

        r = call_create(bus, &handle, &t_create);
        if (r < 0)
                return r;
        r = call_destroy(bus, handle, &t_destroy);
        if (r < 0) {
                char *left[] = { handle, NULL };

                destroy_leftovers(bus, left);
                return r;
        }
        *ret_ms = nsec_to_ms(t_create + t_destroy);
        return 0;
}

static int stop_if_requested(void) {
        if (stop_requested())
                return log_error_errno(SYNTHETIC_ERRNO(EINTR), "Interrupted.");
        return 0;
}

static int run_warmup(sd_bus *bus) {
        int r;

        for (unsigned i = 0; i < arg_warmup; i++) {
                double ms;

                r = stop_if_requested();
                if (r < 0)
                        return r;
                r = create_destroy_pair(bus, &ms);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Phases "create" and "destroy": all N containers exist at once between the two. */
static int run_create_then_destroy(sd_bus *bus, double *create_ms, double *destroy_ms) {
        _cleanup_strv_free_ char **handles = NULL;
        size_t n = 0;
        int r = 0;

        handles = calloc(arg_iterations + 1, sizeof(char *));
        if (!handles)
                return log_oom();

        for (; n < arg_iterations; n++) {
                uint64_t d;

                r = stop_if_requested();
                if (r < 0)
                        break;
                r = call_create(bus, &handles[n], &d);
                if (r < 0)
                        break;
                create_ms[n] = nsec_to_ms(d);
        }
        if (r < 0) {
                destroy_leftovers(bus, handles);
                return r;
        }

        /* Destroy in creation order. After a failure, the rest (and the failed one: it may be half gone)
         * are destroyed without timing. */
        for (size_t i = 0; i < n; i++) {
                uint64_t d;

                r = stop_if_requested();
                if (r >= 0)
                        r = call_destroy(bus, handles[i], &d);
                if (r < 0) {
                        destroy_leftovers(bus, handles + i);
                        return r;
                }
                destroy_ms[i] = nsec_to_ms(d);
        }
        return 0;
}

static int run_pairs(sd_bus *bus, double *pair_ms, unsigned n) {
        int r;

        for (unsigned i = 0; i < n; i++) {
                r = stop_if_requested();
                if (r < 0)
                        return r;
                r = create_destroy_pair(bus, &pair_ms[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* What a concurrent client sends back through its pipe after its last pair. */
typedef struct ClientResult {
        uint64_t count, start_nsec, end_nsec;
} ClientResult;

static int write_all(int fd, const void *buf, size_t size) {
        const char *p = buf;

        while (size > 0) {
                ssize_t k = write(fd, p, size);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

/* Returns the number of bytes read, less than 'size' only at EOF. */
static ssize_t read_all(int fd, void *buf, size_t size) {
        char *p = buf;
        size_t done = 0;

        while (done < size) {
                ssize_t k = read(fd, p + done, size - done);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                done += (size_t) k;
        }
        return (ssize_t) done;
}

/* The body of one concurrent client (a forked process). Connects, says it is ready, waits for the start
 * byte ('g'; EOF means "abort"), runs its pairs and writes a ClientResult plus the pair times. */
_noreturn_ static void client_main(unsigned n, int go_fd, int result_fd) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ double *ms = NULL;
        ClientResult res = { .count = n };
        char b = 'r';
        int r;

        ms = calloc(n, sizeof(double));
        if (!ms)
                _exit(EXIT_FAILURE);
        r = bus_connect_client(arg_bus_address, &bus);
        if (r < 0)
                _exit(EXIT_FAILURE);
        if (write_all(result_fd, &b, 1) < 0)
                _exit(EXIT_FAILURE);
        if (read_all(go_fd, &b, 1) != 1 || b != 'g')
                _exit(EXIT_SUCCESS); /* the parent gave up; it reports why */

        res.start_nsec = now_nsec();
        r = run_pairs(bus, ms, n);
        res.end_nsec = now_nsec();
        if (r < 0)
                _exit(EXIT_FAILURE);

        if (write_all(result_fd, &res, sizeof(res)) < 0 || write_all(result_fd, ms, n * sizeof(double)) < 0)
                _exit(EXIT_FAILURE);
        bus = sd_bus_flush_close_unref(bus);
        _exit(EXIT_SUCCESS);
}

typedef struct Client {
        pid_t pid;
        int result_fd;
        unsigned n;
} Client;

/* Phase "concurrent": returns the pair times of all clients in 'pair_ms' (N entries) and the wall-clock
 * time from the first client's start to the last client's end. */
static int run_concurrent(double *pair_ms, uint64_t *ret_wall_nsec) {
        _cleanup_free_ Client *clients = NULL;
        _cleanup_close_ int go_read = -EBADF, go_write = -EBADF;
        uint64_t first_start = UINT64_MAX, last_end = 0;
        size_t filled = 0;
        unsigned started = 0;
        int r = 0;

        clients = calloc(arg_clients, sizeof(Client));
        if (!clients)
                return log_oom();
        {
                int go[2];

                if (pipe2(go, O_CLOEXEC) < 0)
                        return log_error_errno(errno, "Failed to create a pipe: %m");
                go_read = go[0];
                go_write = go[1];
        }

        /* The first (N mod C) clients do one pair more, so that there are exactly N pairs. */
        for (; started < arg_clients; started++) {
                Client *cl = &clients[started];
                int p[2];

                cl->n = arg_iterations / arg_clients + (started < arg_iterations % arg_clients);
                if (pipe2(p, O_CLOEXEC) < 0) {
                        r = log_error_errno(errno, "Failed to create a pipe: %m");
                        break;
                }
                fflush(NULL);
                cl->pid = fork();
                if (cl->pid < 0) {
                        r = log_error_errno(errno, "Failed to fork a client: %m");
                        safe_close(p[0]);
                        safe_close(p[1]);
                        break;
                }
                if (cl->pid == 0) {
                        safe_close(p[0]);
                        go_write = safe_close(go_write);
                        client_main(cl->n, go_read, p[1]);
                }
                safe_close(p[1]);
                cl->result_fd = p[0];
        }

        /* Start them together, once every client is connected (connecting is not part of the time). */
        for (unsigned i = 0; r >= 0 && i < started; i++) {
                char b;

                if (read_all(clients[i].result_fd, &b, 1) != 1 || b != 'r')
                        r = log_error_errno(SYNTHETIC_ERRNO(EIO), "Client %u failed to start.", i);
        }
        if (r >= 0)
                for (unsigned i = 0; i < started; i++)
                        if (write_all(go_write, "g", 1) < 0)
                                r = log_error_errno(errno, "Failed to start the clients: %m");
        go_write = safe_close(go_write); /* EOF: clients that got no 'g' exit */

        for (unsigned i = 0; i < started; i++) {
                Client *cl = &clients[i];
                ClientResult res;
                int status;

                if (r >= 0) {
                        ssize_t k = read_all(cl->result_fd, &res, sizeof(res));

                        if (k == sizeof(res) && res.count == cl->n &&
                            read_all(cl->result_fd, pair_ms + filled, cl->n * sizeof(double)) ==
                                    (ssize_t) (cl->n * sizeof(double))) {
                                filled += cl->n;
                                if (res.start_nsec < first_start)
                                        first_start = res.start_nsec;
                                if (res.end_nsec > last_end)
                                        last_end = res.end_nsec;
                        } else
                                r = -EIO; /* the client printed why */
                }
                safe_close(cl->result_fd);

                while (waitpid(cl->pid, &status, 0) < 0)
                        if (errno != EINTR) {
                                r = log_error_errno(errno, "Failed to wait for client %u: %m", i);
                                break;
                        }
        }
        if (r < 0)
                return r;
        assert(filled == arg_iterations);
        *ret_wall_nsec = last_end - first_start;
        return 0;
}

/* Replaces every "%i" in 'arg' by 'i'. */
static char *expand_arg(const char *arg, unsigned i) {
        char num[16], *out, *q;
        size_t count = 0;

        for (const char *p = strstr(arg, "%i"); p; p = strstr(p + 2, "%i"))
                count++;
        snprintf(num, sizeof(num), "%u", i);
        out = malloc(strlen(arg) + count * strlen(num) + 1);
        if (!out)
                return NULL;
        q = out;
        for (const char *p = arg; *p;)
                if (p[0] == '%' && p[1] == 'i') {
                        q = stpcpy(q, num);
                        p += 2;
                } else
                        *q++ = *p++;
        *q = '\0';
        return out;
}

/* Runs the command once and returns its wall time (spawn to reaped); fails if it does not exit 0. */
static int run_command_once(unsigned i, double *ret_ms) {
        _cleanup_strv_free_ char **argv = NULL;
        posix_spawnattr_t attr;
        sigset_t none;
        uint64_t t0, t1;
        pid_t pid;
        int r, status;

        argv = calloc(strv_length(arg_command) + 1, sizeof(char *));
        if (!argv)
                return log_oom();
        for (size_t k = 0; arg_command[k]; k++) {
                argv[k] = expand_arg(arg_command[k], i);
                if (!argv[k])
                        return log_oom();
        }

        /* The command gets the usual signal mask, not our blocked SIGINT/SIGTERM. */
        sigemptyset(&none);
        r = posix_spawnattr_init(&attr);
        if (r != 0)
                return log_error_errno(r, "Failed to set up posix_spawn: %m");
        (void) posix_spawnattr_setsigmask(&attr, &none);
        (void) posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);

        t0 = now_nsec();
        r = posix_spawnp(&pid, argv[0], NULL, &attr, argv, environ);
        if (r == 0)
                while (waitpid(pid, &status, 0) < 0)
                        if (errno != EINTR) {
                                r = errno;
                                break;
                        }
        t1 = now_nsec();
        posix_spawnattr_destroy(&attr);
        if (r != 0)
                return log_error_errno(r, "Failed to run '%s': %m", argv[0]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return log_error_errno(
                        SYNTHETIC_ERRNO(EIO),
                        "'%s' (iteration %u) %s %i.",
                        argv[0],
                        i,
                        WIFEXITED(status) ? "exited with status" : "was killed by signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        *ret_ms = nsec_to_ms(t1 - t0);
        return 0;
}

static int run_command(double *ms) {
        int r;

        /* Warm-up iterations use numbers after the timed ones, so that "%i" names stay unique. */
        for (unsigned i = 0; i < arg_warmup; i++) {
                double ignored;

                r = stop_if_requested();
                if (r >= 0)
                        r = run_command_once(arg_iterations + i, &ignored);
                if (r < 0)
                        return r;
        }
        for (unsigned i = 0; i < arg_iterations; i++) {
                r = stop_if_requested();
                if (r >= 0)
                        r = run_command_once(i, &ms[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct Phase {
        const char *name;
        Stats stats;
} Phase;

/* --- process latency (--run) ------------------------------------------------------------------------------
 */

/* The program every Run and Spawn starts: a process that does nothing, as in `crun exec CTR /bin/true`. */
static const char *const bench_argv[] = { "/bin/true", NULL };

/* Builds Run(handle, ["/bin/true"], {}) or Spawn(...) (same arguments). */
static int new_process_call(sd_bus *bus, const char *method, const char *handle, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, WARDEN_SERVICE, WARDEN_PATH, WARDEN_INTERFACE, method);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", handle);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char **) bench_argv);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return log_error_errno(r, "Failed to build %s call: %m", method);
        *ret = TAKE_PTR(m);
        return 0;
}

/* Reads the exit_status that starts the reply of Run and Link; the process must have exited 0. */
static int check_exit_status(sd_bus_message *reply, const char *method, const char *handle) {
        int32_t status;
        int r;

        r = sd_bus_message_read(reply, "i", &status);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply of %s: %m", method);
        if (status != 0)
                return log_error_errno(
                        SYNTHETIC_ERRNO(EIO),
                        "%s('%s') of %s: exit status %" PRIi32 ", expected 0.",
                        method,
                        handle,
                        bench_argv[0],
                        status);
        return 0;
}

static int call_run(sd_bus *bus, const char *handle, uint64_t *ret_nsec) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        uint64_t nsec = 0;
        int r;

        r = new_process_call(bus, "Run", handle, &m);
        if (r < 0)
                return r;

        r = timed_call(bus, m, "Run", handle, &reply, &nsec);
        if (r < 0)
                return r;
        r = check_exit_status(reply, "Run", handle);
        if (r < 0)
                return r;
        *ret_nsec = nsec;
        return 0;
}

/* Spawn, then Link of that job: each call timed on its own (both messages built before their clocks). */
static int
call_spawn_link(sd_bus *bus, const char *handle, uint64_t *ret_spawn_nsec, uint64_t *ret_link_nsec) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *link = NULL, *reply = NULL;
        uint64_t spawn_nsec, link_nsec;
        uint32_t job;
        int r;

        r = new_process_call(bus, "Spawn", handle, &m);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(
                bus, &link, WARDEN_SERVICE, WARDEN_PATH, WARDEN_INTERFACE, "Link");
        if (r >= 0)
                r = sd_bus_message_append(link, "s", handle);
        if (r < 0)
                return log_error_errno(r, "Failed to build Link call: %m");

        r = timed_call(bus, m, "Spawn", handle, &reply, &spawn_nsec);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "u", &job);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply of Spawn: %m");
        reply = sd_bus_message_unref(reply);
        /* The job id is known only now; appending it is not part of either time. */
        r = sd_bus_message_append(link, "u", job);
        if (r < 0)
                return log_error_errno(r, "Failed to build Link call: %m");

        r = timed_call(bus, link, "Link", handle, &reply, &link_nsec);
        if (r < 0)
                return r;
        r = check_exit_status(reply, "Link", handle);
        if (r < 0)
                return r;
        *ret_spawn_nsec = spawn_nsec;
        *ret_link_nsec = link_nsec;
        return 0;
}

/* Info(handle)["leader_pid"]: the container's wshd. */
static int call_info_leader_pid(sd_bus *bus, const char *handle, pid_t *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint32_t pid = 0;
        int r;

        r = sd_bus_call_method(
                bus, WARDEN_SERVICE, WARDEN_PATH, WARDEN_INTERFACE, "Info", &error, &reply, "s", handle);
        if (r < 0)
                return log_call_error("Info", handle, &error, r);
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(reply, "s", &key);
                if (r >= 0)
                        r = streq(key, "leader_pid") ? sd_bus_message_read(reply, "v", "u", &pid)
                                                     : sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply of Info('%s'): %m", handle);
        if (pid == 0)
                return log_error_errno(
                        SYNTHETIC_ERRNO(ESRCH), "Info('%s') names no leader_pid: is it running?", handle);
        *ret = (pid_t) pid;
        return 0;
}

/* The number of containers wardend has (List with no filter). */
static int call_list_count(sd_bus *bus, unsigned *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **handles = NULL;
        int r;

        r = sd_bus_call_method(
                bus, WARDEN_SERVICE, WARDEN_PATH, WARDEN_INTERFACE, "List", &error, &reply, "a{ss}", 0);
        if (r < 0)
                return log_call_error("List", NULL, &error, r);
        r = sd_bus_message_read_strv(reply, &handles);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply of List: %m");
        *ret = (unsigned) strv_length(handles);
        return 0;
}

/* --- memory
 * ------------------------------------------------------------------------------------------------ */

typedef struct ProcMem {
        uint64_t rss_kib, pss_kib, uss_kib; /* uss: Private_Clean + Private_Dirty */
        unsigned fds;
} ProcMem;

/* One row of the memory table: a process (or, with n_procs > 1, the sum over several) at a number of
 * containers. */
typedef struct MemRow {
        const char *name;
        unsigned containers;
        pid_t pid; /* 0 for a sum */
        unsigned n_procs;
        ProcMem mem;
} MemRow;

/* Rss, Pss, Private_* of /proc/PID/smaps_rollup (the whole address space; threads share it) and the number
 * of open file descriptors. */
static int proc_mem_read(pid_t pid, ProcMem *ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        char path[64], line[256];
        ProcMem m = {};
        bool have_rss = false, have_pss = false;
        struct dirent *de;

        snprintf(path, sizeof(path), "/proc/%i/smaps_rollup", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return log_error_errno(errno, "Failed to open %s: %m", path);
        while (fgets(line, sizeof(line), f)) {
                char key[32];
                uint64_t v;

                /* "Pss:   1234 kB"; the first line (the address range) does not match a key below. */
                if (sscanf(line, "%31[^:]: %" SCNu64 " kB", key, &v) != 2)
                        continue;
                if (streq(key, "Rss")) {
                        m.rss_kib = v;
                        have_rss = true;
                } else if (streq(key, "Pss")) {
                        m.pss_kib = v;
                        have_pss = true;
                } else if (streq(key, "Private_Clean") || streq(key, "Private_Dirty"))
                        m.uss_kib += v;
        }
        if (ferror(f))
                return log_error_errno(SYNTHETIC_ERRNO(EIO), "Failed to read %s.", path);
        if (!have_rss || !have_pss)
                return log_error_errno(SYNTHETIC_ERRNO(EIO), "%s has no Rss or Pss line.", path);

        snprintf(path, sizeof(path), "/proc/%i/fd", (int) pid);
        d = opendir(path);
        if (!d)
                return log_error_errno(errno, "Failed to open %s: %m", path);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        m.fds++;
        *ret = m;
        return 0;
}

/* utime + stime of a process (all its threads), in clock ticks. */
static int proc_cpu_ticks(pid_t pid, uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        char path[64];
        const char *p;
        uint64_t ut, st;
        int r;

        snprintf(path, sizeof(path), "/proc/%i/stat", (int) pid);
        r = read_full_file(path, 4096, &text, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", path);
        /* The name in parentheses may contain anything; the fields after it are plain numbers. Field 3 is
         * the state; utime and stime are fields 14 and 15. */
        p = strrchr(text, ')');
        if (!p ||
            sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %" SCNu64 " %" SCNu64, &ut, &st) !=
                    2)
                return log_error_errno(SYNTHETIC_ERRNO(EIO), "Cannot parse %s.", path);
        *ret = ut + st;
        return 0;
}

/* Waits until the process has used no CPU for QUIET_USEC (wardend finishes work after its replies, e.g.
 * deleting veths), at most QUIET_MAX_USEC. */
static int wait_quiet(pid_t pid) {
        uint64_t start = now_nsec(), quiet_since = start, last;
        int r;

        r = proc_cpu_ticks(pid, &last);
        if (r < 0)
                return r;
        for (;;) {
                uint64_t t, now;

                (void) usleep(QUIET_POLL_USEC);
                r = proc_cpu_ticks(pid, &t);
                if (r < 0)
                        return r;
                now = now_nsec();
                if (t != last) {
                        last = t;
                        quiet_since = now;
                } else if (now - quiet_since >= QUIET_USEC * 1000)
                        return 0;
                if (now - start >= QUIET_MAX_USEC * 1000) {
                        log_warning(
                                "Process %i still used CPU after %llu s; measuring it anyway.",
                                (int) pid,
                                QUIET_MAX_USEC / 1000000ULL);
                        return 0;
                }
        }
}

/* The pid of the owner of org.warden.Manager on this bus: wardend (MainPID of warden.service). */
static int get_wardend_pid(sd_bus *bus, pid_t *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        pid_t pid;
        int r;

        r = sd_bus_get_name_creds(bus, WARDEN_SERVICE, SD_BUS_CREDS_PID, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_pid(creds, &pid);
        if (r < 0)
                return log_error_errno(r, "Failed to get the pid of %s: %m", WARDEN_SERVICE);
        *ret = pid;
        return 0;
}

#define MEM_ROWS_MAX (3 * LEVELS_MAX + 8)

typedef struct Fill {
        unsigned from, to;
        uint64_t nsec;
} Fill;

/* Everything a mode measured, for print_text() and print_json(). */
typedef struct Report {
        Phase phases[5];
        size_t n_phases;
        bool concurrent;
        uint64_t wall_nsec;
        char handle[65]; /* --run: the container */
        MemRow mem[MEM_ROWS_MAX];
        size_t n_mem;
        Fill fills[LEVELS_MAX];
        size_t n_fills;
        unsigned drained;
        uint64_t drain_nsec;
} Report;

static int report_mem(Report *rep, const char *name, unsigned containers, pid_t pid) {
        MemRow *row;
        int r;

        assert(rep->n_mem < MEM_ROWS_MAX);
        row = &rep->mem[rep->n_mem];
        r = proc_mem_read(pid, &row->mem);
        if (r < 0)
                return r;
        row->name = name;
        row->containers = containers;
        row->pid = pid;
        row->n_procs = 1;
        rep->n_mem++;
        return 0;
}

/* A sum over the processes 'pids'. */
static int report_mem_sum(Report *rep, const char *name, unsigned containers, const pid_t *pids, size_t n) {
        MemRow *row;
        int r;

        assert(rep->n_mem < MEM_ROWS_MAX);
        row = &rep->mem[rep->n_mem];
        *row = (MemRow){ .name = name, .containers = containers, .n_procs = (unsigned) n };
        for (size_t i = 0; i < n; i++) {
                ProcMem m;

                r = proc_mem_read(pids[i], &m);
                if (r < 0)
                        return r;
                row->mem.rss_kib += m.rss_kib;
                row->mem.pss_kib += m.pss_kib;
                row->mem.uss_kib += m.uss_kib;
                row->mem.fds += m.fds;
        }
        rep->n_mem++;
        return 0;
}

static int
bench_run(Report *rep, double *cmd_ms, double *run_ms, double *spawn_ms, double *link_ms, double *pair_ms) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *created = NULL;
        const char *handle;
        pid_t leader, wardend;
        unsigned containers = 0;
        uint64_t ignored;
        int r;

        r = bus_connect_client(arg_bus_address, &bus);
        if (r < 0)
                return r;
        r = call_ping(bus);
        if (r < 0)
                return r;
        if (arg_handle)
                handle = arg_handle;
        else {
                r = call_create(bus, &created, &ignored);
                if (r < 0)
                        return r;
                handle = created;
        }
        snprintf(rep->handle, sizeof(rep->handle), "%s", handle);

        r = call_info_leader_pid(bus, handle, &leader);
        if (r >= 0)
                r = get_wardend_pid(bus, &wardend);
        if (r >= 0)
                r = call_list_count(bus, &containers);
        /* The idle wshd, before any job; wardend with the containers it has. */
        if (r >= 0)
                r = report_mem(rep, "wshd", containers, leader);
        if (r >= 0)
                r = report_mem(rep, "wardend", containers, wardend);

        /* With a command (crun exec), each iteration runs it, then Run and Spawn+Link: all three see the
         * same load, also when the machine's load drifts during the run. The call right after the command
         * is slower (the command's aftermath), so Run comes first in even iterations and Spawn+Link in odd
         * ones. Warm-up iterations use command numbers after the timed ones, as run_command() does. */
        for (unsigned i = 0; r >= 0 && i < arg_warmup; i++) {
                double ms;

                r = stop_if_requested();
                if (r >= 0 && arg_command)
                        r = run_command_once(arg_iterations + i, &ms);
                if (r >= 0)
                        r = call_run(bus, handle, &ignored);
        }
        for (unsigned i = 0; r >= 0 && i < arg_iterations; i++) {
                uint64_t d = 0, s = 0, l = 0;

                r = stop_if_requested();
                if (r >= 0 && arg_command)
                        r = run_command_once(i, &cmd_ms[i]);
                if (r >= 0 && i % 2 == 0)
                        r = call_run(bus, handle, &d);
                if (r >= 0)
                        r = call_spawn_link(bus, handle, &s, &l);
                if (r >= 0 && i % 2 == 1)
                        r = call_run(bus, handle, &d);
                if (r >= 0) {
                        run_ms[i] = nsec_to_ms(d);
                        spawn_ms[i] = nsec_to_ms(s);
                        link_ms[i] = nsec_to_ms(l);
                        pair_ms[i] = nsec_to_ms(s + l);
                }
        }

        /* The same processes after 2N + W jobs (a leak shows here). */
        if (r >= 0)
                r = report_mem(rep, "wshd-after-jobs", containers, leader);
        if (r >= 0)
                r = report_mem(rep, "wardend-after-jobs", containers, wardend);

        if (created) {
                int k = call_destroy(bus, created, NULL);

                if (r >= 0)
                        r = k;
        }
        return r;
}

/* Many calls in flight on one connection (--memory): at most 'window' at once. */
typedef struct Batch {
        unsigned in_flight;
        int error; /* the first failure */
} Batch;

typedef struct BatchCall {
        Batch *batch;
        char **handle; /* Create: where the new handle goes; Destroy: freed and NULLed once destroyed */
} BatchCall;

static void batch_fail(Batch *b, int r) {
        if (b->error == 0)
                b->error = r;
}

static int on_create_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BatchCall *call = userdata;
        const char *handle, *path;
        int r;

        call->batch->in_flight--;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                batch_fail(
                        call->batch,
                        log_call_error(
                                "Create",
                                NULL,
                                sd_bus_message_get_error(reply),
                                -sd_bus_message_get_errno(reply)));
                return 0;
        }
        r = sd_bus_message_read(reply, "so", &handle, &path);
        if (r < 0) {
                batch_fail(call->batch, log_error_errno(r, "Failed to parse the reply of Create: %m"));
                return 0;
        }
        *call->handle = strdup(handle);
        if (!*call->handle)
                batch_fail(call->batch, log_oom());
        return 0;
}

static int on_destroy_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BatchCall *call = userdata;

        call->batch->in_flight--;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                batch_fail(
                        call->batch,
                        log_call_error(
                                "Destroy",
                                *call->handle,
                                sd_bus_message_get_error(reply),
                                -sd_bus_message_get_errno(reply)));
                return 0;
        }
        *call->handle = mfree(*call->handle);
        return 0;
}

/* Handles what arrived; waits if nothing did. An error here means the connection is unusable. */
static int bus_pump(sd_bus *bus) {
        int r;

        r = sd_bus_process(bus, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to process the bus connection: %m");
        if (r > 0)
                return 0;
        r = sd_bus_wait(bus, UINT64_MAX);
        if (r < 0 && r != -EINTR)
                return log_error_errno(r, "Failed to wait on the bus connection: %m");
        return 0;
}

/* Create (create=true) containers into handles[0..n-1] (all NULL), or Destroy the non-NULL ones, with at
 * most 'window' calls in flight. A Create batch stops issuing calls at the first failure or SIGINT/SIGTERM;
 * a Destroy batch tries every handle. Either waits for every reply that it is owed, so that no handle is
 * lost; handles[i] is then the container that exists (NULL: none). */
static int batch_calls(sd_bus *bus, bool create, char **handles, size_t n, unsigned window) {
        _cleanup_free_ BatchCall *calls = NULL;
        Batch b = {};
        size_t next = 0;
        int r;

        calls = calloc(n, sizeof(BatchCall));
        if (!calls)
                return log_oom();
        for (;;) {
                while (next < n && b.in_flight < window && !(create && b.error < 0)) {
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

                        if (create && stop_requested()) {
                                batch_fail(&b, log_error_errno(SYNTHETIC_ERRNO(EINTR), "Interrupted."));
                                break;
                        }
                        if (!create && !handles[next]) {
                                next++;
                                continue;
                        }
                        if (create)
                                r = new_create_call(bus, &m);
                        else {
                                r = sd_bus_message_new_method_call(
                                        bus, &m, WARDEN_SERVICE, WARDEN_PATH, WARDEN_INTERFACE, "Destroy");
                                if (r >= 0)
                                        r = sd_bus_message_append(m, "s", handles[next]);
                                if (r < 0)
                                        r = log_error_errno(r, "Failed to build Destroy call: %m");
                        }
                        if (r >= 0) {
                                calls[next] = (BatchCall){ .batch = &b, .handle = &handles[next] };
                                r = sd_bus_call_async(
                                        bus,
                                        NULL,
                                        m,
                                        create ? on_create_reply : on_destroy_reply,
                                        &calls[next],
                                        CALL_TIMEOUT_USEC);
                                if (r < 0)
                                        r = log_error_errno(r, "Failed to send a call: %m");
                        }
                        if (r < 0) {
                                batch_fail(&b, r);
                                if (create)
                                        break;
                                next++;
                                continue;
                        }
                        b.in_flight++;
                        next++;
                }
                if (b.in_flight == 0)
                        break;
                r = bus_pump(bus);
                if (r < 0)
                        return r; /* the replies in flight are lost with the connection */
        }
        return b.error;
}

static int bench_memory(Report *rep) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ pid_t *leaders = NULL;
        _cleanup_strv_free_ char **handles = NULL;
        unsigned max = arg_levels[arg_n_levels - 1], window = arg_clients > 0 ? arg_clients : 1, n = 0;
        pid_t wardend;
        uint64_t t0;
        int r, k;

        handles = calloc(max + 1, sizeof(char *));
        leaders = calloc(max + 1, sizeof(pid_t));
        if (!handles || !leaders)
                return log_oom();

        r = bus_connect_client(arg_bus_address, &bus);
        if (r < 0)
                return r;
        r = call_ping(bus);
        if (r < 0)
                return r;

        for (size_t l = 0; r >= 0 && l < arg_n_levels; l++) {
                unsigned level = arg_levels[l];

                if (level > n) {
                        unsigned from = n;

                        t0 = now_nsec();
                        r = batch_calls(bus, true, handles + n, level - n, window);
                        /* After a failure, the containers that exist may have gaps between them: close them
                         * up, so that handles[0..n-1] are all of them. */
                        for (unsigned i = from; i < level; i++) {
                                char *h = TAKE_PTR(handles[i]);

                                if (h)
                                        handles[n++] = h;
                        }
                        rep->fills[rep->n_fills++] =
                                (Fill){ .from = from, .to = n, .nsec = now_nsec() - t0 };
                        if (r < 0) {
                                log_error("Stopped with %u containers, on the way to %u.", n, level);
                                break;
                        }
                }
                for (unsigned i = 0; r >= 0 && i < n; i++)
                        if (leaders[i] == 0)
                                r = call_info_leader_pid(bus, handles[i], &leaders[i]);
                if (r >= 0)
                        r = get_wardend_pid(bus, &wardend);
                if (r >= 0)
                        r = wait_quiet(wardend);
                if (r >= 0)
                        r = report_mem(rep, "wardend", n, wardend);
                if (r >= 0 && n > 0)
                        r = report_mem(rep, "wshd", n, leaders[0]);
                if (r >= 0 && n > 0)
                        r = report_mem_sum(rep, "wshd-all", n, leaders, n);
        }

        /* Destroy everything this run made, also after a failure (a failed Create batch may leave gaps:
         * batch_calls() skips NULL handles). */
        t0 = now_nsec();
        k = batch_calls(bus, false, handles, max, window);
        rep->drain_nsec = now_nsec() - t0;
        rep->drained = n;
        if (k < 0) {
                size_t left = 0;

                STRV_FOREACH(h, handles)
                        left++;
                log_error("%zu container(s) of this run could not be destroyed.", left);
                return r < 0 ? r : k;
        }
        if (r < 0)
                return r;

        /* wardend again with none (the difference to the first row is what it kept). */
        r = get_wardend_pid(bus, &wardend);
        if (r >= 0)
                r = wait_quiet(wardend);
        if (r >= 0)
                r = report_mem(rep, "wardend-after", 0, wardend);
        return r;
}

static void print_text(const Report *rep) {
        switch (arg_mode) {
        case MODE_COMMAND:
                printf("warden-bench: command '%s', %u iterations, %u warm-up\n",
                       arg_command[0],
                       arg_iterations,
                       arg_warmup);
                break;
        case MODE_RUN:
                printf("warden-bench: Run and Spawn+Link of %s in container %s, %u iterations, %u warm-up",
                       bench_argv[0],
                       rep->handle,
                       arg_iterations,
                       arg_warmup);
                if (arg_command)
                        printf(", interleaved with command '%s'", arg_command[0]);
                putchar('\n');
                break;
        case MODE_MEMORY:
                printf("warden-bench: memory with");
                for (size_t l = 0; l < arg_n_levels; l++)
                        printf("%s%u", l > 0 ? "," : " ", arg_levels[l]);
                printf(" containers, %u calls in flight\n", arg_clients > 0 ? arg_clients : 1);
                break;
        default:
                printf("warden-bench: %u iterations, %u clients, %u warm-up\n",
                       arg_iterations,
                       arg_clients,
                       arg_warmup);
        }
        if (rep->n_phases > 0)
                printf("%-16s %6s %10s %10s %10s %10s %10s\n",
                       "phase",
                       "n",
                       "median_ms",
                       "p95_ms",
                       "min_ms",
                       "max_ms",
                       "mean_ms");
        for (size_t i = 0; i < rep->n_phases; i++) {
                const Stats *s = &rep->phases[i].stats;

                printf("%-16s %6zu %10.3f %10.3f %10.3f %10.3f %10.3f\n",
                       rep->phases[i].name,
                       s->n,
                       s->median,
                       s->p95,
                       s->min,
                       s->max,
                       s->mean);
        }
        if (rep->concurrent)
                printf("throughput: %u clients, %u containers in %.3f s: %.1f containers/s\n",
                       arg_clients,
                       arg_iterations,
                       (double) rep->wall_nsec / 1e9,
                       (double) arg_iterations * 1e9 / (double) rep->wall_nsec);
        for (size_t i = 0; i < rep->n_fills; i++) {
                const Fill *f = &rep->fills[i];

                printf("fill: %u -> %u containers in %.3f s: %.1f containers/s\n",
                       f->from,
                       f->to,
                       (double) f->nsec / 1e9,
                       (double) (f->to - f->from) * 1e9 / (double) f->nsec);
        }
        if (arg_mode == MODE_MEMORY)
                printf("drain: %u containers destroyed in %.3f s\n",
                       rep->drained,
                       (double) rep->drain_nsec / 1e9);
        /* One line per process (or sum of processes, pid "-"): KiB and open descriptors. */
        if (rep->n_mem > 0)
                printf("%-18s %10s %8s %6s %10s %10s %10s %8s\n",
                       "process",
                       "containers",
                       "pid",
                       "procs",
                       "rss_kib",
                       "pss_kib",
                       "uss_kib",
                       "fds");
        for (size_t i = 0; i < rep->n_mem; i++) {
                const MemRow *m = &rep->mem[i];
                char pid[16] = "-";

                if (m->pid > 0)
                        snprintf(pid, sizeof(pid), "%i", (int) m->pid);
                printf("%-18s %10u %8s %6u %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %8u\n",
                       m->name,
                       m->containers,
                       pid,
                       m->n_procs,
                       m->mem.rss_kib,
                       m->mem.pss_kib,
                       m->mem.uss_kib,
                       m->mem.fds);
        }
}

static void print_json_string(const char *s) {
        putchar('"');
        for (; *s; s++)
                if (*s == '"' || *s == '\\')
                        printf("\\%c", *s);
                else if ((unsigned char) *s < 0x20)
                        printf("\\u%04x", (unsigned) (unsigned char) *s);
                else
                        putchar(*s);
        putchar('"');
}

static void print_json(const Report *rep) {
        printf("{\"iterations\":%u,\"warmup\":%u", arg_iterations, arg_warmup);
        if (arg_command) {
                printf(",\"command\":[");
                for (size_t i = 0; arg_command[i]; i++) {
                        if (i > 0)
                                putchar(',');
                        print_json_string(arg_command[i]);
                }
                putchar(']');
        }
        switch (arg_mode) {
        case MODE_COMMAND:
                break;
        case MODE_RUN:
                printf(",\"argv\":[");
                print_json_string(bench_argv[0]);
                printf("],\"handle\":");
                print_json_string(rep->handle);
                break;
        case MODE_MEMORY:
                printf(",\"levels\":[");
                for (size_t l = 0; l < arg_n_levels; l++)
                        printf("%s%u", l > 0 ? "," : "", arg_levels[l]);
                printf("],\"in_flight\":%u", arg_clients > 0 ? arg_clients : 1);
                break;
        default:
                printf(",\"clients\":%u", arg_clients);
        }
        printf(",\"phases\":{");
        for (size_t i = 0; i < rep->n_phases; i++) {
                const Stats *s = &rep->phases[i].stats;

                printf("%s\"%s\":{\"n\":%zu,\"median_ms\":%.3f,\"p95_ms\":%.3f,\"min_ms\":%.3f,"
                       "\"max_ms\":%.3f,\"mean_ms\":%.3f}",
                       i > 0 ? "," : "",
                       rep->phases[i].name,
                       s->n,
                       s->median,
                       s->p95,
                       s->min,
                       s->max,
                       s->mean);
        }
        putchar('}');
        if (rep->concurrent)
                printf(",\"throughput\":{\"clients\":%u,\"containers\":%u,\"seconds\":%.6f,"
                       "\"containers_per_s\":%.3f}",
                       arg_clients,
                       arg_iterations,
                       (double) rep->wall_nsec / 1e9,
                       (double) arg_iterations * 1e9 / (double) rep->wall_nsec);
        if (arg_mode == MODE_MEMORY) {
                printf(",\"fills\":[");
                for (size_t i = 0; i < rep->n_fills; i++)
                        printf("%s{\"from\":%u,\"to\":%u,\"seconds\":%.6f}",
                               i > 0 ? "," : "",
                               rep->fills[i].from,
                               rep->fills[i].to,
                               (double) rep->fills[i].nsec / 1e9);
                printf("],\"drain\":{\"containers\":%u,\"seconds\":%.6f}",
                       rep->drained,
                       (double) rep->drain_nsec / 1e9);
        }
        if (rep->n_mem > 0) {
                printf(",\"memory\":[");
                for (size_t i = 0; i < rep->n_mem; i++) {
                        const MemRow *m = &rep->mem[i];

                        printf("%s{\"process\":\"%s\",\"containers\":%u,\"pid\":%i,\"procs\":%u,"
                               "\"rss_kib\":%" PRIu64 ",\"pss_kib\":%" PRIu64 ",\"uss_kib\":%" PRIu64
                               ",\"fds\":%u}",
                               i > 0 ? "," : "",
                               m->name,
                               m->containers,
                               (int) m->pid,
                               m->n_procs,
                               m->mem.rss_kib,
                               m->mem.pss_kib,
                               m->mem.uss_kib,
                               m->mem.fds);
                }
                putchar(']');
        }
        printf("}\n");
}

static int
bench_lifecycle(Report *rep, double *create_ms, double *destroy_ms, double *pair_ms, double *conc_ms) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = bus_connect_client(arg_bus_address, &bus);
        if (r >= 0)
                r = call_ping(bus);
        if (r >= 0)
                r = run_warmup(bus);
        if (r >= 0)
                r = run_create_then_destroy(bus, create_ms, destroy_ms);
        if (r >= 0)
                r = run_pairs(bus, pair_ms, arg_iterations);
        if (r >= 0 && arg_clients > 0) {
                r = run_concurrent(conc_ms, &rep->wall_nsec);
                rep->concurrent = true;
        }
        if (r < 0)
                return r;
        rep->phases[rep->n_phases++] = (Phase){ "create", stats_compute(create_ms, arg_iterations) };
        rep->phases[rep->n_phases++] = (Phase){ "destroy", stats_compute(destroy_ms, arg_iterations) };
        rep->phases[rep->n_phases++] = (Phase){ "create+destroy", stats_compute(pair_ms, arg_iterations) };
        if (rep->concurrent)
                rep->phases[rep->n_phases++] =
                        (Phase){ "concurrent", stats_compute(conc_ms, arg_iterations) };
        return 0;
}

static int run(int argc, char *argv[]) {
        _cleanup_free_ double *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
        _cleanup_free_ Report *rep = NULL;
        sigset_t mask;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        assert_se(sigprocmask(SIG_BLOCK, &mask, NULL) == 0);

        /* Five sample arrays, N each: what they hold depends on the mode. */
        a = calloc(arg_iterations, sizeof(double));
        b = calloc(arg_iterations, sizeof(double));
        c = calloc(arg_iterations, sizeof(double));
        d = calloc(arg_iterations, sizeof(double));
        e = calloc(arg_iterations, sizeof(double));
        rep = calloc(1, sizeof(Report));
        if (!a || !b || !c || !d || !e || !rep)
                return log_oom(), EXIT_FAILURE;

        switch (arg_mode) {
        case MODE_COMMAND:
                r = run_command(a);
                if (r >= 0)
                        rep->phases[rep->n_phases++] =
                                (Phase){ "command", stats_compute(a, arg_iterations) };
                break;
        case MODE_RUN:
                r = bench_run(rep, e, a, b, c, d);
                if (r >= 0 && arg_command)
                        rep->phases[rep->n_phases++] =
                                (Phase){ "command", stats_compute(e, arg_iterations) };
                if (r >= 0) {
                        rep->phases[rep->n_phases++] = (Phase){ "run", stats_compute(a, arg_iterations) };
                        rep->phases[rep->n_phases++] = (Phase){ "spawn", stats_compute(b, arg_iterations) };
                        rep->phases[rep->n_phases++] = (Phase){ "link", stats_compute(c, arg_iterations) };
                        rep->phases[rep->n_phases++] =
                                (Phase){ "spawn+link", stats_compute(d, arg_iterations) };
                }
                break;
        case MODE_MEMORY:
                r = bench_memory(rep);
                break;
        default:
                r = bench_lifecycle(rep, a, b, c, d);
        }
        /* --memory prints the levels it measured also when it could not reach the others. */
        if (r < 0 && !(arg_mode == MODE_MEMORY && rep->n_mem > 0))
                return EXIT_FAILURE;

        if (arg_json)
                print_json(rep);
        else
                print_text(rep);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        log_set_prefix("warden-bench");
        return run(argc, argv);
}
