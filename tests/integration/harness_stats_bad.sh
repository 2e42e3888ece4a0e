#!/bin/sh
# Stats lines that are not the protocol's (docs/protocol.md section 2):
#   only    a target whose every line is malformed ends inconclusive
#           (exit 3) at once, without running twice as long, with a
#           message naming "stats line" and quoting one, on stderr and on
#           the verdict line; report.json's bad_stats_lines has the count
#           and the first line;
#   some    a target with a malformed line among valid ones is measured
#           on the valid ones (clean), the malformed one counted and
#           quoted;
#   none    toyprog's lines: count 0, first null.
# The targets are shell loops: a program we did not write for leak-hunt.
#
# usage: harness_stats_bad.sh LEAK_HUNT TOYPROG
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"

# run NAME ARGS...: `leak-hunt run ARGS` with --report WORK/NAME; rc, J
run() {
    name=$1
    shift
    rc=0
    t0=$(now)
    in_work "$LH" run --report "$WORK/$name" "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    took=$(elapsed "$t0")
    J=$WORK/$name/report.json
    note "$name: exit $rc after $took s: $(cat "$WORK/$name.out")"
    no_leftovers "$name"
}

# Every line malformed: the value of work is not a number.
run only --enable '' --duration 3 -- sh -c \
    'while :; do echo "work=many heap=12" >>"$LEAKHUNT_STATS"; sleep 0.1; done'
expect_rc only "$rc" 3
expect_in only "$WORK/only.err" "malformed stats line"
expect_in only "$WORK/only.err" "'work=many heap=12'"
expect_in only "$WORK/only.out" "no valid stats line"
expect_in only "$WORK/only.out" "work=many heap=12"
[ "$(jget "$J" "d['verdict']")" = inconclusive ] ||
    fail "only: verdict is not inconclusive"
expect "only: malformed lines counted" "$(jget "$J" "d['bad_stats_lines']['count']")" -ge 15
[ "$(jget "$J" "d['bad_stats_lines']['first']")" = "work=many heap=12" ] ||
    fail "only: bad_stats_lines.first is not the line"
fcmp "$took" '<' 8 || fail "only: took $took s: extended a hopeless run"

# A malformed line every tenth among valid ones.
run some --enable '' --duration 4 -- sh -c \
    'i=0; while :; do i=$((i + 100)); echo "work=$i" >>"$LEAKHUNT_STATS";
     [ $((i % 1000)) -ne 0 ] || echo "work=$i queue" >>"$LEAKHUNT_STATS";
     sleep 0.05; done'
expect_rc some "$rc" 0
expect_in some "$WORK/some.err" "'work=1000 queue'"
expect "some: malformed lines counted" "$(jget "$J" "d['bad_stats_lines']['count']")" -ge 3
[ "$(jget "$J" "d['bad_stats_lines']['first']")" = "work=1000 queue" ] ||
    fail "some: bad_stats_lines.first is not the first malformed line"
[ "$(jget "$J" "d['unit']")" = unit ] || fail "some: not measured per unit"

# All valid.
run none --enable parse --duration 3 -- "$TOY" --enable='{stages}'
expect_rc none "$rc" 0
[ "$(jget "$J" "d['bad_stats_lines']")" = '{"count": 0, "first": null}' ] ||
    fail "none: bad_stats_lines is $(jget "$J" "d['bad_stats_lines']")"
! grep -q "malformed" "$WORK/none.err" || fail "none: malformed line reported"
echo "PASS"
