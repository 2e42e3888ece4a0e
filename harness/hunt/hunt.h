/*
 * hunt.h - the search behind `leak-hunt hunt`: stage sets, the increment
 * a stage adds to a configuration's growth, and auto's search over the
 * growing prefixes.  Pure logic: measuring is the caller's (a callback),
 * so the search can be driven by recorded or made-up slopes in a test.
 */
#ifndef LH_HUNT_H
#define LH_HUNT_H

#include <stddef.h>

#define LH_HUNT_MAX_STAGES 16

/*
 * How far a leaking configuration's slope moves from run to run, as a
 * share of the slope (added to each run's 95% half-width before two runs
 * are compared).  A run's own interval says how well the line fits that
 * run; between runs of different configurations the leak itself is
 * measured a few per cent apart (the B nodes fall behind at different
 * points, and the queue correction takes a different share): seen on
 * selfheal, hash leaking 80 B/event measured 88 with enqueue on, and a
 * verify leak +4.8 B/event higher with rpc on, each interval under
 * +-0.5.  10% keeps both from reading as a second leak, and still finds
 * a second leak of a quarter of the first.
 */
#define LH_HUNT_REPRO 0.10

/* The stages of a target in pipeline order and what each requires. */
typedef struct lh_hunt_stages {
    char names[LH_HUNT_MAX_STAGES][32];
    int n;
    unsigned req[LH_HUNT_MAX_STAGES]; /* bit mask of the stages each needs */
} lh_hunt_stages;

/*
 * Parses `stages` ("a,b,c") and `requires` ("b:a,c:b"; NULL or "" for
 * none) into *s.  0, or LH_EINVAL with a message in err (cap bytes): an
 * empty or too long name, more than LH_HUNT_MAX_STAGES stages, a
 * requirement naming an unknown stage.  *s is unchanged on failure.
 */
int lh_hunt_stages_parse(lh_hunt_stages *s, const char *stages,
                         const char *requires, char *err, size_t cap);

/* The set (bit i: stage i) with everything it requires, transitively. */
unsigned lh_hunt_closure(const lh_hunt_stages *s, unsigned set);

/* Writes the set as a comma list in pipeline order ("" when empty). */
void lh_hunt_set_name(const lh_hunt_stages *s, unsigned set, char *buf,
                      size_t cap);

/*
 * The growing prefixes: prefix k is the first k stages with what they
 * require.  Prefixes that add nothing new (a stage an earlier one already
 * brought) are skipped, so the distinct prefixes P[1..m] each add at least
 * one stage; P[0] is the empty set.  Returns m and fills sets[0..m]
 * (cap >= LH_HUNT_MAX_STAGES + 1 entries).
 */
int lh_hunt_prefixes(const lh_hunt_stages *s, unsigned *sets);

/* The stage a prefix step adds, named for it: of the stages in `added`,
 * the last in pipeline order (the one that brought the others).  -1 when
 * `added` is empty. */
int lh_hunt_step_stage(const lh_hunt_stages *s, unsigned added);

/* A measured configuration as the search sees it. */
typedef struct lh_hunt_point {
    int leaks;                     /* the run's verdict was leak */
    double slope, ci_low, ci_high; /* bytes per unit, 95% interval */
} lh_hunt_point;

/* What enabling more stages added: b's slope minus a's, with an interval
 * from both runs' intervals (each widened by LH_HUNT_REPRO of its slope,
 * combined in quadrature).  NaN in, NaN out. */
typedef struct lh_hunt_delta {
    double value, low, high;
} lh_hunt_delta;

void lh_hunt_delta_of(const lh_hunt_point *a, const lh_hunt_point *b,
                      lh_hunt_delta *out);

/* 1 when going from a to b adds a leak: b leaks and the whole interval of
 * the increment lies over the floor (bytes per unit). */
int lh_hunt_adds_leak(const lh_hunt_point *a, const lh_hunt_point *b,
                      double floor);

/* One row of the breakdown: the stages that distinct prefix `lo` lacks and
 * prefix `hi` has, switched on together, and what they added. */
typedef struct lh_hunt_group {
    int lo, hi;     /* distinct prefix indices, lo < hi */
    unsigned added; /* P[hi] & ~P[lo] */
    lh_hunt_delta d;
    int leaks;      /* a culprit: one prefix step (hi == lo + 1) that adds
                       a leak */
} lh_hunt_group;

/* Measures distinct prefix k (1..m) into *out.  0, or negative to stop
 * the search (a run failed). */
typedef int (*lh_hunt_measure_fn)(void *arg, int k, lh_hunt_point *out);

typedef struct lh_hunt_outcome {
    int m;                                 /* distinct prefixes */
    unsigned sets[LH_HUNT_MAX_STAGES + 1]; /* P[0..m] */
    int measured[LH_HUNT_MAX_STAGES + 1];  /* 1: P[k] was measured */
    lh_hunt_point points[LH_HUNT_MAX_STAGES + 1];
    lh_hunt_group groups[LH_HUNT_MAX_STAGES]; /* in pipeline order, they
                                                 cover P[m] */
    int ngroups;
    unsigned culprits; /* stage mask: the named stage of each leaking
                          group */
    int first_leak;    /* smallest k of a leaking group's hi, 0: none */
    int last_leak;     /* largest such k, 0: none */
    int runs;          /* measurements asked for */
} lh_hunt_outcome;

/*
 * auto's search.  Measures the full set P[m] first; then, while some
 * range of prefixes (lo, hi) adds a leak (lh_hunt_adds_leak of P[lo] and
 * P[hi]), measures its middle and goes on in each half that adds one
 * (both halves when two stages leak), down to single prefix steps: those
 * are the culprits.  A range that adds a leak while neither half does on
 * its own (a leak under the floor in each) goes on in the half that adds
 * more.  A clean full set is one run; one leaking stage takes about
 * log2(m) + 1 runs (bisect's count), each further leaking stage a few
 * more.  Ranges that add nothing stay whole: their stages are not
 * measured apart, and the breakdown shows them as one row.
 * P[0], every stage off, is not measured here: it is `base`, the
 * baseline's point when the baseline leaks in the stages' unit (a leak
 * outside the stages: each step is then judged over it), or NULL for a
 * P[0] that does not grow.
 * *floor is read at each comparison, not once: the hunt learns its floor
 * from its first run decided per unit (cmd_hunt.c), which is this search's
 * full set.
 * 0, or the callback's negative code (the outcome holds what was found so
 * far, with no culprit).
 */
int lh_hunt_search(const lh_hunt_stages *s, const double *floor,
                   const lh_hunt_point *base, lh_hunt_measure_fn measure,
                   void *arg, lh_hunt_outcome *out);

#endif
