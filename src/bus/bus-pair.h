/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Two sd-bus connections joined by a socketpair, one acting as server: a bus without a bus daemon, in one
 * process. Used to dump the introspection data (wardend --bus-introspect) and by the unit tests to call the
 * real vtables without root, systemd or dbus-daemon.
 */

#include <systemd/sd-bus.h>

int bus_pair_new(sd_bus **ret_server, sd_bus **ret_client);

/*
 * Sends 'call' on 'client' and drives both ends until the reply arrives (5 s at most: -ETIMEDOUT). On a
 * method error returns its negative errno and fills 'reterr' (which may be NULL); on success stores the
 * reply in *ret_reply (may be NULL).
 */
int bus_pair_call(
        sd_bus *server,
        sd_bus *client,
        sd_bus_message *call,
        sd_bus_message **ret_reply,
        sd_bus_error *reterr);
