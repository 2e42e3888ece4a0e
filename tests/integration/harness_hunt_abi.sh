#!/bin/sh
# harness_hunt_abi.sh - the story's bug: `leak-hunt hunt --scenario
# abi-mismatch` (B nodes on library A v2, the RPC framework built against
# v1's headers) names rpc and exits 1 (issue 6, "Done means"):
#   - the top site (heap tool) is library A's allocation, a_alloc or
#     a_buf_new in repro/liba/v2/a.c, called from the RPC framework: its
#     caller is a function of repro/rpc/rpc.c; the site is charged to
#     stage rpc (the first stage file on its stack);
#   - memcheck saw the growth only as reachable growth between its leak
#     searches, nothing definitely lost (valgrind's default report is
#     silent: the story's blind spot);
#   - the processes of rpc's configuration, checked by pid while they ran,
#     hold library A's a_buf and a_msg in two layouts each (the B nodes'
#     selfheal built against v1's header, liba.so.1 v2), exchanged across
#     the two objects and marked as on the leak's allocation stacks
#     (report.json abi_conflicts; the verdict names a_buf);
#   - the verdict paragraph says all of it.
# auto: the full set, then halving (4 rss runs: rpc is the last stage),
# rss on the leak-free neighbour again (forward..verify), the heap tool on
# the full set (the confirmation and the sites), and
# memcheck on it until 4 leak searches (asked for the kind only).
# Work budget per configuration: HUNT_WORK events (default 400000; runs
# stop once decided).
#
# usage: harness_hunt_abi.sh LEAK_HUNT SOURCE_ROOT
set -eu
. "$(dirname "$0")/lib.sh"
hunt_setup "$@"

# --timeout 150 bounds each run (a hung pipeline fails in minutes, not
# at the 300 s default of each run)
lh_hunt abi --scenario abi-mismatch --work "$WORK_EVENTS" --timeout 150
expect_rc abi "$rc" 1
hexpect abi verdict "$(hget abi "d['verdict']")" leak
hexpect abi culprit "$(hget abi "d['culprit']")" '["rpc"]'
hexpect abi "stages the breakdown calls leaking" "$(hget abi \
    "[s['stage'] for s in d['breakdown'] if s['leaks']]")" '["rpc"]'

# the heap tool's leaking run (live: the full set's segment; restarted:
# its confirmation run)
top="[r for r in d['runs'] if r['tool'] == 'heap' and r['verdict'] == 'leak' and r['sites']][0]['sites'][0]"
fn=$(hget abi "$top['function']")
case "$fn" in
a_alloc | a_buf_new) ;;
*)
    why abi
    fail "abi: the heap tool's top site is $fn, not a_alloc or a_buf_new"
    ;;
esac
hexpect abi "top site's file" "$(hget abi "$top['file']")" repro/liba/v2/a.c
hexpect abi "top site's stage" "$(hget abi "$top['stage']")" rpc
hexpect abi "top site's caller file" "$(hget abi "$top['caller_file']")" \
    repro/rpc/rpc.c
caller=$(hget abi "$top['caller']")
# the caller is defined in the RPC framework's source
grep -Eq "^[a-z_ ]+[ *]$caller\(" "$SRC/repro/rpc/rpc.c" || {
    why abi
    fail "abi: the top site's caller '$caller' is not a function of repro/rpc/rpc.c"
}

mc="[r for r in d['runs'] if r['tool'] == 'memcheck'][0]"
# memcheck's own slope verdict is not asked for (auto runs it for the kind)
hexpect abi "memcheck: definitely lost bytes" \
    "$(hget abi "$mc['memcheck']['definitely_lost_bytes']")" 0
hexpect abi "memcheck: reachable growth over 0" \
    "$(hget abi "$mc['memcheck']['reachable_growth_bytes'] > 0")" true
hexpect abi "memcheck: no definitely lost site" "$(hget abi \
    "[s for s in $mc['sites'] if s.get('kind') != 'still reachable']")" "[]"
case "$(hget abi "d['memcheck_kind']")" in
"still reachable, not lost"*) ;;
*)
    why abi
    fail "abi: memcheck kind is '$(hget abi "d['memcheck_kind']")'"
    ;;
esac

hexpect abi "abi_conflicts: types, verdicts, marked" "$(hget abi \
    "sorted((c['name'], c['verdict'], c['marked']) for c in d['abi_conflicts'])")" \
    '[["a_buf", "across", true], ["a_msg", "across", true]]'
hexpect abi "abi_conflicts: the objects of each" "$(hget abi \
    "sorted(set(tuple(o.split('/')[-1].split('.so')[0] for o in c['objects']) for c in d['abi_conflicts']))")" \
    '[["selfheal", "liba"]]'

verdict_starts abi "leak in stage rpc: +"
# the place shown is where the caller makes the call ("a_buf_new <-
# rpc_call (repro/rpc/rpc.c:N)"): in the RPC framework
for text in "top site $fn <- $caller (repro/rpc/rpc.c:" \
    "memcheck: still reachable, not lost" \
    "ABI: struct a_buf (header a.h): 32 bytes in selfheal, 40 bytes in liba.so"; do
    grep -qF -- "$text" "$WORK/abi.out" || {
        why abi
        fail "abi: the verdict does not say '$text'"
    }
done
echo "PASS"
