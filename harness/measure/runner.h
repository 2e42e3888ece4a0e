/*
 * runner.h - the state a command keeps across the configurations it
 * measures: the target argv, the report directory, and every run so far.
 * run, hunt and soak share it.
 *
 * Live runs (live.h, docs/protocol.md section 5): after lh_runner_go_live
 * every configuration measured with the live tool is a segment of one
 * running target, started at the first; a run with another tool
 * (memcheck's kind) is a run of its own, marked separate, for which the
 * live run is ended first (its target stopped: two pipelines would share
 * the CPUs), and a later live configuration starts a new one.  A target
 * that shows no stages= within 2 s of its first stats line cannot switch:
 * its first configuration was measured as a run of its own would be, and
 * every later one gets a run of its own; said once on stderr and in the
 * report (mode_note).
 */
#ifndef LH_RUNNER_H
#define LH_RUNNER_H

#include "cli.h"
#include "live.h"
#include "measure.h"
#include "poller.h"
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
    /* Live runs: the tool they measure with (NULL: every configuration
     * in a run of its own), the one under way, its start (--timeout
     * bounds a live command as a whole), the mode for the report and why
     * (restarts: --restart, a target that cannot switch, memcheck's
     * search), the last live run's whole series for its chart. */
    const lh_tool *live_tool;
    lh_live *live;
    double live_start;
    int nlive;
    int live_said;      /* the fallback to restarts was said */
    const char *mode;   /* "live" or "restart" */
    char mode_note[512];
    lh_series live_series;
    int env_failed;     /* the control file could not be written: exit 2 */
    int live_failed;    /* a switch went wrong (not acknowledged, a list
                           not asked for): inconclusive, exit 3 */
    /* --metrics: every run's source (lh_measure_opts.metrics), or NULL */
    const struct lh_poller_opts *metrics;
    struct lh_poller_opts metrics_opts;
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
    double look_seconds; /* lh_measure_opts.look_seconds */
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

/* Measures the configurations asked for with `tool` live from now on
 * (rss or heap).  `note`, when not NULL, goes to the report (what the
 * live run leaves out: "the heap tool cannot serve ..."). */
void lh_runner_go_live(lh_runner *r, const lh_tool *tool, const char *note);

/* Measures each configuration in a run of its own, saying why in the
 * report ("--restart"). */
void lh_runner_restart(lh_runner *r, const char *why);

/* Watch mode (--metrics with no target): nothing is started, the one
 * configuration is the service as it runs; mode "watch" in the
 * report. */
void lh_runner_watch(lh_runner *r);

/* Ends the live run under way, if any: its target stopped (the whole
 * run's series kept for the report). */
void lh_runner_end_live(lh_runner *r);

/* Seconds left of --timeout for a live command (it bounds the whole);
 * the timeout itself for a command that restarts. */
double lh_runner_time_left(const lh_runner *r);

/* The work budget a run gets by default: --work, else the built-in
 * pipeline's default (events); 0 when runs are measured by duration. */
double lh_runner_default_work(const lh_runner *r);

/* Fills the runner's fields of a report: the command, the runs, the
 * elapsed time, the target, the mode and the live run's series,
 * getrusage's figures so far for leak-hunt and its reaped children, and
 * the unit and verdict ("inconclusive") when they are NULL.  The fields a command fills (verdict, culprits, breakdown,
 * error, ...) are left as they are: start from a zeroed report. */
void lh_runner_report(const lh_runner *r, lh_report *rep);

/* Writes --json and --report outputs.  0, or LH_EIO after printing. */
int lh_runner_write(lh_runner *r, const lh_report *rep);

void lh_runner_free(lh_runner *r);

/* 1 once SIGINT or SIGTERM has been received. */
int lh_runner_interrupted(void);

#endif
