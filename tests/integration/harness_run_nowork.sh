#!/bin/sh
# A run that measured nothing is never clean (issue 5): leak-hunt run says
# inconclusive (exit 3) with the reason -
#   nostats  a target that starts its processes under test itself
#            (--target-wraps) and whose processes never write a stats
#            line: leak-hunt knows them only by those lines, so the RSS it
#            could sample is the launcher's, no evidence;
#   memcheck the built-in pipeline under memcheck cut by --timeout 6
#            before valgrind's B nodes gave the 20 leak searches a
#            decision needs (it once said clean after --duration 5).
#
# usage: harness_run_nowork.sh LEAK_HUNT
set -eu
LH=$1
. "$(dirname "$0")/harness_run_lib.sh"

rc=0
"$LH" run --tool rss --target-wraps --duration 3 --extend 0 --enable a \
    --report "$WORK/nostats" -- sh -c 'sleep 60' "$WORK/target" \
    >"$WORK/nostats.out" 2>"$WORK/nostats.err" || rc=$?
note "nostats: exit $rc: $(cat "$WORK/nostats.out")"
no_leftovers nostats
J=$WORK/nostats/report.json
expect_rc nostats 3
expect_verdict nostats inconclusive
jget "$J" "d['runs'][-1]['reason']" | grep -q "no stats line" ||
    fail "nostats: the reason does not say that no stats line came"

rc=0
TMPDIR=$WORK/tmp "$LH" run --tool memcheck --duration 2 --timeout 6 \
    --report "$WORK/memcheck" >"$WORK/memcheck.out" 2>"$WORK/memcheck.err" ||
    rc=$?
note "memcheck: exit $rc: $(cat "$WORK/memcheck.out")"
no_leftovers memcheck
J=$WORK/memcheck/report.json
expect_rc memcheck 3
expect_verdict memcheck inconclusive
jget "$J" "d['runs'][-1]['reason']" | grep -q "leak search" ||
    fail "memcheck: the reason does not say that leak searches were too few"
echo "PASS"
