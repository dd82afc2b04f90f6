#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A container fills the depot (the file system of every container's directory): its writes end with ENOSPC
# and do not hang, as its user and as root, for bytes and for inodes; meanwhile wardend answers, the other
# containers keep running, a container with a disk limit keeps every byte of its own file system, a Create
# fails with a named error and leaves nothing, and wardend restarts and re-adopts everything with the depot
# still full. Once the space is freed, everything works again and the depot is left empty.
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

gd() { "${GDBUS_MANAGER[@]}" --method "org.warden.Manager.$1" "${@:2}"; }
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
# free blocks and free inodes of the depot
depot_free() { stat -f -c '%a %d' "$DEPOT"; }
depot_entries() { find "$DEPOT" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | xargs; }
has_jobs() { [[ $(info "$1" job_ids) != "[]" ]]; }
main_pid() { systemctl show -P MainPID warden.service; }

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
    rm -f "$FIFO" "$ROOT_OUT" "$COPY" "$DUMP"
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
c_pid=$(leader c)
wardend_pid=$(main_pid)
# a job of B that runs across the fill, its output captured: on SIGTERM it writes a line and exits with 3
# shellcheck disable=SC2016 # expanded in the container
b_job=$(wardenctl spawn b -- sh -c 'trap "echo bye; exit 3" TERM; sleep 1000 & wait')

# Root's job in A starts now, while the depot has room for its record, and does each step when it reads a
# line on its stdin: the FIFO, open for reading and writing here so that nobody blocks. Its output goes to a
# file outside the depot; it keeps running (and its record in the depot) until A is destroyed, so that
# nothing frees a block or an inode of the depot meanwhile. (A's user's job, a Run, leaves its record behind
# when it ends: a block and an inode that root's job takes then.)
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

# then A's root writes what is left (A's user's job record)
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

# A new job needs a record in the depot: refused, cleanly, and nothing of it stays
jobs_before=$(find "$DEPOT/b/jobs" -type f | sort)
assert_eq "$(error_of gd Run b "['echo', 'hello']" '{}')" org.warden.Error.NoSpace "Run in B"
assert_eq "$(error_of gd Spawn b "['true']" "{'discard_output': <true>}")" org.warden.Error.NoSpace "Spawn in B"
out=$(wardenctl run b -- true 2>&1) && fail "wardenctl run in B succeeded with the depot full"
assert_contains "$out" "No space left on device" "wardenctl run's message"
assert_eq "$(find "$DEPOT/b/jobs" -type f | sort)" "$jobs_before" "B's job files after the refused jobs"

create_fails_cleanly

# B's job ends now: its last line cannot be written, nor its exit recorded (wshd keeps it for the next
# wardend)
wardenctl signal b "$b_job" TERM
wait_until 30 bash -c "journalctl -b -u warden.service -o cat |
    grep -qF \"Failed to record the exit of job $b_job of 'b': No space left on device\""
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
assert_eq "$(info b job_ids)" "[$b_job]" "B's job after the restart"
rc=0
out=$(timeout 60 wardenctl link b "$b_job" 2>&1) || rc=$?
assert_eq "$rc" 3 "the exit status of B's job that ended with the depot full: $out"
# what the job wrote with the depot full is lost (wardend(8), "A full depot")
assert_eq "$out" "" "the output of B's job that ended with the depot full"

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

for h in b c d; do
    "${BUSCTL_MANAGER[@]}" Destroy s "$h"
    assert_clean "$h"
done
assert_all_clean
assert_eq "$(depot_entries)" "" "the depot after everything was destroyed"
read -r free_blocks free_inodes < <(depot_free)
assert_eq "$(stat -f -c '%b %c' "$DEPOT")" "$free_blocks $((free_inodes + 1))" "the depot's blocks and inodes"
echo "ok: depot full" >&2
