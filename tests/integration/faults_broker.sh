#!/bin/sh
# faults_broker.sh SELFHEAL - the pipeline under broker faults (issue 8),
# through the mock cluster's own error injection (selfheal broker
# --faults / --control, kafka.h's fault plans).
#
# At the start (up --broker-faults): the first JoinGroup and
# FindCoordinator requests fail, so A's first join is retried.  Mid-run
# (a plan written to the broker's control file once 40,000 events are
# produced): request errors on Produce, Fetch, OffsetCommit, Heartbeat
# (REBALANCE_IN_PROGRESS: the group rebalances, events in flight are
# consumed again), Fetch again (_TRANSPORT: the broker drops the
# connection), ListOffsets and OffsetFetch (the lag readers of up and
# produce); then every broker down for 4 s, then up.
#
# The run must finish on its own (up exits 0 once everything produced was
# finished and committed), with nothing lost by key and version (the
# ledger), every pushed error met by a real request where the pipeline
# keeps sending that request, the outage mid-run, the store right.
# Figures printed: produced, verified, lost, duplicates; errors pushed and
# consumed, the outage's length, the events finished before and after it.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults_lib.sh"

bin=${1:?usage: faults_broker.sh SELFHEAL}
n=200000
faults_setup

start_up --events "$n" --rate 20000 \
    --broker-faults 'err:JoinGroup:COORDINATOR_LOAD_IN_PROGRESS:2,err:FindCoordinator:COORDINATOR_NOT_AVAILABLE:2'
# Mid-run: 40,000 of 200,000 produced (so produce still sends for seconds
# and meets its errors) and events are being finished.
wait_until 90 "40,000 events produced" \
    counter_ge "$run/produce.cnt" produced 40000
wait_until 60 "events finished" b_finished_ge 1000
plan='err:Produce:NOT_LEADER_FOR_PARTITION:20,err:Fetch:NOT_LEADER_FOR_PARTITION:20'
plan=$plan',err:OffsetCommit:COORDINATOR_NOT_AVAILABLE:10'
plan=$plan',err:Heartbeat:REBALANCE_IN_PROGRESS:2,err:Fetch:_TRANSPORT:2'
plan=$plan',err:ListOffsets:NOT_LEADER_FOR_PARTITION:5'
plan=$plan',err:OffsetFetch:COORDINATOR_LOAD_IN_PROGRESS:2'
plan=$plan',sleep:2000,down,sleep:4000,up'
printf '%s\n' "$plan" >"$run/broker.ctl.new"
mv "$run/broker.ctl.new" "$run/broker.ctl"
status=$run/broker.ctl.status
is_down() {
    [ "$(counter "$status" down)" = 1 ]
}
wait_until 30 "the broker going down" is_down
at_down=$(sum_b finished)
is_up_again() {
    [ "$(counter "$status" ups)" = 1 ]
}
wait_until 30 "the broker coming up" is_up_again
at_up=$(sum_b finished)
wait_up
check_ledger "$n"

pushed=$(counter "$status" errors_pushed)
left_=$(counter "$status" errors_left)
echo "figures: broker faults: $pushed request errors pushed, $((pushed - left_))" \
    "met by requests; down $(counter "$status" down_ms) ms;" \
    "finished $at_down when it went down, $at_up when it came up, then $n;" \
    "consumed $(jnum "$j" consumed) for $n produced"
grep -E "^(errors_left_|step)" "$status" | tr '\n' ' '
echo
expect "plan steps applied" "$(counter "$status" steps_pending)" -eq 0
expect "steps refused" "$(counter "$status" step_errors)" -eq 0
expect "plans refused" "$(counter "$status" bad_plans)" -eq 0
expect "downs" "$(counter "$status" downs)" -eq 1
expect "down ms" "$(counter "$status" down_ms)" -ge 3900
expect "broker down now" "$(counter "$status" down)" -eq 0
# Requests the pipeline keeps sending met every error pushed for them.
for api in JoinGroup FindCoordinator Produce Fetch OffsetCommit Heartbeat \
    ListOffsets OffsetFetch; do
    expect "$api errors not met" "$(counter "$status" "errors_left_$api")" -eq 0
done
# The outage came mid-run: events were still to be finished after it.
expect "finished when the broker came up" "$at_up" -lt "$n"
grep -q "fault: down every broker" "$WORK/err" || fail "no down in the log"
echo "PASS"
