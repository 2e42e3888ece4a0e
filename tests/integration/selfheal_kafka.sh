#!/bin/sh
# selfheal_kafka.sh SELFHEAL - Kafka beyond the embedded broker (issue 16),
# on a broker of its own (`selfheal broker`, as a real cluster would be:
# up is given --brokers):
# - -X NAME=VALUE: an unknown property and a bad value exit 2 naming them
#   (librdkafka's words), in up, a and produce; good ones run end to end.
# - --topic and --group honoured: the broker has only topic t1; up runs
#   on it in group g1 with every event finished; afterwards a fresh A in
#   g1 finds nothing left to consume (g1 committed it all), while one in
#   g2 consumes every event of t1 (read from its own /metrics:
#   `selfheal a --metrics-port 0`).
# - a missing topic: up, a and produce exit 2 naming the topic and the
#   bootstrap servers, before anything starts; with
#   -X allow.auto.create.topics=true the cluster creates it and up runs.
set -eu
. "$(dirname "$0")/lib.sh"

bin=${1:?usage: selfheal_kafka.sh SELFHEAL}
lh_setup selfheal-kafka
N=3000

# -X refused at the command line (no broker needed).
for role in up a produce; do
    st=0
    in_work "$bin" "$role" --brokers 127.0.0.1:1 -X no.such.property=1 \
        >"$WORK/x.out" 2>"$WORK/x.err" || st=$?
    expect_rc x "$st" 2
    expect_in "$role -X unknown" "$WORK/x.err" \
        "selfheal $role: -X no.such.property=1: No such configuration property: \"no.such.property\""
done
st=0
in_work "$bin" up -X security.protocol=carrier-pigeon >"$WORK/x.out" \
    2>"$WORK/x.err" || st=$?
expect_rc x "$st" 2
expect_in "bad value" "$WORK/x.err" \
    'Invalid value "carrier-pigeon" for configuration property "security.protocol"'
st=0
in_work "$bin" a --brokers 127.0.0.1:1 -X client.id >"$WORK/x.out" \
    2>"$WORK/x.err" || st=$?
expect_rc x "$st" 2
expect_in "no =" "$WORK/x.err" "want NAME=VALUE"

# A cluster with topic t1 only.
start_in_work "$bin" broker --topic t1 --partitions 4 \
    --port-file "$WORK/broker.addr" >"$WORK/broker.out" 2>"$WORK/broker.err"
wait_until 10 "the broker's address file" test -s "$WORK/broker.addr"
brokers=$(cat "$WORK/broker.addr")

# The missing topic (the default, changes).
for role in up a produce; do
    st=0
    nodes=
    [ "$role" != a ] || nodes="--nodes 127.0.0.1:1"
    # shellcheck disable=SC2086
    in_work "$bin" "$role" --brokers "$brokers" $nodes >"$WORK/miss.out" \
        2>"$WORK/miss.err" || st=$?
    expect_rc miss "$st" 2
    expect_in "$role: missing topic" "$WORK/miss.err" \
        "selfheal $role: topic changes not found on $brokers"
done
[ ! -e "$WORK/up.json" ] || fail "up started something"

# --topic, --group and good -X properties, end to end.
st=0
in_work "$bin" up --brokers "$brokers" --topic t1 --group g1 --events $N \
    -X client.id=selfheal-kafka-test -X socket.keepalive.enable=true \
    --json "$WORK/up.json" >"$WORK/up.out" 2>"$WORK/up.err" || st=$?
expect_rc up "$st" 0
expect "verified" "$(jnum "$WORK/up.json" verified)" -ge $N

# Two fresh A's, forward off: g1 has committed everything, g2 nothing.
for g in g1 g2; do
    start_in_work "$bin" a --brokers "$brokers" --topic t1 --group $g \
        --stages '' --name a_$g --counters "$WORK/$g.cnt" \
        --metrics-port 0 --metrics-port-file "$WORK/$g.mport" \
        >"$WORK/$g.out" 2>"$WORK/$g.err"
done
count() { sed -n "s/^$2 //p" "$WORK/$1.cnt" 2>/dev/null; }
g2_done() {
    [ -s "$WORK/g2.mport" ] &&
        [ "$(python3 "$(dirname "$0")/prom_read.py" \
            "http://127.0.0.1:$(cat "$WORK/g2.mport")/metrics" \
            'selfheal_consumed_total')" = $N ]
}
g1_joined() { [ "$(count g1 assigned)" -gt 0 ] 2>/dev/null; }
wait_until 15 "A in group g2 consuming all $N events of t1" g2_done
wait_until 5 "A in group g1 joining" g1_joined
sleep 1
expect "events consumed again in g1" "$(count g1 consumed)" -eq 0

# The cluster may create the topic: up runs on a new one.
st=0
in_work "$bin" up --brokers "$brokers" --topic fresh --group g3 \
    --events 1000 -X allow.auto.create.topics=true \
    --json "$WORK/auto.json" >"$WORK/auto.out" 2>"$WORK/auto.err" || st=$?
expect_rc auto "$st" 0
expect "verified on an auto-created topic" \
    "$(jnum "$WORK/auto.json" verified)" -ge 1000
echo "PASS"
