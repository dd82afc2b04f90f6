#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Create with bad input fails with the named error, and a Create that fails anywhere — before anything
# exists, or in the middle (rootfs mounted, scope started, wshd running) — leaves nothing behind: no mount,
# link, unit, cgroup, directory, state file or pool entry.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

save_config
bad=$(mktemp -d /var/tmp/badroot.XXXXXX)
cleanup() {
    destroy_all
    ip link del w-0-0 2>/dev/null || true
    systemctl stop warden-taken.scope 2>/dev/null || true
    rm -rf "$bad"
    restore_config
}
trap cleanup EXIT

gd() { error_of "${GDBUS_MANAGER[@]}" --method org.warden.Manager.Create "$@"; }

# validation errors: nothing is even started
assert_eq "$(gd "{'handle': <'bad/handle'>}")" org.warden.Error.InvalidHandle "bad handle"
assert_eq "$(gd "{'rootfs': <'/nonexistent'>}")" org.warden.Error.RootfsNotFound "missing rootfs"
assert_eq "$(gd "{'rootfs': <'relative/path'>}")" org.freedesktop.DBus.Error.InvalidArgs "relative rootfs"
assert_eq "$(gd "{'bind_mounts': <[('/nonexistent', '/mnt', false)]>}")" org.warden.Error.BindMountSource "missing bind source"
assert_eq "$(gd "{'bind_mounts': <[('/tmp', '/mnt/../..', false)]>}")" org.freedesktop.DBus.Error.InvalidArgs "bind destination with .."
ln -sfn /sys /run/warden-test-sys-link
for src in /proc /dev /run/warden-test-sys-link /var/lib/warden /var; do
    assert_eq "$(gd "{'bind_mounts': <[('$src', '/mnt', true)]>}")" org.freedesktop.DBus.Error.InvalidArgs \
        "bind mount of $src"
done
rm -f /run/warden-test-sys-link
assert_eq "$(gd "{'network': <'192.168.1.1'>}")" org.freedesktop.DBus.Error.InvalidArgs "network outside the pool"
assert_eq "$(gd "{'network': <'garbage'>}")" org.freedesktop.DBus.Error.InvalidArgs "network not an address"
assert_eq "$(gd "{'bogus': <'x'>}")" org.freedesktop.DBus.Error.InvalidArgs "unknown option"
assert_eq "$(gd "{'grace_time': <'x'>}")" org.freedesktop.DBus.Error.InvalidArgs "wrong type"
assert_eq "$(gd "{'env': <['NOEQUALS']>}")" org.freedesktop.DBus.Error.InvalidArgs "bad env"
msg=$("${GDBUS_MANAGER[@]}" --method org.warden.Manager.Create "{'bogus': <'x'>}" 2>&1 || true)
assert_contains "$msg" "Unknown option 'bogus'" "the message names the key"
assert_eq "$(wardenctl list)" "" "nothing registered after validation errors"
[[ -z $(ls -A "$WARDEN_DEPOT" 2>/dev/null) ]] || fail "depot not empty: $(ls -A "$WARDEN_DEPOT")"

# exists; taken network; pool state is right after each failure
create e1 1 network s 10.254.0.1
assert_eq "$(gd "{'handle': <'e1'>}")" org.warden.Error.ContainerExists "existing handle"
assert_eq "$(gd "{'network': <'10.254.0.2'>}")" org.warden.Error.PoolExhausted "taken network"
"${BUSCTL_MANAGER[@]}" Destroy s e1
assert_clean e1 w-0-0

# mid-create failure 1: the scope's unit name is taken (rootfs already mounted)
systemd-run --unit=warden-taken.scope --scope --quiet sleep 1000 &
wait_until 5 systemctl is-active --quiet warden-taken.scope
assert_eq "$(gd "{'handle': <'taken'>, 'network': <'10.254.0.1'>}")" org.warden.Error.ContainerExists "unit exists"
[[ -z $(grep -F " $WARDEN_DEPOT/taken" /proc/self/mountinfo) ]] || fail "mount left after a failed scope start"
[[ ! -e $WARDEN_DEPOT/taken ]] || fail "directory left after a failed scope start"
[[ ! -e /run/warden/containers/taken ]] || fail "state file left"
systemctl stop warden-taken.scope
ip link show w-0-0 >/dev/null 2>&1 && fail "link left"

# mid-create failure 2: the rootfs cannot be set up (its proc is a file): the overlay was mounted already
cp -a /usr/lib/warden/rootfs/. "$bad/"
rmdir "$bad/proc" && touch "$bad/proc"
msg=$("${GDBUS_MANAGER[@]}" --method org.warden.Manager.Create "{'handle': <'badproc'>, 'rootfs': <'$bad'>, 'network': <'10.254.0.1'>}" 2>&1 || true)
assert_contains "$msg" "root file system" "the error says the rootfs failed"
assert_clean badproc w-0-0

# mid-create failure 3: wshd cannot fork into its namespaces (TasksMax=1 holds only the helper): the
# rootfs is mounted, the scope started, the helper ran
msg=$("${GDBUS_MANAGER[@]}" --method org.warden.Manager.Create "{'handle': <'badpids'>, 'pids_limit': <uint64 1>, 'network': <'10.254.0.1'>}" 2>&1 || true)
assert_contains "$msg" "Failed to start wshd" "the error says wshd failed"
assert_clean badpids w-0-0

# mid-create failure 4: the veth name is taken (rootfs, scope and wshd exist)
ip link add w-0-0 type veth peer name w-0-0p
msg=$("${GDBUS_MANAGER[@]}" --method org.warden.Manager.Create "{'handle': <'badnet'>, 'network': <'10.254.0.1'>}" 2>&1 || true)
assert_contains "$msg" "w-0-0" "the error names the link"
ip link del w-0-0
assert_clean badnet w-0-0

# after all these failures the /30 and the handle are free again
create again 1 network s 10.254.0.1
assert_eq "$(info again host_ip)" 10.254.0.1 "the network was released"
"${BUSCTL_MANAGER[@]}" Destroy s again
assert_clean again w-0-0

# an exhausted pool: one /30 only
printf '[network]\npool = 10.254.0.0/30\n' >"$WARDEN_CONF"
systemctl restart warden.service
create only
assert_eq "$(gd "{'handle': <'second'>}")" org.warden.Error.PoolExhausted "exhausted pool"
assert_clean second
"${BUSCTL_MANAGER[@]}" Destroy s only
assert_clean only w-0-0
echo "ok: create errors" >&2
