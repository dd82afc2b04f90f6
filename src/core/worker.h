/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Work that blocks (mounting, netlink requests the kernel makes wait for RCU grace periods, removing trees)
 * runs on a worker thread, never on the event loop. The thread calls run(data) and signals an eventfd that
 * the loop watches; the loop then calls done(result) with run's result (0 or negative errno).
 *
 * 'data' belongs to the worker: it holds copies of everything run() needs, never pointers into state the
 * loop may free, because a worker that is freed while it runs is detached — done is not called, and the
 * thread frees 'data' (with data_free) and itself when run() returns. run() must only use thread-safe
 * calls and per-thread state (e.g. setns() affects only the calling thread; mounts are per process and
 * fine).
 */

#include <systemd/sd-event.h>

#include "macro.h"

typedef struct Worker Worker;

typedef int (*worker_run_t)(void *data);
typedef void (*worker_done_t)(Worker *w, int result, void *userdata);

/* 'name' shows in logs and as the thread's name. On failure 'data' is freed with data_free. */
int worker_start(
        sd_event *e,
        const char *name,
        worker_run_t run,
        void *data,
        void (*data_free)(void *data),
        worker_done_t done,
        void *userdata,
        Worker **ret);
/* Freeing a running worker detaches it: it finishes on its own and done is not called. */
Worker *worker_free(Worker *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(Worker *, worker_free);
