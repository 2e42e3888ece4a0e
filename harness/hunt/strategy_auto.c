/*
 * strategy_auto.c - auto: hunt.c's search over the growing prefixes, then
 * a confirmation of what it found, then the kind of leak.
 *
 * Design note
 * -----------
 * The search (hunt.c) names the stages whose prefix step adds a leak and
 * gives the breakdown.  Before a culprit is named it is confirmed:
 *   - the first culprit's leak-free neighbour (the prefix just before the
 *     one that brought it in) is measured again with the search tool,
 *     afresh: the culprit's step must still add a leak over it
 *     (neighbour_stands);
 *   - the culprits' configuration (the smallest that holds them all) is
 *     measured for allocation sites: growth charged to a culprit's code
 *     over the floor keeps it (backed_by_sites); growth only in blocks that
 *     come and go is a queue that filled (only_in_flight), measured again
 *     to the whole budget; growth in other code names no stage; a run that
 *     sees no leak is followed by the search tool's again, to the whole
 *     budget (confirm);
 *   - the kind of leak comes from the shortest leaking prefix that holds a
 *     standing culprit (valgrind is slow: the fewer stages, the more work
 *     it sees).
 * The search starts from the baseline (lh_hunt_run measured it): over a
 * leak outside the stages, each prefix step is judged by what it adds to
 * that.  A leak outside the stages is confirmed too: measured per second,
 * by a second run of the baseline; in the stages' unit and with no
 * culprit, by allocation sites with no stage on (a second search run of
 * the baseline when they show no leak) and the kind there.  With a
 * culprit, the sites run on the culprits' configuration holds that
 * growth as well.
 * Why each costs what it does on the built-in pipeline is in cmd_hunt.c's
 * note.
 */
#include "strategy.h"

#include "error.h"

#include <string.h>

typedef struct autox {
    const lh_hunt_ctx *c;
    lh_hunt_result *out;
    unsigned sets[LH_HUNT_MAX_STAGES + 1]; /* the distinct prefixes */
} autox;

/* The search's measurement of distinct prefix k. */
static int auto_point(void *arg, int k, lh_hunt_point *p)
{
    static const lh_hunt_plan plan = {.job = LH_HUNT_SEARCH};
    autox *a = arg;
    const lh_run_result *r;
    int rc = lh_hunt_ask(a->c, a->out, a->sets[k], &plan, &r, NULL);
    if (rc < 0)
        return rc;
    *p = lh_hunt_point_of(r);
    return 0;
}

/* The breakdown: one row per group of the search, culprits in order. */
static void breakdown(const lh_hunt_ctx *c, lh_hunt_result *out,
                      const lh_hunt_outcome *o)
{
    for (int g = 0; g < o->ngroups; g++) {
        const lh_hunt_group *x = &o->groups[g];
        out->rows[out->nrows++] = (lh_hunt_row){x->added, x->d, x->leaks};
    }
    for (int i = 0; i < c->st->n; i++)
        if (o->culprits & (1u << i))
            lh_hunt_add_culprit(out, i);
}

/* Growth per unit a sites run charges to a stage's code. */
static double charged(const lh_run_result *r, const char *stage)
{
    double sum = 0;
    for (size_t i = 0; i < r->nsites; i++)
        if (strcmp(r->sites[i].stage, stage) == 0 &&
            r->sites[i].bytes_per_unit > 0)
            sum += r->sites[i].bytes_per_unit;
    return sum;
}

/* Keeps the culprits the sites run backs: when the run charges any site
 * to a stage (the target's files say which stage is which), a culprit
 * must have growth charged to it over the floor.  Returns how many
 * stand. */
static int backed_by_sites(const lh_hunt_ctx *c, lh_hunt_result *out,
                           const lh_run_result *hr)
{
    int attributed = 0;
    for (size_t i = 0; i < hr->nsites; i++)
        if (hr->sites[i].stage[0] && hr->sites[i].bytes_per_unit > 0)
            attributed = 1;
    if (!attributed)
        return out->nculprit;
    int kept = 0;
    for (int i = 0; i < out->nculprit; i++) {
        const char *name = c->st->names[out->culprit[i]];
        double b = charged(hr, name);
        if (b > c->floor)
            out->culprit[kept++] = out->culprit[i];
        else if (c->log)
            fprintf(c->log, "leak-hunt: the heap tool charges %+.2f B/unit "
                            "to stage %s's code: not a leak of that stage\n",
                    b, name);
    }
    out->nculprit = kept;
    return kept;
}

/*
 * The first culprit's leak-free neighbour, the prefix just before the one
 * that brought it in, measured again with the search tool, afresh.  The
 * culprit's step must still add a leak over it (lh_hunt_adds_leak, the
 * search's own test): a neighbour that leaks as much on its second run
 * means the search put the boundary in the wrong place, and no culprit is
 * named.  A culprit that needs nothing (P[0], every stage off, is its
 * neighbour) has no neighbour to run.  Returns 1 when the step stands.
 */
static int neighbour_stands(const lh_hunt_ctx *c, lh_hunt_result *out,
                            const lh_hunt_outcome *o)
{
    static const lh_hunt_plan again = {.job = LH_HUNT_SEARCH, .fresh = 1};
    int k = o->first_leak - 1;
    if (k < 1)
        return 1;
    const lh_run_result *r;
    if (lh_hunt_ask(c, out, o->sets[k], &again, &r, NULL) < 0)
        return 0;
    lh_hunt_point nb = lh_hunt_point_of(r);
    if (lh_hunt_adds_leak(&nb, &o->points[o->first_leak], c->floor))
        return 1;
    snprintf(out->note, sizeof out->note,
             "the leak-free neighbour %.400s measured %+.1f B/unit on a "
             "second run, and the step the search named adds no leak over "
             "that: no culprit named", r->enabled, r->slope);
    out->unconfirmed = 1;
    return 0;
}

/* Whether the sites run's growth is all in blocks that come and go: no
 * site that only grows reaches the floor, whatever code it is in.  That
 * is events in flight whose floor rose as a queue filled (a B node that
 * falls behind on a loaded machine holds more items in its delay queue,
 * allocated in take_events, role_b.c), not memory kept. */
static int only_in_flight(const lh_hunt_ctx *c, const lh_run_result *hr)
{
    int any = 0;
    for (size_t i = 0; i < hr->nsites; i++) {
        if (hr->sites[i].bytes_per_unit < c->floor)
            continue;
        if (!hr->sites[i].in_flight)
            return 0;
        any = 1;
    }
    return any;
}

/* A second opinion: the search tool on `set` again, afresh, to the whole
 * budget, after saying why.  NULL when the run failed. */
static const lh_run_result *measure_again(const lh_hunt_ctx *c,
                                          lh_hunt_result *out, unsigned set,
                                          const char *why)
{
    static const lh_hunt_plan again = {.job = LH_HUNT_SEARCH, .fresh = 1,
                                       .whole = 1};
    if (c->log) {
        char name[LH_HUNT_MAX_STAGES * 32];
        lh_hunt_set_name(c->st, set, name, sizeof name);
        fprintf(c->log, "leak-hunt: %s: measuring %s again\n", why, name);
    }
    const lh_run_result *r;
    lh_hunt_ask(c, out, set, &again, &r, NULL);
    return r;
}

/* The search's leak was a queue filling up (only_in_flight): the search
 * tool measures the configuration again to the whole budget, and its
 * verdict stands, clean or not.  Growth again is reported as growth in
 * no stage's code (inconclusive), never as a culprit: the sites run has
 * shown that no stage's code holds it.  Returns 0 (no culprit). */
static int queue_filled(const lh_hunt_ctx *c, lh_hunt_result *out,
                        unsigned set, double heap_slope)
{
    char why[256];
    snprintf(why, sizeof why, "the heap tool charges the growth (%+.2f "
             "B/unit) to no stage's code, and only to blocks that come and "
             "go (a queue that filled)", heap_slope);
    const lh_run_result *r = measure_again(c, out, set, why);
    if (r == NULL || !lh_hunt_leaks(r))
        return 0;
    snprintf(out->note, sizeof out->note,
             "growth of %+.1f B/unit with %.400s on, twice, but in no "
             "stage's code: only events in flight (a queue that filled)",
             r->slope, r->enabled);
    out->unconfirmed = 1;
    return 0;
}

/* A sites run that leaks: is the growth in the culprits' code?  Growth
 * that no stage's code accounts for names no stage. */
static int sites_back(const lh_hunt_ctx *c, lh_hunt_result *out,
                      unsigned set, const lh_run_result *hr)
{
    if (backed_by_sites(c, out, hr) > 0)
        return 1;
    if (only_in_flight(c, hr))
        return queue_filled(c, out, set, hr->slope);
    snprintf(out->note, sizeof out->note,
             "growth of %+.1f B/unit with %s on, but not in the code of "
             "the stage the search named: top site %s <- %s (%s:%d)",
             hr->slope, hr->enabled,
             hr->nsites ? hr->sites[0].function : "?",
             hr->nsites ? hr->sites[0].caller : "?",
             hr->nsites ? hr->sites[0].file : "?",
             hr->nsites ? hr->sites[0].line : 0);
    out->unconfirmed = 1;
    return 0;
}

/* Allocation sites on the smallest configuration that holds every
 * culprit, and the confirmation.  Returns 1 when culprits stand
 * (out->culprit keeps those that do). */
static int confirm(const lh_hunt_ctx *c, lh_hunt_result *out, unsigned set)
{
    static const lh_hunt_plan sites = {.job = LH_HUNT_SITES};
    const lh_run_result *hr;
    if (lh_hunt_ask(c, out, set, &sites, &hr, NULL) < 0)
        return 0;
    if (lh_hunt_leaks(hr))
        return sites_back(c, out, set, hr);
    char why[sizeof hr->reason + 96];
    snprintf(why, sizeof why, "the heap tool did not confirm the leak "
             "(%+.2f B/unit, %s)", hr->slope, hr->reason);
    const lh_run_result *r = measure_again(c, out, set, why);
    if (lh_hunt_leaks(r))
        return 1;
    if (r != NULL)
        snprintf(out->note, sizeof out->note,
                 "the leak the search saw with %.400s on did not stand a "
                 "second run (the heap tool's, then the search tool's "
                 "again): no culprit named", r->enabled);
    return 0;
}

/* The kind of leak, from a run that counts leak searches. */
static void kind(const lh_hunt_ctx *c, lh_hunt_result *out, unsigned set)
{
    lh_hunt_plan plan = {.job = LH_HUNT_KIND, .baseline = set == 0};
    const lh_run_result *mc;
    int rc = lh_hunt_ask(c, out, set, &plan, &mc, NULL);
    if (rc == LH_EUNSUPPORTED)
        out->memcheck_kind = out->skip_note
                                 ? out->skip_note
                                 : "not measured (the target cannot run "
                                   "under valgrind: a sanitizer build)";
    if (rc < 0)
        return;
    int lost = mc->definitely_lost > 0 &&
               mc->reachable_growth < mc->definitely_lost;
    for (size_t i = 0; i < mc->nsites; i++)
        if (strcmp(mc->sites[i].kind, "definitely lost") == 0)
            lost = 1;
    if (lost)
        out->memcheck_kind = "definitely lost";
    else if (mc->reachable_growth > 0)
        out->memcheck_kind = "still reachable, not lost (seen only as "
                             "reachable growth between leak searches)";
    else
        out->memcheck_kind = "no growth seen under valgrind";
}

/* The stages among the culprits, as a mask. */
static unsigned culprit_mask(const lh_hunt_result *out)
{
    unsigned m = 0;
    for (int i = 0; i < out->nculprit; i++)
        m |= 1u << out->culprit[i];
    return m;
}

/* The culprits the search named: confirmed, and the kind of leak. */
static void confirm_culprits(const lh_hunt_ctx *c, lh_hunt_result *out,
                             const lh_hunt_outcome *o)
{
    int confirmed = neighbour_stands(c, out, o) &&
                    confirm(c, out, o->sets[o->last_leak]);
    /* Rows of culprits that did not stand are no leak either. */
    unsigned standing = confirmed ? culprit_mask(out) : 0;
    for (int g = 0; g < out->nrows; g++)
        if (out->rows[g].leaks &&
            !(standing & (1u << lh_hunt_step_stage(c->st, out->rows[g].added))))
            out->rows[g].leaks = 0;
    if (!confirmed) {
        out->nculprit = 0;
        return;
    }
    /* The kind where the first standing culprit comes in. */
    int k = 1;
    while (k < o->m && !(o->sets[k] & standing))
        k++;
    kind(c, out, o->sets[k]);
}

/* A leak outside the stages: measured per second, a second run of the
 * baseline; in the stages' unit with no culprit, its allocation sites
 * (a second search run when they show no leak) and its kind. */
static void confirm_outside(const lh_hunt_ctx *c, lh_hunt_result *out)
{
    static const lh_hunt_plan sites = {.job = LH_HUNT_SITES, .baseline = 1};
    if (out->base.per_second) {
        lh_hunt_baseline_again(c, out);
        return;
    }
    if (out->nculprit > 0)
        return;
    const lh_run_result *hr;
    if (lh_hunt_ask(c, out, 0, &sites, &hr, NULL) < 0)
        return;
    if (!lh_hunt_leaks(hr) && !lh_hunt_baseline_again(c, out))
        return;
    kind(c, out, 0);
}

void lh_hunt_strategy_auto(const lh_hunt_ctx *c, lh_hunt_result *out)
{
    autox a = {c, out, {0}};
    lh_hunt_outcome o;
    lh_hunt_point base = lh_hunt_base_point(out);
    lh_hunt_prefixes(c->st, a.sets);
    if (lh_hunt_search(c->st, &c->floor, &base, auto_point, &a, &o) < 0)
        return;
    breakdown(c, out, &o);
    if (o.culprits)
        confirm_culprits(c, out, &o);
    if (out->base.outside && !out->failed)
        confirm_outside(c, out);
}
