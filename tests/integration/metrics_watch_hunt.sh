#!/bin/sh
# A hunt in watch mode (docs/protocol.md section 9): the test service runs
# stages a,b,c and leaks 500 B a unit in b; leak-hunt starts nothing, and
# switches its stages per configuration with --switch-cmd.
#   curl   --switch-cmd 'curl ... -d {stages} .../stages', acknowledged by
#          the service's leakhunt_stages: names b, each configuration a
#          live segment, the service back on a,b,c at the end
#   file   --switch-cmd writing the service's control file (a temporary
#          file renamed over it, as the live-control protocol asks), on
#          stages a,b, the service saying nothing of its stages (no
#          leakhunt_stages: a switch is taken once the work counter moves
#          again 1 s after the command): names b; nothing to switch back
#          to
#
# usage: metrics_watch_hunt.sh LEAK_HUNT
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/metrics_lib.sh"
metrics_setup "$1" metrics-watch-hunt

# check NAME: the hunt named b, live, every run a segment
check() {
    J=$WORK/$1/report.json
    expect_rc "$1" "$RC" 1
    [ "$(jget "$J" "d['culprit']")" = '["b"]' ] ||
        fail "$1: culprit $(jget "$J" "d['culprit']"), not b"
    [ "$(jget "$J" "d['mode']")" = live ] || fail "$1: mode not live"
    [ "$(jget "$J" "len([r for r in d['runs'] if r.get('live_run') != 1])")" = 0 ] ||
        fail "$1: a run that is not a segment of the watched service"
    kill -0 "$SPID" 2>/dev/null || fail "$1: the service is gone"
}

service_start curl --rate 1000 --leak 500 --leak-stage b --stages a,b,c
lh curl hunt --metrics "$URL" --work-metric lh_test_work_total \
    --memory-metric lh_test_heap_bytes --stages a,b,c --duration 5 \
    --switch-cmd "curl -sf -d {stages} http://127.0.0.1:$PORT/stages" \
    --report "$WORK/curl"
check curl
expect_in curl "$WORK/curl.err" "switched the service back to a,b,c"
curl -s "$URL" | grep -q '^leakhunt_stages{stages="a,b,c"} 1$' ||
    fail "curl: the service does not run a,b,c again"
# a segment per configuration, the leaking ones at 500 B/unit
jget "$J" "[round(r['slope_bytes_per_unit']) for r in d['runs'] if r['verdict'] == 'leak']" |
    grep -qx '\[500\(, 500\)*\]' || fail "curl: leaking segments not at 500 B/unit"
service_stop

echo a,b >"$WORK/ctl"
service_start file --rate 1000 --leak 500 --leak-stage b --control "$WORK/ctl" \
    --no-stages-metric
lh file hunt --metrics "$URL" --work-metric lh_test_work_total \
    --memory-metric lh_test_heap_bytes --stages a,b --duration 5 \
    --switch-cmd "printf '%s\\n' {stages} >ctl.tmp && mv ctl.tmp ctl" \
    --report "$WORK/file"
check file
! grep -q "switched the service back" "$WORK/file.err" ||
    fail "file: switched back to a list the service never showed"
service_stop
no_leftovers watch-hunt
echo "PASS"
