/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A container: its identity, its resources and its state machine (born → active → stopped → destroyed, as in
 * Warden). The object is owned by the Manager's registry; container_free() unlinks it.
 */

#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "firewall.h"
#include "log.h"
#include "macro.h"

typedef struct Manager Manager;

/* The slice of every container's scope (warden-<handle>.scope). */
#define WARDEN_SLICE "warden.slice"

typedef enum ContainerState {
        CONTAINER_BORN,
        CONTAINER_ACTIVE,
        CONTAINER_STOPPED,
        CONTAINER_DESTROYED,
        _CONTAINER_STATE_MAX,
        _CONTAINER_STATE_INVALID = -EINVAL,
} ContainerState;

struct Job;
typedef struct ContainerCopy ContainerCopy;

struct CreateOperation;
struct StopOperation;
struct TeardownOperation;

/* The lifecycle operation in flight on a container (container-lifecycle.h): what it is, and the typed object
 * of that operation. A limit change (LIMIT) has no object of its own here. */
typedef enum ContainerOperationType {
        CONTAINER_OPERATION_CREATE,
        CONTAINER_OPERATION_STOP,
        CONTAINER_OPERATION_TEARDOWN,
        CONTAINER_OPERATION_LIMIT,
        _CONTAINER_OPERATION_TYPE_MAX,
        _CONTAINER_OPERATION_TYPE_INVALID = -EINVAL,
} ContainerOperationType;

typedef struct ContainerOperation {
        ContainerOperationType type;
        union {
                struct CreateOperation *create;
                struct StopOperation *stop;
                struct TeardownOperation *teardown;
        };
} ContainerOperation;

typedef struct Container {
        Manager *manager; /* NULL while not registered */
        char *handle;
        ContainerState state;
        char *unit;       /* warden-<handle>.scope */
        pid_t leader_pid; /* wshd, 0 if none */
        char *rootfs;     /* the base rootfs directory */
        char *path;       /* the container's directory in the depot */
        char *host_ip;
        char *container_ip;
        uint32_t grace_time;   /* seconds, 0 = never */
        char **properties;     /* key, value, key, value, … */
        char **env;            /* KEY=VALUE */
        char **events;         /* e.g. "out of memory" */
        uint64_t created_usec; /* CLOCK_REALTIME */
        uint32_t uid;          /* of the container's user as seen inside; from the uid pool; 0 if none */
        uint32_t userns_uid;   /* with a user namespace: host uid (= gid) of its root, the first of its range
                                * (from the userns pool), and uid is then USERNS_CONTAINER_UID; 0: none */
        uint32_t net_id;       /* index of its /30 in the address pool; names its veth w-<id>-0 */
        bool has_net;
        uint64_t memory_limit; /* limits in force (Create, src/bus/bus-limits.c); 0 = none */
        uint64_t cpu_weight;
        uint64_t cpu_quota; /* percent of one CPU */
        uint64_t pids_limit;
        uint32_t job_ids_reserved; /* job ids up to this one may have been handed out (persisted in blocks)
                                    */

        /* Jobs (src/core/job.h), by id; running ones and exited ones not linked yet. Loaded from the jobs
         * directory at re-adoption. */
        struct Job **jobs;
        size_t n_jobs;
        uint32_t next_job_id;
        /* Runtime only: the job machinery (src/core/job-runtime.h) while the container can run jobs. */
        struct JobRuntime *job_runtime;
        NetInRule *net_in; /* NetIn mappings, in the order made; their host ports are taken from the pool */
        size_t n_net_in;
        NetOutRule *net_out; /* NetOut rules, in the order made */
        size_t n_net_out;
        uint64_t disk_limit;       /* bytes of the writable layer's own file system */
        uint64_t disk_inode_limit; /* its inodes, as many as mke2fs made */
        uint64_t bandwidth_rate;   /* bytes/s, each direction */
        uint64_t bandwidth_burst;  /* bytes */
        uint64_t oom_kills;        /* the memory cgroup's OOM kill counter when last seen */

        /* Runtime only, never persisted. */
        sd_event_source *leader_source; /* wshd's pidfd (ContainerOps.leader_open): fires when wshd exits */
        sd_event_source *grace_source;  /* armed while no client references the container */
        char **clients;                 /* the unique bus names that reference it (src/bus/bus-clients.h) */
        /* the lifecycle operation in flight, or NULL (container-lifecycle.h) */
        ContainerOperation *operation;
        bool gc_queued;              /* in Manager.gc_queue (manager_enqueue_gc()) */
        ContainerCopy *copies;       /* CopyIn/CopyOut in flight (container-copy.h), a list, or NULL */
        bool firewall_added;         /* its nft objects were submitted (firewall_add_container()) */
        sd_event_source *oom_source; /* the memory cgroup's OOM notification (src/core/container-oom.h) */
        bool oom_pending;            /* an OOM came while a limit was being changed */
        bool oom_stopping;           /* the Stop that follows an OOM is in flight */
} Container;

/* The host's view of a uid (or gid) of the container. */
static inline uint32_t container_host_uid(const Container *c, uint32_t uid) {
        return c->userns_uid > 0 ? c->userns_uid + uid : uid;
}

/*
 * Logging about a container: like log_*() and log_*_errno(), with the journal field WARDEN_CONTAINER= set to
 * its handle (systemd's log_unit_*()). The message text names the container itself where it matters.
 */
#define log_container_full_errno(c, level, error, ...) \
        log_full_errno_container(level, error, (c)->handle, __VA_ARGS__)
#define log_container_full(c, level, ...) (void) log_container_full_errno(c, level, 0, __VA_ARGS__)
#define log_container_debug(c, ...) log_container_full(c, LOG_DEBUG, __VA_ARGS__)
#define log_container_info(c, ...) log_container_full(c, LOG_INFO, __VA_ARGS__)
#define log_container_notice(c, ...) log_container_full(c, LOG_NOTICE, __VA_ARGS__)
#define log_container_warning(c, ...) log_container_full(c, LOG_WARNING, __VA_ARGS__)
#define log_container_error(c, ...) log_container_full(c, LOG_ERR, __VA_ARGS__)
#define log_container_debug_errno(c, e, ...) log_container_full_errno(c, LOG_DEBUG, e, __VA_ARGS__)
#define log_container_info_errno(c, e, ...) log_container_full_errno(c, LOG_INFO, e, __VA_ARGS__)
#define log_container_notice_errno(c, e, ...) log_container_full_errno(c, LOG_NOTICE, e, __VA_ARGS__)
#define log_container_warning_errno(c, e, ...) log_container_full_errno(c, LOG_WARNING, e, __VA_ARGS__)
#define log_container_error_errno(c, e, ...) log_container_full_errno(c, LOG_ERR, e, __VA_ARGS__)
/* Debug log of a step's time since the start of its operation (the steps of one operation overlap), as
 * "Container 'x': step NAME took Nus", which bench/run collects. By handle: the container may be gone. */
void log_container_step(const char *handle, const char *step, uint64_t started_usec);
/* With a MESSAGE_ID= (warden-messages.h). */
#define log_container_event(c, level, error, message_id, ...) \
        log_event(level, error, (c)->handle, message_id, __VA_ARGS__)

const char *container_state_to_string(ContainerState s) _pure_;
ContainerState container_state_from_string(const char *s) _pure_;

/* -EINVAL: invalid handle; -ENOMEM. The container is not registered yet. */
int container_new(const char *handle, Container **ret);
Container *container_free(Container *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Container *, container_free);

/* Value of property 'key', NULL if unset. */
const char *container_get_property(const Container *c, const char *key);
/* 0 or -ENOMEM. Replaces an existing value. */
int container_set_property(Container *c, const char *key, const char *value);
/* The job with that id, or NULL. */
struct Job *container_get_job(const Container *c, uint32_t id);
/* Adds j (the container owns it then): -EEXIST if the id is taken, -ENOMEM. */
int container_add_job(Container *c, struct Job *j);
/* Removes and returns j (not freed). */
struct Job *container_remove_job(Container *c, struct Job *j);

/* True if every key/value pair of 'filter' (key, value, … as in Container.properties) is set on c. */
bool container_match_properties(const Container *c, char *const *filter);

/* Appends a NetIn mapping / NetOut rule. -ENOMEM. */
int container_add_net_in(Container *c, const NetInRule *r);
int container_add_net_out(Container *c, const NetOutRule *r);
/* Removes the NetIn mapping of host port 'host_port'; 0 if there was none, 1 if removed. */
int container_remove_net_in(Container *c, uint16_t host_port);

/*
 * State files: the container serialised as KEY=VALUE lines (values escaped), written atomically to
 * <state_dir>/containers/<handle> on every change, read back at start-up.
 */
int container_serialize(const Container *c, char **ret);
/* -EINVAL: malformed or of an unknown version; -ENOMEM. Unknown keys are ignored (newer writer). */
int container_deserialize(const char *text, Container **ret);
