#!/bin/sh
# A live hunt (docs/protocol.md section 5) on targets that misbehave, and
# the faults around it; each ends with the configuration named and no
# process left:
#   - toyprog --live-wrong shows a list it was not asked for, --live-mute-
#     after 1 stops acknowledging, --live-lag-ms 3000 acknowledges after
#     the 2 s: inconclusive, exit 3;
#   - a target that crashes mid-hunt: exit 3 naming the configuration it
#     was running; one that hangs: inconclusive within --timeout, which
#     bounds a live hunt as a whole;
#   - SIGINT mid-hunt: the target stopped, exit 3, the report of the runs
#     so far;
#   - a control file that cannot be written (a directory where its
#     temporary file goes): exit 2 with the path and the reason.
#
# usage: harness_live_bad.sh LEAK_HUNT TOYPROG
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"

# hunt NAME TOYPROG_ARGS...: linear on toyprog, $BUDGET a configuration
# (2 s), filter leaking -> rc, WORK/NAME.json (--timeout: $TIMEOUT)
TIMEOUT=60
BUDGET="--duration 2"
hunt() {
    name=$1
    shift
    t0=$(now)
    rc=0
    in_work "$LH" hunt --strategy linear --stages parse,filter,emit \
        $BUDGET --timeout "$TIMEOUT" --report "$WORK/$name" \
        --json "$WORK/$name.json" -- "$TOY" --enable='{stages}' \
        --leak filter:64 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" ||
        rc=$?
    secs=$(elapsed "$t0")
    note "$name: exit $rc after $secs s, $(head -c 400 "$WORK/$name.out")"
    no_leftovers "$name"
}

# expect_switch_failed NAME CONFIG TEXT: inconclusive (exit 3), the error
# names the configuration and says TEXT
expect_switch_failed() {
    expect_rc "$1" "$rc" 3
    j=$WORK/$1.json
    [ "$(jget "$j" "d['verdict']")" = inconclusive ] ||
        fail "$1: verdict $(jget "$j" "d['verdict']"), want inconclusive"
    e=$(jget "$j" "d['error']")
    case $e in
    *"while measuring $2:"*"$3"*) ;;
    *) fail "$1: error '$e' does not name $2 and '$3'" ;;
    esac
    expect_in "$1" "$WORK/$1.out" "inconclusive"
}

hunt wrong --live-wrong
expect_switch_failed wrong parse "shows stages 'parse,emit', a list it was not asked for"
hunt mute --live-mute-after 1
expect_switch_failed mute parse "stopped acknowledging"
hunt late --live-lag-ms 3000
expect_switch_failed late parse "still shows '(none)'"

# Dies mid-hunt: after the baseline (~1.5 s at ~200k units/s), in parse
# or parse,filter; the error names the configuration of the run it ended.
hunt crash --crash-after 600000
expect_rc crash "$rc" 3
j=$WORK/crash.json
[ "$(jget "$j" "d['verdict']")" = error ] || fail "crash: verdict is not error"
last=$(jget "$j" "','.join(d['runs'][-1]['enabled'])")
[ -n "$last" ] || fail "crash: it died with no stage on, not mid-hunt"
jget "$j" "d['error']" | grep -qF "a live run, while running $last) (killed by signal 11" ||
    fail "crash: error '$(jget "$j" "d['error']")' does not name $last"

# Hangs in the baseline, whose budget it never reaches: the whole hunt
# ends within its --timeout.
TIMEOUT=4
BUDGET="--work 1e12"
hunt hang --hang-after 1000
expect_rc hang "$rc" 3
[ "$(jget "$WORK/hang.json" "d['verdict']")" = inconclusive ] ||
    fail "hang: verdict is not inconclusive"
fcmp "$secs" '<' 15 || fail "hang: took $secs s"
TIMEOUT=60
BUDGET="--duration 2"

# start_hunt NAME SECONDS RUN_DIR: a linear hunt on toyprog in the
# background (its report in WORK/NAME, SECONDS a configuration) -> pid,
# once its run RUN_DIR (runs/RUN_DIR) has begun
start_hunt() {
    start_in_work "$LH" hunt --strategy linear --stages parse,filter,emit \
        --duration "$2" --report "$WORK/$1" -- "$TOY" --enable='{stages}' \
        >"$WORK/$1.out" 2>"$WORK/$1.err"
    pid=$!
    run_dir=$WORK/$1/runs/$3
    wait_until 20 "$1: run $3" run_begun
}
run_begun() {
    [ -d "$run_dir" ]
}

# SIGINT in the second segment.
start_hunt int 3 02-heap-parse
sleep 0.5
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
note "int: exit $rc, $(cat "$WORK/int.out")"
no_leftovers int
expect_rc int "$rc" 3
expect_in int "$WORK/int.err" "interrupted by signal 2"
[ "$(jget "$WORK/int/report.json" "d['verdict']")" = error ] ||
    fail "int: report.json's verdict is not error"
[ "$(jget "$WORK/int/report.json" "[r['verdict'] for r in d['runs']]")" = \
    '["clean", "error"]' ] || fail "int: report.json does not hold the runs so far"

# A control file that cannot be written: its temporary file's path taken
# by a directory while the baseline runs.
start_hunt ctl 2 01-heap-none
mkdir "$WORK/ctl/runs/01-heap-none/control.tmp"
rc=0
wait "$pid" || rc=$?
note "ctl: exit $rc, $(cat "$WORK/ctl.out")"
no_leftovers ctl
expect_rc ctl "$rc" 2
expect_in ctl "$WORK/ctl.err" \
    "cannot write the control file $WORK/ctl/runs/01-heap-none/control.tmp: Is a directory"
[ "$(jget "$WORK/ctl/report.json" "d['verdict']")" = error ] ||
    fail "ctl: report.json's verdict is not error"
echo "PASS"
