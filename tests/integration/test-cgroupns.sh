#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A container sees its own cgroup, and only its own, on whichever hierarchy the host has (cgroup2, or v1
# legacy/hybrid as in the sandbox), with and without a user namespace:
#   - /proc/self/cgroup of a job reads "/" in every hierarchy (its cgroup namespace's root is the scope);
#   - /sys/fs/cgroup is the scope's cgroup, read-only: memory_limit 256M reads 268435456 from memory.max
#     (cgroup2) or memory/memory.limit_in_bytes (v1), the CPU quota is in cpu.max or cpu/cpu.cfs_quota_us,
#     another container reads its own values, no directory of anyone else shows;
#   - nothing there can be written, made, remounted, unmounted or mounted anew, by the container's user or
#     by its root, and the host's values stay as they were;
#   - Info's memory_current, cpu_usage_ns and oom_kills are the kernel's, from the scope's own files.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

trap destroy_all EXIT
MIB=$((1024 * 1024))

if [[ -d /sys/fs/cgroup/memory ]]; then
    v1=true
    echo "host: cgroup v1 ($(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null | grep -q cgroup2 && echo hybrid || echo legacy))" >&2
else
    v1=false
    [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]] || fail "neither a v1 memory hierarchy nor cgroup2 at /sys/fs/cgroup"
    echo "host: cgroup2" >&2
fi
# host_file HANDLE V1-HIERARCHY FILE: the path of a file of the scope's cgroup on the host
host_file() {
    if $v1; then
        echo "/sys/fs/cgroup/$2/warden.slice/warden-$1.scope/$3"
    else
        echo "/sys/fs/cgroup/warden.slice/warden-$1.scope/$3"
    fi
}
# the paths inside the container of the memory limit and of the CPU quota
if $v1; then
    mem_limit=/sys/fs/cgroup/memory/memory.limit_in_bytes
    cpu_quota=/sys/fs/cgroup/cpu/cpu.cfs_quota_us
else
    mem_limit=/sys/fs/cgroup/memory.max
    cpu_quota=/sys/fs/cgroup/cpu.max
fi
# run_as WHO HANDLE CMD...: wardenctl run as the container's user ("user") or its root ("root")
run_as() {
    local who=$1 h=$2
    shift 2
    if [[ $who == root ]]; then
        wardenctl run "$h" --privileged -- "$@"
    else
        wardenctl run "$h" -- "$@"
    fi
}

create g1 2 memory_limit t $((256 * MIB)) cpu_quota t 50
create g2 2 memory_limit t $((128 * MIB)) cpu_quota t 30
create gu 3 memory_limit t $((256 * MIB)) cpu_quota t 50 user_namespace b true

for h in g1 gu; do
    for who in user root; do
        what="$h as $who"
        # --- the cgroup namespace: every hierarchy at its root ---
        cg=$(run_as "$who" "$h" cat /proc/self/cgroup)
        if $v1; then
            while IFS=: read -r id controllers path; do
                assert_eq "$path" / "$what: /proc/self/cgroup line '$id:$controllers:$path'"
            done <<<"$cg"
            assert_contains "$cg" ":memory:/" "$what: the memory hierarchy in /proc/self/cgroup"
        else
            assert_eq "$cg" "0::/" "$what: /proc/self/cgroup"
        fi

        # --- the limits, read from inside ---
        assert_eq "$(run_as "$who" "$h" cat "$mem_limit")" $((256 * MIB)) "$what: $mem_limit"
        if $v1; then
            assert_eq "$(run_as "$who" "$h" cat "$cpu_quota")" 50000 "$what: $cpu_quota"
            # the container's own hierarchies only, each a cgroup mount of its scope's cgroup
            for d in memory cpu pids; do
                [[ -d $(host_file "$h" "$d" .) ]] || continue
                assert_eq "$(run_as "$who" "$h" sh -c "test -r /sys/fs/cgroup/$d/cgroup.procs && echo yes")" yes \
                    "$what: /sys/fs/cgroup/$d"
            done
        else
            assert_eq "$(run_as "$who" "$h" cat "$cpu_quota")" "50000 100000" "$what: $cpu_quota"
        fi
        # the job itself is in the cgroup shown (as the PID namespace numbers it), and wshd, PID 1
        procs=$(run_as "$who" "$h" sh -c "if [ -d /sys/fs/cgroup/memory ]; then cat /sys/fs/cgroup/memory/cgroup.procs; else cat /sys/fs/cgroup/cgroup.procs; fi")
        assert_contains " $(echo "$procs" | tr '\n' ' ')" " 1 " "$what: wshd in the shown cgroup.procs"

        # --- nothing of anyone else: no cgroup below or beside the scope's ---
        # (on v1 the hierarchies are the directories at depth 1; a cgroup below the scope's would be deeper)
        assert_eq "$(run_as "$who" "$h" find /sys/fs/cgroup -mindepth "$($v1 && echo 2 || echo 1)" -type d)" "" \
            "$what: directories below the container's cgroups"
        mounts=$(run_as "$who" "$h" cat /proc/self/mountinfo | awk '$5 ~ "^/sys/fs/cgroup" { print $4, $5, $6, $9 }')
        echo "$what: $(echo "$mounts" | tr '\n' ';')" >&2
        [[ -n $mounts ]] || fail "$what: nothing mounted at /sys/fs/cgroup"
        while read -r root mnt opts fstype; do
            assert_eq "$root" / "$what: the root of $mnt"
            assert_match "$opts" '^ro,' "$what: $mnt is read-only"
            assert_match "$fstype" '^(cgroup|cgroup2|tmpfs)$' "$what: the type of $mnt"
        done <<<"$mounts"

        # --- nothing can be written, made, remounted, unmounted or mounted ---
        out=$(run_as "$who" "$h" sh -c "echo 4096 >$mem_limit" 2>&1) && fail "$what: wrote $mem_limit"
        echo "$what: writing $mem_limit: $out" >&2
        out=$(run_as "$who" "$h" sh -c "echo max >$cpu_quota" 2>&1) && fail "$what: wrote $cpu_quota"
        out=$(run_as "$who" "$h" mkdir /sys/fs/cgroup/x 2>&1) && fail "$what: made a cgroup"
        if [[ $who == root ]]; then
            assert_contains "$(run_as root "$h" sh -c "echo 4096 >$mem_limit" 2>&1 || true)" "Read-only file system" \
                "$what: the error of a write"
            for m in $(echo "$mounts" | awk '{ print $2 }'); do
                out=$(run_as root "$h" mount -o remount,rw "$m" 2>&1) && fail "$what: remounted $m read-write"
                out=$(run_as root "$h" umount "$m" 2>&1) && fail "$what: unmounted $m"
            done
            out=$(run_as root "$h" sh -c 'mkdir -p /tmp/cg && mount -t cgroup2 none /tmp/cg' 2>&1) &&
                fail "$what: mounted cgroup2 anew"
            out=$(run_as root "$h" sh -c 'mount -t cgroup -o memory none /tmp/cg' 2>&1) &&
                fail "$what: mounted the v1 memory hierarchy anew"
            assert_eq "$(run_as root "$h" cat "$mem_limit")" $((256 * MIB)) "$what: the limit after the attempts"
        fi
        assert_eq "$(cat "$(host_file "$h" memory "${mem_limit##*/}")")" $((256 * MIB)) "$what: the host's limit"
    done
done

# --- another container reads its own values ---
assert_eq "$(run_as user g2 cat "$mem_limit")" $((128 * MIB)) "g2: $mem_limit"
if $v1; then
    assert_eq "$(run_as user g2 cat "$cpu_quota")" 30000 "g2: $cpu_quota"
else
    assert_eq "$(run_as user g2 cat "$cpu_quota")" "30000 100000" "g2: $cpu_quota"
fi
# and a change at run time shows inside at once
"${BUSCTL_MANAGER[@]}" LimitMemory st g2 $((96 * MIB)) >/dev/null
assert_eq "$(run_as user g2 cat "$mem_limit")" $((96 * MIB)) "g2: $mem_limit after LimitMemory"

# --- Info's usage is the kernel's, from the scope's own files ---
# memory: a counter that may move a little even in an idle container: between what the file said just
# before and just after, give or take the kernel's per-CPU batch of charges (64 pages); CPU time: a
# counter that only grows, read just before and just after
if $v1; then
    mem_file=$(host_file g1 memory memory.usage_in_bytes)
    cpu_stat=/sys/fs/cgroup/unified/warden.slice/warden-g1.scope/cpu.stat
    oom_file=$(host_file g1 memory memory.oom_control)
else
    mem_file=$(host_file g1 memory memory.current)
    cpu_stat=$(host_file g1 cpu cpu.stat)
    oom_file=$(host_file g1 memory memory.events)
fi
usec() { awk '$1 == "usage_usec" { print $2 }' "$cpu_stat"; }
wardenctl run g1 -- sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done' # some CPU time to count
m0=$(cat "$mem_file")
c0=$(usec)
json=$(wardenctl --json info g1)
c1=$(usec)
m1=$(cat "$mem_file")
value() { python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$json" "$1"; }
mem=$(value memory_current)
cpu=$(value cpu_usage_ns)
echo "Info of g1: memory_current $mem (file: $m0, $m1), cpu_usage_ns $cpu (usage_usec: $c0, $c1), oom_kills $(value oom_kills)" >&2
lo=$((m0 < m1 ? m0 : m1)) hi=$((m0 > m1 ? m0 : m1))
((mem >= lo - 64 * 4096 && mem <= hi + 64 * 4096)) || fail "memory_current $mem is not the kernel's ($m0, $m1)"
((cpu >= c0 * 1000 && cpu <= c1 * 1000)) || fail "cpu_usage_ns $cpu is not the kernel's usage_usec ($c0, $c1) × 1000"
((c0 > 0)) || fail "no CPU time counted for g1"
assert_eq "$(value oom_kills)" "$(awk '$1 == "oom_kill" { print $2 }' "$oom_file")" "oom_kills"
assert_eq "$(value oom_kills)" 0 "oom_kills of a container without an OOM"

for h in g1 g2 gu; do
    "${BUSCTL_MANAGER[@]}" Destroy s "$h"
    assert_clean "$h"
done
assert_all_clean
echo "ok: containers see their own cgroups" >&2
