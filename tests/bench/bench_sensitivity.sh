#!/bin/sh
# bench_sensitivity.sh - the smallest planted leak that a hunt localises
# correctly within 60 s, and the false verdicts on clean runs.
#
# 1. Reachable leaks of B = 64, 32, 16, 8, 4, 2, 1 bytes per event in the
#    rpc stage (the story's; below 16, 16 bytes every 16/B events, as
#    selfheal's --inject plants at least 16 bytes), hunted with
#      timeout L leak-hunt hunt --strategy S --tool rss
#                 --inject rpc:reachable:B[:EVERY] --work W --timeout L
#                 --json F
#    "Localised" = exit 1 with culprit exactly [rpc] within L seconds
#    (report.json's elapsed_seconds; the outer timeout makes L a hard
#    limit: leak-hunt stops its target on SIGTERM).  W = 300000 events
#    (BENCH_SENS_WORK) is each run's limit: a run stops once decided, and
#    a small leak takes more events to decide (the harness still doubles
#    an inconclusive run, up to 1.2M events).
#    Each strategy goes down the sizes, L = 60 s, and stops at the first
#    failure (auto by default, then bisect: the fastest strategy for a
#    leak in the last stage).  auto's search runs stop once decided (two
#    agreeing looks 50k events apart), and its confirmation (the heap tool
#    on the culprit's configuration, 300k events) and memcheck's kind (4
#    leak searches) count in its seconds.
# 2. BENCH_SENS_CLEAN (10; quick 2) hunts of the clean pipeline with the
#    default strategy (auto: the full set first, one run when it is clean):
#      leak-hunt hunt --tool rss --work W
#    and the number whose verdict is not "clean" (leak and inconclusive
#    counted apart; a "leak" is a false positive).
#
# Environment: LH_BENCH_BIN, LH_BENCH_QUICK, LH_BENCH_OUT (bench_lib.sh);
# BENCH_SENS_SIZES, BENCH_SENS_WORK, BENCH_SENS_LIMIT (60),
# BENCH_SENS_CLEAN, BENCH_SENS_STRATEGIES (auto bisect).
set -eu
. "$(dirname "$0")/bench_lib.sh"

limit=${BENCH_SENS_LIMIT:-60}
strategies=${BENCH_SENS_STRATEGIES:-auto bisect}
sizes=${BENCH_SENS_SIZES:-$(quick_or "64 8" "64 32 16 8 4 2 1")}
work=${BENCH_SENS_WORK:-$(quick_or 200000 300000)}
nclean=${BENCH_SENS_CLEAN:-$(quick_or 2 10)}
echo "bench_sensitivity: reachable leak in rpc, --tool rss --work $work; sizes: $sizes; load $(loadavg)"

# hunt STRATEGY BYTES LIMIT: runs one hunt, prints it, sets ok and secs.
# selfheal plants at least 16 bytes at a time: B < 16 bytes per event is
# 16 bytes every (16 / B)th event.
hunt() {
    j=$bench_out/sens-$1-$2.json
    rm -f "$j"
    rc=0
    spec=rpc:reachable:$2
    [ "$2" -lt 16 ] && spec=rpc:reachable:16:$((16 / $2))
    load0=$(cut -d' ' -f1 /proc/loadavg)
    timeout -k 10 "$3" "$leak_hunt" hunt --strategy "$1" --tool rss \
        --inject "$spec" --work "$work" --timeout "$3" \
        --quiet --json "$j" >"$j.out" 2>"$j.err" || rc=$?
    secs=$(jget "$j" 'round(d["elapsed_seconds"], 1)')
    culprit=$(jget "$j" 'd["culprit"]')
    slope=$(jget "$j" 'round(max((r["slope_bytes_per_unit"] for r in d["runs"] if r["tool"] == "rss"), default=0), 1)')
    ok=no
    if [ "$rc" = 1 ] && [ "$culprit" = rpc ] &&
        [ "$(calc "1 if $secs <= $3 else 0")" = 1 ]; then
        ok=yes
    fi
    [ "$rc" = 124 ] && secs=">$3"
    printf '  %-6s %2s B/event (%s): %6s s %3s runs, culprit [%s], top rss slope %s B/event, exit %d, localised %s (limit %s s, load %s)\n' \
        "$1" "$2" "$spec" "$secs" "$(jget "$j" 'd["run_count"]')" "$culprit" "$slope" \
        "$rc" "$ok" "$3" "$load0"
}

summary=
for s in $strategies; do
    best=none best_secs=
    for b in $sizes; do
        hunt "$s" "$b" "$limit"
        [ "$ok" = yes ] || break
        best=$b best_secs=$secs
    done
    summary="$summary; $s: $best B/event within $limit s${best_secs:+ (took $best_secs s)}"
done
echo "bench_sensitivity: smallest leak localised:${summary#;}"

nleak=0 ninc=0 nerr=0 i=1
while [ "$i" -le "$nclean" ]; do
    j=$bench_out/sens-clean-$i.json
    rc=0
    "$leak_hunt" hunt --tool rss --work "$work" --timeout 300 \
        --quiet --json "$j" >"$j.out" 2>"$j.err" || rc=$?
    v=$(jget "$j" 'd["verdict"]')
    printf '  clean hunt %2d: verdict %s, %s runs, %s s, full set %s B/event (CI %s, %s), %s events, exit %d\n' "$i" "$v" \
        "$(jget "$j" 'd["run_count"]')" \
        "$(jget "$j" 'round(d["elapsed_seconds"], 1)')" \
        "$(jget "$j" 'round(d["runs"][0]["slope_bytes_per_unit"], 2)')" \
        "$(jget "$j" '[round(x, 2) for x in d["runs"][0]["ci95"]]')" \
        "$(jget "$j" 'd["runs"][0]["reason"]')" \
        "$(jget "$j" 'int(d["runs"][0]["work"])')" "$rc"
    case $v in
    clean) ;;
    leak) nleak=$((nleak + 1)) ;;
    inconclusive) ninc=$((ninc + 1)) ;;
    *) nerr=$((nerr + 1)) ;;
    esac
    i=$((i + 1))
done
echo "bench_sensitivity: clean pipeline, $nclean hunts (auto, --work $work): $((nleak + ninc + nerr)) not clean (leak $nleak, inconclusive $ninc, error $nerr); load after $(loadavg)"
