#!/usr/bin/env python3
"""badinput_probe.py - a hostile (or a well-behaved) raw client for a B node
or the store of the selfheal pipeline.

    badinput_probe.py b|store PORT ATTACK [TOKEN]

connects to 127.0.0.1:PORT, sends what ATTACK names (see ATTACKS below),
then waits for the server to close the connection.  Prints one line and
exits 0 when the outcome is the expected one for the attack:

  - a bad or refused attack: the server closes the connection (EOF or a
    reset) within WAIT seconds (the store may first send its DENIED reply);
  - "ok" (a HELLO with TOKEN for B, an AUTH with TOKEN then a PING for the
    store): B keeps the connection open for KEEP seconds; the store answers
    the PING with status 0.

Wire formats: core/frame.h and stages/proto.h (B), repro/rpc/rpc.h (store).
"""
import os
import socket
import struct
import sys
import time

WAIT = 8.0   # seconds a bad connection may stay open (auth timeouts are 5)
KEEP = 1.0   # seconds a good B connection must stay open


def lh_frame(ftype, payload, magic=0x4C48, version=1, length=None):
    n = len(payload) if length is None else length
    return struct.pack("<HBBI", magic, version, ftype, n) + payload


def hello(token=b""):
    return lh_frame(1, struct.pack("<B3xI", 1, 0) + token)  # from A, id 0


def rpc_msg(kind, rid, method, body=b"", magic=0x5250, version=1,
            length=None):
    n = len(body) if length is None else length
    return struct.pack("<HBBIBBHI", magic, version, kind, rid, method, 0, 0,
                       n) + body


def garbage():
    # 64 random bytes that cannot start either magic.
    b = bytearray(os.urandom(64))
    b[0] = 0x00
    return bytes(b)


def b_attacks(token):
    t = token.encode()
    return {
        "garbage": garbage(),
        "magic": lh_frame(1, struct.pack("<B3xI", 1, 0), magic=0x5859),
        "version": lh_frame(1, struct.pack("<B3xI", 1, 0), version=9),
        # oversize before the HELLO (B allows a small HELLO only) ...
        "oversize": lh_frame(1, b"", length=0xFFFFFFF0),
        # ... and after it (over the 4 MiB frame limit)
        "oversize-after-hello": hello(t) + lh_frame(2, b"",
                                                    length=(4 << 20) + 1),
        "events-first": lh_frame(2, b"\0" * 12),
        "bad-hello": lh_frame(1, struct.pack("<B3xI", 7, 0)),
        "no-token": hello(),
        "wrong-token": hello(b"x" + t),
        "silent": b"",
        "ok": hello(t),
    }


def store_attacks(token):
    t = token.encode()
    return {
        "garbage": garbage(),
        "magic": rpc_msg(1, 1, 3, magic=0x5859),
        "version": rpc_msg(1, 1, 3, version=9),
        "oversize": rpc_msg(1, 1, 3, length=(1 << 20) + 1),
        "reply-kind": rpc_msg(2, 1, 3),
        "no-token": rpc_msg(1, 1, 3),
        "wrong-token": rpc_msg(1, 0, 255, b"x" + t),
        "long-token": rpc_msg(1, 0, 255, b"y" * 300),
        "silent": b"",
        "ok": rpc_msg(1, 0, 255, t) + rpc_msg(1, 7, 3),
    }


def wait_closed(s, deadline):
    """True when the peer closed (EOF or reset) before the deadline."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        s.settimeout(left)
        try:
            data = s.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not data:
            return True


def read_exact(s, n, deadline):
    buf = b""
    while len(buf) < n:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def main():
    if len(sys.argv) not in (4, 5) or sys.argv[1] not in ("b", "store"):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    role, port, attack = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    token = sys.argv[4] if len(sys.argv) == 5 else ""
    table = b_attacks(token) if role == "b" else store_attacks(token)
    if attack not in table:
        print("unknown attack %s" % attack, file=sys.stderr)
        return 2
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        try:
            s.sendall(table[attack])
        except (ConnectionResetError, BrokenPipeError):
            pass  # closed while we were still sending: also a close
        if attack == "ok" and role == "b":
            closed = wait_closed(s, time.monotonic() + KEEP)
            print("%s %s: %s" % (role, attack, "closed" if closed
                                 else "kept open"))
            return 1 if closed else 0
        if attack == "ok":
            hdr = read_exact(s, 16, time.monotonic() + 5)
            _, _, kind, rid, _, status, _, n = struct.unpack("<HBBIBBHI", hdr)
            print("store ok: reply kind %d id %d status %d" % (kind, rid,
                                                             status))
            return 0 if (kind, rid, status) == (2, 7, 0) else 1
        t0 = time.monotonic()
        closed = wait_closed(s, t0 + WAIT)
        print("%s %s: %s after %.2f s" % (role, attack, "closed" if closed
                                          else "still open",
                                          time.monotonic() - t0))
        return 0 if closed else 1
    finally:
        s.close()


if __name__ == "__main__":
    sys.exit(main())
