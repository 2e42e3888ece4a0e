#!/bin/sh
# leak-hunt itself receives SIGINT or SIGTERM mid-run: it kills the
# target's process group at once (a forked child included), says
# "interrupted by signal N (...)", exits 3 (the measurement is
# inconclusive: docs/protocol.md section 7's "inconclusive or target failure"), and with
# --report still writes report.json (verdict "error", the runs so far) and
# report.html.  Also when the signal comes in early, while the memcheck tool
# is still checking valgrind, and in the middle of a hunt.
#
# usage: harness_signals.sh LEAK_HUNT TOYPROG
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"

# interrupt NAME SIGNAL DELAY COMMAND... : starts leak-hunt COMMAND in the
# background, waits for the target (or DELAY seconds when DELAY is
# "early:S"), sends SIGNAL to leak-hunt alone, and waits for it.
interrupt() {
    name=$1 sig=$2 delay=$3 cmd=$4
    shift 4
    start_in_work "$LH" "$cmd" --report "$WORK/$name" "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err"
    pid=$!
    case $delay in
    early:*) sleep "${delay#early:}" ;;
    *)
        wait_started 30
        sleep "$delay"
        ;;
    esac
    t0=$(now)
    kill -"$sig" "$pid"
    rc=0
    wait "$pid" || rc=$?
    secs=$(elapsed "$t0")
    note "$name: exit $rc $secs s after SIG$sig, $(head -n 1 "$WORK/$name.out")"
    no_leftovers "$name"
    fcmp "$secs" '<' 8 || fail "$name: took $secs s to stop"
}

# expect_interrupted NAME SIGNUM
expect_interrupted() {
    expect_rc "$1" "$rc" 3
    expect_in "$1" "$WORK/$1.err" "interrupted by signal $2"
    [ "$(jget "$WORK/$1/report.json" "d['verdict']")" = error ] ||
        fail "$1: report.json verdict is not error"
    jget "$WORK/$1/report.json" "d['error']" |
        grep -q "interrupted by signal $2" ||
        fail "$1: report.json error does not say interrupted"
    [ -s "$WORK/$1/report.html" ] || fail "$1: no report.html"
}

run_args="run --enable parse,filter,emit --duration 30"
toy_args="$TOY --enable={stages} --leak parse:64 --spawn-child"

interrupt run-int INT 1 $run_args -- $toy_args
expect_interrupted run-int 2
[ "$(jget "$WORK/run-int/report.json" "len(d['runs'])")" -eq 1 ] ||
    fail "run-int: the partial run is not in report.json"

interrupt run-term TERM 1 $run_args -- $toy_args
expect_interrupted run-term 15

# Early: leak-hunt is still checking that valgrind starts, or has just
# started the target under it.  Nothing may start or run on afterwards.
interrupt run-early INT early:0.3 run --tool memcheck \
    --enable parse,filter,emit --duration 30 -- $toy_args
expect_interrupted run-early 2

# hunt: the second configuration (after the baseline) is interrupted;
# the baseline's and the first one's results are in the partial report,
# and no further run starts.  --restart: each configuration is a target
# of its own, started with its stages (a live hunt's SIGINT:
# harness_live_bad.sh).
start_in_work "$LH" hunt --restart --strategy linear --stages parse,filter,emit \
    --duration 2 --report "$WORK/hunt" -- $TOY --enable={stages} \
    --leak emit:64 >"$WORK/hunt.out" 2>"$WORK/hunt.err"
pid=$!
second_run_started() {
    grep -q 'parse ' "$WORK/hunt.err" 2>/dev/null &&
        [ -n "$(mine_matching 'enable=parse,filter ')" ]
}
wait_until 10 "hunt: the second run's start" second_run_started
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
note "hunt: exit $rc, $(head -n 1 "$WORK/hunt.out")"
no_leftovers hunt
expect_interrupted hunt 15
[ "$(jget "$WORK/hunt/report.json" "len(d['runs'])")" -eq 3 ] ||
    fail "hunt: report.json does not hold the 3 runs made"
[ "$(jget "$WORK/hunt/report.json" "[r['verdict'] for r in d['runs'][:2]]")" = \
    '["clean", "clean"]' ] ||
    fail "hunt: the finished runs lost their verdicts"
echo "PASS"
