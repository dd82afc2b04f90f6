#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# wardenctl's process commands against the real wardend: run (output kept apart, exit status, options),
# spawn/link/stream, signal, shell and run --tty on a terminal (driven through tmux), errors and exit codes;
# and a smoke test of copy-in/copy-out.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || skip_or_fail "tmux is not installed (see tools/deps.txt)"

tmux_socket=warden-jobs-$$
T=(tmux -L "$tmux_socket" -f /dev/null)
tmp=$(mktemp -d /var/tmp/wardenctl-jobs.XXXXXX)
cleanup() {
    "${T[@]}" kill-server 2>/dev/null || true
    destroy_all
    rm -rf "$tmp"
}
trap cleanup EXIT

h=jobs1
wardenctl create --handle "$h" --grace-time 0 >/dev/null

# ---- run: the job uses our stdin/stdout/stderr; the exit status is the job's ------------------------------
rc=0
wardenctl run "$h" -- sh -c 'echo to-out; echo to-err >&2; exit 123' >"$tmp/out" 2>"$tmp/err" || rc=$?
assert_eq "$rc" 123 "run exits with the job's exit code"
assert_eq "$(cat "$tmp/out")" to-out "run: the job's stdout"
assert_eq "$(cat "$tmp/err")" to-err "run: the job's stderr, apart from its stdout"
wardenctl run "$h" true || fail "run true"
rc=0; wardenctl run "$h" sh -c 'kill -TERM $$' || rc=$?
assert_eq "$rc" 143 "a job killed by SIGTERM: 128+15"
rc=0; wardenctl run "$h" sh -c 'kill -KILL $$' || rc=$?
assert_eq "$rc" 137 "a job killed by SIGKILL: 128+9"
assert_eq "$(printf 'line1\nline2\n' | wardenctl run "$h" wc -l)" 2 "run: the job reads our stdin"
# everything from the command on is the command's; our options may sit between handle and command
assert_eq "$(wardenctl run "$h" ls -d /etc)" /etc "the command's own options"
assert_eq "$(wardenctl run "$h" --env A=1 -- sh -c 'echo "$A"')" 1 "options after the handle"
# output streams live: the first line is out before the job ends
wardenctl run "$h" sh -c 'echo early; sleep 30' >"$tmp/live" &
runner=$!
wait_until 10 grep -qx early "$tmp/live"
kill -0 "$runner" 2>/dev/null || fail "run ended early"
# SIGTERM to wardenctl goes on to the job, which ends with it
kill -TERM "$runner"
rc=0; wait "$runner" || rc=$?
assert_eq "$rc" 143 "SIGTERM to wardenctl run reaches the job"

# ---- options ------------------------------------------------------------------------------------------
assert_eq "$(wardenctl run --env FOO=bar --env 'BAZ=a b' "$h" sh -c 'echo "$FOO|$BAZ"')" "bar|a b" "--env"
assert_eq "$(wardenctl run --dir /tmp "$h" pwd)" /tmp "--dir"
assert_eq "$(wardenctl run "$h" pwd)" /home/vcap "the user's home without --dir"
vcap_uid=$(in_container "$h" sed -n 's/^vcap:x:\([0-9]*\):.*/\1/p' /etc/passwd)
[[ $vcap_uid =~ ^[0-9]+$ && $vcap_uid -ge 10001 ]] || fail "no vcap uid: '$vcap_uid'"
assert_eq "$(wardenctl run "$h" id -u)" "$vcap_uid" "the container's user by default"
assert_eq "$(wardenctl run --privileged "$h" id -u)" 0 "--privileged runs as root"
assert_eq "$(wardenctl run --user root "$h" id -un)" root "--user"
assert_eq "$(wardenctl run --rlimit nofile=123 "$h" sh -c 'ulimit -n')" 123 "--rlimit nofile"
limits=$(wardenctl run --rlimit nproc=77 --rlimit core=0 "$h" cat /proc/self/limits)
grep -Eq '^Max processes +77 +77 ' <<<"$limits" || fail "--rlimit nproc: $limits"
grep -Eq '^Max core file size +0 +0 ' <<<"$limits" || fail "--rlimit core: $limits"

# ---- spawn, stream (twice at once), link -------------------------------------------------------------
job=$(wardenctl spawn "$h" -- sh -c 'for i in 1 2 3; do echo out-$i; echo err-$i >&2; sleep 0.3; done; exit 5')
assert_match "$job" '^[0-9]+$' "spawn prints the job id"
wardenctl stream "$h" "$job" >"$tmp/s1.out" 2>"$tmp/s1.err" &
s1=$!
wardenctl stream "$h" "$job" >"$tmp/s2.out" 2>"$tmp/s2.err" &
s2=$!
wait "$s1" || fail "stream 1 failed"
wait "$s2" || fail "stream 2 failed"
assert_eq "$(cat "$tmp/s1.out")" $'out-1\nout-2\nout-3' "stream: the job's stdout"
assert_eq "$(cat "$tmp/s1.err")" $'err-1\nerr-2\nerr-3' "stream: the job's stderr"
cmp -s "$tmp/s1.out" "$tmp/s2.out" || fail "two streams of one job differ (stdout)"
cmp -s "$tmp/s1.err" "$tmp/s2.err" || fail "two streams of one job differ (stderr)"
# a stream that starts after the end replays everything
wardenctl stream "$h" "$job" >"$tmp/s3.out" 2>/dev/null || fail "stream after the end"
cmp -s "$tmp/s1.out" "$tmp/s3.out" || fail "a late stream misses output"
rc=0; wardenctl link "$h" "$job" >"$tmp/l.out" 2>"$tmp/l.err" || rc=$?
assert_eq "$rc" 5 "link exits with the job's status"
cmp -s "$tmp/s1.out" "$tmp/l.out" || fail "link's stdout: $(cat "$tmp/l.out")"
cmp -s "$tmp/s1.err" "$tmp/l.err" || fail "link's stderr: $(cat "$tmp/l.err")"
rc=0; err=$(wardenctl link "$h" "$job" 2>&1) || rc=$?
assert_eq "$rc" 1 "a second link fails"
assert_match "$err" '^wardenctl: .+' "a second link says why"

json=$(wardenctl --json spawn "$h" -- printf 'a"b\n')
assert_match "$json" '^\{"job_id": [0-9]+\}$' "spawn --json"
job=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["job_id"])' "$json")
rc=0; json=$(wardenctl link "$h" "$job" --json) || rc=$?
assert_eq "$rc" 0 "link --json exits with the job's status"
python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert d["stdout"] == "a\"b\n" and d["stderr"] == "" and d["exit_status"] == 0, d' \
    "$json" || fail "link --json: $json"

job=$(wardenctl spawn --discard-output "$h" -- sh -c 'echo lost; exit 4')
rc=0; out=$(wardenctl link "$h" "$job" 2>&1) || rc=$?
assert_eq "$rc" 4 "link of a job with discarded output"
assert_eq "$out" "" "--discard-output keeps nothing"

# ---- signal ---------------------------------------------------------------------------------------------
for sig in TERM:143 SIGKILL:137 hup:129 2:130; do
    job=$(wardenctl spawn "$h" sleep 1000)
    wardenctl signal "$h" "$job" "${sig%%:*}" || fail "signal ${sig%%:*}"
    rc=0; wardenctl link "$h" "$job" || rc=$?
    assert_eq "$rc" "${sig##*:}" "signal ${sig%%:*}"
done

# ---- copy-in, copy-out (a smoke test; test-copy has the details) -----------------------------------------
mkdir -p "$tmp/src/sub"
echo one >"$tmp/src/sub/f"
ln -s f "$tmp/src/sub/link"
chmod 750 "$tmp/src/sub"
# relative host paths are made absolute against our working directory
(cd "$tmp" && wardenctl copy-in "$h" src /home/vcap) || fail "copy-in of a relative path"
assert_eq "$(wardenctl run "$h" cat /home/vcap/src/sub/f)" one "copy-in: a file's content"
assert_eq "$(wardenctl run "$h" readlink /home/vcap/src/sub/link)" f "copy-in: a symlink as a link"
assert_eq "$(wardenctl run "$h" stat -c '%a %u' /home/vcap/src/sub)" "750 $vcap_uid" "copy-in: mode, and the container's user"
# "./" (a trailing slash: the contents) and ".." keep their meaning
(cd "$tmp/src/sub" && wardenctl copy-in "$h" ../ /tmp/contents/) || fail "copy-in of '../'"
assert_eq "$(wardenctl run "$h" cat /tmp/contents/sub/f)" one "copy-in of a directory's contents"
wardenctl run "$h" sh -c 'echo back >/home/vcap/out.txt'
(cd "$tmp" && wardenctl copy-out "$h" /home/vcap/out.txt ./out.txt --owner nobody) || fail "copy-out"
assert_eq "$(cat "$tmp/out.txt")" back "copy-out: the content"
assert_eq "$(stat -c %u "$tmp/out.txt")" 65534 "copy-out --owner"
(cd "$tmp" && wardenctl copy-out "$h" /home/vcap/src/ back/) || fail "copy-out of a tree"
assert_eq "$(cat "$tmp/back/sub/f")" one "copy-out of a tree: a file's content"
assert_eq "$(stat -c '%a %u' "$tmp/back/sub")" "750 0" "copy-out without --owner: root's"

# ---- errors: 1 for failures (wardend's message), 2 for usage ----------------------------------------------
expect_rc() { # expect_rc RC REGEX CMD...: CMD exits RC and its stderr matches REGEX
    local want=$1 re=$2 rc=0 err
    shift 2
    err=$("$@" 2>&1 >/dev/null) || rc=$?
    assert_eq "$rc" "$want" "exit status of: $*"
    assert_match "$err" "$re" "message of: $*"
}
expect_rc 1 "^wardenctl: No container 'nope'\.$" wardenctl run nope true
expect_rc 1 "^wardenctl: No container 'nope'\.$" wardenctl spawn nope true
expect_rc 1 '^wardenctl: .+' wardenctl link "$h" 99999
expect_rc 1 '^wardenctl: .+' wardenctl signal "$h" 99999 TERM
expect_rc 1 '^wardenctl: .+' wardenctl stream "$h" 99999
expect_rc 1 "^wardenctl: .*'tmp'" wardenctl run --dir tmp "$h" true
expect_rc 1 "^wardenctl: .*'nosuchuser'" wardenctl run --user nosuchuser "$h" true
expect_rc 1 '^wardenctl: .+' wardenctl copy-in "$h" "$tmp/no-such-file" /tmp
expect_rc 1 '^wardenctl: .+' wardenctl copy-out "$h" relative/path "$tmp/x"
expect_rc 1 "^wardenctl: .*'no-such-user'" wardenctl copy-out "$h" /home/vcap/out.txt "$tmp/x" --owner no-such-user
expect_rc 1 "^wardenctl: Failed to make 'nosuchdir/\.\./x' an absolute path: No such file or directory$" \
    wardenctl copy-in "$h" nosuchdir/../x /tmp
expect_rc 2 "does not apply to 'copy-in'" wardenctl copy-in --owner root "$h" a /b
expect_rc 1 'needs a terminal on standard input' wardenctl run --tty "$h" true </dev/null
expect_rc 1 'needs a terminal on standard input' wardenctl shell "$h" </dev/null
expect_rc 127 '.' wardenctl run "$h" /no/such/program
expect_rc 2 "takes at least 2 arguments" wardenctl run "$h"
expect_rc 2 "Invalid job id 'x'" wardenctl link "$h" x
expect_rc 2 "Invalid job id '0'" wardenctl stream "$h" 0
expect_rc 2 "Invalid signal 'NOSUCH'" wardenctl signal "$h" 1 NOSUCH
expect_rc 2 "Invalid --rlimit= 'nofiles=1'" wardenctl run --rlimit nofiles=1 "$h" true
expect_rc 2 "Invalid --rlimit= 'nofile=x'" wardenctl run --rlimit nofile=x "$h" true
expect_rc 2 "does not apply to 'run'" wardenctl run --discard-output "$h" true
expect_rc 2 "does not apply to 'shell'" wardenctl shell --env A=B "$h"
expect_rc 2 "takes KEY=VALUE" wardenctl run --env NOEQUALS "$h" true

# ---- a terminal: wardenctl shell and run --tty in tmux ----------------------------------------------------
pane() { "${T[@]}" capture-pane -p -t "$1"; }
# wait_pane SESSION REGEX: until a line of the pane matches
wait_pane() {
    local tries=100
    while ((tries-- > 0)); do
        pane "$1" | grep -Eq -- "$2" && return 0
        sleep 0.1
    done
    fail "pane $1 never showed /$2/: $(pane "$1")"
}
# The pane runs wardenctl between two snapshots of its terminal's settings, then stays open.
"${T[@]}" new-session -d -s shell -x 100 -y 30 \
    "stty -g >$tmp/stty.before; wardenctl shell $h; echo shell-rc=\$?; stty -g >$tmp/stty.after; exec sleep 600"
pane_tty=$("${T[@]}" display-message -p -t shell '#{pane_tty}')
"${T[@]}" send-keys -t shell 'echo hi-$((6*7))' Enter
wait_pane shell '^hi-42$'
# our side of the terminal is raw while the shell runs
stty -F "$pane_tty" -a | grep -q -- '-icanon' || fail "the terminal is not in raw mode: $(stty -F "$pane_tty" -a)"
stty -F "$pane_tty" -a | grep -q -- '-echo ' || fail "the terminal still echoes"
"${T[@]}" send-keys -t shell 'stty size' Enter
wait_pane shell '^30 100$'
"${T[@]}" resize-window -t shell -x 120 -y 40
"${T[@]}" send-keys -t shell 'stty size' Enter
wait_pane shell '^40 120$'
"${T[@]}" send-keys -t shell 'echo "uid=$(id -u) term=$TERM tty=$(tty)"' Enter
term=$("${T[@]}" show-options -gv default-terminal)
wait_pane shell "^uid=$vcap_uid term=$term tty=/dev/pts/[0-9]+\$"
# ^C reaches the job, not wardenctl: the shell is still there afterwards
"${T[@]}" send-keys -t shell 'sleep 100' Enter
sleep 0.5
"${T[@]}" send-keys -t shell C-c
"${T[@]}" send-keys -t shell 'echo alive-$((1+1))' Enter
wait_pane shell '^alive-2$'
"${T[@]}" send-keys -t shell 'exit 3' Enter
wait_pane shell '^shell-rc=3$'
wait_until 5 test -s "$tmp/stty.after"
assert_eq "$(cat "$tmp/stty.after")" "$(cat "$tmp/stty.before")" "the terminal is restored after the shell"

# run --tty --privileged: exit status, and the terminal restored after a job killed by a signal
"${T[@]}" new-session -d -s tty -x 80 -y 24 \
    "stty -g >$tmp/tty.before; wardenctl run --tty --privileged $h sh -c 'id -u; stty size; tty; kill -TERM \$\$'; echo tty-rc=\$?; stty -g >$tmp/tty.after; exec sleep 600"
wait_pane tty '^tty-rc=143$'
out=$(pane tty)
grep -qx 0 <<<"$out" || fail "run --tty --privileged: not root: $out"
grep -qx '24 80' <<<"$out" || fail "run --tty: terminal size: $out"
grep -Eqx '/dev/pts/[0-9]+' <<<"$out" || fail "run --tty: no terminal: $out"
wait_until 5 test -s "$tmp/tty.after"
assert_eq "$(cat "$tmp/tty.after")" "$(cat "$tmp/tty.before")" "the terminal is restored after run --tty"

# a second SIGTERM makes wardenctl give up waiting; the terminal is restored then too
cat >"$tmp/intr.sh" <<EOF
echo \$\$ >$tmp/intr.pid
exec wardenctl run --tty $h sh -c 'trap "" TERM; echo ready; sleep 100'
EOF
"${T[@]}" new-session -d -s intr -x 80 -y 24 \
    "stty -g >$tmp/intr.before; sh $tmp/intr.sh; echo intr-rc=\$?; stty -g >$tmp/intr.after; exec sleep 600"
wait_pane intr '^ready'
ctl=$(cat "$tmp/intr.pid")
kill -TERM "$ctl"
sleep 0.5
kill -TERM "$ctl"
wait_pane intr '^intr-rc=143$'
pane intr | grep -q 'Interrupted; job [0-9]* of' || fail "no message on interruption: $(pane intr)"
wait_until 5 test -s "$tmp/intr.after"
assert_eq "$(cat "$tmp/intr.after")" "$(cat "$tmp/intr.before")" "the terminal is restored after an interruption"
"${T[@]}" kill-server

# ---- cleanup --------------------------------------------------------------------------------------------
wardenctl destroy "$h"
assert_clean "$h"
echo "ok: wardenctl jobs" >&2
