#!/bin/sh
# Live hunts on the built-in selfheal pipeline (docs/protocol.md section
# 5): `selfheal up` started once, its stages switched under it, the whole
# hunt under the heap tool (memcheck's kind a run of its own).
#   rpc:reachable:64, auto: rpc named, its top site in the rpc stage's
#     code, memcheck "still reachable"; mode live, one live run; the
#     figures printed (verdict_seconds, elapsed_seconds);
#   rpc:reachable:64, bisect: rpc named, live;
#   clean, and --inject hash:cache:64 (a cache that fills and levels
#     off), live: harness_hunt_clean.sh;
#   a 3 s delay queue (selfheal up as the target, --delay-ms 3000) filled
#     in a long enqueue segment, then enqueue switched off (isolate: the
#     forward,enqueue segment is followed by forward,verify): what the
#     queue held is released at the switch, and no later segment reads
#     that, or the queue filling, as a leak: clean, exit 0.
# Work budget per configuration: HUNT_WORK (lib.sh's hunt_setup).
#
# usage: harness_live_pipeline.sh LEAK_HUNT SOURCE_ROOT
set -eu
. "$(dirname "$0")/lib.sh"
hunt_setup "$@"
SELFHEAL=$(dirname "$LH")/selfheal
need_file "$SELFHEAL" selfheal

# expect_live NAME: mode live, every heap run a segment of one live run
expect_live() {
    hexpect "$1" mode "$(hget "$1" "d['mode']")" live
    hexpect "$1" "live runs" "$(hget "$1" \
        "sorted(set(r.get('live_run', 0) for r in d['runs'] if r['tool'] == 'heap'))")" "[1]"
    note "$1: verdict after $(hget "$1" "d.get('verdict_seconds')") s," \
        "whole hunt $(hget "$1" "round(d['elapsed_seconds'], 1)") s," \
        "$(hget "$1" "len(d['runs'])") runs"
}

lh_hunt rpc --work "$WORK_EVENTS" --inject rpc:reachable:64
expect_rc rpc "$rc" 1
hexpect rpc culprit "$(hget rpc "d['culprit']")" '["rpc"]'
expect_live rpc
verdict_starts rpc "leak in stage rpc"
hexpect rpc "top site's stage" "$(hget rpc \
    "[s['stage'] for r in d['runs'] if r['tool'] == 'heap' and r['verdict'] == 'leak' for s in r['sites']][:1]")" \
    '["rpc"]'
hget rpc "d['memcheck_kind']" | grep -q '^still reachable' ||
    fail "rpc: memcheck kind '$(hget rpc "d['memcheck_kind']")'"
hexpect rpc "separate runs" "$(hget rpc \
    "[r['tool'] for r in d['runs'] if r.get('separate')]")" '["memcheck"]'

lh_hunt bisect --strategy bisect --work "$WORK_EVENTS" \
    --inject rpc:reachable:64
expect_rc bisect "$rc" 1
hexpect bisect culprit "$(hget bisect "d['culprit']")" '["rpc"]'
expect_live bisect

# A long enqueue segment with a 3 s delay queue, then enqueue off.
lh_hunt queue --strategy isolate --work "$WORK_EVENTS" --target-wraps \
    --stages forward,hash,enqueue,verify,rpc \
    --requires hash:forward,enqueue:forward,verify:forward,rpc:verify \
    -- "$SELFHEAL" up --stages '{stages}' --nodes 3 --duration 86400 \
    --rate 20000 --delay-ms 3000 --window 200000
expect_rc queue "$rc" 0
hexpect queue verdict "$(hget queue "d['verdict']")" clean
expect_live queue
hexpect queue "configurations" "$(hget queue \
    "[','.join(r['enabled']) for r in d['runs']]")" \
    '["", "forward", "forward,hash", "forward,enqueue", "forward,verify", "forward,verify,rpc"]'
# the delay queue did fill: tens of thousands of events held
q=$(jget "$WORK/queue.json" \
    "int(max(float(l.split(',')[4]) for l in open(d['runs'][3]['dir'] + '/samples.csv').readlines()[1:]))")
note "queue: the enqueue segment held up to $q events"
expect "queue: events held in the delay queue" "$q" -ge 20000
echo "PASS"
