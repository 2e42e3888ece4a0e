/*
 * cmd_abicheck.c - `leak-hunt abi-check [options] FILE...` and
 * `leak-hunt abi-check --pid PID`.
 *
 * Reads every FILE (executables, shared libraries, object files, static
 * archives) into one checker, then the shared libraries they need, found
 * the way the dynamic loader finds them (unless --no-deps), or the objects
 * mapped into running processes (--pid, several allowed).  The findings go
 * to stdout (text, or JSON with --json); warnings, errors and the objects
 * without debug info go to stderr.  Exit status: 0 no conflict, 1
 * conflicts (even when some dependency could not be read: it is named),
 * 2 when the check is incomplete: a named file unreadable or corrupt, a
 * missing .dwo, a process that cannot be read, nothing with debug info,
 * a usage error.
 */
#include "abicheck.h"
#include "commands.h"

#include "alloc.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "leak-hunt: abi-check: "

static const char usage_text[] =
    "usage: leak-hunt abi-check [--json] [--no-deps] [--debug-dir DIR]... "
    "FILE...\n"
    "       leak-hunt abi-check [--json] [--debug-dir DIR]... --pid PID...\n"
    "\n"
    "Reads the DWARF of a program, the shared libraries it loads, object\n"
    "files and static archives, and reports every struct, union and enum\n"
    "that reaches the program with more than one layout: two layouts inside\n"
    "one of the files named, or two objects that exchange the type (a\n"
    "function or variable one imports and the other defines mentions it)\n"
    "without sharing a layout of it.  Shows the header, each layout, the\n"
    "object and units on each side.\n"
    "\n"
    "  --json           print the findings as one JSON object\n"
    "  --no-deps        check only the files named, not the libraries they\n"
    "                   need (found as the dynamic loader finds them:\n"
    "                   RPATH, LD_LIBRARY_PATH, RUNPATH, ld.so.cache, the\n"
    "                   default directories)\n"
    "  --debug-dir DIR  also look for separate debug files under DIR\n"
    "                   (DIR/.build-id/xx/rest.debug, DIR/<file's dir>/\n"
    "                   <debuglink>), before /usr/lib/debug\n"
    "  --pid PID        check the objects mapped into the running process\n"
    "                   PID: what it really loaded\n"
    "\n"
    "exit status: 0 no conflict, 1 conflicts, 2 the check is incomplete (a\n"
    "file named could not be read, a split-DWARF .dwo is missing, a process\n"
    "could not be read, or nothing had debug info)\n";

struct options {
    int json, no_deps;
    const char **files, **debug_dirs;
    size_t nfiles, ndebug_dirs;
    long *pids;
    size_t npids;
};

/* "leak-hunt: abi-check: WHAT 'ARG' (see ...)"; returns 2. */
static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, PREFIX "%s '%s' (see leak-hunt abi-check --help)\n",
            what, arg);
    return 2;
}

/* A positive process id, or -1. */
static long parse_pid(const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    return errno || end == s || *end || v <= 0 ? -1 : v;
}

/* An option with a value (`--opt V` or `--opt=V`): the value, else NULL. */
static const char *value_of(int argc, char **argv, int *i, const char *opt)
{
    size_t n = strlen(opt);

    if (strncmp(argv[*i], opt, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0' || *i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* One option at argv[*i].  0, 1 (--help printed), or 2 (usage error). */
static int parse_option(int argc, char **argv, int *i, struct options *o)
{
    const char *a = argv[*i], *v;

    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        fputs(usage_text, stdout);
        return 1;
    }
    if (strcmp(a, "--json") == 0) {
        o->json = 1;
    } else if (strcmp(a, "--no-deps") == 0) {
        o->no_deps = 1;
    } else if ((v = value_of(argc, argv, i, "--debug-dir")) != NULL) {
        o->debug_dirs[o->ndebug_dirs++] = v;
    } else if ((v = value_of(argc, argv, i, "--pid")) != NULL) {
        o->pids[o->npids] = parse_pid(v);
        if (o->pids[o->npids] < 0)
            return usage_error("bad process id", v);
        o->npids++;
    } else if (strcmp(a, "--debug-dir") == 0 || strcmp(a, "--pid") == 0) {
        return usage_error("a value is missing after", a);
    } else {
        return usage_error("unknown option", a);
    }
    return 0;
}

/* Options may come anywhere before "--" (GNU style).  0, 1 (--help), 2. */
static int parse_args(int argc, char **argv, struct options *o)
{
    size_t n = (size_t)argc;
    int i, rc, dashdash = 0;

    o->files = lh_calloc(n, sizeof *o->files);
    o->debug_dirs = lh_calloc(n, sizeof *o->debug_dirs);
    o->pids = lh_calloc(n, sizeof *o->pids);
    if (!o->files || !o->debug_dirs || !o->pids) {
        fputs(PREFIX "out of memory\n", stderr);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        if (!dashdash && strcmp(argv[i], "--") == 0) {
            dashdash = 1;
        } else if (dashdash || argv[i][0] != '-' || argv[i][1] == '\0') {
            o->files[o->nfiles++] = argv[i];
        } else {
            rc = parse_option(argc, argv, &i, o);
            if (rc)
                return rc;
        }
    }
    if (o->nfiles == 0 && o->npids == 0) {
        fputs(PREFIX "no file given\n", stderr);
        fputs(usage_text, stderr);
        return 2;
    }
    return 0;
}

/* Everything the options ask for, read into ac.  0, or 2 (out of
 * memory, a bad --debug-dir). */
static int gather(lh_abicheck *ac, const struct options *o)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < o->ndebug_dirs && !rc; i++) {
        rc = lh_abicheck_add_debug_dir(ac, o->debug_dirs[i]);
        if (rc == LH_EINVAL)
            fprintf(stderr, PREFIX "--debug-dir %s: a directory with ':' in "
                                   "its name cannot be searched\n",
                    o->debug_dirs[i]);
    }
    for (i = 0; i < o->nfiles && rc != LH_ENOMEM && rc != LH_EINVAL; i++)
        rc = lh_abicheck_add_file(ac, o->files[i]);
    if (rc != LH_ENOMEM && rc != LH_EINVAL && o->nfiles && !o->no_deps)
        rc = lh_abicheck_add_deps(ac, NULL);
    for (i = 0; i < o->npids && rc != LH_ENOMEM && rc != LH_EINVAL; i++)
        rc = lh_abicheck_add_pid(ac, o->pids[i]);
    if (rc == LH_ENOMEM)
        fprintf(stderr, PREFIX "%s\n", lh_strerror(rc));
    return rc == LH_ENOMEM || rc == LH_EINVAL ? 2 : 0;
}

static int run(const struct options *o)
{
    lh_abicheck *ac = NULL;
    int status, rc;

    rc = lh_abicheck_new(&ac);
    if (rc) {
        fprintf(stderr, PREFIX "%s\n", lh_strerror(rc));
        return 2;
    }
    if (gather(ac, o) != 0) {
        lh_abicheck_free(ac);
        return 2;
    }
    lh_abicheck_write_messages(ac, stderr, PREFIX);
    status = lh_abicheck_status(ac);
    rc = o->json ? lh_abicheck_write_json(ac, stdout)
                 : lh_abicheck_write_text(ac, stdout);
    if (fflush(stdout) != 0 || rc) {
        fputs(PREFIX "cannot write the report to stdout\n", stderr);
        status = 2;
    }
    lh_abicheck_free(ac);
    return status;
}

int lh_cmd_abicheck(int argc, char **argv)
{
    struct options o;
    int rc;

    memset(&o, 0, sizeof o);
    rc = parse_args(argc, argv, &o);
    if (rc == 0)
        rc = run(&o);
    else if (rc == 1)
        rc = 0;
    lh_free(o.files);
    lh_free(o.debug_dirs);
    lh_free(o.pids);
    return rc;
}
