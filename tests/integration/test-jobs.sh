#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Jobs through D-Bus: Run/Spawn/Link/Stream/Signal/ResizeTty against real wshd processes, with their
# output, identity, limits and terminals; the output limit; JobExited; jobs that outlive a wardend restart
# (and one that ends while wardend is down); errors; nothing left behind. The D-Bus calls with descriptors
# are made by jobs.py (python3-dbus).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
jobs_py=$(dirname "$0")/jobs.py

save_config
monitor_pid=''
cleanup() {
    [[ -n $monitor_pid ]] && kill "$monitor_pid" 2>/dev/null
    destroy_all
    restore_config
}
trap cleanup EXIT
printf '[containers]\njob_output_limit = 64K\n' >"$WARDEN_CONF"
systemctl restart warden.service

monitor_log=$(mktemp)
gdbus monitor --system --dest org.warden.Manager --object-path /org/warden/Manager >"$monitor_log" &
monitor_pid=$!

create j1 1 env as 1 FROM_CREATE=create
create j2
"${BUSCTL_MANAGER[@]}" Stop sb j2 true
uid=$(in_container j1 sed -n 's/^vcap:x:\([0-9]*\):.*/\1/p' /etc/passwd)
[[ $uid -ge 10001 ]] || fail "no uid for vcap: '$uid'"

for step in basics link stream signal output tty; do
    case $step in
        output) python3 "$jobs_py" output j1 65536 ;;
        *) python3 "$jobs_py" "$step" j1 ;;
    esac || fail "step $step"
done
python3 "$jobs_py" identity j1 "$uid" || fail "step identity"
python3 "$jobs_py" errors j1 j2 || fail "step errors"

# JobExited for every exit, with the status
wait_until 5 grep -q "JobExited ('j1', uint32 [0-9]*, 123)" "$monitor_log"
grep -q "JobExited ('j1', uint32 [0-9]*, 143)" "$monitor_log" || fail "no JobExited for the SIGTERM job"

# Restart: a running job keeps running and is linked by the next wardend with all of its output; a job that
# ends while no wardend runs is reported with its real status.
read -r a b < <(python3 "$jobs_py" spawn_for_restart j1)
systemctl stop warden.service
sleep 0.5
pgrep -f 'until \[ -e /tmp/restart-go \]' >/dev/null || fail "the job died with wardend"
systemctl start warden.service
in_container j1 touch /tmp/restart-go
python3 "$jobs_py" link_after_restart j1 "$a" "$b" || fail "step link_after_restart"
journalctl -b -u warden.service -o cat | grep -q "Re-adopted 2 job(s) of 'j1'" || fail "no re-adoption of the jobs"

# nothing of the jobs is left: no zombie, no process but wshd, no job file once linked
assert_eq "$(python3 -c 'import dbus; print(len(dbus.Interface(dbus.SystemBus().get_object("org.warden.Manager", "/org/warden/Manager"), "org.warden.Manager").Info("j1")["job_ids"]))')" 0 "job_ids after linking everything"
assert_eq "$(find "$WARDEN_DEPOT/j1/jobs" /run/warden/jobs/j1 -type f | wc -l)" 0 "job files after linking everything"
assert_eq "$(systemctl show -P TasksCurrent warden-j1.scope)" 1 "tasks left in j1 (wshd only)"

# Two clients link one running job: both get the same answer, then the job is gone.
job=$("${BUSCTL_MANAGER[@]}" Spawn -- 'sasa{sv}' j1 3 sh -c 'sleep 0.5; echo twice; exit 4' 0 | awk '{print $2}')
linkers=()
for i in 1 2; do
    gdbus call --system --timeout 60 --dest org.warden.Manager --object-path /org/warden/Manager \
        --method org.warden.Manager.Link j1 "$job" >"/tmp/link$i.out" 2>&1 &
    linkers+=($!)
done
wait "${linkers[@]}"
assert_eq "$(cat /tmp/link1.out)" "$(cat /tmp/link2.out)" "answers of two links of one job"
assert_contains "$(cat /tmp/link1.out)" "(4, [byte 0x74, 0x77, 0x69, 0x63, 0x65, 0x0a]" "status and output of the doubly linked job"
assert_eq "$(error_of "${GDBUS_MANAGER[@]}" --method org.warden.Manager.Link j1 "$job")" org.warden.Error.NoSuchJob \
    "a third link"

# Destroy while a Link waits: the waiter gets an error, nothing is left.
job=$("${BUSCTL_MANAGER[@]}" Spawn 'sasa{sv}' j1 2 sleep 100 0 | awk '{print $2}')
gdbus call --system --timeout 60 --dest org.warden.Manager --object-path /org/warden/Manager \
    --method org.warden.Manager.Link j1 "$job" >/tmp/link.out 2>&1 &
link_pid=$!
sleep 0.3
"${BUSCTL_MANAGER[@]}" Destroy s j1 >/dev/null
wait "$link_pid" && fail "Link of a destroyed container's job succeeded"
grep -q InvalidState /tmp/link.out || fail "Link error: $(cat /tmp/link.out)"
"${BUSCTL_MANAGER[@]}" Destroy s j2 >/dev/null
assert_clean j1
assert_clean j2
