#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Access: a non-root caller may read (Ping, Echo, List, Info, properties, introspection) but is refused
# every mutating method with AccessDenied; a member of the group "warden" gets through to the method.
# The bus policy lets everyone send the methods (like machined's), wardend refuses them itself (through
# polkit, test-polkit.sh); what is not a method of wardend's interfaces is refused by the bus.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

M=(org.warden.Manager /org/warden/Manager org.warden.Manager)

GDBUS=(gdbus call --system --dest org.warden.Manager --object-path /org/warden/Manager)
send() { # send METHOD GVARIANT-ARGS... (as root)
    "${GDBUS[@]}" --method "org.warden.Manager.$1" "${@:2}"
}
nobody_send() {
    as_nobody "${GDBUS[@]}" --method "org.warden.Manager.$1" "${@:2}"
}

# reading is allowed to anyone
as_nobody busctl call "${M[@]}" Ping || fail "nobody may Ping"
assert_eq "$(as_nobody busctl call "${M[@]}" Echo s hi)" 's "hi"' "nobody may Echo"
assert_eq "$(as_nobody busctl call "${M[@]}" List 'a{ss}' 0)" "as 0" "nobody may List"
as_nobody busctl get-property "${M[@]}" Version >/dev/null || fail "nobody may read properties"
as_nobody busctl introspect "${M[@]}" >/dev/null || fail "nobody may introspect"
assert_eq "$(error_of nobody_send Info nope)" org.warden.Error.NoSuchContainer "nobody's Info"
as_nobody wardenctl ping >/dev/null || fail "nobody may run wardenctl ping"
as_nobody wardenctl list >/dev/null || fail "nobody may run wardenctl list"

# changing anything is not
assert_eq "$(error_of nobody_send Create "@a{sv} {}")" \
    org.freedesktop.DBus.Error.AccessDenied "nobody's Create"
assert_eq "$(error_of nobody_send Destroy x)" org.freedesktop.DBus.Error.AccessDenied "nobody's Destroy"
assert_eq "$(error_of nobody_send Stop x true)" \
    org.freedesktop.DBus.Error.AccessDenied "nobody's Stop"
assert_eq "$(error_of nobody_send LimitMemory x "uint64 1")" \
    org.freedesktop.DBus.Error.AccessDenied "nobody's LimitMemory"
# ... and it is wardend that refuses (polkit, or the group without it), not the bus policy
out=$(nobody_send Destroy x 2>&1) && fail "nobody's Destroy succeeded: $out"
[[ $out != *"Rejected send message"* ]] || fail "the bus policy refused nobody's Destroy: $out"
assert_match "$out" "polkit refuses|polkit is not available" "wardend refused nobody's Destroy"
# what is not a method of wardend's interfaces is refused by the bus: a property Set, a call without interface
out=$(as_nobody busctl set-property "${M[@]}" Version s x 2>&1) && fail "nobody's Set succeeded: $out"
assert_contains "$out" "Access denied" "the bus refuses nobody's Set"
out=$(as_nobody python3 -c '
import dbus, dbus.lowlevel
m = dbus.lowlevel.MethodCallMessage("org.warden.Manager", "/org/warden/Manager", None, "Destroy")
m.append("x", signature="s")
dbus.SystemBus().send_message_with_reply_and_block(m, 10000)' 2>&1) &&
    fail "nobody's Destroy without interface succeeded: $out"
assert_contains "$out" "Rejected send message" "the bus refuses a call without interface"
# nor owning the name
assert_fails as_nobody busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
    RequestName su org.warden.Manager 4

# a member of the group "warden" passes wardend's check (polkit's rules file, or the group without polkit)
id wardentest >/dev/null 2>&1 || useradd --no-create-home --shell /bin/false -G warden wardentest
member_send() {
    setpriv --reuid=wardentest --regid=wardentest --init-groups -- \
        "${GDBUS[@]}" --method "org.warden.Manager.$1" "${@:2}"
}
trap destroy_all EXIT
out=$(member_send Create "{'handle': <'by-member'>, 'grace_time': <uint32 0>}") || fail "warden member's Create: $out"
assert_eq "$(member_send Destroy by-member)" "()" "warden member's Destroy"
assert_eq "$(error_of member_send Destroy x)" org.warden.Error.NoSuchContainer "warden member's Destroy of nothing"
assert_eq "$(error_of member_send LimitMemory x 0)" org.warden.Error.NoSuchContainer "warden member's LimitMemory"

# root too
assert_eq "$(error_of send Create "{'rootfs': <'/nonexistent'>}")" org.warden.Error.RootfsNotFound \
    "root's Create"
echo "ok: access" >&2
