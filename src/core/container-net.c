/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "container-net.h"
#include "hashmap.h"
#include "log.h"
#include "manager.h"

/* ---- helpers ------------------------------------------------------------------------------------- */

/* FAILED with the errno and no message: the front end answers with the errno's own error. */
static int net_error_errno(WardenError *e, int error) {
        warden_error_done(e);
        e->error = error;
        return error;
}

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

/* NetIn and NetOut need an active container and a firewall. */
static int check_usable(Container *c, WardenError *reterr) {
        if (c->state != CONTAINER_ACTIVE)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_INVALID_STATE,
                        0,
                        "Container '%s' is %s, not active.",
                        c->handle,
                        container_state_to_string(c->state));
        if (!c->manager || !c->manager->firewall || !c->manager->ports || !c->has_net)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_NOT_SUPPORTED,
                        0,
                        "Container '%s' has no network policy.",
                        c->handle);
        return 0;
}

/* A NetIn or NetOut waiting for its transaction. 'container' stays valid until done: its removal (the
 * teardown waits for it before freeing the container) is queued after this transaction. */
typedef struct NetRequest {
        Manager *manager;
        Container *container;
        char *handle;
        uint64_t started_usec;
        NetInRule net_in;
        NetOutRule net_out;
        container_net_in_done_t net_in_done;
        container_net_out_done_t net_out_done;
        void *userdata;
} NetRequest;

static NetRequest *net_request_free(NetRequest *req) {
        if (!req)
                return NULL;
        free(req->handle);
        free(req);
        return NULL;
}

static int net_request_new(Container *c, void *userdata, NetRequest **ret) {
        NetRequest *req = calloc(1, sizeof(NetRequest));

        if (!req)
                return -ENOMEM;
        req->manager = c->manager;
        req->container = c;
        req->userdata = userdata;
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
                log_container_warning_errno(c, r, "Failed to save the state of '%s': %m", c->handle);
}

/* ---- NetIn --------------------------------------------------------------------------------------- */

static void net_in_done(int result, const char *message, void *userdata) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        NetRequest *req = userdata;
        Container *c = net_request_container(req);
        uint16_t host = req->net_in.host_port, cont = req->net_in.container_port;

        log_container_step(req->handle, "net.in", req->started_usec);
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
                (void) warden_error_setf(
                        &e,
                        WARDEN_ERROR_KIND_FAILED,
                        result,
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
        }
        req->net_in_done(req->manager, &req->net_in, result < 0 ? &e : NULL, req->userdata);
        net_request_finish(req);
}

/* Takes a host port for a NetIn: the next free one of port_range (0), or 'port' if no container maps it
 * yet. Inside port_range the pool knows every taken port; outside it, the containers do. */
static int net_in_take_port(Manager *m, uint16_t port, uint16_t *ret, WardenError *reterr) {
        uint32_t p;
        int r;

        if (port == 0) {
                r = id_pool_allocate(m->ports, &p);
                if (r == -ENOSR)
                        return warden_error_setf(
                                reterr,
                                WARDEN_ERROR_KIND_POOL_EXHAUSTED,
                                r,
                                "No host port left in port_range %u-%u.",
                                m->config.port_range[0],
                                m->config.port_range[1]);
                if (r < 0)
                        return net_error_errno(reterr, r);
                *ret = (uint16_t) p;
                return 0;
        }

        r = manager_port_is_taken(m, port) ? -EADDRINUSE : id_pool_reserve(m->ports, port);
        if (r == -EADDRINUSE)
                return warden_error_setf(
                        reterr,
                        WARDEN_ERROR_KIND_POOL_EXHAUSTED,
                        -ENOSR,
                        "Host port %u is taken by a NetIn mapping of a container.",
                        port);
        if (r < 0 && r != -ERANGE)
                return net_error_errno(reterr, r);
        *ret = port;
        return 0;
}

int container_net_in(
        Container *c,
        uint16_t host_port,
        uint16_t container_port,
        container_net_in_done_t done,
        void *userdata,
        WardenError *reterr) {
        FirewallContainer fc;
        NetRequest *req = NULL;
        Manager *m;
        int r;

        assert(c);
        assert(done);
        assert(reterr);

        r = check_usable(c, reterr);
        if (r < 0)
                return r;
        m = c->manager;

        r = net_in_take_port(m, host_port, &host_port, reterr);
        if (r < 0)
                return r;
        if (container_port == 0)
                container_port = host_port;

        r = net_request_new(c, userdata, &req);
        if (r >= 0) {
                req->net_in = (NetInRule){ host_port, container_port };
                req->net_in_done = done;
                r = container_add_net_in(c, &req->net_in);
        }
        if (r < 0) {
                net_request_free(req);
                id_pool_release(m->ports, host_port);
                return net_error_errno(reterr, r);
        }
        /* recorded first: a teardown queued from now on removes it as well */
        r = container_firewall(c, &fc);
        if (r >= 0)
                r = firewall_add_net_in(m->firewall, &fc, &req->net_in, net_in_done, req, NULL);
        if (r < 0) {
                (void) container_remove_net_in(c, host_port);
                id_pool_release(m->ports, host_port);
                net_request_free(req);
                return warden_error_setf(
                        reterr, WARDEN_ERROR_KIND_FAILED, r, "Failed to queue the NetIn rule: %m");
        }
        m->n_operations++;
        return 0;
}

/* ---- NetOut -------------------------------------------------------------------------------------- */

static void net_out_done(int result, const char *message, void *userdata) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
        NetRequest *req = userdata;
        Container *c = net_request_container(req);
        _cleanup_free_ char *text = NULL;
        int r;

        log_container_step(req->handle, "net.out", req->started_usec);
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
                (void) warden_error_setf(
                        &e,
                        WARDEN_ERROR_KIND_FAILED,
                        result,
                        "Failed to add the NetOut rule to container '%s': %s",
                        req->handle,
                        message ?: strerror(-result));
                req->net_out_done(req->manager, &e, req->userdata);
                net_request_finish(req);
                return;
        }
        if (c) {
                r = container_add_net_out(c, &req->net_out);
                if (r < 0) {
                        /* in force, but not recorded: it goes at the next restart */
                        req->net_out_done(req->manager, &(const WardenError){ .error = r }, req->userdata);
                        net_request_finish(req);
                        return;
                }
                save_state(c);
        }
        log_full_errno_container(
                LOG_INFO, 0, req->handle, "Container '%s': NetOut '%s' added.", req->handle, strna(text));
        req->net_out_done(req->manager, NULL, req->userdata);
        net_request_finish(req);
}

int container_net_out(
        Container *c,
        const NetOutRule *rule,
        container_net_out_done_t done,
        void *userdata,
        WardenError *reterr) {
        FirewallContainer fc;
        NetRequest *req = NULL;
        int r;

        assert(c);
        assert(rule);
        assert(done);
        assert(reterr);

        r = check_usable(c, reterr);
        if (r < 0)
                return r;

        r = net_request_new(c, userdata, &req);
        if (r < 0)
                return net_error_errno(reterr, r);
        req->net_out = *rule;
        req->net_out_done = done;
        r = container_firewall(c, &fc);
        if (r >= 0)
                r = firewall_add_net_out(c->manager->firewall, &fc, &req->net_out, net_out_done, req, NULL);
        if (r < 0) {
                net_request_free(req);
                return warden_error_setf(
                        reterr, WARDEN_ERROR_KIND_FAILED, r, "Failed to queue the NetOut rule: %m");
        }
        c->manager->n_operations++;
        return 0;
}

/* ---- the container's life ------------------------------------------------------------------------ */

int container_net_add(Container *c, firewall_done_t done, void *userdata, FirewallJob **ret) {
        FirewallContainer fc;
        int r;

        assert(c);

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

int container_net_remove(Container *c, firewall_done_t done, void *userdata, FirewallJob **ret) {
        FirewallContainer fc;
        int r;

        assert(c);
        assert(ret);

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

void container_net_adopt(Manager *m) {
        _cleanup_free_ FirewallContainer *fcs = NULL;
        _cleanup_free_ char *message = NULL;
        size_t n = 0, size;
        uint64_t started = now_usec(CLOCK_MONOTONIC);
        bool any = false;
        Container *c;
        int r;

        assert(m);

        if (!m->firewall)
                return;
        size = hashmap_size(m->containers);
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
                log_error_errno(
                        r,
                        "Failed to rebuild the nft table " FIREWALL_FAMILY " " FIREWALL_TABLE
                        " for %zu container(s), the rules of the last wardend stay in force: %s",
                        n,
                        message ?: strerror(-r));
        else if (any)
                log_info(
                        "Rebuilt the nft table " FIREWALL_FAMILY " " FIREWALL_TABLE
                        " for %zu container(s) in %llu us.",
                        n,
                        (unsigned long long) (now_usec(CLOCK_MONOTONIC) - started));
}
