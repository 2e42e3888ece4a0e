#!/bin/sh
# A target that fails during the measurement: crashed by SIGSEGV, exited
# early with status 0, killed from outside, or not executable at all.  leak-hunt run says so
# (exit 3) with the status ("killed by signal 11") and the last lines of the
# target's log, writes report.json with verdict "error" when --report is
# given, and leaves nothing behind - not even the child the crashed
# target had forked into its process group.  hunt stops at the failed run.
#
# usage: harness_crash.sh LEAK_HUNT TOYPROG
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"

# run_toy NAME TOYPROG_ARGS... -> rc in $rc, files $WORK/NAME.*
run_toy() {
    name=$1
    shift
    rc=0
    in_work "$LH" run --enable parse,filter,emit --duration 4 --timeout 60 \
        --report "$WORK/$name" -- \
        "$TOY" --enable='{stages}' "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    note "$name: exit $rc, $(head -n 1 "$WORK/$name.out")"
    no_leftovers "$name"
}

run_toy segv --crash-after 100000 --spawn-child
expect_rc segv "$rc" 3
expect_in segv "$WORK/segv.err" "killed by signal 11"
expect_in segv "$WORK/segv.err" "toyprog: crashing on purpose after"
expect_in segv "$WORK/segv.out" "killed by signal 11"
[ "$(jget "$WORK/segv/report.json" "d['verdict']")" = error ] ||
    fail "segv: report.json verdict is not error"
jget "$WORK/segv/report.json" "d['runs'][0]['error']" |
    grep -q "killed by signal 11" || fail "segv: run error lacks the signal"
# The log the message quotes is where the message says it is.
log=$(sed -n 's/.*last lines of \(.*target\.log\):$/\1/p' "$WORK/segv.err" |
    head -n 1)
[ -s "$log" ] || fail "segv: the quoted log '$log' does not exist"

run_toy early-exit --exit-after 100000
expect_rc early-exit "$rc" 3
expect_in early-exit "$WORK/early-exit.err" "exit status 0"
expect_in early-exit "$WORK/early-exit.err" "toyprog: exiting early after"

# Killed from outside (the OOM killer, an operator): SIGKILL to the main
# process; its child is still in the group and must not survive.
start_in_work "$LH" run --enable parse,filter,emit --duration 20 -- \
    "$TOY" --enable='{stages}' --spawn-child \
    >"$WORK/killed.out" 2>"$WORK/killed.err"
pid=$!
wait_started 10
sleep 1
# (by name: leak-hunt's other child, the target group's keeper, is a copy
# of leak-hunt named lh-keeper, its command line naming toyprog too)
main=$(pgrep -P "$pid" -x toyprog)
[ -n "$main" ] || fail "killed: no target process under leak-hunt"
kill -KILL "$main"
rc=0
wait "$pid" || rc=$?
note "killed: exit $rc, $(head -n 1 "$WORK/killed.out")"
no_leftovers killed
expect_rc killed "$rc" 3
expect_in killed "$WORK/killed.err" "killed by signal 9"

rc=0
in_work "$LH" run --enable parse --duration 2 -- "$WORK/no-such-program" \
    >"$WORK/noexec.out" 2>"$WORK/noexec.err" || rc=$?
note "noexec: exit $rc, $(head -n 1 "$WORK/noexec.out")"
expect_rc noexec "$rc" 3
expect_in noexec "$WORK/noexec.err" "exit status 127"
expect_in noexec "$WORK/noexec.err" "cannot execute target"

# hunt: the baseline (no stage on) crashes and is left out; the first
# configuration crashes too; no further run is made.
rc=0
in_work "$LH" hunt --strategy linear --stages parse,filter,emit --duration 3 \
    --json "$WORK/hunt.json" -- \
    "$TOY" --enable='{stages}' --crash-after 50000 \
    >"$WORK/hunt.out" 2>"$WORK/hunt.err" || rc=$?
note "hunt: exit $rc, $(head -n 1 "$WORK/hunt.out")"
no_leftovers hunt
expect_rc hunt "$rc" 3
expect_in hunt "$WORK/hunt.err" "killed by signal 11"
[ "$(jget "$WORK/hunt.json" "[r['enabled'] for r in d['runs']]")" = \
    '[[], ["parse"]]' ] || fail "hunt: went on after the crash"
[ "$(jget "$WORK/hunt.json" "d['verdict']")" = error ] ||
    fail "hunt: verdict is not error"
echo "PASS"
