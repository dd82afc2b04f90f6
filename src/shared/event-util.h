/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Small helpers around sd-event's sources, header-only: src/shared does not link libsystemd, its users do.
 *
 * Every source gets a description (sd_event_source_set_description()), which sd-event's debug logs and
 * error messages print. Failing to set one (out of memory) changes nothing else, so it is ignored.
 */

#include <systemd/sd-event.h>

/*
 * Hands a source that nobody keeps to its event loop, as if it had been added with a NULL ret, after naming
 * it: `r = sd_event_add_exit(e, &s, …); if (r >= 0) r = event_source_float(s, "…");`. Drops the caller's
 * reference in any case; if the loop cannot take it (it never fails today), the source is gone and the
 * negative errno is returned.
 */
static inline int event_source_float(sd_event_source *s, const char *description) {
        int r;

        (void) sd_event_source_set_description(s, description);
        r = sd_event_source_set_floating(s, 1);
        sd_event_source_unref(s);
        return r;
}
