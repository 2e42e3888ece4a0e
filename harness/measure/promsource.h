/*
 * promsource.h - a service's Prometheus metrics as the sample source of
 * the measuring loop (--metrics, docs/protocol.md section 9), in place of
 * the stats lines.
 *
 * It wraps a poller (harness/metrics/poller.h) and the stats-file sampler
 * of the run (sampler.h): each lh_promsource_take scrapes once and, when
 * the scrape is good, appends one sample whose work is the work counter's
 * (--work-metric; without one, the sampler's seconds: measured by time)
 * and whose memory, in the sample's rss, is the memory gauge's
 * (--memory-metric; without one, the RSS the sampler reads of the
 * processes leak-hunt started).  A gauge is a figure like RSS, moving in
 * pages or allocator chunks, so it is judged against RSS's floor.
 *
 * Failures.  Before the run, the endpoint must give one good scrape: at
 * once in watch mode (the service is already running), within
 * LH_PROMSOURCE_START_S of the start of a target leak-hunt started (it
 * has to open its port first); otherwise the run does not begin and the
 * command exits 2 (lh_promsource_first).  During the run, a failed scrape
 * adds no sample: the first is said on stderr and all are counted; the
 * run ends inconclusive (exit 3) once no scrape has been good for
 * LH_PROMSOURCE_GAP_S, or once more than half of at least
 * LH_PROMSOURCE_MIN_SCRAPES have failed (lh_promsource_take).
 *
 * Restarts (a counter that went backwards, a new process start time) are
 * said on stderr and returned, so that the loop fits from the restart on.
 */
#ifndef LH_PROMSOURCE_H
#define LH_PROMSOURCE_H

#include <stddef.h>

#include "poller.h"
#include "result.h"
#include "sampler.h"
#include "target.h"

#define LH_PROMSOURCE_START_S 10.0  /* a started target's first scrape */
#define LH_PROMSOURCE_GAP_S 5.0     /* no good scrape this long: over */
#define LH_PROMSOURCE_MIN_SCRAPES 20

typedef struct lh_promsource {
    lh_poller *poll;
    lh_sampler *smp;     /* borrowed: the run's (RSS, the clock) */
    int has_work, has_memory;
    int quiet;
    int said;            /* the first failed scrape was said */
    lh_prom_point last;  /* the last good point */
    int have;
    /* the scrapes before the run or segment (lh_promsource_mark), not
     * counted in its figures, and its first failure */
    unsigned long before, failed_before;
    char first_error[512];
} lh_promsource;

/*
 * Sets up `s` for the options `o` (copied) over the run's sampler `smp`.
 * 0; LH_EPARSE (a bad selector), LH_EINVAL (a bad URL), LH_ENOMEM, LH_EIO,
 * with why.  Nothing is scraped yet.
 */
int lh_promsource_open(lh_promsource *s, const lh_poller_opts *o,
                       lh_sampler *smp, int quiet, char *why, size_t cap);

/* Frees what s holds (not the sampler).  Accepts a zeroed s. */
void lh_promsource_close(lh_promsource *s);

/*
 * Scrapes until one is good: once when t is NULL (watch mode), else
 * every 100 ms for up to wait_s while target t runs.  0 once one is good;
 * 1 when t exited first; LH_EINVAL when none was (why: the URL and what
 * went wrong, with what to check); LH_ENOMEM.
 */
int lh_promsource_first(lh_promsource *s, lh_target *t, double wait_s,
                        char *why, size_t cap);

/*
 * Scrapes once.  1 with one sample appended to `into` (*restarted set
 * when it is the first after a restart); 0 when the scrape failed and was
 * skipped; LH_EIO when too many failed (see above; why says how many and
 * the last message); LH_ENOMEM.
 */
int lh_promsource_take(lh_promsource *s, lh_series *into, int *restarted,
                       char *why, size_t cap);

/* The work of the last good point (units, or the sampler's seconds when
 * there is no work metric); 0 before the first. */
double lh_promsource_work(const lh_promsource *s);

/* 1 when work is a counter's (else time). */
int lh_promsource_has_work(const lh_promsource *s);

/*
 * The scrapes so far into res (scraped, scrapes, failures, the first
 * error, fetch times) and the restarts seen at or after `from_t` (seconds
 * on the poller's clock), with their times counted from there and their
 * work from `from_work`.
 */
void lh_promsource_result(const lh_promsource *s, lh_run_result *res,
                          double from_t, double from_work);

/* The scrapes lh_promsource_result counts start here (a live segment's
 * own; the stop rule still counts them all). */
void lh_promsource_mark(lh_promsource *s);

/* Seconds on the poller's clock now. */
double lh_promsource_now(const lh_promsource *s);

#endif
