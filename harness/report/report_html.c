/*
 * report.html: one self-contained page that opens offline (no script, no
 * external file, no web font): inline CSS and inline SVG only.
 *
 * Top to bottom:
 *   - the verdict paragraph (the same text as stdout) and a short summary;
 *   - the per-stage breakdown (hunt): a bar per stage, bytes per unit
 *     with its 95% interval as a whisker and the floor as a dashed line;
 *   - memory against work: one overlay of every run's growth after its
 *     warm-up, then one chart per run with axes, ticks and units, the
 *     warm-up shaded and the fitted line (slope through the median
 *     intercept, as Theil-Sen defines it) over the part that was fitted;
 *   - the runs table, each run with links to the raw files present in its
 *     directory (relative links when the run lies under the report);
 *   - allocation sites; memcheck's findings, with its other errors listed
 *     apart from the leak verdict (they do not change it); run errors.
 *
 * Every string that came from outside (stage names, paths, functions,
 * error text) goes through esc(); every href through url().  A number
 * that is not finite is never written into SVG coordinates.
 *
 * Charts plot what the verdict was decided on: the live heap for the
 * "heap" signal, RSS for "rss".  A run decided on its tool's own signal
 * (memcheck: the leak searches' in-use bytes) shows the sampled memory and
 * draws no fitted line.  What the report says of a tool comes from its
 * properties (tool.h), never from its name.
 */
#include "report.h"

#include "alloc.h"
#include "error.h"
#include "slope.h"
#include "tool.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Charts: at most this many points per polyline. */
#define MAX_POINTS 600
/* Height of a row of the per-stage breakdown, px. */
#define BREAKDOWN_ROW 30.0
/* Sites listed per run. */
#define MAX_SITES 10
/* A longer series of numbered files is shown by its first and last. */
#define SERIES_LINKS 4

/* ---- escaping ----------------------------------------------------------- */

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

void lh_report_esc(FILE *f, const char *s)
{
    esc(f, s);
}

/* A path as a URL: unreserved characters and '/' as they are, the rest
 * percent-encoded (so the result needs no HTML escaping either). */
static void url(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || strchr("-._~/+,=:@", c) != NULL)
            fputc(c, f);
        else
            fprintf(f, "%%%02X", c);
    }
}

/* A number with `dec` decimals (and a sign when `plus`); "n/a" when it
 * is not finite; a negative value that rounds to zero loses its '-'. */
static void num(FILE *f, double v, int dec, int plus)
{
    char buf[64];
    if (!isfinite(v)) {
        fputs("n/a", f);
        return;
    }
    if (plus)
        snprintf(buf, sizeof buf, "%+.*f", dec, v);
    else
        snprintf(buf, sizeof buf, "%.*f", dec, v);
    if (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1))
        buf[0] = plus ? '+' : ' ';
    fputs(buf[0] == ' ' ? buf + 1 : buf, f);
}

/* "slope B/unit (95% CI low-high)" */
static void slope_ci(FILE *f, double slope, double lo, double hi,
                     const char *unit)
{
    if (!isfinite(slope)) {
        fputs("no slope", f);
        return;
    }
    num(f, slope, 2, 1);
    fprintf(f, " B/%s (95%% CI ", unit);
    num(f, lo, 2, 0);
    fputs("&ndash;", f);
    num(f, hi, 2, 0);
    fputs(")", f);
}

/* A stage list that may wrap after its commas. */
static void stages(FILE *f, const char *list)
{
    if (list == NULL || list[0] == '\0') {
        fputs("(none)", f);
        return;
    }
    for (const char *p = list; *p; p++) {
        char one[2] = {*p, '\0'};
        esc(f, one);
        if (*p == ',')
            fputs("<wbr>", f);
    }
}

/* ---- chart geometry ----------------------------------------------------- */

typedef struct chart {
    double w, h;                 /* SVG size in px */
    double left, right, top, bottom; /* margins in px */
    double x0, x1, y0, y1;       /* data range shown */
} chart;

static double px(const chart *c, double x)
{
    return c->left + (x - c->x0) / (c->x1 - c->x0) * (c->w - c->left - c->right);
}

static double py(const chart *c, double y)
{
    return c->h - c->bottom -
           (y - c->y0) / (c->y1 - c->y0) * (c->h - c->top - c->bottom);
}

/* A tick step of 1, 2 or 5 times a power of ten, giving about `n` ticks. */
static double nice_step(double span, int n)
{
    if (!(span > 0) || !isfinite(span))
        return 1;
    double raw = span / n;
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Widens [*lo, *hi] to whole steps; returns the step. */
static double nice_range(double *lo, double *hi, int n)
{
    if (!(*hi > *lo)) {
        double pad = fabs(*lo) > 0 ? fabs(*lo) * 0.05 : 1;
        *lo -= pad;
        *hi += pad;
    }
    double step = nice_step(*hi - *lo, n);
    *lo = floor(*lo / step) * step;
    *hi = ceil(*hi / step) * step;
    return step;
}

/* Ticks from lo to hi by step: how many (at most 50, so a degenerate
 * range cannot loop for long). */
static int tick_count(double lo, double hi, double step)
{
    double n = floor((hi - lo) / step + 1e-6) + 1;
    return isfinite(n) && n > 0 ? (n < 50 ? (int)n : 50) : 0;
}

/* Decimals that show a tick step exactly (0 for steps >= 1). */
static int decimals(double step)
{
    int d = (int)ceil(-log10(step) - 1e-9);
    return d < 0 ? 0 : d > 6 ? 6 : d;
}

/* Work tick labels: 1.5M, 250k, 40. */
static void work_label(char *buf, size_t cap, double v, double step)
{
    if (fabs(v) < step * 1e-6)
        snprintf(buf, cap, "0");
    else if (step >= 1e5)
        snprintf(buf, cap, "%.*fM", decimals(step / 1e6), v / 1e6);
    else if (step >= 1e3)
        snprintf(buf, cap, "%.*fk", decimals(step / 1e3), v / 1e3);
    else
        snprintf(buf, cap, "%.*f", decimals(step), v);
}

/* The unit a byte axis is labelled in: B, KB or MB (powers of 1000). */
static double byte_scale(const chart *c, const char **name)
{
    double m = fmax(fabs(c->y0), fabs(c->y1));
    *name = m >= 1e6 ? "MB" : m >= 1e3 ? "KB" : "B";
    return m >= 1e6 ? 1e6 : m >= 1e3 ? 1e3 : 1;
}

/* A flat series gets a y span of at least 10% of its level (4 KB at
 * least), so allocator noise does not fill the chart. */
static void min_span(chart *c)
{
    double level = fmax(fabs(c->y0), fabs(c->y1));
    double want = fmax(0.1 * level, 4000);
    if (c->y1 - c->y0 < want) {
        double mid = (c->y0 + c->y1) / 2;
        c->y0 = mid - want / 2;
        c->y1 = mid + want / 2;
        if (c->y0 < 0 && mid >= 0) {
            c->y1 -= c->y0;
            c->y0 = 0;
        }
    }
}

/* "event" -> "events"; the work axis title. */
static const char *units_word(const lh_report *r)
{
    const char *u = r->unit ? r->unit : "unit";
    if (strcmp(u, "event") == 0)
        return "events";
    if (strcmp(u, "second") == 0)
        return "seconds";
    return "work units";
}

/* Frame, grid, tick labels and axis titles; y in bytes, labelled in B,
 * KB or MB, the unit appended to `ytitle`. */
static void axes(FILE *f, const chart *c, double xstep, double ystep,
                 const char *xtitle, const char *ytitle)
{
    const char *uname;
    double scale = byte_scale(c, &uname);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
               "fill=\"#fcfcfc\" stroke=\"#888\"/>\n",
            c->left, c->top, c->w - c->left - c->right,
            c->h - c->top - c->bottom);
    char lab[32];
    int ny = tick_count(c->y0, c->y1, ystep);
    for (int i = 0; i < ny; i++) {
        double y = c->y0 + i * ystep;
        double yy = py(c, y);
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                   "y2=\"%.1f\"/>",
                c->left, yy, c->w - c->right, yy);
        if (fabs(y) < ystep * 1e-6)
            snprintf(lab, sizeof lab, "0");
        else
            snprintf(lab, sizeof lab, "%.*f", decimals(ystep / scale),
                     y / scale);
        fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
                   "text-anchor=\"end\">%s</text>\n",
                c->left - 5, yy + 4, lab);
    }
    int nx = tick_count(c->x0, c->x1, xstep);
    for (int i = 0; i < nx; i++) {
        double x = c->x0 + i * xstep;
        double xx = px(c, x);
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                   "y2=\"%.1f\"/>",
                xx, c->top, xx, c->h - c->bottom);
        work_label(lab, sizeof lab, x, xstep);
        fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
                   "text-anchor=\"middle\">%s</text>\n",
                xx, c->h - c->bottom + 15, lab);
    }
    fprintf(f, "<text class=\"title\" x=\"%.1f\" y=\"%.1f\" "
               "text-anchor=\"middle\">%s</text>\n",
            (c->left + c->w - c->right) / 2, c->h - 6, xtitle);
    fprintf(f, "<text class=\"title\" transform=\"translate(14 %.1f) "
               "rotate(-90)\" text-anchor=\"middle\">%s (%s)</text>\n",
            (c->top + c->h - c->bottom) / 2, ytitle, uname);
}

/* ---- tools -------------------------------------------------------------- */

/* The names of the tools that `has`, as prose: "heap and memcheck". */
static void tool_names(FILE *f, int (*has)(const lh_tool *))
{
    const lh_tool *t, *v[16];
    size_t n = 0;
    for (size_t i = 0; (t = lh_tool_at(i)) != NULL && n < 16; i++)
        if (has(t))
            v[n++] = t;
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s", i == 0 ? "" : i + 1 == n ? " and " : ", ");
        esc(f, v[i]->name);
    }
}

static int has_own_signal(const lh_tool *t)
{
    return t->own_signal;
}

/* Its `finish` turns what it collected into allocation sites. */
static int finds_sites(const lh_tool *t)
{
    return t->finish != NULL;
}

/* The run's tool when the run was decided on that tool's own signal. */
static const lh_tool *own_signal_tool(const lh_run_result *r)
{
    const lh_tool *t = lh_tool_of(r);
    if (t && t->own_signal && r->signal && strcmp(r->signal, t->name) == 0)
        return t;
    return NULL;
}

/* ---- what a run's chart shows ------------------------------------------ */

/* 1: plot the live heap; 0: plot RSS. */
static int plots_heap(const lh_run_result *r)
{
    if (r->signal && strcmp(r->signal, "heap") == 0)
        return 1;
    if (r->signal && strcmp(r->signal, "rss") == 0)
        return 0;
    for (size_t i = 0; i < r->series.n; i++)
        if (r->series.v[i].heap > 0)
            return 1;
    return 0;
}

static double yval(const lh_sample *s, int heap)
{
    return heap ? s->heap : s->rss;
}

/* 1 when the run's slope was fitted on what its chart plots. */
static int fit_matches(const lh_run_result *r)
{
    return r->signal &&
           (strcmp(r->signal, "heap") == 0 || strcmp(r->signal, "rss") == 0) &&
           isfinite(r->slope);
}

/* Index of the first sample after the warm-up (a live segment's: after
 * its switch and settle period too), as the run's decision cut it: its
 * warmup_work, or slope.h's default share for a run without one. */
static size_t warmup_cut(const lh_run_result *r)
{
    const lh_series *s = &r->series;
    if (s->n == 0)
        return 0;
    double start = s->v[0].work;
    double cut = r->warmup_work > 0 && isfinite(r->warmup_work)
                     ? start + r->warmup_work
                     : start + LH_DECIDE_DEFAULT_WARMUP *
                                   (s->v[s->n - 1].work - start);
    size_t i = 0;
    while (i < s->n && s->v[i].work < cut)
        i++;
    return i < s->n ? i : s->n - 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Theil-Sen's intercept for a given slope: the median of y - slope * x
 * over samples [from, n).  0, or LH_ENOMEM / LH_EINVAL (no samples). */
static int median_intercept(const lh_series *s, size_t from, int heap,
                            double slope, double *out)
{
    size_t n = s->n - from;
    if (s->n <= from)
        return LH_EINVAL;
    double *d = lh_malloc(n * sizeof *d);
    if (d == NULL)
        return LH_ENOMEM;
    for (size_t i = 0; i < n; i++)
        d[i] = yval(&s->v[from + i], heap) - slope * s->v[from + i].work;
    qsort(d, n, sizeof *d, cmp_double);
    *out = n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
    lh_free(d);
    return 0;
}

/* A run's polyline: samples [from, n), y shifted down by `base`. */
static void polyline(FILE *f, const chart *c, const lh_series *s, size_t from,
                     int heap, double base, const char *colour, int idx)
{
    size_t n = s->n - from;
    size_t step = n > MAX_POINTS ? (n + MAX_POINTS - 1) / MAX_POINTS : 1;
    fprintf(f, "<polyline class=\"series\" data-run=\"%d\" fill=\"none\" "
               "stroke=\"%s\" stroke-width=\"1.6\" points=\"",
            idx, colour);
    for (size_t i = from; i < s->n; i += step) {
        double y = yval(&s->v[i], heap) - base;
        if (isfinite(y) && isfinite(s->v[i].work))
            fprintf(f, "%.1f,%.1f ", px(c, s->v[i].work), py(c, y));
    }
    if ((n - 1) % step != 0) {
        const lh_sample *last = &s->v[s->n - 1];
        fprintf(f, "%.1f,%.1f", px(c, last->work),
                py(c, yval(last, heap) - base));
    }
    fprintf(f, "\"/>\n");
}

static const char *colour(size_t i)
{
    static const char *c[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                              "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
    return c[i % (sizeof c / sizeof c[0])];
}

static const char *verdict_class(lh_run_verdict v)
{
    switch (v) {
    case LH_RUN_LEAK:
        return "leak";
    case LH_RUN_CLEAN:
        return "clean";
    case LH_RUN_ERROR:
        return "error";
    default:
        return "inconclusive";
    }
}

/* ---- charts -------------------------------------------------------------- */

/* The fitted line of a run's chart: slope through the median intercept,
 * from the warm-up cut (x0) to the end (x1). */
typedef struct fit_line {
    int shown;
    double b, x0, x1;
} fit_line;

/* The data range of a run's chart: its samples and its fitted line. */
static void run_range(const lh_run_result *r, int heap, const fit_line *fit,
                      chart *c)
{
    const lh_series *s = &r->series;
    for (size_t i = 0; i < s->n; i++) {
        double x = s->v[i].work, y = yval(&s->v[i], heap);
        if (!isfinite(x) || !isfinite(y))
            continue;
        c->x0 = fmin(c->x0, x);
        c->x1 = fmax(c->x1, x);
        c->y0 = fmin(c->y0, y);
        c->y1 = fmax(c->y1, y);
    }
    if (fit->shown) {
        double ya = r->slope * fit->x0 + fit->b, yb = r->slope * fit->x1 + fit->b;
        c->y0 = fmin(c->y0, fmin(ya, yb));
        c->y1 = fmax(c->y1, fmax(ya, yb));
    }
}

/* The fitted line, from the warm-up cut to the end, when the run's slope
 * was fitted on what the chart plots. */
static fit_line run_fit(const lh_run_result *r, int heap, size_t cut)
{
    const lh_series *s = &r->series;
    fit_line fit = {0, 0, 0, 0};
    if (s->n >= 2 && fit_matches(r) &&
        median_intercept(s, cut, heap, r->slope, &fit.b) == 0) {
        fit.shown = 1;
        fit.x0 = s->v[cut].work;
        fit.x1 = s->v[s->n - 1].work;
    }
    return fit;
}

/* The chart itself: axes, warm-up shaded, the series, the fitted line. */
static void run_svg(FILE *f, const lh_report *rep, const lh_run_result *r,
                    size_t idx, chart *c, const fit_line *fit, size_t cut)
{
    const lh_series *s = &r->series;
    int heap = plots_heap(r);
    const char *sig = heap ? "live heap" : "RSS";
    min_span(c);
    double xstep = nice_range(&c->x0, &c->x1, 5);
    double ystep = nice_range(&c->y0, &c->y1, 5);
    fprintf(f, "<svg class=\"run-chart\" xmlns=\"http://www.w3.org/2000/"
               "svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f "
               "%.0f\" role=\"img\" aria-label=\"%s against work, run "
               "%zu\">\n",
            c->w, c->h, c->w, c->h, sig, idx + 1);
    axes(f, c, xstep, ystep, units_word(rep), sig);
    if (cut > 0) {
        double wx = px(c, s->v[cut].work) - px(c, c->x0);
        fprintf(f, "<rect class=\"warmup\" x=\"%.1f\" y=\"%.1f\" "
                   "width=\"%.1f\" height=\"%.1f\"/><text class=\"note\" "
                   "x=\"%.1f\" y=\"%.1f\">warm-up</text>\n",
                c->left, c->top, wx, c->h - c->top - c->bottom, c->left + 4,
                c->top + 12);
    }
    polyline(f, c, s, 0, heap, 0, colour(idx), (int)idx + 1);
    if (fit->shown)
        fprintf(f, "<line class=\"fit\" x1=\"%.1f\" y1=\"%.1f\" "
                   "x2=\"%.1f\" y2=\"%.1f\"/>\n",
                px(c, fit->x0), py(c, r->slope * fit->x0 + fit->b),
                px(c, fit->x1), py(c, r->slope * fit->x1 + fit->b));
    fprintf(f, "</svg>\n");
}

/* A run measured through a service's metrics: its scrapes, and where
 * the fit started again after a restart. */
static void scrapes_caption(FILE *f, const lh_run_result *r)
{
    fprintf(f, "; %lu scrapes (%lu failed), %.1f ms each on average",
            r->scrapes, r->scrape_failures, r->fetch_mean_s * 1e3);
    for (size_t i = 0; i < r->nrestarts && i < LH_RUN_MAX_RESTARTS; i++)
        fprintf(f, "; the service restarted at %.1f s (work %.0f): the fit "
                   "starts again there", r->restarts[i].seconds,
                r->restarts[i].work);
    if (r->scrape_error[0]) {
        fprintf(f, "; the first failed scrape: ");
        esc(f, r->scrape_error);
    }
}

/* Under the chart: verdict, tool, stages, slope, reason, what is plotted
 * (and closes the figure). */
static void run_caption(FILE *f, const lh_report *rep, const lh_run_result *r,
                        size_t idx, const fit_line *fit)
{
    const char *sig = plots_heap(r) ? "live heap" : "RSS";
    fprintf(f, "<figcaption><span class=\"v %s\">%s</span> <b>#%zu ",
            verdict_class(r->verdict), lh_run_verdict_name(r->verdict),
            idx + 1);
    esc(f, r->tool ? r->tool : "?");
    fprintf(f, "</b> on <b>");
    esc(f, r->enabled[0] ? r->enabled : "(none)");
    if (r->verdict == LH_RUN_ERROR) {
        fprintf(f, "</b>: failed (see <a href=\"#errors\">run errors</a>)"
                   "</figcaption></figure>\n");
        return;
    }
    fprintf(f, "</b>: ");
    slope_ci(f, r->slope, r->ci_low, r->ci_high,
             rep->unit ? rep->unit : "unit");
    fprintf(f, ", ");
    esc(f, r->reason);
    const lh_tool *own = own_signal_tool(r);
    if (own) {
        fprintf(f, "; decided on ");
        esc(f, own->name);
        fprintf(f, "'s ");
        esc(f, own->points ? own->points : "own signal");
        fprintf(f, " (not plotted); chart: sampled %s", sig);
    } else
        fprintf(f, "; signal: %s%s", r->scraped ? "the memory metric" : sig,
                fit->shown ? "; dashed: the fitted slope" : "");
    if (r->scraped)
        scrapes_caption(f, r);
    fprintf(f, "</figcaption></figure>\n");
}

/* Memory against work for one run. */
static void run_chart(FILE *f, const lh_report *rep, const lh_run_result *r,
                      size_t idx)
{
    const lh_series *s = &r->series;
    int heap = plots_heap(r);
    chart c = {.w = 560, .h = 300, .left = 62, .right = 16, .top = 14,
               .bottom = 44, .x0 = INFINITY, .x1 = -INFINITY,
               .y0 = INFINITY, .y1 = -INFINITY};
    size_t cut = warmup_cut(r);
    fit_line fit = run_fit(r, heap, cut);
    run_range(r, heap, &fit, &c);
    fprintf(f, "<figure class=\"chart\" id=\"run-%zu\">\n", idx + 1);
    if (s->n < 2 || !(c.x1 > c.x0))
        fprintf(f, "<svg class=\"run-chart\" xmlns=\"http://www.w3.org/2000/"
                   "svg\" width=\"%.0f\" height=\"%.0f\"><rect x=\"0\" y=\"0\" "
                   "width=\"%.0f\" height=\"%.0f\" fill=\"#fcfcfc\" "
                   "stroke=\"#888\"/><text x=\"%.0f\" y=\"%.0f\" "
                   "text-anchor=\"middle\">no samples with work to plot</text>"
                   "</svg>\n",
                c.w, c.h, c.w, c.h, c.w / 2, c.h / 2);
    else
        run_svg(f, rep, r, idx, &c, &fit, cut);
    run_caption(f, rep, r, idx, &fit);
}

/* Runs the overlay shows: those whose chart plots what was fitted (a run
 * decided on its tool's own signal is not: memcheck's leak searches, and
 * valgrind inflates RSS). */
static int in_overlay(const lh_run_result *r)
{
    return r->series.n >= 2 && fit_matches(r);
}

/* Extends the overlay's range by run r's growth after its cut. */
static void overlay_range(const lh_run_result *r, chart *c)
{
    int heap = plots_heap(r);
    size_t cut = warmup_cut(r);
    const lh_sample *v = r->series.v;
    for (size_t i = cut; i < r->series.n; i++) {
        double x = v[i].work - v[cut].work;
        double y = yval(&v[i], heap) - yval(&v[cut], heap);
        if (!isfinite(x) || !isfinite(y))
            continue;
        c->x1 = fmax(c->x1, x);
        c->y0 = fmin(c->y0, y);
        c->y1 = fmax(c->y1, y);
    }
}

/* The overlay's legend: a swatch, tool, stages, signal and slope a run;
 * and which runs are not shown. */
static void overlay_legend(FILE *f, const lh_report *rep, size_t shown)
{
    fprintf(f, "</svg>\n<ul class=\"legend\">\n");
    for (size_t k = 0; k < rep->nruns; k++) {
        const lh_run_result *r = &rep->runs[k];
        if (!in_overlay(r))
            continue;
        fprintf(f, "<li><span class=\"swatch\" style=\"background:%s\">"
                   "</span><a href=\"#run-%zu\">#%zu</a> ",
                colour(k), k + 1, k + 1);
        esc(f, r->tool ? r->tool : "?");
        fprintf(f, " on <b>");
        stages(f, r->enabled);
        fprintf(f, "</b> (%s): ", plots_heap(r) ? "live heap" : "RSS");
        num(f, r->slope, 1, 1);
        fprintf(f, " B/%s</li>\n", rep->unit ? rep->unit : "unit");
    }
    fprintf(f, "</ul>");
    if (shown < rep->nruns) {
        fprintf(f, "<figcaption>Not shown: runs decided on another signal "
                   "(");
        tool_names(f, has_own_signal);
        fprintf(f, ") or with too few samples; see each run "
                   "below.</figcaption>");
    }
    fprintf(f, "</figure>\n");
}

/* Every run's growth after its warm-up, on one chart: x and y both start
 * at the warm-up cut, so leaking runs rise and clean runs stay at 0. */
static void overlay_chart(FILE *f, const lh_report *rep)
{
    chart c = {.w = 1100, .h = 340, .left = 62, .right = 16, .top = 14,
               .bottom = 44, .x0 = 0, .x1 = -INFINITY, .y0 = 0, .y1 = 0};
    size_t shown = 0;
    for (size_t k = 0; k < rep->nruns; k++) {
        if (!in_overlay(&rep->runs[k]))
            continue;
        overlay_range(&rep->runs[k], &c);
        shown++;
    }
    if (shown < 2 || !(c.x1 > 0))
        return;
    min_span(&c);
    double xstep = nice_range(&c.x0, &c.x1, 8);
    double ystep = nice_range(&c.y0, &c.y1, 5);
    char xtitle[64];
    snprintf(xtitle, sizeof xtitle, "%s after warm-up", units_word(rep));
    fprintf(f, "<h3>All runs: growth after warm-up</h3>\n<figure "
               "class=\"wide\"><svg id=\"overlay\" xmlns=\"http://www.w3.org/"
               "2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f "
               "%.0f\" role=\"img\" aria-label=\"memory growth of every "
               "run\">\n",
            c.w, c.h, c.w, c.h);
    axes(f, &c, xstep, ystep, xtitle, "growth");
    for (size_t k = 0; k < rep->nruns; k++) {
        const lh_run_result *r = &rep->runs[k];
        if (!in_overlay(r))
            continue;
        int heap = plots_heap(r);
        size_t cut = warmup_cut(r);
        double x0 = r->series.v[cut].work;
        chart ck = c; /* shifted so this run starts at its cut */
        ck.x0 = c.x0 + x0;
        ck.x1 = c.x1 + x0;
        polyline(f, &ck, &r->series, cut, heap,
                 yval(&r->series.v[cut], heap), colour(k), (int)k + 1);
    }
    overlay_legend(f, rep, shown);
}

/* ---- the live run -------------------------------------------------------- */

/* 1 when run r is a segment of the live run the chart shows. */
static int in_live_chart(const lh_report *rep, const lh_run_result *r)
{
    return rep->live_run > 0 && r->live == rep->live_run;
}

/* A segment's band: shaded from its switch to its end, darker over its
 * switch and settle period and warm-up, labelled with its
 * configuration. */
static void live_band(FILE *f, const chart *c, const lh_run_result *r,
                      size_t idx, int odd)
{
    double x0 = px(c, r->work_from), x1 = px(c, r->work_from + r->work);
    double xs = px(c, r->work_from + fmin(r->warmup_work, r->work));
    double top = c->top, h = c->h - c->top - c->bottom;
    if (!isfinite(x0) || !isfinite(x1))
        return;
    fprintf(f, "<a href=\"#run-%zu\"><rect class=\"seg%s\" x=\"%.1f\" "
               "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
            idx + 1, odd ? " odd" : "", x0, top, fmax(x1 - x0, 1), h);
    if (isfinite(xs) && xs > x0)
        fprintf(f, "<rect class=\"settle\" x=\"%.1f\" y=\"%.1f\" "
                   "width=\"%.1f\" height=\"%.1f\"/>",
                x0, top, xs - x0, h);
    fprintf(f, "<text class=\"seglabel\" transform=\"translate(%.1f %.1f) "
               "rotate(90)\">#%zu ",
            x0 + 3, top + 4, idx + 1);
    esc(f, r->enabled[0] ? r->enabled : "(none)");
    fprintf(f, " %s</text></a>\n", lh_run_verdict_name(r->verdict));
}

/* The whole live run on one chart: memory against the run's work, each
 * segment a band with its configuration (docs/protocol.md section 5). */
static void live_chart(FILE *f, const lh_report *rep)
{
    const lh_series *s = rep->live_series;
    const lh_run_result *first = NULL;
    for (size_t k = 0; k < rep->nruns && first == NULL; k++)
        if (in_live_chart(rep, &rep->runs[k]))
            first = &rep->runs[k];
    if (s == NULL || s->n < 2 || first == NULL)
        return;
    int heap = plots_heap(first);
    chart c = {.w = 1100, .h = 360, .left = 62, .right = 16, .top = 14,
               .bottom = 44, .x0 = INFINITY, .x1 = -INFINITY,
               .y0 = INFINITY, .y1 = -INFINITY};
    for (size_t i = 0; i < s->n; i++) {
        double y = yval(&s->v[i], heap);
        if (!isfinite(y) || !isfinite(s->v[i].work))
            continue;
        c.x0 = fmin(c.x0, s->v[i].work);
        c.x1 = fmax(c.x1, s->v[i].work);
        c.y0 = fmin(c.y0, y);
        c.y1 = fmax(c.y1, y);
    }
    if (!(c.x1 > c.x0))
        return;
    min_span(&c);
    double xstep = nice_range(&c.x0, &c.x1, 8);
    double ystep = nice_range(&c.y0, &c.y1, 5);
    fprintf(f, "<h3>The live run: every configuration a segment</h3>\n"
               "<figure class=\"wide\"><svg id=\"live\" xmlns=\"http://"
               "www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"%s "
               "of the live run against its work\">\n",
            c.w, c.h, c.w, c.h, heap ? "live heap" : "RSS");
    axes(f, &c, xstep, ystep, units_word(rep), heap ? "live heap" : "RSS");
    int odd = 0;
    for (size_t k = 0; k < rep->nruns; k++)
        if (in_live_chart(rep, &rep->runs[k]))
            live_band(f, &c, &rep->runs[k], k, odd++ % 2);
    polyline(f, &c, s, 0, heap, 0, colour(0), 0);
    fprintf(f, "</svg><figcaption>One target, started once, its stages "
               "switched under it: each band is a configuration's segment "
               "(darker: its switch, settle period and warm-up, left out of "
               "the fit), labelled with its run number, stages and "
               "verdict.</figcaption></figure>\n");
}

/* The breakdown's chart: x from the lowest to the highest figure (0 and
 * the floor included), a 30 px row a share, room on the left for the
 * longest name (a group of stages measured together:
 * "forward+hash+enqueue").  *step: the x ticks' step. */
static chart breakdown_layout(const lh_report *r, double floor_, double *step)
{
    double lo = 0, hi = isfinite(floor_) ? floor_ : 0;
    for (size_t i = 0; i < r->nshares; i++) {
        const lh_stage_share *s = &r->shares[i];
        double v[3] = {s->bytes_per_unit, s->ci_low, s->ci_high};
        for (int k = 0; k < 3; k++)
            if (isfinite(v[k])) {
                lo = fmin(lo, v[k]);
                hi = fmax(hi, v[k]);
            }
    }
    *step = nice_range(&lo, &hi, 6);
    size_t longest = 0;
    for (size_t i = 0; i < r->nshares; i++)
        if (strlen(r->shares[i].stage) > longest)
            longest = strlen(r->shares[i].stage);
    double left = 16 + 7.5 * (double)longest;
    left = left < 110 ? 110 : left > 330 ? 330 : left;
    chart c = {.w = 710 + left, .left = left, .right = 180, .top = 10,
               .bottom = 40, .x0 = lo, .x1 = hi, .y0 = 0, .y1 = 1};
    c.h = c.top + c.bottom + BREAKDOWN_ROW * (double)r->nshares;
    return c;
}

/* The x axis: grid lines, tick labels, title. */
static void breakdown_axis(FILE *f, const chart *c, double step,
                           const char *unit)
{
    double bottom = c->h - c->bottom;
    int nx = tick_count(c->x0, c->x1, step);
    for (int i = 0; i < nx; i++) {
        double x = c->x0 + i * step;
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                   "y2=\"%.1f\"/><text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
                   "text-anchor=\"middle\">%.*f</text>\n",
                px(c, x), c->top, px(c, x), bottom, px(c, x), bottom + 15,
                decimals(step), x);
    }
    fprintf(f, "<text class=\"title\" x=\"%.1f\" y=\"%.1f\" "
               "text-anchor=\"middle\">bytes per %s</text>\n",
            (c->left + c->w - c->right) / 2, c->h - 6, unit);
}

/* Row i: the name, the bar from 0, the whisker, the figure. */
static void breakdown_row(FILE *f, const chart *c, const lh_stage_share *s,
                          size_t i, const char *unit)
{
    double zero = px(c, 0);
    double y = c->top + BREAKDOWN_ROW * (double)i + 5;
    double v = isfinite(s->bytes_per_unit) ? s->bytes_per_unit : 0;
    double xa = fmin(zero, px(c, v)), xb = fmax(zero, px(c, v));
    fprintf(f, "<text class=\"stage\" x=\"%.1f\" y=\"%.1f\" "
               "text-anchor=\"end\">",
            c->left - 8, y + 14);
    esc(f, s->stage);
    fprintf(f, "</text><rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" "
               "width=\"%.1f\" height=\"20\" fill=\"%s\"/>",
            xa, y, fmax(xb - xa, 1), s->leaks ? "#d62728" : "#9a9a9a");
    if (isfinite(s->ci_low) && isfinite(s->ci_high))
        fprintf(f, "<line class=\"whisker\" x1=\"%.1f\" y1=\"%.1f\" "
                   "x2=\"%.1f\" y2=\"%.1f\"/><line class=\"whisker\" "
                   "x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                   "<line class=\"whisker\" x1=\"%.1f\" y1=\"%.1f\" "
                   "x2=\"%.1f\" y2=\"%.1f\"/>",
                px(c, s->ci_low), y + 10, px(c, s->ci_high), y + 10,
                px(c, s->ci_low), y + 5, px(c, s->ci_low), y + 15,
                px(c, s->ci_high), y + 5, px(c, s->ci_high), y + 15);
    fprintf(f, "<text class=\"value\" x=\"%.1f\" y=\"%.1f\">",
            c->w - c->right + 8, y + 14);
    num(f, s->bytes_per_unit, 1, 1);
    fprintf(f, " B/%s%s</text>\n", unit, s->leaks ? " leak" : "");
}

/* The per-stage breakdown: bars with 95% whiskers, the floor dashed. */
static void breakdown_chart(FILE *f, const lh_report *r)
{
    if (r->nshares == 0)
        return;
    double floor_ = r->nruns ? r->runs[0].threshold : 0;
    double step;
    chart c = breakdown_layout(r, floor_, &step);
    const char *unit = r->unit ? r->unit : "unit";
    fprintf(f, "<h2>Per-stage breakdown</h2>\n<p class=\"note\">Bytes each "
               "stage adds per %s when it is switched on (95%% interval as a "
               "whisker, from both runs compared; dashed: the floor a leak "
               "must clear).  Stages joined by + were switched on together: "
               "they add nothing between them, so the search did not measure "
               "them apart.</p>\n",
            unit);
    fprintf(f, "<svg id=\"breakdown\" xmlns=\"http://www.w3.org/2000/svg\" "
               "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "role=\"img\" aria-label=\"per-stage breakdown\">\n",
            c.w, c.h, c.w, c.h);
    breakdown_axis(f, &c, step, unit);
    for (size_t i = 0; i < r->nshares; i++)
        breakdown_row(f, &c, &r->shares[i], i, unit);
    double zero = px(&c, 0), bottom = c.h - c.bottom;
    fprintf(f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
               "y2=\"%.1f\"/>\n",
            zero, c.top, zero, bottom);
    if (floor_ > 0 && isfinite(floor_))
        fprintf(f, "<line class=\"floor\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                   "y2=\"%.1f\"/>\n",
                px(&c, floor_), c.top, px(&c, floor_), bottom);
    fprintf(f, "</svg>\n");
}

/* ---- tables -------------------------------------------------------------- */

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits `s` around its last run of digits, [start, end).  0 if none. */
static int last_digits(const char *s, size_t *start, size_t *end)
{
    size_t e = strlen(s);
    while (e > 0 && !isdigit((unsigned char)s[e - 1]))
        e--;
    if (e == 0)
        return 0;
    size_t b = e;
    while (b > 0 && isdigit((unsigned char)s[b - 1]))
        b--;
    *start = b;
    *end = e;
    return 1;
}

/* 1 when a and b differ only in their last number: heap.7.0001.heap and
 * heap.7.0002.heap are one series of files. */
static int same_series(const char *a, const char *b)
{
    size_t as, ae, bs, be;
    if (!last_digits(a, &as, &ae) || !last_digits(b, &bs, &be))
        return 0;
    return as == bs && strncmp(a, b, as) == 0 && strcmp(a + ae, b + be) == 0;
}

/* One link to dir/name (href relative to the report when `rel` is), with
 * the file's size. */
static void file_link(FILE *f, const char *rel, const char *dir,
                      const char *name)
{
    char path[2048];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    double kb = stat(path, &st) == 0 ? (double)st.st_size / 1024 : 0;
    fprintf(f, "<a href=\"");
    url(f, rel);
    fputc('/', f);
    url(f, name);
    fprintf(f, "\">");
    esc(f, name);
    fprintf(f, "</a>&nbsp;<span class=\"size\">%.*f&nbsp;KB</span>",
            kb < 10 ? 1 : 0, kb);
}

/* Links to the files in a run's directory, sorted by name; a series of
 * more than SERIES_LINKS files (heap profiles) shows its first and last
 * file and how many there are.  `base` is the report's directory: runs
 * under it get relative links. */
static void raw_links(FILE *f, const char *base, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(f, "<span class=\"note\">(directory gone)</span>");
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = lh_realloc(names, ncap * sizeof *nn);
            if (nn == NULL)
                break;
            names = nn;
            cap = ncap;
        }
        names[n] = lh_malloc(strlen(e->d_name) + 1);
        if (names[n] == NULL)
            break;
        strcpy(names[n], e->d_name);
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_name);
    size_t blen = strlen(base);
    const char *rel = dir;
    if (blen > 0 && strncmp(dir, base, blen) == 0 && dir[blen] == '/')
        rel = dir + blen + 1;
    fprintf(f, "<a class=\"dir\" href=\"");
    url(f, rel);
    fprintf(f, "/\">folder</a><br>");
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && same_series(names[i], names[j]))
            j++;
        if (j - i > SERIES_LINKS) {
            file_link(f, rel, dir, names[i]);
            fprintf(f, "<br>&hellip; ");
            file_link(f, rel, dir, names[j - 1]);
            fprintf(f, " <span class=\"series-count\" data-count=\"%zu\">"
                       "(%zu files)</span>",
                    j - i, j - i);
        } else {
            for (size_t k = i; k < j; k++) {
                file_link(f, rel, dir, names[k]);
                if (k + 1 < j)
                    fprintf(f, "<br>");
            }
        }
        if (j < n)
            fprintf(f, "<br>");
        i = j;
    }
    for (size_t i = 0; i < n; i++)
        lh_free(names[i]);
    lh_free(names);
}

static void runs_table(FILE *f, const lh_report *r, const char *base)
{
    const char *unit = r->unit ? r->unit : "unit";
    fprintf(f, "<h2>Runs</h2>\n<table id=\"runs\"><tr><th>#</th><th "
               "class=\"l\">stages on</th><th class=\"l\">tool (signal)</th>"
               "<th>work</th><th>seconds</th>"
               "<th>rate (%s/s)</th><th>slope (B/%s)</th><th>95%% CI</th>"
               "<th class=\"l\">verdict</th><th class=\"l\">reason</th>"
               "<th class=\"l\">raw files</th></tr>\n",
            unit, unit);
    for (size_t i = 0; i < r->nruns; i++) {
        const lh_run_result *x = &r->runs[i];
        fprintf(f, "<tr><td><a href=\"#run-%zu\">%zu</a></td><td "
                   "class=\"l stages\">",
                i + 1, i + 1);
        stages(f, x->enabled);
        fprintf(f, "</td><td class=\"l\">");
        esc(f, x->tool);
        if (x->signal && x->signal[0]) {
            fprintf(f, "<br><span class=\"sub\">");
            esc(f, x->signal);
            fprintf(f, "</span>");
        }
        fprintf(f, "</td><td>");
        num(f, x->work, 0, 0);
        fprintf(f, "</td><td>");
        num(f, x->seconds, 1, 0);
        fprintf(f, "</td><td>");
        num(f, x->rate, 0, 0);
        fprintf(f, "</td><td>");
        num(f, x->slope, 2, 1);
        fprintf(f, "</td><td>");
        if (isfinite(x->ci_low) || isfinite(x->ci_high)) {
            num(f, x->ci_low, 2, 0);
            fprintf(f, "&ndash;");
            num(f, x->ci_high, 2, 0);
        } else {
            fprintf(f, "n/a");
        }
        fprintf(f, "</td><td class=\"l\"><span class=\"v %s\">%s</span></td>"
                   "<td class=\"l\">",
                verdict_class(x->verdict), lh_run_verdict_name(x->verdict));
        esc(f, x->reason);
        fprintf(f, "</td><td class=\"l files\">");
        if (x->dir[0])
            raw_links(f, base, x->dir);
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
}

static void sites_table(FILE *f, const lh_report *r)
{
    size_t total = 0;
    for (size_t i = 0; i < r->nruns; i++)
        total += r->runs[i].nsites;
    fprintf(f, "<h2>Allocation sites</h2>\n");
    if (total == 0) {
        fprintf(f, "<p class=\"note\">No run collected allocation sites (the "
                   "");
        tool_names(f, finds_sites);
        fprintf(f, " tools do).</p>\n");
        return;
    }
    const char *unit = r->unit ? r->unit : "unit";
    fprintf(f, "<table id=\"sites\"><tr><th>run</th><th class=\"l\">tool</th>"
               "<th class=\"l\">function</th><th class=\"l\">caller</th>"
               "<th class=\"l\">file:line</th><th class=\"l\">stage</th>"
               "<th class=\"l\">kind</th><th>bytes</th><th>B/%s</th></tr>\n",
            unit);
    for (size_t i = 0; i < r->nruns; i++)
        for (size_t k = 0; k < r->runs[i].nsites && k < MAX_SITES; k++) {
            const lh_site *s = &r->runs[i].sites[k];
            fprintf(f, "<tr><td><a href=\"#run-%zu\">%zu</a></td><td "
                       "class=\"l\">",
                    i + 1, i + 1);
            esc(f, r->runs[i].tool);
            fprintf(f, "</td><td class=\"l code\">");
            esc(f, s->function);
            fprintf(f, "</td><td class=\"l code\">");
            esc(f, s->caller);
            fprintf(f, "</td><td class=\"l code\">");
            if (s->file[0]) {
                esc(f, s->file);
                fprintf(f, ":%d", s->line);
            }
            fprintf(f, "</td><td class=\"l\">");
            esc(f, s->stage);
            fprintf(f, "</td><td class=\"l\">");
            esc(f, s->kind);
            fprintf(f, "</td><td>");
            num(f, s->bytes, 0, 0);
            fprintf(f, "</td><td>");
            num(f, s->bytes_per_unit, 2, 0);
            fprintf(f, "</td></tr>\n");
        }
    fprintf(f, "</table>\n");
}

/* The runs of tool t, for its findings section. */
static int run_of(const lh_run_result *x, const lh_tool *t)
{
    return x->tool && strcmp(x->tool, t->name) == 0;
}

/* The findings table of a tool that reports them (lh_tool.report_findings:
 * memcheck): what each of its runs lost for good and grew while
 * reachable. */
static void findings_table(FILE *f, const lh_report *r, const lh_tool *t)
{
    fprintf(f, "<table id=\"");
    esc(f, t->name);
    fprintf(f, "\"><tr><th>run</th><th class=\"l\">stages "
               "on</th><th>definitely lost (B)</th><th>reachable growth (B)"
               "</th></tr>\n");
    for (size_t i = 0; i < r->nruns; i++) {
        const lh_run_result *x = &r->runs[i];
        if (!run_of(x, t))
            continue;
        fprintf(f, "<tr><td><a href=\"#run-%zu\">%zu</a></td><td class=\"l\">",
                i + 1, i + 1);
        esc(f, x->enabled);
        fprintf(f, "</td><td>%.0f</td><td>%.0f</td></tr>\n",
                x->definitely_lost, x->reachable_growth);
    }
    fprintf(f, "</table>\n");
}

/* The errors that are not leaks, of each run of tool t. */
static void other_errors(FILE *f, const lh_report *r, const lh_tool *t)
{
    fprintf(f, "<h3>Other ");
    esc(f, t->name);
    fprintf(f, " errors</h3>\n<p class=\"note\">"
               "Errors that are not leaks (uninitialised values, invalid "
               "reads, ...).  They are worth fixing but do not change the "
               "leak verdict.</p>\n");
    size_t shown = 0;
    for (size_t i = 0; i < r->nruns; i++) {
        const lh_run_result *x = &r->runs[i];
        if (!run_of(x, t))
            continue;
        if (x->other_errors == 0 && x->first_error[0] == '\0')
            continue;
        if (shown++ == 0)
            fprintf(f, "<ul id=\"other-errors\">\n");
        fprintf(f, "<li>run %zu (", i + 1);
        esc(f, x->enabled);
        fprintf(f, "): %lu error%s; first: <span class=\"code\">",
                x->other_errors, x->other_errors == 1 ? "" : "s");
        esc(f, x->first_error[0] ? x->first_error : "(not recorded)");
        fprintf(f, "</span></li>\n");
    }
    if (shown)
        fprintf(f, "</ul>\n");
    else
        fprintf(f, "<p id=\"other-errors\">None.</p>\n");
}

/* The view of each tool that reports findings (memcheck), over its runs;
 * its other errors apart. */
static void findings_sections(FILE *f, const lh_report *r)
{
    const lh_tool *t;
    for (size_t k = 0; (t = lh_tool_at(k)) != NULL; k++) {
        size_t n = 0;
        for (size_t i = 0; i < r->nruns && t->report_findings; i++)
            n += run_of(&r->runs[i], t);
        if (n == 0)
            continue;
        fprintf(f, "<h2>");
        esc(f, t->name);
        fprintf(f, "</h2>\n");
        if (r->memcheck_kind) {
            fprintf(f, "<p>Leak kind: <b>");
            esc(f, r->memcheck_kind);
            fprintf(f, "</b>.</p>\n");
        }
        findings_table(f, r, t);
        other_errors(f, r, t);
    }
}

static void errors_section(FILE *f, const lh_report *r)
{
    size_t shown = 0;
    for (size_t i = 0; i < r->nruns; i++) {
        const lh_run_result *x = &r->runs[i];
        if (x->error[0] == '\0')
            continue;
        if (shown++ == 0)
            fprintf(f, "<h2 id=\"errors\">Run errors</h2>\n");
        fprintf(f, "<p>Run %zu (", i + 1);
        esc(f, x->enabled);
        fprintf(f, "):</p><pre>");
        esc(f, x->error);
        fprintf(f, "</pre>\n");
    }
}

/* ---- the page ------------------------------------------------------------ */

static const char STYLE[] =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:1.5em auto;"
    "max-width:1180px;padding:0 1em;color:#222}"
    "h1{font-size:1.5em;margin-bottom:.3em}h2{margin-top:1.6em;border-bottom:"
    "1px solid #ddd}h3{margin:1em 0 .3em}"
    ".verdict{font-size:1.15em;padding:.7em 1em;border-left:8px solid #999;"
    "background:#f6f6f6}"
    ".verdict.leak{border-color:#d62728;background:#fff3f3}"
    ".verdict.clean{border-color:#2ca02c;background:#f2fbf2}"
    ".verdict.inconclusive{border-color:#e6a700;background:#fff9e6}"
    ".verdict.error{border-color:#7f0000;background:#fbe9e9}"
    "ul.legend{list-style:none;padding:0;margin:.3em 0 0 62px;"
    "columns:2;font-size:.85em}ul.legend li{margin:.1em 0}"
    ".swatch{display:inline-block;width:16px;height:4px;margin:0 .5em 3px 0;"
    "vertical-align:middle}"
    ".summary{color:#444}.note{color:#666;font-size:.9em}"
    "figure{display:inline-block;vertical-align:top;margin:.4em;width:560px}"
    "figure.wide{width:auto}"
    "figcaption{font-size:.85em;color:#333;margin-top:.2em}"
    "svg text{font-family:'DejaVu Sans',Arial,sans-serif}"
    "svg .tick{font-size:11px;fill:#444}svg .title{font-size:12px;fill:#222}"
    "svg .note{font-size:11px;fill:#555}"
    "svg .stage{font-size:13px}svg .value{font-size:12px}"
    "svg .grid{stroke:#e4e4e4;stroke-width:1}"
    "svg .warmup{fill:#eeeeee}"
    "svg .seg{fill:#eef4fb}svg .seg.odd{fill:#f7f1e8}"
    "svg .settle{fill:#000;fill-opacity:.07}"
    "svg .seglabel{font-size:10px;fill:#555}"
    "svg .fit{stroke:#000;stroke-width:1.5;stroke-dasharray:6 4}"
    "svg .axis{stroke:#333;stroke-width:1}"
    "svg .floor{stroke:#d62728;stroke-width:1.2;stroke-dasharray:5 4}"
    "svg .whisker{stroke:#222;stroke-width:1.4}"
    "table{border-collapse:collapse;font-size:.9em;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right;"
    "vertical-align:top}th{background:#f0f0f0}td.l,th.l{text-align:left}"
    "td{white-space:nowrap}td.code,td.stages{white-space:normal}"
    "td.stages{min-width:9em}.sub{color:#777;font-size:.85em}"
    "figure.wide figcaption{margin-top:.6em}"
    "td.code{overflow-wrap:anywhere}"
    ".code{font-family:'DejaVu Sans Mono',monospace}"
    "td.files{font-size:.85em;white-space:nowrap}.size{color:#888}"
    ".v{font-weight:bold}.v.leak{color:#c00}.v.clean{color:#1a7f1a}"
    ".v.inconclusive{color:#a67800}.v.error{color:#7f0000}"
    "pre{background:#f6f6f6;padding:.5em;white-space:pre-wrap}"
    ".differs,td.differs{color:#c00;font-weight:bold}"
    "table.abi td{white-space:normal}";

/* The directory part of `path` ("" for a bare name). */
static void dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, path, n);
    out[n] = '\0';
}

/* The summary's sentence on the mode: live or restarts, and why. */
static void mode_sentence(FILE *f, const lh_report *r)
{
    if (r->mode && strcmp(r->mode, "live") == 0)
        fprintf(f, " Measured live: one target, its stages switched under "
                   "it, each configuration a segment.");
    else
        fprintf(f, " Each configuration in a target of its own.");
    if (r->mode_note && r->mode_note[0]) {
        fprintf(f, " (");
        esc(f, r->mode_note);
        fprintf(f, ")");
    }
}

/* The summary's sentence on the baseline (hunt: no stage on). */
static void baseline_sentence(FILE *f, const lh_report *r)
{
    if (!r->has_baseline)
        return;
    const char *v = r->baseline_verdict ? r->baseline_verdict : "error";
    if (strcmp(v, "error") == 0 || !isfinite(r->baseline_slope)) {
        fprintf(f, " With no stage on (the baseline): %s, no slope.",
                strcmp(v, "error") == 0 ? "not measured" : v);
        return;
    }
    fprintf(f, " With no stage on (the baseline): %s, %+.1f B/%s (95%% CI "
               "%.1f..%.1f)%s.",
            v, r->baseline_slope,
            r->baseline_unit ? r->baseline_unit
                             : r->unit ? r->unit : "unit",
            r->baseline_ci_low, r->baseline_ci_high,
            r->outside_stages ? ": growth outside the stages, charged to no "
                                "stage"
                              : "");
}

static void verdict_paragraph(FILE *f, const lh_report *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    fprintf(f, "<p class=\"verdict ");
    esc(f, r->verdict);
    fprintf(f, "\" id=\"verdict\">");
    if (m) {
        lh_report_verdict(r, m);
        fclose(m);
        esc(f, buf);
    } else {
        esc(f, r->verdict);
    }
    free(buf); /* open_memstream's buffer comes from the C library */
    fprintf(f, "</p>\n");
}

/* For the summary: how many errors that are not leaks the runs' tool
 * (memcheck) reported, with a link to their list; nothing when none. */
static void other_errors_note(FILE *f, const lh_report *r)
{
    unsigned long others = 0;
    const char *reporter = NULL; /* the tool that found them */
    for (size_t i = 0; i < r->nruns; i++) {
        others += r->runs[i].other_errors;
        if (r->runs[i].other_errors && reporter == NULL)
            reporter = r->runs[i].tool;
    }
    if (others == 0)
        return;
    fprintf(f, " ");
    esc(f, reporter ? reporter : "?");
    fprintf(f, " also reported %lu error%s that %s not leaks "
               "(<a href=\"#other-errors\">listed below</a>; they do not "
               "change the verdict).",
            others, others == 1 ? "" : "s", others == 1 ? "is" : "are");
}

int lh_report_write_html(const lh_report *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return LH_EIO;
    char base[1024];
    dir_of(path, base, sizeof base);

    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
               "charset=\"utf-8\"><title>leak-hunt ");
    esc(f, r->command);
    fprintf(f, ": ");
    esc(f, r->verdict);
    fprintf(f, "</title>\n<style>%s</style></head><body>\n", STYLE);
    fprintf(f, "<h1>leak-hunt ");
    esc(f, r->command);
    fprintf(f, "</h1>\n");
    verdict_paragraph(f, r);
    fprintf(f, "<p class=\"summary\">Target: <span class=\"code\">");
    esc(f, r->target ? r->target : "?");
    fprintf(f, "</span>. %zu run%s in %.1f s", r->nruns,
            r->nruns == 1 ? "" : "s", r->elapsed_seconds);
    if (r->strategy) {
        fprintf(f, ", strategy ");
        esc(f, r->strategy);
    }
    fprintf(f, ". Growth is in bytes per %s of work.",
            r->unit ? r->unit : "unit");
    mode_sentence(f, r);
    baseline_sentence(f, r);
    other_errors_note(f, r);
    fprintf(f, "</p>\n");
    /* The verdict paragraph of an error already is the error. */
    if (r->error[0] && strcmp(r->verdict, "error") != 0) {
        fprintf(f, "<pre class=\"error\">");
        esc(f, r->error);
        fprintf(f, "</pre>\n");
    }

    breakdown_chart(f, r);
    if (r->nruns > 0) {
        fprintf(f, "<h2>Memory against work</h2>\n");
        live_chart(f, r);
        overlay_chart(f, r);
        fprintf(f, "<h3>Each run</h3>\n<p class=\"note\">Grey: the warm-up, "
                   "left out of the fit.  Dashed: the fitted slope over the "
                   "rest.</p>\n<div class=\"charts\">\n");
        for (size_t i = 0; i < r->nruns; i++)
            run_chart(f, r, &r->runs[i], i);
        fprintf(f, "</div>\n");
    }
    runs_table(f, r, base);
    sites_table(f, r);
    findings_sections(f, r);
    lh_report_abi_html(r, f);
    errors_section(f, r);
    fprintf(f, "<p class=\"note\">Written by leak-hunt.  Raw data of each run "
               "is in its directory: samples.csv (t, work, heap, rss, queue), "
               "stats.log, target.log and the tool's files.</p>\n"
               "</body></html>\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return LH_EIO;
    return 0;
}
