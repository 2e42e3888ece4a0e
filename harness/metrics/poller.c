/*
 * Design: lh_poller_take is the request (scrape.c) and lh_poller_feed
 * the rest, so the restart rule and the failure accounting are tested on
 * parsed text, and the same code runs on real scrapes.  A point is made
 * only when every part of it was read: the work counter, the memory
 * gauge, the stages; half a point would let a failed read look like a
 * drop in memory or a stop in work.  The restart rule is Prometheus's for
 * counter resets (any decrease is a reset; the new value is all new work),
 * with the process start time as a second witness when it is exported
 * without labels.
 */
#include "poller.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MSG_MAX 512
#define START_TIME "process_start_time_seconds"

struct lh_poller {
    lh_scraper *scraper;
    lh_prom_selector *work, *memory, *stages_sel, *start_sel;
    int64_t start_us;
    /* the series so far */
    int have;       /* a good point was made */
    double base;    /* counter value work counts from */
    double carried; /* work of earlier epochs */
    double last_counter;
    double start_time; /* process start time, or NAN */
    unsigned epoch;
    lh_prom_restart *restarts;
    size_t nrestarts, restarts_cap;
    lh_prom_stages stages;
    /* accounting */
    lh_poller_stats st;
    double fetch_sum, parse_sum;
    unsigned long timed; /* good scrapes with timings */
    char error[MSG_MAX], first_error[MSG_MAX];
};

static int selector(const char *text, lh_prom_selector **out, char *why,
                    size_t whylen)
{
    *out = NULL;
    return text ? lh_prom_selector_parse(text, out, why, whylen) : 0;
}

int lh_poller_new(const lh_poller_opts *o, lh_poller **out, char *why,
                  size_t whylen)
{
    lh_poller *p = lh_calloc(1, sizeof *p);
    if (p == NULL)
        return LH_ENOMEM;
    p->start_us = o->start_us ? o->start_us : lh_now_us();
    p->st.last_ok_t = -1;
    p->start_time = NAN;
    int rc = selector(o->work_metric, &p->work, why, whylen);
    if (rc == 0)
        rc = selector(o->memory_metric, &p->memory, why, whylen);
    if (rc == 0)
        rc = selector(o->stages_metric, &p->stages_sel, why, whylen);
    if (rc == 0)
        rc = selector(START_TIME, &p->start_sel, why, whylen);
    if (rc == 0 && o->url)
        rc = lh_scraper_new(o->url, o->scrape, &p->scraper, why, whylen);
    if (rc < 0) {
        if (rc == LH_ENOMEM)
            lh_set_why(why, whylen, "out of memory");
        lh_poller_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void lh_poller_free(lh_poller *p)
{
    if (p == NULL)
        return;
    lh_scraper_free(p->scraper);
    lh_prom_selector_free(p->work);
    lh_prom_selector_free(p->memory);
    lh_prom_selector_free(p->stages_sel);
    lh_prom_selector_free(p->start_sel);
    lh_free(p->restarts);
    lh_free(p);
}

static void failed(lh_poller *p, int rc, const char *msg)
{
    p->st.failures++;
    p->st.consecutive++;
    if (msg == NULL || msg[0] == '\0')
        msg = lh_strerror(rc);
    snprintf(p->error, sizeof p->error, "%s", msg);
    if (p->first_error[0] == '\0')
        snprintf(p->first_error, sizeof p->first_error, "%s", msg);
}

/* The process start time when the scrape has one series of it, else
 * NAN. */
static double start_time(const lh_poller *p, const lh_prom_scrape *s)
{
    lh_prom_value v;
    if (lh_prom_select(s, p->start_sel, LH_PROM_ANY, &v, NULL, 0) < 0 ||
        v.sample->nlabels > 0 || !isfinite(v.value))
        return NAN;
    return v.value;
}

/* The work of a point, and a restart noted when there was one. */
static int advance(lh_poller *p, lh_prom_point *pt, double counter,
                   double started)
{
    int by_time =
        !isnan(started) && !isnan(p->start_time) && started != p->start_time;
    int back = !isnan(counter) && counter < p->last_counter;
    if (p->have && (by_time || back)) {
        if (lh_grow((void **)&p->restarts, &p->restarts_cap, p->nrestarts + 1,
                    sizeof *p->restarts, 4) < 0)
            return LH_ENOMEM;
        if (!isnan(counter)) {
            p->carried += p->last_counter - p->base;
            p->base = 0;
        }
        p->epoch++;
        pt->restarted = 1;
        lh_prom_restart *r = &p->restarts[p->nrestarts++];
        r->t = pt->t;
        r->counter_before = p->last_counter;
        r->counter_after = counter;
        r->by_start_time = by_time;
    }
    if (!p->have)
        p->base = counter;
    pt->counter = counter;
    pt->work = isnan(counter) ? NAN : p->carried + counter - p->base;
    pt->epoch = p->epoch;
    if (pt->restarted)
        p->restarts[p->nrestarts - 1].work = pt->work;
    p->last_counter = counter;
    if (!isnan(started))
        p->start_time = started;
    p->have = 1;
    return 0;
}

/* Reads the point's parts from the scrape; nothing changes on failure. */
static int read_point(lh_poller *p, const lh_prom_scrape *s, double *counter,
                      double *memory, lh_prom_stages *stages, char *why,
                      size_t whylen)
{
    lh_prom_value v;
    int rc;
    *counter = *memory = NAN;
    if (p->work) {
        rc = lh_prom_select(s, p->work, LH_PROM_WORK, &v, why, whylen);
        if (rc < 0)
            return rc;
        *counter = v.value;
    }
    if (p->memory) {
        rc = lh_prom_select(s, p->memory, LH_PROM_MEMORY, &v, why, whylen);
        if (rc < 0)
            return rc;
        *memory = v.value;
    }
    return lh_prom_stages_read(s, p->stages_sel, stages, why, whylen);
}

int lh_poller_feed(lh_poller *p, const lh_prom_scrape *s, double t,
                   lh_prom_point *out)
{
    char why[MSG_MAX] = "";
    double counter, memory;
    lh_prom_stages stages;
    p->st.scrapes++;
    int rc = read_point(p, s, &counter, &memory, &stages, why, sizeof why);
    lh_prom_point pt = {.t = t, .memory = memory};
    if (rc == 0)
        rc = advance(p, &pt, counter, start_time(p, s));
    if (rc < 0) {
        failed(p, rc, why);
        return rc;
    }
    p->stages = stages;
    p->st.consecutive = 0;
    p->st.last_ok_t = t;
    *out = pt;
    return 0;
}

int lh_poller_take(lh_poller *p, lh_prom_point *out)
{
    char why[MSG_MAX] = "";
    lh_prom_scrape *s = NULL;
    if (p->scraper == NULL)
        return LH_EINVAL;
    int rc = lh_scraper_get(p->scraper, &s, why, sizeof why);
    if (rc < 0) {
        p->st.scrapes++;
        failed(p, rc, why);
        return rc;
    }
    rc = lh_poller_feed(p, s, lh_poller_now(p), out);
    lh_prom_free(s);
    if (rc == 0) {
        double f = lh_scraper_fetch_seconds(p->scraper);
        p->fetch_sum += f;
        p->parse_sum += lh_scraper_parse_seconds(p->scraper);
        p->timed++;
        if (f > p->st.fetch_max_s)
            p->st.fetch_max_s = f;
        p->st.bytes = lh_scraper_bytes(p->scraper);
    }
    return rc;
}

const char *lh_poller_error(const lh_poller *p)
{
    return p->error;
}

const char *lh_poller_first_error(const lh_poller *p)
{
    return p->first_error;
}

void lh_poller_get_stats(const lh_poller *p, lh_poller_stats *out)
{
    *out = p->st;
    out->fetch_mean_s = p->timed ? p->fetch_sum / (double)p->timed : 0;
    out->parse_mean_s = p->timed ? p->parse_sum / (double)p->timed : 0;
}

const lh_prom_restart *lh_poller_restarts(const lh_poller *p, size_t *n)
{
    *n = p->nrestarts;
    return p->restarts;
}

const lh_prom_stages *lh_poller_stages(const lh_poller *p)
{
    return &p->stages;
}

double lh_poller_now(const lh_poller *p)
{
    return (double)(lh_now_us() - p->start_us) / 1e6;
}
