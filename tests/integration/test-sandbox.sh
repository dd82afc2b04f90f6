#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Smoke test of the host the integration tests run on: everything the other
# integration tests rely on.  That host is the test sandbox (tests/sandbox/sandbox;
# WARDEN_IN_SANDBOX=1), or a systemd host with warden installed (WARDEN_TESTS_DIRECT=1,
# e.g. the Debian guest of tests/vm/vm).  Runs as root.
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

# a transient scope in warden.slice gets real cgroup limits: in the memory and pids
# hierarchies on cgroup v1 (the sandbox), in the scope's own cgroup on cgroup2
unit=sandbox-smoke-$$.scope
if [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]]; then
    files=("/sys/fs/cgroup/warden.slice/$unit/memory.max" "/sys/fs/cgroup/warden.slice/$unit/pids.max")
else
    files=("/sys/fs/cgroup/memory/warden.slice/$unit/memory.limit_in_bytes"
           "/sys/fs/cgroup/pids/warden.slice/$unit/pids.max")
fi
out=$(systemd-run --quiet --scope --unit="$unit" --slice=warden.slice \
        -p MemoryMax=100M -p TasksMax=50 cat "${files[@]}") \
    || fail "systemd-run --scope failed"
assert_eq "$(echo "$out" | sed -n 1p)" 104857600 "${files[0]}"
assert_eq "$(echo "$out" | sed -n 2p)" 50 "${files[1]}"

# /var/lib/warden is a file system that overlayfs accepts as an upper layer (not an
# overlay: the sandbox's root is one, so it mounts a tmpfs there)
fs=$(stat -f -c %T /var/lib/warden)
t=$(mktemp -d /var/lib/warden/.smoke.XXXXXX)
trap 'umount "$t/m" 2>/dev/null || true; rm -rf --one-file-system "$t"' EXIT
mkdir "$t/lower" "$t/upper" "$t/work" "$t/m"
mount -t overlay smoke -o "lowerdir=$t/lower,upperdir=$t/upper,workdir=$t/work" "$t/m" \
    || fail "overlayfs refuses /var/lib/warden ($fs) as an upper layer"
umount "$t/m"
if [[ ${WARDEN_IN_SANDBOX:-0} == 1 ]]; then
    assert_eq "$fs" tmpfs "/var/lib/warden in the sandbox"
    # a private network namespace: nothing but lo
    links=$(ip -o link show | awk -F': ' '{ print $2 }' | tr '\n' ' ')
    assert_eq "$links" "lo " "network links"
fi

# what warden's installation needs exists
getent group warden >/dev/null || fail "group warden missing"
[[ -d /etc/warden ]] || fail "/etc/warden missing"

echo "ok: sandbox smoke test" >&2
