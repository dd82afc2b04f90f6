#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Exit on idle: with idle_timeout = 2s, wardend exits by itself (cleanly) after two idle seconds, and the
# next call activates it again. Traffic keeps it alive.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

conf=$WARDEN_CONF
save_config

printf '[daemon]\nidle_timeout = 2s\n' >"$conf"
systemctl stop warden.service

busctl call org.warden.Manager /org/warden/Manager org.warden.Manager Ping
pid1=$(systemctl show -P MainPID warden.service)
[[ $pid1 != 0 ]] || fail "not activated"

# calls every 0.5 s for 3 s: longer than the timeout, but never idle that long
for _ in 1 2 3 4 5 6; do
    sleep 0.5
    busctl call org.warden.Manager /org/warden/Manager org.warden.Manager Ping
    # the idle time counts from the last call's reply (wardend's timer started before it was sent): what
    # follows may take a while on a slow machine (an emulated guest: ~0.8 s), and must not count
    start=$(date +%s%N)
done
assert_eq "$(systemctl show -P MainPID warden.service)" "$pid1" "wardend exited while in use"

wait_until 10 bash -c '[[ $(systemctl is-active warden.service) == inactive ]]'
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
((elapsed_ms >= 1500)) || fail "exited ${elapsed_ms} ms after the last call, before the 2 s idle timeout"
assert_eq "$(systemctl show -P Result warden.service)" success "an idle exit is a clean exit"
journalctl -b MESSAGE_ID=42201c2e8f3c49b0a600990b563cecae -o cat | grep -q "Idle for 2s, exiting" \
    || fail "idle exit not logged with its MESSAGE_ID"
busctl status org.warden.Manager >/dev/null 2>&1 && fail "the name is still owned"

# the next call brings it back, with a new PID
busctl call org.warden.Manager /org/warden/Manager org.warden.Manager Ping || fail "re-activation failed"
pid2=$(systemctl show -P MainPID warden.service)
[[ $pid2 != 0 && $pid2 != "$pid1" ]] || fail "not re-activated (PID $pid2)"

# and it goes away again: a call racing with the exit must still be answered
wait_until 10 bash -c '[[ $(systemctl is-active warden.service) == inactive ]]'
for _ in $(seq 20); do
    timeout 30 busctl call org.warden.Manager /org/warden/Manager org.warden.Manager Ping \
        || fail "a call during idle exit/activation was lost"
    sleep 0.$((RANDOM % 3))
done
echo "ok: idle exit" >&2
