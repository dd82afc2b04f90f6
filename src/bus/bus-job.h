/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Jobs over D-Bus: Spawn, Run, Link, Stream, Signal and ResizeTty. A thin adapter: polkit, the arguments
 * (options a{sv}; descriptors: only anonymous pipes, or with 'tty' anything but a directory or O_PATH),
 * then the verb of src/core/job-runtime.h, and the reply (bus_reply_warden_error() for its errors).
 */

#include <systemd/sd-bus.h>

#include "container.h"
#include "job.h"

/* The handlers of both interfaces; userdata is the Container. */
int bus_job_method_spawn(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_run(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_link(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_stream(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_signal(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_resize_tty(sd_bus_message *m, void *userdata, sd_bus_error *error);

/* ManagerEvents.job_exited: the JobExited signal. */
void bus_job_exited(Container *c, const Job *j);

/* Appends the ids of the container's jobs as "au". */
int bus_job_append_ids(sd_bus_message *reply, const Container *c);
