/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * For the unit tests of core's verbs without a bus (test-container-net, test-container-copy): a Manager
 * with the default configuration, an event loop and an empty registry; namespaces of the test's own, so
 * that nothing touches the machine's ruleset or mounts; and a check of a WardenError.
 */

#include <stdbool.h>

#include "manager.h"
#include "tests.h"
#include "warden-error.h"

/* The Manager (no pools, no firewall, no state directory: the test adds what it needs). */
void core_fixture_init(Manager *m);
/* Frees the containers, the firewall, the port pool, the state directory's name, the loop. */
void core_fixture_done(Manager *m);

/* unshare(flags) (CLONE_NEWNET, CLONE_NEWNS), in a new user namespace mapping us to root if that is
 * refused; with CLONE_NEWNS, mounts are made private. Skips if neither works. */
void core_fixture_enter_namespaces(int flags);

/* Runs the loop until *counter reaches n (at most 20 s of idle loop), then checks it is n. */
void core_fixture_run_until(Manager *m, const unsigned *counter, unsigned n);

/* e is of that kind, with a message that contains 'fragment'. */
#define ASSERT_WARDEN_ERROR(e, kind, fragment) \
        core_fixture_assert_error(__FILE__, __LINE__, e, kind, fragment)
void core_fixture_assert_error(
        const char *file, int line, const WardenError *e, WardenErrorKind kind, const char *fragment);
