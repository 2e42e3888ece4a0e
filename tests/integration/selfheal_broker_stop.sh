#!/bin/sh
# selfheal_broker_stop.sh SELFHEAL - the broker's stop is bounded like
# every role's (roleutil.h's stop deadline): SIGTERM ends it with status
# 0, well within the default deadline (2 s; up's grace is 10 s), and a bad
# LH_STOP_DEADLINE_MS is refused at start (status 2), which shows the
# deadline is armed; and no thread but the main one takes a stop signal
# (kafka_broker.c: the mock cluster's thread took one under valgrind, its
# poll failed with EINTR and the broker never stopped: the
# selfheal_valgrind flake).
set -eu
. "$(dirname "$0")/lib.sh"

bin=${1:?usage: selfheal_broker_stop.sh SELFHEAL}
lh_setup broker-stop

start_in_work "$bin" broker --port-file "$WORK/addr" >"$WORK/b.out" \
    2>"$WORK/b.err"
pid=$!
wait_until 30 "the broker's address file" test -s "$WORK/addr"
# Stop signals reach the main thread only: every other thread (librdkafka's
# and the mock cluster's) blocks SIGTERM (bit 15 of SigBlk).  The mock
# thread did not, and a SIGTERM taken there hung the broker's stop.
for t in /proc/"$pid"/task/*; do
    tid=${t##*/}
    [ "$tid" != "$pid" ] || continue
    blk=$(sed -n 's/^SigBlk:[[:space:]]*//p' "$t/status")
    [ $((0x$blk >> 14 & 1)) -eq 1 ] ||
        fail "thread $tid ($(cat "$t/comm")) does not block SIGTERM ($blk)"
done
note "threads: $(ls /proc/"$pid"/task | wc -l), SIGTERM blocked in all but main"
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
