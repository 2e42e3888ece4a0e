#!/bin/sh
# selfheal_sigterm.sh SELFHEAL - the way leak-hunt stops a target: SIGTERM
# to the whole process group while the pipeline runs.  up must stop every
# child (in order: they run in process groups of their own), print its
# summary and exit 0, leaving no process behind.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/selfheal_lib.sh"

bin=${1:?usage: selfheal_sigterm.sh SELFHEAL}
dir=$(mkwork)
trap 'rm -rf "$dir"' EXIT

setsid "$bin" up --duration 120 --rate 5000 --dir "$dir/run" --keep \
    --json "$dir/run.json" >"$dir/out" 2>"$dir/err" &
pid=$!
# Wait until events are being verified.
i=0
while :; do
    v=$(sed -n 's/^verified //p' "$dir"/run/b*.cnt 2>/dev/null | head -n 1)
    [ -n "$v" ] && [ "$v" -gt 0 ] && break
    i=$((i + 1))
    [ $i -lt 300 ] || { kill -KILL "-$pid"; fail "no event verified in 30 s"; }
    sleep 0.1
done
kill -TERM "-$pid"
st=0
wait "$pid" || st=$?
expect "up exit status" "$st" -eq 0
grep -q "^  verified" "$dir/out" || fail "no summary printed"
expect "verified" "$(jnum "$dir/run.json" verified)" -gt 0
# Every child that writes counters names its pid there: none may be left.
for f in "$dir"/run/*.cnt; do
    p=$(sed -n 's/^pid //p' "$f")
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
        kill -KILL "$p"
        fail "$(basename "$f" .cnt) (pid $p) left behind"
    fi
done
echo "PASS"
