#!/bin/sh
# bench_localise.sh - time to localise: for a 64 B/event reachable leak
# planted in each stage of the built-in pipeline, the seconds and the runs
# that the auto, bisect and linear strategies take to name that stage,
# live (one target, its stages switched under it: docs/protocol.md
# section 5) against --restart (a target per configuration), in the same
# run.
#
#   leak-hunt hunt --strategy S [--restart] --inject STAGE:reachable:64
#                  --work W --timeout 300 --json FILE
#
# The tools are leak-hunt's own choice in both modes: live, every search
# run is a segment of one live run under the heap tool (its segments give
# the sites too), then memcheck for the kind in a run of its own;
# restarted, rss for the search, the heap tool on the culprit's
# configuration (300k events) and memcheck for the kind (4 leak
# searches).  Every search run stops once decided (two agreeing looks:
# every 0.3 s of a live segment, every 50k events restarted).  Seconds
# are report.json's elapsed_seconds (the whole hunt, memcheck included)
# and verdict_seconds (until the culprits and their sites were known,
# before memcheck's run), runs its run_count; "correct" means exit 1 with
# culprit exactly [STAGE].  W is the per-run budget (300000; quick
# 200000), a limit now that runs stop once decided.  The rpc stage (the
# story's) is hunted BENCH_LOC_REPS times (3; quick 1) and the medians are
# printed; other stages once each, in stage-major order, each strategy
# live then restarted, so that a change of load spreads over both.
#
# Environment: LH_BENCH_BIN, LH_BENCH_QUICK, LH_BENCH_OUT (bench_lib.sh);
# BENCH_LOC_WORK, BENCH_LOC_REPS, BENCH_LOC_AUTO_REPS (default: the same
# as BENCH_LOC_REPS), BENCH_LOC_STAGES, BENCH_LOC_STRATEGIES,
# BENCH_LOC_MODES (live restart).
set -eu
. "$(dirname "$0")/bench_lib.sh"

work=${BENCH_LOC_WORK:-$(quick_or 200000 300000)}
reps=${BENCH_LOC_REPS:-$(quick_or 1 3)}
stages=${BENCH_LOC_STAGES:-$(quick_or rpc "forward hash enqueue verify rpc")}
strategies=${BENCH_LOC_STRATEGIES:-auto bisect linear}
modes=${BENCH_LOC_MODES:-live restart}
# auto takes about a minute restarted (4-5 search runs, the heap
# confirmation and memcheck's kind); BENCH_LOC_AUTO_REPS can bound its reps.
auto_reps=${BENCH_LOC_AUTO_REPS:-$reps}
tsv=$bench_out/localise.tsv
: >"$tsv"
echo "bench_localise: 64 B/event reachable leak, --work $work; stages: $stages; strategies: $strategies; modes: $modes; rpc x$reps; load $(loadavg)"

# one STAGE STRATEGY MODE REP: a hunt, printed and added to the table
one() {
    j=$bench_out/localise-$1-$2-$3-$4.json
    flag=
    [ "$3" = restart ] && flag=--restart
    rc=0
    load0=$(cut -d' ' -f1 /proc/loadavg)
    "$leak_hunt" hunt --strategy "$2" $flag --inject "$1:reachable:64" \
        --work "$work" --timeout 300 --quiet --json "$j" \
        >"$j.out" 2>"$j.err" || rc=$?
    secs=$(jget "$j" 'round(d["elapsed_seconds"], 1)')
    vsecs=$(jget "$j" 'round(d.get("verdict_seconds", d["elapsed_seconds"]), 1)')
    runs=$(jget "$j" 'd["run_count"]')
    culprit=$(jget "$j" 'd["culprit"]')
    ok=no
    [ "$rc" = 1 ] && [ "$culprit" = "$1" ] && ok=yes
    printf '  %-8s %-7s %-7s rep %d: %7s s (verdict %6s s) %3s runs, culprit [%s], exit %d, correct %s, mode %s (load %s)\n' \
        "$1" "$2" "$3" "$4" "$secs" "$vsecs" "$runs" "$culprit" "$rc" "$ok" \
        "$(jget "$j" 'd["mode"]')" "$load0"
    [ "$rc" -le 3 ] || tail -3 "$j.err" >&2
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$secs" "$vsecs" \
        "$runs" "$ok" >>"$tsv"
}

for stage in $stages; do
    n=1
    [ "$stage" = rpc ] && n=$reps
    i=1
    while [ "$i" -le "$n" ]; do
        for s in $strategies; do
            [ "$s" = auto ] && [ "$i" -gt "$auto_reps" ] && continue
            for mode in $modes; do
                one "$stage" "$s" "$mode" "$i"
            done
        done
        i=$((i + 1))
    done
done
python3 - "$tsv" "$stages" "$strategies" "$modes" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
stages, strategies, modes = (a.split() for a in sys.argv[2:5])
def med(v):
    v = [float(x) for x in v if x not in ("?", "")]
    return statistics.median(v) if v else float("nan")
def sel(st=None, s=None, m=None):
    return [x for x in rows if (st is None or x[0] == st) and
            (s is None or x[1] == s) and (m is None or x[2] == m)]
cols = [(s, m) for s in strategies for m in modes]
print("bench_localise: stage    " + "".join("%-32s" % ("%s %s" % c) for c in cols))
for st in stages:
    cells = []
    for s, m in cols:
        r = sel(st, s, m)
        ok = sum(1 for x in r if x[6] == "yes")
        cells.append("%5.1f s (%5.1f) %3.1f runs %d/%d" % (
            med([x[3] for x in r]), med([x[4] for x in r]),
            med([x[5] for x in r]), ok, len(r)))
    print("bench_localise: %-8s %s" % (st, "".join("%-32s" % c for c in cells)))
# Live against restarted, each strategy: the median over the stages of
# the per-stage median times (whole hunt, and until the verdict).
if "live" in modes and "restart" in modes:
    for s in strategies:
        for k, what in ((3, "whole hunt"), (4, "until the verdict")):
            q = []
            for st in stages:
                lv = med([x[k] for x in sel(st, s, "live")])
                rs = med([x[k] for x in sel(st, s, "restart")])
                if rs > 0:
                    q.append(lv / rs)
            if q:
                print("bench_localise: %s live/restart, %s: median over "
                      "stages %.2f (min %.2f, max %.2f)"
                      % (s, what, statistics.median(q), min(q), max(q)))
# Ratios against linear (the story's method), each mode, over all stages.
if "linear" in strategies:
    for m in modes:
        lin = {st: med([x[3] for x in sel(st, "linear", m)]) for st in stages}
        for s in strategies:
            if s == "linear":
                continue
            q = [med([x[3] for x in sel(st, s, m)]) / lin[st]
                 for st in stages if lin[st] > 0]
            if q:
                print("bench_localise: %s: time %s/linear: median over "
                      "stages %.2f (min %.2f, max %.2f)"
                      % (m, s, statistics.median(q), min(q), max(q)))
PY
echo "bench_localise: (seconds: whole hunt, in parentheses until the verdict; medians; k/n = hunts that named the planted stage); load after $(loadavg)"
