/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "bus-util.h"
#include "log.h"
#include "macro.h"
#include "strv.h"

int bus_message_read_string_pairs(sd_bus_message *m, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *k, *v;
        size_t n = 0;
        int r;

        assert(ret);
        assert(m);

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{ss}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "{ss}", &k, &v)) > 0) {
                /* 10^6 pairs (an unprivileged List can send them) would keep the loop busy for minutes */
                if (++n > BUS_STRING_PAIRS_MAX)
                        return -E2BIG;
                for (char **p = l; p && p[0]; p += 2)
                        if (streq(p[0], k))
                                return -EINVAL;
                r = strv_extend(&l, k);
                if (r < 0)
                        return r;
                r = strv_extend(&l, v);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

int bus_message_open_dict_entry(sd_bus_message *m, const char *key, const char *signature) {
        int r;

        assert(m);
        assert(key);
        assert(signature);

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", key);
        if (r < 0)
                return r;
        return sd_bus_message_open_container(m, SD_BUS_TYPE_VARIANT, signature);
}

int bus_message_close_dict_entry(sd_bus_message *m) {
        int r;

        assert(m);

        r = sd_bus_message_close_container(m); /* variant */
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m); /* dict entry */
}

static int unknown_key(
        const char *context,
        const BusOptionSpec *specs,
        size_t n_specs,
        const char *key,
        sd_bus_error *error) {
        _cleanup_free_ char *keys = NULL;
        size_t size = 0;
        FILE *f;

        if (!context)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'.", key);
        f = open_memstream(&keys, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n_specs; i++)
                fprintf(f, "%s%s", i > 0 ? ", " : "", specs[i].key);
        if (fclose(f) != 0)
                return -ENOMEM;
        return sd_bus_error_setf(
                error, SD_BUS_ERROR_INVALID_ARGS, "%s: unknown key '%s' (%s).", context, key, keys);
}

int bus_message_read_options(
        sd_bus_message *m,
        const char *context,
        const BusOptionSpec *specs,
        size_t n_specs,
        bus_option_reader_t reader,
        void *userdata,
        sd_bus_error *error) {
        uint64_t seen = 0; /* bit i: specs[i] was read */
        int r;

        assert(n_specs <= 64);
        assert(m);
        assert(specs || n_specs == 0);
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const BusOptionSpec *spec = NULL;
                const char *key, *contents;

                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n_specs && !spec; i++)
                        if (streq(specs[i].key, key))
                                spec = specs + i;
                if (!spec)
                        return unknown_key(context, specs, n_specs, key, error);
                /* A second value would leak what the first one allocated or opened ("env", "stdin", ...;
                 * found by fuzz-bus-options). */
                if (seen & UINT64_C(1) << (spec - specs))
                        return context ? sd_bus_error_setf(
                                                 error,
                                                 SD_BUS_ERROR_INVALID_ARGS,
                                                 "%s: key '%s' given twice.",
                                                 context,
                                                 key)
                                       : sd_bus_error_setf(
                                                 error,
                                                 SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' given twice.",
                                                 key);
                seen |= UINT64_C(1) << (spec - specs);
                r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r < 0)
                        return r;
                if (!streq(contents, spec->signature))
                        return context ? sd_bus_error_setf(
                                                 error,
                                                 SD_BUS_ERROR_INVALID_ARGS,
                                                 "%s: key '%s' must be of type '%s', got '%s'.",
                                                 context,
                                                 key,
                                                 spec->signature,
                                                 contents)
                                       : sd_bus_error_setf(
                                                 error,
                                                 SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' must be of type '%s', got '%s'.",
                                                 key,
                                                 spec->signature,
                                                 contents);
                r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        return r;
                r = reader(m, key, userdata, error);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

struct BusMatch {
        sd_bus *bus;
        const char *sender, *path, *interface, *member;
        sd_bus_message_handler_t callback;
        void (*installed)(void *userdata);
        void *userdata;
        sd_bus_slot *slot;
        sd_event_source *retry_source;
};

static int bus_match_install(BusMatch *bm);

static int bus_match_dispatch(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusMatch *bm = userdata;

        return bm->callback(m, bm->userdata, error);
}

static int bus_match_retry(sd_event_source *s, uint64_t usec, void *userdata);

/* Asks again after BUS_MATCH_RETRY_USEC; 'why' says what went wrong. */
static void bus_match_schedule_retry(BusMatch *bm, const char *why) {
        int r;

        bm->slot = sd_bus_slot_unref(bm->slot);
        r = sd_event_add_time_relative(
                sd_bus_get_event(bm->bus),
                &bm->retry_source,
                CLOCK_MONOTONIC,
                BUS_MATCH_RETRY_USEC,
                USEC_PER_SEC / 10,
                bus_match_retry,
                bm);
        if (r < 0) {
                log_error_errno(
                        r,
                        "Cannot watch %s.%s (%s), and cannot ask again: %m",
                        bm->interface,
                        bm->member,
                        why);
                return;
        }
        (void) sd_event_source_set_description(bm->retry_source, "bus-match-retry");
        log_error(
                "Cannot watch %s.%s (%s); asking again in %llus.",
                bm->interface,
                bm->member,
                why,
                (unsigned long long) (BUS_MATCH_RETRY_USEC / USEC_PER_SEC));
}

static int bus_match_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        BusMatch *bm = userdata;
        int r;

        bm->retry_source = sd_event_source_disable_unref(bm->retry_source);
        r = bus_match_install(bm);
        if (r < 0) /* e.g. the outgoing queue is full (-ENOBUFS) */
                bus_match_schedule_retry(bm, strerror(-r));
        return 0;
}

static int bus_match_installed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BusMatch *bm = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        _cleanup_free_ char *why = NULL;

        if (!e) {
                log_debug("Watching %s.%s.", bm->interface, bm->member);
                if (bm->installed)
                        bm->installed(bm->userdata);
                return 0;
        }
        /* sd-bus holds the slot while it calls us: dropping our reference (in the retry) is safe. */
        if (asprintf(&why, "the bus refused the match rule: %s", e->message) < 0)
                why = NULL;
        bus_match_schedule_retry(bm, why ?: "the bus refused the match rule");
        return 0;
}

static int bus_match_install(BusMatch *bm) {
        int r;

        r = sd_bus_match_signal_async(
                bm->bus,
                &bm->slot,
                bm->sender,
                bm->path,
                bm->interface,
                bm->member,
                bus_match_dispatch,
                bus_match_installed,
                bm);
        if (r < 0)
                return log_debug_errno(r, "Failed to ask for %s.%s: %m", bm->interface, bm->member);
        return 0;
}

int bus_match_new(
        sd_bus *bus,
        const char *sender,
        const char *path,
        const char *interface,
        const char *member,
        sd_bus_message_handler_t callback,
        void (*installed)(void *userdata),
        void *userdata,
        BusMatch **ret) {
        _cleanup_(bus_match_freep) BusMatch *bm = NULL;
        int r;

        assert(ret);
        assert(bus);

        bm = calloc(1, sizeof(BusMatch));
        if (!bm)
                return log_oom();
        bm->bus = sd_bus_ref(bus);
        bm->sender = sender;
        bm->path = path;
        bm->interface = interface;
        bm->member = member;
        bm->callback = callback;
        bm->installed = installed;
        bm->userdata = userdata;
        r = bus_match_install(bm);
        if (r < 0)
                return log_error_errno(r, "Failed to watch %s.%s: %m", interface, member);
        *ret = TAKE_PTR(bm);
        return 0;
}

BusMatch *bus_match_free(BusMatch *bm) {
        if (!bm)
                return NULL;
        sd_bus_slot_unref(bm->slot);
        sd_event_source_disable_unref(bm->retry_source);
        sd_bus_unref(bm->bus);
        free(bm);
        return NULL;
}
