/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Work that blocks (mounting, netlink requests the kernel makes wait for RCU, removing trees) runs in a
 * forked worker process, watched from the event loop with a child event source. The worker calls 'run' and
 * exits with its result; the parent gets the result (0 or negative errno) in 'done'.
 */

#include <systemd/sd-event.h>

#include "macro.h"

typedef struct Worker Worker;

typedef int (*worker_run_t)(void *userdata);
typedef void (*worker_done_t)(Worker *w, int result, void *userdata);

/* 'name' shows in logs and as the worker's comm. */
int worker_start(
                sd_event *e,
                const char *name,
                worker_run_t run,
                worker_done_t done,
                void *userdata,
                Worker **ret);
/* Freeing a running worker kills it (SIGKILL) and reaps it; done is not called. */
Worker *worker_free(Worker *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(Worker *, worker_free);
