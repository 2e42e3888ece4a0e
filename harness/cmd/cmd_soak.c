/*
 * leak-hunt soak: one long run with every stage on, against a growth
 * budget.
 *
 * Design: soak is `run` stretched out and turned into a gate.  It measures
 * one configuration (all stages, or --enable LIST) for a fixed duration
 * (60 s by default) and compares the slope's 95% interval with the budget
 * in bytes per unit, using the same decision as run and hunt with the
 * budget as its floor: within budget (exit 0) when the interval lies
 * below it (or does after one-off jumps are removed, or does in the late
 * third of the run: a cache that filled and stopped), over budget (exit 1)
 * when the whole run's interval lies above it (gate() below: the hunt's
 * extra demand that the early and late parts each clear the floor too is
 * dropped), and "cannot tell" (exit 3) otherwise.  A soak does not
 * extend itself when it cannot tell (its length is the caller's choice)
 * unless --extend N says so.
 *
 * The report is written as the run goes: every few seconds the
 * measurement loop calls back (lh_measure_opts.progress) and soak rewrites
 * samples.csv, report.json and report.html from the series so far, with
 * the slope so far and the verdict "inconclusive" (reason "partial ...").
 * Each file is written beside its final name and renamed over it, so a job
 * killed at any moment (SIGKILL from a CI timeout) leaves complete files
 * with the evidence up to the last few seconds.  SIGTERM and SIGINT stop
 * the target and leave the final report (verdict "error", interrupted).
 *
 * --git-bisect makes soak a `git bisect run` command.  git reads the exit
 * status: 0 good, 1..127 except 125 bad, 125 skip, 128 and over abort.  A
 * commit whose target does not build or start, crashes, or gives no
 * verdict is neither good nor bad, so those exit 125 (skip) instead of 3;
 * a usage or environment error (a bad flag, a tool that cannot run) is the
 * same for every commit and would mark them all bad, so it exits 128 and
 * stops the bisection, as does an interrupt.
 */
#include "alloc.h"
#include "cli.h"
#include "commands.h"
#include "measure.h"
#include "report.h"
#include "runner.h"
#include "slope.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOAK_DEFAULT_SECONDS 60.0
/* Seconds between rewrites of the partial report. */
#define SOAK_WRITE_EVERY 5.0
/* git bisect run's statuses. */
#define BISECT_SKIP 125
#define BISECT_ABORT 128

static const char help[] =
    "usage: leak-hunt soak [--duration S | --work N] [--budget B]\n"
    "                      [--report DIR] [--json FILE] [--enable LIST]\n"
    "                      [--tool rss|heap|memcheck] [--extend N]\n"
    "                      [--inject STAGE:KIND:BYTES[:EVERY]]...\n"
    "                      [--scenario NAME] [--nodes N] [--timeout S]\n"
    "                      [--stages LIST] [--target-wraps] [--git-bisect]\n"
    "                      [--quiet] [-- TARGET ARGS...]\n"
    "\n"
    "Runs the target for a long time (default 60 s) with every stage on\n"
    "(or the stages in LIST) and checks its memory growth against a budget\n"
    "in bytes per unit of work (default 1; events for the built-in\n"
    "pipeline).  With --report DIR, samples.csv, report.json and\n"
    "report.html are rewritten every few seconds while the run goes, so a\n"
    "killed job still leaves its evidence.\n"
    "\n"
    "Exit: 0 within budget (the 95% interval of the slope lies below it,\n"
    "or does once one-off jumps are taken out, or does in the last third\n"
    "of the run: growth that levelled off, a cache that filled), 1 over\n"
    "budget (the whole run's interval lies above it), 2 usage or\n"
    "environment error, 3 cannot tell (run longer) or target failure.\n"
    "\n"
    "--git-bisect: for 'git bisect run': a target that does not build,\n"
    "start or finish, and a verdict that cannot be reached, exit 125\n"
    "(skip), and so does a missing built-in target (the commit's build\n"
    "failed); other usage and environment errors exit 128 (abort the\n"
    "bisection).\n";

typedef struct soak {
    lh_runner *run;
    double budget;
    double planned; /* seconds, or units with --work */
    const char *planned_unit;
    double next_line; /* elapsed seconds of the next stderr line */
    double line_every;
    int quiet;
} soak;

/* 1 when `flag` (as "--flag" or "--flag=...") is among the options,
 * before any "--". */
static int given(int argc, char **argv, const char *flag)
{
    size_t len = strlen(flag);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strncmp(argv[i], flag, len) == 0 &&
            (argv[i][len] == '\0' || argv[i][len] == '='))
            return 1;
    }
    return 0;
}

/* Writes a file through `fn` to path.tmp and renames it over path, so
 * that a reader (or a job killed mid-write) never sees half a file. */
static void write_atomically(const char *path,
                             int (*fn)(const void *obj, const char *path),
                             const void *obj)
{
    char tmp[1300];
    if (strlen(path) + sizeof ".tmp" > sizeof tmp)
        return;
    snprintf(tmp, sizeof tmp, "%.1200s.tmp", path);
    if (fn(obj, tmp) == 0)
        rename(tmp, path);
    else
        remove(tmp);
}

static int write_json(const void *rep, const char *path)
{
    return lh_report_write_json(rep, path);
}

static int write_html(const void *rep, const char *path)
{
    return lh_report_write_html(rep, path);
}

static int write_csv(const void *series, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    int rc = lh_series_write_csv(series, f);
    if (fclose(f) != 0)
        rc = -1;
    return rc < 0 ? -1 : 0;
}

/* The decision on the series so far, with the budget as floor, into the
 * copy `cur`; the same signal choice as the measurement's (the live heap
 * when the target reports it, else RSS). */
static void judge_so_far(const soak *s, lh_run_result *cur)
{
    const lh_series *ser = &cur->series;
    int heap = 0, queue = 0;
    for (size_t i = 0; i < ser->n; i++) {
        if (ser->v[i].heap > 0)
            heap = 1;
        if (ser->v[i].queue > 0)
            queue = 1;
    }
    cur->signal = heap ? "heap" : "rss";
    cur->slope = cur->ci_low = cur->ci_high = NAN;
    lh_slope_sample *v = lh_calloc(ser->n ? ser->n : 1, sizeof *v);
    if (v == NULL)
        return;
    for (size_t i = 0; i < ser->n; i++) {
        v[i].work = ser->v[i].work;
        if (i > 0 && v[i].work < v[i - 1].work)
            v[i].work = v[i - 1].work;
        v[i].bytes = heap ? ser->v[i].heap : ser->v[i].rss;
        v[i].queue = queue ? ser->v[i].queue : -1;
    }
    lh_decide_opts opts;
    lh_decide_opts_init(&opts);
    opts.threshold = s->budget;
    lh_decision d;
    if (lh_decide(v, ser->n, &opts, &d) == 0) {
        cur->slope = d.slope;
        cur->ci_low = d.ci_low;
        cur->ci_high = d.ci_high;
    }
    lh_free(v);
}

/* The measurement's progress callback: the partial report. */
static void on_progress(void *arg, const lh_run_result *res, double elapsed,
                        double work)
{
    soak *s = arg;
    lh_runner *r = s->run;
    lh_run_result cur = *res; /* shallow: shares the series and sites */
    char path[1200];

    cur.work = work;
    cur.seconds = elapsed;
    cur.rate = elapsed > 0 ? work / elapsed : 0;
    cur.threshold = s->budget;
    cur.verdict = LH_RUN_INCONCLUSIVE;
    judge_so_far(s, &cur);
    snprintf(cur.reason, sizeof cur.reason,
             "partial: soak running, %.0f of %.0f %s",
             s->planned_unit[0] == 's' ? elapsed : work, s->planned,
             s->planned_unit);

    if (!s->quiet && elapsed >= s->next_line) {
        fprintf(stderr,
                "leak-hunt soak: %.0f s, %.0f units: %+.2f B/unit "
                "(95%% CI %.2f..%.2f), budget %.2f\n",
                elapsed, work, cur.slope, cur.ci_low, cur.ci_high, s->budget);
        s->next_line = elapsed + s->line_every;
    }
    if (r->own_dir) /* no --report: nothing to leave behind */
        return;

    snprintf(path, sizeof path, "%s/samples.csv", res->dir);
    write_atomically(path, write_csv, &res->series);
    lh_report rep = {0};
    lh_runner_report(r, &rep);
    rep.verdict = "inconclusive";
    rep.runs = &cur;
    rep.nruns = 1;
    snprintf(path, sizeof path, "%s/report.json", r->dir);
    write_atomically(path, write_json, &rep);
    snprintf(path, sizeof path, "%s/report.html", r->dir);
    write_atomically(path, write_html, &rep);
}

/* The gate's rule on top of the decision: the decision calls a leak only
 * when the early and the late part of the run each grow faster than the
 * floor too (a guard a hunt needs against caches still filling), and on a
 * short soak of a busy pipeline the late third alone is often too noisy to
 * clear it.  A soak is over budget when the whole run's 95% lower bound is
 * over the budget; the decision's clean answers (flat, one-off steps, a
 * late part under the budget: growth that levelled off) stand, and a run
 * cut short by the timeout stays inconclusive. */
static void gate(lh_run_result *res)
{
    if (res == NULL || res->verdict != LH_RUN_INCONCLUSIVE)
        return;
    if (strncmp(res->reason, "timed out", 9) == 0)
        return;
    if (!(res->ci_low > res->threshold))
        return;
    char why[sizeof res->reason];
    snprintf(why, sizeof why, "%s", res->reason);
    snprintf(res->reason, sizeof res->reason,
             "lower bound over budget (decision: %.100s)", why);
    res->verdict = LH_RUN_LEAK;
}

/* The status for a verdict; `bisect` maps the inconclusive ones. */
static int status_of(const lh_run_result *res, const lh_runner *r, int bisect,
                     const char **verdict)
{
    if (r->tool_failed) {
        *verdict = "error";
        return bisect ? BISECT_ABORT : 2;
    }
    if (r->interrupted) {
        *verdict = "error";
        return bisect ? BISECT_ABORT : 3;
    }
    if (res == NULL || res->verdict == LH_RUN_ERROR) {
        *verdict = "error";
        return bisect ? BISECT_SKIP : 3;
    }
    if (res->verdict == LH_RUN_LEAK) {
        *verdict = "leak";
        return 1;
    }
    if (res->verdict == LH_RUN_CLEAN) {
        *verdict = "clean";
        return 0;
    }
    *verdict = "inconclusive";
    return bisect ? BISECT_SKIP : 3;
}

static void say(const lh_run_result *res, const char *verdict, double budget,
                const char *unit, const char *error)
{
    if (strcmp(verdict, "error") == 0) {
        printf("error: %s\n", error);
        return;
    }
    const char *what = strcmp(verdict, "leak") == 0    ? "over budget"
                       : strcmp(verdict, "clean") == 0 ? "within budget"
                                                       : "cannot tell";
    printf("%s: %+.2f B/%s (95%% CI %.2f-%.2f, %s), budget %.2f B/%s; "
           "%.0f %ss in %.1f s%s%s%s\n",
           what, res->slope, unit, res->ci_low, res->ci_high, res->reason,
           budget, unit, res->work, unit, res->seconds,
           res->enabled[0] ? " with " : "", res->enabled,
           res->enabled[0] ? " on" : "");
}

int lh_cmd_soak(int argc, char **argv)
{
    lh_cli c = {.cmd = "soak"};
    int bisect = given(argc, argv, "--git-bisect");
    int rc = lh_cli_parse(argc, argv, help, &c);
    if (rc)
        return rc == 1    ? 0
               : !bisect  ? rc
               : c.target_missing ? BISECT_SKIP /* this commit did not build */
                                  : BISECT_ABORT;

    if (!given(argc, argv, "--budget"))
        c.budget = LH_DECIDE_DEFAULT_THRESHOLD;
    if (given(argc, argv, "--threshold")) {
        fprintf(stderr, "leak-hunt soak: use --budget, not --threshold\n");
        return bisect ? BISECT_ABORT : 2;
    }
    c.threshold = c.budget;
    if (!given(argc, argv, "--extend"))
        c.max_extend = 0;
    if (c.work <= 0 && c.duration <= 0)
        c.duration = SOAK_DEFAULT_SECONDS;
    if (c.work > 0)
        c.duration = 0; /* --work wins, as in run */
    if (!given(argc, argv, "--timeout"))
        c.timeout = c.duration * (1 << c.max_extend) + 300;
    if (c.tool == NULL)
        c.tool = lh_tool_for(LH_TOOL_FOR_SEARCH);

    lh_runner run;
    rc = lh_runner_init(&run, &c);
    if (rc)
        return bisect ? BISECT_ABORT : rc;
    soak s = {
        .run = &run,
        .budget = c.budget,
        .planned = c.work > 0 ? c.work : c.duration,
        .planned_unit = c.work > 0 ? "units" : "seconds",
        .quiet = c.quiet,
    };
    /* A line on stderr now and then: CI logs show how a long soak goes. */
    s.line_every = c.duration / 6;
    if (s.line_every < 10)
        s.line_every = 10;
    if (s.line_every > 60)
        s.line_every = 60;
    s.next_line = s.line_every;
    run.progress = on_progress;
    run.progress_arg = &s;
    run.progress_every = SOAK_WRITE_EVERY;
    if (!run.own_dir && !c.quiet)
        fprintf(stderr,
                "leak-hunt soak: report in %s (rewritten every %.0f "
                "s)\n",
                run.dir, SOAK_WRITE_EVERY);

    lh_run_result *res = lh_runner_measure(&run, c.enable, c.tool);
    gate(res);
    lh_report rep = {0};
    lh_runner_report(&run, &rep);
    const char *verdict;
    int status = status_of(res, &run, bisect, &verdict);
    rep.verdict = verdict;
    if (res && res->verdict == LH_RUN_ERROR)
        snprintf(rep.error, sizeof rep.error, "%s", res->error);
    else if (res == NULL)
        snprintf(rep.error, sizeof rep.error, "out of memory");
    say(res, verdict, c.budget, rep.unit, rep.error);
    if (lh_runner_write(&run, &rep) < 0 && (status == 0 || status == 1))
        status = bisect ? BISECT_ABORT : 2;
    if (bisect && !c.quiet)
        fprintf(stderr, "leak-hunt soak: git bisect: %s (exit %d)\n",
                status == 0             ? "good"
                : status == 1           ? "bad"
                : status == BISECT_SKIP ? "skip"
                                        : "abort",
                status);
    lh_runner_free(&run);
    return status;
}
