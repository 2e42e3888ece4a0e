/*
 * segment.c - live segments and the settle rule (segment.h).
 *
 * Design note: the settle rule
 * ----------------------------
 * What a switch leaves behind, measured on the built-in pipeline (`selfheal
 * up`, 3 B nodes, 50k events/s, the stats lines read every ~10 ms, the
 * heap corrected for the queue at its fitted ~223 B an item; issue 13):
 *   - the queue moves to its new level at once: enqueue off releases the
 *     delay queue in the switch itself, enqueue on fills it within its
 *     10 ms delay; a bursty queue (0 to 8-13k items from one sample to the
 *     next under load) stays bursty at its level.  The queue's share of
 *     the heap is exact (residual 0-1.2 KB around the corrected fit with
 *     rpc off), and the decision takes it out (measure.c,
 *     per_queued_item), so a queue only needs to have stopped filling or
 *     draining, not to be still;
 *   - a stage's first use allocates once: rpc's +540-760 KB within 0.2-0.7 s
 *     of its acknowledgement (its calls' buffers), kept when it goes off;
 *     forward, hash, enqueue and verify nothing measurable (under 4 KB);
 *   - the first switch after the start waits for the consumer group's
 *     join (~3 s after the start): no work flows until then;
 *   - a cache that fills (hash:cache:64: 4096 blocks a node) fills in its
 *     first ~12k events, a quarter of a second.
 * So a segment settles once work has flowed for SETTLE_MIN_SECONDS after
 * the acknowledgement (a first use done, with margin: 0.7 s was the
 * longest seen) and the queue's median over the last SETTLE_WINDOW is
 * within max(SETTLE_QUEUE_ABS, SETTLE_QUEUE_REL of its level, the
 * windows' interquartile range) of the one before: a queue still filling
 * or draining is waited for, a bursty one at its level is not (a rule on
 * its level alone held bursty segments to the cap).  A configuration that
 * does no work at all (every stage off) settles by time after
 * SETTLE_NO_WORK_SECONDS; nothing waits longer than SETTLE_MAX_SECONDS
 * (the verdict's reason says so).  What is left, a slower cache or a
 * queue whose items differ, is the decision's to judge as it judges a run
 * of its own: plateau, steps, backlog, the warm-up share after a switch
 * (live.c).  tests/unit/test_live.c drives the rule with a delay queue
 * released, a cache filling, a first use and the bursty queue: clean,
 * and a 1 B/unit leak after each still a leak.
 */
#include "segment.h"

#include "alloc.h"
#include "error.h"
#include "slope.h"

#define SETTLE_MIN_SECONDS 1.0
#define SETTLE_MIN_WORK 0.0
#define SETTLE_WINDOW 0.5
#define SETTLE_QUEUE_ABS 64.0
#define SETTLE_QUEUE_REL 0.05
#define SETTLE_MAX_SECONDS 5.0
#define SETTLE_NO_WORK_SECONDS 3.0

void lh_settle_opts_init(lh_settle_opts *o)
{
    o->min_seconds = SETTLE_MIN_SECONDS;
    o->min_work = SETTLE_MIN_WORK;
    o->window = SETTLE_WINDOW;
    o->queue_abs = SETTLE_QUEUE_ABS;
    o->queue_rel = SETTLE_QUEUE_REL;
    o->max_seconds = SETTLE_MAX_SECONDS;
    o->no_work_seconds = SETTLE_NO_WORK_SECONDS;
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
    /* work flowing for min_seconds; none after no_work_seconds: a
     * configuration that does no work, settled by the time alone */
    size_t w = first_work(v, ack, i);
    double flowing = w <= i ? v[i].t - v[w - 1].t
                            : secs >= o->no_work_seconds ? secs : 0;
    if (flowing < o->min_seconds || work < o->min_work)
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
