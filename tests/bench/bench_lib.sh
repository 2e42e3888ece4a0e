# bench_lib.sh - sourced by the bench_*.sh scripts (POSIX sh).
#
# Environment the scripts read (ci/bench sets them):
#   LH_BENCH_BIN    directory with leak-hunt and selfheal (default build/bin)
#   LH_BENCH_QUICK  1: a smoke run with small budgets and one repetition
#   LH_BENCH_OUT    directory for the reports (default: a temporary one)
# report.json is read with python3's json module (no JSON by hand).

bench_root=$(cd "$(dirname "$0")/../.." && pwd)
bench_bin=${LH_BENCH_BIN:-$bench_root/build/bin}
bench_quick=${LH_BENCH_QUICK:-0}
leak_hunt=$bench_bin/leak-hunt
[ -x "$leak_hunt" ] || { echo "$0: no $leak_hunt (build first: ci/build)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "$0: needs python3" >&2; exit 2; }

if [ -n "${LH_BENCH_OUT:-}" ]; then
    bench_out=$LH_BENCH_OUT
    mkdir -p "$bench_out"
    bench_own_out=0
else
    bench_out=$(mktemp -d "${TMPDIR:-/tmp}/lh-bench.XXXXXX")
    bench_own_out=1
fi
bench_cleanup() {
    [ "$bench_own_out" = 1 ] && rm -rf "$bench_out"
    return 0
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# jget FILE EXPR: prints the python expression EXPR over d = report.json
# ("?" when the file is missing or unreadable).
jget() {
    python3 - "$1" "$2" <<'EOF' 2>/dev/null || echo "?"
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    print("?")
    sys.exit(0)
v = eval(sys.argv[2], {"d": d})
print(",".join(map(str, v)) if isinstance(v, list) else v)
EOF
}

# median V...: the median of the numbers given ("?" values are skipped).
median() {
    python3 - "$@" <<'EOF'
import statistics, sys
v = [float(x) for x in sys.argv[1:] if x not in ("?", "", "None", "nan")]
print("%.6g" % statistics.median(v) if v else "?")
EOF
}

# calc EXPR: a python arithmetic expression; "?" when it cannot be done.
calc() {
    python3 -c "print('%.6g' % ($1))" 2>/dev/null || echo "?"
}

# quick_or QUICK FULL: QUICK in a quick run (LH_BENCH_QUICK=1), else FULL
quick_or() {
    if [ "$bench_quick" = 1 ]; then echo "$1"; else echo "$2"; fi
}

loadavg() {
    cut -d' ' -f1-3 /proc/loadavg
}
