# metrics_lib.sh - what the --metrics tests share (sourced after lib.sh):
# the test service tests/targets/metrics_service.py, started by the test
# (watch mode) or by leak-hunt (a free port chosen first), and a way to
# run leak-hunt that keeps its output and exit status.

SERVICE=$(cd "$(dirname "$0")/../targets" && pwd)/metrics_service.py

# metrics_setup LEAK_HUNT NAME: the test's programs checked (LH set), and
# lh_setup NAME
metrics_setup() {
    LH=$1
    need_file "$LH" leak-hunt
    need_cmd python3 "for the test service"
    need_cmd curl "to talk to the test service"
    lh_setup "$2"
}

# free_port -> a TCP port free on 127.0.0.1 now
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# service_start NAME ARGS...: metrics_service.py ARGS in WORK, on a port
# of its own choosing; sets SPID, PORT and URL (its /metrics)
service_start() {
    sname=$1
    shift
    rm -f "$WORK/$sname.port"
    start_in_work python3 "$SERVICE" --port 0 --port-file "$WORK/$sname.port" \
        "$@" 2>"$WORK/$sname.service.err"
    SPID=$!
    wait_until 10 "$sname: the service listening" test -s "$WORK/$sname.port"
    PORT=$(cat "$WORK/$sname.port")
    URL=http://127.0.0.1:$PORT/metrics
}

# service_stop: stops the service service_start started last
service_stop() {
    kill "$SPID" 2>/dev/null || :
    wait "$SPID" 2>/dev/null || :
}

# lh NAME ARGS...: leak-hunt ARGS in WORK, its stdout and stderr in
# WORK/NAME.out and .err; RC its exit status, SECS how long it took
lh() {
    lname=$1
    shift
    RC=0
    t0=$(now)
    in_work "$LH" "$@" >"$WORK/$lname.out" 2>"$WORK/$lname.err" || RC=$?
    SECS=$(elapsed "$t0")
    note "$lname: exit $RC in $SECS s: $(head -c 400 "$WORK/$lname.out")"
}

# slope_near NAME JSON WANT PERCENT: the last run's slope within PERCENT%
# of WANT
slope_near() {
    s=$(jget "$2" "d['runs'][-1]['slope_bytes_per_unit']")
    note "$1: slope $s B/unit for $3 planted"
    within "$1: slope" "$s" "$3" "$4"
}
