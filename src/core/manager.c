/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "fileio.h"
#include "handle.h"
#include "log.h"
#include "confine.h"
#include "container-lifecycle.h"
#include "manager.h"
#include "path-util.h"
#include "seccomp-filter.h"
#include "strv.h"
#include "warden-messages.h"

#define STATE_FILE_MAX (1024 * 1024)

static int manager_dispatch_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Reloading configuration from '%s'.", m->config_path);
        (void) sd_notify(false, "RELOADING=1");
        (void) manager_reload_config(m);
        (void) sd_notify(false, "READY=1");
        return 0;
}

int manager_reload_config(Manager *m) {
        _cleanup_free_ char *msg = NULL;
        int r;

        r = manager_config_load(&m->config, m->config_path, &msg);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_event(
                        LOG_ERR,
                        r,
                        NULL,
                        WARDEN_MESSAGE_CONFIG_INVALID,
                        "Invalid configuration: %s",
                        msg ?: "unknown error");
        log_set_max_level(m->config.log_level);
        return 0;
}

int manager_new(const char *config_path, const char *state_dir, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t mask;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return log_oom();
        m->seccomp_fd = -EBADF;
        manager_config_init(&m->config);

        m->config_path = strdup(config_path ?: MANAGER_CONFIG_PATH);
        m->state_dir = strdup(state_dir ?: MANAGER_STATE_DIR);
        m->containers = hashmap_new();
        m->links_deleting = hashmap_new();
        if (!m->config_path || !m->state_dir || !m->containers || !m->links_deleting)
                return log_oom();

        r = manager_reload_config(m);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate event loop: %m");

        /* sd-event wants the signals blocked before it watches them (systemd 252 has no
         * SD_EVENT_SIGNAL_PROCMASK yet). */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");

        r = sd_event_set_signal_exit(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to exit on SIGTERM/SIGINT: %m");
        r = sd_event_add_signal(m->event, &m->sighup_source, SIGHUP, manager_dispatch_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGHUP: %m");
        (void) sd_event_source_set_description(m->sighup_source, "manager-sighup");
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable the watchdog: %m");

        *ret = TAKE_PTR(m);
        return 0;
}

int manager_state_trees(Manager *m, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        Container *c;
        int r;

        r = strv_extend(&l, LOCALSTATEDIR "/lib/warden");
        if (r >= 0 && m->state_dir)
                r = strv_extend(&l, m->state_dir);
        if (r >= 0 && m->config.depot_path)
                r = strv_extend(&l, m->config.depot_path);
        if (r < 0)
                return r;
        /* those in the depot are covered by it; one elsewhere was made before the depot moved */
        HASHMAP_FOREACH(c, m->containers)
                if (c->path &&
                    !(m->config.depot_path && path_is_below_or_equal(c->path, m->config.depot_path))) {
                        r = strv_extend(&l, c->path);
                        if (r < 0)
                                return r;
                }
        *ret = TAKE_PTR(l);
        return 0;
}

Manager *manager_free(Manager *m) {
        Container *c;

        if (!m)
                return NULL;
        /* Freeing a container only forgets it: the scope, its processes and its state file stay for the
         * next wardend to re-adopt. */
        HASHMAP_FOREACH(c, m->containers)
                container_free(c);
        hashmap_free(m->containers);
        hashmap_free(m->links_deleting); /* entries: their worker threads are detached at exit */
        id_pool_free(m->uids);
        id_pool_free(m->userns);
        address_pool_free(m->addresses);
        id_pool_free(m->ports);
        firewall_free(m->firewall);
        safe_close(m->seccomp_fd);

        sd_event_source_disable_unref(m->sighup_source);
        sd_event_source_disable_unref(m->idle_source);
        sd_event_source_disable_unref(m->gc_source);
        free(m->gc_queue);
        /* The bus layer's state, the connection last (src/bus/bus-state.h): after the containers, before
         * the event loop. */
        if (m->bus_done)
                m->bus_done(m);
        sd_event_unref(m->event);

        manager_config_done(&m->config);
        free(m->config_path);
        free(m->state_dir);
        free(m);
        return NULL;
}

int manager_add_container(Manager *m, Container *c) {
        int r;

        assert(!c->manager);
        if (hashmap_get(m->containers, c->handle))
                return -EEXIST;
        if (hashmap_size(m->containers) >= m->config.max_containers)
                return -EUSERS;
        r = hashmap_put(m->containers, c->handle, c);
        if (r < 0)
                return r;
        c->manager = m;
        if (m->events && m->events->containers_changed)
                m->events->containers_changed(m);
        return 0;
}

void manager_remove_container(Manager *m, Container *c) {
        assert(m);
        assert(c);

        if (c->manager != m)
                return;
        manager_dequeue_gc(m, c);
        (void) hashmap_remove(m->containers, c->handle);
        c->manager = NULL;
        if (m->events && m->events->containers_changed && !m->exiting)
                m->events->containers_changed(m);
}

static int manager_dispatch_gc(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        /* one at a time off the front: a teardown may unregister others (never), or queue more */
        while (m->n_gc_queue > 0) {
                Container *c = m->gc_queue[0];

                memmove(m->gc_queue, m->gc_queue + 1, (m->n_gc_queue - 1) * sizeof(Container *));
                m->n_gc_queue--;
                c->gc_queued = false;
                container_gc(c);
        }
        return sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

void manager_enqueue_gc(Manager *m, Container *c) {
        Container **q;
        int r;

        assert(m);
        assert(c);

        if (c->gc_queued)
                return;
        if (!m->gc_source) {
                r = sd_event_add_defer(m->event, &m->gc_source, manager_dispatch_gc, m);
                if (r >= 0)
                        r = sd_event_source_set_priority(m->gc_source, SD_EVENT_PRIORITY_IDLE);
                if (r < 0) {
                        m->gc_source = sd_event_source_disable_unref(m->gc_source);
                        log_container_warning_errno(
                                c, r, "Failed to queue container '%s' for GC: %m", c->handle);
                        return;
                }
                (void) sd_event_source_set_description(m->gc_source, "manager-gc");
        }
        q = reallocarray(m->gc_queue, m->n_gc_queue + 1, sizeof(Container *));
        if (!q) {
                log_oom();
                return;
        }
        m->gc_queue = q;
        m->gc_queue[m->n_gc_queue++] = c;
        c->gc_queued = true;
        r = sd_event_source_set_enabled(m->gc_source, SD_EVENT_ONESHOT);
        if (r < 0)
                log_container_warning_errno(c, r, "Failed to queue container '%s' for GC: %m", c->handle);
}

void manager_dequeue_gc(Manager *m, Container *c) {
        assert(m);
        assert(c);

        if (!c->gc_queued)
                return;
        for (size_t i = 0; i < m->n_gc_queue; i++)
                if (m->gc_queue[i] == c) {
                        memmove(m->gc_queue + i, m->gc_queue + i + 1, (m->n_gc_queue - i - 1) * sizeof(c));
                        m->n_gc_queue--;
                        break;
                }
        c->gc_queued = false;
}

Container *manager_get_container(Manager *m, const char *handle) {
        return hashmap_get(m->containers, handle);
}

int manager_list_containers(Manager *m, char *const *filter, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        Container *c;
        int r;

        HASHMAP_FOREACH(c, m->containers) {
                if (!container_match_properties(c, filter))
                        continue;
                r = strv_extend(&l, c->handle);
                if (r < 0)
                        return r;
        }
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = strv_sort(TAKE_PTR(l));
        return 0;
}

int manager_allocate_userns(Manager *m, Container *c) {
        uint32_t i;
        int r;

        assert(c->userns_uid == 0 && c->uid == 0);

        r = id_pool_allocate(m->userns, &i);
        if (r < 0)
                return r;
        c->userns_uid = i * USERNS_RANGE_SIZE;
        c->uid = USERNS_CONTAINER_UID;
        return 0;
}

void manager_release_container_resources(Manager *m, Container *c) {
        /* a container with a user namespace has its user's uid from no pool */
        if (c->userns_uid > 0) {
                if (c->userns_uid % USERNS_RANGE_SIZE == 0)
                        id_pool_release(m->userns, c->userns_uid / USERNS_RANGE_SIZE);
        } else if (c->uid > 0)
                id_pool_release(m->uids, c->uid);
        if (c->has_net)
                address_pool_release(m->addresses, c->net_id);
        FOREACH_ARRAY(n, c->net_in, c->n_net_in)
                id_pool_release(m->ports, n->host_port);
        c->uid = 0;
        c->userns_uid = 0;
        c->has_net = false;
        c->net_in = mfree(c->net_in);
        c->n_net_in = 0;
}

bool manager_port_is_taken(Manager *m, uint16_t port) {
        Container *c;

        HASHMAP_FOREACH(c, m->containers)
                FOREACH_ARRAY(n, c->net_in, c->n_net_in)
                        if (n->host_port == port)
                                return true;
        return false;
}

bool manager_is_idle(Manager *m) {
        return hashmap_size(m->containers) == 0 && m->n_operations == 0;
}

static int container_state_path(Container *c, char **ret) {
        if (!c->manager)
                return -ENXIO;
        if (asprintf(ret, "%s/containers/%s", c->manager->state_dir, c->handle) < 0)
                return -ENOMEM;
        return 0;
}

int container_save(Container *c) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        r = container_state_path(c, &path);
        if (r < 0)
                return r;
        r = container_serialize(c, &text);
        if (r < 0)
                return r;
        return write_file_atomic(path, text, strlen(text), 0600);
}

int container_remove_state(Container *c) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = container_state_path(c, &path);
        if (r < 0)
                return r;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int manager_job_records_path(Manager *m, const char *handle, char **ret) {
        if (asprintf(ret, "%s/" MANAGER_JOBS_SUBDIR "/%s", m->state_dir, handle) < 0)
                return -ENOMEM;
        return 0;
}

/* The records directory holds files only (<id>.state and the temporary files of their atomic writes). */
static int remove_records_dir(int parent_fd, const char *name) {
        _cleanup_(closedirp) DIR *d = NULL;
        int fd, r = 0;

        fd = openat(parent_fd, name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                if (errno != ENOTDIR)
                        return -errno;
                /* not a directory: nothing of ours, but in our way */
                return RET_NERRNO(unlinkat(parent_fd, name, 0));
        }
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                (void) close(fd);
                return r;
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && r == 0)
                        r = -errno;
        }
        if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}

int manager_remove_job_records(Manager *m, const char *handle) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (asprintf(&dir, "%s/" MANAGER_JOBS_SUBDIR, m->state_dir) < 0)
                return -ENOMEM;
        fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        return remove_records_dir(fd, handle);
}

/* Makes (if needed) and opens the state directory's subdirectory 'sub'; logs what fails. */
static int manager_open_state_subdir(Manager *m, const char *sub, char **ret_path, DIR **ret_dir) {
        _cleanup_free_ char *dir = NULL;
        DIR *d;
        int r;

        if (asprintf(&dir, "%s/%s", m->state_dir, sub) < 0)
                return log_oom();
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create state directory '%s': %m", dir);
        d = opendir(dir);
        if (!d)
                return log_error_errno(errno, "Failed to open state directory '%s': %m", dir);
        *ret_path = TAKE_PTR(dir);
        *ret_dir = d;
        return 0;
}

/* Removes the job records of containers that are not known (any more): their container is gone. */
static int manager_remove_orphan_job_records(Manager *m) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        int r;

        r = manager_open_state_subdir(m, MANAGER_JOBS_SUBDIR, &dir, &d);
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));) {
                if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
                    manager_get_container(m, de->d_name))
                        continue;
                log_full_errno_container(
                        LOG_INFO,
                        0,
                        de->d_name,
                        "Removing the job records of '%s', which is no known container.",
                        de->d_name);
                r = remove_records_dir(dirfd(d), de->d_name);
                if (r < 0)
                        log_full_errno_container(
                                LOG_WARNING, r, de->d_name, "Failed to remove %s/%s: %m", dir, de->d_name);
        }
        return 0;
}

/* Re-adopts one container from its state file. A state file that cannot be used is logged and removed: the
 * container it described is gone (or never finished being created). */
static int manager_load_container(Manager *m, int dir_fd, const char *dir, const char *name) {
        _cleanup_(container_freep) Container *c = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return log_oom();

        r = read_full_file(path, STATE_FILE_MAX, &text, NULL);
        if (r >= 0)
                r = container_deserialize(text, &c);
        if (r == -ENOMEM)
                return log_oom();
        if (r >= 0 && !streq(c->handle, name))
                r = -EINVAL;
        if (r < 0) {
                log_full_errno_container(
                        LOG_WARNING, r, name, "State file '%s' is unreadable, removing it: %m", path);
                (void) unlinkat(dir_fd, name, 0);
                return 0;
        }

        /* Whether its wshd still lives is checked once the bus is up (lifecycle_adopt()), since a dead
         * container needs systemd to be cleaned up. Here it only gets its resources back. */
        if (c->userns_uid > 0) {
                /* -ERANGE: not a range of the pool (the configuration changed since) */
                r = c->userns_uid % USERNS_RANGE_SIZE != 0
                            ? -ERANGE
                            : id_pool_reserve(m->userns, c->userns_uid / USERNS_RANGE_SIZE);
                if (r < 0)
                        log_container_full_errno(
                                c,
                                LOG_WARNING,
                                r,
                                "Container '%s': cannot reserve its user namespace range "
                                "(host uids from %u): %m",
                                c->handle,
                                c->userns_uid);
        } else if (c->uid > 0) {
                r = id_pool_reserve(m->uids, c->uid);
                if (r < 0 && r != -ERANGE)
                        log_container_full_errno(
                                c,
                                LOG_WARNING,
                                r,
                                "Container '%s': cannot reserve uid %u: %m",
                                c->handle,
                                c->uid);
        }
        if (c->has_net) {
                r = address_pool_reserve_index(m->addresses, c->net_id);
                if (r < 0 && r != -ERANGE)
                        log_container_full_errno(
                                c,
                                LOG_WARNING,
                                r,
                                "Container '%s': cannot reserve network %u: %m",
                                c->handle,
                                c->net_id);
        }

        /* A port held twice (a state file edited by hand) stays with the first container that has it. */
        for (size_t i = 0; i < c->n_net_in;) {
                uint16_t port = c->net_in[i].host_port;

                r = manager_port_is_taken(m, port) ? -EADDRINUSE : id_pool_reserve(m->ports, port);
                if (r < 0 && r != -ERANGE) {
                        log_container_full_errno(
                                c,
                                LOG_WARNING,
                                r,
                                "Container '%s': host port %u is taken, dropping its NetIn mapping: "
                                "%m",
                                c->handle,
                                port);
                        (void) container_remove_net_in(c, port);
                        continue;
                }
                i++;
        }

        r = manager_add_container(m, c);
        if (r < 0)
                return log_container_full_errno(
                        c, LOG_ERR, r, "Failed to re-adopt container '%s': %m", c->handle);
        log_event(
                LOG_INFO,
                0,
                c->handle,
                WARDEN_MESSAGE_CONTAINER_ADOPTED,
                "Re-adopted container '%s'.",
                c->handle);
        TAKE_PTR(c);
        return 0;
}

int manager_startup(Manager *m) {
        FirewallPolicy policy = {};
        _cleanup_free_ char *dir = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        r = id_pool_new(m->config.uid_base, m->config.uid_count, &m->uids);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the uid pool: %m");
        r = address_pool_new(m->config.pool.address, m->config.pool.prefixlen, &m->addresses);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the address pool: %m");
        r = id_pool_new(
                m->config.port_range[0],
                (uint32_t) m->config.port_range[1] - m->config.port_range[0] + 1,
                &m->ports);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the port pool: %m");
        r = firewall_policy_from_config(&m->config, &policy);
        if (r >= 0)
                r = firewall_new(m->event, &policy, &m->firewall);
        firewall_policy_done(&policy);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the firewall: %m");
        r = id_pool_new(
                m->config.userns_uid_base / USERNS_RANGE_SIZE,
                manager_config_userns_ranges(&m->config),
                &m->userns);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the user namespace pool: %m");
        /* Without it no container could be started: better not to start at all. */
        r = seccomp_filter_build(&m->seccomp_fd);
        if (r < 0)
                return log_error_errno(r, "Failed to compile the containers' seccomp filter: %m");

        r = manager_open_state_subdir(m, "containers", &dir, &d);
        if (r < 0)
                return r;

        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (strstr(de->d_name, ".tmp.")) {
                        /* a write_file_atomic() that was interrupted */
                        (void) unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                r = manager_load_container(m, dirfd(d), dir, de->d_name);
                if (r < 0)
                        return r;
        }
        log_debug("Loaded %zu container(s) from '%s'.", hashmap_size(m->containers), dir);
        return manager_remove_orphan_job_records(m);
}
