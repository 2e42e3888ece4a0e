/*
 * segment.h - a live run cut into segments (docs/protocol.md section 5):
 * one configuration's samples taken from the whole run's, and the settle
 * rule that says where, after a switch, its measured part begins.
 *
 * Pure computation over series (sampler.h), so tests drive it with
 * made-up samples.
 *
 * A segment's series starts at the switch: its samples are the run's,
 * with work and time counted from the switch (lh_segment_sample).  The
 * target acknowledges the switch at some sample (ack.h), then settles:
 * what the old configuration left behind (a delay queue draining, items
 * in flight to a stage that went off, buffers and caches of a stage that
 * came on reaching their level) is still moving, and is not the new
 * configuration's growth.  The settle rule (lh_settle_at) says from which
 * sample on the segment is measured; the samples before are left out of
 * the fit.
 */
#ifndef LH_SEGMENT_H
#define LH_SEGMENT_H

#include <stddef.h>

#include "sampler.h"

/* The settle rule's parameters (the defaults and why: segment.c). */
typedef struct lh_settle_opts {
    double min_seconds; /* after the acknowledgement, at least */
    double min_work;    /* units of work after the acknowledgement, at
                           least (0: none) */
    double window;      /* seconds: the queue's level is compared over the
                           last two windows this long */
    double queue_abs;   /* its level is stable when the two medians differ
                           by at most max(queue_abs, queue_rel * level) */
    double queue_rel;
    double max_seconds; /* settled anyway this long after the
                           acknowledgement */
    double no_work_seconds; /* no work flowed this long after the
                               acknowledgement: a configuration that does
                               none (settled by the time alone) */
} lh_settle_opts;

/* Fills o with the defaults. */
void lh_settle_opts_init(lh_settle_opts *o);

/* How the measured part began (lh_settle_at's answer). */
typedef enum lh_settle {
    LH_SETTLE_WAIT = 0, /* not settled at this sample */
    LH_SETTLE_DONE,     /* settled by the rule */
    LH_SETTLE_FORCED,   /* not settled by the rule after max_seconds */
} lh_settle;

/*
 * Whether a segment is settled at sample i of v (the segment's series, in
 * time order; v[ack] the first sample at or after the acknowledgement,
 * ack <= i < n): work has flowed for at least min_seconds (from the last
 * sample at v[ack]'s work: a pipeline whose consumers are still joining
 * does its first work late; with no work at all no_work_seconds after
 * v[ack], a configuration that does none: from there, by the time
 * alone), at least min_work after v[ack], and,
 * when the target reports its queue (has_queue), the queue's median over
 * the last `window` seconds within max(queue_abs, queue_rel * level, the
 * larger interquartile range of the two windows) of its median over the
 * window before, both windows after v[ack]: a queue that fills or drains
 * steadily is waited for, a bursty one at its level is not.  After
 * max_seconds: FORCED.
 */
lh_settle lh_settle_at(const lh_sample *v, size_t n, size_t ack, size_t i,
                       int has_queue, const lh_settle_opts *o);

/* Sample x of the whole run as a segment that began at `origin` shows
 * it: work and time counted from there. */
lh_sample lh_segment_sample(const lh_sample *x, const lh_sample *origin);

/*
 * The samples of the whole run from index `from` to `to` (exclusive) as a
 * segment (lh_segment_sample from whole->v[from]), appended to *out.  0,
 * LH_EINVAL (from > to, or to past the series), or LH_ENOMEM.
 */
int lh_segment_cut(const lh_series *whole, size_t from, size_t to,
                   lh_series *out);

#endif
