#!/bin/sh
# faults_overload.sh SELFHEAL - sustained overload (issue 8): produce as
# fast as it can (--rate 0) into B nodes that hold every event 5 s
# (--delay-ms 5000), with A's window at 16,000 events per B node: the
# pipeline finishes at most 3 x 16,000 events per 5 s (9,600/s), well
# below what produce offers, for the whole run.
#
# What must hold, and is printed:
#   - bounded queues: A's outstanding events stay within its windows (a
#     hard bound: A polls no more than they allow); each B node's live items (its stats lines'
#     queue=, LEAKHUNT_STATS) within what A and its peers may send it
#     (3 x window); the events waiting in Kafka within produce's
#     --max-lag brake (100,000; x2 for a slow lag read);
#   - paused partitions: A pauses again and again;
#   - flat memory: RSS of A and each B sampled every 100 ms; once the
#     delay queue has filled (a quarter of the events finished), the peak
#     over the rest of the run stays within FLAT_KB (4 MiB) of the peak
#     before it (A: plus its consumer's prefetch cap, kafka.c, 32 MiB
#     that one fetch of 4 MiB may overshoot: paused and resumed again and
#     again, it refills to wherever the cap lets it), and each B stays
#     under an absolute bound of 64 MiB;
#   - the run finishes by itself with nothing lost by key and version.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults_lib.sh"

bin=${1:?usage: faults_overload.sh SELFHEAL}
n=240000
window=16000
max_lag=100000
flat_kb=4096
prefetch_kb=36864 # 32 MiB, overshot by at most one fetch (4 MiB)
abs_kb=65536
faults_setup

LEAKHUNT_STATS=$WORK/stats
export LEAKHUNT_STATS
start_up --events "$n" --rate 0 --delay-ms 5000 --window "$window" \
    --max-lag "$max_lag"
start_sampler b0 b1 b2 a
wait_until 120 "a quarter of the events finished" b_finished_ge $((n / 4))
t_warm=$(now_ms)
# A's outstanding events, and the events in Kafka not yet consumed (at
# most the lag: the group commits only what is consumed), while it runs.
max_out=0
max_kafka=0
while kill -0 "$pid" 2>/dev/null; do
    o=$(counter "$run/a.cnt" outstanding)
    [ -n "$o" ] && [ "$o" -gt "$max_out" ] && max_out=$o
    c=$(counter "$run/a.cnt" consumed)
    p=$(counter "$run/produce.cnt" produced)
    if [ -n "$c" ] && [ -n "$p" ] && [ $((p - c)) -gt "$max_kafka" ]; then
        max_kafka=$((p - c))
    fi
    sleep 0.2
done
t_end=$(now_ms)
wait_up
stop_sampler
unset LEAKHUNT_STATS
check_ledger "$n"

paused=$(jtot "$j" paused)
echo "figures: overload: $(jnum "$j" events_per_second) events/s finished" \
    "for $n produced as fast as possible; A paused $paused times, at most" \
    "$max_out events outstanding after the warm-up (windows 3 x $window)"
expect "A paused (again and again)" "$paused" -ge 2
expect "A outstanding" "$max_out" -le $((window * 3))
# produce reads the lag every 100 ms and counts what it made since: the
# brake holds to within a fraction of max-lag (x2 leaves room for a slow
# read under load).
echo "figures: at most $max_kafka events in Kafka not yet consumed" \
    "(--max-lag $max_lag)"
expect "events waiting in Kafka" "$max_kafka" -le $((max_lag * 2))
for b in b0 b1 b2; do
    q=$(grep "role=$b\b" "$WORK/stats" | sed -n 's/.*queue=\([0-9]*\).*/\1/p' |
        sort -n | tail -n 1)
    [ -n "$q" ] || fail "no stats lines with queue= from $b"
    echo "figures: $b held at most $q events (bound 3 x $window)"
    expect "$b live items" "$q" -le $((window * 3))
done
for r in b0 b1 b2 a; do
    warm=$(rss_peak "$r" 0 "$t_warm")
    peak=$(rss_peak "$r" "$t_warm" "$t_end")
    bound=$flat_kb
    [ "$r" != a ] || bound=$((flat_kb + prefetch_kb))
    echo "figures: $r RSS peak $warm kB in the warm-up, $peak kB after it" \
        "(+$((peak - warm)) kB; bound +$bound kB;" \
        "$(rss_samples "$r" "$t_warm" "$t_end") samples)"
    expect "$r RSS samples after the warm-up" \
        "$(rss_samples "$r" "$t_warm" "$t_end")" -ge 20
    ! rss_bounded || expect "$r RSS growth after the warm-up (kB)" "$peak" \
        -le $((warm + bound))
done
for b in b0 b1 b2; do
    ! rss_bounded || expect "$b RSS peak (kB)" "$(rss_peak "$b" 0 "$t_end")" \
        -le "$abs_kb"
done
echo "PASS"
