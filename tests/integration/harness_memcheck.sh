#!/bin/sh
# leak-hunt run --tool memcheck on toyprog with a 64-byte leak per unit in
# filter: a leak (exit 1) at 64 B/unit (valgrind counts requested bytes,
# within 10%), seen as reachable growth between leak searches (the story's
# blind spot: nothing is lost), with the site keep <- stage_filter.  Slow
# (a decision needs 16 or more leak searches, one a second): a test of its
# own.  toyprog is paced at 4000 units/s so that the leaked blocks stay
# few and each leak search quick (unpaced, the searches over millions of
# blocks took this test from 45 s to 220 s on a loaded machine).
#
# usage: harness_memcheck.sh LEAK_HUNT TOYPROG
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"
need_cmd valgrind

rc=0
t0=$(now)
in_work "$LH" run --tool memcheck --enable parse,filter,emit --duration 3 \
    --timeout 240 --json "$WORK/mc.json" -- \
    "$TOY" --enable='{stages}' --leak filter:64 --rate 4000 \
    >"$WORK/mc.out" 2>"$WORK/mc.err" || rc=$?
note "memcheck-leak: exit $rc after $(elapsed "$t0") s, $(cat "$WORK/mc.out")"
no_leftovers memcheck-leak
j=$WORK/mc.json
expect_rc memcheck-leak "$rc" 1
within "memcheck slope" "$(jget "$j" "d['runs'][0]['slope_bytes_per_unit']")" 64 10
[ "$(jget "$j" "d['runs'][0]['signal']")" = memcheck ] ||
    fail "memcheck-leak: the decision is not on the leak searches"
[ "$(jget "$j" "d['runs'][0]['sites'][0]['caller']")" = stage_filter ] ||
    fail "memcheck-leak: top site is not called from stage_filter"
[ "$(jget "$j" "d['runs'][0]['sites'][0]['kind']")" = "still reachable" ] ||
    fail "memcheck-leak: the kind is not still reachable"
[ "$(jget "$j" "d['runs'][0]['memcheck']['definitely_lost_bytes']")" = 0 ] ||
    fail "memcheck-leak: something was definitely lost"
fcmp "$(jget "$j" "d['runs'][0]['memcheck']['reachable_growth_bytes']")" '>' 0 ||
    fail "memcheck-leak: no reachable growth"
echo "PASS"
