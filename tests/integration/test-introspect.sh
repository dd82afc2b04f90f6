#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What wardend serves on the system bus matches the installed introspection XML (dbus/*.xml).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# the <interface name="IFACE"> element of an introspection document
interface_of() {
    awk -v want="<interface name=\"$1\">" '
        index($0, want) { on = 1 }
        on { print }
        on && /<\/interface>/ { exit }'
}

live=$(busctl introspect --xml-interface org.warden.Manager /org/warden/Manager | interface_of org.warden.Manager)
installed=$(interface_of org.warden.Manager </usr/share/dbus-1/interfaces/org.warden.Manager.xml)
[[ -n $live ]] || fail "no org.warden.Manager interface served"
if [[ $live != "$installed" ]]; then
    diff <(echo "$installed") <(echo "$live") >&2 || true
    fail "served org.warden.Manager differs from the installed XML"
fi

# every method of the API is there
for method in Ping Echo Create Stop Destroy List Info Spawn Link Stream Run Signal CopyIn CopyOut \
    NetIn NetOut LimitMemory LimitCpu LimitCpuQuota LimitDisk LimitBandwidth; do
    grep -q "<method name=\"$method\">" <<<"$live" || fail "method $method missing"
done
for signal in ContainerCreated ContainerDestroyed JobExited OutOfMemory; do
    grep -q "<signal name=\"$signal\">" <<<"$live" || fail "signal $signal missing"
done
grep -q 'org.warden.Container' /usr/share/dbus-1/interfaces/org.warden.Container.xml \
    || fail "org.warden.Container.xml not installed"

# the object tree
tree=$(busctl tree --list org.warden.Manager)
assert_contains "$tree" "/org/warden/Manager" "busctl tree"

# properties
assert_match "$(busctl get-property org.warden.Manager /org/warden/Manager org.warden.Manager Version)" \
    '^s "[0-9]+\.[0-9]+\.[0-9]+"$' "Version"
assert_eq "$(busctl get-property org.warden.Manager /org/warden/Manager org.warden.Manager Containers)" \
    "as 0" "Containers"
# its change signal names it without its value: the value on every Create would be O(n²) bytes for n containers
assert_match "$(busctl introspect org.warden.Manager /org/warden/Manager org.warden.Manager | grep '^\.Containers ')" \
    'emits-invalidation' "Containers is EmitsChangedSignal=invalidates"
echo "ok: introspection" >&2
