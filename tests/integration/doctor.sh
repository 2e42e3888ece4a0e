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
set -u
lh=$1
strip=$2
objcopy=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/doctor_test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

check() { # check NAME EXPECTED_RC OUTFILE RC
    if [ "$4" -ne "$2" ]; then
        echo "FAIL $1: exit $4, expected $2"
        sed 's/^/    | /' "$3"
        fail=1
    fi
}
want() { # want NAME OUTFILE FIXED-STRING
    if ! grep -qF -- "$3" "$2"; then
        echo "FAIL $1: output lacks '$3'"
        sed 's/^/    | /' "$2"
        fail=1
    fi
}

# 1. all well
t0=$(date +%s%N)
"$lh" doctor >"$tmp/ok.out" 2>&1
rc=$?
t1=$(date +%s%N)
echo "doctor took $(( (t1 - t0) / 1000000 )) ms"
check all_ok 0 "$tmp/ok.out" $rc
if grep -qv '^ok   ' "$tmp/ok.out"; then
    echo "FAIL all_ok: a line is not ok"
    cat "$tmp/ok.out"
    fail=1
fi
want all_ok "$tmp/ok.out" "starts memcheck"
want all_ok "$tmp/ok.out" "vgdb reached"
want all_ok "$tmp/ok.out" "heap profiler dumps a profile"
want all_ok "$tmp/ok.out" "has DWARF"

# 2. the story's broken valgrind
VALGRIND_LIB=/nonexistent "$lh" doctor >"$tmp/lib.out" 2>&1
rc=$?
check valgrind_lib 2 "$tmp/lib.out" $rc
want valgrind_lib "$tmp/lib.out" \
    "FAIL valgrind cannot start memcheck: valgrind: failed to start tool 'memcheck' for platform 'amd64-linux': No such file or directory"
want valgrind_lib "$tmp/lib.out" "the tool directory is not where the launcher looks"
want valgrind_lib "$tmp/lib.out" "     fix: VALGRIND_LIB='/nonexistent' holds no memcheck-amd64-linux"
dir=$(sed -n "s/.*or set VALGRIND_LIB=\([^ ]*\) (where.*/\1/p" "$tmp/lib.out")
if [ -z "$dir" ] || [ ! -x "$dir/memcheck-amd64-linux" ]; then
    echo "FAIL valgrind_lib: the fix names no directory holding memcheck-amd64-linux ('$dir')"
    fail=1
else
    # and the named directory really is the fix
    VALGRIND_LIB=$dir "$lh" doctor >"$tmp/fixed.out" 2>&1
    want valgrind_lib_fixed "$tmp/fixed.out" "starts memcheck"
fi

# 3. valgrind not on PATH
mkdir "$tmp/bin"
for t in vgdb google-pprof perl; do
    p=$(command -v "$t") && ln -s "$p" "$tmp/bin/$t"
done
PATH=$tmp/bin "$lh" doctor >"$tmp/path.out" 2>&1
rc=$?
check no_valgrind 2 "$tmp/path.out" $rc
want no_valgrind "$tmp/path.out" "FAIL valgrind not found on PATH"
want no_valgrind "$tmp/path.out" "     fix: apt-get install valgrind"
want no_valgrind "$tmp/path.out" "ok   vgdb present"

# 4. a target without debug info, then with a debuglink
selfheal=$(dirname "$lh")/selfheal
[ -x "$selfheal" ] || selfheal=$lh
"$strip" -g -o "$tmp/nodebug" "$selfheal" || exit 1
"$lh" doctor -- "$tmp/nodebug" --some-arg >"$tmp/nodebug.out" 2>&1
rc=$?
check no_debug_info 2 "$tmp/nodebug.out" $rc
want no_debug_info "$tmp/nodebug.out" "FAIL debug info: $tmp/nodebug has no DWARF"
want no_debug_info "$tmp/nodebug.out" "     fix: rebuild it with -g"
if [ "$(grep -c '^FAIL' "$tmp/nodebug.out")" -ne 1 ]; then
    echo "FAIL no_debug_info: more than the debug-info check failed"
    fail=1
fi

"$objcopy" --only-keep-debug "$selfheal" "$tmp/prog.debug" || exit 1
"$strip" -g -o "$tmp/prog" "$selfheal" || exit 1
"$objcopy" --add-gnu-debuglink="$tmp/prog.debug" "$tmp/prog" || exit 1
"$lh" doctor -- "$tmp/prog" >"$tmp/link.out" 2>&1
rc=$?
check debuglink 0 "$tmp/link.out" $rc
want debuglink "$tmp/link.out" "has its DWARF in $tmp/prog.debug"
rm "$tmp/prog.debug"
"$lh" doctor -- "$tmp/prog" >"$tmp/gone.out" 2>&1
rc=$?
check debuglink_gone 2 "$tmp/gone.out" $rc
want debuglink_gone "$tmp/gone.out" "names (prog.debug) is not found"

# 5. usage
"$lh" doctor --bogus >"$tmp/usage.out" 2>&1
rc=$?
check usage 2 "$tmp/usage.out" $rc
want usage "$tmp/usage.out" "unknown argument '--bogus'"

[ $fail -eq 0 ] && echo "doctor: all cases passed"
exit $fail
