#!/bin/sh
# Target faults under the heap tool (tcmalloc preloaded through leak-hunt's
# wrapper) and memcheck (the target under valgrind, leak searches through
# vgdb): a crash is exit 3 with "killed by signal 11" and no process left,
# valgrind and its forked child included; a hang is cut by --timeout
# (exit 3, "timed out"); a hung target that ignores SIGTERM under the heap
# tool is SIGKILLed after the heap tool's 10 s grace.
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
