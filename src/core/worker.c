/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

struct Worker {
        sd_event_source *child_source;
        char *name;
        worker_done_t done;
        void *userdata;
};

Worker *worker_free(Worker *w) {
        if (!w)
                return NULL;
        if (w->child_source) {
                /* Still running: nobody wants the result any more. Kill it and reap it now, so that no
                 * zombie outlives its watcher. */
                pid_t pid;

                if (sd_event_source_get_child_pid(w->child_source, &pid) >= 0 && pid > 0) {
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, NULL, 0);
                }
                sd_event_source_disable_unref(w->child_source);
        }
        free(w->name);
        free(w);
        return NULL;
}

static int worker_dispatch_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Worker *w = userdata;
        int result;

        if (si->si_code == CLD_EXITED)
                /* The worker exits with the errno of its failure (0..255 covers every errno). */
                result = -si->si_status;
        else {
                log_warning("Worker '%s' was killed by signal %s.", w->name, strsignal(si->si_status));
                result = -EINTR;
        }

        w->child_source = sd_event_source_disable_unref(w->child_source);
        w->done(w, result, w->userdata);
        return 0;
}

int worker_start(
                sd_event *e,
                const char *name,
                worker_run_t run,
                worker_done_t done,
                void *userdata,
                Worker **ret) {
        _cleanup_(worker_freep) Worker *w = NULL;
        pid_t pid;
        int r;

        assert(e && name && run && done && ret);

        w = calloc(1, sizeof(Worker));
        if (!w)
                return -ENOMEM;
        w->name = strdup(name);
        if (!w->name)
                return -ENOMEM;
        w->done = done;
        w->userdata = userdata;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* The worker: wardend's memory, its own process. It only calls 'run' and exits; it never
                 * touches the event loop or the bus connection it inherited. SIGTERM/SIGCHLD are blocked in
                 * wardend: unblock them, and die with wardend. */
                sigset_t all;

                sigfillset(&all);
                (void) sigprocmask(SIG_UNBLOCK, &all, NULL);
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                (void) prctl(PR_SET_NAME, name);
                r = run(userdata);
                _exit(r < 0 ? (-r > 255 ? EIO : -r) : 0);
        }

        r = sd_event_add_child(e, &w->child_source, pid, WEXITED, worker_dispatch_child, w);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        *ret = TAKE_PTR(w);
        return 0;
}
