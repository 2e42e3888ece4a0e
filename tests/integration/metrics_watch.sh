#!/bin/sh
# Watch mode (docs/protocol.md section 9): run --metrics URL with no
# target starts nothing and measures a service that is already running
# (here the test service, started by the test).
#   leak    500 B a unit kept, memory: the gauge of what it holds: leak,
#           500 B/unit
#   clean   nothing kept, memory: process_resident_memory_bytes: clean
# Each time: report.json's mode is watch and its target the URL, the
# service is still running afterwards (leak-hunt neither started nor
# stopped anything), and it served leak-hunt over one connection.
#
# usage: metrics_watch.sh LEAK_HUNT
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/metrics_lib.sh"
metrics_setup "$1" metrics-watch

# watch NAME MEMORY-METRIC SERVICE-FLAGS...
watch() {
    name=$1 mem=$2
    shift 2
    service_start "$name" --rate 1000 "$@"
    conns=$(curl -s "$URL" | sed -n 's/^lh_test_connections_total //p')
    lh "$name" run --metrics "$URL" --work-metric lh_test_work_total \
        --memory-metric "$mem" --duration 5 --report "$WORK/$name"
    J=$WORK/$name/report.json
    kill -0 "$SPID" 2>/dev/null || fail "$name: the service is gone"
    after=$(curl -s "$URL" | sed -n 's/^lh_test_connections_total //p')
    # ours (curl) before and after, and leak-hunt's one
    expect "$name: connections leak-hunt opened" "$((after - conns - 1))" -eq 1
    [ "$(jget "$J" "d['mode']")" = watch ] || fail "$name: mode not watch"
    [ "$(jget "$J" "d['target']")" = "watch $URL" ] ||
        fail "$name: target not the URL"
    service_stop
}

watch leak lh_test_heap_bytes --leak 500
expect_rc leak "$RC" 1
[ "$(jget "$J" "d['verdict']")" = leak ] || fail "leak: verdict not leak"
slope_near leak "$J" 500 5

watch clean process_resident_memory_bytes --leak 0
expect_rc clean "$RC" 0
[ "$(jget "$J" "d['verdict']")" = clean ] || fail "clean: verdict not clean"
no_leftovers watch
echo "PASS"
