# selfheal_lib.sh - shared helpers of the selfheal integration tests
# (sourced).  Reads the JSON that `selfheal up --json` writes: top-level
# counters one per line, the full counter table on the "totals" line.

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# jnum FILE KEY -> the top-level number KEY
jnum() {
    v=$(sed -n "s/^  \"$2\": \([0-9.]*\),\{0,1\}\$/\1/p" "$1")
    [ -n "$v" ] || fail "no key $2 in $1"
    printf '%s\n' "$v"
}

# jtot FILE KEY -> counter KEY from the totals line
jtot() {
    v=$(sed -n '/^  "totals"/p' "$1" | grep -o "\"$2\": [0-9]*" | head -n 1 |
        cut -d' ' -f2)
    [ -n "$v" ] || fail "no counter $2 in the totals of $1"
    printf '%s\n' "$v"
}

# expect LABEL ACTUAL OP EXPECTED   (OP: -eq -ge -le -gt -lt)
expect() {
    [ "$2" "$3" "$4" ] || fail "$1: got $2, want $3 $4"
}

mkwork() {
    d=$(mktemp -d "${TMPDIR:-/tmp}/selfheal-test.XXXXXX") ||
        fail "cannot make a temporary directory"
    printf '%s\n' "$d"
}
