/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * wshd's set-up: the helper's namespaces (before and after the go byte), then, in wshd as PID 1 of the new
 * namespaces, the container's root: /proc, /dev, /sys and the cgroups mounted and masked, pivot_root(),
 * the user namespace entered and the last steps before serving (stdio, descriptors, session, dumpable).
 * Confinement (capabilities, no_new_privs, seccomp) is in wshd-confine.h and fails the same way.
 *
 * One way to fail. Every step returns 0 (or a descriptor) on success and a negative errno on failure, and
 * a failing step records what it was doing with setup_error(), the one place where the text of a failure
 * is kept. The caller passes the errno up unchanged; at the top (src/wshd/wshd.c), setup_fail() is the
 * only function that reports a set-up failure: "ERROR=<errno> <what>: <strerror>" on the status fd (one
 * write), the same on the journal, then _exit(). A process's set-up between fork() and exec()
 * (wshd-process.h) records its failures the same way and reports them on the process's stderr instead.
 *
 * Errors are negative errnos (the sign rule in src/core/warden-error.h); the ERROR= line carries the
 * positive value, which is the status protocol's edge.
 *
 * Status lines on --status-fd, each written with a single write(2):
 *     NETNS=1\n                from the helper, before the go byte: its (= wshd's) network namespace exists
 *     PID=<pid>\n              from the helper: wshd's PID in the helper's (= wardend's) PID namespace
 *     READY=1\n                from wshd: set up and listening
 *     ERROR=<errno> <text>\n   from either: set-up failed, <text> says what ("mount proc on '...': ...")
 * wardend reads until READY=1, ERROR= or EOF (both ends closed without READY=1: failure).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup-util.h"
#include "macro.h"

typedef struct Setup {
        const char *root;       /* the container's root directory, absolute */
        const char *hostname;   /* the container's host name */
        uint32_t userns;        /* host uid (= gid) of the container's root; 0: no user namespace */
        int userns_fd;          /* the container's user namespace until wshd enters it, or -EBADF */
        CgroupView cgroup_view; /* the container's cgroup hierarchies, read by the helper (in the scope) */
} Setup;

/* Records what failed ('format') for setup_fail() or a process's report, and returns -ERRNO_VALUE(error):
 * `return setup_error(-errno, "mount %s on '%s'", …);`. Either sign is accepted. */
int setup_error(int error, const char *format, ...) _printf_(2, 3);
/* What the last setup_error() recorded ("" if nothing). */
const char *setup_error_message(void);
/* Reports the failure 'error' (negative errno) with what setup_error() recorded on the status fd and the
 * journal, and exits with EXIT_FAILURE. The only place that reports a set-up failure. */
_noreturn_ void setup_fail(int error);

/* The status fd (--status-fd): set once, written with one write(2) per line, closed after READY=1. */
void setup_status_set_fd(int fd);
int setup_status_fd(void);
void setup_status_write(const char *line);
void setup_status_close(void);

/* The helper, before the go byte: the network, IPC and UTS namespaces, owned by a new user namespace (kept
 * in s->userns_fd) with s->userns > 0. */
int setup_early_namespaces(Setup *s);
/* The helper, in the scope: which of its cgroups the container sees (s->cgroup_view). */
int setup_read_cgroup_view(Setup *s);
/* The helper, in the scope: the mount, PID and cgroup namespaces that the next child is PID 1 of. */
int setup_late_namespaces(void);

/* wshd: nothing mounted from here on propagates to the host. */
int setup_mounts_private(void);
/* wshd: the host name, the root's mounts (/proc, /dev, /sys, /sys/fs/cgroup, /tmp) and pivot_root() into
 * it. Returns an fd of the container's /proc, opened before anybody in the container could mount over it. */
int setup_root(Setup *s);
/* wshd: becomes root of the container's user namespace, if there is one (then s->userns_fd is closed). */
int setup_enter_userns(Setup *s);
/* wshd, last: stdin and stdout to /dev/null, every fd closed but those in keep[] (and stdio), a session of
 * its own, umask 022, named "wshd", not dumpable. */
int setup_finish(const int *keep, size_t n_keep);
