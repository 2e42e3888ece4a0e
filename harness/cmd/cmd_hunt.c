/*
 * leak-hunt hunt: find the stage that leaks (docs/architecture.md).
 *
 * The command is thin: it parses the options, runs the strategy the table
 * in harness/hunt/strategies.c names (pure code over a "measure this
 * configuration" callback, strategy.h), gives it a callback that measures
 * over the runner, and builds the report once from the strategy's result
 * and the runner's runs.  The callback picks the tool for each job
 * (lh_tool_for), keeps one answer per configuration and tool (no
 * configuration runs twice with the same tool, except when a strategy asks
 * for a fresh run), and turns a job into a run plan: how long, and whether
 * it may stop early.
 *
 * Where auto's time goes, and why it is spent so (rpc:reachable:64 on the
 * built-in pipeline, load ~2): before, every prefix ran 1.5M events (5 x
 * 34 s), then the heap tool on the full set (74 s) and memcheck until 20
 * leak searches (61 s, plus 16 s for valgrind's exit report over the
 * leaked heap): 321 s.  Now:
 *   - search runs decide sequentially (lh_measure_opts.look_every): a look
 *     every 50k events, and two looks in a row that agree on leak or
 *     clean end the run.  The target's own heap figure fits a 64 B/event
 *     leak to +-1 and a clean pipeline to +-0.5 after 100-200k events, and
 *     a run's fixed cost is ~4.5 s (start-up until the first event,
 *     stop), so a run takes ~9 s instead of 34.  The budget (--work)
 *     stays the limit for a run that cannot decide.
 *   - the confirmation reruns the culprit and its leak-free neighbour:
 *     the neighbour (the prefix without the first culprit) with the
 *     search tool, afresh (one more search run, ~7 s: the step must still
 *     add a leak over it), and the culprit with the heap tool, which runs
 *     once, on the smallest configuration that holds every culprit: a
 *     leak there, charged to the culprits' code, is the culprit measured
 *     twice with two tools.  It runs
 *     a fixed 300k events (no early stop: its first 100-200k events
 *     overstate the slope, +114..+84 for 64, while its profiler warms up),
 *     ~15 s.  Only when it does not agree is the culprit's configuration
 *     measured again with the search tool, to the full budget.
 *   - memcheck is asked for the kind only: it runs until 4 leak searches
 *     have come back (kind = reachable growth between searches, or
 *     definitely lost in valgrind's exit report) instead of the 20 its
 *     own slope needs, on the shortest leaking prefix.
 * Measured (bench_localise, rpc:reachable:64, --work 300000): 59.6, 62.2
 * and 62.6 s, 6 runs, at load 5-8, before the neighbour's rerun was
 * added; the heap run is ~15 s of it, memcheck ~14 s with valgrind's
 * exit.
 * Results of a configuration are cached per tool: no configuration runs
 * twice with the same tool, except the confirmation's deliberate rerun.
 */
#include "cli.h"
#include "commands.h"
#include "error.h"
#include "hunt.h"
#include "report.h"
#include "runner.h"
#include "slope.h"
#include "strategy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Search runs on the built-in pipeline: a look every LOOK_EVENTS. */
#define LOOK_EVENTS 50000.0
/* Other targets: a look every tenth of the budget. */
#define LOOK_SHARE 0.1
/* The heap tool's run on the built-in pipeline, at most. */
#define HEAP_EVENTS 300000.0
/* Leak searches memcheck's kind-only run waits for. */
#define KIND_SEARCHES 4

/* Search runs on the built-in pipeline: a look every LOOK_EVENTS. */
#define LOOK_EVENTS 50000.0
/* Other targets: a look every tenth of the budget. */
#define LOOK_SHARE 0.1
/* The heap tool's run on the built-in pipeline, at most. */
#define HEAP_EVENTS 300000.0
/* Leak searches memcheck's kind-only run waits for. */
#define KIND_SEARCHES 4

typedef struct hunt {
    lh_runner run;
    lh_cli cli;
    lh_hunt_stages st;
    int failed; /* a run failed: target error or tool error */
    lh_hunt_result res;
    lh_report rep;
    lh_stage_share shares[LH_HUNT_MAX_STAGES];
} hunt;

static const char help[] =
    "usage: leak-hunt hunt [--strategy auto|linear|bisect|isolate|ddmin]\n"
    "                      [--tool auto|rss|heap|memcheck]\n"
    "                      [--work N | --duration S] [--threshold B]\n"
    "                      [--report DIR] [--json FILE] [--stages LIST]\n"
    "                      [--requires S:DEP,...] [--inject SPEC]...\n"
    "                      [--scenario NAME] [--nodes N] [--stage-map MAP]\n"
    "                      [--timeout S] [--quiet] [-- TARGET ARGS...]\n"
    "\n"
    "Finds which stage of the target leaks by measuring configurations of\n"
    "its stages.  Without '-- TARGET' the target is the built-in selfheal\n"
    "pipeline (stages forward,hash,enqueue,verify,rpc) on the embedded\n"
    "broker; a generic target gets the stage list in LEAKHUNT_STAGES and\n"
    "wherever its arguments say {stages}.\n"
    "--work and --duration are per configuration (default: 1500000\n"
    "events for the built-in pipeline, 20 s for another target); memcheck\n"
    "gets 1/50 of a work budget, valgrind being that much slower.  Search\n"
    "runs stop before their budget once two looks in a row (every 50k\n"
    "events, or a tenth of the budget) agree on leak or clean.\n"
    "auto: the full set first (clean: done), then halves the ranges of\n"
    "prefixes that add a leak, down to the stages that do; then confirms:\n"
    "the first culprit's leak-free neighbour again (the culprit's step must\n"
    "still add a leak), the heap tool on the culprits' configuration (sites,\n"
    "in the culprits' code), and memcheck until 4 leak searches (the kind).\n"
    "Exit: 0 no leak, 1 leak found, 2 usage or environment error,\n"
    "3 inconclusive or target failure.\n";

/* The tool that does a job: the search's is --tool's when given. */
static const lh_tool *tool_for(const hunt *h, lh_hunt_job job)
{
    switch (job) {
    case LH_HUNT_SITES:
        return lh_tool_for(LH_TOOL_FOR_SITES);
    case LH_HUNT_KIND:
        return lh_tool_for(LH_TOOL_FOR_KIND);
    case LH_HUNT_SEARCH:
    default:
        return h->cli.tool ? h->cli.tool : lh_tool_for(LH_TOOL_FOR_SEARCH);
    }
}

/* How a job is run.  A search run looks every LOOK_EVENTS (built-in) or
 * every LOOK_SHARE of the budget, so it ends once it is decided; a second
 * opinion runs to the whole budget.  The sites run is a fixed
 * HEAP_EVENTS on the built-in pipeline (no early stop: its first
 * 100-200k events overstate the slope while the profiler warms up).  The
 * kind run ends when KIND_SEARCHES leak searches have come back: its work
 * budget is spent at once. */
static lh_run_plan run_plan(const hunt *h, const lh_hunt_plan *p)
{
    lh_run_plan rp = {0};
    double work = lh_runner_default_work(&h->run);
    switch (p->job) {
    case LH_HUNT_SEARCH:
        if (p->whole)
            break;
        if (h->cli.builtin && work > 0)
            rp.look_every =
                LOOK_EVENTS < 0.5 * work ? LOOK_EVENTS / work : 0.5;
        else
            rp.look_every = LOOK_SHARE;
        break;
    case LH_HUNT_SITES:
        if (h->cli.builtin && work > HEAP_EVENTS)
            rp.work = HEAP_EVENTS;
        break;
    case LH_HUNT_KIND:
        rp.tool_points = KIND_SEARCHES;
        rp.extend = 1;
        if (h->cli.builtin && work > 0)
            rp.work = 1;
        break;
    }
    return rp;
}

/* A kind-only run that stopped at its few leak searches says so, rather
 * than that it needs more to decide. */
static void note_kind_only(lh_run_result *mc)
{
    if (mc->verdict == LH_RUN_INCONCLUSIVE && mc->tool_series.n > 0 &&
        mc->tool_series.n < 20)
        snprintf(mc->reason, sizeof mc->reason,
                 "asked for the kind of leak only (%zu leak searches)",
                 mc->tool_series.n);
}

/* The run of `name` with `tool` measured already, or NULL. */
static lh_run_result *cached(hunt *h, const char *name, const lh_tool *tool)
{
    for (size_t i = 0; i < h->run.nruns; i++)
        if (strcmp(h->run.runs[i].enabled, name) == 0 &&
            strcmp(h->run.runs[i].tool, tool->name) == 0)
            return &h->run.runs[i];
    return NULL;
}

/* The strategies' callback (strategy.h): measures a set over the runner,
 * or gives the answer it has. */
static int measure_set(void *arg, unsigned set, const lh_hunt_plan *p,
                       const lh_run_result **out)
{
    hunt *h = arg;
    const lh_tool *tool = tool_for(h, p->job);
    char name[512];
    lh_hunt_set_name(&h->st, set, name, sizeof name);
    lh_run_result *r = p->fresh ? NULL : cached(h, name, tool);
    if (r == NULL) {
        if (h->failed || lh_runner_interrupted())
            return LH_EIO;
        lh_run_plan rp = run_plan(h, p);
        r = lh_runner_measure_plan(&h->run, name, tool, &rp);
        if (r == NULL || r->verdict == LH_RUN_ERROR) {
            h->failed = 1;
            return LH_EIO;
        }
    }
    if (p->job == LH_HUNT_KIND)
        note_kind_only(r);
    *out = r;
    return 0;
}

/* The breakdown's rows as the report shows them. */
static void report_rows(hunt *h)
{
    for (int g = 0; g < h->res.nrows; g++) {
        const lh_hunt_row *x = &h->res.rows[g];
        lh_stage_share *s = &h->shares[g];
        memset(s, 0, sizeof *s);
        lh_hunt_set_name(&h->st, x->added, s->stages, sizeof s->stages);
        size_t len = 0;
        for (int i = 0; i < h->st.n && len < sizeof s->stage; i++)
            if (x->added & (1u << i))
                len += (size_t)snprintf(s->stage + len, sizeof s->stage - len,
                                        "%s%s", len ? "+" : "",
                                        h->st.names[i]);
        s->bytes_per_unit = x->d.value;
        s->ci_low = x->d.low;
        s->ci_high = x->d.high;
        s->leaks = x->leaks;
    }
    h->rep.shares = h->res.nrows ? h->shares : NULL;
    h->rep.nshares = (size_t)h->res.nrows;
}

/* The verdict and the exit status, from the strategy's result and how the
 * runs went. */
static int report_verdict(hunt *h)
{
    lh_report *rep = &h->rep;
    if (h->run.tool_failed) {
        rep->verdict = "error";
        snprintf(rep->error, sizeof rep->error, "a measurement tool could "
                 "not run; see above and 'leak-hunt doctor'");
        return 2;
    }
    if (h->failed || h->run.interrupted) {
        const lh_run_result *last =
            h->run.nruns ? &h->run.runs[h->run.nruns - 1] : NULL;
        rep->verdict = "error";
        snprintf(rep->error, sizeof rep->error, "%s",
                 last && last->error[0] ? last->error : "a run failed");
        return 3;
    }
    if (rep->nculprit > 0) {
        rep->verdict = "leak";
        return 1;
    }
    if (h->res.unconfirmed || h->res.undecided) {
        /* growth, but no stage's; or a run that could not be decided */
        rep->verdict = "inconclusive";
        return 3;
    }
    rep->verdict = "clean";
    return 0;
}

/* The report, built once: what the strategy found, then the runner's
 * fields (lh_runner_report leaves those set here as they are). */
static int build_report(hunt *h)
{
    lh_report *rep = &h->rep;
    memset(rep, 0, sizeof *rep);
    rep->strategy = h->cli.strategy;
    for (int i = 0; i < h->res.nculprit; i++)
        snprintf(rep->culprit[i], sizeof rep->culprit[i], "%.31s",
                 h->st.names[h->res.culprit[i]]);
    rep->nculprit = h->res.nculprit;
    rep->memcheck_kind = h->res.memcheck_kind;
    snprintf(rep->error, sizeof rep->error, "%s", h->res.note);
    report_rows(h);
    int status = report_verdict(h);
    lh_runner_report(&h->run, rep);
    return status;
}

/* Options and stages; 0, or the exit status. */
static int parse(hunt *h, int argc, char **argv)
{
    h->cli.cmd = "hunt";
    int rc = lh_cli_parse(argc, argv, help, &h->cli);
    if (rc)
        return rc == 1 ? -1 : rc;
    if (h->cli.stages == NULL) {
        fprintf(stderr, "leak-hunt hunt: --stages LIST is required for a "
                        "target other than the built-in pipeline\n");
        return 2;
    }
    char err[256];
    if (lh_hunt_stages_parse(&h->st, h->cli.stages, h->cli.requires, err,
                             sizeof err) < 0) {
        fprintf(stderr, "leak-hunt hunt: %s\n", err);
        return 2;
    }
    return 0;
}

int lh_cmd_hunt(int argc, char **argv)
{
    static hunt h;
    memset(&h, 0, sizeof h);
    int rc = parse(&h, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    rc = lh_runner_init(&h.run, &h.cli);
    if (rc)
        return rc;
    lh_hunt_ctx ctx = {
        .st = &h.st,
        .floor = h.cli.threshold >= 0 ? h.cli.threshold
                                      : LH_DECIDE_DEFAULT_THRESHOLD,
        .log = h.cli.quiet ? NULL : stderr,
        .measure = measure_set,
        .arg = &h,
    };
    const lh_hunt_strategy *s = lh_hunt_strategy_find(h.cli.strategy);
    lh_hunt_run(s ? s : &lh_hunt_strategies[0], &ctx, &h.res);

    int status = build_report(&h);
    lh_report_verdict(&h.rep, stdout);
    if (!h.cli.quiet)
        fprintf(stderr, "leak-hunt: strategy %s used %zu run%s in %.1f s\n",
                h.cli.strategy, h.run.nruns, h.run.nruns == 1 ? "" : "s",
                h.rep.elapsed_seconds);
    if (lh_runner_write(&h.run, &h.rep) < 0 && status < 2)
        status = 2;
    lh_runner_free(&h.run);
    return status;
}
