/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>

#include "bus-calls.h"
#include "bus-polkit.h"
#include "bus-error.h"
#include "bus-lifecycle.h"
#include "bus-net.h"
#include "bus-util.h"
#include "log.h"
#include "parse-util.h"

/* ---- helpers ------------------------------------------------------------------------------------- */

static int container_firewall(const Container *c, FirewallContainer *ret) {
        if (!c->has_net || !c->container_ip)
                return -EINVAL;
        *ret = (FirewallContainer){
                .id = c->net_id,
                .handle = c->handle,
                .container_ip = c->container_ip,
                .net_in = c->net_in,
                .n_net_in = c->n_net_in,
                .net_out = c->net_out,
                .n_net_out = c->n_net_out,
        };
        return 0;
}

/* NetIn and NetOut need an active container with nothing else going on, and a firewall. */
static int check_usable(Container *c, sd_bus_error *error) {
        const char *busy = bus_lifecycle_busy_reason(c);

        if (busy)
                return sd_bus_error_setf(
                                error, WARDEN_ERROR_INVALID_STATE, "Container '%s' is %s.", c->handle, busy);
        if (c->state != CONTAINER_ACTIVE)
                return sd_bus_error_setf(
                                error,
                                WARDEN_ERROR_INVALID_STATE,
                                "Container '%s' is %s, not active.",
                                c->handle,
                                container_state_to_string(c->state));
        if (!c->manager || !c->manager->firewall || !c->manager->ports || !c->has_net)
                return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_NOT_SUPPORTED,
                                "Container '%s' has no network policy.",
                                c->handle);
        return 0;
}

static void log_net_step(const char *handle, const char *step, uint64_t started_usec) {
        log_full_errno_container(
                        LOG_DEBUG,
                        0,
                        handle,
                        "Container '%s': step %s took %lluus.",
                        handle,
                        step,
                        (unsigned long long) (now_usec(CLOCK_MONOTONIC) - started_usec));
}

/* A NetIn or NetOut waiting for its transaction. 'container' stays valid until done: its removal (the
 * teardown waits for it before freeing the container) is queued after this transaction. */
typedef struct NetRequest {
        Manager *manager;
        Container *container;
        char *handle;
        sd_bus_message *request;
        uint64_t started_usec;
        NetInRule net_in;
        NetOutRule net_out;
} NetRequest;

static NetRequest *net_request_free(NetRequest *req) {
        if (!req)
                return NULL;
        bus_call_release(req->manager, req->request);
        free(req->handle);
        free(req);
        return NULL;
}

static int net_request_new(Container *c, sd_bus_message *m, NetRequest **ret) {
        NetRequest *req = calloc(1, sizeof(NetRequest));

        if (!req)
                return -ENOMEM;
        req->manager = c->manager;
        req->container = c;
        req->request = bus_call_hold(c->manager, m);
        req->started_usec = now_usec(CLOCK_MONOTONIC);
        req->handle = strdup(c->handle);
        if (!req->handle) {
                net_request_free(req);
                return -ENOMEM;
        }
        *ret = req;
        return 0;
}

/* The request's container, or NULL if it is gone after all (it could only be if its removal failed to be
 * queued). */
static Container *net_request_container(NetRequest *req) {
        Container *c = manager_get_container(req->manager, req->handle);

        return c == req->container ? c : NULL;
}

static void net_request_finish(NetRequest *req) {
        assert(req->manager->n_operations > 0);
        req->manager->n_operations--;
        net_request_free(req);
}

static void save_state(Container *c) {
        int r = container_save(c);

        if (r < 0)
                log_full_errno_container(
                                LOG_WARNING,
                                r,
                                c->handle,
                                "Failed to save the state of '%s': %m",
                                c->handle);
}

/* ---- NetIn --------------------------------------------------------------------------------------- */

static void net_in_done(int result, const char *message, void *userdata) {
        NetRequest *req = userdata;
        Container *c = net_request_container(req);
        uint16_t host = req->net_in.host_port, cont = req->net_in.container_port;

        log_net_step(req->handle, "net.in", req->started_usec);
        if (result < 0) {
                /* the port is given back together with its record, exactly once */
                if (c && container_remove_net_in(c, host) > 0)
                        id_pool_release(req->manager->ports, host);
                log_full_errno_container(
                                LOG_ERR,
                                result,
                                req->handle,
                                "Container '%s': NetIn %u → %u failed: %s",
                                req->handle,
                                host,
                                cont,
                                message ?: strerror(-result));
                (void) sd_bus_reply_method_errorf(
                                req->request,
                                SD_BUS_ERROR_FAILED,
                                "Failed to map host port %u to port %u of container '%s': %s",
                                host,
                                cont,
                                req->handle,
                                message ?: strerror(-result));
        } else {
                if (c)
                        save_state(c);
                log_full_errno_container(
                                LOG_INFO,
                                0,
                                req->handle,
                                "Container '%s': host port %u now leads to its port %u.",
                                req->handle,
                                host,
                                cont);
                (void) sd_bus_reply_method_return(req->request, "qq", host, cont);
        }
        net_request_finish(req);
}

int bus_net_method_net_in(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FirewallContainer fc;
        Container *c = userdata;
        Manager *manager = c->manager;
        NetRequest *req = NULL;
        uint16_t host_port, container_port;
        uint32_t port;
        int r;

        r = bus_verify_manage(m, ((Container *) userdata)->manager, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */
        r = sd_bus_message_read(m, "qq", &host_port, &container_port);
        if (r < 0)
                return r;
        bus_lifecycle_reference(c, m);
        r = check_usable(c, error);
        if (r < 0)
                return r;

        if (host_port == 0) {
                r = id_pool_allocate(manager->ports, &port);
                if (r == -ENOSR)
                        return sd_bus_error_setf(
                                        error,
                                        WARDEN_ERROR_POOL_EXHAUSTED,
                                        "No host port left in port_range %u-%u.",
                                        manager->config.port_range[0],
                                        manager->config.port_range[1]);
                if (r < 0)
                        return r;
                host_port = (uint16_t) port;
        } else {
                /* Inside port_range the pool knows every taken port; outside it, the containers do. */
                r = manager_port_is_taken(manager, host_port) ? -EADDRINUSE
                                                              : id_pool_reserve(manager->ports, host_port);
                if (r == -EADDRINUSE)
                        return sd_bus_error_setf(
                                        error,
                                        WARDEN_ERROR_POOL_EXHAUSTED,
                                        "Host port %u is taken by a NetIn mapping of a container.",
                                        host_port);
                if (r < 0 && r != -ERANGE)
                        return r;
        }
        if (container_port == 0)
                container_port = host_port;

        req = NULL;
        r = net_request_new(c, m, &req);
        if (r >= 0) {
                req->net_in = (NetInRule){ host_port, container_port };
                r = container_add_net_in(c, &req->net_in);
        }
        if (r < 0) {
                net_request_free(req);
                id_pool_release(manager->ports, host_port);
                return r;
        }
        /* recorded first: a teardown queued from now on removes it as well */
        r = container_firewall(c, &fc);
        if (r >= 0)
                r = firewall_add_net_in(manager->firewall, &fc, &req->net_in, net_in_done, req, NULL);
        if (r < 0) {
                (void) container_remove_net_in(c, host_port);
                id_pool_release(manager->ports, host_port);
                net_request_free(req);
                return sd_bus_error_set_errnof(error, r, "Failed to queue the NetIn rule: %m");
        }
        manager->n_operations++;
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
                        m,
                        "NetOut rule",
                        net_out_keys,
                        ELEMENTSOF(net_out_keys),
                        read_net_out_key,
                        &spec,
                        error);
        if (r < 0)
                return r;

        r = net_out_rule_from_spec(&spec, ret, &message);
        if (r == -EINVAL)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, message);
        return r;
}

static void net_out_done(int result, const char *message, void *userdata) {
        NetRequest *req = userdata;
        Container *c = net_request_container(req);
        _cleanup_free_ char *text = NULL;
        int r;

        log_net_step(req->handle, "net.out", req->started_usec);
        (void) net_out_rule_to_string(&req->net_out, &text);
        if (result < 0) {
                log_full_errno_container(
                                LOG_ERR,
                                result,
                                req->handle,
                                "Container '%s': NetOut '%s' failed: %s",
                                req->handle,
                                strna(text),
                                message ?: strerror(-result));
                (void) sd_bus_reply_method_errorf(
                                req->request,
                                SD_BUS_ERROR_FAILED,
                                "Failed to add the NetOut rule to container '%s': %s",
                                req->handle,
                                message ?: strerror(-result));
                net_request_finish(req);
                return;
        }
        if (c) {
                r = container_add_net_out(c, &req->net_out);
                if (r < 0) {
                        /* in force, but not recorded: it goes at the next restart */
                        (void) sd_bus_reply_method_errno(req->request, -r, NULL);
                        net_request_finish(req);
                        return;
                }
                save_state(c);
        }
        log_full_errno_container(
                        LOG_INFO,
                        0,
                        req->handle,
                        "Container '%s': NetOut '%s' added.",
                        req->handle,
                        strna(text));
        (void) sd_bus_reply_method_return(req->request, NULL);
        net_request_finish(req);
}

int bus_net_method_net_out(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FirewallContainer fc;
        Container *c = userdata;
        NetRequest *req = NULL;
        NetOutRule rule;
        int r;

        r = bus_verify_manage(m, ((Container *) userdata)->manager, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back with its answer */
        r = bus_net_read_net_out_rule(m, &rule, error);
        if (r < 0)
                return r;
        bus_lifecycle_reference(c, m);
        r = check_usable(c, error);
        if (r < 0)
                return r;

        r = net_request_new(c, m, &req);
        if (r < 0)
                return r;
        req->net_out = rule;
        r = container_firewall(c, &fc);
        if (r >= 0)
                r = firewall_add_net_out(c->manager->firewall, &fc, &req->net_out, net_out_done, req, NULL);
        if (r < 0) {
                net_request_free(req);
                return sd_bus_error_set_errnof(error, r, "Failed to queue the NetOut rule: %m");
        }
        c->manager->n_operations++;
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

/* ---- the container's life ------------------------------------------------------------------------ */

int bus_net_container_add(Container *c, firewall_done_t done, void *userdata, FirewallJob **ret) {
        FirewallContainer fc;
        int r;

        if (!c->manager || !c->manager->firewall)
                return -EOPNOTSUPP;
        r = container_firewall(c, &fc);
        if (r < 0)
                return r;
        r = firewall_add_container(c->manager->firewall, &fc, done, userdata, ret);
        if (r < 0)
                return r;
        c->firewall_added = true;
        return 0;
}

int bus_net_container_remove(Container *c, firewall_done_t done, void *userdata, FirewallJob **ret) {
        FirewallContainer fc;
        int r;

        *ret = NULL;
        if (!c->firewall_added || !c->manager || !c->manager->firewall)
                return 0;
        r = container_firewall(c, &fc);
        if (r < 0)
                return r;
        r = firewall_remove_container(c->manager->firewall, &fc, done, userdata, ret);
        if (r < 0)
                return r;
        c->firewall_added = false;
        return 0;
}

void bus_net_adopt(Manager *m) {
        _cleanup_free_ FirewallContainer *fcs = NULL;
        _cleanup_free_ char *message = NULL;
        size_t n = 0, size = hashmap_size(m->containers);
        uint64_t started = now_usec(CLOCK_MONOTONIC);
        bool any = false;
        Container *c;
        int r;

        if (!m->firewall)
                return;
        fcs = calloc(size > 0 ? size : 1, sizeof(FirewallContainer));
        if (!fcs) {
                log_oom();
                return;
        }
        /* Active and stopped containers keep their policy; the others are cleaned up right after this, and
         * whatever a create or destroy that wardend did not finish left of them goes with the rebuild. */
        HASHMAP_FOREACH(c, m->containers) {
                any = any || c->has_net;
                if (!IN_SET(c->state, CONTAINER_ACTIVE, CONTAINER_STOPPED) ||
                    container_firewall(c, &fcs[n]) < 0)
                        continue;
                c->firewall_added = true;
                n++;
        }
        r = firewall_sync(m->firewall, fcs, n, any, &message);
        if (r < 0)
                log_error_errno(r,
                                "Failed to rebuild the nft table " FIREWALL_FAMILY " " FIREWALL_TABLE
                                " for %zu container(s), the rules of the last wardend stay in force: %s",
                                n,
                                message ?: strerror(-r));
        else if (any)
                log_info("Rebuilt the nft table " FIREWALL_FAMILY " " FIREWALL_TABLE
                         " for %zu container(s) in %llu us.",
                         n,
                         (unsigned long long) (now_usec(CLOCK_MONOTONIC) - started));
}
