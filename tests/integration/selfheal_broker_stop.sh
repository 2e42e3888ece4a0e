#!/bin/sh
# selfheal_broker_stop.sh SELFHEAL - the broker's stop is bounded like
# every role's (roleutil.h's stop deadline): SIGTERM ends it with status
# 0, well within the default deadline (2 s; up's grace is 10 s), and a bad
# LH_STOP_DEADLINE_MS is refused at start (status 2), which shows the
# deadline is armed.  (The selfheal_valgrind flake: a broker that did
# not stop in up's 60 s grace under valgrind.)
set -eu
. "$(dirname "$0")/lib.sh"

bin=${1:?usage: selfheal_broker_stop.sh SELFHEAL}
lh_setup broker-stop

start_in_work "$bin" broker --port-file "$WORK/addr" >"$WORK/b.out" \
    2>"$WORK/b.err"
pid=$!
wait_until 30 "the broker's address file" test -s "$WORK/addr"
t0=$(now)
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
secs=$(elapsed "$t0")
note "broker: exit $rc $secs s after SIGTERM"
expect_rc b "$rc" 0
fcmp "$secs" '<' 5 || fail "the broker took $secs s to stop"
no_leftovers broker

rc=0
LH_STOP_DEADLINE_MS=soon in_work "$bin" broker --port-file "$WORK/addr2" \
    >"$WORK/bad.out" 2>"$WORK/bad.err" || rc=$?
expect_rc bad "$rc" 2
expect_in bad "$WORK/bad.err" "LH_STOP_DEADLINE_MS"
[ ! -e "$WORK/addr2" ] || fail "the broker started with a bad deadline"
echo "PASS"
