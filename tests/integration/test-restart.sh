#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Restart safety of the registry: a container recorded in /run/warden/containers whose init is alive is
# re-adopted by the next wardend (after a restart, a kill -9, or an activation); one whose init is gone, or
# whose state file is garbage, is logged and removed. While it holds a container, wardend does not exit
# on idle.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

conf=$WARDEN_CONF
save_config
state=/run/warden/containers
leader=restart-test-leader.service
cleanup() {
    rm -f "$state/adopted" "$state/dead" "$state/garbage"
    systemctl stop "$leader" 2>/dev/null || true
    restore_config
}
trap cleanup EXIT
printf '[daemon]\nidle_timeout = 1s\n' >"$conf"

# a stand-in for a container's init: a process in a unit of its own
systemd-run --unit="$leader" --quiet sleep 1000
lpid=$(systemctl show -P MainPID "$leader")
mkdir -p "$state"
printf 'VERSION=1\nHANDLE=adopted\nSTATE=active\nLEADER_PID=%s\nPROPERTY=app=web\nGRACE_TIME=0\n' "$lpid" \
    >"$state/adopted"
printf 'VERSION=1\nHANDLE=dead\nSTATE=active\nLEADER_PID=4194305\n' >"$state/dead"
echo garbage >"$state/garbage"

systemctl restart warden.service
assert_eq "$(wardenctl list)" adopted "re-adopted containers"
assert_eq "$(wardenctl --property app=web list)" adopted "properties survive"
[[ -e $state/dead ]] && fail "state of a container whose init is gone was kept"
[[ -e $state/garbage ]] && fail "an unreadable state file was kept"
journalctl -b -u warden.service -o cat | grep -q "Container 'dead': its init (PID 4194305) is gone" \
    || fail "the dead container is not reported"
journalctl -b -u warden.service -o export | grep -q '^WARDEN_CONTAINER=dead$' \
    || fail "no WARDEN_CONTAINER= field"
journalctl -b MESSAGE_ID=36dbd72c868244f6b858f219007aba6d WARDEN_CONTAINER=dead -o cat | grep -q 'is gone' \
    || fail "the lost container's message has no MESSAGE_ID"
journalctl -b MESSAGE_ID=03ceaa37242844529e550d3b578706c7 WARDEN_CONTAINER=adopted -o cat | grep -q 'Re-adopted' \
    || fail "the re-adoption message has no MESSAGE_ID"
assert_eq "$(busctl get-property org.warden.Manager /org/warden/Manager org.warden.Manager Containers)" \
    'as 1 "adopted"' "Containers property"
info=$(wardenctl info adopted)
assert_match "$info" "leader_pid: $lpid" "info leader_pid"
assert_match "$info" "state: active" "info state"
busctl introspect org.warden.Manager /org/warden/container/adopted org.warden.Container >/dev/null \
    || fail "no container object"

# with a container it does not exit on idle (timeout is 1 s)
pid=$(systemctl show -P MainPID warden.service)
sleep 3
assert_eq "$(systemctl show -P MainPID warden.service)" "$pid" "exited although it holds a container"

# kill -9: the next call activates a new wardend, which re-adopts the container; nothing is lost
kill -9 "$pid"
wait_until 10 bash -c "wardenctl list 2>/dev/null | grep -qx adopted"
[[ $(systemctl show -P MainPID warden.service) != "$pid" ]] || fail "not a new wardend"

# the init goes away: the next wardend forgets the container, then idles out
systemctl stop "$leader"
systemctl restart warden.service
assert_eq "$(wardenctl list)" "" "the container whose init died is forgotten"
[[ -e $state/adopted ]] && fail "its state file was kept"
wait_until 10 bash -c '[[ $(systemctl is-active warden.service) == inactive ]]'
echo "ok: restart" >&2
