/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The seccomp filter of every job in every container (wardend(8), CONFINEMENT): everything is allowed but
 * the system calls a container has no business with, which fail with EPERM (clone3() with ENOSYS, see the
 * .c file).
 *
 * Compiled once per wardend with libseccomp, for the native architecture and the other ABIs its CPU runs
 * (x86_64: i386 and x32), into raw BPF in a sealed memfd. wardend hands that fd to each container's wshd
 * (--seccomp-fd), which reads it once and loads it in every job before exec(). wshd stays libc-only, a
 * container's start costs no filter compilation (~2 ms here), and the filter always fits the kernel and
 * libseccomp of the machine it runs on, which a filter generated at build time would not.
 */

/* The system calls denied outright, by name (some exist on one ABI only). NULL-terminated. */
extern const char *const seccomp_filter_denied[];

/* A sealed memfd (O_CLOEXEC) holding the filter as an array of struct sock_filter. -ENOMEM; -E2BIG if it
 * came out longer than the kernel takes; other negative errno from libseccomp or the memfd. */
int seccomp_filter_build(int *ret_fd);
