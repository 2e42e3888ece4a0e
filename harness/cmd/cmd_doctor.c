/*
 * leak-hunt doctor [-- TARGET ARGS...]: checks the tools the harness needs
 * and prints one fix per problem.
 *
 * One line per check, "ok   <what was found>" or "FAIL <the problem>"
 * followed by "     fix: <one fix>".  Checks that need an earlier one
 * (the live vgdb test needs valgrind and vgdb, the heap profiler needs
 * tcmalloc) run only when it passed; the earlier failure already names the
 * fix.  The debug-info check looks at TARGET (default: the selfheal beside
 * this leak-hunt); its ARGS are accepted so that the command line of a
 * hunt can be pasted as it is.  Exit status 0 when every check passed, 2
 * otherwise (docs/protocol.md section 7: environment error).
 */
#include "commands.h"
#include "doctor.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef LH_TCMALLOC_SO
#define LH_TCMALLOC_SO "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4"
#endif

static const char help_text[] =
    "usage: leak-hunt doctor [-- TARGET ARGS...]\n"
    "\n"
    "Checks that valgrind starts memcheck, that vgdb may ptrace the\n"
    "processes under test, that gperftools (tcmalloc, the heap profiler,\n"
    "google-pprof) works, and that TARGET (default: the built-in selfheal)\n"
    "has debug info.  Prints one line per check and a fix for each problem.\n"
    "\n"
    "exit status: 0 all checks passed, 2 a check failed or usage error\n";

static void report(const lh_doctor_check *c, int *failed)
{
    if (c->ok) {
        printf("ok   %s\n", c->text);
        return;
    }
    printf("FAIL %s\n     fix: %s\n", c->text, c->fix);
    (*failed)++;
}

/* The selfheal beside this leak-hunt (or "selfheal" if /proc/self/exe is
 * unreadable: then it is looked up on PATH). */
static void default_target(char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;

    if (len <= 0) {
        snprintf(out, n, "selfheal");
        return;
    }
    exe[len] = '\0';
    slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, n, "%s/selfheal", exe);
}

int lh_cmd_doctor(int argc, char **argv)
{
    lh_doctor_check c;
    char target[PATH_MAX + 16];
    int failed = 0, valgrind_ok, vgdb_ok, tcmalloc_ok;

    default_target(target, sizeof target);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help_text, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "leak-hunt: doctor: no target after --\n");
                return 2;
            }
            snprintf(target, sizeof target, "%s", argv[i + 1]);
            break;
        }
        fprintf(stderr,
                "leak-hunt: doctor: unknown argument '%s' (usage: leak-hunt "
                "doctor [-- TARGET ARGS...])\n",
                argv[i]);
        return 2;
    }

    valgrind_ok = lh_doctor_valgrind(&c) == 0;
    report(&c, &failed);
    vgdb_ok = lh_doctor_vgdb(&c) == 0;
    report(&c, &failed);
    lh_doctor_ptrace(valgrind_ok && vgdb_ok, &c);
    report(&c, &failed);
    tcmalloc_ok = lh_doctor_tcmalloc(LH_TCMALLOC_SO, &c) == 0;
    report(&c, &failed);
    if (tcmalloc_ok) {
        lh_doctor_heapprofile(LH_TCMALLOC_SO, &c);
        report(&c, &failed);
    }
    lh_doctor_pprof(&c);
    report(&c, &failed);
    lh_doctor_debuginfo(target, &c);
    report(&c, &failed);
    fflush(stdout);
    return failed ? 2 : 0;
}
