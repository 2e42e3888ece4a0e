#!/usr/bin/env python3
"""selfheal_live.py CTL STATS LOG NODES SECONDS SEED

Drives a running `selfheal up` (started with LEAKHUNT_CONTROL=CTL and
LEAKHUNT_STATS=STATS, its stderr in LOG, NODES B nodes) through live stage
switches for about SECONDS seconds, the way leak-hunt does
(docs/protocol.md section 5), and checks the target's side of it:

  - every list is written as leak-hunt writes it: a temporary file in the
    same directory renamed over CTL, the names in a random order;
  - every B node's stats lines acknowledge it (stages=, compared as sets)
    within 2 s; until then a B node shows the list before it, never a
    third one;
  - a list that breaks the requirements, or names an unknown stage, is
    refused: every B node and A say so in LOG, and the B nodes' lines keep
    showing the running list for 1.5 s.

The sequence: a long enqueue segment (6 s) switched to a list without
enqueue (what is queued is due at once), the empty list, the refused
lists, then random valid lists (SEED) every 2 s, and last the full list.
Exits 0, or 1 with "FAIL: ..." on stderr.
"""
import itertools
import os
import random
import sys
import time

STAGES = ["forward", "hash", "enqueue", "verify", "rpc"]
ACK_S = 2.0
HOLD_S = 2.0


def fail(msg):
    sys.stderr.write("FAIL: %s\n" % msg)
    sys.exit(1)


def valid(s):
    if s and "forward" not in s:
        return False
    return "rpc" not in s or "verify" in s


CONFIGS = [frozenset(c) for n in range(len(STAGES) + 1)
           for c in itertools.combinations(STAGES, n) if valid(set(c))]


def show(s):
    return ",".join(x for x in STAGES if x in s) or "-"


class Stats:
    """The stats file, read as it grows: each B node's latest list."""

    def __init__(self, path, nodes):
        self.path, self.pos, self.rest = path, 0, b""
        self.roles = ["b%d" % i for i in range(nodes)]
        self.shown = {}

    def read(self):
        """New whole lines as (role, stages set) for the B nodes."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return []
        self.pos += len(data)
        data = self.rest + data
        lines = data.split(b"\n")
        self.rest = lines.pop()
        out = []
        for raw in lines:
            kv = dict(x.split("=", 1) for x in raw.decode().split(" "))
            if kv.get("role") not in self.roles:
                continue
            if "stages" not in kv:
                fail("a stats line without stages=: %r" % raw)
            st = kv["stages"]
            got = frozenset() if st == "-" else frozenset(st.split(","))
            self.shown[kv["role"]] = got
            out.append((kv["role"], got))
        return out


def write_ctl(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, path)


def switch(ctl, stats, prev, want, rng):
    """Writes `want` and waits for every B node to show it; returns the
    time that took."""
    names = list(want)
    rng.shuffle(names)
    stats.read()
    acked = set()
    t0 = time.monotonic()
    write_ctl(ctl, ",".join(names))
    while True:
        for role, got in stats.read():
            if got == want:
                acked.add(role)
            elif got != prev:
                fail("%s showed '%s' while switching from '%s' to '%s'"
                     % (role, show(got), show(prev), show(want)))
        if acked == set(stats.roles):
            return time.monotonic() - t0
        if time.monotonic() - t0 > ACK_S:
            late = sorted(set(stats.roles) - acked)
            fail("'%s' not acknowledged within %.0f s by %s (showing %s)"
                 % (show(want), ACK_S, ",".join(late),
                    ", ".join(show(stats.shown.get(r, frozenset()))
                              for r in late)))
        time.sleep(0.05)


def hold(stats, want, seconds):
    """For `seconds`, every B node's lines show `want`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for role, got in stats.read():
            if got != want:
                fail("%s showed '%s' while running '%s'"
                     % (role, show(got), show(want)))
        time.sleep(0.05)


def refused(ctl, stats, log, running, text, why, nodes):
    """Writes a list the nodes must refuse: the message in the log from
    every B node and A, and the running list shown all along."""
    with open(log, "rb") as f:
        f.seek(0, 2)
        start = f.tell()
    write_ctl(ctl, text)
    hold(stats, running, 1.5)
    with open(log, "rb") as f:
        f.seek(start)
        said = f.read().decode(errors="replace")
    for role in ["b%d" % i for i in range(nodes)] + ["a"]:
        line = ("selfheal %s: refusing stage list '%s' from %s: %s; keeping "
                % (role, text, ctl, why))
        if line not in said:
            fail("no refusal from %s in the log: want '%s...'; log:\n%s"
                 % (role, line, said))


def main():
    ctl, stats_path, log = sys.argv[1:4]
    nodes, seconds, seed = int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
    rng = random.Random(seed)
    stats = Stats(stats_path, nodes)
    full = frozenset(STAGES)
    # The full list is what up started with (CTL was there before it).
    deadline = time.monotonic() + 30
    while set(stats.shown) != set(stats.roles) or \
            any(v != full for v in stats.shown.values()):
        stats.read()
        if time.monotonic() > deadline:
            fail("the B nodes did not show '%s' within 30 s of start"
                 % show(full))
        time.sleep(0.1)
    t_start = time.monotonic()
    lats, cur = [], full
    plan = [frozenset(["forward", "hash", "enqueue", "verify"]),
            frozenset(["forward", "verify", "rpc"]), frozenset()]
    while True:
        if plan:
            want = plan.pop(0)
        else:
            want = rng.choice([c for c in CONFIGS if c != cur])
        lats.append(switch(ctl, stats, cur, want, rng))
        print("# %5.1f s: '%s' acknowledged in %.2f s"
              % (time.monotonic() - t_start, show(want), lats[-1]))
        cur = want
        # the long enqueue segment before the switch that ends it
        hold(stats, cur, 3 * HOLD_S - lats[-1] if "enqueue" in cur and
             len(lats) == 1 else HOLD_S - lats[-1])
        if len(lats) == 4:
            refused(ctl, stats, log, cur, "forward,rpc",
                    "stage 'rpc' requires 'forward,verify'", nodes)
            refused(ctl, stats, log, cur, "forward,bogus",
                    "unknown stage 'bogus' (stages: %s)" % ",".join(STAGES),
                    nodes)
            print("# refused lists: said by every node, '%s' kept"
                  % show(cur))
        if time.monotonic() - t_start >= seconds:
            break
    if cur != full:
        lats.append(switch(ctl, stats, cur, full, rng))
    print("# %d switches (seed %s), acknowledged in %.2f s at most"
          % (len(lats), seed, max(lats)))


if __name__ == "__main__":
    main()
