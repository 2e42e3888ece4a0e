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
 *   auto     every prefix (so each stage's added bytes per unit are known,
 *            and two leaking stages are both named), then the heap tool on
 *            the full set for allocation sites (every leaking stage's) and
 *            memcheck on the shortest leaking prefix for the kind of leak
 *            (valgrind is slow: the fewer stages, the more events it sees).
 * Results of a configuration are cached: no configuration runs twice
 * with the same tool, except auto's deliberate confirmation.
 */
#include "cli.h"
#include "commands.h"
#include "error.h"
#include "report.h"
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STAGES 16

typedef struct hunt {
    lh_runner run;
    lh_cli cli;
    char names[MAX_STAGES][32];
    int n;
    unsigned req[MAX_STAGES]; /* bit mask of stages each one requires */
    lh_report rep;
    lh_stage_share shares[MAX_STAGES];
    int failed; /* a run failed: target error or tool error */
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
    "gets 1/50 of a work budget, valgrind being that much slower.\n"
    "Exit: 0 no leak, 1 leak found, 2 usage or environment error,\n"
    "3 inconclusive or target failure.\n";

static int stage_index(const hunt *h, const char *name, size_t len)
{
    for (int i = 0; i < h->n; i++)
        if (strlen(h->names[i]) == len && strncmp(h->names[i], name, len) == 0)
            return i;
    return -1;
}

static int parse_stages(hunt *h)
{
    const char *p = h->cli.stages;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof h->names[0] || h->n == MAX_STAGES) {
            fprintf(stderr, "leak-hunt hunt: bad --stages list '%s'\n",
                    h->cli.stages);
            return 2;
        }
        memcpy(h->names[h->n], p, len);
        h->names[h->n][len] = '\0';
        h->n++;
        p += len;
        if (*p == ',')
            p++;
    }
    p = h->cli.requires ? h->cli.requires : "";
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *colon = memchr(p, ':', len);
        int s = colon ? stage_index(h, p, (size_t)(colon - p)) : -1;
        int d = colon ? stage_index(h, colon + 1,
                                    len - (size_t)(colon - p) - 1)
                      : -1;
        if (s < 0 || d < 0) {
            fprintf(stderr, "leak-hunt hunt: bad --requires entry '%.*s' "
                            "(want STAGE:DEPENDENCY with known stages)\n",
                    (int)len, p);
            return 2;
        }
        h->req[s] |= 1u << d;
        p += len;
        if (*p == ',')
            p++;
    }
    return h->n ? 0 : 2;
}

/* The set plus everything it requires, transitively. */
static unsigned closure(const hunt *h, unsigned set)
{
    unsigned prev;
    do {
        prev = set;
        for (int i = 0; i < h->n; i++)
            if (set & (1u << i))
                set |= h->req[i];
    } while (set != prev);
    return set;
}

static void set_name(const hunt *h, unsigned set, char *buf, size_t cap)
{
    buf[0] = '\0';
    size_t len = 0;
    for (int i = 0; i < h->n; i++)
        if (set & (1u << i))
            len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0,
                                    "%s%s", len ? "," : "", h->names[i]);
}

static unsigned prefix(const hunt *h, int k)
{
    return closure(h, k >= 32 ? ~0u : (1u << k) - 1);
}

/* Measures a set (cached per tool).  Returns the result or NULL when the
 * run could not be made. */
static lh_run_result *measure(hunt *h, unsigned set, const lh_tool *tool,
                              int fresh)
{
    char name[512];
    set_name(h, set, name, sizeof name);
    for (size_t i = 0; !fresh && i < h->run.nruns; i++)
        if (strcmp(h->run.runs[i].enabled, name) == 0 &&
            strcmp(h->run.runs[i].tool, tool->name) == 0)
            return &h->run.runs[i];
    if (h->failed || lh_runner_interrupted())
        return NULL;
    lh_run_result *r = lh_runner_measure(&h->run, name, tool);
    if (r == NULL || r->verdict == LH_RUN_ERROR) {
        h->failed = 1;
        return NULL;
    }
    return r;
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

static const lh_tool *search_tool(const hunt *h)
{
    return h->cli.tool ? h->cli.tool : &lh_tool_rss;
}

/* The stage a leaking prefix k adds (the last one in order that the
 * previous prefix lacked). */
static int added_stage(const hunt *h, int k)
{
    unsigned diff = prefix(h, k) & ~prefix(h, k - 1);
    for (int i = h->n - 1; i >= 0; i--)
        if (diff & (1u << i))
            return i;
    return k - 1;
}

static void strategy_linear(hunt *h)
{
    for (int k = 1; k <= h->n; k++) {
        lh_run_result *r = measure(h, prefix(h, k), search_tool(h), 0);
        if (r == NULL)
            return;
        if (leaks(r)) {
            add_culprit(h, h->names[added_stage(h, k)]);
            return;
        }
    }
}

/* Smallest k whose prefix leaks, or 0 when the full set does not. */
static int bisect_prefix(hunt *h)
{
    lh_run_result *full = measure(h, prefix(h, h->n), search_tool(h), 0);
    if (!leaks(full))
        return 0;
    int lo = 0, hi = h->n; /* prefix lo is clean (empty), prefix hi leaks */
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        lh_run_result *r = measure(h, prefix(h, mid), search_tool(h), 0);
        if (r == NULL)
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
        add_culprit(h, h->names[added_stage(h, k)]);
}

static void strategy_isolate(hunt *h)
{
    lh_run_result *alone[MAX_STAGES] = {0};
    for (int i = 0; i < h->n; i++) {
        alone[i] = measure(h, closure(h, 1u << i), search_tool(h), 0);
        if (alone[i] == NULL)
            return;
    }
    /* A stage is a culprit when its configuration leaks more than the
     * configurations of what it requires explain. */
    for (int i = 0; i < h->n; i++) {
        if (!leaks(alone[i]))
            continue;
        double base = 0;
        for (int d = 0; d < h->n; d++)
            if ((h->req[i] & (1u << d)) && alone[d] && alone[d]->slope > base)
                base = alone[d]->slope;
        double floor = alone[i]->threshold > 0 ? alone[i]->threshold : 1;
        if (alone[i]->ci_low - base > floor)
            add_culprit(h, h->names[i]);
    }
}

static void strategy_ddmin(hunt *h)
{
    unsigned set = prefix(h, h->n);
    lh_run_result *r = measure(h, set, search_tool(h), 0);
    if (!leaks(r))
        return;
    /* Drop one stage at a time (with the stages that require it) while the
     * rest still leaks; repeat until no single removal keeps the leak. */
    int changed = 1;
    while (changed) {
        changed = 0;
        for (int i = h->n - 1; i >= 0; i--) {
            if (!(set & (1u << i)))
                continue;
            unsigned without = set & ~(1u << i);
            for (int j = 0; j < h->n; j++) /* drop dependants */
                if ((without & (1u << j)) && (closure(h, 1u << j) & ~without))
                    without &= ~(1u << j);
            if (without == 0)
                continue;
            r = measure(h, without, search_tool(h), 0);
            if (r == NULL)
                return;
            if (leaks(r)) {
                set = without;
                changed = 1;
            }
        }
    }
    /* The minimal set: name the stages that, removed, stop the leak. */
    for (int i = 0; i < h->n; i++)
        if (set & (1u << i)) {
            int needed_by_others = 0;
            for (int j = 0; j < h->n; j++)
                if (j != i && (set & (1u << j)) && (h->req[j] & (1u << i)))
                    needed_by_others = 1;
            /* A pure requirement (forward) is not a culprit unless it is
             * all there is. */
            if (!needed_by_others || __builtin_popcount(set) == 1)
                add_culprit(h, h->names[i]);
        }
}

/* Per-stage breakdown from the prefix runs: each stage's added slope. */
static void breakdown(hunt *h, lh_run_result **pre)
{
    for (int k = 1; k <= h->n; k++) {
        lh_stage_share *s = &h->shares[h->rep.nshares++];
        memset(s, 0, sizeof *s);
        int st = added_stage(h, k);
        memcpy(s->stage, h->names[st], sizeof s->stage);
        double prev = k > 1 && pre[k - 1] ? pre[k - 1]->slope : 0;
        double prev_lo = k > 1 && pre[k - 1] ? pre[k - 1]->ci_low : 0;
        double prev_hi = k > 1 && pre[k - 1] ? pre[k - 1]->ci_high : 0;
        if (pre[k] == NULL)
            continue;
        s->bytes_per_unit = pre[k]->slope - prev;
        s->ci_low = pre[k]->ci_low - prev_hi;
        s->ci_high = pre[k]->ci_high - prev_lo;
        double floor = pre[k]->threshold > 0 ? pre[k]->threshold : 1;
        /* On top of a leak, the increment must also be over a quarter of
         * the leak below it: a leaking prefix's slope moves by several
         * percent from run to run (on a loaded machine the B nodes fall
         * behind, and blocks leaked for events still in flight count
         * against fewer finished events), far more than its interval
         * says.  Seen: hash leaking 80 B/event, +enqueue 88 (CI 6-11 over
         * hash) with no leak in enqueue. */
        s->leaks = leaks(pre[k]) && s->ci_low > floor &&
                   s->bytes_per_unit > 0.25 * (prev > 0 ? prev : 0);
        if (s->leaks)
            add_culprit(h, s->stage);
    }
    h->rep.shares = h->shares;
}

static void strategy_auto(hunt *h)
{
    lh_run_result *pre[MAX_STAGES + 1] = {0};
    for (int k = 1; k <= h->n; k++) {
        pre[k] = measure(h, prefix(h, k), search_tool(h), 0);
        if (pre[k] == NULL)
            return;
    }
    breakdown(h, pre);
    if (h->rep.nculprit == 0 && leaks(pre[h->n])) {
        /* Growth only in the full set, not attributable to one stage's
         * increment: fall back to the first leaking prefix. */
        for (int k = 1; k <= h->n; k++)
            if (leaks(pre[k])) {
                add_culprit(h, h->names[added_stage(h, k)]);
                break;
            }
    }
    if (h->rep.nculprit == 0)
        return;
    /* Confirm with the heap tool on the full set (the sites of every
     * leaking stage), then memcheck on the shortest leaking prefix (the
     * kind: lost or still reachable). */
    int first = 0;
    for (int k = 1; k <= h->n && !first; k++)
        if (leaks(pre[k]))
            first = k;
    unsigned set = prefix(h, first ? first : h->n);
    if (h->cli.tool == NULL || h->cli.tool != &lh_tool_heap) {
        lh_run_result *hr = measure(h, prefix(h, h->n), &lh_tool_heap, 0);
        if (hr && !leaks(hr) && !h->failed)
            fprintf(stderr, "leak-hunt: the heap tool did not confirm the "
                            "leak (%+.2f B/unit)\n", hr->slope);
    }
    /* memcheck is asked for the kind of leak, not for a verdict the rss
     * and heap runs already gave: one extension at most (each doubles a
     * run that valgrind makes slow, and its few leak searches often leave
     * the slope test wanting more).  One, not none: its work budget is
     * often spent before the first leak search has come back, and that
     * first decision, on nothing, asks for the extension that waits for
     * the searches. */
    int extend = h->cli.max_extend;
    h->cli.max_extend = extend > 1 ? 1 : extend;
    lh_run_result *mc = measure(h, set, &lh_tool_memcheck, 0);
    h->cli.max_extend = extend;
    if (mc) {
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
    lh_runner_report(&h.run, &h.rep);
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
