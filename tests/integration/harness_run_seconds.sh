#!/bin/sh
# Programs that write no stats line are measured by time (docs/protocol.md
# section 2): the unit is the second, the text says B/s, and the floor is
# that of RSS per second (a few pages over the measured span, not 1 B).
#   sleep   idle: clean
#   shell   a shell loop that forks a command substitution and sleep: clean
#   steady  python allocating and freeing 100 KB every 10 ms: clean
#   leak    python keeping 1 KB 200 times a second: leak, about 200 KB/s
# None of them knows leak-hunt.
#
# usage: harness_run_seconds.sh LEAK_HUNT
set -eu
. "$(dirname "$0")/lib.sh"
LH=$1
need_file "$LH" leak-hunt
need_cmd python3 "for the python targets and to read the JSON"
PYLEAK=$(cd "$(dirname "$0")/../targets" && pwd)/pyleak.py
lh_setup run-seconds

# run NAME VERDICT RC COMMAND...: `leak-hunt run --duration 6` on COMMAND
run() {
    name=$1 verdict=$2 want=$3
    shift 3
    rc=0
    in_work "$LH" run --enable '' --duration 6 --report "$WORK/$name" \
        -- "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    J=$WORK/$name/report.json
    note "$name: exit $rc: $(cat "$WORK/$name.out")"
    no_leftovers "$name"
    expect_rc "$name" "$rc" "$want"
    [ "$(jget "$J" "d['verdict']")" = "$verdict" ] ||
        fail "$name: verdict is not $verdict"
    [ "$(jget "$J" "d['unit']")" = second ] || fail "$name: unit not second"
    expect_in "$name" "$WORK/$name.out" " B/s "
    expect_in "$name" "$WORK/$name.err" " B/s "
    ! grep -q "B/unit\|B/second" "$WORK/$name.out" "$WORK/$name.err" ||
        fail "$name: a slope not in B/s"
    # the floor: four 4 KiB pages over the measured span (80% of the run)
    fcmp "$(jget "$J" "d['runs'][-1]['threshold']")" '>' 1000 ||
        fail "$name: the floor is not the per-second one"
}

cat >"$WORK/steady.py" <<'PY'
import time
while True:
    x = [bytearray(1000) for _ in range(100)]
    del x
    time.sleep(0.01)
PY

run sleep clean 0 sleep 1000
run shell clean 0 sh -c 'i=0; while :; do i=$((i + 1)); x=$(echo $i); sleep 0.02; done'
run steady clean 0 python3 "$WORK/steady.py"
run leak leak 1 python3 "$PYLEAK" 1000 200
s=$(jget "$J" "d['runs'][-1]['slope_bytes_per_unit']")
note "leak: $s B/s for 200 KB/s kept"
fcmp "$s" '>' 150000 && fcmp "$s" '<' 300000 ||
    fail "leak: $s B/s is not about 200 KB/s"
echo "PASS"
