#!/bin/sh
# harness_hunt_clean.sh - `leak-hunt hunt` on the built-in selfheal pipeline
# says clean and exits 0 when nothing leaks (issue 6, "Done means"):
#   no injection, the default strategy (auto): every growing prefix runs
#     (5 rss runs), none leaks, the breakdown names no stage, and with no
#     culprit neither the heap tool nor memcheck runs;
#   --inject hash:cache:64: a bounded cache (4096 blocks a node) that
#     fills and levels off is not a leak (bisect: the full set is clean,
#     one run).
# Work budget per configuration: HUNT_WORK events (default 400000).
#
# usage: harness_hunt_clean.sh LEAK_HUNT SOURCE_ROOT
set -eu
LH=$1
SRC=$2
. "$(dirname "$0")/harness_hunt_sh_lib.sh"
work=${HUNT_WORK:-400000}

hunt clean --work "$work"
expect_rc clean 0
expect clean verdict "$(jget clean "d['verdict']")" clean
expect clean culprit "$(jget clean "d['culprit']")" "[]"
expect clean "prefixes run" "$(jget clean \
    "[','.join(r['enabled']) for r in d['runs']]")" \
    '["forward", "forward,hash", "forward,hash,enqueue", "forward,hash,enqueue,verify", "forward,hash,enqueue,verify,rpc"]'
expect clean "tools" "$(jget clean \
    "sorted(set(r['tool'] for r in d['runs']))")" '["rss"]'
expect clean "breakdown stages" "$(jget clean \
    "[s['stage'] for s in d['breakdown']]")" \
    '["forward", "hash", "enqueue", "verify", "rpc"]'
expect clean "stages the breakdown calls leaking" "$(jget clean \
    "[s['stage'] for s in d['breakdown'] if s['leaks']]")" "[]"
verdict_starts clean "clean"
grep -q "strategy auto used 5 runs" "$WORK/clean.err" || {
    why clean
    fail "clean: no 'strategy auto used 5 runs' on stderr"
}

hunt cache --strategy bisect --work "$work" --inject hash:cache:64
expect_rc cache 0
expect cache verdict "$(jget cache "d['verdict']")" clean
expect cache culprit "$(jget cache "d['culprit']")" "[]"
verdict_starts cache "clean"
echo "PASS"
