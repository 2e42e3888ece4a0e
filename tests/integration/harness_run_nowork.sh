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
. "$(dirname "$0")/lib.sh"
run_setup "$@"

# inconclusive NAME WHY LEAK_HUNT_RUN_ARGS...: `leak-hunt run` with
# --report WORK/NAME is inconclusive (exit 3), and its reason says WHY
inconclusive() {
    name=$1 why=$2
    shift 2
    rc=0
    in_work "$LH" run --report "$WORK/$name" "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    note "$name: exit $rc: $(cat "$WORK/$name.out")"
    no_leftovers "$name"
    J=$WORK/$name/report.json
    expect_rc "$name" "$rc" 3
    expect_verdict "$name" inconclusive
    jget "$J" "d['runs'][-1]['reason']" | grep -q "$why" ||
        fail "$name: the reason does not say '$why'"
}

# no stats line came from the target's processes
inconclusive nostats "no stats line" --tool rss --target-wraps --duration 3 \
    --extend 0 --enable a -- sh -c 'sleep 60' "$WORK/target"
# too few leak searches
inconclusive memcheck "leak search" --tool memcheck --duration 2 --timeout 6
echo "PASS"
