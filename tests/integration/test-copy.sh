#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# CopyIn / CopyOut: a tree with a 0755 script, symlinks and a hard link goes in and comes back out as it
# was, owned by the container's user inside and by the given owner outside; symlinks planted in the
# container never make wardend read or write a host file; bad paths, a stopped container and an unknown
# handle get named errors; a Destroy during a copy stops it; nothing is left behind, in wardend neither.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

h=copy1
work=$(mktemp -d /var/tmp/copy-test.XXXXXX)
cleanup() {
    destroy_all
    rm -rf "$work" /etc/warden-copy-secret /etc/evil1 /etc/evil2 /etc/evil3
}
trap cleanup EXIT

copy_in() { "${BUSCTL_MANAGER[@]}" CopyIn sss "$@"; }
copy_out() { "${BUSCTL_MANAGER[@]}" CopyOut ssss "$@"; }
mgr() { "${GDBUS_MANAGER[@]}" --method "org.warden.Manager.$1" "${@:2}"; }
# what wardend holds: open fds and threads
held() {
    local pid
    pid=$(systemctl show -P MainPID warden.service)
    echo "fds $(find "/proc/$pid/fd" -mindepth 1 | wc -l) threads $(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 | wc -l)"
}
holds() { [[ $(held) == "$1" ]]; }

create "$h"
uid=$(in_container "$h" sed -n 's/^vcap:x:\([0-9]*\):.*/\1/p' /etc/passwd)
[[ $uid =~ ^[0-9]+$ && $uid -ge 10001 ]] || fail "no vcap uid: '$uid'"
held_before=$(held)

# ---- a tree in and out --------------------------------------------------------------------------------
src=$work/tree
mkdir -p "$src/sub/nested" "$src/empty"
printf '#!/bin/sh\necho hello from the script\n' >"$src/run.sh"
chmod 0755 "$src/run.sh"
echo data >"$src/data"
chmod 0644 "$src/data"
ln "$src/data" "$src/hard"
ln "$src/data" "$src/sub/hard2"
ln -s run.sh "$src/link"
ln -s /etc/passwd "$src/abs"
echo deep >"$src/sub/nested/deep"
printf x >"$src/setuid"
chmod 04755 "$src/setuid"
mkfifo "$src/fifo"
touch -h -m -d @1000000000 "$src/data" "$src/link"
touch -m -d @1000000001 "$src/sub/nested"

copy_in "$h" "$src" /home/vcap # an existing directory: into it
t=/home/vcap/tree
assert_eq "$(in_container "$h" stat -c %a $t/run.sh)" 755 "mode of the script"
assert_eq "$(in_container "$h" $t/run.sh)" "hello from the script" "the script runs"
assert_eq "$(in_container "$h" stat -c %a $t/data)" 644 "mode of a file"
assert_eq "$(in_container "$h" readlink $t/link)" run.sh "relative symlink kept as a link"
assert_eq "$(in_container "$h" readlink $t/abs)" /etc/passwd "absolute symlink kept as a link"
assert_eq "$(in_container "$h" stat -c %i $t/hard)" "$(in_container "$h" stat -c %i $t/data)" "hard link"
assert_eq "$(in_container "$h" stat -c %i $t/sub/hard2)" "$(in_container "$h" stat -c %i $t/data)" "hard link 2"
assert_eq "$(in_container "$h" stat -c %h $t/data)" 3 "link count"
assert_eq "$(in_container "$h" stat -c %Y $t/data)" 1000000000 "mtime of a file"
assert_eq "$(in_container "$h" stat -c %Y $t/sub/nested)" 1000000001 "mtime of a directory"
assert_eq "$(in_container "$h" stat -c %a $t/setuid)" 755 "setuid stripped on CopyIn"
assert_eq "$(in_container "$h" cat $t/sub/nested/deep)" deep "nested file"
in_container "$h" test -d $t/empty || fail "empty directory not copied"
in_container "$h" test -e $t/fifo && fail "a FIFO was copied"
owners=$(in_container "$h" find $t -exec stat -c %u:%g {} + | sort -u)
assert_eq "$owners" "$uid:$uid" "everything owned by the container's user"
journalctl -u warden.service --no-pager | grep -q "Not copying 'tree/fifo'" || fail "the skipped FIFO was not logged"

# rsync path semantics: "src/" puts the contents into dst (made if missing); a file to a new name
copy_in "$h" "$src/" /home/vcap/t2
in_container "$h" test -x /home/vcap/t2/run.sh || fail "src/ to a missing dst"
in_container "$h" test -e /home/vcap/t2/tree && fail "src/ copied the directory itself"
copy_in "$h" "$src/data" /tmp/d1
assert_eq "$(in_container "$h" cat /tmp/d1)" data "a single file to a new name"
echo new >"$work/newdata"
copy_in "$h" "$work/newdata" /tmp/d1
assert_eq "$(in_container "$h" cat /tmp/d1)" new "a file over an existing file"
# the same through the container object, without the handle
gdbus call --system --dest org.warden.Manager --object-path "/org/warden/container/$h" \
    --method org.warden.Container.CopyIn "$src/data" /tmp/d2 >/dev/null
assert_eq "$(in_container "$h" cat /tmp/d2)" data "CopyIn on the container object"

# out again, to a given owner
out=$work/out
mkdir "$out"
copy_out "$h" $t "$out" nobody # "user" alone: its primary group
o=$out/tree
assert_eq "$(cat "$o/run.sh")" "$(cat "$src/run.sh")" "content out"
assert_eq "$(stat -c %a "$o/run.sh")" 755 "mode out"
assert_eq "$(readlink "$o/link")" run.sh "symlink out"
assert_eq "$(readlink "$o/abs")" /etc/passwd "absolute symlink out, not followed"
assert_eq "$(stat -c %i "$o/hard")" "$(stat -c %i "$o/data")" "hard link out"
assert_eq "$(stat -c %i "$o/sub/hard2")" "$(stat -c %i "$o/data")" "hard link 2 out"
assert_eq "$(stat -c %Y "$o/data")" 1000000000 "mtime out"
assert_eq "$(stat -c %Y "$o/sub/nested")" 1000000001 "directory mtime out"
assert_eq "$(find "$o" -exec stat -c %U:%g {} + | sort -u)" "nobody:$(id -g nobody)" "owner out"
# the whole tree compares equal to the original, but for the FIFO and the stripped setuid bit
diff <(cd "$src" && find . ! -name fifo ! -name setuid -printf '%p %y %m %T@ %l\n' | sort) \
    <(cd "$o" && find . ! -name setuid -printf '%p %y %m %T@ %l\n' | sort) || fail "the tree came back different"
diff -r --no-dereference -x fifo "$src" "$o" || fail "contents differ"
copy_out "$h" /tmp/d2 "$out/root-owned" ''
assert_eq "$(stat -c %u:%g "$out/root-owned")" 0:0 "owner '' is root"
copy_out "$h" /tmp/d2 "$out/numeric" 1234:5678
assert_eq "$(stat -c %u:%g "$out/numeric")" 1234:5678 "numeric owner"

# ---- symlinks planted in the container ------------------------------------------------------------------
echo "host secret" >/etc/warden-copy-secret
passwd_sum=$(md5sum </etc/passwd)
in_container "$h" ln -s /etc /tmp/x
in_container "$h" ln -s ../../../../../../../../etc /tmp/y
in_container "$h" ln -s "$work" /tmp/z # a host path, which does not exist inside
in_container "$h" ln -s /etc/warden-copy-secret /tmp/sec
in_container "$h" ln -s ../../../../../../etc/warden-copy-secret /tmp/relsec
in_container "$h" ln -s /etc/shadow /tmp/shadow
echo payload >"$work/evil"

# CopyIn through them lands inside the container, never in the host's /etc
copy_in "$h" "$work/evil" /tmp/x/evil1
copy_in "$h" "$work/evil" /tmp/y/evil2
[[ -e /etc/evil1 || -e /etc/evil2 ]] && fail "CopyIn wrote to the host's /etc through a container symlink"
assert_eq "$(in_container "$h" cat /etc/evil1)" payload "absolute symlink resolved inside the container"
assert_eq "$(in_container "$h" cat /etc/evil2)" payload "relative symlink resolved inside the container"
assert_eq "$(error_of mgr CopyIn "$h" "$work/evil" /tmp/z/evil3)" org.freedesktop.DBus.Error.InvalidArgs \
    "a symlink to a host path"
[[ -e $work/evil3 ]] && fail "CopyIn wrote to a host path through a container symlink"
assert_eq "$(error_of mgr CopyIn "$h" "$work/evil" /tmp/x)" org.freedesktop.DBus.Error.InvalidArgs \
    "a symlink as the destination"
[[ -e /etc/evil ]] && fail "CopyIn followed a destination symlink"
in_container "$h" test -L /tmp/x || fail "the destination symlink was replaced"

# CopyOut through them reads inside the container, and copies symlinks as links
copy_out "$h" /tmp/sec "$out/sec" ''
[[ -L $out/sec ]] || fail "CopyOut of a symlink did not make a symlink"
assert_eq "$(readlink "$out/sec")" /etc/warden-copy-secret "symlink target"
copy_out "$h" /tmp/relsec "$out/relsec" ''
[[ -L $out/relsec ]] || fail "CopyOut of a relative symlink did not make a symlink"
copy_out "$h" /tmp/shadow "$out/shadow" ''
[[ -L $out/shadow ]] || fail "CopyOut of a symlink to /etc/shadow did not make a symlink"
for p in /tmp/x/warden-copy-secret /tmp/y/warden-copy-secret /tmp/sec/ /tmp/x/shadow /tmp/y/shadow; do
    assert_eq "$(error_of mgr CopyOut "$h" "$p" "$out/leak" "''")" org.freedesktop.DBus.Error.InvalidArgs \
        "CopyOut of $p"
    [[ -e $out/leak ]] && fail "CopyOut of $p copied a host file"
done
grep -rqs "host secret" "$out" && fail "the host secret ended up in the output"
if [[ -r /etc/shadow ]] && grep -rqsF "$(head -n1 /etc/shadow)" "$out"; then fail "host /etc/shadow leaked"; fi

# a host destination that is a symlink: refused, not followed
ln -s /etc/passwd "$out/victim"
assert_eq "$(error_of mgr CopyOut "$h" /tmp/d2 "$out/victim" "''")" org.freedesktop.DBus.Error.InvalidArgs \
    "CopyOut to a host symlink"
assert_eq "$(md5sum </etc/passwd)" "$passwd_sum" "/etc/passwd changed"

# ---- bad requests -------------------------------------------------------------------------------------
invalid=org.freedesktop.DBus.Error.InvalidArgs
assert_eq "$(error_of mgr CopyIn nope "$work/evil" /tmp/a)" org.warden.Error.NoSuchContainer "unknown handle"
assert_eq "$(error_of mgr CopyIn "$h" relative/path /tmp/a)" $invalid "relative host path"
assert_eq "$(error_of mgr CopyIn "$h" "$work/../etc/passwd" /tmp/a)" $invalid "'..' in a host path"
assert_eq "$(error_of mgr CopyIn "$h" "$work//evil" /tmp/a)" $invalid "'//' in a host path"
assert_eq "$(error_of mgr CopyIn "$h" "$work/evil" /tmp/../../a)" $invalid "'..' in a container path"
assert_eq "$(error_of mgr CopyIn "$h" "$work/evil" tmp/a)" $invalid "relative container path"
assert_eq "$(error_of mgr CopyIn "$h" "$work/missing" /tmp/a)" $invalid "missing host source"
msg=$(mgr CopyIn "$h" "$work/missing" /tmp/a 2>&1 || true)
assert_contains "$msg" "Source '$work/missing' does not exist." "message for a missing source"
assert_eq "$(error_of mgr CopyIn "$h" "$work/evil" /no/such/dir/a)" $invalid "missing container directory"
assert_eq "$(error_of mgr CopyOut "$h" /no/such "$out/a" "''")" $invalid "missing container source"
assert_eq "$(error_of mgr CopyOut "$h" /tmp/d2 "$work/no/such/a" "''")" $invalid "missing host directory"
assert_eq "$(error_of mgr CopyOut "$h" /tmp/d2 "$out/a" no-such-user-warden)" $invalid "unknown owner"
assert_eq "$(error_of mgr CopyOut "$h" /tmp/d2 "$out/a" a:b:c)" $invalid "malformed owner"
[[ -e $out/a ]] && fail "a refused CopyOut wrote something"
assert_eq "$(error_of as_nobody "${GDBUS_MANAGER[@]}" --method org.warden.Manager.CopyIn "$h" "$work/evil" /tmp/a)" \
    org.freedesktop.DBus.Error.AccessDenied "CopyIn as nobody"

# nothing held by wardend after all of that
wait_until 5 holds "$held_before"

# ---- a Destroy during a copy stops it -----------------------------------------------------------------
create copy2
python3 - "$work/many" <<'EOF'
import os, sys
top = sys.argv[1]
for d in range(40):
    os.makedirs(f"{top}/d{d}")
    for f in range(1000):
        with open(f"{top}/d{d}/f{f}", "w") as fh:
            fh.write("x")
EOF
copy2_root=$(info copy2 container_path)/rootfs
copy_in copy2 "$work/many" /tmp >"$work/copy2.out" 2>&1 &
copier=$!
wait_until 20 test -e "$copy2_root/tmp/many" # made first; then 40000 files
"${BUSCTL_MANAGER[@]}" Destroy s copy2
rc=0
wait "$copier" || rc=$?
((rc != 0)) || fail "the copy finished before the Destroy; make the tree bigger"
grep -q "destroyed during the copy" "$work/copy2.out" || fail "CopyIn after a Destroy: $(cat "$work/copy2.out")"
assert_clean copy2
wait_until 5 holds "$held_before"

# ---- a stopped container ------------------------------------------------------------------------------
"${BUSCTL_MANAGER[@]}" Stop sb "$h" true
assert_eq "$(error_of mgr CopyIn "$h" "$work/evil" /tmp/a)" org.warden.Error.InvalidState "CopyIn when stopped"
assert_eq "$(error_of mgr CopyOut "$h" /tmp/d2 "$out/b" "''")" org.warden.Error.InvalidState "CopyOut when stopped"

"${BUSCTL_MANAGER[@]}" Destroy s "$h"
assert_clean "$h"
assert_eq "$(systemctl show -P NRestarts warden.service)" 0 "wardend restarted"
echo "ok: copy" >&2
