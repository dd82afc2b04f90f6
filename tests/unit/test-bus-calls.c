/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Calls in flight per client (bus-calls.c): counted while held, forgotten when let go, refused beyond
 * max_calls_per_client.
 */

#include <string.h>
#include <unistd.h>

#include "bus-calls.h"
#include "bus-manager.h"
#include "bus-pair.h"
#include "bus-polkit.h"
#include "bus-state.h"
#include "bus-util.h"
#include "manager-fixture.h"
#include "tests.h"

/* Every held call was let go by the end of each test: no count is left. */
static void fixture_done_checked(Fixture *f) {
        ASSERT_EQ(hashmap_size(f->manager.bus_manager->client_calls), 0u);
        fixture_done(f);
}

/* A method call as if dbus-daemon had delivered it from 'sender'. */
static sd_bus_message *call_from(Fixture *f, const char *sender, const char *member) {
        sd_bus_message *m = NULL;

        ASSERT_OK(sd_bus_message_new_method_call(
                f->client, &m, NULL, WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, member));
        if (sender)
                ASSERT_OK(sd_bus_message_set_sender(m, sender));
        return m;
}

TEST(hold_and_release_count_per_sender) {
        sd_bus_message *a1, *a2, *b, *anonymous;
        Fixture f;

        fixture_init(&f, false);
        a1 = call_from(&f, ":1.7", "Create");
        a2 = call_from(&f, ":1.7", "Stop");
        b = call_from(&f, ":1.8", "Link");
        anonymous = call_from(&f, NULL, "Destroy");

        ASSERT_TRUE(bus_call_hold(&f.manager, a1) == a1);
        ASSERT_TRUE(bus_call_hold(&f.manager, a2) == a2);
        ASSERT_TRUE(bus_call_hold(&f.manager, b) == b);
        ASSERT_TRUE(bus_call_hold(&f.manager, anonymous) == anonymous);
        ASSERT_NULL(bus_call_hold(&f.manager, NULL));
        ASSERT_EQ(bus_calls_in_flight(&f.manager, ":1.7"), 2u);
        ASSERT_EQ(bus_calls_in_flight(&f.manager, ":1.8"), 1u);
        ASSERT_EQ(bus_calls_in_flight(&f.manager, ":1.9"), 0u);
        /* a call without a sender is not counted */
        ASSERT_EQ(hashmap_size(f.manager.bus_manager->client_calls), 2u);

        /* the same message held twice (a Create handed over to its teardown) counts twice */
        ASSERT_TRUE(bus_call_hold(&f.manager, a1) == a1);
        ASSERT_EQ(bus_calls_in_flight(&f.manager, ":1.7"), 3u);
        ASSERT_NULL(bus_call_release(&f.manager, a1));
        ASSERT_EQ(bus_calls_in_flight(&f.manager, ":1.7"), 2u);

        ASSERT_NULL(bus_call_release(&f.manager, a1));
        ASSERT_NULL(bus_call_release(&f.manager, b));
        ASSERT_EQ(bus_calls_in_flight(&f.manager, ":1.7"), 1u);
        ASSERT_EQ(bus_calls_in_flight(&f.manager, ":1.8"), 0u);
        /* an entry lives while its count is > 0 */
        ASSERT_EQ(hashmap_size(f.manager.bus_manager->client_calls), 1u);
        ASSERT_NULL(bus_call_release(&f.manager, a2));
        ASSERT_NULL(bus_call_release(&f.manager, anonymous));
        ASSERT_NULL(bus_call_release(&f.manager, NULL));

        /* without a manager: a plain reference */
        ASSERT_TRUE(bus_call_hold(NULL, a1) == a1);
        ASSERT_NULL(bus_call_release(NULL, a1));

        sd_bus_message_unref(a1);
        sd_bus_message_unref(a2);
        sd_bus_message_unref(b);
        sd_bus_message_unref(anonymous);
        fixture_done_checked(&f);
}

static unsigned admit_all_asked;

static bool admit_all(Manager *manager, sd_bus_message *m) {
        admit_all_asked++;
        return true;
}

TEST(check_refuses_beyond_the_limit) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *held[3], *next, *other, *signal = NULL;
        Fixture f;

        fixture_init(&f, false);
        f.manager.config.max_calls_per_client = 3;
        for (size_t i = 0; i < 3; i++) {
                held[i] = call_from(&f, ":1.7", "Link");
                ASSERT_OK(bus_calls_check(&f.manager, held[i], admit_all, &e));
                ASSERT_EQ(admit_all_asked, 0u);
                ASSERT_FALSE(sd_bus_error_is_set(&e));
                bus_call_hold(&f.manager, held[i]);
        }

        next = call_from(&f, ":1.7", "Ping");
        /* a call that comes back with polkit's answer is never refused; the question is asked only at the
         * limit */
        ASSERT_EQ(bus_calls_check(&f.manager, next, admit_all, &e), 0);
        ASSERT_EQ(admit_all_asked, 1u);
        ASSERT_ERROR(bus_calls_check(&f.manager, next, bus_polkit_has_answer, &e), ENOBUFS);
        ASSERT_TRUE(sd_bus_error_has_name(&e, SD_BUS_ERROR_LIMITS_EXCEEDED));
        ASSERT_TRUE(strstr(e.message, "max_calls_per_client=3") != NULL);
        ASSERT_TRUE(strstr(e.message, ":1.7") != NULL);
        sd_bus_error_free(&e);

        /* other clients and other kinds of messages are not affected */
        other = call_from(&f, ":1.8", "Create");
        ASSERT_EQ(bus_calls_check(&f.manager, other, bus_polkit_has_answer, &e), 0);
        ASSERT_OK(sd_bus_message_new_signal(
                f.client, &signal, WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, "Something"));
        ASSERT_OK(sd_bus_message_set_sender(signal, ":1.7"));
        ASSERT_EQ(bus_calls_check(&f.manager, signal, bus_polkit_has_answer, &e), 0);

        /* one answered: the next call is admitted */
        bus_call_release(&f.manager, held[0]);
        ASSERT_EQ(bus_calls_check(&f.manager, next, bus_polkit_has_answer, &e), 0);
        ASSERT_FALSE(sd_bus_error_is_set(&e));

        bus_call_release(&f.manager, held[1]);
        bus_call_release(&f.manager, held[2]);
        for (size_t i = 0; i < 3; i++)
                sd_bus_message_unref(held[i]);
        sd_bus_message_unref(next);
        sd_bus_message_unref(other);
        sd_bus_message_unref(signal);
        fixture_done_checked(&f);
}
