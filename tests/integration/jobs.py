#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/integration/jobs.py STEP HANDLE...: the D-Bus side of test-jobs.sh (python3-dbus passes and receives
# file descriptors, which busctl cannot do well). Each step asserts and exits 1 with "FAIL: ..." on stderr.
import os
import select
import sys
import time

import dbus

NAME = "org.warden.Manager"
bus = dbus.SystemBus()
manager = dbus.Interface(bus.get_object(NAME, "/org/warden/Manager"), "org.warden.Manager")
TIMEOUT = 120


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def eq(got, want, what):
    if got != want:
        fail(f"{what}: got {got!r}, want {want!r}")


def run(h, argv, **options):
    status, out, err, info = manager.Run(h, argv, options, timeout=TIMEOUT, byte_arrays=True)
    return int(status), bytes(out), bytes(err), info


def error_name(f, *args, **kw):
    try:
        f(*args, **kw)
    except dbus.exceptions.DBusException as e:
        return e.get_dbus_name(), e.get_dbus_message()
    return None, None


def expect_error(name, f, *args, **kw):
    got, msg = error_name(f, *args, **kw)
    if got != name:
        fail(f"{f._method_name if hasattr(f, '_method_name') else f}{args}: expected {name}, got {got}: {msg}")
    return msg


def read_all(fd):
    data = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return data
        data += chunk


def step_basics(h):
    status, out, err, info = run(h, ["sh", "-c", "echo out; echo err >&2; exit 123"])
    eq(status, 123, "exit status")
    eq(out, b"out\n", "stdout")
    eq(err, b"err\n", "stderr")
    check("job_id" in info and "events" in info, f"link info keys: {list(info)}")

    status, _, _, _ = run(h, ["sh", "-c", "kill -9 $$"])
    eq(status, 137, "status of a job killed by SIGKILL")

    status, _, err, _ = run(h, ["/no/such/program"])
    eq(status, 127, "status of a missing program")
    check(b"/no/such/program" in err, f"message about the missing program: {err!r}")


def step_identity(h, uid):
    _, out, _, _ = run(h, ["id", "-u"])
    eq(out.decode().strip(), uid, "default user's uid")
    _, out, _, _ = run(h, ["id", "-u"], privileged=True)
    eq(out.decode().strip(), "0", "privileged uid")
    _, out, _, _ = run(h, ["id", "-u"], user="root")
    eq(out.decode().strip(), "0", "user=root uid")
    _, out, _, _ = run(h, ["pwd"])
    eq(out.decode().strip(), "/home/vcap", "default dir")
    _, out, _, _ = run(h, ["pwd"], dir="/tmp")
    eq(out.decode().strip(), "/tmp", "dir option")
    _, out, _, _ = run(h, ["sh", "-c", 'echo "$FROM_CREATE $OVERRIDE $HOME $USER"'],
                       env=dbus.Array(["OVERRIDE=spawn"], signature="s"))
    eq(out.decode().strip(), "create spawn /home/vcap vcap", "environment")
    _, out, _, _ = run(h, ["sh", "-c", "ulimit -n; ulimit -Hn"],
                       rlimits=dbus.Dictionary({"nofile": dbus.UInt64(123)}, signature="st"))
    eq(out.decode().split(), ["123", "123"], "rlimit nofile")
    _, out, _, _ = run(h, ["grep", "NoNewPrivs", "/proc/self/status"])
    check(out.split()[-1:] == [b"1"], f"no_new_privs for the unprivileged user: {out!r}")
    expect_error("org.freedesktop.DBus.Error.InvalidArgs", run, h, ["true"], user="nosuchuser")


def step_link(h):
    quick = int(manager.Spawn(h, ["echo", "quick"], {}))
    slow = int(manager.Spawn(h, ["sh", "-c", "sleep 0.5; echo slow; exit 3"], {}))
    check(quick != slow, "distinct job ids")
    jobs = list(manager.Info(h)["job_ids"])
    check(quick in jobs and slow in jobs, f"job_ids {jobs} lists {quick} and {slow}")
    time.sleep(0.2)
    status, out, _, _ = manager.Link(h, dbus.UInt32(quick), timeout=TIMEOUT, byte_arrays=True)
    eq((int(status), bytes(out)), (0, b"quick\n"), "link of a finished job")
    t = time.monotonic()
    status, out, _, _ = manager.Link(h, dbus.UInt32(slow), timeout=TIMEOUT, byte_arrays=True)
    eq((int(status), bytes(out)), (3, b"slow\n"), "link of an unfinished job")
    check(time.monotonic() - t > 0.1, "link waited for the job")
    expect_error("org.warden.Error.NoSuchJob", manager.Link, h, dbus.UInt32(slow), timeout=TIMEOUT)
    jobs = list(manager.Info(h)["job_ids"])
    check(quick not in jobs and slow not in jobs, f"linked jobs are gone from job_ids: {jobs}")
    expect_error("org.warden.Error.NoSuchJob", manager.Stream, h, dbus.UInt32(99999))
    expect_error("org.warden.Error.NoSuchJob", manager.Signal, h, dbus.UInt32(99999), 9)


def step_stream(h):
    script = "i=0; while [ $i -lt 40 ]; do echo line $i; echo e$i >&2; i=$((i+1)); sleep 0.02; done"
    job = dbus.UInt32(manager.Spawn(h, ["sh", "-c", script], {}))
    time.sleep(0.2)  # the streams must replay what came before them
    pipes = [manager.Stream(h, job) for _ in range(2)]
    fds = [(o.take(), e.take()) for o, e in pipes]
    outs = [(read_all(o), read_all(e)) for o, e in fds]
    for o, e in fds:
        os.close(o)
        os.close(e)
    want_out = "".join(f"line {i}\n" for i in range(40)).encode()
    want_err = "".join(f"e{i}\n" for i in range(40)).encode()
    for o, e in outs:
        eq(o, want_out, "streamed stdout")
        eq(e, want_err, "streamed stderr")
    # after the end, before the link: still the whole output
    o, e = manager.Stream(h, job)
    o, e = o.take(), e.take()
    eq(read_all(o), want_out, "stream of a finished job")
    os.close(o)
    os.close(e)
    status, out, _, _ = manager.Link(h, job, timeout=TIMEOUT, byte_arrays=True)
    eq((int(status), bytes(out)), (0, want_out), "link after streams")


def step_signal(h):
    job = dbus.UInt32(manager.Spawn(h, ["sleep", "100"], {}))
    time.sleep(0.2)
    expect_error("org.freedesktop.DBus.Error.InvalidArgs", manager.Signal, h, job, 0)
    expect_error("org.freedesktop.DBus.Error.InvalidArgs", manager.Signal, h, job, 99)
    manager.Signal(h, job, 15)
    status, _, _, _ = manager.Link(h, job, timeout=TIMEOUT, byte_arrays=True)
    eq(int(status), 143, "status after SIGTERM")
    expect_error("org.warden.Error.NoSuchJob", manager.Signal, h, job, 15)


def step_output(h, limit):
    status, out, err, _ = run(h, ["sh", "-c", "echo x; echo y >&2"], discard_output=True)
    eq((status, out, err), (0, b"", b""), "discard_output")

    r, w = os.pipe()
    status, out, err, _ = run(h, ["sh", "-c", "echo to-caller"], stdout=dbus.types.UnixFd(w))
    os.close(w)
    eq(os.read(r, 100), b"to-caller\n", "output on the caller's descriptor")
    os.close(r)
    eq((status, out), (0, b""), "nothing captured with the caller's stdout")

    status, out, _, info = run(h, ["sh", "-c", "while :; do echo 0123456789abcdef; done"])
    eq(status, 255, "status of a job over the output limit")
    check("command exceeded maximum output" in list(info["events"]), f"event recorded: {info['events']}")
    check(0 < len(out) <= int(limit), f"captured output cut at the limit: {len(out)}")


def step_tty(h):
    status, out, _, _ = run(h, ["sh", "-c", "test -t 0 && test -t 1 && stty size"], tty=True,
                            tty_rows=dbus.UInt16(33), tty_cols=dbus.UInt16(77))
    eq(status, 0, "tty job status")
    eq(out.replace(b"\r", b"").strip(), b"33 77", "tty size")
    job = dbus.UInt32(manager.Spawn(h, ["sh", "-c", "sleep 0.3; stty size"], {"tty": True}))
    manager.ResizeTty(h, job, dbus.UInt16(40), dbus.UInt16(100))
    status, out, _, _ = manager.Link(h, job, timeout=TIMEOUT, byte_arrays=True)
    eq(bytes(out).replace(b"\r", b"").strip(), b"40 100", "size after ResizeTty")
    job = dbus.UInt32(manager.Spawn(h, ["sleep", "0.1"], {}))
    expect_error("org.warden.Error.InvalidState", manager.ResizeTty, h, job, dbus.UInt16(1), dbus.UInt16(1))
    manager.Link(h, job, timeout=TIMEOUT)


def step_spawn_for_restart(h):
    # 'a' runs until the test lets it end (it touches /tmp/restart-go in the container once wardend is back)
    wait = "until [ -e /tmp/restart-go ]; do sleep 0.1; done"
    a = manager.Spawn(h, ["sh", "-c", f"echo before; {wait}; echo after; exit 7"], {})
    b = manager.Spawn(h, ["sh", "-c", "echo short; exit 9"], {})
    print(int(a), int(b))


def step_link_after_restart(h, a, b):
    status, out, _, _ = manager.Link(h, dbus.UInt32(int(a)), timeout=TIMEOUT, byte_arrays=True)
    eq((int(status), bytes(out)), (7, b"before\nafter\n"), "job that ran across the restart")
    status, out, _, _ = manager.Link(h, dbus.UInt32(int(b)), timeout=TIMEOUT, byte_arrays=True)
    eq((int(status), bytes(out)), (9, b"short\n"), "job that ended while wardend was down")


def step_errors(h, stopped):
    expect_error("org.warden.Error.NoSuchContainer", manager.Spawn, "nosuch", ["true"], {})
    expect_error("org.warden.Error.InvalidHandle", manager.Run, "bad/handle", ["true"], {})
    expect_error("org.warden.Error.InvalidState", manager.Spawn, stopped, ["true"], {})
    expect_error("org.freedesktop.DBus.Error.InvalidArgs", manager.Spawn, h, [], {})
    expect_error("org.freedesktop.DBus.Error.InvalidArgs", manager.Spawn, h, ["true"], {"bogus": 1})
    expect_error("org.freedesktop.DBus.Error.InvalidArgs", manager.Spawn, h, ["true"], {"dir": "rel"})
    expect_error("org.freedesktop.DBus.Error.InvalidArgs", manager.Spawn, h, ["x" * 200000], {})


def main():
    step = sys.argv[1]
    args = sys.argv[2:]
    globals()["step_" + step](*args)


if __name__ == "__main__":
    main()
