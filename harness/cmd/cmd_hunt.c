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
 *
 * The baseline (no stage on) comes first, for every strategy.  Its search
 * run is bounded in time, not in work: a target may do no work with no
 * stage on (the built-in pipeline: forward off, A drops every event and
 * the B nodes finish none), and a run that waits for work would wait for
 * its timeout.  Such a run is decided again per second of time (its
 * samples' memory against their time), so that idle growth is still seen;
 * on the built-in pipeline it lasts BASELINE_SECONDS.
 */
#include "cli.h"
#include "commands.h"
#include "abiprobe.h"
#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "hunt.h"
#include "preload.h"
#include "report.h"
#include "runner.h"
#include "slope.h"
#include "strategy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Search runs on the built-in pipeline: a look every LOOK_EVENTS. */
#define LOOK_EVENTS 50000.0
/* Other targets: a look every tenth of the budget. */
#define LOOK_SHARE 0.1
/* A live segment's search: a look every LIVE_LOOK_S of its measured part
 * (its rate depends on the configuration: 15-50k events/s under the heap
 * tool); a decision needs 12 samples after the warm-up anyway, so the
 * first two that agree come 1.5-1.8 s in. */
#define LIVE_LOOK_S 0.3
/* The heap tool's run on the built-in pipeline, at most. */
#define HEAP_EVENTS 300000.0
/* Leak searches memcheck's kind-only run waits for. */
#define KIND_SEARCHES 4
/* The baseline's search run on the built-in pipeline, in seconds: it does
 * no work with no stage on, and its B nodes' heap is flat to the byte
 * once they have started (0.2 s); an undecided one is measured again,
 * twice as long.  Not shorter: `selfheal up` stopped before its roles
 * have all started takes ~10 s more to stop (3 s: 13.2 s a run, 4 s:
 * 4.2 s, 5 s: 5.2 s, at load 5). */
#define BASELINE_SECONDS 5.0
/* The same in a live run, where nothing is stopped after it: long enough
 * for a decision per second (12 samples after its warm-up, the first
 * stats line ~0.3 s after the start).  The consumer group's join (~3 s)
 * goes on into the next segment, whose settle period waits for work. */
#define LIVE_BASELINE_SECONDS 2.5
/* Sites of the culprit's runs whose files mark ABI conflicts. */
#define ABI_STACK_SITES 5
/* Another target's baseline with a work budget: the seconds a run of
 * such a target gets by default (lh_runner_measure_plan). */
#define BASELINE_FOREIGN_SECONDS 20.0
/* Baseline runs kept as decided per second. */
#define MAX_PER_SECOND 8
/* What memcheck's run for the kind needs at least, of what --timeout
 * leaves a live hunt (the target's start, 4 leak searches, valgrind's
 * exit report: 6.5-10 s on the built-in pipeline); less: skipped. */
#define KIND_ROOM_S 10.0

#ifndef LH_TCMALLOC_SO
#define LH_TCMALLOC_SO "libtcmalloc.so.4"
#endif

typedef struct hunt {
    lh_runner run;
    lh_cli cli;
    lh_hunt_stages st;
    int failed; /* a run failed: target error or tool error */
    size_t per_second[MAX_PER_SECOND]; /* runs decided per second */
    int nper_second;
    double floor;
    lh_hunt_result res;
    lh_report rep;
    lh_stage_share shares[LH_HUNT_MAX_STAGES];
    double verdict_at;   /* seconds: culprits and sites known */
    lh_hunt_ctx *ctx;    /* the strategy's: its floor is learnt */
    int floor_known;
    char kind_note[256]; /* why memcheck's run was skipped */
    lh_abiprobe *abi; /* every run's processes checked before they stop */
} hunt;

static const char help[] =
    "usage: leak-hunt hunt [--strategy auto|linear|bisect|isolate|ddmin]\n"
    "                      [--tool auto|rss|heap|memcheck]\n"
    "                      [--work N | --duration S] [--threshold B]\n"
    "                      [--report DIR] [--json FILE] [--stages LIST]\n"
    "                      [--requires S:DEP,...] [--inject SPEC]...\n"
    "                      [--scenario NAME] [--nodes N] [--stage-map MAP]\n"
    "                      [--timeout S] [--restart] [--quiet]\n"
    "                      [--metrics URL [--work-metric SEL]\n"
    "                       [--memory-metric SEL] [--switch-cmd CMD]]\n"
    "                      [-- TARGET ARGS...]\n"
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
    "Every strategy first measures the baseline, no stage on: growth there\n"
    "is a leak outside the stages (exit 1, no stage named), and a stage\n"
    "is then charged only for what it adds over it.  A target that does no\n"
    "work with no stage on is measured per second there.\n"
    "Live (the default): the target is started once and its stages are\n"
    "switched under it through LEAKHUNT_CONTROL (docs/protocol.md section\n"
    "5); each configuration is a segment of that run, measured after the\n"
    "switch has settled, under the heap profiler (unless --tool rss or the\n"
    "program cannot take it), and --timeout bounds the whole hunt.  A\n"
    "target that never shows stages= on its stats lines is restarted per\n"
    "configuration, as --restart asks for (--timeout: per run then).\n"
    "auto: the full set first (clean: done), then halves the ranges of\n"
    "prefixes that add a leak, down to the stages that do; then confirms:\n"
    "the first culprit's leak-free neighbour again (the culprit's step must\n"
    "still add a leak), the heap tool on the culprits' configuration (sites,\n"
    "in the culprits' code), and memcheck until 4 leak searches (the kind).\n"
    "--metrics URL: work and memory from the service's Prometheus metrics\n"
    "(docs/protocol.md section 9; see 'leak-hunt run --help'); with a\n"
    "target, it is started per configuration.  Watch mode (no '--\n"
    "TARGET'): nothing is started; --memory-metric and --switch-cmd 'CMD\n"
    "{stages}' are required: leak-hunt runs CMD through sh -c with\n"
    "{stages} replaced by the shell-quoted list ('' for none) for each\n"
    "configuration (the baseline too), waits for the service's\n"
    "leakhunt_stages series to show it (or its work counter to move\n"
    "again), measures it as a segment, and switches the service back to\n"
    "its first list at the end.  A switch command that fails (non-zero,\n"
    "or 20 s) or a switch not shown in 10 s: exit 3, naming the list.\n"
    "Exit: 0 no leak, 1 leak found, 2 usage or environment error,\n"
    "3 inconclusive or target failure.\n";

/* The tool that does a job: the search's is the live run's, else
 * --tool's when given.  Under the heap tool the live run's segments are
 * the sites job's answers too (no run of its own). */
static const lh_tool *tool_for(const hunt *h, lh_hunt_job job)
{
    if (h->cli.metrics) /* the service's own figures: no other tool */
        return h->cli.tool;
    switch (job) {
    case LH_HUNT_SITES:
        return lh_tool_for(LH_TOOL_FOR_SITES);
    case LH_HUNT_KIND:
        return lh_tool_for(LH_TOOL_FOR_KIND);
    case LH_HUNT_SEARCH:
    default:
        if (h->run.live_tool)
            return h->run.live_tool;
        return h->cli.tool ? h->cli.tool : lh_tool_for(LH_TOOL_FOR_SEARCH);
    }
}

/* 1 when the heap tool can serve the target's program (preload.h: not
 * built with a sanitizer, no allocator of its own, not static); else 0
 * with the note for the report. */
static int heap_serves(const hunt *h, char *note, size_t cap)
{
    const char *ours = strrchr(LH_TCMALLOC_SO, '/');
    ours = ours ? ours + 1 : LH_TCMALLOC_SO;
    lh_preload_check chk;
    if (lh_preload_check_program(h->run.argv[0], getenv("LD_PRELOAD"), ours,
                                 &chk) < 0 ||
        chk.kind == LH_PRELOAD_OK || chk.kind == LH_PRELOAD_UNKNOWN)
        return 1;
    snprintf(note, cap, "the heap tool cannot serve %.200s (%.200s): the "
             "live run is not under it, nothing is preloaded", chk.program,
             chk.why);
    return 0;
}

/* Live (docs/protocol.md section 5) unless --restart, or a search tool
 * with a signal of its own (memcheck's leak searches are gathered per
 * run); under the heap tool unless --tool names another or the target's
 * program cannot take it (then the search tool's, rss). */
static void choose_mode(hunt *h)
{
    const lh_tool *t = h->cli.tool;
    const lh_tool *sites = lh_tool_for(LH_TOOL_FOR_SITES);
    char note[512] = "";
    if (h->cli.watch) {
        lh_runner_go_live(&h->run, h->cli.tool, "watch mode: nothing "
                          "started; each configuration a segment of the "
                          "running service, switched by --switch-cmd");
        return;
    }
    if (h->cli.metrics) {
        lh_runner_restart(&h->run, "measured through --metrics: each "
                                   "configuration in a target of its own");
        return;
    }
    if (h->cli.restart) {
        lh_runner_restart(&h->run, "--restart");
        return;
    }
    if (t && t->own_signal) {
        snprintf(note, sizeof note, "--tool %s decides on a signal of its "
                 "own, gathered per run: each configuration runs in a "
                 "target of its own", t->name);
        lh_runner_restart(&h->run, note);
        return;
    }
    if ((t == NULL || t == sites) && heap_serves(h, note, sizeof note)) {
        lh_runner_go_live(&h->run, sites, NULL);
        return;
    }
    if (t && t != sites)
        snprintf(note, sizeof note, "--tool %s: the live run is not under "
                 "the heap profiler", t->name);
    lh_runner_go_live(&h->run, t && t != sites ? t
                                               : lh_tool_for(LH_TOOL_FOR_SEARCH),
                      note);
}

/* The baseline's search run: bounded in time (the target may do no work
 * with no stage on), with no extension of its own (baseline_longer
 * decides what an undecided one gets). */
static void baseline_plan(const hunt *h, const lh_hunt_plan *p,
                          lh_run_plan *rp)
{
    rp->duration = h->cli.duration > 0 ? h->cli.duration
                   : !h->cli.builtin   ? BASELINE_FOREIGN_SECONDS
                   : h->run.live_tool  ? LIVE_BASELINE_SECONDS
                                       : BASELINE_SECONDS;
    rp->extend = 1;
    if (!p->whole && h->run.live_tool)
        rp->look_seconds = LIVE_LOOK_S;
    else if (!p->whole)
        rp->look_every = LOOK_SHARE;
}

/* How a job is run.  A search run looks every LOOK_EVENTS (built-in) or
 * every LOOK_SHARE of the budget, or in a live run every LIVE_LOOK_S, so
 * it ends once it is decided; a second opinion runs to the whole
 * budget.  The sites run is a fixed
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
        if (p->baseline)
            baseline_plan(h, p, &rp);
        else if (p->whole)
            break;
        else if (h->run.live_tool)
            rp.look_seconds = LIVE_LOOK_S;
        else if (h->cli.builtin && work > 0)
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

/* 1 when run i was decided per second. */
static int per_second(const hunt *h, size_t i)
{
    for (int k = 0; k < h->nper_second; k++)
        if (h->per_second[k] == i)
            return 1;
    return 0;
}

/* A baseline run of a target that reported stats but did no work (the
 * built-in pipeline with forward off) could not be decided per unit: it
 * is decided per second of time instead, against the same floor, on the
 * signal it was measured on, and its series is kept against seconds (the
 * report charts it so).  A tool with a signal of its own (memcheck)
 * is left as it is.  Returns 1 when the run was decided again. */
static int decide_per_second(hunt *h, lh_run_result *r)
{
    /* (a live segment's measured part: after its switch and settle) */
    size_t from = r->measured_from < r->series.n ? r->measured_from : 0;
    const lh_sample *s = r->series.v + from;
    size_t n = r->series.n - from;
    /* (a run of its own counts its work from the target's start) */
    if (r->verdict != LH_RUN_INCONCLUSIVE || n == 0 ||
        s[n - 1].work - (from > 0 ? s[0].work : 0) > 0 ||
        r->tool_series.n > 0 ||
        h->nper_second == MAX_PER_SECOND)
        return 0;
    int heap = r->signal && strcmp(r->signal, "heap") == 0;
    lh_slope_sample *v = lh_calloc(n, sizeof *v);
    if (v == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        v[i].work = i > 0 && s[i].t < v[i - 1].work ? v[i - 1].work : s[i].t;
        v[i].bytes = heap ? s[i].heap : s[i].rss;
        v[i].queue = -1;
    }
    lh_decide_opts o;
    lh_decide_opts_init(&o);
    /* On RSS (no heap= in the stats lines), unless --threshold says
     * otherwise, the floor of a run measured by time: RSS moves in pages
     * as an idle process touches memory it already has, and the floor in
     * bytes per unit means nothing per second. */
    double span = s[n - 1].t - s[0].t;
    o.threshold = heap || h->cli.threshold >= 0
                      ? h->floor
                      : lh_measure_rss_second_floor((1 - o.warmup) * span);
    lh_decision d;
    int rc = lh_decide(v, n, &o, &d);
    lh_free(v);
    if (rc < 0)
        return 0;
    /* the series as decided: memory against seconds, for the report */
    double cut = r->series.v[from].t + d.warmup_work;
    for (size_t i = 0; i < r->series.n; i++)
        r->series.v[i].work = r->series.v[i].t;
    r->warmup_work = cut - r->series.v[0].t;
    r->slope = d.slope;
    r->ci_low = d.ci_low;
    r->ci_high = d.ci_high;
    r->threshold = d.threshold;
    r->verdict = d.verdict == LH_VERDICT_LEAK           ? LH_RUN_LEAK
                 : d.verdict == LH_VERDICT_INCONCLUSIVE ? LH_RUN_INCONCLUSIVE
                                                        : LH_RUN_CLEAN;
    snprintf(r->reason, sizeof r->reason,
             "per second: no work done with no stage on; %s",
             lh_decide_reason_name(d.reason));
    h->per_second[h->nper_second++] = (size_t)(r - h->run.runs);
    if (!h->cli.quiet)
        fprintf(stderr, "[%s] %-28s %-8s per second: slope %+.2f B/s "
                        "(%s)\n",
                r->tool, "(none)", lh_run_verdict_name(r->verdict),
                r->slope, lh_decide_reason_name(d.reason));
    return 1;
}

/* The last run of `name` with `tool` measured already, or NULL. */
static lh_run_result *cached(hunt *h, const char *name, const lh_tool *tool)
{
    for (size_t i = h->run.nruns; i-- > 0;)
        if (strcmp(h->run.runs[i].enabled, name) == 0 &&
            strcmp(h->run.runs[i].tool, tool->name) == 0)
            return &h->run.runs[i];
    return NULL;
}

/* A baseline run that could not be decided in its first budget (it has
 * no extension: see baseline_plan) is measured again, twice as long: with
 * the command's extensions when it did work, as any configuration would
 * be; decided per second again when it did none.  Returns the run that
 * stands (NULL: the second failed). */
static lh_run_result *baseline_longer(hunt *h, const char *name,
                                      const lh_tool *tool, lh_run_result *r,
                                      const lh_run_plan *first)
{
    if (r->verdict != LH_RUN_INCONCLUSIVE || h->failed ||
        lh_runner_interrupted() || r->seconds >= 0.99 * h->cli.timeout)
        return r; /* decided, stopped, or cut by --timeout: no longer */
    int idle = per_second(h, (size_t)(r - h->run.runs));
    lh_run_plan rp = *first;
    rp.duration = 2 * first->duration;
    rp.extend = idle ? 1 : 0;
    if (!h->cli.quiet)
        fprintf(stderr, "leak-hunt: the baseline (no stage on) could not "
                        "be decided (%s): measuring it again, longer\n",
                r->reason);
    r = lh_runner_measure_plan(&h->run, name, tool, &rp);
    if (r == NULL || r->verdict == LH_RUN_ERROR)
        return NULL;
    if (idle)
        decide_per_second(h, r);
    return r;
}

/* Measures a set with `tool` as plan p says.  NULL when the run could
 * not be made or failed; a failure marks the hunt failed, except the
 * baseline's (the hunt goes on without it). */
static lh_run_result *run_set(hunt *h, const char *name, const lh_tool *tool,
                              const lh_hunt_plan *p)
{
    if (h->failed || lh_runner_interrupted())
        return NULL;
    lh_run_plan rp = run_plan(h, p);
    lh_run_result *r = lh_runner_measure_plan(&h->run, name, tool, &rp);
    if (r == NULL || r->verdict == LH_RUN_ERROR || h->run.live_failed) {
        /* a target that fails with no stage on may still work with
         * stages; a tool that fails, or a signal, stops the hunt */
        if (!p->baseline || r == NULL || h->run.tool_failed ||
            h->run.interrupted || h->run.env_failed || h->run.live_failed)
            h->failed = 1;
        return NULL;
    }
    if (p->baseline && p->job == LH_HUNT_SEARCH) {
        decide_per_second(h, r);
        r = baseline_longer(h, name, tool, r, &rp);
    }
    return r;
}

/* Before memcheck's run for the kind: the verdict's time, and whether
 * the run is skipped (the tool refuses the target: a sanitizer build; or
 * a live hunt's --timeout leaves it no room), said with a note. */
static int skip_kind(hunt *h, const lh_tool *tool, lh_hunt_answer *out)
{
    char why[512];
    if (h->verdict_at <= 0)
        h->verdict_at = (double)lh_now_us() / 1e6 - h->run.start;
    if (h->cli.metrics) {
        snprintf(h->kind_note, sizeof h->kind_note, "not measured: the "
                 "service is measured through its metrics, valgrind cannot "
                 "look into it");
        out->note = h->kind_note;
        return 1;
    }
    if (lh_tool_refuses(tool, h->run.argv, why, sizeof why)) {
        /* (a sanitizer build: the verdict stands without the kind) */
        if (!h->cli.quiet)
            fprintf(stderr, "leak-hunt: the kind of leak is not measured: "
                            "%s\n", why);
        return 1;
    }
    double room = lh_runner_time_left(&h->run);
    if (!h->run.live_tool || room >= KIND_ROOM_S)
        return 0;
    snprintf(h->kind_note, sizeof h->kind_note, "not measured: --timeout "
             "leaves %.0f s, and memcheck's run needs about %.0f", room,
             KIND_ROOM_S);
    if (!h->cli.quiet)
        fprintf(stderr, "leak-hunt: the kind of leak is %s\n", h->kind_note);
    out->note = h->kind_note;
    return 1;
}

/* The hunt compares runs against their own floor: the decision's for the
 * signal the target gives (measure.c: a heap figure's is lower than
 * RSS's), taken from the first run decided per unit; --threshold fixes
 * it. */
static void learn_floor(hunt *h, const lh_run_result *r, int per_second)
{
    if (h->floor_known || h->cli.threshold >= 0 || per_second ||
        !(r->threshold > 0) || !isfinite(r->slope) || r->tool_series.n > 0)
        return;
    h->floor = r->threshold;
    h->ctx->floor = r->threshold;
    h->floor_known = 1;
}

/* The strategies' callback (strategy.h): measures a set over the runner,
 * or gives the answer it has. */
static int measure_set(void *arg, unsigned set, const lh_hunt_plan *p,
                       lh_hunt_answer *out)
{
    hunt *h = arg;
    const lh_tool *tool = tool_for(h, p->job);
    char name[512];
    if (p->job == LH_HUNT_KIND && skip_kind(h, tool, out))
        return LH_EUNSUPPORTED;
    lh_hunt_set_name(&h->st, set, name, sizeof name);
    lh_run_result *r = p->fresh ? NULL : cached(h, name, tool);
    if (r == NULL)
        r = run_set(h, name, tool, p);
    if (r == NULL)
        return LH_EIO;
    if (p->job == LH_HUNT_KIND)
        note_kind_only(r);
    out->run = r;
    out->per_second = per_second(h, (size_t)(r - h->run.runs));
    learn_floor(h, r, out->per_second);
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
    const lh_run_result *last =
        h->run.nruns ? &h->run.runs[h->run.nruns - 1] : NULL;
    if (h->run.tool_failed) {
        rep->verdict = "error";
        snprintf(rep->error, sizeof rep->error, "a measurement tool could "
                 "not run; see above and 'leak-hunt doctor'");
        return 2;
    }
    if (h->run.env_failed) { /* the control file: environment */
        rep->verdict = "error";
        snprintf(rep->error, sizeof rep->error, "%s",
                 last && last->error[0] ? last->error : "a run failed");
        return 2;
    }
    if (h->failed || h->run.interrupted) {
        rep->verdict = h->run.live_failed && !h->run.interrupted
                           ? "inconclusive"
                           : "error";
        snprintf(rep->error, sizeof rep->error, "%s",
                 last && last->error[0] ? last->error : "a run failed");
        return 3;
    }
    if (rep->nculprit > 0 || rep->outside_stages) {
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

/* The baseline as report.json gives it. */
static void report_baseline(hunt *h)
{
    const lh_hunt_baseline *b = &h->res.base;
    lh_report *rep = &h->rep;
    rep->has_baseline = 1;
    rep->baseline_verdict = b->measured ? lh_run_verdict_name(b->verdict)
                                        : "error";
    rep->baseline_slope = b->measured ? b->point.slope : NAN;
    rep->baseline_ci_low = b->measured ? b->point.ci_low : NAN;
    rep->baseline_ci_high = b->measured ? b->point.ci_high : NAN;
    rep->baseline_unit = b->per_second ? "second" : NULL;
    rep->outside_stages = b->outside;
}

/* The runner's before_stop: the ABI of the processes under test, while
 * they still run (each set of loaded objects checked once). */
static void probe_abi(void *arg, lh_run_result *res, const pid_t *pids,
                      size_t npids)
{
    hunt *h = arg;
    if (h->abi && lh_abiprobe_check(h->abi, (size_t)(res - h->run.runs), pids,
                                    npids) < 0 && !h->cli.quiet)
        fprintf(stderr, "leak-hunt: out of memory checking the ABI of %s\n",
                res->enabled[0] ? res->enabled : "(none)");
}

/* 1 when the comma list `enabled` has stage `name`. */
static int has_stage(const char *enabled, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = enabled; (p = strstr(p, name)) != NULL; p += n)
        if ((p == enabled || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

/* The run of the culprit's configuration whose processes were checked:
 * the last leaking run with every culprit on (with none on for a leak
 * outside the stages only), else the last checked run with them on. */
static const lh_run_result *culprit_run(const hunt *h, int leaking)
{
    for (size_t i = h->run.nruns; i-- > 0;) {
        const lh_run_result *x = &h->run.runs[i];
        int all = h->rep.nculprit > 0 || x->enabled[0] == '\0';
        for (int k = 0; k < h->rep.nculprit; k++)
            all &= has_stage(x->enabled, h->rep.culprit[k]);
        if (all && (!leaking || x->verdict == LH_RUN_LEAK) &&
            lh_abiprobe_of(h->abi, i) != NULL)
            return x;
    }
    return NULL;
}

/* The conflicts of the culprit's processes for the report, those whose
 * units are on the top allocation stacks of that configuration's runs
 * marked (each site's file and its caller's). */
static void report_abi(hunt *h)
{
    if (h->rep.nculprit == 0 && !h->rep.outside_stages)
        return;
    const lh_run_result *run = culprit_run(h, 1);
    if (run == NULL)
        run = culprit_run(h, 0);
    if (run == NULL)
        return;
    lh_abiconflicts *c = lh_abiprobe_of(h->abi, (size_t)(run - h->run.runs));
    const char *files[2 * ABI_STACK_SITES];
    size_t nfiles = 0;
    for (size_t i = 0; i < h->run.nruns; i++) {
        const lh_run_result *x = &h->run.runs[i];
        if (strcmp(x->enabled, run->enabled) != 0)
            continue;
        for (size_t k = 0; k < x->nsites && k < ABI_STACK_SITES &&
                           nfiles + 2 <= sizeof files / sizeof files[0];
             k++) {
            if (x->sites[k].file[0])
                files[nfiles++] = x->sites[k].file;
            if (x->sites[k].caller_file[0])
                files[nfiles++] = x->sites[k].caller_file;
        }
    }
    lh_abiconflicts_mark(c, files, nfiles);
    h->rep.abi = c;
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
    report_baseline(h);
    int status = report_verdict(h);
    if (status == 1)
        report_abi(h);
    lh_runner_report(&h->run, rep);
    rep->verdict_seconds =
        h->verdict_at > 0 ? h->verdict_at : rep->elapsed_seconds;
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
    choose_mode(&h);
    h.floor = h.cli.threshold >= 0 ? h.cli.threshold
                                   : LH_DECIDE_DEFAULT_THRESHOLD;
    lh_hunt_ctx ctx = {
        .st = &h.st,
        .floor = h.floor,
        .log = h.cli.quiet ? NULL : stderr,
        .measure = measure_set,
        .arg = &h,
    };
    h.ctx = &ctx;
    /* The ABI check reads debug info from the files here; libdw would
     * otherwise ask a debuginfod server for every library without it. */
    unsetenv("DEBUGINFOD_URLS");
    h.abi = lh_abiprobe_new();
    h.run.before_stop = probe_abi;
    h.run.before_stop_arg = &h;
    const lh_hunt_strategy *s = lh_hunt_strategy_find(h.cli.strategy);
    lh_hunt_run(s ? s : &lh_hunt_strategies[0], &ctx, &h.res);
    lh_runner_end_live(&h.run);

    int status = build_report(&h);
    lh_report_verdict(&h.rep, stdout);
    if (!h.cli.quiet)
        fprintf(stderr, "leak-hunt: strategy %s used %zu run%s (%s) in "
                        "%.1f s\n",
                h.cli.strategy, h.run.nruns, h.run.nruns == 1 ? "" : "s",
                h.rep.mode, h.rep.elapsed_seconds);
    if (lh_runner_write(&h.run, &h.rep) < 0 && status < 2)
        status = 2;
    lh_runner_free(&h.run);
    lh_abiprobe_free(h.abi);
    return status;
}
