#!/bin/sh
# selfheal_valgrind.sh SELFHEAL SUPPRESSIONS [EVENTS] - a short pipeline run
# with every role under valgrind memcheck (up itself too, its children
# through LEAKHUNT_WRAP and --wrap-roles), stopped the normal way (SIGTERM
# to each child in order).  Each process must report zero errors with our
# suppressions (ci/valgrind.supp: Cyrus SASL's one-time init only), and
# with --errors-for-leak-kinds=all any leaked block, even a still reachable
# one, is an error.
set -eu
. "$(dirname "$0")/lib.sh"

bin=${1:?usage: selfheal_valgrind.sh SELFHEAL SUPPRESSIONS [EVENTS]}
supp=${2:?usage: selfheal_valgrind.sh SELFHEAL SUPPRESSIONS [EVENTS]}
n=${3:-1000}
lh_setup selfheal-test

vg="valgrind --tool=memcheck --error-exitcode=99 --leak-check=full"
vg="$vg --show-leak-kinds=all --errors-for-leak-kinds=all --num-callers=40"
vg="$vg --suppressions=$supp"

in_work env LEAKHUNT_WRAP="$vg --log-file=$WORK/vg.%p.log" \
    $vg --log-file="$WORK/vg.up.log" "$bin" up --events "$n" --wrap-roles broker,store,a,b,produce \
    --json "$WORK/run.json" >"$WORK/out" 2>"$WORK/err" ||
    { cat "$WORK/err" >&2; fail "up failed"; }
expect "verified" "$(jnum "$WORK/run.json" verified)" -eq "$n"

logs=0
for log in "$WORK"/vg.*.log; do
    logs=$((logs + 1))
    role=$(sed -n 's/^==[0-9]*== Command: [^ ]* \([a-z]*\).*/\1/p' "$log" |
           head -n 1)
    summary=$(grep "ERROR SUMMARY" "$log" || true)
    echo "${role:-?}: $summary"
    case $summary in
    *"ERROR SUMMARY: 0 errors"*) ;;
    *)
        cat "$log" >&2
        echo "--- up's stderr (tail):" >&2
        tail -20 "$WORK/err" >&2
        fail "$log: memcheck found errors or leaks (or no summary: killed)"
        ;;
    esac
    if grep -q "definitely lost: [1-9]\|indirectly lost: [1-9]" "$log"; then
        cat "$log" >&2
        fail "$log: lost bytes"
    fi
done
# up, broker, store, 3 B nodes, A, produce
expect "valgrind logs" "$logs" -eq 8
echo "PASS"
