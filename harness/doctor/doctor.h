/*
 * doctor.h - checks of the tools the harness needs, one function per check.
 *
 * `leak-hunt doctor` runs them all and prints one line per check; the
 * measurement tools call the one that matches when they cannot start, so
 * that every command explains a broken tool the same way.
 *
 * Every check fills an lh_doctor_check: `ok`, a line that says what was
 * found ("valgrind 3.19.0 starts memcheck", or the problem), and, when not
 * ok, one fix ("apt-get install valgrind").  Each returns 0 when all is
 * well and LH_ETOOL when it found a problem; it always fills `out`
 * completely (also when it could not run: no memory, no temp directory),
 * allocates nothing the caller must free, and runs the programs it needs
 * in child processes bounded in time (a few seconds at most).
 */
#ifndef LH_DOCTOR_H
#define LH_DOCTOR_H

#include <stddef.h>

typedef struct lh_doctor_check {
    int ok;
    char text[640]; /* what was found, or the problem */
    char fix[768];  /* "" when ok */
} lh_doctor_check;

/* valgrind on PATH, its version, and `valgrind --tool=memcheck -q
 * /bin/true` exits 0.  Recognises "failed to start tool 'memcheck' for
 * platform 'amd64-linux'" (the tool directory is not where the launcher
 * looks: a broken install or a wrong VALGRIND_LIB) and names in the fix the
 * directory that does hold memcheck-<platform>, when one is found. */
int lh_doctor_valgrind(lh_doctor_check *out);

/* vgdb on PATH and executable. */
int lh_doctor_vgdb(lh_doctor_check *out);

/* ptrace for vgdb: Yama's kernel.yama.ptrace_scope and CAP_SYS_PTRACE, and,
 * when `live` is non-zero, a real test: a /bin/sleep under valgrind
 * --vgdb=yes, blocked in a system call, answers a vgdb monitor command
 * (vgdb wakes a blocked process with ptrace, and it is not the process's
 * ancestor).  Pass live = 0 when valgrind or vgdb is known to be broken. */
int lh_doctor_ptrace(int live, lh_doctor_check *out);

/* The tcmalloc shared object `so` (the heap tool's LD_PRELOAD) exists and
 * the dynamic loader preloads it into /bin/true. */
int lh_doctor_tcmalloc(const char *so, lh_doctor_check *out);

/* gperftools' heap profiler works: /bin/true with `so` preloaded and
 * HEAPPROFILE set writes a profile into a fresh temporary directory. */
int lh_doctor_heapprofile(const char *so, lh_doctor_check *out);

/* google-pprof (or pprof) on PATH and `--version` runs. */
int lh_doctor_pprof(lh_doctor_check *out);

/* The ELF file `path` (a program name without a slash is looked up on
 * PATH) carries DWARF (.debug_info or .zdebug_info), or has a
 * .gnu_debuglink / build-id whose separate debug file is found (beside it,
 * in .debug/ beside it, or under /usr/lib/debug).  A script (#!) is ok and
 * said to be unchecked: the programs it runs are not known. */
int lh_doctor_debuginfo(const char *path, lh_doctor_check *out);

/* Pure helpers, exposed for the unit tests. */

/* Copies the version from `valgrind --version` output ("valgrind-3.19.0")
 * into ver ("3.19.0").  0, or LH_ENOTFOUND (ver set to ""). */
int lh_doctor_parse_version(const char *text, char *ver, size_t n);

/* Parses "failed to start tool 'TOOL' for platform 'PLATFORM'" anywhere in
 * text.  0, or LH_ENOTFOUND (tool and platform set to ""). */
int lh_doctor_parse_start_failure(const char *text, char *tool, size_t tn,
                                  char *platform, size_t pn);

/* 1 if capability number `cap` is set in the CapEff line of a
 * /proc/PID/status text, 0 if not, LH_EPARSE if there is no CapEff line. */
int lh_doctor_cap_effective(const char *status, int cap);

/* Whether vgdb (a process that is not the target's ancestor) may ptrace a
 * process of the same user, from Yama's ptrace_scope (-1: Yama absent) and
 * whether the caller has CAP_SYS_PTRACE.  Fills out (ok, text, fix). */
void lh_doctor_ptrace_policy(int scope, int cap_sys_ptrace,
                             lh_doctor_check *out);

#endif
