#!/bin/sh
# selfheal_live.sh SELFHEAL [SECONDS] - live stage switching
# (docs/protocol.md section 5): `selfheal up --ledger` with
# LEAKHUNT_CONTROL and LEAKHUNT_STATS, its stages switched every 2 s
# through valid configurations for SECONDS (default 24) by
# selfheal_live.py, which checks that every B node acknowledges each list
# within 2 s (never showing a third one), and that lists breaking the
# requirements or naming an unknown stage are refused by every node (a
# message in the log, the running list kept).  Then the run must end by
# itself with the ledger balanced: every produced (key, version) finished,
# no duplicates (no fault is injected, so none is allowed).  LH_TEST_SEED
# picks the random configurations (default: the time; printed).
set -eu
. "$(dirname "$0")/lib.sh"

bin=${1:?usage: selfheal_live.sh SELFHEAL [SECONDS]}
secs=${2:-24}
need_file "$bin" selfheal
need_cmd python3 "to drive the switches"
lh_setup selfheal-live
seed=${LH_TEST_SEED:-$(date +%s)}
nodes=3
# 20,000 events/s for longer than the switching lasts (production slower
# under load only makes the run longer); a 3 s delay queue, so that the
# long enqueue segment holds ~60,000 events when enqueue goes off.
rate=20000
events=$((rate * (secs + 12)))
ctl=$WORK/control
echo "forward,hash,enqueue,verify,rpc" >"$ctl"
LEAKHUNT_CONTROL=$ctl
LEAKHUNT_STATS=$WORK/stats
export LEAKHUNT_CONTROL LEAKHUNT_STATS
unset LEAKHUNT_STAGES
start_in_work "$bin" up --ledger --dir "$WORK/run" --keep --nodes "$nodes" \
    --events "$events" --rate "$rate" --delay-ms 3000 \
    --json "$WORK/run.json" >"$WORK/out" 2>"$WORK/err"
pid=$!
KEEP_ON_FAILURE=1

st=0
python3 "$(dirname "$0")/selfheal_live.py" "$ctl" "$LEAKHUNT_STATS" \
    "$WORK/err" "$nodes" "$secs" "$seed" || st=$?
if [ "$st" -ne 0 ]; then
    tail -n 20 "$WORK/err" >&2
    fail "live switching (seed $seed)"
fi

# The run ends by itself once every event is finished or dropped.
t0=$(date +%s)
while kill -0 "$pid" 2>/dev/null; do
    [ $(($(date +%s) - t0)) -lt 240 ] || fail "up did not end in 240 s"
    sleep 1
done
st=0
wait "$pid" || st=$?
[ "$st" -eq 0 ] || {
    tail -n 30 "$WORK/err" >&2
    cat "$WORK/out" >&2
    fail "up exit status $st"
}
j=$WORK/run.json
note "$(grep -F 'ledger (key, version)' "$WORK/out")"
expect "produced" "$(jnum "$j" produced)" -eq "$events"
expect "ledger produced" "$(jnum "$j" ledger_produced)" -eq "$events"
expect "lost" "$(jnum "$j" lost)" -eq 0
expect "duplicates" "$(jnum "$j" duplicates)" -eq 0
expect "ledger finished" "$(jnum "$j" ledger_finished)" -eq "$events"
expect "restarts" "$(jtot "$j" restarts)" -eq 0
expect "bad frames" "$(jtot "$j" bad_frames)" -eq 0
grep -q '"ledger_complete": true' "$j" || fail "the ledger is incomplete"
no_leftovers "up"
echo "PASS"
