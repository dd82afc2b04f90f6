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
echo "ok: wardenctl" >&2
