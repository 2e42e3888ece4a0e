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
} lh_runner;

/* 0, or 2 after printing an error. */
int lh_runner_init(lh_runner *r, const lh_cli *cli);

/* Measures one configuration with `tool` and keeps the result.  Returns it
 * (owned by the runner), or NULL when out of memory. */
lh_run_result *lh_runner_measure(lh_runner *r, const char *enabled,
                                 const lh_tool *tool);

/* Fills a report with the runner's runs and common fields, and with
 * getrusage's figures so far for leak-hunt and its reaped children. */
void lh_runner_report(const lh_runner *r, lh_report *rep);

/* Writes --json and --report outputs.  0, or LH_EIO after printing. */
int lh_runner_write(lh_runner *r, const lh_report *rep);

void lh_runner_free(lh_runner *r);

/* 1 once SIGINT or SIGTERM has been received. */
int lh_runner_interrupted(void);

#endif
