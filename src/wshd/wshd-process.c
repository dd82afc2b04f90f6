/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "wshd-process.h"
#include "wshd-setup.h"

void process_table_init(ProcessTable *t) {
        assert(t);

        *t = (ProcessTable){ .next_attached_id = PROCESS_ATTACHED_ID_MIN };
        FOREACH_ARRAY(p, t->processes, WSHD_JOBS_MAX)
                p->master_fd = -EBADF;
}

Process *process_table_find(ProcessTable *t, uint32_t id) {
        assert(t);

        if (t->n_processes == 0)
                return NULL;
        FOREACH_ARRAY(p, t->processes, WSHD_JOBS_MAX)
                if (p->in_use && p->id == id)
                        return p;
        return NULL;
}

Process *process_table_find_running(ProcessTable *t, pid_t pid) {
        assert(t);

        if (t->n_processes == 0)
                return NULL;
        FOREACH_ARRAY(p, t->processes, WSHD_JOBS_MAX)
                if (p->in_use && p->state == PROCESS_RUNNING && p->pid == pid)
                        return p;
        return NULL;
}

Process *process_table_free_slot(ProcessTable *t) {
        assert(t);

        if (t->n_processes >= WSHD_JOBS_MAX)
                return NULL;
        FOREACH_ARRAY(p, t->processes, WSHD_JOBS_MAX)
                if (!p->in_use)
                        return p;
        return NULL;
}

uint32_t process_table_attached_id(ProcessTable *t) {
        assert(t);

        for (;;) {
                uint32_t id = t->next_attached_id;

                t->next_attached_id = id == UINT32_MAX ? PROCESS_ATTACHED_ID_MIN : id + 1;
                if (!process_table_find(t, id))
                        return id;
        }
}

Process *process_table_get(ProcessTable *t, size_t i) {
        assert(t);

        if (i >= WSHD_JOBS_MAX || !t->processes[i].in_use)
                return NULL;
        return t->processes + i;
}

size_t process_table_index(const ProcessTable *t, const Process *p) {
        assert(t);
        assert(p >= t->processes && p < t->processes + WSHD_JOBS_MAX);

        return (size_t) (p - t->processes);
}

void process_table_add(ProcessTable *t, Process *slot, const Process *p) {
        assert(t);
        assert(slot && !slot->in_use);
        assert(p && p->in_use);

        *slot = *p;
        t->n_processes++;
        if (slot->relay)
                t->n_relays++;
}

/* The pty, the relay and its fds go; the entry stays. */
static void process_close_tty(ProcessTable *t, Process *p) {
        if (p->relay) {
                p->relay = relay_free(p->relay);
                t->n_relays--;
        }
        p->master_fd = safe_close(p->master_fd);
}

void process_table_remove(ProcessTable *t, Process *p) {
        assert(t);
        assert(p);

        if (!p->in_use)
                return;
        process_close_tty(t, p);
        *p = (Process){ .master_fd = -EBADF };
        t->n_processes--;
}

void process_table_disown(ProcessTable *t, const Connection *owner) {
        assert(t);
        assert(owner);

        FOREACH_ARRAY(p, t->processes, WSHD_JOBS_MAX)
                if (p->in_use && p->attached && p->owner == owner)
                        p->owner = NULL;
}

void process_finish(ProcessTable *t, Process *p) {
        assert(t);
        assert(p);

        p->state = PROCESS_EXITED;
        process_close_tty(t, p);
}

bool process_relay(Process *p, uint64_t now) {
        assert(p);
        assert(p->relay);

        return relay_run(p->relay, now);
}

bool process_reaped(Process *p, int status, uint64_t now) {
        assert(p);

        p->wait_status = status;
        if (!p->relay)
                return true;
        p->state = PROCESS_DRAINING;
        relay_exited(p->relay, now);
        return process_relay(p, now);
}

/* The one report of a child's failure: what setup_error() recorded, on its stderr, as a shell would. */
static _noreturn_ void process_fail(int exit_status, int error) {
        (void) dprintf(STDERR_FILENO, "wshd: %s: %s\n", setup_error_message(), strerror(ERRNO_VALUE(error)));
        _exit(exit_status);
}

static int process_setup(
        const WshdMessage *req,
        const int role_fd[static _WSHD_FD_ROLE_MAX],
        int slave_fd,
        const struct rlimit *nofile,
        const Confinement *confinement) {
        bool privileged;
        sigset_t mask;
        int null_fd, r;

        /* wshd blocks some signals and may have inherited ignored ones (SIGPIPE from wardend; glibc's
         * posix_spawn() leaves its two internal signals ignored), and both survive exec: the process starts
         * with every signal at its default. The raw system call, because glibc's sigaction() refuses its
         * internal signals; all zeros is SIG_DFL with no flags and an empty mask in every architecture's
         * struct sigaction. */
        for (int sig = 1; sig < _NSIG; sig++) {
                uint64_t kernel_sigaction[4] = {};

                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) syscall(SYS_rt_sigaction, sig, kernel_sigaction, NULL, (size_t) (_NSIG / 8));
        }
        sigemptyset(&mask);
        (void) sigprocmask(SIG_SETMASK, &mask, NULL);

        if (setsid() < 0)
                return setup_error(-errno, "setsid");

        if (slave_fd >= 0) {
                if (ioctl(slave_fd, TIOCSCTTY, 0) < 0)
                        return setup_error(-errno, "make the pty the controlling terminal");
                for (int i = 0; i < 3; i++)
                        if (dup2(slave_fd, i) < 0)
                                return setup_error(-errno, "dup2");
        } else {
                /* wshd's stdin is /dev/null (opened before the container could touch /dev): a copy out of
                 * the way, since 0 itself may be replaced first. */
                null_fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
                if (null_fd < 0)
                        return setup_error(-errno, "dup /dev/null");
                for (int i = 0; i < 3; i++)
                        if (dup2(role_fd[i] >= 0 ? role_fd[i] : null_fd, i) < 0)
                                return setup_error(-errno, "dup2");
        }
        if (syscall(SYS_close_range, 3U, ~0U, 0) < 0)
                return setup_error(-errno, "close_range");

        if (setrlimit(RLIMIT_NOFILE, nofile) < 0)
                return setup_error(-errno, "reset RLIMIT_NOFILE");
        for (size_t i = 0; i < req->n_rlimits; i++) {
                struct rlimit rl = {
                        .rlim_cur = (rlim_t) req->rlimits[i].soft,
                        .rlim_max = (rlim_t) req->rlimits[i].hard,
                };

                if (setrlimit((int) req->rlimits[i].resource, &rl) < 0)
                        return setup_error(-errno, "setrlimit %" PRIu32, req->rlimits[i].resource);
        }

        privileged = req->uid == 0;
        r = confinement_process_bounding_set(privileged);
        if (r < 0)
                return r;
        if (setgroups(req->n_groups, (const gid_t *) req->groups) < 0)
                return setup_error(-errno, "setgroups");
        if (setgid((gid_t) req->gid) < 0)
                return setup_error(-errno, "setgid %" PRIu32, req->gid);
        if (setuid((uid_t) req->uid) < 0)
                return setup_error(-errno, "setuid %" PRIu32, req->uid);
        r = confinement_process_apply(confinement, privileged);
        if (r < 0)
                return r;

        /* as the process's user: a directory it may not enter is an error, not a back door */
        if (chdir(req->dir ?: "/") < 0)
                return setup_error(-errno, "chdir '%s'", req->dir ?: "/");
        return 0;
}

_noreturn_ void process_exec(
        const WshdMessage *req,
        const int role_fd[static _WSHD_FD_ROLE_MAX],
        int slave_fd,
        const struct rlimit *nofile,
        const Confinement *confinement) {
        static char *empty_env[] = { NULL };
        int r;

        assert(req);
        assert(role_fd);
        assert(nofile);
        assert(confinement);

        r = process_setup(req, role_fd, slave_fd, nofile, confinement);
        if (r < 0)
                process_fail(126, r);

        /* execvp() searches the PATH of the new environment */
        environ = req->env ?: empty_env;
        execvp(req->argv[0], req->argv);
        r = setup_error(-errno, "execute '%s'", req->argv[0]);
        process_fail(r == -ENOENT ? 127 : 126, r);
}
