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
#   leak-hunt hunt --strategy S --tool rss --inject rpc:reachable:64
#                  --work W --json FILE
#
# S = auto (rss search, heap and memcheck confirmation: every tool's
# machinery) and linear (rss only), BENCH_COST_REPS times each (3; quick
# 1); prints each hunt and the medians of the figures and of the ratios
# harness/target (CPU seconds, peak RSS).
#
# Environment: LH_BENCH_BIN, LH_BENCH_QUICK, LH_BENCH_OUT (bench_lib.sh);
# BENCH_COST_WORK (300000; quick 100000), BENCH_COST_REPS,
# BENCH_COST_STRATEGIES.
set -eu
. "$(dirname "$0")/bench_lib.sh"

if [ "$bench_quick" = 1 ]; then
    work=${BENCH_COST_WORK:-100000}
    reps=${BENCH_COST_REPS:-1}
else
    work=${BENCH_COST_WORK:-300000}
    reps=${BENCH_COST_REPS:-3}
fi
strategies=${BENCH_COST_STRATEGIES:-auto linear}
echo "bench_cost: hunts for rpc:reachable:64, --tool rss --work $work, $reps rep(s); load $(loadavg)"
for s in $strategies; do
    hc= hm= tc= tm= rc_= rm_= el=
    i=1
    while [ "$i" -le "$reps" ]; do
        j=$bench_out/cost-$s-$i.json
        rc=0
        "$leak_hunt" hunt --strategy "$s" --tool rss --inject rpc:reachable:64 \
            --work "$work" --timeout 300 --quiet --json "$j" \
            >"$j.out" 2>"$j.err" || rc=$?
        h_cpu=$(jget "$j" 'd["rusage"]["harness"]["cpu_seconds"]')
        h_rss=$(jget "$j" 'd["rusage"]["harness"]["max_rss_kb"]')
        t_cpu=$(jget "$j" 'd["rusage"]["target"]["cpu_seconds"]')
        t_rss=$(jget "$j" 'd["rusage"]["target"]["max_rss_kb"]')
        secs=$(jget "$j" 'round(d["elapsed_seconds"], 1)')
        printf '  %-6s rep %d: %s s, %s runs, exit %d; leak-hunt %.2f s CPU, %s kB peak; target %.2f s CPU, %s kB peak (largest process)\n' \
            "$s" "$i" "$secs" "$(jget "$j" 'd["run_count"]')" "$rc" \
            "$(calc "$h_cpu")" "$h_rss" "$(calc "$t_cpu")" "$t_rss" 2>/dev/null ||
            echo "  $s rep $i: no rusage in $j (exit $rc)"
        hc="$hc $h_cpu" hm="$hm $h_rss" tc="$tc $t_cpu" tm="$tm $t_rss" el="$el $secs"
        rc_="$rc_ $(calc "$h_cpu / $t_cpu")" rm_="$rm_ $(calc "$h_rss / $t_rss")"
        i=$((i + 1))
    done
    echo "bench_cost: $s (median of $reps): wall $(median $el) s; leak-hunt CPU $(median $hc) s, peak RSS $(median $hm) kB; target CPU $(median $tc) s, peak RSS $(median $tm) kB"
    echo "bench_cost: $s ratio leak-hunt/target: CPU $(median $rc_), peak RSS $(median $rm_)"
done
echo "bench_cost: load after $(loadavg)"
