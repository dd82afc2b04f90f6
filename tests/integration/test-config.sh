#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A bad /etc/warden/wardend.conf stops wardend from starting with a message that names the file, the line
# and the key; activation then fails with an error instead of hanging; a reload with a bad file keeps the
# configuration in force. A second wardend cannot take the name.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

conf=$WARDEN_CONF
save_config

# the installed file is all comments and parses
/usr/libexec/wardend --check-config >/dev/null || fail "the installed wardend.conf does not parse"
grep -Ev '^\s*(#|$|\[)' "$conf" && fail "installed wardend.conf sets values; it should only document them"

systemctl stop warden.service
printf '[daemon]\nidle_timeout = 30s\nmax_containers = many\n' >"$conf"
assert_fails systemctl start warden.service
# failed, not restarting in a loop (Restart=on-failure, but RestartPreventExitStatus=78)
assert_eq "$(systemctl is-active warden.service || true)" failed "state after a bad config"
assert_eq "$(systemctl show -P ExecMainStatus warden.service)" 78 "wardend's exit status after a bad config"
assert_eq "$(systemctl show -P NRestarts warden.service)" 0 "restarts after a bad config"
journalctl -b -u warden.service MESSAGE_ID=f109d1fdb1ff4164b4375a16c0b1c516 -o cat | grep -qF \
    "/etc/warden/wardend.conf:3: key 'max_containers': invalid value 'many'" \
    || fail "the error does not name file, line and key"
# activation fails too (dbus-daemon learns of it only by its activation timeout, so do not wait for that)
busctl --timeout=3 call org.warden.Manager /org/warden/Manager org.warden.Manager Ping 2>/dev/null \
    && fail "activation succeeded with a bad config"

# fixed config: it starts (and answers what was queued)
printf '[daemon]\nlog_level = debug\n' >"$conf"
systemctl reset-failed warden.service
systemctl start warden.service
busctl call org.warden.Manager /org/warden/Manager org.warden.Manager Ping
pid=$(systemctl show -P MainPID warden.service)

# reload with a bad file: logged, old config kept, still running
printf '[daemon]\nbogus = 1\n' >"$conf"
systemctl reload warden.service
wait_until 5 bash -c "journalctl -b -u warden.service -o cat | grep -qF \"wardend.conf:2: unknown key 'bogus' in section [daemon]\""
assert_eq "$(systemctl show -P MainPID warden.service)" "$pid" "wardend died on a bad reload"
busctl call org.warden.Manager /org/warden/Manager org.warden.Manager Ping

# a second instance cannot take the name and says why
printf '[daemon]\nlog_level = debug\n' >"$conf"
out=$(/usr/libexec/wardend 2>&1) && fail "a second wardend started"
assert_contains "$out" "is owned by another process; is wardend already running?" "second instance"
assert_eq "$(systemctl show -P MainPID warden.service)" "$pid" "first instance disturbed"

# the container keys take effect: MTU of both veth ends, the user's name, the uid range, another pool
trap 'destroy_all; restore_config' EXIT
printf '[containers]\nuser = app\nuid_base = 20000\nuid_count = 10\ncpu_quota = 30%%\npids_limit = 100\n[network]\npool = 10.99.0.0/24\nmtu = 1400\n' >"$conf"
systemctl restart warden.service
create cfg
# the defaults of Create's cpu_quota and pids_limit, on the scope
assert_eq "$(info cfg cpu_quota)" 30 "cpu_quota from the configuration"
assert_eq "$(info cfg pids_limit)" 100 "pids_limit from the configuration"
assert_eq "$(systemctl show -P CPUQuotaPerSecUSec warden-cfg.scope)" 300ms "the scope's CPUQuota="
assert_eq "$(systemctl show -P TasksMax warden-cfg.scope)" 100 "the scope's TasksMax="
create cfg2 2 cpu_quota t 150 pids_limit t 50
assert_eq "$(info cfg2 cpu_quota)/$(info cfg2 pids_limit)" 150/50 "Create's options over the defaults"
"${BUSCTL_MANAGER[@]}" Destroy s cfg2
assert_eq "$(info cfg host_ip)" 10.99.0.1 "address from the configured pool"
link=$(ip -o addr show to 10.99.0.1 | awk '{print $2}')
assert_match "$(ip -o link show "$link")" ' mtu 1400 ' "host side MTU"
assert_match "$(in_container cfg ip -o link show "${link%-0}-1")" ' mtu 1400 ' "container side MTU"
in_container cfg grep -qE '^app:x:200[0-9][0-9]:' /etc/passwd || fail "configured user and uid range"
"${BUSCTL_MANAGER[@]}" Destroy s cfg
assert_clean cfg "$link"
echo "ok: config" >&2
