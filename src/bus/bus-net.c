/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>

#include "bus-calls.h"
#include "bus-polkit.h"
#include "bus-error.h"
#include "bus-lifecycle.h"
#include "bus-net.h"
#include "bus-util.h"
#include "bus-warden-error.h"
#include "container-net.h"
#include "log.h"
#include "parse-util.h"

/* ---- helpers ------------------------------------------------------------------------------------- */

/* NetIn and NetOut wait for a container that is busy with its lifecycle; core checks the rest. */
static int check_not_busy(Container *c, sd_bus_error *error) {
        const char *busy = bus_lifecycle_busy_reason(c);

        if (busy)
                return sd_bus_error_setf(
                        error, WARDEN_ERROR_INVALID_STATE, "Container '%s' is %s.", c->handle, busy);
        return 0;
}

/* The reply to a NetIn or NetOut whose transaction failed: Failed with core's message whatever the errno
 * (the API's answer since NetIn exists); without a message (not recorded: -ENOMEM) the errno's own error. */
static void reply_net_error(sd_bus_message *request, const WardenError *e) {
        if (e->message)
                (void) sd_bus_reply_method_errorf(request, SD_BUS_ERROR_FAILED, "%s", e->message);
        else
                (void) bus_reply_warden_error(request, e);
}

/* ---- NetIn --------------------------------------------------------------------------------------- */

static void net_in_done(Manager *manager, const NetInRule *rule, const WardenError *e, void *userdata) {
        sd_bus_message *request = userdata;

        if (e)
                reply_net_error(request, e);
        else
                (void) sd_bus_reply_method_return(request, "qq", rule->host_port, rule->container_port);
        bus_call_release(manager, request);
}

int bus_net_method_net_in(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        Container *c = userdata;
        sd_bus_message *request;
        uint16_t host_port, container_port;
        int r;

        assert(c);

        r = bus_verify_manage(m, c->manager, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */
        r = sd_bus_message_read(m, "qq", &host_port, &container_port);
        if (r < 0)
                return r;
        bus_lifecycle_reference(c, m);
        r = check_not_busy(c, error);
        if (r < 0)
                return r;

        request = bus_call_hold(c->manager, m);
        r = container_net_in(c, host_port, container_port, net_in_done, request, &e);
        if (r < 0) {
                bus_call_release(c->manager, request);
                return bus_error_set_warden(error, &e);
        }
        return 1;
}

/* ---- NetOut -------------------------------------------------------------------------------------- */

static const BusOptionSpec net_out_keys[] = {
        { "network", "s" },       { "protocol", "s" },  { "port", "q" },
        { "port_range", "(qq)" }, { "icmp_type", "i" }, { "icmp_code", "i" },
};

static int read_net_out_value(sd_bus_message *m, const char *key, NetOutRuleSpec *spec) {
        if (streq(key, "network"))
                return sd_bus_message_read(m, "s", &spec->network);
        if (streq(key, "protocol"))
                return sd_bus_message_read(m, "s", &spec->protocol);
        if (streq(key, "port")) {
                spec->has_port = true;
                return sd_bus_message_read(m, "q", &spec->port);
        }
        if (streq(key, "port_range")) {
                spec->has_port_range = true;
                return sd_bus_message_read(m, "(qq)", &spec->port_range[0], &spec->port_range[1]);
        }
        if (streq(key, "icmp_type")) {
                spec->has_icmp_type = true;
                return sd_bus_message_read(m, "i", &spec->icmp_type);
        }
        if (streq(key, "icmp_code")) {
                spec->has_icmp_code = true;
                return sd_bus_message_read(m, "i", &spec->icmp_code);
        }
        assert_not_reached();
}

static int read_net_out_key(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error) {
        return read_net_out_value(m, key, userdata);
}

int bus_net_read_net_out_rule(sd_bus_message *m, NetOutRule *ret, sd_bus_error *error) {
        _cleanup_free_ char *message = NULL;
        NetOutRuleSpec spec = {};
        int r;

        r = bus_message_read_options(
                m, "NetOut rule", net_out_keys, ELEMENTSOF(net_out_keys), read_net_out_key, &spec, error);
        if (r < 0)
                return r;

        r = net_out_rule_from_spec(&spec, ret, &message);
        if (r == -EINVAL)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, message);
        return r;
}

static void net_out_done(Manager *manager, const WardenError *e, void *userdata) {
        sd_bus_message *request = userdata;

        if (e)
                reply_net_error(request, e);
        else
                (void) sd_bus_reply_method_return(request, NULL);
        bus_call_release(manager, request);
}

int bus_net_method_net_out(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        Container *c = userdata;
        sd_bus_message *request;
        NetOutRule rule;
        int r;

        assert(c);

        r = bus_verify_manage(m, c->manager, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */
        r = bus_net_read_net_out_rule(m, &rule, error);
        if (r < 0)
                return r;
        bus_lifecycle_reference(c, m);
        r = check_not_busy(c, error);
        if (r < 0)
                return r;

        request = bus_call_hold(c->manager, m);
        r = container_net_out(c, &rule, net_out_done, request, &e);
        if (r < 0) {
                bus_call_release(c->manager, request);
                return bus_error_set_warden(error, &e);
        }
        return 1;
}

/* ---- Info ---------------------------------------------------------------------------------------- */

static int append_net_out_rule(sd_bus_message *reply, const NetOutRule *rule) {
        char network[32];
        int r;

        net_out_rule_format_network(rule, network);
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(
                reply,
                "{sv}{sv}",
                "network",
                "s",
                network,
                "protocol",
                "s",
                net_protocol_to_string(rule->protocol));
        if (r < 0)
                return r;
        if (rule->port_min > 0 && rule->port_is_range)
                r = sd_bus_message_append(
                        reply, "{sv}", "port_range", "(qq)", rule->port_min, rule->port_max);
        else if (rule->port_min > 0)
                r = sd_bus_message_append(reply, "{sv}", "port", "q", rule->port_min);
        if (r < 0)
                return r;
        if (rule->icmp_type >= 0) {
                r = sd_bus_message_append(reply, "{sv}", "icmp_type", "i", (int32_t) rule->icmp_type);
                if (r < 0)
                        return r;
        }
        if (rule->icmp_code >= 0) {
                r = sd_bus_message_append(reply, "{sv}", "icmp_code", "i", (int32_t) rule->icmp_code);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

int bus_net_append_info(sd_bus_message *reply, const Container *c) {
        int r;

        r = bus_message_open_dict_entry(reply, "net_in", "a(qq)");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(qq)");
        if (r < 0)
                return r;
        FOREACH_ARRAY(n, c->net_in, c->n_net_in) {
                r = sd_bus_message_append(reply, "(qq)", n->host_port, n->container_port);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        r = bus_message_close_dict_entry(reply);
        if (r < 0)
                return r;

        r = bus_message_open_dict_entry(reply, "net_out", "aa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        if (r < 0)
                return r;
        FOREACH_ARRAY(n, c->net_out, c->n_net_out) {
                r = append_net_out_rule(reply, n);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return bus_message_close_dict_entry(reply);
}
