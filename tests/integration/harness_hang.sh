#!/bin/sh
# A target that hangs (stops working and reporting, stays alive): a run
# with --timeout S ends within about S plus the stop grace, inconclusive
# (exit 3) with the reason "timed out".  A target that also ignores SIGTERM
# (and has a child in its group that ignores it too) is SIGKILLed once the
# grace is over: the run takes at least S + grace, and nothing is left.
# A target that ignores SIGTERM but otherwise works still gets its verdict.
# A hunt over a target that always hangs is inconclusive (exit 3).
#
# The rss tool's grace is 5 s (tool ctx grace_ms, measure.c).
#
# usage: harness_hang.sh LEAK_HUNT TOYPROG
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"
S=3
GRACE=5

# run_toy NAME LEAK_HUNT_ARGS... -- TOYPROG_ARGS... -> rc, secs, files
run_toy() {
    name=$1
    shift
    t0=$(now)
    rc=0
    in_work "$LH" run --enable parse,filter,emit --json "$WORK/$name.json" \
        "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    secs=$(elapsed "$t0")
    note "$name: exit $rc after $secs s, $(head -n 1 "$WORK/$name.out")"
    no_leftovers "$name"
}

# Hangs after a few units, answers SIGTERM: ends at S + a little.
run_toy hang --work 1e12 --timeout $S -- \
    "$TOY" --enable='{stages}' --hang-after 50000
expect_rc hang "$rc" 3
# It answers SIGTERM at once: S and a little; S + grace is the bound.
fcmp "$secs" '<' $((S + GRACE)) || fail "hang: took $secs s with --timeout $S"
fcmp "$secs" '>=' $S || fail "hang: ended before the timeout ($secs s)"
expect_in hang "$WORK/hang.out" "timed out after"
[ "$(jget "$WORK/hang.json" "d['runs'][0]['verdict']")" = inconclusive ] ||
    fail "hang: run verdict is not inconclusive"

# Hangs and ignores SIGTERM, with a child that ignores it too: SIGKILL
# after the grace.
run_toy hang-ignore --work 1e12 --timeout $S -- \
    "$TOY" --enable='{stages}' --hang-after 50000 --ignore-term --spawn-child
expect_rc hang-ignore "$rc" 3
fcmp "$secs" '>=' $((S + GRACE - 1)) ||
    fail "hang-ignore: ended after $secs s: the grace was not given"
fcmp "$secs" '<' $((S + GRACE + 5)) ||
    fail "hang-ignore: took $secs s, want about $((S + GRACE))"
expect_in hang-ignore "$WORK/hang-ignore.out" "timed out after"

# Works normally but ignores SIGTERM: the verdict stands, SIGKILL ends it.
run_toy ignore-term --duration 2 -- \
    "$TOY" --enable='{stages}' --ignore-term --spawn-child --leak parse:64
expect_rc ignore-term "$rc" 1
fcmp "$secs" '>=' $((2 + GRACE - 1)) ||
    fail "ignore-term: ended after $secs s: the grace was not given"
# hunt on a target that always hangs: every configuration times out, the
# hunt is inconclusive (exit 3), not clean.  --restart: --timeout is per
# run, each configuration in a target of its own (a live hunt's --timeout
# bounds the whole hunt: harness_live_bad.sh).
t0=$(now)
rc=0
in_work "$LH" hunt --restart --strategy linear --stages parse,filter,emit --work 1e12 \
    --timeout 2 --json "$WORK/hunt.json" -- "$TOY" --enable='{stages}' \
    --hang-after 1000 >"$WORK/hunt.out" 2>"$WORK/hunt.err" ||
    rc=$?
secs=$(elapsed "$t0")
note "hunt: exit $rc after $secs s, $(cat "$WORK/hunt.out")"
no_leftovers hunt
expect_rc hunt "$rc" 3
[ "$(jget "$WORK/hunt.json" "d['verdict']")" = inconclusive ] ||
    fail "hunt: verdict is not inconclusive"
[ "$(jget "$WORK/hunt.json" "sorted(set(r['reason'][:9] for r in d['runs']))")" = \
    '["timed out"]' ] || fail "hunt: not every run timed out"
fcmp "$secs" '<' 20 || fail "hunt: took $secs s for 3 runs of 2 s"
echo "PASS"
