#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Grace time: a container that no client references is destroyed grace_time seconds after its last client
# left; one whose client is still connected is kept; grace_time 0 never expires.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

trap destroy_all EXIT

# created by a client that leaves at once (busctl): gone after ~2 s
"${BUSCTL_MANAGER[@]}" Create 'a{sv}' 2 handle s gone grace_time u 2 >/dev/null
"${BUSCTL_MANAGER[@]}" Create 'a{sv}' 2 handle s forever grace_time u 0 >/dev/null
assert_eq "$(info gone state)" active "right after Create"
wait_until 10 bash -c '! wardenctl list | grep -qx gone'
assert_clean gone

# created by a client that is gone before its Create is answered: it references nothing, so the grace time
# runs all the same (wardend asks the bus whether a client it sees for the first time is still there)
python3 - <<'PY'
import dbus, dbus.lowlevel
bus = dbus.SystemBus(private=True)
msg = dbus.lowlevel.MethodCallMessage('org.warden.Manager', '/org/warden/Manager', 'org.warden.Manager', 'Create')
msg.append(dbus.Dictionary({'handle': 'early', 'grace_time': dbus.UInt32(2)}, signature='sv'), signature='a{sv}')
bus.send_message(msg)
# answered once wardend has read the Create (in order), long before the Create is done
bus.call_blocking('org.warden.Manager', '/org/warden/Manager', 'org.warden.Manager', 'Ping', '', ())
bus.close()
PY
wait_until 30 bash -c 'wardenctl list | grep -qx early'
wait_until 10 bash -c '! wardenctl list | grep -qx early'
assert_clean early

# created by a client that stays connected for 5 s: kept while it is there, gone 2 s after it left
python3 - <<'PY' &
import dbus, time
bus = dbus.SystemBus()
m = dbus.Interface(bus.get_object('org.warden.Manager', '/org/warden/Manager'), 'org.warden.Manager')
m.Create({'handle': 'kept', 'grace_time': dbus.UInt32(2)}, timeout=120)
time.sleep(5)
PY
holder=$!
wait_until 30 bash -c 'wardenctl list | grep -qx kept'
sleep 3.5
wardenctl list | grep -qx kept || fail "a referenced container was destroyed"
wait "$holder"
wait_until 10 bash -c '! wardenctl list | grep -qx kept'
assert_clean kept

wardenctl list | grep -qx forever || fail "grace_time 0 expired"

# a restarted wardend re-arms the grace timer of a container nobody references
"${BUSCTL_MANAGER[@]}" Create 'a{sv}' 2 handle s rearmed grace_time u 3 >/dev/null
systemctl restart warden.service
wardenctl list | grep -qx rearmed || fail "lost by the restart"
wait_until 10 bash -c '! wardenctl list | grep -qx rearmed'
assert_clean rearmed
wardenctl list | grep -qx forever || fail "the restart lost a container with grace_time 0"
echo "ok: grace" >&2
