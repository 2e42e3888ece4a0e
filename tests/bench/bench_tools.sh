#!/bin/sh
# bench_tools.sh - what each measurement tool costs the pipeline: the clean
# pipeline's rate (events/s, report.json runs[0].rate) under the heap and
# memcheck tools against the rss tool (sampling only), in the same run.
#
#   leak-hunt run --enable forward,hash,enqueue,verify,rpc --tool T
#                 --duration D --extend 0 --json FILE
#
# Every tool gets the same wall-clock budget D (default 20 s; quick 10 s)
# rather than the same --work: the harness scales a memcheck --work budget
# down (valgrind is ~50x slower), and equal durations give every tool the
# same share of start-up time in its rate.  --extend 0: no doubling of an
# inconclusive run (the verdict does not matter here; memcheck still runs
# until it has the leak searches it needs).  Repetitions interleave the
# tools (rss, heap, memcheck, rss, ...) so that a change in the machine's
# load hits all three alike.  Prints each run, the median rate per tool
# and the ratios heap/rss and memcheck/rss of the medians.
#
# Environment: LH_BENCH_BIN, LH_BENCH_QUICK, LH_BENCH_OUT (bench_lib.sh);
# BENCH_TOOLS_REPS (default 3; quick 1), BENCH_TOOLS_DURATION.
set -eu
. "$(dirname "$0")/bench_lib.sh"

reps=${BENCH_TOOLS_REPS:-$(quick_or 1 3)}
dur=${BENCH_TOOLS_DURATION:-$(quick_or 10 20)}
all=forward,hash,enqueue,verify,rpc
echo "bench_tools: clean pipeline ($all), --duration $dur, $reps repetition(s); load $(loadavg)"
rates_rss= rates_heap= rates_memcheck=
i=1
while [ "$i" -le "$reps" ]; do
    for tool in rss heap memcheck; do
        j=$bench_out/tools-$tool-$i.json
        rc=0
        "$leak_hunt" run --enable "$all" --tool "$tool" --duration "$dur" \
            --extend 0 --timeout 300 --quiet --json "$j" >/dev/null 2>"$j.err" || rc=$?
        rate=$(jget "$j" 'round(d["runs"][0]["rate"], 1)')
        secs=$(jget "$j" 'round(d["runs"][0]["seconds"], 1)')
        work=$(jget "$j" 'int(d["runs"][0]["work"])')
        verdict=$(jget "$j" 'd["runs"][0]["verdict"]')
        printf '  rep %d %-8s rate %10s events/s  (%s events in %s s, verdict %s, exit %d)\n' \
            "$i" "$tool" "$rate" "$work" "$secs" "$verdict" "$rc"
        [ "$rc" -le 3 ] && [ "$rate" != "?" ] || { tail -5 "$j.err" >&2; }
        eval "rates_$tool=\"\$rates_$tool $rate\""
    done
    i=$((i + 1))
done
m_rss=$(median $rates_rss)
m_heap=$(median $rates_heap)
m_mc=$(median $rates_memcheck)
echo "bench_tools: median rate rss=$m_rss heap=$m_heap memcheck=$m_mc events/s ($reps run(s) each, --duration $dur)"
echo "bench_tools: ratio heap/rss=$(calc "$m_heap / $m_rss") memcheck/rss=$(calc "$m_mc / $m_rss"); load after $(loadavg)"
