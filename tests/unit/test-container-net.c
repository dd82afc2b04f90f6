/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The network verbs of core (container-net.h) without a bus: the errors NetIn and NetOut give before
 * anything is queued, and — in a network namespace of the test's own, against the kernel's nf_tables — a
 * NetIn whose transaction fails (its host port is recorded and taken before the transaction is queued, and
 * given back with its record exactly once), a NetIn and a NetOut that succeed, and the container's objects
 * added and removed.
 */

#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nftables/libnftables.h>

#include "container-net.h"
#include "core-fixture.h"

/* nft in the current namespace: 0 and *ret_output (may be NULL), or nft's result. */
static int nft(const char *cmd, char **ret_output) {
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        int r;

        ASSERT_NOT_NULL(ctx);
        ASSERT_OK(nft_ctx_buffer_output(ctx));
        ASSERT_OK(nft_ctx_buffer_error(ctx));
        r = nft_run_cmd_from_buffer(ctx, cmd);
        if (r == 0 && ret_output)
                *ret_output = strdup(nft_ctx_get_output_buffer(ctx));
        nft_ctx_free(ctx);
        return r;
}

/* The fixture's Manager with a port pool of 'n_ports' from port_range's start, a state directory and
 * (with 'firewall') a firewall whose first transaction makes the table. */
static void manager_init(Manager *m, uint32_t n_ports, bool firewall) {
        FirewallPolicy p;
        char *containers = NULL;

        core_fixture_init(m);
        m->state_dir = strdup(tests_tmpdir());
        ASSERT_NOT_NULL(m->state_dir);
        ASSERT_TRUE(asprintf(&containers, "%s/containers", m->state_dir) > 0);
        ASSERT_OK(mkdir(containers, 0700) < 0 && errno != EEXIST ? -errno : 0);
        free(containers);
        ASSERT_OK(id_pool_new(m->config.port_range[0], n_ports, &m->ports));
        if (firewall) {
                ASSERT_OK(firewall_policy_from_config(&m->config, &p));
                p.enable_ip_forward = false;
                ASSERT_OK(firewall_new(m->event, &p, &m->firewall));
                firewall_policy_done(&p);
        }
}

/* An active container with a network, registered. */
static Container *add_container(Manager *m, const char *handle, uint32_t net_id, const char *ip) {
        Container *c = NULL;

        ASSERT_OK(container_new(handle, &c));
        c->state = CONTAINER_ACTIVE;
        c->has_net = true;
        c->net_id = net_id;
        c->container_ip = strdup(ip);
        ASSERT_NOT_NULL(c->container_ip);
        ASSERT_OK(manager_add_container(m, c));
        return c;
}

/* What a verb's done callback reported, the number of times it was called. */
typedef struct Result {
        unsigned n;
        bool failed;
        WardenError error;
        NetInRule rule;
} Result;

static void record(Result *res, const WardenError *e) {
        res->n++;
        res->failed = e != NULL;
        warden_error_done(&res->error);
        if (e)
                (void) warden_error_copy(&res->error, e);
}

static void on_net_in(Manager *m, const NetInRule *rule, const WardenError *e, void *userdata) {
        Result *res = userdata;

        ASSERT_NOT_NULL(m);
        ASSERT_NOT_NULL(rule);
        record(res, e);
        res->rule = *rule;
}

static void on_net_out(Manager *m, const WardenError *e, void *userdata) {
        ASSERT_NOT_NULL(m);
        record(userdata, e);
}

static void on_firewall(int result, const char *message, void *userdata) {
        Result *res = userdata;

        res->n++;
        res->failed = result < 0;
        res->error.error = result;
}

/* <state_dir>/containers/<handle>, in a static buffer. */
static const char *state_path(const Manager *m, const char *handle) {
        static char buf[4096];

        snprintf(buf, sizeof(buf), "%s/containers/%s", m->state_dir, handle);
        return buf;
}

/* The errors before anything is queued: nothing is recorded, taken or counted, done is never called. */
TEST(refused) {
        WardenError e = WARDEN_ERROR_NULL;
        NetOutRule rule;
        Result res = {};
        Manager m;
        Container *c, *other;
        uint16_t first;

        manager_init(&m, 2, false);
        first = m.config.port_range[0];
        c = add_container(&m, "web", 7, "10.254.0.30");

        /* wardend without a firewall */
        ASSERT_ERROR(container_net_in(c, 0, 80, on_net_in, &res, &e), EIO);
        ASSERT_WARDEN_ERROR(&e, WARDEN_ERROR_KIND_NOT_SUPPORTED, "Container 'web' has no network policy.");
        ASSERT_OK(net_out_rule_from_string("network:10.0.0.0/8 protocol:tcp port:80", &rule));
        ASSERT_ERROR(container_net_out(c, &rule, on_net_out, &res, &e), EIO);
        ASSERT_WARDEN_ERROR(&e, WARDEN_ERROR_KIND_NOT_SUPPORTED, "has no network policy");
        core_fixture_done(&m);

        /* a firewall (nothing is queued below, so no namespace is needed) */
        manager_init(&m, 2, true);
        c = add_container(&m, "web", 7, "10.254.0.30");
        other = add_container(&m, "db", 8, "10.254.0.34");

        c->state = CONTAINER_STOPPED;
        ASSERT_ERROR(container_net_in(c, 0, 80, on_net_in, &res, &e), EBADFD);
        ASSERT_WARDEN_ERROR(&e, WARDEN_ERROR_KIND_INVALID_STATE, "Container 'web' is stopped, not active.");
        ASSERT_ERROR(container_net_out(c, &rule, on_net_out, &res, &e), EBADFD);
        ASSERT_WARDEN_ERROR(&e, WARDEN_ERROR_KIND_INVALID_STATE, "is stopped, not active");
        c->state = CONTAINER_ACTIVE;

        c->has_net = false;
        ASSERT_ERROR(container_net_in(c, 0, 80, on_net_in, &res, &e), EIO);
        ASSERT_WARDEN_ERROR(&e, WARDEN_ERROR_KIND_NOT_SUPPORTED, "has no network policy");
        c->has_net = true;

        /* a host port that another container maps, inside port_range and outside it */
        ASSERT_OK(id_pool_reserve(m.ports, first));
        ASSERT_OK(container_add_net_in(other, &(NetInRule){ first, 5432 }));
        ASSERT_OK(container_add_net_in(other, &(NetInRule){ 8080, 8080 }));
        ASSERT_ERROR(container_net_in(c, first, 80, on_net_in, &res, &e), ENOSR);
        ASSERT_WARDEN_ERROR(&e, WARDEN_ERROR_KIND_POOL_EXHAUSTED, "taken by a NetIn mapping of a container");
        ASSERT_ERROR(container_net_in(c, 8080, 80, on_net_in, &res, &e), ENOSR);
        ASSERT_WARDEN_ERROR(&e, WARDEN_ERROR_KIND_POOL_EXHAUSTED, "Host port 8080 is taken");

        /* the pool empty */
        ASSERT_OK(id_pool_reserve(m.ports, first + 1));
        ASSERT_ERROR(container_net_in(c, 0, 80, on_net_in, &res, &e), ENOSR);
        ASSERT_WARDEN_ERROR(&e, WARDEN_ERROR_KIND_POOL_EXHAUSTED, "No host port left in port_range");

        ASSERT_EQ(c->n_net_in, 0);
        ASSERT_EQ(c->n_net_out, 0);
        ASSERT_EQ(m.n_operations, 0);
        ASSERT_EQ(res.n, 0);
        ASSERT_EQ(firewall_n_containers(m.firewall), 0);
        warden_error_done(&e);
        core_fixture_done(&m);
}

TEST(kernel) {
        WardenError e = WARDEN_ERROR_NULL;
        Result fw = {}, in = {}, out = {};
        NetOutRule rule;
        FirewallJob *job = NULL;
        char *listed = NULL, *expect = NULL, cmd[128];
        Manager m;
        Container *c;
        uint16_t first;
        struct stat st;

        core_fixture_enter_namespaces(CLONE_NEWNET);
        manager_init(&m, 16, true);
        first = m.config.port_range[0];
        c = add_container(&m, "web", 7, "10.254.0.30");

        /* Create's step: the table with the container's objects */
        ASSERT_OK(container_net_add(c, on_firewall, &fw, &job));
        ASSERT_TRUE(c->firewall_added);
        core_fixture_run_until(&m, &fw.n, 1);
        ASSERT_FALSE(fw.failed);

        /* a NetIn that nft refuses: its port is in the map already with other data */
        ASSERT_OK(nft("add element inet warden net_in { 62000 : 10.254.0.99 . 1 }", NULL));
        ASSERT_OK(container_net_in(c, 62000, 8080, on_net_in, &in, &e));
        /* recorded and counted before the transaction ran, so that a teardown queued now removes it */
        ASSERT_EQ(c->n_net_in, 1);
        ASSERT_EQ(c->net_in[0].host_port, 62000);
        ASSERT_EQ(m.n_operations, 1);
        core_fixture_run_until(&m, &in.n, 1);
        ASSERT_TRUE(in.failed);
        ASSERT_EQ(in.error.kind, WARDEN_ERROR_KIND_FAILED);
        ASSERT_ERROR(in.error.error, EIO);
        ASSERT_WARDEN_ERROR(
                &in.error,
                WARDEN_ERROR_KIND_FAILED,
                "Failed to map host port 62000 to port 8080 of container 'web': ");
        ASSERT_EQ(in.rule.host_port, 62000);
        ASSERT_EQ(c->n_net_in, 0); /* the record is gone, */
        ASSERT_EQ(m.n_operations, 0);
        ASSERT_EQ(stat(state_path(&m, "web"), &st), -1); /* nothing was saved */

        /* a port from the pool: the first one, inside port_range (a failed NetIn in port_range gives its
         * port back to the pool: taken once, then free again) */
        ASSERT_OK(container_net_in(c, 0, 0, on_net_in, &in, &e));
        ASSERT_TRUE(id_pool_is_taken(m.ports, first));
        ASSERT_OK(container_net_in(c, first + 1, 0, on_net_in, &in, &e));
        snprintf(cmd, sizeof(cmd), "add element inet warden net_in { %u : 10.254.0.99 . 1 }", first + 2u);
        ASSERT_OK(nft(cmd, NULL));
        ASSERT_OK(container_net_in(c, first + 2, 80, on_net_in, &in, &e));
        ASSERT_EQ(c->n_net_in, 3);
        ASSERT_EQ(m.n_operations, 3);
        core_fixture_run_until(&m, &in.n, 4);
        ASSERT_TRUE(in.failed); /* the last one, refused */
        ASSERT_FALSE(id_pool_is_taken(m.ports, first + 2));
        ASSERT_TRUE(id_pool_is_taken(m.ports, first));
        ASSERT_TRUE(id_pool_is_taken(m.ports, first + 1));
        ASSERT_EQ(c->n_net_in, 2);
        ASSERT_EQ(c->net_in[0].host_port, first);
        ASSERT_EQ(c->net_in[0].container_port, first);
        ASSERT_EQ(c->net_in[1].host_port, first + 1);
        ASSERT_EQ(m.n_operations, 0);

        /* the one that succeeded is in the kernel and in the state file */
        ASSERT_OK(nft("list map inet warden net_in", &listed));
        ASSERT_TRUE(asprintf(&expect, "%u : 10.254.0.30 . %u", first, first) > 0);
        ASSERT_NOT_NULL(strstr(listed, expect));
        free(listed);
        free(expect);
        ASSERT_OK(stat(state_path(&m, "web"), &st));

        /* NetOut */
        ASSERT_OK(net_out_rule_from_string("network:10.0.0.0/8 protocol:tcp port:80", &rule));
        ASSERT_OK(container_net_out(c, &rule, on_net_out, &out, &e));
        ASSERT_EQ(c->n_net_out, 0); /* recorded once in force */
        core_fixture_run_until(&m, &out.n, 1);
        ASSERT_FALSE(out.failed);
        ASSERT_EQ(c->n_net_out, 1);
        ASSERT_OK(nft("list chain inet warden out-7", &listed));
        ASSERT_NOT_NULL(strstr(listed, "ip daddr 10.0.0.0/8 tcp dport 80 accept"));
        free(listed);

        /* teardown's step: the last container takes the table along; a second time there is nothing */
        ASSERT_OK(container_net_remove(c, on_firewall, &fw, &job));
        ASSERT_NOT_NULL(job);
        ASSERT_FALSE(c->firewall_added);
        core_fixture_run_until(&m, &fw.n, 2);
        ASSERT_FALSE(fw.failed);
        ASSERT_OK(container_net_remove(c, on_firewall, &fw, &job));
        ASSERT_NULL(job);
        ASSERT_TRUE(nft("list table inet warden", NULL) != 0);

        warden_error_done(&e);
        warden_error_done(&in.error);
        warden_error_done(&out.error);
        core_fixture_done(&m);
}

/* Start-up: the table is rebuilt from the active and stopped containers only. */
TEST(adopt) {
        Manager m;
        Container *a, *b, *born;
        char *listed = NULL;

        core_fixture_enter_namespaces(CLONE_NEWNET);
        manager_init(&m, 16, true);
        a = add_container(&m, "web", 7, "10.254.0.30");
        b = add_container(&m, "db", 8, "10.254.0.34");
        born = add_container(&m, "half", 9, "10.254.0.38");
        b->state = CONTAINER_STOPPED;
        born->state = CONTAINER_BORN;
        ASSERT_OK(container_add_net_in(a, &(NetInRule){ 61001, 80 }));

        container_net_adopt(&m);
        ASSERT_TRUE(a->firewall_added);
        ASSERT_TRUE(b->firewall_added);
        ASSERT_FALSE(born->firewall_added);
        ASSERT_EQ(firewall_n_containers(m.firewall), 2);
        ASSERT_OK(nft("list table inet warden", &listed));
        ASSERT_NOT_NULL(strstr(listed, "61001 : 10.254.0.30 . 80"));
        ASSERT_NOT_NULL(strstr(listed, "out-8"));
        ASSERT_NULL(strstr(listed, "out-9"));
        free(listed);
        core_fixture_done(&m);
}
