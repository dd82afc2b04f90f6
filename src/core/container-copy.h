/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * CopyIn and CopyOut as domain verbs (org.warden.Manager(5), "COPYING FILES"): the request is checked on
 * the loop, copy.c does the copying on a worker thread (worker.h), and 'done' is called on the loop when it
 * is over. A container keeps its copies in flight in Container.copies (at most COPY_PER_CONTAINER_MAX);
 * tearing it down cancels them (container_copies_cancel()). No sd-bus here: the D-Bus adapter, with the
 * arguments, the host-path authority (polkit) and the replies, is src/bus/bus-copy.c.
 *
 * Whether the container is busy with a lifecycle operation (created, stopped, destroyed) is the caller's
 * to check first (the lifecycle's business); the verbs check everything else.
 */

#include <stdbool.h>

#include "container.h"
#include "warden-error.h"

/* At most this many copies run at the same time for one container (LIMITS_EXCEEDED beyond). */
#define COPY_PER_CONTAINER_MAX 8

typedef struct ContainerCopy ContainerCopy;

/*
 * Called on the loop when the copy is over; 'error' is NULL on success, otherwise:
 *     INVALID_STATE  the container was destroyed during the copy (the destination may be incomplete)
 *     ACCESS_DENIED  restricted, and the host side is not in the allowed directories after all
 *     INVALID_ARGS   the paths or the owner do not fit (copy_plan_new(), copy_owner_resolve())
 *     IO_ERROR       the copy failed (the message says where; " The destination may be incomplete." if it
 *                    had started)
 *     FAILED         -ENOMEM, without a message
 */
typedef void (*container_copy_done_t)(Manager *m, const WardenError *error, void *userdata);

typedef struct ContainerCopyRequest {
        bool copy_in;    /* host src → container dst; else container src → host dst */
        const char *src; /* absolute and normalised (copy_path_check()) */
        const char *dst;
        const char *owner; /* CopyOut: the host owner of what is made, "" or NULL: root */
        /* Non-NULL: the caller has no authority over host paths outside these directories (resolved,
         * container_copy_host_path_allowed()), so the worker checks that what it opens on the host side is
         * in them; 'authority' then names what the caller would need otherwise, for the message. */
        char *const *allowed_dirs;
        const char *authority;
} ContainerCopyRequest;

/*
 * Can the container take a copy now? 0, or a negative errno with *reterr set: INVALID_STATE (not active),
 * LIMITS_EXCEEDED (COPY_PER_CONTAINER_MAX copies in flight).
 */
int container_copy_check(Container *c, WardenError *reterr);

/*
 * Is host path 'path' (as a copy names it: a trailing "/" means the directory itself) inside the
 * configuration's copy_directories as they resolve now? 1 with *ret_allowed_dirs (the resolved list, for
 * ContainerCopyRequest.allowed_dirs), 0 if not (*ret_allowed_dirs NULL), -ENOMEM.
 */
int container_copy_host_path_allowed(Container *c, const char *path, char ***ret_allowed_dirs);

/*
 * Starts a copy: container_copy_check(), then the container's root is opened and the worker started. 0 if
 * it runs ('done' is called later); otherwise a negative errno with *reterr set, and 'done' is never
 * called: the errors of container_copy_check(), INVALID_STATE (the root is not mounted), FAILED (with a
 * message: the root could not be opened or the worker started; without: -ENOMEM).
 */
int container_copy(
        Container *c,
        const ContainerCopyRequest *req,
        container_copy_done_t done,
        void *userdata,
        WardenError *reterr);

/* The number of copies of c in flight. */
unsigned container_copies_count(const Container *c);

/*
 * The container is going away: every copy of it in flight stops at the next file or chunk and is done with
 * INVALID_STATE; none refers to c any more. Called by the teardown before it removes the root.
 */
void container_copies_cancel(Container *c);
