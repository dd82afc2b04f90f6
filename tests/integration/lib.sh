# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/integration/lib.sh - helpers for integration test scripts.
#
# Test scripts run INSIDE the sandbox (tests/sandbox/sandbox), as root, as a
# transient systemd unit; they start with
#     #!/bin/bash
#     set -euo pipefail
#     . "$(dirname "$0")/lib.sh"
# and exit 0 (pass), 1 (fail) or 77 (skip).  All messages go to stderr.
# shellcheck shell=bash

# fail MSG...: the test failed
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# skip_or_fail MSG...: the test cannot run here: skip (77), or fail when the
# caller insists that every test runs (WARDEN_TESTS_MUST_RUN=1)
skip_or_fail() {
    if [[ ${WARDEN_TESTS_MUST_RUN:-0} == 1 ]]; then
        echo "FAIL: $* (WARDEN_TESTS_MUST_RUN=1)" >&2
        exit 1
    fi
    echo "SKIP: $*" >&2
    exit 77
}

# assert_eq ACTUAL EXPECTED [MSG]
assert_eq() {
    [[ $1 == "$2" ]] || fail "${3:-values differ}: got '$1', expected '$2'"
}

# assert_match STRING REGEX [MSG]: STRING matches the (bash, extended) REGEX
assert_match() {
    [[ $1 =~ $2 ]] || fail "${3:-no match}: '$1' does not match /$2/"
}

# assert_contains HAYSTACK NEEDLE [MSG]: NEEDLE is a substring of HAYSTACK
assert_contains() {
    [[ $1 == *"$2"* ]] || fail "${3:-not contained}: '$2' not in '$1'"
}

# assert_fails CMD [ARGS...]: CMD must exit non-zero (its output is shown)
assert_fails() {
    if "$@"; then
        fail "command succeeded but should have failed: $*"
    fi
}

# wait_until TIMEOUT_S CMD [ARGS...]: run CMD every 0.1 s until it succeeds;
# fail after TIMEOUT_S seconds (may be fractional)
wait_until() {
    local timeout=$1; shift
    local tries
    tries=$(awk -v t="$timeout" 'BEGIN { n = int(t * 10); print (n < 1 ? 1 : n) }')
    while ((tries-- > 0)); do
        "$@" && return 0
        sleep 0.1
    done
    fail "timed out after ${timeout}s waiting for: $*"
}

# as_nobody CMD [ARGS...]: run CMD as user/group nobody (65534), no
# supplementary groups (e.g. to check that the bus policy refuses it)
as_nobody() {
    setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}

# save_config: keep the installed /etc/warden/wardend.conf; restore_config puts
# it back and stops wardend (so that the next test starts from the installed
# state).  save_config installs restore_config as the EXIT trap; a test with a
# trap of its own calls restore_config from it.
WARDEN_CONF=/etc/warden/wardend.conf
save_config() {
    cp "$WARDEN_CONF" /run/wardend.conf.saved
    trap restore_config EXIT
}
restore_config() {
    cp /run/wardend.conf.saved "$WARDEN_CONF"
    systemctl stop warden.service || true
    systemctl reset-failed warden.service 2>/dev/null || true
}

# error_of CMD [ARGS...]: run a D-Bus call that must fail and print the name of
# its error ("org.warden.Error.NoSuchContainer"), which is what clients match
# on; prints "no error: OUTPUT" if it succeeded.  gdbus and dbus-send print the
# name, busctl does not.
error_of() {
    local out
    if out=$("$@" 2>&1); then
        echo "no error: $out"
    else
        grep -o 'org\.[A-Za-z.]*Error\.[A-Za-z]*' <<<"$out" | head -n1
    fi
}

# ---- containers ---------------------------------------------------------------------------------------
WARDEN_DEPOT=/var/lib/warden/containers
BUSCTL_MANAGER=(busctl --timeout=120 call org.warden.Manager /org/warden/Manager org.warden.Manager)
# shellcheck disable=SC2034 # used by the test scripts
GDBUS_MANAGER=(gdbus call --system --timeout 120 --dest org.warden.Manager --object-path /org/warden/Manager)

# create HANDLE [BUSCTL-A{SV}-TAIL...]: Create with handle HANDLE, grace_time 0 and the given extra
# options, e.g. create c1 1 network s 10.254.0.9  (the count is of the extra options)
create() {
    local handle=$1 n=${2:-0}
    shift 2 || shift $#
    "${BUSCTL_MANAGER[@]}" Create 'a{sv}' $((n + 2)) handle s "$handle" grace_time u 0 "$@" >/dev/null
}

# info HANDLE KEY: one value of Info (from wardenctl --json info; arrays and dicts as JSON)
info() {
    wardenctl --json info "$1" | python3 -c '
import json, sys
v = json.load(sys.stdin).get(sys.argv[1])
print("" if v is None else (json.dumps(v) if isinstance(v, (list, dict)) else v))' "$2"
}

# leader HANDLE: wshd's PID
leader() {
    info "$1" leader_pid
}

# in_container HANDLE CMD...: run CMD inside the container (all its namespaces and its root)
in_container() {
    local pid
    pid=$(leader "$1"); shift
    nsenter -t "$pid" -m -u -i -n -p -r -w -- "$@"
}

# in_container_scope HANDLE CMD...: run CMD inside the container like in_container, but charged to the
# container's cgroups, so that its memory, pids and CPU limits apply: a subshell first moves itself into
# every cgroup of the container's scope (each v1 hierarchy that has warden.slice/warden-HANDLE.scope, and
# cgroup2), then enters the namespaces. (A process that is only nsenter'ed stays in the caller's cgroups.)
# in_container_scope_pid HANDLE PID CMD... does the same with wshd's PID given (no call to wardend).
in_container_scope() {
    local h=$1 pid
    pid=$(leader "$h"); shift
    in_container_scope_pid "$h" "$pid" "$@"
}
in_container_scope_pid() {
    local h=$1 pid=$2; shift 2
    (
        for d in /sys/fs/cgroup/*/warden.slice/"warden-$h.scope" /sys/fs/cgroup/warden.slice/"warden-$h.scope"; do
            # cpu,cpuacct is a symlink to cpu: once is enough
            [[ -d $d && ! -L ${d%/warden.slice/*} ]] || continue
            echo "$BASHPID" >"$d/cgroup.procs"
        done
        # the same namespaces as in_container, with wshd's PID known already
        exec nsenter -t "$pid" -m -u -i -n -p -r -w -- "$@"
    )
}

# leftovers HANDLE [LINK]: print everything of container HANDLE that still exists (empty: nothing)
leftovers() {
    local h=$1 link=${2:-}
    grep -F " $WARDEN_DEPOT/$h" /proc/self/mountinfo | sed 's/^/mount: /' || true
    [[ -e $WARDEN_DEPOT/$h ]] && echo "directory: $WARDEN_DEPOT/$h"
    [[ -e /run/warden/containers/$h ]] && echo "state file: /run/warden/containers/$h"
    [[ -e /run/warden/jobs/$h ]] && echo "job records: /run/warden/jobs/$h"
    if [[ -n $link ]] && ip link show "$link" >/dev/null 2>&1; then echo "link: $link"; fi
    # the ifb of a bandwidth limit (w-ID-i next to w-ID-0), and the loop device of a disk limit
    if [[ $link == w-*-0 ]] && ip link show "${link%-0}-i" >/dev/null 2>&1; then echo "ifb: ${link%-0}-i"; fi
    # the link's source address pair in warden's nft tables (its anti-spoofing)
    local fam
    for fam in inet arp; do
        if [[ $link == w-*-0 ]] && nft list set "$fam" warden sources 2>/dev/null | grep -qF "\"$link\" . "; then
            echo "nft: source pair of $link in $fam warden"
        fi
    done
    losetup -l -n -O NAME,BACK-FILE 2>/dev/null | awk -v p="$WARDEN_DEPOT/$h/" \
        'index($2, p) == 1 { print "loop device: " $1 " on " $2 }' || true
    local state
    state=$(systemctl show -P ActiveState "warden-$h.scope" 2>/dev/null || true)
    [[ -n $state && $state != inactive ]] && echo "unit: warden-$h.scope is $state"
    find /sys/fs/cgroup -maxdepth 3 -type d -name "warden-$h.scope" 2>/dev/null | sed 's/^/cgroup: /'
    wardenctl list | grep -qx -- "$h" && echo "registered: $h"
    true
}

# assert_clean HANDLE [LINK]: nothing of HANDLE is left. The veth is deleted right after Destroy answers
# (off the caller's path, see org.warden.Manager(5)): give that a moment.
# A loop device detaches itself once the container's mount namespace is gone: that too may take a moment.
assert_clean() {
    local left tries=50
    while left=$(leftovers "$@") && [[ -n $left ]] && ((tries-- > 0)); do sleep 0.1; done
    [[ -z $left ]] || fail "left behind by '$1': $left"
}

# warden_leftovers: print anything of warden's that exists in the sandbox, whatever container it was
# (empty: nothing): links and ifbs w-*, qdiscs other than the default on any link, loop devices on files in
# the depot, mounts below it, scopes in warden.slice
warden_leftovers() {
    ip -o link show 2>/dev/null | awk -F': ' '$2 ~ /^w-/ { sub(/@.*/, "", $2); print "link: " $2 }'
    tc qdisc show 2>/dev/null | grep -v -E '^qdisc (noqueue|noop) ' | sed 's/^/qdisc: /' || true
    losetup -l -n -O NAME,BACK-FILE 2>/dev/null | awk -v p="$WARDEN_DEPOT/" \
        'index($2, p) == 1 { print "loop device: " $1 " on " $2 }' || true
    grep -F " $WARDEN_DEPOT/" /proc/self/mountinfo | sed 's/^/mount: /' || true
    find /sys/fs/cgroup -maxdepth 3 -type d -name 'warden-*.scope' 2>/dev/null | sed 's/^/cgroup: /'
    true
}

# assert_all_clean: warden_leftovers is empty (after a moment for the kernel to finish deleting)
assert_all_clean() {
    local left tries=50
    while left=$(warden_leftovers) && [[ -n $left ]] && ((tries-- > 0)); do sleep 0.1; done
    [[ -z $left ]] || fail "warden left behind: $left"
}

# destroy_all: destroy every container (cleanup traps)
destroy_all() {
    local h
    for h in $(wardenctl list 2>/dev/null); do
        "${BUSCTL_MANAGER[@]}" Destroy s "$h" >/dev/null 2>&1 || true
    done
}
