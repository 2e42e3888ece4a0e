/*
 * promsource.c - a service's metrics as the loop's samples
 * (promsource.h).
 *
 * Design: the sampler still takes its sample (the run's clock, the RSS of
 * the processes leak-hunt started, the stats lines a target may write
 * anyway), and the scrape's point replaces its work and memory: one
 * series, one decision, whatever the source.  A failed scrape adds no
 * sample rather than a sample with a gap in it: a missing point is no
 * evidence, a made-up one would be.  The rule that ends a run (no good
 * scrape for 5 s, or more than half failing) lets a service hiccup (a
 * scrape timing out under a GC pause, a deploy's reconnect) without
 * letting a run be judged on a trickle of points: at 10 scrapes a second,
 * half of them still give the decision its samples.
 */
#include "promsource.h"

#include "clock.h"
#include "error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define POLL_US 100000

int lh_promsource_open(lh_promsource *s, const lh_poller_opts *o,
                       lh_sampler *smp, int quiet, char *why, size_t cap)
{
    memset(s, 0, sizeof *s);
    s->smp = smp;
    s->quiet = quiet;
    s->has_work = o->work_metric != NULL;
    s->has_memory = o->memory_metric != NULL;
    return lh_poller_new(o, &s->poll, why, cap);
}

void lh_promsource_close(lh_promsource *s)
{
    lh_poller_free(s->poll);
    s->poll = NULL;
}

double lh_promsource_now(const lh_promsource *s)
{
    return lh_poller_now(s->poll);
}

int lh_promsource_first(lh_promsource *s, lh_target *t, double wait_s,
                        char *why, size_t cap)
{
    int64_t end = lh_now_us() + (int64_t)(wait_s * 1e6);
    lh_prom_point pt;
    for (;;) {
        int rc = lh_poller_take(s->poll, &pt);
        if (rc == 0) {
            lh_promsource_mark(s);
            return 0;
        }
        if (rc == LH_ENOMEM)
            return rc;
        if (t && lh_target_exited(t, NULL))
            return 1;
        if (t == NULL || lh_now_us() >= end)
            break;
        lh_sleep_us(POLL_US);
    }
    if (t)
        snprintf(why, cap, "cannot measure through --metrics: no good "
                 "scrape in the first %.0f s of the target: %s", wait_s, lh_poller_error(s->poll));
    else
        snprintf(why, cap, "cannot measure through --metrics: %s",
                 lh_poller_error(s->poll));
    return LH_EINVAL;
}

/* The stop rule during the run: 1 when too many scrapes failed. */
static int too_many(const lh_promsource *s, const lh_poller_stats *st,
                    double now)
{
    double since = st->last_ok_t >= 0 ? now - st->last_ok_t : now;
    if (st->consecutive > 0 && since >= LH_PROMSOURCE_GAP_S)
        return 1;
    return st->scrapes >= LH_PROMSOURCE_MIN_SCRAPES &&
           2 * st->failures > st->scrapes;
}

/* A failed scrape: said the first time, and whether the run is over. */
static int failed(lh_promsource *s, char *why, size_t cap)
{
    lh_poller_stats st;
    lh_poller_get_stats(s->poll, &st);
    double now = lh_poller_now(s->poll);
    if (!s->said && !s->quiet)
        fprintf(stderr, "%sleak-hunt: a scrape failed (skipped; more are "
                "counted, not said): %s\n", isatty(2) ? "\r\033[K" : "",
                lh_poller_error(s->poll));
    if (s->first_error[0] == '\0')
        snprintf(s->first_error, sizeof s->first_error, "%s",
                 lh_poller_error(s->poll));
    s->said = 1;
    if (!too_many(s, &st, now))
        return 0;
    double since = st.last_ok_t >= 0 ? now - st.last_ok_t : now;
    snprintf(why, cap, "--metrics: %lu of %lu scrapes failed, none good for "
             "the last %.1f s (the run ends after %.0f s without one, or "
             "when more than half of at least %d fail); the last: %s",
             st.failures, st.scrapes, since, LH_PROMSOURCE_GAP_S,
             LH_PROMSOURCE_MIN_SCRAPES, lh_poller_error(s->poll));
    return LH_EIO;
}

int lh_promsource_take(lh_promsource *s, lh_series *into, int *restarted,
                       char *why, size_t cap)
{
    lh_prom_point pt;
    *restarted = 0;
    int rc = lh_poller_take(s->poll, &pt);
    if (rc == LH_ENOMEM)
        return rc;
    if (rc < 0)
        return failed(s, why, cap);
    rc = lh_sampler_take(s->smp, into);
    if (rc < 0)
        return rc;
    lh_sample *x = &into->v[into->n - 1];
    if (s->has_work)
        x->work = pt.work;
    else
        x->work = x->t;
    if (s->has_memory)
        x->rss = pt.memory;
    x->heap = 0;
    x->queue = 0;
    s->last = pt;
    s->last.work = x->work;
    s->have = 1;
    if (pt.restarted) {
        *restarted = 1;
        if (!s->quiet) {
            size_t n;
            const lh_prom_restart *r = lh_poller_restarts(s->poll, &n);
            const lh_prom_restart *last = &r[n - 1];
            fprintf(stderr, "%sleak-hunt: the service restarted (%s: "
                    "%.0f, then %.0f): the fit starts again from here, "
                    "growth across the restart not counted\n",
                    isatty(2) ? "\r\033[K" : "",
                    last->by_start_time ? "process start time changed; "
                                          "work counter"
                                        : "work counter went back",
                    last->counter_before, last->counter_after);
        }
    }
    return 1;
}

void lh_promsource_mark(lh_promsource *s)
{
    lh_poller_stats st;
    lh_poller_get_stats(s->poll, &st);
    s->before = st.scrapes;
    s->failed_before = st.failures;
    s->first_error[0] = '\0';
}

double lh_promsource_work(const lh_promsource *s)
{
    return s->have ? s->last.work : 0;
}

int lh_promsource_has_work(const lh_promsource *s)
{
    return s->has_work;
}

void lh_promsource_result(const lh_promsource *s, lh_run_result *res,
                          double from_t, double from_work)
{
    lh_poller_stats st;
    lh_poller_get_stats(s->poll, &st);
    res->scraped = 1;
    res->scrapes = st.scrapes - s->before;
    res->scrape_failures = st.failures - s->failed_before;
    res->fetch_mean_s = st.fetch_mean_s;
    res->fetch_max_s = st.fetch_max_s;
    snprintf(res->scrape_error, sizeof res->scrape_error, "%s",
             s->first_error);
    size_t n;
    const lh_prom_restart *r = lh_poller_restarts(s->poll, &n);
    res->nrestarts = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].t < from_t)
            continue;
        if (res->nrestarts < LH_RUN_MAX_RESTARTS) {
            lh_run_restart *x = &res->restarts[res->nrestarts];
            x->seconds = r[i].t - from_t;
            x->work = s->has_work ? r[i].work - from_work : x->seconds;
            x->counter_before = r[i].counter_before;
            x->counter_after = r[i].counter_after;
            x->by_start_time = r[i].by_start_time;
        }
        res->nrestarts++;
    }
}
