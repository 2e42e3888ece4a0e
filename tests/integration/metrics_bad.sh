#!/bin/sh
# Bad input to --metrics found before the run (docs/protocol.md section
# 9): each a clear message on stderr and exit 2, never a verdict.
#   noanswer   nothing listens at the URL
#   notfound   the URL answers 404
#   garbage    a body that is not the exposition format
#   html       an HTML page
#   missing    the work metric is not there
#   notcounter the work metric is a gauge
#   badsel     a selector that does not parse
#   flags      watch mode without --memory-metric, --work-metric without
#              --metrics, --tool heap with --metrics, a watch-mode hunt
#              without --switch-cmd, --switch-cmd with a target, --restart
#              in watch mode
#
# usage: metrics_bad.sh LEAK_HUNT
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/metrics_lib.sh"
metrics_setup "$1" metrics-bad

# bad NAME WANT-TEXT URL [FLAGS...]: a watch-mode run on URL exits 2
# saying WANT-TEXT, with no verdict
bad() {
    name=$1 want=$2 url=$3
    shift 3
    lh "$name" run --metrics "$url" --memory-metric lh_test_heap_bytes \
        --duration 3 --json "$WORK/$name.json" "$@"
    expect_rc "$name" "$RC" 2
    expect_in "$name" "$WORK/$name.err" "$want"
    [ "$(jget "$WORK/$name.json" "d['verdict']")" = error ] ||
        fail "$name: a verdict drawn"
    fcmp "$SECS" '<' 3 || fail "$name: $SECS s to say so"
}

service_start ok --rate 1000
p=$(free_port)
bad noanswer "cannot scrape http://127.0.0.1:$p/metrics: Failed to connect" \
    "http://127.0.0.1:$p/metrics" --work-metric lh_test_work_total
bad notfound "HTTP 404" "http://127.0.0.1:$PORT/nope"
bad missing "metric nope_total not found" "$URL" --work-metric nope_total
bad notcounter "lh_test_heap_bytes is a gauge, not a counter" "$URL" \
    --work-metric lh_test_heap_bytes
bad badsel "bad metric selector" "$URL" --work-metric 'lh_test_work_total{code='
curl -sf -d garbage "http://127.0.0.1:$PORT/mode" >/dev/null
bad garbage "does not serve the Prometheus text format" "$URL"
curl -sf -d html "http://127.0.0.1:$PORT/mode" >/dev/null
bad html "$URL" "$URL"
service_stop

# usage errors: exit 2 with the flag named
usage() {
    name=$1 want=$2
    shift 2
    lh "$name" "$@"
    expect_rc "$name" "$RC" 2
    expect_in "$name" "$WORK/$name.err" "$want"
}
U=http://127.0.0.1:1/metrics
usage nomem "needs --memory-metric" run --metrics "$U" --duration 3
usage nourl "--work-metric needs --metrics URL" run --work-metric x_total \
    -- sleep 10
usage heap "--tool heap cannot measure through --metrics" run --tool heap \
    --metrics "$U" --memory-metric m -- sleep 10
usage noswitch "needs --switch-cmd" hunt --metrics "$U" --memory-metric m \
    --stages a,b
usage switchtarget "--switch-cmd applies to watch mode only" hunt \
    --metrics "$U" --stages a,b --switch-cmd true -- sleep 10
usage restart "--restart does not apply to watch mode" run --metrics "$U" \
    --memory-metric m --restart
no_leftovers bad
echo "PASS"
