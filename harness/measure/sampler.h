/*
 * sampler.h - turns a target's stats lines and /proc into a series.
 *
 * The sampler tails the LEAKHUNT_STATS file (reading only what was
 * appended since the last call, keeping a partial last line for later),
 * keeps the latest line of every reporting pid, and on each lh_sampler_take
 * appends one sample: the sum over pids of work, live heap and queue, and
 * the summed RSS of those pids read from /proc at that moment.  A target
 * that reports nothing is measured by time: work is elapsed seconds and the
 * RSS is that of the fallback pid (the target's main process).
 */
#ifndef LH_SAMPLER_H
#define LH_SAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

typedef struct lh_sample {
    double t;     /* seconds since the sampler started */
    double work;  /* units (events), or seconds when nothing is reported */
    double heap;  /* live heap bytes summed over pids (0 if not reported) */
    double rss;   /* bytes */
    double queue; /* items */
} lh_sample;

typedef struct lh_series {
    lh_sample *v;
    size_t n, cap;
} lh_series;

void lh_series_free(lh_series *s);
int lh_series_push(lh_series *s, const lh_sample *x);

typedef struct lh_sampler lh_sampler;

/* stats_path may not exist yet.  fallback_pid is sampled when no line has
 * named a pid. */
int lh_sampler_new(const char *stats_path, pid_t fallback_pid,
                   lh_sampler **out);
void lh_sampler_free(lh_sampler *s);

/* Reads new stats lines and appends one sample to `series`.  Returns 0,
 * or LH_ENOMEM. */
int lh_sampler_take(lh_sampler *s, lh_series *series);

/* What has been seen so far. */
int lh_sampler_reported(const lh_sampler *s); /* any valid stats line */
int lh_sampler_has_heap(const lh_sampler *s);
int lh_sampler_has_queue(const lh_sampler *s);
unsigned long lh_sampler_bad_lines(const lh_sampler *s);
size_t lh_sampler_pids(const lh_sampler *s, pid_t *pids, size_t max);
double lh_sampler_work(const lh_sampler *s);

/* Writes the series as CSV (t,work,heap,rss,queue). */
int lh_series_write_csv(const lh_series *s, FILE *f);

#endif
