#!/bin/sh
# A report directory (or --json file) that cannot be written is refused
# before anything runs: exit 2, one clear message naming the path, and the
# target is never started.  Cases: a path under a regular file, a regular
# file as the directory, a missing parent, a read-only directory (only when
# not root: root writes anyway), a directory on a file system that refuses
# it (/proc), and --json under a regular file.  And a report directory
# removed while the run goes on: exit 2 at the end, naming what was lost.
# And a report directory used before: its runs/ is emptied first.
#
# usage: harness_report_dir.sh LEAK_HUNT TOYPROG
set -eu
. "$(dirname "$0")/lib.sh"
toy_setup "$@"
mk_recording_target
: >"$WORK/afile"

# refused NAME PATH_IN_MESSAGE LEAK_HUNT_OUTPUT_OPTIONS...
refused() {
    name=$1 path=$2
    shift 2
    rc=0
    in_work "$LH" run --enable parse --duration 2 "$@" -- "$WORK/target.sh" \
        --enable={stages} \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    note "$name: exit $rc: $(cat "$WORK/$name.err")"
    expect_rc "$name" "$rc" 2
    expect_not_started "$name"
    [ "$(wc -l <"$WORK/$name.err")" -eq 1 ] ||
        fail "$name: the message is not one line"
    expect_in "$name" "$WORK/$name.err" "leak-hunt: cannot"
    expect_in "$name" "$WORK/$name.err" "$path"
    no_leftovers "$name"
}

refused under-file "$WORK/afile/report" --report "$WORK/afile/report"
refused is-file "$WORK/afile" --report "$WORK/afile"
refused no-parent "$WORK/none/report" --report "$WORK/none/report"
refused proc /proc/leak-hunt-report --report /proc/leak-hunt-report
refused json-under-file "$WORK/afile/r.json" --json "$WORK/afile/r.json"
if [ "$(id -u)" -ne 0 ]; then
    mkdir "$WORK/ro"
    chmod 555 "$WORK/ro"
    refused read-only "$WORK/ro/report" --report "$WORK/ro/report"
    mkdir "$WORK/ro2"
    chmod 555 "$WORK/ro2"
    refused read-only-existing "$WORK/ro2" --report "$WORK/ro2"
else
    note "read-only directory: skipped (running as root, which writes anyway)"
fi
# An existing --json file that cannot be written is not touched either.
echo keep >"$WORK/old.json"
chmod 444 "$WORK/old.json"
if [ "$(id -u)" -ne 0 ]; then
    refused json-read-only "$WORK/old.json" --json "$WORK/old.json"
fi
[ "$(cat "$WORK/old.json")" = keep ] || fail "old.json was changed"

# The probe leaves no trace: a good --json path that is not written (the
# run is refused for another reason) does not exist afterwards.
refused probe-clean "$WORK/afile" --json "$WORK/new.json" --report "$WORK/afile"
[ ! -e "$WORK/new.json" ] || fail "the --json probe left $WORK/new.json"
# A report directory used before: runs/ is leak-hunt's own and is emptied
# first (a run reads every valgrind XML and heap profile in its folder, so
# the last command's files would mix into the new figures); what else the
# directory holds is left alone.
mkdir -p "$WORK/reused/runs/01-rss-parse" "$WORK/reused/runs/07-heap-parse"
echo "<valgrindoutput" >"$WORK/reused/runs/01-rss-parse/memcheck.1.xml"
echo junk >"$WORK/reused/runs/07-heap-parse/heap.0001.heap"
echo mine >"$WORK/reused/notes.txt"
rc=0
in_work "$LH" run --enable parse --duration 2 --report "$WORK/reused" -- \
    "$TOY" --enable={stages} \
    >"$WORK/reused.out" 2>"$WORK/reused.err" || rc=$?
note "reused: exit $rc, $(cat "$WORK/reused.out")"
[ "$rc" -le 1 ] || { cat "$WORK/reused.err" >&2; fail "reused: exit $rc"; }
[ ! -e "$WORK/reused/runs/01-rss-parse/memcheck.1.xml" ] ||
    fail "reused: the old run's valgrind XML is still in runs/01-rss-parse"
[ ! -e "$WORK/reused/runs/07-heap-parse" ] ||
    fail "reused: the old runs/07-heap-parse is still there"
[ -s "$WORK/reused/runs/01-rss-parse/samples.csv" ] ||
    fail "reused: the new run wrote no runs/01-rss-parse/samples.csv"
[ "$(cat "$WORK/reused/notes.txt")" = mine ] ||
    fail "reused: a file of the user's outside runs/ was touched"
no_leftovers reused

# The directory disappears during the run: the verdict is still printed,
# the lost report is named, exit 2, nothing left behind.
start_in_work "$LH" run --enable parse --duration 3 --report "$WORK/gone" -- \
    "$TOY" --enable={stages} \
    >"$WORK/gone.out" 2>"$WORK/gone.err"
pid=$!
wait_started 10
sleep 1
rm -rf "$WORK/gone"
rc=0
wait "$pid" || rc=$?
note "gone: exit $rc, $(cat "$WORK/gone.out")"
expect_rc gone "$rc" 2
# (any verdict: under ASan the quarantine makes even clean toyprog grow)
expect_in gone "$WORK/gone.out" "; 1 run"
expect_in gone "$WORK/gone.err" "cannot write $WORK/gone/report.json"
no_leftovers gone
echo "PASS"
