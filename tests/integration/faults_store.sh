#!/bin/sh
# faults_store.sh SELFHEAL MODE - the pipeline when the store stops
# answering or answers slowly (issue 8).
#
#   outage  the store process is stopped (SIGSTOP) for 8 s mid-run, then
#           continued.  The B nodes' store calls time out; each B closes
#           its connection and retries with a doubling backoff, one probe
#           call at a time, never giving an event up.  produce's store
#           writes time out too: its window (role_produce.c) closes to
#           one write at a time, so it makes about one change per timeout
#           (the events of failed writes are published all the same,
#           healed later).  It used to go on with 4,096 writes in flight
#           and fill A's windows, which paused; now little reaches A, so
#           A's window is not expected to fill, only never to be
#           exceeded.  After SIGCONT everything recovers.
#   slow    the store takes 400 us over every request (--store-delay-us:
#           2,500 requests/s), the producer goes as fast as it can: the
#           store is the bottleneck.  produce's window adapts
#           (role_produce.c): it used to keep 4,096 writes in flight
#           whatever the latency, 1.6 s of the store's work, and 28,151 of
#           30,000 writes timed out (events published unwritten, healed
#           later).  Now at most --inflight (1,024) are in flight and
#           almost none fails; the B nodes may or may not time out (their
#           own first windows are 3 x 1,024 calls, 1.2 s of work).
#
# Both: the run finishes by itself with nothing lost by key and version
# (the ledger), the store right, and the B nodes' memory bounded: RSS of
# every B sampled every 100 ms from /proc must stay within BOUND_KB of its
# level before the fault (outage) or of its first second (slow).  The
# bound follows from the window: A sends a B node at most --window (2,000)
# events it has not acknowledged, its peers forward it at most as many
# each, so a B node holds at most 6,000 events of some 300 bytes (the
# item, the event, allocator overhead); 8 MiB leaves room for buffers.
# Without the bound a B would hold what 8 s x 20,000 events/s brings
# (160,000 events over 3 nodes, ~16 MB each).
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults_lib.sh"

bin=${1:?usage: faults_store.sh SELFHEAL outage|slow}
mode=${2:?usage: faults_store.sh SELFHEAL outage|slow}
faults_setup
window=2000
bound_kb=8192

# check_rss FROM_MS TO_MS BASE_FROM BASE_TO: every B's peak RSS in
# [FROM, TO] within bound_kb of its peak in [BASE_FROM, BASE_TO].
check_rss() {
    for b in b0 b1 b2; do
        base=$(rss_peak "$b" "$3" "$4")
        peak=$(rss_peak "$b" "$1" "$2")
        ns=$(rss_samples "$b" "$1" "$2")
        echo "figures: $b RSS $base kB before, peak $peak kB during the fault" \
            "(+$((peak - base)) kB, bound +$bound_kb kB; $ns samples)"
        expect "$b RSS samples before the fault" "$(rss_samples "$b" "$3" "$4")" \
            -ge 3
        expect "$b RSS samples during the fault" "$ns" -ge 10
        ! rss_bounded || expect "$b RSS peak during the fault (kB)" "$peak" \
            -le $((base + bound_kb))
    done
    for r in a produce; do
        echo "figures: $r RSS $(rss_peak "$r" "$3" "$4") kB before," \
            "peak $(rss_peak "$r" "$1" "$2") kB during the fault"
    done
}

case $mode in
outage)
    n=240000
    start_up --events "$n" --rate 20000 --window "$window" --delay-ms 100
    start_sampler b0 b1 b2 a produce
    wait_until 90 "30,000 events finished" b_finished_ge 30000
    t_base=$(now_ms)
    sleep 1
    paused0=$(counter "$run/a.cnt" paused)
    spid=$(counter "$run/store.cnt" pid)
    [ -n "$spid" ] || fail "no store pid"
    t_stop=$(now_ms)
    at_stop=$(sum_b finished)
    kill -STOP "$spid"
    # Outstanding events in A while the store is stopped: A's window.
    max_out=0
    i=0
    while [ $i -lt 80 ]; do
        o=$(counter "$run/a.cnt" outstanding)
        [ -n "$o" ] && [ "$o" -gt "$max_out" ] && max_out=$o
        sleep 0.1
        i=$((i + 1))
    done
    at_cont=$(sum_b finished)
    paused1=$(counter "$run/a.cnt" paused)
    kill -CONT "$spid"
    t_cont=$(now_ms)
    wait_up
    stop_sampler
    check_ledger "$n"
    echo "figures: store stopped $(((t_cont - t_stop) / 1000)) s: finished" \
        "$at_stop before, $at_cont at the end of it; A paused $paused0 times" \
        "before, $paused1 by its end, at most $max_out events outstanding" \
        "(window $window x 3)"
    grep -E "^produce:" "$WORK/err" || true
    grep -E "store answering again" "$WORK/err" || true
    check_rss "$t_stop" "$((t_cont + 1000))" "$t_base" "$t_stop"
    # produce held back: what it had in flight (at most --inflight,
    # 1,024) and one probe per 2 s timeout failed, not 8 s of changes.
    pfail=$(sed -n 's/^produce: .* store_errors \([0-9]*\) .*/\1/p' \
        "$WORK/err" | tail -n 1)
    [ -n "$pfail" ] || fail "no produce summary line"
    expect "produce's failed writes" "$pfail" -le $((1024 + 64))
    # A stops taking more once its windows are full, and never takes
    # more than they allow (a hard bound, not one batch over).
    expect "A outstanding during the outage" "$max_out" -le $((window * 3))
    # Little was finished while the store was stopped: events that did not
    # need it (stale after a newer version was verified) at most.
    expect "finished while the store was stopped" $((at_cont - at_stop)) \
        -le $((window * 3))
    expect "store calls unanswered" "$(jtot "$j" rpc_timeouts)" -gt 0
    for b in b0 b1 b2; do
        grep -q "selfheal $b: store answering again" "$WORK/err" ||
            fail "$b did not see the store answer again"
    done
    ;;
slow)
    n=30000
    start_up --events "$n" --store-delay-us 400 --window "$window" \
        --delay-ms 100
    start_sampler b0 b1 b2 a produce
    # The first second of the B nodes is the base.
    wait_until 60 "the B nodes' first samples" \
        eval '[ "$(rss_samples b2 0 999999)" -ge 10 ]'
    t_base=$(now_ms)
    wait_up
    stop_sampler
    check_ledger "$n"
    pl=$(grep -E "^produce:" "$WORK/err" | tail -n 1)
    pfail=$(echo "$pl" | sed -n 's/.* store_errors \([0-9]*\) .*/\1/p')
    pmax=$(echo "$pl" | sed -n 's/.* inflight_max \([0-9]*\) .*/\1/p')
    [ -n "$pfail" ] && [ -n "$pmax" ] || fail "no produce summary line"
    echo "figures: store at 400 us per request: $(jnum "$j" events_per_second)" \
        "events/s, rpc_timeouts $(jtot "$j" rpc_timeouts)," \
        "rpc_error_answers $(jtot "$j" rpc_error_answers), A paused" \
        "$(jtot "$j" paused) times"
    echo "figures: produce: $pfail of $n store writes failed, at most" \
        "$pmax in flight"
    check_rss "$t_base" "$(now_ms)" 0 "$t_base"
    # (A no longer pauses here: produce's window holds it to what the
    # store answers, so A's windows need not fill.)
    expect "produce's writes in flight" "$pmax" -le 1024
    # 94% failed with 4,096 in flight; a tenth leaves room for a loaded
    # machine.
    expect "produce's failed writes" "$pfail" -le $((n / 10))
    # A slow store answers what it gets: no error answers.
    expect "store error answers" "$(jtot "$j" rpc_error_answers)" -eq 0
    ;;
*)
    fail "unknown mode $mode (outage or slow)"
    ;;
esac
echo "PASS"
