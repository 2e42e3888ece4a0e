#!/usr/bin/env python3
"""metrics_service.py: a small service of ours that serves Prometheus
metrics, for leak-hunt's tests of --metrics, --work-metric, --memory-metric
and watch mode (docs/protocol.md, Prometheus metrics).

It does units of work at --rate a second.  While the stage named by
--leak-stage is on (always, when --leak-stage is not given), each unit keeps
--leak bytes for ever (a real leak: bytearrays, so RSS grows too); otherwise
what a unit allocates is freed.  GET /metrics serves, in the text format
0.0.4:

  lh_test_work_total          counter  units done since the (re)start
  lh_test_heap_bytes          gauge    bytes the leak holds
  process_resident_memory_bytes gauge  RSS from /proc/self/status
  process_start_time_seconds  gauge    changes on a restart
  leakhunt_stages{stages=...} 1        the stages run now ("-": none;
                                       left out with --no-stages-metric)
  lh_test_requests_total{code=...}     two series (for selector tests)
  lh_test_connections_total   counter  TCP connections accepted
  lh_test_latency_seconds     histogram, and --extra-series gauges

Stages come from --stages, else LEAKHUNT_STAGES; they change with
  POST /stages      body: the new list (empty or "-": none)
  the control file  --control FILE, else LEAKHUNT_CONTROL: read every
                    100 ms, one line, as in live switching (protocol
                    section 5).
Misbehaviour, at start (--mode) or at run time (POST /mode, body: the
mode): ok, 404 (every GET answers 404), garbage (a body that is not the
format), html (an HTML page as text/html), slow (answers after 5 s), big
(a 4 MiB body, without Content-Length).  POST /restart (or --restart-after S, once) starts the
counter again from 0, drops what the leak held, and moves the start time:
what a restarted service looks like from outside.

The port (0: any free one) is written to --port-file once listening.
With --tls CERT KEY it serves https.  SIGTERM or SIGINT stop it.
"""
import argparse
import http.server
import os
import re
import signal
import socketserver
import ssl
import sys
import threading
import time

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,31}$")


def parse_list(text):
    """A stage list (protocol section 1) as a tuple, or None if bad."""
    text = text.strip()
    if text in ("", "-"):
        return ()
    names = text.split(",")
    if len(set(names)) != len(names):
        return None
    if any(not NAME_RE.match(n) or n == "-" for n in names):
        return None
    return tuple(names)


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.mode = args.mode
        stages = args.stages
        if stages is None:
            stages = os.environ.get("LEAKHUNT_STAGES", "")
        self.stages = parse_list(stages) or ()
        self.control = args.control or os.environ.get("LEAKHUNT_CONTROL")
        self.control_seen = None
        self.connections = 0
        self.restart()

    def restart(self):
        self.work = 0
        self.kept = []
        self.kept_bytes = 0
        self.start_time = time.time()

    def leaking(self):
        leak_stage = self.args.leak_stage
        return leak_stage is None or leak_stage in self.stages

    def unit(self):
        with self.lock:
            self.work += 1
            if self.args.leak > 0 and self.leaking():
                self.kept.append(bytearray(self.args.leak))
                self.kept_bytes += self.args.leak

    def read_control(self):
        if not self.control:
            return
        try:
            with open(self.control) as f:
                text = f.read()
        except OSError:
            return
        if text == self.control_seen:
            return
        self.control_seen = text
        stages = parse_list(text.split("\n")[0])
        if stages is None:
            print("metrics_service: refused stage list %r" % text,
                  file=sys.stderr, flush=True)
            return
        with self.lock:
            self.stages = stages


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def exposition(st):
    with st.lock:
        work, held, start = st.work, st.kept_bytes, st.start_time
        stages = ",".join(st.stages) or "-"
        conns = st.connections
    out = [
        "# HELP lh_test_work_total Units of work done (a test service).",
        "# TYPE lh_test_work_total counter",
        "lh_test_work_total %d" % work,
        "# HELP lh_test_heap_bytes Bytes the leak holds.",
        "# TYPE lh_test_heap_bytes gauge",
        "lh_test_heap_bytes %d" % held,
        "# HELP process_resident_memory_bytes Resident memory size in bytes.",
        "# TYPE process_resident_memory_bytes gauge",
        "process_resident_memory_bytes %d" % rss_bytes(),
        "# HELP process_start_time_seconds Start time since the epoch.",
        "# TYPE process_start_time_seconds gauge",
        "process_start_time_seconds %.3f" % start,
    ]
    if not st.args.no_stages_metric:
        out += [
            "# HELP leakhunt_stages The stages run now.",
            "# TYPE leakhunt_stages gauge",
            'leakhunt_stages{stages="%s"} 1' % stages,
        ]
    out += [
        "# HELP lh_test_requests_total Requests, by code \\\\ \"quoted\".",
        "# TYPE lh_test_requests_total counter",
        'lh_test_requests_total{code="200",path="/a\\"b\\\\c"} %d' % work,
        'lh_test_requests_total{code="500",path="/"} 0',
        "# HELP lh_test_connections_total TCP connections accepted.",
        "# TYPE lh_test_connections_total counter",
        "lh_test_connections_total %d" % conns,
        "# TYPE lh_test_latency_seconds histogram",
        'lh_test_latency_seconds_bucket{le="0.1"} %d' % work,
        'lh_test_latency_seconds_bucket{le="+Inf"} %d' % work,
        "lh_test_latency_seconds_sum %.6e" % (work * 0.01),
        "lh_test_latency_seconds_count %d" % work,
    ]
    if st.args.extra_series:
        out.append("# TYPE lh_test_extra gauge")
        for i in range(st.args.extra_series):
            out.append('lh_test_extra{id="%d",kind="filler"} %d' % (i, i))
    return ("\n".join(out) + "\n").encode()


def body_for(st):
    """(status, content type, body[, send Content-Length]) for GET /metrics
    in the current mode."""
    mode = st.mode
    if mode == "404":
        return 404, "text/plain", b"404 page not found\n"
    if mode == "garbage":
        return 200, "text/plain; version=0.0.4", b"this is { not metrics\n"
    if mode == "html":
        return 200, "text/html", b"<html><body>metrics</body></html>\n"
    if mode == "slow":
        time.sleep(5)
    if mode == "big":  # no Content-Length: the size is known only at the end
        line = b"# filler " + b"x" * 1013 + b"\n"
        return 200, "text/plain; version=0.0.4", line * 4096, False
    return 200, "text/plain; version=0.0.4; charset=utf-8", exposition(st)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the scraper reuses it
    # Headers and body go out in two writes: without TCP_NODELAY the body
    # waits for the client's delayed ACK (40 ms a scrape).
    disable_nagle_algorithm = True

    def log_message(self, fmt, *a):
        pass

    def setup(self):
        super().setup()
        with self.server.state.lock:
            self.server.state.connections += 1

    def answer(self, status, ctype, body, length=True):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        st = self.server.state
        if self.path.split("?")[0] != "/metrics":
            return self.answer(404, "text/plain", b"not found\n")
        self.answer(*body_for(st))

    def do_POST(self):
        st = self.server.state
        n = int(self.headers.get("Content-Length") or 0)
        text = self.rfile.read(n).decode(errors="replace").strip()
        if self.path == "/stages":
            stages = parse_list(text)
            if stages is None:
                return self.answer(400, "text/plain", b"bad stage list\n")
            with st.lock:
                st.stages = stages
        elif self.path == "/mode":
            if text not in ("ok", "404", "garbage", "html", "slow", "big"):
                return self.answer(400, "text/plain", b"bad mode\n")
            st.mode = text
        elif self.path == "/restart":
            with st.lock:
                st.restart()
        else:
            return self.answer(404, "text/plain", b"not found\n")
        self.answer(200, "text/plain", b"ok\n")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def worker(st, stop):
    """Units at --rate a second; the control file; --restart-after."""
    t0 = time.time()
    n = 0
    restarted = False
    next_control = 0.0
    while not stop.is_set():
        now = time.time()
        if now >= next_control:
            st.read_control()
            next_control = now + 0.1
        ra = st.args.restart_after
        if ra is not None and not restarted and now - t0 >= ra:
            with st.lock:
                st.restart()
            restarted = True
        due = int((now - t0) * st.args.rate)
        while n < due:
            st.unit()
            n += 1
        stop.wait(0.01)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--leak", type=int, default=0,
                    help="bytes kept per unit (0: clean)")
    ap.add_argument("--leak-stage")
    ap.add_argument("--stages")
    ap.add_argument("--control")
    ap.add_argument("--mode", default="ok",
                    choices=("ok", "404", "garbage", "html", "slow", "big"))
    ap.add_argument("--restart-after", type=float)
    ap.add_argument("--extra-series", type=int, default=0)
    ap.add_argument("--no-stages-metric", action="store_true",
                    help="do not say the stages run (leakhunt_stages)")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = ap.parse_args()

    st = State(args)
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.state = st
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=worker, args=(st, stop), daemon=True).start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(tmp, args.port_file)
    srv.serve_forever(poll_interval=0.1)
    srv.server_close()


if __name__ == "__main__":
    main()
