/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "strv.h"
#include "tests.h"

TEST(state_file_round_trip) {
        _cleanup_(job_freep) Job *j = NULL, *k = NULL;
        _cleanup_free_ char *text = NULL, *again = NULL;

        ASSERT_OK(job_new(42, &j));
        j->state = JOB_EXITED;
        j->output = JOB_OUTPUT_CALLER;
        j->tty = true;
        j->pid = 17;
        j->exit_status = 255;
        j->output_exceeded = true;
        j->started_usec = 1000;
        j->exited_usec = 2000;
        ASSERT_OK(job_add_event(j, JOB_EVENT_OUTPUT_EXCEEDED));
        ASSERT_OK(job_add_event(j, JOB_EVENT_OUTPUT_EXCEEDED)); /* once only */

        ASSERT_OK(job_serialize(j, &text));
        ASSERT_OK(job_deserialize(text, &k));
        ASSERT_EQ(k->id, 42);
        ASSERT_EQ(k->state, JOB_EXITED);
        ASSERT_EQ(k->output, JOB_OUTPUT_CALLER);
        ASSERT_TRUE(k->tty);
        ASSERT_EQ(k->pid, 17);
        ASSERT_EQ(k->exit_status, 255);
        ASSERT_TRUE(k->output_exceeded);
        ASSERT_EQ(k->started_usec, 1000);
        ASSERT_EQ(k->exited_usec, 2000);
        ASSERT_EQ(strv_length(k->events), 1);
        ASSERT_OK(job_serialize(k, &again));
        ASSERT_STREQ(text, again);
}

TEST(state_file_rejects) {
        static const char *const bad[] = {
                "",
                "VERSION=1\nSTATE=running\n",        /* no id */
                "VERSION=1\nID=1\n",                 /* no state */
                "ID=1\nSTATE=running\n",             /* no version */
                "VERSION=2\nID=1\nSTATE=running\n",  /* a future version */
                "VERSION=1\nID=0\nSTATE=running\n",  /* id 0 */
                "VERSION=1\nID=1\nSTATE=sleeping\n", /* unknown state */
                "VERSION=1\nID=1\nSTATE=exited\nEXIT_STATUS=256\n",
                "VERSION=1\nID=1\nSTATE=running\nPID=-3\n",
                "VERSION=1\nID=1\nSTATE=running\nOUTPUT=tape\n",
                "VERSION=1\nID=1\nSTATE=running\nnot a line\n",
                "VERSION=1\nID=1\nSTATE=running\n=x\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Job *j = NULL;

                ASSERT_ERROR(job_deserialize(bad[i], &j), EINVAL);
                ASSERT_NULL(j);
        }

        /* unknown keys of a newer writer are fine, comments too */
        _cleanup_(job_freep) Job *j = NULL;
        ASSERT_OK(job_deserialize("# hi\nVERSION=1\nID=3\nSTATE=running\nFUTURE=1\n", &j));
        ASSERT_EQ(j->id, 3);
        ASSERT_EQ(j->state, JOB_RUNNING);
}

TEST(file_names) {
        char buf[JOB_FILE_NAME_MAX];
        uint32_t id;

        job_file_name(UINT32_MAX, "stdout", buf);
        ASSERT_STREQ(buf, "4294967295.stdout");
        job_file_name(7, "state", buf);
        ASSERT_STREQ(buf, "7.state");

        ASSERT_OK(job_parse_state_file_name("7.state", &id));
        ASSERT_EQ(id, 7);
        ASSERT_OK(job_parse_state_file_name("4294967295.state", &id));
        ASSERT_EQ(id, UINT32_MAX);
        static const char *const bad[] = { "7.stdout",         "0.state",     "07.state",
                                           "+7.state",         ".state",      "x.state",
                                           "4294967296.state", "7.state.tmp", "7" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_ERROR(job_parse_state_file_name(bad[i], &id), EINVAL);
}

TEST(exit_status) {
        ASSERT_EQ(job_exit_status_from_wait(0), 0);
        ASSERT_EQ(job_exit_status_from_wait(123 << 8), 123);
        ASSERT_EQ(job_exit_status_from_wait(9), 137);         /* SIGKILL */
        ASSERT_EQ(job_exit_status_from_wait(15 | 0x80), 143); /* SIGTERM, core dumped */
}
