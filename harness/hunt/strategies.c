/*
 * strategies.c - the table of strategies, what they share, and linear,
 * bisect, isolate and ddmin (auto is in strategy_auto.c).
 *
 * Design note
 * -----------
 * Configurations are sets of stages closed under the requirements (a
 * stage brings what it needs).  linear and bisect walk the growing
 * prefixes (prefix k: the first k stages with what they require) and name
 * the stage the first leaking prefix adds; a prefix that cannot be
 * decided stops them, naming nothing, since a later prefix's leak would
 * not say whether this one leaks.  isolate measures each stage with only
 * its requirements and names a stage whose growth its requirements' runs
 * do not explain.  ddmin drops stages from the full set (with the stages
 * that require them) while the rest still leaks, and names what is left
 * but pure requirements.  Each asks the callback; the answer for a set
 * already measured comes from the callback's cache, so asking twice costs
 * no run.
 *
 * The baseline (every stage off) is measured first, by lh_hunt_run, for
 * every strategy.  When it leaks in the stages' unit, every configuration
 * holds that leak, so a configuration charges its stages only when it
 * adds a leak over the baseline (lh_hunt_charges, auto's increment test):
 * linear and bisect look for the first prefix that does, isolate takes
 * the baseline as the base a stage's growth is judged over (as well as
 * its requirements' runs), and
 * ddmin's empty set, the baseline itself, adds nothing over itself.  A
 * baseline measured per second (no work with no stage on) is not
 * comparable with the configurations' bytes per unit: they are judged as
 * if it were flat.
 */
#include "strategy.h"

#include "error.h"

#include <stdio.h>
#include <string.h>

int lh_hunt_ask(const lh_hunt_ctx *c, lh_hunt_result *out, unsigned set,
                const lh_hunt_plan *plan, const lh_run_result **r,
                int *per_second)
{
    lh_hunt_answer a = {NULL, 0, NULL};
    int rc = c->measure(c->arg, set, plan, &a);
    if (rc == LH_EUNSUPPORTED)
        out->skip_note = a.note;
    *r = rc < 0 ? NULL : a.run;
    if (per_second)
        *per_second = *r ? a.per_second : 0;
    if (*r == NULL) {
        /* (LH_EUNSUPPORTED: the job's tool cannot run this target; the
         * hunt goes on without that answer) */
        if (!plan->baseline && rc != LH_EUNSUPPORTED)
            out->failed = 1;
        return rc < 0 ? rc : -1;
    }
    if ((*r)->verdict == LH_RUN_INCONCLUSIVE && !plan->baseline)
        out->undecided++;
    return 0;
}

void lh_hunt_add_culprit(lh_hunt_result *out, int stage)
{
    for (int i = 0; i < out->nculprit; i++)
        if (out->culprit[i] == stage)
            return;
    if (out->nculprit < LH_HUNT_MAX_CULPRITS)
        out->culprit[out->nculprit++] = stage;
}

int lh_hunt_leaks(const lh_run_result *r)
{
    return r && r->verdict == LH_RUN_LEAK;
}

lh_hunt_point lh_hunt_point_of(const lh_run_result *r)
{
    lh_hunt_point p = {.leaks = lh_hunt_leaks(r), .slope = r->slope,
                       .ci_low = r->ci_low, .ci_high = r->ci_high};
    return p;
}

int lh_hunt_base_leaks(const lh_hunt_result *out)
{
    const lh_hunt_baseline *b = &out->base;
    return b->measured && b->verdict == LH_RUN_LEAK && !b->per_second;
}

lh_hunt_point lh_hunt_base_point(const lh_hunt_result *out)
{
    lh_hunt_point zero = {0, 0, 0, 0};
    return lh_hunt_base_leaks(out) ? out->base.point : zero;
}

int lh_hunt_charges(const lh_hunt_ctx *c, const lh_hunt_result *out,
                    const lh_run_result *r)
{
    if (!lh_hunt_leaks(r))
        return 0;
    if (!lh_hunt_base_leaks(out))
        return 1;
    lh_hunt_point p = lh_hunt_point_of(r);
    return lh_hunt_adds_leak(&out->base.point, &p, c->floor);
}

/* The baseline's run, as the strategies see it. */
static void note_baseline(lh_hunt_result *out, const lh_run_result *r,
                          int per_second)
{
    lh_hunt_baseline *b = &out->base;
    b->measured = 1;
    b->verdict = r->verdict;
    b->point = lh_hunt_point_of(r);
    b->per_second = per_second;
    b->outside = r->verdict == LH_RUN_LEAK;
}

/* The baseline, before any stage is charged.  A run that fails leaves it
 * out: the hunt goes on as if it were flat. */
static void measure_baseline(const lh_hunt_ctx *c, lh_hunt_result *out)
{
    static const lh_hunt_plan plan = {.job = LH_HUNT_SEARCH, .baseline = 1};
    const lh_run_result *r;
    int per_second;
    if (lh_hunt_ask(c, out, 0, &plan, &r, &per_second) == 0)
        note_baseline(out, r, per_second);
    else if (c->log)
        fprintf(c->log, "leak-hunt: the baseline (no stage on) could not "
                        "be measured: the hunt goes on without it\n");
}

int lh_hunt_baseline_again(const lh_hunt_ctx *c, lh_hunt_result *out)
{
    static const lh_hunt_plan again = {.job = LH_HUNT_SEARCH, .fresh = 1,
                                       .whole = 1, .baseline = 1};
    if (c->log)
        fprintf(c->log, "leak-hunt: growth with no stage on (%+.2f B/%s): "
                        "measuring the baseline again\n",
                out->base.point.slope, out->base.per_second ? "s" : "unit");
    const lh_run_result *r;
    if (lh_hunt_ask(c, out, 0, &again, &r, NULL) < 0)
        return out->base.outside; /* no second opinion: as measured */
    if (lh_hunt_leaks(r))
        return 1;
    out->base.outside = 0;
    if (out->note[0] == '\0')
        snprintf(out->note, sizeof out->note,
                 "the growth seen with no stage on (%+.1f B/%s) did not "
                 "stand a second run (%+.1f, %.200s): no leak outside the "
                 "stages",
                 out->base.point.slope, out->base.per_second ? "s" : "unit",
                 r->slope, r->reason);
    return 0;
}

/* A search run: the search tool, decided as soon as it can be. */
static int search(const lh_hunt_ctx *c, lh_hunt_result *out, unsigned set,
                  const lh_run_result **r)
{
    static const lh_hunt_plan plan = {.job = LH_HUNT_SEARCH};
    return lh_hunt_ask(c, out, set, &plan, r, NULL);
}

static unsigned prefix(const lh_hunt_ctx *c, int k)
{
    return lh_hunt_closure(c->st, k >= 32 ? ~0u : (1u << k) - 1);
}

/* The stage prefix k adds (the last one in order that prefix k - 1
 * lacked). */
static int added_stage(const lh_hunt_ctx *c, int k)
{
    int st = lh_hunt_step_stage(c->st, prefix(c, k) & ~prefix(c, k - 1));
    return st >= 0 ? st : k - 1;
}

/* A search run that could not be decided, even extended: linear and
 * bisect stop there.  Returns 1 when r is undecided. */
static int undecided(lh_hunt_result *out, const lh_run_result *r)
{
    if (r->verdict != LH_RUN_INCONCLUSIVE)
        return 0;
    snprintf(out->note, sizeof out->note,
             "%.400s could not be decided (%.200s): the search stops there",
             r->enabled, r->reason);
    return 1;
}

static void strategy_linear(const lh_hunt_ctx *c, lh_hunt_result *out)
{
    for (int k = 1; k <= c->st->n; k++) {
        const lh_run_result *r;
        if (search(c, out, prefix(c, k), &r) < 0 || undecided(out, r))
            return;
        if (lh_hunt_charges(c, out, r)) {
            lh_hunt_add_culprit(out, added_stage(c, k));
            return;
        }
    }
}

/* Smallest k whose prefix leaks; 0 when the full set does not, -1 when
 * the search stopped. */
static int bisect_prefix(const lh_hunt_ctx *c, lh_hunt_result *out)
{
    const lh_run_result *r;
    if (search(c, out, prefix(c, c->st->n), &r) < 0 ||
        !lh_hunt_charges(c, out, r))
        return 0;
    int lo = 0, hi = c->st->n; /* prefix lo charges nothing (the baseline),
                                  hi does */
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (search(c, out, prefix(c, mid), &r) < 0 || undecided(out, r))
            return -1;
        if (lh_hunt_charges(c, out, r))
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

static void strategy_bisect(const lh_hunt_ctx *c, lh_hunt_result *out)
{
    int k = bisect_prefix(c, out);
    if (k > 0)
        lh_hunt_add_culprit(out, added_stage(c, k));
}

/* What isolate keeps of each stage's run. */
typedef struct alone {
    int charges; /* leaks, and over a leaking baseline adds a leak */
    double slope, ci_low, threshold;
} alone;

static void strategy_isolate(const lh_hunt_ctx *c, lh_hunt_result *out)
{
    const lh_hunt_stages *st = c->st;
    alone a[LH_HUNT_MAX_STAGES];
    for (int i = 0; i < st->n; i++) {
        const lh_run_result *r;
        if (search(c, out, lh_hunt_closure(st, 1u << i), &r) < 0)
            return;
        a[i] = (alone){lh_hunt_charges(c, out, r), r->slope, r->ci_low,
                       r->threshold};
    }
    /* A stage is a culprit when its configuration leaks more than the
     * configurations of what it requires (or the baseline) explain. */
    for (int i = 0; i < st->n; i++) {
        if (!a[i].charges)
            continue;
        double base = lh_hunt_base_leaks(out) ? out->base.point.slope : 0;
        for (int d = 0; d < st->n; d++)
            if ((st->req[i] & (1u << d)) && a[d].slope > base)
                base = a[d].slope;
        double floor = a[i].threshold > 0 ? a[i].threshold : 1;
        if (a[i].ci_low - base > floor)
            lh_hunt_add_culprit(out, i);
    }
}

/* `set` without stage i and without the stages that need it. */
static unsigned drop_stage(const lh_hunt_ctx *c, unsigned set, int i)
{
    unsigned without = set & ~(1u << i);
    for (int j = 0; j < c->st->n; j++)
        if ((without & (1u << j)) &&
            (lh_hunt_closure(c->st, 1u << j) & ~without))
            without &= ~(1u << j);
    return without;
}

/* Names the stages of a minimal leaking set that, removed, stop the
 * leak: a pure requirement (forward) is no culprit unless it is all there
 * is. */
static void name_minimal(const lh_hunt_ctx *c, lh_hunt_result *out,
                         unsigned set)
{
    const lh_hunt_stages *st = c->st;
    for (int i = 0; i < st->n; i++) {
        if (!(set & (1u << i)))
            continue;
        int needed_by_others = 0;
        for (int j = 0; j < st->n; j++)
            if (j != i && (set & (1u << j)) && (st->req[j] & (1u << i)))
                needed_by_others = 1;
        if (!needed_by_others || __builtin_popcount(set) == 1)
            lh_hunt_add_culprit(out, i);
    }
}

static void strategy_ddmin(const lh_hunt_ctx *c, lh_hunt_result *out)
{
    unsigned set = prefix(c, c->st->n);
    const lh_run_result *r;
    if (search(c, out, set, &r) < 0 || !lh_hunt_charges(c, out, r))
        return;
    /* Drop one stage at a time while the rest still leaks; repeat until
     * no single removal keeps the leak.  The empty set is the baseline:
     * it adds no leak over itself. */
    int changed = 1;
    while (changed) {
        changed = 0;
        for (int i = c->st->n - 1; i >= 0; i--) {
            if (!(set & (1u << i)))
                continue;
            unsigned without = drop_stage(c, set, i);
            if (without == 0)
                continue;
            if (search(c, out, without, &r) < 0)
                return;
            if (lh_hunt_charges(c, out, r)) {
                set = without;
                changed = 1;
            }
        }
    }
    name_minimal(c, out, set);
}

const lh_hunt_strategy lh_hunt_strategies[] = {
    {"auto", lh_hunt_strategy_auto},
    {"linear", strategy_linear},
    {"bisect", strategy_bisect},
    {"isolate", strategy_isolate},
    {"ddmin", strategy_ddmin},
    {NULL, NULL},
};

const lh_hunt_strategy *lh_hunt_strategy_find(const char *name)
{
    for (const lh_hunt_strategy *s = lh_hunt_strategies; s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

void lh_hunt_strategy_names(char *buf, size_t cap)
{
    size_t len = 0, n = 0;
    while (lh_hunt_strategies[n].name)
        n++;
    if (cap == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s",
                                i == 0 ? "" : i + 1 == n ? " or " : ", ",
                                lh_hunt_strategies[i].name);
}

void lh_hunt_run(const lh_hunt_strategy *s, const lh_hunt_ctx *c,
                 lh_hunt_result *out)
{
    memset(out, 0, sizeof *out);
    measure_baseline(c, out);
    s->run(c, out);
}
