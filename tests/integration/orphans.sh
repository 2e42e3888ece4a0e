#!/bin/sh
# orphans.sh LEAK_HUNT - no process is left behind when what started it
# is killed with SIGKILL (no handler of its own runs then):
# - `selfheal up` while the pipeline runs (producer mid-flight, store
#   calls in flight): every child of up dies with it;
# - `leak-hunt run` (rss) and `leak-hunt hunt` on the built-in pipeline,
#   and `leak-hunt run --tool memcheck` (the target under valgrind): the
#   target and everything it started die with leak-hunt.
# The whole tree is checked: `mine` is every process whose working
# directory is WORK, whoever its parent is now.  "Gone" means within
# GONE_S seconds (SIGKILL reaches the children at once; the margin is for
# a loaded machine).  And they die at once, by SIGKILL, not through their
# own stop: no child may say it is stopping afterwards.  Before (death
# signal SIGTERM), up's children ran their stop paths with up gone: A
# "exiting so that they are consumed again", produce flushing, then
# "still stopping after 2000 ms; exiting now" (produce outliving up by
# 2 s, waiting for store calls in flight); the timing alone passed then.
#
# usage: orphans.sh LEAK_HUNT (selfheal beside it)
set -eu
. "$(dirname "$0")/lib.sh"

LH=${1:?usage: orphans.sh LEAK_HUNT}
SH=$(dirname "$LH")/selfheal
need_file "$LH" leak-hunt
need_file "$SH" selfheal
lh_setup orphans
mkdir "$WORK/tmp" || fail "cannot make $WORK/tmp"
TMPDIR=$WORK/tmp
export TMPDIR
GONE_S=${ORPHANS_GONE_S:-3}

none_left() {
    [ -z "$(mine)" ]
}

# killed NAME PID: SIGKILL to PID, reaped, then nothing of this test may
# be left within GONE_S seconds; prints how long that took
killed() {
    t0=$(now)
    kill -KILL "$2"
    wait "$2" || :
    i=0
    until none_left; do
        i=$((i + 1))
        [ $i -lt $((GONE_S * 20)) ] || {
            ps -o pid,ppid,pgid,stat,args -p "$(mine | tr '\n' ',' |
                sed 's/,$//')" >&2 || :
            fail "$1: processes left $GONE_S s after SIGKILL"
        }
        sleep 0.05
    done
    note "$1: nothing left $(elapsed "$t0") s after SIGKILL"
    no_stop_path "$1"
}

# no_stop_path NAME: no process of the pipeline ran its own stop (their
# stderr: up's, or the target's log under leak-hunt)
no_stop_path() {
    said=$(grep -rhE "still stopping|^produce: changes|exiting so that" \
        "$WORK"/*.err "$WORK"/tmp 2>/dev/null || :)
    [ -z "$said" ] || {
        echo "$said" | sed 's/^/    /' >&2
        fail "$1: processes ran their own stop after the SIGKILL"
    }
}

# producing: the built-in pipeline's producer runs and has sent events
# (its counters file says so), so store calls are in flight
producing() {
    [ -n "$(mine_matching ' produce ')" ] || return 1
    for f in "$WORK"/tmp/*/produce.cnt "$WORK"/run/produce.cnt; do
        v=$(sed -n "s/^produced //p" "$f" 2>/dev/null | head -n 1)
        [ -n "$v" ] && [ "$v" -gt 0 ] && return 0
    done
    return 1
}

# --- selfheal up, SIGKILLed mid-run (setsid: up leads its own group, as
# under leak-hunt; the children lead theirs)
start_in_work setsid "$SH" up --duration 120 --rate 20000 --dir "$WORK/run" \
    --keep >"$WORK/up.out" 2>"$WORK/up.err"
wait_until 60 "up's producer" producing
sleep 1
killed up $!

# kill_leak_hunt NAME WAIT_S ARGS...: `leak-hunt ARGS` on the built-in
# pipeline, SIGKILLed once its producer has sent events
kill_leak_hunt() {
    name=$1 secs=$2
    shift 2
    start_in_work "$LH" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    pid=$!
    wait_until "$secs" "$name's producer" producing
    sleep 1
    killed "$name" "$pid"
}

kill_leak_hunt run-rss 60 run --tool rss --work 100000000 --timeout 300
# a hunt, in its first configuration
kill_leak_hunt hunt 60 hunt --tool rss --inject rpc:reachable:64
# up and its children under valgrind
if command -v valgrind >/dev/null; then
    kill_leak_hunt run-memcheck 120 run --tool memcheck --work 100000000 \
        --timeout 300
fi
echo "PASS"
