/*
 * report.html: one self-contained page (no script, no external files):
 * the verdict, the per-stage breakdown as a bar chart, one line chart of
 * memory against work for every configuration run (inline SVG), the runs
 * table with links to each run's raw data, and the allocation sites.
 */
#include "report.h"

#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
        default:
            fputc(*s, f);
        }
    }
}

static const char *colour(size_t i)
{
    static const char *c[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                              "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
    return c[i % (sizeof c / sizeof c[0])];
}

/* Memory (heap when reported, else RSS) against work, one chart per run. */
static void run_chart(FILE *f, const lh_run_result *r, size_t idx)
{
    const double W = 420, H = 220, L = 70, B = 30, T = 10, R = 10;
    const lh_series *s = &r->series;
    int heap = r->signal && strcmp(r->signal, "rss") != 0;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t i = 0; i < s->n; i++) {
        double x = s->v[i].work, y = heap ? s->v[i].heap : s->v[i].rss;
        if (heap && s->v[i].heap == 0 && s->v[i].rss > 0)
            y = s->v[i].rss;
        x0 = fmin(x0, x);
        x1 = fmax(x1, x);
        y0 = fmin(y0, y);
        y1 = fmax(y1, y);
    }
    fprintf(f, "<figure class=\"chart\" id=\"chart-%zu\"><svg xmlns=\"http://"
               "www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "role=\"img\">", idx, W, H);
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
               "fill=\"#fafafa\" stroke=\"#999\"/>", L, T, W - L - R,
            H - T - B);
    if (s->n >= 2 && x1 > x0) {
        if (y1 <= y0)
            y1 = y0 + 1;
        fprintf(f, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" "
                   "stroke-width=\"1.5\" points=\"", colour(idx));
        size_t step = s->n > 800 ? s->n / 800 : 1;
        for (size_t i = 0; i < s->n; i += step) {
            double x = s->v[i].work, y = heap ? s->v[i].heap : s->v[i].rss;
            double px = L + (x - x0) / (x1 - x0) * (W - L - R);
            double py = H - B - (y - y0) / (y1 - y0) * (H - T - B);
            fprintf(f, "%.1f,%.1f ", px, py);
        }
        fprintf(f, "\"/>");
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">%.0f</text>",
                L, H - 12, x0);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" "
                   "text-anchor=\"end\">%.0f units</text>", W - R, H - 12, x1);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" "
                   "text-anchor=\"end\">%.1f MB</text>", L - 4, T + 10,
                y1 / 1e6);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" "
                   "text-anchor=\"end\">%.1f MB</text>", L - 4, H - B,
                y0 / 1e6);
    } else {
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">no samples</text>", L + 10,
                H / 2);
    }
    fprintf(f, "</svg><figcaption>#%zu %s on: <b>", idx + 1, r->tool);
    esc(f, r->enabled[0] ? r->enabled : "(none)");
    fprintf(f, "</b> &mdash; %s, %+.2f B/unit (%s)</figcaption></figure>\n",
            lh_run_verdict_name(r->verdict), r->slope, heap ? "heap" : "rss");
}

static void breakdown_chart(FILE *f, const lh_report *r)
{
    if (r->nshares == 0)
        return;
    double max = 1;
    for (size_t i = 0; i < r->nshares; i++)
        max = fmax(max, fabs(r->shares[i].ci_high));
    const double W = 520, row = 26, L = 90;
    fprintf(f, "<h2>Per-stage breakdown</h2><svg id=\"breakdown\" "
               "xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
               "height=\"%.0f\">", W, row * (double)r->nshares + 10);
    for (size_t i = 0; i < r->nshares; i++) {
        const lh_stage_share *s = &r->shares[i];
        double y = 5 + row * (double)i;
        double w = fmax(0, s->bytes_per_unit) / max * (W - L - 120);
        fprintf(f, "<text x=\"0\" y=\"%.0f\" font-size=\"13\">", y + 16);
        esc(f, s->stage);
        fprintf(f, "</text><rect class=\"bar\" x=\"%.0f\" y=\"%.0f\" "
                   "width=\"%.1f\" height=\"18\" fill=\"%s\"/>", L, y, w,
                s->leaks ? "#d62728" : "#7f7f7f");
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"12\">%+.1f "
                   "B/unit</text>", L + w + 6, y + 14, s->bytes_per_unit);
    }
    fprintf(f, "</svg>\n");
}

int lh_report_write_html(const lh_report *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return LH_EIO;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<title>leak-hunt report</title><style>"
               "body{font-family:sans-serif;margin:2em;max-width:1200px}"
               ".verdict{font-size:1.2em;padding:.6em;border-left:6px solid "
               "#d62728;background:#fff4f4}.clean{border-color:#2ca02c;"
               "background:#f4fff4}figure{display:inline-block;margin:.5em}"
               "table{border-collapse:collapse}td,th{border:1px solid #ccc;"
               "padding:.2em .5em;text-align:right}td.l,th.l{text-align:left}"
               "</style></head><body>\n");
    fprintf(f, "<h1>leak-hunt %s</h1>\n", r->command);
    fprintf(f, "<p class=\"verdict %s\" id=\"verdict\">", strcmp(r->verdict,
                                                             "leak") == 0
                                                          ? ""
                                                          : "clean");
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m) {
        lh_report_verdict(r, m);
        fclose(m);
        esc(f, buf);
        free(buf);
    }
    fprintf(f, "</p>\n<p>Target: ");
    esc(f, r->target);
    fprintf(f, "; %zu runs in %.1f s.</p>\n", r->nruns, r->elapsed_seconds);
    breakdown_chart(f, r);
    fprintf(f, "<h2>Memory against work</h2>\n");
    for (size_t i = 0; i < r->nruns; i++)
        run_chart(f, &r->runs[i], i);
    fprintf(f, "<h2>Runs</h2><table><tr><th>#</th><th class=\"l\">stages "
               "on</th><th>tool</th><th>work</th><th>s</th><th>B/unit</th>"
               "<th>95%% CI</th><th class=\"l\">verdict</th><th class=\"l\">"
               "raw data</th></tr>\n");
    for (size_t i = 0; i < r->nruns; i++) {
        const lh_run_result *x = &r->runs[i];
        fprintf(f, "<tr><td>%zu</td><td class=\"l\">", i + 1);
        esc(f, x->enabled);
        fprintf(f, "</td><td>%s</td><td>%.0f</td><td>%.1f</td><td>%+.2f</td>"
                   "<td>%.2f .. %.2f</td><td class=\"l\">%s (%s)</td><td "
                   "class=\"l\">", x->tool, x->work, x->seconds, x->slope,
                x->ci_low, x->ci_high, lh_run_verdict_name(x->verdict),
                x->reason);
        const char *rel = strstr(x->dir, "/runs/");
        if (rel) {
            fprintf(f, "<a href=\"");
            esc(f, rel + 1);
            fprintf(f, "/\">files</a> <a href=\"");
            esc(f, rel + 1);
            fprintf(f, "/samples.csv\">samples</a> <a href=\"");
            esc(f, rel + 1);
            fprintf(f, "/target.log\">log</a>");
        }
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n<h2>Allocation sites</h2><table><tr><th>run</th>"
               "<th class=\"l\">function</th><th class=\"l\">caller</th>"
               "<th class=\"l\">file:line</th><th class=\"l\">stage</th>"
               "<th class=\"l\">kind</th><th>B/unit</th></tr>\n");
    for (size_t i = 0; i < r->nruns; i++)
        for (size_t k = 0; k < r->runs[i].nsites && k < 10; k++) {
            const lh_site *s = &r->runs[i].sites[k];
            fprintf(f, "<tr><td>%zu</td><td class=\"l\">", i + 1);
            esc(f, s->function);
            fprintf(f, "</td><td class=\"l\">");
            esc(f, s->caller);
            fprintf(f, "</td><td class=\"l\">");
            esc(f, s->file);
            fprintf(f, ":%d</td><td class=\"l\">", s->line);
            esc(f, s->stage);
            fprintf(f, "</td><td class=\"l\">");
            esc(f, s->kind);
            fprintf(f, "</td><td>%.2f</td></tr>\n", s->bytes_per_unit);
        }
    fprintf(f, "</table></body></html>\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return LH_EIO;
    return 0;
}
