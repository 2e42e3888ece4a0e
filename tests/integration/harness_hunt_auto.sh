#!/bin/sh
# leak-hunt hunt --strategy auto on toyprog with a leak in emit: the full
# set and halving, the leak-free neighbour again, allocation sites (the
# heap tool) and memcheck (the kind); live, then with --restart.  Names
# exactly emit (exit 1), gives the per-stage breakdown with only emit
# leaking, the top allocation site in stage_emit, and memcheck's kind
# "still reachable" (toyprog keeps the blocks on a list).  A live hunt
# whose --timeout leaves memcheck no room skips it, saying so.
#
# usage: harness_hunt_auto.sh LEAK_HUNT TOYPROG
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"

# hunt_auto NAME ARGS...: the hunt above (emit leaking), checked: exactly
# emit named (exit 1), the breakdown singles it out, the top site is the
# keep() called from stage_emit, memcheck's kind "still reachable".
hunt_auto() {
    name=$1
    shift
    rc=0
    in_work "$LH" hunt --stages parse,filter,emit --duration 3 --timeout 120 \
        --report "$WORK/$name" --json "$WORK/$name.json" "$@" -- \
        "$TOY" --enable='{stages}' --leak emit:64 \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    note "$name: exit $rc, $(cat "$WORK/$name.out")"
    no_leftovers "$name"
    expect_rc "$name" "$rc" 1
    j=$WORK/$name.json
    [ "$(jget "$j" "d['culprit']")" = '["emit"]' ] ||
        fail "$name: culprit $(jget "$j" "d['culprit']"), want [\"emit\"]"
    [ "$(jget "$j" "[s['stage'] for s in d['breakdown'] if s['leaks']]")" = \
        '["emit"]' ] || fail "$name: breakdown does not single out emit"
    # The top site (the heap tool's when its run got two profiles to
    # compare, else memcheck's) is the keep() called from stage_emit.
    [ "$(jget "$j" "[s['caller'] for r in d['runs'] for s in r['sites']][:1]")" = \
        '["stage_emit"]' ] ||
        fail "$name: the first site found is not in stage_emit"
    expect_in "$name" "$WORK/$name.out" "top site keep <- stage_emit"
    jget "$j" "d['memcheck_kind']" | grep -q '^still reachable' ||
        fail "$name: memcheck kind is '$(jget "$j" "d['memcheck_kind']")'"
    expect_in "$name" "$WORK/$name.err" "strategy auto used"
    [ -s "$WORK/$name/report.json" ] && [ -s "$WORK/$name/report.html" ] ||
        fail "$name: report.json or report.html missing from --report"
}

# Live (toyprog switches its stages under LEAKHUNT_CONTROL): one target
# under the heap tool for every configuration, whose segments give the
# search and the sites; memcheck's run for the kind is a run of its own.
hunt_auto auto
j=$WORK/auto.json
[ "$(jget "$j" "d['mode']")" = live ] || fail "auto: mode is not live"
[ "$(jget "$j" "sorted(set(r['tool'] for r in d['runs']))")" = \
    '["heap", "memcheck"]' ] || fail "auto: not the heap and memcheck tools"
[ "$(jget "$j" "[r['tool'] for r in d['runs'] if r.get('separate')]")" = \
    '["memcheck"]' ] || fail "auto: memcheck's run is not the separate one"
[ "$(jget "$j" "len(set(r.get('live_run') for r in d['runs'] if r['tool'] == 'heap'))")" = 1 ] ||
    fail "auto: the heap tool's segments are not of one live run"

# Live, with a --timeout that leaves memcheck's run less than the ~10 s it
# needs (cmd_hunt.c, KIND_ROOM_S): the search's time above plus 6 s.  The
# verdict stands, the kind is skipped with a word on stderr and in the
# report, and no memcheck run is started.
limit=$(jget "$j" "int(d['verdict_seconds'] + 6)")
rc=0
in_work "$LH" hunt --stages parse,filter,emit --duration 3 --timeout "$limit" \
    --json "$WORK/short.json" -- "$TOY" --enable='{stages}' --leak emit:64 \
    >"$WORK/short.out" 2>"$WORK/short.err" || rc=$?
note "short (--timeout $limit): exit $rc, $(cat "$WORK/short.out")"
no_leftovers short
expect_rc short "$rc" 1
j=$WORK/short.json
[ "$(jget "$j" "d['culprit']")" = '["emit"]' ] || fail "short: culprit"
[ "$(jget "$j" "[r['tool'] for r in d['runs'] if r['tool'] != 'heap']")" = \
    '[]' ] || fail "short: memcheck ran with no room for it"
jget "$j" "d['memcheck_kind']" | grep -q "^not measured: --timeout leaves" ||
    fail "short: memcheck_kind '$(jget "$j" "d.get('memcheck_kind')")'"
[ "$(grep -c "the kind of leak is not measured: --timeout" "$WORK/short.err")" -eq 1 ] ||
    fail "short: the skip not said once on stderr"
expect_in short "$WORK/short.out" "memcheck: not measured"

# --restart: a target for each configuration, as before live runs: the
# search with rss, then the heap tool for sites and memcheck for the kind.
hunt_auto restart --restart
j=$WORK/restart.json
[ "$(jget "$j" "d['mode']")" = restart ] || fail "restart: mode is not restart"
[ "$(jget "$j" "sorted(set(r['tool'] for r in d['runs']))")" = \
    '["heap", "memcheck", "rss"]' ] || fail "restart: not all three tools ran"
echo "PASS"
