#!/bin/sh
# leak-hunt run on the built-in selfheal pipeline, all stages on, nothing
# injected: clean (exit 0) with each tool - rss (glibc's live heap that
# the B nodes report), heap (gperftools: tcmalloc's live heap, profiles
# dumped during the run) and memcheck (growth by loss record between vgdb
# leak searches: what keeps growing, with the buffers that step up to
# their high-water mark and the events in flight set aside; see
# harness/tools/tool_memcheck.c).  Of memcheck also: nothing lost and no other
# error (the pipeline runs under valgrind with ci/valgrind.supp).  The
# three runs go back to back under the same conditions, so their events/s
# give the slowdown of heap and memcheck against rss (printed: the design
# note's figures).
#
# usage: harness_run_clean.sh LEAK_HUNT
set -eu
. "$(dirname "$0")/lib.sh"
run_setup "$@"

for tool in rss heap memcheck; do
    case $tool in
    memcheck) work=$MC_WORK ;;
    rss) work=$RSS_WORK ;;
    *) work=$WORK_EVENTS ;;
    esac
    lh_run "clean-$tool" "$tool" "$work"
    expect_rc "clean-$tool" "$rc" 0
    expect_verdict "clean-$tool" clean
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
