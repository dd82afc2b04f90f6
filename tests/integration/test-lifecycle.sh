#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Create → the container is real (scope, namespaces, overlay, veth, hostname, user) → Stop → Destroy leaves
# nothing behind; a second Destroy is NoSuchContainer.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

trap destroy_all EXIT
h=life1
ro_src=$(mktemp -d /var/tmp/ro-src.XXXXXX)
rw_src=$(mktemp -d /var/tmp/rw-src.XXXXXX)
echo hello >"$ro_src/file"
trap 'destroy_all; rm -rf "$ro_src" "$rw_src"' EXIT

# signals: listen before creating
gdbus monitor --system --dest org.warden.Manager >/run/life-signals.txt 2>&1 &
monitor=$!
sleep 0.3

out=$("${BUSCTL_MANAGER[@]}" Create 'a{sv}' 5 handle s "$h" grace_time u 0 \
    properties 'a{ss}' 1 app web env as 1 FOO=bar \
    bind_mounts 'a(ssb)' 2 "$ro_src" /mnt/ro true "$rw_src" /data/rw false)
assert_eq "$out" "so \"$h\" \"/org/warden/container/$h\"" "Create's reply"

pid=$(leader "$h")
[[ $pid =~ ^[0-9]+$ && $pid -gt 1 ]] || fail "no leader pid: '$pid'"
assert_eq "$(info "$h" state)" active "state"
assert_eq "$(busctl get-property org.warden.Manager "/org/warden/container/$h" org.warden.Container State)" \
    's "active"' "State property"
assert_eq "$(wardenctl list --property app=web)" "$h" "list by property"

# the scope: active, in warden.slice, wshd in it
assert_eq "$(systemctl is-active "warden-$h.scope")" active "scope state"
assert_eq "$(systemctl show -P Slice "warden-$h.scope")" warden.slice "slice"
assert_eq "$(systemctl show -P Delegate "warden-$h.scope")" yes "Delegate"
grep -q "warden.slice/warden-$h.scope" "/proc/$pid/cgroup" || fail "wshd is not in the scope: $(cat "/proc/$pid/cgroup")"
systemctl status "warden-$h.scope" --no-pager | grep -q wshd || fail "systemctl status does not show wshd"

# five namespaces of its own
for ns in mnt pid net ipc uts; do
    [[ $(readlink "/proc/$pid/ns/$ns") != "$(readlink "/proc/self/ns/$ns")" ]] || fail "shares the $ns namespace"
done
assert_eq "$(in_container "$h" cat /proc/1/comm)" wshd "PID 1 inside"

# hostname, files of its own, the user
assert_eq "$(in_container "$h" hostname)" "$h" "hostname"
assert_eq "$(in_container "$h" cat /etc/hostname)" "$h" "/etc/hostname"
vcap_uid=$(in_container "$h" sed -n 's/^vcap:x:\([0-9]*\):\1::\/home\/vcap:\/bin\/sh$/\1/p' /etc/passwd)
[[ $vcap_uid =~ ^[0-9]+$ && $vcap_uid -ge 10001 ]] || fail "no vcap user with a uid from the pool: '$vcap_uid'"
in_container "$h" grep -q "^vcap:x:$vcap_uid:" /etc/group || fail "no vcap group"
in_container "$h" test -d /home/vcap || fail "no home for vcap"

# a bind destination cannot leave the container's root through a symlink in the rootfs
evilroot=$(mktemp -d /var/tmp/evilroot.XXXXXX)
cp -a /usr/lib/warden/rootfs/. "$evilroot/"
ln -s / "$evilroot/evil"
ln -s ../../../../../../tmp "$evilroot/up"
trap 'destroy_all; rm -rf "$ro_src" "$rw_src" "$evilroot"' EXIT
create evil 2 rootfs s "$evilroot" bind_mounts 'a(ssb)' 2 "$ro_src" /evil/tmp/escape1 true "$ro_src" /up/escape2 true
[[ ! -e /tmp/escape1 && ! -e /tmp/escape2 ]] || fail "a bind mount landed on the host through a symlink"
assert_eq "$(in_container evil cat /tmp/escape1/file)" hello "the symlinked destination resolved inside the root"
assert_eq "$(in_container evil cat /tmp/escape2/file)" hello "the relative symlink resolved inside the root"
[[ ! -e $evilroot/tmp/escape1 ]] || fail "the base rootfs was written"
"${BUSCTL_MANAGER[@]}" Destroy s evil
assert_clean evil

# the root is the overlay; writes land in the writable layer only
path=$(info "$h" container_path)
assert_eq "$path" "$WARDEN_DEPOT/$h" "container_path"
rootfs=$(info "$h" rootfs)
in_container "$h" sh -c 'echo written >/tmp/newfile'
assert_eq "$(cat "$path/upper/tmp/newfile")" written "write landed in the upper layer"
[[ ! -e $rootfs/tmp/newfile ]] || fail "write reached the base rootfs"
[[ ! -e $rootfs/etc/hostname ]] || [[ $(cat "$rootfs/etc/hostname") != "$h" ]] || fail "base rootfs changed"
in_container "$h" sh -c 'grep " / " /proc/self/mountinfo' | grep -q overlay || fail "root is not the overlay"

# mounts: /proc, /dev, /sys read-only
in_container "$h" test -c /dev/null || fail "no /dev/null"
in_container "$h" sh -c 'echo x >/dev/null' || fail "/dev/null not writable"
in_container "$h" test -e /proc/self/status || fail "no /proc"
# (never write a real sysfs attribute to test this: it would be the machine's)
in_container "$h" grep -E '^[0-9]+ [0-9]+ [0-9:]+ / /sys (ro|[^ ]*,ro)[, ]' /proc/self/mountinfo >/dev/null \
    || fail "/sys is not mounted read-only: $(in_container "$h" grep ' /sys ' /proc/self/mountinfo)"


# bind mounts: read-only refuses writes, read-write works and is the host directory
assert_eq "$(in_container "$h" cat /mnt/ro/file)" hello "read-only bind content"
assert_fails in_container "$h" sh -c 'exec 2>/dev/null; echo x >/mnt/ro/file'
assert_fails in_container "$h" sh -c 'touch /mnt/ro/new 2>/dev/null'
in_container "$h" sh -c 'echo y >/data/rw/out'
assert_eq "$(cat "$rw_src/out")" y "read-write bind writes reach the host"

# network: host side and container side reach each other
host_ip=$(info "$h" host_ip)
cont_ip=$(info "$h" container_ip)
assert_match "$host_ip" '^10\.254\.' "host_ip from the pool"
link=$(ip -o addr show to "$host_ip" | awk '{print $2}')
assert_match "$link" '^w-[0-9]+-0$' "host side link name"
ping -c1 -W2 "$cont_ip" >/dev/null || fail "host cannot ping the container"
# (the container may not open anything to the host itself: allow_host_access is off by default, see
# test-firewall; the echo replies to the host's ping above cross the link the other way)
in_container "$h" ip route | grep -q "default via $host_ip" || fail "no default route via the host side"

# Stop: processes but wshd go, wshd stays; state stopped
# (a process entered with nsenter is in the container's PID namespace, a child of wshd once orphaned)
in_container "$h" sh -c 'sleep 1000 >/dev/null 2>&1 &' >/dev/null
in_container "$h" sh -c 'trap "" TERM; exec sleep 1001' >/dev/null 2>&1 &
wait_until 5 bash -c "[[ \$(nsenter -t $pid -m -p -r -w pidof sleep | wc -w) == 2 ]]"
start=$(date +%s%N)
"${BUSCTL_MANAGER[@]}" Stop sb "$h" false
took=$((($(date +%s%N) - start) / 1000000))
assert_eq "$(info "$h" state)" stopped "state after Stop"
in_container "$h" pidof sleep >/dev/null && fail "processes survived Stop"
((took >= 9000)) || fail "a process that ignores SIGTERM was killed after ${took} ms, before stop_timeout"
assert_eq "$(systemctl show -P TasksCurrent "warden-$h.scope")" 1 "only wshd left after Stop"
kill -0 "$pid" || fail "wshd died in Stop"
"${BUSCTL_MANAGER[@]}" Stop sb "$h" true # again, with kill: fine

# Info has the usage from systemd
[[ $(info "$h" tasks_current) == 1 ]] || fail "tasks_current: $(info "$h" tasks_current)"
[[ -n $(info "$h" memory_current) ]] || fail "no memory_current"
[[ $(info "$h" cpu_usage_ns) -gt 0 ]] || fail "no cpu_usage_ns: '$(info "$h" cpu_usage_ns)'"

# Destroy: nothing left
"${BUSCTL_MANAGER[@]}" Destroy s "$h"
assert_clean "$h" "$link"
kill -0 "$pid" 2>/dev/null && fail "wshd survived Destroy"
assert_eq "$(error_of "${GDBUS_MANAGER[@]}" --method org.warden.Manager.Destroy "$h")" \
    org.warden.Error.NoSuchContainer "second Destroy"
[[ -e $ro_src/file && -d $rw_src ]] || fail "bind sources were harmed"

sleep 0.3
kill "$monitor"
grep -q "ContainerCreated ('$h', objectpath '/org/warden/container/$h')" /run/life-signals.txt \
    || fail "no ContainerCreated: $(cat /run/life-signals.txt)"
grep -q "ContainerDestroyed ('$h',)" /run/life-signals.txt || fail "no ContainerDestroyed"
journalctl -b MESSAGE_ID=feafccafc5f7454b8e405fadeb8f99a0 WARDEN_CONTAINER="$h" -o cat | grep -q "created: warden-$h.scope" \
    || fail "no 'created' journal entry with its MESSAGE_ID"
journalctl -b MESSAGE_ID=bfe8c24e0ede430985b43bc3b9ce7919 WARDEN_CONTAINER="$h" -o cat | grep -q "destroyed" \
    || fail "no 'destroyed' journal entry with its MESSAGE_ID"
grep -q "/org/warden/container/$h: org.freedesktop.DBus.Properties.PropertiesChanged ('org.warden.Container', {'State': <'stopped'>}" \
    /run/life-signals.txt || fail "no PropertiesChanged for State"
# Containers is only invalidated: its value on every change would grow with the square of the containers
grep -qF "/org/warden/Manager: org.freedesktop.DBus.Properties.PropertiesChanged ('org.warden.Manager', @a{sv} {}, ['Containers'])" \
    /run/life-signals.txt || fail "no PropertiesChanged invalidating Containers: $(grep Containers /run/life-signals.txt)"

# a generated handle and the default grace time
out=$("${BUSCTL_MANAGER[@]}" Create 'a{sv}' 0)
gen=$(sed -E 's/^so "([^"]*)".*/\1/' <<<"$out")
assert_match "$gen" '^[a-z2-7]{11}$' "generated handle"
assert_eq "$(info "$gen" grace_time)" 300 "default grace time"
"${BUSCTL_MANAGER[@]}" Destroy s "$gen"
assert_clean "$gen"
echo "ok: lifecycle" >&2
