/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Confinement of wshd and of the processes it starts (wardend(8), CONFINEMENT): capabilities, the bounding
 * set, no_new_privs and the seccomp filter that wardend compiled.
 *
 * wshd keeps only the container's capabilities (src/shared/confine.h) plus CAP_SYS_RESOURCE for itself, and
 * the container's for its bounding set. Every process gets no_new_privs and the seccomp filter; a process
 * of any user but root gets no capabilities at all.
 *
 * Each function returns 0 or a negative errno, and records what failed with setup_error() (wshd-setup.h):
 * wshd's own confinement is a set-up step.
 */

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>

#include "confine.h"

typedef struct Confinement {
        /* the processes' seccomp filter as raw BPF, read once by the helper: wshd and every process
         * inherit it in memory */
        struct sock_filter insns[SECCOMP_FILTER_INSNS_MAX];
        struct sock_fprog prog;
        /* wshd's own capabilities once confinement_self() ran */
        uint64_t capabilities;
} Confinement;

/* Reads the filter from 'fd' (--seccomp-fd, a regular file) and closes it. -EBADMSG: not a filter of a
 * size we take. */
int confinement_read_filter(Confinement *c, int fd);

/* wshd, after pivot_root() and entering the user namespace: the bounding set limited, the capabilities
 * dropped to what wshd needs, no ambient capabilities, no_new_privs. */
int confinement_self(Confinement *c);

/* A process between fork() and exec(), in two parts: before it changes its credentials (it still holds
 * CAP_SETPCAP), an empty bounding set unless it is 'privileged' (root); after, its capabilities (the
 * container's for root, none otherwise), no ambient ones, no_new_privs and the seccomp filter. */
int confinement_process_bounding_set(bool privileged);
int confinement_process_apply(const Confinement *c, bool privileged);
