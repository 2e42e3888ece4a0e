#!/bin/sh
# bench_pipeline.sh [SELFHEAL [BENCH_CONSUME [EVENTS]]] - the pipeline's
# end-to-end rate against the raw Kafka consume rate, in the same run on
# the same broker.  Prints figures; not a timed test.
#
# 1. starts one embedded broker (64 partitions: the mock keeps ~5 MB per
#    partition, so EVENTS events of ~140 B on the wire all stay there);
# 2. `selfheal up --brokers` on it with all five stages and EVENTS events
#    (default 1,000,000): e2e = events verified per second while the run
#    is in steady state (from 10% to 90% of the events finished), and
#    overall = events / (first produced .. last finished, including the
#    1 s delay of the enqueue stage);
# 3. bench_consume on the same broker and topic, a fresh group reading the
#    same EVENTS events: raw = librdkafka's consume rate (first message to
#    last, the group join excluded);
# and prints e2e, raw and their ratio.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/bin/selfheal}
consume=${2:-$(dirname "$bin")/bench_consume}
n=${3:-1000000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/bench-pipeline.XXXXXX")
broker_pid=
cleanup() {
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid"
    rm -rf "$dir"
}
trap cleanup EXIT

"$bin" broker --partitions 64 --port-file "$dir/broker" >/dev/null 2>&1 &
broker_pid=$!
i=0
while [ ! -s "$dir/broker" ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || { echo "bench_pipeline: broker did not start" >&2; exit 1; }
    sleep 0.05
done
brokers=$(cat "$dir/broker")

"$bin" up --brokers "$brokers" --events "$n" --max-lag 0 \
    --json "$dir/up.json" >"$dir/up.out" 2>"$dir/up.err" ||
    { tail -20 "$dir/up.err" >&2; echo "bench_pipeline: up failed" >&2; exit 1; }
# The broker's CPU time during the pipeline run (utime + stime).
bcpu=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' \
       "/proc/$broker_pid/stat" 2>/dev/null || echo "?")
num() { sed -n "s/^  \"$1\": \([0-9.]*\),\{0,1\}\$/\1/p" "$dir/up.json"; }
verified=$(num verified)
e2e=$(num events_per_second)
secs=$(num seconds)

"$consume" --brokers "$brokers" --topic changes --expect "$n" --only raw \
    >"$dir/consume.out" 2>"$dir/consume.err" ||
    { cat "$dir/consume.err" >&2; echo "bench_pipeline: bench_consume failed" >&2; exit 1; }
raw=$(sed -n 's/^bench_consume: raw .*rate=\([0-9.]*\).*/\1/p' "$dir/consume.out")

grep -E "^  (cpu seconds|throughput)" "$dir/up.out" || true
echo "  broker cpu seconds:    $bcpu"
# up reports no steady-state rate (0) when the window has no end: A's acks
# reached the target while the B nodes' finished counts on file were still
# short of 90% (2 runs in 5 before up waited up to 500 ms for them).
# Should it happen again, that run's e2e and ratio print as "?", and
# ci/bench's medians leave them out.
awk -v n="$n" -v v="$verified" -v e2e="$e2e" -v s="$secs" -v raw="$raw" 'BEGIN {
    printf "bench_pipeline: events=%d verified=%d\n", n, v
    if (e2e > 0)
        printf "bench_pipeline: e2e=%.0f events/s (steady), ", e2e
    else
        printf "bench_pipeline: e2e=? events/s (up found no steady-state window), "
    printf "overall=%.0f events/s (%.2f s incl. the 1 s delay)\n", v / s, s
    printf "bench_pipeline: raw=%.0f msgs/s (librdkafka consume, same broker)\n", raw
    if (e2e > 0 && raw > 0)
        printf "bench_pipeline: ratio e2e/raw=%.3f\n", e2e / raw
    else
        printf "bench_pipeline: ratio e2e/raw=?\n"
}'
