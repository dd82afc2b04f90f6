/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-container.h"
#include "bus-introspect.h"
#include "bus-manager.h"
#include "bus-pair.h"
#include "bus-util.h"
#include "fileio.h"
#include "log.h"

#define INTROSPECT_DOCTYPE                                                                   \
        "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n" \
        "\"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n"

int bus_introspect_extract_interface(const char *xml, const char *interface, char **ret) {
        _cleanup_free_ char *open_tag = NULL;
        const char *start, *end, *line;

        assert(xml);
        assert(interface);
        assert(ret);

        if (asprintf(&open_tag, "<interface name=\"%s\">", interface) < 0)
                return -ENOMEM;
        start = strstr(xml, open_tag);
        if (!start)
                return -ENOENT;
        end = strstr(start, "</interface>");
        if (!end)
                return -ENOENT;
        end += strlen("</interface>");
        /* keep the element's own indentation */
        for (line = start; line > xml && line[-1] == ' '; line--)
                ;
        if (asprintf(ret, INTROSPECT_DOCTYPE "<node>\n%.*s\n</node>\n", (int) (end - line), line) < 0)
                return -ENOMEM;
        return 0;
}

static int
introspect_one(sd_bus *server, sd_bus *client, const char *path, const char *interface, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        const char *xml;
        int r;

        r = sd_bus_message_new_method_call(
                client, &call, NULL, path, "org.freedesktop.DBus.Introspectable", "Introspect");
        if (r < 0)
                return r;
        r = bus_pair_call(server, client, call, &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &xml);
        if (r < 0)
                return r;
        return bus_introspect_extract_interface(xml, interface, ret);
}

static int write_xml(const char *dir, const char *interface, const char *xml) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (asprintf(&path, "%s/%s.xml", dir, interface) < 0)
                return log_oom();
        r = write_file_atomic(path, xml, strlen(xml), 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write '%s': %m", path);
        return 0;
}

int bus_introspect_dump(const char *dir) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *server = NULL, *client = NULL;
        _cleanup_free_ char *manager_xml = NULL, *container_xml = NULL, *container_path = NULL;
        _cleanup_(container_freep) Container *c = NULL;
        Manager m = {};
        int r;

        assert(dir);

        /* A bare Manager with one example container: enough for the vtables and the find callback. */
        manager_config_init(&m.config);
        m.containers = hashmap_new();
        if (!m.containers)
                return log_oom();

        r = container_new("example", &c);
        if (r >= 0)
                r = manager_add_container(&m, c);
        if (r >= 0)
                r = container_bus_path(c, &container_path);
        if (r >= 0)
                r = bus_pair_new(&server, &client);
        if (r >= 0)
                r = bus_manager_register(&m, server);
        if (r >= 0)
                r = introspect_one(
                        server, client, WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, &manager_xml);
        if (r >= 0)
                r = introspect_one(
                        server, client, container_path, WARDEN_CONTAINER_INTERFACE, &container_xml);
        if (r < 0)
                log_error_errno(r, "Failed to introspect the objects: %m");
        if (r >= 0)
                r = write_xml(dir, WARDEN_MANAGER_INTERFACE, manager_xml);
        if (r >= 0)
                r = write_xml(dir, WARDEN_CONTAINER_INTERFACE, container_xml);

        c = container_free(c);
        if (m.bus_done)
                m.bus_done(&m);
        hashmap_free(m.containers);
        manager_config_done(&m.config);
        return r;
}
