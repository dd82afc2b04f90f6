/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>

#include "bus-read.h"
#include "macro.h"
#include "strv.h"

int bus_message_read_strv_max(sd_bus_message *m, size_t max, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0, allocated = 0;
        const char *s;
        int r;

        assert(ret);
        assert(m);

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &s)) > 0) {
                if (n >= max)
                        return -E2BIG;
                if (n + 2 > allocated) {
                        size_t a = allocated < 8 ? 16 : allocated * 2;
                        char **grown = reallocarray(l, a, sizeof(char *));

                        if (!grown)
                                return -ENOMEM;
                        l = grown;
                        allocated = a;
                }
                l[n] = strdup(s); /* NULL on failure: the list stays terminated */
                if (!l[n])
                        return -ENOMEM;
                l[++n] = NULL;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

int bus_message_read_env(sd_bus_message *m, size_t max, char ***ret, sd_bus_error *error) {
        _cleanup_strv_free_ char **env = NULL;
        int r;

        assert(m);
        assert(ret);

        r = bus_message_read_strv_max(m, max, &env);
        if (r == -E2BIG)
                return sd_bus_error_setf(
                        error, SD_BUS_ERROR_INVALID_ARGS, "Option 'env' has more than %zu entries.", max);
        if (r < 0)
                return r;
        STRV_FOREACH(e, env) {
                const char *eq = strchr(*e, '=');

                if (!eq || eq == *e)
                        return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'env': '%s' is not of the form KEY=VALUE.",
                                *e);
        }
        *ret = TAKE_PTR(env);
        return 0;
}
