/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The container state-file parser (container_deserialize(), what wardend reads back at start-up). What
 * parses must be a container wardend can work with (a valid handle, a unit, a job id to hand out next) and
 * must serialise to a text that parses to the same container: serialising that one again gives the same
 * text.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "handle.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(container_freep) Container *c = NULL, *again = NULL;
        _cleanup_free_ char *text = NULL, *first = NULL, *second = NULL;
        int r;

        /* the state file is read as a C string: a NUL ends it */
        text = strndup((const char *) data, size);
        if (!text)
                return 0;
        log_set_max_level(LOG_CRIT);

        r = container_deserialize(text, &c);
        if (r < 0) {
                if (r != -EINVAL && r != -ENOMEM)
                        abort();
                return 0;
        }
        if (!handle_is_valid(c->handle) || !c->unit || c->next_job_id == 0 || c->state < 0 ||
            c->state >= _CONTAINER_STATE_MAX)
                abort();

        if (container_serialize(c, &first) < 0)
                abort();
        if (container_deserialize(first, &again) < 0)
                abort();
        if (container_serialize(again, &second) < 0)
                abort();
        if (!streq(first, second))
                abort();
        if (!streq(c->handle, again->handle) || c->state != again->state || c->uid != again->uid ||
            c->has_net != again->has_net || c->n_net_in != again->n_net_in ||
            c->n_net_out != again->n_net_out || c->next_job_id != again->next_job_id)
                abort();
        return 0;
}
