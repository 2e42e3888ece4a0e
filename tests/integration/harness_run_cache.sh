#!/bin/sh
# leak-hunt run on the built-in pipeline with --inject hash:cache:1024:8:
# a 1 KiB block every 8th event into a FIFO cache of 4096 blocks per B
# node (stages/inject.h), the oldest freed when full.  Memory grows by
# about 4 MiB per node, 13 MB in all, until ~100k events (a third of the
# run, past the 20% warm-up the decision discards), then levels off: not a
# leak.  Clean (exit 0) with rss and heap: over the run's 300k events the
# fill alone is a slope of ~40 B/event, 40 times the floor; only the
# levelling off (the decision's plateau and step rules) makes it clean.
# Checks that the cache did fill: the live heap at the end is at least
# 3 x 4 MiB over the first sample.
#
# usage: harness_run_cache.sh LEAK_HUNT
set -eu
LH=$1
. "$(dirname "$0")/harness_run_lib.sh"
INJ=hash:cache:1024:8

for tool in rss heap; do
    lh_run "cache-$tool" "$tool" "$WORK_EVENTS" --inject "$INJ"
    expect_rc "cache-$tool" 0
    expect_verdict "cache-$tool" clean
    # samples.csv: t,work,heap,rss,queue (heap summed over the B nodes)
    grown=$(python3 - "$WORK/cache-$tool"/runs/*/samples.csv <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
heap = [float(r["heap"]) for r in rows if float(r["heap"]) > 0]
print("%.0f" % (statistics.median(heap[-len(heap) // 3:]) - heap[0]))
PY
)
    note "cache-$tool: live heap grew by $grown bytes"
    fcmp "$grown" '>=' $((3 * 4096 * 1024)) ||
        fail "cache-$tool: the cache did not fill (heap grew $grown bytes)"
done
echo "PASS"
