/*
 * cmd_abicheck.c - `leak-hunt abi-check [--json] FILE...`.
 *
 * Reads every FILE (executables, shared libraries, object files, static
 * archives) into one checker, so a type defined one way in the program and
 * another way in a library it links is found across files as well as
 * within one.  The findings go to stdout (text, or JSON with --json);
 * errors and warnings about the inputs go to stderr.  Exit status: 0 no
 * conflict, 1 conflicts, 2 errors (an unreadable or corrupt file, a
 * missing .dwo, no file with debug info, a usage error).  A file without
 * debug info is a warning: the others are still checked.
 */
#include "abicheck.h"
#include "commands.h"

#include "error.h"

#include <stdio.h>
#include <string.h>

static const char usage_text[] =
    "usage: leak-hunt abi-check [--json] FILE...\n"
    "\n"
    "Reads the DWARF of executables, shared libraries, object files and\n"
    "static archives and reports every struct, union and enum with more\n"
    "than one layout across compilation units (an ABI mismatch inside one\n"
    "program): the header, each layout, and the units on each side.\n"
    "\n"
    "  --json   print the findings as one JSON object\n"
    "\n"
    "exit status: 0 no conflict, 1 conflicts, 2 errors (a file could not be\n"
    "read, a split-DWARF .dwo is missing, or no file had debug info)\n";

/* Is argv[i] an option (and not a file)?  `dashdash` is the index of "--",
 * after which everything is a file. */
static int is_option(char **argv, int i, int dashdash)
{
    return i < dashdash && argv[i][0] == '-' && argv[i][1] != '\0';
}

int lh_cmd_abicheck(int argc, char **argv)
{
    lh_abicheck *ac = NULL;
    int json = 0, nfiles = 0, dashdash = argc, status, rc, i;
    size_t k;

    /* Options may come anywhere before "--" (GNU style). */
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            dashdash = i;
            nfiles += argc - i - 1;
            break;
        }
        if (!is_option(argv, i, argc)) {
            nfiles++;
        } else if (strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            fprintf(stderr,
                    "leak-hunt: abi-check: unknown option '%s' (see leak-hunt "
                    "abi-check --help)\n",
                    argv[i]);
            return 2;
        }
    }
    if (nfiles == 0) {
        fputs("leak-hunt: abi-check: no file given\n", stderr);
        fputs(usage_text, stderr);
        return 2;
    }
    rc = lh_abicheck_new(&ac);
    if (rc) {
        fprintf(stderr, "leak-hunt: abi-check: %s\n", lh_strerror(rc));
        return 2;
    }
    for (i = 1; i < argc; i++) {
        if (i == dashdash || is_option(argv, i, dashdash))
            continue;
        rc = lh_abicheck_add_file(ac, argv[i]);
        if (rc == LH_ENOMEM) {
            fprintf(stderr, "leak-hunt: abi-check: %s: %s\n", argv[i],
                    lh_strerror(rc));
            lh_abicheck_free(ac);
            return 2;
        }
    }
    for (k = 0; k < lh_abicheck_warning_count(ac); k++)
        fprintf(stderr, "leak-hunt: abi-check: warning: %s\n",
                lh_abicheck_warning(ac, k));
    for (k = 0; k < lh_abicheck_error_count(ac); k++)
        fprintf(stderr, "leak-hunt: abi-check: %s\n", lh_abicheck_error(ac, k));
    status = lh_abicheck_status(ac);
    if (status == 2 && lh_abicheck_error_count(ac) == 0)
        fputs("leak-hunt: abi-check: no input file has debug info; nothing "
              "was checked\n",
              stderr);
    rc = json ? lh_abicheck_write_json(ac, stdout)
              : lh_abicheck_write_text(ac, stdout);
    if (fflush(stdout) != 0 || rc) {
        fputs("leak-hunt: abi-check: cannot write the report to stdout\n",
              stderr);
        status = 2;
    }
    lh_abicheck_free(ac);
    return status;
}
