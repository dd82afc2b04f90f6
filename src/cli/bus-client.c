/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "bus-client.h"
#include "log.h"
#include "macro.h"

int bus_connect_client(const char *address, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (address) {
                r = sd_bus_new(&bus);
                if (r >= 0)
                        r = sd_bus_set_address(bus, address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(bus, true);
                if (r >= 0)
                        r = sd_bus_start(bus);
        } else
                r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(
                                r, "Failed to connect to the %s bus: %m", address ? "given" : "system");
        *ret = TAKE_PTR(bus);
        return 0;
}
