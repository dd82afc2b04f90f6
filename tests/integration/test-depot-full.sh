#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A container fills the depot (the file system of every container's directory): its writes end with ENOSPC
# and do not hang, as its user and as root, for bytes and for inodes; meanwhile wardend answers, the other
# containers keep running, a container with a disk limit keeps every byte of its own file system, a Create
# fails with a named error and leaves nothing, and the other containers' jobs go on: their records are in
# wardend's state directory (/run/warden/jobs), so a job with the caller's descriptors or discard_output
# starts and reports its real status, also across restarts of wardend; one whose output would be captured in
# the depot is refused with a named error and leaves nothing. wardend restarts and re-adopts everything with
# the depot still full. Once the space is freed, everything works again, a job record left in the depot by an
# older wardend is moved and used, and the depot and the records are left empty.
#
# The depot is a tmpfs of its own with size= and nr_inodes=: it fills only up to its size (at most 64 MiB
# of RAM) and runs out of inodes at a count we choose, so both kinds of ENOSPC come quickly. An ext4 image
# on a loop device would take a loop device and mke2fs and show nothing more here: wardend's writes and the
# overlay's are the same on both (wardend has no CAP_SYS_RESOURCE for ext4's reserved blocks, and overlayfs
# writes with the mounter's, i.e. wardend's, credentials anyway). Container C's disk limit is tested on
# this depot as it is: its ext4 image is a file of the depot.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MIB=$((1024 * 1024))
DEPOT=/var/lib/warden/depot-full # at most 32 characters
DEPOT_MIB=64
DEPOT_INODES=2048
# shellcheck disable=SC2034 # where lib.sh's leftovers look
WARDEN_DEPOT=$DEPOT
FIFO=/run/test-depot-full.fifo
ROOT_OUT=/run/test-depot-full.root-out
COPY=/run/test-depot-full.copy
DUMP=/run/test-depot-full.dump
ERR=/run/test-depot-full.err
RECORDS=/run/warden/jobs

gd() { "${GDBUS_MANAGER[@]}" --method "org.warden.Manager.$1" "${@:2}"; }
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
# free blocks and free inodes of the depot
depot_free() { stat -f -c '%a %d' "$DEPOT"; }
depot_entries() { find "$DEPOT" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | xargs; }
has_jobs() { [[ $(info "$1" job_ids) != "[]" ]]; }
main_pid() { systemctl show -P MainPID warden.service; }
# job_ids HANDLE: the IDs of its jobs, sorted
job_ids() { info "$1" job_ids | python3 -c 'import json, sys; print(*sorted(json.load(sys.stdin)))'; }
# job_exited HANDLE ID: wardend has recorded the exit of the job
job_exited() { grep -qx STATE=exited "$RECORDS/$1/$2.state"; }
# status_of_link HANDLE ID: the exit status that wardenctl link reports (its own exit status)
status_of_link() {
    local rc=0
    timeout 60 wardenctl link "$1" "$2" >/dev/null 2>&1 || rc=$?
    echo "$rc"
}
# spawn_discard HANDLE ARGV...: the ID of a new job of HANDLE whose output is thrown away
spawn_discard() { wardenctl spawn --discard-output "$1" -- "${@:2}"; }

# create_fails_cleanly: with the depot full, a new container cannot be made: a named error, nothing left
# behind, its address free again at once (the second Create asks for the same); with and without a disk limit
create_fails_cleanly() {
    local opts out name
    for opts in "'network': <'10.254.3.1'>" "'network': <'10.254.3.1'>, 'disk_limit': <uint64 $((8 * MIB))>"; do
        out=$(gd Create "{'handle': <'d'>, $opts}" 2>&1) && fail "Create ($opts) succeeded with the depot full"
        name=$(grep -oE '(org\.[A-Za-z.]*Error\.[A-Za-z]+|System\.Error\.[A-Z0-9]+)' <<<"$out" | head -n1)
        assert_eq "$name" org.warden.Error.NoSpace "the failed Create's error ($opts)"
        assert_contains "$out" "No space left on device" "the failed Create's message ($opts)"
        assert_clean d w-192-0
    done
    assert_eq "$(depot_entries)" "a b c" "the depot's entries"
}

cleanup() {
    exec 3>&-
    destroy_all
    # the containers are gone, and with them every mount of the depot (C's file system, the overlays)
    if mountpoint -q "$DEPOT"; then
        umount "$DEPOT" 2>/dev/null || { sleep 1; umount "$DEPOT"; } || umount -l "$DEPOT" || true
    fi
    rmdir "$DEPOT" 2>/dev/null || true
    rm -f "$FIFO" "$ROOT_OUT" "$COPY" "$DUMP" "$ERR"
    rm -rf "$RECORDS/ghost"
    restore_config
}
save_config
trap cleanup EXIT

mkdir -p "$DEPOT"
mount -t tmpfs -o "size=${DEPOT_MIB}M,nr_inodes=$DEPOT_INODES,mode=0700" warden-depot-full "$DEPOT"
printf '[containers]\ndepot = %s\n' "$DEPOT" >"$WARDEN_CONF"
systemctl restart warden.service
"${BUSCTL_MANAGER[@]}" Ping >/dev/null

# ---------------------------------------------------------------------------------------------------------
# A will fill the depot; B and C are its neighbours, C with a disk limit of its own
create a
create b
create c 2 disk_limit t $((16 * MIB)) disk_inode_limit t 1024
[[ $(info c container_path) == "$DEPOT/c" ]] || fail "C is not in the test's depot"
# C's image takes all its 16 MiB from the depot now, not when C writes: no one can take them from C
img_kib=$(du -k "$DEPOT/c/disk.img" | cut -f1)
((img_kib >= 16 * 1024)) || fail "C's image holds only $img_kib KiB of the depot, not its 16 MiB"

b_pid=$(leader b)
# for comparison: wardenctl run in B with room in the depot
start=$EPOCHREALTIME
assert_eq "$(wardenctl run b -- echo hello)" hello "wardenctl run in B before the fill"
run_room_ms=$(ms_since "$start")
c_pid=$(leader c)
wardend_pid=$(main_pid)
# a job of B that runs across the fill, its output captured: on SIGTERM it writes a line and exits with 3
# shellcheck disable=SC2016 # expanded in the container
b_job=$(wardenctl spawn b -- sh -c 'trap "echo bye; exit 3" TERM; sleep 1000 & wait')

# Root's job in A does each step when it reads a line on its stdin: the FIFO, open for reading and writing
# here so that nobody blocks. Its output goes to a file outside the depot; it keeps running until A is
# destroyed.
rm -f "$FIFO"
mkfifo "$FIFO"
exec 3<>"$FIFO"
# shellcheck disable=SC2016 # expanded in the container
wardenctl run a --privileged -- sh -c '
    read -r step
    echo "uid: $(id -u)"
    dd if=/dev/zero of=/root-fill bs=64k count=16384 2>&1
    echo "dd: $?"
    echo "bytes: done"
    read -r step
    i=0
    while true 2>/dev/null >"/tmp/f$i"; do i=$((i + 1)); done
    echo "files: $i"
    true >/tmp/one-more
    echo "touch: $?"
    echo "inodes: done"
    read -r step' <&3 >"$ROOT_OUT" 2>&1 &
root_run=$!
wait_until 30 has_jobs a

# A's user writes until the depot is full
start=$EPOCHREALTIME
rc=0
# shellcheck disable=SC2016 # expanded in the container
out=$(timeout 120 wardenctl run a -- sh -c '
    echo "uid: $(id -u)"
    dd if=/dev/zero of="$HOME/fill" bs=64k count=16384 2>&1
    echo "dd: $?"
    wc -c <"$HOME/fill"' 2>&1) || rc=$?
vcap_ms=$(ms_since "$start")
((rc != 124)) || fail "A's user's write hung: $out"
assert_contains "$out" "/fill': No space left on device" "A's user's write"
assert_match "$out" $'\ndd: 1\n' "dd's exit status as A's user"
assert_match "$out" '^uid: [1-9]' "A's first job runs as A's user"
vcap_bytes=$(($(tail -n1 <<<"$out")))

# then A's root writes what is left, if anything (a tmpfs keeps no blocks for root)
start=$EPOCHREALTIME
echo bytes >&3
wait_until 60 grep -q '^bytes: done' "$ROOT_OUT"
root_dd_ms=$(ms_since "$start")
out=$(cat "$ROOT_OUT")
assert_match "$out" '^uid: 0' "A's second job runs as root"
assert_contains "$out" "/root-fill': No space left on device" "A's root's write"
assert_match "$out" $'\ndd: 1\n' "dd's exit status as A's root"
read -r free_blocks free_inodes < <(depot_free)
assert_eq "$free_blocks" 0 "free blocks of the depot after A's writes"
((free_inodes > 0)) || fail "no inodes left before A's root made files"
# no room for a Create, though inodes are left: C's image would not fit, and mke2fs is not even tried
create_fails_cleanly

# and empty files until no inode is left
start=$EPOCHREALTIME
echo inodes >&3
wait_until 120 grep -q '^inodes: done' "$ROOT_OUT"
root_files_ms=$(ms_since "$start")
out=$(cat "$ROOT_OUT")
assert_contains "$out" "one-more: No space left on device" "A's root's file past the last inode"
assert_match "$out" $'\ntouch: 1' "the status of A's root's file past the last inode"
root_files=$(sed -n 's/^files: //p' <<<"$out")
((root_files > DEPOT_INODES / 2)) || fail "A's root made only $root_files files in the depot"
read -r free_blocks free_inodes < <(depot_free)
echo "depot-full: a ${DEPOT_MIB} MiB depot with $DEPOT_INODES inodes; A's user wrote $((vcap_bytes / 1024)) KiB" \
    "in ${vcap_ms} ms, A's root the rest in ${root_dd_ms} ms and $root_files files in ${root_files_ms} ms" >&2
assert_eq "$free_blocks $free_inodes" "0 0" "free blocks and inodes of the full depot"

# ---------------------------------------------------------------------------------------------------------
# the depot is full: wardend and everything that needs no room in the depot go on
"${BUSCTL_MANAGER[@]}" Ping >/dev/null
for h in a b c; do
    assert_eq "$(info "$h" state)" active "state of $h with the depot full"
done
assert_eq "$(info b leader_pid)" "$b_pid" "B's wshd"
assert_eq "$(in_container b cat /proc/1/comm)" wshd "B answers"
grep -qx sleep <<<"$(in_container b sh -c 'cat /proc/[0-9]*/comm')" || fail "B's job is not running"
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitMemory st b $((256 * MIB)))" "t $((256 * MIB))" "LimitMemory on B"
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitCpu st b 200)" "t 200" "LimitCpu on B"
assert_eq "$("${BUSCTL_MANAGER[@]}" NetIn sqq b 0 8080)" "qq 61001 8080" "NetIn on B"
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitDisk 'sa{st}' c 0)" 'a{st} 2 "byte_limit" 16777216 "inode_limit" 1024' \
    "LimitDisk of C"
wardenctl copy-out a /etc/passwd "$COPY"
grep -q '^vcap:' "$COPY" || fail "CopyOut from A"

# B has no disk limit: its writable layer is part of the depot, and so its writes fail too
out=$(in_container b sh -c 'dd if=/dev/zero of=/tmp/x bs=64k count=16 2>&1') && fail "B wrote to the full depot"
assert_contains "$out" "No space left on device" "B's write"

# C's file system is its own: 8 MiB written and synced now are there, in the image
sum=$(in_container c sh -c 'dd if=/dev/urandom of=/tmp/data bs=64k count=128 conv=fsync 2>/dev/null &&
    sync && md5sum </tmp/data') || fail "C could not write 8 MiB under its limit with the depot full"
rm -f "$DUMP"
out=$(debugfs -R "dump /upper/tmp/data $DUMP" "$DEPOT/c/disk.img" 2>&1)
[[ -f $DUMP ]] || fail "no /tmp/data in C's image: $out"
assert_eq "$(md5sum <"$DUMP")" "$sum" "C's data in its image"
in_container c rm /tmp/data

# B's jobs: their records are in wardend's state directory, not in the depot
records_before=$(find "$RECORDS/b" | sort)
output_before=$(find "$DEPOT/b/jobs" | sort)
assert_eq "$(find "$DEPOT" -name '*.state' | wc -l)" 0 "job records in the depot"
[[ -f $RECORDS/b/$b_job.state ]] || fail "no record of B's job in $RECORDS/b"

# a job whose output would be captured needs its files in the depot: refused, cleanly, nothing of it stays
assert_eq "$(error_of gd Run b "['echo', 'hello']" '{}')" org.warden.Error.NoSpace "Run in B, output captured"
assert_eq "$(error_of gd Spawn b "['true']" '{}')" org.warden.Error.NoSpace "Spawn in B, output captured"
out=$(gd Run b "['true']" '{}' 2>&1) && fail "Run in B with captured output succeeded with the depot full"
assert_contains "$out" "No space left on device" "the message of the refused Run"
assert_eq "$(find "$DEPOT/b/jobs" | sort)" "$output_before" "B's output files after the refused jobs"
assert_eq "$(find "$RECORDS/b" | sort)" "$records_before" "B's job records after the refused jobs"
assert_eq "$(info b job_ids)" "[$b_job]" "B's jobs after the refused ones"

# with the caller's descriptors (wardenctl run passes its own: Spawn with stdin/stdout/stderr, then Link)
start=$EPOCHREALTIME
rc=0
# shellcheck disable=SC2016 # expanded in the container
out=$(wardenctl run b -- sh -c 'echo "out $(id -u)"; echo err >&2; exit 5' 2>"$ERR") || rc=$?
run_ms=$(ms_since "$start")
assert_eq "$rc" 5 "the status of wardenctl run in B with the depot full"
assert_match "$out" '^out [1-9][0-9]*$' "the stdout of wardenctl run in B"
assert_eq "$(cat "$ERR")" err "the stderr of wardenctl run in B"
# Run with the caller's stdout and stderr; with its stdout only, stderr would be captured: refused
# (a pipe: wardend gives a job no other descriptor of the caller's, org.warden.Manager(5))
out=$(python3 - <<'PY'
import os, dbus
m = dbus.Interface(dbus.SystemBus().get_object("org.warden.Manager", "/org/warden/Manager"), "org.warden.Manager")
r, fd = os.pipe()
argv = ["sh", "-c", "echo to-fd; echo to-fd-err >&2; exit 12"]
try:
    m.Run("b", argv, {"stdout": dbus.types.UnixFd(fd)}, timeout=60)
    print("no error")
except dbus.exceptions.DBusException as e:
    print(e.get_dbus_name())
status, out, err, info = m.Run("b", argv, {"stdout": dbus.types.UnixFd(fd), "stderr": dbus.types.UnixFd(fd)},
                               timeout=60, byte_arrays=True)
print(int(status), len(out), len(err))
os.close(fd)
print(os.read(r, 100).decode().strip().replace("\n", "|"))
PY
)
assert_eq "$out" $'org.warden.Error.NoSpace\n12 0 0\nto-fd|to-fd-err' \
    "Run in B with the caller's stdout only, then with its stdout and stderr (status, captured lengths, what the job wrote to the caller's pipe)"
assert_eq "$(find "$DEPOT/b/jobs" | sort)" "$output_before" "B's output files after the Runs with descriptors"
# discard_output: Run, and Spawn then Link
start=$EPOCHREALTIME
out=$(gd Run b "['sh', '-c', 'echo lost; exit 6']" "{'discard_output': <true>}")
discard_ms=$(ms_since "$start")
assert_match "$out" '^\(6, @ay \[\], @ay \[\], ' "Run in B with discard_output"
job=$(spawn_discard b sh -c 'exit 7')
assert_eq "$(status_of_link b "$job")" 7 "Link of a job of B spawned with discard_output"
assert_eq "$(find "$DEPOT/b/jobs" | sort)" "$output_before" "B's output files after its jobs"
assert_eq "$(find "$RECORDS/b" | sort)" "$records_before" "B's job records once its new jobs are linked"
echo "depot-full: wardenctl run in B took ${run_ms} ms with the depot full (${run_room_ms} ms before the fill)," \
    "Run with discard_output ${discard_ms} ms" >&2

create_fails_cleanly

# Jobs of B across restarts of wardend with the depot full: one that ends before (its output captured: what
# it writes then is lost), one that runs across them, one that ends while no wardend runs
# shellcheck disable=SC2016 # expanded in the container
d_run=$(spawn_discard b sh -c 'trap "exit 4" TERM; sleep 1000 & wait')
d_done=$(spawn_discard b sh -c 'exit 8')
d_down=$(spawn_discard b sh -c 'sleep 1001; exit 9')
wardenctl signal b "$b_job" TERM
wait_until 30 job_exited b "$b_job"
wait_until 30 job_exited b "$d_done"
wait_until 30 pgrep -fx 'sleep 1001' >/dev/null
journalctl -b -u warden.service -o cat | grep -F "Failed to record the exit" && fail "an exit was not recorded"
assert_eq "$(main_pid)" "$wardend_pid" "wardend's PID (it must not have crashed)"

# ---------------------------------------------------------------------------------------------------------
# restart with the depot still full: everything is re-adopted and keeps working
start=$EPOCHREALTIME
systemctl restart warden.service
"${BUSCTL_MANAGER[@]}" Ping >/dev/null
restart_ms=$(ms_since "$start")
read -r free_blocks free_inodes < <(depot_free)
assert_eq "$free_blocks $free_inodes" "0 0" "the depot is still full"
assert_eq "$(wardenctl list | sort | xargs)" "a b c" "containers after the restart"
assert_eq "$(info b leader_pid)" "$b_pid" "B's wshd after the restart"
assert_eq "$(info c leader_pid)" "$c_pid" "C's wshd after the restart"
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitMemory st b 0)" "t $((256 * MIB))" "B's memory limit after the restart"
assert_eq "$(job_ids b)" "$(printf '%s\n' "$b_job" "$d_run" "$d_done" "$d_down" | sort -n | xargs)" \
    "B's jobs after the restart"
rc=0
out=$(timeout 60 wardenctl link b "$b_job" 2>&1) || rc=$?
assert_eq "$rc" 3 "the exit status of B's job that ended with the depot full: $out"
# what the job wrote with the depot full is lost (wardend(8), "A full depot")
assert_eq "$out" "" "the output of B's job that ended with the depot full"
assert_eq "$(status_of_link b "$d_done")" 8 "Link after the restart of a job that ended before it"
wardenctl signal b "$d_run" TERM
assert_eq "$(status_of_link b "$d_run")" 4 "Link of a job that ran across the restart"
# new jobs after the restart
assert_eq "$(wardenctl run b -- sh -c 'echo again; exit 10')" again "wardenctl run in B after the restart"
rc=0
wardenctl run b -- sh -c 'exit 10' || rc=$?
assert_eq "$rc" 10 "the status of wardenctl run in B after the restart"

# stopped, the job ends, started again: the exit that wshd kept is reported
systemctl stop warden.service
kill "$(pgrep -fx 'sleep 1001')"
systemctl start warden.service
assert_eq "$(status_of_link b "$d_down")" 9 "Link of the job that ended while no wardend ran"
read -r free_blocks free_inodes < <(depot_free)
# the Link of B's first job removed its two (empty) output files; nothing else changed in the depot
assert_eq "$free_blocks $free_inodes" "0 2" "free blocks and inodes of the depot after B's jobs"
assert_eq "$(find "$RECORDS/b" -mindepth 1)" "" "B's job records once every job is linked"

# ---------------------------------------------------------------------------------------------------------
# Destroy A frees the depot: Create and Run work again
start=$EPOCHREALTIME
"${BUSCTL_MANAGER[@]}" Destroy s a
destroy_ms=$(ms_since "$start")
assert_clean a
wait "$root_run" || true # its Link ended with the restart of wardend, or with A
read -r free_blocks free_inodes < <(depot_free)
((free_blocks > (DEPOT_MIB - 24) * MIB / 4096)) || fail "only $free_blocks blocks free after Destroy A"
create d 1 network s 10.254.3.1
assert_contains "$(gd Run b "['echo', 'hello']" '{}')" "(0, [byte 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x0a], @ay [], " "Run's captured output in B"
assert_eq "$(wardenctl run d -- echo hello)" hello "Run in the new container"
echo "depot-full: restart of wardend with the depot full ${restart_ms} ms, Destroy of A ${destroy_ms} ms" >&2

# An older wardend kept its job records in the depot, beside the output: such a record is moved to the state
# directory at the next start, and used. A records directory of no container is removed then.
job=$(spawn_discard b sh -c 'exit 11')
wait_until 30 job_exited b "$job"
systemctl stop warden.service
mv "$RECORDS/b/$job.state" "$DEPOT/b/jobs/"
mkdir "$RECORDS/ghost"
echo garbage >"$RECORDS/ghost/1.state"
systemctl start warden.service
"${BUSCTL_MANAGER[@]}" Ping >/dev/null
[[ ! -e $RECORDS/ghost ]] || fail "the job records of no container were left"
[[ ! -e $DEPOT/b/jobs/$job.state ]] || fail "the old job record was left in the depot"
job_exited b "$job" || fail "the old job record was not moved to $RECORDS/b"
journalctl -b -u warden.service -o cat | grep -qF "Moved 1 job record(s) of 'b'" || fail "no message of the move"
assert_eq "$(status_of_link b "$job")" 11 "Link of the job whose record was in the depot"

for h in b c d; do
    "${BUSCTL_MANAGER[@]}" Destroy s "$h"
    assert_clean "$h"
done
assert_all_clean
assert_eq "$(depot_entries)" "" "the depot after everything was destroyed"
assert_eq "$(find "$RECORDS" -mindepth 1)" "" "the job records after everything was destroyed"
read -r free_blocks free_inodes < <(depot_free)
assert_eq "$(stat -f -c '%b %c' "$DEPOT")" "$free_blocks $((free_inodes + 1))" "the depot's blocks and inodes"
echo "ok: depot full" >&2
