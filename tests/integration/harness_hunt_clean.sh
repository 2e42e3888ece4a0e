#!/bin/sh
# harness_hunt_clean.sh - `leak-hunt hunt` on the built-in selfheal pipeline
# says clean and exits 0 when nothing leaks (issue 6, "Done means"):
#   no injection, the default strategy (auto): the full set is measured
#     first, does not leak, and that ends the search: one rss run (decided
#     by two agreeing looks, ~150-250k events), a breakdown of one row
#     (all five stages together, not leaking), and with no culprit neither
#     the heap tool nor memcheck runs;
#   --inject hash:cache:64: a bounded cache (4096 blocks a node) that
#     fills and levels off is not a leak: the same, one run.
# On a loaded machine a B node that falls behind grows its inbound buffers
# to a new high-water mark, a few B/event over a run; once in 7 runs at
# load 5-8 the search read it as a leak of the full set.  The heap tool
# then finds the growth in no stage's code (take_events <- read_inbound,
# role_b.c) and auto names no culprit: inconclusive, exit 3.  That is
# accepted (and printed) for the cache, whose point is that a filling
# cache is never called a leak; the clean pipeline must say clean.
# Work budget per configuration: HUNT_WORK events (default 400000; a run
# stops once decided).
#
# usage: harness_hunt_clean.sh LEAK_HUNT SOURCE_ROOT
set -eu
LH=$1
SRC=$2
. "$(dirname "$0")/harness_hunt_sh_lib.sh"
work=${HUNT_WORK:-400000}

for name in clean cache; do
    case $name in
    clean) hunt clean --work "$work" ;;
    cache) hunt cache --work "$work" --inject hash:cache:64 ;;
    esac
    if [ $name = cache ] && [ "$RC" = 3 ] &&
        jget $name "d['error']" | grep -q "not in the code of the stage"; then
        note "cache: inconclusive, growth in no stage's code (accepted): $(jget $name "d['error']")"
        expect $name culprit "$(jget $name "d['culprit']")" "[]"
        continue
    fi
    expect_rc $name 0
    expect $name verdict "$(jget $name "d['verdict']")" clean
    expect $name culprit "$(jget $name "d['culprit']")" "[]"
    expect $name "configurations run" "$(jget $name \
        "[','.join(r['enabled']) for r in d['runs']]")" \
        '["forward,hash,enqueue,verify,rpc"]'
    expect $name tools "$(jget $name "[r['tool'] for r in d['runs']]")" \
        '["rss"]'
    expect $name "breakdown" "$(jget $name \
        "[(s['stages'], s['leaks']) for s in d['breakdown']]")" \
        '[[["forward", "hash", "enqueue", "verify", "rpc"], false]]'
    verdict_starts $name "clean"
    grep -q "strategy auto used 1 run in" "$WORK/$name.err" || {
        why $name
        fail "$name: no 'strategy auto used 1 run' on stderr"
    }
done
echo "PASS"
