#!/bin/sh
# harness_hunt_sanitized.sh - the built-in pipeline built with ASan+UBSan,
# hunted as a user with a sanitizer build would (issue 18).  Registered in
# the sanitized build only, where selfheal (every process of it) carries
# the sanitizers' runtimes:
#   - `hunt --inject rpc:reachable:64` (auto, the default tools) names
#     rpc and exits 1: leak-hunt recognises the sanitizer build, preloads
#     no tcmalloc ahead of the ASan runtime (every B node starts), takes
#     the heap from the sanitizer's allocator, and skips memcheck's kind
#     with a word instead of failing;
#   - a clean hunt is clean (exit 0, no culprit);
#   - no process of either hunt is left behind, and no sanitizer report
#     (an ASan error, a UBSan runtime error) appears in any process's log.
#
# usage: harness_hunt_sanitized.sh LEAK_HUNT SOURCE_ROOT
set -eu
. "$(dirname "$0")/lib.sh"
hunt_setup "$@"
# LeakSanitizer on: every process of ours must exit leak-free (the planted
# blocks stay reachable); UBSan stops at its first finding, so one fails
# the hunt.  ci/test sets the same.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

# no_sanitizer_report NAME: every log of the hunt free of sanitizer reports
no_sanitizer_report() {
    found=$(grep -rlE "ERROR: (Address|Leak)Sanitizer|runtime error:|does not come first" \
        "$WORK/$1" "$WORK/$1.err" 2>/dev/null || :)
    [ -z "$found" ] || {
        grep -hE -A5 "ERROR: (Address|Leak)Sanitizer|runtime error:|does not come first" \
            $found | head -40 >&2
        fail "$1: sanitizer reports in $found"
    }
}

lh_hunt leak --inject rpc:reachable:64 --work "$WORK_EVENTS" --timeout 240
expect_rc leak "$rc" 1
hexpect leak culprit "$(hget leak "d['culprit']")" '["rpc"]'
expect_in leak "$WORK/leak.err" "AddressSanitizer"
no_sanitizer_report leak

lh_hunt clean --work "$WORK_EVENTS" --timeout 240
expect_rc clean "$rc" 0
hexpect clean culprit "$(hget clean "d['culprit']")" '[]'
no_sanitizer_report clean
echo "PASS"
