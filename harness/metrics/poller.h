/*
 * poller.h - successive scrapes of a service turned into points of (time,
 * work, memory) for the leak decision: the Prometheus source of samples,
 * beside the stats-file sampler (harness/measure/sampler.h).
 *
 * Each lh_poller_take scrapes the URL (scrape.h), selects the work counter
 * and the memory gauge (promsel.h) and returns one point.  A scrape that
 * fails (no answer, HTTP 404, not the format, the metric missing or of the
 * wrong type) returns its error and adds no point: the failure is counted
 * and its message kept (lh_poller_error), and the caller goes on polling;
 * deciding when too many failures end a run is the caller's.
 *
 * Restarts.  A work counter that goes backwards, or an unlabelled
 * process_start_time_seconds that changes, means the service restarted.
 * The point after it has `restarted` set and the next `epoch`, and the
 * event is kept (lh_poller_restarts).  `work` stays continuous across a
 * restart (work before it, plus the new process's counter, which started
 * at 0: Prometheus's own rule for counter resets), so a work budget keeps
 * counting; but memory falls with a restart and grows again through the
 * new process's warm-up, so the decision must fit the points of one epoch
 * only (the last): a consumer remembers where the current epoch started
 * (the first point with `restarted` set) and judges from there, warm-up
 * included.  Growth across a restart is never one series.  (A restart
 * whose new counter has passed the old one by the next good scrape, with
 * no start time exported, cannot be seen: at ten scrapes a second that
 * needs a gap of failed scrapes.)
 *
 * The measuring loop (harness/measure/measure.c) can use it as a second
 * source: at each 100 ms step it takes a point and pushes a sample whose
 * work is point.work and whose memory is point.memory (or, without a
 * memory metric, the RSS its stats-file sampler reads of the processes it
 * started), restarting its fit at a point with `restarted` set.
 */
#ifndef LH_POLLER_H
#define LH_POLLER_H

#include "promsel.h"
#include "scrape.h"

#include <stddef.h>
#include <stdint.h>

typedef struct lh_poller_opts {
    const char *url;              /* NULL: no scraping, lh_poller_feed only */
    const char *work_metric;      /* selector of the work counter, or NULL
                                     (work is then NAN: measure by time) */
    const char *memory_metric;    /* selector of the memory gauge, or NULL
                                     (memory is then NAN: the caller's RSS) */
    const char *stages_metric;    /* selector of the stages info metric, or
                                     NULL: every leakhunt_stages series */
    const lh_scrape_opts *scrape; /* or NULL: scrape.h's defaults */
    int64_t start_us;             /* the points' clock zero (lh_now_us());
                                     0: when the poller is made */
} lh_poller_opts;

typedef struct lh_prom_point {
    double t;       /* seconds since start_us, when the scrape answered */
    double work;    /* work done since the first good scrape, across
                       restarts (NAN without a work metric) */
    double counter; /* the work counter as scraped (NAN without one) */
    double memory;  /* the memory gauge (NAN without one) */
    unsigned epoch; /* restarts seen up to this point */
    int restarted;  /* 1: the first point after a restart */
} lh_prom_point;

typedef struct lh_prom_restart {
    double t;              /* of the first point after it */
    double work;           /* that point's work */
    double counter_before; /* the counter at the last point before */
    double counter_after;  /* and at the first point after */
    int by_start_time;     /* seen by process_start_time_seconds */
} lh_prom_restart;

typedef struct lh_poller_stats {
    unsigned long scrapes;     /* attempted */
    unsigned long failures;    /* of them failed */
    unsigned long consecutive; /* failures since the last good scrape */
    double last_ok_t;          /* t of the last good scrape (-1: none) */
    double fetch_mean_s;       /* good scrapes: transfer time, mean */
    double fetch_max_s;        /* and the longest */
    double parse_mean_s;       /* parse time, mean */
    size_t bytes;              /* the last good body */
} lh_poller_stats;

typedef struct lh_poller lh_poller;

/*
 * A poller with `o` (strings copied).  The selectors are parsed and the
 * scraper set up; no request is made.  0 and *out, or LH_EPARSE (a bad
 * selector), LH_EINVAL (a bad URL), LH_ENOMEM, LH_EIO, with why.
 */
int lh_poller_new(const lh_poller_opts *o, lh_poller **out, char *why,
                  size_t whylen);

/* Frees the poller.  Accepts NULL. */
void lh_poller_free(lh_poller *p);

/*
 * Scrapes once and turns the scrape into a point.  0 and *out; or the
 * scrape's error (scrape.h), or lh_prom_select's (the metric missing,
 * ambiguous or of the wrong type), or LH_EPARSE (a bad leakhunt_stages
 * series): no point, the failure counted, its message in
 * lh_poller_error.  LH_EINVAL when the poller has no URL.
 */
int lh_poller_take(lh_poller *p, lh_prom_point *out);

/*
 * The same from a scrape the caller made or parsed, answered at `t`
 * (seconds on the poller's clock): what lh_poller_take does after its
 * request.  The scrape is not kept.
 */
int lh_poller_feed(lh_poller *p, const lh_prom_scrape *s, double t,
                   lh_prom_point *out);

/* The last failure's message and the first one's ("" if none). */
const char *lh_poller_error(const lh_poller *p);
const char *lh_poller_first_error(const lh_poller *p);

void lh_poller_get_stats(const lh_poller *p, lh_poller_stats *out);

/* The restarts seen so far, in order; *n set to their number. */
const lh_prom_restart *lh_poller_restarts(const lh_poller *p, size_t *n);

/* The stages shown at the last good scrape (state ABSENT when none). */
const lh_prom_stages *lh_poller_stages(const lh_poller *p);

/* Seconds on the poller's clock now. */
double lh_poller_now(const lh_poller *p);

#endif
