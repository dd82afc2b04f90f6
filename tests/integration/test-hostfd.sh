#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# No host object reaches a job (issue 17, finding 1): each reproduction against wardenctl run, wsh and the
# D-Bus API (the trust boundary) — a job that reopens the host file behind its stdout to read it back
# (as root, and as vcap a file it was given for writing), chmods or chowns it, copies it into itself, a
# terminal passed as stdin (TIOCSTI, reopen), a directory as stdin — and that wardenctl run still works as
# users expect with files, terminals and pipes (exit status, EOF, order of stdout and stderr, streaming).
#
# Arguments: the path of hostfd-probe (tests/integration/hostfd-probe.c, static), bound into the container.
# Every check is made and reported; the test fails at the end if any did.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

probe=$(readlink -f "${1:-}")
[[ -n ${1:-} && -x $probe ]] || fail "usage: ${0##*/} HOSTFD-PROBE (got '${1:-}')"

tmp=$(mktemp -d /var/tmp/hostfd.XXXXXX)
small=$tmp/small
mkdir "$small"
# the self-copy loop of main fills whatever holds the file: a small tmpfs of its own
mount -t tmpfs -o size=4m tmpfs "$small"
cleanup() {
    umount "$small" 2>/dev/null || true
    destroy_all
    rm -rf "$tmp"
}
trap cleanup EXIT

failed=0
# check MSG CMD...: CMD must succeed; a failure is reported and the test goes on
check() {
    local msg=$1
    shift
    if "$@"; then
        echo "ok: $msg" >&2
    else
        echo "FAIL: $msg" >&2
        failed=1
    fi
}
is() { [[ $1 == "$2" ]] || { echo "  got '$1', expected '$2'" >&2; return 1; }; }

h=hf1
create "$h" 1 bind_mounts 'a(ssb)' 1 "$probe" /usr/local/bin/hostfd-probe true
sock=$WARDEN_DEPOT/$h/wshd.sock
# reads the file behind its stdout through a reopen of /proc/self/fd/1, onto its stderr; with fd 1 closed
# after the reopen, a pipe there has no writer left and ends at once. (vcap may not even reopen a pipe of
# root's: EACCES.)
read_back='{ exec 1>&-; cat <&3 >&2; } 3</proc/self/fd/1; echo end >&2'
# read_nothing FILE SECRET: the job's stderr (FILE) ends with "end" and has nothing of SECRET
read_nothing() {
    [[ $(tail -n1 "$1") == end ]] && ! grep -q "$2" "$1" || { echo "  got '$(cat "$1")'" >&2; return 1; }
}

# ---- wardenctl run: the file behind stdout ---------------------------------------------------------------
f=$tmp/o.txt
echo HOST >"$f"
chmod 600 "$f"
wardenctl run --privileged "$h" -- sh -c "$read_back" >>"$f" 2>"$tmp/err" </dev/null || true
check "root reads back the file behind its stdout (reopen)" read_nothing "$tmp/err" HOST
wardenctl run --privileged "$h" -- chmod 4777 /proc/self/fd/1 >>"$f" </dev/null || true
check "root chmods the file behind its stdout" is "$(stat -c %a "$f")" 600
wardenctl run --privileged "$h" -- chown 10001:10001 /proc/self/fd/1 >>"$f" </dev/null || true
check "root chowns the file behind its stdout" is "$(stat -c %u:%g "$f")" 0:0
check "the file is as it was" is "$(cat "$f")" HOST

log=$tmp/log.txt
echo HOST-LOG >"$log"
chmod 644 "$log"
wardenctl run "$h" -- sh -c "$read_back" >>"$log" 2>"$tmp/err" </dev/null || true
check "vcap reads back a file it was given for writing" read_nothing "$tmp/err" HOST-LOG

# the job reads its own stdout file while it appends to it: on a 4 MiB tmpfs, and for 2 s at most
echo seed >"$small/self.txt"
wardenctl run "$h" -- sh -c 'cat /proc/self/fd/1 & sleep 2; kill $! 2>/dev/null; true' \
    >>"$small/self.txt" </dev/null || true
check "a job copies its stdout file into itself" is "$(stat -c %s "$small/self.txt")" 5

# ---- wardenctl run: a terminal as stdin (a pty of the test's, nobody's controlling terminal) -----------
out=$(python3 - "$h" <<'PY'
import os, pty, subprocess, sys
h = sys.argv[1]
master, slave = pty.openpty()
r = subprocess.run(["wardenctl", "run", "--privileged", h, "--", "hostfd-probe", "tiocsti", "INJECTED\n"],
                   stdin=slave, capture_output=True, text=True)
os.set_blocking(slave, False)
try:
    got = os.read(slave, 100)
except BlockingIOError:
    got = b""
print(r.stdout.strip(), repr(got))
r = subprocess.run(["wardenctl", "run", "--privileged", h, "--", "hostfd-probe", "tty-reopen"],
                   stdin=slave, capture_output=True, text=True)
print(r.stdout.strip())
PY
)
check "TIOCSTI into the caller's terminal" is "$(sed -n 1p <<<"$out")" "tiocsti=ENOTTY b''"
check "a reopen of the caller's terminal" is "$(sed -n 2p <<<"$out")" tty-reopen=not-a-tty

# ---- wardenctl run: a directory as stdin -----------------------------------------------------------------
mkdir "$tmp/hostdir"
touch "$tmp/hostdir/HOST-MARKER"
rc=0
out=$(wardenctl run "$h" -- ls /proc/self/fd/0/ <"$tmp/hostdir" 2>&1) || rc=$?
check "a directory as stdin: refused" is "$rc:$out" \
    "1:wardenctl: Standard input is a directory: it cannot be given to a job, nor relayed."

# ---- the host's device nodes in the container's /dev (null, zero, full, random, urandom, tty) ----------
# They are bind mounts of the host's nodes: read-only mounts, so that container root cannot chmod or chown
# the host's /dev/null. Only tried once the mounts are seen read-only: in the sandbox, the host's /dev is
# the machine's own.
mi=$(wardenctl run "$h" -- grep -E '^([^ ]+ ){4}/dev/(null|zero|full|random|urandom|tty) ' /proc/self/mountinfo \
    </dev/null)
check "the host's device nodes in /dev: six bind mounts" is "$(wc -l <<<"$mi")" 6
check "the host's device nodes in /dev: read-only mounts" is "$(awk '$6 !~ /(^|,)ro(,|$)/' <<<"$mi")" ""
if [[ $(wc -l <<<"$mi") == 6 && -z $(awk '$6 !~ /(^|,)ro(,|$)/' <<<"$mi") ]]; then
    null_mode=$(stat -c %a:%u:%g /dev/null)
    rc=0
    wardenctl run --privileged "$h" -- sh -c 'chmod 600 /dev/null || chown 10001 /dev/null ||
        { exec 3</dev/null; chmod 600 /proc/self/fd/3 || chown 10001 /proc/self/fd/3; }' </dev/null 2>/dev/null ||
        rc=$?
    check "root chmods or chowns the host's /dev/null" is "$rc:$(stat -c %a:%u:%g /dev/null)" "1:$null_mode"
fi
# discard_output: the job's stdout and stderr are the container's /dev/null (that read-only mount), not
# wardend's (the host's node on its writable /dev)
# shellcheck disable=SC2016 # expanded in the container
job=$(wardenctl spawn --privileged --discard-output "$h" -- sh -c 'exec 3>/tmp/discarded; for fd in 1 2; do
    id=$(awk "/^mnt_id:/ { print \$2 }" /proc/$$/fdinfo/$fd); grep -E "^$id ([^ ]+ ){3}/dev/null " /proc/self/mountinfo >&3
    done')
wardenctl link "$h" "$job" >/dev/null </dev/null || true
out=$(wardenctl run "$h" -- cat /tmp/discarded </dev/null)
check "discard_output: stdout and stderr on the container's read-only /dev/null" \
    is "$(awk '$6 ~ /(^|,)ro(,|$)/ { n++ } END { print n + 0 }' <<<"$out")" 2
check "/dev/null, /dev/zero as usual" is "$(wardenctl run "$h" -- sh -c \
    'echo x >/dev/null && head -c 3 /dev/zero | wc -c && head -c 3 /dev/urandom | wc -c' </dev/null)" $'3\n3'

# ---- wsh (root's direct client of wshd) --------------------------------------------------------------------
wsh --socket "$sock" sh -c "$read_back" >>"$f" 2>"$tmp/err" </dev/null || true
check "wsh: the job reads back the file behind its stdout" read_nothing "$tmp/err" HOST
wsh --socket "$sock" chmod 4777 /proc/self/fd/1 >>"$f" </dev/null || true
check "wsh: the job chmods the file behind its stdout" is "$(stat -c %a "$f")" 600
rc=0
out=$(wsh --socket "$sock" ls /proc/self/fd/0/ <"$tmp/hostdir" 2>&1) || rc=$?
check "wsh: a directory as stdin: refused" is "$rc:$out" \
    "2:wsh: Standard input is a directory: it cannot be given to a job, nor relayed."

# ---- the D-Bus API: any client can pass descriptors; only pipes reach a job ------------------------------
out=$(python3 - "$h" "$tmp" <<'PY'
import os, pty, socket, sys, dbus
h, tmp = sys.argv[1], sys.argv[2]
m = dbus.Interface(dbus.SystemBus().get_object("org.warden.Manager", "/org/warden/Manager"), "org.warden.Manager")

def run(name, argv, **fds):
    flags = {k: fds.pop(k) for k in ("tty", "privileged") if k in fds}
    opts = {k: dbus.types.UnixFd(v) for k, v in fds.items()}
    opts.update({k: dbus.Boolean(v) for k, v in flags.items()})
    try:
        status, out, err, _ = m.Run(h, argv, opts, timeout=60, byte_arrays=True)
        print(f"{name}: ok {int(status)}")
    except dbus.exceptions.DBusException as e:
        print(f"{name}: {e.get_dbus_name()}")

f = os.open(os.path.join(tmp, "api.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
run("regular file", ["chmod", "4777", "/proc/self/fd/1"], stdout=f, privileged=True)
master, slave = pty.openpty()
run("terminal", ["true"], stdin=slave)
d = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY)
run("directory", ["true"], stdin=d)
run("directory with a tty", ["true"], stdin=d, stdout=slave, tty=True)
a, b = socket.socketpair()
run("socket", ["true"], stdout=a.fileno())
os.mkfifo(os.path.join(tmp, "fifo"))
fifo = os.open(os.path.join(tmp, "fifo"), os.O_RDWR)
run("named FIFO", ["true"], stdout=fifo)
null = os.open("/dev/null", os.O_RDONLY)
run("/dev/null", ["true"], stdin=null)
p = os.open(os.path.join(tmp, "api.txt"), os.O_PATH)
run("O_PATH", ["true"], stdin=p)
r, w = os.pipe()
run("pipe", ["sh", "-c", "echo via-pipe"], stdout=w)
os.close(w)
print("pipe output:", os.read(r, 100).decode().strip())
run("terminal with a tty", ["sh", "-c", "echo via-tty"], stdin=slave, stdout=slave, tty=True)
os.set_blocking(master, False)
print("tty output:", os.read(master, 100).decode().strip())
print("mode:", oct(os.stat(os.path.join(tmp, "api.txt")).st_mode & 0o7777))
PY
)
for what in "regular file" terminal directory "directory with a tty" socket "named FIFO" /dev/null O_PATH; do
    check "D-Bus: $what as a job's descriptor" is "$(grep "^$what: " <<<"$out")" "$what: org.warden.Error.HostFd"
done
check "D-Bus: a pipe" is "$(grep -E '^pipe' <<<"$out")" $'pipe: ok 0\npipe output: via-pipe'
check "D-Bus: a terminal, relayed by wshd" is "$(grep -E '^(terminal with|tty output)' <<<"$out")" \
    $'terminal with a tty: ok 0\ntty output: via-tty'
check "D-Bus: the refused file was not touched" is "$(grep '^mode' <<<"$out")" "mode: 0o600"

# ---- wardenctl run works as before: files, pipes, terminals ------------------------------------------------
rc=0
wardenctl run "$h" -- sh -c 'echo out; echo err >&2; exit 7' >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
check "> file: status, stdout, stderr" is "$rc:$(cat "$tmp/out"):$(cat "$tmp/err")" "7:out:err"
wardenctl run "$h" -- echo more >>"$tmp/out" </dev/null
check ">> file appends" is "$(cat "$tmp/out")" $'out\nmore'
head -c 1048577 /dev/zero >"$tmp/in"
check "< file" is "$(wardenctl run "$h" -- wc -c <"$tmp/in")" 1048577
check "< /dev/null: EOF" is "$(wardenctl run "$h" -- cat </dev/null)" ""
check "pipes in and out" is "$(echo piped | wardenctl run "$h" -- cat | cat)" piped
wardenctl run "$h" -- sh -c 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done' >"$tmp/both" 2>&1 </dev/null
check "> file 2>&1: the order of stdout and stderr" is "$(tr '\n' ' ' <"$tmp/both")" \
    "out1 err1 out2 err2 out3 err3 out4 err4 out5 err5 "
# 64 MiB into a file: streamed (wardenctl's peak RSS stays small), complete
out=$(python3 - "$h" "$tmp/big" <<'PY'
import resource, subprocess, sys
with open(sys.argv[2], "wb") as f:
    r = subprocess.run(["wardenctl", "run", sys.argv[1], "--", "head", "-c", "67108864", "/dev/zero"],
                       stdout=f, stdin=subprocess.DEVNULL)
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 16384)
PY
)
check "64 MiB to a file: status, streamed" is "$out" "0 True"
check "64 MiB to a file: all of it" is "$(stat -c %s "$tmp/big")" 67108864
rm -f "$tmp/big"
# a terminal: output, a line typed on it, its EOF character
out=$(python3 - "$h" <<'PY'
import os, pty, subprocess, sys
master, slave = pty.openpty()
r = subprocess.run(["wardenctl", "run", sys.argv[1], "--", "echo", "on-tty"], stdout=slave, stdin=subprocess.DEVNULL)
os.set_blocking(master, False)
print(r.returncode, repr(os.read(master, 100)))
os.write(master, b"typed\n\x04")
r = subprocess.run(["wardenctl", "run", sys.argv[1], "--", "cat"], stdin=slave, capture_output=True)
print(r.returncode, repr(r.stdout))
PY
)
check "stdout on a terminal" is "$(sed -n 1p <<<"$out")" "0 b'on-tty\\r\\n'"
check "stdin from a terminal, and its EOF" is "$(sed -n 2p <<<"$out")" "0 b'typed\\n'"

wardenctl destroy "$h"
assert_clean "$h"
((failed == 0)) || fail "see above"
echo "PASS: test-hostfd" >&2
