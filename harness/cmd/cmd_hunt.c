/*
 * leak-hunt hunt: find the stage that leaks (DESIGN section 5).
 *
 * Configurations are sets of stages closed under the requirements (a
 * stage brings what it needs).  The strategies:
 *   linear   growing prefixes, stop at the first that leaks (the story's
 *            "delete code", in reverse);
 *   bisect   binary search for the shortest leaking prefix;
 *   isolate  each stage alone with what it requires;
 *   ddmin    from the full set, drop stages while it still leaks: a
 *            1-minimal set of stages that leak together;
 *   auto     choose (hunt.c: the full set, then halve the ranges of
 *            prefixes whose increment is a leak, so each leaking stage is
 *            found and the rest are grouped in the breakdown), confirm,
 *            explain.
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

#include <math.h>
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

typedef struct hunt {
    lh_runner run;
    lh_cli cli;
    lh_hunt_stages st;
    unsigned sets[LH_HUNT_MAX_STAGES + 1]; /* auto: distinct prefixes */
    lh_report rep;
    lh_stage_share shares[LH_HUNT_MAX_STAGES];
    int failed; /* a run failed: target error or tool error */
    int unconfirmed; /* auto: growth the heap tool charges to no culprit */
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

static int parse_stages(hunt *h)
{
    char err[256];
    if (lh_hunt_stages_parse(&h->st, h->cli.stages, h->cli.requires, err,
                             sizeof err) < 0) {
        fprintf(stderr, "leak-hunt hunt: %s\n", err);
        return 2;
    }
    return 0;
}

static unsigned closure(const hunt *h, unsigned set)
{
    return lh_hunt_closure(&h->st, set);
}

static void set_name(const hunt *h, unsigned set, char *buf, size_t cap)
{
    lh_hunt_set_name(&h->st, set, buf, cap);
}

static unsigned prefix(const hunt *h, int k)
{
    return closure(h, k >= 32 ? ~0u : (1u << k) - 1);
}

/* How a search run is measured: looks every LOOK_EVENTS (built-in) or
 * every LOOK_SHARE of the budget, so a run ends once it is decided. */
static lh_run_plan search_plan(const hunt *h)
{
    lh_run_plan p = {0};
    double work = lh_runner_default_work(&h->run);
    if (h->cli.builtin && work > 0)
        p.look_every = LOOK_EVENTS < 0.5 * work ? LOOK_EVENTS / work : 0.5;
    else
        p.look_every = LOOK_SHARE;
    return p;
}

/* Measures a set (cached per tool unless fresh).  Returns the result or
 * NULL when the run could not be made. */
static lh_run_result *measure_plan(hunt *h, unsigned set, const lh_tool *tool,
                                   int fresh, const lh_run_plan *plan)
{
    char name[512];
    set_name(h, set, name, sizeof name);
    for (size_t i = 0; !fresh && i < h->run.nruns; i++)
        if (strcmp(h->run.runs[i].enabled, name) == 0 &&
            strcmp(h->run.runs[i].tool, tool->name) == 0)
            return &h->run.runs[i];
    if (h->failed || lh_runner_interrupted())
        return NULL;
    lh_run_result *r = lh_runner_measure_plan(&h->run, name, tool, plan);
    if (r == NULL || r->verdict == LH_RUN_ERROR) {
        h->failed = 1;
        return NULL;
    }
    return r;
}

static const lh_tool *search_tool(const hunt *h)
{
    return h->cli.tool ? h->cli.tool : &lh_tool_rss;
}

/* A search run: the search tool, deciding as soon as it can. */
static lh_run_result *measure(hunt *h, unsigned set)
{
    lh_run_plan p = search_plan(h);
    return measure_plan(h, set, search_tool(h), 0, &p);
}

static int leaks(const lh_run_result *r)
{
    return r && r->verdict == LH_RUN_LEAK;
}

static void add_culprit(hunt *h, const char *stage)
{
    for (int i = 0; i < h->rep.nculprit; i++)
        if (strcmp(h->rep.culprit[i], stage) == 0)
            return;
    if (h->rep.nculprit < 8)
        snprintf(h->rep.culprit[h->rep.nculprit++], sizeof h->rep.culprit[0],
                 "%.31s", stage);
}

/* The stage a leaking prefix k adds (the last one in order that the
 * previous prefix lacked). */
static int added_stage(const hunt *h, int k)
{
    int st = lh_hunt_step_stage(&h->st, prefix(h, k) & ~prefix(h, k - 1));
    return st >= 0 ? st : k - 1;
}

static double floor_of(const hunt *h)
{
    return h->cli.threshold >= 0 ? h->cli.threshold
                                 : LH_DECIDE_DEFAULT_THRESHOLD;
}

/* A search run that could not be decided, even extended: linear and
 * bisect stop there, naming nothing (a later prefix's leak would not say
 * whether this one leaks), and the hunt is inconclusive.  Returns 1 when
 * r is undecided. */
static int undecided(hunt *h, const lh_run_result *r)
{
    if (r->verdict != LH_RUN_INCONCLUSIVE)
        return 0;
    snprintf(h->rep.error, sizeof h->rep.error,
             "%.400s could not be decided (%.200s): the search stops there",
             r->enabled, r->reason);
    return 1;
}

static void strategy_linear(hunt *h)
{
    for (int k = 1; k <= h->st.n; k++) {
        lh_run_result *r = measure(h, prefix(h, k));
        if (r == NULL || undecided(h, r))
            return;
        if (leaks(r)) {
            add_culprit(h, h->st.names[added_stage(h, k)]);
            return;
        }
    }
}

/* Smallest k whose prefix leaks, or 0 when the full set does not. */
static int bisect_prefix(hunt *h)
{
    lh_run_result *full = measure(h, prefix(h, h->st.n));
    if (!leaks(full))
        return 0;
    int lo = 0, hi = h->st.n; /* prefix lo is clean (empty), prefix hi leaks */
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        lh_run_result *r = measure(h, prefix(h, mid));
        if (r == NULL || undecided(h, r))
            return -1;
        if (leaks(r))
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

static void strategy_bisect(hunt *h)
{
    int k = bisect_prefix(h);
    if (k > 0)
        add_culprit(h, h->st.names[added_stage(h, k)]);
}

static void strategy_isolate(hunt *h)
{
    lh_run_result *alone[LH_HUNT_MAX_STAGES] = {0};
    size_t at[LH_HUNT_MAX_STAGES]; /* the runner's array may move */
    for (int i = 0; i < h->st.n; i++) {
        lh_run_result *r = measure(h, closure(h, 1u << i));
        if (r == NULL)
            return;
        at[i] = (size_t)(r - h->run.runs);
    }
    for (int i = 0; i < h->st.n; i++)
        alone[i] = &h->run.runs[at[i]];
    /* A stage is a culprit when its configuration leaks more than the
     * configurations of what it requires explain. */
    for (int i = 0; i < h->st.n; i++) {
        if (!leaks(alone[i]))
            continue;
        double base = 0;
        for (int d = 0; d < h->st.n; d++)
            if ((h->st.req[i] & (1u << d)) && alone[d] && alone[d]->slope > base)
                base = alone[d]->slope;
        double floor = alone[i]->threshold > 0 ? alone[i]->threshold : 1;
        if (alone[i]->ci_low - base > floor)
            add_culprit(h, h->st.names[i]);
    }
}

static void strategy_ddmin(hunt *h)
{
    unsigned set = prefix(h, h->st.n);
    lh_run_result *r = measure(h, set);
    if (!leaks(r))
        return;
    /* Drop one stage at a time (with the stages that require it) while the
     * rest still leaks; repeat until no single removal keeps the leak. */
    int changed = 1;
    while (changed) {
        changed = 0;
        for (int i = h->st.n - 1; i >= 0; i--) {
            if (!(set & (1u << i)))
                continue;
            unsigned without = set & ~(1u << i);
            for (int j = 0; j < h->st.n; j++) /* drop dependants */
                if ((without & (1u << j)) && (closure(h, 1u << j) & ~without))
                    without &= ~(1u << j);
            if (without == 0)
                continue;
            r = measure(h, without);
            if (r == NULL)
                return;
            if (leaks(r)) {
                set = without;
                changed = 1;
            }
        }
    }
    /* The minimal set: name the stages that, removed, stop the leak. */
    for (int i = 0; i < h->st.n; i++)
        if (set & (1u << i)) {
            int needed_by_others = 0;
            for (int j = 0; j < h->st.n; j++)
                if (j != i && (set & (1u << j)) && (h->st.req[j] & (1u << i)))
                    needed_by_others = 1;
            /* A pure requirement (forward) is not a culprit unless it is
             * all there is. */
            if (!needed_by_others || __builtin_popcount(set) == 1)
                add_culprit(h, h->st.names[i]);
        }
}

/* auto's measurement of distinct prefix k, for hunt.c's search. */
static int auto_point(void *arg, int k, lh_hunt_point *out)
{
    hunt *h = arg;
    lh_run_result *r = measure(h, h->sets[k]);
    if (r == NULL)
        return LH_EIO;
    out->leaks = leaks(r);
    out->slope = r->slope;
    out->ci_low = r->ci_low;
    out->ci_high = r->ci_high;
    return 0;
}

/* The breakdown: one row per group of the search, culprits in order. */
static void breakdown(hunt *h, const lh_hunt_outcome *o)
{
    for (int g = 0; g < o->ngroups; g++) {
        const lh_hunt_group *x = &o->groups[g];
        lh_stage_share *s = &h->shares[h->rep.nshares++];
        memset(s, 0, sizeof *s);
        set_name(h, x->added, s->stages, sizeof s->stages);
        size_t len = 0;
        for (int i = 0; i < h->st.n; i++)
            if (x->added & (1u << i))
                len += (size_t)snprintf(s->stage + len,
                                        len < sizeof s->stage
                                            ? sizeof s->stage - len
                                            : 0,
                                        "%s%s", len ? "+" : "",
                                        h->st.names[i]);
        s->bytes_per_unit = x->d.value;
        s->ci_low = x->d.low;
        s->ci_high = x->d.high;
        s->leaks = x->leaks;
    }
    h->rep.shares = h->shares;
    for (int i = 0; i < h->st.n; i++)
        if (o->culprits & (1u << i))
            add_culprit(h, h->st.names[i]);
}

/* Growth per unit the heap run charges to a stage's code. */
static double charged(const lh_run_result *r, const char *stage)
{
    double sum = 0;
    for (size_t i = 0; i < r->nsites; i++)
        if (strcmp(r->sites[i].stage, stage) == 0 &&
            r->sites[i].bytes_per_unit > 0)
            sum += r->sites[i].bytes_per_unit;
    return sum;
}

/* Keeps the culprits the heap run's sites back: when the run charges any
 * site to a stage (the target's files say which stage is which), a
 * culprit must have growth charged to it over the floor.  Returns how
 * many stand. */
static int backed_by_sites(hunt *h, const lh_run_result *hr)
{
    int attributed = 0;
    for (size_t i = 0; i < hr->nsites; i++)
        if (hr->sites[i].stage[0] && hr->sites[i].bytes_per_unit > 0)
            attributed = 1;
    if (!attributed)
        return h->rep.nculprit;
    int kept = 0;
    for (int i = 0; i < h->rep.nculprit; i++) {
        double b = charged(hr, h->rep.culprit[i]);
        if (b > floor_of(h)) {
            if (kept != i)
                memcpy(h->rep.culprit[kept], h->rep.culprit[i],
                       sizeof h->rep.culprit[0]);
            kept++;
        } else if (!h->cli.quiet) {
            fprintf(stderr, "leak-hunt: the heap tool charges %+.2f B/unit "
                            "to stage %s's code: not a leak of that stage\n",
                    b, h->rep.culprit[i]);
        }
    }
    h->rep.nculprit = kept;
    return kept;
}

/*
 * auto's second look at the boundary the search drew: the first culprit's
 * leak-free neighbour, the prefix just before the one that brought it in,
 * measured again with the search tool, afresh.  The culprit's step must
 * still add a leak over it (lh_hunt_adds_leak, the search's own test): a
 * neighbour that leaks as much on its second run means the search put the
 * boundary in the wrong place, and no culprit is named.  The culprit's own
 * configuration is measured again by the heap tool (confirm).  A culprit
 * that needs nothing (P[0], every stage off, is its neighbour) has no
 * neighbour to run.  Returns 1 when the step stands.
 */
static int neighbour_stands(hunt *h, const lh_hunt_outcome *o)
{
    int k = o->first_leak - 1;
    if (k < 1)
        return 1;
    lh_run_plan p = search_plan(h);
    lh_run_result *r = measure_plan(h, o->sets[k], search_tool(h), 1, &p);
    if (r == NULL)
        return 0;
    lh_hunt_point nb = {.leaks = leaks(r), .slope = r->slope,
                        .ci_low = r->ci_low, .ci_high = r->ci_high};
    if (lh_hunt_adds_leak(&nb, &o->points[o->first_leak], floor_of(h)))
        return 1;
    snprintf(h->rep.error, sizeof h->rep.error,
             "the leak-free neighbour %.400s measured %+.1f B/unit on a "
             "second run, and the step the search named adds no leak over "
             "that: no culprit named", r->enabled, r->slope);
    h->unconfirmed = 1;
    return 0;
}

/* Whether the heap run's growth is all in blocks that come and go: no
 * site that only grows reaches the floor, whatever code it is in.  That
 * is events in flight whose floor rose as a queue filled (a B node that
 * falls behind on a loaded machine holds more items in its delay queue,
 * allocated in take_events, role_b.c), not memory kept. */
static int only_in_flight(const hunt *h, const lh_run_result *hr)
{
    int any = 0;
    for (size_t i = 0; i < hr->nsites; i++) {
        if (hr->sites[i].bytes_per_unit < floor_of(h))
            continue;
        if (!hr->sites[i].in_flight)
            return 0;
        any = 1;
    }
    return any;
}

/* A second opinion: the search tool on `set` again, afresh, to the whole
 * budget, after saying why on stderr.  The runner's array may move: a
 * result taken before this call is not to be used after it. */
static lh_run_result *measure_again(hunt *h, unsigned set, const char *why)
{
    if (!h->cli.quiet) {
        char name[LH_HUNT_MAX_STAGES * 32];
        set_name(h, set, name, sizeof name);
        fprintf(stderr, "leak-hunt: %s: measuring %s again\n", why, name);
    }
    lh_run_plan again = {0};
    return measure_plan(h, set, search_tool(h), 1, &again);
}

/* The search's leak was a queue filling up (only_in_flight): the search
 * tool measures the configuration again to the whole budget, and its
 * verdict stands, clean or not.  Growth again is reported as growth in
 * no stage's code (inconclusive), never as a culprit: the heap tool has
 * shown that no stage's code holds it.  Returns 0 (no culprit). */
static int queue_filled(hunt *h, unsigned set, double heap_slope)
{
    char why[256];
    snprintf(why, sizeof why, "the heap tool charges the growth (%+.2f "
             "B/unit) to no stage's code, and only to blocks that come and "
             "go (a queue that filled)", heap_slope);
    lh_run_result *r = measure_again(h, set, why);
    if (r == NULL || !leaks(r))
        return 0;
    snprintf(h->rep.error, sizeof h->rep.error,
             "growth of %+.1f B/unit with %.400s on, twice, but in no "
             "stage's code: only events in flight (a queue that filled)",
             r->slope, r->enabled);
    h->unconfirmed = 1;
    return 0;
}

/* The heap tool on the smallest configuration that holds every culprit:
 * allocation sites, and the confirmation.  Returns 1 when culprits stand
 * (h->rep.culprit keeps those that do). */
static int confirm(hunt *h, unsigned set)
{
    lh_run_plan p = {0};
    double work = lh_runner_default_work(&h->run);
    if (h->cli.builtin && work > HEAP_EVENTS)
        p.work = HEAP_EVENTS;
    lh_run_result *hr = measure_plan(h, set, &lh_tool_heap, 0, &p);
    if (hr == NULL)
        return 0;
    if (leaks(hr)) {
        /* The growth is there; is it in the culprits' code?  Growth that
         * no stage's code accounts for names no stage. */
        if (backed_by_sites(h, hr) > 0)
            return 1;
        if (only_in_flight(h, hr))
            return queue_filled(h, set, hr->slope);
        snprintf(h->rep.error, sizeof h->rep.error,
                 "growth of %+.1f B/unit with %s on, but not in the code of "
                 "the stage the search named: top site %s <- %s (%s:%d)",
                 hr->slope, hr->enabled,
                 hr->nsites ? hr->sites[0].function : "?",
                 hr->nsites ? hr->sites[0].caller : "?",
                 hr->nsites ? hr->sites[0].file : "?",
                 hr->nsites ? hr->sites[0].line : 0);
        h->unconfirmed = 1;
        return 0;
    }
    char why[sizeof hr->reason + 96];
    snprintf(why, sizeof why, "the heap tool did not confirm the leak "
             "(%+.2f B/unit, %s)", hr->slope, hr->reason);
    lh_run_result *r = measure_again(h, set, why); /* hr not used after */
    if (leaks(r))
        return 1;
    if (r != NULL)
        snprintf(h->rep.error, sizeof h->rep.error,
                 "the leak the search saw with %.400s on did not stand a "
                 "second run (the heap tool's, then the search tool's "
                 "again): no culprit named", r->enabled);
    return 0;
}

/* memcheck on the shortest leaking prefix, for the kind of leak only
 * (valgrind is slow: the fewer stages, the more events it sees). */
static void kind(hunt *h, unsigned set)
{
    lh_run_plan p = {.tool_points = KIND_SEARCHES, .extend = 1};
    char why[1024];
    if (lh_tool_refuses(&lh_tool_memcheck, h->run.argv, why, sizeof why)) {
        /* (a sanitizer build: the verdict stands without the kind) */
        fprintf(stderr, "leak-hunt: the kind of leak is not measured: %s\n",
                why);
        return;
    }
    if (h->cli.builtin && lh_runner_default_work(&h->run) > 0)
        p.work = 1; /* spent at once: the leak searches decide the length */
    lh_run_result *mc = measure_plan(h, set, &lh_tool_memcheck, 0, &p);
    if (mc == NULL)
        return;
    if (mc->verdict == LH_RUN_INCONCLUSIVE && mc->tool_series.n > 0 &&
        mc->tool_series.n < 20)
        snprintf(mc->reason, sizeof mc->reason,
                 "asked for the kind of leak only (%zu leak searches)",
                 mc->tool_series.n);
    int lost = mc->definitely_lost > 0 &&
               mc->reachable_growth < mc->definitely_lost;
    for (size_t i = 0; i < mc->nsites; i++)
        if (strcmp(mc->sites[i].kind, "definitely lost") == 0)
            lost = 1;
    if (lost)
        h->rep.memcheck_kind = "definitely lost";
    else if (mc->reachable_growth > 0)
        h->rep.memcheck_kind = "still reachable, not lost (seen only as "
                               "reachable growth between leak searches)";
    else
        h->rep.memcheck_kind = "no growth seen under valgrind";
}

static void strategy_auto(hunt *h)
{
    lh_hunt_outcome o;
    lh_hunt_prefixes(&h->st, h->sets);
    if (lh_hunt_search(&h->st, floor_of(h), auto_point, h, &o) < 0)
        return;
    breakdown(h, &o);
    if (o.culprits == 0)
        return;
    int confirmed = neighbour_stands(h, &o) && confirm(h, o.sets[o.last_leak]);
    /* Rows of culprits the heap tool did not back are no leak either. */
    unsigned standing = 0;
    for (int i = 0; confirmed && i < h->rep.nculprit; i++)
        for (int st = 0; st < h->st.n; st++)
            if (strcmp(h->st.names[st], h->rep.culprit[i]) == 0)
                standing |= 1u << st;
    for (int g = 0; g < o.ngroups; g++)
        if (o.groups[g].leaks &&
            !(standing &
              (1u << lh_hunt_step_stage(&h->st, o.groups[g].added))))
            h->shares[g].leaks = 0;
    if (!confirmed) {
        h->rep.nculprit = 0;
        return;
    }
    /* memcheck where the first standing culprit comes in. */
    int k = 1;
    while (k < o.m && !(o.sets[k] & standing))
        k++;
    kind(h, o.sets[k]);
}

int lh_cmd_hunt(int argc, char **argv)
{
    static hunt h;
    memset(&h, 0, sizeof h);
    h.cli.cmd = "hunt";
    int rc = lh_cli_parse(argc, argv, help, &h.cli);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (h.cli.stages == NULL) {
        fprintf(stderr, "leak-hunt hunt: --stages LIST is required for a "
                        "target other than the built-in pipeline\n");
        return 2;
    }
    rc = parse_stages(&h);
    if (rc)
        return rc;
    rc = lh_runner_init(&h.run, &h.cli);
    if (rc)
        return rc;

    const char *s = h.cli.strategy;
    if (strcmp(s, "linear") == 0)
        strategy_linear(&h);
    else if (strcmp(s, "bisect") == 0)
        strategy_bisect(&h);
    else if (strcmp(s, "isolate") == 0)
        strategy_isolate(&h);
    else if (strcmp(s, "ddmin") == 0)
        strategy_ddmin(&h);
    else
        strategy_auto(&h);

    int nculprit = h.rep.nculprit;
    char culprits[8][32];
    memcpy(culprits, h.rep.culprit, sizeof culprits);
    const char *kind = h.rep.memcheck_kind;
    size_t nshares = h.rep.nshares;
    char note[sizeof h.rep.error];
    memcpy(note, h.rep.error, sizeof note);
    lh_runner_report(&h.run, &h.rep);
    memcpy(h.rep.error, note, sizeof note);
    memcpy(h.rep.culprit, culprits, sizeof culprits);
    h.rep.nculprit = nculprit;
    h.rep.memcheck_kind = kind;
    h.rep.strategy = s;
    h.rep.shares = nshares ? h.shares : NULL;
    h.rep.nshares = nshares;

    int status;
    if (h.run.tool_failed) {
        h.rep.verdict = "error";
        snprintf(h.rep.error, sizeof h.rep.error, "a measurement tool could "
                 "not run; see above and 'leak-hunt doctor'");
        status = 2;
    } else if (h.failed || h.run.interrupted) {
        h.rep.verdict = "error";
        const lh_run_result *last = h.run.nruns ? &h.run.runs[h.run.nruns - 1]
                                                : NULL;
        const char *msg = last && last->error[0] ? last->error
                                                 : "a run failed";
        size_t len = strnlen(msg, sizeof h.rep.error - 1);
        memmove(h.rep.error, msg, len);
        h.rep.error[len] = '\0';
        status = 3;
    } else if (nculprit > 0) {
        h.rep.verdict = "leak";
        status = 1;
    } else if (h.unconfirmed) {
        /* Growth, but no stage's: not clean, and no culprit to name. */
        h.rep.verdict = "inconclusive";
        status = 3;
    } else {
        int inconclusive = 0;
        for (size_t i = 0; i < h.run.nruns; i++)
            if (h.run.runs[i].verdict == LH_RUN_INCONCLUSIVE)
                inconclusive = 1;
        h.rep.verdict = inconclusive ? "inconclusive" : "clean";
        status = inconclusive ? 3 : 0;
    }
    lh_report_verdict(&h.rep, stdout);
    if (!h.cli.quiet)
        fprintf(stderr, "leak-hunt: strategy %s used %zu run%s in %.1f s\n",
                s, h.run.nruns, h.run.nruns == 1 ? "" : "s",
                h.rep.elapsed_seconds);
    if (lh_runner_write(&h.run, &h.rep) < 0 && status < 2)
        status = 2;
    lh_runner_free(&h.run);
    return status;
}
