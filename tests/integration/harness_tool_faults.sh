#!/bin/sh
# Target faults under the heap tool (tcmalloc preloaded through leak-hunt's
# wrapper) and memcheck (the target under valgrind, leak searches through
# vgdb): a crash is exit 3 with "killed by signal 11" and no process left,
# valgrind and its forked child included; a hang is cut by --timeout
# (exit 3, "timed out"); a crash is reported within 5 s of it under
# rss, heap and memcheck (a crash in a leak search included); a hung
# target that ignores SIGTERM under the heap tool is SIGKILLed after the
# heap tool's 10 s grace.
#
# usage: harness_tool_faults.sh LEAK_HUNT TOYPROG
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"
need_cmd valgrind

# run_toy NAME TOOL LEAK_HUNT_ARGS... -- TOYPROG_ARGS... -> rc, secs, files
run_toy() {
    name=$1 tool=$2
    shift 2
    t0=$(now)
    rc=0
    in_work "$LH" run --tool "$tool" --enable parse,filter,emit "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    secs=$(elapsed "$t0")
    note "$name: exit $rc after $secs s, $(head -n 1 "$WORK/$name.out")"
    no_leftovers "$name"
}

for tool in heap memcheck; do
    run_toy "$tool-crash" "$tool" --duration 20 -- \
        "$TOY" --enable='{stages}' --crash-after 20000 --spawn-child
    expect_rc "$tool-crash" "$rc" 3
    expect_in "$tool-crash" "$WORK/$tool-crash.err" "killed by signal 11"
    expect_in "$tool-crash" "$WORK/$tool-crash.err" "crashing on purpose"
done

# A crash is reported within 5 s under every tool, counted from the
# toy's "crashing on purpose" line: with a large heap (1 KiB a unit) the
# crash lands in one of memcheck's leak searches, which vgdb never answers
# (the surviving child holds the FIFO): it was reported at the search's
# 60 s deadline (61.7 s measured).  A loop of this shell watches the log.
crash_time() {
    name=$1 tool=$2
    mkdir -p "$WORK/tmp-$name"
    t0=$(now)
    (cd "$WORK" && TMPDIR=$WORK/tmp-$name exec "$LH" run --tool "$tool" \
        --enable parse,filter,emit --duration 120 -- "$TOY" \
        --enable='{stages}' --leak parse:1024 --crash-after 200000 \
        --spawn-child) >"$WORK/$name.out" 2>"$WORK/$name.err" &
    lh=$!
    tc=
    while kill -0 "$lh" 2>/dev/null; do
        if [ -z "$tc" ] && grep -qs "crashing on purpose" \
            "$WORK/tmp-$name"/leak-hunt.*/runs/*/target.log; then
            tc=$(now)
        fi
        sleep 0.05
    done
    rc=0
    wait "$lh" || rc=$?
    [ -n "$tc" ] || fail "$name: no crash line seen in the target's log"
    secs=$(elapsed "$tc")
    note "$name: exit $rc $secs s after the crash ($(elapsed "$t0") s in all)"
    no_leftovers "$name"
    expect_rc "$name" "$rc" 3
    expect_in "$name" "$WORK/$name.err" "killed by signal 11"
    fcmp "$secs" '<' 5 || fail "$name: reported $secs s after the crash"
}
for tool in rss heap memcheck; do
    crash_time "$tool-crash-time" "$tool"
done

run_toy memcheck-hang memcheck --work 1e12 --timeout 5 -- \
    "$TOY" --enable='{stages}' --hang-after 5000
expect_rc memcheck-hang "$rc" 3
expect_in memcheck-hang "$WORK/memcheck-hang.out" "timed out after"
fcmp "$secs" '<' 20 || fail "memcheck-hang: took $secs s with --timeout 5"

run_toy heap-hang-ignore heap --work 1e12 --timeout 3 -- \
    "$TOY" --enable='{stages}' --hang-after 5000 --ignore-term --spawn-child
expect_rc heap-hang-ignore "$rc" 3
fcmp "$secs" '>=' 12 || fail "heap-hang-ignore: no 10 s grace ($secs s)"
fcmp "$secs" '<' 20 || fail "heap-hang-ignore: took $secs s, want about 13"
echo "PASS"
