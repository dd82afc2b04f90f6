/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "log.h"
#include "worker.h"

struct Worker {
        pthread_mutex_t lock;
        pthread_t thread;
        int event_fd;
        sd_event_source *source;
        char *name;

        worker_run_t run;
        void *data;
        void (*data_free)(void *data);
        worker_done_t done;
        void *userdata;

        int result;    /* under lock */
        bool finished; /* under lock: run() returned */
        bool detached; /* under lock: nobody waits; the thread cleans up */
};

static void worker_destroy(Worker *w) {
        if (w->data_free)
                w->data_free(w->data);
        safe_close(w->event_fd);
        pthread_mutex_destroy(&w->lock);
        free(w->name);
        free(w);
}

static void *worker_thread(void *userdata) {
        Worker *w = userdata;
        bool detached;
        int r;

        (void) pthread_setname_np(pthread_self(), w->name);
        r = w->run(w->data);

        pthread_mutex_lock(&w->lock);
        w->result = r;
        w->finished = true;
        detached = w->detached;
        if (!detached)
                (void) eventfd_write(w->event_fd, 1);
        pthread_mutex_unlock(&w->lock);

        if (detached)
                worker_destroy(w);
        return NULL;
}

Worker *worker_free(Worker *w) {
        bool finished;

        if (!w)
                return NULL;
        w->source = sd_event_source_disable_unref(w->source);

        pthread_mutex_lock(&w->lock);
        finished = w->finished;
        if (!finished)
                w->detached = true;
        pthread_mutex_unlock(&w->lock);

        if (finished) {
                /* run() has returned; the thread is at most a few instructions from its end */
                (void) pthread_join(w->thread, NULL);
                worker_destroy(w);
        } else
                (void) pthread_detach(w->thread); /* it frees itself */
        return NULL;
}

static int worker_dispatch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Worker *w = userdata;
        eventfd_t v;
        int result;

        (void) eventfd_read(fd, &v);
        pthread_mutex_lock(&w->lock);
        result = w->result;
        pthread_mutex_unlock(&w->lock);

        w->source = sd_event_source_disable_unref(w->source);
        w->done(w, result, w->userdata); /* may free w */
        return 0;
}

int worker_start(
        sd_event *e,
        const char *name,
        worker_run_t run,
        void *data,
        void (*data_free)(void *data),
        worker_done_t done,
        void *userdata,
        Worker **ret) {
        char description[sizeof("worker-") + 15];
        Worker *w;
        int r;

        assert(e && name && run && done && ret);

        w = calloc(1, sizeof(Worker));
        if (!w) {
                if (data_free)
                        data_free(data);
                return -ENOMEM;
        }
        pthread_mutex_init(&w->lock, NULL);
        w->run = run;
        w->data = data;
        w->data_free = data_free;
        w->done = done;
        w->userdata = userdata;
        w->name = strndup(name, 15); /* a thread name has 16 bytes */
        w->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (!w->name || w->event_fd < 0) {
                r = w->name ? -errno : -ENOMEM;
                worker_destroy(w);
                return r;
        }
        r = sd_event_add_io(e, &w->source, w->event_fd, EPOLLIN, worker_dispatch, w);
        if (r < 0) {
                worker_destroy(w);
                return r;
        }
        (void) snprintf(description, sizeof(description), "worker-%s", w->name);
        (void) sd_event_source_set_description(w->source, description);
        /* Signals stay blocked in the thread (it inherits wardend's mask): they are the loop's. */
        r = -pthread_create(&w->thread, NULL, worker_thread, w);
        if (r < 0) {
                w->source = sd_event_source_disable_unref(w->source);
                worker_destroy(w);
                return r;
        }
        *ret = w;
        return 0;
}
