#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""wshd's job protocol as wardend uses it, spoken from outside by an independent implementation of the wire
format (src/shared/wshd-proto.h).

    wshd-jobs.py checks SOCKET    WATCH, RELEASE, SIGNAL, RESIZE, EEXIST, attached jobs, the pty relay and
                                  its drain before the exit event, a watcher that does not read
    wshd-jobs.py hello SOCKET     print HELLO's n_processes (processes in the container but wshd)
    wshd-jobs.py garbage SOCKET   send a few thousand malformed messages, check that each gets EBADMSG or
                                  EPROTO (or nothing, if cut short) and the connection is closed

Exits 0 if every check passed, 1 with a message on the first that failed.
"""

import array
import os
import random
import select
import socket
import struct
import sys
import tempfile
import time

VERSION = 1
HELLO, STOP, SPAWN, SIGNAL, RESIZE, WATCH, RELEASE = range(1, 8)
OK, ERROR, R_HELLO, R_SPAWN, R_WATCH = range(100, 105)
EXIT = 200
F_VERSION, F_PID, F_N_PROCESSES, F_TIMEOUT_MS, F_ERROR, F_MESSAGE = range(1, 7)
(F_ARGV, F_ENV, F_DIR, F_UID, F_GID, F_GROUPS, F_RLIMIT, F_TTY, F_JOB_ID, F_WAIT_STATUS, F_SIGNAL,
 F_FD_ROLE, F_RUNNING, F_EXITED) = range(16, 30)
STDIN, STDOUT, STDERR = range(3)
ENV = ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/']


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def field(tag, data):
    if isinstance(data, str):
        data = data.encode()
    return struct.pack('<HHI', tag, 0, len(data)) + data + b'\0' * ((-len(data)) % 4)


def u32(tag, v):
    return field(tag, struct.pack('<I', v))


def encode(mtype, serial, fields):
    body = b''.join(fields)
    return struct.pack('<IHHI', 12 + len(body), VERSION, mtype, serial) + body


def decode(buf):
    length, version, mtype, serial = struct.unpack_from('<IHHI', buf)
    check(length == len(buf) and version == VERSION, f'bad message from wshd: {buf!r}')
    m = {'type': mtype, 'serial': serial, 'running': [], 'exited': []}
    off = 12
    while off < len(buf):
        tag, _, size = struct.unpack_from('<HHI', buf, off)
        data = buf[off + 8:off + 8 + size]
        off += 8 + size + (-size) % 4
        if tag == F_RUNNING:
            m['running'].append(struct.unpack('<I', data)[0])
        elif tag == F_EXITED:
            m['exited'].append(struct.unpack('<III', data))
        elif tag == F_MESSAGE:
            m['message'] = data.decode()
        elif tag == F_ERROR:
            m['error'] = struct.unpack('<i', data)[0]
        elif size == 4:
            m[{F_PID: 'pid', F_JOB_ID: 'job_id', F_WAIT_STATUS: 'wait_status', F_N_PROCESSES: 'n_processes',
               F_VERSION: 'version'}.get(tag, tag)] = struct.unpack('<I', data)[0]
    return m


class Conn:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(path)
        self.serial = 0
        self.events = []   # EVENT_EXITs that arrived while waiting for a reply

    def close(self):
        self.sock.close()

    def send(self, mtype, fields, fds=()):
        self.serial += 1
        data = encode(mtype, self.serial, fields)
        if fds:
            socket.send_fds(self.sock, [data], list(fds))
        else:
            self.sock.send(data)
        return self.serial

    def recv(self, timeout=10):
        r, _, _ = select.select([self.sock], [], [], timeout)
        check(r, 'no message from wshd in time')
        data, fds, _, _ = socket.recv_fds(self.sock, 200000, 4)
        check(data, 'wshd closed the connection')
        m = decode(data)
        m['fds'] = fds
        return m

    def call(self, mtype, fields, fds=()):
        serial = self.send(mtype, fields, fds)
        while True:
            m = self.recv()
            if m['type'] == EXIT:
                self.events.append(m)
                continue
            check(m['serial'] == serial, f'reply to {serial} expected, got {m}')
            return m

    def wait_exit(self, job_id, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e['job_id'] == job_id:
                    self.events.remove(e)
                    return e
            m = self.recv(max(0.01, deadline - time.monotonic()))
            check(m['type'] == EXIT, f'unexpected message {m}')
            self.events.append(m)


def spawn_fields(job_id, argv, uid=0, tty=None, roles=()):
    f = [field(F_ARGV, a) for a in argv] + [field(F_ENV, e) for e in ENV] + [u32(F_UID, uid), u32(F_GID, uid)]
    if tty:
        f.append(field(F_TTY, struct.pack('<II', *tty)))
    f.append(u32(F_JOB_ID, job_id))
    f += [u32(F_FD_ROLE, r) for r in roles]
    return f


def spawn(conn, job_id, argv, **kw):
    fds = kw.pop('fds', ())
    m = conn.call(SPAWN, spawn_fields(job_id, argv, **kw), fds)
    check(m['type'] == R_SPAWN, f'SPAWN {job_id} {argv}: {m}')
    check(m.get('job_id', 0) == job_id or job_id == 0, f'SPAWN answered for another job: {m}')
    return m


def error_of(m):
    return m.get('error') if m['type'] == ERROR else None


def hello(path):
    m = Conn(path).call(HELLO, [])
    check(m['type'] == R_HELLO, f'HELLO: {m}')
    print(m.get('n_processes', 0))


def garbage(path):
    rng = random.Random(1234)
    valid = [encode(HELLO, 1, []), encode(WATCH, 2, []), encode(RELEASE, 3, [u32(F_JOB_ID, 999)]),
             encode(SIGNAL, 4, [u32(F_JOB_ID, 999), u32(F_SIGNAL, 9)]),
             encode(RESIZE, 5, [u32(F_JOB_ID, 999), field(F_TTY, struct.pack('<II', 1, 1))]),
             encode(STOP, 6, [u32(F_TIMEOUT_MS, 1)])]
    n_bad = 0
    for i in range(3000):
        kind = i % 4
        if kind == 0:
            data = rng.randbytes(rng.randrange(0, 300))
        elif kind == 1:
            # a plausible header with random fields
            body = rng.randbytes(rng.randrange(0, 200))
            data = struct.pack('<IHHI', 12 + len(body), VERSION, rng.choice([1, 3, 4, 5, 6, 7, 999]), i) + body
        else:
            # a valid request (but never SPAWN or STOP) with a few bits flipped
            data = bytearray(rng.choice(valid[:5]))
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            data = bytes(data)
        c = Conn(path)
        try:
            c.sock.send(data)
            m = c.recv(5)
        except (Fail, OSError):
            c.close()
            continue
        if m['type'] == ERROR and m.get('error') in (74, 71):  # EBADMSG, EPROTO
            n_bad += 1
            c.sock.settimeout(5)
            check(c.sock.recv(100) == b'', 'wshd kept a connection open after a malformed message')
        c.close()
    check(n_bad > 1000, f'only {n_bad} malformed messages were refused')
    # a datagram larger than any message, and one with fds
    c = Conn(path)
    c.sock.send(b'\0' * 200000)
    m = c.recv(5)
    check(m['type'] == ERROR, f'an oversized datagram: {m}')
    c = Conn(path)
    r, w = os.pipe()
    socket.send_fds(c.sock, [b'garbage!'], [r, w, r, w])
    m = c.recv(5)
    check(m['type'] == ERROR, f'garbage with fds: {m}')
    os.close(r)
    os.close(w)
    print(f'{n_bad} malformed messages refused')


def checks(path):
    watcher = Conn(path)
    ctl = Conn(path)

    w = watcher.call(WATCH, [])
    check(w['type'] == R_WATCH, f'WATCH: {w}')
    check(w['running'] == [] and w['exited'] == [], f'a fresh container has jobs: {w}')

    # an exit, reported once to the watcher
    spawn(ctl, 1, ['sh', '-c', 'exit 3'])
    e = watcher.wait_exit(1)
    check(e['wait_status'] == 3 << 8, f'exit status of job 1: {e}')

    # an exit that happens while nobody watches comes in the reply to the next WATCH
    watcher.close()
    r = spawn(ctl, 2, ['sh', '-c', 'exit 4'])
    pid2 = r['pid']
    check(pid2 > 1, f'pid of job 2: {r}')
    deadline = time.monotonic() + 10
    while True:
        late = Conn(path)
        w = late.call(WATCH, [])
        if any(x[0] == 2 for x in w['exited']):
            break
        late.close()
        check(time.monotonic() < deadline, 'job 2 never exited')
        time.sleep(0.05)
    check((2, pid2, 4 << 8) in w['exited'], f'job 2 in the WATCH reply: {w}')
    check(any(x[0] == 1 for x in w['exited']), f'job 1 (unreleased) in the WATCH reply: {w}')
    watcher = late

    # RELEASE forgets it; a second RELEASE is ESRCH
    check(ctl.call(RELEASE, [u32(F_JOB_ID, 2)])['type'] == OK, 'RELEASE 2')
    check(error_of(ctl.call(RELEASE, [u32(F_JOB_ID, 2)])) == 3, 'RELEASE 2 again: ESRCH')
    w = Conn(path).call(WATCH, [])
    check(all(x[0] != 2 for x in w['exited']), f'job 2 still listed after RELEASE: {w}')
    # SIGNAL on an exited job: ESRCH
    check(error_of(ctl.call(SIGNAL, [u32(F_JOB_ID, 1), u32(F_SIGNAL, 9)])) == 3, 'SIGNAL to exited job 1: ESRCH')
    check(error_of(ctl.call(SIGNAL, [u32(F_JOB_ID, 999), u32(F_SIGNAL, 9)])) == 3, 'SIGNAL to unknown job: ESRCH')
    check(ctl.call(RELEASE, [u32(F_JOB_ID, 1)])['type'] == OK, 'RELEASE 1')

    # a running job: listed as running, RELEASE is EBUSY, SIGNAL reaches its process group, the same id
    # again is EEXIST
    spawn(ctl, 3, ['sh', '-c', 'sleep 100 & wait'])
    w = Conn(path).call(WATCH, [])
    check(3 in w['running'], f'job 3 not running: {w}')
    check(error_of(ctl.call(RELEASE, [u32(F_JOB_ID, 3)])) == 16, 'RELEASE of a running job: EBUSY')
    check(error_of(ctl.call(SPAWN, spawn_fields(3, ['true']))) == 17, 'SPAWN of an existing id: EEXIST')
    check(error_of(ctl.call(RESIZE, [u32(F_JOB_ID, 3), field(F_TTY, struct.pack('<II', 1, 1))])) == 25,
          'RESIZE without a tty: ENOTTY')
    m = ctl.call(SIGNAL, [u32(F_JOB_ID, 3), u32(F_SIGNAL, 15)])
    check(m['type'] == OK, f'SIGNAL 3: {m}')
    e = watcher.wait_exit(3)
    check(os.WIFSIGNALED(e['wait_status']) and os.WTERMSIG(e['wait_status']) == 15, f'job 3 status: {e}')
    check(ctl.call(RELEASE, [u32(F_JOB_ID, 3)])['type'] == OK, 'RELEASE 3')
    # sleep was in the job's process group: it is gone too
    deadline = time.monotonic() + 5
    while ctl.call(HELLO, []).get('n_processes', 0) != 0:
        check(time.monotonic() < deadline, 'the job\'s process group survived SIGTERM')
        time.sleep(0.05)

    # a SIGNAL right after the SPAWN (the child may not have made its session yet) is not lost
    for k in range(20):
        spawn(ctl, 20 + k, ['sleep', '100'])
        m = ctl.call(SIGNAL, [u32(F_JOB_ID, 20 + k), u32(F_SIGNAL, 9 if k % 2 else 15)])
        check(m['type'] == OK, f'SIGNAL right after SPAWN: {m}')
    for k in range(20):
        e = watcher.wait_exit(20 + k)
        check(os.WIFSIGNALED(e['wait_status']) and os.WTERMSIG(e['wait_status']) == (9 if k % 2 else 15),
              f'job {20 + k} status: {e}')
        check(ctl.call(RELEASE, [u32(F_JOB_ID, 20 + k)])['type'] == OK, f'RELEASE {20 + k}')

    # attached jobs (job_id 0) report to their connection only
    att = Conn(path)
    r = spawn(att, 0, ['sh', '-c', 'exit 5'])
    check(r['job_id'] >= 2**31, f'attached job id: {r}')
    e = att.wait_exit(r['job_id'])
    check(e['wait_status'] == 5 << 8, f'attached exit: {e}')
    att.close()

    # the pty relay: everything the job wrote is in the output when the exit is reported, into a pipe
    # and into a file
    out_r, out_w = os.pipe()
    lines = 3000
    script = f'i=0; while [ $i -lt {lines} ]; do echo line$i; i=$((i+1)); done; exit 6'
    spawn(ctl, 10, ['sh', '-c', script], tty=(24, 80), roles=[STDOUT], fds=[out_w])
    os.close(out_w)
    got = b''
    # the pipe holds 64 KiB; the output is ~35 KiB with \r\n, so the relay never blocks on it
    e = watcher.wait_exit(10)
    check(e['wait_status'] == 6 << 8, f'job 10 status: {e}')
    os.set_blocking(out_r, False)
    try:
        while chunk := os.read(out_r, 65536):
            got += chunk
    except BlockingIOError:
        pass
    os.close(out_r)
    text = got.decode().replace('\r\n', '\n')
    check(text == ''.join(f'line{i}\n' for i in range(lines)),
          f'output of job 10 incomplete at the exit event: {len(text)} bytes, ends {text[-40:]!r}')

    with tempfile.TemporaryFile() as f:
        spawn(ctl, 11, ['sh', '-c', script], tty=(24, 80), roles=[STDOUT], fds=[f.fileno()])
        watcher.wait_exit(11)
        f.seek(0)
        text = f.read().decode().replace('\r\n', '\n')
        check(text == ''.join(f'line{i}\n' for i in range(lines)),
              f'output of job 11 (a file) incomplete at the exit event: {len(text)} bytes')

    # stdin through the relay, EOF as the terminal's EOF character; RESIZE reaches the pty
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    spawn(ctl, 12, ['sh', '-c', 'read x; echo "got $x"; cat; sleep 0.3; stty size'], tty=(24, 80),
          roles=[STDIN, STDOUT], fds=[in_r, out_w])
    os.close(in_r)
    os.close(out_w)
    check(ctl.call(RESIZE, [u32(F_JOB_ID, 12), field(F_TTY, struct.pack('<II', 40, 132))])['type'] == OK,
          'RESIZE 12')
    os.write(in_w, b'hello\nsecond line')
    os.close(in_w)
    e = watcher.wait_exit(12)
    check(e['wait_status'] == 0, f'job 12 status: {e}')
    got = b''
    while chunk := os.read(out_r, 65536):
        got += chunk
    os.close(out_r)
    text = got.decode().replace('\r\n', '\n')
    check('got hello\n' in text and 'second line' in text and text.endswith('40 132\n'),
          f'job 12 output: {text!r}')

    # no fds: the master comes back in the reply
    r = spawn(ctl, 13, ['sh', '-c', 'echo via-master; sleep 0.2'], tty=(24, 80))
    check(len(r['fds']) == 1, f'no pty master in the reply: {r}')
    master = r['fds'][0]
    e = watcher.wait_exit(13)
    got = b''
    try:
        while chunk := os.read(master, 4096):
            got += chunk
    except OSError:   # EIO: the slave is closed
        pass
    os.close(master)
    check(b'via-master' in got, f'job 13 output from the master: {got!r}')

    # a watcher that does not read is closed, not waited for, and wshd goes on serving
    deaf = Conn(path)
    deaf.call(WATCH, [])
    # (events queue up to wshd's socket send buffer, a couple of hundred; then it gives up on the watcher)
    first = 100
    for k in range(400):
        spawn(ctl, first + k, ['true'])
        if k % 50 == 49:
            # let the exits happen, and keep the table small
            for j in range(first + k - 49, first + k + 1):
                watcher.wait_exit(j)
                check(ctl.call(RELEASE, [u32(F_JOB_ID, j)])['type'] == OK, f'RELEASE {j}')
    n = 0
    while True:
        try:
            m = deaf.recv(5)
        except Fail:
            break
        n += 1
    check(n < 400, f'the deaf watcher got all {n} events: its socket never filled up?')
    check(ctl.call(HELLO, [])['type'] == R_HELLO, 'wshd stopped serving')

    # every exit was reported once to the watcher that was open all along
    ids = [e['job_id'] for e in watcher.events]
    check(not ids, f'events left over (duplicates?): {ids}')
    for j in (10, 11, 12, 13):
        check(ctl.call(RELEASE, [u32(F_JOB_ID, j)])['type'] == OK, f'RELEASE {j}')
    time.sleep(0.3)
    watcher.sock.setblocking(False)
    try:
        extra = watcher.sock.recv(65536)
        raise Fail(f'a second event arrived: {decode(extra)}')
    except BlockingIOError:
        pass
    w = Conn(path).call(WATCH, [])
    check(w['running'] == [] and w['exited'] == [], f'jobs left: {w}')
    watcher.close()

    # the table holds 1024 jobs, exited and unreleased ones included; one more is EAGAIN, and all of them
    # fit one WATCH reply
    for k in range(1024):
        spawn(ctl, 5000 + k, ['true'])
    m = ctl.call(SPAWN, spawn_fields(7000, ['true']))
    check(error_of(m) == 11 and 'Too many jobs' in m.get('message', ''), f'SPAWN beyond the table: {m}')
    deadline = time.monotonic() + 30
    while True:
        w = Conn(path).call(WATCH, [])
        check(len(w['running']) + len(w['exited']) == 1024, f'WATCH reply of a full table: {len(w["running"])} + '
              f'{len(w["exited"])}')
        if not w['running']:
            break
        check(time.monotonic() < deadline, f'jobs still running: {w["running"][:10]}')
        time.sleep(0.1)
    check(sorted(x[0] for x in w['exited']) == list(range(5000, 6024)), 'the exited jobs of a full table')
    for k in range(1024):
        check(ctl.call(RELEASE, [u32(F_JOB_ID, 5000 + k)])['type'] == OK, f'RELEASE {5000 + k}')
    spawn(ctl, 7000, ['true'])
    print('all wshd job checks passed')


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ('checks', 'hello', 'garbage'):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    {'checks': checks, 'hello': hello, 'garbage': garbage}[sys.argv[1]](sys.argv[2])


if __name__ == '__main__':
    try:
        main()
    except Fail as e:
        print(f'FAIL: {e}', file=sys.stderr)
        sys.exit(1)
