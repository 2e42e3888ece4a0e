#!/bin/sh
# harness_hunt_stages.sh - `leak-hunt hunt --inject S:reachable:64` on the
# built-in selfheal pipeline names exactly S, for each of its five stages,
# and exits 1 (issue 6, "Done means").  To bound CI time: the bisect
# strategy with the rss tool and a reduced work budget (HUNT_WORK events
# per configuration, default 400000); the auto strategy, with the heap
# tool and memcheck, is harness_hunt_two.sh and harness_hunt_abi.sh.
# Bisect over the growing prefixes (forward needs nothing, everything needs
# forward, rpc needs verify) runs the full set, then halves: 3 runs for
# forward, hash and enqueue, 4 for verify and rpc.  For forward the leak is
# already in the first prefix, which bisect reaches last.
#
# usage: harness_hunt_stages.sh LEAK_HUNT SOURCE_ROOT
set -eu
LH=$1
SRC=$2
. "$(dirname "$0")/harness_hunt_sh_lib.sh"
work=${HUNT_WORK:-400000}

for s in forward:3 hash:3 enqueue:3 verify:4 rpc:4; do
    stage=${s%:*}
    runs=${s#*:}
    hunt "$stage" --strategy bisect --tool rss --work "$work" --quiet \
        --inject "$stage:reachable:64"
    expect_rc "$stage" 1
    expect "$stage" verdict "$(jget "$stage" "d['verdict']")" leak
    expect "$stage" culprit "$(jget "$stage" "d['culprit']")" "[\"$stage\"]"
    expect "$stage" "bisect's run count" "$(jget "$stage" "d['run_count']")" \
        "$runs"
    expect "$stage" tools "$(jget "$stage" \
        "sorted(set(r['tool'] for r in d['runs']))")" '["rss"]'
    # 64 B a block plus the allocator's header and the list's node: ~80;
    # a sanity bound only, the slope is noisy on a loaded machine
    expect "$stage" "leaking runs' slopes within 32-160 B/event" "$(jget \
        "$stage" "all(32 <= r['slope_bytes_per_unit'] <= 160 for r in d['runs'] if r['verdict'] == 'leak')")" true
    verdict_starts "$stage" "leak in stage $stage: +"
    # --quiet: nothing on stderr (no progress, no run count)
    [ ! -s "$WORK/$stage.err" ] || {
        why "$stage"
        fail "$stage: --quiet hunt wrote to stderr"
    }
done
echo "PASS"
