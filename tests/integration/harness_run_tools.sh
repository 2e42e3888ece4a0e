#!/bin/sh
# leak-hunt run on toyprog with each tool: a 64-byte leak per unit is a leak
# (exit 1) at the slope the tool should see - rss 80 B/unit (glibc keeps a
# 64-byte request in an 80-byte chunk; toyprog reports glibc's live heap),
# heap 64 B/unit (gperftools counts requested bytes) with the leaking site
# named - and the clean program is clean (exit 0) under rss, heap and
# memcheck.  Checks the output contract too: one verdict line on stdout,
# progress on stderr, the --json run fields.  The rss tool decides on the
# live heap a target reports (heap=), on /proc RSS when it reports none
# (toyprog --no-heap); both are checked.
#
# usage: harness_run_tools.sh LEAK_HUNT TOYPROG
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"

# run_toy NAME TOOL SECONDS TOYPROG_ARGS... -> rc in $rc, files $WORK/NAME.*
run_toy() {
    name=$1 tool=$2 secs=$3
    shift 3
    rc=0
    in_work "$LH" run --tool "$tool" --enable parse,filter,emit \
        --duration "$secs" --timeout 120 --json "$WORK/$name.json" -- \
        "$TOY" --enable='{stages}' "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    slope=$(jget "$WORK/$name.json" "d['runs'][0]['slope_bytes_per_unit']")
    note "$name: exit $rc, $(cat "$WORK/$name.out")"
    no_leftovers "$name"
}

# Output contract on the first run.
run_toy rss-leak rss 3 --leak parse:64
expect_rc rss-leak "$rc" 1
within "rss slope" "$slope" 80 10
[ "$(wc -l <"$WORK/rss-leak.out")" -eq 1 ] || fail "stdout is not one line"
expect_in rss-leak "$WORK/rss-leak.out" "leak:"
expect_in rss-leak "$WORK/rss-leak.err" "[rss] parse,filter,emit"
[ "$(jget "$WORK/rss-leak.json" "d['verdict']")" = leak ] ||
    fail "rss-leak: verdict in JSON is not leak"
for f in enabled tool work seconds slope_bytes_per_unit ci95 verdict sites; do
    jget "$WORK/rss-leak.json" "d['runs'][0]['$f']" >/dev/null
done
for f in culprit elapsed_seconds runs; do
    jget "$WORK/rss-leak.json" "d['$f']" >/dev/null
done
[ "$(jget "$WORK/rss-leak.json" "d['runs'][0]['enabled']")" = \
    '["parse", "filter", "emit"]' ] || fail "rss-leak: enabled list"
lo=$(jget "$WORK/rss-leak.json" "d['runs'][0]['ci95'][0]")
hi=$(jget "$WORK/rss-leak.json" "d['runs'][0]['ci95'][1]")
fcmp "$lo" '<=' "$slope" && fcmp "$slope" '<=' "$hi" ||
    fail "rss-leak: slope $slope outside its interval [$lo, $hi]"

[ "$(jget "$WORK/rss-leak.json" "d['runs'][0]['signal']")" = heap ] ||
    fail "rss-leak: toyprog reports heap=, the signal should be heap"

# Without heap= in the stats lines, the signal is the RSS from /proc.
run_toy rss-only-leak rss 3 --leak parse:64 --no-heap
expect_rc rss-only-leak "$rc" 1
within "rss-only slope" "$slope" 80 10
[ "$(jget "$WORK/rss-only-leak.json" "d['runs'][0]['signal']")" = rss ] ||
    fail "rss-only-leak: the signal is not rss"
run_toy rss-only-clean rss 3 --no-heap
expect_rc rss-only-clean "$rc" 0

# 6 s: the heap tool dumps a profile every 2 s and compares the first dump
# after the warm-up with the last one written (the one asked for at the
# stop often is not), so shorter runs may have no sites.
run_toy heap-leak heap 6 --leak parse:64
expect_rc heap-leak "$rc" 1
within "heap slope" "$slope" 64 10
[ "$(jget "$WORK/heap-leak.json" "d['runs'][0]['sites'][0]['caller']")" = \
    stage_parse ] || fail "heap-leak: top site is not called from stage_parse"
jget "$WORK/heap-leak.json" "d['runs'][0]['sites'][0]['file']" |
    grep -q 'toyprog\.c$' || fail "heap-leak: top site is not in toyprog.c"

for tool in rss heap memcheck; do
    run_toy "$tool-clean" "$tool" 3
    expect_rc "$tool-clean" "$rc" 0
    [ "$(jget "$WORK/$tool-clean.json" "d['verdict']")" = clean ] ||
        fail "$tool-clean: verdict in JSON is not clean"
done
echo "PASS"
