#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Memory limits for real: a process that allocates past the limit is OOM-killed, and wardend records
# "out of memory", emits OutOfMemory and stops the container; /dev/shm counts against the limit; a limit
# raised at run time lets an allocation through that the old one did not; a limit that cannot be lowered
# below the usage fails and changes nothing; an OOM kill while wardend is down is noticed when it is back.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MIB=$((1024 * 1024))
signals=/run/limits-memory-signals.txt
cleanup() {
    [[ -n ${monitor:-} ]] && kill "$monitor" 2>/dev/null
    systemctl start warden.service 2>/dev/null || true
    destroy_all
}
trap cleanup EXIT

# The files of the scope's memory cgroup: v1 (a memory hierarchy of its own, legacy or hybrid) or cgroup2.
if [[ -d /sys/fs/cgroup/memory ]]; then
    v1=true
    memcg() { echo "/sys/fs/cgroup/memory/warden.slice/warden-$1.scope"; }
    pidscg() { echo "/sys/fs/cgroup/pids/warden.slice/warden-$1.scope"; }
    LIMIT_FILE=memory.limit_in_bytes
    OOM_FILE=memory.oom_control
elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    v1=false
    memcg() { echo "/sys/fs/cgroup/warden.slice/warden-$1.scope"; }
    pidscg() { memcg "$1"; }
    LIMIT_FILE=memory.max
    OOM_FILE=memory.events
else
    skip_or_fail "no memory controller, on v1 or cgroup2"
fi
# limit_of HANDLE: the memory limit in the kernel
limit_of() { cat "$(memcg "$1")/$LIMIT_FILE"; }
# check_swap HANDLE BYTES: no swap beyond the limit: v1 memsw = the limit (where the kernel accounts swap),
# cgroup2 memory.swap.max 0 (where it does)
check_swap() {
    if $v1; then
        [[ ! -e $(memcg "$1")/memory.memsw.limit_in_bytes ]] ||
            assert_eq "$(cat "$(memcg "$1")/memory.memsw.limit_in_bytes")" "$2" "$1: memsw = the limit"
    else
        [[ ! -e $(memcg "$1")/memory.swap.max ]] ||
            assert_eq "$(cat "$(memcg "$1")/memory.swap.max")" 0 "$1: memory.swap.max"
    fi
}
# kernel_oom_kills HANDLE: the kernel's count of OOM kills in the scope
kernel_oom_kills() { awk '$1 == "oom_kill" { print $2 }' "$(memcg "$1")/$OOM_FILE"; }
# gd METHOD ARGS...: a Manager method through gdbus, whose errors error_of can name
gd() { "${GDBUS_MANAGER[@]}" --method "org.warden.Manager.$1" "${@:2}"; }

# dbus-monitor matches the sender by the well-known name, whichever wardend instance owns it: the signal of
# an OOM found at start-up comes right after the new instance took the name
dbus-monitor --system "type='signal',sender='org.warden.Manager',interface='org.warden.Manager',member='OutOfMemory'" \
    >"$signals" 2>&1 &
monitor=$!
sleep 0.3
# oom_signals HANDLE: how many OutOfMemory(HANDLE) were seen
oom_signals() { grep -A1 'member=OutOfMemory' "$signals" | grep -c "string \"$1\"" || true; }
# journal_usec HANDLE PATTERN: the time of wardend's first journal message about HANDLE matching PATTERN
journal_usec() {
    journalctl -q -u warden.service WARDEN_CONTAINER="$1" -o json | python3 -c '
import json, re, sys
for line in sys.stdin:
    e = json.loads(line)
    if re.search(sys.argv[1], e.get("MESSAGE", "")):
        print(e["__REALTIME_TIMESTAMP"]); break' "$2"
}

# --- the limit is a hard cap, swap included ---
create oom1 1 memory_limit t $((32 * MIB))
assert_eq "$(limit_of oom1)" $((32 * MIB)) "$LIMIT_FILE"
check_swap oom1 $((32 * MIB))
assert_eq "$(info oom1 oom_kills)" 0 "Info oom_kills before"
assert_eq "$(info oom1 memory_limit)" $((32 * MIB)) "Info memory_limit"
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitMemory st oom1 0)" "t $((32 * MIB))" "LimitMemory query"

# allocate_until_stopped HANDLE CMD...: CMD allocates past the container's limit and must fail; then the
# container must be stopped (wardend saw the OOM kill). The kernel does not always OOM-kill for a charge that
# fails inside a system call (a read(2) into a fresh buffer can just fail with EFAULT): then nothing was
# killed and there is nothing to report, so the allocation is tried again, up to 3 times.
allocate_until_stopped() {
    local h=$1 try tries
    shift
    for try in 1 2 3; do
        if in_container_scope "$h" "$@" 2>/dev/null; then
            fail "$h: an allocation past the limit succeeded"
        fi
        tries=50
        while ((tries-- > 0)); do
            [[ $(info "$h" state) == stopped ]] && return 0
            sleep 0.1
        done
        echo "$h: attempt $try failed without an OOM kill, again" >&2
    done
    fail "$h: never stopped after 3 allocations past its limit"
}

# --- a process allocating past it is killed; wardend stops the container ---
start=$EPOCHREALTIME
allocate_until_stopped oom1 sh -c 'echo 1000 >/proc/self/oom_score_adj && exec dd if=/dev/zero of=/dev/null bs=64M count=1'
echo "oom1: from the allocation to state 'stopped' seen by a polling client: $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f ms", (b - a) * 1000 }')" >&2
assert_eq "$(info oom1 events)" '["out of memory"]' "the event"
wait_until 5 test "$(oom_signals oom1)" = 1
oom_at=$(journal_usec oom1 'ran out of memory')
stopped_at=$(journal_usec oom1 "'oom1' stopped")
echo "oom1: wardend had it stopped $(((stopped_at - oom_at) / 1000)) ms after the OOM notification" >&2
grep -q "^EVENT=out of memory$" /run/warden/containers/oom1 || fail "the event is not in the state file"
# Info's count is the kernel's ($OOM_FILE)
kills=$(kernel_oom_kills oom1)
((kills >= 1)) || fail "the kernel counted no OOM kill in oom1"
assert_eq "$(info oom1 oom_kills)" "$kills" "Info oom_kills after"
# only wshd is left
assert_eq "$(cat "$(pidscg oom1)/pids.current")" 1 "processes left"
# the journal has it, with its message ID
journalctl -q -u warden.service MESSAGE_ID=43f00c3342444213a5441de9c1459dcf | grep -q "'oom1' ran out of memory" ||
    fail "no OOM message in the journal"

# --- /dev/shm is charged to the container too ---
# The OOM killer picks the process with the most memory of its own, and tmpfs pages belong to no process:
# the writer declares itself the victim, or a small writer next to a big wshd (ASan) would leave wshd to be
# killed, and the container lost instead of stopped (see wardend(8), RESOURCE LIMITS).
create oom2 1 memory_limit t $((32 * MIB))
allocate_until_stopped oom2 sh -c 'echo 1000 >/proc/self/oom_score_adj && dd if=/dev/zero of=/dev/shm/fill bs=1M count=64'
assert_eq "$(info oom2 events)" '["out of memory"]' "the /dev/shm event"
wait_until 5 test "$(oom_signals oom2)" = 1

# --- raised at run time: what was killed under 32 MiB now fits (same container setup as oom1) ---
create raise 1 memory_limit t $((32 * MIB))
start=$EPOCHREALTIME
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitMemory st raise $((96 * MIB)))" "t $((96 * MIB))" "LimitMemory's answer"
echo "raise: LimitMemory took $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f ms", (b - a) * 1000 }')" >&2
assert_eq "$(limit_of raise)" $((96 * MIB)) "the cgroup has the new limit"
check_swap raise $((96 * MIB))
assert_eq "$(systemctl show -P MemoryMax warden-raise.scope)" $((96 * MIB)) "systemd's MemoryMax"
in_container_scope raise dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null ||
    fail "a 64 MiB buffer did not fit under the raised limit"
assert_eq "$(info raise state)" active "state after the allocation"
assert_eq "$(info raise events)" '[]' "no OOM event"
assert_eq "$(info raise memory_limit)" $((96 * MIB)) "Info after the change"
# a limit that is not a whole number of pages: the answer is what the kernel keeps
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitMemory st raise 100000000)" "t 99999744" "page-rounded answer"

# --- lowered below what cannot be reclaimed (40 MiB in /dev/shm, no swap): LimitFailed, nothing changes, and
# nothing is killed (cgroup2 would take the limit and OOM-kill until it fits: wardend must refuse first) ---
in_container_scope raise dd if=/dev/zero of=/dev/shm/keep bs=1M count=40 2>/dev/null
assert_eq "$(error_of gd LimitMemory raise $((16 * MIB)))" org.warden.Error.LimitFailed \
    "lowering below the usage"
assert_eq "$(limit_of raise)" 99999744 "the old limit stays in the cgroup"
# systemd keeps the old limit too: as the kernel rounded it (v1, where systemd's value was set back after
# the kernel refused the new one) or as asked (cgroup2, where wardend refused before systemd was called)
assert_eq "$(($(systemctl show -P MemoryMax warden-raise.scope) / 4096 * 4096))" 99999744 "and in systemd"
assert_eq "$(info raise memory_limit)" 99999744 "and in Info"
assert_eq "$(info raise state)" active "still active"
assert_eq "$(info raise oom_kills)" 0 "no OOM kill"
assert_eq "$(info raise events)" '[]' "no OOM event"

# --- bad values ---
assert_eq "$(error_of gd LimitMemory raise 4096)" org.freedesktop.DBus.Error.InvalidArgs "too small"
assert_eq "$(error_of gd LimitMemory oom1 $((64 * MIB)))" org.warden.Error.InvalidState "stopped"
assert_eq "$(error_of gd LimitMemory nope $((64 * MIB)))" org.warden.Error.NoSuchContainer "unknown"

# --- an OOM kill while wardend is not running is noticed when it is back ---
create away 1 memory_limit t $((32 * MIB))
pid=$(leader away)
systemctl stop warden.service
if in_container_scope_pid away "$pid" sh -c 'echo 1000 >/proc/self/oom_score_adj && exec dd if=/dev/zero of=/dev/null bs=64M count=1' 2>/dev/null; then
    fail "a 64 MiB buffer fit under a 32 MiB limit (wardend down)"
fi
assert_eq "$(kernel_oom_kills away)" 1 "the kernel's count of the kill"
assert_eq "$(sed -n 's/^STATE=//p' /run/warden/containers/away)" active "nobody noticed yet"
systemctl start warden.service
wait_until 10 test "$(info away state)" = stopped
assert_eq "$(info away events)" '["out of memory"]' "the event after the restart"
wait_until 5 test "$(oom_signals away)" = 1
grep -q "^OOM_KILLS=1$" /run/warden/containers/away || fail "the counter is not persisted"
# and a second restart does not report it again
systemctl restart warden.service
wardenctl ping >/dev/null
sleep 0.5
assert_eq "$(info away events)" '["out of memory"]' "no second event after another restart"
assert_eq "$(oom_signals away)" 1 "one signal"

# (Each allocating process makes itself the OOM victim: with the ASan build installed, wshd is big enough to
# be chosen instead, and the container would be lost rather than stopped.)
# --- the watch is re-armed after a restart: an OOM now is seen as it happens ---
create rearm 1 memory_limit t $((32 * MIB))
systemctl restart warden.service
allocate_until_stopped rearm sh -c 'echo 1000 >/proc/self/oom_score_adj && exec dd if=/dev/zero of=/dev/null bs=64M count=1'
wait_until 5 test "$(oom_signals rearm)" = 1

kill "$monitor"
monitor=
for h in oom1 oom2 raise away rearm; do
    "${BUSCTL_MANAGER[@]}" Destroy s "$h"
    assert_clean "$h"
done
assert_all_clean
echo "ok: memory limits" >&2
