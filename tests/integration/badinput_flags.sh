#!/bin/sh
# badinput_flags.sh SELFHEAL - every selfheal role refuses bad flags the
# same way (a one-line error, exit 2): unknown flags, missing
# values, malformed and out-of-range numbers, unknown stage names, bad
# inject specs and tokens.  Each case must exit 2 within 10 s, print
# exactly one line on stderr (naming the role) and nothing on stdout.
set -eu
. "$(dirname "$0")/lib.sh"

bin=${1:?usage: badinput_flags.sh SELFHEAL}
lh_setup selfheal-test
cases=0

# bad ROLE ARGS...: `selfheal ROLE ARGS...` is a usage error.
bad() {
    role=$1
    rc=0
    in_work timeout 10 "$bin" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
    lines=$(wc -l <"$WORK/err")
    [ "$rc" -eq 2 ] ||
        { cat "$WORK/err" >&2; fail "selfheal $*: exit $rc, want 2"; }
    [ "$lines" -eq 1 ] ||
        { cat "$WORK/err" >&2; fail "selfheal $*: $lines lines on stderr, want 1"; }
    [ ! -s "$WORK/out" ] || fail "selfheal $*: wrote to stdout"
    grep -q "^selfheal $role: " "$WORK/err" ||
        fail "selfheal $*: the error does not name the role: $(cat "$WORK/err")"
    [ -z "${SHOW:-}" ] || cat "$WORK/err"
    cases=$((cases + 1))
}

bad broker --bogus 1
bad broker --partitions
bad broker --partitions 0
bad broker --partitions 99999
bad broker --partitions 12x
bad broker --brokers-count 65

bad produce --bogus 1
bad produce --brokers
bad produce --brokers 127.0.0.1:1 --events 0
bad produce --brokers 127.0.0.1:1 --rate -5
bad produce --brokers 127.0.0.1:1 --keys 99999999999999
bad produce --brokers 127.0.0.1:1 --value-size 70000
bad produce --brokers 127.0.0.1:1 --inflight 0
bad produce --brokers 127.0.0.1:1 --auth-token ''
bad produce --events 10

bad a --bogus
bad a --brokers
bad a --brokers 127.0.0.1:1 --window 0
bad a --brokers 127.0.0.1:1 --batch 70000
bad a --brokers 127.0.0.1:1 --batch 1e3
bad a --brokers 127.0.0.1:1 --stages forward,bogus
bad a --brokers 127.0.0.1:1 --name 'a b'
bad a --brokers 127.0.0.1:1 --nodes 127.0.0.1:1 --auth-token ''
bad a --window 10

bad b --bogus
bad b --id
bad b --id 99
bad b --id 2
bad b --delay-ms 99999999999
bad b --queue-cap 0
bad b --rpc-timeout-ms x
bad b --stages nosuch
bad b --stages rpc
bad b --inject bogus
bad b --inject rpc:lost:0
bad b --auth-token ''

bad store --bogus
bad store --listen
bad store --corrupt-rate 2
bad store --corrupt-rate x
bad store --seed -1
bad store --listen not-an-address
bad store --auth-token ''

bad up --bogus
bad up --events
bad up --events -1
bad up --nodes 0
bad up --nodes 65
bad up --consumers 17
bad up --window 0
bad up --delay-ms 99999999999
bad up --partitions 0
bad up --duration -1
bad up --corrupt-rate 5
bad up --stages forward,nope
bad up --stages rpc
bad up --inject nosuch:lost:64
bad up --scenario nope
bad up --auth-token ''

long=$(printf 'x%.0s' $(seq 300))
LH_AUTH_TOKEN=$long bad up --events 10
LH_AUTH_TOKEN=$long bad b
LH_AUTH_TOKEN=$long bad store

echo "PASS: $cases bad command lines, each exit 2 with a one-line error"
