#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Host paths that never reach a container (org.warden.Manager(5), HOST PATHS), not even root's: /proc, /sys,
# /dev, /run/dbus, /run/systemd, /run/warden, /run as a whole, /var/lib/warden, the depot and every
# container's directory, and whatever contains one of them, as a bind mount source and as a rootfs, named
# directly, through a symlink or below a symlinked directory: InvalidArgs naming the rule, and nothing left
# behind. A rootfs through a symlink is used as it resolves. cpu_quota: 1-100000, 0 (the default) and
# UINT64_MAX (none), nothing else. CopyIn writes under a temporary name owned by the container's user from
# the start: a wardend killed in the middle leaves no partial file under the final name, and the next
# CopyIn into that directory removes the leftover.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

work=/srv/hostpaths-test
img=/var/tmp/hostpaths-test.img
mnt=/var/tmp/hostpaths-test.mnt
cleanup() {
    set +e
    systemctl set-property --runtime warden.service IOReadBandwidthMax= 2>/dev/null
    destroy_all
    umount "$mnt" 2>/dev/null
    rm -rf "$work" "$img" "$mnt"
    restore_config
}
save_config
trap cleanup EXIT
mkdir -p "$work"

gd() { "${GDBUS_MANAGER[@]}" --method org.warden.Manager.Create "$@" 2>&1; }
nothing_left() { # nothing_left WHAT: no container registered but c1, nothing in the depot but c1's
    assert_eq "$(wardenctl list)" c1 "containers after $1"
    assert_eq "$(ls -A "$WARDEN_DEPOT")" c1 "depot after $1"
    assert_eq "$(ls -A /run/warden/containers)" c1 "state files after $1"
}
refused() { # refused OPTION PATH RULE-PART: Create with PATH as OPTION (bind_mounts or rootfs) is refused
    local option=$1 path=$2 rule=$3 out
    if [[ $option == bind_mounts ]]; then
        out=$(gd "{'bind_mounts': <[('$path', '/mnt', true)]>}") && fail "bind mount of $path: $out"
    else
        out=$(gd "{'rootfs': <'$path'>}") && fail "rootfs $path: $out"
    fi
    assert_contains "$out" org.freedesktop.DBus.Error.InvalidArgs "$option $path"
    assert_contains "$out" "are never mounted into a container" "$option $path: the message"
    assert_contains "$out" "$rule" "$option $path: the rule"
}

fds() { find "/proc/$(systemctl show -P MainPID warden.service)/fd" -mindepth 1 | wc -l; }
# A Destroy answers before the veth is deleted (a worker with its netlink socket): give that a moment too.
fds_are() { [[ $(fds) == "$1" ]]; }

create c1
c1=$WARDEN_DEPOT/c1
fds_before=$(fds)

# ---- never mounted, named directly ----------------------------------------------------------------------
kernel="the kernel's interfaces"
daemons="host daemons' sockets and state"
state="wardend's state and depot"
for option in bind_mounts rootfs; do
    for p in /proc /proc/1 /sys /sys/fs/cgroup /dev /dev/shm /; do refused $option $p "$kernel"; done
    for p in /run/dbus /run/systemd /run/systemd/journal /run; do refused $option $p "$daemons"; done
    for p in /run/warden /run/warden/containers /var/lib/warden "$WARDEN_DEPOT" "$c1" "$c1/upper" \
        "$c1/rootfs" /var/lib /var; do
        refused $option "$p" "$state"
    done
done
# the resolved path is named in the message
refused bind_mounts /var/run/dbus "(resolved: '/run/dbus')"
nothing_left "the refused paths"

# ---- through symlinks -------------------------------------------------------------------------------------
ln -s /run/dbus "$work/bus"
ln -s /run "$work/run"
ln -s "$c1" "$work/other"
ln -s / "$work/root"
ln -s /sys "$work/sys"
for option in bind_mounts rootfs; do
    refused $option "$work/bus" "(resolved: '/run/dbus')"
    refused $option "$work/run" "(resolved: '/run')"
    refused $option "$work/run/systemd" "(resolved: '/run/systemd')"
    refused $option "$work/other" "(resolved: '$c1')"
    refused $option "$work/other/upper" "(resolved: '$c1/upper')"
    refused $option "$work/root" "(resolved: '/')"
    refused $option "$work/sys/kernel" "(resolved: '/sys/kernel')"
done
refused bind_mounts "$work/bus/system_bus_socket" "(resolved: '/run/dbus/system_bus_socket')"
nothing_left "the refused symlinks"
wait_until 20 fds_are "$fds_before" # nothing of the refused Creates stays open

# ---- a rootfs is a directory; through a symlink it is used as it resolves --------------------------------
touch "$work/file"
assert_eq "$(error_of gd "{'rootfs': <'$work/file'>}")" org.warden.Error.RootfsNotFound "a file as rootfs"
ln -s /usr/lib/warden/rootfs "$work/rootfs-link"
create c2 1 rootfs s "$work/rootfs-link"
assert_eq "$(info c2 rootfs)" /usr/lib/warden/rootfs "c2's rootfs, resolved"
assert_eq "$(in_container c2 cat /etc/hostname)" c2 "c2 runs"
"${BUSCTL_MANAGER[@]}" Destroy s c2
assert_clean c2
# a bind source elsewhere works, as root
mkdir "$work/share"
echo shared >"$work/share/f"
create c3 1 bind_mounts 'a(ssb)' 1 "$work/share" /mnt/share true
assert_eq "$(in_container c3 cat /mnt/share/f)" shared "c3's bind mount"
"${BUSCTL_MANAGER[@]}" Destroy s c3
assert_clean c3
nothing_left "c2 and c3"
wait_until 20 fds_are "$fds_before" # the bind source's fd is closed, among others

# ---- cpu_quota: 1-100000, 0 = default, UINT64_MAX = none ------------------------------------------------
create q1 1 cpu_quota t 18446744073709551615
assert_eq "$(info q1 cpu_quota)" 0 "cpu_quota UINT64_MAX is none"
create q2 1 cpu_quota t 100000
assert_eq "$(info q2 cpu_quota)" 100000 "cpu_quota 100000"
for q in 100001 18446744073709551614 1000000; do
    out=$(gd "{'cpu_quota': <uint64 $q>}") && fail "cpu_quota $q accepted: $out"
    assert_contains "$out" org.freedesktop.DBus.Error.InvalidArgs "cpu_quota $q"
    assert_contains "$out" "must be from 1 to 100000 percent" "cpu_quota $q: the message"
    assert_contains "$out" "18446744073709551615: none" "cpu_quota $q: the message names none"
done
"${BUSCTL_MANAGER[@]}" Destroy s q1
"${BUSCTL_MANAGER[@]}" Destroy s q2
nothing_left "cpu_quota"

# ---- CopyIn: a temporary name, the right owner from the start, cleaned by the next CopyIn -----------------
# The source is on a file system of its own whose reads warden.service may do at 1 MiB/s only (the cgroup's
# I/O limit on its loop device): the copy of 8 MiB is in flight for seconds, with its temporary file there.
truncate -s 64M "$img"
mkfs.ext4 -q -F "$img"
mkdir -p "$mnt"
mount -o loop "$img" "$mnt"
head -c 8M /dev/urandom >"$mnt/big"
dev=$(findmnt -n -o SOURCE "$mnt")
umount "$mnt" # nothing of big stays in the page cache
mount -o loop,ro "$img" "$mnt"
dev=$(findmnt -n -o SOURCE "$mnt")
systemctl set-property --runtime warden.service IOReadBandwidthMax="$dev 1M"
uid=$(in_container c1 sed -n 's/^vcap:x:\([0-9]*\):.*/\1/p' /etc/passwd)
"${BUSCTL_MANAGER[@]}" CopyIn sss c1 "$mnt/big" /home/vcap/big >/dev/null 2>&1 &
copying=$!
tmp_in_home() { in_container c1 sh -c 'ls -A /home/vcap' | grep -E '^\.#warden-copy\.' || return 1; }
has_tmp() { tmp_in_home >/dev/null; }
wait_until 60 has_tmp
tmp=$(tmp_in_home)
assert_eq "$(in_container c1 stat -c '%u %a' "/home/vcap/$tmp")" "$uid 600" "the temporary file's owner and mode"
in_container c1 test -e /home/vcap/big && fail "the final name exists while the copy runs"
kill -9 "$(systemctl show -P MainPID warden.service)"
wait "$copying" && fail "the CopyIn succeeded although wardend was killed"
systemctl set-property --runtime warden.service IOReadBandwidthMax=
systemctl reset-failed warden.service 2>/dev/null || true
assert_eq "$(info c1 state)" active "c1 after wardend was killed" # adopted
in_container c1 test -e /home/vcap/big && fail "a partial file under the final name"
assert_eq "$(tmp_in_home)" "$tmp" "the temporary file stays until the next copy into its directory"
echo small >"$work/small"
"${BUSCTL_MANAGER[@]}" CopyIn sss c1 "$work/small" /home/vcap/small
assert_eq "$(tmp_in_home || true)" "" "the next CopyIn removed the leftover"
assert_eq "$(in_container c1 stat -c '%u %n' /home/vcap/small)" "$uid /home/vcap/small" "the small file"
"${BUSCTL_MANAGER[@]}" CopyIn sss c1 "$mnt/big" /home/vcap/big
assert_eq "$(in_container c1 md5sum /home/vcap/big | cut -d' ' -f1)" "$(md5sum "$mnt/big" | cut -d' ' -f1)" \
    "the big file, copied again"

"${BUSCTL_MANAGER[@]}" Destroy s c1
assert_clean c1
echo "ok: host paths" >&2
