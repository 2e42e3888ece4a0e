#!/usr/bin/env python3
"""Writes the small seed corpora for the fuzz targets (run from anywhere).

The seeds are committed; this script documents how they were made and
regenerates them after a format change.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def fnv1a(b):
    h = 2166136261
    for x in b:
        h = ((h ^ x) * 16777619) & 0xFFFFFFFF
    return h


def event(key, payload, version=1, time_us=1764160000000000, csum=None,
          magic=0x4556, fmt=1, flags=0, key_len=None, payload_len=None):
    c = fnv1a(payload) if csum is None else csum
    kl = len(key) if key_len is None else key_len
    pl = len(payload) if payload_len is None else payload_len
    hdr = struct.pack('<HBBHHIIQq', magic, fmt, flags, kl, 0, pl, c,
                      version, time_us)
    return hdr + key + payload


def frame(ftype, payload, magic=0x4C48, ver=1, length=None):
    n = len(payload) if length is None else length
    return struct.pack('<HBBI', magic, ver, ftype, n) + payload


def write(target, name, data):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def main():
    ev = event(b'user:42', b'{"name":"ada"}', version=7)
    write('fuzz_event', 'valid_small', ev)
    write('fuzz_event', 'valid_empty_payload', event(b'k', b''))
    write('fuzz_event', 'valid_max_key', event(b'K' * 256, b'v' * 100))
    write('fuzz_event', 'valid_trailing', ev + b'\x00\x01\x02')
    write('fuzz_event', 'bad_checksum', event(b'key', b'value', csum=1))
    write('fuzz_event', 'bad_magic', event(b'key', b'v', magic=0x5645))
    write('fuzz_event', 'bad_version', event(b'key', b'v', fmt=2))
    write('fuzz_event', 'bad_flags', event(b'key', b'v', flags=1))
    write('fuzz_event', 'key_len_zero', event(b'', b'v'))
    write('fuzz_event', 'payload_len_huge',
          event(b'key', b'v', payload_len=0xFFFFFFFF))
    write('fuzz_event', 'truncated', ev[:40])

    frames = frame(1, ev) + frame(2, b'') + frame(3, b'hello')
    # Byte 0: max payload selector (0 default); byte 1: chunk bound.
    write('fuzz_frame', 'three_frames_default', b'\x00\x00' + frames)
    write('fuzz_frame', 'three_frames_chunked', b'\x00\x07' + frames)
    write('fuzz_frame', 'small_max_toobig',
          b'\x01\x03' + frame(1, b'x' * 16) + frame(1, b'y' * 17))
    write('fuzz_frame', 'bad_magic_after_frame',
          b'\x00\x02' + frame(1, b'ok') + frame(1, b'no', magic=0x484C))
    write('fuzz_frame', 'bad_version',
          b'\x00\x01' + frame(9, b'abc', ver=2))
    write('fuzz_frame', 'incomplete_tail',
          b'\x00\x05' + frame(4, b'abcd') + frame(5, b'efgh')[:10])


if __name__ == '__main__':
    main()
