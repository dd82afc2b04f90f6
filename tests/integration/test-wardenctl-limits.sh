#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# wardenctl's network policy and limit commands against the real wardend: limit-memory, limit-cpu,
# limit-bandwidth set and query (text and JSON), and what they set is in force (systemd, tc, Info);
# limit-disk queries, and answers or refuses as the disk limits fixed at Create say; net-in maps a port and
# net-out adds rules (every key), which Info shows and the ruleset holds; wardend's errors are printed
# with exit 1, usage errors exit 2 before any call; destroy leaves nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MIB=$((1024 * 1024))
tmp=$(mktemp -d /run/wardenctl-limits.XXXXXX)
cleanup() {
    destroy_all
    rm -rf "$tmp"
}
trap cleanup EXIT

# expect_exit STATUS CMD...: CMD exits with STATUS; its stderr is left in $err, its stdout in $out
expect_exit() {
    local want=$1 rc=0
    shift
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
    assert_eq "$rc" "$want" "exit status of '$*' (stderr: $err)"
}

h=wl1
wardenctl create --handle "$h" --grace-time 0 >/dev/null
link=$(ip -o addr show to "$(info "$h" host_ip)" | awk '{ print $2 }')
assert_match "$link" '^w-[0-9]+-0$' "the container's veth"
id=${link#w-}
id=${id%-0}

# ---- limit-memory: sizes with suffixes, the answer as info prints it ------------------------------------
assert_eq "$(wardenctl limit-memory "$h")" "memory_limit: 0 (none)" "no memory limit at first"
assert_eq "$(wardenctl limit-memory "$h" 64M)" "memory_limit: 67108864 (64.0M)" "limit-memory 64M"
assert_eq "$(wardenctl limit-memory "$h")" "memory_limit: 67108864 (64.0M)" "limit-memory query"
assert_eq "$(wardenctl --json limit-memory "$h")" '{"memory_limit": 67108864}' "limit-memory --json"
assert_eq "$(wardenctl limit-memory "$h" --json 1G)" '{"memory_limit": 1073741824}' "limit-memory 1G"
assert_eq "$(systemctl show -P MemoryMax "warden-$h.scope")" $((1024 * MIB)) "the scope's MemoryMax"
assert_eq "$(wardenctl limit-memory "$h" 65536K)" "memory_limit: 67108864 (64.0M)" "limit-memory 65536K"
assert_eq "$(info "$h" memory_limit)" $((64 * MIB)) "Info memory_limit"
grep -q '^ *memory_limit: 67108864 (64.0M)$' <<<"$(wardenctl info "$h")" || fail "info prints it alike"
# out of range: wardend's InvalidArgs, its message, exit 1; the limit stays
expect_exit 1 wardenctl limit-memory "$h" 1K
assert_contains "$err" "wardenctl: The memory limit must be from 1048576 (1 MiB)" "limit-memory 1K"
assert_eq "$(wardenctl limit-memory "$h")" "memory_limit: 67108864 (64.0M)" "unchanged by the error"
# usage: no call is made
expect_exit 2 wardenctl limit-memory "$h" 0
assert_contains "$err" "without a value, 'limit-memory' queries" "limit-memory 0"
expect_exit 2 wardenctl limit-memory "$h" 64Q
expect_exit 1 wardenctl limit-memory nope
assert_eq "$err" "wardenctl: No container 'nope'." "limit-memory of no container"

# ---- limit-cpu ---------------------------------------------------------------------------------------
assert_eq "$(wardenctl limit-cpu "$h")" "cpu_weight: 100" "systemd's default weight"
assert_eq "$(wardenctl limit-cpu "$h" 400)" "cpu_weight: 400" "limit-cpu 400"
assert_eq "$(wardenctl limit-cpu "$h")" "cpu_weight: 400" "limit-cpu query"
assert_eq "$(wardenctl --json limit-cpu "$h")" '{"cpu_weight": 400}' "limit-cpu --json"
assert_eq "$(systemctl show -P CPUWeight "warden-$h.scope")" 400 "the scope's CPUWeight"
assert_eq "$(info "$h" cpu_weight)" 400 "Info cpu_weight"
expect_exit 1 wardenctl limit-cpu "$h" 10001
assert_contains "$err" "wardenctl: The CPU weight must be from 1 to 10000" "limit-cpu 10001"
assert_eq "$(wardenctl limit-cpu "$h")" "cpu_weight: 400" "unchanged by the error"
expect_exit 2 wardenctl limit-cpu "$h" 4K

# ---- limit-bandwidth -----------------------------------------------------------------------------------
assert_eq "$(wardenctl limit-bandwidth "$h")" $' rate: 0 (none)\nburst: 0 (none)' "no bandwidth limit at first"
assert_eq "$(wardenctl limit-bandwidth "$h" --rate 1M --burst 64K)" \
    $' rate: 1048576 (1.0M/s)\nburst: 65536 (64.0K)' "limit-bandwidth --rate 1M --burst 64K"
assert_eq "$(wardenctl limit-bandwidth "$h")" $' rate: 1048576 (1.0M/s)\nburst: 65536 (64.0K)' \
    "limit-bandwidth query"
assert_eq "$(wardenctl --json limit-bandwidth "$h")" '{"rate": 1048576, "burst": 65536}' "limit-bandwidth --json"
assert_eq "$(info "$h" bandwidth)" "[1048576, 65536]" "Info bandwidth"
tc qdisc show dev "$link" | grep -q '^qdisc tbf ' || fail "no tbf on $link: $(tc qdisc show dev "$link")"
expect_exit 1 wardenctl limit-bandwidth "$h" --rate 1M --burst 100
assert_contains "$err" "wardenctl: Bandwidth ((0, 0) queries): the rate must be from 1 to" "a burst below a frame"
assert_eq "$(wardenctl --json limit-bandwidth "$h")" '{"rate": 1048576, "burst": 65536}' "unchanged by the error"
expect_exit 2 wardenctl limit-bandwidth "$h" --rate 1M
assert_contains "$err" "--rate= and --burst= together" "--rate alone"
expect_exit 2 wardenctl limit-bandwidth "$h" --rate 0 --burst 0

# ---- limit-disk: fixed at Create (wardenctl create has no disk options: busctl makes that container) ---
assert_eq "$(wardenctl limit-disk "$h")" $' byte_limit: 0 (none)\ninode_limit: 0 (none)' "no disk limit"
expect_exit 1 wardenctl limit-disk "$h" --bytes 16M
assert_contains "$err" "wardenctl: Container '$h' has no disk limit" "limit-disk of a container without one"
d=wl2
create "$d" 2 disk_limit t $((16 * MIB)) disk_inode_limit t 256
assert_eq "$(wardenctl limit-disk "$d")" $' byte_limit: 16777216 (16.0M)\ninode_limit: 256' "limit-disk query"
assert_eq "$(wardenctl --json limit-disk "$d")" '{"byte_limit": 16777216, "inode_limit": 256}' "limit-disk --json"
assert_eq "$(wardenctl limit-disk "$d" --bytes 16M --inodes 256)" $' byte_limit: 16777216 (16.0M)\ninode_limit: 256' \
    "limit-disk with the limits in force"
expect_exit 1 wardenctl limit-disk "$d" --bytes 32M
assert_contains "$err" "wardenctl: The disk limits of '$d' are fixed when it is created" "a new byte limit"
expect_exit 1 wardenctl limit-disk "$d" --inodes 1000
assert_contains "$err" "are fixed when it is created" "a new inode limit"
expect_exit 1 wardenctl limit-disk "$d" --bytes 1000
assert_contains "$err" "wardenctl: Disk limit 'byte_limit' must be from" "a byte limit out of range"
expect_exit 2 wardenctl limit-disk "$d" --bytes 16Q

# ---- net-in ------------------------------------------------------------------------------------------
out=$(wardenctl net-in "$h" --container-port 8080)
host_port=$(awk '$1 == "host_port:" { print $2 }' <<<"$out")
assert_match "$host_port" '^[0-9]+$' "net-in prints the host port: $out"
((host_port >= 61001 && host_port <= 65000)) || fail "host port $host_port outside port_range"
assert_eq "$out" "     host_port: $host_port"$'\n'"container_port: 8080" "net-in output"
assert_eq "$(wardenctl --json net-in "$h" --host-port 9000 --container-port 80)" \
    '{"host_port": 9000, "container_port": 80}' "net-in --json with both ports"
assert_eq "$(info "$h" net_in)" "[[$host_port, 8080], [9000, 80]]" "Info net_in"
nft list map inet warden net_in | grep -q "9000 : " || fail "no NetIn element for port 9000"
expect_exit 1 wardenctl net-in "$h" --host-port 9000
assert_eq "$err" "wardenctl: Host port 9000 is taken by a NetIn mapping of a container." "a taken port"
expect_exit 2 wardenctl net-in "$h" --host-port 70000
expect_exit 2 wardenctl net-in "$h" --port 80
assert_contains "$err" "Option --port does not apply to 'net-in'" "net-out's option"

# ---- net-out: every key of a NetOut rule -------------------------------------------------------------
expect_exit 0 wardenctl net-out "$h" --network 10.99.0.0/24 --protocol tcp --port 7000
assert_eq "$out$err" "" "net-out prints nothing"
wardenctl net-out "$h" --network 10.99.0.2-10.99.0.9 --protocol udp --port 5000-5010
wardenctl net-out "$h" --network 10.99.0.2 --protocol icmp --icmp-type 8 --icmp-code 0
wardenctl net-out "$h" --network 192.0.2.0/24
assert_eq "$(info "$h" net_out)" '[{"network": "10.99.0.0/24", "protocol": "tcp", "port": 7000}, {"network": "10.99.0.2-10.99.0.9", "protocol": "udp", "port_range": [5000, 5010]}, {"network": "10.99.0.2", "protocol": "icmp", "icmp_type": 8, "icmp_code": 0}, {"network": "192.0.2.0/24", "protocol": "all"}]' \
    "Info net_out"
grep -q '^ *net_out: {network=10.99.0.0/24 protocol=tcp port=7000} {' <<<"$(wardenctl info "$h")" ||
    fail "wardenctl info: $(wardenctl info "$h" | grep net_out)"
chain=$(nft list chain inet warden "out-$id")
grep -q '10.99.0.0/24 tcp dport 7000' <<<"$chain" || fail "the tcp rule is not in out-$id: $chain"
grep -q '5000-5010' <<<"$chain" || fail "the udp range is not in out-$id: $chain"
# wardend's rules: its InvalidArgs message, exit 1, nothing recorded
expect_exit 1 wardenctl net-out "$h" --network 10.99.0.0/24 --port 80
assert_contains "$err" "wardenctl: " "a port with protocol all"
assert_contains "$err" "port" "the message names the port"
expect_exit 1 wardenctl net-out "$h" --network 10.0.0.1/8
expect_exit 1 wardenctl net-out "$h" --network 10.0.0.0/8 --protocol tcp --port 90-80
assert_contains "$err" "port_range 90-80: the first port is greater than the last" "a reversed range"
expect_exit 1 wardenctl net-out "$h" --network 10.0.0.0/8 --protocol sctp
expect_exit 1 wardenctl net-out "$h" --network 10.0.0.0/8 --protocol icmp --icmp-type 256
assert_eq "$(info "$h" net_out | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')" 4 \
    "invalid rules were not recorded"
# usage
expect_exit 2 wardenctl net-out "$h" --protocol tcp
assert_contains "$err" "needs --network=" "net-out without --network"
expect_exit 2 wardenctl net-out "$h" --network 10.0.0.0/8 --port 1-
expect_exit 2 wardenctl net-out "$h" --network 10.0.0.0/8 --icmp-type x
expect_exit 2 wardenctl net-out "$h" --network 10.0.0.0/8 --log
expect_exit 2 wardenctl --network 10.0.0.0/8 net-out "$h"

# ---- a stopped container: queries work, changes are InvalidState -------------------------------------
wardenctl stop --kill "$h"
assert_eq "$(wardenctl limit-memory "$h")" "memory_limit: 67108864 (64.0M)" "query of a stopped container"
expect_exit 1 wardenctl limit-cpu "$h" 200
assert_contains "$err" "'$h'" "a change of a stopped container"
expect_exit 1 wardenctl net-out "$h" --network 10.0.0.0/8
assert_contains "$err" "not active" "net-out of a stopped container"

# ---- --help lists every command ----------------------------------------------------------------------
help=$(wardenctl --help)
for v in net-in net-out limit-memory limit-cpu limit-disk limit-bandwidth; do
    grep -q "^  $v HANDLE" <<<"$help" || fail "--help does not list $v"
done

wardenctl destroy "$h" "$d"
assert_clean "$h" "$link"
assert_clean "$d"
nft list map inet warden net_in 2>/dev/null | grep -q "9000 : " && fail "the NetIn mapping outlived Destroy"
assert_all_clean
echo "ok: wardenctl network policy and limits" >&2
