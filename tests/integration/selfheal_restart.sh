#!/bin/sh
# selfheal_restart.sh SELFHEAL - supervision: a B node killed mid-run is
# started again by up; A, which lost unacknowledged events with it, exits
# and is started again too, consuming them again from the committed
# offsets (at-least-once).  The run still finishes by itself, every event
# is verified at least once, and the store ends right.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/selfheal_lib.sh"

bin=${1:?usage: selfheal_restart.sh SELFHEAL}
n=200000
dir=$(mkwork)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT

"$bin" up --events "$n" --rate 40000 --dir "$dir/run" --keep \
    --json "$dir/run.json" >"$dir/out" 2>"$dir/err" &
pid=$!
# Kill b1 once it has finished some events.
i=0
while :; do
    v=$(sed -n 's/^finished //p' "$dir/run/b1.cnt" 2>/dev/null || true)
    [ -n "$v" ] && [ "$v" -gt 10000 ] && break
    i=$((i + 1))
    [ $i -lt 300 ] || { kill "$pid"; fail "b1 finished nothing in 30 s"; }
    sleep 0.1
done
b1=$(sed -n 's/^pid //p' "$dir/run/b1.cnt")
kill -KILL "$b1" || fail "no b1 to kill"
st=0
wait "$pid" || st=$?
pid=
[ "$st" -eq 0 ] || { cat "$dir/err" >&2; fail "up exit status $st"; }
j=$dir/run.json
expect "restarts" "$(jtot "$j" restarts)" -ge 1
expect "produced" "$(jnum "$j" produced)" -ge "$n"
expect "verified at least once" "$(jnum "$j" verified)" -ge "$(jnum "$j" produced)"
expect "unhealed" "$(jtot "$j" unhealed)" -eq 0
expect "keys wrong" "$(jtot "$j" store_keys_wrong)" -eq 0
grep "restarts\|verified " "$dir/out"
echo "PASS"
