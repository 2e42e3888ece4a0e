#!/bin/sh
# bench_localise.sh - time to localise: for a 64 B/event reachable leak
# planted in each stage of the built-in pipeline, the seconds and the runs
# that the auto, bisect and linear strategies take to name that stage.
#
#   leak-hunt hunt --strategy S --tool rss --inject STAGE:reachable:64
#                  --work W --timeout 300 --json FILE
#
# The search tool is rss for all three (auto's default), and every
# search run stops once two looks (every 50k events) agree; auto then runs
# its confirmation (the heap tool on the culprit's configuration, 300k
# events) and memcheck for the kind (4 leak searches), and those runs
# count in its seconds and runs: that is what a user waits for.  Seconds
# are report.json's elapsed_seconds (the whole hunt), runs its run_count;
# "correct" means exit 1 with culprit exactly [STAGE].  W is the per-run
# budget (300000; quick 200000), a limit now that runs stop once decided;
# the harness still doubles an inconclusive run.  The rpc stage (the
# story's) is hunted BENCH_LOC_REPS times (3; quick 1) and the medians are
# printed; other stages once each, in stage-major order so that a change
# of load spreads over the strategies.
#
# Environment: LH_BENCH_BIN, LH_BENCH_QUICK, LH_BENCH_OUT (bench_lib.sh);
# BENCH_LOC_WORK, BENCH_LOC_REPS, BENCH_LOC_AUTO_REPS (default: the same
# as BENCH_LOC_REPS), BENCH_LOC_STAGES,
# BENCH_LOC_STRATEGIES.
set -eu
. "$(dirname "$0")/bench_lib.sh"

work=${BENCH_LOC_WORK:-$(quick_or 200000 300000)}
reps=${BENCH_LOC_REPS:-$(quick_or 1 3)}
stages=${BENCH_LOC_STAGES:-$(quick_or rpc "forward hash enqueue verify rpc")}
strategies=${BENCH_LOC_STRATEGIES:-auto bisect linear}
# auto takes about a minute (4-5 search runs, the heap confirmation and
# memcheck's kind); BENCH_LOC_AUTO_REPS can bound its reps.
auto_reps=${BENCH_LOC_AUTO_REPS:-$reps}
tsv=$bench_out/localise.tsv
: >"$tsv"
echo "bench_localise: 64 B/event reachable leak, --tool rss --work $work; stages: $stages; strategies: $strategies; rpc x$reps; load $(loadavg)"
for stage in $stages; do
    n=1
    [ "$stage" = rpc ] && n=$reps
    i=1
    while [ "$i" -le "$n" ]; do
        for s in $strategies; do
            [ "$s" = auto ] && [ "$i" -gt "$auto_reps" ] && continue
            j=$bench_out/localise-$stage-$s-$i.json
            rc=0
            load0=$(cut -d' ' -f1 /proc/loadavg)
            "$leak_hunt" hunt --strategy "$s" --tool rss \
                --inject "$stage:reachable:64" --work "$work" --timeout 300 \
                --quiet --json "$j" >"$j.out" 2>"$j.err" || rc=$?
            secs=$(jget "$j" 'round(d["elapsed_seconds"], 1)')
            runs=$(jget "$j" 'd["run_count"]')
            culprit=$(jget "$j" 'd["culprit"]')
            ok=no
            [ "$rc" = 1 ] && [ "$culprit" = "$stage" ] && ok=yes
            printf '  %-8s %-7s rep %d: %7s s %3s runs, culprit [%s], exit %d, correct %s (load %s)\n' \
                "$stage" "$s" "$i" "$secs" "$runs" "$culprit" "$rc" "$ok" "$load0"
            [ "$rc" -le 3 ] || tail -3 "$j.err" >&2
            printf '%s\t%s\t%s\t%s\t%s\n' "$stage" "$s" "$secs" "$runs" "$ok" >>"$tsv"
        done
        i=$((i + 1))
    done
done
python3 - "$tsv" "$stages" "$strategies" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
stages, strategies = sys.argv[2].split(), sys.argv[3].split()
def med(v):
    v = [float(x) for x in v if x not in ("?", "")]
    return statistics.median(v) if v else float("nan")
print("bench_localise: stage    " + "".join("%-24s" % s for s in strategies))
for st in stages:
    cells = []
    for s in strategies:
        r = [x for x in rows if x[0] == st and x[1] == s]
        ok = sum(1 for x in r if x[4] == "yes")
        cells.append("%5.1f s %4.1f runs %d/%d" % (med([x[2] for x in r]),
                                                 med([x[3] for x in r]), ok, len(r)))
    print("bench_localise: %-8s %s" % (st, "".join("%-24s" % c for c in cells)))
# Ratios against linear (the story's method), over all stages: the median
# of per-stage median times.
if "linear" in strategies:
    lin = {st: med([x[2] for x in rows if x[0] == st and x[1] == "linear"]) for st in stages}
    for s in strategies:
        if s == "linear":
            continue
        q = [med([x[2] for x in rows if x[0] == st and x[1] == s]) / lin[st]
             for st in stages if lin[st] > 0]
        if q:
            print("bench_localise: time %s/linear: median over stages %.2f (min %.2f, max %.2f)"
                  % (s, statistics.median(q), min(q), max(q)))
EOF
echo "bench_localise: (seconds and runs are medians; k/n = hunts that named the planted stage); load after $(loadavg)"
