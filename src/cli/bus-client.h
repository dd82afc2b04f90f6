/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What clients of wardend (wardenctl, bench/warden-bench) share. */

#include <systemd/sd-bus.h>

/* Connects to the system bus, or to 'address' if not NULL. Logs "Failed to connect to the ... bus". */
int bus_connect_client(const char *address, sd_bus **ret);

/*
 * Logs a failed call of 'what' and returns 'r': wardend's own message when the error carries one (it is
 * written for people already: "No container 'x'."), else "<what>: <errno text>".
 */
int bus_log_error(const sd_bus_error *e, int r, const char *what);

/* Creates a call of 'method' on the Manager object. Logs a failure. */
int bus_manager_new_call(sd_bus *bus, const char *method, sd_bus_message **ret);

/* Sends 'm' and waits up to 'usec' for the reply (0: sd-bus's default of 25 s, UINT64_MAX: for as long as it
 * takes). Logs a failure with bus_log_error(). 'ret_reply' may be NULL. */
int bus_call_message(sd_bus *bus, sd_bus_message *m, uint64_t usec, sd_bus_message **ret_reply);

/*
 * Calls 'method' of the Manager with the arguments 'sig', … (sig NULL: none) and waits for the reply as
 * bus_call_message() does.
 */
int bus_call_manager(
        sd_bus *bus, const char *method, uint64_t usec, sd_bus_message **ret_reply, const char *sig, ...);
