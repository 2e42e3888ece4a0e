#!/bin/sh
# Watch mode on the built-in pipeline (docs/protocol.md section 9):
# `selfheal up --inject rpc:reachable:64 --metrics-port` runs, started by
# the test, its stages live-switchable through LEAKHUNT_CONTROL; leak-hunt
# starts nothing and reads the B nodes' counters and live heap, summed
# (sum(...{role="b"})), from up's /metrics.
#   run    watch mode for 10 s: leak, 64-110 B/event (the planted 64 and
#          what holding it costs)
#   hunt   a watch-mode hunt whose --switch-cmd writes the control file
#          (a temporary file renamed over it): names rpc, and the file
#          holds every stage again at the end
#
# usage: metrics_selfheal.sh LEAK_HUNT SELFHEAL
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/metrics_lib.sh"
SELFHEAL=$2
need_file "$SELFHEAL" selfheal
metrics_setup "$1" metrics-selfheal

ALL=forward,hash,enqueue,verify,rpc
echo "$ALL" >"$WORK/ctl"
LEAKHUNT_CONTROL=$WORK/ctl start_in_work "$SELFHEAL" up --duration 300 \
    --rate 50000 --delay-ms 10 --window 16384 --inject rpc:reachable:64 \
    --metrics-port 0 --metrics-port-file "$WORK/up.port" \
    >"$WORK/up.out" 2>"$WORK/up.err"
UP=$!
wait_until 30 "selfheal up serving its metrics" test -s "$WORK/up.port"
URL=http://127.0.0.1:$(cat "$WORK/up.port")/metrics
WORKM='sum(selfheal_finished_total{role="b"})'
MEM='sum(selfheal_heap_live_bytes{role="b"})'
# the B nodes working
b_work() {
    curl -s "$URL" | sed -n 's/^selfheal_finished_total{role="b",node="b0"} //p' |
        grep -q '^[1-9]'
}
wait_until 30 "the B nodes working" b_work

lh run run --metrics "$URL" --work-metric "$WORKM" --memory-metric "$MEM" \
    --duration 10 --report "$WORK/run"
expect_rc run "$RC" 1
J=$WORK/run/report.json
s=$(jget "$J" "d['runs'][0]['slope_bytes_per_unit']")
note "run: $s B/event, $(jget "$J" "d['runs'][0]['metrics']")"
fcmp "$s" '>=' 64 && fcmp "$s" '<=' 110 || fail "run: $s B/event, not 64-110"

lh hunt hunt --metrics "$URL" --work-metric "$WORKM" --memory-metric "$MEM" \
    --stages "$ALL" --requires hash:forward,enqueue:forward,verify:forward,rpc:verify \
    --duration 10 --switch-cmd "printf '%s\\n' {stages} >ctl.tmp && mv ctl.tmp ctl" \
    --report "$WORK/hunt"
expect_rc hunt "$RC" 1
[ "$(jget "$WORK/hunt/report.json" "d['culprit']")" = '["rpc"]' ] ||
    fail "hunt: culprit not rpc"
[ "$(cat "$WORK/ctl")" = "$ALL" ] || fail "hunt: the control file not back"
kill -0 "$UP" 2>/dev/null || fail "selfheal up is gone"
kill -TERM "$UP"
wait "$UP" 2>/dev/null || :
no_leftovers selfheal
echo "PASS"
