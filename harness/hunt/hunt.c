/*
 * hunt.c - auto's search over the growing prefixes, and the increment test.
 *
 * Design note
 * -----------
 * The story's method switches stages on one at a time, in pipeline order,
 * and watches where the growth starts.  Measuring every prefix gives each
 * stage's added bytes per unit, but costs one run per stage even when the
 * full set is clean.  The search here measures the full set first and
 * then halves only the ranges of prefixes whose increment is a leak:
 *   - clean pipeline: 1 run;
 *   - one leaking stage of five: 3-4 runs (bisect's count);
 *   - two leaking stages (hash and rpc): 5 runs.
 * A range whose increment is not a leak is left whole: its stages are one
 * row of the breakdown ("forward..enqueue added +0.1 B/unit"), which says
 * all there is to say about them: together they add nothing.
 *
 * The increment test compares two runs, so each one's interval is widened
 * by LH_HUNT_REPRO of its slope before they are combined: a run's own
 * interval (a block bootstrap within the run) is far narrower than the
 * differences between runs of a leaking pipeline, and a point difference
 * of 5 B/event on top of an 80 B/event leak is no second leak.  The two
 * half-widths are combined in quadrature (independent runs).
 */
#include "hunt.h"

#include "error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int stage_index(const lh_hunt_stages *s, const char *name, size_t len)
{
    for (int i = 0; i < s->n; i++)
        if (strlen(s->names[i]) == len && strncmp(s->names[i], name, len) == 0)
            return i;
    return -1;
}

int lh_hunt_stages_parse(lh_hunt_stages *out, const char *stages,
                         const char *requires, char *err, size_t cap)
{
    lh_hunt_stages s;
    memset(&s, 0, sizeof s);
    const char *p = stages ? stages : "";
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof s.names[0] ||
            s.n == LH_HUNT_MAX_STAGES) {
            snprintf(err, cap, "bad --stages list '%s' (at most %d names "
                               "of 1-%zu characters)",
                     stages, LH_HUNT_MAX_STAGES, sizeof s.names[0] - 1);
            return LH_EINVAL;
        }
        if (stage_index(&s, p, len) >= 0) {
            snprintf(err, cap, "stage '%.*s' is twice in --stages '%s'",
                     (int)len, p, stages);
            return LH_EINVAL;
        }
        memcpy(s.names[s.n], p, len);
        s.names[s.n][len] = '\0';
        s.n++;
        p += len;
        if (*p == ',')
            p++;
    }
    if (s.n == 0) {
        snprintf(err, cap, "no stages given");
        return LH_EINVAL;
    }
    p = requires ? requires : "";
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *colon = memchr(p, ':', len);
        int st = colon ? stage_index(&s, p, (size_t)(colon - p)) : -1;
        int dep = colon ? stage_index(&s, colon + 1,
                                      len - (size_t)(colon - p) - 1)
                        : -1;
        if (st < 0 || dep < 0 || st == dep) {
            snprintf(err, cap, "bad --requires entry '%.*s' (want "
                               "STAGE:DEPENDENCY, two known stages)",
                     (int)len, p);
            return LH_EINVAL;
        }
        s.req[st] |= 1u << dep;
        p += len;
        if (*p == ',')
            p++;
    }
    *out = s;
    return 0;
}

unsigned lh_hunt_closure(const lh_hunt_stages *s, unsigned set)
{
    unsigned prev;
    do {
        prev = set;
        for (int i = 0; i < s->n; i++)
            if (set & (1u << i))
                set |= s->req[i];
    } while (set != prev);
    return set;
}

void lh_hunt_set_name(const lh_hunt_stages *s, unsigned set, char *buf,
                      size_t cap)
{
    size_t len = 0;
    if (cap == 0)
        return;
    buf[0] = '\0';
    for (int i = 0; i < s->n; i++)
        if (set & (1u << i))
            len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0,
                                    "%s%s", len ? "," : "", s->names[i]);
}

int lh_hunt_prefixes(const lh_hunt_stages *s, unsigned *sets)
{
    int m = 0;
    sets[0] = 0;
    for (int k = 1; k <= s->n; k++) {
        unsigned set = lh_hunt_closure(s, (1u << k) - 1);
        if (set != sets[m])
            sets[++m] = set;
    }
    return m;
}

int lh_hunt_step_stage(const lh_hunt_stages *s, unsigned added)
{
    for (int i = s->n - 1; i >= 0; i--)
        if (added & (1u << i))
            return i;
    return -1;
}

/* A run's half-widths below and above its slope, widened by the
 * run-to-run share. */
static void half_widths(const lh_hunt_point *p, double *below, double *above)
{
    double extra = LH_HUNT_REPRO * fabs(p->slope);
    *below = (p->slope - p->ci_low) + extra;
    *above = (p->ci_high - p->slope) + extra;
}

void lh_hunt_delta_of(const lh_hunt_point *a, const lh_hunt_point *b,
                      lh_hunt_delta *out)
{
    double a_lo, a_hi, b_lo, b_hi;
    half_widths(a, &a_lo, &a_hi);
    half_widths(b, &b_lo, &b_hi);
    out->value = b->slope - a->slope;
    /* b low and a high make the increment small, and the other way. */
    out->low = out->value - sqrt(b_lo * b_lo + a_hi * a_hi);
    out->high = out->value + sqrt(b_hi * b_hi + a_lo * a_lo);
}

int lh_hunt_adds_leak(const lh_hunt_point *a, const lh_hunt_point *b,
                      double floor)
{
    lh_hunt_delta d;
    lh_hunt_delta_of(a, b, &d);
    return b->leaks && d.low > floor; /* false for NaN */
}

typedef struct search {
    const lh_hunt_stages *s;
    const double *floor; /* (lh_hunt_search: read when compared) */
    lh_hunt_measure_fn measure;
    void *arg;
    lh_hunt_outcome *out;
} search;

static int point(search *x, int k, const lh_hunt_point **p)
{
    lh_hunt_outcome *o = x->out;
    if (!o->measured[k]) {
        o->runs++;
        int rc = x->measure(x->arg, k, &o->points[k]);
        if (rc < 0)
            return rc;
        o->measured[k] = 1;
    }
    *p = &o->points[k];
    return 0;
}

static void add_group(search *x, int lo, int hi, int leaks)
{
    lh_hunt_outcome *o = x->out;
    lh_hunt_group *g = &o->groups[o->ngroups++];
    g->lo = lo;
    g->hi = hi;
    g->added = o->sets[hi] & ~o->sets[lo];
    lh_hunt_delta_of(&o->points[lo], &o->points[hi], &g->d);
    g->leaks = leaks;
    if (leaks) {
        int st = lh_hunt_step_stage(x->s, g->added);
        if (st >= 0)
            o->culprits |= 1u << st;
        if (o->first_leak == 0 || hi < o->first_leak)
            o->first_leak = hi;
        if (hi > o->last_leak)
            o->last_leak = hi;
    }
}

/* The range (lo, hi), both measured: `leaks` says whether it adds a leak
 * (or is to be followed as if it did).  Groups come out in order. */
static int split(search *x, int lo, int hi, int leaks)
{
    if (!leaks || hi - lo == 1) {
        add_group(x, lo, hi, leaks);
        return 0;
    }
    int mid = lo + (hi - lo) / 2;
    const lh_hunt_point *a = &x->out->points[lo], *b = &x->out->points[hi];
    const lh_hunt_point *c;
    int rc = point(x, mid, &c);
    if (rc < 0)
        return rc;
    int left = lh_hunt_adds_leak(a, c, *x->floor);
    int right = lh_hunt_adds_leak(c, b, *x->floor);
    if (!left && !right) {
        /* The leak is spread under the floor in each half: follow the half
         * that adds more. */
        lh_hunt_delta dl, dr;
        lh_hunt_delta_of(a, c, &dl);
        lh_hunt_delta_of(c, b, &dr);
        if (dl.value > dr.value)
            left = 1;
        else
            right = 1;
    }
    rc = split(x, lo, mid, left);
    if (rc < 0)
        return rc;
    return split(x, mid, hi, right);
}

int lh_hunt_search(const lh_hunt_stages *s, const double *floor,
                   const lh_hunt_point *base, lh_hunt_measure_fn measure,
                   void *arg, lh_hunt_outcome *out)
{
    memset(out, 0, sizeof *out);
    out->m = lh_hunt_prefixes(s, out->sets);
    out->measured[0] = 1; /* the empty set: the baseline, or no growth */
    if (base)
        out->points[0] = *base;
    search x = {s, floor, measure, arg, out};
    const lh_hunt_point *full;
    int rc = point(&x, out->m, &full);
    if (rc == 0)
        rc = split(&x, 0, out->m,
                   lh_hunt_adds_leak(&out->points[0], full, *floor));
    if (rc < 0) {
        out->ngroups = 0;
        out->culprits = 0;
        out->first_leak = out->last_leak = 0;
    }
    return rc;
}
