#!/bin/sh
# Bad input to --metrics found during the run (docs/protocol.md section
# 9): each a clear message and exit 3, never a leak or clean verdict.
#   gone404     the service starts answering 404 two seconds in: the
#               failed scrapes are said and skipped, and the run ends
#               inconclusive (more than half failed, or none good for 5 s)
#   switchfail  a watch-mode hunt whose switch command exits 1: the
#               configuration named
#   noack       a switch command that does nothing: the service still
#               shows its old list 10 s later: the configuration named
#   notarget    a target that never serves its metrics: exit 2 after the
#               10 s leak-hunt waits for a started target's first scrape
#
# usage: metrics_bad_run.sh LEAK_HUNT
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/metrics_lib.sh"
metrics_setup "$1" metrics-bad-run

# no_verdict NAME: report.json's verdict is neither leak nor clean
no_verdict() {
    v=$(jget "$WORK/$1.json" "d['verdict']")
    [ "$v" != leak ] && [ "$v" != clean ] || fail "$1: verdict $v drawn"
}

service_start gone404 --rate 1000 --leak 100
(sleep 2 && curl -sf -d 404 "http://127.0.0.1:$PORT/mode" >/dev/null) &
lh gone404 run --metrics "$URL" --work-metric lh_test_work_total \
    --memory-metric lh_test_heap_bytes --duration 10 \
    --json "$WORK/gone404.json"
expect_rc gone404 "$RC" 3
no_verdict gone404
expect_in gone404 "$WORK/gone404.err" "a scrape failed (skipped"
expect_in gone404 "$WORK/gone404.err" "scrapes failed"
expect_in gone404 "$WORK/gone404.err" "HTTP 404"
[ "$(grep -c 'a scrape failed' "$WORK/gone404.err")" = 1 ] ||
    fail "gone404: each failed scrape said, not the first"
fcmp "$SECS" '<' 9 || fail "gone404: $SECS s, the run went on"
# the scrapes counted in report.json, the first failure quoted
f=$(jget "$WORK/gone404.json" "d['runs'][0]['metrics']['failed']")
expect "gone404: failed scrapes counted" "$f" -ge 10
jget "$WORK/gone404.json" "d['runs'][0]['metrics']['first_error']" |
    grep -q "HTTP 404" || fail "gone404: the first failure not in report.json"
service_stop

service_start switch --rate 1000 --leak 100 --leak-stage b --stages a,b
lh switchfail hunt --metrics "$URL" --work-metric lh_test_work_total \
    --memory-metric lh_test_heap_bytes --stages a,b --duration 4 \
    --switch-cmd 'echo cannot reach the service >&2; exit 1 # {stages}' \
    --json "$WORK/switchfail.json"
expect_rc switchfail "$RC" 3
no_verdict switchfail
expect_in switchfail "$WORK/switchfail.err" "cannot switch the service to no stage: the switch command"
expect_in switchfail "$WORK/switchfail.err" "exit status 1"
expect_in switchfail "$WORK/switchfail.err" "cannot reach the service"

lh noack hunt --metrics "$URL" --work-metric lh_test_work_total \
    --memory-metric lh_test_heap_bytes --stages a,b --duration 4 \
    --switch-cmd 'true {stages}' --json "$WORK/noack.json"
expect_rc noack "$RC" 3
no_verdict noack
expect_in noack "$WORK/noack.err" "live switching failed while measuring no stage: leakhunt_stages shows 'a,b'"
service_stop

p=$(free_port)
lh notarget run --metrics "http://127.0.0.1:$p/metrics" \
    --work-metric lh_test_work_total --duration 5 \
    --json "$WORK/notarget.json" -- sleep 60
expect_rc notarget "$RC" 2
no_verdict notarget
expect_in notarget "$WORK/notarget.err" "no good scrape in the first 10 s of the target"
no_leftovers bad-run
echo "PASS"
