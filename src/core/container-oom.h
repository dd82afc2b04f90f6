/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The OOM policy. The kernel's OOM killer striking inside a container (its memory cgroup's OOM notification:
 * memory.events on cgroup v2, memory.oom_control's eventfd on v1, memcg.h) is recorded as the event "out of
 * memory" (Container.events, persisted), told to the front ends (ManagerEvents.container_oom: the
 * OutOfMemory signal), and ends the container's processes: a Stop with SIGKILL (container_stop()). While a
 * limit change holds the container (container_hold()) the OOM waits for container_release(); an OOM during
 * its own Stop is not stopped again (Container.oom_stopping).
 *
 * Container.oom_kills keeps the highest OOM kill counter seen, persisted, so that a restarted wardend
 * notices exactly the kills that happened while it was away (container_oom_adopt()).
 */

#include <stdbool.h>

#include "container.h"

#define CONTAINER_OOM_EVENT "out of memory"

/* Create, once the scope exists: watches c's memory cgroup and takes its OOM kill counter as the start.
 * -EOPNOTSUPP: no memory controller (logged as a warning, not fatal for the caller); other negative errno
 * (logged). */
int container_oom_watch_new(Container *c);

/* Re-adoption: watches again; true if the kernel counted an OOM kill while wardend was away and c is active:
 * the caller calls container_oom() once it is done with c (it may hold it). Logs. */
bool container_oom_adopt(Container *c);

/* The policy above, now (or, while c is held, at container_release()). */
void container_oom(Container *c);

/* The container is being torn down: stop watching its memory cgroup. */
void container_oom_forget(Container *c);
