/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A container: its identity, its resources and its state machine (born → active → stopped → destroyed, as in
 * Warden). The object is owned by the Manager's registry; container_free() unlinks it.
 */

#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct Manager Manager;

typedef enum ContainerState {
        CONTAINER_BORN,
        CONTAINER_ACTIVE,
        CONTAINER_STOPPED,
        CONTAINER_DESTROYED,
        _CONTAINER_STATE_MAX,
        _CONTAINER_STATE_INVALID = -EINVAL,
} ContainerState;

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
        uint32_t uid;          /* of the container's user, from the uid pool; 0 if none */
        uint32_t net_id;       /* index of its /30 in the address pool; names its veth w-<id>-0 */
        bool has_net;
        uint64_t memory_limit; /* limits in force (Create, src/bus/bus-limits.c); 0 = none */
        uint64_t cpu_weight;
        uint64_t pids_limit;
        uint64_t disk_limit;       /* bytes of the writable layer's own file system */
        uint64_t disk_inode_limit; /* its inodes, as many as mke2fs made */
        uint64_t bandwidth_rate;   /* bytes/s, each direction */
        uint64_t bandwidth_burst;  /* bytes */
        uint64_t oom_kills;        /* the memory cgroup's OOM kill counter when last seen */

        /* Runtime only, never persisted. */
        sd_event_source *leader_source; /* wshd's pidfd: fires when wshd exits */
        sd_event_source *grace_source;  /* armed while no client references the container */
        sd_bus_track *track;            /* the clients that reference it */
        void *operation;             /* the lifecycle operation in flight (create/stop/destroy), or NULL */
        sd_event_source *oom_source; /* the memory cgroup's OOM notification (src/bus/bus-limits.c) */
        bool oom_pending;            /* an OOM came while a limit was being changed */
        bool oom_stopping;           /* the Stop that follows an OOM is in flight */
} Container;

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
/* True if every key/value pair of 'filter' (key, value, … as in Container.properties) is set on c. */
bool container_match_properties(const Container *c, char *const *filter);

/*
 * State files: the container serialised as KEY=VALUE lines (values escaped), written atomically to
 * <state_dir>/containers/<handle> on every change, read back at start-up.
 */
int container_serialize(const Container *c, char **ret);
/* -EINVAL: malformed or of an unknown version; -ENOMEM. Unknown keys are ignored (newer writer). */
int container_deserialize(const char *text, Container **ret);
