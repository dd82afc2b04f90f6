/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The Manager: wardend's one object. It owns the event loop, the configuration, the container registry and
 * the state directory. No D-Bus here: what the bus layer keeps (the connection, its callers, its calls to
 * other services) is in its BusManager (src/bus/bus-state.h), which the Manager holds as one opaque pointer.
 *
 * State directory layout (default /run/warden, see wardend(8)):
 *     containers/<handle>        one state file per container (container_serialize()), written atomically
 *     jobs/<handle>/<id>.state   one record per job of the container (job.h), written atomically; the
 *                                directory goes with the container, and at start-up if no container of
 *                                that handle is known
 * Nothing a container can write is here: a container that fills the depot (its writable layer is there)
 * cannot keep wardend from recording a job. What stays in the depot is what belongs to a container: its
 * root, its wshd socket and its jobs' captured output (<depot>/<handle>/jobs/<id>.stdout, .stderr).
 */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "container.h"
#include "firewall.h"
#include "hashmap.h"
#include "manager-config.h"
#include "pool.h"

typedef struct Manager Manager;
struct BusManager;
struct Job;
typedef struct ContainerOps ContainerOps;

/*
 * What core tells its front ends, through ONE typed table set by the front end (src/bus/bus-manager.c); any
 * member may be NULL. Core calls these after the change, on the event loop; they must not change the
 * registry.
 */
typedef struct ManagerEvents {
        /* The set of containers changed (one was registered or unregistered). */
        void (*containers_changed)(Manager *m);
        /* c is created (state "active", its wshd greeted): ContainerCreated. */
        void (*container_announced)(Container *c);
        /* The container 'handle' that had been announced is gone: ContainerDestroyed. */
        void (*container_gone)(Manager *m, const char *handle);
        /* A property of c changed ("State", "LeaderPID"). */
        void (*container_changed)(Container *c, const char *property);
        /* c is being torn down: forget what the front end holds about it (the clients that reference it). */
        void (*container_forget)(Container *c);
        /* c's memory cgroup had an OOM kill: the OutOfMemory signal. */
        void (*container_oom)(Container *c);
        /* Job j of c ended (j->exit_status); it may be discarded right after. */
        void (*job_exited)(Container *c, const struct Job *j);
} ManagerEvents;

struct Manager {
        sd_event *event;
        sd_event_source *sighup_source;
        sd_event_source *idle_source;

        ManagerConfig config;
        char *config_path;
        char *state_dir;

        Hashmap *containers;     /* handle → Container */
        Hashmap *links_deleting; /* host ifname → LinkDeletion (src/core/container-lifecycle.c) */

        /* The side effects of the lifecycle (container-ops.h), set by the daemon (or a test). */
        const ContainerOps *ops;
        /* Set by the front end (see ManagerEvents); NULL: nobody listens. */
        const ManagerEvents *events;

        /* Containers to look at once the loop is idle (manager_enqueue_gc()): torn down if their wshd is
         * gone and no operation is in flight. */
        Container **gc_queue;
        size_t n_gc_queue;
        sd_event_source *gc_source;

        /* Per-container resources; what re-adopted containers hold is reserved at start-up. The pools
         * follow the configuration of the moment wardend started. */
        IdPool *uids;
        AddressPool *addresses;
        IdPool *ports; /* NetIn host ports of port_range; ports outside it are checked against every
                          container */

        /* The containers' nft rules (firewall.h), with the policy of the start-up configuration. */
        Firewall *firewall;

        IdPool *userns; /* ranges of host uids for user namespaces: id i is [i * 65536, (i + 1) * 65536) */

        /* The jobs' seccomp filter as raw BPF (src/core/seccomp-filter.h), handed to every wshd. */
        int seccomp_fd;

        /* Requests that are being worked on asynchronously; while > 0 the manager is not idle. */
        unsigned n_operations;
        bool exiting;

        /* The bus layer's state (src/bus/bus-state.h): the connection, the callers it tracks, the calls it
         * makes. Opaque here: core never looks inside. Allocated by the bus layer when it attaches, and
         * released by bus_done, which it sets too (manager_free() calls it after the containers, before
         * the event loop). */
        struct BusManager *bus_manager;
        /* Set by the bus layer with bus_manager: releases it, the connection last. */
        void (*bus_done)(Manager *m);
};

#define MANAGER_STATE_DIR "/run/warden"
#define MANAGER_JOBS_SUBDIR "jobs"

/* Sets up the event loop (signals, watchdog, SIGHUP reload) and loads the configuration. Logs. Returns
 * -EBADMSG if the configuration file is invalid (so that wardend can exit with a status that tells systemd
 * not to start it again: a restart would fail the same way). */
int manager_new(const char *config_path, const char *state_dir, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Re-reads the configuration; on error the one in force stays. Logs. */
int manager_reload_config(Manager *m);

/* Creates the state directory and re-adopts the containers recorded there. Logs. */
int manager_startup(Manager *m);

/* -EEXIST: handle taken; -EUSERS: max_containers reached; -ENOMEM. */
int manager_add_container(Manager *m, Container *c);
void manager_remove_container(Manager *m, Container *c);
Container *manager_get_container(Manager *m, const char *handle);
/* Sorted handles of the containers whose properties contain every pair of 'filter' (key, value, …). */
int manager_list_containers(Manager *m, char *const *filter, char ***ret);

/* Gives the container's uid, /30, user namespace range and NetIn host ports back to the pools (and forgets
 * them in c). */
void manager_release_container_resources(Manager *m, Container *c);

/* Is 'port' the host port of a NetIn mapping of any registered container? */
bool manager_port_is_taken(Manager *m, uint16_t port);

/* A user namespace range for c: sets c->userns_uid (the first host uid of the range) and c->uid (the user's
 * uid inside). -ENOSR: every range is taken. */
int manager_allocate_userns(Manager *m, Container *c);

/* wardend's own trees, which are never mounted into a container (host-path.h): its state directory,
 * /var/lib/warden, the depot and every container's directory. A NULL-terminated list; -ENOMEM. */
int manager_state_trees(Manager *m, char ***ret);

/* No containers and nothing in flight: the daemon may exit and be activated again later. */
bool manager_is_idle(Manager *m);

/* The directory of the job records of container 'handle': <state_dir>/jobs/<handle>. -ENOMEM. */
int manager_job_records_path(Manager *m, const char *handle, char **ret);
/* Removes that directory with the records in it. 0 also if there was none; negative errno; does not log. */
int manager_remove_job_records(Manager *m, const char *handle);

/*
 * The GC queue (machined's manager_enqueue_gc()): c is looked at on the event loop at idle priority, once
 * whatever is being dispatched now is over; a container whose wshd is gone (no leader watch) and that has no
 * operation in flight is torn down then. Queued once however often it is asked; container_free() takes it
 * out. Logs on failure (then the container is looked at again at the next occasion).
 */
void manager_enqueue_gc(Manager *m, Container *c);
void manager_dequeue_gc(Manager *m, Container *c);

/* Writes/removes the container's state file. Negative errno; does not log. */
int container_save(Container *c);
int container_remove_state(Container *c);
