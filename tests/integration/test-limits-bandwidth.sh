#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bandwidth limits for real: a transfer between the host side and a container runs at the limit (±20 %) in
# both directions, with the limit set at Create and at run time; unlimited is clearly faster; the qdiscs and
# the ifb come back when wardend restarts after they were lost; nothing of tc is left after Destroy.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PEER=$(dirname "$(readlink -f "$0")")/bandwidth-peer
RATE=1000000 # bytes/s
BURST=65536
# The transfers run between the container and the host's own address, which the network policy refuses
# by default (org.warden.Manager(5), NETWORK POLICY): allow it for this test.
save_config
cleanup() { destroy_all; restore_config; }
trap cleanup EXIT
printf '[network]\nallow_host_access = yes\n' >"$WARDEN_CONF"
systemctl restart warden.service
gd() { "${GDBUS_MANAGER[@]}" --method "org.warden.Manager.$1" "${@:2}"; }
# link_of HANDLE: the host side of its veth, the link that has its host address
link_of() { ip -o -4 addr show | awk -v a="$(info "$1" host_ip)/" 'index($4, a) == 1 { print $2 }'; }

# transfer DIRECTION HANDLE BYTES: bytes/s measured at the receiver; "down" is host → container, "up" is
# container → host. The container's end runs in its network namespace (only the network matters here).
port=5000
transfer() {
    local dir=$1 h=$2 n=$3 pid out
    pid=$(leader "$h")
    port=$((port + 1))
    out=$(mktemp)
    if [[ $dir == down ]]; then
        nsenter -t "$pid" -n -- "$PEER" recv $port >"$out" &
        sleep 0.3
        "$PEER" send "$(info "$h" container_ip)" $port "$n"
    else
        "$PEER" recv $port >"$out" &
        sleep 0.3
        nsenter -t "$pid" -n -- "$PEER" send "$(info "$h" host_ip)" $port "$n"
    fi
    wait $!
    cat "$out"
    rm -f "$out"
}
# within RATE ± 20 %
check_rate() {
    local what=$1 measured=$2
    echo "bandwidth: $what: $measured bytes/s (limit $RATE)" >&2
    ((measured >= RATE * 8 / 10 && measured <= RATE * 12 / 10)) || fail "$what: $measured bytes/s is not $RATE ± 20 %"
}

# --- set at Create ---
create bw1 1 bandwidth '(tt)' $RATE $BURST
link=$(link_of bw1)
ifb=${link%-0}-i
assert_eq "$(info bw1 bandwidth)" "[$RATE, $BURST]" "Info bandwidth"
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitBandwidth stt bw1 0 0)" "tt $RATE $BURST" "LimitBandwidth query"
tc qdisc show dev "$link" | grep -q "^qdisc tbf 1: root .*rate 8Mbit burst 64Kb" || fail "no tbf on $link: $(tc qdisc show dev "$link")"
tc qdisc show dev "$ifb" | grep -q "^qdisc tbf 1: root .*rate 8Mbit" || fail "no tbf on $ifb"
tc filter show dev "$link" ingress | grep -q "Egress Redirect to device $ifb" || fail "no redirect to $ifb"
# nothing of it is visible from inside
in_container bw1 cat /proc/net/dev | grep -q "$ifb" && fail "the ifb is visible inside"
assert_eq "$(in_container bw1 cat /proc/net/dev | grep -c ':')" 2 "inside: lo and its end of the veth only"

rx0=$(info bw1 rx_bytes)
down=$(transfer down bw1 $((3 * RATE)))
check_rate "bw1 host → container" "$down"
rx1=$(info bw1 rx_bytes)
((rx1 - rx0 >= 3 * RATE)) || fail "rx_bytes grew by $((rx1 - rx0)) for 3 MB received"
tx0=$(info bw1 tx_bytes)
up=$(transfer up bw1 $((3 * RATE)))
check_rate "bw1 container → host" "$up"
tx1=$(info bw1 tx_bytes)
((tx1 - tx0 >= 3 * RATE)) || fail "tx_bytes grew by $((tx1 - tx0)) for 3 MB sent"

# --- unlimited, then set at run time ---
create bw2
link2=$(link_of bw2)
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitBandwidth stt bw2 0 0)" "tt 0 0" "no limit"
free_down=$(transfer down bw2 $((40 * RATE)))
free_up=$(transfer up bw2 $((40 * RATE)))
echo "bandwidth: unlimited: host → container $free_down, container → host $free_up bytes/s" >&2
((free_down > 5 * RATE && free_up > 5 * RATE)) || fail "unlimited is not clearly faster than the limit"
tc qdisc show dev "$link2" | grep -q tbf && fail "a tbf on an unlimited container"
start=$EPOCHREALTIME
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitBandwidth stt bw2 $RATE $BURST)" "tt $RATE $BURST" "LimitBandwidth's answer"
echo "bandwidth: LimitBandwidth took $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f ms", (b - a) * 1000 }')" >&2
check_rate "bw2 host → container" "$(transfer down bw2 $((3 * RATE)))"
check_rate "bw2 container → host" "$(transfer up bw2 $((3 * RATE)))"
# changed again: replaced in place, one filter
"${BUSCTL_MANAGER[@]}" LimitBandwidth stt bw2 $((2 * RATE)) $BURST >/dev/null
assert_eq "$(tc filter show dev "$link2" ingress | grep -c 'Egress Redirect')" 1 "one redirect after a change"
tc qdisc show dev "$link2" | grep -q "rate 16Mbit" || fail "the new rate is not in force"

# --- bad values ---
assert_eq "$(error_of gd LimitBandwidth bw2 $RATE 0)" org.freedesktop.DBus.Error.InvalidArgs "burst 0"
assert_eq "$(error_of gd LimitBandwidth bw2 $RATE 100)" org.freedesktop.DBus.Error.InvalidArgs "burst below a frame"
assert_eq "$(error_of gd LimitBandwidth bw2 4294967296 $BURST)" org.freedesktop.DBus.Error.InvalidArgs "rate too big"
assert_eq "$(error_of gd Create "{'handle': <'bwbad'>, 'bandwidth': <(uint64 $RATE, uint64 10)>}")" \
    org.freedesktop.DBus.Error.InvalidArgs "bad bandwidth at Create"
assert_clean bwbad
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitBandwidth stt bw2 0 0)" "tt $((2 * RATE)) $BURST" "unchanged by the errors"

# --- lost while wardend was away: re-applied when it starts ---
systemctl stop warden.service
tc qdisc del dev "$link" root
tc qdisc del dev "$link" ingress
ip link del "$ifb"
systemctl start warden.service
wait_until 10 sh -c "tc qdisc show dev $link | grep -q tbf && tc filter show dev $link ingress | grep -q $ifb"
tc qdisc show dev "$ifb" | grep -q tbf || fail "the ifb's tbf is not back"
check_rate "bw1 container → host after the restart" "$(transfer up bw1 $((3 * RATE)))"

for h in bw1 bw2; do
    l=$(link_of "$h")
    "${BUSCTL_MANAGER[@]}" Destroy s "$h"
    assert_clean "$h" "$l"
done
assert_all_clean
echo "ok: bandwidth limits" >&2
