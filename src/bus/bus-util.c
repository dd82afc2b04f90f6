/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus-util.h"
#include "macro.h"
#include "strv.h"

int bus_message_read_string_pairs(sd_bus_message *m, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *k, *v;
        size_t n = 0;
        int r;

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

        r = sd_bus_message_close_container(m); /* variant */
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m); /* dict entry */
}

static int
unknown_key(const char *context,
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
