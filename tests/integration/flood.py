#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/integration/flood.py MODE ARGS...: the many-calls-at-once side of test-polkit.sh. One bus connection
# sends N calls without waiting for any answer (python3-dbus on a GLib main loop); the answers are counted
# by error name and printed as one JSON object on stdout.
#
#   flood.py link HANDLE JOB_ID N   N x Link(HANDLE, JOB_ID) of a running job. Once the answers stop coming,
#                                   "held" is the number of calls still unanswered; then a second
#                                   connection times Ping and List ("other_ms"), kills the job with Signal 9,
#                                   and the held calls get their answers.
#   flood.py stop HANDLE N          N x Stop(HANDLE, true); every call gets an answer (an error, for a
#                                   handle that does not exist).
import json
import sys
import time

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

NAME = "org.warden.Manager"
PATH = "/org/warden/Manager"
IFACE = "org.warden.Manager"
TIMEOUT = 120

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
loop = GLib.MainLoop()


def manager(bus):
    return dbus.Interface(bus.get_object(NAME, PATH), IFACE)


class Counter:
    def __init__(self, n):
        self.n = n
        self.answered = 0
        self.ok = 0
        self.errors = {}
        self.ours = 0  # LimitsExceeded from wardend (its message names the key)
        self.last = time.monotonic()

    def reply(self, *args):
        self.answered += 1
        self.ok += 1
        self.last = time.monotonic()

    def error(self, e):
        self.answered += 1
        name = e.get_dbus_name()
        self.errors[name] = self.errors.get(name, 0) + 1
        if name == "org.freedesktop.DBus.Error.LimitsExceeded" and "max_calls_per_client" in (
            e.get_dbus_message() or ""
        ):
            self.ours += 1
        self.last = time.monotonic()


def run_until(cond, timeout):
    """Runs the main loop until cond() holds or timeout seconds have passed; returns cond()."""
    deadline = time.monotonic() + timeout

    def tick():
        if cond() or time.monotonic() > deadline:
            loop.quit()
            return False
        return True

    GLib.timeout_add(20, tick)
    loop.run()
    return cond()


def send(counter, method, *args):
    for _ in range(counter.n):
        method(*args, reply_handler=counter.reply, error_handler=counter.error, timeout=TIMEOUT)


def flood_link(handle, job_id, n):
    bus = dbus.SystemBus(private=True)
    other = dbus.SystemBus(private=True)
    c = Counter(n)
    send(c, manager(bus).Link, handle, dbus.UInt32(job_id))
    # until every call is answered, or nothing came for a second: what is left is held by wardend
    run_until(lambda: c.answered == n or (c.answered > 0 and time.monotonic() - c.last > 1.0), 60)
    held = n - c.answered
    answered_before = dict(c.errors)

    # meanwhile another client is served
    t0 = time.monotonic()
    manager(other).Ping(timeout=10)
    manager(other).List(dbus.Dictionary({}, signature="ss"), timeout=10)
    other_ms = (time.monotonic() - t0) * 1000

    manager(other).Signal(handle, dbus.UInt32(job_id), dbus.Int32(9), timeout=10)
    done = run_until(lambda: c.answered == n, 30)
    return {
        "n": n,
        "held": held,
        "errors_before_kill": answered_before,
        "ok": c.ok,
        "errors": c.errors,
        "ours": c.ours,
        "all_answered": done,
        "other_ms": round(other_ms, 1),
    }


def flood_stop(handle, n):
    bus = dbus.SystemBus(private=True)
    c = Counter(n)
    t0 = time.monotonic()
    send(c, manager(bus).Stop, handle, True)
    done = run_until(lambda: c.answered == n, 60)
    return {
        "n": n,
        "ok": c.ok,
        "errors": c.errors,
        "ours": c.ours,
        "all_answered": done,
        "seconds": round(time.monotonic() - t0, 2),
    }


def main():
    mode = sys.argv[1]
    if mode == "link":
        result = flood_link(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "stop":
        result = flood_stop(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(f"unknown mode {mode}")
    print(json.dumps(result))


main()
