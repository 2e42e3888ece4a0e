# harness_lib.sh - shared helpers of the leak-hunt integration tests on the
# example target toyprog (sourced after setting LH and TOY).
#
# Every test gets a work directory and a unique marker word (MARK) that it
# passes to toyprog as `--tag $MARK`; a forked child of toyprog shares the
# argv, so `pgrep -f $MARK` finds every process a test started.  The exit
# trap kills what is left (by pid) and removes the work directory, so a
# failing test leaves nothing behind either; `no_leftovers` is the
# assertion that leak-hunt itself left nothing.  LH_KEEP=1 in the
# environment keeps the work directory for a look after a failure.

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

note() {
    echo "# $*"
}

[ -x "$LH" ] || fail "leak-hunt not found at $LH"
[ -x "$TOY" ] || fail "toyprog not found at $TOY"
command -v python3 >/dev/null || fail "python3 is needed to read the JSON"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lh-harness-test.XXXXXX") ||
    fail "cannot make a temporary directory"
MARK="lhtest$$x$(date +%s)"

cleanup() {
    for p in $(pgrep -f -- "$MARK" 2>/dev/null); do
        kill -9 "$p" 2>/dev/null || :
    done
    if [ -n "${LH_KEEP:-}" ]; then # debugging: keep the files
        echo "# files kept in $WORK" >&2
        return
    fi
    chmod -R u+w "$WORK" 2>/dev/null || :
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# now -> seconds since the epoch, with fractions
now() {
    date +%s.%N
}

# elapsed START -> seconds since START (from now)
elapsed() {
    python3 -c "import sys, time; print('%.2f' % (time.time() - float(sys.argv[1])))" "$1"
}

# fcmp A OP B   (OP: < <= > >=) on decimal numbers
fcmp() {
    python3 -c "import sys; a, op, b = float(sys.argv[1]), sys.argv[2], float(sys.argv[3]); sys.exit(0 if {'<': a < b, '<=': a <= b, '>': a > b, '>=': a >= b}[op] else 1)" "$1" "$2" "$3"
}

# jq_py FILE EXPR -> the value of the Python expression EXPR on the parsed
# JSON `d` (lists and dicts printed as JSON, strings bare)
jget() {
    python3 - "$1" "$2" <<'EOF' || fail "cannot read '$2' from $1"
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"d": d})
print(v if isinstance(v, str) else json.dumps(v))
EOF
}

# expect_rc LABEL ACTUAL WANT
expect_rc() {
    [ "$2" -eq "$3" ] || fail "$1: exit status $2, want $3"
}

# expect_in LABEL FILE TEXT: FILE contains TEXT (fixed string)
expect_in() {
    grep -qF -- "$3" "$2" || {
        sed 's/^/    /' "$2" >&2
        fail "$1: '$3' not in $(basename "$2")"
    }
}

# within LABEL VALUE WANT PERCENT: |VALUE - WANT| <= PERCENT% of WANT
within() {
    python3 -c "import sys; v, w, p = map(float, sys.argv[1:]); sys.exit(0 if abs(v - w) <= w * p / 100 else 1)" "$2" "$3" "$4" ||
        fail "$1: $2 is not within $4% of $3"
}

# no_leftovers LABEL: no process of this test is alive (pgrep -f skips
# zombies, which have no command line; those are the reaper's business)
no_leftovers() {
    left=$(pgrep -f -- "$MARK" || :)
    [ -z "$left" ] || {
        ps -o pid,ppid,pgid,stat,args -p "$(echo $left | tr ' ' ',')" >&2 || :
        fail "$1: processes left behind: $left"
    }
}

# toy_pids: toyprog processes of this test (not leak-hunt, whose command
# line holds the marker too), oldest first
toy_pids() {
    pgrep -f -- "^[^ ]*toyprog .*$MARK" | sort -n || :
}

# wait_started TIMEOUT_S: waits until toyprog runs
wait_started() {
    i=0
    while [ -z "$(toy_pids)" ]; do
        i=$((i + 1))
        [ "$i" -le $(($1 * 10)) ] || fail "the target did not start in $1 s"
        sleep 0.1
    done
}

# A target that records that it was started, then runs toyprog: for the
# cases where leak-hunt must refuse before starting anything.
mk_recording_target() {
    cat >"$WORK/target.sh" <<EOF
#!/bin/sh
: >"$WORK/started"
exec "$TOY" "\$@"
EOF
    chmod +x "$WORK/target.sh"
}

expect_not_started() {
    [ ! -e "$WORK/started" ] || fail "$1: the target was started"
}
