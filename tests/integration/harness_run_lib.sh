# harness_run_lib.sh - shared helpers of the `leak-hunt run` integration
# tests on the built-in selfheal pipeline (sourced after setting LH).
#
# Every run gets its own report directory under a fresh work directory
# WORK, and runs with TMPDIR=$WORK/tmp: `selfheal up` makes its directory
# there, so every process of the pipeline except `up` itself has WORK in
# its command line (port files, counters, the heap and memcheck wrappers'
# run directory).  `up` is found by its command line from the selfheal
# next to leak-hunt.  The exit trap kills what is left (by pid) and
# removes WORK; LH_KEEP=1 keeps it (the raw data: samples, heap profiles,
# valgrind XML and leak searches, logs).

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

note() {
    echo "# $*"
}

[ -x "$LH" ] || fail "leak-hunt not found at $LH"
SELFHEAL=$(dirname "$LH")/selfheal
[ -x "$SELFHEAL" ] || fail "selfheal not found at $SELFHEAL"
command -v python3 >/dev/null || fail "python3 is needed to read the JSON"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lh-run-test.XXXXXX") ||
    fail "cannot make a temporary directory"
mkdir "$WORK/tmp" || fail "cannot make $WORK/tmp"

# Work per run: 300k events (rss and heap decide on 10 samples a second:
# 8-20 s a run at load 5-10); leak-hunt gives memcheck 1/50 of it, and
# memcheck runs until it has 20 leak searches (two a second) however few
# the events.  An inconclusive run doubles itself (leak-hunt's --extend, 2
# by default).  600k (the figures in the issue's notes) took the four
# harness_run tests 6.5 minutes, 300k about half that, with the same
# verdicts and figures.
WORK_EVENTS=${LH_TEST_WORK:-300000}
# The rss tool's runs are the cheap ones (32-39k events/s) and the most
# exposed to the pipeline's own high-water marks (a writer or the delay
# queue's array doubling: 100-200 KiB a node, 1 B/event over 300k events,
# which took the lost leak's 6 B/event to 7.3 once): 600k for them.
RSS_WORK=${LH_TEST_RSS_WORK:-$((2 * WORK_EVENTS))}
MC_WORK=${LH_TEST_MC_WORK:-$WORK_EVENTS}

# ours -> pids of this test's pipeline: every process with WORK in its
# command line, and the `selfheal up` (from the selfheal next to leak-hunt)
# whose environment has this test's TMPDIR - not another test's.
ours() {
    pgrep -f -- "$WORK" || :
    for p in $(pgrep -f -- "^$SELFHEAL up " || :); do
        if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
            grep -qxF "TMPDIR=$WORK/tmp"; then
            echo "$p"
        fi
    done
}

cleanup() {
    for p in $(ours); do
        kill -9 "$p" 2>/dev/null || :
    done
    if [ -n "${LH_KEEP:-}" ]; then
        echo "# files kept in $WORK" >&2
        return
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# jget FILE EXPR -> the value of the Python expression EXPR on the parsed
# JSON `d` (lists and dicts printed as JSON, strings bare)
jget() {
    python3 - "$1" "$2" <<'EOF' || fail "cannot read '$2' from $1"
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"d": d})
print(v if isinstance(v, str) else json.dumps(v))
EOF
}

# within LABEL VALUE WANT PERCENT: |VALUE - WANT| <= PERCENT% of WANT
within() {
    python3 -c "import sys; v, w, p = map(float, sys.argv[1:]); sys.exit(0 if abs(v - w) <= w * p / 100 else 1)" "$2" "$3" "$4" ||
        fail "$1: $2 is not within $4% of $3"
}

# fcmp A OP B   (OP: < <= > >=) on decimal numbers
fcmp() {
    python3 -c "import sys; a, op, b = float(sys.argv[1]), sys.argv[2], float(sys.argv[3]); sys.exit(0 if {'<': a < b, '<=': a <= b, '>': a > b, '>=': a >= b}[op] else 1)" "$1" "$2" "$3"
}

# no_leftovers LABEL: no process of the pipeline is alive after a run
# (pgrep -f skips zombies: they have no command line)
no_leftovers() {
    left=$(ours)
    [ -z "$left" ] || {
        ps -o pid,ppid,pgid,stat,args -p "$(echo $left | tr ' ' ',')" >&2 || :
        fail "$1: processes left behind: $left"
    }
}

# lh_run NAME TOOL WORK [LEAK_HUNT_RUN_ARGS...]: `leak-hunt run` on the
# built-in pipeline, all stages on; exit status in $rc, the report in
# $WORK/NAME/report.json ($J), stdout and stderr in $WORK/NAME.out/.err.
# Prints the run's figures (they are the ones the design note quotes).
lh_run() {
    name=$1 tool=$2 work=$3
    shift 3
    rc=0
    TMPDIR=$WORK/tmp "$LH" run --tool "$tool" --work "$work" \
        --timeout "${LH_RUN_TIMEOUT:-400}" --report "$WORK/$name" "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    J=$WORK/$name/report.json
    [ -s "$J" ] || {
        sed 's/^/    /' "$WORK/$name.err" >&2
        fail "$name: no report.json (exit $rc)"
    }
    note "$name: exit $rc: $(cat "$WORK/$name.out")"
    r="d['runs'][-1]"
    # (a run with no slope has nulls: printed as nan)
    note "$name: $(jget "$J" "'%s signal, %.0f events in %.1f s (%.0f events/s), slope %.2f B/event, CI [%.2f, %.2f], %s (%s)' % tuple(float('nan') if v is None else v for v in ($r['signal'], $r['work'], $r['seconds'], $r['rate'], $r['slope_bytes_per_unit'], $r['ci95'][0], $r['ci95'][1], $r['verdict'], $r['reason']))")"
    no_leftovers "$name"
}

# expect_rc LABEL WANT: the last run's exit status (its stderr on failure)
expect_rc() {
    [ "$rc" -eq "$2" ] || {
        sed 's/^/    /' "$WORK/$1.err" >&2
        fail "$1: exit status $rc, want $2"
    }
}

# expect_verdict LABEL WANT: report.json's verdict and the run's
expect_verdict() {
    [ "$(jget "$J" "d['verdict']")" = "$2" ] ||
        fail "$1: verdict in report.json is not $2"
    [ "$(jget "$J" "d['runs'][-1]['verdict']")" = "$2" ] ||
        fail "$1: the run's verdict in report.json is not $2"
}

# slope -> the last run's slope, B/event
slope() {
    jget "$J" "d['runs'][-1]['slope_bytes_per_unit']"
}

# expect_slope LABEL WANT PERCENT: slope within PERCENT% of WANT, and
# inside its own interval
expect_slope() {
    s=$(slope)
    within "$1 slope" "$s" "$2" "$3"
    lo=$(jget "$J" "d['runs'][-1]['ci95'][0]")
    hi=$(jget "$J" "d['runs'][-1]['ci95'][1]")
    fcmp "$lo" '<=' "$s" && fcmp "$s" '<=' "$hi" ||
        fail "$1: slope $s outside its interval [$lo, $hi]"
}
