#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the seed corpus of fuzz-wshd-proto: valid messages of every type and malformed ones, built by
hand after src/shared/wshd-proto.h (not by our encoder, so that the two can disagree).

    tests/fuzz/make-corpus-wshd-proto.py tests/fuzz/corpus/wshd-proto
"""

import os
import struct
import sys

VERSION = 1
HELLO, STOP, SPAWN, SIGNAL, RESIZE, WATCH, RELEASE = range(1, 8)
OK, ERROR, R_HELLO, R_SPAWN, R_WATCH = range(100, 105)
EXIT = 200
(F_VERSION, F_PID, F_N_PROCESSES, F_TIMEOUT_MS, F_ERROR, F_MESSAGE) = range(1, 7)
(F_ARGV, F_ENV, F_DIR, F_UID, F_GID, F_GROUPS, F_RLIMIT, F_TTY, F_JOB_ID, F_WAIT_STATUS, F_SIGNAL,
 F_FD_ROLE, F_RUNNING, F_EXITED) = range(16, 30)


def field(tag, data):
    if isinstance(data, str):
        data = data.encode()
    pad = (-len(data)) % 4
    return struct.pack('<HHI', tag, 0, len(data)) + data + b'\0' * pad


def u32(tag, v):
    return field(tag, struct.pack('<I', v))


def msg(mtype, serial, *fields, version=VERSION):
    body = b''.join(fields)
    return struct.pack('<IHHI', 12 + len(body), version, mtype, serial) + body


def spawn_fields():
    return [field(F_ARGV, '/bin/sh'), field(F_ARGV, '-c'), field(F_ARGV, 'echo $X; exit 3'),
            field(F_ENV, 'PATH=/bin:/usr/bin'), field(F_ENV, 'X=ü'), field(F_DIR, '/tmp'),
            u32(F_UID, 10001), u32(F_GID, 10001), u32(F_GROUPS, 0), u32(F_GROUPS, 5),
            field(F_RLIMIT, struct.pack('<IIQQ', 7, 0, 64, 128)),
            field(F_RLIMIT, struct.pack('<IIQQ', 3, 0, 2**64 - 1, 2**64 - 1)),
            field(F_TTY, struct.pack('<II', 24, 80)), u32(F_JOB_ID, 17),
            u32(F_FD_ROLE, 0), u32(F_FD_ROLE, 1), u32(F_FD_ROLE, 2)]


def corpus():
    full = msg(SPAWN, 3, *spawn_fields())
    yield 'hello', msg(HELLO, 1)
    yield 'stop', msg(STOP, 2, u32(F_TIMEOUT_MS, 10000))
    yield 'spawn-full', full
    yield 'spawn-root', msg(SPAWN, 4, field(F_ARGV, 'true'), u32(F_UID, 0), u32(F_GID, 0))
    yield 'signal', msg(SIGNAL, 5, u32(F_JOB_ID, 17), u32(F_SIGNAL, 9))
    yield 'resize', msg(RESIZE, 6, u32(F_JOB_ID, 17), field(F_TTY, struct.pack('<II', 50, 132)))
    yield 'watch', msg(WATCH, 7)
    yield 'release', msg(RELEASE, 8, u32(F_JOB_ID, 17))
    yield 'reply-ok', msg(OK, 9)
    yield 'reply-error', msg(ERROR, 10, u32(F_ERROR, 3), field(F_MESSAGE, 'No such job 17.'))
    yield 'reply-hello', msg(R_HELLO, 11, u32(F_VERSION, 1), u32(F_PID, 4242), u32(F_N_PROCESSES, 3))
    yield 'reply-spawn', msg(R_SPAWN, 12, u32(F_JOB_ID, 0x80000001), u32(F_PID, 2))
    yield 'reply-watch', msg(R_WATCH, 13, u32(F_RUNNING, 1), u32(F_RUNNING, 2),
                             field(F_EXITED, struct.pack('<III', 3, 40, 0x0900)),
                             field(F_EXITED, struct.pack('<III', 4, 41, 9)))
    yield 'event-exit', msg(EXIT, 0, u32(F_JOB_ID, 3), u32(F_PID, 40), u32(F_WAIT_STATUS, 0))
    yield 'unknown-tags', msg(R_HELLO, 14, field(40, 'x'), field(40, 'y'), field(0xffff, b'\xff'))
    # malformed
    yield 'bad-truncated', full[:-6]
    yield 'bad-spawn-no-uid', msg(SPAWN, 15, field(F_ARGV, 'true'), u32(F_GID, 0))
    yield 'bad-duplicate-dir', msg(SPAWN, 16, *spawn_fields(), field(F_DIR, '/'))
    yield 'bad-env', msg(SPAWN, 17, field(F_ARGV, 'true'), u32(F_UID, 0), u32(F_GID, 0), field(F_ENV, '=x'))
    yield 'bad-utf8', msg(SPAWN, 18, field(F_ARGV, b'\xc0\x80'), u32(F_UID, 0), u32(F_GID, 0))
    yield 'bad-fd-role', msg(SPAWN, 19, field(F_ARGV, 'true'), u32(F_UID, 0), u32(F_GID, 0), u32(F_FD_ROLE, 3))
    yield 'bad-groups', msg(SPAWN, 20, field(F_ARGV, 'true'), u32(F_UID, 0), u32(F_GID, 0),
                            *[u32(F_GROUPS, i) for i in range(65)])
    yield 'bad-signal', msg(SIGNAL, 21, u32(F_JOB_ID, 1), u32(F_SIGNAL, 65))
    yield 'bad-version', msg(HELLO, 22, version=2)
    yield 'bad-exit-no-status', msg(EXIT, 0, u32(F_JOB_ID, 3))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in corpus():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
