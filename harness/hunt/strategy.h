/*
 * strategy.h - the strategies of `leak-hunt hunt` behind one interface.
 *
 * A strategy is a function over a "measure this configuration" callback:
 * it asks for stage sets to be measured, each with a plan (which job: the
 * search's cheap signal, allocation sites or the kind of a leak; afresh or
 * from what was measured already; to the whole budget or not), reads the
 * answers and fills an lh_hunt_result: the stages it names, auto's
 * breakdown, and why it names none.  It starts no process and keeps no
 * state between calls, so a test drives every strategy with made-up
 * answers (tests/unit/test_hunt.c); cmd_hunt.c's callback measures over
 * the runner.
 *
 * Before any strategy charges a stage, lh_hunt_run measures the baseline:
 * the empty set, every stage off.  A leak there is a leak outside the
 * stages: growth charged to no stage.  A stage that leaks on top of it is
 * still found, by its step over the baseline (lh_hunt_charges); a target
 * that does no work with no stage on is measured per second there, and a
 * leak that needs work is then charged as if the baseline were flat.  The
 * baseline never makes a hunt inconclusive: a baseline that cannot be
 * measured or decided is left out.
 *
 * The strategies (docs/architecture.md):
 *   linear   growing prefixes, stop at the first that leaks;
 *   bisect   binary search for the shortest leaking prefix;
 *   isolate  each stage alone with what it requires;
 *   ddmin    from the full set, drop stages while it still leaks: a
 *            1-minimal set of stages that leak together;
 *   auto     hunt.c's search over the prefixes, then a confirmation (the
 *            first culprit's leak-free neighbour again, allocation sites
 *            on the culprits' configuration, the kind of leak).
 */
#ifndef LH_STRATEGY_H
#define LH_STRATEGY_H

#include <stdio.h>

#include "hunt.h"
#include "result.h"

/* At most this many stages are named (report.json's culprit list). */
#define LH_HUNT_MAX_CULPRITS 8

/* What a measurement is for; the callback picks the tool for the job. */
typedef enum lh_hunt_job {
    LH_HUNT_SEARCH, /* the search tool: the signal the search decides on */
    LH_HUNT_SITES,  /* allocation sites (the confirmation), a short run */
    LH_HUNT_KIND,   /* the kind of a leak (reachable or lost), until a
                       few leak searches have come back */
} lh_hunt_job;

typedef struct lh_hunt_plan {
    lh_hunt_job job;
    int fresh; /* 1: measure again even if the set was measured with this
                  job's tool (otherwise that answer is given again) */
    int whole; /* search: to the whole budget, no early decision (a
                  second opinion); 0: stop once two looks agree */
    int baseline; /* the empty set for the baseline: a search run is
                     bounded in time (the target may do no work), and a
                     failure or an undecided answer is not the search's */
} lh_hunt_plan;

typedef struct lh_hunt_answer {
    const lh_run_result *run; /* valid until the next call */
    int per_second; /* the baseline of a target that did no work with no
                       stage on: its slope is bytes per second */
    const char *note; /* with LH_EUNSUPPORTED: why the job was not done
                         (static text, or NULL) */
} lh_hunt_answer;

/*
 * Measures stage set `set` (bit i: stage i, closed under the
 * requirements) as `plan` says.  0 with *out set; or negative when the
 * run could not be made or failed (target error, tool error,
 * interrupted): the strategy stops; LH_EUNSUPPORTED (with out->note):
 * the job was skipped (its tool cannot run this target, or no time is
 * left for it), and the hunt goes on without it.
 */
typedef int (*lh_hunt_measure_set_fn)(void *arg, unsigned set,
                                      const lh_hunt_plan *plan,
                                      lh_hunt_answer *out);

typedef struct lh_hunt_ctx {
    const lh_hunt_stages *st;
    double floor; /* bytes per unit: --threshold, or the decision's */
    FILE *log;    /* notes on the way (why a run is repeated), NULL: none */
    lh_hunt_measure_set_fn measure;
    void *arg;
} lh_hunt_ctx;

/* One row of auto's breakdown: the stages `added` switched on together
 * and what they added over the configuration before them. */
typedef struct lh_hunt_row {
    unsigned added;
    lh_hunt_delta d;
    int leaks;
} lh_hunt_row;

/* The baseline: every stage off. */
typedef struct lh_hunt_baseline {
    int measured;          /* 0: its run failed; left out */
    lh_run_verdict verdict;
    lh_hunt_point point;   /* slope and interval */
    int per_second;        /* in bytes per second (no work done) */
    int outside;           /* a leak outside the stages (auto: confirmed) */
} lh_hunt_baseline;

typedef struct lh_hunt_result {
    int culprit[LH_HUNT_MAX_CULPRITS]; /* stage indices, in the order
                                          named */
    int nculprit;
    lh_hunt_row rows[LH_HUNT_MAX_STAGES]; /* auto only, pipeline order */
    int nrows;
    char note[2048];           /* why no culprit is named ("" none) */
    const char *memcheck_kind; /* auto: the kind of the leak, or NULL */
    int failed;                /* a measurement failed: search stopped */
    int unconfirmed;           /* growth, but in no stage's code */
    int undecided;             /* answers that were inconclusive (the
                                  baseline's not counted) */
    const char *skip_note;     /* why the last job skipped was (answer's
                                  note), or NULL */
    lh_hunt_baseline base;
} lh_hunt_result;

typedef void (*lh_hunt_strategy_fn)(const lh_hunt_ctx *c,
                                    lh_hunt_result *out);

typedef struct lh_hunt_strategy {
    const char *name;
    lh_hunt_strategy_fn run;
} lh_hunt_strategy;

/* The strategies, auto first; a row with a NULL name ends the table. */
extern const lh_hunt_strategy lh_hunt_strategies[];

/* The strategy called `name`, or NULL. */
const lh_hunt_strategy *lh_hunt_strategy_find(const char *name);

/* Writes the names for a message: "auto, linear, bisect, isolate or
 * ddmin". */
void lh_hunt_strategy_names(char *buf, size_t cap);

/* Empties *out, measures the baseline and runs strategy s. */
void lh_hunt_run(const lh_hunt_strategy *s, const lh_hunt_ctx *c,
                 lh_hunt_result *out);

/*
 * For the strategies' own use (strategies.c, strategy_auto.c).
 */

/* Asks for a measurement; *r is the run (NULL on failure).  Counts an
 * inconclusive answer in out->undecided and a failure in out->failed,
 * unless the plan is the baseline's; `per_second` (may be NULL) gets the
 * answer's.  0 or the callback's negative code. */
int lh_hunt_ask(const lh_hunt_ctx *c, lh_hunt_result *out, unsigned set,
                const lh_hunt_plan *plan, const lh_run_result **r,
                int *per_second);

/* Names stage i (once; at most LH_HUNT_MAX_CULPRITS). */
void lh_hunt_add_culprit(lh_hunt_result *out, int stage);

/* 1 when the run's verdict is leak. */
int lh_hunt_leaks(const lh_run_result *r);

/* The run as the search compares it. */
lh_hunt_point lh_hunt_point_of(const lh_run_result *r);

/* 1 when the baseline leaks in the stages' unit: configurations are then
 * judged by their step over it. */
int lh_hunt_base_leaks(const lh_hunt_result *out);

/* What a configuration's growth is measured from: the baseline's point
 * when it leaks in the stages' unit, else no growth (all zero). */
lh_hunt_point lh_hunt_base_point(const lh_hunt_result *out);

/* 1 when run r charges its stages: it leaks and, over a leaking
 * baseline, adds a leak to it (lh_hunt_adds_leak). */
int lh_hunt_charges(const lh_hunt_ctx *c, const lh_hunt_result *out,
                    const lh_run_result *r);

/* A second opinion on the baseline: measured again, afresh, to its whole
 * budget.  Returns 1 when it leaks again; otherwise the leak outside the
 * stages is dropped (with a note when the run was made). */
int lh_hunt_baseline_again(const lh_hunt_ctx *c, lh_hunt_result *out);

/* auto (strategy_auto.c). */
void lh_hunt_strategy_auto(const lh_hunt_ctx *c, lh_hunt_result *out);

#endif
