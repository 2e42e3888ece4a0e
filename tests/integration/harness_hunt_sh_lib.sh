# harness_hunt_sh_lib.sh - shared helpers of the `leak-hunt hunt` tests on
# the built-in selfheal pipeline (sourced after setting LH and SRC, the
# source root).
#
# leak-hunt runs from the test's own work directory, and every process of
# the pipeline (up, broker, produce, store, A, the B nodes, valgrind and the
# heap wrapper) inherits it as its working directory: /proc/*/cwd finds
# exactly what this test started, whatever else runs on the machine.  The
# exit trap kills what is left; `no_leftovers` asserts that leak-hunt left
# nothing.  LH_KEEP=1 keeps the work directory (reports, raw data).

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

note() {
    echo "# $*"
}

[ -x "$LH" ] || fail "leak-hunt not found at $LH"
[ -f "$SRC/repro/rpc/rpc.c" ] || fail "source root $SRC has no repro/rpc/rpc.c"
command -v python3 >/dev/null || fail "python3 is needed to read the JSON"

WORK=$(cd "$(mktemp -d "${TMPDIR:-/tmp}/lh-hunt-test.XXXXXX")" && pwd -P) ||
    fail "cannot make a temporary directory"

# mine -> pids of the processes whose working directory is WORK
mine() {
    for d in /proc/[0-9]*; do
        if [ "$(readlink "$d/cwd" 2>/dev/null)" = "$WORK" ]; then
            echo "${d#/proc/}"
        fi
    done
}

cleanup() {
    for p in $(mine); do
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

no_leftovers() {
    left=$(mine)
    [ -z "$left" ] || {
        ps -o pid,ppid,stat,args -p "$(echo $left | tr ' ' ',')" >&2 || :
        fail "$1: processes left behind: $left"
    }
}

# hunt NAME ARGS...: `leak-hunt hunt ARGS` with --report WORK/NAME and
# --json WORK/NAME.json; stdout in WORK/NAME.out, stderr in WORK/NAME.err;
# RC is its exit status.  Prints the verdict line and the time taken.
hunt() {
    name=$1
    shift
    t0=$(date +%s)
    RC=0
    (cd "$WORK" && exec "$LH" hunt --report "$WORK/$name" \
        --json "$WORK/$name.json" "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err") || RC=$?
    note "$name: exit $RC after $(($(date +%s) - t0)) s: $(cat "$WORK/$name.out")"
    no_leftovers "$name"
}

# why NAME: what leak-hunt printed, for a failure message
why() {
    sed 's/^/    /' "$WORK/$1.out" "$WORK/$1.err" >&2
}

# jget NAME EXPR -> the Python expression EXPR on report d (WORK/NAME.json;
# lists and dicts printed as JSON, strings bare)
jget() {
    python3 - "$WORK/$1.json" "$2" <<'EOF' || fail "cannot read '$2' from $1.json"
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"d": d})
print(v if isinstance(v, str) else json.dumps(v))
EOF
}

# expect NAME WHAT GOT WANT
expect() {
    [ "$3" = "$4" ] || {
        why "$1"
        fail "$1: $2 is '$3', want '$4'"
    }
}

# expect_rc NAME WANT
expect_rc() {
    expect "$1" "exit status" "$RC" "$2"
}

# verdict_starts NAME TEXT: the verdict line on stdout begins with TEXT
verdict_starts() {
    case "$(head -n 1 "$WORK/$1.out")" in
    "$2"*) ;;
    *)
        why "$1"
        fail "$1: the verdict does not begin with '$2'"
        ;;
    esac
}
