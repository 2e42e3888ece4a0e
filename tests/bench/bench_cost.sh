#!/bin/sh
# bench_cost.sh - the harness's own cost during a hunt: leak-hunt's CPU
# time and peak memory against its target's, from report.json's "rusage"
# (getrusage when the report is made):
#   harness  RUSAGE_SELF: leak-hunt itself, all its threads;
#   target   RUSAGE_CHILDREN: every process leak-hunt waited for - the
#            pipeline's processes (selfheal up and all it reaped: broker,
#            produce, A, B nodes, store; under memcheck the valgrind'd B
#            nodes) plus helper commands the tools run (vgdb leak
#            searches, valgrind's version check).  Its max_rss_kb is the
#            largest single process, not a sum.
#
# The hunts: when LH_BENCH_OUT already holds the time-to-localise reports
# (localise-STAGE-STRATEGY-MODE-N.json, as after `ci/bench localise
# cost`; figures per strategy and mode, live or restart),
# those are used - the same hunts, not run again; otherwise (or with
# BENCH_COST_FRESH=1) it runs its own:
#   leak-hunt hunt --strategy S --tool rss --inject rpc:reachable:64
#                  --work W --json FILE
# for S = auto (rss search, heap and memcheck confirmation: every tool's
# machinery) and linear (rss only), BENCH_COST_REPS times each (3; quick
# 1).  Prints each hunt and, per strategy, the medians of the figures and
# of the ratios leak-hunt/target (CPU seconds, peak RSS).
#
# Environment: LH_BENCH_BIN, LH_BENCH_QUICK, LH_BENCH_OUT (bench_lib.sh);
# BENCH_COST_WORK (300000; quick 200000), BENCH_COST_REPS,
# BENCH_COST_STRATEGIES, BENCH_COST_FRESH.
set -eu
. "$(dirname "$0")/bench_lib.sh"

work=${BENCH_COST_WORK:-$(quick_or 200000 300000)}
reps=${BENCH_COST_REPS:-$(quick_or 1 3)}
strategies=${BENCH_COST_STRATEGIES:-auto linear}
set -- "$bench_out"/localise-*-*-*.json
if [ "${BENCH_COST_FRESH:-0}" != 1 ] && [ -f "$1" ]; then
    echo "bench_cost: from the $# time-to-localise hunts in $bench_out; load $(loadavg)"
else
    echo "bench_cost: hunts for rpc:reachable:64, --tool rss --work $work, $reps rep(s); load $(loadavg)"
    set --
    for s in $strategies; do
        i=1
        while [ "$i" -le "$reps" ]; do
            j=$bench_out/cost-$s-$i.json
            rc=0
            "$leak_hunt" hunt --strategy "$s" --tool rss \
                --inject rpc:reachable:64 --work "$work" --timeout 300 \
                --quiet --json "$j" >"$j.out" 2>"$j.err" || rc=$?
            [ -f "$j" ] || echo "  $s rep $i: no report (exit $rc)"
            set -- "$@" "$j"
            i=$((i + 1))
        done
    done
fi
python3 - "$@" <<'PY'
import json, os, statistics, sys
by = {}
for path in sys.argv[1:]:
    try:
        d = json.load(open(path))
        u = d["rusage"]
    except Exception:
        continue
    s = "%s %s" % (d.get("strategy", "?"), d.get("mode", "restart"))
    h, t = u["harness"], u["target"]
    row = (d["elapsed_seconds"], h["cpu_seconds"], h["max_rss_kb"],
           t["cpu_seconds"], t["max_rss_kb"], d["run_count"])
    by.setdefault(s, []).append(row)
    print("  %-30s %-14s %6.1f s %2d runs: leak-hunt %6.2f s CPU %7d kB peak; "
          "target %7.2f s CPU %7d kB peak" % (os.path.basename(path)[:-5], s,
          row[0], row[5], row[1], row[2], row[3], row[4]))
med = statistics.median
for s, rows in by.items():
    n = len(rows)
    print("bench_cost: %s (median of %d hunts): %.0f s, %g runs; leak-hunt "
          "%.2f s CPU, %d kB peak RSS; target %.1f s CPU, %d kB peak RSS "
          "(largest process)" % (s, n, med([r[0] for r in rows]),
          med([r[5] for r in rows]), med([r[1] for r in rows]),
          med([r[2] for r in rows]), med([r[3] for r in rows]),
          med([r[4] for r in rows])))
    print("bench_cost: %s ratio leak-hunt/target: CPU %.4f (%.2f%%), peak RSS "
          "%.4f; leak-hunt CPU per wall second %.4f" % (s,
          med([r[1] / r[3] for r in rows if r[3] > 0]),
          100 * med([r[1] / r[3] for r in rows if r[3] > 0]),
          med([r[2] / r[4] for r in rows if r[4] > 0]),
          med([r[1] / r[0] for r in rows if r[0] > 0])))
if not by:
    print("bench_cost: no report with rusage")
    sys.exit(1)
PY
echo "bench_cost: load after $(loadavg)"
