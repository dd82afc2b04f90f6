#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Network policy with nftables, for real, in the sandbox's own network namespace: outbound is denied by
# default and NetOut opens a network/port/protocol (ICMP type and code too) per container; allow_networks
# and deny_networks (deny wins); containers reach neither each other nor the host, the host reaches them;
# masquerade for what leaves; NetIn maps a host port (picked from port_range or given) on every host
# address, from the host itself and from another namespace; invalid rules are InvalidArgs; Info shows
# net_in/net_out; restart and kill -9 keep rules, ports and Info; a Create whose firewall step fails in the
# middle leaves nothing; every container's objects go at Destroy (its source pairs too: test-spoof), and
# the tables with the last one.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PEER_NS=wfw-peer
save_config
www=$(mktemp -d /run/wfw-www.XXXXXX)
pids=()
cleanup() {
    destroy_all
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    ip netns del "$PEER_NS" 2>/dev/null || true
    ip link del wfw-host 2>/dev/null || true
    nft delete element inet warden egress '{ "w-10-0" }' 2>/dev/null || true
    nft delete chain inet warden sneaky 2>/dev/null || true
    rm -rf "$www"
    restore_config
}
trap cleanup EXIT

cat >"$WARDEN_CONF" <<'EOF'
[daemon]
log_level = debug
[network]
port_range = 61001-61003
allow_networks = 10.99.0.3
deny_networks = 10.99.0.4/32, 10.99.0.5/32
EOF
systemctl stop warden.service 2>/dev/null || true

# ---- helpers
# netout HANDLE N KEY TYPE VALUE...: NetOut with N rule entries
netout() {
    local h=$1 n=$2
    shift 2
    "${BUSCTL_MANAGER[@]}" NetOut 'sa{sv}' "$h" "$n" "$@" >/dev/null
}
# fetch HANDLE URL: the container gets URL (refused or dropped: fails within 5 s; busybox wget -T
# crashes here, hence timeout)
fetch() {
    in_container "$1" timeout 5 wget -q -O- "$2" 2>/dev/null
}
reaches() { [[ $(fetch "$1" "$2") == peer ]]; }
pings() { in_container "$1" ping -c1 -W1 "$2" >/dev/null 2>&1; }
# id HANDLE: the container's /30 index (its link is w-<id>-0, its chain out-<id>)
id_of() {
    local link
    link=$(ip -o addr show to "$(info "$1" host_ip)" | awk '{print $2}')
    link=${link#w-}
    echo "${link%-0}"
}
gd_out() { error_of "${GDBUS_MANAGER[@]}" --method org.warden.Manager.NetOut "$1" "$2"; }
# warden_objects: every warden object in the ruleset (empty: none)
warden_objects() { nft list ruleset 2>/dev/null | grep -n -i warden || true; }

# ---- a test peer in a namespace of its own: 10.99.0.2-.5 behind wfw-host (10.99.0.1), no route back to
# the containers' pool, so that it answers them only thanks to the masquerade
ip netns add "$PEER_NS"
ip link add wfw-host type veth peer name wfw-peer netns "$PEER_NS"
ip addr add 10.99.0.1/24 dev wfw-host
ip link set wfw-host up
ip -n "$PEER_NS" link set lo up
ip -n "$PEER_NS" link set wfw-peer up
for a in 2 3 4 5; do ip -n "$PEER_NS" addr add "10.99.0.$a/24" dev wfw-peer; done
[[ -z $(ip -n "$PEER_NS" route show 10.254.0.0/20) ]] || fail "the peer must not route to the pool"
echo peer >"$www/index.html"
for port in 7000 7001; do
    ip netns exec "$PEER_NS" busybox httpd -f -p "$port" -h "$www" &
    pids+=("$!")
done
busybox httpd -f -p 7100 -h "$www" & # on the host itself
pids+=("$!")
wait_until 5 bash -c "ip netns exec $PEER_NS busybox wget -q -O- http://10.99.0.2:7001/ >/dev/null"
wait_until 5 bash -c "busybox wget -q -O- http://127.0.0.1:7100/ >/dev/null"

# ---- no container: nothing of warden in the ruleset
wardenctl ping >/dev/null
[[ -z $(warden_objects) ]] || fail "warden objects without containers: $(warden_objects)"

create f1
create f2
id1=$(id_of f1)
id2=$(id_of f2)
ip1=$(info f1 container_ip)
ip2=$(info f2 container_ip)
assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward set by wardend (sandbox netns)"
nft list chain inet warden "out-$id1" >/dev/null || fail "no chain out-$id1 after Create"
nft list map inet warden egress | grep -q "\"w-$id1-0\" .*: jump out-$id1" || fail "no egress element for f1"
nft list set inet warden sources | grep -qF "\"w-$id1-0\" . $ip1" || fail "no source pair for f1"
assert_eq "$(info f1 net_in)" "[]" "net_in of a new container"
assert_eq "$(info f1 net_out)" "[]" "net_out of a new container"

# ---- outbound: denied by default; allow_networks open for all; deny_networks closed for all
reaches f1 http://10.99.0.2:7000/ && fail "outbound allowed without a rule"
pings f1 10.99.0.2 && fail "ping allowed without a rule"
reaches f1 http://10.99.0.3:7000/ || fail "allow_networks 10.99.0.3 not reachable"
reaches f2 http://10.99.0.3:7001/ || fail "allow_networks is for every container"
reaches f1 http://10.99.0.4:7000/ && fail "deny_networks reachable"

# NetOut: one network, one protocol, one port, one container
netout f1 3 network s 10.99.0.0/24 protocol s tcp port q 7000
reaches f1 http://10.99.0.2:7000/ || fail "NetOut tcp 7000 does not open 10.99.0.2:7000"
reaches f1 http://10.99.0.2:7001/ && fail "NetOut tcp 7000 opened port 7001 too"
reaches f1 http://10.99.0.4:7000/ && fail "a NetOut rule overrode deny_networks"
reaches f2 http://10.99.0.2:7000/ && fail "f1's rule opened f2"
pings f1 10.99.0.2 && fail "a tcp rule let ping through"
# udp on that port is not tcp
netout f2 3 network s 10.99.0.2 protocol s udp port q 7000
reaches f2 http://10.99.0.2:7000/ && fail "a udp rule let tcp through"
# a port range, a range of addresses
netout f2 3 network s 10.99.0.2-10.99.0.2 protocol s tcp port_range '(qq)' 7001 7005
reaches f2 http://10.99.0.2:7001/ || fail "port_range 7001-7005 does not open 7001"
reaches f2 http://10.99.0.2:7000/ && fail "port_range 7001-7005 opened 7000"

# ICMP: type and code
netout f1 4 network s 10.99.0.2 protocol s icmp icmp_type i 8 icmp_code i 1
pings f1 10.99.0.2 && fail "icmp type 8 code 1 let an echo request (code 0) through"
netout f1 3 network s 10.99.0.2 protocol s icmp icmp_type i 0
pings f1 10.99.0.2 && fail "icmp type 0 let an echo request through"
netout f1 3 network s 10.99.0.0/30 protocol s icmp icmp_type i 8
pings f1 10.99.0.2 || fail "icmp type 8 does not let ping through"
pings f1 10.99.0.5 && fail "icmp type 8 for 10.99.0.0/30 opened 10.99.0.5"
# protocol all (the default)
netout f2 1 network s 10.99.0.3/32
pings f2 10.99.0.3 || fail "protocol all does not let ping through"

# containers reach neither each other (whatever their rules say) nor the host; the host reaches them
netout f1 1 network s 10.254.0.0/16
in_container f2 sh -c 'mkdir -p /tmp/www && echo from-f2 >/tmp/www/index.html && httpd -p 8080 -h /tmp/www'
pings f1 "$ip2" && fail "container to container: ping got through"
[[ -z $(fetch f1 "http://$ip2:8080/") ]] || fail "container to container: tcp got through"
ping -c1 -W2 "$ip1" >/dev/null || fail "the host cannot ping f1"
assert_eq "$(timeout 5 busybox wget -q -O- "http://$ip2:8080/")" from-f2 "the host reaches f2's server"
[[ -z $(fetch f1 "http://$(info f1 host_ip):7100/") ]] || fail "the container reached the host"
[[ -z $(fetch f1 "http://10.99.0.1:7100/") ]] || fail "the container reached another host address"
pings f1 "$(info f1 host_ip)" && fail "the container pinged the host"

# ---- NetIn
in_container f1 sh -c 'mkdir -p /tmp/www && echo from-f1 >/tmp/www/index.html && httpd -p 8080 -h /tmp/www'
assert_eq "$("${BUSCTL_MANAGER[@]}" NetIn sqq f1 0 8080)" "qq 61001 8080" "NetIn picks the first port"
assert_eq "$(timeout 5 busybox wget -q -O- "http://$(info f1 host_ip):61001/")" from-f1 "NetIn via the host side address"
assert_eq "$(timeout 5 busybox wget -q -O- "http://10.99.0.1:61001/")" from-f1 "NetIn via another host address"
assert_eq "$(ip netns exec "$PEER_NS" timeout 5 busybox wget -q -O- http://10.99.0.1:61001/)" from-f1 \
    "NetIn from another namespace"
# 127.0.0.1 is not mapped (that would need route_localnet, see wardend(8))
timeout 5 busybox wget -q -O- http://127.0.0.1:61001/ >/dev/null 2>&1 && fail "NetIn answered on 127.0.0.1"
# from the peer, only mapped ports reach a container
ip -n "$PEER_NS" route add 10.254.0.0/20 via 10.99.0.1
ip netns exec "$PEER_NS" timeout 5 busybox wget -q -O- "http://$ip1:8080/" >/dev/null 2>&1 \
    && fail "another namespace reached a container without NetIn"
ip -n "$PEER_NS" route del 10.254.0.0/20 via 10.99.0.1

# a container does not reach another through its NetIn port
[[ -z $(fetch f2 "http://$(info f2 host_ip):61001/") ]] || fail "f2 reached f1 through f1's NetIn port"

assert_eq "$("${BUSCTL_MANAGER[@]}" NetIn sqq f1 0 0)" "qq 61002 61002" "container port 0 = host port"
assert_eq "$("${BUSCTL_MANAGER[@]}" NetIn sqq f2 9000 8080)" "qq 9000 8080" "an explicit port outside port_range"
assert_eq "$(timeout 5 busybox wget -q -O- "http://10.99.0.1:9000/")" from-f2 "NetIn with an explicit port"
gd_in() { error_of "${GDBUS_MANAGER[@]}" --method org.warden.Manager.NetIn "$1" "$2" "$3"; }
assert_eq "$(gd_in f2 61001 80)" org.warden.Error.PoolExhausted "a taken pool port"
assert_eq "$(gd_in f1 9000 80)" org.warden.Error.PoolExhausted "a taken port outside the pool"
msg=$("${GDBUS_MANAGER[@]}" --method org.warden.Manager.NetIn f1 9000 80 2>&1 || true)
assert_contains "$msg" "Host port 9000 is taken" "the message names the port"
# through the container object
assert_eq "$(busctl call org.warden.Manager "/org/warden/container/f2" org.warden.Container NetIn qq 0 8080)" \
    "qq 61003 8080" "NetIn on org.warden.Container"
assert_eq "$(gd_in f2 0 80)" org.warden.Error.PoolExhausted "port_range used up"
busctl call org.warden.Manager "/org/warden/container/f2" org.warden.Container NetOut 'a{sv}' 2 \
    network s 10.99.0.5 protocol s tcp >/dev/null
reaches f2 http://10.99.0.5:7000/ && fail "deny_networks 10.99.0.5 reachable after a NetOut rule for it"

assert_eq "$(info f1 net_in)" "[[61001, 8080], [61002, 61002]]" "Info net_in"
assert_eq "$(info f2 net_in)" "[[9000, 8080], [61003, 8080]]" "Info net_in of f2"
assert_eq "$(info f2 net_out)" '[{"network": "10.99.0.2", "protocol": "udp", "port": 7000}, {"network": "10.99.0.2-10.99.0.2", "protocol": "tcp", "port_range": [7001, 7005]}, {"network": "10.99.0.3/32", "protocol": "all"}, {"network": "10.99.0.5", "protocol": "tcp"}]' "Info net_out"
assert_contains "$(info f1 net_out)" '{"network": "10.99.0.2", "protocol": "icmp", "icmp_type": 8, "icmp_code": 1}' "Info net_out icmp"

# ---- invalid rules: InvalidArgs with a message that says why
inval=org.freedesktop.DBus.Error.InvalidArgs
assert_eq "$(gd_out f1 "{'protocol': <'tcp'>}")" $inval "no network"
assert_eq "$(gd_out f1 "{'network': <'10.0.0.300'>}")" $inval "bad address"
assert_eq "$(gd_out f1 "{'network': <'10.0.0.1/8'>}")" $inval "host bits set"
assert_eq "$(gd_out f1 "{'network': <'10.0.0.9-10.0.0.1'>}")" $inval "reversed range"
assert_eq "$(gd_out f1 "{'network': <'10.0.0.0/8'>, 'protocol': <'sctp'>}")" $inval "unknown protocol"
assert_eq "$(gd_out f1 "{'network': <'10.0.0.0/8'>, 'protocol': <'tcp'>, 'port_range': <(@q 90, @q 80)>}")" $inval "min > max"
assert_eq "$(gd_out f1 "{'network': <'10.0.0.0/8'>, 'port': <@q 80>}")" $inval "port with all"
assert_eq "$(gd_out f1 "{'network': <'10.0.0.0/8'>, 'protocol': <'icmp'>, 'port': <@q 80>}")" $inval "port with icmp"
assert_eq "$(gd_out f1 "{'network': <'10.0.0.0/8'>, 'protocol': <'tcp'>, 'port': <@q 80>, 'port_range': <(@q 80, @q 90)>}")" $inval "port and port_range"
assert_eq "$(gd_out f1 "{'network': <'10.0.0.0/8'>, 'protocol': <'icmp'>, 'icmp_code': <0>}")" $inval "icmp_code without icmp_type"
assert_eq "$(gd_out f1 "{'network': <'10.0.0.0/8'>, 'protocol': <'tcp'>, 'icmp_type': <8>}")" $inval "icmp_type with tcp"
assert_eq "$(gd_out f1 "{'network': <'10.0.0.0/8'>, 'protocol': <'icmp'>, 'icmp_type': <256>}")" $inval "icmp_type 256"
assert_eq "$(gd_out f1 "{'network': <'10.0.0.0/8'>, 'log': <true>}")" $inval "unknown key"
assert_eq "$(gd_out f1 "{'network': <'10.0.0.0/8'>, 'protocol': <'tcp'>, 'port': <'80'>}")" $inval "wrong type"
msg=$("${GDBUS_MANAGER[@]}" --method org.warden.Manager.NetOut f1 "{'network': <'10.0.0.0/8'>, 'protocol': <'tcp'>, 'port_range': <(@q 90, @q 80)>}" 2>&1 || true)
assert_contains "$msg" "port_range 90-80: the first port is greater than the last" "min > max message"
msg=$("${GDBUS_MANAGER[@]}" --method org.warden.Manager.NetOut f1 "{'protocol': <'tcp'>}" 2>&1 || true)
assert_contains "$msg" "'network' is required" "no network message"
assert_eq "$(gd_out nosuch "{'network': <'10.0.0.0/8'>}")" org.warden.Error.NoSuchContainer "NetOut of no container"
assert_eq "$(info f1 net_out | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 5 \
    "invalid rules were not recorded"

# stopped: InvalidState, and its rules stay
create f3
"${BUSCTL_MANAGER[@]}" Stop sb f3 true
assert_eq "$(gd_out f3 "{'network': <'10.0.0.0/8'>}")" org.warden.Error.InvalidState "NetOut of a stopped container"
assert_eq "$(gd_in f3 0 80)" org.warden.Error.InvalidState "NetIn of a stopped container"

# ---- restart and kill -9: rules, ports and Info stay
snapshot() {
    local h
    for h in f1 f2; do
        info "$h" net_in
        info "$h" net_out
    done
    nft list chain inet warden "out-$id1"
    nft list chain inet warden "out-$id2"
    nft list map inet warden net_in | grep -oE '[0-9]+ : [0-9.]+ \. [0-9]+' | sort
}
before=$(snapshot)
systemctl restart warden.service
assert_eq "$(snapshot)" "$before" "rules and Info after a restart"
journalctl -b -u warden.service -o cat | grep -q "Rebuilt the nft table inet warden for 3 container(s)" \
    || fail "no rebuild at start-up"
reaches f1 http://10.99.0.2:7000/ || fail "NetOut lost by a restart"
reaches f1 http://10.99.0.2:7001/ && fail "f1 opened by a restart"
assert_eq "$(timeout 5 busybox wget -q -O- "http://10.99.0.1:61001/")" from-f1 "NetIn after a restart"
kill -9 "$(systemctl show -P MainPID warden.service)"
wait_until 10 bash -c "wardenctl list 2>/dev/null | grep -qx f1"
assert_eq "$(snapshot)" "$before" "rules and Info after kill -9"
assert_eq "$(timeout 5 busybox wget -q -O- "http://10.99.0.1:9000/")" from-f2 "NetIn after kill -9"
assert_eq "$(gd_in f1 0 80)" org.warden.Error.PoolExhausted "ports re-reserved after kill -9"
assert_eq "$(gd_in f1 9000 80)" org.warden.Error.PoolExhausted "explicit ports re-reserved"

# a restart applies a new policy: enable_ip_forward = no leaves ip_forward alone; allow_host_access
echo 0 >/proc/sys/net/ipv4/ip_forward
printf '[network]\nport_range = 61001-61003\nenable_ip_forward = no\nallow_host_access = yes\n' >"$WARDEN_CONF"
systemctl restart warden.service
wardenctl ping >/dev/null
assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 0 "ip_forward with enable_ip_forward = no"
assert_eq "$(fetch f2 "http://$(info f2 host_ip):7100/")" peer "allow_host_access = yes"
printf '[daemon]\nlog_level = debug\n[network]\nport_range = 61001-61003\n' >"$WARDEN_CONF"
systemctl restart warden.service
wardenctl ping >/dev/null
assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward set again at start-up"
[[ -z $(fetch f2 "http://$(info f2 host_ip):7100/") ]] || fail "host access after allow_host_access = no"

# ---- a Create whose firewall step fails in the middle (rootfs, scope and wshd on their way): nothing left
nft add chain inet warden sneaky
nft add element inet warden egress '{ "w-10-0" : jump sneaky }'
msg=$("${GDBUS_MANAGER[@]}" --method org.warden.Manager.Create "{'handle': <'fwfail'>, 'grace_time': <uint32 0>, 'network': <'10.254.0.41'>}" 2>&1 || true)
assert_contains "$msg" "firewall rules" "the error says the firewall step failed"
assert_clean fwfail w-10-0
nft list chain inet warden out-10 >/dev/null 2>&1 && fail "chain out-10 left by the failed Create"
nft list set inet warden sources | grep -qF '"w-10-0"' && fail "source pair of w-10-0 left by the failed Create"
nft list set arp warden sources | grep -qF '"w-10-0"' && fail "ARP source pair of w-10-0 left by the failed Create"
nft delete element inet warden egress '{ "w-10-0" }'
nft delete chain inet warden sneaky
create fwok 1 network s 10.254.0.41
nft list chain inet warden out-10 >/dev/null || fail "the /30 of the failed Create is not usable again"

# ---- Destroy: the container's objects go (and its ports come back); the last one takes the table along
"${BUSCTL_MANAGER[@]}" Destroy s f1
nft list chain inet warden "out-$id1" >/dev/null 2>&1 && fail "chain out-$id1 left after Destroy"
nft list map inet warden egress | grep -q "w-$id1-0" && fail "egress element of f1 left after Destroy"
nft list set inet warden sources | grep -qF "\"w-$id1-0\"" && fail "source pair of f1 left after Destroy"
nft list set arp warden sources | grep -qF "\"w-$id1-0\"" && fail "ARP source pair of f1 left after Destroy"
nft list set arp warden sources | grep -qF "\"w-$id2-0\" . $ip2" || fail "f2's ARP source pair went with f1"
nft list map inet warden net_in | grep -qE '6100[12] :' && fail "NetIn elements of f1 left after Destroy"
assert_eq "$("${BUSCTL_MANAGER[@]}" NetIn sqq f2 0 8080)" "qq 61001 8080" "f1's port is free again"
timeout 5 busybox wget -q -O- "http://10.99.0.1:61002/" >/dev/null 2>&1 && fail "f1's NetIn still answers"
for h in f2 f3 fwok; do "${BUSCTL_MANAGER[@]}" Destroy s "$h"; done
[[ -z $(warden_objects) ]] || fail "warden objects left after the last Destroy: $(warden_objects)"

# ---- how long one transaction takes (submitted → done, on the worker thread), for the record
journalctl -b -u warden.service -o cat | grep -E "step (net\.in|net\.out|create\.firewall|destroy\.firewall) took" \
    | sed -E 's/.*step ([a-z.]+) took ([0-9]+)us.*/\1 \2/' \
    | awk '{ s[$1] += $2; n[$1]++ } END { for (k in s) printf "timing: %s: %d transactions, mean %d us\n", k, n[k], s[k] / n[k] }' >&2
journalctl -b -u warden.service -o cat | grep -E "^nft transaction took" \
    | sed -E 's/^nft transaction took ([0-9]+)us in nft, ([0-9]+)us from submission.*/\1 \2/' \
    | sort -n | awk '{ a[NR] = $1; b[NR] = $2 } END { printf "timing: %d nft transactions: median %d us in nft, %d us from submission to done\n", NR, a[int((NR + 1) / 2)], b[int((NR + 1) / 2)] }' >&2

ip netns del "$PEER_NS"
! ip netns list | grep -q "$PEER_NS" || fail "peer namespace left"
echo "ok: firewall" >&2
