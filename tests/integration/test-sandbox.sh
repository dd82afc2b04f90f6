#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Smoke test of the test sandbox itself (tests/sandbox/sandbox): everything the
# other integration tests rely on.  Runs inside the sandbox, as root.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# PID 1 is systemd, and it has finished booting
exe=$(readlink /proc/1/exe)
assert_match "$exe" '/systemd/systemd$' "PID 1 is not systemd"
state=$(systemctl is-system-running || true)
assert_match "$state" '^(running|degraded)$' "system state"

# the system bus answers, and D-Bus activation works (dbus.socket)
busctl --system call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
    org.freedesktop.DBus.Peer Ping >/dev/null || fail "system bus does not answer"
assert_eq "$(systemctl is-active dbus.socket)" active "dbus.socket"

# a transient scope in warden.slice gets real cgroup limits (v1 memory and pids here; cgroup2 elsewhere)
unit=sandbox-smoke-$$.scope
if [[ -d /sys/fs/cgroup/memory ]]; then
    files=("/sys/fs/cgroup/memory/warden.slice/$unit/memory.limit_in_bytes" "/sys/fs/cgroup/pids/warden.slice/$unit/pids.max")
else
    files=("/sys/fs/cgroup/warden.slice/$unit/memory.max" "/sys/fs/cgroup/warden.slice/$unit/pids.max")
fi
out=$(systemd-run --quiet --scope --unit="$unit" --slice=warden.slice \
        -p MemoryMax=100M -p TasksMax=50 cat "${files[@]}") \
    || fail "systemd-run --scope failed"
assert_eq "$(echo "$out" | sed -n 1p)" 104857600 "${files[0]##*/} of $unit"
assert_eq "$(echo "$out" | sed -n 2p)" 50 "pids.max of $unit"

# a private network namespace: nothing but lo
links=$(ip -o link show | awk -F': ' '{ print $2 }' | tr '\n' ' ')
assert_eq "$links" "lo " "network links"

# /var/lib/warden is a real (non-overlay) file system: a tmpfs
assert_eq "$(stat -f -c %T /var/lib/warden)" tmpfs "/var/lib/warden"

# what warden's installation needs exists
getent group warden >/dev/null || fail "group warden missing"
[[ -d /etc/warden ]] || fail "/etc/warden missing"

echo "ok: sandbox smoke test" >&2
