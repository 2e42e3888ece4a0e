#!/bin/sh
# The soak gate of .ci/run (issue 7): a short leak-hunt soak of the
# built-in pipeline with every stage on must pass, and the same gate must
# fail on a leak of a few bytes per event, so that the gate can fail.
#
#   clean: soak --duration 40 --budget 4           -> exit 0, "clean"
#   leak:  the same for 20 s with --inject rpc:reachable:16:4
#          (16 bytes kept on a never-trimmed list every 4th event, the
#          article's "still reachable" kind: 4 B/event asked, 9-13 B/event
#          of live heap with the list node and the allocator's headers)
#          -> exit 1, "leak"
#
# The budget, 4 B/event: the clean pipeline's slope over 40 s on this
# 2-core machine, under the load of other test runs (load average 10-23),
# came out between -0.8 and +1.8 B/event in ten runs, with 95% upper
# bounds up to 3.1 (the B nodes' buffers still growing to their high-water
# marks while the queue swings by 10-30k events at ~45k events/s), so 4
# keeps it out of "cannot tell"; the injected leak measured 8.8-12.7
# B/event with lower bounds of 7.8 and more, well over 4.  With 3 the
# clean gate once came out "cannot tell" (upper bound 3.12); with
# --inject enqueue:lost:32:8 (~6 B/event measured) a 20 s run's lower
# bound came down to 4.3, too close to any budget the clean run allows.
#
# While the clean soak runs, the test copies its report directory once
# (about 10 s in) and checks that the partial report is there already:
# report.json with verdict "inconclusive", a "partial" reason and the
# budget, and samples.csv with rows, which is what a killed job leaves.
#
# usage: soak_gate.sh LEAK_HUNT
set -eu
LH=$1
. "$(dirname "$0")/lib.sh"
need_file "$LH" leak-hunt
need_cmd python3 "to read the JSON"
BUDGET=4
lh_setup soak-gate

# soak NAME SECONDS [flags...] -> status in $rc, files $WORK/NAME.{out,err}
soak() {
    name=$1 secs=$2
    shift 2
    rc=0
    in_work "$LH" soak --duration "$secs" --budget "$BUDGET" --report "$WORK/$name" \
        "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    note "$name: exit $rc: $(cat "$WORK/$name.out")"
}

# The clean gate, with a look at the partial report on the way.
(
    i=0
    while [ $i -lt 60 ] && [ ! -f "$WORK/clean/report.json" ]; do
        sleep 0.5
        i=$((i + 1))
    done
    sleep 8
    cp -r "$WORK/clean" "$WORK/partial" 2>/dev/null || :
) &
peek=$!
soak clean 40
wait $peek || :
[ "$rc" -eq 0 ] || { cat "$WORK/clean.err" >&2; fail "clean gate: exit $rc, want 0"; }
[ "$(jget "$WORK/clean/report.json" "d['verdict']")" = clean ] ||
    fail "clean gate: report.json verdict is not clean"
[ "$(jget "$WORK/clean/report.json" "d['runs'][0]['threshold']")" = "$BUDGET" ] ||
    [ "$(jget "$WORK/clean/report.json" "d['runs'][0]['threshold']")" = "$BUDGET.0" ] ||
    fail "clean gate: report.json does not carry the budget"
grep -q "^within budget" "$WORK/clean.out" || fail "clean gate: no 'within budget' line"

[ -f "$WORK/partial/report.json" ] || fail "no partial report.json during the run"
p=$WORK/partial/report.json
[ "$(jget "$p" "d['verdict']")" = inconclusive ] ||
    fail "partial report: verdict $(jget "$p" "d['verdict']"), want inconclusive"
jget "$p" "d['runs'][0]['reason']" | grep -q "^partial" ||
    fail "partial report: reason is not 'partial ...'"
w=$(jget "$p" "int(d['runs'][0]['work'])")
[ "$w" -gt 0 ] || fail "partial report: no work yet"
rows=$(cat "$WORK"/partial/runs/*/samples.csv | wc -l)
[ "$rows" -gt 10 ] || fail "partial samples.csv has $rows lines"
note "partial report after $(jget "$p" "d['runs'][0]['seconds']") s: $w events, $rows sample lines"

# The same gate on a planted leak of ~4-6 bytes per event must fail.
soak leak 20 --inject rpc:reachable:16:4
[ "$rc" -eq 1 ] || { cat "$WORK/leak.err" >&2; fail "leak gate: exit $rc, want 1"; }
[ "$(jget "$WORK/leak/report.json" "d['verdict']")" = leak ] ||
    fail "leak gate: report.json verdict is not leak"
grep -q "^over budget" "$WORK/leak.out" || fail "leak gate: no 'over budget' line"
echo "PASS"
