/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-call-out.h"
#include "bus-calls.h"
#include "bus-clients.h"
#include "bus-error.h"
#include "bus-lifecycle.h"
#include "bus-polkit.h"
#include "bus-read.h"
#include "bus-state.h"
#include "bus-systemd.h"
#include "bus-util.h"
#include "bus-warden-error.h"
#include "container-lifecycle.h"
#include "container-spec.h"
#include "fileio.h"
#include "handle.h"
#include "host-path.h"
#include "limit-check.h"
#include "log.h"
#include "parse-util.h"
#include "path-util.h"
#include "rootfs.h"
#include "strv.h"
#include "warden-messages.h"
#include "wshd-client.h"

const char *bus_lifecycle_busy_reason(const Container *c) {
        return container_busy_reason(c);
}

void bus_lifecycle_reference(Container *c, sd_bus_message *m) {
        int r;

        assert(c);
        assert(m);

        if (!c->manager || !manager_bus(c->manager) || c->state == CONTAINER_DESTROYED)
                return;
        r = bus_clients_reference(c, m);
        if (r < 0)
                log_container_warning_errno(
                        c, r, "Failed to reference container '%s' for its caller: %m", c->handle);
        else if (bus_clients_referenced(c))
                container_referenced(c);
}

/* ---- create: options ----------------------------------------------------------------------------- */

#define BIND_MOUNTS_MAX 256U

static int read_bind_mounts(sd_bus_message *m, CreateSpec *o, sd_bus_error *error) {
        const char *src, *dst;
        int ro, r;

        r = sd_bus_message_enter_container(m, 'a', "(ssb)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(ssb)", &src, &dst, &ro)) > 0) {
                BindMount *b;

                /* each is checked (stat()) on the event loop and mounted by the rootfs worker */
                if (o->n_bind_mounts >= BIND_MOUNTS_MAX)
                        return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'bind_mounts' has more than %u entries.",
                                BIND_MOUNTS_MAX);

                b = reallocarray(o->bind_mounts, o->n_bind_mounts + 1, sizeof(BindMount));
                if (!b)
                        return -ENOMEM;
                o->bind_mounts = b;
                b = &o->bind_mounts[o->n_bind_mounts];
                *b = (BindMount){ .source = strdup(src), .destination = strdup(dst), .read_only = ro };
                o->n_bind_mounts++;
                if (!b->source || !b->destination)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_env(sd_bus_message *m, CreateSpec *o, sd_bus_error *error) {
        /* the container's env is part of every job's, which wshd takes up to WSHD_ARGV_MAX entries of */
        return bus_message_read_env(m, WSHD_ARGV_MAX, &o->env, error);
}

static const BusOptionSpec create_option_specs[] = {
        { "handle", "s" },
        { "rootfs", "s" },
        { "bind_mounts", "a(ssb)" },
        { "grace_time", "u" },
        { "network", "s" },
        { "properties", "a{ss}" },
        { "env", "as" },
        { "memory_limit", "t" },
        { "cpu_weight", "t" },
        { "pids_limit", "t" },
        { "disk_limit", "t" },
        { "bandwidth", "(tt)" },
        { "disk_inode_limit", "t" },
        { "user_namespace", "b" },
        { "cpu_quota", "t" },
};
_Static_assert(ELEMENTSOF(create_option_specs) <= 32, "read_create_options() keeps a uint32_t of them");

static int read_create_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error) {
        CreateSpec *o = userdata;
        if (streq(key, "handle"))
                return sd_bus_message_read(m, "s", &o->handle);
        if (streq(key, "rootfs"))
                return sd_bus_message_read(m, "s", &o->rootfs);
        if (streq(key, "bind_mounts"))
                return read_bind_mounts(m, o, error);
        if (streq(key, "grace_time")) {
                o->have_grace_time = true;
                return sd_bus_message_read(m, "u", &o->grace_time);
        }
        if (streq(key, "network"))
                return sd_bus_message_read(m, "s", &o->network);
        if (streq(key, "properties")) {
                int r = bus_message_read_string_pairs(m, &o->properties);

                if (r == -EINVAL)
                        return sd_bus_error_set(
                                error, SD_BUS_ERROR_INVALID_ARGS, "Option 'properties': duplicate key.");
                if (r == -E2BIG)
                        return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'properties' has more than %u entries.",
                                BUS_STRING_PAIRS_MAX);
                return r;
        }
        if (streq(key, "env"))
                return read_env(m, o, error);
        if (streq(key, "memory_limit"))
                return sd_bus_message_read(m, "t", &o->memory_limit);
        if (streq(key, "cpu_weight"))
                return sd_bus_message_read(m, "t", &o->cpu_weight);
        if (streq(key, "cpu_quota"))
                return sd_bus_message_read(m, "t", &o->cpu_quota);
        if (streq(key, "pids_limit"))
                return sd_bus_message_read(m, "t", &o->pids_limit);
        if (streq(key, "disk_limit"))
                return sd_bus_message_read(m, "t", &o->disk_limit);
        if (streq(key, "disk_inode_limit"))
                return sd_bus_message_read(m, "t", &o->disk_inode_limit);
        if (streq(key, "bandwidth"))
                return sd_bus_message_read(m, "(tt)", &o->bandwidth_rate, &o->bandwidth_burst);
        if (streq(key, "user_namespace")) {
                int b = 0, r;

                r = sd_bus_message_read(m, "b", &b);
                o->user_namespace = b;
                o->have_user_namespace = true;
                return r;
        }
        assert_not_reached();
}

static int read_create_options(sd_bus_message *m, CreateSpec *o, sd_bus_error *error) {
        return bus_message_read_options(
                m, NULL, create_option_specs, ELEMENTSOF(create_option_specs), read_create_option, o, error);
}

/* ---- create: the call ---------------------------------------------------------------------------- */

typedef struct BusRequest {
        Manager *manager;
        sd_bus_message *request;
} BusRequest;

static int bus_request_new(Manager *manager, sd_bus_message *m, BusRequest **ret) {
        BusRequest *req = calloc(1, sizeof(BusRequest));

        if (!req)
                return -ENOMEM;
        req->manager = manager;
        req->request = bus_call_hold(manager, m);
        *ret = req;
        return 0;
}

static void bus_request_free(BusRequest *req) {
        if (!req)
                return;
        bus_call_release(req->manager, req->request);
        free(req);
}

static void create_done(Container *c, const WardenError *error, void *userdata) {
        BusRequest *req = userdata;
        _cleanup_free_ char *path = NULL;
        int r;

        if (error) {
                (void) bus_reply_warden_error(req->request, error);
                bus_request_free(req);
                return;
        }
        bus_lifecycle_reference(c, req->request);
        r = sd_bus_path_encode(WARDEN_CONTAINER_PREFIX, c->handle, &path);
        if (r < 0)
                (void) sd_bus_reply_method_errno(req->request, -r, NULL);
        else
                (void) sd_bus_reply_method_return(req->request, "so", c->handle, path);
        bus_request_free(req);
}

int bus_lifecycle_method_create(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(create_spec_done) CreateSpec o = {};
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        Manager *manager = userdata;
        BusRequest *req;
        int r;

        r = bus_verify_manage(m, manager, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */
        r = read_create_options(m, &o, error);
        if (r < 0)
                return r;
        if (manager->config.force_user_namespace) {
                uid_t uid;

                r = bus_sender_uid(m, &uid);
                if (r < 0)
                        return r;
                if (uid != 0 && o.have_user_namespace && !o.user_namespace)
                        return sd_bus_error_set(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'user_namespace': only root may create a container "
                                "without a user namespace of its own here (force_user_namespace = "
                                "yes).");
                if (uid != 0)
                        o.user_namespace = o.have_user_namespace = true;
        }
        r = create_spec_check(manager, &o, &e);
        if (r < 0)
                return bus_error_set_warden(error, &e);
        if (o.needs_host_paths) {
                r = bus_verify_host_paths(m, manager, error);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 1; /* polkit is asked; the call comes back with its answer */
        }

        r = bus_request_new(manager, m, &req);
        if (r < 0)
                return r;
        r = container_create(manager, &o, create_done, req, NULL, &e);
        if (r < 0) {
                bus_request_free(req);
                return bus_error_set_warden(error, &e);
        }
        return 1;
}

/* ---- stop ---------------------------------------------------------------------------------------- */

/* Stop and Destroy: an empty reply, or the error. */
static void reply_done(Container *c, const WardenError *error, void *userdata) {
        BusRequest *req = userdata;

        if (error)
                (void) bus_reply_warden_error(req->request, error);
        else
                (void) sd_bus_reply_method_return(req->request, NULL);
        bus_request_free(req);
}

int bus_lifecycle_method_stop(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        Container *c = userdata;
        BusRequest *req;
        int kill_now, r;

        r = bus_verify_manage(m, c->manager, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */
        r = sd_bus_message_read(m, "b", &kill_now);
        if (r < 0)
                return r;
        bus_lifecycle_reference(c, m);
        r = bus_request_new(c->manager, m, &req);
        if (r < 0)
                return r;
        r = container_stop(c, kill_now, reply_done, req, &e);
        if (r < 0) {
                bus_request_free(req);
                return bus_error_set_warden(error, &e);
        }
        return 1;
}

/* ---- destroy ------------------------------------------------------------------------------------- */

int bus_lifecycle_method_destroy(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        Container *c = userdata;
        BusRequest *req;
        int r;

        r = bus_verify_manage(m, c->manager, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */
        r = bus_request_new(c->manager, m, &req);
        if (r < 0)
                return r;
        r = container_destroy(c, reply_done, req, &e);
        if (r < 0) {
                bus_request_free(req);
                return bus_error_set_warden(error, &e);
        }
        return 1;
}

/* ---- re-adoption --------------------------------------------------------------------------------- */

static int reply_list_units(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *unit;
        int r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                log_debug("Listing warden scopes failed: %s", sd_bus_message_get_error(reply)->message);
                return 0;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                return 0;
        while (sd_bus_message_read(
                       reply, "(ssssssouso)", &unit, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) >
               0) {
                Container *c;
                const char *handle;
                _cleanup_free_ char *h = NULL;

                handle = startswith(unit, "warden-");
                if (!handle || !endswith(unit, ".scope"))
                        continue;
                h = strndup(handle, strlen(handle) - strlen(".scope"));
                if (!h)
                        return 0;
                c = manager_get_container(m, h);
                if (c)
                        continue;
                log_event(
                        LOG_WARNING,
                        0,
                        h,
                        WARDEN_MESSAGE_CONTAINER_LOST,
                        "Scope %s belongs to no known container; stopping it.",
                        unit);
                (void) bus_call_out_method(
                        m,
                        "org.freedesktop.systemd1",
                        "/org/freedesktop/systemd1",
                        "org.freedesktop.systemd1.Manager",
                        "StopUnit",
                        SYSTEMD_CALL_TIMEOUT_USEC,
                        NULL,
                        NULL,
                        NULL,
                        "ss",
                        unit,
                        "fail");
        }
        return 0;
}

int bus_lifecycle_adopt(Manager *m) {
        int r;

        assert(m);

        container_adopt_all(m);
        /* scopes no container owns */
        r = bus_call_out_method(
                m,
                "org.freedesktop.systemd1",
                "/org/freedesktop/systemd1",
                "org.freedesktop.systemd1.Manager",
                "ListUnitsByPatterns",
                0,
                reply_list_units,
                m,
                NULL,
                "asas",
                0,
                1,
                "warden-*.scope");
        if (r < 0)
                log_debug_errno(r, "Failed to list warden scopes: %m");
        return 0;
}
