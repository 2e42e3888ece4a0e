#!/bin/sh
# selfheal_failover.sh SELFHEAL - a 3-broker mock cluster loses a broker
# mid-run (issue 16): `up --brokers-count 3`, and the plan `down:1`
# written to the broker's control file once events are being verified.
# The partitions broker 1 led and the group's coordinator (broker 1 at
# the start) move to brokers still up (what a
# real cluster's controller does; the mock alone moves nothing, and the
# same run without the move stalls: nothing is produced or consumed), and
# the run ends with every event finished and none lost (--ledger).
set -eu
. "$(dirname "$0")/lib.sh"

bin=${1:?usage: selfheal_failover.sh SELFHEAL}
lh_setup selfheal-failover
N=30000

start_in_work "$bin" up --brokers-count 3 --events $N --rate 10000 --ledger \
    --stall-timeout 20 --dir "$WORK/run" --keep --json "$WORK/up.json" \
    >"$WORK/up.out" 2>"$WORK/up.err"
pid=$!
verifying() {
    v=$(sed -n 's/^verified //p' "$WORK"/run/b*.cnt 2>/dev/null | head -n 1)
    [ -n "$v" ] && [ "$v" -gt 0 ]
}
wait_until 20 "events verified" verifying
echo down:1 >"$WORK/run/plan" && mv "$WORK/run/plan" "$WORK/run/broker.ctl"
at_fault=$(sed -n 's/^verified //p' "$WORK"/run/b*.cnt | awk '{s += $1} END {print s}')
st=0
wait "$pid" || st=$?
expect_rc up "$st" 0
expect_in "broker down" "$WORK/up.err" "selfheal broker: fault: down broker 1"
expect_in "failover" "$WORK/up.err" "kafka: broker 1 down: 11 partition(s) of changes led elsewhere now"
expect_in "coordinator" "$WORK/up.err" "kafka: broker 1 down: group selfheal coordinated by broker 2 now"
expect_in "status: down" "$WORK/run/broker.ctl.status" "downs 1"
expect "verified before the fault (mid-run)" "$at_fault" -lt $N
expect "verified" "$(jnum "$WORK/up.json" verified)" -ge $N
expect "lost" "$(jnum "$WORK/up.json" lost)" -eq 0
echo "PASS"
