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

/* The one report of a child's failure: what setup_error() recorded, on its stderr, as a shell would. */
static _noreturn_ void process_fail(int exit_status, int error) {
        (void) dprintf(STDERR_FILENO, "wshd: %s: %s\n", setup_error_message(), strerror(ERRNO_VALUE(error)));
        _exit(exit_status);
}

static int
process_setup(const WshdMessage *req,
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

_noreturn_ void
process_exec(const WshdMessage *req,
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
