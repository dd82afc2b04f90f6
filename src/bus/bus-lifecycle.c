/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-call-out.h"
#include "bus-calls.h"
#include "bus-clients.h"
#include "bus-container.h"
#include "bus-error.h"
#include "bus-lifecycle.h"
#include "bus-limits.h"
#include "bus-polkit.h"
#include "bus-read.h"
#include "bus-systemd.h"
#include "bus-util.h"
#include "bus-warden-error.h"
#include "container-lifecycle.h"
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

void bus_lifecycle_unreferenced(Container *c) {
        container_unreferenced(c);
}

void bus_lifecycle_reference(Container *c, sd_bus_message *m) {
        int r;

        assert(c);
        assert(m);

        if (!c->manager || !c->manager->bus || c->state == CONTAINER_DESTROYED)
                return;
        r = bus_clients_reference(c, m);
        if (r < 0)
                log_container_warning_errno(
                                c, r, "Failed to reference container '%s' for its caller: %m", c->handle);
        else if (bus_clients_referenced(c))
                container_referenced(c);
}

/* ---- create: options ----------------------------------------------------------------------------- */

typedef struct CreateOptions {
        const char *handle;
        const char *rootfs;
        BindMount *bind_mounts;
        size_t n_bind_mounts;
        uint32_t grace_time;
        bool have_grace_time;
        const char *network;
        char **properties;
        char **env;
        uint64_t memory_limit;
        uint64_t cpu_weight;
        uint64_t cpu_quota;
        uint64_t pids_limit;
        uint64_t disk_limit;
        uint64_t disk_inode_limit;
        uint64_t bandwidth_rate;
        uint64_t bandwidth_burst;
        bool user_namespace;
        bool have_user_namespace;

        /* found by check_create_options() */
        char *rootfs_resolved; /* the rootfs, symlinks resolved: what is mounted */
        bool needs_host_paths; /* a bind mount source or the rootfs is outside wardend's allow-lists */
} CreateOptions;

static void create_options_done(CreateOptions *o) {
        free(o->rootfs_resolved);
        bind_mounts_free(o->bind_mounts, o->n_bind_mounts);
        strv_free(o->properties);
        strv_free(o->env);
}

#define BIND_MOUNTS_MAX 256U

static int read_bind_mounts(sd_bus_message *m, CreateOptions *o, sd_bus_error *error) {
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

static int read_env(sd_bus_message *m, CreateOptions *o, sd_bus_error *error) {
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
        CreateOptions *o = userdata;
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
                                        error,
                                        SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'properties': duplicate key.");
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

static int read_create_options(sd_bus_message *m, CreateOptions *o, sd_bus_error *error) {
        return bus_message_read_options(
                        m,
                        NULL,
                        create_option_specs,
                        ELEMENTSOF(create_option_specs),
                        read_create_option,
                        o,
                        error);
}

/* 0 if this kernel lets us make user namespaces; cheap (two files of /proc). */
static int userns_supported(void) {
        _cleanup_free_ char *max = NULL;
        uint32_t n;
        int r;

        if (access("/proc/self/ns/user", F_OK) < 0)
                return -errno;
        r = read_full_file("/proc/sys/user/max_user_namespaces", 64, &max, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        max[strcspn(max, "\n")] = '\0';
        if (parse_uint32(max, &n) >= 0 && n == 0)
                return -ENOSPC;
        return 0;
}

/* Neither the path given nor what it resolves to may be a tree that is never mounted (host-path.h). */
static int
check_mountable(const char *option,
                const char *given,
                const char *resolved,
                char *const *state_trees,
                sd_bus_error *error) {
        HostPathRefusal h;
        const char *which = given;
        int r;

        r = host_path_check_mountable(given, state_trees, &h);
        if (r == -EPERM)
                which = NULL;
        else if (resolved && !streq(resolved, given)) {
                r = host_path_check_mountable(resolved, state_trees, &h);
                which = resolved;
        }
        if (r == -EPERM)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option '%s': '%s'%s%s%s %s %s: %s are never mounted into a container.",
                                option,
                                given,
                                which ? " (resolved: '" : "",
                                strempty(which),
                                which ? "')" : "",
                                h.contains ? "contains" : "is or is in",
                                h.tree,
                                h.rule);
        if (r < 0)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option '%s': '%s' resolves to '%s', which is not a normalised path.",
                                option,
                                given,
                                strna(resolved));
        return 0;
}

/* The source is opened here, once: the checks are about the object opened, and that is what the rootfs
 * worker mounts (BindMount.source_fd), whatever the path names by then. */
static int
check_bind_mount_source(Manager *manager, BindMount *b, char *const *state_trees, sd_bus_error *error) {
        _cleanup_strv_free_ char **allowed = NULL;
        _cleanup_free_ char *real = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = check_mountable("bind_mounts", b->source, NULL, state_trees, error);
        if (r < 0)
                return r;
        fd = host_path_open(b->source, 0, &real);
        if (IN_SET(fd, -ENOENT, -ENOTDIR, -ESTALE))
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_BIND_MOUNT_SOURCE,
                                "Bind mount source '%s' does not exist.",
                                b->source);
        if (fd < 0)
                return sd_bus_error_set_errnof(
                                error, fd, "Failed to open bind mount source '%s': %m", b->source);
        r = check_mountable("bind_mounts", b->source, real, state_trees, error);
        if (r < 0)
                return r;

        r = host_path_resolve_dirs(manager->config.bind_sources, NULL, &allowed);
        if (r < 0)
                return r;
        b->source_fd = TAKE_FD(fd);
        b->has_source_fd = true;
        return !host_path_in_dirs(real, allowed);
}

/* The rootfs must be a directory, mountable, and a path the overlay's options can carry also once resolved;
 * outside the default rootfs and rootfs_directories it needs host-path authority (returns 1). The resolved
 * path is what the container gets. */
static int check_rootfs(Manager *manager, CreateOptions *o, char *const *state_trees, sd_bus_error *error) {
        const char *rootfs = o->rootfs ?: manager->config.default_rootfs;
        _cleanup_strv_free_ char **allowed = NULL;
        _cleanup_free_ char *real = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        /* first, so that "/" and the like are refused by the rule that names them */
        if (path_is_normalized(rootfs) > 0) {
                r = check_mountable("rootfs", rootfs, NULL, state_trees, error);
                if (r < 0)
                        return r;
        }
        r = rootfs_check(rootfs);
        if (r == -ENOMEDIUM)
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_ROOTFS_NOT_FOUND,
                                "Root file system '%s' does not exist or is not a directory%s.",
                                rootfs,
                                o->rootfs ? "" : " (build the default one with warden-mkrootfs)");
        if (r < 0)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'rootfs': '%s' is not an absolute, normalised path to a directory "
                                "other than '/'.",
                                rootfs);
        fd = host_path_open(rootfs, O_DIRECTORY, &real);
        if (IN_SET(fd, -ENOENT, -ENOTDIR, -ESTALE))
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_ROOTFS_NOT_FOUND,
                                "Root file system '%s' does not exist or is not a directory.",
                                rootfs);
        if (fd < 0)
                return sd_bus_error_set_errnof(
                                error, fd, "Failed to open root file system '%s': %m", rootfs);
        r = check_mountable("rootfs", rootfs, real, state_trees, error);
        if (r < 0)
                return r;
        if (rootfs_check(real) < 0)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'rootfs': '%s' resolves to '%s', which the overlay's options cannot "
                                "carry.",
                                rootfs,
                                real);

        r = host_path_resolve_dirs(
                        manager->config.rootfs_directories, manager->config.default_rootfs, &allowed);
        if (r < 0)
                return r;
        free(o->rootfs_resolved);
        o->rootfs_resolved = TAKE_PTR(real);
        return !host_path_in_dirs(o->rootfs_resolved, allowed);
}

static int check_create_options(Manager *manager, CreateOptions *o, sd_bus_error *error) {
        _cleanup_strv_free_ char **state_trees = NULL;
        int r;

        if (o->handle && !handle_is_valid(o->handle))
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_INVALID_HANDLE,
                                "Invalid container handle '%s': a handle has 1 to %i characters of "
                                "[A-Za-z0-9_.-] and "
                                "does not start with '.' or '-'.",
                                o->handle,
                                HANDLE_MAX);
        if (o->handle && manager_get_container(manager, o->handle))
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_CONTAINER_EXISTS,
                                "Container '%s' exists already.",
                                o->handle);

        r = manager_state_trees(manager, &state_trees);
        if (r < 0)
                return r;
        r = check_rootfs(manager, o, state_trees, error);
        if (r < 0)
                return r;
        if (r > 0)
                o->needs_host_paths = true;

        FOREACH_ARRAY(b, o->bind_mounts, o->n_bind_mounts) {
                _cleanup_free_ char *msg = NULL;

                r = bind_mount_check(b, &msg);
                if (r == -EMEDIUMTYPE)
                        return sd_bus_error_setf(
                                        error,
                                        WARDEN_ERROR_BIND_MOUNT_SOURCE,
                                        "Bind mount source '%s' does not exist.",
                                        b->source);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return sd_bus_error_setf(
                                        error,
                                        SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'bind_mounts': %s",
                                        msg ?: "invalid bind mount.");
                r = check_bind_mount_source(manager, b, state_trees, error);
                if (r < 0)
                        return r;
                if (r > 0)
                        o->needs_host_paths = true;
        }

        if (o->have_user_namespace ? o->user_namespace : manager->config.user_namespace) {
                r = userns_supported();
                if (r < 0)
                        return sd_bus_error_setf(
                                        error,
                                        SD_BUS_ERROR_NOT_SUPPORTED,
                                        "Option 'user_namespace': this kernel has no user namespaces or "
                                        "allows none (user.max_user_namespaces = 0): %s.",
                                        strerror(-r));
        }

        if (o->cpu_weight > 10000)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'cpu_weight' must be from 1 to 10000 (0: default).");
        if (o->cpu_quota > 0 && o->cpu_quota != LIMIT_CPU_QUOTA_NONE &&
            limit_check_cpu_quota(o->cpu_quota) < 0)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'cpu_quota' must be from %u to %u percent of one CPU (0: the "
                                "configured default, 18446744073709551615: none).",
                                LIMIT_CPU_QUOTA_MIN,
                                LIMIT_CPU_QUOTA_MAX);
        if (o->pids_limit > 0 && limit_check_pids(o->pids_limit) < 0)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'pids_limit' must be from %u to %" PRIu64
                                " (0: the configured default).",
                                LIMIT_PIDS_MIN,
                                LIMIT_PIDS_MAX);
        r = bus_limits_check_create_options(
                        manager,
                        o->memory_limit,
                        o->disk_limit,
                        o->disk_inode_limit,
                        o->bandwidth_rate,
                        o->bandwidth_burst,
                        error);
        if (r < 0)
                return r;
        for (char **p = o->properties; p && p[0]; p += 2)
                if (isempty(p[0]))
                        return sd_bus_error_set(
                                        error, SD_BUS_ERROR_INVALID_ARGS, "Option 'properties': empty key.");
        return 0;
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
        r = container_bus_path(c, &path);
        if (r < 0)
                (void) sd_bus_reply_method_errno(req->request, -r, NULL);
        else
                (void) sd_bus_reply_method_return(req->request, "so", c->handle, path);
        bus_request_free(req);
}

int bus_lifecycle_method_create(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(create_options_done) CreateOptions o = {};
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        Manager *manager = userdata;
        BusRequest *req;
        CreateSpec spec;
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
        r = check_create_options(manager, &o, error);
        if (r < 0)
                return r;
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
        spec = (CreateSpec){
                .handle = o.handle,
                .rootfs = o.rootfs_resolved,
                .bind_mounts = TAKE_PTR(o.bind_mounts),
                .n_bind_mounts = o.n_bind_mounts,
                .have_grace_time = o.have_grace_time,
                .grace_time = o.grace_time,
                .network = o.network,
                .properties = TAKE_PTR(o.properties),
                .env = TAKE_PTR(o.env),
                .memory_limit = o.memory_limit,
                .cpu_weight = o.cpu_weight,
                .cpu_quota = o.cpu_quota,
                .pids_limit = o.pids_limit,
                .disk_limit = o.disk_limit,
                .disk_inode_limit = o.disk_inode_limit,
                .bandwidth_rate = o.bandwidth_rate,
                .bandwidth_burst = o.bandwidth_burst,
                .user_namespace = o.have_user_namespace ? o.user_namespace : manager->config.user_namespace,
        };
        o.n_bind_mounts = 0;
        r = container_create(manager, &spec, create_done, req, NULL, &e);
        if (r < 0) {
                bus_request_free(req);
                return bus_error_set_warden(error, &e);
        }
        return 1;
}

/* ---- stop ---------------------------------------------------------------------------------------- */

static void stop_done(Container *c, const WardenError *error, void *userdata) {
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
        r = container_stop(c, kill_now, stop_done, req, &e);
        if (r < 0) {
                bus_request_free(req);
                return bus_error_set_warden(error, &e);
        }
        return 1;
}

/* ---- destroy ------------------------------------------------------------------------------------- */

static void destroy_done(Container *c, const WardenError *error, void *userdata) {
        BusRequest *req = userdata;

        if (error)
                (void) bus_reply_warden_error(req->request, error);
        else
                (void) sd_bus_reply_method_return(req->request, NULL);
        bus_request_free(req);
}

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
        r = container_destroy(c, destroy_done, req, &e);
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
                               reply,
                               "(ssssssouso)",
                               &unit,
                               NULL,
                               NULL,
                               NULL,
                               NULL,
                               NULL,
                               NULL,
                               NULL,
                               NULL,
                               NULL) > 0) {
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
                log_event(LOG_WARNING,
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
