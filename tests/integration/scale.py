#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/integration/scale.py: the D-Bus side of test-scale.sh. Long-lived clients (python3-dbus on a GLib
# main loop, like a Garden gateway or Diego's executor) that create many containers, each client through
# ONE connection for all its containers, with several calls in flight.
#
#   scale.py cycle PREFIX COUNT CONNECTIONS
#       Over CONNECTIONS private connections to the system bus (round-robin, at most WINDOW calls in flight
#       per connection): Create COUNT containers PREFIX0000.. (grace_time 0), Info every one (active, an
#       address), Run `echo HANDLE` in every one, ping every container's address from the host, read
#       wardend's match rules from the bus's statistics (Debug.Stats), Destroy every one. Prints one JSON
#       object on stdout and exits 0 if every call succeeded, 1 otherwise. The connections stay open from
#       the first Create to the last Destroy.
#   scale.py destroy PREFIX
#       Destroys every container whose handle starts with PREFIX (the cleanup of a failed run).
import concurrent.futures
import json
import os
import subprocess
import sys
import time

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

NAME = "org.warden.Manager"
PATH = "/org/warden/Manager"
IFACE = "org.warden.Manager"


def window_of(count, n_conns):
    """Calls in flight per connection. With 1000 containers: 62 through one connection (wardend allows a
    client 64, max_calls_per_client), 46 each through 4, i.e. 184 at once, more than the 128 replies that
    dbus-daemon lets wardend wait for (max_replies_per_connection): wardend must queue its calls to systemd.
    Fewer for fewer containers: the emulated guest's systemd starts about one scope per second, and a Create
    has 120 s."""
    w = max(4, min(64, count // 16))
    return w if n_conns == 1 else max(4, w * 3 // 4)
TIMEOUT = 600  # a single call, on a loaded machine with 1000 containers

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
loop = GLib.MainLoop()


def manager(bus):
    return dbus.Interface(bus.get_object(NAME, PATH, introspect=False), IFACE)


def pump(managers, items, call, window):
    """Calls call(manager, item, on_reply, on_error) for every item, round-robin over the managers, with at
    most 'window' calls in flight per manager; runs the main loop until all are answered. Returns
    (results by item, errors by item)."""
    results, errors = {}, {}
    pending = list(items)
    inflight = [0] * len(managers)
    next_conn = [0]

    def issue():
        while pending:
            # the least busy connection, round-robin among equals
            k = min(range(len(managers)), key=lambda i: (inflight[i], (i - next_conn[0]) % len(managers)))
            if inflight[k] >= window:
                return
            next_conn[0] = (k + 1) % len(managers)
            item = pending.pop(0)
            inflight[k] += 1

            def done(k=k):
                inflight[k] -= 1
                if not pending and sum(inflight) == 0:
                    loop.quit()
                else:
                    issue()

            def on_reply(*args, item=item, done=done):
                results[item] = args
                done()

            def on_error(e, item=item, done=done):
                errors[item] = f"{e.get_dbus_name()}: {e.get_dbus_message()}"
                done()

            call(managers[k], item, on_reply, on_error)

    if not pending:
        return results, errors
    issue()
    loop.run()
    return results, errors


def handles(prefix, count):
    return [f"{prefix}{i:04d}" for i in range(count)]


def wardend_match_rules(bus):
    """wardend's match rules now and at their peak, from dbus-daemon's statistics."""
    owner = bus.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus", introspect=False)
    unique = dbus.Interface(owner, "org.freedesktop.DBus").GetNameOwner(NAME)
    stats = dbus.Interface(owner, "org.freedesktop.DBus.Debug.Stats").GetConnectionStats(unique)
    return {
        "unique_name": str(unique),
        "match_rules": int(stats["MatchRules"]),
        "peak_match_rules": int(stats["PeakMatchRules"]),
        "match_bytes": int(stats.get("MatchBytes", 0)),
    }


def wardend_fds(bus):
    """wardend's open file descriptors and its soft limit of them."""
    driver = dbus.Interface(
        bus.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus", introspect=False), "org.freedesktop.DBus"
    )
    pid = int(driver.GetConnectionUnixProcessID(NAME))
    with open(f"/proc/{pid}/limits") as f:
        soft = next(line.split()[3] for line in f if line.startswith("Max open files"))
    return {"pid": pid, "fds": len(os.listdir(f"/proc/{pid}/fd")), "nofile": int(soft)}


def ping_all(ips):
    """Pings every address once (16 at a time); returns the addresses that did not answer."""

    def ping(ip):
        r = subprocess.run(["ping", "-c", "1", "-W", "5", "-q", ip], capture_output=True)
        if r.returncode != 0:  # one more try: the first packet may wait for ARP under load
            r = subprocess.run(["ping", "-c", "1", "-W", "5", "-q", ip], capture_output=True)
        return ip, r.returncode == 0

    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        return [ip for ip, ok in ex.map(ping, ips) if not ok]


def cycle(prefix, count, n_conns):
    buses = [dbus.SystemBus(private=True) for _ in range(n_conns)]
    managers = [manager(b) for b in buses]
    window = window_of(count, n_conns)
    hs = handles(prefix, count)
    out = {"count": count, "connections": n_conns, "window": window, "seconds": {}}
    failed = {}

    def phase(name, call, items):
        t0 = time.monotonic()
        results, errors = pump(managers, items, call, window)
        out["seconds"][name] = round(time.monotonic() - t0, 1)
        if errors:
            failed[name] = dict(list(sorted(errors.items()))[:10])
            failed[name]["count"] = len(errors)
        return results

    created = phase(
        "create",
        lambda m, h, ok, err: m.Create(
            dbus.Dictionary({"handle": h, "grace_time": dbus.UInt32(0)}, signature="sv"),
            reply_handler=ok,
            error_handler=err,
            timeout=TIMEOUT,
        ),
        hs,
    )
    out["created"] = len(created)
    rules_full = wardend_match_rules(buses[0])
    out["bus_stats_full"] = rules_full
    out["wardend_full"] = wardend_fds(buses[0])

    infos = phase(
        "info",
        lambda m, h, ok, err: m.Info(h, reply_handler=ok, error_handler=err, timeout=TIMEOUT),
        sorted(created),
    )
    ips, bad = {}, {}
    for h, (info,) in infos.items():
        if str(info.get("state")) != "active" or not str(info.get("container_ip", "")):
            bad[h] = f"state {info.get('state')}, container_ip '{info.get('container_ip')}'"
        else:
            ips[h] = str(info["container_ip"])
    if len(set(ips.values())) != len(ips):
        bad["addresses"] = "two containers have the same address"
    if bad:
        failed["info_content"] = dict(list(sorted(bad.items()))[:10])

    runs = phase(
        "run",
        lambda m, h, ok, err: m.Run(
            h,
            dbus.Array(["echo", h], signature="s"),
            dbus.Dictionary({}, signature="sv"),
            reply_handler=ok,
            error_handler=err,
            timeout=TIMEOUT,
        ),
        sorted(created),
    )
    wrong = {
        h: f"exit {int(r[0])}, stdout {bytes(r[1])!r}, stderr {bytes(r[2])!r}"
        for h, r in runs.items()
        if int(r[0]) != 0 or bytes(r[1]) != (h + "\n").encode()
    }
    if wrong:
        failed["run_output"] = dict(list(sorted(wrong.items()))[:10])
        failed["run_output"]["count"] = len(wrong)

    t0 = time.monotonic()
    silent = ping_all(sorted(ips.values()))
    out["seconds"]["ping"] = round(time.monotonic() - t0, 1)
    out["pinged"] = len(ips) - len(silent)
    if silent:
        failed["ping"] = {"count": len(silent), "first": silent[:10]}

    # Containers is read whole once (its change signal does not carry it)
    listed = [str(h) for h in managers[0].List(dbus.Dictionary({}, signature="ss"), timeout=TIMEOUT)]
    out["listed"] = sum(1 for h in listed if h.startswith(prefix))

    phase(
        "destroy",
        lambda m, h, ok, err: m.Destroy(h, reply_handler=ok, error_handler=err, timeout=TIMEOUT),
        sorted(created),
    )
    out["bus_stats_end"] = wardend_match_rules(buses[0])
    out["failed"] = failed
    for b in buses:
        b.close()
    print(json.dumps(out, indent=1))
    return 0 if not failed and out["created"] == count else 1


def destroy(prefix):
    bus = dbus.SystemBus(private=True)
    m = manager(bus)
    hs = [str(h) for h in m.List(dbus.Dictionary({}, signature="ss"), timeout=TIMEOUT) if h.startswith(prefix)]
    _, errors = pump(
        [m], hs, lambda m, h, ok, err: m.Destroy(h, reply_handler=ok, error_handler=err, timeout=TIMEOUT), 32
    )
    print(json.dumps({"destroyed": len(hs) - len(errors), "errors": dict(list(errors.items())[:10])}))
    return 0 if not errors else 1


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "cycle":
        return cycle(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    if len(sys.argv) == 3 and sys.argv[1] == "destroy":
        return destroy(sys.argv[2])
    sys.exit("usage: scale.py cycle PREFIX COUNT CONNECTIONS | destroy PREFIX")


sys.exit(main())
