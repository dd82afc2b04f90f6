/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>

#include "bus-client.h"
#include "bus-util.h"
#include "log.h"
#include "macro.h"

int bus_connect_client(const char *address, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        assert(ret);

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

int bus_log_error(const sd_bus_error *e, int r, const char *what) {
        if (sd_bus_error_is_set(e))
                return log_error_errno(r, "%s", e->message ?: e->name);
        return log_error_errno(r, "%s: %m", what);
}

int bus_manager_new_call(sd_bus *bus, const char *method, sd_bus_message **ret) {
        int r;

        assert(bus);
        assert(method);
        assert(ret);

        r = sd_bus_message_new_method_call(
                bus, ret, WARDEN_BUS_NAME, WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, method);
        if (r < 0)
                return log_error_errno(r, "Failed to create a %s() call: %m", method);
        return 0;
}

int bus_call_message(sd_bus *bus, sd_bus_message *m, uint64_t usec, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        assert(bus);
        assert(m);

        r = sd_bus_call(bus, m, usec, &e, ret_reply);
        if (r < 0)
                return bus_log_error(&e, r, sd_bus_message_get_member(m));
        return 0;
}

int bus_call_manager(
        sd_bus *bus, const char *method, uint64_t usec, sd_bus_message **ret_reply, const char *sig, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        assert(bus);
        assert(method);

        r = bus_manager_new_call(bus, method, &m);
        if (r < 0)
                return r;
        if (sig) {
                va_start(ap, sig);
                r = sd_bus_message_appendv(m, sig, ap);
                va_end(ap);
                if (r < 0)
                        return log_error_errno(r, "Failed to create a %s() call: %m", method);
        }
        return bus_call_message(bus, m, usec, ret_reply);
}
