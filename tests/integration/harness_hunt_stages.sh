#!/bin/sh
# harness_hunt_stages.sh - `leak-hunt hunt --inject S:reachable:64` on the
# built-in selfheal pipeline names exactly S, for each of its five stages,
# and exits 1 (issue 6, "Done means"), with the default strategy (auto).
# auto measures the baseline (every stage off, 5 s: no work with forward
# off), the full set, then halves the ranges of prefixes whose increment
# is a leak (forward needs nothing, everything needs forward, rpc needs
# verify): 4 rss runs for forward, hash and enqueue, 5 for verify and rpc
# (the baseline and bisect's counts); then the confirmation: the culprit's
# leak-free neighbour (the prefix before it; none for forward) again with
# rss, the heap tool on the culprit's configuration (and the sites), and
# memcheck on it for the kind.  Checked for each S:
#   - culprit exactly [S], and the breakdown's only leaking row is S: a
#     leak in verify measures a few B/event more or less with rpc on too,
#     which must not read as a second leak (the false [verify, rpc] of an
#     earlier auto);
#   - the run count, the neighbour's second rss run just before the heap
#     run, and the heap run on the culprit's configuration (plus
#     a second rss run of it when the heap run did not say leak);
#   - the heap tool charges over half the leak to stage S's code, and the
#     verdict names S's site (S_handle, where selfheal plants it);
#   - memcheck: still reachable, not lost.
# Live (the default: docs/protocol.md section 5) the search's runs are
# segments of one live run under the heap tool, whose sites on the
# culprit's configuration are the confirmation (no run of its own): the
# same counts with heap for rss and no heap run after the neighbour's;
# with HUNT_RESTART=1 (--restart) as described above.
# Work budget per configuration: HUNT_WORK events (default 400000; runs
# stop once decided).
#
# usage: harness_hunt_stages.sh LEAK_HUNT SOURCE_ROOT
set -eu
. "$(dirname "$0")/lib.sh"
hunt_setup "$@"
stages=${HUNT_STAGES:-forward hash enqueue verify rpc}

for stage in $stages; do
    case $stage in
    forward) runs=4 conf=forward nb= ;;
    hash) runs=5 conf=forward,hash nb=forward ;;
    enqueue) runs=5 conf=forward,hash,enqueue nb=forward,hash ;;
    verify) runs=6 conf=forward,hash,enqueue,verify nb=forward,hash,enqueue ;;
    rpc) runs=6 conf=forward,hash,enqueue,verify,rpc nb=forward,hash,enqueue,verify ;;
    *) fail "unknown stage $stage" ;;
    esac
    lh_hunt "$stage" --work "$WORK_EVENTS" --timeout 150 --quiet \
        --inject "$stage:reachable:64" ${HUNT_RESTART:+--restart}
    expect_rc "$stage" "$rc" 1
    hexpect "$stage" verdict "$(hget "$stage" "d['verdict']")" leak
    hexpect "$stage" culprit "$(hget "$stage" "d['culprit']")" "[\"$stage\"]"
    hexpect "$stage" "leaking breakdown rows" "$(hget "$stage" \
        "[s['stage'] for s in d['breakdown'] if s['leaks']]")" "[\"$stage\"]"
    # the search's tool, and the confirmation's run of its own (restart)
    if [ "$(hget "$stage" "d['mode']")" = live ]; then
        search=heap confirm=
    else
        search=rss confirm="[\"heap\", \"$conf\"], "
        # one more when the heap run did not say leak (on a loaded
        # machine its pipeline falls behind): the culprit's configuration
        # measured again with rss, which must then leak
        if [ "$(hget "$stage" "[r['verdict'] for r in d['runs'] if r['tool'] == 'heap']")" != '["leak"]' ]; then
            note "$stage: the heap run did not say leak; rss measured $conf again"
            runs=$((runs + 1))
            hexpect "$stage" "second opinion" "$(hget "$stage" \
                "[(','.join(r['enabled']), r['verdict']) for r in d['runs'] if r['tool'] == 'rss'][-1]")" \
                "[\"$conf\", \"leak\"]"
        fi
    fi
    # the confirmation's rerun of the leak-free neighbour (none for
    # forward: its neighbour is every stage off): the last search run
    # before the first run of another tool, on the neighbour's
    # configuration, the second one there
    if [ -n "$nb" ]; then
        hexpect "$stage" "neighbour rerun" "$(hget "$stage" \
            "[(r['tool'], ','.join(r['enabled'])) for r in d['runs']][[r['tool'] != '$search' for r in d['runs']].index(True) - 1]")" \
            "[\"$search\", \"$nb\"]"
        hexpect "$stage" "neighbour's $search runs" "$(hget "$stage" \
            "len([r for r in d['runs'] if r['tool'] == '$search' and ','.join(r['enabled']) == '$nb'])")" 2
    fi
    hexpect "$stage" "$search runs" "$(hget "$stage" \
        "len([r for r in d['runs'] if r['tool'] == '$search'])")" "$runs"
    hexpect "$stage" "confirmation and kind runs" "$(hget "$stage" \
        "[(r['tool'], ','.join(r['enabled'])) for r in d['runs'] if r['tool'] != '$search']")" \
        "[$confirm[\"memcheck\", \"$conf\"]]"
    # 64 B a block plus the allocator's header and the list's node: ~80
    # under glibc, ~64 under tcmalloc; a sanity bound only
    hexpect "$stage" "leaking runs' slopes within 32-160 B/event" "$(hget \
        "$stage" "all(32 <= r['slope_bytes_per_unit'] <= 160 for r in d['runs'] if r['verdict'] == 'leak')")" true
    # the heap tool charges the growth to S's code: its sites of stage S
    # add up to over half the leak (the top site overall may be another:
    # the B nodes' inbound buffers, growing while a node falls behind)
    hexpect "$stage" "heap growth charged to $stage over 32 B/event" "$(hget \
        "$stage" "max(sum(s['bytes_per_unit'] for s in r['sites'] if s['stage'] == '$stage') for r in d['runs'] if r['tool'] == 'heap' and ','.join(r['enabled']) == '$conf') > 32")" \
        true
    case "$(head -n 1 "$WORK/$stage.out")" in
    *"top site ${stage}_handle <- "*) ;;
    *)
        why "$stage"
        fail "$stage: the verdict's top site is not ${stage}_handle"
        ;;
    esac
    case "$(hget "$stage" "d['memcheck_kind']")" in
    "still reachable"*) ;;
    *)
        why "$stage"
        fail "$stage: memcheck kind is '$(hget "$stage" "d['memcheck_kind']")'"
        ;;
    esac
    verdict_starts "$stage" "leak in stage $stage: +"
    # --quiet: nothing on stderr (no progress, no run count)
    [ ! -s "$WORK/$stage.err" ] || {
        why "$stage"
        fail "$stage: --quiet hunt wrote to stderr"
    }
done
echo "PASS"
