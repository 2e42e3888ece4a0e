#!/bin/sh
# faults_kill.sh SELFHEAL MODE - the pipeline under kill -9 (issue 8).
#
#   b   kill -9 B node b1 mid-run: up starts it again (and A, which lost
#       unacknowledged events with it), the ring re-balances, and every
#       produced (key, version) is finished: lost == 0 by the ledger,
#       duplicates counted; the store ends right.
#   a   kill -9 A mid-run: the same, A consuming again from the group's
#       committed offsets.
#   up  kill -9 up itself mid-run: within a few seconds no process of that
#       run is left (found by their working directory, lib.sh's `mine`,
#       since other tests run at the same time).
#   up_stalled  the known bug first: the store stopped (SIGSTOP), produce
#       told to stop (SIGTERM) with store writes in flight that will never
#       be answered: it must exit within a few seconds all the same; then
#       the store runs again and up is killed as in mode up.
#   ledger_stages  no fault: with forward off (A drops) and verify off (B
#       passes) the ledger still finishes every produced pair exactly once.
#
# Each mode prints its figures: produced, verified, duplicates, lost,
# restarts (and, for up, how long the last child outlived it).
set -eu
. "$(dirname "$0")/lib.sh"

bin=${1:?usage: faults_kill.sh SELFHEAL b|a|up}
mode=${2:?usage: faults_kill.sh SELFHEAL b|a|up}
. "$(dirname "$0")/faults_lib.sh"
faults_setup

# wait_counter FILE NAME MIN SECONDS: until counter NAME in FILE >= MIN.
wait_counter() {
    wait_until "$4" "$(basename "$1" .cnt): $2 reaching $3" \
        counter_ge "$1" "$2" "$3"
}

# kill_mid_run N VICTIM COUNTER MIN: start up with the ledger, kill -9 the
# process VICTIM (its pid from VICTIM.cnt) once COUNTER >= MIN there, and
# wait for up.  Sets j (the JSON).
kill_mid_run() {
    n=$1
    victim=$2
    start_up --events "$n" --rate 25000
    wait_counter "$run/$victim.cnt" "$3" "$4" 60
    vpid=$(counter "$run/$victim.cnt" pid)
    [ -n "$vpid" ] || fail "no pid for $victim"
    produced=$(counter "$run/produce.cnt" produced)
    at_kill=$(counter "$run/$victim.cnt" "$3")
    kill -KILL "$vpid" || fail "no $victim (pid $vpid) to kill"
    echo "killed $victim (pid $vpid) with ${produced:-0} of $n produced"
    wait_up
    [ "$produced" -lt "$n" ] ||
        fail "the kill came after everything was produced: not mid-run"
}

case $mode in
b)
    n=200000
    kill_mid_run "$n" b1 finished 20000
    check_ledger "$n" b1
    grep -q 'selfheal up: b1 died' "$WORK/err" || fail "up did not see b1 die"
    # The other nodes took b1's keys while it was away (its events went on
    # there) and gave them back: the restarted b1 finished events again.
    grep -q 'lost peer b1' "$WORK/err" || fail "no B node noticed b1 go"
    b1_total=$(grep -o '"role": "b1", [^}]*' "$j" | grep -o '"finished": [0-9]*' |
               cut -d' ' -f2)
    echo "b1 finished $at_kill before the kill, $b1_total in all"
    expect "b1 finished after its restart" "$b1_total" -gt $((at_kill + 1000))
    ;;
a)
    n=200000
    kill_mid_run "$n" a acked 20000
    check_ledger "$n" a
    ;;
up | up_stalled)
    start_up --duration 120 --rate 10000
    # Every role is up and events are being finished.
    wait_counter "$run/produce.cnt" produced 1 60
    for b in "$run"/b*.cnt; do
        wait_counter "$b" finished 1 30
    done
    before=$(mine | wc -l)
    expect "children of up" "$before" -ge 7
    if [ "$mode" = up_stalled ]; then
        # The store stops answering, then the producer is told to stop:
        # its store writes in flight will never be answered, and it must
        # exit all the same.
        spid=$(counter "$run/store.cnt" pid)
        ppid_=$(counter "$run/produce.cnt" pid)
        kill -STOP "$spid"
        sleep 0.5
        t0=$(date +%s.%N)
        kill -TERM "$ppid_"
        i=0
        while kill -0 "$ppid_" 2>/dev/null; do
            i=$((i + 1))
            [ $i -lt 50 ] || { kill -CONT "$spid"; tail -n 20 "$WORK/err" >&2;
                fail "produce still running 5 s after SIGTERM (store stopped)"; }
            sleep 0.1
        done
        t1=$(date +%s.%N)
        echo "figures: with the store stopped, produce exited" \
            "$(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s after SIGTERM" \
            "(load $(cut -d' ' -f1 /proc/loadavg))"
        grep "selfheal produce: stopping with" "$WORK/err" || true
        kill -CONT "$spid"
        before=$(mine | wc -l)
    fi
    t0=$(date +%s.%N)
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
    i=0
    while [ -n "$(mine)" ]; do
        i=$((i + 1))
        if [ $i -ge 50 ]; then
            echo "left behind 5 s after up was killed:" >&2
            for p in $(mine); do
                tr '\0' ' ' <"/proc/$p/cmdline" >&2 || true
                echo >&2
            done
            tail -n 20 "$WORK/err" >&2
            fail "processes of the run outlived up"
        fi
        sleep 0.1
    done
    t1=$(date +%s.%N)
    echo "figures: up and $before children; the last child exited" \
        "$(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s after up was killed" \
        "(load $(cut -d' ' -f1 /proc/loadavg))"
    # Each role said why it stopped, none crashed.
    ! grep -q "Segmentation\|Aborted" "$WORK/err" || fail "a child crashed"
    ;;
ledger_stages)
    # No fault: the ledger's finish records where a stage is off (A drops
    # with forward off, B passes with verify off) match what was produced.
    n=3000
    for stages in "" forward; do
        in_work "$bin" up --events "$n" --stages "$stages" --delay-ms 100 --ledger \
            --json "$WORK/s.json" >"$WORK/out" 2>"$WORK/err" ||
            { cat "$WORK/err" >&2; fail "stages '$stages': up failed"; }
        j=$WORK/s.json
        echo "stages '$stages': produced $(jnum "$j" produced)" \
            "finished $(jnum "$j" ledger_finished) duplicates" \
            "$(jnum "$j" duplicates) lost $(jnum "$j" lost)"
        expect "pairs produced" "$(jnum "$j" ledger_produced)" -eq "$n"
        expect "pairs finished" "$(jnum "$j" ledger_finished)" -eq "$n"
        expect "lost" "$(jnum "$j" lost)" -eq 0
        expect "duplicates without a fault" "$(jnum "$j" duplicates)" -eq 0
        expect "finished pairs never produced" "$(jnum "$j" ledger_unknown)" \
            -eq 0
    done
    ;;
*)
    fail "unknown mode $mode (b, a, up, up_stalled or ledger_stages)"
    ;;
esac
echo "PASS"
