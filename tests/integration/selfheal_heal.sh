#!/bin/sh
# selfheal_heal.sh SELFHEAL [EVENTS] - the acceptance run: `selfheal up
# --events 200000` with all stages on finishes by itself; every consumed
# event is verified; every damaged store write is accounted for (healed,
# or overwritten by a newer write before its check: corrupted == healed +
# superseded, none left); and afterwards every key in the store holds its
# latest value (the store checks all keys at exit: store_keys_wrong).
set -eu
. "$(dirname "$0")/lib.sh"

bin=${1:?usage: selfheal_heal.sh SELFHEAL [EVENTS]}
n=${2:-200000}
lh_setup selfheal-test

in_work "$bin" up --events "$n" --json "$WORK/run.json" \
    >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; fail "up failed"; }
cat "$WORK/out"
j=$WORK/run.json
c=$(jnum "$j" corrupted)
s=$(jtot "$j" superseded)
h=$(jnum "$j" healed)
expect "produced" "$(jnum "$j" produced)" -eq "$n"
expect "consumed" "$(jnum "$j" consumed)" -eq "$n"
expect "verified" "$(jnum "$j" verified)" -eq "$n"
expect "corrupted" "$c" -gt 0
expect "healed" "$h" -eq $((c - s))
expect "store healed" "$(jtot "$j" store_healed)" -eq "$h"
expect "unhealed" "$(jtot "$j" unhealed)" -eq 0
expect "keys wrong" "$(jtot "$j" store_keys_wrong)" -eq 0
expect "rpc timeouts" "$(jnum "$j" rpc_timeouts)" -eq 0
expect "rpc error answers" "$(jnum "$j" rpc_error_answers)" -eq 0
expect "restarts" "$(jtot "$j" restarts)" -eq 0
echo "PASS: $n events, corrupted $c = healed $h + superseded $s"
