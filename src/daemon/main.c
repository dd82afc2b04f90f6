/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * wardend: the warden container manager. D-Bus activated on the system bus as org.warden.Manager; see
 * wardend(8).
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>

#include "bus-error.h"
#include "bus-introspect.h"
#include "bus-lifecycle.h"
#include "bus-manager.h"
#include "bus-state.h"
#include "bus-systemd.h"
#include "log-journal.h"
#include "log.h"
#include "manager.h"
#include "parse-util.h"
#include "warden-messages.h"

static const char *arg_config = NULL;
static const char *arg_state_dir = NULL;
static const char *arg_bus_address = NULL;
static const char *arg_bus_introspect = NULL;
static bool arg_check_config = false;
static int arg_log_level = -1;
static uint64_t arg_idle_timeout_usec = UINT64_MAX - 1; /* not set */

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "The warden container manager daemon. Normally started by D-Bus activation as\n"
               "warden.service; see wardend(8).\n\n"
               "  -h --help                Show this help\n"
               "     --version             Show the version\n"
               "     --config=PATH         Configuration file (default: %s)\n"
               "     --check-config        Parse the configuration, print it and exit\n"
               "     --state-dir=PATH      State directory (default: %s)\n"
               "     --bus-address=ADDR    Connect to this bus instead of the system bus\n"
               "     --idle-timeout=SPAN   Override [daemon] idle_timeout (0: never exit)\n"
               "     --log-level=LEVEL     Override [daemon] log_level\n"
               "     --bus-introspect=DIR  Write the introspection XML of the API to DIR and exit\n",
               program_invocation_short_name,
               MANAGER_CONFIG_PATH,
               MANAGER_STATE_DIR);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_CONFIG,
                ARG_CHECK_CONFIG,
                ARG_STATE_DIR,
                ARG_BUS_ADDRESS,
                ARG_IDLE_TIMEOUT,
                ARG_LOG_LEVEL,
                ARG_BUS_INTROSPECT,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
                { "idle-timeout", required_argument, NULL, ARG_IDLE_TIMEOUT },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "bus-introspect", required_argument, NULL, ARG_BUS_INTROSPECT },
                {},
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("wardend %s\n", WARDEN_VERSION);
                        return 0;
                case ARG_CONFIG:
                        arg_config = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                case ARG_STATE_DIR:
                        arg_state_dir = optarg;
                        break;
                case ARG_BUS_ADDRESS:
                        arg_bus_address = optarg;
                        break;
                case ARG_IDLE_TIMEOUT:
                        r = parse_sec(optarg, &arg_idle_timeout_usec);
                        if (r < 0)
                                return log_error_errno(r, "Invalid --idle-timeout= value '%s'.", optarg);
                        break;
                case ARG_LOG_LEVEL:
                        arg_log_level = log_level_from_string(optarg);
                        if (arg_log_level < 0)
                                return log_error_errno(
                                        arg_log_level, "Invalid --log-level= value '%s'.", optarg);
                        break;
                case ARG_BUS_INTROSPECT:
                        arg_bus_introspect = optarg;
                        break;
                case '?':
                        return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "Try '%s --help' for more information.",
                                program_invocation_short_name);
                default:
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Unhandled option.");
                }

        if (optind < argc)
                return log_error_errno(
                        SYNTHETIC_ERRNO(EINVAL),
                        "%s takes no arguments, got '%s'.",
                        program_invocation_short_name,
                        argv[optind]);
        return 1;
}

/* wardend holds a few descriptors per container (wshd's pidfd, the job watch, the jobs directory) and per
 * job and stream: 1024 would cap it at a few hundred containers. Nothing here uses select(). wshd lowers the
 * limit again for the containers. */
static void raise_nofile(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
                return;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_warning_errno(errno, "Failed to raise the limit of open files: %m");
}

static void apply_overrides(Manager *m) {
        if (arg_idle_timeout_usec != UINT64_MAX - 1)
                m->config.idle_timeout_usec = arg_idle_timeout_usec;
        if (arg_log_level >= 0) {
                m->config.log_level = arg_log_level;
                log_set_max_level(arg_log_level);
        }
}

/* An invalid configuration: warden.service's RestartPreventExitStatus= (starting again would fail the same
 * way). The value of sysexits.h's EX_CONFIG. */
#define EXIT_CONFIG 78
static bool config_invalid = false;

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        log_setup("wardend");

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        if (arg_log_level >= 0)
                log_set_max_level(arg_log_level);

        r = bus_error_register_map();
        if (r < 0)
                return log_error_errno(r, "Failed to register the error map: %m");

        if (arg_bus_introspect)
                return bus_introspect_dump(arg_bus_introspect);

        raise_nofile();
        r = manager_new(arg_config, arg_state_dir, &m);
        if (r < 0) {
                config_invalid = r == -EBADMSG;
                return r;
        }
        apply_overrides(m);

        if (arg_check_config) {
                manager_config_dump(&m->config, stdout);
                return 0;
        }

        r = manager_startup(m);
        if (r < 0)
                return r;
        r = bus_manager_connect(m, arg_bus_address);
        if (r < 0)
                return r;
        r = bus_systemd_setup(m);
        if (r < 0)
                return r;
        r = bus_lifecycle_adopt(m);
        if (r < 0)
                return r;
        r = bus_manager_setup_idle_exit(m);
        if (r < 0)
                return r;

        log_event(
                LOG_INFO,
                0,
                NULL,
                WARDEN_MESSAGE_STARTED,
                "wardend %s running, %zu container(s).",
                WARDEN_VERSION,
                hashmap_size(m->containers));
        (void) sd_notify(false, "READY=1\nSTATUS=Processing requests...");

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        /* The bus went away (dbus-daemon restarted or dropped us): sd-bus ended the loop. Reconnecting here
         * would mean registering everything anew, while every call in flight is lost with the connection
         * anyway; the state of every container is on disk, and a new wardend re-adopts all of them. So
         * exit with a failure: systemd starts wardend again (Restart=on-failure), as would the next call. */
        if (m->bus_manager->bus_lost)
                return log_event(
                        LOG_ERR,
                        SYNTHETIC_ERRNO(ECONNRESET),
                        NULL,
                        WARDEN_MESSAGE_BUS_LOST,
                        "Lost the connection to the bus, exiting; containers keep running and the "
                        "next "
                        "wardend re-adopts them.");

        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down...");
        m->exiting = true;
        log_info("wardend exiting; containers keep running.");
        return 0;
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);

        if (config_invalid)
                return EXIT_CONFIG;
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
