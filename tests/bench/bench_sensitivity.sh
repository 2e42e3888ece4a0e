#!/bin/sh
# bench_sensitivity.sh - the smallest planted leak that a hunt localises
# correctly within 60 s, and the false verdicts on clean runs; live (one
# target, its stages switched under it: docs/protocol.md section 5)
# against --restart (a target per configuration), in the same run.
#
# 1. Reachable leaks of B = 64, 32, 16, 8, 4, 2, 1 bytes per event in the
#    rpc stage (the story's; below 32, 32 bytes every 32/B events: in
#    tcmalloc's 32-byte class that is B bytes per event, in glibc's
#    48-byte chunk 1.5 B), hunted with
#      timeout L leak-hunt hunt --strategy S [--restart]
#                 --inject rpc:reachable:B[:EVERY] --work W --timeout L
#                 --json F
#    "Localised" = exit 1 with culprit exactly [rpc] within L seconds
#    (report.json's elapsed_seconds; the outer timeout makes L a hard
#    limit: leak-hunt stops its target on SIGTERM).  W = 300000 events
#    (BENCH_SENS_WORK) is each run's limit: a run stops once decided, and
#    a small leak takes more events to decide (the harness still doubles
#    an inconclusive run).  Each strategy and mode goes down the sizes,
#    L = 60 s, and stops at the first failure (auto, then bisect: the
#    fastest strategy for a leak in the last stage).  The tools are
#    leak-hunt's own choice: live, the heap tool's segments (search and
#    sites) and memcheck's kind; restarted, rss for the search, the heap
#    tool on the culprit's configuration and memcheck's kind.  The whole
#    hunt counts, memcheck included (a live hunt skips memcheck when its
#    --timeout leaves no room: said in memcheck_kind).
# 2. BENCH_SENS_CLEAN (20; quick 2) live hunts and BENCH_SENS_CLEAN_RESTART
#    (5; quick 1) restarted ones of the clean pipeline with the default
#    strategy (auto: the full set first, one search run when it is clean),
#    and one of each with --inject hash:cache:64 (a cache that fills and
#    levels off):
#      leak-hunt hunt [--restart] --work W [--inject hash:cache:64]
#    and the number whose verdict is not "clean" (leak and inconclusive
#    counted apart; a "leak" is a false positive), with each full set's
#    slope and floor.
#
# Environment: LH_BENCH_BIN, LH_BENCH_QUICK, LH_BENCH_OUT (bench_lib.sh);
# BENCH_SENS_SIZES, BENCH_SENS_WORK, BENCH_SENS_LIMIT (60),
# BENCH_SENS_CLEAN, BENCH_SENS_CLEAN_RESTART, BENCH_SENS_STRATEGIES
# (auto bisect), BENCH_SENS_MODES (live restart).
set -eu
. "$(dirname "$0")/bench_lib.sh"

limit=${BENCH_SENS_LIMIT:-60}
strategies=${BENCH_SENS_STRATEGIES:-auto bisect}
modes=${BENCH_SENS_MODES:-live restart}
sizes=${BENCH_SENS_SIZES:-$(quick_or "64 1" "64 32 16 8 4 2 1")}
work=${BENCH_SENS_WORK:-$(quick_or 200000 300000)}
nclean=${BENCH_SENS_CLEAN:-$(quick_or 2 20)}
nclean_restart=${BENCH_SENS_CLEAN_RESTART:-$(quick_or 1 5)}
echo "bench_sensitivity: reachable leak in rpc, --work $work; sizes: $sizes; strategies: $strategies; modes: $modes; load $(loadavg)"

# flag MODE -> leak-hunt's option for it
flag() {
    [ "$1" = restart ] && echo --restart || :
}

# hunt STRATEGY MODE BYTES LIMIT: runs one hunt, prints it, sets ok and
# secs.  selfheal plants at least 16 bytes at a time: B < 32 bytes per
# event is 32 bytes every (32 / B)th event.
hunt() {
    j=$bench_out/sens-$1-$2-$3.json
    rm -f "$j"
    rc=0
    spec=rpc:reachable:$3
    [ "$3" -lt 32 ] && spec=rpc:reachable:32:$((32 / $3))
    load0=$(cut -d' ' -f1 /proc/loadavg)
    timeout -k 10 "$4" "$leak_hunt" hunt --strategy "$1" $(flag "$2") \
        --inject "$spec" --work "$work" --timeout "$4" \
        --quiet --json "$j" >"$j.out" 2>"$j.err" || rc=$?
    secs=$(jget "$j" 'round(d["elapsed_seconds"], 1)')
    culprit=$(jget "$j" 'd["culprit"]')
    slope=$(jget "$j" 'round(max((r["slope_bytes_per_unit"] for r in d["runs"] if r["tool"] != "memcheck" and r["slope_bytes_per_unit"] is not None), default=0), 2)')
    ok=no
    if [ "$rc" = 1 ] && [ "$culprit" = rpc ] &&
        [ "$(calc "1 if $secs <= $4 else 0")" = 1 ]; then
        ok=yes
    fi
    [ "$rc" = 124 ] && secs=">$4"
    printf '  %-6s %-7s %2s B/event (%s): %6s s (verdict %s s) %3s runs, culprit [%s], top slope %s B/event, floor %s, exit %d, localised %s (limit %s s, load %s)\n' \
        "$1" "$2" "$3" "$spec" "$secs" \
        "$(jget "$j" 'round(d.get("verdict_seconds", 0), 1)')" \
        "$(jget "$j" 'd["run_count"]')" "$culprit" "$slope" \
        "$(jget "$j" 'min((r["threshold"] for r in d["runs"] if r["threshold"]), default=0)')" \
        "$rc" "$ok" "$4" "$load0"
}

summary=
for s in $strategies; do
    for m in $modes; do
        best=none best_secs=
        for b in $sizes; do
            hunt "$s" "$m" "$b" "$limit"
            [ "$ok" = yes ] || break
            best=$b best_secs=$secs
        done
        summary="$summary; $s $m: $best B/event within $limit s${best_secs:+ (took $best_secs s)}"
    done
done
echo "bench_sensitivity: smallest leak localised:${summary#;}"

# clean MODE N [INJECT]: N hunts of the pipeline, counted by verdict
clean() {
    nleak=0 ninc=0 nerr=0 i=1
    while [ "$i" -le "$2" ]; do
        j=$bench_out/sens-clean-$1${3:+-cache}-$i.json
        rc=0
        "$leak_hunt" hunt $(flag "$1") --work "$work" --timeout 300 \
            ${3:+--inject "$3"} --quiet --json "$j" >"$j.out" 2>"$j.err" ||
            rc=$?
        v=$(jget "$j" 'd["verdict"]')
        printf '  clean %-7s%s hunt %2d: verdict %s, %s runs, %s s, full set %s B/event (CI %s, floor %s, %s), %s events, exit %d\n' \
            "$1" "${3:+ $3}" "$i" "$v" \
            "$(jget "$j" 'd["run_count"]')" \
            "$(jget "$j" 'round(d["elapsed_seconds"], 1)')" \
            "$(jget "$j" 'round(d["runs"][1]["slope_bytes_per_unit"], 3)')" \
            "$(jget "$j" '[round(x, 3) for x in d["runs"][1]["ci95"]]')" \
            "$(jget "$j" 'd["runs"][1]["threshold"]')" \
            "$(jget "$j" 'd["runs"][1]["reason"]')" \
            "$(jget "$j" 'int(d["runs"][1]["work"])')" "$rc"
        case $v in
        clean) ;;
        leak) nleak=$((nleak + 1)) ;;
        inconclusive) ninc=$((ninc + 1)) ;;
        *) nerr=$((nerr + 1)) ;;
        esac
        i=$((i + 1))
    done
    echo "bench_sensitivity: clean pipeline${3:+ with $3}, $1, $2 hunts (auto, --work $work): $((nleak + ninc + nerr)) not clean (leak $nleak, inconclusive $ninc, error $nerr)"
}

for m in $modes; do
    n=$nclean
    [ "$m" = restart ] && n=$nclean_restart
    clean "$m" "$n"
    clean "$m" 1 hash:cache:64
done
echo "bench_sensitivity: load after $(loadavg)"
