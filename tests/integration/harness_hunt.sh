#!/bin/sh
# leak-hunt hunt on toyprog (stages parse,filter,emit): a leak planted with
# toyprog --leak STAGE:64 (the generic target's --inject) is found in
# exactly that stage by the linear strategy, for each stage (exit 1); the
# clean program gives exit 0; bisect, isolate and ddmin each name the right
# stage and say how many runs they used, the count the strategy implies
# (each after the baseline, every stage off: one run more);
# with --requires, isolate and ddmin run the configurations it implies.
#
# usage: harness_hunt.sh LEAK_HUNT TOYPROG
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"
REQUIRES=

# hunt NAME STRATEGY TOYPROG_ARGS... -> rc in $rc, files $WORK/NAME.*
hunt() {
    name=$1 strategy=$2
    shift 2
    rc=0
    in_work "$LH" hunt --strategy "$strategy" --tool rss \
        --stages parse,filter,emit ${REQUIRES:+--requires "$REQUIRES"} \
        --duration 2 --timeout 60 --json "$WORK/$name.json" -- \
        "$TOY" --enable='{stages}' "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    note "$name: exit $rc, $(cat "$WORK/$name.out")"
    no_leftovers "$name"
}

# expect_hunt NAME RC CULPRIT_JSON RUNS
expect_hunt() {
    expect_rc "$1" "$rc" "$2"
    got=$(jget "$WORK/$1.json" "d['culprit']")
    [ "$got" = "$3" ] || fail "$1: culprit $got, want $3"
    n=$(jget "$WORK/$1.json" "len(d['runs'])")
    [ "$n" -eq "$4" ] || fail "$1: $n runs, want $4"
    expect_in "$1" "$WORK/$1.err" "used $4 run"
}

# linear: growing prefixes, stops at the first that leaks.
hunt linear-parse linear --leak parse:64
expect_hunt linear-parse 1 '["parse"]' 2
expect_in linear-parse "$WORK/linear-parse.out" "leak in stage parse"
hunt linear-filter linear --leak filter:64
expect_hunt linear-filter 1 '["filter"]' 3
hunt linear-emit linear --leak emit:64
expect_hunt linear-emit 1 '["emit"]' 4
# emit sees the 90% of records filter keeps: 0.9 * 80 B/unit.
within "linear-emit slope" \
    "$(jget "$WORK/linear-emit.json" "d['runs'][3]['slope_bytes_per_unit']")" 72 10
hunt linear-clean linear
expect_hunt linear-clean 0 '[]' 4
[ "$(jget "$WORK/linear-clean.json" "d['verdict']")" = clean ] ||
    fail "linear-clean: verdict is not clean"
# The culprit's processes were checked for ABI conflicts while they ran:
# toyprog and its libraries have none (an injected leak is no ABI bug);
# a clean hunt names no culprit and checks nothing.
[ "$(jget "$WORK/linear-emit.json" "d['abi_conflicts']")" = "[]" ] ||
    fail "linear-emit: abi_conflicts is not []"
[ "$(jget "$WORK/linear-clean.json" "'abi_conflicts' in d")" = false ] ||
    fail "linear-clean: abi_conflicts written without a culprit"

# bisect: the full set, then prefix 1 (clean), then prefix 2 (leaks).
hunt bisect-filter bisect --leak filter:64
expect_hunt bisect-filter 1 '["filter"]' 4
# isolate: each stage alone.
hunt isolate-emit isolate --leak emit:64
expect_hunt isolate-emit 1 '["emit"]' 4
# ddmin: full, drop emit (leaks), drop filter (clean), drop parse (leaks):
# {filter} is 1-minimal.
hunt ddmin-filter ddmin --leak filter:64
expect_hunt ddmin-filter 1 '["filter"]' 5
# parse leaks in every set that has it: drop emit, drop filter, done.
hunt ddmin-parse ddmin --leak parse:64
expect_hunt ddmin-parse 1 '["parse"]' 4
# --requires: each stage alone brings what it needs (isolate), and a
# stage's growth is judged over its requirement's: parse leaks, so filter
# and emit, which need it, leak as much and are no culprits.
REQUIRES=filter:parse,emit:parse
hunt isolate-req isolate --leak parse:64
expect_hunt isolate-req 1 '["parse"]' 4
got=$(jget "$WORK/isolate-req.json" "[','.join(r['enabled']) for r in d['runs']]")
[ "$got" = '["", "parse", "parse,filter", "parse,emit"]' ] ||
    fail "isolate-req: configurations $got"
# ddmin: dropping parse drops the stages that need it too: {parse} is
# 1-minimal after the full set, without emit, without filter.
hunt ddmin-req ddmin --leak parse:64
expect_hunt ddmin-req 1 '["parse"]' 4
got=$(jget "$WORK/ddmin-req.json" "[','.join(r['enabled']) for r in d['runs']]")
[ "$got" = '["", "parse,filter,emit", "parse,filter", "parse"]' ] ||
    fail "ddmin-req: configurations $got"
REQUIRES=
echo "PASS"
