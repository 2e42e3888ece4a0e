#!/usr/bin/env python3
"""report_check.py - checks a leak-hunt report directory (report_html.sh).

  report_check.py json  REPORT_DIR EXPECT        report.json has the fields
                                                 of docs/protocol.md s. 8
  report_check.py dom   REPORT_DIR DOM_FILE EXPECT  the DOM Chromium built
                                                 from report.html
  report_check.py png   PNG_FILE WIDTH HEIGHT    the screenshot shows charts

EXPECT is "leak:STAGE" (a hunt that must name STAGE, with the breakdown,
allocation sites and memcheck) or "clean" (one clean run).  Exits 1 with a
message on the first failed check.  Standard library only.
"""
import html.parser
import json
import math
import os
import struct
import sys
import urllib.parse
import zlib


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ---- report.json -----------------------------------------------------------

def check_json(rdir, expect):
    with open(os.path.join(rdir, "report.json")) as f:
        d = json.load(f)
    for k in ("verdict", "culprit", "elapsed_seconds", "runs"):
        check(k in d, "report.json lacks %r" % k)
    check(d["verdict"] in ("leak", "clean", "inconclusive", "error"),
          "bad verdict %r" % d["verdict"])
    check(isinstance(d["culprit"], list) and
          all(isinstance(s, str) for s in d["culprit"]),
          "culprit is not a list of names")
    check(is_num(d["elapsed_seconds"]) and d["elapsed_seconds"] > 0,
          "elapsed_seconds is not a positive number")
    runs = d["runs"]
    check(isinstance(runs, list) and runs, "runs is not a non-empty list")
    for i, r in enumerate(runs, 1):
        for k in ("enabled", "tool", "work", "seconds",
                  "slope_bytes_per_unit", "ci95", "verdict", "sites"):
            check(k in r, "run %d lacks %r" % (i, k))
        check(isinstance(r["enabled"], list) and
              all(isinstance(s, str) for s in r["enabled"]),
              "run %d: enabled is not a list of names" % i)
        check(r["tool"] in ("rss", "heap", "memcheck"),
              "run %d: tool %r" % (i, r["tool"]))
        for k in ("work", "seconds"):
            check(is_num(r[k]), "run %d: %s is not a number" % (i, k))
        check(r["seconds"] > 0, "run %d: no time" % i)
        check(r["work"] > 0 or r["verdict"] == "error",
              "run %d: no work" % i)
        # No slope (null) only when the run could not fit one.
        ci = r["ci95"]
        check(isinstance(ci, list) and len(ci) == 2,
              "run %d: ci95 is not a pair" % i)
        if r["slope_bytes_per_unit"] is None:
            check(r["verdict"] in ("inconclusive", "error") and
                  ci == [None, None],
                  "run %d: null slope with verdict %s, ci95 %r" %
                  (i, r["verdict"], ci))
        else:
            check(is_num(r["slope_bytes_per_unit"]),
                  "run %d: slope_bytes_per_unit is not a number" % i)
            check(all(map(is_num, ci)) and ci[0] <= ci[1],
                  "run %d: ci95 is not [low, high]" % i)
        check(r["verdict"] in ("leak", "clean", "inconclusive", "error"),
              "run %d: verdict %r" % (i, r["verdict"]))
        for s in r["sites"]:
            for k in ("function", "file", "line", "bytes_per_unit"):
                check(k in s, "run %d: a site lacks %r" % (i, k))
            check(isinstance(s["function"], str) and s["function"],
                  "run %d: a site has no function" % i)
            check(isinstance(s["line"], int), "run %d: line not int" % i)
            check(is_num(s["bytes_per_unit"]),
                  "run %d: site bytes_per_unit" % i)
    if expect == "clean":
        check(d["verdict"] == "clean", "verdict %r, not clean" % d["verdict"])
        check(d["culprit"] == [], "culprit %r for a clean run" % d["culprit"])
    else:
        stage = expect.split(":", 1)[1]
        check(d["verdict"] == "leak", "verdict %r, not leak" % d["verdict"])
        check(d["culprit"] == [stage], "culprit %r, not [%r]" %
              (d["culprit"], stage))
        leaking = [r for r in runs if r["verdict"] == "leak"]
        check(all(stage in r["enabled"] for r in leaking),
              "a leaking run without %s" % stage)
        sites = [s for r in runs for s in r["sites"]]
        check(sites, "no allocation sites in any run")
        top = max(sites, key=lambda s: s["bytes_per_unit"])
        check(top["line"] > 0 and top["file"], "top site has no file:line")
    print("report.json: verdict %s, culprit %s, %d runs, %.1f s" %
          (d["verdict"], d["culprit"], len(runs), d["elapsed_seconds"]))
    return d


# ---- the DOM -----------------------------------------------------------------

class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.text = [], ""

    def cls(self):
        return self.attrs.get("class", "").split()

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    def all_text(self):
        return self.text + "".join(c.all_text() for c in self.children)


VOID = {"meta", "br", "img", "hr", "input", "link", "col", "area", "base",
        "wbr", "source"}


class Tree(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [], None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.text += data


class Balance(html.parser.HTMLParser):
    """Every element report.html opens, it closes, in order."""
    def __init__(self):
        super().__init__()
        self.open, self.bad = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if self.open and self.open[-1] == tag:
            self.open.pop()
        else:
            self.bad.append("</%s> at line %d, open: %r" %
                            (tag, self.getpos()[0], self.open[-3:]))


def check_balanced(path):
    b = Balance()
    with open(path, encoding="utf-8") as f:
        b.feed(f.read())
    b.close()
    check(not b.bad, "%s: mismatched end tag %s" % (path, b.bad[:1]))
    check(not b.open, "%s: elements left open: %r" % (path, b.open))


def find(root, tag=None, cls=None, id_=None):
    return [n for n in root.walk()
            if (tag is None or n.tag == tag) and
            (cls is None or cls in n.cls()) and
            (id_ is None or n.attrs.get("id") == id_)]


def one(root, what, **kw):
    got = find(root, **kw)
    check(len(got) == 1, "expected one %s, found %d" % (what, len(got)))
    return got[0]


def points(poly):
    pts = []
    for p in poly.attrs.get("points", "").split():
        x, y = p.split(",")
        pts.append((float(x), float(y)))
    return pts


def check_svg_coords(svg, what):
    """Every polyline point lies inside the SVG's box and is finite."""
    w, h = float(svg.attrs["width"]), float(svg.attrs["height"])
    for poly in find(svg, tag="polyline"):
        for x, y in points(poly):
            check(math.isfinite(x) and math.isfinite(y) and
                  -1 <= x <= w + 1 and -1 <= y <= h + 1,
                  "%s: point %g,%g outside %gx%g" % (what, x, y, w, h))


def check_live_chart(root, d):
    """A live hunt: the whole live run on one chart, a band per segment
    labelled with its run number and configuration, one long series."""
    if d.get("mode") != "live":
        return
    last = max(r.get("live_run", 0) for r in d["runs"])
    segs = [(i, r) for i, r in enumerate(d["runs"], 1)
            if r.get("live_run") == last]
    lv = one(root, "live run chart", tag="svg", id_="live")
    bands = find(lv, tag="rect", cls="seg")
    check(len(bands) == len(segs), "live chart: %d bands for %d segments" %
          (len(bands), len(segs)))
    labels = [" ".join(x.all_text().split())
              for x in find(lv, tag="text", cls="seglabel")]
    for (i, r), lab in zip(segs, labels):
        want = "#%d %s" % (i, ",".join(r["enabled"]) or "(none)")
        check(lab.startswith(want), "live chart label %r, want %r" %
              (lab, want))
    polys = find(lv, tag="polyline", cls="series")
    check(len(polys) == 1 and len(points(polys[0])) >= 30,
          "live chart: not one long series")
    check_svg_coords(lv, "live chart")


def check_dom(rdir, dom_file, expect, target=None):
    with open(os.path.join(rdir, "report.json")) as f:
        d = json.load(f)
    check_balanced(os.path.join(rdir, "report.html"))
    t = Tree()
    with open(dom_file, encoding="utf-8") as f:
        t.feed(f.read())
    root = t.root
    check(find(root, tag="script") == [], "the report has a script")
    for n in root.walk():
        if "src" in n.attrs or n.tag == "link":
            fail("the report loads an external file: <%s %r>" %
                 (n.tag, n.attrs))

    verdict = one(root, "verdict paragraph", id_="verdict")
    vtext = " ".join(verdict.all_text().split())
    if expect == "clean":
        check(vtext.startswith("clean"), "verdict paragraph %r" % vtext)
    else:
        stage = expect.split(":", 1)[1]
        check(vtext.startswith("leak in stage " + stage),
              "verdict paragraph %r" % vtext)
    if target is not None:
        summary = find(root, tag="p", cls="summary")
        check(summary and target in summary[0].all_text(),
              "target %r not shown as text" % target)
        check(find(summary[0], tag="b") == [] and
              find(summary[0], tag="i") == [],
              "target name became markup: not escaped")

    # One chart per run, each with a long polyline.
    nruns = len(d["runs"])
    charts = find(root, tag="svg", cls="run-chart")
    check(len(charts) == nruns, "%d run charts for %d runs" %
          (len(charts), nruns))
    for i, svg in enumerate(charts, 1):
        polys = find(svg, tag="polyline", cls="series")
        check(len(polys) == 1, "run chart %d: %d series" % (i, len(polys)))
        n = len(points(polys[0]))
        check(n >= 15, "run chart %d: only %d points" % (i, n))
        ticks = find(svg, tag="text", cls="tick")
        check(len(ticks) >= 6, "run chart %d: %d tick labels" %
              (i, len(ticks)))
        titles = [" ".join(x.all_text().split())
                  for x in find(svg, tag="text", cls="title")]
        check(any(x.endswith("(MB)") or x.endswith("(KB)") or
                  x.endswith("(B)") for x in titles),
              "run chart %d: no memory axis with a unit: %r" % (i, titles))
        check(any(x in ("events", "work units", "seconds") for x in titles),
              "run chart %d: no work axis title: %r" % (i, titles))
        check_svg_coords(svg, "run chart %d" % i)
    fits = [svg for svg in charts if find(svg, tag="line", cls="fit")]
    check(fits, "no run chart has a fitted line")

    # The runs table: one row per run, every raw file linked, links resolve.
    table = one(root, "runs table", id_="runs")
    rows = find(table, tag="tr")[1:]
    check(len(rows) == nruns, "%d table rows for %d runs" %
          (len(rows), nruns))
    for i, (row, run) in enumerate(zip(rows, d["runs"]), 1):
        links = [a for a in find(row, tag="a")
                 if not a.attrs["href"].startswith("#")]
        folder = [a for a in links if "dir" in a.cls()]
        check(len(folder) == 1, "run %d: %d folder links" % (i, len(folder)))
        links = [a for a in links if "dir" not in a.cls()]
        files = sorted(f for f in os.listdir(run["dir"])
                       if not f.startswith("."))
        for a in folder + links:
            h = urllib.parse.unquote(a.attrs["href"])
            p = h if os.path.isabs(h) else os.path.join(rdir, h)
            check(os.path.exists(p), "run %d: link %r does not resolve" %
                  (i, a.attrs["href"]))
        check(os.path.samefile(os.path.join(
            rdir, urllib.parse.unquote(folder[0].attrs["href"])), run["dir"]),
            "run %d: the folder link is not the run's directory" % i)
        linked = [os.path.basename(urllib.parse.unquote(a.attrs["href"]))
                  for a in links]
        check(len(set(linked)) == len(linked) and set(linked) <= set(files),
              "run %d links %r, directory has %r" % (i, linked, files))
        # A long series (heap profiles) shows its first and last file and
        # how many there are: every file is accounted for.
        hidden = sum(int(s.attrs["data-count"]) - 2
                     for s in find(row, tag="span", cls="series-count"))
        check(len(linked) + hidden == len(files),
              "run %d: %d files linked and %d in series, directory has %d" %
              (i, len(linked), hidden, len(files)))
        check("samples.csv" in files, "run %d: no samples.csv" % i)

    if expect == "clean":
        check(find(root, tag="svg", id_="breakdown") == [],
              "a breakdown for a single run")
    else:
        stage = expect.split(":", 1)[1]
        bd = one(root, "breakdown chart", tag="svg", id_="breakdown")
        bars = find(bd, tag="rect", cls="bar")
        check(len(bars) == len(d["breakdown"]), "%d bars for %d stages" %
              (len(bars), len(d["breakdown"])))
        labels = [x.all_text() for x in find(bd, tag="text", cls="stage")]
        check(labels == [b["stage"] for b in d["breakdown"]],
              "breakdown labels %r" % labels)
        widths = {lab: float(b.attrs["width"]) for lab, b in zip(labels, bars)}
        check(widths[stage] == max(widths.values()) and widths[stage] > 50,
              "the culprit's bar is not the longest: %r" % widths)
        ov = one(root, "overlay chart", tag="svg", id_="overlay")
        polys = find(ov, tag="polyline", cls="series")
        check(len(polys) >= 2, "overlay has %d series" % len(polys))
        check(all(len(points(p)) >= 10 for p in polys),
              "an overlay series with few points")
        check_svg_coords(ov, "overlay")
        check_live_chart(root, d)
        sites = one(root, "sites table", id_="sites")
        first = " ".join(find(sites, tag="tr")[1].all_text().split())
        check(any(s["function"] in first for r in d["runs"]
                  for s in r["sites"]), "sites table row %r" % first)
        check(find(root, id_="other-errors"),
              "no list of memcheck's other errors")
    print("report.html: %d run charts (%s points), runs table with %d rows" %
          (len(charts), ",".join(str(len(points(find(s, tag="polyline")[0])))
                                 for s in charts), len(rows)))


# ---- the screenshot ------------------------------------------------------

def read_png(path):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB(A) PNG."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "%s is not a PNG" % path)
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    check(depth == 8 and ctype in (2, 6) and interlace == 0,
          "unexpected PNG format depth %d type %d" % (depth, ctype))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def blended(px, c):
    """True when px is colour c at 40-100% over a light grey background
    (white, the plot's #fafafa or the warm-up's #eeeeee)."""
    for bg in (255, 250, 238):
        d = [ci - bg for ci in c]
        norm = sum(v * v for v in d)
        a = sum((px[i] - bg) * d[i] for i in range(3)) / norm
        if a < 0.4 or a > 1.1:
            continue
        if sum(abs(px[i] - (bg + a * d[i])) for i in range(3)) < 30:
            return True
    return False


def check_png(path, want_w, want_h):
    w, h, bpp, rows = read_png(path)
    check((w, h) == (want_w, want_h), "screenshot is %dx%d, not %dx%d" %
          (w, h, want_w, want_h))
    # Pixels of the chart colours of runs 1-3 (red is also the leak bar),
    # solid or blended into a light background: a 1-pixel line that falls
    # between two pixel rows is drawn as two rows of half-strength colour
    # (a flat clean run's line half hidden under its fitted line drew 144
    # solid green pixels once, 190+ other times).  A page that drew no
    # chart has none.
    want = {"blue": (0x1f, 0x77, 0xb4), "red": (0xd6, 0x27, 0x28),
            "green": (0x2c, 0xa0, 0x2c)}
    count = dict.fromkeys(want, 0)
    white = 0
    for row in rows:
        for x in range(0, w * bpp, bpp):
            px = row[x], row[x + 1], row[x + 2]
            if px == (255, 255, 255):
                white += 1
                continue
            if min(px) >= 225 or max(px) - min(px) < 40:
                continue  # background, grey or black: no chart colour
            for name, c in want.items():
                if blended(px, c):
                    count[name] += 1
    check(white < w * h * 0.97, "the screenshot is blank")
    # (A legend swatch is 64 pixels; a drawn line is hundreds.)
    for name, n in count.items():
        check(n >= 150, "only %d %s pixels: a chart was not drawn" %
              (n, name))
    print("screenshot %dx%d: %d blue, %d red, %d green chart pixels" %
          (w, h, count["blue"], count["red"], count["green"]))


def main():
    if len(sys.argv) < 2:
        fail(__doc__)
    cmd = sys.argv[1]
    if cmd == "json" and len(sys.argv) == 4:
        check_json(sys.argv[2], sys.argv[3])
    elif cmd == "dom" and len(sys.argv) in (5, 6):
        check_dom(sys.argv[2], sys.argv[3], sys.argv[4],
                  sys.argv[5] if len(sys.argv) == 6 else None)
    elif cmd == "png" and len(sys.argv) == 5:
        check_png(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        fail(__doc__)


if __name__ == "__main__":
    main()
