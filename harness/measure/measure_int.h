/*
 * measure_int.h - what measure.c and live.c share: one measurement under
 * way, and the loop that runs it (internal to harness/measure).
 *
 * A measurement is a run of its own (lh_measure: it starts the target and
 * stops it) or a segment of a live run (live.c: the target, its sampler
 * and the tool's context are the live run's, lent for the segment).
 * Either way the same loop samples, lets the tool tick, judges at the
 * looks and when the budget is spent, and extends an inconclusive run; a
 * segment adds its switch and settle period before its measured part
 * (docs/protocol.md section 5).
 */
#ifndef LH_MEASURE_INT_H
#define LH_MEASURE_INT_H

#include <stdint.h>

#include "measure.h"
#include "promsource.h"
#include "sampler.h"
#include "target.h"

struct lh_live;

typedef struct measurement {
    const lh_measure_opts *o;
    lh_run_result *res;
    lh_tool_ctx *ctx;     /* &own_ctx, or the live run's */
    lh_tool_ctx own_ctx;
    lh_target *t;
    lh_sampler *smp;
    struct lh_live *live; /* NULL: a run of its own */
    char stats[1100], log[1100], csv[1100];
    int64_t start;        /* the run's start, or the segment's (its switch) */
    int64_t next_tick;
    int64_t next_slope;   /* progress line's slope, once a second */
    int64_t next_progress;
    double shown_slope;   /* that slope */
    double budget_work, budget_time;
    double next_look;     /* sequential decision: work or time of the next */
    lh_run_verdict last_look;
    int extensions, status, exited, timed_out;
    int bad_said;         /* the first malformed stats line was quoted */
    /* The measured part: the whole run, or a segment after its settle
     * period.  Budgets, looks and the decision count from there. */
    int measuring;        /* 1 once it began */
    size_t from;          /* its first sample in res->series */
    double work_from, time_from; /* work and seconds (since start) there */
    double warmup;        /* share of its work the decision leaves out */
    double work_origin;   /* the sampler's work at start (a segment's
                             work counts from its switch) */
    /* --metrics: the source of work and memory (NULL: the stats lines),
     * the run's own or the live run's, and where on its clock and its
     * work the run or segment began (for the restarts it reports). */
    lh_promsource *src;
    lh_promsource own_src;
    double src_t0, src_work0;
} measurement;

/* Runs the loop of an m set up by its owner until the run is over, then
 * concludes it (the decision, the tool's findings) and writes
 * samples.csv.  0, or lh_measure's errors. */
int lh_measure_loop(measurement *m);

/* 1 when the work is units reported (stats lines or a work counter), 0
 * when it is time; whether the series has a live heap and a queue. */
int lh_measure_reported(const measurement *m);
int lh_measure_has_heap(const measurement *m);
int lh_measure_has_queue(const measurement *m);

/* One sample from the metrics into `into`: lh_promsource_take's answer
 * (1, 0: skipped, an error with res->error set and the run
 * inconclusive); *restarted set when it is the first after a restart. */
int lh_measure_take_metrics(measurement *m, lh_series *into,
                            int *restarted);

/* After a restart of the service: the fit starts again at the last
 * sample of m->res->series (when the measured part has begun). */
void lh_measure_refit(measurement *m);

/* The work done since the measurement began (the sampler's work minus
 * work_origin; seconds since start when nothing reported). */
double lh_measure_work(const measurement *m);

/* The raw-data directory o->dir and the paths in it (stats and log only
 * when `own`: a live run keeps its own).  0, or LH_EIO with res->error
 * set. */
int lh_measure_make_dir(measurement *m, int own);

/* mkdir -p: 0, or LH_ESYS (errno set). */
int lh_measure_mkdir(const char *path);

/* Stops a target with the grace its tool needs (c->grace_ms), at least
 * WRAPPED_GRACE_MS for a target that wraps its own processes (it stops
 * them itself, in its own order). */
void lh_measure_stop_target(lh_target *t, const lh_tool_ctx *c,
                            int target_wraps);

/* Sets up the loop's clocks and budget from m->o (start: now). */
void lh_measure_clocks(measurement *m);

/* The progress line, updating on a terminal (not final). */
void lh_measure_show(measurement *m, const char *phase);

/* live.c's part of the loop (NULL live: none). */

/* One turn before the measured part: the switch's acknowledgement and
 * the settle period.  1 while waiting, 0 once the measured part began
 * (m->measuring set), or an error (res->error set). */
int lh_live_phase(measurement *m);

/* Takes one sample into the live run's series and the segment's. */
int lh_live_take(measurement *m);

/* A process showed a list it was not asked for, or stopped
 * acknowledging, since the last call: LH_EACK with res->error set;
 * else 0. */
int lh_live_check(measurement *m);

/* 1 when the segment's findings are wanted (its last tick, the sites of
 * its growth): not for a segment decided clean, which has no growth to
 * attribute. */
int lh_live_findings_wanted(const measurement *m);

/* The tool's findings for the segment (its part of what the tool
 * collected), after its last tick, when they are wanted. */
void lh_live_finish(measurement *m);

#endif
