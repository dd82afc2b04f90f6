#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs last. tools/test-all runs the integration suite a second time with wardend, wshd and wardenctl built
# with ASan+UBSan installed; their reports land in warden.service's journal (wshd writes to the stderr it
# inherits from wardend). Any report fails the suite. With a normal build this checks that nothing ever
# printed one either.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# wardend stops with a call still held: a Link waiting for a job that outlives it (its count of calls in
# flight must go with it; it once leaked)
trap destroy_all EXIT
create san1
job=$(wardenctl spawn san1 -- sleep 100)
wardenctl link san1 "$job" >/dev/null 2>&1 &
link=$!
sleep 1 # the Link is at wardend
systemctl stop warden.service # LeakSanitizer reports at exit
wait "$link" 2>/dev/null || true
reports=$(journalctl -b -u warden.service -o cat |
    grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' || true)
if [[ -n $reports ]]; then
    # the whole reports, with their stacks, for whoever has to find the bug (the sandbox's journal is gone
    # afterwards)
    journalctl -b -u warden.service -o cat |
        awk '/ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: / { on = 1 } on { print } /^SUMMARY: / { on = 0 }' |
        head -n 400 >&2
    fail "sanitizer reports from wardend/wshd: $reports"
fi
wardenctl destroy san1
echo "ok: no sanitizer reports" >&2
