#!/bin/sh
# pid_check.sh - abi-check --pid on running processes (tests/abicheck).
#
#   pid_check.sh LEAK_HUNT ABI_REPRO_SHARED ABI_REPRO_GOOD LIBA_V2_DIR [VALGRIND]
#
# abi-repro-shared (built against library A's v1 header, RUNPATH to v2)
# and abi-repro-good (v1 header, RUNPATH to v1) run with --calls 0 until
# killed.  Checks: the shared one by pid (a_buf and a_msg: exit 1); the
# good one run with LD_LIBRARY_PATH=LIBA_V2_DIR by pid (what it really
# loaded: exit 1) while by name it is clean (exit 0); both pids at once,
# each object once; a pid that is gone (exit 2, "no such process"); with
# VALGRIND, the shared one under memcheck, where /proc/PID/exe is
# valgrind's tool (exit 1).
set -u
lh=$1 shared=$2 good=$3 v2=$4 vg=${5:-}
pids=""
fail() {
    echo "FAIL: $*" >&2
    cleanup
    exit 1
}
cleanup() {
    for p in $pids; do
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    pids=""
}
trap cleanup EXIT

# wait_loaded PID: until library A is mapped into PID (20 s at most).
wait_loaded() {
    n=0
    while ! grep -q 'liba\.so' "/proc/$1/maps" 2>/dev/null; do
        n=$((n + 1))
        [ $n -lt 400 ] || fail "pid $1 never loaded liba.so"
        sleep 0.05
    done
}

# check EXPECTED_STATUS REGEX ARGS...: runs abi-check ARGS.
check() {
    want=$1 re=$2
    shift 2
    out=$("$lh" abi-check "$@" 2>&1)
    got=$?
    [ "$got" = "$want" ] || fail "abi-check $*: exit $got, expected $want
$out"
    printf '%s\n' "$out" | grep -Eq "$re" || fail "abi-check $*: no '$re' in
$out"
    echo "ok: abi-check $* -> $got"
}

"$shared" --calls 0 --quiet &
a=$!
pids="$pids $a"
env LD_LIBRARY_PATH="$v2" "$good" --calls 0 --quiet &
b=$!
pids="$pids $b"
wait_loaded "$a"
wait_loaded "$b"

both='struct a_buf \(header a\.h\): 2 layouts'
check 1 "$both" --pid "$a"
check 1 'exchanged between .*abi-repro-shared and .*v2/liba\.so' --pid "$a"
check 1 "$both" --pid "$b"
check 0 'no conflicting layouts' "$good"
json=$("$lh" abi-check --json --pid "$a" --pid "$b" 2>/dev/null)
[ $? = 1 ] || fail "two pids: exit status"
n=$(printf '%s' "$json" | grep -o '"path":"[^"]*v2/liba\.so[^"]*"' | wc -l)
[ "$n" = 1 ] || fail "two pids: library A v2 listed $n times in files"
echo "ok: two pids, each object once"

kill -9 "$a"
wait "$a" 2>/dev/null
check 2 "pid $a: no such process" --pid "$a"

if [ -n "$vg" ]; then
    "$vg" -q --tool=memcheck --leak-check=no "$shared" --calls 0 --quiet &
    c=$!
    pids="$pids $c"
    wait_loaded "$c"
    readlink "/proc/$c/exe" | grep -q valgrind ||
        fail "under valgrind, /proc/PID/exe should be valgrind's tool"
    check 1 "$both" --pid "$c"
fi
cleanup
exit 0
