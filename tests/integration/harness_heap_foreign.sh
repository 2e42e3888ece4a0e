#!/bin/sh
# The heap tool on programs it was not built around (docs/protocol.md
# section 6).  mallinfo_leak reports heap= from glibc's mallinfo2, which
# reads flat once tcmalloc replaces malloc: leak-hunt must take the heap
# from tcmalloc's own count instead (heap-live.log, every 100 ms) and find
# the leak, with sites.  Its children are started without LEAKHUNT_WRAP:
#   exec    fork+exec, inheriting LD_PRELOAD: profiled under its own pid;
#   fork    fork only: profiled under its own pid, never the parent's;
#   plain   exec'd with LD_PRELOAD removed: no profiler; it must not be
#           killed (the old tool sent SIGUSR2 to every reporting pid), it
#           is named in the run's `skipped`, and its heap= (glibc's, right
#           here) counts;
#   shell   a shell script that starts the program in the background;
#   python  a python program keeping 2 KB objects (malloc'd, not pymalloc)
#           and writing no stats line: measured per second, profiled.
# Every run ends within a few seconds of its duration: no dump is waited
# for (but the last, up to a second).  No profile carries gperftools' own
# child names (heap.P_C.N).
#
# usage: harness_heap_foreign.sh LEAK_HUNT MALLINFO_LEAK
set -eu
. "$(dirname "$0")/lib.sh"
LH=$1 PROG=$2
need_file "$LH" leak-hunt
need_file "$PROG" mallinfo_leak
need_cmd python3 "for the python target and to read the JSON"
PYLEAK=$(cd "$(dirname "$0")/../targets" && pwd)/pyleak.py
lh_setup heap-foreign

# heap NAME COMMAND...: `leak-hunt run --tool heap --duration 6`; rc, J, R
# (the run's directory), took
heap() {
    name=$1
    shift
    rc=0
    t0=$(now)
    in_work "$LH" run --tool heap --enable '' --duration 6 \
        --report "$WORK/$name" -- "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    took=$(elapsed "$t0")
    J=$WORK/$name/report.json
    R=$(jget "$J" "d['runs'][-1]['dir']")
    note "$name: exit $rc after $took s: $(cat "$WORK/$name.out")"
    no_leftovers "$name"
    fcmp "$took" '<' 12 || fail "$name: took $took s for a 6 s run"
    ! ls "$R" | grep -q '^heap\.[0-9]*_' ||
        fail "$name: gperftools' own child profile names in $R"
}

# pids_reporting -> the pids of R's stats lines, sorted
pids_reporting() {
    sed -n 's/.* pid=\([0-9]*\).*/\1/p' "$R/stats.log" | sort -u
}

# pids_profiled -> the pids of R's profiles, sorted
pids_profiled() {
    ls "$R" | sed -n 's/^heap\.\([0-9]*\)\.[0-9]*\.heap$/\1/p' | sort -u
}

# expect_profiles LABEL N: N of the processes that reported have profiles
# (at least 2 each), under their own pids
expect_profiles() {
    got=0
    for p in $(pids_reporting); do
        n=$(ls "$R" | grep -c "^heap\.$p\.[0-9]*\.heap$" || :)
        [ "$n" -eq 0 ] || got=$((got + 1))
        [ "$n" -eq 0 ] || expect "$1: profiles of pid $p" "$n" -ge 2
    done
    expect "$1: reporting processes profiled" "$got" -eq "$2"
}

# expect_leak LABEL WANT PERCENT: exit 1, the heap signal, slope near WANT
expect_heap_leak() {
    expect_rc "$1" "$rc" 1
    [ "$(jget "$J" "d['runs'][-1]['signal']")" = heap ] ||
        fail "$1: not decided on the heap"
    within "$1 slope" "$(jget "$J" "d['runs'][-1]['slope_bytes_per_unit']")" "$2" "$3"
}

# The parent alone: 64 B a unit, its heap= flat under tcmalloc.
heap alone "$PROG" --leak 64
expect_heap_leak alone 64 15
expect_profiles alone 1
[ "$(jget "$J" "d['runs'][-1]['sites'][0]['file']")" = tests/targets/mallinfo_leak.c ] ||
    fail "alone: the top site is not in mallinfo_leak.c"
heap clean "$PROG"
expect_rc clean "$rc" 0

# Children: the child keeps 128 B a unit of its own, the parent none, both
# at the same rate: 64 B per unit of the two.
heap exec "$PROG" --spawn exec --child-leak 128
expect_heap_leak exec 64 15
expect_profiles exec 2
heap fork "$PROG" --spawn fork --child-leak 128
expect_heap_leak fork 64 15
expect_profiles fork 2

heap plain "$PROG" --spawn plain --child-leak 128
# (72, not 64: the child's heap is glibc's, which counts the chunk
# headers: 144 B for 128)
expect_heap_leak plain 72 10
expect_profiles plain 1
child=$(pids_reporting | grep -vx "$(pids_profiled)")
[ -n "$child" ] || fail "plain: no unprofiled child reported"
jget "$J" "d['runs'][-1]['skipped']" | grep -q "pid=$child reported stats lines without the heap profiler" ||
    fail "plain: 'skipped' does not name pid $child"
# alive to the end: its last line came in the last second of the run
last=$(grep -c " pid=$child" "$R/stats.log")
expect "plain: lines of the child (10 a second)" "$last" -ge 50
expect_in plain "$WORK/plain.err" "heap tool: pid=$child"

# A shell script that starts the program itself (no LEAKHUNT_WRAP): the
# program and the shell have profiles of their own.
heap shell sh -c '"$0" --leak 64 & wait' "$PROG"
expect_heap_leak shell 64 15
expect_profiles shell 1
expect "shell: processes profiled" "$(pids_profiled | wc -l)" -eq 2

# Python, no stats lines: per second, on RSS; its own profiles.
heap python python3 "$PYLEAK" 2000 200
expect_rc python "$rc" 1
[ "$(jget "$J" "d['unit']")" = second ] || fail "python: not per second"
n=$(ls "$R" | grep -c '^heap\.[0-9]*\.[0-9]*\.heap$' || :)
expect "python: profiles" "$n" -ge 2
echo "PASS"
