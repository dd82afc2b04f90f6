/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Writes the introspection XML of org.warden.Manager and org.warden.Container, as wardend serves them, to
 * DIR/org.warden.Manager.xml and DIR/org.warden.Container.xml: the files installed to
 * /usr/share/dbus-1/interfaces and kept in dbus/ in the source tree. Logs.
 */
int bus_introspect_dump(const char *dir);

/* Extracts the <interface name="..."> element for 'interface' from a full introspection document. -ENOENT
 * if absent, -ENOMEM. The result is wrapped in a <node> with the standard DOCTYPE. */
int bus_introspect_extract_interface(const char *xml, const char *interface, char **ret);
