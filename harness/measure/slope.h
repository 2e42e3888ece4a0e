/*
 * slope.h - does memory grow with work?  The statistics behind a verdict.
 *
 * The harness samples a target while it runs: work units done (x), memory
 * bytes (y: live heap, or RSS) and, when the target reports it, the depth of
 * its queue.  lh_decide turns such a series into a verdict:
 *
 *   LEAK          memory grows steadily with work, faster than the floor
 *   CLEAN         it does not (flat, or growth that levelled off, or one-off
 *                 jumps)
 *   BACKLOG       it grows, but a growing queue explains the growth
 *   INCONCLUSIVE  the data cannot tell yet: run longer (the caller doubles
 *                 the run and calls again)
 *
 * The slope is in bytes per work unit (not per second), estimated with
 * Theil-Sen (median of pairwise slopes) after a warm-up is discarded, with a
 * 95% interval from a block bootstrap of the residuals that respects
 * autocorrelation (AR(1) post-blackening plus sign-flipped blocks).  The
 * design and the measurements behind the defaults are in the note at the
 * top of slope.c; tests/bench/bench_slope.c reproduces them.
 *
 * Calling it live: the harness may call lh_decide on the growing series
 * every few hundred milliseconds (progress, or stopping early on a clear
 * CLEAN), but should act on LEAK only at the end of the planned run: with
 * eight looks per run, the first LEAK of any look is a false positive 8.7%
 * of the time on clean series (a cache that is still filling), against
 * under 0.1% at the last look.
 *
 * Everything here is pure computation: no I/O, no global state, no threads.
 * A call is deterministic for a given seed.  Scratch memory comes from
 * lh_malloc and is freed before the call returns.
 *
 * Cost: the series is condensed to at most LH_SLOPE_POINTS points (medians
 * of consecutive groups), so one lh_decide costs about the same for 1,000
 * and 10,000 samples: ~3 ms of CPU for a clean series, ~5.5 ms for a leak
 * (measured by bench_slope on this 2-core machine).
 */
#ifndef LH_SLOPE_H
#define LH_SLOPE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Default floor in bytes per work unit.  A leak is declared only when the
 * 95% intervals lie above it; clean only when the interval lies below it
 * (or the late part of the run's does: plateau).  1 B/unit: a 64 B/event
 * leak is 64x over it, the 4-6 B/event leaks of the integration
 * tests are 4-6x over it, and on 7,000 synthetic clean series of realistic
 * RSS shapes (white, AR(1) and page-random-walk noise, one or two one-off
 * jumps, plateaus, saturating caches) 0.04% were called leaks.  Leaks from
 * 1.25 B/unit (quiet series) to 6 B/unit (noisy short runs, after the
 * caller's doublings) are detected 95% of the time.  Callers pass
 * --threshold to change it.
 */
#define LH_DECIDE_DEFAULT_THRESHOLD 1.0

/*
 * The floor for live bytes as an allocator counts them (a target's heap=,
 * the heap tool's count), where RSS's pages are not in the way: 0.25
 * B/unit, so that a leak of 1 B/unit (32 bytes every 32 events) clears it
 * by four times.  Measured on the built-in pipeline (issue 13): its heap
 * is the queue's items (~224 B each) and nothing else, to the byte
 * (residual 0-1.2 KB around the queue-corrected fit without rpc, 47-150
 * KB with it, whose calls in flight are not in queue=); clean live
 * segments fit 0.00 B/event with [0, 0] intervals, the full set
 * -0.6..+0.3.  The false-leak count of clean hunts at this floor is
 * ci/bench sensitivity's.
 */
#define LH_DECIDE_HEAP_THRESHOLD 0.25

/* Default warm-up: the first 20% of the work is discarded. */
#define LH_DECIDE_DEFAULT_WARMUP 0.2

/* Default bootstrap resamples per interval (accepted: 50..10000). */
#define LH_DECIDE_DEFAULT_RESAMPLES 200

/* Default PRNG seed; any fixed value gives reproducible verdicts. */
#define LH_DECIDE_DEFAULT_SEED UINT64_C(0x9e3779b97f4a7c15)

/* Longer series are condensed to this many points before fitting. */
#define LH_SLOPE_POINTS 64

/* Fewer samples than this after warm-up: INCONCLUSIVE (TOO_FEW). */
#define LH_DECIDE_MIN_SAMPLES 12

/* lh_slope_theil_sen refuses more points than this (O(n^2) memory). */
#define LH_SLOPE_EXACT_MAX 4096

/* One sample of the series. */
typedef struct lh_slope_sample {
    double work;  /* work units done so far; non-decreasing along the series */
    double bytes; /* memory in bytes (live heap or RSS) */
    double queue; /* items the target holds; negative or NaN: not reported */
} lh_slope_sample;

/* A slope with its interval. */
typedef struct lh_slope_fit {
    double slope;     /* Theil-Sen estimate, bytes per unit */
    double intercept; /* median of y - slope * x */
    double ci_low;    /* 95% block-bootstrap percentile interval */
    double ci_high;
    size_t n;     /* points fitted (after condensing) */
    size_t block; /* bootstrap block length used, in points */
} lh_slope_fit;

typedef enum lh_verdict {
    LH_VERDICT_CLEAN = 0,
    LH_VERDICT_LEAK,
    LH_VERDICT_INCONCLUSIVE,
    LH_VERDICT_BACKLOG,
} lh_verdict;

/* Why the verdict is what it is. */
typedef enum lh_decide_reason {
    LH_REASON_FLAT = 0, /* clean: the interval lies below the floor */
    LH_REASON_PLATEAU,  /* clean: grew, then levelled off (late part flat) */
    LH_REASON_STEP,     /* clean: one-off jump(s), flat otherwise */
    LH_REASON_GROWTH,   /* leak: steady growth above the floor */
    LH_REASON_BACKLOG,  /* backlog: growth explained by a growing queue */
    LH_REASON_WIDE,     /* inconclusive: an interval straddles the floor */
    LH_REASON_SLOWING,  /* inconclusive: growth slows down, may level off */
    LH_REASON_TOO_FEW,  /* inconclusive: too few samples or no work done */
} lh_decide_reason;

typedef struct lh_decide_opts {
    double threshold;   /* floor, bytes per unit, >= 0 */
    double warmup;      /* fraction of the work discarded, 0 .. 0.9 */
    unsigned resamples; /* bootstrap resamples, 50 .. 10000 */
    uint64_t seed;      /* bootstrap PRNG seed */
} lh_decide_opts;

typedef struct lh_decision {
    lh_verdict verdict;
    lh_decide_reason reason;
    int run_longer; /* 1 when a longer run may decide (INCONCLUSIVE) */
    double threshold;

    /* The fit the verdict rests on: post-warm-up data after removing the
     * one-off steps found (and, for BACKLOG, the queue's share).  This is
     * the figure to report as "bytes per unit" with its 95% interval. */
    double slope, ci_low, ci_high;
    /* The post-warm-up data as measured, before any adjustment. */
    double raw_slope, raw_ci_low, raw_ci_high;
    /* Last third of the post-warm-up work (plateau test); NaN when the
     * decision did not need it. */
    double late_slope, late_ci_low, late_ci_high;

    size_t n_total;     /* samples given */
    size_t warmup_cut;  /* index of the first sample used */
    size_t n_used;      /* samples used (n_total - warmup_cut) */
    size_t points;      /* points fitted after condensing */
    double warmup_work; /* work units discarded as warm-up */
    double work_span;   /* work units covered by the samples used */

    unsigned steps;    /* one-off jumps removed */
    double step_bytes; /* their total size */

    int queue_reported;    /* every used sample had a queue depth */
    int queue_growing;     /* and it grew materially */
    double queue_slope;    /* items per unit (when reported) */
    double queue_level;    /* median depth (when reported) */
    double bytes_per_item; /* growth attributed per queued item (backlog) */

    char text[512]; /* one line: verdict, figures, reason */
} lh_decision;

/* Fills `opts` with the defaults above. */
void lh_decide_opts_init(lh_decide_opts *opts);

/*
 * Decides leak / clean / backlog / inconclusive for `n` samples in time
 * order.  `opts` NULL means defaults.  Fills `*out` and returns 0; a series
 * too short to judge is not an error (INCONCLUSIVE, TOO_FEW).
 * LH_EINVAL: NULL `out`, NULL `s` with n > 0, an option out of range, a
 * non-finite work or bytes value, or work that decreases.  LH_ENOMEM.
 * On failure `*out` is unchanged.
 */
int lh_decide(const lh_slope_sample *s, size_t n, const lh_decide_opts *opts,
              lh_decision *out);

/*
 * Theil-Sen slope and interval of y against x (n points in order, x
 * non-decreasing), condensed to LH_SLOPE_POINTS points when longer.
 * 0, or LH_EINVAL (NULL pointer, n < 3, x constant, decreasing or not
 * finite, y not finite, resamples out of range), LH_ENOMEM.
 */
int lh_slope_fit_xy(const double *x, const double *y, size_t n,
                    unsigned resamples, uint64_t seed, lh_slope_fit *out);

/*
 * Exact Theil-Sen on n points (any order): *slope = median of the slopes of
 * all pairs with distinct x, *intercept = median of y - slope * x.
 * O(n^2) time and n(n-1)/2 doubles of scratch.  0, or LH_EINVAL (NULL
 * pointer, n < 2, all x equal, non-finite input), LH_ETOOBIG (n over
 * LH_SLOPE_EXACT_MAX), LH_ENOMEM.
 */
int lh_slope_theil_sen(const double *x, const double *y, size_t n,
                       double *slope, double *intercept);

/* How one record of lh_slope_records_signal is taken (see there). */
typedef enum lh_record_kind {
    LH_RECORD_STEADY = 0, /* never shrank, grew in most intervals */
    LH_RECORD_STEPS,      /* never shrank, grew after the warm-up in a few
                             steps: a high-water mark */
    LH_RECORD_CHURN,      /* shrank at some point: blocks in flight */
} lh_record_kind;

/* Index of the first of n points at or past the warm-up (the first
 * `warmup` of the work); n - 1 at most, 0 for n == 0. */
size_t lh_slope_warmup_index(const double *work, size_t n, double warmup);

/* The kind of record v (n points, warm-up ending at index cut). */
lh_record_kind lh_slope_record_kind(const double *v, size_t n, size_t cut);

/*
 * Bytes per unit by which the least a series held rose from the first to
 * the second half of its n points (work[i], v[i]; work non-decreasing):
 * for blocks in flight, which drain now and then, the floor stays put; a
 * steady leak raises it at its own rate (the minimum of each half is at
 * its start: the rise is divided by the work between the two starts); a
 * leak among short-lived blocks raises it too.  0 when it did not rise,
 * or n < 2, or the halves start at the same work.
 */
double lh_slope_floor_rise(const double *work, const double *v, size_t n);

/*
 * Growth by record: one series to decide on from many that share their
 * work axis, where each record is one allocation site of one process (a
 * memcheck loss record) measured at the same n points.  rec[r][i] is the
 * bytes of record r at point i, work[i] the work done then.  Writes out[i]
 * (n values) as the sum of:
 *   - a record that never shrank and grew in at least a third of the
 *     intervals after the warm-up (the first `warmup` of the work), as it
 *     is: steady growth, what a leak looks like;
 *   - a record that never shrank but grew in fewer (steps up to a
 *     high-water mark: a buffer doubling), held at its level at the end of
 *     the warm-up (min(bytes, bytes there)): its steps are set aside and
 *     counted in *nsteps, their bytes in *step_bytes (either may be NULL);
 *   - the records that shrank at some point (blocks in flight), summed,
 *     as the running maximum of their sum: it levels off unless something
 *     in them keeps growing.
 * Pure computation.  0, LH_EINVAL (NULL pointers, n < 2, warmup outside
 * 0 .. 0.9, work decreasing), LH_ENOMEM.
 */
int lh_slope_records_signal(const double *const *rec, size_t nrec,
                            const double *work, size_t n, double warmup,
                            double *out, size_t *nsteps, double *step_bytes);

/* Quantile p (0 .. 1) of v[0..n), n > 0, with linear interpolation
 * between order statistics; sorts v in place. */
double lh_slope_quantile(double *v, size_t n, double p);

/* "clean", "leak", "inconclusive", "backlog"; "?" for other values. */
const char *lh_decide_verdict_name(lh_verdict v);

/* "flat", "plateau", "step", "growth", "backlog", "wide", "slowing",
 * "too-few"; "?" for other values. */
const char *lh_decide_reason_name(lh_decide_reason r);

#endif
