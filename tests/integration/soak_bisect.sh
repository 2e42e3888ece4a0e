#!/bin/sh
# leak-hunt soak --git-bisect as a `git bisect run` command.
#
# A throwaway git repository in a temporary directory holds seven commits
# of a tiny C worker that speaks the target protocol (work= and heap=
# lines to LEAKHUNT_STATS every 50 ms, until SIGTERM):
#   c1 good (the known good commit)   c2 clean        c3 clean
#   c4 does not compile               c5 fixes it     c6 plants the leak
#   c7 clean change on top (still leaking: the known bad commit)
# The bisect script deletes the old binary, compiles the commit with cc
# (its status ignored) and runs leak-hunt soak --git-bisect --duration 3
# on ./prog: a commit that does not build leaves no ./prog, so it is soak
# that says skip (125) for it, as it does for a target that does not start.
# Asserts: git names c6 as the first bad commit, c4 was tested and skipped,
# and every verdict in the log was good for c1..c5 and bad for c6..c7.
# Also checks soak's own statuses directly: 0 on c5, 1 on c6, 125 on c4,
# and 3 without --git-bisect on c4; 128 (abort) for a usage error; a run
# too short to judge: 3, and 125 with --git-bisect; a leak-hunt whose
# built-in target is missing: 125 with --git-bisect, 2 without.
#
# usage: soak_bisect.sh LEAK_HUNT
set -eu
LH=$1
. "$(dirname "$0")/lib.sh"
need_file "$LH" leak-hunt
LH=$(cd "$(dirname "$LH")" && pwd)/$(basename "$LH") # the test cd's away
need_cmd git
need_cmd cc
lh_setup soak-bisect

# (the repository is not WORK itself: this shell works in it, and WORK is
# for what the test starts, lib.sh)
REPO=$WORK/repo
mkdir "$REPO"
cd "$REPO"
export GIT_CONFIG_NOSYSTEM=1 HOME="$WORK" GIT_AUTHOR_NAME=t \
    GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t \
    GIT_COMMITTER_EMAIL=t@example.invalid
git init -q .

# prog VARIANT -> prog.c for one commit.  KEEP=1 keeps every unit's record
# (the leak: 64 bytes per unit, counted in heap=); BROKEN=1 does not
# compile; BATCH is the units done per 10 ms step.
prog() {
    keep=$1 broken=$2 batch=$3 every=$4
    cat >prog.c <<EOF
/* A worker that speaks leak-hunt's target protocol. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(void)
{
    const char *path = getenv("LEAKHUNT_STATS");
    FILE *stats = path ? fopen(path, "a") : NULL;
    char **kept = NULL;
    size_t nkept = 0, cap = 0;
    unsigned long work = 0, step = 0;
    long heap = 4096; /* what the worker holds at rest */
    struct timespec ts = {0, 10 * 1000 * 1000};

    signal(SIGTERM, on_term);
    while (!stop) {
        for (int i = 0; i < $batch; i++) {
            char *rec = malloc(64);
            if (rec == NULL)
                return 1;
            memset(rec, (int)work, 64);
            work++;
            if ($keep) {
                if (nkept == cap) {
                    cap = cap ? 2 * cap : 1024;
                    kept = realloc(kept, cap * sizeof *kept);
                    if (kept == NULL)
                        return 1;
                }
                kept[nkept++] = rec;
                heap += 64;
            } else {
                free(rec);
            }
        }
        nanosleep(&ts, NULL);
        if (stats && ++step % $every == 0) {
            fprintf(stats, "work=%lu heap=%ld pid=%d\n", work, heap,
                    (int)getpid());
            fflush(stats);
        }
    }
    for (size_t i = 0; i < nkept; i++)
        free(kept[i]);
    free(kept);
    if (stats)
        fclose(stats);
    return 0$( [ "$broken" = 1 ] && echo " +" );
}
EOF
}

# commit KEEP BROKEN BATCH EVERY MESSAGE -> the hash of a new commit of
# prog.c as prog writes it
commit() {
    prog "$1" "$2" "$3" "$4"
    git add prog.c
    git commit -q -m "$5"
    git rev-parse HEAD
}

C1=$(commit 0 0 100 5 "c1: a worker that reports its work and heap")
C2=$(commit 0 0 200 5 "c2: larger batches")
C3=$(commit 0 0 200 4 "c3: report every 40 ms")
C4=$(commit 0 1 200 4 "c4: a change that does not compile")
C5=$(commit 0 0 200 5 "c5: fix the build, report every 50 ms")
C6=$(commit 1 0 200 5 "c6: keep every unit's record (the planted leak)")
C7=$(commit 1 0 150 5 "c7: smaller batches")

cat >"$WORK/bisect-run.sh" <<EOF
#!/bin/sh
# one bisect step: build (failure leaves no ./prog), then soak
rm -f prog
cc -O1 -o prog prog.c 2>/dev/null
exec "$LH" soak --git-bisect --duration 3 --timeout 60 --quiet -- ./prog
EOF
chmod +x "$WORK/bisect-run.sh"

# soak's own statuses on single commits first.
soak_at() { # COMMIT SECONDS EXPECTED_STATUS [soak flags]
    c=$1 secs=$2 want=$3
    shift 3
    git checkout -q "$c"
    rm -f prog
    cc -O1 -o prog prog.c 2>/dev/null || :
    rc=0
    "$LH" soak "$@" --duration "$secs" --timeout 60 --quiet -- ./prog \
        >"$WORK/soak.out" 2>&1 || rc=$?
    note "soak${*:+ $*} --duration $secs at $(git log -1 --format=%s): exit $rc: $(head -1 "$WORK/soak.out")"
    [ "$rc" -eq "$want" ] || { cat "$WORK/soak.out" >&2; fail "exit $rc, want $want"; }
}
soak_at "$C5" 3 0 --git-bisect
soak_at "$C6" 3 1 --git-bisect
soak_at "$C4" 3 125 --git-bisect
soak_at "$C4" 3 3
rc=0
"$LH" soak --git-bisect --no-such-flag -- ./prog >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 128 ] || fail "a usage error under --git-bisect: exit $rc, want 128"
# a verdict soak cannot reach: too short a run to judge (exit 3), a skip
# under --git-bisect
soak_at "$C5" 0.4 3
grep -q "cannot tell" "$WORK/soak.out" || fail "no 'cannot tell' verdict"
soak_at "$C5" 0.4 125 --git-bisect
grep -q "cannot tell" "$WORK/soak.out" || fail "no 'cannot tell' verdict"
# the built-in target missing (a commit of leak-hunt's own tree whose
# build failed): a leak-hunt with no selfheal beside it skips
mkdir "$WORK/lonely"
cp "$LH" "$WORK/lonely/leak-hunt"
rc=0
"$WORK/lonely/leak-hunt" soak --git-bisect --duration 1 >"$WORK/soak.out" 2>&1 || rc=$?
note "soak --git-bisect with no built-in target: exit $rc: $(head -1 "$WORK/soak.out")"
[ "$rc" -eq 125 ] || { cat "$WORK/soak.out" >&2; fail "exit $rc, want 125"; }
rc=0
"$WORK/lonely/leak-hunt" soak --duration 1 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "no built-in target without --git-bisect: exit $rc, want 2"
git checkout -q "$C7"

# The bisection.
git bisect start "$C7" "$C1" >/dev/null
rc=0
git bisect run "$WORK/bisect-run.sh" >"$WORK/bisect.out" 2>&1 || rc=$?
git bisect log >"$WORK/bisect.log"
git bisect reset -q >/dev/null 2>&1 || :
sed 's/^/#   /' "$WORK/bisect.log"
[ "$rc" -eq 0 ] || { cat "$WORK/bisect.out" >&2; fail "git bisect run: exit $rc"; }
grep -q "^$C6 is the first bad commit" "$WORK/bisect.out" ||
    { cat "$WORK/bisect.out" >&2; fail "git did not name c6 ($C6)"; }
grep -q "^git bisect skip $C4" "$WORK/bisect.log" ||
    fail "the commit that does not build (c4) was not skipped"
# every verdict the run gave (the log's good/bad lines; the two commits
# given at the start are on its start line) is right: good only for c1,
# c2, c3, c5; bad only for c6, c7; c6 was tested, and some clean commit
grep "^git bisect good " "$WORK/bisect.log" | while read -r _ _ _ c; do
    case " $C1 $C2 $C3 $C5 " in
    *" $c "*) ;;
    *) fail "commit $c ($(git log -1 --format=%s "$c")) was called good" ;;
    esac
done
grep "^git bisect bad " "$WORK/bisect.log" | while read -r _ _ _ c; do
    case " $C6 $C7 " in
    *" $c "*) ;;
    *) fail "commit $c ($(git log -1 --format=%s "$c")) was called bad" ;;
    esac
done
grep -q "^git bisect bad $C6" "$WORK/bisect.log" ||
    fail "c6 was not tested and called bad"
grep -q "^git bisect good " "$WORK/bisect.log" ||
    fail "no clean commit was tested"
note "git bisect named c6 $C6, skipped c4 $C4"
echo "PASS"
