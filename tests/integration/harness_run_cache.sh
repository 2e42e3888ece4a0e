#!/bin/sh
# leak-hunt run on the built-in pipeline with --inject hash:cache:1024:N:
# a 1 KiB block every Nth event into a FIFO cache of 4096 blocks per B
# node (stages/inject.h), the oldest freed when full.  Memory grows by
# about 4 MiB per node, 13 MB in all, until a third of the run (N = 8 for
# the heap tool's 300k events, 16 for the rss tool's 600k: past the 20%
# warm-up the decision discards), then levels off: not a leak.  Clean
# (exit 0) with rss and heap: over a run the fill alone is a slope of
# ~20-40 B/event, 20-40 times the floor; only the levelling off (the
# decision's plateau and step rules) makes it clean.
# Checks that the cache did fill: the live heap at the end is at least
# 3 x 4 MiB over the first sample.
#
# usage: harness_run_cache.sh LEAK_HUNT
set -eu
. "$(dirname "$0")/lib.sh"
run_setup "$@"

for tool in rss heap; do
    work=$WORK_EVENTS every=8
    [ "$tool" = heap ] || work=$RSS_WORK every=16
    lh_run "cache-$tool" "$tool" "$work" --inject "hash:cache:1024:$every"
    expect_rc "cache-$tool" "$rc" 0
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
