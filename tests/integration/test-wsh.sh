#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# wsh and wshd's jobs: stdout and stderr apart, exit codes (also 128+N and 127 for a missing program), env,
# dir, user, rlimits, no_new_privs, a tty of the asked size, a flood of garbage on wshd's socket, and 200
# jobs in a row that leave no zombie behind.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

here=$(dirname "$(readlink -f "$0")")
h=wsh1
tmp=$(mktemp -d /run/test-wsh.XXXXXX)
trap 'destroy_all; rm -rf "$tmp"' EXIT

wardenctl create --handle "$h" --grace-time 0 >/dev/null
sock=$WARDEN_DEPOT/$h/wshd.sock
[[ -S $sock ]] || fail "no wshd socket at $sock"
wshd_pid=$(leader "$h")

# stdout and stderr are the caller's own, apart; the exit code comes back
rc=0
wsh "$h" sh -c 'echo to-out; echo to-err >&2; exit 123' >"$tmp/out" 2>"$tmp/err" || rc=$?
assert_eq "$rc" 123 "exit code"
assert_eq "$(cat "$tmp/out")" to-out "stdout"
assert_eq "$(cat "$tmp/err")" to-err "stderr"
# --socket instead of a handle; stdin too
assert_eq "$(echo piped | wsh --socket "$sock" cat)" piped "stdin"

# killed by a signal: 128+N
rc=0
wsh "$h" sh -c 'kill -9 $$' || rc=$?
assert_eq "$rc" $((128 + 9)) "exit code of a killed job"

# a program that does not exist: 127 and a message; a directory that does not: 126
rc=0
wsh "$h" /no/such/program 2>"$tmp/err" || rc=$?
assert_eq "$rc" 127 "exit code for a missing program"
assert_contains "$(cat "$tmp/err")" "wshd: execute '/no/such/program': No such file or directory" "message"
rc=0
wsh "$h" --dir /no/such/dir true 2>"$tmp/err" || rc=$?
assert_eq "$rc" 126 "exit code for a missing directory"
assert_contains "$(cat "$tmp/err")" "chdir '/no/such/dir'" "message"

# env, dir, user
assert_eq "$(wsh "$h" --env FOO=bar --env FOO=baz --dir /tmp sh -c 'echo "$FOO $PWD $HOME"')" "baz /tmp /" \
    "env and dir"
assert_eq "$(wsh "$h" env | sort | tr '\n' ' ')" \
    "HOME=/ PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin " "default environment"
assert_eq "$(wsh "$h" --user 10001 id -u)" 10001 "uid"
assert_eq "$(wsh "$h" --user 10001:10002 id -g)" 10002 "gid"
assert_eq "$(wsh "$h" --user 10001 id -G)" 10001 "no supplementary groups"
assert_eq "$(wsh "$h" id -u)" 0 "root by default"

# no_new_privs for everybody, root too (wardend(8), CONFINEMENT); root keeps the container's capabilities
assert_match "$(wsh "$h" --user 10001 grep NoNewPrivs /proc/self/status)" $'NoNewPrivs:\t1' "no_new_privs"
assert_match "$(wsh "$h" grep NoNewPrivs /proc/self/status)" $'NoNewPrivs:\t1' "no_new_privs for root"
assert_match "$(wsh "$h" grep CapEff /proc/self/status)" $'CapEff:\t0*[1-9a-f]' "root keeps capabilities"

# rlimits
assert_eq "$(wsh "$h" --rlimit nofile=77 sh -c 'ulimit -n')" 77 "RLIMIT_NOFILE"
assert_eq "$(wsh "$h" --rlimit NOFILE=50:60 sh -c 'ulimit -Sn; ulimit -Hn' | tr '\n' ' ')" "50 60 " "soft:hard"
assert_eq "$(wsh "$h" --user 10001 --rlimit nproc=100 sh -c 'ulimit -u')" 100 "RLIMIT_NPROC"
assert_eq "$(wsh "$h" --rlimit fsize=unlimited sh -c 'ulimit -f')" unlimited "unlimited"
# a job starts with the RLIMIT_NOFILE that wshd got from wardend's service, not the one wshd raised for
# itself (to its hard limit)
assert_eq "$(wsh "$h" sh -c 'ulimit -n')" "$(systemctl show -P LimitNOFILESoft warden.service)" "default RLIMIT_NOFILE"
assert_eq "$(awk '/^Max open files/ { print $4 }' "/proc/$wshd_pid/limits")" \
    "$(awk '/^Max open files/ { print $5 }' "/proc/$wshd_pid/limits")" "wshd's own RLIMIT_NOFILE"

# no signal is blocked or ignored in a job (wshd blocks some)
assert_eq "$(wsh "$h" grep -E '^Sig(Blk|Ign)' /proc/self/status | tr -d '\t' | tr '\n' ' ')" \
    "SigBlk:0000000000000000 SigIgn:0000000000000000 " "signal mask and dispositions"
# a new session: the job leads its own
assert_eq "$(wsh "$h" sh -c 'echo $$ $(cut -d" " -f6 /proc/$$/stat)' | awk '{ print ($1 == $2) }')" 1 "setsid"

# without --tty no terminal; with it, a terminal of the caller's size; SIGWINCH becomes RESIZE
assert_eq "$(wsh "$h" sh -c 'test -t 0 && echo tty || echo no-tty' </dev/null)" no-tty "no tty"
out=$(script -qec "stty rows 33 cols 101; wsh $h --tty sh -c 'test -t 0 && test -t 1 && echo is-a-tty; stty size; exit 7'" \
    /dev/null </dev/null | tr -d '\r' | sed 's/\^@//g') && rc=0 || rc=$?
assert_eq "$rc" 7 "exit code through --tty"
assert_contains "$out" is-a-tty "a tty job sees a terminal"
assert_contains "$out" "33 101" "window size"
out=$(script -qec "stty rows 33 cols 101; (sleep 1; stty rows 40 cols 120 </dev/tty) & wsh $h --tty sh -c 'sleep 2; stty size'" \
    /dev/null </dev/null | tr -d '\r' | sed 's/\^@//g')
assert_contains "$out" "40 120" "SIGWINCH forwarded as RESIZE"
# a tty job as a non-root user: the pty is its own
assert_contains "$(script -qec "wsh $h --tty --user 10001 sh -c 'stat -c %u \$(tty)'" /dev/null </dev/null | tr -d '\r' | sed 's/\^@//g')" \
    10001 "pty owner"
# the terminal is restored when wsh exits
n_settings=$(script -qec "stty -g; wsh $h --tty true; stty -g" /dev/null </dev/null | tr -d '\r' | sed 's/\^@//g' | sort -u | wc -l)
assert_eq "$n_settings" 1 "terminal settings restored"

# the job protocol as wardend speaks it (WATCH, RELEASE, SIGNAL, RESIZE, the pty relay)
python3 "$here/wshd-jobs.py" checks "$sock" || fail "wshd's job protocol"

# garbage on the socket: refused, and wshd lives on and serves
python3 "$here/wshd-jobs.py" garbage "$sock" || fail "garbage"
assert_eq "$(leader "$h")" "$wshd_pid" "wshd is still the same process"
assert_eq "$(wsh "$h" echo still-serving)" still-serving "wshd serves after the garbage"

# 200 jobs in a row: every one reaped, nothing left
for i in $(seq 200); do
    out=$(wsh "$h" sh -c "echo \$\$ $i; exit $((i % 7))") && rc=0 || rc=$?
    assert_eq "$rc" $((i % 7)) "exit code of job $i"
    [[ $out =~ ^[0-9]+\ $i$ ]] || fail "output of job $i: '$out'"
done
wait_until 5 test "$(python3 "$here/wshd-jobs.py" hello "$sock")" = 0
pidns=$(readlink "/proc/$wshd_pid/ns/pid")
left=()
for p in /proc/[0-9]*; do
    [[ $(readlink "$p/ns/pid" 2>/dev/null) == "$pidns" ]] || continue
    [[ ${p#/proc/} == "$wshd_pid" ]] && continue
    left+=("${p#/proc/}: $(cut -d' ' -f2,3 "$p/stat" 2>/dev/null)")
done
((${#left[@]} == 0)) || fail "processes left in the container: ${left[*]}"

# STOP kills jobs too, and their exits are reported as usual
wsh "$h" sleep 1000 &
job=$!
wait_until 10 test "$(python3 "$here/wshd-jobs.py" hello "$sock")" = 1
wardenctl stop "$h"
rc=0
wait "$job" || rc=$?
assert_eq "$rc" $((128 + 15)) "exit code of a job that STOP terminated"
assert_eq "$(python3 "$here/wshd-jobs.py" hello "$sock")" 0 "processes after STOP"

"${BUSCTL_MANAGER[@]}" Destroy s "$h" >/dev/null
assert_clean "$h"
echo "PASS"
