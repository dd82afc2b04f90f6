/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "warden-error.h"

/*
 * The D-Bus error for a domain error of core (warden-error.h): org.warden.Error.<kind> for the API's own
 * kinds, org.freedesktop.DBus.Error.InvalidArgs, .LimitsExceeded, .AccessDenied, .NotSupported, .IOError for
 * the generic ones, and for FAILED the errno's own name (sd_bus_error_set_errno()). The message is e's, or
 * strerror() if it has none. A name the error carries (WardenError.name: a peer's, e.g. systemd's) is used
 * as it is. Returns e->error (negative), so that a handler can `return` it.
 */
int bus_error_set_warden(sd_bus_error *ret, const WardenError *e);
/* Replies to 'm' with that error. */
int bus_reply_warden_error(sd_bus_message *m, const WardenError *e);
