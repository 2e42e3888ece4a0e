#!/bin/sh
# run --metrics with a target leak-hunt starts (docs/protocol.md section
# 9): the test service (tests/targets/metrics_service.py) serves its work
# counter and memory, leak-hunt scrapes them ten times a second.
#   leak      2000 B a unit kept, memory: the RSS of the process started
#             (no --memory-metric): leak, about 2000 B/unit
#   clean     nothing kept, memory: process_resident_memory_bytes: clean
#   restart   300 B a unit kept (the gauge of what it holds), the service
#             restarting 2 s in (counter to 0, memory dropped): leak at
#             300 B/unit fitted after the restart, the restart reported in
#             the text, report.json and report.html
#
# usage: metrics_run.sh LEAK_HUNT
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/metrics_lib.sh"
metrics_setup "$1" metrics-run

# metrics_run NAME DURATION LEAK-HUNT-FLAGS... -- SERVICE-FLAGS...
metrics_run() {
    name=$1 dur=$2
    shift 2
    p=$(free_port)
    flags=""
    while [ "$1" != "--" ]; do
        flags="$flags $1"
        shift
    done
    shift
    # (flags hold no spaces of their own)
    # shellcheck disable=SC2086
    lh "$name" run --metrics "http://127.0.0.1:$p/metrics" \
        --work-metric lh_test_work_total $flags --duration "$dur" \
        --report "$WORK/$name" -- python3 "$SERVICE" --port "$p" "$@"
    J=$WORK/$name/report.json
    no_leftovers "$name"
}

metrics_run leak 6 -- --rate 1000 --leak 2000
expect_rc leak "$RC" 1
[ "$(jget "$J" "d['verdict']")" = leak ] || fail "leak: verdict not leak"
[ "$(jget "$J" "d['unit']")" = unit ] || fail "leak: unit not unit"
[ "$(jget "$J" "d['runs'][0]['signal']")" = metrics ] ||
    fail "leak: signal not metrics"
slope_near leak "$J" 2000 15
n=$(jget "$J" "d['runs'][0]['metrics']['scrapes']")
note "leak: $n scrapes, mean $(jget "$J" "d['runs'][0]['metrics']['fetch_mean_seconds']") s"
expect "leak: scrapes in 6 s" "$n" -ge 30

metrics_run clean 6 --memory-metric process_resident_memory_bytes -- \
    --rate 1000 --leak 0
expect_rc clean "$RC" 0
[ "$(jget "$J" "d['verdict']")" = clean ] || fail "clean: verdict not clean"

metrics_run restart 7 --memory-metric lh_test_heap_bytes -- \
    --rate 1000 --leak 300 --restart-after 2
expect_rc restart "$RC" 1
slope_near restart "$J" 300 5
[ "$(jget "$J" "d['runs'][0]['metrics']['restart_count']")" = 1 ] ||
    fail "restart: not one restart in report.json"
expect_in restart "$WORK/restart.err" "the service restarted"
expect_in restart "$WORK/restart.out" "; the service restarted 1 time (growth across a restart not counted"
expect_in restart "$WORK/restart.err" "the fit starts again from here"
expect_in restart "$WORK/restart/report.html" "the service restarted at"
r=$(jget "$J" "d['runs'][0]['reason']")
case $r in
*"restarted once"*) ;;
*) fail "restart: the reason does not say it: $r" ;;
esac
# the fit is after the restart: its first sample after it
t=$(jget "$J" "d['runs'][0]['metrics']['restarts'][0]['seconds']")
fcmp "$t" '>' 1 && fcmp "$t" '<' 4 || fail "restart: at $t s, not ~2 s"
echo "PASS"
