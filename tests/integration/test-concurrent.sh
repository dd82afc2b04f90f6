#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# 32 containers created concurrently by 4 clients all work, get distinct addresses, and all destroy cleanly.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

trap destroy_all EXIT
client() {
    local c=$1 i
    for i in $(seq 1 8); do
        create "c$c-$i" || { echo "create c$c-$i failed" >&2; return 1; }
    done
}
pids=()
for c in 1 2 3 4; do client "$c" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a client failed to create its containers"; done

assert_eq "$(wardenctl list | wc -l)" 32 "containers"
ips=()
for h in $(wardenctl list); do
    assert_eq "$(info "$h" state)" active "state of $h"
    ip=$(info "$h" container_ip)
    ping -c1 -W2 "$ip" >/dev/null || fail "$h ($ip) does not answer"
    ips+=("$ip")
done
assert_eq "$(printf '%s\n' "${ips[@]}" | sort -u | wc -l)" 32 "distinct addresses"

destroyer() {
    local c=$1 i
    for i in $(seq 1 8); do
        "${BUSCTL_MANAGER[@]}" Destroy s "c$c-$i" >/dev/null || { echo "destroy c$c-$i failed" >&2; return 1; }
    done
}
pids=()
for c in 1 2 3 4; do destroyer "$c" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a client failed to destroy its containers"; done

assert_eq "$(wardenctl list)" "" "all destroyed"
for c in 1 2 3 4; do for i in $(seq 1 8); do assert_clean "c$c-$i"; done; done
wait_until 10 bash -c "! ip -o link show | grep -qE ': w-[0-9]+-0[@:]'"
[[ -z $(ls -A "$WARDEN_DEPOT") ]] || fail "depot not empty"
echo "ok: concurrent" >&2
