#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The system bus's real limits: WARDEN_SCALE_COUNT containers (default 1000, 250 with an ASan build; the
# emulated guest runs 250) created, used and destroyed by long-lived clients under dbus-daemon's DEFAULT
# limits, first through one connection, then through 4. Every container must be created, Info'd (active,
# its own address), pingable from the host, and run a process (Run); wardend must stay the same process
# throughout, hold a bounded number of match rules on the bus (one per client or per container would hit
# max_match_rules_per_connection=512) and of descriptors, and the bus must refuse none of its requests. The
# D-Bus side is scale.py.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

scale=(python3 "$(dirname "$0")/scale.py")
prefix=scale-

# the defaults of the bus, not a test's raised limits
limits=$(grep -l -r '<limit ' /etc/dbus-1/system.d /usr/share/dbus-1/system.d 2>/dev/null || true)
[[ -z $limits ]] || fail "the system bus has limits changed by: $limits"

cleanup() {
    local rc=$?
    if wardenctl list 2>/dev/null | grep -q "^$prefix"; then
        "${scale[@]}" destroy "$prefix" >&2 || true
        destroy_all
    fi
    exit "$rc"
}
trap cleanup EXIT

cursor=$(journalctl -n0 --show-cursor | sed -n 's/^-- cursor: //p')
wardenctl ping >/dev/null
pid=$(systemctl show -P MainPID warden.service)
[[ $pid -gt 0 ]] || fail "wardend is not running"

# 1000 by default; 250 with the ASan build installed (tools/test-all's second pass), whose wshd are several
# times bigger and slower
default=1000
if grep -q -a -m1 __asan_init "/proc/$pid/exe"; then
    default=250
fi
count=${WARDEN_SCALE_COUNT:-$default}
[[ $count =~ ^[0-9]+$ && $count -ge 1 ]] || fail "WARDEN_SCALE_COUNT='$count' is not a count"

for conns in 1 4; do
    echo "== $count containers through $conns connection(s)" >&2
    if ! out=$("${scale[@]}" cycle "$prefix" "$count" "$conns"); then
        echo "$out" >&2
        fail "$count containers through $conns connection(s)"
    fi
    echo "$out" >&2
    field() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1], {}, d))' "$1" <<<"$out"; }
    assert_eq "$(field created)" "$count" "created"
    assert_eq "$(field pinged)" "$count" "pinged"
    assert_eq "$(field listed)" "$count" "listed"
    # wardend's own rules: NameOwnerChanged and systemd's JobRemoved, plus what sd-bus adds itself; never
    # one per container or per client
    peak=$(field 'bus_stats_end["peak_match_rules"]')
    ((peak <= 8)) || fail "wardend held $peak match rules at the peak with $count containers"
    # descriptors: about 5 per container (see wardend(8), SCALE), far from wardend's limit
    fds=$(field 'wardend_full["fds"]') nofile=$(field 'wardend_full["nofile"]')
    ((fds <= 8 * count + 256 && fds * 2 < nofile)) \
        || fail "wardend had $fds descriptors open with $count containers (limit $nofile)"
    assert_eq "$(systemctl show -P MainPID warden.service)" "$pid" "wardend is the same process"
    [[ -z $(wardenctl list | grep "^$prefix" || true) ]] || fail "containers left after the Destroys"
done

# nothing refused on the bus, nothing lost
bus_log=$(journalctl --after-cursor="$cursor" -u dbus.service -o cat)
if grep -E 'not allowed to add more match rules|pending replies|max_' <<<"$bus_log"; then
    fail "the bus refused requests"
fi
journalctl --after-cursor="$cursor" -u warden.service -o cat | grep -E 'refused|Lost the connection' \
    && fail "wardend saw a request refused"
assert_all_clean
echo "ok: $count containers through 1 and through 4 connections" >&2
