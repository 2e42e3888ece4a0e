# faults_lib.sh - helpers of the fault tests (faults_kill.sh,
# faults_broker.sh, faults_store.sh, faults_overload.sh; sourced after
# lib.sh).  Each test starts `selfheal up --ledger` in $run and reads the
# children's counters files there while it runs.
#
# Needs: bin (selfheal).

pid=
sampler=

# faults_setup: the work directory (lib.sh) and the run directory in it
faults_setup() {
    lh_setup selfheal-test
    run=$WORK/run
}

# at exit: the sampler loop is this shell's own (lib.sh's cleanup then
# kills up and its children)
on_cleanup() {
    stop_sampler
}

# counter FILE NAME -> the value in a counters (or status) file, or empty
counter() {
    sed -n "s/^$2 //p" "$1" 2>/dev/null || true
}

# sum_b NAME -> counter NAME summed over the B nodes' counters files
sum_b() {
    cat "$run"/b*.cnt 2>/dev/null | awk -v k="$1" '$1 == k { s += $2 }
        END { print s + 0 }'
}

# counter_ge FILE NAME MIN: counter NAME in FILE is there and >= MIN (for
# wait_until)
counter_ge() {
    v=$(counter "$1" "$2")
    [ -n "$v" ] && [ "$v" -ge "$3" ]
}

b_finished_ge() {
    [ "$(sum_b finished)" -ge "$1" ]
}

# start_up ARGS...: starts up with the ledger in $run, stdout and stderr
# to $WORK/out and $WORK/err, JSON to $WORK/run.json.
start_up() {
    start_in_work "$bin" up --ledger --dir "$run" --keep \
        --json "$WORK/run.json" "$@" >"$WORK/out" 2>"$WORK/err"
    pid=$!
}

# wait_up: waits for up; fails unless it exited 0.  Sets j.
wait_up() {
    st=0
    wait "$pid" || st=$?
    pid=
    if [ "$st" -ne 0 ]; then
        tail -n 30 "$WORK/err" >&2
        cat "$WORK/out" >&2
        fail "up exit status $st"
    fi
    j=$WORK/run.json
}

# start_sampler ROLES...: every 100 ms appends "<ms since start> <role>
# <VmRSS kB>" for each role (pid from its counters file) to $WORK/rss
# (under load a round may take longer: the time is the clock's).
start_sampler() {
    : >"$WORK/rss"
    t0=$(date +%s%3N)
    (
        while :; do
            t=$(($(date +%s%3N) - t0))
            for r in "$@"; do
                p=$(counter "$run/$r.cnt" pid)
                [ -n "$p" ] || continue
                kb=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' \
                    "/proc/$p/status" 2>/dev/null || true)
                [ -n "$kb" ] && echo "$t $r $kb"
            done
            sleep 0.1
        done
    ) >>"$WORK/rss" &
    sampler=$!
}

stop_sampler() {
    [ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true
    [ -z "$sampler" ] || wait "$sampler" 2>/dev/null || true
    sampler=
}

# now_ms -> the sampler's clock: ms since it started
now_ms() {
    echo $(($(date +%s%3N) - t0))
}

# rss_peak ROLE FROM_MS TO_MS -> the largest RSS (kB) of ROLE sampled in
# [FROM_MS, TO_MS] (0 when none)
rss_peak() {
    awk -v r="$1" -v a="$2" -v b="$3" '$2 == r && $1 >= a && $1 <= b &&
        $3 > m { m = $3 } END { print m + 0 }' "$WORK/rss"
}

# rss_samples ROLE FROM_MS TO_MS -> how many samples of ROLE there are
rss_samples() {
    awk -v r="$1" -v a="$2" -v b="$3" '$2 == r && $1 >= a && $1 <= b {
        n++ } END { print n + 0 }' "$WORK/rss"
}

# check_ledger N [VICTIM]: nothing lost by key and version, every
# produced pair finished, the store right, no child crashed; prints the
# figures.  With VICTIM (a process killed mid-run): it was started again,
# and every produced event was verified at least once.
check_ledger() {
    n=$1
    lost=$(jnum "$j" lost)
    dups=$(jnum "$j" duplicates)
    echo "figures: produced $(jnum "$j" produced) verified $(jnum "$j" verified)" \
        "lost $lost duplicates $dups restarts $(jtot "$j" restarts)" \
        "rpc_timeouts $(jtot "$j" rpc_timeouts)" \
        "rpc_error_answers $(jtot "$j" rpc_error_answers) (ledger: $(jnum "$j" ledger_produced)" \
        "produced, $(jnum "$j" ledger_finished) finished," \
        "$(jnum "$j" ledger_events) records in $(jnum "$j" ledger_files) files;" \
        "load $(cut -d' ' -f1 /proc/loadavg))"
    grep -E "^  (ledger|other)" "$WORK/out" || :
    grep -q '"ledger_complete": true' "$j" || fail "the ledger is incomplete"
    if [ -n "${2:-}" ]; then
        grep -q "\"role\": \"$2\", \"restarts\": [1-9]" "$j" ||
            fail "$2 was not restarted"
        expect "verified at least once" "$(jnum "$j" verified)" -ge \
            "$(jnum "$j" produced)"
    fi
    expect "produced" "$(jnum "$j" produced)" -ge "$n"
    expect "pairs produced by the ledger" "$(jnum "$j" ledger_produced)" -eq \
        "$(jnum "$j" produced)"
    expect "lost (by key and version)" "$lost" -eq 0
    expect "pairs finished" "$(jnum "$j" ledger_finished)" -eq \
        "$(jnum "$j" ledger_produced)"
    expect "finished pairs never produced" "$(jnum "$j" ledger_unknown)" -eq 0
    expect "unhealed" "$(jtot "$j" unhealed)" -eq 0
    expect "store keys wrong" "$(jtot "$j" store_keys_wrong)" -eq 0
    ! grep -q "Segmentation\|Aborted" "$WORK/err" || fail "a child crashed"
    # Sanitizer builds: any report from a child fails the test.
    if grep -q "Sanitizer\|runtime error:" "$WORK/err"; then
        grep -m 5 -A 5 "Sanitizer\|runtime error:" "$WORK/err" >&2
        fail "a sanitizer reported an error in a child"
    fi
}

# rss_bounded: 1 unless LH_FAULTS_RSS=print (sanitizer builds, whose
# allocators keep freed memory in quarantine: RSS is printed, not held to
# a bound there).
rss_bounded() {
    [ "${LH_FAULTS_RSS:-}" != print ]
}
