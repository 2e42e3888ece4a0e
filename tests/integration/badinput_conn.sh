#!/bin/sh
# badinput_conn.sh SELFHEAL frames|auth - hostile connections to a running
# pipeline (issue 8, "Bad input").
#
# Starts `selfheal up --keep --dir D` (paced so that it runs ~10 s), reads
# the port files of B node 0 and of the store, and while events flow sends
# each attack of badinput_probe.py on a connection of its own, asserting
# that the node closes that connection.  After up ends: the closes were
# counted (bad_frames / refused of b0 and of the store in up's JSON), and
# the pipeline still produced and verified every event, with no restart.
#
#   frames  no token: garbage, a wrong magic, a wrong version, an oversize
#           length (before and after the HELLO), EVENTS before the HELLO, a
#           malformed HELLO to b0; garbage, a wrong magic, a wrong version,
#           an oversize length, a reply where a request belongs to the store.
#   auth    up --auth-token: the whole pipeline runs with the token; raw
#           clients without it, with a wrong one, a silent one (5 s), and
#           to the store an over-long one are refused; a client with the
#           token is served.  A bad frame is still a bad frame.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

bin=${1:?usage: badinput_conn.sh SELFHEAL frames|auth}
mode=${2:?usage: badinput_conn.sh SELFHEAL frames|auth}
probe="python3 $here/badinput_probe.py"
n=20000
lh_setup selfheal-test

case $mode in
frames)
    token=
    set -- ;;
auth)
    token=tok-$$-badinput
    set -- --auth-token "$token" ;;
*) fail "unknown mode $mode" ;;
esac

start_in_work "$bin" up --events "$n" --rate 2000 --nodes 2 --delay-ms 200 \
    "$@" --keep --dir "$WORK/run" --json "$WORK/run.json" \
    >"$WORK/out" 2>"$WORK/err"
uppid=$!

# wait_file FILE: the port file appears (up starts the store, then B's).
wait_file() {
    i=0
    while [ ! -s "$1" ]; do
        i=$((i + 1))
        [ "$i" -lt 300 ] || { cat "$WORK/err" >&2; fail "no $1 after 30 s"; }
        kill -0 "$uppid" 2>/dev/null || { cat "$WORK/err" >&2; fail "up ended"; }
        sleep 0.1
    done
    cat "$1"
}
bport=$(wait_file "$WORK/run/b0.port")
sport=$(wait_file "$WORK/run/store.port")

# attack ROLE PORT NAME: the connection must be closed.
attack() {
    $probe "$1" "$2" "$3" "$token" || fail "$1 kept a connection after '$3'"
}

if [ "$mode" = frames ]; then
    b_bad="garbage magic version oversize oversize-after-hello events-first
           bad-hello"
    s_bad="garbage magic version oversize reply-kind"
    b_refused=
    s_refused=
else
    b_bad="garbage oversize"
    s_bad="garbage magic"
    b_refused="no-token wrong-token silent"
    s_refused="no-token wrong-token long-token silent"
fi
count() { echo $#; }
nb=$(count $b_bad); ns=$(count $s_bad); rb=$(count $b_refused)
rs=$(count $s_refused)
# B and the store are attacked at the same time (the silent ones take 5 s).
( for a in $b_bad $b_refused; do attack b "$bport" "$a"; done ) &
bpid=$!
( for a in $s_bad $s_refused; do attack store "$sport" "$a"; done ) &
spid=$!
wait "$bpid" || fail "b0 attacks"
wait "$spid" || fail "store attacks"
# A well-behaved raw client is still served by both.
$probe b "$bport" ok "$token" || fail "b0 closed a good connection"
$probe store "$sport" ok "$token" || fail "the store refused a good client"
kill -0 "$uppid" 2>/dev/null ||
    fail "up ended before the attacks were over (raise --events)"

wait "$uppid" || { cat "$WORK/err" >&2; fail "up failed"; }
cat "$WORK/out"
j=$WORK/run.json
expect "produced" "$(jnum "$j" produced)" -eq "$n"
expect "verified" "$(jnum "$j" verified)" -eq "$n"
expect "rpc timeouts" "$(jnum "$j" rpc_timeouts)" -eq 0
expect "rpc error answers" "$(jnum "$j" rpc_error_answers)" -eq 0
expect "restarts" "$(jtot "$j" restarts)" -eq 0

# node ROLE COUNTER: that counter of that node in up's JSON (0 if absent).
node() {
    jget "$j" "[n.get('$2', 0) for n in d['nodes'] if n['role'] == '$1'][0]"
}
expect "b0 bad_frames" "$(node b0 bad_frames)" -eq "$nb"
expect "b0 refused" "$(node b0 refused)" -eq "$rb"
expect "store bad_frames" "$(node store bad_frames)" -eq "$ns"
expect "store refused" "$(node store refused)" -eq "$rs"
expect "b1 bad_frames" "$(node b1 bad_frames)" -eq 0
expect "b1 refused" "$(node b1 refused)" -eq 0
grep -q "connections closed: *$((nb + ns)) bad frames, $((rb + rs)) refused" \
    "$WORK/out" || fail "summary does not show the closed connections"
echo "PASS ($mode): b0 closed $nb bad + $rb refused, store $ns bad +" \
     "$rs refused; $n events produced and verified"
