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
 *
 * Malformed stats lines are counted and the first is kept, printable, for
 * messages (docs/protocol.md section 2).  With a heap log
 * (lh_sampler_heap_log: the heap tool's shim, harness/shim/heaplog.h) a
 * process's live heap is its allocator's count from there, not its own
 * heap= figure, which it may compute with an allocator that is not in use
 * (glibc's mallinfo2 under a preloaded tcmalloc); unless that figure
 * agrees with the log's (within 20% in 80% of at least 10 samples): then
 * it is the allocator's count too, and taken, being taken with the
 * line's queue= (sampler.c, heap_of).  A process whose count
 * comes from a sanitizer's allocator makes the heap the signal even
 * without heap= (RSS grows with the sanitizer's quarantine).
 */
#ifndef LH_SAMPLER_H
#define LH_SAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "stats.h"

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

#define LH_SAMPLER_QUOTE_MAX 128

/* One line of the heap log (heaplog.h). */
typedef struct lh_heaplog_line {
    pid_t pid;
    uint64_t heap;
    int sanitizer; /* from a sanitizer's allocator, not tcmalloc */
} lh_heaplog_line;

/* Parses one heap-log line of `len` bytes, '\n' included.  0, or
 * LH_EPARSE. */
int lh_heaplog_parse(const char *text, size_t len, lh_heaplog_line *out);

/* stats_path may not exist yet.  fallback_pid is sampled when no line has
 * named a pid. */
int lh_sampler_new(const char *stats_path, pid_t fallback_pid,
                   lh_sampler **out);
void lh_sampler_free(lh_sampler *s);

/* Takes each process's live heap from the heap log at `path` (may not
 * exist yet) instead of its stats lines.  0 or LH_ENOMEM. */
int lh_sampler_heap_log(lh_sampler *s, const char *path);

/* Reads new stats lines and appends one sample to `series`.  Returns 0,
 * or LH_ENOMEM. */
int lh_sampler_take(lh_sampler *s, lh_series *series);

/* Calls fn(arg, line) with every valid stats line as it is read (a live
 * run's acknowledgements: ack.h); fn NULL: none. */
typedef void (*lh_sampler_line_fn)(void *arg, const lh_stats_line *line);
void lh_sampler_on_line(lh_sampler *s, lh_sampler_line_fn fn, void *arg);

/* What has been seen so far. */
int lh_sampler_reported(const lh_sampler *s); /* any valid stats line */
int lh_sampler_has_heap(const lh_sampler *s);
int lh_sampler_has_queue(const lh_sampler *s);
unsigned long lh_sampler_bad_lines(const lh_sampler *s);
/* The first malformed line, cut to LH_SAMPLER_QUOTE_MAX - 1 characters
 * ("..." at the end when cut, non-printable bytes as '?'); "" if none. */
const char *lh_sampler_first_bad_line(const lh_sampler *s);
size_t lh_sampler_pids(const lh_sampler *s, pid_t *pids, size_t max);
double lh_sampler_work(const lh_sampler *s);

/* Writes the series as CSV (t,work,heap,rss,queue). */
int lh_series_write_csv(const lh_series *s, FILE *f);

#endif
