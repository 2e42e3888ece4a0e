/*
 * report.h - what leak-hunt tells its user: the verdict paragraph on
 * stdout, report.json (the fields of docs/protocol.md section 8), and report.html.
 */
#ifndef LH_REPORT_H
#define LH_REPORT_H

#include <stdio.h>

#include "result.h"

struct lh_abiconflicts; /* abi/abiconflicts.h */

/* One row of the per-stage breakdown: what switching on a stage (or a
 * group of stages, measured together) added. */
typedef struct lh_stage_share {
    char stage[256];       /* the row's name: the stage, or the group's
                              stages joined by '+' */
    char stages[256];      /* the same stages, comma list */
    double bytes_per_unit; /* added by enabling them */
    double ci_low, ci_high;
    int leaks;
} lh_stage_share;

typedef struct lh_report {
    const char *command;   /* "run", "hunt", "soak" */
    const char *verdict;   /* "leak", "clean", "inconclusive", "error" */
    const char *strategy;
    char culprit[8][32];
    int nculprit;
    double elapsed_seconds;
    const char *target;    /* description of the target */
    const char *unit;      /* "event", "unit", "second" */
    lh_run_result *runs;
    size_t nruns;
    lh_stage_share *shares; /* per-stage breakdown, or NULL */
    size_t nshares;
    char error[2048];
    const char *memcheck_kind; /* "still reachable", "definitely lost", ... */
    /* "live": configurations measured as segments of one running target
     * (docs/protocol.md section 5); "restart": each in a run of its own.
     * mode_note: why restarts, or what the live run left out ("" none).
     * live_series: the last live run's whole series (its segments are the
     * runs whose `live` is live_run), or NULL. */
    const char *mode;
    const char *mode_note;
    const lh_series *live_series;
    int live_run;
    /* hunt: seconds from the start until the culprits and their sites
     * were known (before memcheck's run for the kind); 0: not given */
    double verdict_seconds;
    int runs_by_strategy;
    /* The baseline (hunt): the configuration with no stage on, measured
     * before any stage is charged.  has_baseline 0: not measured (not
     * written).  outside_stages: it leaks, growth charged to no stage
     * ("leak outside the stages").  Its unit is "second" for a target
     * that does no work with no stage on, else the report's unit. */
    int has_baseline;
    const char *baseline_verdict; /* "leak", "clean", "inconclusive" */
    double baseline_slope, baseline_ci_low, baseline_ci_high;
    const char *baseline_unit;
    int outside_stages;
    /* The ABI conflicts of the processes of the culprit's configuration,
     * checked while they ran (hunt, when it names a culprit; NULL: not
     * checked, not written), with those whose units are on the culprit's
     * top allocation stacks marked. */
    const struct lh_abiconflicts *abi;
    /* What the hunt cost, from getrusage when lh_runner_report filled the
     * report: harness = leak-hunt itself (RUSAGE_SELF, all its threads);
     * target = every child it waited for (RUSAGE_CHILDREN: the targets
     * with their own reaped descendants, plus helper commands such as
     * vgdb).  target_max_rss_kb is the largest single process among them,
     * not a sum.  has_rusage 0: not measured (not written). */
    int has_rusage;
    double harness_cpu_seconds; /* user + system */
    long harness_max_rss_kb;
    double target_cpu_seconds;
    long target_max_rss_kb;
} lh_report;

/* Writes the verdict paragraph (README.md shows one; exit codes: docs/protocol.md section 7) to f. */
void lh_report_verdict(const lh_report *r, FILE *f);

/* Writes report.json to `path`.  0, or LH_EIO. */
int lh_report_write_json(const lh_report *r, const char *path);

/* The ABI conflicts of the culprit (report_abi.c): report.json's
 * "abi_conflicts", the verdict line's clause, report.html's section.
 * Each writes nothing when r->abi is NULL. */
struct lh_json;
void lh_report_abi_json(const lh_report *r, struct lh_json *j);
void lh_report_abi_verdict(const lh_report *r, FILE *f);
void lh_report_abi_html(const lh_report *r, FILE *f);

/* Writes s with HTML's special characters escaped (report.html's files). */
void lh_report_esc(FILE *f, const char *s);

/* Writes report.html to `path` (self-contained, inline SVG).  0, or LH_EIO. */
int lh_report_write_html(const lh_report *r, const char *path);

#endif
