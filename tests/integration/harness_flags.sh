#!/bin/sh
# Bad command lines: every one is a one-line error on stderr naming what is
# wrong, nothing on stdout, exit 2, and the target never started.  Walks
# through unknown flags and commands, missing values, out-of-range and
# non-numeric numbers, unknown tools, strategies and stages, options that
# only apply to the built-in pipeline, and missing required options.
#
# usage: harness_flags.sh LEAK_HUNT TOYPROG
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"
mk_recording_target
T="-- $WORK/target.sh --enable={stages}"
n=0

# bad TEXT ARGS...: leak-hunt ARGS fails with a line containing TEXT
bad() {
    text=$1
    shift
    n=$((n + 1))
    rc=0
    in_work "$LH" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
    note "exit $rc: $(cat "$WORK/err")"
    expect_rc "leak-hunt $*" "$rc" 2
    [ "$(wc -l <"$WORK/err")" -eq 1 ] ||
        fail "leak-hunt $*: the error is not one line"
    [ ! -s "$WORK/out" ] || fail "leak-hunt $*: wrote to stdout"
    expect_in "leak-hunt $*" "$WORK/err" "$text"
    expect_not_started "leak-hunt $*"
}

bad "unknown command 'frob'" frob
bad "unknown option '--bogus'" run --bogus --enable parse $T
bad "unknown option '--bogus'" hunt --stages parse --bogus 1 $T
bad "unexpected argument 'stray'" run stray --enable parse $T
bad "--work needs a value" run --enable parse --work
bad "--json needs a value" hunt --stages parse --json
bad "--work: out of range: '-5'" run --enable parse --work -5 $T
bad "--work: out of range: '1e13'" run --enable parse --work=1e13 $T
bad "--work: not a number: 'abc'" run --enable parse --work abc $T
bad "--duration: out of range: '0'" run --enable parse --duration 0 $T
bad "--duration: not a number: '--timeout'" \
    run --enable parse --duration --timeout 5 $T
bad "--timeout: out of range: '0'" run --enable parse --timeout 0 $T
bad "--threshold: out of range: '-1'" run --enable parse --threshold -1 $T
bad "--extend: out of range: '7'" hunt --stages parse --extend 7 $T
bad "--nodes: out of range: '0'" hunt --stages parse --nodes 0 $T
bad "--nodes: out of range: '65'" run --enable parse --nodes 65 $T
bad "unknown tool 'nosuch'" run --enable parse --tool nosuch $T
bad "unknown tool 'nosuch'" hunt --stages parse --tool=nosuch $T
bad "unknown strategy 'nosuch'" hunt --stages parse --strategy nosuch $T
bad "unknown stage 'nosuch'" \
    run --stages parse,filter,emit --enable parse,nosuch $T
bad "--inject only applies to the built-in pipeline" \
    run --enable parse --inject parse:lost:64 $T
bad "--inject only applies to the built-in pipeline" \
    hunt --stages parse --inject parse:lost:64 $T
bad "--scenario only applies to the built-in pipeline" \
    run --enable parse --scenario abi-mismatch $T
bad "--stages LIST is required" hunt --duration 2 $T
bad "bad --stages list 'parse,,emit'" hunt --stages parse,,emit $T
bad "bad --requires entry 'emit:nosuch'" \
    hunt --stages parse,emit --requires emit:nosuch $T
bad "no target command after '--'" run --enable parse --
# options of one command are refused by the others, not ignored
bad "--strategy applies to 'leak-hunt hunt' only" \
    run --enable parse --strategy linear $T
bad "--requires applies to 'leak-hunt hunt' only" \
    soak --stages parse --requires parse:parse $T
bad "--budget applies to 'leak-hunt soak' only" \
    hunt --stages parse --budget 2 $T
bad "--enable does not apply to hunt" hunt --stages parse --enable parse $T
# The built-in pipeline knows its stages: checked when selfheal is built.
if [ -x "$(dirname "$LH")/selfheal" ]; then
    bad "unknown stage 'nosuch'" run --enable forward,nosuch
    bad "unknown stage 'nosuch'" run --enable nosuch --tool rss
    bad "unknown stage 'nosuch'" hunt --stages forward,nosuch
    # a subset of the built-in stages takes the requirements within it,
    # and one that leaves a stage's requirement out is refused
    bad "stage hash of the built-in pipeline needs forward: add it" \
        hunt --stages hash,rpc
    bad "stage rpc of the built-in pipeline needs verify: add it" \
        hunt --stages forward,rpc
elif [ "${LH_TEST_NO_SKIP:-0}" = 1 ]; then
    fail "selfheal is not built beside $LH"
else
    note "selfheal not built: built-in stage names not checked"
fi
note "$n bad command lines refused"
no_leftovers flags
echo "PASS"
