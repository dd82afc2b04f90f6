#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Callers (org.warden.Manager(5), ACCESS). Root may do everything; anyone else is let through by polkit
# (action org.warden.manage, which the rules file grants to the group "warden"), asked asynchronously; without
# polkit (stopped and masked, not installed, not answering) the group decides, and no call hangs. Host paths
# outside wardend.conf's [access] allow-lists (bind mount sources, rootfs, CopyIn/CopyOut host paths) need
# org.warden.host-paths as well, which the group does not get, with polkit or without; root does.
# force_user_namespace gives the containers of everyone but root a user namespace. The limits
# on callers: max_calls_per_client (LimitsExceeded; other clients are served; wardend's RSS stays flat),
# max_jobs_per_container (PoolExhausted).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
here=$(dirname "$(readlink -f "$0")")

PK_SERVICE=/usr/share/dbus-1/system-services/org.freedesktop.PolicyKit1.service
PK_SERVICE_AWAY=/run/test-polkit.PolicyKit1.service
RULE=/etc/polkit-1/rules.d/10-warden-test.rules
MEMBER=wpk-member # in the group "warden"
OTHER=wpk-other   # not
MAX_CALLS=16
MAX_JOBS=4
HP=/srv/test-polkit-hostpaths # the allow-listed directories, and a few that are not
M=/org/warden/Manager
C1=/org/warden/container/c1

[[ -e $PK_SERVICE && -e /usr/share/polkit-1/actions/org.warden.policy &&
    -e /usr/share/polkit-1/rules.d/50-org.warden.rules ]] ||
    skip_or_fail "polkit (package polkitd) or warden's polkit files are not installed"

reload_bus() {
    busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
}
cleanup() {
    set +e
    systemctl kill -s CONT polkit.service 2>/dev/null
    systemctl unmask --runtime polkit.service >/dev/null 2>&1
    if [[ -e $PK_SERVICE_AWAY ]]; then
        mv "$PK_SERVICE_AWAY" "$PK_SERVICE"
        reload_bus
    fi
    rm -f "$RULE"
    destroy_all
    rm -rf "$HP"
    userdel "$MEMBER" 2>/dev/null
    userdel "$OTHER" 2>/dev/null
    restore_config
}
save_config
trap cleanup EXIT

config() { # config [ACCESS-LINES...]
    printf '[daemon]\nmax_calls_per_client = %s\n[containers]\nmax_jobs_per_container = %s\n' \
        "$MAX_CALLS" "$MAX_JOBS" >"$WARDEN_CONF"
    printf '[access]\nbind_sources = %s\ncopy_directories = %s\nrootfs_directories = %s\n' \
        "$HP/share" "$HP/copies" "$HP/rootfses" >>"$WARDEN_CONF"
    printf '%s\n' "$@" >>"$WARDEN_CONF"
}
config
mkdir -p "$HP/share" "$HP/copies/in" "$HP/rootfses" "$HP/elsewhere"
cp -a /usr/lib/warden/rootfs "$HP/rootfses/r1"
cp -a /usr/lib/warden/rootfs "$HP/elsewhere/r2"
ln -s /etc "$HP/share/etc"             # allow-listed name, resolves outside
ln -s /etc "$HP/copies/etc"
ln -s "$HP/elsewhere/r2" "$HP/rootfses/r2"
echo shared >"$HP/share/f"
echo copied >"$HP/copies/in/f"
chmod -R a+rX "$HP"
systemctl stop warden.service # the next call starts it with this configuration
id "$MEMBER" >/dev/null 2>&1 || useradd --no-create-home --shell /bin/false -G warden "$MEMBER"
id "$OTHER" >/dev/null 2>&1 || useradd --no-create-home --shell /bin/false "$OTHER"
systemctl start polkit.service

as() { # as USER CMD...: CMD as USER with USER's groups
    local u=$1
    shift
    setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}
call_as() { # call_as USER OBJECT-PATH INTERFACE.METHOD ARGS...: gdbus call, GVariant arguments
    local u=$1 path=$2 method=$3
    shift 3
    as "$u" gdbus call --system --timeout 60 --dest org.warden.Manager --object-path "$path" \
        --method "$method" "$@"
}
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$(systemctl show -P MainPID warden.service)/status"; }

create c1

# ---- everyone may read ----------------------------------------------------------------------------------
as "$OTHER" busctl call "${BUSCTL_MANAGER[@]:3}" Ping >/dev/null || fail "$OTHER may not Ping"
assert_eq "$(call_as "$OTHER" $M org.warden.Manager.Echo hi)" "('hi',)" "$OTHER's Echo"
assert_contains "$(call_as "$OTHER" $M org.warden.Manager.List "@a{ss} {}")" "'c1'" "$OTHER's List"
assert_contains "$(call_as "$OTHER" $M org.warden.Manager.Info c1)" "'state': <'active'>" "$OTHER's Info"
assert_contains "$(call_as "$OTHER" $C1 org.warden.Container.Info)" "'handle': <'c1'>" "$OTHER's Container.Info"
assert_eq "$(as "$OTHER" busctl get-property org.warden.Manager $C1 org.warden.Container State)" 's "active"' \
    "$OTHER's property State"
as "$OTHER" busctl introspect org.warden.Manager $C1 >/dev/null || fail "$OTHER may not introspect"

# ---- anyone else is refused every method that changes something, by polkit -------------------------------
refused() { # refused USER OBJECT-PATH INTERFACE.METHOD ARGS...
    local out
    out=$(call_as "$@" 2>&1) && fail "$1 may call $3 on $2: $out"
    assert_contains "$out" "org.freedesktop.DBus.Error.AccessDenied" "$1's $3 on $2"
    assert_contains "$out" "polkit refuses the action 'org.warden.manage'" "$1's $3 on $2 (polkit's answer)"
}
for h in c1 nope; do # a caller who may not change anything does not learn whether a handle exists
    for call in "Stop $h true" "Destroy $h" "Spawn $h ['true'] {}" "Run $h ['true'] {}" "Link $h 1" \
        "Stream $h 1" "Signal $h 1 9" "ResizeTty $h 1 24 80" "CopyIn $h /etc/hostname /tmp/x" \
        "CopyOut $h /etc/hostname /tmp/x ''" "NetIn $h 0 0" "NetOut $h {}" "LimitMemory $h 0" \
        "LimitCpu $h 0" "LimitCpuQuota $h 0" "LimitDisk $h {}" "LimitBandwidth $h 0 0"; do
        read -r -a a <<<"$call"
        refused "$OTHER" $M "org.warden.Manager.${a[0]}" "${a[@]:1}"
    done
done
refused "$OTHER" $M org.warden.Manager.Create "{'handle': <'x1'>}"
for call in "Stop true" "Destroy" "Spawn ['true'] {}" "Run ['true'] {}" "Link 1" "Stream 1" "Signal 1 9" \
    "ResizeTty 1 24 80" "CopyIn /etc/hostname /tmp/x" "CopyOut /etc/hostname /tmp/x ''" "NetIn 0 0" \
    "NetOut {}" "LimitMemory 0" "LimitCpu 0" "LimitCpuQuota 0" "LimitDisk {}" "LimitBandwidth 0 0"; do
    read -r -a a <<<"$call"
    refused "$OTHER" $C1 "org.warden.Container.${a[0]}" "${a[@]:1}"
done
refused nobody $M org.warden.Manager.Destroy c1
assert_eq "$(info c1 state)" active "c1 after the refused calls"
assert_eq "$(info c1 job_ids)" "[]" "jobs of c1 after the refused calls"
assert_eq "$(wardenctl list)" c1 "containers after the refused calls"

# ---- a member of the group "warden" is let through by polkit --------------------------------------------
out=$(call_as "$MEMBER" $M org.warden.Manager.Create "{'handle': <'c2'>, 'grace_time': <uint32 0>}") ||
    fail "$MEMBER's Create: $out"
assert_contains "$(call_as "$MEMBER" /org/warden/container/c2 org.warden.Container.Run "['echo', 'hi']" "{}")" \
    "(0, [byte 0x68, 0x69, 0x0a]" "$MEMBER's Run"
assert_eq "$(call_as "$MEMBER" $M org.warden.Manager.Destroy c2)" "()" "$MEMBER's Destroy"
assert_clean c2
assert_eq "$(error_of call_as "$MEMBER" $M org.warden.Manager.Destroy nope)" \
    org.warden.Error.NoSuchContainer "$MEMBER's Destroy of nothing"

# ---- host paths: the member needs org.warden.host-paths outside the allow-lists, root does not -----------
host_paths_refused() { # host_paths_refused WHAT OUT: OUT is the refusal for host paths
    assert_contains "$2" org.freedesktop.DBus.Error.AccessDenied "$MEMBER's $1"
    assert_contains "$2" "org.warden.host-paths" "$MEMBER's $1 (names the action)"
}
member_create() { call_as "$MEMBER" $M org.warden.Manager.Create "$@" 2>&1; }
for opts in "'bind_mounts': <[('/etc', '/mnt', false)]>" "'bind_mounts': <[('/root', '/mnt', true)]>" \
    "'bind_mounts': <[('$HP/share/etc', '/mnt', true)]>" "'bind_mounts': <[('$HP/elsewhere', '/mnt', true)]>" \
    "'rootfs': <'$HP/elsewhere/r2'>" "'rootfs': <'$HP/rootfses/r2'>" "'rootfs': <'/usr'>"; do
    out=$(member_create "{'handle': <'hp'>, 'grace_time': <uint32 0>, $opts}") && fail "$MEMBER's Create with $opts: $out"
    host_paths_refused "Create with $opts" "$out"
done
# never mounted, whoever asks: the rule, not the action
out=$(member_create "{'handle': <'hp'>, 'bind_mounts': <[('/run/dbus', '/mnt', true)]>}") || true
assert_contains "$out" "are never mounted into a container" "$MEMBER's bind mount of /run/dbus"
assert_eq "$(wardenctl list)" c1 "containers after the refused host paths"
for call in "CopyIn c1 /etc/shadow /tmp/shadow" "CopyIn c1 $HP/copies/etc/shadow /tmp/shadow" \
    "CopyIn c1 $HP/copies/etc/ /tmp/etc" \
    "CopyIn c1 $HP/elsewhere/r2/etc/passwd /tmp/x" "CopyOut c1 /etc/hostname /etc/cron.d/x ''" \
    "CopyOut c1 /etc/hostname $HP/copies/etc/x ''"; do
    read -r -a a <<<"$call"
    out=$(call_as "$MEMBER" $M "org.warden.Manager.${a[0]}" "${a[@]:1}" 2>&1) && fail "$MEMBER's $call: $out"
    host_paths_refused "$call" "$out"
done
[[ ! -e /etc/cron.d/x && ! -e /etc/x ]] || fail "$MEMBER's CopyOut wrote into /etc"
in_container c1 test -e /tmp/shadow && fail "$MEMBER's CopyIn read /etc/shadow"
in_container c1 test -e /tmp/etc && fail "$MEMBER's CopyIn read /etc"
# allow-listed: org.warden.manage is enough
out=$(member_create "{'handle': <'hp'>, 'grace_time': <uint32 0>, 'rootfs': <'$HP/rootfses/r1'>,
    'bind_mounts': <[('$HP/share', '/mnt/share', true), ('$HP/share/f', '/mnt/f', true)]>}") ||
    fail "$MEMBER's Create with allow-listed paths: $out"
assert_eq "$(in_container hp cat /mnt/share/f /mnt/f)" "shared
shared" "hp's bind mounts"
assert_eq "$(info hp rootfs)" "$HP/rootfses/r1" "hp's rootfs"
assert_eq "$(call_as "$MEMBER" $M org.warden.Manager.CopyIn hp "$HP/copies/in" /tmp/in)" "()" "$MEMBER's CopyIn"
assert_eq "$(in_container hp cat /tmp/in/f)" copied "what $MEMBER copied in"
assert_eq "$(call_as "$MEMBER" $M org.warden.Manager.CopyOut hp /etc/hostname "$HP/copies/out" "''")" "()" \
    "$MEMBER's CopyOut"
assert_eq "$(cat "$HP/copies/out")" hp "what $MEMBER copied out"
assert_eq "$(call_as "$MEMBER" $M org.warden.Manager.Destroy hp)" "()" "$MEMBER's Destroy of hp"
assert_clean hp
# root may use any host path (but never the ones that are never mounted)
create hr 2 bind_mounts 'a(ssb)' 1 /etc /mnt/etc true rootfs s "$HP/elsewhere/r2"
assert_eq "$(in_container hr cat /mnt/etc/hostname)" "$(cat /etc/hostname)" "root's bind mount of /etc"
"${BUSCTL_MANAGER[@]}" CopyIn sss hr /etc/hostname /tmp/h
"${BUSCTL_MANAGER[@]}" CopyOut ssss hr /tmp/h "$HP/elsewhere/h" ''
assert_eq "$(cat "$HP/elsewhere/h")" "$(cat /etc/hostname)" "root's copies"
"${BUSCTL_MANAGER[@]}" Destroy s hr
assert_clean hr

# ---- polkit decides: a local rule takes Destroy from the member, and grants the other user -------------
cat >"$RULE" <<'EOF'
polkit.addRule(function(action, subject) {
    if (action.id == "org.warden.manage" && subject.user == "wpk-member" && action.lookup("method") == "Destroy")
        return polkit.Result.NO;
    if (action.id == "org.warden.manage" && subject.user == "wpk-other")
        return polkit.Result.YES;
    if (action.id == "org.warden.host-paths" && subject.user == "wpk-member" && action.lookup("method") == "CopyIn")
        return polkit.Result.YES;
});
EOF
member_destroy_is() {
    [[ $(error_of call_as "$MEMBER" $M org.warden.Manager.Destroy nope) == "$1" ]]
}
wait_until 20 member_destroy_is org.freedesktop.DBus.Error.AccessDenied
assert_eq "$(error_of call_as "$MEMBER" $M org.warden.Manager.Stop nope true)" \
    org.warden.Error.NoSuchContainer "$MEMBER's Stop under the local rule"
assert_match "$(error_of call_as "$OTHER" $C1 org.warden.Container.LimitMemory 0)" \
    '^no error: \(uint64 [0-9]+,\)$' "$OTHER's LimitMemory (a query), granted by the local rule"
assert_eq "$(call_as "$MEMBER" $M org.warden.Manager.CopyIn c1 /etc/hostname /tmp/granted)" "()" \
    "$MEMBER's CopyIn of a host path, granted org.warden.host-paths by the local rule"
assert_eq "$(in_container c1 cat /tmp/granted)" "$(cat /etc/hostname)" "what $MEMBER copied in"
out=$(call_as "$MEMBER" $M org.warden.Manager.CopyOut c1 /tmp/granted /etc/x "''" 2>&1) &&
    fail "$MEMBER's CopyOut to /etc under the local rule: $out"
assert_contains "$out" "org.warden.host-paths" "$MEMBER's CopyOut to /etc under the local rule"
rm -f "$RULE"
wait_until 20 member_destroy_is org.warden.Error.NoSuchContainer
refused "$OTHER" $C1 org.warden.Container.LimitMemory 0

# ---- asynchronous: while polkit does not answer, others are served; after 10 s the group decides --------
systemctl kill -s STOP polkit.service
t0=$(now_ms)
call_as "$MEMBER" $M org.warden.Manager.Stop nope true >/run/test-polkit.out 2>&1 &
waiting=$!
sleep 1
t1=$(now_ms)
"${BUSCTL_MANAGER[@]}" Ping >/dev/null
assert_eq "$(error_of "${GDBUS_MANAGER[@]}" --method org.warden.Manager.Destroy nope)" \
    org.warden.Error.NoSuchContainer "root's Destroy while polkit stalls"
t2=$(now_ms)
((t2 - t1 < 2000)) || fail "root's calls took $((t2 - t1)) ms while polkit stalled"
wait "$waiting" || true
t3=$(now_ms)
assert_contains "$(cat /run/test-polkit.out)" org.warden.Error.NoSuchContainer \
    "$MEMBER's Stop after polkit's timeout"
((t3 - t0 >= 9000 && t3 - t0 < 20000)) || fail "$MEMBER's Stop took $((t3 - t0)) ms, expected about 10 s"
echo "polkit stalled: root answered in $((t2 - t1)) ms, the member after $((t3 - t0)) ms" >&2
# wardend stopped while polkit is being asked: the caller learns it at once, nothing is left behind (the
# ASan build's LeakSanitizer reports at exit, test-sanitizers)
call_as "$MEMBER" $M org.warden.Manager.Stop nope true >/run/test-polkit.out 2>&1 &
waiting=$!
sleep 1
systemctl stop warden.service
t0=$(now_ms)
wait "$waiting" && fail "$MEMBER's Stop was answered by a stopped wardend: $(cat /run/test-polkit.out)"
(($(now_ms) - t0 < 5000)) || fail "$MEMBER's Stop hung after wardend stopped"
assert_contains "$(cat /run/test-polkit.out)" org.freedesktop.DBus.Error.NoReply "$MEMBER's Stop, wardend gone"
systemctl kill -s CONT polkit.service
assert_eq "$(info c1 state)" active "c1 after wardend's restart"
rm -f /run/test-polkit.out

# ---- without polkit the group decides, at once ----------------------------------------------------------
without_polkit() { # without_polkit WHY
    local t0 out
    t0=$(now_ms)
    assert_eq "$(error_of call_as "$MEMBER" $M org.warden.Manager.Stop nope true)" \
        org.warden.Error.NoSuchContainer "$MEMBER's Stop ($1)"
    out=$(call_as "$OTHER" $M org.warden.Manager.Stop c1 true 2>&1) && fail "$OTHER's Stop ($1): $out"
    assert_contains "$out" "org.freedesktop.DBus.Error.AccessDenied" "$OTHER's Stop ($1)"
    assert_contains "$out" "(polkit is not available)" "$OTHER's Stop ($1)"
    out=$(call_as "$MEMBER" $M org.warden.Manager.Create "{'handle': <'c3'>, 'grace_time': <uint32 0>,
        'bind_mounts': <[('$HP/share', '/mnt', true)]>}") || fail "$MEMBER's Create ($1): $out"
    out=$(call_as "$MEMBER" $M org.warden.Manager.Create "{'handle': <'c4'>, 'bind_mounts': <[('/etc', '/mnt', true)]>}" 2>&1) &&
        fail "$MEMBER's Create with /etc ($1): $out"
    assert_contains "$out" "org.freedesktop.DBus.Error.AccessDenied" "$MEMBER's bind mount of /etc ($1)"
    assert_contains "$out" "Only root may use host paths" "$MEMBER's bind mount of /etc ($1)"
    out=$(call_as "$MEMBER" $M org.warden.Manager.CopyIn c3 /etc/shadow /tmp/s 2>&1) &&
        fail "$MEMBER's CopyIn of /etc/shadow ($1): $out"
    assert_contains "$out" "polkit is not available" "$MEMBER's CopyIn of /etc/shadow ($1)"
    assert_eq "$(call_as "$MEMBER" $M org.warden.Manager.Destroy c3)" "()" "$MEMBER's Destroy ($1)"
    (($(now_ms) - t0 < 10000)) || fail "calls took $(($(now_ms) - t0)) ms ($1)"
}
systemctl stop polkit.service
systemctl mask --runtime polkit.service
without_polkit "polkit masked"
systemctl unmask --runtime polkit.service
mv "$PK_SERVICE" "$PK_SERVICE_AWAY"
reload_bus
without_polkit "polkit not installed"
mv "$PK_SERVICE_AWAY" "$PK_SERVICE"
reload_bus
refused "$OTHER" $M org.warden.Manager.Destroy c1 # polkit again
assert_clean c3

# ---- max_jobs_per_container ----------------------------------------------------------------------------
jobs=()
for ((i = 0; i < MAX_JOBS; i++)); do
    jobs+=("$("${BUSCTL_MANAGER[@]}" Spawn 'sasa{sv}' c1 2 sleep 1000 0 | cut -d' ' -f2)")
done
out=$("${GDBUS_MANAGER[@]}" --method org.warden.Manager.Spawn c1 "['true']" "{}" 2>&1) &&
    fail "job $((MAX_JOBS + 1)) started: $out"
assert_contains "$out" org.warden.Error.PoolExhausted "job $((MAX_JOBS + 1))"
assert_contains "$out" "max_jobs_per_container=$MAX_JOBS" "job $((MAX_JOBS + 1))"
# an exited job counts until it is linked
"${BUSCTL_MANAGER[@]}" Signal sui c1 "${jobs[0]}" 9
assert_eq "$(error_of "${GDBUS_MANAGER[@]}" --method org.warden.Manager.Run c1 "['true']" "{}")" \
    org.warden.Error.PoolExhausted "a job while the exited one is not linked"
assert_match "$("${BUSCTL_MANAGER[@]}" Link su c1 "${jobs[0]}")" "^iayaya\{sv\} 137 " "Link of the killed job"
assert_match "$("${BUSCTL_MANAGER[@]}" Run 'sasa{sv}' c1 1 true 0)" "^iayaya\{sv\} 0 " "Run after the Link"
for j in "${jobs[@]:2}"; do
    "${BUSCTL_MANAGER[@]}" Signal sui c1 "$j" 9
    "${BUSCTL_MANAGER[@]}" Link su c1 "$j" >/dev/null
done

# polkit checks count too: 1000 Stop from a member at once
flood_polkit() {
    local r
    r=$(as "$MEMBER" python3 "$here/flood.py" stop nope 1000)
    echo "flood (member, Stop, polkit): $r" >&2
    python3 - "$r" "$MAX_CALLS" <<'EOF' || fail "flood of polkit checks"
import json, sys
r, max_calls = json.loads(sys.argv[1]), int(sys.argv[2])
assert r["all_answered"], "not every call was answered"
errors = r["errors"]
assert set(errors) <= {"org.freedesktop.DBus.Error.LimitsExceeded", "org.warden.Error.NoSuchContainer"}, errors
assert errors.get("org.warden.Error.NoSuchContainer", 0) >= max_calls, errors
assert r["ours"] >= 1, "no LimitsExceeded from wardend itself"
EOF
}

# ---- max_calls_per_client: 1000 calls at once from one client -------------------------------------------
# wardend's RSS is taken after a first round of each kind of flood: the first one grows the heap to what
# 1000 calls in flight need (more where polkit answers slowly, as in an emulated guest, and the queue of
# calls to polkit is deeper); a leak grows it again with every round
for round in 1 2 3; do
    ((round != 2)) || { flood_polkit; rss0=$(rss_kb); }
    job=${jobs[1]}
    ((round == 1)) || job=$("${BUSCTL_MANAGER[@]}" Spawn 'sasa{sv}' c1 2 sleep 1000 0 | cut -d' ' -f2)
    r=$(python3 "$here/flood.py" link c1 "$job" 1000)
    echo "flood $round (root, Link): $r" >&2
    python3 - "$r" "$MAX_CALLS" <<'EOF' || fail "flood $round"
import json, sys
r, max_calls = json.loads(sys.argv[1]), int(sys.argv[2])
limits = "org.freedesktop.DBus.Error.LimitsExceeded"
assert r["held"] == max_calls, f"{r['held']} calls held, expected max_calls_per_client={max_calls}"
assert r["errors_before_kill"] == {limits: 1000 - max_calls}, r["errors_before_kill"]
assert r["ours"] >= 1, "no LimitsExceeded from wardend itself"
assert r["all_answered"] and r["ok"] == max_calls, "the held calls were not all answered"
assert r["other_ms"] < 1000, f"another client waited {r['other_ms']} ms"
EOF
done
flood_polkit
rss1=$(rss_kb)
echo "wardend RSS: $rss0 kB before the floods, $rss1 kB after" >&2
# Under AddressSanitizer freed memory stays in its quarantine (RSS grows); LeakSanitizer checks for leaks
# there instead (test-sanitizers).
if ! ldd /usr/libexec/wardend | grep -q libasan; then
    ((rss1 - rss0 < 2048)) || fail "wardend's RSS grew from $rss0 kB to $rss1 kB"
fi
assert_eq "$(info c1 job_ids)" "[]" "jobs of c1 after the floods"
"${BUSCTL_MANAGER[@]}" Ping >/dev/null || fail "wardend after the floods"

"${BUSCTL_MANAGER[@]}" Destroy s c1
assert_clean c1

# ---- force_user_namespace: the member's containers get one, root's do not unless asked -----------------
config "force_user_namespace = yes"
systemctl stop warden.service
out=$(member_create "{'handle': <'u1'>, 'grace_time': <uint32 0>}") || fail "$MEMBER's Create (forced userns): $out"
assert_eq "$(info u1 user_namespace)" True "$MEMBER's container has a user namespace"
out=$(member_create "{'handle': <'u2'>, 'user_namespace': <false>}") && fail "$MEMBER's Create without userns: $out"
assert_contains "$out" org.freedesktop.DBus.Error.InvalidArgs "$MEMBER's Create without a user namespace"
assert_contains "$out" force_user_namespace "$MEMBER's Create without a user namespace (the message)"
create u3
assert_eq "$(info u3 user_namespace)" False "root's container"
"${BUSCTL_MANAGER[@]}" Destroy s u1
"${BUSCTL_MANAGER[@]}" Destroy s u3
assert_clean u1
assert_clean u3
echo "ok: polkit" >&2
