#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the seed corpus of fuzz-bus-options: Create, Spawn and Run calls with valid and invalid options,
in the input format that tests/fuzz/fuzz-bus-options.c describes (keep the tables below in step with it).

    tests/fuzz/make-corpus-bus-options.py tests/fuzz/corpus/bus-options
"""

import os
import struct
import sys

KEYS = ['handle', 'rootfs', 'bind_mounts', 'grace_time', 'network', 'properties', 'env', 'memory_limit',
        'cpu_weight', 'pids_limit', 'disk_limit', 'bandwidth', 'disk_inode_limit',
        'user', 'privileged', 'dir', 'rlimits', 'tty', 'tty_rows', 'tty_cols', 'stdin', 'stdout', 'stderr',
        'discard_output']
SIGS = ['s', 'a(ssb)', 'u', 'a{ss}', 'as', 't', '(tt)', 'b', 'a{st}', 'q', 'h',
        'i', 'y', 'n', 'x', 'd', 'o', 'g', 'v', 'ay', 'at', 'a{sv}',
        '(ss)', 'aas', 'a(ss)', '(ssb)', '(t)', 'a{ts}', 'a{sh}', 'ah', 'a(sss)', '(tt)t']
CREATE, SPAWN, RUN, OBJ_SPAWN, OBJ_RUN, RAW = range(6)


def string(s):
    if isinstance(s, str):
        s = s.encode()
    if len(s) < 254:
        return bytes([len(s)]) + s
    return b'\xff' + struct.pack('<H', len(s)) + s


def repeat(ch, n):
    return b'\xfe' + ch.encode() + struct.pack('<H', n)


def key(k):
    if k in KEYS:
        return bytes([KEYS.index(k)])
    return b'\xff' + string(k)


def sig(s):
    if s in SIGS:
        return bytes([SIGS.index(s)])
    return b'\xff' + string(s)


def u(v, n):
    return v.to_bytes(n, 'little')


def strings(*l):
    return bytes([len(l)]) + b''.join(string(s) for s in l)


def entry(k, s, value):
    return key(k) + sig(s) + value


def create(*entries):
    return bytes([CREATE]) + b''.join(entries)


def spawn(argv, *entries, mode=SPAWN, handle=None):
    head = bytes([mode])
    if mode in (SPAWN, RUN):
        head += b'\xc0' + string(handle) if handle is not None else b'\x00'
    return head + strings(*argv) + b''.join(entries)


CORPUS = {
    # Create
    'create-empty': create(),
    'create-handle': create(entry('handle', 's', string('web-1'))),
    'create-handle-taken': create(entry('handle', 's', string('box'))),
    'create-handle-65': create(entry('handle', 's', repeat('h', 65))),
    'create-handle-slash': create(entry('handle', 's', string('a/b'))),
    'create-full': create(
        entry('handle', 's', string('full')),
        entry('rootfs', 's', string('/usr')),
        entry('bind_mounts', 'a(ssb)', bytes([2]) + string('/tmp') + string('/mnt/tmp') + b'\x01'
              + string('/etc') + string('/etc/host') + b'\x00'),
        entry('grace_time', 'u', u(0, 4)),
        entry('network', 's', string('10.254.0.9')),
        entry('properties', 'a{ss}', bytes([2]) + string('app') + string('web') + string('x') + string('')),
        entry('env', 'as', strings('LANG=C', 'A=')),
        entry('memory_limit', 't', u(512 << 20, 8)),
        entry('cpu_weight', 't', u(100, 8)),
        entry('pids_limit', 't', u(100, 8)),
        entry('disk_limit', 't', u(1 << 30, 8)),
        entry('disk_inode_limit', 't', u(65536, 8)),
        entry('bandwidth', '(tt)', u(1000000, 8) + u(65536, 8))),
    'create-rootfs-missing': create(entry('rootfs', 's', string('/nonexistent/rootfs'))),
    'create-rootfs-root': create(entry('rootfs', 's', string('/'))),
    'create-rootfs-comma': create(entry('rootfs', 's', string('/usr/a,b'))),
    'create-rootfs-4097': create(entry('rootfs', 's', repeat('a', 4097))),
    'create-bind-dotdot': create(entry('bind_mounts', 'a(ssb)', bytes([1]) + string('/tmp')
                                       + string('/mnt/../..') + b'\x00')),
    'create-bind-root-dest': create(entry('bind_mounts', 'a(ssb)', bytes([1]) + string('/tmp') + string('/')
                                          + b'\x00')),
    'create-bind-missing': create(entry('bind_mounts', 'a(ssb)', bytes([1]) + string('/nonexistent')
                                        + string('/mnt') + b'\x00')),
    'create-network-outside': create(entry('network', 's', string('192.168.0.1'))),
    'create-network-garbage': create(entry('network', 's', string('10.254.0.300'))),
    'create-properties-dup': create(entry('properties', 'a{ss}', bytes([2]) + string('a') + string('1')
                                          + string('a') + string('2'))),
    'create-properties-empty-key': create(entry('properties', 'a{ss}', bytes([1]) + string('') + string('1'))),
    'create-env-noequals': create(entry('env', 'as', strings('NOEQUALS'))),
    'create-cpu-weight-big': create(entry('cpu_weight', 't', u(20000, 8))),
    'create-memory-small': create(entry('memory_limit', 't', u(4096, 8))),
    'create-disk-inodes-alone': create(entry('disk_inode_limit', 't', u(100, 8))),
    'create-bandwidth-no-burst': create(entry('bandwidth', '(tt)', u(1000000, 8) + u(0, 8))),
    # regressions: a key given twice leaked the first value (fuzz-bus-options)
    'create-properties-twice': create(entry('properties', 'a{ss}', bytes([1]) + string('a') + string('1')),
                                      entry('properties', 'a{ss}', bytes([1]) + string('b') + string('2'))),
    'create-env-twice': create(entry('env', 'as', strings('A=1')), entry('env', 'as', strings('B=2'))),
    'create-handle-twice': create(entry('handle', 's', string('a')), entry('handle', 's', string('b'))),
    'create-wrong-type': create(entry('grace_time', 's', string('x'))),
    'create-wrong-type-variant': create(entry('handle', 'v', sig('s') + string('nested'))),
    'create-unknown-key': create(entry('bogus', 's', string('x'))),
    'create-spawn-key': create(entry('user', 's', string('root'))),
    'create-deep': create(entry('handle', 'a{sv}', bytes([1]) + string('k') + sig('v') + sig('v') + sig('aas')
                                + bytes([1]) + strings('x'))),
    # Spawn / Run
    'spawn-plain': spawn(['true']),
    'spawn-no-argv': spawn([]),
    'spawn-empty-argv0': spawn(['']),
    'spawn-no-such-container': spawn(['true'], handle='nope'),
    'spawn-bad-handle': spawn(['true'], handle='../x'),
    'spawn-handle-65': bytes([SPAWN]) + b'\xc0' + repeat('h', 65) + strings('true'),
    'spawn-full': spawn(['sh', '-c', 'echo hi'],
                        entry('user', 's', string('root')),
                        entry('privileged', 'b', b'\x01'),
                        entry('env', 'as', strings('A=1', 'PATH=/bin')),
                        entry('dir', 's', string('/tmp')),
                        entry('rlimits', 'a{st}', bytes([2]) + string('nofile') + u(1024, 8) + string('as')
                              + u(2**64 - 1, 8)),
                        entry('tty', 'b', b'\x01'),
                        entry('tty_rows', 'q', u(50, 2)),
                        entry('tty_cols', 'q', u(132, 2)),
                        entry('stdout', 'h', b''),
                        entry('stdin', 'h', b'')),
    'spawn-discard': spawn(['true'], entry('discard_output', 'b', b'\x01')),
    'spawn-discard-stdout': spawn(['true'], entry('discard_output', 'b', b'\x01'), entry('stdout', 'h', b'')),
    'spawn-user-privileged': spawn(['true'], entry('user', 's', string('vcap')), entry('privileged', 'b', b'\x01')),
    'spawn-user-empty': spawn(['true'], entry('user', 's', string(''))),
    'spawn-dir-relative': spawn(['true'], entry('dir', 's', string('relative'))),
    'spawn-dir-dotdot': spawn(['true'], entry('dir', 's', string('/a/../b'))),
    'spawn-env-eq-first': spawn(['true'], entry('env', 'as', strings('=x'))),
    'spawn-rlimit-unknown': spawn(['true'], entry('rlimits', 'a{st}', bytes([1]) + string('bogus') + u(1, 8))),
    'spawn-rlimit-twice': spawn(['true'], entry('rlimits', 'a{st}', bytes([2]) + string('nofile') + u(1, 8)
                                                + string('nofile') + u(2, 8))),
    'spawn-rlimit-all': spawn(['true'], entry('rlimits', 'a{st}', bytes([16]) + b''.join(
        string(n) + u(1, 8) for n in ['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice',
                                      'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']))),
    'spawn-env-twice': spawn(['true'], entry('env', 'as', strings('A=1')), entry('env', 'as', strings('B=2'))),
    'spawn-stdin-twice': spawn(['true'], entry('stdin', 'h', b''), entry('stdin', 'h', b'')),
    'spawn-stdout-twice': spawn(['true'], entry('stdout', 'h', b''), entry('stdout', 'h', b'')),
    'spawn-tty-rows-no-tty': spawn(['true'], entry('tty_rows', 'q', u(10, 2))),
    'spawn-tty-stdin-only': spawn(['true'], entry('tty', 'b', b'\x01'), entry('stdin', 'h', b'')),
    'spawn-user-wrong-type': spawn(['true'], entry('user', 'u', u(0, 4))),
    'spawn-stdout-wrong-type': spawn(['true'], entry('stdout', 'i', u(1, 4))),
    'spawn-create-key': spawn(['true'], entry('handle', 's', string('x'))),
    'run-plain': spawn(['true'], mode=RUN),
    'run-object': spawn(['true'], entry('env', 'as', strings('A=1')), mode=OBJ_RUN),
    'spawn-object': spawn(['ls', '-l'], entry('dir', 's', string('/')), mode=OBJ_SPAWN),
    'spawn-object-long-argv': bytes([OBJ_SPAWN]) + bytes([3]) + repeat('a', 16000) + repeat('b', 16000)
    + repeat('c', 16000),
    # a body of the wrong signature
    'raw-create-a{ss}': bytes([RAW, 0]) + string('a{ss}') + bytes([1]) + string('handle') + string('x'),
    'raw-spawn-s': bytes([RAW, 1]) + string('s') + string('box'),
    'raw-run-empty': bytes([RAW, 2]) + string(''),
    'raw-run-extra': bytes([RAW, 2]) + string('sasa{sv}u') + string('box') + strings('true') + b'\x00'
    + u(7, 4),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in CORPUS.items():
        with open(os.path.join(out, name.replace('{', '(').replace('}', ')')), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
