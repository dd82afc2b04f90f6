/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The access check of the bus API without a bus daemon (bus-polkit.c): over a socketpair there is no polkit
 * to ask, and it falls back to "root, or a member of the group 'warden'". Both sides are checked whether the
 * test runs as root or not (tests_become_root(), tests_become_unprivileged()); a user in the group 'warden'
 * who runs this unprivileged sees verify_refuses_others fail.
 */

#include <string.h>
#include <unistd.h>

#include "bus-pair.h"
#include "bus-polkit.h"
#include "bus-state.h"
#include "manager-fixture.h"
#include "tests.h"

static unsigned n_verified;

static int handler_verify(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        int r;

        n_verified++;
        r = bus_verify_manage(m, userdata, error);
        if (r < 0)
                return r;
        ASSERT_EQ(r, 1); /* never "pending" without a bus daemon */
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable verify_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Change", "", "", handler_verify, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* Calls Change() on a fresh pair, returns what bus_pair_call() returned; the check ran exactly once and left
 * no query, operation or held call behind. */
static int call_verify(sd_bus_error *e) {
        sd_bus_message *m = NULL;
        Fixture f;
        int r;

        fixture_init(&f, false);
        ASSERT_OK(sd_bus_add_object_vtable(
                f.server, NULL, "/test", "org.warden.Test", verify_vtable, &f.manager));
        ASSERT_OK(sd_bus_message_new_method_call(f.client, &m, NULL, "/test", "org.warden.Test", "Change"));
        n_verified = 0;
        r = bus_pair_call(f.server, f.client, m, NULL, e);
        ASSERT_EQ(n_verified, 1u);
        ASSERT_EQ(hashmap_size(f.manager.bus_manager->polkit_queries), 0u);
        ASSERT_EQ(f.manager.n_operations, 0u);
        ASSERT_EQ(hashmap_size(f.manager.bus_manager->client_calls), 0u);
        sd_bus_message_unref(m);
        fixture_done(&f);
        return r;
}

TEST(verify_allows_root) {
        sd_bus_error e = SD_BUS_ERROR_NULL;

        tests_become_root();
        ASSERT_OK(call_verify(&e));
        ASSERT_FALSE(sd_bus_error_is_set(&e));
}

TEST(verify_refuses_others) {
        sd_bus_error e = SD_BUS_ERROR_NULL;

        tests_become_unprivileged();
        ASSERT_TRUE(call_verify(&e) < 0);
        ASSERT_TRUE(sd_bus_error_has_name(&e, SD_BUS_ERROR_ACCESS_DENIED));
        ASSERT_NOT_NULL(strstr(e.message, "Only root and members of the group 'warden' may call Change()"));
        sd_bus_error_free(&e);
}
