#!/bin/sh
# selfheal_metrics.sh SELFHEAL - selfheal's Prometheus /metrics (issue
# 16), read by real HTTP clients (curl, Python's urllib):
# - `selfheal up --metrics-port 0 --metrics-port-file F` with live
#   switching on: the port file appears; /metrics answers 200 with
#   Content-Type text/plain; version=0.0.4 and text that parses as the
#   exposition format (prom_read.py); the B nodes' work
#   (selfheal_role_finished_total{role="b"}) moves between two scrapes;
#   every B node's leakhunt_stages series shows the running list, and a
#   list switched through LEAKHUNT_CONTROL shows on every one within 5 s;
#   /nope answers 404 and a POST 405.
# - a B node alone (`selfheal b --metrics-port 0`) serves its own series,
#   unlabelled (one process: an unlabelled process_start_time_seconds),
#   with its stages.
# - bad input: a port out of range or a port file without a port exit 2;
#   a port taken exits 1 naming it.
set -eu
. "$(dirname "$0")/lib.sh"

bin=${1:?usage: selfheal_metrics.sh SELFHEAL}
need_cmd curl "to scrape /metrics"
need_cmd python3 "to parse /metrics"
lh_setup selfheal-metrics
read_metrics() { python3 "$(dirname "$0")/prom_read.py" "$@"; }

all=forward,hash,enqueue,verify,rpc
ctl=$WORK/control
echo "$all" >"$ctl"
LEAKHUNT_CONTROL=$ctl
export LEAKHUNT_CONTROL
unset LEAKHUNT_STAGES
start_in_work "$bin" up --duration 60 --rate 20000 --dir "$WORK/run" --keep \
    --metrics-port 0 --metrics-port-file "$WORK/mport" >"$WORK/up.out" \
    2>"$WORK/up.err"
pid=$!
wait_until 20 "the metrics port file" test -s "$WORK/mport"
url=http://127.0.0.1:$(cat "$WORK/mport")/metrics
expect_in "said on stderr" "$WORK/up.err" "selfheal up: metrics at http://0.0.0.0:$(cat "$WORK/mport")/metrics"

# Work flowing, seen through the endpoint.
b_work() { read_metrics "$url" 'selfheal_role_finished_total{role="b"}'; }
flowing() { w=$(b_work) && [ "$w" != none ] && [ "${w%%.*}" -gt 0 ]; }
wait_until 20 "work in /metrics" flowing
curl -sS -D "$WORK/headers" -o "$WORK/m1" "$url"
expect_in "Content-Type" "$WORK/headers" "Content-Type: text/plain; version=0.0.4"
w1=$(b_work)
sleep 1
w2=$(b_work)
note "B nodes' finished: $w1 then $w2 a second later"
fcmp "$w2" '>' "$w1" || fail "work did not move: $w1 then $w2"
one=$(read_metrics "$url" 'selfheal_finished_total{role="b",node="b1"}')
[ "$one" != none ] || fail "no series for node b1"
for fam in process_resident_memory_bytes selfheal_heap_live_bytes \
    process_start_time_seconds; do
    v=$(read_metrics "$url" "$fam{node=\"b0\"}")
    [ "$v" != none ] && fcmp "$v" '>' 0 || fail "$fam of b0: $v"
done
expect_in "a counter typed" "$WORK/m1" "# TYPE selfheal_finished_total counter"

# leakhunt_stages: the running list on every B node, then a switch.
want=$(echo "$all" | tr ',' '\n' | sort | paste -sd, -)
expect_in stages "/dev/stdin" "$want $want $want" <<EOF2
$(read_metrics "$url" stages:leakhunt_stages)
EOF2
echo "forward,hash,verify" >"$ctl.tmp" && mv "$ctl.tmp" "$ctl"
switched() {
    [ "$(read_metrics "$url" stages:leakhunt_stages)" = \
        "forward,hash,verify forward,hash,verify forward,hash,verify" ]
}
t0=$(now)
wait_until 5 "the switch in leakhunt_stages" switched
note "switch seen in /metrics after $(elapsed "$t0") s"

# Wrong requests.
code=$(curl -s -o /dev/null -w '%{http_code}' "${url%/metrics}/nope")
expect "GET /nope" "$code" -eq 404
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url")
expect "POST /metrics" "$code" -eq 405
note "one scrape of up: $(curl -sS -o /dev/null -w '%{time_total}' "$url") s (curl's time_total), $(wc -c <"$WORK/m1") bytes"

kill -TERM "$pid"
st=0
wait "$pid" || st=$?
expect_rc up "$st" 0

# A B node alone.
unset LEAKHUNT_CONTROL
start_in_work "$bin" b --stages forward,hash --metrics-port 0 \
    --metrics-port-file "$WORK/bport" >"$WORK/b.out" 2>"$WORK/b.err"
bpid=$!
wait_until 10 "the B node's port file" test -s "$WORK/bport"
burl=http://127.0.0.1:$(cat "$WORK/bport")/metrics
v=$(read_metrics "$burl" stages:leakhunt_stages)
[ "$v" = "forward,hash" ] || fail "b alone: stages $v"
v=$(read_metrics "$burl" 'selfheal_finished_total')
[ "$v" = 0 ] || fail "b alone: finished $v"
curl -sS -o "$WORK/bm" "$burl"
grep -q '^process_start_time_seconds [0-9]' "$WORK/bm" ||
    fail "b alone: no unlabelled process_start_time_seconds"
kill -TERM "$bpid"
wait "$bpid"

# Bad input.
st=0
in_work "$bin" up --metrics-port 70000 >"$WORK/bad.out" 2>"$WORK/bad.err" ||
    st=$?
expect_rc bad "$st" 2
st=0
in_work "$bin" b --stages forward --metrics-port-file "$WORK/x" \
    >"$WORK/bad.out" 2>"$WORK/bad.err" || st=$?
expect_rc bad "$st" 2
expect_in "port file alone" "$WORK/bad.err" "--metrics-port-file needs --metrics-port"
start_in_work "$bin" b --stages forward --metrics-port 0 \
    --metrics-port-file "$WORK/held" >"$WORK/held.out" 2>"$WORK/held.err"
hpid=$!
wait_until 10 "the port file" test -s "$WORK/held"
held=$(cat "$WORK/held")
st=0
in_work "$bin" b --stages forward --metrics-port "$held" >"$WORK/bad.out" \
    2>"$WORK/bad.err" || st=$?
expect_rc bad "$st" 1
expect_in "port taken" "$WORK/bad.err" "cannot serve metrics on port $held"
kill -TERM "$hpid"
wait "$hpid"
no_leftovers "the end"
echo "PASS"
