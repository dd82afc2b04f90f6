#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# D-Bus activation: wardend is not running; a Ping over the system bus starts warden.service through
# systemd, which then shows it as an active Type=notify service.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

systemctl stop warden.service
assert_eq "$(systemctl is-active warden.service || true)" inactive "warden.service before the call"

busctl call org.warden.Manager /org/warden/Manager org.warden.Manager Ping \
    || fail "Ping did not activate wardend"
assert_eq "$(systemctl is-active warden.service)" active "warden.service after the call"

# it is the real thing: Type=notify, our binary, owning the name
assert_eq "$(systemctl show -P Type warden.service)" notify "Type"
assert_eq "$(systemctl show -P BusName warden.service)" org.warden.Manager "BusName"
pid=$(systemctl show -P MainPID warden.service)
assert_eq "$(readlink "/proc/$pid/exe")" /usr/libexec/wardend "main process"
owner=$(busctl status org.warden.Manager | sed -n 's/^PID=//p')
assert_eq "$owner" "$pid" "owner of org.warden.Manager"

status=$(systemctl status --no-pager warden.service || true)
assert_contains "$status" "Active: active (running)" "systemctl status"
assert_contains "$status" "Warden container manager" "systemctl status"
assert_contains "$status" "/usr/libexec/wardend" "systemctl status"

# it logs to the journal, structured
wait_until 5 bash -c "journalctl -b -u warden.service -o cat | grep -q 'wardend .* running'"
journalctl -b -u warden.service -o export | grep -q '^SYSLOG_IDENTIFIER=wardend$' \
    || fail "no structured journal fields"
journalctl -b -u warden.service -o export | grep -q '^CODE_FILE=' || fail "no CODE_FILE= in the journal"
# the start-up event can be found by its MESSAGE_ID (wardend(8), "LOGGING")
journalctl -b MESSAGE_ID=3cb3864b30734005978b35ae799fd0c7 -o cat | grep -q 'wardend .* running' \
    || fail "no start-up message with its MESSAGE_ID"

# runtime directories from the unit and tmpfiles.d
assert_eq "$(stat -c %a /run/warden)" 700 "mode of /run/warden"
[[ -d /run/warden/containers ]] || fail "/run/warden/containers missing"
assert_eq "$(stat -c %a /var/lib/warden)" 700 "mode of /var/lib/warden"

# the installed documentation is there
for page in man8/wardend.8 man1/wardenctl.1 man5/org.warden.Manager.5; do
    [[ -s /usr/share/man/$page ]] || fail "man page $page not installed"
done

# reload (SIGHUP) keeps it running
systemctl reload warden.service
wait_until 5 bash -c "journalctl -b -u warden.service -o cat | grep -q 'Reloading configuration'"
assert_eq "$(systemctl show -P MainPID warden.service)" "$pid" "PID after reload"

systemctl stop warden.service
assert_eq "$(systemctl show -P Result warden.service)" success "result after stop"
echo "ok: activation" >&2
