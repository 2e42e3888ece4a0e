/*
 * segment.c - live segments and the settle rule (segment.h).
 *
 * Design note: the settle rule
 * ----------------------------
 * (The figures behind the defaults are filled in from measurements.)
 */
#include "segment.h"

#include "alloc.h"
#include "error.h"
#include "slope.h"

#define SETTLE_MIN_SECONDS 1.0
#define SETTLE_MIN_WORK 0.0
#define SETTLE_WINDOW 0.5
#define SETTLE_QUEUE_ABS 64.0
#define SETTLE_QUEUE_REL 0.25
#define SETTLE_MAX_SECONDS 5.0

void lh_settle_opts_init(lh_settle_opts *o)
{
    o->min_seconds = SETTLE_MIN_SECONDS;
    o->min_work = SETTLE_MIN_WORK;
    o->window = SETTLE_WINDOW;
    o->queue_abs = SETTLE_QUEUE_ABS;
    o->queue_rel = SETTLE_QUEUE_REL;
    o->max_seconds = SETTLE_MAX_SECONDS;
}

/* The median queue of v[lo..hi) (hi > lo) and its interquartile range;
 * -1 when out of memory. */
static int queue_level(const lh_sample *v, size_t lo, size_t hi,
                       double *median, double *iqr)
{
    size_t n = hi - lo;
    double *q = lh_calloc(n, sizeof *q);
    if (q == NULL)
        return -1;
    for (size_t k = 0; k < n; k++)
        q[k] = v[lo + k].queue;
    *median = lh_slope_quantile(q, n, 0.5);
    *iqr = lh_slope_quantile(q, n, 0.75) - lh_slope_quantile(q, n, 0.25);
    lh_free(q);
    return 0;
}

/* 1 when the queue's level is the same over the last two windows ending
 * at sample i, both after sample ack. */
static int queue_stable(const lh_sample *v, size_t ack, size_t i,
                        const lh_settle_opts *o)
{
    double t = v[i].t;
    size_t mid = i + 1, lo;
    while (mid > ack && v[mid - 1].t > t - o->window)
        mid--;
    lo = mid;
    while (lo > ack && v[lo - 1].t > t - 2 * o->window)
        lo--;
    /* both windows covered (samples come every 100 ms or so) */
    if (lo == mid || mid == i + 1 || t - v[lo].t < 2 * o->window - 0.15)
        return 0;
    double a, b, sa, sb;
    if (queue_level(v, lo, mid, &a, &sa) < 0 ||
        queue_level(v, mid, i + 1, &b, &sb) < 0)
        return 0;
    double level = a > b ? a : b;
    double room = o->queue_rel * level;
    if (room < o->queue_abs)
        room = o->queue_abs;
    if (room < sa)
        room = sa;
    if (room < sb)
        room = sb;
    return (a > b ? a - b : b - a) <= room;
}

/* Index of the first sample after v[ack] whose work is more than at
 * v[ack] (work flows from there), or i + 1 when none up to i. */
static size_t first_work(const lh_sample *v, size_t ack, size_t i)
{
    size_t k = ack + 1;
    while (k <= i && !(v[k].work > v[ack].work))
        k++;
    return k;
}

lh_settle lh_settle_at(const lh_sample *v, size_t n, size_t ack, size_t i,
                       int has_queue, const lh_settle_opts *o)
{
    if (v == NULL || ack >= n || i >= n || i < ack)
        return LH_SETTLE_WAIT;
    double secs = v[i].t - v[ack].t, work = v[i].work - v[ack].work;
    if (secs >= o->max_seconds)
        return LH_SETTLE_FORCED;
    size_t w = first_work(v, ack, i);
    if (w > i || v[i].t - v[w - 1].t < o->min_seconds ||
        work < o->min_work)
        return LH_SETTLE_WAIT;
    if (has_queue && !queue_stable(v, ack, i, o))
        return LH_SETTLE_WAIT;
    return LH_SETTLE_DONE;
}

lh_sample lh_segment_sample(const lh_sample *x, const lh_sample *origin)
{
    lh_sample s = *x;
    s.t = x->t - origin->t;
    s.work = x->work - origin->work;
    return s;
}

int lh_segment_cut(const lh_series *whole, size_t from, size_t to,
                   lh_series *out)
{
    if (from > to || to > whole->n)
        return LH_EINVAL;
    for (size_t i = from; i < to; i++) {
        lh_sample s = lh_segment_sample(&whole->v[i], &whole->v[from]);
        int rc = lh_series_push(out, &s);
        if (rc < 0)
            return rc;
    }
    return 0;
}
