#!/bin/sh
# selfheal_inject.sh SELFHEAL [EVENTS] - planted leaks, measured the way
# the harness measures them: from the B nodes' stats lines (LEAKHUNT_STATS:
# work= events finished, heap= live heap bytes).
#   lost      (verify:lost:2048:2)      grows ~1024 B per event
#   reachable (rpc:reachable:1000)      grows ~1000 B per event
#   cache     (enqueue:cache:1024)      grows while the cache fills (4096
#                                       blocks per node), then levels off
#   abi-mismatch (--scenario abi-mismatch, all stages): the B nodes run
#                                       with library A v2 under an RPC
#                                       framework built against v1, so the
#                                       rpc stage leaks (hundreds of B per
#                                       event); without rpc in --stages the
#                                       same scenario is flat (issue 4)
# Slopes are per node (see slopes below).
set -eu
. "$(dirname "$0")/lib.sh"

bin=${1:?usage: selfheal_inject.sh SELFHEAL [EVENTS]}
n=${2:-36000}
lh_setup selfheal-test

# slopes STATSFILE -> one line per B node: "role lines heap_first heap_last
# slope": the least-squares slope of heap= against work= over the node's
# lines from 40% of its final work on, leaving out lines with nothing in
# flight (queue=0: the exit line, after the inbound buffers are gone).
slopes() {
    awk '
    {
        role = ""; w = -1; h = -1; q = -1
        for (i = 1; i <= NF; i++) {
            split($i, kv, "=")
            if (kv[1] == "role") role = kv[2]
            if (kv[1] == "work") w = kv[2] + 0
            if (kv[1] == "heap") h = kv[2] + 0
            if (kv[1] == "queue") q = kv[2] + 0
        }
        if (role !~ /^b/ || h < 0) next
        n[role]++; W[role, n[role]] = w; H[role, n[role]] = h
        Q[role, n[role]] = q
        if (w > fw[role]) fw[role] = w
    }
    END {
        for (r in n) {
            c = 0; sw = 0; sh = 0; sww = 0; swh = 0; h1 = -1
            for (k = 1; k <= n[r]; k++) {
                if (W[r, k] < 0.4 * fw[r] || Q[r, k] == 0) continue
                if (h1 < 0) h1 = H[r, k]
                hl = H[r, k]
                c++; sw += W[r, k]; sh += H[r, k]
                sww += W[r, k] * W[r, k]; swh += W[r, k] * H[r, k]
            }
            d = c * sww - sw * sw
            if (c < 5 || d == 0) { print r, c, 0, 0, "nan"; continue }
            printf "%s %d %d %d %.1f\n", r, c, h1, hl, (c * swh - sw * sh) / d
        }
    }' "$1"
}

# run NAME UP-ARGS...: one `up` run with the stats lines in NAME.stats and
# the slopes in NAME.slopes
run() {
    name=$1
    shift
    rm -f "$WORK/$name.stats"
    in_work env LEAKHUNT_STATS="$WORK/$name.stats" "$bin" up --events "$n" \
        --rate 12000 --delay-ms 200 "$@" --json "$WORK/$name.json" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" ||
        { cat "$WORK/$name.err" >&2; fail "$name: up failed"; }
    # (produce may overshoot --events by a few when --rate is set)
    p=$(jnum "$WORK/$name.json" produced)
    expect "$name produced" "$p" -ge "$n"
    expect "$name verified" "$(jnum "$WORK/$name.json" verified)" -eq "$p"
    slopes "$WORK/$name.stats" >"$WORK/$name.slopes"
    [ "$(wc -l <"$WORK/$name.slopes")" -eq 3 ] ||
        fail "$name: want stats of 3 B nodes, got: $(cat "$WORK/$name.slopes")"
    echo "$name ($*): role lines heap_first heap_last bytes/event"
    sed 's/^/  /' "$WORK/$name.slopes"
}

# in_range SLOPESFILE LOW HIGH: every node's slope within [LOW, HIGH]
in_range() {
    awk -v lo="$2" -v hi="$3" '$5 == "nan" || $5 < lo || $5 > hi { bad = 1 }
        END { exit bad }' "$1" || fail "$1: slope outside [$2, $3]"
}

run lost --inject verify:lost:2048:2
in_range "$WORK/lost.slopes" 800 1300
run reachable --inject rpc:reachable:1000
in_range "$WORK/reachable.slopes" 780 1250
run cache --inject enqueue:cache:1024
in_range "$WORK/cache.slopes" -100 100
# ... and it did grow while filling: each node holds about 4096 x 1 KiB.
awk '{ if ($4 < 4000000) bad = 1 } END { exit bad }' "$WORK/cache.slopes" ||
    fail "cache: a node's heap stayed under 4 MB"
# The story's bug in the pipeline: every stage on, rpc leaks through the
# ABI mismatch; the same scenario without rpc does not.
run abi --scenario abi-mismatch
in_range "$WORK/abi.slopes" 100 1000
run abi_norpc --scenario abi-mismatch --stages forward,hash,enqueue,verify
in_range "$WORK/abi_norpc.slopes" -50 50
echo "PASS"
