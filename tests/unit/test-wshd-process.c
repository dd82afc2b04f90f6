/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * wshd-process: wshd's table of processes (find, free slots and the limit, slot reuse, attached ids,
 * disowning, removal with its pty) and the recording of an exit, without namespaces: the entries are
 * filled by hand, a pipe standing in for a pty master.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "macro.h"
#include "tests.h"
#include "wshd-process.h"

static ProcessTable *table_new(void) {
        ProcessTable *t = malloc(sizeof(ProcessTable));

        ASSERT_NOT_NULL(t);
        process_table_init(t);
        return t;
}

/* Adds job 'id' (pid 'pid') in the first free slot. */
static Process *add(ProcessTable *t, uint32_t id, pid_t pid, int master_fd) {
        Process *slot = process_table_free_slot(t);

        ASSERT_NOT_NULL(slot);
        process_table_add(
                t, slot, &(Process){ .in_use = true, .id = id, .pid = pid, .master_fd = master_fd });
        return slot;
}

static bool fd_is_open(int fd) {
        return fcntl(fd, F_GETFD) >= 0;
}

TEST(init) {
        _cleanup_free_ ProcessTable *t = table_new();

        ASSERT_EQ(t->n_processes, 0U);
        ASSERT_EQ(t->n_relays, 0U);
        ASSERT_EQ(t->next_attached_id, PROCESS_ATTACHED_ID_MIN);
        for (size_t i = 0; i < WSHD_JOBS_MAX; i++) {
                ASSERT_FALSE(t->processes[i].in_use);
                ASSERT_EQ(t->processes[i].master_fd, -EBADF);
                ASSERT_NULL(process_table_get(t, i));
        }
        ASSERT_NULL(process_table_find(t, 0));
        ASSERT_NULL(process_table_find_running(t, 0));
        ASSERT_TRUE(process_table_free_slot(t) == t->processes);
}

TEST(add_find_get) {
        _cleanup_free_ ProcessTable *t = table_new();
        Process *a, *b, *c;

        a = add(t, 7, 100, -EBADF);
        b = add(t, 8, 101, -EBADF);
        c = add(t, 9, 102, -EBADF);
        ASSERT_EQ(t->n_processes, 3U);
        ASSERT_EQ(process_table_index(t, a), 0U);
        ASSERT_EQ(process_table_index(t, b), 1U);
        ASSERT_EQ(process_table_index(t, c), 2U);
        ASSERT_TRUE(process_table_get(t, 1) == b);
        ASSERT_NULL(process_table_get(t, 3));
        ASSERT_NULL(process_table_get(t, WSHD_JOBS_MAX));
        ASSERT_NULL(process_table_get(t, SIZE_MAX));

        ASSERT_TRUE(process_table_find(t, 7) == a);
        ASSERT_TRUE(process_table_find(t, 8) == b);
        ASSERT_TRUE(process_table_find(t, 9) == c);
        ASSERT_NULL(process_table_find(t, 10));
        ASSERT_NULL(process_table_find(t, 0));

        ASSERT_TRUE(process_table_find_running(t, 101) == b);
        ASSERT_NULL(process_table_find_running(t, 103));
        /* a reaped process is no longer found by its pid (which may be reused) but still by its id */
        b->state = PROCESS_DRAINING;
        ASSERT_NULL(process_table_find_running(t, 101));
        b->state = PROCESS_EXITED;
        ASSERT_NULL(process_table_find_running(t, 101));
        ASSERT_TRUE(process_table_find(t, 8) == b);
}

TEST(remove_and_reuse) {
        _cleanup_free_ ProcessTable *t = table_new();
        _cleanup_close_pair_ int p[2] = EBADF_PAIR;
        Process *a, *b, *c;
        int fd;

        ASSERT_OK(pipe2(p, O_CLOEXEC));
        ASSERT_OK(fd = fcntl(p[0], F_DUPFD_CLOEXEC, 3));
        a = add(t, 1, 100, -EBADF);
        b = add(t, 2, 101, fd);
        c = add(t, 3, 102, -EBADF);
        ASSERT_EQ(b->master_fd, fd);

        /* the entry goes with its pty master; the others stay where they are */
        process_table_remove(t, b);
        ASSERT_EQ(t->n_processes, 2U);
        ASSERT_FALSE(b->in_use);
        ASSERT_EQ(b->master_fd, -EBADF);
        ASSERT_FALSE(fd_is_open(fd));
        ASSERT_NULL(process_table_find(t, 2));
        ASSERT_NULL(process_table_find_running(t, 101));
        ASSERT_NULL(process_table_get(t, 1));
        ASSERT_TRUE(process_table_find(t, 1) == a);
        ASSERT_TRUE(process_table_find(t, 3) == c);

        /* removing a free entry again changes nothing */
        process_table_remove(t, b);
        ASSERT_EQ(t->n_processes, 2U);

        /* the first free slot is the one freed */
        ASSERT_TRUE(process_table_free_slot(t) == b);
        ASSERT_TRUE(add(t, 4, 103, -EBADF) == b);
        ASSERT_TRUE(process_table_find(t, 4) == b);
        ASSERT_TRUE(process_table_free_slot(t) == t->processes + 3);

        process_table_remove(t, a);
        process_table_remove(t, b);
        process_table_remove(t, c);
        ASSERT_EQ(t->n_processes, 0U);
        ASSERT_NULL(process_table_find(t, 1));
        ASSERT_NULL(process_table_find(t, 3));
        ASSERT_NULL(process_table_find(t, 4));
}

TEST(limit) {
        _cleanup_free_ ProcessTable *t = table_new();

        for (uint32_t i = 0; i < WSHD_JOBS_MAX; i++)
                ASSERT_EQ(process_table_index(t, add(t, i + 1, (pid_t) (i + 2), -EBADF)), (size_t) i);
        ASSERT_EQ(t->n_processes, (size_t) WSHD_JOBS_MAX);
        ASSERT_NULL(process_table_free_slot(t));
        ASSERT_TRUE(process_table_find(t, WSHD_JOBS_MAX) == t->processes + WSHD_JOBS_MAX - 1);
        ASSERT_TRUE(process_table_find_running(t, WSHD_JOBS_MAX + 1) == t->processes + WSHD_JOBS_MAX - 1);
        ASSERT_TRUE(process_table_get(t, WSHD_JOBS_MAX - 1) == t->processes + WSHD_JOBS_MAX - 1);

        /* one freed in the middle, and at the end: each is found and taken again */
        process_table_remove(t, t->processes + 500);
        ASSERT_TRUE(process_table_free_slot(t) == t->processes + 500);
        add(t, 5000, 5000, -EBADF);
        ASSERT_NULL(process_table_free_slot(t));
        process_table_remove(t, t->processes + WSHD_JOBS_MAX - 1);
        ASSERT_TRUE(process_table_free_slot(t) == t->processes + WSHD_JOBS_MAX - 1);
        add(t, 5001, 5001, -EBADF);
        ASSERT_NULL(process_table_free_slot(t));
        ASSERT_EQ(t->n_processes, (size_t) WSHD_JOBS_MAX);
}

TEST(attached_id) {
        _cleanup_free_ ProcessTable *t = table_new();

        ASSERT_EQ(process_table_attached_id(t), PROCESS_ATTACHED_ID_MIN);
        ASSERT_EQ(process_table_attached_id(t), PROCESS_ATTACHED_ID_MIN + 1);

        /* ids in use are skipped */
        add(t, PROCESS_ATTACHED_ID_MIN + 2, 100, -EBADF);
        add(t, PROCESS_ATTACHED_ID_MIN + 3, 101, -EBADF);
        ASSERT_EQ(process_table_attached_id(t), PROCESS_ATTACHED_ID_MIN + 4);

        /* after UINT32_MAX they start again from the bottom of their range, skipping those in use */
        t->next_attached_id = UINT32_MAX - 1;
        add(t, UINT32_MAX, 102, -EBADF);
        ASSERT_EQ(process_table_attached_id(t), UINT32_MAX - 1);
        ASSERT_EQ(process_table_attached_id(t), PROCESS_ATTACHED_ID_MIN);
        add(t, PROCESS_ATTACHED_ID_MIN + 1, 103, -EBADF);
        ASSERT_EQ(process_table_attached_id(t), PROCESS_ATTACHED_ID_MIN + 4);
        ASSERT_EQ(t->next_attached_id, PROCESS_ATTACHED_ID_MIN + 5);

        /* the ids of wardend's jobs (below the range) are never handed out */
        t->next_attached_id = UINT32_MAX;
        ASSERT_EQ(process_table_attached_id(t), PROCESS_ATTACHED_ID_MIN);
}

TEST(disown) {
        _cleanup_free_ ProcessTable *t = table_new();
        Connection *c1 = (Connection *) (uintptr_t) 0x1000, *c2 = (Connection *) (uintptr_t) 0x2000;
        Process *a, *b, *c, *d;

        a = add(t, PROCESS_ATTACHED_ID_MIN, 100, -EBADF);
        a->attached = true;
        a->owner = c1;
        b = add(t, PROCESS_ATTACHED_ID_MIN + 1, 101, -EBADF);
        b->attached = true;
        b->owner = c2;
        c = add(t, PROCESS_ATTACHED_ID_MIN + 2, 102, -EBADF);
        c->attached = true;
        c->owner = c1;
        d = add(t, 5, 103, -EBADF); /* wardend's: not attached (its owner is not looked at) */
        d->owner = c1;

        process_table_disown(t, c1);
        ASSERT_NULL(a->owner);
        ASSERT_TRUE(b->owner == c2);
        ASSERT_NULL(c->owner);
        ASSERT_TRUE(d->owner == c1);
        /* they run on */
        ASSERT_EQ(t->n_processes, 4U);
        ASSERT_TRUE(process_table_find_running(t, 100) == a);
}

TEST(exit_without_relay) {
        _cleanup_free_ ProcessTable *t = table_new();
        _cleanup_close_pair_ int p[2] = EBADF_PAIR;
        Process *a;
        int fd;

        ASSERT_OK(pipe2(p, O_CLOEXEC));
        ASSERT_OK(fd = fcntl(p[1], F_DUPFD_CLOEXEC, 3));
        a = add(t, 1, 100, fd);

        /* no relay: the exit is final at once */
        ASSERT_TRUE(process_reaped(a, 42 << 8, 1000));
        ASSERT_EQ(a->wait_status, 42 << 8);
        process_finish(t, a);
        ASSERT_EQ(a->state, PROCESS_EXITED);
        ASSERT_EQ(a->master_fd, -EBADF);
        ASSERT_FALSE(fd_is_open(fd));
        ASSERT_NULL(process_table_find_running(t, 100));

        /* kept (and found by id) until removed */
        ASSERT_TRUE(a->in_use);
        ASSERT_EQ(t->n_processes, 1U);
        ASSERT_TRUE(process_table_find(t, 1) == a);
        ASSERT_EQ(a->wait_status, 42 << 8);
        process_table_remove(t, a);
        ASSERT_EQ(t->n_processes, 0U);
        ASSERT_NULL(process_table_find(t, 1));
}
