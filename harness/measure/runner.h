/*
 * runner.h - the state a command keeps across the configurations it
 * measures: the target argv, the report directory, and every run so far.
 * run, hunt and soak share it.
 */
#ifndef LH_RUNNER_H
#define LH_RUNNER_H

#include "cli.h"
#include "measure.h"
#include "report.h"
#include "result.h"

typedef struct lh_runner {
    const lh_cli *cli;
    char **argv;          /* target command */
    char command[1024];   /* argv joined, for the report */
    char dir[1024];       /* report directory (a temporary one without
                             --report) */
    int own_dir;          /* dir is temporary: removed at the end */
    lh_run_result *runs;
    size_t nruns, cap;
    double start;
    int tool_failed;      /* a tool could not run (exit 2) */
    int interrupted;
    /* Passed to every measurement (lh_measure_opts.progress); set after
     * lh_runner_init, NULL by default. */
    lh_measure_progress_fn progress;
    void *progress_arg;
    double progress_every;
    /* The same for lh_measure_opts.before_stop. */
    lh_measure_probe_fn before_stop;
    void *before_stop_arg;
} lh_runner;

/* 0, or 2 after printing an error. */
int lh_runner_init(lh_runner *r, const lh_cli *cli);

/* Measures one configuration with `tool` and keeps the result.  Returns it
 * (owned by the runner), or NULL when out of memory. */
lh_run_result *lh_runner_measure(lh_runner *r, const char *enabled,
                                 const lh_tool *tool);

/* What one run may do differently from the command's options (zeroed:
 * the same as lh_runner_measure). */
typedef struct lh_run_plan {
    double work;       /* budget in work units, > 0 replaces the command's
                          (the tool's budget_divisor is not applied
                          to it) */
    double look_every; /* lh_measure_opts.look_every */
    int tool_points;   /* lh_measure_opts.tool_points */
    int extend;        /* 0: the command's --extend; > 0: at most
                          extend - 1 extensions (1: none) */
    double duration;   /* > 0: a budget of that many seconds replaces
                          the work budget (a target that may do no work) */
} lh_run_plan;

/* lh_runner_measure with a plan (NULL: none). */
lh_run_result *lh_runner_measure_plan(lh_runner *r, const char *enabled,
                                      const lh_tool *tool,
                                      const lh_run_plan *plan);

/* The work budget a run gets by default: --work, else the built-in
 * pipeline's default (events); 0 when runs are measured by duration. */
double lh_runner_default_work(const lh_runner *r);

/* Fills the runner's fields of a report: the command, the runs, the
 * elapsed time, the target, getrusage's figures so far for leak-hunt and
 * its reaped children, and the unit and verdict ("inconclusive") when they
 * are NULL.  The fields a command fills (verdict, culprits, breakdown,
 * error, ...) are left as they are: start from a zeroed report. */
void lh_runner_report(const lh_runner *r, lh_report *rep);

/* Writes --json and --report outputs.  0, or LH_EIO after printing. */
int lh_runner_write(lh_runner *r, const lh_report *rep);

void lh_runner_free(lh_runner *r);

/* 1 once SIGINT or SIGTERM has been received. */
int lh_runner_interrupted(void);

#endif
