/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Worker threads: a result reaches the loop; a worker freed while it runs is detached and cleans up after
 * itself; data is freed exactly once either way. */

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <unistd.h>

#include "tests.h"
#include "worker.h"

static atomic_int freed;
static sem_t *freed_sem; /* posted when data is freed, if set */

static void data_free(void *data) {
        free(data);
        atomic_fetch_add(&freed, 1);
        if (freed_sem)
                ASSERT_OK(sem_post(freed_sem));
}

static int run_value(void *data) {
        return *(int *) data;
}

/* Returns once the test writes to (or closes) the gate: no timing in the test. */
static int gate[2] = { -EBADF, -EBADF };

static int run_gated(void *data) {
        char c;

        (void) read(gate[0], &c, 1);
        return *(int *) data;
}

typedef struct Result {
        int result;
        int calls;
        sd_event *event;
        int *pending; /* exit the loop when it reaches 0 */
} Result;

static void done(Worker *w, int result, void *userdata) {
        Result *r = userdata;

        r->result = result;
        r->calls++;
        worker_free(w);
        if (!r->pending || --*r->pending == 0)
                (void) sd_event_exit(r->event, 0);
}

static int *int_new(int v) {
        int *p = malloc(sizeof(int));

        ASSERT_NOT_NULL(p);
        *p = v;
        return p;
}

TEST(result_reaches_the_loop) {
        Result r = { .result = 1 };
        Worker *w = NULL;

        atomic_store(&freed, 0);
        ASSERT_OK(sd_event_new(&r.event));
        ASSERT_OK(worker_start(r.event, "test", run_value, int_new(-ENOENT), data_free, done, &r, &w));
        ASSERT_OK(sd_event_loop(r.event));
        ASSERT_EQ(r.result, -ENOENT);
        ASSERT_EQ(r.calls, 1);
        ASSERT_EQ(atomic_load(&freed), 1);
        sd_event_unref(r.event);
}

TEST(many_at_once) {
        Result r[16] = {};
        Worker *w[16];
        sd_event *e = NULL;
        int pending = 16;

        atomic_store(&freed, 0);
        ASSERT_OK(sd_event_new(&e));
        for (int i = 0; i < 16; i++) {
                r[i].event = e;
                r[i].result = 1;
                r[i].pending = &pending;
                ASSERT_OK(worker_start(e, "test", run_value, int_new(-i), data_free, done, &r[i], &w[i]));
        }
        ASSERT_OK(sd_event_loop(e));
        ASSERT_EQ(pending, 0);
        for (int i = 0; i < 16; i++) {
                ASSERT_EQ(r[i].calls, 1);
                ASSERT_EQ(r[i].result, -i);
        }
        ASSERT_EQ(atomic_load(&freed), 16);
        sd_event_unref(e);
}

static unsigned count_threads(void) {
        DIR *d = opendir("/proc/self/task");
        unsigned n = 0;
        struct dirent *de;

        ASSERT_NOT_NULL(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

TEST(freed_while_running_is_detached) {
        Result r = { .result = 1 };
        Worker *w = NULL;
        sem_t sem;

        atomic_store(&freed, 0);
        ASSERT_OK(sem_init(&sem, 0, 0));
        freed_sem = &sem;
        ASSERT_OK(pipe2(gate, O_CLOEXEC));
        ASSERT_OK(sd_event_new(&r.event));
        ASSERT_OK(worker_start(r.event, "test", run_gated, int_new(7), data_free, done, &r, &w));
        worker_free(w); /* returns at once, while run() waits at the gate */
        ASSERT_EQ(atomic_load(&freed), 0);
        /* the thread frees its data when run() returns, and the loop hears nothing from it */
        ASSERT_EQ(write(gate[1], "x", 1), 1);
        while (sem_wait(&sem) < 0)
                ASSERT_EQ(errno, EINTR);
        ASSERT_EQ(atomic_load(&freed), 1);
        ASSERT_OK(sd_event_run(r.event, 0));
        ASSERT_EQ(r.calls, 0);
        /* the thread frees the rest after the data: wait for it to end, for leak checkers (no deadline:
         * meson's timeout is the bound) */
        while (count_threads() > 1)
                usleep(1000);
        sd_event_unref(r.event);
        close(gate[0]);
        close(gate[1]);
}
