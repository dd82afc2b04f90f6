/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Jobs over D-Bus: Spawn, Run, Link, Stream, Signal and ResizeTty, and the per-container machinery behind
 * them (src/core/job.h has the records):
 *
 *   - one WATCH connection to the container's wshd reports every exit; an exit is written to the job's
 *     state file before wshd is told to forget it (RELEASE), so no exit is lost across a wardend restart;
 *   - captured output goes from the job straight into files of the jobs directory; wardend only reads them
 *     (Link, Stream) and watches their size with inotify to enforce job_output_limit;
 *   - Link and Run wait asynchronously; every waiter of a job gets the same answer, then the job is gone.
 */

#include <systemd/sd-bus.h>

#include "container.h"

/* The handlers of both interfaces; userdata is the Container. */
int bus_job_method_spawn(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_run(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_link(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_stream(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_signal(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_resize_tty(sd_bus_message *m, void *userdata, sd_bus_error *error);

/* A container became active: start watching its jobs. Logs; negative errno if it cannot. */
int bus_job_container_start(Container *c);
/* A re-adopted container: load its jobs from the jobs directory and watch them. Logs. */
int bus_job_container_adopt(Container *c);
/* The container is going away: every waiter gets an error, every stream ends, the watch is closed. */
void bus_job_container_teardown(Container *c);

/* Appends the ids of the container's jobs as "au". */
int bus_job_append_ids(sd_bus_message *reply, const Container *c);
