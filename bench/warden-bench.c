/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * warden-bench: measures how long wardend takes to create and destroy containers, as seen by a D-Bus
 * client (org.warden.Manager on the system bus, or --bus-address=).
 *
 * Phases, each over --iterations N:
 *   create           N Create calls in a row (the containers are kept, grace_time 0)
 *   destroy          N Destroy calls, one for each container of "create"
 *   create+destroy   N Create->Destroy pairs, timing each pair
 *   concurrent       --clients C processes, each with its own bus connection, doing N/C pairs at the same
 *                    time; reports the pair latency and the containers per second over all of them
 * With --command, it times a command instead (fork+exec+wait, N times; "%i" in an argument is replaced by
 * the iteration number), which bench/run uses to measure `crun run` with the same statistics.
 *
 * A benchmark, not a test: it asserts nothing about time. Exit status: 0 done, 1 a call failed (the D-Bus
 * error name and message are printed, and what this run created is destroyed), 2 bad usage.
 */

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
#include "log.h"
#include "macro.h"
#include "strv.h"

#define EXIT_USAGE 2
#define WARDEN_SERVICE "org.warden.Manager"
#define WARDEN_PATH "/org/warden/Manager"
#define WARDEN_INTERFACE "org.warden.Manager"
/* Generous: a loaded machine with four clients must not turn a slow Create into a failure. */
#define CALL_TIMEOUT_USEC (120ULL * 1000000ULL)

static unsigned arg_iterations = 100;
static unsigned arg_clients = 4;
static unsigned arg_warmup = 3;
static const char *arg_bus_address = NULL;
static const char *arg_rootfs = NULL;
static bool arg_json = false;
static char **arg_command = NULL; /* points into argv */

typedef struct Stats {
        size_t n;
        double median, p95, min, max, mean; /* milliseconds */
} Stats;

static void help(void) {
        printf("%s [OPTIONS...]\n"
               "%s [OPTIONS...] --command -- CMD [ARGS...]\n\n"
               "Measure Create, Destroy and Create->Destroy of wardend (median, p95, min, max), and\n"
               "containers/s with concurrent clients. With --command, time CMD instead (\"%%i\" in an\n"
               "argument becomes the iteration number).\n\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "  -n --iterations=N      Calls per phase (default 100)\n"
               "  -c --clients=N         Concurrent clients in the last phase (default 4; 0 skips it)\n"
               "     --warmup=N          Untimed Create->Destroy pairs (or commands) first (default 3)\n"
               "     --rootfs=PATH       Pass 'rootfs' to Create (default: wardend's default rootfs)\n"
               "     --bus-address=ADDR  Talk to the wardend on this bus instead of the system bus\n"
               "     --json              Print the results as JSON\n"
               "     --command           Time the command after '--' instead of wardend\n",
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

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_WARMUP = 0x100,
                ARG_ROOTFS,
                ARG_BUS_ADDRESS,
                ARG_JSON,
                ARG_COMMAND,
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
                {},
        };
        bool command = false;
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
                        command = true;
                        break;
                case '?':
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL),
                                        "Try '%s --help' for more information.",
                                        program_invocation_short_name);
                default:
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Unhandled option.");
                }

        if (command) {
                if (optind >= argc)
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL), "--command needs a command after '--'.");
                arg_command = argv + optind;
        } else if (optind < argc)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Unexpected argument '%s'.", argv[optind]);
        if (!arg_command && arg_clients > arg_iterations)
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
                log_error("%s%s%s%s failed: %s: %s",
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

/* The message is built before the clock starts: only the round trip through wardend is timed. */
static int call_create(sd_bus *bus, char **ret_handle, uint64_t *ret_nsec) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *handle, *path;
        char *h;
        uint64_t t0, t1;
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

        t0 = now_nsec();
        r = sd_bus_call(bus, m, CALL_TIMEOUT_USEC, &error, &reply);
        t1 = now_nsec();
        if (r < 0)
                return log_call_error("Create", NULL, &error, r);

        r = sd_bus_message_read(reply, "so", &handle, &path);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply of Create: %m");
        h = strdup(handle);
        if (!h)
                return log_oom();
        *ret_handle = h;
        *ret_nsec = t1 - t0;
        return 0;
}

static int call_destroy(sd_bus *bus, const char *handle, uint64_t *ret_nsec) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        uint64_t t0, t1;
        int r;

        r = sd_bus_message_new_method_call(
                        bus, &m, WARDEN_SERVICE, WARDEN_PATH, WARDEN_INTERFACE, "Destroy");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", handle);
        if (r < 0)
                return log_error_errno(r, "Failed to build Destroy call: %m");

        t0 = now_nsec();
        r = sd_bus_call(bus, m, CALL_TIMEOUT_USEC, &error, NULL);
        t1 = now_nsec();
        if (r < 0)
                return log_call_error("Destroy", handle, &error, r);
        if (ret_nsec)
                *ret_nsec = t1 - t0;
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

static void print_text(const Phase *phases, size_t n_phases, bool concurrent, uint64_t wall_nsec) {
        if (arg_command)
                printf("warden-bench: command '%s', %u iterations, %u warm-up\n",
                       arg_command[0],
                       arg_iterations,
                       arg_warmup);
        else
                printf("warden-bench: %u iterations, %u clients, %u warm-up\n",
                       arg_iterations,
                       arg_clients,
                       arg_warmup);
        printf("%-16s %6s %10s %10s %10s %10s %10s\n",
               "phase",
               "n",
               "median_ms",
               "p95_ms",
               "min_ms",
               "max_ms",
               "mean_ms");
        for (size_t i = 0; i < n_phases; i++) {
                const Stats *s = &phases[i].stats;

                printf("%-16s %6zu %10.3f %10.3f %10.3f %10.3f %10.3f\n",
                       phases[i].name,
                       s->n,
                       s->median,
                       s->p95,
                       s->min,
                       s->max,
                       s->mean);
        }
        if (concurrent)
                printf("throughput: %u clients, %u containers in %.3f s: %.1f containers/s\n",
                       arg_clients,
                       arg_iterations,
                       (double) wall_nsec / 1e9,
                       (double) arg_iterations * 1e9 / (double) wall_nsec);
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

static void print_json(const Phase *phases, size_t n_phases, bool concurrent, uint64_t wall_nsec) {
        printf("{\"iterations\":%u,\"warmup\":%u", arg_iterations, arg_warmup);
        if (arg_command) {
                printf(",\"command\":[");
                for (size_t i = 0; arg_command[i]; i++) {
                        if (i > 0)
                                putchar(',');
                        print_json_string(arg_command[i]);
                }
                putchar(']');
        } else
                printf(",\"clients\":%u", arg_clients);
        printf(",\"phases\":{");
        for (size_t i = 0; i < n_phases; i++) {
                const Stats *s = &phases[i].stats;

                printf("%s\"%s\":{\"n\":%zu,\"median_ms\":%.3f,\"p95_ms\":%.3f,\"min_ms\":%.3f,"
                       "\"max_ms\":%.3f,\"mean_ms\":%.3f}",
                       i > 0 ? "," : "",
                       phases[i].name,
                       s->n,
                       s->median,
                       s->p95,
                       s->min,
                       s->max,
                       s->mean);
        }
        putchar('}');
        if (concurrent)
                printf(",\"throughput\":{\"clients\":%u,\"containers\":%u,\"seconds\":%.6f,"
                       "\"containers_per_s\":%.3f}",
                       arg_clients,
                       arg_iterations,
                       (double) wall_nsec / 1e9,
                       (double) arg_iterations * 1e9 / (double) wall_nsec);
        printf("}\n");
}

static int run(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ double *create_ms = NULL, *destroy_ms = NULL, *pair_ms = NULL, *conc_ms = NULL;
        Phase phases[4];
        size_t n_phases = 0;
        uint64_t wall_nsec = 0;
        bool concurrent = false;
        sigset_t mask;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        assert_se(sigprocmask(SIG_BLOCK, &mask, NULL) == 0);

        create_ms = calloc(arg_iterations, sizeof(double));
        destroy_ms = calloc(arg_iterations, sizeof(double));
        pair_ms = calloc(arg_iterations, sizeof(double));
        conc_ms = calloc(arg_iterations, sizeof(double));
        if (!create_ms || !destroy_ms || !pair_ms || !conc_ms)
                return log_oom(), EXIT_FAILURE;

        if (arg_command) {
                r = run_command(create_ms);
                if (r < 0)
                        return EXIT_FAILURE;
                phases[n_phases++] = (Phase){ "command", stats_compute(create_ms, arg_iterations) };
        } else {
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
                        r = run_concurrent(conc_ms, &wall_nsec);
                        concurrent = true;
                }
                if (r < 0)
                        return EXIT_FAILURE;
                phases[n_phases++] = (Phase){ "create", stats_compute(create_ms, arg_iterations) };
                phases[n_phases++] = (Phase){ "destroy", stats_compute(destroy_ms, arg_iterations) };
                phases[n_phases++] = (Phase){ "create+destroy", stats_compute(pair_ms, arg_iterations) };
                if (concurrent)
                        phases[n_phases++] = (Phase){ "concurrent", stats_compute(conc_ms, arg_iterations) };
        }

        if (arg_json)
                print_json(phases, n_phases, concurrent, wall_nsec);
        else
                print_text(phases, n_phases, concurrent, wall_nsec);
        return EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        log_set_prefix("warden-bench");
        return run(argc, argv);
}
