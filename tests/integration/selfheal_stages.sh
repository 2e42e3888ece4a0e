#!/bin/sh
# selfheal_stages.sh SELFHEAL [EVENTS] - `selfheal up` for each growing
# prefix of the stages (none; forward; forward,hash; ...; all five), each
# run asserting the counters that docs/selfheal.md's OFF rules imply.  Also: stage
# lists with an unknown name or a missing requirement are refused (exit 2).
set -eu
. "$(dirname "$0")/lib.sh"

bin=${1:?usage: selfheal_stages.sh SELFHEAL [EVENTS]}
n=${2:-3000}
lh_setup selfheal-test

# Stage lists are checked before anything starts.
st=0
in_work "$bin" up --stages forward,bogus --events 10 2>"$WORK/err" || st=$?
expect "unknown stage exit status" "$st" -eq 2
grep -q "unknown stage 'bogus'" "$WORK/err" || fail "no message naming bogus"
[ "$(wc -l <"$WORK/err")" -eq 1 ] || fail "unknown stage: not one line"
st=0
in_work "$bin" up --stages forward,rpc --events 10 2>"$WORK/err" || st=$?
expect "missing requirement exit status" "$st" -eq 2
grep -q "stage 'rpc' requires" "$WORK/err" || fail "no requirement message"
st=0
in_work env LEAKHUNT_STAGES=hash "$bin" b 2>"$WORK/err" || st=$?
expect "b: missing requirement from LEAKHUNT_STAGES" "$st" -eq 2

run() {
    name=$1 stages=$2
    json=$WORK/$name.json
    in_work "$bin" up --events "$n" --stages "$stages" --delay-ms 200 \
        --corrupt-rate 0.05 --keys 1000000 --json "$json" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" ||
        { cat "$WORK/$name.err" >&2; fail "$name: up failed"; }
    expect "$name produced" "$(jnum "$json" produced)" -eq "$n"
    expect "$name consumed" "$(jnum "$json" consumed)" -eq "$n"
    echo "ok: $name ($(jnum "$json" seconds) s)"
}

# forward OFF: A consumes and drops; nothing reaches a B node.
run none ""
j=$WORK/none.json
expect "none forwarded" "$(jnum "$j" forwarded)" -eq 0
expect "none dropped" "$(jtot "$j" dropped)" -eq "$n"
expect "none received" "$(jtot "$j" received)" -eq 0
expect "none passed" "$(jnum "$j" passed_unchecked)" -eq 0

# forward: every event reaches a B node, which keeps it (hash OFF), finds
# it due at once (enqueue OFF) and treats it as passed (verify OFF).
run forward forward
j=$WORK/forward.json
expect "forward forwarded" "$(jnum "$j" forwarded)" -eq "$n"
expect "forward received" "$(jtot "$j" received)" -eq "$n"
expect "forward hash_forwarded" "$(jnum "$j" hash_forwarded)" -eq 0
expect "forward enqueued" "$(jnum "$j" enqueued)" -eq 0
expect "forward verified" "$(jnum "$j" verified)" -eq 0
expect "forward passed" "$(jnum "$j" passed_unchecked)" -eq "$n"
expect "forward finished" "$(jtot "$j" finished)" -eq "$n"
expect "forward store gets" "$(jtot "$j" store_gets)" -eq 0

# + hash: about (N-1)/N of the events travel to their owner (3 nodes: 2/3).
run hash forward,hash
j=$WORK/hash.json
hf=$(jnum "$j" hash_forwarded)
expect "hash hash_forwarded" "$hf" -gt $((n / 2))
expect "hash hash_forwarded" "$hf" -lt $((n * 5 / 6))
expect "hash hash_received" "$(jtot "$j" hash_received)" -eq "$hf"
expect "hash enqueued" "$(jnum "$j" enqueued)" -eq 0
expect "hash passed" "$(jnum "$j" passed_unchecked)" -eq "$n"
expect "hash finished" "$(jtot "$j" finished)" -eq "$n"

# + enqueue: every event waits in a delay queue, then passes unchecked.
run enqueue forward,hash,enqueue
j=$WORK/enqueue.json
expect "enqueue enqueued" "$(jnum "$j" enqueued)" -eq "$n"
expect "enqueue verified" "$(jnum "$j" verified)" -eq 0
expect "enqueue passed" "$(jnum "$j" passed_unchecked)" -eq "$n"

# + verify: every event is checked locally; the store is not asked.
run verify forward,hash,enqueue,verify
j=$WORK/verify.json
expect "verify verified" "$(jnum "$j" verified)" -eq "$n"
expect "verify passed" "$(jnum "$j" passed_unchecked)" -eq 0
expect "verify healed" "$(jnum "$j" healed)" -eq 0
expect "verify store gets" "$(jtot "$j" store_gets)" -eq 0
expect "verify bad" "$(jtot "$j" bad_events)" -eq 0

# + rpc: every event is compared with the store, every damaged write that
# was not overwritten first is healed, and the store ends right.
run rpc forward,hash,enqueue,verify,rpc
j=$WORK/rpc.json
c=$(jnum "$j" corrupted)
s=$(jtot "$j" superseded)
expect "rpc verified" "$(jnum "$j" verified)" -eq "$n"
expect "rpc store gets" "$(jtot "$j" store_gets)" -ge "$n"
expect "rpc corrupted" "$c" -gt 0
expect "rpc healed" "$(jnum "$j" healed)" -eq $((c - s))
expect "rpc unhealed" "$(jtot "$j" unhealed)" -eq 0
expect "rpc keys wrong" "$(jtot "$j" store_keys_wrong)" -eq 0
expect "rpc timeouts" "$(jnum "$j" rpc_timeouts)" -eq 0
expect "rpc error answers" "$(jnum "$j" rpc_error_answers)" -eq 0
# Several A's in one consumer group split the partitions; every event is
# still consumed and verified exactly once.
in_work "$bin" up --events "$n" --consumers 2 --delay-ms 200 \
    --json "$WORK/two.json" >"$WORK/two.out" 2>"$WORK/two.err" ||
    { cat "$WORK/two.err" >&2; fail "two consumers: up failed"; }
expect "two consumers consumed" "$(jnum "$WORK/two.json" consumed)" -eq "$n"
expect "two consumers verified" "$(jnum "$WORK/two.json" verified)" -eq "$n"
for a in a0 a1; do
    c=$(grep -o "\"role\": \"$a\".*" "$WORK/two.json" | grep -o '"consumed": [0-9]*' |
        cut -d' ' -f2)
    expect "$a consumed some" "${c:-0}" -gt 0
done
echo "PASS"
