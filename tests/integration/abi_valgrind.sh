#!/bin/sh
# abi_valgrind.sh BINDIR - the article's valgrind blind spot, then seeing
# through it (issue 4).
#
# 1. The mismatched abi-repro (RPC framework compiled against A's v1 header,
#    linked with A v2) under valgrind with default options: definitely lost
#    0, ERROR SUMMARY 0 - and yet "still reachable" grows with the number of
#    calls.  Both variants.
# 2. The same with --show-leak-kinds=all --xml=yes: the still-reachable
#    records name the allocation site in library A (a_buf_new / a_msg_new)
#    called from the RPC framework (rpc.c).
# 3. Leak searches between batches on a running process (vgdb
#    "leak_check full reachable increased"): the second search reports the
#    increase, at the same site.
# 4. The good build under the same XML run has no still-reachable block
#    from library A.
# ABI_KEEP=1 (or LH_KEEP=1) keeps the logs and XML in
# $TMPDIR/lh-abi-valgrind.* for a look.
set -eu
. "$(dirname "$0")/lib.sh"

bin=${1:?usage: abi_valgrind.sh BINDIR}
mismatch=$bin/abi-repro-mismatch
good=$bin/abi-repro-good
[ -z "${ABI_KEEP:-}" ] || LH_KEEP=1
lh_setup abi-valgrind

# summary_field LOG "definitely lost" -> bytes (commas removed)
summary_bytes() {
    sed -n "s/^==[0-9]*== *$2: \([0-9,]*\) bytes.*/\1/p" "$1" | tr -d , |
        tail -n 1
}

error_count() {
    sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$1" |
        tail -n 1
}

for variant in 1 2; do
    # --- 1. default options: the blind spot ---------------------------
    prev=
    for n in 1000 4000; do
        log=$WORK/default-v$variant-$n.log
        in_work valgrind "$mismatch" --calls "$n" --variant "$variant" --quiet \
            >"$WORK/out" 2>"$log" || fail "abi-repro-mismatch failed under valgrind (see $log)"
        lost=$(summary_bytes "$log" "definitely lost")
        reach=$(summary_bytes "$log" "still reachable")
        errs=$(error_count "$log")
        echo "variant $variant, $n calls, default valgrind: definitely lost $lost, still reachable $reach, ERROR SUMMARY $errs"
        [ "$lost" = 0 ] || fail "variant $variant: definitely lost $lost, expected 0"
        [ "$errs" = 0 ] || fail "variant $variant: ERROR SUMMARY $errs, expected 0"
        [ -n "$reach" ] && [ "$reach" -gt 0 ] ||
            fail "variant $variant: no still-reachable memory reported"
        if [ -n "$prev" ]; then
            # 3000 more calls: at least 64 more bytes each.
            grew=$((reach - prev))
            echo "variant $variant: still reachable grew by $grew bytes over 3000 calls ($((grew / 3000)) B/call)"
            [ "$grew" -ge $((3000 * 64)) ] ||
                fail "variant $variant: still reachable grew by $grew bytes only"
        fi
        prev=$reach
    done

    # --- 2. all leak kinds, XML: the site is named ---------------------
    case $variant in
    1) site=a_buf_new ;;
    2) site=a_msg_new ;;
    esac
    xml=$WORK/full-v$variant.xml
    in_work valgrind --leak-check=full --show-leak-kinds=all --xml=yes \
        --xml-file="$xml" "$mismatch" --calls 1000 --variant "$variant" \
        --quiet >"$WORK/out" 2>&1 || fail "valgrind --xml run failed"
    # One <error> record per line-group: count still-reachable records
    # whose stack has the library-A site and a frame in the framework.
    records=$(awk -v site="$site" '
        BEGIN { RS = "</error>" }
        /<kind>Leak_StillReachable<\/kind>/ &&
        index($0, "<fn>" site "</fn>") && index($0, "<file>rpc.c</file>") &&
        index($0, "<file>a.c</file>") { n++ }
        END { print n + 0 }' "$xml")
    echo "variant $variant, --show-leak-kinds=all --xml=yes: $records still-reachable records at $site (a.c) called from rpc.c"
    [ "$records" -ge 4 ] ||
        fail "variant $variant: expected the 4 per-call sites (client request/reply, server request/reply), found $records"
    grep -q '<kind>Leak_DefinitelyLost</kind>' "$xml" &&
        fail "variant $variant: XML reports definitely lost blocks"
done

# --- 3. leak searches between batches through vgdb ----------------------
# A process that runs until SIGTERM; two searches a second apart.  The
# second reports what increased since the first.
if command -v vgdb >/dev/null 2>&1; then
    start_in_work valgrind --vgdb=yes --vgdb-prefix="$WORK/vgdb" "$mismatch" \
        --calls 0 --variant 1 --quiet >"$WORK/vgdb-run.out" \
        2>"$WORK/vgdb-run.log"
    vgpid=$!
    # Wait for the gdbserver to come up and calls to flow.
    i=0
    while [ $i -lt 100 ]; do
        if vgdb --vgdb-prefix="$WORK/vgdb" --pid=$vgpid v.info n_errs_found \
            >/dev/null 2>&1; then
            break
        fi
        sleep 0.1
        i=$((i + 1))
    done
    sleep 1
    vgdb --vgdb-prefix="$WORK/vgdb" --pid=$vgpid \
        leak_check full reachable increased >"$WORK/search1" 2>&1 ||
        fail "first vgdb leak search failed: $(cat "$WORK/search1")"
    sleep 1
    vgdb --vgdb-prefix="$WORK/vgdb" --pid=$vgpid \
        leak_check full reachable increased >"$WORK/search2" 2>&1 ||
        fail "second vgdb leak search failed: $(cat "$WORK/search2")"
    kill -TERM $vgpid
    wait $vgpid || fail "abi-repro-mismatch --calls 0 did not exit cleanly on SIGTERM"
    # "still reachable: 1,234 (+567) bytes in ..."
    inc=$(sed -n 's/.*still reachable: [0-9,]* (+\([0-9,]*\)) bytes.*/\1/p' \
        "$WORK/search2" | tr -d , | tail -n 1)
    echo "vgdb leak_check full reachable increased: still reachable +${inc:-0} bytes between searches"
    [ -n "$inc" ] && [ "$inc" -gt 0 ] ||
        fail "second search shows no reachable increase: $(cat "$WORK/search2")"
    grep -q 'a_buf_new' "$WORK/search2" ||
        fail "second search does not name a_buf_new"
    grep -q 'rpc.c' "$WORK/search2" ||
        fail "second search does not name the framework (rpc.c)"
    grep -q 'definitely lost: 0 (+0) bytes' "$WORK/search2" ||
        fail "second search reports definitely lost bytes"
else
    fail "vgdb not found (it ships with valgrind)"
fi

# --- 4. the good build keeps nothing of library A -----------------------
xml=$WORK/good.xml
in_work valgrind --leak-check=full --show-leak-kinds=all --xml=yes \
    --xml-file="$xml" "$good" --calls 1000 --variant 1 --quiet \
    >"$WORK/out" 2>&1 || fail "good build failed under valgrind"
if grep -q '<fn>a_buf_new</fn>' "$xml"; then
    fail "good build leaves a_buf_new blocks behind"
fi
echo "good build: no block from library A left at exit"
echo "PASS"
