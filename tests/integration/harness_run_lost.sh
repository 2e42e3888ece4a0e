#!/bin/sh
# leak-hunt run on the built-in pipeline with --inject enqueue:lost:32:8 (a
# 32-byte block every 8th event, its pointer dropped: memcheck's
# "definitely lost"): a leak (exit 1) with rss and heap -
#   rss      about 6 B/event: glibc keeps a 32-byte request in a 48-byte
#            chunk, 48 / 8;
#   heap     about 4 B/event: gperftools counts requested bytes, 32 / 8;
#            the top site is in stages/stage_enqueue.c at 4 B/event (within
#            10%), charged to stage enqueue, the culprit;
#   memcheck reports it as definitely lost (a "definitely lost" site in
#            stage_enqueue.c, and lost bytes in the final XML).
# A small leak next to the pipeline's own memory: the B nodes' buffers
# reach their high-water mark early in the run since frames are at most
# 128 KiB (stages/proto.h) and the frame reader no longer doubles its
# buffer at an unlucky offset (core/frame.c); before, the rss slope came
# out at 11.4-11.6 in 2 of 6 runs.  Measured since (300-600k events, load
# 5-12): rss 5.9-6.8, heap 3.04-5.4, memcheck 3.7-4.5.  So the rss slope
# is held to 20% of 6 and the heap tool's site figure (growth by allocation
# site between profiles) to 10% of 4; the heap run's slope to 2.5 .. 6:
# under the heap tool the B nodes keep up with 30-35k of the pipeline's
# 50k events/s, and the events they hold (a queue swinging by tens of
# thousands, ~250 B each) move the whole heap's slope over a short run by
# +-1 B/event (3.04 once, at load 4.5-7).  The
# top site is the lost block, not the events in flight (measure.c ranks
# sites that only grow first).
# memcheck's verdict may be inconclusive (a short run's leak searches are
# few), never clean.
#
# usage: harness_run_lost.sh LEAK_HUNT
set -eu
. "$(dirname "$0")/lib.sh"
run_setup "$@"
INJ=enqueue:lost:32:8

lh_run lost-rss rss "$RSS_WORK" --inject "$INJ"
expect_leak lost-rss
expect_slope lost-rss 6 20

lh_run lost-heap heap "$WORK_EVENTS" --inject "$INJ"
expect_leak lost-heap
s=$(slope)
fcmp "$s" '>=' 2.5 && fcmp "$s" '<=' 6 ||
    fail "lost-heap: slope $s B/event is not within 2.5 .. 6"
expect_heap_site lost-heap stages/stage_enqueue.c enqueue 4 10

lh_run lost-memcheck memcheck "$MC_WORK" --inject "$INJ"
[ "$rc" -eq 1 ] || [ "$rc" -eq 3 ] || {
    sed 's/^/    /' "$WORK/lost-memcheck.err" >&2
    fail "lost-memcheck: exit status $rc, want 1 (leak) or 3 (inconclusive)"
}
lost=$(jget "$J" "[s for s in d['runs'][-1]['sites'] if s['kind'] == 'definitely lost' and s['file'].endswith('stage_enqueue.c')]")
[ "$lost" != '[]' ] ||
    fail "lost-memcheck: no definitely lost site in stage_enqueue.c: $(jget "$J" "d['runs'][-1]['sites']")"
note "lost-memcheck: $(jget "$J" "'%s (%s:%d) %s %.2f B/event' % tuple(d['runs'][-1]['sites'][0][k] for k in ('function', 'file', 'line', 'kind', 'bytes_per_unit'))")"
fcmp "$(jget "$J" "d['runs'][-1]['memcheck']['definitely_lost_bytes']")" '>' 0 ||
    fail "lost-memcheck: the final XML reports nothing definitely lost"
echo "PASS"
