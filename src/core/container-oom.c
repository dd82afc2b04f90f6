/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <sys/epoll.h>

#include "container-lifecycle.h"
#include "container-oom.h"
#include "log.h"
#include "manager.h"
#include "memcg.h"
#include "strv.h"
#include "warden-messages.h"

/* Keeps the highest OOM kill count seen, so that a restart notices only kills that are new. */
static void oom_update_kills(Container *c) {
        _cleanup_(memcg_done) Memcg mc = {};
        uint64_t n;

        if (memcg_find(MEMCG_ROOT, WARDEN_SLICE, c->unit, &mc) < 0 || memcg_read_oom_kills(&mc, &n) < 0)
                return;
        if (n > c->oom_kills) {
                c->oom_kills = n;
                (void) container_save(c);
        }
}

static void oom_stopped(Container *c, const WardenError *error, void *userdata) {
        c->oom_stopping = false;
        if (error)
                log_container_warning_errno(
                        c, error->error, "%s", error->message ?: "Failed to stop the processes.");
        /* the kernel counted the kill long before wshd had stopped the rest */
        oom_update_kills(c);
}

void container_oom(Container *c) {
        Manager *m;
        int r;

        assert(c);
        assert(c->manager);

        m = c->manager;
        if (c->state != CONTAINER_ACTIVE || c->oom_stopping)
                return; /* nothing runs in it but wshd, or this is the OOM whose stop is under way */
        if (container_is_held(c)) {
                c->oom_pending = true;
                return;
        }

        log_container_event(
                c,
                LOG_WARNING,
                0,
                WARDEN_MESSAGE_OUT_OF_MEMORY,
                "Container '%s' ran out of memory (limit %llu bytes): the kernel killed a process "
                "in it; "
                "stopping it.",
                c->handle,
                (unsigned long long) c->memory_limit);
        r = strv_extend(&c->events, CONTAINER_OOM_EVENT);
        if (r < 0)
                log_oom();
        (void) container_save(c);
        if (m->events && m->events->container_oom)
                m->events->container_oom(c);

        /* A Stop in flight stops it anyway. */
        if (c->operation)
                return;
        r = container_stop(c, /* kill= */ true, oom_stopped, NULL, NULL);
        if (r < 0)
                log_container_error_errno(c, r, "Failed to stop container '%s' after OOM: %m", c->handle);
        else
                c->oom_stopping = true;
}

static int oom_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        _cleanup_(memcg_done) Memcg mc = {};
        Container *c = userdata;
        uint64_t n = 0;
        int r;

        r = memcg_find(MEMCG_ROOT, WARDEN_SLICE, c->unit, &mc);
        if (r < 0) {
                /* v1 signals the eventfd once more when the cgroup is removed: the scope is gone, wshd
                 * with it, and the lifecycle's watch on wshd deals with that. */
                c->oom_source = sd_event_source_disable_unref(c->oom_source);
                return 0;
        }
        memcg_watch_flush(&mc, fd);

        r = memcg_read_oom_kills(&mc, &n);
        if (mc.version == MEMCG_V2 && (r < 0 || n <= c->oom_kills))
                return 0; /* memory.events changed for another reason (high, max, low) */
        /* v1: the eventfd means an OOM; the kill itself may be counted a moment later (see
         * oom_stopped()). */
        if (r >= 0 && n > c->oom_kills) {
                c->oom_kills = n;
                (void) container_save(c);
        }
        container_oom(c);
        return 0;
}

static int oom_watch(Container *c) {
        _cleanup_(memcg_done) Memcg mc = {};
        _cleanup_close_ int fd = -EBADF;
        uint32_t events;
        int r;

        c->oom_source = sd_event_source_disable_unref(c->oom_source);
        r = memcg_find(MEMCG_ROOT, WARDEN_SLICE, c->unit, &mc);
        if (r < 0)
                return r;
        r = memcg_watch_oom(&mc, &fd, &events);
        if (r < 0)
                return r;
        r = sd_event_add_io(c->manager->event, &c->oom_source, fd, events, oom_event, c);
        if (r < 0)
                return r;
        r = sd_event_source_set_io_fd_own(c->oom_source, true);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        (void) sd_event_source_set_description(c->oom_source, "container-oom");
        return 0;
}

int container_oom_watch_new(Container *c) {
        int r;

        assert(c);
        assert(c->manager);

        r = oom_watch(c);
        if (r < 0 && r != -EOPNOTSUPP)
                return log_container_error_errno(c, r, "Failed to watch '%s' for OOM kills: %m", c->handle);
        if (r == -EOPNOTSUPP)
                log_container_warning_errno(
                        c, r, "No memory cgroup controller: OOM kills in '%s' go unnoticed.", c->handle);
        c->oom_kills = 0;
        oom_update_kills(c);
        return r;
}

bool container_oom_adopt(Container *c) {
        _cleanup_(memcg_done) Memcg mc = {};
        uint64_t n;
        int r;

        assert(c);
        assert(c->manager);

        r = oom_watch(c);
        if (r < 0)
                log_container_warning_errno(c, r, "Failed to watch '%s' for OOM kills: %m", c->handle);
        /* an OOM kill while we were away: the kernel counted it */
        if (memcg_find(MEMCG_ROOT, WARDEN_SLICE, c->unit, &mc) >= 0 && memcg_read_oom_kills(&mc, &n) >= 0 &&
            n > c->oom_kills) {
                c->oom_kills = n;
                (void) container_save(c);
                return c->state == CONTAINER_ACTIVE;
        }
        return false;
}

void container_oom_forget(Container *c) {
        assert(c);

        c->oom_source = sd_event_source_disable_unref(c->oom_source);
        c->oom_pending = false;
}
