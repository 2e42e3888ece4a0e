#!/bin/sh
# leak-hunt run on the built-in selfheal pipeline, all stages on, nothing
# injected: clean (exit 0) with each tool - rss (glibc's live heap that
# the B nodes report), heap (gperftools: tcmalloc's live heap, profiles
# dumped during the run) and memcheck (the bytes in use at vgdb leak
# searches).  The memcheck verdict is NOT asserted: on the clean
# pipeline its bytes-in-use signal includes the B nodes' inbound buffers
# growing to their high-water mark, and it has said leak (+5 B/event at
# lh_buf_reserve <- lh_frame_reader_fill) as well as clean and
# inconclusive - a known false positive, the open part of issue 5.  The
# verdict is printed; what is asserted of memcheck is that it reports
# nothing lost and no other error (the
# pipeline runs under valgrind with ci/valgrind.supp).  The three runs go
# back to back under the same conditions, so their events/s give the
# slowdown of heap and memcheck against rss (printed: the design note's
# figures).
#
# usage: harness_run_clean.sh LEAK_HUNT
set -eu
LH=$1
. "$(dirname "$0")/harness_run_lib.sh"

for tool in rss heap memcheck; do
    case $tool in
    memcheck) work=$MC_WORK ;;
    *) work=$WORK_EVENTS ;;
    esac
    lh_run "clean-$tool" "$tool" "$work"
    if [ "$tool" = memcheck ]; then
        verdict=$(jget "$J" "d['verdict']")
        note "clean-memcheck: verdict $verdict (not asserted: see the header)"
    else
        expect_rc "clean-$tool" 0
        expect_verdict "clean-$tool" clean
    fi
    [ "$(jget "$J" "d['culprit']")" = '[]' ] ||
        fail "clean-$tool: a culprit in a clean run"
    eval "rate_$tool=\$(jget \"\$J\" \"d['runs'][-1]['rate']\")"
done
J=$WORK/clean-memcheck/report.json
[ "$(jget "$J" "d['runs'][-1]['memcheck']['definitely_lost_bytes']")" = 0 ] ||
    fail "clean-memcheck: memcheck reports definitely lost bytes"
[ "$(jget "$J" "d['runs'][-1]['memcheck']['other_errors']")" = 0 ] ||
    fail "clean-memcheck: memcheck reports errors: $(jget "$J" "d['runs'][-1]['memcheck']['first_error']")"

note "events/s: rss $rate_rss, heap $rate_heap, memcheck $rate_memcheck"
note "slowdown against rss: heap x$(python3 -c "print('%.2f' % ($rate_rss / $rate_heap))"), memcheck x$(python3 -c "print('%.2f' % ($rate_rss / $rate_memcheck))")"
echo "PASS"
