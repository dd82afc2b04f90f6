#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# No spoofing: a container's root (CAP_NET_RAW) forges packets with spoof-probe (tests/integration/
# spoof-probe.c, static, bound in) and none gets anywhere, while the same packet from the address's owner
# does (the positive control):
#   A  s1 sends as s2, to the host, in a flow of the host with s2;
#   B  s2 sends as s1, to the client of s1's NetIn port (in another namespace), in that TCP connection;
#   C  s1 sends as s2, to s2's peer outside (through s2's NetOut rule), in s2's UDP flow;
#   D  s1 sends as the host (s2's host-side address), to s2, in a flow of the host with s2 (the kernel
#      drops a local source arriving from outside on its own as well);
#   E  s1 sends as an address outside, to a peer its NetOut rule allows;
#   F  s1 sends ARP requests and replies claiming s2's address and the host's: the host's neighbour table
#      learns none of them, but does learn the same ARP claiming s1's own address (from any MAC: a
#      container may misdirect only its own traffic);
#   G  s1 sends IPv6 (warden assigns none): it does not reach the host.
# Each forged packet is counted by warden's counter "spoofed" (inet and arp warden) and must not be seen
# by the receiver: an nft counter in the receiving network namespace, matching the packet's IP id (which
# the NAT on the way keeps). The pairs go with Destroy and the tables with the last container; a restart
# rebuilds them.
#
# Arguments: the path of spoof-probe.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

probe=$(readlink -f "${1:-}")
[[ -n ${1:-} && -x $probe ]] || fail "usage: ${0##*/} SPOOF-PROBE (got '${1:-}')"

PEER_NS=wspoof-peer
save_config
liberal=$(cat /proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal 2>/dev/null || echo 0)
pids=()
cleanup() {
    destroy_all
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    nft delete table inet spoofwatch 2>/dev/null || true
    ip netns del "$PEER_NS" 2>/dev/null || true
    ip link del spf-host 2>/dev/null || true
    echo "$liberal" >/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal 2>/dev/null || true
    restore_config
}
trap cleanup EXIT

cat >"$WARDEN_CONF" <<'EOF'
[daemon]
log_level = debug
[network]
port_range = 61011-61012
EOF
systemctl stop warden.service 2>/dev/null || true

# ---- a peer outside: 10.98.0.2 in a namespace of its own, behind spf-host (10.98.0.1)
ip netns add "$PEER_NS"
ip link add spf-host type veth peer name spf-peer netns "$PEER_NS"
ip addr add 10.98.0.1/24 dev spf-host
ip link set spf-host up
ip -n "$PEER_NS" link set lo up
ip -n "$PEER_NS" addr add 10.98.0.2/24 dev spf-peer
ip -n "$PEER_NS" link set spf-peer up

bind=(bind_mounts 'a(ssb)' 1 "$probe" /usr/local/bin/spoof-probe true)
create s1 1 "${bind[@]}"
create s2 1 "${bind[@]}"
ip1=$(info s1 container_ip)
ip2=$(info s2 container_ip)
hip1=$(info s1 host_ip)
hip2=$(info s2 host_ip)
link1=$(ip -o addr show to "$hip1" | awk '{print $2}')
link2=$(ip -o addr show to "$hip2" | awk '{print $2}')
[[ $link1 == w-*-0 && $link2 == w-*-0 ]] || fail "host-side links: '$link1' '$link2'"
eth1=${link1%-0}-1 # the container's side

pid1=$(leader s1)
pid2=$(leader s2)
mac1=$(nsenter -t "$pid1" -n ip -o link show "$eth1" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
[[ -n $mac1 ]] || fail "no MAC address on s1's $eth1"

# ---- observers: in a network namespace ("host", "peer", s1 or s2), count arriving packets by IP id in
# prerouting, after warden's antispoof chain (priority raw) and before anything else
ns_exec() {
    local where=$1
    shift
    case $where in
        host) "$@" ;;
        peer) ip netns exec "$PEER_NS" "$@" ;;
        s1) nsenter -t "$pid1" -n -- "$@" ;;
        s2) nsenter -t "$pid2" -n -- "$@" ;;
        *) fail "ns_exec: '$where'" ;;
    esac
}
watch_ids() {
    local where=$1 id
    shift
    ns_exec "$where" nft add table inet spoofwatch
    ns_exec "$where" nft add chain inet spoofwatch pre '{ type filter hook prerouting priority -250; policy accept; }'
    for id in "$@"; do
        ns_exec "$where" nft add counter inet spoofwatch "id$id"
        ns_exec "$where" nft add rule inet spoofwatch pre ip id "$id" counter name "id$id"
    done
}
# counter_of WHERE FAMILY TABLE NAME: the packets an nft counter has counted (0 if there is no such counter,
# as on a wardend without them)
counter_of() {
    local n
    n=$(ns_exec "$1" nft list counter "$2" "$3" "$4" 2>/dev/null | awk '/packets/ { print $2; exit }')
    echo "${n:-0}"
}
seen() { counter_of "$1" inet spoofwatch "id$2"; }
dropped() { counter_of host "$1" warden "${2:-spoofed}"; }
as_root() {
    local h=$1
    shift
    wardenctl run --privileged "$h" -- spoof-probe "$@"
}
# settle CMD...: wait until CMD succeeds, at most 10 s, and go on either way (packets cross veths
# asynchronously: this waits for the fate of a forged packet, which the assertions after it check)
settle() {
    local tries=100
    until "$@"; do
        ((tries-- > 0)) || return 0
        sleep 0.1
    done
}
arrived_or_dropped() { (($(seen "$1" "$2") > 0 || $(dropped "$3" "$4") > $5)); }

# expect_blocked WHERE ID SENDER PROBE-ARGS...: SENDER's forged IPv4 packet (IP id ID): warden counts it
# as spoofed, and WHERE never sees it
expect_blocked() {
    local where=$1 id=$2 sender=$3 before
    shift 3
    before=$(dropped inet)
    as_root "$sender" "$@" || fail "spoof-probe $* in $sender"
    settle arrived_or_dropped "$where" "$id" inet spoofed "$before"
    assert_eq "$(seen "$where" "$id")" 0 "a forged packet from $sender ($*) reached $where"
    (($(dropped inet) > before)) || fail "a forged packet from $sender ($*) was not counted as spoofed"
}
# expect_passes WHERE ID SENDER PROBE-ARGS...: the control: the packet from the address's owner reaches
# WHERE (SENDER "host": sent from the host)
expect_passes() {
    local where=$1 id=$2 sender=$3
    shift 3
    if [[ $sender == host ]]; then "$probe" "$@"; else as_root "$sender" "$@"; fi \
        || fail "spoof-probe $* from $sender"
    seen_once() { (($(seen "$where" "$id") > 0)); }
    wait_until 10 seen_once
}

# legitimate traffic first (and the links and neighbour entries settled): the host pings both
ping -c1 -W2 "$ip1" >/dev/null || fail "the host cannot ping s1"
ping -c1 -W2 "$ip2" >/dev/null || fail "the host cannot ping s2"
watch_ids host 1001 1002
watch_ids peer 2001 2002 3001 3002 3003 3004 5001 5002
watch_ids s2 4001 4002

# ---- A: s1 as s2, to the host, in a flow of the host with s2 (the host sends first, s2 answers)
"$probe" udp "$hip2" 5555 "$ip2" 6000 1000 hello || fail "the host's packet to s2"
expect_blocked host 1001 s1 udp "$ip2" 6000 "$hip2" 5555 1001 forged
expect_passes host 1002 s2 udp "$ip2" 6000 "$hip2" 5555 1002 real

# ---- B: s2 as s1, to the client of s1's NetIn port, in that TCP connection. Conntrack is liberal about
# TCP windows here, so that the sequence numbers do not matter (an attacker who guesses them gets as far)
echo 1 >/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal
assert_eq "$("${BUSCTL_MANAGER[@]}" NetIn sqq s1 61011 8080)" "qq 61011 8080" "NetIn of s1"
in_container s1 sh -c 'sleep 600 | nc -l -p 8080 >/dev/null' 2>/dev/null &
pids+=("$!")
listening() { nsenter -t "$pid1" -n ss -ltn | grep -q ':8080 '; }
wait_until 10 listening
ip netns exec "$PEER_NS" python3 -c '
import socket, time
s = socket.socket()
s.bind(("10.98.0.2", 40000))
s.connect(("10.98.0.1", 61011))
time.sleep(600)' &
pids+=("$!")
connected() { ip netns exec "$PEER_NS" ss -tn state established | grep -q '10.98.0.1:61011'; }
wait_until 10 connected
expect_blocked peer 2001 s2 tcp "$ip1" 8080 10.98.0.2 40000 2001 forged
expect_passes peer 2002 s1 tcp "$ip1" 8080 10.98.0.2 40000 2002 real

# ---- C: s1 as s2, to s2's peer outside (NetOut udp 9999), in s2's flow, which the peer answers
ip netns exec "$PEER_NS" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.98.0.2", 9999))
while True:
    data, addr = s.recvfrom(2048)
    s.sendto(data, addr)' &
pids+=("$!")
udp_bound() { ip netns exec "$PEER_NS" ss -lun | grep -q '10.98.0.2:9999 '; }
wait_until 10 udp_bound
"${BUSCTL_MANAGER[@]}" NetOut 'sa{sv}' s2 3 network s 10.98.0.2 protocol s udp port q 9999 >/dev/null
expect_passes peer 3002 s2 udp "$ip2" 7777 10.98.0.2 9999 3002 real
expect_blocked peer 3001 s1 udp "$ip2" 7777 10.98.0.2 9999 3001 forged

# ---- D: s1 as the host (s2's host-side address), to s2, in a flow of the host with s2
expect_passes s2 4002 host udp "$hip2" 5556 "$ip2" 6001 4002 real
expect_blocked s2 4001 s1 udp "$hip2" 5556 "$ip2" 6001 4001 forged

# ---- E: s1, allowed to the peer by a NetOut rule of its own, as a third address outside (what warden does
# not masquerade, for it is not from the pool, would leave the host with the forged source)
"${BUSCTL_MANAGER[@]}" NetOut 'sa{sv}' s1 3 network s 10.98.0.2 protocol s udp port q 9999 >/dev/null
expect_passes peer 5002 s1 udp "$ip1" 7778 10.98.0.2 9999 5002 real
expect_blocked peer 5001 s1 udp 10.98.0.77 7778 10.98.0.2 9999 5001 forged

# ---- F: ARP from s1 claiming s2's address, the host-side addresses and another host address
before=$(dropped arp)
as_root s1 arp "$eth1" reply "$ip2" own "$hip1"
as_root s1 arp "$eth1" request "$ip2" own "$hip1"
as_root s1 arp "$eth1" request "$hip2" own "$hip1"
as_root s1 arp "$eth1" reply 10.98.0.1 own "$hip1"
as_root s1 arp "$eth1" request 10.98.0.1 own 10.98.0.1
poisoned() { ip neigh show | grep -i -F "$mac1" | grep -v -F "$ip1 " || true; }
arp_done() { [[ -n $(poisoned) ]] || (($(dropped arp) >= before + 5)); }
settle arp_done
[[ -z $(poisoned) ]] || fail "the host's neighbour table learnt s1's forged ARP: $(poisoned)"
(($(dropped arp) >= before + 5)) || fail "forged ARP not counted as spoofed: $(dropped arp), was $before"
# the host's entry for s1 is wardend's permanent one (no ARP needed), which no ARP changes
assert_match "$(ip neigh show "$ip1" dev "$link1")" "lladdr $mac1 PERMANENT" "the host's neighbour entry of s1"
# the control: without that entry, the same ARP claiming s1's own address is learnt, from any MAC (a
# container may misdirect only its own traffic); then the real one is put back
ip neigh del "$ip1" dev "$link1"
as_root s1 arp "$eth1" request "$ip1" 02:00:00:00:5e:42 "$hip1"
learnt() { ip neigh show "$ip1" dev "$link1" | grep -q 02:00:00:00:5e:42; }
wait_until 10 learnt
ip neigh replace "$ip1" lladdr "$mac1" dev "$link1" nud permanent
ping -c1 -W2 "$ip1" >/dev/null || fail "the host cannot ping s1 after the ARP control"

# ---- G: IPv6 from a container link (warden assigns none) does not reach the host
ns_exec host nft add counter inet spoofwatch v6
ns_exec host nft add rule inet spoofwatch pre iifname "$link1" meta nfproto ipv6 udp dport 9876 counter name v6
before=$(dropped inet ipv6)
as_root s1 udp6 "$eth1" fe80::5:1 ff02::1 9876 hello
v6_done() { (($(counter_of host inet spoofwatch v6) > 0 || $(dropped inet ipv6) > before)); }
settle v6_done
assert_eq "$(counter_of host inet spoofwatch v6)" 0 "IPv6 from s1 reached the host"
(($(dropped inet ipv6) > before)) || fail "IPv6 from s1 not counted"

# ---- legitimate traffic is untouched: the host pings both, the NetIn client is still connected
ping -c1 -W2 "$ip1" >/dev/null || fail "the host cannot ping s1"
ping -c1 -W2 "$ip2" >/dev/null || fail "the host cannot ping s2"
connected || fail "the NetIn connection to s1 broke"

# the tables: a pair per container link, in both families
nft list set inet warden sources | grep -qF "\"$link1\" . $ip1" || fail "no source pair for s1 (inet)"
nft list set arp warden sources | grep -qF "\"$link2\" . $ip2" || fail "no source pair for s2 (arp)"

# ---- a restart rebuilds the pairs: still blocked, still passing
systemctl restart warden.service
wardenctl ping >/dev/null
nft list set inet warden sources | grep -qF "\"$link1\" . $ip1" || fail "s1's pair lost by a restart"
nft list set arp warden sources | grep -qF "\"$link2\" . $ip2" || fail "s2's pair lost by a restart (arp)"
expect_passes peer 3004 s2 udp "$ip2" 7777 10.98.0.2 9999 3004 real
expect_blocked peer 3003 s1 udp "$ip2" 7777 10.98.0.2 9999 3003 forged

# ---- Destroy takes the container's pairs; the last one takes both tables
"${BUSCTL_MANAGER[@]}" Destroy s s1
nft list set inet warden sources | grep -qF "$link1" && fail "s1's pair left after Destroy (inet)"
nft list set arp warden sources | grep -qF "$link1" && fail "s1's pair left after Destroy (arp)"
nft list set arp warden sources | grep -qF "\"$link2\" . $ip2" || fail "s2's pair went with s1"
"${BUSCTL_MANAGER[@]}" Destroy s s2
left=$(nft list tables | grep warden || true)
[[ -z $left ]] || fail "warden tables left after the last Destroy: $left"
echo "ok: spoof" >&2
