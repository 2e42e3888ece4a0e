# faults_lib.sh - helpers of the fault tests (faults_kill.sh,
# faults_broker.sh, faults_store.sh, faults_overload.sh; sourced after
# selfheal_lib.sh).  Each test starts `selfheal up --ledger` in $run and
# reads the children's counters files there while it runs.
#
# Needs: bin (selfheal), dir (the test's temporary directory), run
# ($dir/run).

pid=
sampler=

# What is left of this run: processes whose command line names its dir.
left() {
    pgrep -f -- "$run/" || true
}

cleanup() {
    [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    # A stopped store must not outlive the test stopped.
    for p in $(left); do
        kill -CONT "$p" 2>/dev/null || true
        kill -KILL "$p" 2>/dev/null || true
    done
    rm -rf "$dir"
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

# wait_until SECONDS WHAT COMMAND...: runs COMMAND every 100 ms until it
# succeeds; fails the test after SECONDS.
wait_until() {
    secs=$1
    what=$2
    shift 2
    i=0
    until "$@"; do
        i=$((i + 1))
        [ $i -lt $((secs * 10)) ] || fail "$what did not happen in $secs s"
        sleep 0.1
    done
}

# ge A B: A >= B (for wait_until)
ge() {
    [ "$1" -ge "$2" ]
}

b_finished_ge() {
    ge "$(sum_b finished)" "$1"
}

# start_up ARGS...: starts up with the ledger in $run, stdout and stderr
# to $dir/out and $dir/err, JSON to $dir/run.json.
start_up() {
    "$bin" up --ledger --dir "$run" --keep --json "$dir/run.json" "$@" \
        >"$dir/out" 2>"$dir/err" &
    pid=$!
}

# wait_up: waits for up; fails unless it exited 0.  Sets j.
wait_up() {
    st=0
    wait "$pid" || st=$?
    pid=
    if [ "$st" -ne 0 ]; then
        tail -n 30 "$dir/err" >&2
        cat "$dir/out" >&2
        fail "up exit status $st"
    fi
    j=$dir/run.json
}

# start_sampler ROLES...: every 100 ms appends "<ms since start> <role>
# <VmRSS kB>" for each role (pid from its counters file) to $dir/rss
# (under load a round may take longer: the time is the clock's).
start_sampler() {
    : >"$dir/rss"
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
    ) >>"$dir/rss" &
    sampler=$!
}

stop_sampler() {
    [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
    wait "$sampler" 2>/dev/null || true
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
        $3 > m { m = $3 } END { print m + 0 }' "$dir/rss"
}

# rss_samples ROLE FROM_MS TO_MS -> how many samples of ROLE there are
rss_samples() {
    awk -v r="$1" -v a="$2" -v b="$3" '$2 == r && $1 >= a && $1 <= b {
        n++ } END { print n + 0 }' "$dir/rss"
}

# check_ledger N: nothing lost by key and version, every produced pair
# finished, the store right; prints the figures.
check_ledger() {
    n=$1
    lost=$(jnum "$j" lost)
    dups=$(jnum "$j" duplicates)
    echo "figures: produced $(jnum "$j" produced) verified $(jnum "$j" verified)" \
        "lost $lost duplicates $dups restarts $(jtot "$j" restarts)" \
        "rpc_errors $(jtot "$j" rpc_errors) (ledger: $(jnum "$j" ledger_produced)" \
        "produced, $(jnum "$j" ledger_finished) finished;" \
        "load $(cut -d' ' -f1 /proc/loadavg))"
    grep -q '"ledger_complete": true' "$j" || fail "the ledger is incomplete"
    expect "produced" "$(jnum "$j" produced)" -ge "$n"
    expect "pairs produced by the ledger" "$(jnum "$j" ledger_produced)" -eq \
        "$(jnum "$j" produced)"
    expect "lost (by key and version)" "$lost" -eq 0
    expect "pairs finished" "$(jnum "$j" ledger_finished)" -eq \
        "$(jnum "$j" ledger_produced)"
    expect "finished pairs never produced" "$(jnum "$j" ledger_unknown)" -eq 0
    expect "unhealed" "$(jtot "$j" unhealed)" -eq 0
    expect "store keys wrong" "$(jtot "$j" store_keys_wrong)" -eq 0
    ! grep -q "Segmentation\|Aborted" "$dir/err" || fail "a child crashed"
    # Sanitizer builds: any report from a child fails the test.
    if grep -q "Sanitizer\|runtime error:" "$dir/err"; then
        grep -m 5 -A 5 "Sanitizer\|runtime error:" "$dir/err" >&2
        fail "a sanitizer reported an error in a child"
    fi
}

# rss_bounded: 1 unless LH_FAULTS_RSS=print (sanitizer builds, whose
# allocators keep freed memory in quarantine: RSS is printed, not held to
# a bound there).
rss_bounded() {
    [ "${LH_FAULTS_RSS:-}" != print ]
}
