/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * wardenctl: the command-line client of wardend (org.warden.Manager on the system bus). See wardenctl(1).
 * Exit status: 0 success, 1 failure (the message says why), 2 bad usage.
 */

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus-error.h"
#include "bus-client.h"
#include "bus-print.h"
#include "bus-util.h"
#include "job-args.h"
#include "json-util.h"
#include "log.h"
#include "parse-util.h"
#include "strv.h"
#include "verb-copy.h"
#include "verb-job.h"
#include "verb-limit.h"
#include "verb-net.h"

#define EXIT_USAGE 2

/*
 * Create waits for systemd and wshd, Stop for the container's stop_timeout and Destroy for both: longer than
 * sd-bus's default of 25 s is possible on a loaded machine, and giving up early would leave the caller
 * guessing whether the call took effect.
 */
#define SLOW_CALL_TIMEOUT_USEC (120 * USEC_PER_SEC)

typedef struct BindMount {
        char *source;
        char *destination;
        bool read_only;
} BindMount;

static bool arg_json = false;
static const char *arg_bus_address = NULL;
static char **arg_properties = NULL; /* key, value, … */
static bool arg_kill = false;
static const char *arg_handle = NULL;
static const char *arg_rootfs = NULL;
static const char *arg_network = NULL;
static BindMount *arg_bind_mounts = NULL;
static size_t arg_n_bind_mounts = 0;
static char **arg_env = NULL;
static bool arg_grace_time_set = false;
static uint32_t arg_grace_time = 0;
static bool arg_memory_limit_set = false, arg_cpu_weight_set = false, arg_pids_limit_set = false;
static uint64_t arg_memory_limit = 0, arg_cpu_weight = 0, arg_pids_limit = 0;
static bool arg_cpu_quota_set = false;
static uint64_t arg_cpu_quota = 0;
static int arg_user_namespace = -1;           /* -1: wardend's default */
static JobOptions arg_job = JOB_OPTIONS_INIT; /* run, spawn, shell; its env is arg_env */
static const char *arg_owner = NULL;
static uint32_t arg_job_id = 0;
static int arg_signal = 0;
static uint16_t arg_host_port = 0, arg_container_port = 0; /* net-in; 0: wardend picks */
static NetOutArgs arg_net_out = {};                        /* net-out; its network is arg_network */
static uint64_t arg_limit = 0;                             /* limit-memory, limit-cpu; 0: query */
static DiskLimitArgs arg_disk = {};                        /* limit-disk */
static bool arg_rate_set = false, arg_burst_set = false;   /* limit-bandwidth */
static uint64_t arg_rate = 0, arg_burst = 0;

typedef enum VerbFlags {
        VERB_OPTIONS = 1 << 0,        /* options may follow the command (echo: its argument is verbatim) */
        VERB_CREATE_OPTIONS = 1 << 1, /* --handle, --rootfs, --bind, … */
        VERB_PROPERTY = 1 << 2,       /* --property */
        VERB_KILL = 1 << 3,           /* --kill */
        VERB_COMMAND = 1 << 4,        /* HANDLE [OPTIONS...] [--] COMMAND...: the command is verbatim */
        VERB_USER = 1 << 5,           /* --user, --privileged */
        VERB_PROCESS = 1 << 6,        /* --env, --dir, --rlimit, --tty */
        VERB_DISCARD_OUTPUT = 1 << 7, /* --discard-output */
        VERB_OWNER = 1 << 8,          /* --owner */
        VERB_EXIT_STATUS = 1 << 9,    /* run() returns the exit status itself (a job's) */
        VERB_NET_IN = 1 << 10,        /* --host-port, --container-port */
        VERB_NET_OUT = 1 << 11,       /* --network, --port, --protocol, --icmp-type, --icmp-code */
        VERB_DISK = 1 << 12,          /* --bytes, --inodes */
        VERB_BANDWIDTH = 1 << 13,     /* --rate, --burst */
} VerbFlags;

#define ARGS_ANY INT_MAX

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* not counting the verb itself */
        VerbFlags flags;
        int (*run)(sd_bus *bus, char **args);
        /* Optional: checks the arguments and stores them in arg_*, before wardenctl connects; a negative
         * errno (logged) is a usage error. */
        int (*parse_args)(char **args);
} Verb;

static void help(void) {
        printf("%s [OPTIONS...] COMMAND [ARGS...]\n\n"
               "Control the warden container manager (org.warden.Manager on the system bus).\n\n"
               "Commands:\n"
               "  ping                   Check that wardend answers (activating it if needed)\n"
               "  echo MESSAGE           Send MESSAGE to wardend and print its answer\n"
               "  create [OPTIONS...]    Create a container and print its handle\n"
               "  stop [--kill] HANDLE...\n"
               "                         Stop every process of the containers\n"
               "  destroy HANDLE...      Destroy the containers and everything they hold\n"
               "  list                   List container handles (filter with --property)\n"
               "  info HANDLE            Show a container's state and resources\n"
               "  version                Show the versions of wardenctl and wardend\n"
               "  run HANDLE [OPTIONS...] [--] COMMAND [ARGS...]\n"
               "                         Run COMMAND in the container with this terminal's\n"
               "                         input and output; exit with its exit status\n"
               "  spawn HANDLE [OPTIONS...] [--] COMMAND [ARGS...]\n"
               "                         Start COMMAND, capturing its output; print its job id\n"
               "  link HANDLE JOB        Wait for the job, print its output, exit with its status\n"
               "  stream HANDLE JOB      Print the job's output, from its start to its end\n"
               "  signal HANDLE JOB SIGNAL\n"
               "                         Send SIGNAL (TERM, SIGKILL, 9, ...) to the job\n"
               "  shell HANDLE [--user=USER] [--privileged]\n"
               "                         Start an interactive login shell in the container\n"
               "  copy-in HANDLE SRC DST Copy the host path SRC to DST in the container\n"
               "  copy-out HANDLE SRC DST [--owner=USER[:GROUP]]\n"
               "                         Copy SRC in the container to the host path DST\n"
               "  net-in HANDLE [--host-port=N] [--container-port=N]\n"
               "                         Forward a host port to the container; print both ports\n"
               "  net-out HANDLE --network=NET [--protocol=P] [--port=N|N-M]\n"
               "          [--icmp-type=N] [--icmp-code=N]\n"
               "                         Allow the container to connect to NET\n"
               "  limit-memory HANDLE [SIZE]\n"
               "                         Set the memory limit; print the one in force\n"
               "  limit-cpu HANDLE [WEIGHT]\n"
               "                         Set the CPU weight (1-10000); print the one in force\n"
               "  limit-cpu-quota HANDLE [PERCENT|none]\n"
               "                         Set or remove the CPU quota; print the one in force\n"
               "  limit-disk HANDLE [--bytes=SIZE] [--inodes=N]\n"
               "                         Print the disk limits (fixed at create)\n"
               "  limit-bandwidth HANDLE [--rate=SIZE --burst=SIZE]\n"
               "                         Set the bandwidth limit; print the one in force\n\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version of wardenctl\n"
               "     --json              Print structured output as JSON\n"
               "  -p --property=KEY=VAL  With list: only containers with this property;\n"
               "                         with create: set this property (repeatable)\n"
               "     --bus-address=ADDR  Talk to the wardend on this bus instead of the system bus\n\n"
               "Options of create:\n"
               "     --handle=HANDLE     Name the container (default: a generated handle)\n"
               "     --rootfs=DIR        Use DIR as the read-only root file system\n"
               "     --bind=SRC:DST[:ro|:rw]\n"
               "                         Bind-mount host SRC at DST (default read-only; repeatable)\n"
               "     --grace-time=TIME   Destroy this long after the last client is gone (0: never)\n"
               "     --network=ADDR      Give the container the pool's /30 that holds ADDR\n"
               "     --env=KEY=VALUE     Default environment of its processes (repeatable)\n"
               "     --memory-limit=SIZE Memory limit in bytes (K, M, G, T suffixes)\n"
               "     --cpu-weight=N      CPU weight, 1-10000\n"
               "     --cpu-quota=PERCENT CPU time at most, in percent of one CPU (50, 200%%, none)\n"
               "     --pids-limit=N      Maximum number of tasks\n"
               "     --user-namespace[=BOOL]\n"
               "                         A user namespace of its own (default: wardend's configuration)\n\n"
               "Options of stop:\n"
               "     --kill              Send SIGKILL at once instead of SIGTERM first\n\n"
               "Options of run, spawn (and shell: --user, --privileged):\n"
               "     --user=USER         Run as USER (default: the container's own user)\n"
               "     --privileged        Run as root\n"
               "     --env=KEY=VALUE     Set an environment variable (repeatable)\n"
               "     --dir=DIR           Working directory in the container\n"
               "     --rlimit=NAME=N     Set a resource limit: nofile, nproc, as, core, cpu, ...\n"
               "                         (repeatable; N may be 'infinity')\n"
               "     --tty               Give the command a terminal (run: this one, raw)\n"
               "     --discard-output    spawn: throw the output away instead of keeping it\n\n"
               "Options of copy-out:\n"
               "     --owner=USER[:GROUP]\n"
               "                         Owner of the copied files on the host (default: root)\n\n"
               "Options of net-in:\n"
               "     --host-port=N       Host port (default: the next free one of wardend's range)\n"
               "     --container-port=N  Port in the container (default: the host port)\n\n"
               "Options of net-out:\n"
               "     --network=NET       Destination: ADDR, ADDR/PREFIX or ADDR-ADDR (required)\n"
               "     --protocol=P        tcp, udp, icmp or all (default: all)\n"
               "     --port=N|N-M        Destination port or range (tcp, udp; default: all)\n"
               "     --icmp-type=N       ICMP type (icmp; -1: any, the default)\n"
               "     --icmp-code=N       ICMP code (icmp, with --icmp-type; -1: any)\n\n"
               "Options of limit-disk and limit-bandwidth (none: query):\n"
               "     --bytes=SIZE        Disk limit in bytes (K, M, G, T suffixes)\n"
               "     --inodes=N          Limit of files (inodes)\n"
               "     --rate=SIZE         Bytes per second (K, M, G, T suffixes)\n"
               "     --burst=SIZE        Bytes sent at full speed beyond the rate\n\n"
               "See wardenctl(1) for details.\n",
               program_invocation_short_name);
}

/* Prints the daemon's own message: it is written for people already ("No container 'x'."). */
static int log_bus_error(const sd_bus_error *e, int r, const char *what) {
        if (sd_bus_error_is_set(e))
                return log_error_errno(r, "%s", e->message ?: e->name);
        return log_error_errno(r, "%s: %m", what);
}

static int new_call(sd_bus *bus, const char *method, sd_bus_message **ret) {
        int r;

        r = sd_bus_message_new_method_call(
                bus, ret, WARDEN_BUS_NAME, WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, method);
        if (r < 0)
                return log_error_errno(r, "Failed to create a %s() call: %m", method);
        return 0;
}

/* Sends 'm' and waits up to 'usec' (0: sd-bus's default) for the reply; logs a failure. */
static int send_call(sd_bus *bus, sd_bus_message *m, uint64_t usec, sd_bus_message **reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call(bus, m, usec, &e, reply);
        if (r < 0)
                return log_bus_error(&e, r, sd_bus_message_get_member(m));
        return 0;
}

static int call(sd_bus *bus, const char *method, uint64_t usec, sd_bus_message **ret, const char *sig, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = new_call(bus, method, &m);
        if (r < 0)
                return r;
        if (sig) {
                va_start(ap, sig);
                r = sd_bus_message_appendv(m, sig, ap);
                va_end(ap);
                if (r < 0)
                        return log_error_errno(r, "Failed to create a %s() call: %m", method);
        }
        return send_call(bus, m, usec, ret);
}

static int get_version(sd_bus *bus, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_get_property_string(
                bus, WARDEN_BUS_NAME, WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, "Version", &e, ret);
        if (r < 0)
                return log_bus_error(&e, r, "Failed to read the Version property");
        return 0;
}

static int verb_ping(sd_bus *bus, char **args) {
        _cleanup_free_ char *version = NULL;
        uint64_t start, end;
        int r;

        start = now_usec(CLOCK_MONOTONIC);
        r = call(bus, "Ping", 0, NULL, NULL);
        if (r < 0)
                return r;
        end = now_usec(CLOCK_MONOTONIC);
        r = get_version(bus, &version);
        if (r < 0)
                return r;

        if (arg_json) {
                printf("{\"name\": \"%s\", \"version\": ", WARDEN_BUS_NAME);
                json_write_string(stdout, version);
                printf(", \"time_usec\": %llu}\n", (unsigned long long) (end - start));
        } else
                printf("pong from %s (wardend %s) in %.1f ms\n",
                       WARDEN_BUS_NAME,
                       version,
                       (double) (end - start) / 1000.0);
        return 0;
}

static int verb_echo(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *s;
        int r;

        r = call(bus, "Echo", 0, &reply, "s", args[0]);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &s);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply: %m");
        if (arg_json) {
                json_write_string(stdout, s);
                putchar('\n');
        } else
                puts(s);
        return 0;
}

static int verb_version(sd_bus *bus, char **args) {
        _cleanup_free_ char *version = NULL;
        int r;

        r = get_version(bus, &version);
        if (r < 0)
                return r;
        if (arg_json) {
                printf("{\"wardenctl\": \"%s\", \"wardend\": ", WARDEN_VERSION);
                json_write_string(stdout, version);
                puts("}");
        } else
                printf("wardenctl %s\nwardend %s\n", WARDEN_VERSION, version);
        return 0;
}

/* Appends the key, value, … list 'l' as an a{ss}. */
static int append_string_pairs(sd_bus_message *m, char **l) {
        int r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{ss}");
        for (char **p = l; r >= 0 && p && p[0] && p[1]; p += 2)
                r = sd_bus_message_append(m, "{ss}", p[0], p[1]);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int verb_list(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_strv_free_ char **handles = NULL;
        int r;

        r = new_call(bus, "List", &m);
        if (r < 0)
                return r;
        r = append_string_pairs(m, arg_properties);
        if (r < 0)
                return log_error_errno(r, "Failed to create a List() call: %m");

        r = send_call(bus, m, 0, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(reply, &handles);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply: %m");

        if (arg_json) {
                putchar('[');
                STRV_FOREACH(h, handles) {
                        if (h != handles)
                                fputs(", ", stdout);
                        json_write_string(stdout, *h);
                }
                puts("]");
        } else {
                STRV_FOREACH(h, handles)
                        puts(*h);
                if (!handles || !handles[0]) {
                        if (isatty(STDOUT_FILENO))
                                fputs("No containers.\n", stderr);
                }
        }
        return 0;
}

/* Opens the dict entry of an a{sv} for 'key' and its variant of type 'contents'. */
static int open_option(sd_bus_message *m, const char *key, const char *contents) {
        int r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, SD_BUS_TYPE_VARIANT, contents);
        return r;
}

static int close_option(sd_bus_message *m) {
        int r;

        r = sd_bus_message_close_container(m); /* variant */
        if (r >= 0)
                r = sd_bus_message_close_container(m); /* dict entry */
        return r;
}

/* The Create options a{sv}: only the options given, so that wardend's defaults apply to the others. */
static int append_create_options(sd_bus_message *m) {
        int r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        if (arg_handle) {
                r = sd_bus_message_append(m, "{sv}", "handle", "s", arg_handle);
                if (r < 0)
                        return r;
        }
        if (arg_rootfs) {
                r = sd_bus_message_append(m, "{sv}", "rootfs", "s", arg_rootfs);
                if (r < 0)
                        return r;
        }
        if (arg_n_bind_mounts > 0) {
                r = open_option(m, "bind_mounts", "a(ssb)");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "(ssb)");
                for (size_t i = 0; r >= 0 && i < arg_n_bind_mounts; i++)
                        r = sd_bus_message_append(
                                m,
                                "(ssb)",
                                arg_bind_mounts[i].source,
                                arg_bind_mounts[i].destination,
                                (int) arg_bind_mounts[i].read_only);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = close_option(m);
                if (r < 0)
                        return r;
        }
        if (arg_grace_time_set) {
                r = sd_bus_message_append(m, "{sv}", "grace_time", "u", arg_grace_time);
                if (r < 0)
                        return r;
        }
        if (arg_network) {
                r = sd_bus_message_append(m, "{sv}", "network", "s", arg_network);
                if (r < 0)
                        return r;
        }
        if (arg_properties) {
                r = open_option(m, "properties", "a{ss}");
                if (r >= 0)
                        r = append_string_pairs(m, arg_properties);
                if (r >= 0)
                        r = close_option(m);
                if (r < 0)
                        return r;
        }
        if (arg_env) {
                r = open_option(m, "env", "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, arg_env);
                if (r >= 0)
                        r = close_option(m);
                if (r < 0)
                        return r;
        }
        if (arg_memory_limit_set) {
                r = sd_bus_message_append(m, "{sv}", "memory_limit", "t", arg_memory_limit);
                if (r < 0)
                        return r;
        }
        if (arg_cpu_weight_set) {
                r = sd_bus_message_append(m, "{sv}", "cpu_weight", "t", arg_cpu_weight);
                if (r < 0)
                        return r;
        }
        if (arg_cpu_quota_set) {
                r = sd_bus_message_append(m, "{sv}", "cpu_quota", "t", arg_cpu_quota);
                if (r < 0)
                        return r;
        }
        if (arg_pids_limit_set) {
                r = sd_bus_message_append(m, "{sv}", "pids_limit", "t", arg_pids_limit);
                if (r < 0)
                        return r;
        }
        if (arg_user_namespace >= 0) {
                r = sd_bus_message_append(m, "{sv}", "user_namespace", "b", arg_user_namespace);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static int verb_create(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *handle, *object;
        int r;

        r = new_call(bus, "Create", &m);
        if (r < 0)
                return r;
        r = append_create_options(m);
        if (r < 0)
                return log_error_errno(r, "Failed to create a Create() call: %m");

        r = send_call(bus, m, SLOW_CALL_TIMEOUT_USEC, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "so", &handle, &object);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply: %m");

        if (arg_json) {
                fputs("{\"handle\": ", stdout);
                json_write_string(stdout, handle);
                fputs(", \"object\": ", stdout);
                json_write_string(stdout, object);
                puts("}");
        } else
                puts(handle);
        return 0;
}

/* Calls 'method' for each handle; every failure is reported, and the first one is returned. */
static int call_each(sd_bus *bus, const char *method, char **handles) {
        int ret = 0, r;

        STRV_FOREACH(h, handles) {
                if (streq(method, "Stop"))
                        r = call(bus, method, SLOW_CALL_TIMEOUT_USEC, NULL, "sb", *h, (int) arg_kill);
                else
                        r = call(bus, method, SLOW_CALL_TIMEOUT_USEC, NULL, "s", *h);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

static int verb_stop(sd_bus *bus, char **args) {
        return call_each(bus, "Stop", args);
}

static int verb_destroy(sd_bus *bus, char **args) {
        return call_each(bus, "Destroy", args);
}

static bool info_key_is_bytes(const char *key) {
        return strv_contains(
                STRV_MAKE(
                        "memory_current",
                        "memory_limit",
                        "disk_bytes_used",
                        "disk_limit",
                        "rx_bytes",
                        "tx_bytes"),
                key);
}

/*
 * Writes the value of the Info entry 'key' (the next value of 'reply', a variant) as text. Numbers whose
 * unit is known get a readable form appended; everything else is printed by bus_print_text_value().
 */
static int print_info_value(FILE *f, sd_bus_message *reply, const char *key) {
        const char *contents;
        uint64_t t;
        uint32_t u;
        char type;
        int r;

        r = sd_bus_message_peek_type(reply, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0 || type != SD_BUS_TYPE_VARIANT)
                return bus_print_text_value(f, reply);

        if (streq(contents, "t") && (info_key_is_bytes(key) || streq(key, "cpu_usage_ns"))) {
                r = sd_bus_message_read(reply, "v", "t", &t);
                if (r < 0)
                        return r;
                if (streq(key, "cpu_usage_ns"))
                        fprintf(f, "%" PRIu64 " (%.3fs)", t, (double) t / 1e9);
                else
                        print_bytes(f, t, NULL);
                return 1;
        }
        if (streq(contents, "u") && streq(key, "grace_time")) {
                r = sd_bus_message_read(reply, "v", "u", &u);
                if (r < 0)
                        return r;
                fprintf(f, "%" PRIu32 "%s", u, u == 0 ? " (never)" : "s");
                return 1;
        }
        return bus_print_text_value(f, reply);
}

static int verb_info(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *key;
        bool first = true;
        int r;

        r = call(bus, "Info", 0, &reply, "s", args[0]);
        if (r < 0)
                return r;

        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply: %m");
        if (arg_json)
                putchar('{');
        while ((r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return log_error_errno(r, "Failed to parse the reply: %m");
                if (arg_json) {
                        if (!first)
                                fputs(", ", stdout);
                        json_write_string(stdout, key);
                        fputs(": ", stdout);
                        r = bus_print_json_value(stdout, reply);
                } else {
                        _cleanup_free_ char *value = NULL;
                        size_t size = 0;
                        FILE *f;

                        /* Into a buffer first, so that an empty value leaves no trailing blank. */
                        f = open_memstream(&value, &size);
                        if (!f)
                                return log_oom();
                        r = print_info_value(f, reply, key);
                        if (fclose(f) != 0 && r >= 0)
                                r = -ENOMEM;
                        if (r >= 0)
                                printf("%16s:%s%s\n", key, size > 0 ? " " : "", value);
                }
                if (r < 0)
                        return log_error_errno(r, "Failed to parse the reply: %m");
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return log_error_errno(r, "Failed to parse the reply: %m");
                first = false;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply: %m");
        if (arg_json)
                puts("}");
        return 0;
}

/* Verbs with VERB_EXIT_STATUS return what wardenctl exits with: the job's status. */
static int verb_run(sd_bus *bus, char **args) {
        arg_job.env = arg_env;
        return job_run(bus, args[0], args + 1, &arg_job);
}

static int verb_spawn(sd_bus *bus, char **args) {
        arg_job.env = arg_env;
        return job_spawn(bus, args[0], args + 1, &arg_job, arg_json);
}

static int verb_shell(sd_bus *bus, char **args) {
        /* A login shell: it reads the container's profile; wardend picks the rest of the environment. */
        arg_job.tty = true;
        return job_run(bus, args[0], STRV_MAKE("/bin/sh", "-l"), &arg_job);
}

/* HANDLE JOB ... */
static int parse_job_args(char **args) {
        if (job_id_parse(args[1], &arg_job_id) < 0)
                return log_error_errno(
                        SYNTHETIC_ERRNO(EINVAL),
                        "Invalid job id '%s': expected a number from 1 to %" PRIu32 ".",
                        args[1],
                        UINT32_MAX);
        return 0;
}

/* HANDLE JOB SIGNAL */
static int parse_signal_args(char **args) {
        int r;

        r = parse_job_args(args);
        if (r < 0)
                return r;
        arg_signal = signal_from_string(args[2]);
        if (arg_signal < 0)
                return log_error_errno(
                        SYNTHETIC_ERRNO(EINVAL),
                        "Invalid signal '%s': expected a name such as TERM or SIGKILL, or a number.",
                        args[2]);
        return 0;
}

static int verb_link(sd_bus *bus, char **args) {
        return job_link(bus, args[0], arg_job_id, arg_json);
}

static int verb_stream(sd_bus *bus, char **args) {
        return job_stream(bus, args[0], arg_job_id);
}

static int verb_signal(sd_bus *bus, char **args) {
        return job_signal(bus, args[0], arg_job_id, arg_signal);
}

static int verb_copy_in(sd_bus *bus, char **args) {
        return copy_in(bus, args[0], args[1], args[2]);
}

static int verb_copy_out(sd_bus *bus, char **args) {
        return copy_out(bus, args[0], args[1], args[2], arg_owner);
}

static int verb_net_in(sd_bus *bus, char **args) {
        return net_in(bus, args[0], arg_host_port, arg_container_port, arg_json);
}

/* HANDLE, with --network= (wardend would refuse the rule without it, but this is plain usage) */
static int parse_net_out_args(char **args) {
        if (!arg_network)
                return log_error_errno(
                        SYNTHETIC_ERRNO(EINVAL), "'net-out' needs --network= (the destination).");
        arg_net_out.network = arg_network;
        return 0;
}

static int verb_net_out(sd_bus *bus, char **args) {
        return net_out(bus, args[0], &arg_net_out);
}

/* HANDLE [VALUE] of limit-memory and limit-cpu */
static int parse_limit_value(const char *verb, const char *s, bool size) {
        if (!s)
                return 0; /* a query */
        if (limit_value_parse(s, size, &arg_limit) < 0)
                return log_error_errno(
                        SYNTHETIC_ERRNO(EINVAL),
                        "Invalid value '%s' for '%s': expected %s greater than 0 (without a value, "
                        "'%s' queries).",
                        s,
                        verb,
                        size ? "a size in bytes (K, M, G, T suffixes)" : "a number",
                        verb);
        return 0;
}

static int parse_limit_memory_args(char **args) {
        return parse_limit_value("limit-memory", args[1], true);
}

static int parse_limit_cpu_args(char **args) {
        return parse_limit_value("limit-cpu", args[1], false);
}

static int parse_limit_cpu_quota_args(char **args) {
        if (!args[1])
                return 0; /* a query */
        if (limit_cpu_quota_parse(args[1], &arg_limit) < 0)
                return log_error_errno(
                        SYNTHETIC_ERRNO(EINVAL),
                        "Invalid value '%s' for 'limit-cpu-quota': expected a percentage of one CPU "
                        "greater than 0 (50, 250%%) or 'none' (without a value, 'limit-cpu-quota' "
                        "queries).",
                        args[1]);
        return 0;
}

static int verb_limit_cpu_quota(sd_bus *bus, char **args) {
        return limit_cpu_quota(bus, args[0], arg_limit, arg_json);
}

static int verb_limit_memory(sd_bus *bus, char **args) {
        return limit_memory(bus, args[0], arg_limit, arg_json);
}

static int verb_limit_cpu(sd_bus *bus, char **args) {
        return limit_cpu(bus, args[0], arg_limit, arg_json);
}

static int verb_limit_disk(sd_bus *bus, char **args) {
        return limit_disk(bus, args[0], &arg_disk, arg_json);
}

/* --rate= and --burst= go together: (0, 0) is the query, and wardend needs both to set a limit. */
static int parse_limit_bandwidth_args(char **args) {
        if (arg_rate_set != arg_burst_set)
                return log_error_errno(
                        SYNTHETIC_ERRNO(EINVAL),
                        "'limit-bandwidth' takes --rate= and --burst= together, or neither (a "
                        "query).");
        return 0;
}

static int verb_limit_bandwidth(sd_bus *bus, char **args) {
        return limit_bandwidth(bus, args[0], arg_rate, arg_burst, arg_json);
}

/* clang-format off */
static const Verb verbs[] = {
        { "ping",    0, 0,        VERB_OPTIONS,                       verb_ping    },
        { "echo",    1, 1,        0,                                  verb_echo    },
        { "create",  0, 0,        VERB_OPTIONS | VERB_CREATE_OPTIONS |
                                  VERB_PROPERTY,                      verb_create  },
        { "stop",    1, ARGS_ANY, VERB_OPTIONS | VERB_KILL,           verb_stop    },
        { "destroy", 1, ARGS_ANY, VERB_OPTIONS,                       verb_destroy },
        { "list",    0, 0,        VERB_OPTIONS | VERB_PROPERTY,       verb_list    },
        { "info",    1, 1,        VERB_OPTIONS,                       verb_info    },
        { "version", 0, 0,        VERB_OPTIONS,                       verb_version },
        { "run",     2, ARGS_ANY, VERB_OPTIONS | VERB_COMMAND | VERB_USER |
                                  VERB_PROCESS | VERB_EXIT_STATUS,    verb_run     },
        { "spawn",   2, ARGS_ANY, VERB_OPTIONS | VERB_COMMAND | VERB_USER |
                                  VERB_PROCESS | VERB_DISCARD_OUTPUT, verb_spawn   },
        { "link",    2, 2,        VERB_OPTIONS | VERB_EXIT_STATUS,    verb_link,   parse_job_args    },
        { "stream",  2, 2,        VERB_OPTIONS,                       verb_stream, parse_job_args    },
        { "signal",  3, 3,        VERB_OPTIONS,                       verb_signal, parse_signal_args },
        { "shell",   1, 1,        VERB_OPTIONS | VERB_USER |
                                  VERB_EXIT_STATUS,                   verb_shell   },
        { "copy-in", 3, 3,        VERB_OPTIONS,                       verb_copy_in },
        { "copy-out", 3, 3,       VERB_OPTIONS | VERB_OWNER,          verb_copy_out },
        { "net-in",  1, 1,        VERB_OPTIONS | VERB_NET_IN,         verb_net_in  },
        { "net-out", 1, 1,        VERB_OPTIONS | VERB_NET_OUT,        verb_net_out, parse_net_out_args },
        { "limit-memory", 1, 2,   VERB_OPTIONS,                       verb_limit_memory,
                                                                      parse_limit_memory_args },
        { "limit-cpu", 1, 2,      VERB_OPTIONS,                       verb_limit_cpu, parse_limit_cpu_args },
        { "limit-cpu-quota", 1, 2, VERB_OPTIONS,                      verb_limit_cpu_quota, parse_limit_cpu_quota_args },
        { "limit-disk", 1, 1,     VERB_OPTIONS | VERB_DISK,           verb_limit_disk },
        { "limit-bandwidth", 1, 1, VERB_OPTIONS | VERB_BANDWIDTH,     verb_limit_bandwidth,
                                                                      parse_limit_bandwidth_args },
};
/* clang-format on */

/* Splits "KEY=VALUE" (KEY not empty) for --property= and --env=. */
static int split_key_value(const char *option, const char *s, char **ret_key) {
        const char *eq = strchr(s, '=');
        char *k;

        if (!eq || eq == s)
                return log_error_errno(
                        SYNTHETIC_ERRNO(EINVAL), "--%s= takes KEY=VALUE, got '%s'.", option, s);
        k = strndup(s, (size_t) (eq - s));
        if (!k)
                return log_oom();
        *ret_key = k;
        return 0;
}

static int add_property(const char *s) {
        char *k;
        int r;

        r = split_key_value("property", s, &k);
        if (r < 0)
                return r;
        r = strv_consume(&arg_properties, k);
        if (r >= 0)
                r = strv_extend(&arg_properties, strchr(s, '=') + 1);
        if (r < 0)
                return log_oom();
        return 0;
}

static int add_env(const char *s) {
        _cleanup_free_ char *k = NULL;
        int r;

        r = split_key_value("env", s, &k);
        if (r < 0)
                return r;
        if (strv_extend(&arg_env, s) < 0)
                return log_oom();
        return 0;
}

/*
 * "SRC:DST", "SRC:DST:ro" or "SRC:DST:rw". Read-only by default, as in Warden. Only the syntax is checked
 * here; whether SRC exists and DST is usable is wardend's to say.
 */
static int add_bind_mount(const char *s) {
        _cleanup_free_ char *source = NULL, *destination = NULL;
        const char *colon, *end = s + strlen(s);
        bool read_only = true;
        BindMount *b;

        if (end - s > 3 && (streq(end - 3, ":ro") || streq(end - 3, ":rw"))) {
                read_only = streq(end - 3, ":ro");
                end -= 3;
        }
        colon = memchr(s, ':', (size_t) (end - s));
        if (!colon || colon == s || colon + 1 == end)
                return log_error_errno(
                        SYNTHETIC_ERRNO(EINVAL), "--bind= takes SRC:DST[:ro|:rw], got '%s'.", s);

        source = strndup(s, (size_t) (colon - s));
        destination = strndup(colon + 1, (size_t) (end - colon - 1));
        if (!source || !destination)
                return log_oom();
        b = reallocarray(arg_bind_mounts, arg_n_bind_mounts + 1, sizeof(BindMount));
        if (!b)
                return log_oom();
        arg_bind_mounts = b;
        arg_bind_mounts[arg_n_bind_mounts++] = (BindMount){
                .source = TAKE_PTR(source),
                .destination = TAKE_PTR(destination),
                .read_only = read_only,
        };
        return 0;
}

static void free_args(void) {
        for (size_t i = 0; i < arg_n_bind_mounts; i++) {
                free(arg_bind_mounts[i].source);
                free(arg_bind_mounts[i].destination);
        }
        arg_bind_mounts = mfree(arg_bind_mounts);
        arg_n_bind_mounts = 0;
        arg_properties = strv_free(arg_properties);
        arg_env = strv_free(arg_env);
}

static int parse_grace_time(const char *s) {
        uint64_t usec;
        int r;

        r = parse_sec(s, &usec);
        if (r < 0)
                return log_error_errno(r, "Invalid --grace-time= '%s': %m", s);
        /* "infinity" means what 0 means to wardend: never. Fractions round up, so that "500ms" is not 0. */
        if (usec == USEC_INFINITY)
                usec = 0;
        usec = (usec + USEC_PER_SEC - 1) / USEC_PER_SEC;
        if (usec > UINT32_MAX)
                return log_error_errno(SYNTHETIC_ERRNO(ERANGE), "--grace-time= '%s' is too long.", s);
        arg_grace_time = (uint32_t) usec;
        arg_grace_time_set = true;
        return 0;
}

static int add_rlimit(const char *s) {
        JobRlimit resource;
        uint64_t value;
        int r;

        r = job_rlimit_parse(s, &resource, &value);
        if (r < 0)
                return log_error_errno(
                        r,
                        "Invalid --rlimit= '%s': expected NAME=NUMBER or NAME=infinity, NAME one of "
                        "as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, "
                        "rss, rtprio, rttime, sigpending, stack.",
                        s);
        arg_job.rlimit[resource] = value;
        arg_job.rlimit_set[resource] = true;
        return 0;
}

static int parse_number_option(const char *name, const char *s, bool size, uint64_t *ret, bool *ret_set) {
        int r;

        r = size ? parse_size(s, ret) : parse_uint64(s, ret);
        if (r < 0)
                return log_error_errno(r, "Invalid --%s= '%s': %m", name, s);
        *ret_set = true;
        return 0;
}

enum {
        ARG_VERSION = 0x100,
        ARG_JSON,
        ARG_BUS_ADDRESS,
        ARG_HANDLE,
        ARG_ROOTFS,
        ARG_BIND,
        ARG_GRACE_TIME,
        ARG_NETWORK,
        ARG_ENV,
        ARG_MEMORY_LIMIT,
        ARG_CPU_WEIGHT,
        ARG_CPU_QUOTA,
        ARG_PIDS_LIMIT,
        ARG_USER_NAMESPACE,
        ARG_KILL,
        ARG_USER,
        ARG_PRIVILEGED,
        ARG_DIR,
        ARG_RLIMIT,
        ARG_TTY,
        ARG_DISCARD_OUTPUT,
        ARG_OWNER,
        ARG_HOST_PORT,
        ARG_CONTAINER_PORT,
        ARG_PORT,
        ARG_PROTOCOL,
        ARG_ICMP_TYPE,
        ARG_ICMP_CODE,
        ARG_BYTES,
        ARG_INODES,
        ARG_RATE,
        ARG_BURST,
};

static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, ARG_VERSION },
        { "json", no_argument, NULL, ARG_JSON },
        { "property", required_argument, NULL, 'p' },
        { "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
        { "handle", required_argument, NULL, ARG_HANDLE },
        { "rootfs", required_argument, NULL, ARG_ROOTFS },
        { "bind", required_argument, NULL, ARG_BIND },
        { "grace-time", required_argument, NULL, ARG_GRACE_TIME },
        { "network", required_argument, NULL, ARG_NETWORK },
        { "env", required_argument, NULL, ARG_ENV },
        { "memory-limit", required_argument, NULL, ARG_MEMORY_LIMIT },
        { "cpu-weight", required_argument, NULL, ARG_CPU_WEIGHT },
        { "cpu-quota", required_argument, NULL, ARG_CPU_QUOTA },
        { "pids-limit", required_argument, NULL, ARG_PIDS_LIMIT },
        { "user-namespace", optional_argument, NULL, ARG_USER_NAMESPACE },
        { "kill", no_argument, NULL, ARG_KILL },
        { "user", required_argument, NULL, ARG_USER },
        { "privileged", no_argument, NULL, ARG_PRIVILEGED },
        { "dir", required_argument, NULL, ARG_DIR },
        { "rlimit", required_argument, NULL, ARG_RLIMIT },
        { "tty", no_argument, NULL, ARG_TTY },
        { "discard-output", no_argument, NULL, ARG_DISCARD_OUTPUT },
        { "owner", required_argument, NULL, ARG_OWNER },
        { "host-port", required_argument, NULL, ARG_HOST_PORT },
        { "container-port", required_argument, NULL, ARG_CONTAINER_PORT },
        { "port", required_argument, NULL, ARG_PORT },
        { "protocol", required_argument, NULL, ARG_PROTOCOL },
        { "icmp-type", required_argument, NULL, ARG_ICMP_TYPE },
        { "icmp-code", required_argument, NULL, ARG_ICMP_CODE },
        { "bytes", required_argument, NULL, ARG_BYTES },
        { "inodes", required_argument, NULL, ARG_INODES },
        { "rate", required_argument, NULL, ARG_RATE },
        { "burst", required_argument, NULL, ARG_BURST },
        {},
};

/* Which verbs an option belongs to; 0 for the options every command takes. */
static VerbFlags option_verb_flag(int c) {
        /* --env is an option of create and of the process commands alike. */
        if (c == ARG_ENV)
                return VERB_CREATE_OPTIONS | VERB_PROCESS;
        /* --network is create's address and net-out's destination. */
        if (c == ARG_NETWORK)
                return VERB_CREATE_OPTIONS | VERB_NET_OUT;
        switch (c) {
        case 'p':
                return VERB_PROPERTY;
        case ARG_KILL:
                return VERB_KILL;
        case ARG_USER:
        case ARG_PRIVILEGED:
                return VERB_USER;
        case ARG_DIR:
        case ARG_RLIMIT:
        case ARG_TTY:
                return VERB_PROCESS;
        case ARG_DISCARD_OUTPUT:
                return VERB_DISCARD_OUTPUT;
        case ARG_OWNER:
                return VERB_OWNER;
        case ARG_HOST_PORT:
        case ARG_CONTAINER_PORT:
                return VERB_NET_IN;
        case ARG_PORT ... ARG_ICMP_CODE:
                return VERB_NET_OUT;
        case ARG_BYTES:
        case ARG_INODES:
                return VERB_DISK;
        case ARG_RATE:
        case ARG_BURST:
                return VERB_BANDWIDTH;
        case ARG_HANDLE ... ARG_PIDS_LIMIT:
                return VERB_CREATE_OPTIONS;
        default:
                return 0;
        }
}

static const char *option_name(int c) {
        for (const struct option *o = options; o->name; o++)
                if (o->val == c)
                        return o->name;
        return "?";
}

/*
 * Parses options up to the command (verb == NULL) or after it (the command's own options, which may be
 * mixed with its arguments). Returns 1 to go on, 0 to exit successfully, negative errno on a usage error.
 */
static int parse_options(int argc, char *argv[], const Verb *verb) {
        VerbFlags flag;
        int c, r;

        /* Before the command, '+' stops at the first non-option, so that the command's arguments are
         * never taken for global options; after it, getopt may reorder ("info HANDLE --json"), except for
         * the commands that end in a command line of their own (run HANDLE ls -l). */
        const char *optstring = verb && !(verb->flags & VERB_COMMAND) ? "hp:" : "+hp:";

        optind = 0;
        while ((c = getopt_long(argc, argv, optstring, options, NULL)) >= 0) {
                flag = option_verb_flag(c);
                /* --property before the command is accepted for compatibility and checked by run(). */
                if (flag != 0 && verb && !(verb->flags & flag))
                        return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "Option --%s does not apply to '%s'.",
                                option_name(c),
                                verb->name);
                if (flag != 0 && !verb && c != 'p')
                        return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "Option --%s must follow the command it belongs to.",
                                option_name(c));

                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("wardenctl %s\n", WARDEN_VERSION);
                        return 0;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case 'p':
                        r = add_property(optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_BUS_ADDRESS:
                        arg_bus_address = optarg;
                        break;
                case ARG_HANDLE:
                        arg_handle = optarg;
                        break;
                case ARG_ROOTFS:
                        arg_rootfs = optarg;
                        break;
                case ARG_BIND:
                        r = add_bind_mount(optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_GRACE_TIME:
                        r = parse_grace_time(optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_NETWORK:
                        arg_network = optarg;
                        break;
                case ARG_ENV:
                        r = add_env(optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_MEMORY_LIMIT:
                        r = parse_number_option(
                                "memory-limit", optarg, true, &arg_memory_limit, &arg_memory_limit_set);
                        if (r < 0)
                                return r;
                        break;
                case ARG_CPU_WEIGHT:
                        r = parse_number_option(
                                "cpu-weight", optarg, false, &arg_cpu_weight, &arg_cpu_weight_set);
                        if (r < 0)
                                return r;
                        break;
                case ARG_CPU_QUOTA:
                        /* "50", "50%" or "none" (UINT64_MAX: no quota, whatever the configured default) */
                        if (limit_cpu_quota_parse(optarg, &arg_cpu_quota) < 0)
                                return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL),
                                        "Invalid --cpu-quota= '%s': expected a percentage of one "
                                        "CPU "
                                        "greater than 0 (50, 250%%) or 'none'.",
                                        optarg);
                        arg_cpu_quota_set = true;
                        break;
                case ARG_PIDS_LIMIT:
                        r = parse_number_option(
                                "pids-limit", optarg, false, &arg_pids_limit, &arg_pids_limit_set);
                        if (r < 0)
                                return r;
                        break;
                case ARG_USER_NAMESPACE: {
                        bool b = true;

                        if (optarg && parse_boolean(optarg, &b) < 0)
                                return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL),
                                        "Invalid --user-namespace= '%s': expected yes or no.",
                                        optarg);
                        arg_user_namespace = b;
                        break;
                }
                case ARG_KILL:
                        arg_kill = true;
                        break;
                case ARG_USER:
                        arg_job.user = optarg;
                        break;
                case ARG_PRIVILEGED:
                        arg_job.privileged = true;
                        break;
                case ARG_DIR:
                        arg_job.dir = optarg;
                        break;
                case ARG_RLIMIT:
                        r = add_rlimit(optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_TTY:
                        arg_job.tty = true;
                        break;
                case ARG_DISCARD_OUTPUT:
                        arg_job.discard_output = true;
                        break;
                case ARG_OWNER:
                        arg_owner = optarg;
                        break;
                case ARG_HOST_PORT:
                case ARG_CONTAINER_PORT: {
                        uint16_t *port = c == ARG_HOST_PORT ? &arg_host_port : &arg_container_port;

                        if (net_port_parse(optarg, port) < 0)
                                return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL),
                                        "Invalid --%s= '%s': expected a port number (0-65535).",
                                        option_name(c),
                                        optarg);
                        break;
                }
                case ARG_PORT:
                        if (net_port_range_parse(
                                    optarg,
                                    &arg_net_out.port_first,
                                    &arg_net_out.port_last,
                                    &arg_net_out.port_is_range) < 0)
                                return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL),
                                        "Invalid --port= '%s': expected a port number N or a range "
                                        "N-M (0-65535).",
                                        optarg);
                        arg_net_out.port_set = true;
                        break;
                case ARG_PROTOCOL:
                        if (isempty(optarg))
                                return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL), "--protocol= takes tcp, udp, icmp or all.");
                        arg_net_out.protocol = optarg;
                        break;
                case ARG_ICMP_TYPE:
                case ARG_ICMP_CODE: {
                        bool type = c == ARG_ICMP_TYPE;
                        int32_t *v = type ? &arg_net_out.icmp_type : &arg_net_out.icmp_code;

                        if (net_icmp_parse(optarg, v) < 0)
                                return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL),
                                        "Invalid --%s= '%s': expected a number (0-255, -1: any).",
                                        option_name(c),
                                        optarg);
                        *(type ? &arg_net_out.icmp_type_set : &arg_net_out.icmp_code_set) = true;
                        break;
                }
                case ARG_BYTES:
                        r = parse_number_option("bytes", optarg, true, &arg_disk.bytes, &arg_disk.bytes_set);
                        if (r < 0)
                                return r;
                        break;
                case ARG_INODES:
                        r = parse_number_option(
                                "inodes", optarg, false, &arg_disk.inodes, &arg_disk.inodes_set);
                        if (r < 0)
                                return r;
                        break;
                case ARG_RATE:
                case ARG_BURST: {
                        bool rate = c == ARG_RATE;

                        if (limit_value_parse(optarg, true, rate ? &arg_rate : &arg_burst) < 0)
                                return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL),
                                        "Invalid --%s= '%s': expected a size in bytes (K, M, G, T "
                                        "suffixes), not 0.",
                                        option_name(c),
                                        optarg);
                        *(rate ? &arg_rate_set : &arg_burst_set) = true;
                        break;
                }
                case '?':
                        return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "Try '%s --help' for more information.",
                                program_invocation_short_name);
                default:
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Unhandled option.");
                }
        }
        return 1;
}

static int run(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *verb = NULL;
        char **args;
        int r, n_args, verb_index;

        r = parse_options(argc, argv, NULL);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        if (optind >= argc) {
                log_error("No command given. Try '%s --help'.", program_invocation_short_name);
                return EXIT_USAGE;
        }
        verb_index = optind;
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[verb_index]))
                        verb = &verbs[i];
        if (!verb) {
                log_error(
                        "Unknown command '%s'. Try '%s --help'.",
                        argv[verb_index],
                        program_invocation_short_name);
                return EXIT_USAGE;
        }

        args = argv + verb_index + 1;
        n_args = argc - verb_index - 1;
        if (verb->flags & VERB_OPTIONS) {
                /* getopt skips its argv[0]: let that be the program name again, so that its messages
                 * start with "wardenctl:" and not with the command. */
                argv[verb_index] = argv[0];
                r = parse_options(argc - verb_index, argv + verb_index, verb);
                if (r <= 0)
                        return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
                args = argv + verb_index + optind;
                n_args = argc - verb_index - optind;
        }
        if ((verb->flags & VERB_COMMAND) && n_args > 0) {
                /* The options before HANDLE are parsed; those between it and the command follow. Parsing
                 * stops at the command or after "--": the command's own options are its own. */
                char *handle = args[0];
                int base = (int) (args - argv);

                argv[base] = argv[0];
                r = parse_options(n_args, argv + base, verb);
                if (r <= 0)
                        return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
                /* optind >= 1: the slot before the command is the handle's or a parsed option's. */
                args = argv + base + optind - 1;
                args[0] = handle;
                n_args = n_args - optind + 1;
        }

        if (n_args < verb->min_args || n_args > verb->max_args) {
                if (verb->max_args == ARGS_ANY)
                        log_error(
                                "'%s' takes at least %i argument%s, got %i.",
                                verb->name,
                                verb->min_args,
                                verb->min_args == 1 ? "" : "s",
                                n_args);
                else
                        log_error(
                                "'%s' takes %s%i argument%s, got %i.",
                                verb->name,
                                verb->min_args == verb->max_args ? "" : "at most ",
                                verb->max_args,
                                verb->max_args == 1 ? "" : "s",
                                n_args);
                return EXIT_USAGE;
        }
        if (arg_properties && !(verb->flags & VERB_PROPERTY)) {
                log_error("--property= only applies to 'list' and 'create'.");
                return EXIT_USAGE;
        }

        if (verb->parse_args && verb->parse_args(args) < 0)
                return EXIT_USAGE;

        r = bus_connect_client(arg_bus_address, &bus);
        if (r >= 0)
                r = verb->run(bus, args);
        if (r < 0)
                return EXIT_FAILURE;
        return verb->flags & VERB_EXIT_STATUS ? r : EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        int r;

        log_set_prefix("wardenctl");
        (void) bus_error_register_map();

        r = run(argc, argv);
        free_args();
        return r;
}
