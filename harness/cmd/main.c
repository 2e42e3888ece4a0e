/*
 * main.c - the leak-hunt program: one table of subcommands.
 *
 * Each row names a subcommand, its entry point (NULL while its file
 * harness/cmd_<name>.c does not exist yet; CMake defines LH_HAVE_CMD_<NAME>
 * for each file present) and a one-line summary for --help (NULL for an
 * internal command, which --help does not list).  Dispatch is a linear
 * search over a handful of rows.  Usage errors exit with status 2 (docs/protocol.md
 * section 7).
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

typedef int (*cmd_fn)(int argc, char **argv);

#ifdef LH_HAVE_CMD_HUNT
#define CMD_HUNT lh_cmd_hunt
#else
#define CMD_HUNT NULL
#endif
#ifdef LH_HAVE_CMD_RUN
#define CMD_RUN lh_cmd_run
#else
#define CMD_RUN NULL
#endif
#ifdef LH_HAVE_CMD_SOAK
#define CMD_SOAK lh_cmd_soak
#else
#define CMD_SOAK NULL
#endif
#ifdef LH_HAVE_CMD_ABICHECK
#define CMD_ABICHECK lh_cmd_abicheck
#else
#define CMD_ABICHECK NULL
#endif
#ifdef LH_HAVE_CMD_HEAPWRAP
#define CMD_HEAPWRAP lh_cmd_heapwrap
#else
#define CMD_HEAPWRAP NULL
#endif
#ifdef LH_HAVE_CMD_DOCTOR
#define CMD_DOCTOR lh_cmd_doctor
#else
#define CMD_DOCTOR NULL
#endif

static const struct command {
    const char *name;
    cmd_fn fn;
    const char *summary;
} commands[] = {
    {"hunt", CMD_HUNT, "find the stage that leaks"},
    {"run", CMD_RUN, "measure one configuration of stages"},
    {"soak", CMD_SOAK, "run the full pipeline long and check a growth budget"},
    {"abi-check", CMD_ABICHECK,
     "report structs, unions and enums with more than one layout"},
    {"doctor", CMD_DOCTOR, "check the tools the harness needs"},
    /* internal: the heap tool's per-process wrapper; summary NULL hides it */
    {"__heap-wrap", CMD_HEAPWRAP, NULL},
};

static const char usage_text[] =
    "usage:\n"
    "  leak-hunt hunt  [--strategy auto|linear|bisect|isolate|ddmin]\n"
    "                  [--tool auto|rss|heap|memcheck]\n"
    "                  [--work N | --duration S] [--threshold BYTES_PER_UNIT]\n"
    "                  [--report DIR] [--json FILE] [--stages LIST]\n"
    "                  [--requires S:DEP,...] [--inject SPEC]...\n"
    "                  [--scenario NAME] [--nodes N] [-- TARGET ARGS...]\n"
    "  leak-hunt run   --enable LIST [measurement options] [-- TARGET ARGS...]\n"
    "  leak-hunt soak  [--duration S] [--budget BYTES_PER_UNIT] [--report DIR]\n"
    "                  [-- TARGET ARGS...]\n"
    "  leak-hunt abi-check [--json] FILE...\n"
    "  leak-hunt doctor\n"
    "\n"
    "Without -- TARGET, the target is the built-in selfheal pipeline on the\n"
    "embedded broker.\n"
    "\n"
    "exit status: 0 no leak, 1 leak found (or soak over budget, or ABI\n"
    "conflicts), 2 usage or environment error, 3 inconclusive or target\n"
    "failure\n";

static void usage(FILE *out)
{
    size_t i;

    fputs(usage_text, out);
    fputs("\ncommands:\n", out);
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].summary)
            fprintf(out, "  %-10s %s%s\n", commands[i].name, commands[i].summary,
                commands[i].fn ? "" : " (not built yet)");
}

int main(int argc, char **argv)
{
    const char *name;
    size_t i;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 ||
        strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name) != 0)
            continue;
        if (!commands[i].fn) {
            fprintf(stderr, "leak-hunt: '%s' is not built yet\n", name);
            return 2;
        }
        return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "leak-hunt: unknown command '%s' (see leak-hunt --help)\n",
            name);
    return 2;
}
