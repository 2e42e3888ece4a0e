#!/bin/sh
# leak-hunt hunt --strategy auto on toyprog with a leak in emit: the full
# set and halving under rss, the leak-free neighbour again, then the heap
# tool (allocation sites) and memcheck (the kind).  Names exactly emit (exit 1), gives the per-stage breakdown with
# only emit leaking, the top allocation site in stage_emit, and memcheck's
# kind "still reachable" (toyprog keeps the blocks on a list).
#
# usage: harness_hunt_auto.sh LEAK_HUNT TOYPROG
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"

rc=0
in_work "$LH" hunt --stages parse,filter,emit --duration 3 --timeout 120 \
    --report "$WORK/report" --json "$WORK/auto.json" -- \
    "$TOY" --enable='{stages}' --leak emit:64 \
    >"$WORK/auto.out" 2>"$WORK/auto.err" || rc=$?
note "auto: exit $rc, $(cat "$WORK/auto.out")"
no_leftovers auto
expect_rc auto "$rc" 1
j=$WORK/auto.json
[ "$(jget "$j" "d['culprit']")" = '["emit"]' ] ||
    fail "auto: culprit $(jget "$j" "d['culprit']"), want [\"emit\"]"
[ "$(jget "$j" "[s['stage'] for s in d['breakdown'] if s['leaks']]")" = \
    '["emit"]' ] || fail "auto: breakdown does not single out emit"
[ "$(jget "$j" "sorted(set(r['tool'] for r in d['runs']))")" = \
    '["heap", "memcheck", "rss"]' ] || fail "auto: not all three tools ran"
# The top site (the heap tool's when its 3 s run got two profiles to
# compare, else memcheck's) is the keep() called from stage_emit.
[ "$(jget "$j" "[s['caller'] for r in d['runs'] for s in r['sites']][:1]")" = \
    '["stage_emit"]' ] || fail "auto: the first site found is not in stage_emit"
expect_in auto "$WORK/auto.out" "top site keep <- stage_emit"
jget "$j" "d['memcheck_kind']" | grep -q '^still reachable' ||
    fail "auto: memcheck kind is '$(jget "$j" "d['memcheck_kind']")'"
expect_in auto "$WORK/auto.err" "strategy auto used"
[ -s "$WORK/report/report.json" ] && [ -s "$WORK/report/report.html" ] ||
    fail "auto: report.json or report.html missing from --report"
echo "PASS"
