/*
 * cli.h - the options shared by run, hunt and soak, and the target they
 * drive.
 *
 * Parsing is strict: an unknown flag, a missing value, a number out of
 * range or an unknown tool or strategy is a one-line error on stderr and
 * exit status 2 (the caller returns what lh_cli_parse returned).
 */
#ifndef LH_CLI_H
#define LH_CLI_H

#include "stage_list.h"
#include "tool.h"

#define LH_CLI_MAX_INJECT 16

typedef struct lh_cli {
    const char *cmd;         /* "run", "hunt", "soak" */
    const lh_tool *tool;     /* NULL: auto */
    const char *tool_name;
    const char *strategy;
    double work, duration, threshold, timeout, budget;
    int max_extend;
    const char *report_dir;
    const char *json_path;
    const char *stages;      /* --stages: all stages in pipeline order */
    const char *requires;    /* --requires S:DEP,... */
    const char *enable;      /* --enable LIST (run, soak) */
    const char *inject[LH_CLI_MAX_INJECT];
    int ninject;
    const char *scenario;
    int nodes;
    const char *stage_map;
    int quiet;
    int target_wraps;        /* --target-wraps: target applies LEAKHUNT_WRAP */
    int restart;             /* --restart: a target of its own for each
                                configuration, never live (run, hunt) */
    int git_bisect;
    /* Prometheus metrics (docs/protocol.md section 9): the endpoint, the
     * work counter's and the memory gauge's selectors (NULL: none), and
     * watch mode: --metrics with no target, nothing started. */
    const char *metrics;
    const char *work_metric;
    const char *memory_metric;
    const char *switch_cmd;  /* hunt in watch mode: switches the service's
                                stages, {stages} replaced (sh -c) */
    int watch;
    char **target;           /* argv after "--", NULL: built-in selfheal
                                (or watch mode) */
    int builtin;
    int target_missing; /* parse failed: the built-in target is not built */
    char bindir[1024];
    char supp[1100];
    char selfheal[1100];
    char builtin_requires[256]; /* the built-in requirements within --stages */
} lh_cli;

/* Stages of the built-in pipeline in order, and its requirements (as
 * --requires takes them), generated from the pipeline's stage list. */
#define LH_SELFHEAL_STAGES LH_STAGE_NAMES
#define LH_SELFHEAL_REQUIRES LH_STAGE_REQUIRES

/* Parses argv[1..] (argv[0] is the command).  0, or 2 after printing the
 * error.  `help` is printed for --help (then returns 1: caller exits 0). */
int lh_cli_parse(int argc, char **argv, const char *help, lh_cli *out);

/* Builds the target argv: the user's command, or selfheal up with the
 * built-in options, or in watch mode an empty one (argv[0] NULL).
 * NULL-terminated, free with lh_cli_free_argv; NULL when out of memory. */
char **lh_cli_target_argv(const lh_cli *c);
void lh_cli_free_argv(char **argv);

/* Checks that every name in the comma list `list` is one of `stages`.
 * 0, or prints an error and returns 2. */
int lh_cli_check_stages(const char *list, const char *stages);

#endif
