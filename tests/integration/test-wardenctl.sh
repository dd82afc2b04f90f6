#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# wardenctl against the real system bus: activation, output formats, errors and exit codes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

systemctl stop warden.service
out=$(wardenctl ping) || fail "wardenctl ping"
assert_match "$out" '^pong from org\.warden\.Manager \(wardend [0-9.]+\) in [0-9.]+ ms$' "ping output"
assert_eq "$(systemctl is-active warden.service)" active "wardenctl ping activates wardend"

assert_match "$(wardenctl --json ping)" '^\{"name": "org.warden.Manager", "version": "[0-9.]+", "time_usec": [0-9]+\}$' "ping --json"
assert_eq "$(wardenctl list)" "" "list"
assert_eq "$(wardenctl --json list)" "[]" "list --json"
assert_eq "$(wardenctl --property app=web list)" "" "list --property"
assert_eq "$(wardenctl echo 'hi there')" "hi there" "echo"
assert_match "$(wardenctl version)" $'^wardenctl [0-9.]+\nwardend [0-9.]+$' "version"

rc=0; err=$(wardenctl info nope 2>&1) || rc=$?
assert_eq "$rc" 1 "info of a missing container"
assert_eq "$err" "wardenctl: No container 'nope'." "error message"
rc=0; err=$(wardenctl bogus 2>&1) || rc=$?
assert_eq "$rc" 2 "unknown command"
assert_contains "$err" "wardenctl: Unknown command 'bogus'" "usage message"
wardenctl --help | grep -q '^  ping' || fail "--help"

# a real container through wardenctl: create, list, info (text and JSON), stop, destroy
trap destroy_all EXIT
h=$(wardenctl create --grace-time 0 --property app=web --property 'team=a b' --env FOO=bar)
assert_match "$h" '^[a-z2-7]{11}$' "create prints the generated handle"
assert_eq "$(wardenctl list)" "$h" "list"
assert_eq "$(wardenctl --property app=web --property 'team=a b' list)" "$h" "list filters on properties"
assert_eq "$(wardenctl list -p app=db)" "" "list filter without match"
out=$(wardenctl info "$h")
grep -q '^ *state: active$' <<<"$out" || fail "info state: $out"
grep -q "^ *unit: warden-$h.scope\$" <<<"$out" || fail "info unit"
grep -q '^ *properties: app=web team=a b$' <<<"$out" || fail "info properties"
python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["properties"] == {"app": "web", "team": "a b"} and d["grace_time"] == 0 and d["job_ids"] == [] and d["state"] == "active"' \
    <<<"$(wardenctl info "$h" --json)" || fail "info --json"
assert_eq "$(busctl get-property org.warden.Manager /org/warden/Manager org.warden.Manager Containers)" \
    "as 1 \"$h\"" "Containers property"
rc=0; err=$(wardenctl create --handle "$h" 2>&1) || rc=$?
assert_eq "$rc" 1 "create with a handle in use"
assert_contains "$err" "'$h' exists already" "its message"
json=$(wardenctl --json create --handle ctl-2 --grace-time 0 --bind /etc:/mnt/etc:ro --memory-limit 64M --pids-limit 100)
assert_eq "$json" '{"handle": "ctl-2", "object": "/org/warden/container/ctl_2d2"}' "create --json"
assert_eq "$(systemctl show -P TasksMax warden-ctl-2.scope)" 100 "--pids-limit is the scope's TasksMax"
assert_eq "$(systemctl show -P MemoryMax warden-ctl-2.scope)" $((64 << 20)) "--memory-limit is the scope's MemoryMax"
wardenctl stop "$h" ctl-2
assert_eq "$(info "$h" state)" stopped "stop"
wardenctl destroy "$h" ctl-2
assert_eq "$(wardenctl list)" "" "destroy"
rc=0; err=$(wardenctl destroy "$h" 2>&1) || rc=$?
assert_eq "$rc" 1 "a second destroy fails"
assert_eq "$err" "wardenctl: No container '$h'." "its message"
echo "ok: wardenctl" >&2
