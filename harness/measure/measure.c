/*
 * Design: one loop at 10 Hz samples the target (sampler.c), lets the tool
 * tick at its own pace, and prints progress.  The decision runs when the
 * budget is spent; an inconclusive answer extends the same run instead of
 * starting again, so the warm-up (consumer-group join, allocator arenas
 * filling) is paid once.  The signal is the live heap the processes report
 * when they report one (exact, and unaffected by allocator caching), RSS
 * otherwise; the memcheck tool supplies its own series because heap
 * figures are not meaningful under valgrind (growth by loss record between
 * leak searches, with buffers stepping to a high-water mark and events in
 * flight set aside: tool_memcheck.c), and needs 20 of its points to be
 * judged at all.  A target that reports its queue has the memory its
 * queued items hold taken out before the decision (per_queued_item): in a
 * pipeline, events in flight are most of the noise.  A run that measured
 * nothing (no stats line from a target that wraps its own processes, no
 * work reported) is inconclusive, never clean.  The sites that only grow
 * are ranked before those whose blocks come and go (rank_steady_first).
 *
 * Shape: lh_measure is setup (directory, tool, target, sampler), step (one
 * turn of the loop) until the run is over, conclude (the target stopped,
 * the tool's findings, the final decision), teardown.  What the loop does
 * differently for a tool comes from its properties (tool.h): own_signal
 * (wait for its points, decide on them), early_looks.
 */
#include "measure.h"
#include "measure_int.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "slope.h"
#include "target.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define SAMPLE_US 100000
/* Leak searches a decision on the memcheck signal needs (slope.h's
 * LH_DECIDE_MIN_SAMPLES after its warm-up cut). */
#define MIN_TOOL_POINTS 20
/* How long a tool with its own signal may take to give its first point. */
#define TOOL_FIRST_POINT_S 60.0
/* Stop grace of a target that wraps its own processes (lh_measure). */
#define WRAPPED_GRACE_MS 60000
/* Pages of RSS growth over the measured part of a run measured by time
 * that are not yet a leak (lh_measure_rss_second_floor). */
#define FLOOR_PAGES 4

int lh_measure_mkdir(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return LH_ESYS;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
        return LH_ESYS;
    return 0;
}

void lh_measure_attribute(const char *stage_map, const char *function,
                          const char *file, char *stage, size_t cap)
{
    stage[0] = '\0';
    if (stage_map && *stage_map) {
        const char *p = stage_map;
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            const char *eq = memchr(p, '=', len);
            if (eq && eq > p) {
                char pat[256];
                size_t plen = (size_t)(eq - p);
                if (plen >= sizeof pat)
                    plen = sizeof pat - 1;
                memcpy(pat, p, plen);
                pat[plen] = '\0';
                if ((file && strstr(file, pat)) ||
                    (function && strstr(function, pat))) {
                    size_t slen = len - plen - 1;
                    if (slen >= cap)
                        slen = cap - 1;
                    memcpy(stage, eq + 1, slen);
                    stage[slen] = '\0';
                    return;
                }
            }
            p += len;
            if (*p == ',')
                p++;
        }
        return;
    }
    /* selfheal: one file per stage, stages/stage_<name>.c.  Valgrind
     * prints base names only, so the base name decides. */
    if (file == NULL)
        return;
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    if (strncmp(base, "stage_", 6) != 0)
        return;
    base += 6;
    size_t len = strcspn(base, ".");
    if (strcmp(base + len, ".c") != 0 || len == 0 || len >= cap)
        return;
    memcpy(stage, base, len);
    stage[len] = '\0';
}

/*
 * Bytes per queued item: c in the least-squares fit bytes = a + b * work +
 * c * queue over the samples after the warm-up.  Memory held for events in
 * flight is most of the noise of a pipeline's heap (measured on selfheal:
 * ~250 B per queued item, and the queue explains ~90% of the residual
 * variance of a clean run: 1.4 MB -> 0.12-0.25 MB), so taking it out lets
 * the decision see the slope that remains.  0 when the queue cannot be
 * used: not reported in every sample, too few samples, no variation apart
 * from the work's, or c not plausible (not positive, or the queue would
 * hold more than the whole process on average).
 */
static double per_queued_item(const lh_slope_sample *v, size_t n,
                              double warmup)
{
    if (n == 0)
        return 0;
    double cut = v[0].work + (v[n - 1].work - v[0].work) * warmup;
    double mw = 0, mq = 0, my = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(v[i].queue >= 0))
            return 0;
        if (v[i].work < cut)
            continue;
        mw += v[i].work;
        mq += v[i].queue;
        my += v[i].bytes;
        k++;
    }
    if (k < LH_DECIDE_MIN_SAMPLES)
        return 0;
    mw /= (double)k;
    mq /= (double)k;
    my /= (double)k;
    double sww = 0, sqq = 0, swq = 0, swy = 0, sqy = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].work < cut)
            continue;
        double w = v[i].work - mw, q = v[i].queue - mq, y = v[i].bytes - my;
        sww += w * w;
        sqq += q * q;
        swq += w * q;
        swy += w * y;
        sqy += q * y;
    }
    double det = sww * sqq - swq * swq;
    if (!(sww > 0 && sqq > 0) || det <= 1e-6 * sww * sqq)
        return 0;
    double c = (sww * sqy - swq * swy) / det;
    if (!isfinite(c) || c <= 0 || c * mq > my)
        return 0;
    return c;
}

/* The samples lh_decide judges, from the series: the tool's own (`own`:
 * its bytes in .heap, no queue) or the sampled heap or RSS, with the queue
 * when the target reports it.  NULL when out of memory. */
static lh_slope_sample *to_samples(const lh_series *src, int own,
                                   int use_heap, int has_queue)
{
    size_t n = src->n;
    lh_slope_sample *v = lh_calloc(n ? n : 1, sizeof *v);
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        /* A restarted process starts its count again; the sum may dip
         * for a sample.  Work done never decreases. */
        v[i].work = src->v[i].work;
        if (i > 0 && v[i].work < v[i - 1].work)
            v[i].work = v[i - 1].work;
        if (own)
            v[i].bytes = src->v[i].heap;
        else
            v[i].bytes = use_heap ? src->v[i].heap : src->v[i].rss;
        v[i].queue = has_queue && !own ? src->v[i].queue : -1;
    }
    return v;
}

/*
 * The floor of RSS measured per second (a program that writes no stats
 * line): RSS moves in pages, and a steady program touches a new page now
 * and then (a stack deeper than before, a buffer reused further, an
 * arena's next page).  The decision takes up to two or three such steps
 * out of a series; more, spread over a short run, read as growth.  So the
 * floor is FLOOR_PAGES pages over the measured span: 2 KiB/s over the 8 s
 * a 10 s run measures, 1 KiB/s over 20 s, 11 B/s over a 30-minute soak,
 * never under the default floor (1 B/unit).  On synthetic series of
 * 4 KiB steps at random times (200 each, 10 and 20 s at 10 Hz), 1 to 6
 * steps gave no leak verdict at this floor, against 1-10% at 4-6 steps
 * with the per-unit floor of 1.  Real programs, 10 s runs: sleep, a shell
 * loop, a python loop allocating and freeing, 20 runs each, and a python
 * loop holding up to 50 random blocks of 0.5 KB-1 MB (RSS jumps by MBs),
 * 20 runs: no leak verdict (the last: clean or inconclusive, wide).  A
 * python program keeping 1 KB objects was found at 100 KB/s (10/10 in
 * 10 s), 10 KB/s (10/10, after one doubling), 4 KB/s in 60 s runs (3/3)
 * and 1 KB/s in a 120 s run doubled once; at 4 KB/s and under, a 10 s
 * run sees no RSS move at all (the allocator reuses memory it holds).
 */
double lh_measure_rss_second_floor(double seconds)
{
    long page = sysconf(_SC_PAGESIZE);
    double floor = seconds > 0 ? FLOOR_PAGES * (double)(page > 0 ? page : 4096)
                                     / seconds
                               : 0;
    return floor > LH_DECIDE_DEFAULT_THRESHOLD ? floor
                                               : LH_DECIDE_DEFAULT_THRESHOLD;
}

/* The floor of a decision: --threshold, else the signal's.  Live bytes
 * as the allocator counts them (heap) resolve a fraction of a byte per
 * unit (LH_DECIDE_HEAP_THRESHOLD); RSS moves in pages
 * (LH_DECIDE_DEFAULT_THRESHOLD, or per second the page floor); a tool's
 * own signal keeps the default. */
static double floor_of(const lh_measure_opts *o, const lh_slope_sample *v,
                       size_t n, int own, int use_heap, int per_second,
                       double warmup)
{
    if (o->threshold >= 0)
        return o->threshold;
    if (!own && use_heap)
        return LH_DECIDE_HEAP_THRESHOLD;
    if (!own && per_second && n > 1)
        return lh_measure_rss_second_floor((1 - warmup) *
                                           (v[n - 1].work - v[0].work));
    return LH_DECIDE_DEFAULT_THRESHOLD;
}

/* lh_decide on v, then again on bytes - c * queue (per_queued_item) unless
 * the series as measured is a backlog (a growing queue explains the
 * growth: that is reported as such).  0, or < 0 when the series cannot be
 * judged.  Changes v's bytes. */
static int judge(lh_slope_sample *v, size_t n, double floor, double warmup,
                 lh_decision *d)
{
    lh_decide_opts opts;
    lh_decide_opts_init(&opts);
    opts.warmup = warmup;
    opts.threshold = floor;
    int rc = lh_decide(v, n, &opts, d);
    if (rc < 0)
        return rc;
    double per_item = d->verdict == LH_VERDICT_BACKLOG
                          ? 0
                          : per_queued_item(v, n, opts.warmup);
    if (per_item > 0) {
        for (size_t i = 0; i < n; i++)
            v[i].bytes -= per_item * v[i].queue;
        lh_decision adj;
        if (lh_decide(v, n, &opts, &adj) == 0)
            *d = adj;
    }
    return 0;
}

/* Writes the decision into res: figures, verdict and reason (with the
 * tool's note). */
static void set_verdict(lh_run_result *res, lh_decision d, int own,
                        const char *note)
{
    res->slope = d.slope;
    res->ci_low = d.ci_low;
    res->ci_high = d.ci_high;
    res->threshold = d.threshold;
    res->warmup_work = d.warmup_work;
    /* Too few searches in the last third to fit it (late_slope NaN) is
     * itself a sign of growth: each search scans the whole heap, so they
     * come further apart in work as it grows (rpc:reachable:64: 3-4 of
     * 26 in the last third; every doubling ended inconclusive again).  A
     * heap that levels off gets its searches back, and its late part is
     * fitted.  (This once also took a late third growing at half the
     * whole run's pace, on the bytes in use as measured: the clean
     * pipeline's events in flight passed it, a false leak.) */
    if (own && d.verdict == LH_VERDICT_INCONCLUSIVE &&
        d.ci_low > d.threshold && isnan(d.late_slope)) {
        d.verdict = LH_VERDICT_LEAK;
        d.reason = LH_REASON_GROWTH;
    }
    switch (d.verdict) {
    case LH_VERDICT_LEAK:
        res->verdict = LH_RUN_LEAK;
        break;
    case LH_VERDICT_CLEAN:
    case LH_VERDICT_BACKLOG:
        res->verdict = LH_RUN_CLEAN;
        break;
    default:
        res->verdict = LH_RUN_INCONCLUSIVE;
        break;
    }
    snprintf(res->reason, sizeof res->reason, "%s%s%s",
             lh_decide_reason_name(d.reason), note && *note ? "; " : "",
             note ? note : "");
}

/* Decides on the series: the tool's own when given, else heap when
 * reported, else RSS; with the queue's share taken out when the target
 * reports its queue (judge). */
static void decide(const lh_measure_opts *o, lh_run_result *res,
                   const lh_series *s, int use_heap, int has_queue,
                   int per_second, const lh_series *tool_series,
                   const char *note, double warmup)
{
    const lh_series *src = tool_series ? tool_series : s;
    int own = src == tool_series;
    lh_slope_sample *v = to_samples(src, own, use_heap, has_queue);
    if (v == NULL) {
        res->verdict = LH_RUN_INCONCLUSIVE;
        snprintf(res->reason, sizeof res->reason, "out of memory");
        return;
    }
    res->signal = own ? res->tool : use_heap ? "heap" : "rss";
    lh_decision d;
    double floor = floor_of(o, v, src->n, own, use_heap, per_second, warmup);
    int rc = judge(v, src->n, floor, warmup, &d);
    lh_free(v);
    if (rc < 0) {
        res->verdict = LH_RUN_INCONCLUSIVE;
        snprintf(res->reason, sizeof res->reason, "series cannot be judged");
        return;
    }
    set_verdict(res, d, own, note);
}

/*
 * The sites that only grew, at or over the floor, go before the sites
 * whose blocks come and go (lh_site.in_flight), each group in its order:
 * a queue that fills up during a run raises the floor of the events in
 * flight (the B nodes' items: 3.6-8.2 B/event under the heap tool on a
 * loaded machine, next to a 4 B/event lost block), and the top site names
 * the culprit.  A leak among short-lived blocks (the ABI scenario's) stays
 * on top when nothing that only grows reaches the floor.
 */
static void rank_steady_first(lh_run_result *res)
{
    size_t n = res->nsites, k = 0;
    if (n < 2)
        return;
    lh_site *v = lh_calloc(n, sizeof *v);
    if (v == NULL)
        return; /* the order by size stands */
    double floor = res->threshold > 0 ? res->threshold
                                      : LH_DECIDE_DEFAULT_THRESHOLD;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            const lh_site *x = &res->sites[i];
            int first = !x->in_flight && x->bytes_per_unit >= floor;
            if (first == (pass == 0))
                v[k++] = *x;
        }
    memcpy(res->sites, v, n * sizeof *v);
    lh_free(v);
}

/*
 * A clean verdict needs work to stand on.  lh_decide already refuses a
 * series with no work after its warm-up (inconclusive, too-few); what it
 * cannot see is a series measured by time because the processes under
 * test never said a word: a target that starts them through
 * LEAKHUNT_WRAP (selfheal's B nodes) is known to leak-hunt only by their
 * stats lines, so without them the RSS sampled is that of the launcher,
 * and a flat launcher is no evidence (memcheck --duration 5 on the
 * built-in pipeline said clean while valgrind was still starting the B
 * nodes).  Also a reporting target that did no work at all in the
 * measured part.
 */
static void too_little_work(const measurement *m)
{
    lh_run_result *res = m->res;
    const lh_series *s = &res->series;
    double work = s->n > m->from ? s->v[s->n - 1].work - s->v[m->from].work
                                 : 0;
    if (!lh_measure_reported(m) && m->o->target_wraps) {
        res->verdict = LH_RUN_INCONCLUSIVE;
        snprintf(res->reason, sizeof res->reason,
                 "too-few: no stats line from the processes under test "
                 "(LEAKHUNT_STATS); nothing measured, run longer");
    } else if (lh_measure_reported(m) && !(work > 0)) {
        res->verdict = LH_RUN_INCONCLUSIVE;
        snprintf(res->reason, sizeof res->reason,
                 "too-few: the target reported no work done; nothing "
                 "measured, run longer");
    }
}

/* 1 when the target wrote stats lines and none of them was the
 * protocol's: nothing it reported can be used, and a run measured by
 * time instead would be judged on something else than it meant. */
static int malformed_only(const measurement *m)
{
    return m->src == NULL && !lh_sampler_reported(m->smp) &&
           lh_sampler_bad_lines(m->smp) > 0;
}

/* The verdict of a run whose stats lines were all malformed. */
static void no_valid_line(lh_run_result *res, const lh_sampler *smp)
{
    res->verdict = LH_RUN_INCONCLUSIVE;
    res->slope = res->ci_low = res->ci_high = NAN;
    snprintf(res->reason, sizeof res->reason,
             "no valid stats line: %lu malformed, the first: '%.80s'",
             lh_sampler_bad_lines(smp), lh_sampler_first_bad_line(smp));
}

/* "leak search" or "leak searches": the tool's word for its points. */
static const char *points_word(const lh_tool *t, size_t n)
{
    const char *w = n == 1 ? t->point : t->points;
    return w ? w : n == 1 ? "point" : "points";
}

/* The tool's own signal when it has enough points: into *sig (through
 * its `signal`) or *ts = its series as measured.  0, or 1 when it has a
 * signal of its own with too few points (res decided inconclusive). */
static int tool_signal(const measurement *m, lh_series *sig,
                       const lh_series **ts, const char **note)
{
    lh_tool_ctx *ctx = m->ctx;
    lh_run_result *res = m->res;
    const lh_tool *tool = m->o->tool;
    if (ctx->series.n >= MIN_TOOL_POINTS) {
        *ts = &ctx->series;
        if (lh_tool_signal(tool, ctx, LH_DECIDE_DEFAULT_WARMUP, sig) == 0 &&
            sig->n == ctx->series.n) {
            *ts = sig;
            *note = ctx->note;
        }
        return 0;
    }
    if (ctx->series.n == 0 && !tool->own_signal)
        return 0;
    /* (a tool with a signal of its own that gave no point: valgrind
     * still starting the processes, or vgdb failing; the samples of
     * processes under valgrind are no evidence either way) */
    res->verdict = LH_RUN_INCONCLUSIVE;
    res->slope = res->ci_low = res->ci_high = NAN;
    snprintf(res->reason, sizeof res->reason,
             "too-few: %zu %s of the %d a decision needs; run longer",
             ctx->series.n, points_word(tool, ctx->series.n),
             MIN_TOOL_POINTS);
    return 1;
}

/*
 * The decision at the end of a budget, on the measured part of the
 * series (a live segment's after its settle period: m->from).  A tool
 * with its own signal (memcheck) is judged on it, through the tool's
 * `signal` when it has one; with fewer than MIN_TOOL_POINTS it is
 * inconclusive (its first points came late: a short run under valgrind;
 * or none came: vgdb failing), not judged on the samples of processes
 * that run under valgrind.  Whatever the series, a run whose work after
 * the warm-up is too little to see the floor in is never clean
 * (min_work).
 */
static void decide_run(measurement *m)
{
    lh_run_result *res = m->res;
    lh_series sig = {0};
    const lh_series *ts = NULL;
    const char *note = NULL;
    if (tool_signal(m, &sig, &ts, &note))
        return;
    size_t from = m->from < res->series.n ? m->from : 0;
    lh_series part = {res->series.v + from, res->series.n - from, 0};
    res->measured_from = from;
    decide(m->o, res, &part, lh_measure_has_heap(m),
           lh_measure_has_queue(m), !lh_measure_reported(m), ts, note,
           m->warmup);
    if (m->src && ts == NULL)
        res->signal = "metrics";
    lh_series_free(&sig);
    /* the chart shades what was left out: the settle period too */
    if (ts == NULL && part.n > 0)
        res->warmup_work += part.v[0].work - res->series.v[0].work;
    if (malformed_only(m))
        no_valid_line(res, m->smp);
    else if (res->verdict == LH_RUN_CLEAN)
        too_little_work(m);
}

/* The slope so far, for the progress line on a terminal: Theil-Sen after
 * the default warm-up, with few resamples (the interval is not shown).
 * NAN when there is too little to fit. */
static double slope_so_far(const lh_series *s, int use_heap, int tool_series)
{
    if (s->n < 8)
        return NAN;
    double w0 = s->v[0].work, w1 = s->v[s->n - 1].work;
    double cut = w0 + LH_DECIDE_DEFAULT_WARMUP * (w1 - w0);
    size_t i0 = 0;
    while (i0 < s->n && s->v[i0].work < cut)
        i0++;
    size_t n = s->n - i0;
    if (n < 3)
        return NAN;
    double *x = lh_calloc(2 * n, sizeof *x);
    if (x == NULL)
        return NAN;
    double *y = x + n;
    for (size_t i = 0; i < n; i++) {
        const lh_sample *v = &s->v[i0 + i];
        x[i] = i > 0 && v->work < x[i - 1] ? x[i - 1] : v->work;
        y[i] = tool_series || use_heap ? v->heap : v->rss;
    }
    lh_slope_fit fit;
    int rc = lh_slope_fit_xy(x, y, n, 50, LH_DECIDE_DEFAULT_SEED, &fit);
    lh_free(x);
    return rc == 0 ? fit.slope : NAN;
}

/* The progress line: one that updates on a terminal while the run goes,
 * and the final one.  `per_second`: the work is time (no stats line),
 * slopes are in B/s.  `phase`: what a live segment waits for before its
 * measured part ("switching", "settling"), or NULL. */
static void progress(const lh_measure_opts *o, const lh_run_result *res,
                     double elapsed, double work, double budget, int final,
                     double slope, int per_second, const char *phase)
{
    if (o->quiet)
        return;
    int tty = isatty(2);
    if (!tty && !final)
        return;
    const char *unit = per_second ? "B/s" : "B/unit";
    int has_slope = res->verdict != LH_RUN_ERROR && isfinite(res->slope);
    if (final) {
        char done[64] = "";
        if (!per_second)
            snprintf(done, sizeof done, "%10.0f units  ", work);
        fprintf(stderr, "%s[%s] %-28s %-8s %6.1fs %s%s",
                tty ? "\r\033[K" : "", res->tool, o->label ? o->label : "",
                lh_run_verdict_name(res->verdict), elapsed, done,
                has_slope ? "slope " : "");
    } else {
        /* One line that updates: cut to the terminal's width, or the
         * terminal wraps it and each update leaves a line behind. */
        char line[512], tail[64] = "";
        if (isfinite(slope))
            snprintf(tail, sizeof tail, "  %+.2f %s so far", slope, unit);
        int len = phase
                      ? snprintf(line, sizeof line, "[%s] %s  %.1fs  %s",
                                 res->tool, o->label ? o->label : "",
                                 elapsed, phase)
                      : snprintf(line, sizeof line, "[%s] %s  %.1fs  "
                                 "%.0f/%.0f %s%s", res->tool,
                                 o->label ? o->label : "", elapsed, work,
                                 budget, per_second ? "s" : "units", tail);
        struct winsize ws;
        if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 &&
            len >= (int)ws.ws_col && (size_t)ws.ws_col <= sizeof line)
            line[ws.ws_col - 1] = '\0';
        fprintf(stderr, "\r\033[K%s", line);
    }
    if (final) {
        if (has_slope)
            fprintf(stderr, "%+.2f %s (%s)", res->slope, unit, res->reason);
        else if (res->verdict != LH_RUN_ERROR)
            fprintf(stderr, "(%s)", res->reason); /* no slope fitted */
        fputc('\n', stderr);
    }
    fflush(stderr);
}

int lh_measure_make_dir(measurement *m, int own)
{
    const lh_measure_opts *o = m->o;
    if (lh_measure_mkdir(o->dir) < 0) {
        snprintf(m->res->error, sizeof m->res->error,
                 "cannot create report directory %.900s: %s", o->dir,
                 strerror(errno));
        return LH_EIO;
    }
    snprintf(m->csv, sizeof m->csv, "%s/samples.csv", o->dir);
    if (!own)
        return 0;
    snprintf(m->stats, sizeof m->stats, "%s/stats.log", o->dir);
    snprintf(m->log, sizeof m->log, "%s/target.log", o->dir);
    unlink(m->stats);
    unlink(m->log);
    return 0;
}

/* The metrics of a run of its own (o->metrics): the source over the
 * run's sampler (in watch mode one that reads no stats file and no
 * process: the clock), and its first good scrape before the run begins.
 * 0 (also when the target exited first: the loop says so), or LH_EINVAL
 * with res->error and usage_error set. */
static int start_metrics(measurement *m)
{
    const lh_measure_opts *o = m->o;
    lh_run_result *res = m->res;
    int rc = 0;
    if (m->smp == NULL)
        rc = lh_sampler_new(m->stats, 0, &m->smp);
    if (rc < 0)
        return rc;
    m->src = &m->own_src;
    rc = lh_promsource_open(m->src, o->metrics, m->smp, o->quiet,
                            res->error, sizeof res->error);
    if (rc == 0)
        rc = lh_promsource_first(m->src, m->t, LH_PROMSOURCE_START_S,
                                 res->error, sizeof res->error);
    if (rc == LH_ENOMEM)
        return rc;
    if (rc < 0) {
        res->usage_error = 1;
        return LH_EINVAL;
    }
    m->src_t0 = lh_promsource_now(m->src);
    return 0;
}

/* Prepares the tool, starts the target wrapped as the tool asks, and its
 * sampler.  0, or an error (res->error set for the tool's and the
 * target's). */
static int start(measurement *m)
{
    const lh_measure_opts *o = m->o;
    lh_tool_ctx *c = m->ctx;
    c->dir = o->dir;
    c->bindir = o->bindir;
    c->supp = o->supp;
    c->stage_map = o->stage_map;
    c->argv = o->argv;
    c->res = m->res;
    c->grace_ms = 5000;
    int rc = lh_tool_prepare(o->tool, c);
    if (rc < 0)
        return rc;
    if (o->argv == NULL || o->argv[0] == NULL) { /* watch mode */
        if (o->metrics == NULL) {
            snprintf(m->res->error, sizeof m->res->error, "no target "
                     "command, and no metrics to watch");
            return LH_EINVAL;
        }
        return start_metrics(m);
    }
    lh_target_opts to = {
        .argv = o->argv,
        .stages = o->enabled,
        .stats_path = m->stats,
        .wrap = c->wrap[0] ? c->wrap : NULL,
        .wrap_self = !o->target_wraps,
        .log_path = m->log,
        .env = c->nenv ? c->env : NULL,
    };
    rc = lh_target_start(&to, &m->t);
    if (rc < 0) {
        snprintf(m->res->error, sizeof m->res->error,
                 "cannot start target %.900s: %s", o->argv[0],
                 lh_strerror(rc));
        return LH_EIO;
    }
    rc = lh_sampler_new(m->stats, lh_target_pid(m->t), &m->smp);
    if (rc == 0 && c->heap_log[0])
        rc = lh_sampler_heap_log(m->smp, c->heap_log);
    if (rc == 0 && o->metrics)
        rc = start_metrics(m);
    return rc;
}

/* How far apart looks are: in seconds (look_seconds), else in the
 * budget's units. */
static double look_step(const lh_measure_opts *o)
{
    if (o->look_seconds > 0)
        return o->look_seconds;
    return o->look_every * (o->work > 0 ? o->work : o->duration);
}

void lh_measure_clocks(measurement *m)
{
    const lh_measure_opts *o = m->o;
    m->start = lh_now_us();
    m->next_tick = m->start;
    m->next_slope = m->start;
    m->shown_slope = NAN;
    m->next_progress = m->start + (int64_t)(o->progress_every * 1e6);
    m->budget_work = o->work;
    m->budget_time = o->duration;
    m->next_look = look_step(o);
    m->last_look = LH_RUN_ERROR;
}

/* Set-up of a run of its own: the result's identity, the directory, the
 * tool and the target, the loop's clocks and budget; measured from the
 * start, with the default warm-up.  0, or lh_measure's error. */
static int setup(measurement *m, const lh_measure_opts *o, lh_run_result *res)
{
    memset(m, 0, sizeof *m);
    m->o = o;
    m->res = res;
    m->ctx = &m->own_ctx;
    snprintf(res->enabled, sizeof res->enabled, "%s", o->enabled);
    snprintf(res->dir, sizeof res->dir, "%s", o->dir);
    res->tool = o->tool->name;
    res->verdict = LH_RUN_ERROR;
    m->measuring = 1;
    m->warmup = LH_DECIDE_DEFAULT_WARMUP;
    int rc = lh_measure_make_dir(m, 1);
    if (rc == 0)
        rc = start(m);
    if (rc < 0)
        return rc;
    lh_measure_clocks(m);
    return 0;
}

int lh_measure_reported(const measurement *m)
{
    if (m->src)
        return lh_promsource_has_work(m->src);
    return lh_sampler_reported(m->smp);
}

int lh_measure_has_heap(const measurement *m)
{
    return m->src == NULL && lh_sampler_has_heap(m->smp);
}

int lh_measure_has_queue(const measurement *m)
{
    return m->src == NULL && lh_sampler_has_queue(m->smp);
}

double lh_measure_work(const measurement *m)
{
    if (m->src && lh_promsource_has_work(m->src))
        return lh_promsource_work(m->src) - m->work_origin;
    if (!lh_sampler_reported(m->smp) || m->src)
        return (double)(lh_now_us() - m->start) / 1e6;
    return lh_sampler_work(m->smp) - m->work_origin;
}

void lh_measure_show(measurement *m, const char *phase)
{
    const lh_measure_opts *o = m->o;
    double elapsed = (double)(lh_now_us() - m->start) / 1e6;
    double work = lh_measure_work(m);
    if (!o->quiet && isatty(2) && lh_now_us() >= m->next_slope) {
        m->shown_slope = m->ctx->series.n >= 3
                             ? slope_so_far(&m->ctx->series, 0, 1)
                             : slope_so_far(&m->res->series,
                                            lh_measure_has_heap(m), 0);
        m->next_slope = lh_now_us() + 1000000;
    }
    progress(o, m->res, elapsed, work - m->work_from,
             m->budget_work > 0 ? m->budget_work : m->budget_time, 0,
             m->shown_slope, !lh_measure_reported(m), phase);
}

/* The tool's tick when it is due; the progress line and callback. */
static void tick_and_show(measurement *m, double elapsed, double work)
{
    const lh_measure_opts *o = m->o;
    lh_tool_ctx *c = m->ctx;
    if (c->tick_seconds > 0 && lh_now_us() >= m->next_tick) {
        c->npids = lh_sampler_pids(m->smp, c->pids, 64);
        c->work = lh_sampler_work(m->smp);
        lh_tool_tick(o->tool, c);
        m->next_tick = lh_now_us() + (int64_t)(c->tick_seconds * 1e6);
    }
    lh_measure_show(m, NULL);
    if (o->progress && o->progress_every > 0 &&
        lh_now_us() >= m->next_progress) {
        o->progress(o->progress_arg, m->res, elapsed, work);
        m->next_progress = lh_now_us() + (int64_t)(o->progress_every * 1e6);
    }
}

/* 1 when the budget counts as spent (or the timeout is reached).  The
 * budget counts from the measured part's start; the timeout from the
 * run's (or the segment's). */
static int budget_spent(measurement *m, double elapsed, double work)
{
    const lh_measure_opts *o = m->o;
    double w = work - m->work_from, t = elapsed - m->time_from;
    int spent = m->budget_work > 0 ? w >= m->budget_work
                                   : t >= m->budget_time;
    if (o->timeout > 0 && elapsed >= o->timeout) {
        /* A run cut short by the timeout (a hung or slow target) is
         * inconclusive whatever its partial series looks like: a hung
         * target's flat memory is not evidence of a clean one. */
        if (!spent)
            m->timed_out = 1;
        spent = 1;
        m->extensions = o->max_extend; /* no more extensions */
    }
    /* A tool with its own signal needs enough points to judge.  Its
     * first point may come after a small budget is spent (memcheck's
     * 1/50: the built-in pipeline does 12k events before valgrind's
     * first leak search); a decision without it is no decision, and
     * used up the extensions (two "+nan" rounds, then a final one).
     * A tool that gives no point at all in TOOL_FIRST_POINT_S (vgdb
     * failing) is waited for no longer: the run is inconclusive
     * (decide_run). */
    size_t points = m->ctx->series.n;
    if (spent && o->tool->own_signal &&
        points < (o->tool_points > 0 ? (size_t)o->tool_points
                                     : MIN_TOOL_POINTS) &&
        elapsed < o->timeout && (points > 0 || elapsed < TOOL_FIRST_POINT_S))
        spent = 0;
    return spent;
}

/* 1 when a clean verdict rests on a backlog: the growth taken for a
 * queue's that grew in step with the work.  Early on (a live segment's
 * queue still filling after the consumer group joined) a leak growing
 * beside such a queue reads the same (slope.h, step 6: a hash leak of 64
 * B/event was called a backlog after 8 s in one CI run), so such a look
 * does not end a run: the budget, or two looks once the queue stopped
 * growing, do. */
static int backlog_look(const lh_run_result *res)
{
    const char *b = lh_decide_reason_name(LH_REASON_BACKLOG);
    return res->verdict == LH_RUN_CLEAN &&
           strncmp(res->reason, b, strlen(b)) == 0;
}

/* 1 when a clean verdict is what a series still settling looks like: a
 * plateau (the late third under the floor), or memory falling (its whole
 * interval under 0).  In a short live segment both came from noise or
 * from the switch before: a 1 B/event leak beside the built-in
 * pipeline's RPC calls in flight was called clean at 118k events after
 * the first switch (-2.1 B/event, CI -3.8..-0.6, the heap still falling
 * from the switch; at 176k: -0.9, CI -1.7..-0.06, a wander set aside as
 * a step) and at 228k as a plateau (+0.9, CI 0.3..1.3, its late third
 * dipping); run on, such hunts named rpc (issue 13).  Such a look does
 * not end a run; the budget still decides it. */
static int settling_look(const lh_run_result *res)
{
    const char *p = lh_decide_reason_name(LH_REASON_PLATEAU);
    return res->verdict == LH_RUN_CLEAN &&
           (strncmp(res->reason, p, strlen(p)) == 0 ||
            res->ci_high < 0);
}

/* Sequential decision (look_every): two looks in a row that agree on leak
 * or clean end the run before its budget (not on a backlog, nor on a
 * series still settling).  1 when they did. */
static int early_look(measurement *m, double elapsed, double work)
{
    const lh_measure_opts *o = m->o;
    double at = o->work > 0 && o->look_seconds <= 0 ? work - m->work_from
                                                    : elapsed - m->time_from;
    if ((o->look_every <= 0 && o->look_seconds <= 0) ||
        !o->tool->early_looks || at < m->next_look)
        return 0;
    m->next_look = at + look_step(o);
    decide_run(m);
    lh_run_verdict v = m->res->verdict;
    if (backlog_look(m->res) || settling_look(m->res))
        v = LH_RUN_INCONCLUSIVE;
    if ((v == LH_RUN_LEAK || v == LH_RUN_CLEAN) && v == m->last_look) {
        m->res->early = 1;
        return 1;
    }
    m->last_look = v;
    return 0;
}

/* The decision at a spent budget: 1 to go on (inconclusive, with the
 * budget doubled), 0 when the run is over. */
static int decide_or_extend(measurement *m, double elapsed, double work)
{
    const lh_measure_opts *o = m->o;
    lh_run_result *res = m->res;
    decide_run(m);
    if (m->timed_out || malformed_only(m))
        return 0; /* (longer would not make a stats line valid) */
    if (res->verdict != LH_RUN_INCONCLUSIVE || m->extensions >= o->max_extend)
        return 0;
    m->extensions++;
    /* Twice what was actually run: a tool that needed more points
     * than the budget gave (memcheck) has already run past it, and
     * doubling the budget alone would decide again on the same data. */
    double w = work - m->work_from, t = elapsed - m->time_from;
    m->budget_work = 2 * (w > m->budget_work ? w : m->budget_work);
    m->budget_time = 2 * (t > m->budget_time ? t : m->budget_time);
    if (!o->quiet)
        fprintf(stderr, "%s[%s] %s: inconclusive (%+.2f %s, CI "
                "%.2f..%.2f): running twice as long\n",
                isatty(2) ? "\r\033[K" : "", res->tool,
                o->label ? o->label : "", res->slope,
                lh_measure_reported(m) ? "B/unit" : "B/s", res->ci_low,
                res->ci_high);
    return 1;
}

/* The first malformed stats line, quoted on stderr once it is seen
 * (docs/protocol.md section 2). */
static void say_bad_line(measurement *m)
{
    if (m->bad_said || m->src || lh_sampler_bad_lines(m->smp) == 0)
        return;
    m->bad_said = 1;
    fprintf(stderr, "%sleak-hunt: malformed stats line in %s (counted, "
            "not used; the format: docs/protocol.md section 2): '%s'\n",
            isatty(2) ? "\r\033[K" : "", m->stats,
            lh_sampler_first_bad_line(m->smp));
}

/* One sample: into the run's series, or a live run's and the
 * segment's. */
static int take(measurement *m)
{
    if (m->live)
        return lh_live_take(m);
    if (m->src) {
        int restarted;
        int rc = lh_measure_take_metrics(m, &m->res->series, &restarted);
        if (rc > 0 && restarted)
            lh_measure_refit(m);
        return rc > 0 ? 0 : rc;
    }
    return lh_sampler_take(m->smp, &m->res->series);
}

int lh_measure_take_metrics(measurement *m, lh_series *into,
                            int *restarted)
{
    int rc = lh_promsource_take(m->src, into, restarted, m->res->error,
                                sizeof m->res->error);
    if (rc == LH_EIO) {
        m->res->verdict = LH_RUN_INCONCLUSIVE;
        m->res->slope = m->res->ci_low = m->res->ci_high = NAN;
        snprintf(m->res->reason, sizeof m->res->reason,
                 "too many failed scrapes");
    }
    return rc;
}

void lh_measure_refit(measurement *m)
{
    /* The service restarted: its memory fell with it and grows again
     * through its warm-up; the fit is of this process alone, from its
     * first point, its warm-up left out by the decision. */
    if (!m->measuring || m->res->series.n == 0)
        return;
    m->from = m->res->series.n - 1;
    m->warmup = LH_DECIDE_DEFAULT_WARMUP;
}

/* One turn of the loop: sleep, sample, tick, and decide when the budget
 * is spent (a live segment: its switch and settle period first).  1 to
 * go on, 0 when the run is over, or an error. */
static int step(measurement *m)
{
    lh_sleep_us(SAMPLE_US);
    if (m->t == NULL && m->o->interrupted && m->o->interrupted()) {
        snprintf(m->res->error, sizeof m->res->error, "interrupted");
        return LH_EIO; /* watch mode: no target whose end says so */
    }
    int rc = take(m);
    if (rc < 0)
        return rc;
    say_bad_line(m);
    double elapsed = (double)(lh_now_us() - m->start) / 1e6;
    double work = lh_measure_work(m);
    if (m->t && lh_target_exited(m->t, &m->status)) {
        m->exited = 1;
        return 0;
    }
    if (m->live) {
        rc = lh_live_check(m);
        if (rc == 0 && !m->measuring)
            rc = lh_live_phase(m);
        if (rc != 0)
            return rc; /* an error, or still waiting (1) */
    }
    tick_and_show(m, elapsed, work);
    if (!budget_spent(m, elapsed, work))
        return early_look(m, elapsed, work) ? 0 : 1;
    return decide_or_extend(m, elapsed, work);
}

/* Stops the target.  A target that starts its processes under test
 * itself stops them itself, in its own order and with its own grace for
 * each (selfheal up: producer, A, the B nodes, store, broker, in process
 * groups of their own).  Killed before it is done, it leaves them to die
 * alone: the heap tool's 10 s ran out under load (B nodes writing their
 * last profiles) and a broker outlived the run.  So it gets at least
 * WRAPPED_GRACE_MS; it ends as soon as it is done. */
void lh_measure_stop_target(lh_target *t, const lh_tool_ctx *c,
                            int target_wraps)
{
    int grace = c->grace_ms;
    if (target_wraps && grace < WRAPPED_GRACE_MS)
        grace = WRAPPED_GRACE_MS;
    int stop_status = 0;
    lh_target_stop(t, grace, &stop_status);
}

/* A tool with its own signal (memcheck) decides on it, now with the last
 * leak search; but a verdict the loop reached stands against an
 * inconclusive one from that extra point at about the same work (the loop
 * would have run longer for it; here no extension is left: a 4 B/event
 * lost block ended inconclusive that way, 1 run in 9). */
static void decide_last(measurement *m)
{
    lh_run_result *res = m->res;
    if (m->ctx->series.n < MIN_TOOL_POINTS)
        return;
    lh_run_result before = *res;
    decide_run(m);
    if (res->verdict == LH_RUN_INCONCLUSIVE &&
        (before.verdict == LH_RUN_LEAK || before.verdict == LH_RUN_CLEAN)) {
        res->verdict = before.verdict;
        res->slope = before.slope;
        res->ci_low = before.ci_low;
        res->ci_high = before.ci_high;
        res->threshold = before.threshold;
        res->warmup_work = before.warmup_work;
        memcpy(res->reason, before.reason, sizeof res->reason);
    }
}

/* The error of a target that exited before the measurement was done. */
static void exited_error(measurement *m)
{
    lh_run_result *res = m->res;
    char how[128], tail[1024], what[700] = "";
    lh_target_describe_status(m->status, how, sizeof how);
    lh_target_log_tail(m->log, 8, tail, sizeof tail);
    if (m->live)
        snprintf(what, sizeof what, " (a live run, while running %.600s)",
                 res->enabled[0] ? res->enabled : "no stage");
    res->verdict = LH_RUN_ERROR;
    snprintf(res->error, sizeof res->error,
             "target exited before the measurement finished%s (%s) after "
             "%.0f units; last lines of %.300s:\n%.1000s",
             what, how, res->work, m->log, tail);
}

/* The run's figures and a last tick, before the target is stopped (a
 * live segment's: its last dump). */
static void last_figures(measurement *m)
{
    lh_run_result *res = m->res;
    lh_tool_ctx *c = m->ctx;
    res->seconds = (double)(lh_now_us() - m->start) / 1e6;
    res->work = lh_measure_work(m);
    if (!lh_measure_reported(m))
        res->work = res->seconds;
    res->rate = res->seconds > 0 ? res->work / res->seconds : 0;
    res->bad_stats_lines = m->src ? 0 : lh_sampler_bad_lines(m->smp);
    if (m->src)
        lh_promsource_result(m->src, res, m->src_t0, m->src_work0);
    snprintf(res->first_bad_stats_line, sizeof res->first_bad_stats_line,
             "%s", lh_sampler_first_bad_line(m->smp));
    c->npids = lh_sampler_pids(m->smp, c->pids, 64);
    c->work = lh_sampler_work(m->smp);
    c->last = 1;
    if (!m->exited && (!m->live || lh_live_findings_wanted(m)))
        lh_tool_tick(m->o->tool, c); /* a last leak search / dump */
    c->last = 0;
}

/* The caller's look at the processes under test (lh_measure_opts
 * .before_stop) while they still run: at the end of a run of its own, just
 * before it is stopped, and at the end of each live segment. */
static void probe_before_stop(measurement *m)
{
    if (m->o->before_stop == NULL || m->exited || m->t == NULL)
        return;
    pid_t main_pid = lh_target_pid(m->t);
    const pid_t *pids = m->ctx->npids ? m->ctx->pids : &main_pid;
    m->o->before_stop(m->o->before_stop_arg, m->res, pids,
                      m->ctx->npids ? m->ctx->npids : 1);
}

/* A service measured through its metrics that restarted: the reason
 * says that the fit is of what followed the last restart. */
static void say_restarts(lh_run_result *res)
{
    if (res->nrestarts == 0)
        return;
    size_t last = res->nrestarts <= LH_RUN_MAX_RESTARTS
                      ? res->nrestarts - 1
                      : LH_RUN_MAX_RESTARTS - 1;
    size_t len = strlen(res->reason);
    char times[48] = "once,";
    if (res->nrestarts > 1)
        snprintf(times, sizeof times, "%zu times, the last", res->nrestarts);
    snprintf(res->reason + len, sizeof res->reason - len,
             "; the service restarted %s at %.1f s: fitted from there",
             times, res->restarts[last].seconds);
}

/* After the loop: the run's figures, a last tick, the target stopped (a
 * run of its own), the tool's findings and the final decision, the sites
 * attributed and ranked.  0, or LH_EIO when the target exited on its own
 * (res->error has its status and the end of its log). */
static int conclude(measurement *m)
{
    const lh_measure_opts *o = m->o;
    lh_run_result *res = m->res;
    last_figures(m);
    probe_before_stop(m);
    if (!m->live && m->t)
        lh_measure_stop_target(m->t, m->ctx, m->o->target_wraps);
    if (m->exited) {
        exited_error(m);
        return LH_EIO;
    }
    if (m->live) {
        lh_live_finish(m);
    } else {
        m->ctx->work = res->work;
        lh_tool_finish(o->tool, m->ctx);
    }
    decide_last(m);
    if (m->timed_out) {
        res->verdict = LH_RUN_INCONCLUSIVE;
        snprintf(res->reason, sizeof res->reason,
                 "timed out after %.0f s with %.0f of %.0f %s", res->seconds,
                 res->work, o->work > 0 ? o->work : o->duration,
                 o->work > 0 ? "units" : "seconds");
    }
    say_restarts(res);
    for (size_t i = 0; i < res->nsites; i++)
        if (res->sites[i].stage[0] == '\0')
            lh_measure_attribute(o->stage_map, res->sites[i].function,
                                 res->sites[i].file, res->sites[i].stage,
                                 sizeof res->sites[i].stage);
    lh_run_result_sort_sites(res);
    rank_steady_first(res);
    return 0;
}

/* The final progress line and samples.csv. */
static void write_outputs(measurement *m)
{
    lh_run_result *res = m->res;
    progress(m->o, res, res->seconds, res->work, 0, 1, NAN,
             !lh_measure_reported(m), NULL);
    FILE *f = fopen(m->csv, "w");
    if (f) {
        lh_series_write_csv(&res->series, f);
        fclose(f);
    }
}

/* Frees what a run of its own holds; the tool's series goes to the
 * result, for the report's chart. */
static void teardown(measurement *m)
{
    lh_tool_cleanup(m->o->tool, m->ctx);
    for (size_t i = 0; i < m->ctx->nenv; i++)
        lh_free(m->ctx->env[i]);
    lh_series_free(&m->res->tool_series);
    m->res->tool_series = m->ctx->series;
    if (m->src == &m->own_src)
        lh_promsource_close(m->src);
    lh_sampler_free(m->smp);
    lh_target_free(m->t);
}

int lh_measure_loop(measurement *m)
{
    int rc, more = 1;
    while (more) {
        rc = step(m);
        more = rc > 0;
    }
    if (rc == 0) {
        rc = conclude(m);
        write_outputs(m);
    } else if (m->src) { /* the scrapes that ended it, for the report */
        lh_promsource_result(m->src, m->res, m->src_t0, m->src_work0);
    }
    return rc;
}

int lh_measure(const lh_measure_opts *o, lh_run_result *res)
{
    measurement m;
    int rc = setup(&m, o, res);
    if (rc == 0)
        rc = lh_measure_loop(&m);
    teardown(&m);
    return rc;
}
