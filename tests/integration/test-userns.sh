#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# User namespaces (Create option user_namespace) on any base rootfs. In the sandbox the default rootfs
# /usr/lib/warden/rootfs is on overlayfs, which has no idmapped mounts: wardend's lower layer is then a copy
# of it shifted into the container's range (userns_rootfs = auto, the default). Checked here:
#   - inside, root is 0 and the user 10001, uid_map is the range, every file of the base shows its own owner
#     (ls -ln /bin: 0 0), root writes /etc and the files land in the upper layer owned by the range's
#     first uid, the user's by first + 10001; the copy on the host is shifted, the base untouched, and what
#     the container does to its lower files never reaches either; a host root's file in a read-write bind
#     mount stays closed to the container's root;
#   - Info's user_namespace and uid_map; the fallback is logged with its cost;
#   - Destroy leaves nothing (the copy neither) and frees the range: with a pool of one range, a second
#     container is refused and a later one gets the range again;
#   - with disk_limit: the upper layer on its own ext4 (owners right there too), ENOSPC inside past the
#     limit, the copy outside of that file system;
#   - a Create with user_namespace that fails late (wshd cannot fork; the veth name is taken) leaves
#     nothing, the shifted copy included, and frees the range;
#   - userns_rootfs = copy on a rootfs that could be idmapped: set-uid bits, hard links, file capabilities
#     (as a namespaced capability of the container's root), no device nodes; userns_rootfs = idmap on the
#     overlay: NotSupported and nothing left; auto on an idmappable rootfs: no copy; auto on a rootfs that
#     is on an idmapped mount already (mount_setattr() says EPERM there): a copy.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

save_config
data=$(mktemp -d /var/tmp/userns-data.XXXXXX)
# made with userns_rootfs = copy, on the sandbox's overlay (or whatever /var/tmp is)
crootfs=$(mktemp -d /var/tmp/userns-rootfs.XXXXXX)
# on the sandbox's /tmp, a tmpfs: idmappable (Linux >= 6.3)
irootfs=$(mktemp -d /tmp/userns-rootfs.XXXXXX)
# an idmapped mount of $irootfs, and the process that holds the user namespace for it while it is made
imnt=$(mktemp -d /tmp/userns-idmapped.XXXXXX)
holder=
cleanup() {
    destroy_all
    ip link del w-0-0 2>/dev/null || true
    [[ -z $holder ]] || kill "$holder" 2>/dev/null || true
    umount -l "$imnt" 2>/dev/null || true
    rm -rf "$data" "$crootfs" "$irootfs"
    rmdir "$imnt" || true
    restore_config
}
trap cleanup EXIT

rootfs=/usr/lib/warden/rootfs
[[ -x $rootfs/bin/busybox ]] || skip_or_fail "no default rootfs at $rootfs"
on_overlay=false
[[ $(stat -f -c %T "$rootfs") == overlayfs ]] && on_overlay=true
echo host >"$data/hostfile"
chmod 0755 "$data"
chmod 0644 "$data/hostfile"

# run_root HANDLE CMD...: as the container's root; run_user: as its user
run_root() {
    local h=$1
    shift
    wardenctl run --privileged "$h" -- "$@"
}
run_user() {
    local h=$1
    shift
    wardenctl run "$h" -- "$@"
}
gd() { error_of "${GDBUS_MANAGER[@]}" --method org.warden.Manager.Create "$@"; }
# tree DIR: every entry below DIR with its type, mode and link target (not owners), sorted
tree() { (cd "$1" && find . -mindepth 1 -printf '%y %m %P %l\n' | LC_ALL=C sort); }

# One range of host uids only: a second container with a user namespace must wait for the first.
printf '[containers]\nuserns_uid_base = 1073741824\nuserns_uid_count = 65536\n' >"$WARDEN_CONF"
systemctl restart warden.service
base=1073741824
since=$(date +%s)

# ---- the default rootfs ---------------------------------------------------------------------------------
create u1 2 user_namespace b true bind_mounts 'a(ssb)' 1 "$data" /data false
assert_eq "$(info u1 user_namespace)" True "Info user_namespace"
assert_eq "$(info u1 uid_map)" "0 $base 65536" "Info uid_map"
assert_eq "$(awk '{print $1, $2, $3}' "/proc/$(leader u1)/uid_map")" "0 $base 65536" "wshd's uid_map"
assert_eq "$(run_root u1 cat /proc/self/uid_map | awk '{print $1, $2, $3}')" "0 $base 65536" "uid_map inside"
assert_eq "$(run_root u1 cat /proc/self/gid_map | awk '{print $1, $2, $3}')" "0 $base 65536" "gid_map inside"
assert_eq "$(run_root u1 id -u):$(run_root u1 id -g)" 0:0 "root inside"
assert_eq "$(run_user u1 id -u):$(run_user u1 id -g)" 10001:10001 "the user inside"
assert_eq "$(run_user u1 ls -ln /bin | awk '$1 ~ /^[-dl]/ {print $3, $4}' | sort -u)" "0 0" "ls -ln /bin"
assert_eq "$(run_user u1 stat -c %u:%g / /bin/busybox /etc /etc/passwd /home/vcap | tr '\n' ' ')" \
    "0:0 0:0 0:0 0:0 10001:10001 " "owners inside"
if $on_overlay; then
    # the shifted copy, next to the writable layer: the base's tree, owned by the range
    lower=$WARDEN_DEPOT/u1/lower
    [[ -d $lower ]] || fail "no shifted copy at $lower"
    assert_eq "$(tree "$lower")" "$(tree "$rootfs")" "the copy's tree"
    assert_eq "$(find "$lower" \( ! -uid "$base" -o ! -gid "$base" \) -printf '%P\n' | head -3)" "" \
        "files of the copy not owned by $base"
    assert_eq "$(stat -c %u:%g "$rootfs/bin/busybox" "$rootfs")" "0:0
0:0" "the base's owners"
    n=$(journalctl -u warden.service --since "@$since" -o cat WARDEN_CONTAINER=u1 |
        grep -c "Base rootfs '$rootfs' not idmapped (its file system has no idmapped mounts)") || true
    assert_eq "$n" 1 "the fallback logged once"
    journalctl -u warden.service --since "@$since" -o cat WARDEN_CONTAINER=u1 | grep 'not idmapped' >&2
else
    [[ ! -e $WARDEN_DEPOT/u1/lower ]] || fail "a copy of a rootfs that can be idmapped"
fi

# root writes /etc, the user its home: host uids of the range in the upper layer
run_root u1 sh -c 'echo root >/etc/made-by-root && mkdir /etc/dir-by-root'
run_user u1 sh -c 'echo user >/home/vcap/made-by-vcap'
assert_eq "$(stat -c %u:%g "$WARDEN_DEPOT/u1/upper/etc/made-by-root" "$WARDEN_DEPOT/u1/upper/etc/dir-by-root")" \
    "$base:$base
$base:$base" "host owner of root's files"
assert_eq "$(stat -c %u:%g "$WARDEN_DEPOT/u1/upper/home/vcap/made-by-vcap")" "$((base + 10001)):$((base + 10001))" \
    "host owner of the user's file"
assert_eq "$(run_user u1 stat -c %u:%g /etc/made-by-root /home/vcap/made-by-vcap | tr '\n' ' ')" \
    "0:0 10001:10001 " "their owners inside"
# what root does to the lower files stays in the upper layer
busybox_sum=$(md5sum <"$rootfs/bin/busybox")
run_root u1 sh -c 'chmod 0700 /bin/busybox && rm /bin/ls && chown 10001 /bin/cat'
assert_fails run_user u1 test -e /bin/ls
assert_eq "$(stat -c %a:%u "$rootfs/bin/busybox")" 755:0 "the base's busybox"
[[ -L $rootfs/bin/ls ]] || fail "the base lost /bin/ls"
if $on_overlay; then
    assert_eq "$(stat -c %a:%u "$lower/bin/busybox")" "755:$base" "the copy's busybox"
    [[ -L $lower/bin/ls ]] || fail "the copy lost /bin/ls"
fi
assert_eq "$(md5sum <"$rootfs/bin/busybox")" "$busybox_sum" "the base's busybox content"
# the host's files: a root-owned file in a read-write bind mount is nobody's inside, and closed
assert_eq "$(run_root u1 stat -c %U:%G /data/hostfile)" nobody:nogroup "host root inside"
out=$(run_root u1 sh -c 'echo x >>/data/hostfile' 2>&1) && fail "container root wrote a host root's file"
assert_contains "$out" "Permission denied" "writing a host file through a bind mount"
assert_fails run_root u1 touch /data/new
assert_eq "$(cat "$data/hostfile")" host "the host file"
[[ ! -e $data/new ]] || fail "container root created a file in a host root's directory"
# a container without one, for comparison
create plain
assert_eq "$(info plain user_namespace)" False "Info user_namespace without one"
assert_eq "$(info plain uid_map)" "0 0 4294967295" "Info uid_map without one"
"${BUSCTL_MANAGER[@]}" Destroy s plain >/dev/null
assert_clean plain

# the only range is taken
assert_eq "$(gd "{'handle': <'u2'>, 'grace_time': <uint32 0>, 'user_namespace': <true>}")" \
    org.warden.Error.PoolExhausted "a second range"
assert_clean u2
"${BUSCTL_MANAGER[@]}" Destroy s u1 >/dev/null
assert_clean u1
[[ ! -e $WARDEN_DEPOT/u1 ]] || fail "$WARDEN_DEPOT/u1 is left"

# ---- with a disk limit ----------------------------------------------------------------------------------
MIB=$((1024 * 1024))
create ud 2 user_namespace b true disk_limit t $((16 * MIB))
assert_eq "$(info ud uid_map)" "0 $base 65536" "the range is free again after Destroy"
upper=$WARDEN_DEPOT/ud/disk/upper
[[ -d $upper ]] || fail "no upper layer on the disk file system"
assert_match "$(stat -f -c %T "$upper")" '^ext[234]' "the upper layer's file system"
if $on_overlay; then
    # the base is not charged to the container: the copy lives on the depot's file system
    [[ -d $WARDEN_DEPOT/ud/lower/bin ]] || fail "no shifted copy for ud"
    [[ $(stat -c %d "$WARDEN_DEPOT/ud/lower") != "$(stat -c %d "$upper")" ]] ||
        fail "the shifted copy is on the disk limit's file system"
fi
run_root ud sh -c 'dd if=/dev/zero of=/tmp/a bs=1M count=8 2>/dev/null && mkdir /etc/by-root'
run_user ud sh -c 'echo user >/home/vcap/by-vcap && echo user >/tmp/by-vcap'
assert_eq "$(stat -c %u:%g "$upper/tmp/a" "$upper/etc/by-root")" "$base:$base
$base:$base" "root's files on the disk"
assert_eq "$(stat -c %u:%g "$upper/home/vcap/by-vcap" "$upper/tmp/by-vcap")" \
    "$((base + 10001)):$((base + 10001))
$((base + 10001)):$((base + 10001))" "the user's files on the disk"
out=$(run_root ud dd if=/dev/zero of=/tmp/b bs=1M count=16 2>&1) && fail "24 MiB fit in 16 MiB"
assert_contains "$out" "No space left on device" "root writing past the limit"
out=$(run_user ud dd if=/dev/zero of=/tmp/c bs=1M count=16 2>&1) && fail "the user wrote past the limit"
assert_contains "$out" "No space left on device" "the user writing past the limit"
"${BUSCTL_MANAGER[@]}" Destroy s ud >/dev/null
assert_clean ud

# ---- late failures --------------------------------------------------------------------------------------
# wshd cannot fork (TasksMax=1 holds only the helper): the rootfs, its copy included, was made by then
msg=$("${GDBUS_MANAGER[@]}" --method org.warden.Manager.Create \
    "{'handle': <'ulate'>, 'grace_time': <uint32 0>, 'user_namespace': <true>, 'pids_limit': <uint64 1>}" 2>&1) &&
    fail "Create succeeded with pids_limit 1"
assert_contains "$msg" "Failed to start wshd" "the error says wshd failed"
assert_clean ulate
# the veth name is taken: the rootfs (and its copy) are made while the network fails
ip link add w-0-0 type veth peer name w-0-0p
msg=$("${GDBUS_MANAGER[@]}" --method org.warden.Manager.Create \
    "{'handle': <'unet'>, 'grace_time': <uint32 0>, 'user_namespace': <true>, 'network': <'10.254.0.1'>,
      'disk_limit': <uint64 $((8 * MIB))>}" 2>&1) && fail "Create succeeded with its link name taken"
assert_contains "$msg" "w-0-0" "the error names the link"
ip link del w-0-0
assert_clean unet w-0-0
[[ -z $(ls -A "$WARDEN_DEPOT") ]] || fail "depot not empty after the failures: $(ls -A "$WARDEN_DEPOT")"
create uagain 1 user_namespace b true
assert_eq "$(info uagain uid_map)" "0 $base 65536" "the range after the failed Creates"
"${BUSCTL_MANAGER[@]}" Destroy s uagain >/dev/null
assert_clean uagain

# ---- userns_rootfs = copy: what the copy keeps and what it leaves out -----------------------------------
cp -a "$rootfs/." "$crootfs/"
printf '#!/bin/sh\necho set-uid\n' >"$crootfs/bin/suid"
ln "$crootfs/bin/suid" "$crootfs/bin/suid-link"
chown 70000:70000 "$crootfs/bin/suid"
chmod 4755 "$crootfs/bin/suid"
touch "$crootfs/etc/owned"
chown 1000:1001 "$crootfs/etc/owned"
mknod "$crootfs/dev/sda-node" b 8 0
# cap_net_raw+ep as root of the host writes it: revision 2 (magic 0x02000001), permitted bit 13
python3 -c 'import os, struct, sys
os.setxattr(sys.argv[1], "security.capability", struct.pack("<5I", 0x02000001, 1 << 13, 0, 0, 0))' \
    "$crootfs/bin/suid"
printf '[containers]\nuserns_uid_base = 1073741824\nuserns_uid_count = 65536\nuserns_rootfs = copy\n' >"$WARDEN_CONF"
systemctl restart warden.service
create uc 2 user_namespace b true rootfs s "$crootfs"
lower=$WARDEN_DEPOT/uc/lower
[[ -d $lower/bin ]] || fail "userns_rootfs = copy made no copy"
nobody=$((base + 65534))
# 70000 is beyond the range: nobody; set-uid kept; hard link kept; the device node left out
assert_eq "$(stat -c '%a %u:%g %h' "$lower/bin/suid")" "4755 $nobody:$nobody 2" "the set-uid file in the copy"
assert_eq "$(stat -c %i "$lower/bin/suid")" "$(stat -c %i "$lower/bin/suid-link")" "the hard link in the copy"
[[ ! -e $lower/dev/sda-node ]] || fail "a device node was copied"
assert_eq "$(run_user uc stat -c '%a %u %h' /bin/suid)" "4755 65534 2" "the set-uid file inside"
assert_eq "$(stat -c %u:%g "$lower/etc/owned")" "$((base + 1000)):$((base + 1001))" "uid 1000 in the copy"
assert_eq "$(run_user uc stat -c %u:%g /etc/owned)" 1000:1001 "uid 1000 inside"
# the file capability is the container root's: revision 3 with rootid = the range's first uid
assert_eq "$(python3 -c 'import os, struct, sys
v = os.getxattr(sys.argv[1], "security.capability")
magic, perm0, inh0, perm1, inh1, rootid = struct.unpack("<6I", v)
print(hex(magic), perm0, rootid)' "$lower/bin/suid")" "0x3000001 8192 $base" "the file capability in the copy"
"${BUSCTL_MANAGER[@]}" Destroy s uc >/dev/null
assert_clean uc

# ---- userns_rootfs = idmap, and auto on a rootfs that can be idmapped -----------------------------------
cp -a "$rootfs/." "$irootfs/"
if [[ $(stat -f -c %T "$irootfs") != overlayfs ]]; then
    printf '[containers]\nuserns_uid_base = 1073741824\nuserns_uid_count = 65536\n' >"$WARDEN_CONF"
    systemctl restart warden.service
    create ui 2 user_namespace b true rootfs s "$irootfs"
    [[ ! -e $WARDEN_DEPOT/ui/lower ]] || fail "a copy of a rootfs that can be idmapped"
    assert_eq "$(run_user ui ls -ln /bin | awk '$1 ~ /^[-dl]/ {print $3, $4}' | sort -u)" "0 0" "ls -ln /bin, idmapped"
    "${BUSCTL_MANAGER[@]}" Destroy s ui >/dev/null
    assert_clean ui
fi
if [[ $(stat -f -c %T "$irootfs") != overlayfs ]]; then
    # A base on a mount that is idmapped already: mount_setattr() refuses with EPERM (not EINVAL), which
    # wardend tells apart from other EPERMs by the mount's options, and copies. The idmapped mount maps uid k
    # to k (a user namespace "0 0 65536"), so the owners are the base's.
    unshare --user sleep 300 &
    holder=$!
    # shellcheck disable=SC2016 # expanded by the inner bash, at every try
    wait_until 5 bash -c '[[ $(readlink "/proc/$1/ns/user") != "$(readlink /proc/self/ns/user)" ]]' _ "$holder"
    echo "0 0 65536" >"/proc/$holder/uid_map"
    echo "0 0 65536" >"/proc/$holder/gid_map"
    # open_tree(OPEN_TREE_CLONE), mount_setattr(MOUNT_ATTR_IDMAP), move_mount(): util-linux 2.38 cannot
    python3 - "$irootfs" "$imnt" "/proc/$holder/ns/user" <<'PY'
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
src, dst, ns = sys.argv[1:4]
def check(r, what):
    if r < 0:
        sys.exit(f"{what}: {os.strerror(ctypes.get_errno())}")
    return r
fd = check(libc.syscall(428, -100, src.encode(), 1 | 0o2000000), "open_tree")
attr = ctypes.create_string_buffer(struct.pack("QQQQ", 0x100000, 0, 0, os.open(ns, os.O_RDONLY)))
check(libc.syscall(442, fd, b"", 0x1000, attr, 32), "mount_setattr")
check(libc.syscall(429, fd, b"", -100, dst.encode(), 4), "move_mount")
PY
    kill "$holder"
    wait "$holder" 2>/dev/null || true
    holder=
    assert_contains "$(findmnt -n -o VFS-OPTIONS "$imnt")" idmapped "the test's idmapped mount"
    since=$(date +%s)
    create uidm 2 user_namespace b true rootfs s "$imnt"
    [[ -d $WARDEN_DEPOT/uidm/lower/bin ]] || fail "no shifted copy of a base on an idmapped mount"
    n=$(journalctl -u warden.service --since "@$since" -o cat WARDEN_CONTAINER=uidm |
        grep -c "not idmapped (it is on an idmapped mount already)") || true
    assert_eq "$n" 1 "the reason logged"
    assert_eq "$(run_user uidm stat -c %u:%g /bin/busybox /home/vcap | tr '\n' ' ')" "0:0 10001:10001 " \
        "owners inside, base on an idmapped mount"
    "${BUSCTL_MANAGER[@]}" Destroy s uidm >/dev/null
    assert_clean uidm
    umount "$imnt"
fi

if $on_overlay; then
    printf '[containers]\nuserns_rootfs = idmap\n' >"$WARDEN_CONF"
    systemctl restart warden.service
    assert_eq "$(gd "{'handle': <'uidm'>, 'grace_time': <uint32 0>, 'user_namespace': <true>}")" \
        org.freedesktop.DBus.Error.NotSupported "userns_rootfs = idmap with a rootfs on overlayfs"
    assert_clean uidm
fi
[[ -z $(ls -A "$WARDEN_DEPOT") ]] || fail "depot not empty at the end: $(ls -A "$WARDEN_DEPOT")"
echo "ok: user namespaces" >&2
