/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * wardenctl: the command-line client of wardend (org.warden.Manager on the system bus). See wardenctl(1).
 * Exit status: 0 success, 1 failure (the message says why), 2 bad usage.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus-error.h"
#include "bus-print.h"
#include "bus-util.h"
#include "json-util.h"
#include "log.h"
#include "strv.h"

#define EXIT_USAGE 2

static bool arg_json = false;
static const char *arg_bus_address = NULL;
static char **arg_properties = NULL; /* key, value, … */

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* not counting the verb itself */
        int (*run)(sd_bus *bus, char **args);
} Verb;

static void help(void) {
        printf("%s [OPTIONS...] COMMAND [ARGS...]\n\n"
               "Control the warden container manager (org.warden.Manager on the system bus).\n\n"
               "Commands:\n"
               "  ping                   Check that wardend answers (activating it if needed)\n"
               "  echo MESSAGE           Send MESSAGE to wardend and print its answer\n"
               "  list                   List container handles (filter with --property)\n"
               "  info HANDLE            Show a container's state and resources\n"
               "  version                Show the versions of wardenctl and wardend\n\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version of wardenctl\n"
               "     --json              Print structured output as JSON\n"
               "  -p --property=KEY=VAL  With list: only containers with this property (repeatable)\n"
               "     --bus-address=ADDR  Talk to the wardend on this bus instead of the system bus\n\n"
               "See wardenctl(1) for details.\n",
               program_invocation_short_name);
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* Prints the daemon's own message: it is written for people already ("No container 'x'."). */
static int log_bus_error(const sd_bus_error *e, int r, const char *what) {
        if (sd_bus_error_is_set(e))
                return log_error_errno(r, "%s", e->message ?: e->name);
        return log_error_errno(r, "%s: %m", what);
}

static int call(sd_bus *bus, const char *method, sd_bus_message **reply, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(
                        bus, &m, WARDEN_BUS_NAME, WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, method);
        if (r < 0)
                return log_error_errno(r, "Failed to create a %s() call: %m", method);
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return log_error_errno(r, "Failed to create a %s() call: %m", method);
        }
        r = sd_bus_call(bus, m, 0, &e, reply);
        if (r < 0)
                return log_bus_error(&e, r, method);
        return 0;
}

static int get_version(sd_bus *bus, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_get_property_string(
                        bus,
                        WARDEN_BUS_NAME,
                        WARDEN_MANAGER_PATH,
                        WARDEN_MANAGER_INTERFACE,
                        "Version",
                        &e,
                        ret);
        if (r < 0)
                return log_bus_error(&e, r, "Failed to read the Version property");
        return 0;
}

static int verb_ping(sd_bus *bus, char **args) {
        _cleanup_free_ char *version = NULL;
        uint64_t start, end;
        int r;

        start = now_usec();
        r = call(bus, "Ping", NULL, NULL);
        if (r < 0)
                return r;
        end = now_usec();
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

        r = call(bus, "Echo", &reply, "s", args[0]);
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

static int verb_list(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **handles = NULL;
        int r;

        r = sd_bus_message_new_method_call(
                        bus, &m, WARDEN_BUS_NAME, WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, "List");
        if (r >= 0)
                r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{ss}");
        for (char **p = arg_properties; r >= 0 && p && p[0] && p[1]; p += 2)
                r = sd_bus_message_append(m, "{ss}", p[0], p[1]);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_error_errno(r, "Failed to create a List() call: %m");

        r = sd_bus_call(bus, m, 0, &e, &reply);
        if (r < 0)
                return log_bus_error(&e, r, "List");
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

static int verb_info(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *key;
        bool first = true;
        int r;

        r = call(bus, "Info", &reply, "s", args[0]);
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
                        printf("%16s: ", key);
                        r = bus_print_text_value(stdout, reply);
                        putchar('\n');
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

static const Verb verbs[] = {
        { "ping", 0, 0, verb_ping }, { "echo", 1, 1, verb_echo },       { "list", 0, 0, verb_list },
        { "info", 1, 1, verb_info }, { "version", 0, 0, verb_version },
};

static int add_property_filter(const char *s) {
        const char *eq = strchr(s, '=');
        char *k;
        int r;

        if (!eq || eq == s)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--property= takes KEY=VALUE, got '%s'.", s);
        k = strndup(s, (size_t) (eq - s));
        if (!k)
                return log_oom();
        r = strv_consume(&arg_properties, k);
        if (r >= 0)
                r = strv_extend(&arg_properties, eq + 1);
        if (r < 0)
                return log_oom();
        return 0;
}

/* Returns 1 to go on, 0 to exit successfully, negative errno on a usage error. */
static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_BUS_ADDRESS,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "property", required_argument, NULL, 'p' },
                { "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
                {},
        };
        int c, r;

        /* '+': stop at the first non-option, so that arguments of commands are never taken for options. */
        while ((c = getopt_long(argc, argv, "+hp:", options, NULL)) >= 0)
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
                        r = add_property_filter(optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_BUS_ADDRESS:
                        arg_bus_address = optarg;
                        break;
                case '?':
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL),
                                        "Try '%s --help' for more information.",
                                        program_invocation_short_name);
                default:
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Unhandled option.");
                }
        return 1;
}

static int connect_bus(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (arg_bus_address) {
                r = sd_bus_new(&bus);
                if (r >= 0)
                        r = sd_bus_set_address(bus, arg_bus_address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(bus, true);
                if (r >= 0)
                        r = sd_bus_start(bus);
        } else
                r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(
                                r,
                                "Failed to connect to the %s bus: %m",
                                arg_bus_address ? "given" : "system");
        *ret = TAKE_PTR(bus);
        return 0;
}

static int run(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *verb = NULL;
        int r, n_args;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        if (optind >= argc) {
                log_error("No command given. Try '%s --help'.", program_invocation_short_name);
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[optind]))
                        verb = &verbs[i];
        if (!verb) {
                log_error("Unknown command '%s'. Try '%s --help'.",
                          argv[optind],
                          program_invocation_short_name);
                return EXIT_USAGE;
        }
        n_args = argc - optind - 1;
        if (n_args < verb->min_args || n_args > verb->max_args) {
                log_error("'%s' takes %s%i argument%s, got %i.",
                          verb->name,
                          verb->min_args == verb->max_args ? "" : "at most ",
                          verb->max_args,
                          verb->max_args == 1 ? "" : "s",
                          n_args);
                return EXIT_USAGE;
        }
        if (arg_properties && !streq(verb->name, "list")) {
                log_error("--property= only applies to 'list'.");
                return EXIT_USAGE;
        }

        r = connect_bus(&bus);
        if (r >= 0)
                r = verb->run(bus, argv + optind + 1);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        int r;

        log_set_prefix("wardenctl");
        (void) bus_error_register_map();

        r = run(argc, argv);
        arg_properties = strv_free(arg_properties);
        return r;
}
