/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The job state-file parser (job_deserialize(), what wardend reads back from
 * /run/warden/jobs/<handle>/<id>.state at re-adoption). What parses must be a job wardend can work with and
 * must serialise to a text that parses to the same job: serialising that one again gives the same text.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "log.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(job_freep) Job *j = NULL, *again = NULL;
        _cleanup_free_ char *text = NULL, *first = NULL, *second = NULL;
        int r;

        text = strndup((const char *) data, size);
        if (!text)
                return 0;
        log_set_max_level(LOG_CRIT);

        r = job_deserialize(text, &j);
        if (r < 0) {
                if (r != -EINVAL && r != -ENOMEM)
                        abort();
                return 0;
        }
        if (j->id == 0 || !job_state_to_string(j->state) || !job_output_to_string(j->output) ||
            j->exit_status < 0 || j->exit_status > 255 || j->pid < 0)
                abort();

        if (job_serialize(j, &first) < 0)
                abort();
        if (job_deserialize(first, &again) < 0)
                abort();
        if (job_serialize(again, &second) < 0)
                abort();
        if (!streq(first, second))
                abort();
        if (j->id != again->id || j->state != again->state || j->output != again->output ||
            j->tty != again->tty || j->pid != again->pid || j->output_exceeded != again->output_exceeded ||
            j->started_usec != again->started_usec || j->exited_usec != again->exited_usec ||
            strv_length(j->events) != strv_length(again->events))
                abort();
        if (j->state == JOB_EXITED && j->exit_status != again->exit_status)
                abort();
        return 0;
}
