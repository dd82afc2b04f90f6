#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# CPU, pids and disk limits for real: the CPU weight is cpu.shares and two busy containers pinned to one
# CPU share it by their weights; a fork loop stops at pids_limit and the machine stays usable; the writable
# layer takes writes up to disk_limit and files up to disk_inode_limit, then ENOSPC, and the base rootfs is
# never written. Plus the queries and errors of the Limit* methods.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MIB=$((1024 * 1024))
trap destroy_all EXIT
# gd METHOD ARGS...: a Manager method through gdbus, whose errors error_of can name
gd() { "${GDBUS_MANAGER[@]}" --method "org.warden.Manager.$1" "${@:2}"; }
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
# cg HIERARCHY HANDLE: the scope's cgroup in a v1 hierarchy, or in cgroup2 where there is no such hierarchy
cg() {
    if [[ -d /sys/fs/cgroup/$1 ]]; then
        echo "/sys/fs/cgroup/$1/warden.slice/warden-$2.scope"
    else
        echo "/sys/fs/cgroup/warden.slice/warden-$2.scope"
    fi
}
# usage_usec of a scope's cgroup2 cpu.stat (present with or without controllers on a hybrid layout)
cpu_usec() {
    local f=/sys/fs/cgroup/unified/warden.slice/warden-$1.scope/cpu.stat
    [[ -e $f ]] || f=/sys/fs/cgroup/warden.slice/warden-$1.scope/cpu.stat
    awk '$1 == "usage_usec" { print $2 }' "$f"
}

# ---------------------------------------------------------------------------------------------------------
# CPU: LimitCpu → CPUWeight → cpu.shares; two busy loops on one CPU get about 1:4 (without the default
# CPU quota, which would hold each of them below half a CPU on a small machine)
NO_QUOTA=(cpu_quota t 18446744073709551615)
create c100 1 "${NO_QUOTA[@]}"
create c400 2 cpu_weight t 50 "${NO_QUOTA[@]}"
assert_eq "$(info c100 cpu_quota)" 0 "no quota with cpu_quota = UINT64_MAX"
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitCpu st c100 0)" "t 100" "default weight in force"
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitCpu st c400 0)" "t 50" "weight from Create"
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitCpu st c400 400)" "t 400" "LimitCpu's answer"
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitCpu st c100 100)" "t 100" "LimitCpu's answer"
assert_eq "$(info c400 cpu_weight)" 400 "Info cpu_weight"
assert_eq "$(systemctl show -P CPUWeight warden-c400.scope)" 400 "systemd's CPUWeight"
if [[ -d /sys/fs/cgroup/cpu ]]; then
    # systemd maps the weight to v1 shares: weight × 1024 / 100
    assert_eq "$(cat "$(cg cpu c400)/cpu.shares")" 4096 "cpu.shares of weight 400"
    assert_eq "$(cat "$(cg cpu c100)/cpu.shares")" 1024 "cpu.shares of weight 100"
else
    assert_eq "$(cat /sys/fs/cgroup/warden.slice/warden-c400.scope/cpu.weight)" 400 "cpu.weight"
fi
assert_eq "$(error_of gd LimitCpu c100 10001)" org.freedesktop.DBus.Error.InvalidArgs "weight too big"

for h in c100 c400; do
    # pinned to CPU 0 inside, once in the container's cgroups: on cgroup2 the kernel resets the affinity of a
    # task that joins a cgroup to the CPUs of its cpuset, so a pin made before would be undone (the
    # container's busybox taskset; mask 1 = CPU 0)
    in_container_scope "$h" taskset 1 sh -c 'while :; do :; done' 2>/dev/null &
done
# loops HANDLE: the busy loops in the scope, "PID CPUS" each (its shells: not wshd, nor nsenter waiting for
# its child; a shell is pinned already, taskset set the affinity before it exec'd it)
loops() {
    local pid
    for pid in $(cat "$(cg unified "$1")/cgroup.procs"); do
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == sh ]] || continue
        echo "$pid $(sed -n 's/^Cpus_allowed_list:\t//p' "/proc/$pid/status")"
    done
}
has_loop() { [[ -n $(loops "$1") ]]; }
# both loops running, each on CPU 0 alone
for h in c100 c400; do
    wait_until 60 has_loop "$h"
    while read -r pid cpus; do
        assert_eq "$cpus" 0 "$h: the CPUs of PID $pid"
    done <<<"$(loops "$h")"
done
a0=$(cpu_usec c100)
b0=$(cpu_usec c400)
sleep 3
a1=$(cpu_usec c100)
b1=$(cpu_usec c400)
"${BUSCTL_MANAGER[@]}" Stop sb c100 true
"${BUSCTL_MANAGER[@]}" Stop sb c400 true
{ wait || true; } 2>/dev/null # the loops were killed
ratio=$(awk -v a=$((a1 - a0)) -v b=$((b1 - b0)) 'BEGIN { printf "%.2f", (a > 0 ? b / a : 999) }')
echo "cpu: weight 100 got $(((a1 - a0) / 1000)) ms, weight 400 got $(((b1 - b0) / 1000)) ms of one CPU in 3 s: ratio $ratio" >&2
awk -v r="$ratio" 'BEGIN { exit !(r >= 2.5 && r <= 6) }' || fail "CPU share ratio $ratio is not about 4"
# the CPU is shared with the rest of the machine: the loops need not get all of it, but some
total=$(((a1 - a0 + b1 - b0) / 1000))
((total > 300)) || fail "the two loops got only ${total} ms of CPU in 3 s"

# ---------------------------------------------------------------------------------------------------------
# CPU quota: cpu_quota → CPUQuota= → the CFS bandwidth limit; two busy loops get at most the quota
create q1 1 cpu_quota t 20
assert_eq "$(info q1 cpu_quota)" 20 "Info cpu_quota from Create"
assert_eq "$(systemctl show -P CPUQuotaPerSecUSec warden-q1.scope)" 200ms "systemd's CPUQuota= of 20%"
cfs_quota() {
    if [[ -d /sys/fs/cgroup/cpu ]]; then
        cat "$(cg cpu "$1")/cpu.cfs_quota_us"
    else
        awk '{ print $1 == "max" ? -1 : $1 }' "/sys/fs/cgroup/warden.slice/warden-$1.scope/cpu.max"
    fi
}
assert_eq "$(cfs_quota q1)" 20000 "the kernel's quota per 100 ms period"
for _ in 1 2; do
    in_container_scope q1 sh -c 'while :; do :; done' 2>/dev/null &
done
sleep 0.5
t0=$EPOCHREALTIME
a0=$(cpu_usec q1)
sleep 3
a1=$(cpu_usec q1)
t1=$EPOCHREALTIME
# the kernel's CFS bandwidth control holds the two loops to 20 % of one CPU of wall time (plus at most a
# period's quota of slack), whatever the machine's load
used=$(awk -v u=$((a1 - a0)) -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", u / 1e4 / (b - a) }')
echo "cpu_quota 20: two busy loops used ${used}% of one CPU" >&2
awk -v u="$used" 'BEGIN { exit !(u <= 20 * 1.25 && u > 1) }' || fail "two busy loops under cpu_quota 20 used ${used}% of a CPU"

# LimitCpuQuota: 0 queries, a value sets, UINT64_MAX removes; out of range is InvalidArgs
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitCpuQuota st q1 0)" "t 20" "LimitCpuQuota query"
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitCpuQuota st q1 150)" "t 150" "LimitCpuQuota's answer"
assert_eq "$(cfs_quota q1)" 150000 "the kernel's quota after LimitCpuQuota 150"
assert_eq "$(wardenctl limit-cpu-quota q1 50%)" "cpu_quota: 50" "wardenctl limit-cpu-quota"
assert_eq "$(cfs_quota q1)" 50000 "the kernel's quota after wardenctl limit-cpu-quota 50%"
assert_eq "$(error_of gd LimitCpuQuota q1 100001)" org.freedesktop.DBus.Error.InvalidArgs "quota too big"
assert_eq "$(cfs_quota q1)" 50000 "the quota in force after a refused change"
systemctl restart warden.service
assert_eq "$(info q1 cpu_quota)" 50 "cpu_quota after a restart of wardend"
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitCpuQuota st q1 18446744073709551615)" "t 0" "LimitCpuQuota removes"
assert_eq "$(cfs_quota q1)" -1 "no quota in the kernel"
assert_eq "$(wardenctl limit-cpu-quota q1)" "cpu_quota: 0 (none)" "wardenctl's query"
"${BUSCTL_MANAGER[@]}" Destroy s q1
{ wait || true; } 2>/dev/null # the loops were killed
assert_eq "$(error_of gd Create "{'handle': <'q2'>, 'cpu_quota': <uint64 100001>}")" \
    org.freedesktop.DBus.Error.InvalidArgs "Create with cpu_quota too big"
assert_clean q2

# ---------------------------------------------------------------------------------------------------------
# pids: a fork loop stops at the limit; the host (and warden) stay usable
create p1 1 pids_limit t 32
if in_container_scope p1 sh -c 'i=0; while [ $i -lt 200 ]; do sleep 60 & i=$((i+1)); done' 2>/dev/null; then
    fail "200 processes started under pids_limit 32"
fi
pids=$(cat "$(cg pids p1)/pids.current")
echo "pids: the fork loop stopped at $pids processes (limit 32)" >&2
((pids <= 32 && pids >= 28)) || fail "pids.current is $pids, not at the limit of 32"
grep -Eq '^max [1-9]' "$(cg pids p1)/pids.events" || fail "the kernel refused no fork"
[[ $(info p1 tasks_current) -le 32 ]] || fail "tasks_current above the limit"
# the host still forks, warden still works
for _ in 1 2 3 4 5; do /bin/true; done
create p2
assert_eq "$(in_container p2 echo hello)" hello "another container works meanwhile"
"${BUSCTL_MANAGER[@]}" Stop sb p1 true
assert_eq "$(cat "$(cg pids p1)/pids.current")" 1 "only wshd after Stop"

# ---------------------------------------------------------------------------------------------------------
# disk: the writable layer on an ext4 of its own
rootfs=$(info p2 rootfs)
base_before=$(find "$rootfs" -printf '%p %s %T@\n' | sort | md5sum)

start=$EPOCHREALTIME
create p3
plain_ms=$(ms_since "$start")
start=$EPOCHREALTIME
create d1 2 disk_limit t $((16 * MIB)) disk_inode_limit t 256
disk_ms=$(ms_since "$start")
echo "disk: Create took ${disk_ms} ms with a disk limit, ${plain_ms} ms without" >&2

assert_eq "$("${BUSCTL_MANAGER[@]}" LimitDisk 'sa{st}' d1 0)" 'a{st} 2 "byte_limit" 16777216 "inode_limit" 256' \
    "LimitDisk query"
assert_eq "$(info d1 disk_limit)" $((16 * MIB)) "Info disk_limit"
assert_eq "$(findmnt -n -o FSTYPE "$WARDEN_DEPOT/d1/disk")" ext4 "the layer's file system"
dev=$(findmnt -n -o SOURCE "$WARDEN_DEPOT/d1/disk")
assert_match "$dev" '^/dev/loop[0-9]+$' "on a loop device"
used0=$(info d1 disk_bytes_used)

# bytes: 8 MiB fit, 16 more do not (ENOSPC)
in_container d1 dd if=/dev/zero of=/tmp/a bs=1M count=8 2>/dev/null || fail "8 MiB did not fit in 16 MiB"
used=$(info d1 disk_bytes_used)
((used >= used0 + 8 * MIB)) || fail "disk_bytes_used $used does not count the 8 MiB (before: $used0)"
[[ ! -e $rootfs/tmp/a ]] || fail "the write reached the base rootfs"
out=$(in_container d1 dd if=/dev/zero of=/tmp/b bs=1M count=16 2>&1) && fail "24 MiB fit in 16 MiB"
assert_contains "$out" "No space left on device" "the write past the limit"
in_container d1 rm /tmp/a /tmp/b
# the file system frees what is deleted
used=$(info d1 disk_bytes_used)
((used < used0 + MIB)) || fail "disk_bytes_used $used after deleting (before: $used0)"

# inodes: files until the limit, then ENOSPC
n=$(in_container d1 sh -c 'i=0; while touch /tmp/f$i 2>/dev/null; do i=$((i+1)); done; echo $i')
out=$(in_container d1 touch /tmp/one-more 2>&1) && fail "a file past the inode limit"
assert_contains "$out" "No space left on device" "a file past the inode limit"
inodes=$(info d1 disk_inodes_used)
echo "disk: $n files fit under inode_limit 256 (inodes used: $inodes)" >&2
((n >= 200 && n < 256)) || fail "$n files under an inode limit of 256"
assert_eq "$inodes" 256 "disk_inodes_used at the limit"
# big files still fit where there are inodes left: the limits are independent
in_container d1 sh -c 'rm /tmp/f*'
in_container d1 dd if=/dev/zero of=/tmp/c bs=1M count=8 2>/dev/null || fail "bytes after the inodes came back"

# the base rootfs never changed
assert_eq "$(find "$rootfs" -printf '%p %s %T@\n' | sort | md5sum)" "$base_before" "the base rootfs"

# LimitDisk: only what is in force; other values and keys fail
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitDisk 'sa{st}' d1 1 byte_limit $((16 * MIB)))" \
    'a{st} 2 "byte_limit" 16777216 "inode_limit" 256' "LimitDisk with the values in force"
assert_eq "$(error_of gd LimitDisk d1 "{'byte_limit': uint64 $((32 * MIB))}")" org.warden.Error.LimitFailed \
    "a new byte limit at run time"
assert_eq "$(error_of gd LimitDisk d1 "{'inode_limit': uint64 1000}")" org.warden.Error.LimitFailed \
    "a new inode limit at run time"
assert_eq "$(error_of gd LimitDisk d1 "{'bytes': uint64 1}")" org.freedesktop.DBus.Error.InvalidArgs \
    "an unknown key"
assert_eq "$(error_of gd LimitDisk d1 "{'byte_limit': uint64 1000}")" org.freedesktop.DBus.Error.InvalidArgs \
    "too small"
assert_eq "$(error_of gd LimitDisk p2 "{'byte_limit': uint64 $((16 * MIB))}")" org.warden.Error.LimitFailed \
    "a container without a disk limit"
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitDisk 'sa{st}' p2 0)" 'a{st} 2 "byte_limit" 0 "inode_limit" 0' \
    "no disk limit"
assert_eq "$(info p2 disk_bytes_used)" "" "no usage without a disk limit"

# mke2fs's default inode count when only bytes are given
create d2 1 disk_limit t $((8 * MIB))
inodes=$("${BUSCTL_MANAGER[@]}" LimitDisk 'sa{st}' d2 0 | awk '{ print $6 }')
((inodes >= 1024)) || fail "only $inodes inodes by default in 8 MiB"

# Create refuses bad disk limits and leaves nothing
assert_eq "$(error_of gd Create "{'handle': <'dbad'>, 'disk_limit': <uint64 1000>}")" \
    org.freedesktop.DBus.Error.InvalidArgs "disk_limit too small"
assert_eq "$(error_of gd Create "{'handle': <'dbad'>, 'disk_inode_limit': <uint64 100>}")" \
    org.freedesktop.DBus.Error.InvalidArgs "disk_inode_limit alone"
assert_clean dbad
# a Create with limits that fails late (its veth name is taken: the disk is made and mounted by then)
# leaves no file system, loop device or ifb behind
ip link add w-192-0 type veth peer name w-192-0p
out=$(gd Create "{'handle': <'dlate'>, 'network': <'10.254.3.1'>, 'disk_limit': <uint64 $((8 * MIB))>,
    'bandwidth': <(uint64 1000000, uint64 65536)>, 'memory_limit': <uint64 $((64 * MIB))>}" 2>&1) &&
    fail "Create succeeded with its link name taken"
assert_contains "$out" "w-192-0" "the error names the link"
ip link del w-192-0
assert_clean dlate w-192-0

# the limits survive a restart of wardend
systemctl restart warden.service
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitDisk 'sa{st}' d1 0)" 'a{st} 2 "byte_limit" 16777216 "inode_limit" 256' \
    "LimitDisk after a restart"
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitCpu st c400 0)" "t 400" "LimitCpu after a restart"

# ---------------------------------------------------------------------------------------------------------
# states: a container that is being created or is gone
assert_eq "$(error_of gd LimitCpu nope 0)" org.warden.Error.NoSuchContainer "unknown container"
assert_eq "$(error_of gd LimitCpu c100 200)" org.warden.Error.InvalidState "a stopped container"
assert_eq "$("${BUSCTL_MANAGER[@]}" LimitCpu st c100 0)" "t 100" "a stopped container can be queried"

for h in c100 c400 p1 p2 p3 d1 d2; do
    "${BUSCTL_MANAGER[@]}" Destroy s "$h"
    assert_clean "$h"
done
assert_all_clean
echo "ok: cpu, pids and disk limits" >&2
