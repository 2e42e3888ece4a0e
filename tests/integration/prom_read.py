#!/usr/bin/env python3
"""prom_read.py URL SELECTOR... - scrape URL with a real HTTP client
(urllib), check the answer (status 200, Content-Type text/plain;
version=0.0.4, every line of the text exposition format 0.0.4 well
formed: HELP and TYPE once per family and before its samples, a family
in one piece, counters named *_total, values numbers), then print one
line per SELECTOR:

  NAME{label="v",...}   the sum of the samples of NAME whose labels
                        include those given ("" matches a missing label);
                        "none" when there is none
  stages:NAME           the `stages` labels of NAME's samples at 1,
                        sorted, joined by " " (each list's names sorted)

Exit 1 with a message on any defect (the line and the reason)."""
import re
import sys
import urllib.request

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def fail(msg):
    print("prom_read: " + msg, file=sys.stderr)
    sys.exit(1)


def labels_of(text, where):
    out, pos = {}, 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            fail("%s: bad labels %r" % (where, text))
        out[m.group(1)] = m.group(2)
        pos = m.end()
    return out


def parse(body):
    samples, types, done, current = [], {}, set(), None
    for n, line in enumerate(body.split("\n"), 1):
        where = "line %d" % n
        if line == "":
            continue
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4:
                fail("%s: %r" % (where, line))
            name = parts[2]
            if name != current:
                if name in done:
                    fail("%s: family %s split" % (where, name))
                if current is not None:
                    done.add(current)
                current = name
            if parts[1] == "TYPE":
                if name in types:
                    fail("%s: second TYPE for %s" % (where, name))
                if parts[3] not in ("counter", "gauge"):
                    fail("%s: type %s" % (where, parts[3]))
                if parts[3] == "counter" and not name.endswith("_total"):
                    fail("%s: counter %s not named *_total" % (where, name))
                types[name] = parts[3]
            continue
        if line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m:
            fail("%s: not a sample: %r" % (where, line))
        name = m.group(1)
        if name != current or name not in types:
            fail("%s: sample of %s outside its family" % (where, name))
        try:
            value = float(m.group(4))
        except ValueError:
            fail("%s: value %r" % (where, m.group(4)))
        samples.append((name, labels_of(m.group(3) or "", where), value))
    return samples


def main():
    if len(sys.argv) < 2:
        fail("usage: prom_read.py URL SELECTOR...")
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
            ctype = r.headers.get("Content-Type", "")
            body = r.read().decode("utf-8")
    except Exception as e:  # the message names the cause
        fail("cannot scrape %s: %s" % (sys.argv[1], e))
    if not ctype.startswith("text/plain; version=0.0.4"):
        fail("Content-Type %r" % ctype)
    samples = parse(body)
    for sel in sys.argv[2:]:
        if sel.startswith("stages:"):
            name = sel[7:]
            got = sorted(",".join(sorted(l["stages"].split(",")))
                         for n, l, v in samples if n == name and v == 1)
            print(" ".join(got) if got else "none")
            continue
        m = re.match(r'^([^{]+)(\{(.*)\})?$', sel)
        want = labels_of(m.group(3) or "", sel)
        vals = [v for n, l, v in samples if n == m.group(1) and
                all(l.get(k, "") == w for k, w in want.items())]
        print("%.17g" % sum(vals) if vals else "none")


main()
