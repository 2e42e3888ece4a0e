#!/bin/sh
# A target built with AddressSanitizer (issue 18; docs/protocol.md section
# 6): toyprog built with -fsanitize=address.  Its runtime must come first
# and replaces malloc, and its quarantine makes RSS grow in every
# configuration.  leak-hunt recognises it before preloading anything:
#   heap      no tcmalloc, no profile; the heap from the sanitizer's
#             allocator (heap-live.log, from=sanitizer); the run's
#             `skipped` and stderr say so; the 64 B/unit leak found, a
#             clean run clean, and the target never refused to start
#             ("ASan runtime does not come first");
#   rss       the target's heap= comes from the sanitizer's counter: clean
#             stays clean while RSS grows with the quarantine;
#   memcheck  refused before anything starts: exit 2, with the reason;
#   hunt      auto (rss search, heap confirmation, memcheck's kind) ends
#             with a verdict naming the stage: the kind is skipped with a
#             word, not failed.
#
# usage: harness_sanitizer.sh LEAK_HUNT TOYPROG_BUILT_WITH_ASAN
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export ASAN_OPTIONS

# run NAME TOOL ENABLE TOYPROG_ARGS...: rc, J, R
run() {
    name=$1 tool=$2 enable=$3
    shift 3
    rc=0
    in_work "$LH" run --tool "$tool" --enable "$enable" --duration 5 \
        --report "$WORK/$name" -- "$TOY" --enable='{stages}' "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    note "$name: exit $rc: $(cat "$WORK/$name.out")"
    no_leftovers "$name"
    J=$WORK/$name/report.json
    R=$(jget "$J" "d['runs'][-1]['dir']")
}

run heap-leak heap parse --leak parse:64
expect_rc heap-leak "$rc" 1
[ "$(jget "$J" "d['runs'][-1]['signal']")" = heap ] ||
    fail "heap-leak: not decided on the heap"
within "heap-leak slope" "$(jget "$J" "d['runs'][-1]['slope_bytes_per_unit']")" 64 10
jget "$J" "d['runs'][-1]['skipped']" | grep -q "built with AddressSanitizer" ||
    fail "heap-leak: the report does not say the heap tool was skipped"
expect_in heap-leak "$WORK/heap-leak.err" "built with AddressSanitizer"
expect_in heap-leak "$R/heap-live.log" "from=sanitizer"
! ls "$R" | grep -q '\.heap$' || fail "heap-leak: a heap profile was written"
! grep -q "does not come first" "$R/target.log" ||
    fail "heap-leak: the ASan runtime was not first"

run heap-clean heap parse,filter,emit
expect_rc heap-clean "$rc" 0

run rss-clean rss parse,filter,emit
expect_rc rss-clean "$rc" 0
[ "$(jget "$J" "d['runs'][-1]['signal']")" = heap ] ||
    fail "rss-clean: not decided on the sanitizer's heap"

run memcheck memcheck parse --leak parse:64
expect_rc memcheck "$rc" 2
expect_in memcheck "$WORK/memcheck.err" "valgrind cannot run a program built with a sanitizer"
[ ! -e "$R/target.log" ] || fail "memcheck: the target was started"

rc=0
in_work "$LH" hunt --stages parse,filter,emit --duration 4 --timeout 60 \
    --json "$WORK/hunt.json" -- "$TOY" --enable='{stages}' --leak filter:64 \
    >"$WORK/hunt.out" 2>"$WORK/hunt.err" || rc=$?
note "hunt: exit $rc: $(cat "$WORK/hunt.out")"
no_leftovers hunt
expect_rc hunt "$rc" 1
[ "$(jget "$WORK/hunt.json" "d['culprit']")" = '["filter"]' ] ||
    fail "hunt: the culprit is not filter"
expect_in hunt "$WORK/hunt.err" "the kind of leak is not measured"
echo "PASS"
