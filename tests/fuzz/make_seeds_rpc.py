#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_rpc (tests/fuzz/corpus/fuzz_rpc/).

Input layout: see fuzz_rpc.c (byte 0: mode; 0/1 server without/with the
token "fuzz-token", 2 client replies, 3 rpc_value).  Wire format:
repro/rpc/rpc.h.  The seeds are committed; this script documents them.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus', 'fuzz_rpc')
TOKEN = b'fuzz-token'


def msg(kind, rid, method, body=b'', status=0, magic=0x5250, version=1,
        length=None):
    n = len(body) if length is None else length
    return struct.pack('<HBBIBBHI', magic, version, kind, rid, method,
                       status, 0, n) + body


def req(rid, method, body=b'', **kw):
    return msg(1, rid, method, body, **kw)


def rep(rid, status=0, body=b'', **kw):
    return msg(2, rid, 1, body, status=status, **kw)


def value(key, val, version=7, csum=0x1234, reserved=0):
    return struct.pack('<QIHHI', version, csum, len(key), reserved,
                       len(val)) + key + val


def auth(tok=TOKEN):
    return req(0, 255, tok)


SEEDS = {
    # mode 0: open server
    'srv_ping_get_put': b'\0' + req(1, 3) + req(2, 1, b'key') +
                        req(3, 2, value(b'key', b'value')),
    'srv_bad_magic': b'\0' + req(1, 3, magic=0x5859),
    'srv_bad_version': b'\0' + req(1, 3, version=2),
    'srv_oversize': b'\0' + req(1, 3, length=(1 << 20) + 1),
    'srv_reply_kind': b'\0' + rep(1),
    'srv_partial': b'\0' + req(1, 1, b'abcdef')[:20],
    'srv_put_bad_value': b'\0' + req(4, 2, value(b'k', b'v', reserved=1)),
    # mode 1: token server
    'tok_good': b'\1' + auth() + req(1, 3) + req(2, 1, b'k'),
    'tok_missing': b'\1' + req(1, 3),
    'tok_wrong': b'\1' + auth(b'fuzz-tokem'),
    'tok_long': b'\1' + auth(b'x' * 300),
    'tok_auth_twice': b'\1' + auth() + auth(b'other') + req(1, 3),
    # mode 2: client replies (byte 1: calls, byte 2: chunk seed)
    'cli_replies': b'\2\3\7' + rep(2, body=value(b'k', b'v')) + rep(1) +
                   rep(3, status=1),
    'cli_unknown_id': b'\2\1\1' + rep(99) + rep(1),
    'cli_denied': b'\2\2\5' + msg(2, 0, 255, status=4),
    'cli_bad_magic': b'\2\4\2' + rep(1) + rep(2, magic=0x1111),
    'cli_request_kind': b'\2\1\3' + req(1, 3),
    'cli_oversize': b'\2\1\4' + rep(1, length=(1 << 20) + 1),
    # mode 3: values
    'val_ok': b'\3' + value(b'key', b'value'),
    'val_empty': b'\3' + value(b'', b''),
    'val_trunc': b'\3' + value(b'key', b'value')[:-1],
    'val_extra': b'\3' + value(b'key', b'value') + b'!',
    'val_reserved': b'\3' + value(b'k', b'v', reserved=3),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
