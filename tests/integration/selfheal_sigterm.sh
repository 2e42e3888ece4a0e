#!/bin/sh
# selfheal_sigterm.sh SELFHEAL - the way leak-hunt stops a target: SIGTERM
# to the whole process group while the pipeline runs.  up must stop every
# child (in order: they run in process groups of their own), print its
# summary and exit 0, leaving no process behind.
set -eu
. "$(dirname "$0")/lib.sh"

bin=${1:?usage: selfheal_sigterm.sh SELFHEAL}
lh_setup selfheal-test

start_in_work setsid "$bin" up --duration 120 --rate 5000 --dir "$WORK/run" \
    --keep --json "$WORK/run.json" >"$WORK/out" 2>"$WORK/err"
pid=$!
# Wait until events are being verified.
i=0
while :; do
    v=$(sed -n 's/^verified //p' "$WORK"/run/b*.cnt 2>/dev/null | head -n 1)
    [ -n "$v" ] && [ "$v" -gt 0 ] && break
    i=$((i + 1))
    [ $i -lt 300 ] || { kill -KILL "-$pid"; fail "no event verified in 30 s"; }
    sleep 0.1
done
kill -TERM "-$pid"
st=0
wait "$pid" || st=$?
expect "up exit status" "$st" -eq 0
grep -q "^  verified" "$WORK/out" || fail "no summary printed"
expect "verified" "$(jnum "$WORK/run.json" verified)" -gt 0
# Every child that writes counters names its pid there: none may be left.
for f in "$WORK"/run/*.cnt; do
    p=$(sed -n 's/^pid //p' "$f")
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
        kill -KILL "$p"
        fail "$(basename "$f" .cnt) (pid $p) left behind"
    fi
done
echo "PASS"
