#!/bin/sh
# leak-hunt hunt's baseline on toyprog (stages parse,filter,emit): every
# strategy measures the configuration with no stage on before it charges
# a stage.
#   outside  toyprog --leak main:64 keeps 64 B a unit in its main loop,
#            outside every stage: each strategy exits 1 with culprit [],
#            outside_stages true and a leaking baseline (~80 B/unit: a
#            64 B block takes 80 with malloc's header), and its verdict
#            line says "leak outside the stages"; auto confirms it with
#            the heap tool and names the top site in toyprog's loop.
#   on top   --leak main:64 --leak filter:64: each strategy names filter
#            by its step over the baseline, and still reports the leak
#            outside the stages.
#   idle     --idle-without-stages: toyprog does no work with no stage on
#            (as selfheal with forward off), so its baseline is measured
#            per second: --leak-per-second 16384 is reported outside the
#            stages in B/second; a clean idle baseline leaves a filter
#            leak to be charged as before.
#   run      leak-hunt run on a foreign target without --enable measures
#            no stage.
#
# usage: harness_hunt_baseline.sh LEAK_HUNT TOYPROG
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"
STAGES=parse,filter,emit

# baseline_hunt NAME STRATEGY TOYPROG_ARGS...: hunt with the rss tool,
# 2 s a configuration; exit status in $rc, files $WORK/NAME.{json,out,err}
baseline_hunt() {
    name=$1
    strategy=$2
    shift 2
    rc=0
    in_work "$LH" hunt --strategy "$strategy" --tool rss --stages "$STAGES" \
        --duration 2 --timeout 60 --json "$WORK/$name.json" -- \
        "$TOY" --enable='{stages}' "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    note "$name: exit $rc, $(cat "$WORK/$name.out")"
    no_leftovers "$name"
}

# expect_json NAME EXPR WANT: the report's EXPR (on d) is WANT
expect_json() {
    got=$(jget "$WORK/$1.json" "$2")
    [ "$got" = "$3" ] || fail "$1: $2 is $got, want $3"
}

# expect_baseline NAME CULPRIT_JSON OUTSIDE BASELINE_VERDICT UNIT
expect_baseline() {
    expect_json "$1" "d['culprit']" "$2"
    expect_json "$1" "d['outside_stages']" "$3"
    expect_json "$1" "d['baseline']['verdict']" "$4"
    expect_json "$1" "d['baseline']['unit']" "$5"
    # the baseline is the first run, before any stage is charged
    expect_json "$1" "d['runs'][0]['enabled']" "[]"
}

for s in linear bisect isolate ddmin auto; do
    baseline_hunt "outside-$s" "$s" --leak main:64
    expect_rc "outside-$s" "$rc" 1
    expect_baseline "outside-$s" "[]" true leak unit
    within "outside-$s baseline slope" \
        "$(jget "$WORK/outside-$s.json" "d['baseline']['slope']")" 80 15
    expect_in "outside-$s" "$WORK/outside-$s.out" "leak outside the stages"
    expect_json "outside-$s" "d['verdict']" leak
done
# auto confirmed it: sites with no stage on, in toyprog's loop
expect_json outside-auto "sorted(set(r['tool'] for r in d['runs'] if not r['enabled']))" \
    '["heap", "memcheck", "rss"]'
expect_in outside-auto "$WORK/outside-auto.out" "top site keep <- batch"

for s in linear bisect isolate ddmin auto; do
    baseline_hunt "ontop-$s" "$s" --leak main:64 --leak filter:64
    expect_rc "ontop-$s" "$rc" 1
    expect_baseline "ontop-$s" '["filter"]' true leak unit
    expect_in "ontop-$s" "$WORK/ontop-$s.out" "leak in stage filter"
    expect_in "ontop-$s" "$WORK/ontop-$s.out" "and outside the stages"
done

# No work with no stage on: the baseline is decided per second.
baseline_hunt idle-leak auto --idle-without-stages --leak-per-second 16384
expect_rc idle-leak "$rc" 1
expect_baseline idle-leak "[]" true leak second
expect_json idle-leak "d['runs'][0]['work']" 0
expect_in idle-leak "$WORK/idle-leak.out" "leak outside the stages"
expect_in idle-leak "$WORK/idle-leak.out" "B/second"
baseline_hunt idle-clean linear --idle-without-stages --leak filter:64
expect_rc idle-clean "$rc" 1
expect_baseline idle-clean '["filter"]' false clean second
expect_in idle-clean "$WORK/idle-clean.out" "leak in stage filter"

# run: no --enable for a foreign target is no stage on
rc=0
in_work "$LH" run --tool rss --duration 2 --timeout 60 --json "$WORK/run.json" \
    -- "$TOY" --enable='{stages}' --leak main:64 \
    >"$WORK/run.out" 2>"$WORK/run.err" || rc=$?
note "run: exit $rc, $(cat "$WORK/run.out")"
no_leftovers run
expect_rc run "$rc" 1
expect_json run "d['runs'][0]['enabled']" "[]"
echo "PASS"
