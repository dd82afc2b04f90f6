#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Confinement, adversarially: from inside a container, as its user and as its root, a process tries what a
# container must not do -- load a module, mount proc or sysfs anew, reach a host disk through a device
# node, write /proc/sysrq-trigger and /proc/sys, read masked kernel files, use bpf, perf_event_open,
# keyctl, userfaultfd, io_uring, new user namespaces, ptrace or kill wshd, reach wshd's socket, fork-bomb
# -- and each attempt fails, while wardend answers, the host is untouched and another container's Run
# stays fast. The capabilities, no_new_privs and seccomp state of jobs and of wshd are checked exactly.
# Then the same for a container with its own user namespace (Create option user_namespace).
#
# Not tested here: filling the depot's disk. In the sandbox the depot is a tmpfs, so "until ENOSPC" would
# fill the machine's memory; disk limits (LimitDisk, disk_limit) are tested with the limits.
#
# Arguments: the path of confine-probe (tests/integration/confine-probe.c, static), bound into the
# containers read-only.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

probe=$(readlink -f "${1:-}")
[[ -n ${1:-} && -x $probe ]] || fail "usage: ${0##*/} CONFINE-PROBE (got '${1:-}')"

tmp=$(mktemp -d /var/tmp/confine.XXXXXX)
cleanup() {
    destroy_all
    rm -rf "$tmp"
}
trap cleanup EXIT

# The container's capabilities (src/shared/confine.h, Docker's default), as far as the sandbox has them.
container_caps=$((0xa80425fb & 0x$(sed -n 's/^CapBnd:\t//p' /proc/self/status)))
container_caps=$(printf '%016x' "$container_caps")

bind=(bind_mounts 'a(ssb)' 1 "$probe" /usr/local/bin/confine-probe true)
create cf1 2 "${bind[@]}" pids_limit t 128
create cf2 1 "${bind[@]}"
wshd1=$(leader cf1)
wshd2=$(leader cf2)

# run_as WHO HANDLE CMD...: wardenctl run as the container's user ("user") or root ("root")
run_as() {
    local who=$1 h=$2
    shift 2
    if [[ $who == root ]]; then wardenctl run --privileged "$h" -- "$@"; else wardenctl run "$h" -- "$@"; fi
}

# status_of WHO HANDLE: the capability, no_new_privs and seccomp lines of a job's /proc/self/status
status_of() {
    run_as "$1" "$2" cat /proc/self/status | grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' | tr '\t' ' '
}

# still_fine: wardend answers, both wshd are the same processes, the bystander runs a job
still_fine() {
    wardenctl ping >/dev/null || fail "wardend does not answer after: $1"
    [[ -d /proc/$wshd1 && $(leader cf1) == "$wshd1" ]] || fail "wshd of cf1 is gone after: $1"
    [[ -d /proc/$wshd2 && $(leader cf2) == "$wshd2" ]] || fail "wshd of cf2 is gone after: $1"
    assert_eq "$(wardenctl run cf2 -- echo ok)" ok "cf2 after: $1"
}

# ---- capabilities, no_new_privs, seccomp ----------------------------------------------------------------
assert_eq "$(status_of user cf1)" "CapInh: 0000000000000000
CapPrm: 0000000000000000
CapEff: 0000000000000000
CapBnd: 0000000000000000
CapAmb: 0000000000000000
NoNewPrivs: 1
Seccomp: 2" "the container user's job"
assert_eq "$(status_of root cf1)" "CapInh: 0000000000000000
CapPrm: $container_caps
CapEff: $container_caps
CapBnd: $container_caps
CapAmb: 0000000000000000
NoNewPrivs: 1
Seccomp: 2" "root's job"
# wshd: the container's bounding set, no more than the container's capabilities and CAP_SYS_RESOURCE
assert_eq "$(sed -n 's/^CapBnd:\t//p' "/proc/$wshd1/status")" "$container_caps" "wshd's bounding set"
eff=$((0x$(sed -n 's/^CapEff:\t//p' "/proc/$wshd1/status")))
(((eff & ~(0x$container_caps | 1 << 24)) == 0)) || fail "wshd's capabilities: $(printf '%x' "$eff")"
(((eff & 1 << 21) == 0)) || fail "wshd kept CAP_SYS_ADMIN"
assert_eq "$(sed -n 's/^NoNewPrivs:\t//p' "/proc/$wshd1/status")" 1 "wshd's no_new_privs"

# ---- system calls and privileged operations -------------------------------------------------------------
# Each check: CHECK=RESULT for the container's user, then for its root.
expect=(
    keyctl=EPERM:EPERM add_key=EPERM:EPERM bpf=EPERM:EPERM perf_event_open=EPERM:EPERM
    userfaultfd=EPERM:EPERM io_uring_setup=EPERM:EPERM init_module=EPERM:EPERM finit_module=EPERM:EPERM
    kexec_load=EPERM:EPERM open_by_handle_at=EPERM:EPERM mount-proc=EPERM:EPERM mount-sysfs=EPERM:EPERM
    mount-tmpfs=EPERM:EPERM umount-proc-sys=EPERM:EPERM fsopen=EPERM:EPERM unshare-user=EPERM:EPERM
    unshare-mount=EPERM:EPERM clone-user=EPERM:EPERM clone3=ENOSYS:ENOSYS setns=EPERM:EPERM
    reboot=EPERM:EPERM clock_settime=EPERM:EPERM sethostname=EPERM:EPERM iopl=EPERM:EPERM
    personality-aslr-off=EPERM:EPERM personality-query=ok:ok
    # allowed: ptrace inside the container, chroot for root
    ptrace-child=ok:ok chroot=EPERM:ok
    # wshd is out of reach: not traceable (non-dumpable, no CAP_SYS_PTRACE), its /proc entries closed
    ptrace-wshd=EPERM:EPERM readlink:/proc/1/root=EACCES:EACCES read:/proc/1/environ=EACCES:EACCES
    readlink:/proc/1/fd/2=EACCES:EACCES
    # wshd's socket is on the host side, outside the container's root
    "connect:$WARDEN_DEPOT/cf1/wshd.sock=ENOENT:ENOENT"
    # devices: a node of a harmless device is fine for root, and its open too
    mknod-null:/tmp/null=EPERM:ok
)
checks=()
for e in "${expect[@]}"; do
    [[ $e == \#* ]] && continue
    checks+=("${e%=*}")
done
for who in user root; do
    out=$(run_as "$who" cf1 confine-probe "${checks[@]}")
    for e in "${expect[@]}"; do
        check=${e%=*} results=${e##*=}
        want=${results%%:*}
        [[ $who == root ]] && want=${results##*:}
        assert_contains "$out" "$check=$want" "as $who, $check"
    done
done
still_fine "the system call probes"

# a module, the busybox way
out=$(run_as root cf1 busybox insmod /bin/busybox 2>&1) && fail "insmod succeeded: $out"
assert_contains "$out" "Operation not permitted" "insmod"

# ---- devices: the sandbox's disk ------------------------------------------------------------------------
assert_eq "$(systemctl show -P DevicePolicy warden-cf1.scope)" closed "DevicePolicy"
disk=''
for d in /sys/dev/block/*; do
    [[ $(readlink "$d") == */virtual/* ]] && continue
    disk=${d##*/}
    break
done
[[ -n $disk ]] || disk=$(basename "$(find /sys/dev/block/ -mindepth 1 -maxdepth 1 | head -n1)")
[[ $disk =~ ^[0-9]+:[0-9]+$ ]] || fail "no block device found in /sys/dev/block"
echo "block device: $disk ($(readlink "/sys/dev/block/$disk"))" >&2
# mknod inside fails for root too (devices cgroup: no 'm' for block devices) ...
out=$(run_as root cf1 confine-probe "mknod-blk:/tmp/disk:$disk")
assert_eq "$out" "mknod-blk:/tmp/disk:$disk=EPERM" "mknod of the disk as root"
# ... and a node that is there already (made from the host side) cannot be opened
mknod "$WARDEN_DEPOT/cf1/rootfs/tmp/hostdisk" b "${disk%:*}" "${disk#*:}"
chmod 0666 "$WARDEN_DEPOT/cf1/rootfs/tmp/hostdisk"
for who in user root; do
    assert_eq "$(run_as "$who" cf1 confine-probe read:/tmp/hostdisk)" "read:/tmp/hostdisk=EPERM" "opening the disk as $who"
done
out=$(run_as root cf1 dd if=/tmp/hostdisk of=/dev/null bs=512 count=1 2>&1) && fail "dd read the disk: $out"
rm -f "$WARDEN_DEPOT/cf1/rootfs/tmp/hostdisk"
# the terminal still works (a tty job: /dev/ptmx and the pts range are allowed)
out=$(script -qec 'wardenctl run --tty cf1 -- tty' /dev/null </dev/null)
assert_match "$(grep -o '/dev/pts/[0-9]*' <<<"$out")" '^/dev/pts/[0-9]+$' "a tty job: $out"

# ---- /proc and /sys -------------------------------------------------------------------------------------
mounts=$(run_as user cf1 cat /proc/self/mountinfo)
for p in /proc/sys /proc/irq /proc/bus /proc/fs /sys; do
    [[ -e $p ]] || continue
    grep -Eq "^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ $p (ro|ro,[^ ]*) " <<<"$mounts" || fail "$p is not read-only inside"
done
[[ -e /proc/sysrq-trigger ]] && ! grep -Eq " /proc/sysrq-trigger (ro|ro,[^ ]*) " <<<"$mounts" \
    && fail "/proc/sysrq-trigger is not read-only inside"
out=$(run_as root cf1 sh -c 'echo core >/proc/sys/kernel/core_pattern' 2>&1) && fail "root wrote /proc/sys: $out"
assert_contains "$out" "Read-only file system" "writing /proc/sys"
if [[ -e /proc/sysrq-trigger ]]; then
    out=$(run_as root cf1 sh -c 'echo h >/proc/sysrq-trigger' 2>&1) && fail "root wrote sysrq-trigger"
fi
masked=0
for f in kcore keys key-users timer_list sched_debug latency_stats kpageflags kpagecount; do
    [[ -e /proc/$f ]] || continue
    masked=$((masked + 1))
    # /dev/null: reads find nothing, writes go nowhere
    assert_eq "$(run_as root cf1 sh -c "echo x >/proc/$f; wc -c </proc/$f; stat -c %t:%T /proc/$f")" "0
1:3" "/proc/$f inside (masked)"
done
((masked > 0)) || fail "none of the masked /proc files exists on this kernel"
for d in /proc/acpi /proc/asound /proc/scsi /sys/firmware /sys/devices/virtual/powercap; do
    [[ -d $d ]] || continue
    assert_eq "$(run_as root cf1 ls -A "$d")" "" "$d inside (masked)"
done
# the masks cannot be taken away
out=$(run_as root cf1 umount /proc/keys 2>&1) && fail "root unmounted a mask: $out"
still_fine "the /proc and /sys attempts"

# ---- other processes: only the container's own are visible ----------------------------------------------
host_pids=$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)
inside=$(run_as root cf1 sh -c 'ls -d /proc/[0-9]* | wc -l')
((inside <= 5 && host_pids > inside)) || fail "root in cf1 sees $inside processes (the sandbox has $host_pids)"
out=$(run_as root cf1 kill -0 "$(pidof wardend)" 2>&1) && fail "root in cf1 signalled wardend's PID: $out"

# ---- killing wshd from inside ---------------------------------------------------------------------------
# PID 1 gets no signal it has no handler for from inside its namespace (SIGKILL included); SIGTERM and
# SIGINT, which wshd reads, are ignored when they come from inside.
out=$(run_as root cf1 sh -c 'for s in KILL TERM INT HUP QUIT USR1 STOP; do kill -s $s 1; done; sleep 0.3; echo sent')
assert_eq "$out" sent "kill of PID 1 from inside"
sleep 0.2
still_fine "kill -KILL/-TERM/-INT/... 1 from inside"
assert_eq "$(wardenctl run cf1 -- echo alive)" alive "cf1 after kill 1"

# ---- fork bomb, while the bystander's Run stays fast ----------------------------------------------------
run_ms() {
    local t0 t1
    t0=$(date +%s%N)
    wardenctl run cf2 -- true
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}
before=()
for _ in 1 2 3 4 5; do before+=("$(run_ms)"); done
# every process forks for ever, failed forks included: it stays at the limit until it is killed
bomb=$(wardenctl spawn --privileged cf1 -- sh -c 'f() { while :; do f & done; }; f 2>/dev/null')
sleep 2
during=()
tasks=0
for _ in 1 2 3 4 5; do
    during+=("$(run_ms)")
    wardenctl ping >/dev/null || fail "wardend does not answer during the fork bomb"
    t=$(systemctl show -P TasksCurrent warden-cf1.scope)
    ((t > tasks)) && tasks=$t
done
echo "fork bomb: cf1 has $tasks tasks (pids_limit 128); cf2 Run before: ${before[*]} ms, during: ${during[*]} ms" >&2
((tasks <= 128)) || fail "the fork bomb got past pids_limit: $tasks tasks"
((tasks >= 64)) || fail "the fork bomb did not run: $tasks tasks"
for ms in "${during[@]}"; do
    ((ms < 5000)) || fail "cf2's Run took ${ms} ms during the fork bomb (before: ${before[*]} ms)"
done
"${BUSCTL_MANAGER[@]}" Stop sb cf1 true >/dev/null
[[ -d /proc/$wshd1 ]] || fail "wshd of cf1 died in the fork bomb"
assert_eq "$(systemctl show -P TasksCurrent warden-cf1.scope)" 1 "tasks of cf1 after Stop"
"${BUSCTL_MANAGER[@]}" Link su cf1 "$bomb" >/dev/null 2>&1 || true
still_fine "the fork bomb"

"${BUSCTL_MANAGER[@]}" Destroy s cf1 >/dev/null
assert_clean cf1

# ---- user namespaces ------------------------------------------------------------------------------------
# Here with a base rootfs that can be idmapped (a copy on a tmpfs, or ext4): the sandbox's root, where the
# default rootfs is, is an overlay, which has no idmapped mounts; test-userns.sh tests the shifted copy that
# wardend makes of such a rootfs.
urootfs=$(mktemp -d /tmp/confine-rootfs.XXXXXX)
[[ $(stat -f -c %T "$urootfs") != overlayfs ]] || skip_or_fail "/tmp is an overlay: no rootfs for user namespaces"
cp -a /usr/lib/warden/rootfs/. "$urootfs/"
data=$(mktemp -d /var/tmp/confine-data.XXXXXX)
echo host >"$data/hostfile"
chmod 0755 "$data"
chmod 0644 "$data/hostfile"
trap 'cleanup; rm -rf "$urootfs" "$data"' EXIT

ubind=(bind_mounts 'a(ssb)' 2 "$probe" /usr/local/bin/confine-probe true "$data" /data false)
create cu1 3 rootfs s "$urootfs" user_namespace b true "${ubind[@]}"
wardenctl create --handle cu2 --grace-time 0 --rootfs "$urootfs" --user-namespace >/dev/null
wshdu=$(leader cu1)
read -r inside base count <"/proc/$wshdu/uid_map"
assert_eq "$inside $count" "0 65536" "uid_map of cu1"
assert_eq "$(awk '{print $1, $3}' "/proc/$wshdu/gid_map")" "0 65536" "gid_map of cu1"
((base >= 0x40000000 && (base - 0x40000000) % 65536 == 0)) || fail "cu1's range starts at $base"
assert_eq "$(sed -n 's/^Uid:\t//p' "/proc/$wshdu/status" | awk '{print $1}')" "$base" "wshd's host uid"
assert_eq "$(grep '^USERNS_UID=' /run/warden/containers/cu1)" "USERNS_UID=$base" "the range in the state file"
base2=$(awk '{print $2}' "/proc/$(leader cu2)/uid_map")
[[ $base2 != "$base" ]] || fail "cu1 and cu2 share the range $base"
# the rootfs has the right owners inside, and host uids in the range on disk
assert_eq "$(run_as root cu1 stat -c %u:%g / /bin/busybox /etc/passwd /home/vcap | tr '\n' ' ')" \
    "0:0 0:0 0:0 10001:10001 " "owners inside"
assert_eq "$(run_as user cu1 id -u)" 10001 "the container's user inside"
run_as root cu1 touch /etc/made-by-root
assert_eq "$(stat -c %u "$WARDEN_DEPOT/cu1/upper/etc/made-by-root")" "$base" "host owner of root's file"
# confined as without one
assert_eq "$(status_of root cu1 | grep -E '^Cap(Eff|Bnd)' | tr '\n' ' ')" \
    "CapEff: $container_caps CapBnd: $container_caps " "root's job in a user namespace"
assert_eq "$(status_of user cu1 | grep -E '^(CapEff|NoNewPrivs|Seccomp)' | tr '\n' ' ')" \
    "CapEff: 0000000000000000 NoNewPrivs: 1 Seccomp: 2 " "the user's job in a user namespace"
# root of the container is an unprivileged uid on the host: a job's host uid, and what it cannot touch
job=$(wardenctl spawn --privileged cu1 -- sleep 31)
wait_until 5 pgrep -u "$base" -fx 'sleep 31' >/dev/null
jpid=$(pgrep -u "$base" -fx 'sleep 31')
grep -q "warden-cu1.scope" "/proc/$jpid/cgroup" || fail "root's job of cu1 is not in its scope"
assert_eq "$(sed -n 's/^Uid:\t//p' "/proc/$jpid/status")" "$base	$base	$base	$base" "host uids of root's job"
wardenctl signal cu1 "$job" KILL
out=$(run_as root cu1 sh -c 'echo x >>/data/hostfile' 2>&1) && fail "container root wrote a host root's file"
assert_contains "$out" "Permission denied" "writing a host file through a bind mount"
out=$(run_as root cu1 touch /data/new 2>&1) && fail "container root wrote in a host root's directory"
assert_eq "$(cat "$data/hostfile")" host "the host file"
assert_eq "$(run_as root cu1 stat -c %U /data/hostfile)" nobody "host root inside"
out=$(run_as root cu1 confine-probe keyctl mount-proc unshare-user ptrace-wshd mknod-null:/tmp/null \
    chroot "connect:$WARDEN_DEPOT/cu1/wshd.sock")
for e in keyctl=EPERM mount-proc=EPERM unshare-user=EPERM ptrace-wshd=EPERM mknod-null:/tmp/null=EPERM \
    chroot=ok "connect:$WARDEN_DEPOT/cu1/wshd.sock=ENOENT"; do
    assert_contains "$out" "$e" "in a user namespace"
done
run_as root cu1 sh -c 'kill -KILL 1; kill -TERM 1; kill -INT 1; sleep 0.2'
[[ -d /proc/$wshdu ]] || fail "wshd of cu1 died of a kill from inside"
wardenctl copy-in cu1 "$data/hostfile" /home/vcap/copied
assert_eq "$(run_as user cu1 stat -c %u:%g /home/vcap/copied)" 10001:10001 "CopyIn's owner inside"
# a restart keeps the ranges: the next container gets another one
systemctl restart warden.service
assert_eq "$(awk '{print $2}' "/proc/$(leader cu1)/uid_map")" "$base" "cu1's range after a restart"
create cu3 2 rootfs s "$urootfs" user_namespace b true
base3=$(awk '{print $2}' "/proc/$(leader cu3)/uid_map")
[[ $base3 != "$base" && $base3 != "$base2" ]] || fail "cu3 got a range in use: $base3"
# the configuration's default, and the option overriding it
save_config
trap 'cleanup; rm -rf "$urootfs" "$data"; restore_config' EXIT
printf '[containers]\nuser_namespace = yes\n' >"$WARDEN_CONF"
systemctl restart warden.service
create cu4 1 rootfs s "$urootfs"
assert_eq "$(awk '{print $1, $3}' "/proc/$(leader cu4)/uid_map")" "0 65536" "config user_namespace = yes"
create cu5 2 rootfs s "$urootfs" user_namespace b false
assert_eq "$(awk '{print $1, $2, $3}' "/proc/$(leader cu5)/uid_map")" "0 0 4294967295" "user_namespace false"

for h in cf2 cu1 cu2 cu3 cu4 cu5; do
    "${BUSCTL_MANAGER[@]}" Destroy s "$h" >/dev/null
    assert_clean "$h"
done
