#!/bin/sh
# report_html.sh LEAK_HUNT TOYPROG [KEEPDIR] - leak-hunt's report, looked at
# by a browser (issue 6).
#
# 1. A hunt on toyprog with a 64 B/unit leak in `filter` (--duration 3):
#    report.json has docs/protocol.md section 8's fields and names filter; headless
#    Chromium loads report.html from disk (no network, no script) and its
#    DOM has one chart per run with long polylines, axes with units, a
#    fitted line, the breakdown with filter's bar longest, the overlay,
#    the live run's chart with a labelled band per segment (the hunt is
#    live: toyprog switches its stages under LEAKHUNT_CONTROL), a
#    runs table that links every raw file of every run (and the links
#    resolve), the allocation sites and memcheck's other errors; a
#    screenshot shows the chart colours drawn.
# 2. One clean rss run of a target whose path holds markup characters,
#    into a report directory with a space and '#': verdict clean, the name
#    shown as text (escaped), the links still resolve.
# With KEEPDIR, the reports and the screenshot are copied there to look at.
# Exit 77 (skipped) when chromium is not installed, a failure with
# LH_TEST_NO_SKIP=1 (as ci/test runs it); ci/setup installs it.
set -eu

lh=${1:?usage: report_html.sh LEAK_HUNT TOYPROG [KEEPDIR]}
toy=${2:?usage: report_html.sh LEAK_HUNT TOYPROG [KEEPDIR]}
keep=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

need_cmd python3 "to read the report"
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    # ci/test sets LH_TEST_NO_SKIP=1: there a missing browser is a failure
    # of the setup, not a test to leave out.
    [ "${LH_TEST_NO_SKIP:-0}" = 1 ] &&
        fail "chromium not installed (ci/setup installs it)"
    echo "SKIP: chromium not installed (ci/setup installs it)"
    exit 77
fi

KEEP_ON_FAILURE=1 # the reports and the browser's log, for a look
lh_setup report-test

check() {
    python3 "$here/report_check.py" "$@"
}

# browser OUT_OPTION... URL: headless Chromium, offline, bounded in time.
browser() {
    profile=$(mktemp -d "$WORK/profile.XXXXXX")
    in_work timeout -k 5 90 "$browser" --headless --no-sandbox --disable-gpu \
        --disable-quic --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --hide-scrollbars \
        --user-data-dir="$profile" "$@" 2>"$WORK/chromium.log"
}

# --- 1. a hunt that finds a leak in filter ----------------------------------
hunt="$WORK/hunt"
status=0
in_work timeout -k 10 400 "$lh" hunt --stages parse,filter,emit \
    --requires filter:parse,emit:parse --duration 3 --report "$hunt" \
    -- "$toy" --enable='{stages}' --leak filter:64 >"$WORK/hunt.out" \
    2>"$WORK/hunt.err" || status=$?
cat "$WORK/hunt.out"
[ "$status" -eq 1 ] || fail "hunt exited $status, not 1 (leak): $(tail -5 "$WORK/hunt.err")"
[ -s "$hunt/report.html" ] || fail "no report.html"
check json "$hunt" leak:filter

browser --dump-dom "file://$hunt/report.html" >"$WORK/hunt.dom" ||
    fail "chromium could not load report.html: $(tail -3 "$WORK/chromium.log")"
check dom "$hunt" "$WORK/hunt.dom" leak:filter

browser --screenshot="$WORK/hunt.png" --window-size=1400,2400 \
    "file://$hunt/report.html" >/dev/null ||
    fail "chromium could not take a screenshot: $(tail -3 "$WORK/chromium.log")"
check png "$WORK/hunt.png" 1400 2400

# --- 2. a clean run; markup in the target's name ----------------------------
odd="$WORK/toy<b>&'x\"prog"
ln -s "$toy" "$odd"
run="$WORK/run r#1"
status=0
in_work timeout -k 10 60 "$lh" run --enable parse,filter,emit --tool rss \
    --duration 2 --report "$run" -- "$odd" --enable='{stages}' \
    >"$WORK/run.out" 2>"$WORK/run.err" || status=$?
cat "$WORK/run.out"
[ "$status" -eq 0 ] || fail "clean run exited $status, not 0: $(tail -5 "$WORK/run.err")"
check json "$run" clean
browser --dump-dom "file://$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$run")/report.html" \
    >"$WORK/run.dom" ||
    fail "chromium could not load the clean report: $(tail -3 "$WORK/chromium.log")"
check dom "$run" "$WORK/run.dom" clean "$odd"

if [ -n "$keep" ]; then
    rm -rf "$keep"
    mkdir -p "$keep"
    cp -r "$hunt" "$keep/hunt"
    cp -r "$run" "$keep/run"
    cp "$WORK/hunt.png" "$keep/hunt.png"
    echo "report_html: reports and screenshot in $keep"
fi
echo "PASS"
