#!/bin/sh
# Live hunts on toyprog (docs/protocol.md section 5): the target is
# started once and its stages are switched under it through
# LEAKHUNT_CONTROL.  For linear, bisect, isolate and ddmin (auto:
# harness_hunt_auto.sh): the planted stage is named, report.json says
# "mode": "live", every run is a segment of one live run with its
# work_range, and one target process did them all (its log says it
# started once).  toyprog --live-reverse writes its lists in another order:
# sets, still acknowledged.  leak-hunt run goes live too.  A target that
# never shows stages= (--no-live) is restarted per configuration, said
# once on stderr and in the report (mode restart, mode_note), and finds
# the same stage; --restart asks for that.
#
# usage: harness_live.sh LEAK_HUNT TOYPROG
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"

# hunt NAME STRATEGY TOYPROG_ARGS... -> rc, WORK/NAME.json, WORK/NAME/
# ($HUNT_ARGS: more options of leak-hunt's)
HUNT_ARGS=
hunt() {
    name=$1 strategy=$2
    shift 2
    rc=0
    in_work "$LH" hunt $HUNT_ARGS --strategy "$strategy" --stages parse,filter,emit \
        --duration 2 --timeout 120 --report "$WORK/$name" \
        --json "$WORK/$name.json" -- "$TOY" --enable='{stages}' "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    note "$name: exit $rc, $(cat "$WORK/$name.out")"
    no_leftovers "$name"
}

# started NAME -> how many toyprog processes the hunt's targets started
# (each says so once in its log)
started() {
    cat "$WORK/$1"/runs/*/target.log 2>/dev/null | grep -c '^toyprog: pid '
}

# expect_live NAME CULPRIT_JSON: exit 1 naming it, live, one live run of
# segments with work ranges in order, one target started
expect_live() {
    expect_rc "$1" "$rc" 1
    j=$WORK/$1.json
    [ "$(jget "$j" "d['culprit']")" = "$2" ] ||
        fail "$1: culprit $(jget "$j" "d['culprit']"), want $2"
    [ "$(jget "$j" "d['mode']")" = live ] || fail "$1: mode is not live"
    [ "$(jget "$j" "sorted(set(r.get('live_run', 0) for r in d['runs']))")" = "[1]" ] ||
        fail "$1: the runs are not all segments of one live run"
    jget "$j" "all(r['work_range'][1] - r['work_range'][0] == r['work'] for r in d['runs'])" |
        grep -qx true || fail "$1: a work_range is not its work"
    jget "$j" "all(a['work_range'][1] <= b['work_range'][0] for a, b in zip(d['runs'], d['runs'][1:]))" |
        grep -qx true || fail "$1: the segments' work ranges overlap"
    n=$(started "$1")
    [ "$n" -eq 1 ] || fail "$1: $n targets started, want 1"
    expect_in "$1" "$WORK/$1.err" "(live)"
}

hunt linear linear --leak filter:64
expect_live linear '["filter"]'
[ "$(jget "$WORK/linear.json" "len(d['runs'])")" -eq 3 ] ||
    fail "linear: not 3 runs (the baseline, parse, parse,filter)"
hunt bisect bisect --leak emit:64 --live-reverse
expect_live bisect '["emit"]'
hunt isolate isolate --leak parse:64
expect_live isolate '["parse"]'
hunt ddmin ddmin --leak filter:64
expect_live ddmin '["filter"]'
# the sites of a live run: each leaking segment's growth, from its dumps
[ "$(jget "$WORK/ddmin.json" "[s['caller'] for r in d['runs'] if r['verdict'] == 'leak' for s in r['sites']][:1]")" = \
    '["stage_filter"]' ] || fail "ddmin: a leaking segment's top site is not stage_filter's"

# run: one configuration, live
rc=0
in_work "$LH" run --enable parse,emit --duration 2 --json "$WORK/run.json" \
    -- "$TOY" --enable='{stages}' --leak emit:64 \
    >"$WORK/run.out" 2>"$WORK/run.err" || rc=$?
note "run: exit $rc, $(cat "$WORK/run.out")"
no_leftovers run
expect_rc run "$rc" 1
[ "$(jget "$WORK/run.json" "d['mode']")" = live ] || fail "run: mode is not live"
[ "$(jget "$WORK/run.json" "d['runs'][0]['live_run']")" = 1 ] ||
    fail "run: its run is not a live run's segment"

# A target that never acknowledges: restarted per configuration, said once.
hunt fallback linear --leak filter:64 --no-live
expect_rc fallback "$rc" 1
j=$WORK/fallback.json
[ "$(jget "$j" "d['culprit']")" = '["filter"]' ] || fail "fallback: culprit"
[ "$(jget "$j" "d['mode']")" = restart ] || fail "fallback: mode is not restart"
jget "$j" "d['mode_note']" | grep -q "cannot switch live" ||
    fail "fallback: mode_note '$(jget "$j" "d.get('mode_note')")'"
[ "$(grep -c 'cannot switch live' "$WORK/fallback.err")" -eq 1 ] ||
    fail "fallback: not said once on stderr"
[ "$(started fallback)" -eq 3 ] ||
    fail "fallback: $(started fallback) targets started, want 3 (one a run)"
[ "$(jget "$j" "[r.get('live_run', 0) for r in d['runs']]")" = "[0, 0, 0]" ] ||
    fail "fallback: runs marked live"

# --restart: the same, asked for
HUNT_ARGS=--restart
hunt restart linear --leak filter:64 --live-reverse
expect_rc restart "$rc" 1
[ "$(jget "$WORK/restart.json" "d['mode']")" = restart ] ||
    fail "restart: mode is not restart"
[ "$(started restart)" -eq 3 ] || fail "restart: not a target per run"
echo "PASS"
