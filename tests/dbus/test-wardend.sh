#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Suite 'dbus': the real wardend and wardenctl binaries on a private dbus-daemon (no root, no systemd):
# startup, second instance, idle exit, SIGTERM, bad configuration, and the CLI's output and exit codes.
# Usage: test-wardend.sh BUILD_DIR
set -euo pipefail

build=${1:?usage: $0 BUILD_DIR}
wardend=$build/src/wardend
wardenctl=$build/src/wardenctl

skip() {
        if [ "${WARDEN_TESTS_MUST_RUN:-0}" = 1 ]; then
                echo "FAIL (WARDEN_TESTS_MUST_RUN=1, would skip): $*" >&2
                exit 1
        fi
        echo "SKIP: $*" >&2
        exit 77
}
command -v dbus-daemon >/dev/null || skip "dbus-daemon is not installed"

tmp=$(mktemp -d /tmp/warden-dbus-test.XXXXXX)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
        rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
failed=0
ok() { echo "ok      $*"; passed=$((passed + 1)); }
fail() { echo "FAIL    $*" >&2; failed=$((failed + 1)); }
check() { # check NAME CMD... : CMD must succeed
        local name=$1; shift
        if "$@"; then ok "$name"; else fail "$name"; fi
}
expect() { # expect NAME RC REGEX: the last command (in $rc, $err) exited RC and printed REGEX
        if [ "$rc" = "$2" ] && grep -Eq -- "$3" <<<"$err"; then ok "$1"; else fail "$1 (rc=$rc: $err)"; fi
}

dbus-daemon --session --nofork --nopidfile --address="unix:path=$tmp/bus" --print-address=3 3>"$tmp/address" &
pids+=("$!")
for _ in $(seq 100); do [ -s "$tmp/address" ] && break; sleep 0.05; done
addr=$(head -n1 "$tmp/address")
[ -n "$addr" ] || { echo "dbus-daemon did not start" >&2; exit 1; }

ctl() { "$wardenctl" --bus-address="$addr" "$@"; }
start_wardend() { # start_wardend EXTRA_ARGS... ; sets $wpid
        "$wardend" --bus-address="$addr" --state-dir="$tmp/state" --config="$tmp/wardend.conf" "$@" \
                2>>"$tmp/wardend.log" &
        wpid=$!
        pids+=("$wpid")
        for _ in $(seq 100); do ctl ping >/dev/null 2>&1 && return 0; sleep 0.05; done
        echo "wardend did not come up:" >&2; cat "$tmp/wardend.log" >&2; return 1
}

# --- start-up and basic calls
start_wardend --idle-timeout=0
out=$(ctl ping)
check "ping prints pong and the version" grep -q "^pong from org.warden.Manager (wardend [0-9.]*) in" <<<"$out"
check "ping --json" bash -c '[[ "$('"$wardenctl"' --bus-address='"$addr"' --json ping)" =~ ^\{\"name\":\ \"org.warden.Manager\",\ \"version\":\ \"[0-9.]+\",\ \"time_usec\":\ [0-9]+\}$ ]]'
check "echo returns its argument" test "$(ctl echo 'hello world')" = "hello world"
check "echo --json escapes" test "$(ctl --json echo 'a"b')" = '"a\"b"'
check "list is empty" test -z "$(ctl list)"
check "list --json is []" test "$(ctl --json list)" = "[]"
check "list --property filter" test -z "$(ctl list --property app=web)"
check "state directory created" test -d "$tmp/state/containers"

err=$(ctl info nope 2>&1 >/dev/null) && rc=0 || rc=$?
check "info of a missing container fails with exit 1" test "$rc" = 1
check "info error names the container" test "$err" = "wardenctl: No container 'nope'."
err=$(ctl info ../x 2>&1 >/dev/null) && rc=0 || rc=$?
check "info of an invalid handle fails" test "$rc" = 1
check "invalid handle message" grep -q "^wardenctl: Invalid container handle" <<<"$err"

# --- create/stop/destroy: errors come from wardend, exit 1 with its message. Create cannot succeed here
# (no systemd), but wardend checks the options before it needs systemd.
rc=0; err=$(ctl create --handle 'bad/handle' 2>&1) || rc=$?
expect "create with an invalid handle fails with wardend's message" 1 "^wardenctl: Invalid container handle"
rc=0; err=$(ctl destroy nosuch 2>&1) || rc=$?
expect "destroy of a missing container exits 1" 1 "^wardenctl: No container 'nosuch'\.$"
rc=0; err=$(ctl destroy nosuch other 2>&1) || rc=$?
expect "destroy reports every failed handle" 1 "No container 'other'\."
check "destroy reports the first failed handle too" grep -q "No container 'nosuch'\." <<<"$err"
rc=0; err=$(ctl stop --kill nosuch 2>&1) || rc=$?
expect "stop --kill of a missing container exits 1" 1 "^wardenctl: No container 'nosuch'\.$"
rc=0; err=$(ctl stop -- -x 2>&1) || rc=$?
expect "stop of an invalid handle exits 1" 1 "^wardenctl: Invalid container handle"
check "failed calls created nothing" test -z "$(ctl list)"

check "busctl sees the Version property" bash -c "busctl --address='$addr' get-property org.warden.Manager /org/warden/Manager org.warden.Manager Version | grep -q '^s \"[0-9.]*\"$'"
err=$(busctl --address="$addr" call org.warden.Manager /org/warden/Manager org.warden.Manager Create 'a{sv}' 1 rootfs s /nonexistent 2>&1) && rc=0 || rc=$?
expect "Create of a missing rootfs is refused (as root) or AccessDenied" 1 "does not exist|Only root"
err=$(busctl --address="$addr" call org.warden.Manager /org/warden/Manager org.warden.Manager Bogus 2>&1) && rc=0 || rc=$?
expect "unknown method is an error" 1 "Unknown method"
err=$(busctl --address="$addr" call org.warden.Manager /org/warden/Manager org.warden.Manager Echo u 5 2>&1) && rc=0 || rc=$?
expect "wrong signature is an error" 1 "[Ii]nvalid|signature"

# --- a second instance cannot take the name, and says so
rc=0; "$wardend" --bus-address="$addr" --state-dir="$tmp/state2" --config="$tmp/wardend.conf" 2>"$tmp/second.log" || rc=$?
check "second instance exits non-zero" test "$rc" != 0
check "second instance explains why" grep -q "is owned by another process; is wardend already running" "$tmp/second.log"
check "first instance still answers" ctl ping

# --- SIGTERM is a clean exit
kill -TERM "$wpid"; rc=0; wait "$wpid" || rc=$?
check "SIGTERM exits 0" test "$rc" = 0

# --- exit on idle
start_wardend --idle-timeout=1s
ctl ping >/dev/null
start=$(date +%s.%N)
rc=0; timeout 10 tail --pid="$wpid" -f /dev/null || rc=$?
end=$(date +%s.%N)
check "wardend exits by itself when idle" test "$rc" = 0
wait "$wpid" && rc=0 || rc=$?
check "idle exit status is 0" test "$rc" = 0
check "idle exit is logged" grep -q "Idle for 1s, exiting" "$tmp/wardend.log"
check "idle exit took at least the timeout" awk -v s="$start" -v e="$end" 'BEGIN { exit !(e - s >= 0.9) }'
check "the name is free again" bash -c "! '$wardenctl' --bus-address='$addr' ping 2>/dev/null"

# --- calls keep it alive
start_wardend --idle-timeout=2s
for _ in 1 2 3 4 5 6; do ctl ping >/dev/null; sleep 0.5; done
check "traffic postpones the idle exit" kill -0 "$wpid"
kill -TERM "$wpid"; wait "$wpid" || true

# --- SIGHUP re-reads the configuration: an idle_timeout switched on at run time takes effect
printf '[daemon]\nidle_timeout = 0\n' >"$tmp/wardend.conf"
start_wardend
sleep 1.5
check "idle_timeout = 0 never exits" kill -0 "$wpid"
printf '[daemon]\nidle_timeout = 1s\n' >"$tmp/wardend.conf"
kill -HUP "$wpid"
sleep 0.3
ctl ping >/dev/null
rc=0; timeout 10 tail --pid="$wpid" -f /dev/null || rc=$?
check "reloaded idle_timeout takes effect" test "$rc" = 0
check "reload is logged" grep -q "Reloading configuration from '$tmp/wardend.conf'" "$tmp/wardend.log"
wait "$wpid" || true
rm -f "$tmp/wardend.conf"

# --- bad configuration: clear message naming file, line and key; exit status 78 (EX_CONFIG, which
# warden.service does not restart)
printf '[daemon]\nidle_timeout = 30s\nmax_containers = lots\n' >"$tmp/bad.conf"
rc=0; "$wardend" --bus-address="$addr" --config="$tmp/bad.conf" --state-dir="$tmp/state" 2>"$tmp/bad.log" || rc=$?
check "bad config exits 78" test "$rc" = 78
check "bad config message" grep -q "$tmp/bad.conf:3: key 'max_containers': invalid value 'lots'" "$tmp/bad.log"
printf '[daemon]\nidle_timout = 30s\n' >"$tmp/bad.conf"
rc=0; "$wardend" --check-config --config="$tmp/bad.conf" 2>"$tmp/bad.log" >/dev/null || rc=$?
check "misspelt key is refused" bash -c "[ $rc = 78 ] && grep -q \"bad.conf:2: unknown key 'idle_timout' in section \[daemon\]\" '$tmp/bad.log'"
check "--check-config prints defaults" bash -c "'$wardend' --check-config --config=/nonexistent | grep -q '^idle_timeout = 30s$'"
rc=0; "$wardend" --no-such-option 2>/dev/null || rc=$?
check "unknown wardend option exits 1" test "$rc" = 1
rc=0; "$wardend" extra-arg 2>/dev/null || rc=$?
check "wardend refuses arguments" test "$rc" = 1
check "wardend --help" bash -c "'$wardend' --help | grep -q -- --bus-introspect"

# --- wardenctl usage errors: exit 2 and a message
rc=0; err=$("$wardenctl" frobnicate 2>&1) || rc=$?
expect "unknown command exits 2" 2 "^wardenctl: Unknown command 'frobnicate'"
rc=0; "$wardenctl" 2>/dev/null || rc=$?
check "no command exits 2" test "$rc" = 2
rc=0; "$wardenctl" info 2>/dev/null || rc=$?
check "missing argument exits 2" test "$rc" = 2
rc=0; "$wardenctl" --bogus 2>/dev/null || rc=$?
check "unknown option exits 2" test "$rc" = 2
rc=0; "$wardenctl" --property=novalue list 2>/dev/null || rc=$?
check "malformed --property exits 2" test "$rc" = 2
rc=0; err=$("$wardenctl" --bus-address="unix:path=$tmp/nothing" ping 2>&1) || rc=$?
expect "no bus: exit 1 with a message" 1 "^wardenctl: Failed to connect to the given bus"
check "wardenctl --version" bash -c "'$wardenctl' --version | grep -q '^wardenctl [0-9.]*$'"

# --- create/stop/destroy: what wardenctl refuses by itself (exit 2, before it connects)
rc=0; err=$("$wardenctl" create --bind nocolon 2>&1) || rc=$?
expect "create --bind without ':' exits 2" 2 "^wardenctl: --bind= takes SRC:DST\[:ro\|:rw\], got 'nocolon'\.$"
rc=0; err=$("$wardenctl" create --bind /a: 2>&1) || rc=$?
expect "create --bind with an empty destination exits 2" 2 "^wardenctl: --bind= takes"
rc=0; err=$("$wardenctl" create --env NOVALUE 2>&1) || rc=$?
expect "create --env without '=' exits 2" 2 "^wardenctl: --env= takes KEY=VALUE"
rc=0; err=$("$wardenctl" create --grace-time soon 2>&1) || rc=$?
expect "create --grace-time that is no time exits 2" 2 "^wardenctl: Invalid --grace-time= 'soon'"
rc=0; err=$("$wardenctl" create --memory-limit 1Q 2>&1) || rc=$?
expect "create --memory-limit that is no size exits 2" 2 "^wardenctl: Invalid --memory-limit= '1Q'"
rc=0; err=$("$wardenctl" create extra 2>&1) || rc=$?
expect "create takes no arguments" 2 "^wardenctl: 'create' takes 0 arguments, got 1\.$"
rc=0; err=$("$wardenctl" list --kill 2>&1) || rc=$?
expect "an option of another command exits 2" 2 "^wardenctl: Option --kill does not apply to 'list'\.$"
rc=0; err=$("$wardenctl" --handle x create 2>&1) || rc=$?
expect "a command's option before the command exits 2" 2 "^wardenctl: Option --handle must follow the command"
rc=0; err=$("$wardenctl" stop 2>&1) || rc=$?
expect "stop without a handle exits 2" 2 "^wardenctl: 'stop' takes at least 1 argument, got 0\.$"
rc=0; err=$("$wardenctl" destroy 2>&1) || rc=$?
expect "destroy without a handle exits 2" 2 "^wardenctl: 'destroy' takes at least 1 argument"
rc=0; out=$("$wardenctl" stop --help 2>&1) || rc=$?
check "stop --help exits 0" test "$rc" = 0
check "stop --help describes stop" grep -q -- "--kill" <<<"$out"

# --- a recorded container whose wshd is not in its scope (here: this shell) is lost: cleaned up, logged
mkdir -p "$tmp/state3/containers"
printf 'VERSION=1\nHANDLE=web-1\nSTATE=active\nLEADER_PID=%s\nPROPERTY=app=web\nGRACE_TIME=30\n' \
        "$$" >"$tmp/state3/containers/web-1"
"$wardend" --bus-address="$addr" --state-dir="$tmp/state3" --config="$tmp/none.conf" --idle-timeout=0 \
        2>>"$tmp/wardend.log" &
wpid=$!
pids+=("$wpid")
for _ in $(seq 100); do ctl ping >/dev/null 2>&1 && break; sleep 0.05; done
for _ in $(seq 100); do [ -z "$(ctl list)" ] && break; sleep 0.05; done
check "a container without its wshd is not re-adopted" test -z "$(ctl list)"
check "its state file is removed" test ! -e "$tmp/state3/containers/web-1"
check "it is reported" grep -q "Container 'web-1': its wshd is gone; cleaning it up." "$tmp/wardend.log"
kill -0 $$ || check "the stale PID was not killed" false
kill -TERM "$wpid"; wait "$wpid" || true

# --- a bus that refuses wardend's match rules (max_match_rules_per_connection = 1; it holds 2): wardend
# logs the refusal, keeps running and answers, and asks again; sd-bus alone would close the connection
cat >"$tmp/tight.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$tmp/tight-bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <limit name="max_match_rules_per_connection">1</limit>
</busconfig>
CONF
dbus-daemon --config-file="$tmp/tight.conf" --nofork --nopidfile &
pids+=("$!")
for _ in $(seq 100); do [ -S "$tmp/tight-bus" ] && break; sleep 0.05; done
tight="unix:path=$tmp/tight-bus"
: >"$tmp/tight.log"
"$wardend" --bus-address="$tight" --state-dir="$tmp/state4" --config="$tmp/none.conf" --idle-timeout=0 \
        2>>"$tmp/tight.log" &
wpid=$!
pids+=("$wpid")
for _ in $(seq 100); do grep -q "the bus refused the match rule" "$tmp/tight.log" && break; sleep 0.05; done
check "a refused match rule is logged" grep -q "Cannot watch .*the bus refused the match rule.*asking again in 5s" \
        "$tmp/tight.log"
check "wardend answers after the refusal" "$wardenctl" --bus-address="$tight" ping
check "wardend is still running" kill -0 "$wpid"
kill -TERM "$wpid"; rc=0; wait "$wpid" || rc=$?
check "and exits cleanly" test "$rc" = 0

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
