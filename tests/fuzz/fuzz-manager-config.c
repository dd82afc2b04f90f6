/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The configuration parser (/etc/warden/wardend.conf, manager_config_load_text()). A file that loads must
 * dump (manager_config_dump()) to a text that loads again to the same configuration, and the second dump
 * must be the first one; a file that does not load must say why and leave the configuration in force
 * untouched. Like config_parse_file(), text with a NUL byte is not a configuration file.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "manager-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dump(const ManagerConfig *c) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f;

        f = open_memstream(&buf, &n);
        if (!f)
                abort();
        manager_config_dump(c, f);
        if (fclose(f) != 0)
                abort();
        return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = NULL, *first = NULL, *second = NULL, *before = NULL, *message = NULL;
        ManagerConfig c, again;
        int r;

        if (memchr(data, '\0', size))
                return 0;
        text = strndup((const char *) data, size);
        if (!text)
                return 0;
        log_set_max_level(LOG_CRIT);

        /* a configuration in force, with every string set: a failed load must leave it as it was */
        manager_config_init(&c);
        if (manager_config_load_text(&c, "defaults", "", NULL) < 0)
                abort();
        before = dump(&c);

        r = manager_config_load_text(&c, "fuzz.conf", text, &message);
        if (r < 0) {
                _cleanup_free_ char *after = NULL;

                if (r != -EINVAL && r != -ERANGE && r != -ENOMEM)
                        abort();
                /* every refusal names the file, for an administrator to find it */
                if (r != -ENOMEM && (!message || !strstr(message, "fuzz.conf")))
                        abort();
                after = dump(&c);
                if (!streq(before, after))
                        abort();
                manager_config_done(&c);
                return 0;
        }

        if (!c.depot_path || !c.default_rootfs || !c.user || c.max_containers == 0 || c.uid_count == 0 ||
            c.port_range[0] > c.port_range[1] || c.pool.prefixlen > 30 ||
            (uint64_t) c.uid_base + c.uid_count > UINT32_MAX)
                abort();
        (void) manager_config_pool_size(&c);

        first = dump(&c);
        manager_config_init(&again);
        r = manager_config_load_text(&again, "dump", first, NULL);
        if (r < 0)
                abort();
        second = dump(&again);
        if (!streq(first, second))
                abort();
        if (again.idle_timeout_usec != c.idle_timeout_usec || again.grace_time_usec != c.grace_time_usec ||
            again.stop_timeout_usec != c.stop_timeout_usec || again.job_output_limit != c.job_output_limit ||
            again.allow_networks.n != c.allow_networks.n || again.deny_networks.n != c.deny_networks.n)
                abort();

        manager_config_done(&again);
        manager_config_done(&c);
        return 0;
}
