#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bad input over the real bus gets named errors, and wardend survives all of it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

GDBUS=(gdbus call --system --dest org.warden.Manager)
mgr() { "${GDBUS[@]}" --object-path /org/warden/Manager --method "org.warden.Manager.$1" "${@:2}"; }

busctl call org.warden.Manager /org/warden/Manager org.warden.Manager Ping
pid=$(systemctl show -P MainPID warden.service)

assert_eq "$(error_of mgr Info nope)" org.warden.Error.NoSuchContainer "unknown handle"
assert_eq "$(error_of mgr Info '../../etc/passwd')" org.warden.Error.InvalidHandle "path as handle"
assert_eq "$(error_of mgr Info '')" org.warden.Error.InvalidHandle "empty handle"
assert_eq "$(error_of mgr Info "$(printf 'x%.0s' $(seq 65))")" org.warden.Error.InvalidHandle "65 characters"
assert_eq "$(error_of mgr Info "'-x'")" org.warden.Error.InvalidHandle "leading dash" # quoted: not an option
assert_eq "$(error_of mgr Destroy nope)" org.warden.Error.NoSuchContainer "Destroy of unknown handle"
assert_eq "$(error_of mgr NoSuchMethod)" org.freedesktop.DBus.Error.UnknownMethod "unknown method"
# wrong signatures: dbus-send sends exactly what it is told (gdbus would convert the arguments)
raw() { dbus-send --system --print-reply --dest=org.warden.Manager /org/warden/Manager "org.warden.Manager.$1" "${@:2}"; }
assert_eq "$(error_of raw Echo int32:42)" org.freedesktop.DBus.Error.InvalidArgs "Echo with an int"
assert_eq "$(error_of raw Info)" org.freedesktop.DBus.Error.InvalidArgs "Info without argument"
assert_eq "$(error_of raw Info string:a string:b)" org.freedesktop.DBus.Error.InvalidArgs "Info with two arguments"
assert_eq "$(error_of raw List string:a)" org.freedesktop.DBus.Error.InvalidArgs "List with a string"
assert_eq "$(error_of raw Info string:café)" org.warden.Error.InvalidHandle "non-ASCII handle"
assert_eq "$(error_of raw Info string:$'a\nb')" org.warden.Error.InvalidHandle "newline in a handle"
assert_eq "$(error_of mgr Create "{'handle': <'no/slash'>}")" org.warden.Error.InvalidHandle "Create with a bad handle"
assert_eq "$(error_of raw Create string:x)" org.freedesktop.DBus.Error.InvalidArgs "Create with a string"
assert_eq "$(error_of "${GDBUS[@]}" --object-path /org/warden/container/nope \
    --method org.warden.Container.Info)" org.freedesktop.DBus.Error.UnknownObject "unknown container object"
assert_eq "$(error_of "${GDBUS[@]}" --object-path /org/warden/Nothing --method org.warden.Manager.Ping)" \
    org.freedesktop.DBus.Error.UnknownObject "unknown object"

# a large echo round-trips
big=$(head -c 100000 /dev/zero | tr '\0' 'x')
assert_eq "$(busctl call org.warden.Manager /org/warden/Manager org.warden.Manager Echo s "$big" | wc -c)" \
    100005 "large Echo"

assert_eq "$(systemctl show -P MainPID warden.service)" "$pid" "wardend restarted: it crashed"
assert_eq "$(systemctl show -P NRestarts warden.service)" 0 "restarts"
echo "ok: errors" >&2
