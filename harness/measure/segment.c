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

#include <stdlib.h>
#include <string.h>

#define SETTLE_MIN_SECONDS 0.5
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median queue of v[lo..hi) (hi > lo), or -1 when out of memory. */
static double median_queue(const lh_sample *v, size_t lo, size_t hi)
{
    size_t n = hi - lo;
    double *q = lh_calloc(n, sizeof *q);
    if (q == NULL)
        return -1;
    for (size_t k = 0; k < n; k++)
        q[k] = v[lo + k].queue;
    qsort(q, n, sizeof *q, cmp_double);
    double m = n % 2 ? q[n / 2] : (q[n / 2 - 1] + q[n / 2]) / 2;
    lh_free(q);
    return m;
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
    double a = median_queue(v, lo, mid), b = median_queue(v, mid, i + 1);
    if (a < 0 || b < 0)
        return 0;
    double level = a > b ? a : b;
    double room = o->queue_rel * level;
    if (room < o->queue_abs)
        room = o->queue_abs;
    return (a > b ? a - b : b - a) <= room;
}

lh_settle lh_settle_at(const lh_sample *v, size_t n, size_t ack, size_t i,
                       int has_queue, const lh_settle_opts *o)
{
    if (v == NULL || ack >= n || i >= n || i < ack)
        return LH_SETTLE_WAIT;
    double secs = v[i].t - v[ack].t, work = v[i].work - v[ack].work;
    if (secs >= o->max_seconds)
        return LH_SETTLE_FORCED;
    if (secs < o->min_seconds || work < o->min_work)
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
