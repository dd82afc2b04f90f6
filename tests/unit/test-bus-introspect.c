/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * dbus/org.warden.Manager.xml and dbus/org.warden.Container.xml must be exactly what wardend serves: the
 * XML files are the API's machine-readable form, installed for clients, and must not drift.
 * To update them after changing a vtable: build/src/wardend --bus-introspect=dbus/
 */

#include "bus-introspect.h"
#include "fileio.h"
#include "macro.h"
#include "tests.h"

static void compare(const char *interface) {
        const char *src = getenv("WARDEN_SOURCE_ROOT");
        char *expected_path = NULL, *actual_path = NULL, *expected = NULL, *actual = NULL;

        if (!src)
                tests_skip("WARDEN_SOURCE_ROOT is not set (run through meson test)");
        ASSERT_TRUE(asprintf(&expected_path, "%s/dbus/%s.xml", src, interface) > 0);
        ASSERT_TRUE(asprintf(&actual_path, "%s/%s.xml", tests_tmpdir(), interface) > 0);
        ASSERT_OK(read_full_file(expected_path, 1 << 20, &expected, NULL));
        ASSERT_OK(read_full_file(actual_path, 1 << 20, &actual, NULL));
        if (!streq(expected, actual))
                tests_fail(
                        __FILE__,
                        __LINE__,
                        "%s differs from what wardend serves; regenerate with "
                        "'wardend --bus-introspect=dbus/'.\n--- served:\n%s",
                        expected_path,
                        actual);
        free(expected_path);
        free(actual_path);
        free(expected);
        free(actual);
}

TEST(xml_files_match_vtables) {
        ASSERT_OK(bus_introspect_dump(tests_tmpdir()));
        compare("org.warden.Manager");
        compare("org.warden.Container");
}

TEST(extract_interface) {
        char *x = NULL;

        ASSERT_OK(bus_introspect_extract_interface(
                "<node>\n <interface name=\"a.B\">\n  <method name=\"M\"/>\n </interface>\n</node>",
                "a.B",
                &x));
        ASSERT_TRUE(
                strstr(x,
                       "<node>\n <interface name=\"a.B\">\n  <method name=\"M\"/>\n "
                       "</interface>\n</node>\n"));
        free(x);
        ASSERT_ERROR(bus_introspect_extract_interface("<node/>", "a.B", &x), ENOENT);
}
