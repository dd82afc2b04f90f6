/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * wardend's own calls to other services (bus-call-out.c): at most BUS_CALLS_OUT_MAX on the bus, the rest
 * queued and sent in order as answers come back; a call freed before its answer is cancelled, whether it
 * waited or was on the bus. The other service is the client end of a socketpair, which answers every call
 * (with UnknownObject: it has no objects).
 */

#include "bus-call-out.h"
#include "bus-state.h"
#include "manager-fixture.h"
#include "tests.h"

#define N_CALLS (BUS_CALLS_OUT_MAX + 36)

static unsigned answers[N_CALLS], n_answers;

static int on_answer(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        ASSERT_TRUE(sd_bus_message_is_method_error(reply, NULL));
        answers[n_answers++] = *(unsigned *) userdata;
        return 0;
}

TEST(queue_in_order_and_cancel) {
        BusCallOut *calls[N_CALLS];
        unsigned ids[N_CALLS];
        Fixture f;

        fixture_init(&f, false);
        f.manager.bus_manager->bus = f.server;
        for (unsigned i = 0; i < N_CALLS; i++) {
                ids[i] = i;
                ASSERT_OK(bus_call_out_method(
                        &f.manager, NULL, "/t", "t.T", "Call", 0, on_answer, &ids[i], &calls[i], "u", i));
        }
        ASSERT_EQ(bus_calls_out_sent(&f.manager), BUS_CALLS_OUT_MAX);
        ASSERT_EQ(bus_calls_out_queued(&f.manager), 36u);

        /* one on the bus: the first one waiting takes its place; one waiting: gone from the queue */
        calls[0] = bus_call_out_free(calls[0]);
        ASSERT_EQ(bus_calls_out_sent(&f.manager), BUS_CALLS_OUT_MAX);
        ASSERT_EQ(bus_calls_out_queued(&f.manager), 35u);
        calls[N_CALLS - 1] = bus_call_out_free(calls[N_CALLS - 1]);
        ASSERT_EQ(bus_calls_out_queued(&f.manager), 34u);

        for (unsigned round = 0; round < 100000 && n_answers < N_CALLS - 2; round++) {
                int a, b;

                ASSERT_OK(a = sd_bus_process(f.client, NULL));
                ASSERT_OK(b = sd_bus_process(f.server, NULL));
                if (a == 0 && b == 0) {
                        ASSERT_OK(sd_bus_flush(f.client));
                        ASSERT_OK(sd_bus_wait(f.server, 10000));
                }
                ASSERT_TRUE(bus_calls_out_sent(&f.manager) <= BUS_CALLS_OUT_MAX);
        }
        ASSERT_EQ(n_answers, N_CALLS - 2);
        for (unsigned i = 0; i < n_answers; i++) /* in the order they were made, without the two */
                ASSERT_EQ(answers[i], i + 1);
        ASSERT_EQ(bus_calls_out_sent(&f.manager), 0u);
        ASSERT_EQ(bus_calls_out_queued(&f.manager), 0u);

        for (unsigned i = 0; i < N_CALLS; i++)
                bus_call_out_free(calls[i]);
        f.manager.bus_manager->bus = NULL;
        fixture_done(&f);
}
