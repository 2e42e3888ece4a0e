#!/bin/sh
# doctor.sh LEAK_HUNT STRIP OBJCOPY: leak-hunt doctor against the real tools
# of this machine, then with each of them broken for real:
#   - all well: exit 0, every line "ok";
#   - VALGRIND_LIB=/nonexistent (reproduces the story's exact message):
#     exit 2, the failed-to-start-tool line and a VALGRIND_LIB fix naming
#     the directory that holds memcheck-amd64-linux;
#   - PATH without valgrind (a bin dir with only vgdb, google-pprof and
#     perl): exit 2, "valgrind not found on PATH" and the apt-get fix;
#   - a target without debug info (a stripped copy of selfheal): exit 2 and
#     the -g fix; the same copy with a .gnu_debuglink to its debug file is
#     ok, and fails again once the debug file is gone.
# Every case is checked; the failures are counted, not fatal.
set -u
. "$(dirname "$0")/lib.sh"
lh=$1
strip=$2
objcopy=$3
lh_setup doctor-test
failed=0

check() { # check NAME EXPECTED_RC OUTFILE RC
    if [ "$4" -ne "$2" ]; then
        echo "FAIL $1: exit $4, expected $2"
        sed 's/^/    | /' "$3"
        failed=1
    fi
}
want() { # want NAME OUTFILE FIXED-STRING
    if ! grep -qF -- "$3" "$2"; then
        echo "FAIL $1: output lacks '$3'"
        sed 's/^/    | /' "$2"
        failed=1
    fi
}

# 1. all well
t0=$(date +%s%N)
in_work "$lh" doctor >"$WORK/ok.out" 2>&1
rc=$?
t1=$(date +%s%N)
echo "doctor took $(( (t1 - t0) / 1000000 )) ms"
check all_ok 0 "$WORK/ok.out" $rc
if grep -qv '^ok   ' "$WORK/ok.out"; then
    echo "FAIL all_ok: a line is not ok"
    cat "$WORK/ok.out"
    failed=1
fi
want all_ok "$WORK/ok.out" "starts memcheck"
want all_ok "$WORK/ok.out" "vgdb reached"
want all_ok "$WORK/ok.out" "heap profiler dumps a profile"
want all_ok "$WORK/ok.out" "has DWARF"

# 2. the story's broken valgrind
in_work env VALGRIND_LIB=/nonexistent "$lh" doctor >"$WORK/lib.out" 2>&1
rc=$?
check valgrind_lib 2 "$WORK/lib.out" $rc
want valgrind_lib "$WORK/lib.out" \
    "FAIL valgrind cannot start memcheck: valgrind: failed to start tool 'memcheck' for platform 'amd64-linux': No such file or directory"
want valgrind_lib "$WORK/lib.out" "the tool directory is not where the launcher looks"
want valgrind_lib "$WORK/lib.out" "     fix: VALGRIND_LIB='/nonexistent' holds no memcheck-amd64-linux"
dir=$(sed -n "s/.*or set VALGRIND_LIB=\([^ ]*\) (where.*/\1/p" "$WORK/lib.out")
if [ -z "$dir" ] || [ ! -x "$dir/memcheck-amd64-linux" ]; then
    echo "FAIL valgrind_lib: the fix names no directory holding memcheck-amd64-linux ('$dir')"
    failed=1
else
    # and the named directory really is the fix
    in_work env VALGRIND_LIB="$dir" "$lh" doctor >"$WORK/fixed.out" 2>&1
    want valgrind_lib_fixed "$WORK/fixed.out" "starts memcheck"
fi

# 3. valgrind not on PATH
mkdir "$WORK/bin"
for t in vgdb google-pprof perl; do
    p=$(command -v "$t") && ln -s "$p" "$WORK/bin/$t"
done
in_work env PATH="$WORK/bin" "$lh" doctor >"$WORK/path.out" 2>&1
rc=$?
check no_valgrind 2 "$WORK/path.out" $rc
want no_valgrind "$WORK/path.out" "FAIL valgrind not found on PATH"
want no_valgrind "$WORK/path.out" "     fix: apt-get install valgrind"
want no_valgrind "$WORK/path.out" "ok   vgdb present"

# 4. a target without debug info, then with a debuglink
selfheal=$(dirname "$lh")/selfheal
[ -x "$selfheal" ] || selfheal=$lh
"$strip" -g -o "$WORK/nodebug" "$selfheal" || exit 1
in_work "$lh" doctor -- "$WORK/nodebug" --some-arg >"$WORK/nodebug.out" 2>&1
rc=$?
check no_debug_info 2 "$WORK/nodebug.out" $rc
want no_debug_info "$WORK/nodebug.out" "FAIL debug info: $WORK/nodebug has no DWARF"
want no_debug_info "$WORK/nodebug.out" "     fix: rebuild it with -g"
if [ "$(grep -c '^FAIL' "$WORK/nodebug.out")" -ne 1 ]; then
    echo "FAIL no_debug_info: more than the debug-info check failed"
    failed=1
fi

"$objcopy" --only-keep-debug "$selfheal" "$WORK/prog.debug" || exit 1
"$strip" -g -o "$WORK/prog" "$selfheal" || exit 1
"$objcopy" --add-gnu-debuglink="$WORK/prog.debug" "$WORK/prog" || exit 1
in_work "$lh" doctor -- "$WORK/prog" >"$WORK/link.out" 2>&1
rc=$?
check debuglink 0 "$WORK/link.out" $rc
want debuglink "$WORK/link.out" "has its DWARF in $WORK/prog.debug"
rm "$WORK/prog.debug"
in_work "$lh" doctor -- "$WORK/prog" >"$WORK/gone.out" 2>&1
rc=$?
check debuglink_gone 2 "$WORK/gone.out" $rc
want debuglink_gone "$WORK/gone.out" "names (prog.debug) is not found"

# 5. usage
in_work "$lh" doctor --bogus >"$WORK/usage.out" 2>&1
rc=$?
check usage 2 "$WORK/usage.out" $rc
want usage "$WORK/usage.out" "unknown argument '--bogus'"

[ $failed -eq 0 ] && echo "doctor: all cases passed"
exit $failed
