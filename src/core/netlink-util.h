/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The route netlink socket of src/core/network.c, shared with src/core/bandwidth.c: a libnl socket whose
 * error callback keeps the errno the kernel answered, because libnl folds every kernel errno it does not
 * know into NLE_FAILURE. Synchronous; callers run on worker threads.
 */

#include <netlink/socket.h>

/* A route socket plus the errno of the last error the kernel answered on it. */
typedef struct Netlink {
        struct nl_sock *sk;
        int kernel_error; /* negative errno, 0 if none */
} Netlink;

/* Connects a NETLINK_ROUTE socket in the calling thread's network namespace. Negative errno. */
int netlink_open(Netlink *ret);
/* Closes it; safe on a zeroed or closed Netlink. */
void netlink_done(Netlink *nl);
/* Turns a libnl return value into 0 or a negative errno, preferring what the kernel said. */
int netlink_result(Netlink *nl, int r);
/* The errno for one of libnl's own NLE_* codes (-EIO for the ones without an equivalent). */
int errno_from_nlerr(int nlerr);
