/*
 * report.json and the verdict paragraph.
 *
 * report.json carries the fields of docs/protocol.md section 8 (verdict, culprit,
 * elapsed_seconds, runs with enabled / tool / work / seconds /
 * slope_bytes_per_unit / ci95 / verdict / sites) and a few more that the
 * HTML report and people use: the per-stage breakdown, each run's signal,
 * rate, reason, memcheck figures and raw-data directory, and "rusage":
 * leak-hunt's own CPU time and peak RSS against its targets' (harness,
 * target).  A live command (docs/protocol.md section 5) says "mode":
 * "live" (else "restart", with "mode_note" saying why when there is a
 * reason); each run then is a segment with its "work_range" in the live
 * run's work and the number of its live run ("live_run"), and a run of
 * its own among them (memcheck's) is "separate"; "verdict_seconds" is
 * when a hunt knew its culprits and sites.  Numbers that are not finite
 * are written as null (json.c).
 *
 * The verdict paragraph is one line: the culprit stage(s), the slope with
 * its interval, the top allocation site (the heap tool's when it has one)
 * and memcheck's leak kind; the same text heads report.html.
 */
#include "report.h"

#include "error.h"
#include "json.h"
#include "tool.h"

#include <math.h>
#include <string.h>

/* "key": [low, high] */
static void kv_interval(lh_json *j, const char *key, double low, double high)
{
    lh_json_key(j, key);
    lh_json_begin_array(j);
    lh_json_number(j, low);
    lh_json_number(j, high);
    lh_json_end_array(j);
}

/* "metrics": a run measured through a service's metrics (docs/protocol.md
 * section 9): its scrapes, and the restarts the fit started again at. */
static void write_scrapes(lh_json *j, const lh_run_result *r)
{
    lh_json_key(j, "metrics");
    lh_json_begin_object(j);
    lh_json_kv_int(j, "scrapes", (long long)r->scrapes);
    lh_json_kv_int(j, "failed", (long long)r->scrape_failures);
    if (r->scrape_error[0])
        lh_json_kv_string(j, "first_error", r->scrape_error);
    lh_json_kv_number(j, "fetch_mean_seconds", r->fetch_mean_s);
    lh_json_kv_number(j, "fetch_max_seconds", r->fetch_max_s);
    lh_json_kv_int(j, "restart_count", (long long)r->nrestarts);
    lh_json_key(j, "restarts");
    lh_json_begin_array(j);
    for (size_t i = 0; i < r->nrestarts && i < LH_RUN_MAX_RESTARTS; i++) {
        const lh_run_restart *x = &r->restarts[i];
        lh_json_begin_object(j);
        lh_json_kv_number(j, "seconds", x->seconds);
        lh_json_kv_number(j, "work", x->work);
        lh_json_kv_number(j, "counter_before", x->counter_before);
        lh_json_kv_number(j, "counter_after", x->counter_after);
        lh_json_key(j, "by_start_time");
        lh_json_bool(j, x->by_start_time);
        lh_json_end_object(j);
    }
    lh_json_end_array(j);
    lh_json_end_object(j);
}

static void write_run(lh_json *j, const lh_run_result *r)
{
    lh_json_begin_object(j);
    lh_json_key(j, "enabled");
    lh_json_begin_array(j);
    char buf[sizeof r->enabled];
    snprintf(buf, sizeof buf, "%s", r->enabled);
    char *save = NULL;
    for (char *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save))
        lh_json_string(j, s);
    lh_json_end_array(j);
    lh_json_kv_string(j, "tool", r->tool);
    lh_json_kv_number(j, "work", r->work);
    kv_interval(j, "work_range", r->work_from, r->work_from + r->work);
    if (r->live)
        lh_json_kv_int(j, "live_run", r->live);
    if (r->separate) {
        lh_json_key(j, "separate");
        lh_json_bool(j, 1);
    }
    lh_json_kv_number(j, "seconds", r->seconds);
    lh_json_kv_number(j, "rate", r->rate);
    lh_json_kv_string(j, "signal", r->signal ? r->signal : "");
    lh_json_kv_number(j, "slope_bytes_per_unit", r->slope);
    kv_interval(j, "ci95", r->ci_low, r->ci_high);
    lh_json_kv_number(j, "threshold", r->threshold);
    lh_json_kv_string(j, "verdict", lh_run_verdict_name(r->verdict));
    lh_json_kv_string(j, "reason", r->reason);
    lh_json_key(j, "stopped_early");
    lh_json_bool(j, r->early);
    if (r->error[0])
        lh_json_kv_string(j, "error", r->error);
    if (r->skipped[0])
        lh_json_kv_string(j, "skipped", r->skipped);
    if (r->scraped)
        write_scrapes(j, r);
    lh_json_key(j, "sites");
    lh_json_begin_array(j);
    for (size_t i = 0; i < r->nsites; i++) {
        const lh_site *s = &r->sites[i];
        lh_json_begin_object(j);
        lh_json_kv_string(j, "function", s->function);
        lh_json_kv_string(j, "caller", s->caller);
        lh_json_kv_string(j, "caller_file", s->caller_file);
        lh_json_kv_int(j, "caller_line", s->caller_line);
        lh_json_kv_string(j, "file", s->file);
        lh_json_kv_int(j, "line", s->line);
        lh_json_kv_string(j, "stage", s->stage);
        if (s->kind[0])
            lh_json_kv_string(j, "kind", s->kind);
        lh_json_kv_number(j, "bytes", s->bytes);
        lh_json_kv_number(j, "bytes_per_unit", s->bytes_per_unit);
        lh_json_end_object(j);
    }
    lh_json_end_array(j);
    const lh_tool *t = lh_tool_of(r);
    if (t && t->report_findings) {
        lh_json_key(j, t->name);
        lh_json_begin_object(j);
        lh_json_kv_number(j, "definitely_lost_bytes", r->definitely_lost);
        lh_json_kv_number(j, "reachable_growth_bytes", r->reachable_growth);
        lh_json_kv_int(j, "other_errors", (long long)r->other_errors);
        lh_json_kv_string(j, "first_error", r->first_error);
        lh_json_end_object(j);
    }
    lh_json_kv_string(j, "dir", r->dir);
    lh_json_end_object(j);
}

/* "outside_stages" and "baseline": the configuration with no stage on. */
static void write_baseline(lh_json *j, const lh_report *r)
{
    lh_json_key(j, "outside_stages");
    lh_json_bool(j, r->outside_stages);
    lh_json_key(j, "baseline");
    lh_json_begin_object(j);
    lh_json_kv_string(j, "verdict",
                      r->baseline_verdict ? r->baseline_verdict : "error");
    lh_json_kv_number(j, "slope", r->baseline_slope);
    kv_interval(j, "ci95", r->baseline_ci_low, r->baseline_ci_high);
    lh_json_kv_string(j, "unit", r->baseline_unit ? r->baseline_unit
                                 : r->unit        ? r->unit
                                                  : "unit");
    lh_json_end_object(j);
}

/* "bad_stats_lines": {count, first} over all runs (first: null when
 * every line was valid). */
static void write_bad_lines(lh_json *j, const lh_report *r)
{
    unsigned long count = 0;
    const char *first = NULL;
    for (size_t i = 0; i < r->nruns; i++) {
        count += r->runs[i].bad_stats_lines;
        if (first == NULL && r->runs[i].first_bad_stats_line[0])
            first = r->runs[i].first_bad_stats_line;
    }
    lh_json_key(j, "bad_stats_lines");
    lh_json_begin_object(j);
    lh_json_kv_int(j, "count", (long long)count);
    lh_json_key(j, "first");
    if (first)
        lh_json_string(j, first);
    else
        lh_json_null(j);
    lh_json_end_object(j);
}

int lh_report_write_json(const lh_report *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return LH_EIO;
    lh_json j;
    lh_json_init(&j, f, 1);
    lh_json_begin_object(&j);
    lh_json_kv_string(&j, "command", r->command);
    lh_json_kv_string(&j, "verdict", r->verdict);
    lh_json_key(&j, "culprit");
    lh_json_begin_array(&j);
    for (int i = 0; i < r->nculprit; i++)
        lh_json_string(&j, r->culprit[i]);
    lh_json_end_array(&j);
    if (r->has_baseline)
        write_baseline(&j, r);
    if (r->strategy)
        lh_json_kv_string(&j, "strategy", r->strategy);
    lh_json_kv_string(&j, "mode", r->mode ? r->mode : "restart");
    if (r->mode_note && r->mode_note[0])
        lh_json_kv_string(&j, "mode_note", r->mode_note);
    lh_json_kv_number(&j, "elapsed_seconds", r->elapsed_seconds);
    if (r->verdict_seconds > 0)
        lh_json_kv_number(&j, "verdict_seconds", r->verdict_seconds);
    lh_json_kv_string(&j, "target", r->target ? r->target : "");
    lh_json_kv_string(&j, "unit", r->unit ? r->unit : "unit");
    if (r->memcheck_kind)
        lh_json_kv_string(&j, "memcheck_kind", r->memcheck_kind);
    if (r->error[0])
        lh_json_kv_string(&j, "error", r->error);
    write_bad_lines(&j, r);
    lh_report_abi_json(r, &j);
    lh_json_kv_int(&j, "run_count", (long long)r->nruns);
    if (r->has_rusage) { /* under "rusage": "target" is taken above */
        lh_json_key(&j, "rusage");
        lh_json_begin_object(&j);
        lh_json_key(&j, "harness");
        lh_json_begin_object(&j);
        lh_json_kv_number(&j, "cpu_seconds", r->harness_cpu_seconds);
        lh_json_kv_int(&j, "max_rss_kb", r->harness_max_rss_kb);
        lh_json_end_object(&j);
        lh_json_key(&j, "target");
        lh_json_begin_object(&j);
        lh_json_kv_number(&j, "cpu_seconds", r->target_cpu_seconds);
        lh_json_kv_int(&j, "max_rss_kb", r->target_max_rss_kb);
        lh_json_end_object(&j);
        lh_json_end_object(&j);
    }
    if (r->nshares) {
        lh_json_key(&j, "breakdown");
        lh_json_begin_array(&j);
        for (size_t i = 0; i < r->nshares; i++) {
            lh_json_begin_object(&j);
            lh_json_kv_string(&j, "stage", r->shares[i].stage);
            lh_json_key(&j, "stages");
            lh_json_begin_array(&j);
            char buf[sizeof r->shares[i].stages];
            snprintf(buf, sizeof buf, "%s", r->shares[i].stages[0]
                                                ? r->shares[i].stages
                                                : r->shares[i].stage);
            char *save = NULL;
            for (char *s = strtok_r(buf, ",", &save); s;
                 s = strtok_r(NULL, ",", &save))
                lh_json_string(&j, s);
            lh_json_end_array(&j);
            lh_json_kv_number(&j, "bytes_per_unit", r->shares[i].bytes_per_unit);
            kv_interval(&j, "ci95", r->shares[i].ci_low,
                        r->shares[i].ci_high);
            lh_json_key(&j, "leaks");
            lh_json_bool(&j, r->shares[i].leaks);
            lh_json_end_object(&j);
        }
        lh_json_end_array(&j);
    }
    lh_json_key(&j, "runs");
    lh_json_begin_array(&j);
    for (size_t i = 0; i < r->nruns; i++)
        write_run(&j, &r->runs[i]);
    lh_json_end_array(&j);
    lh_json_end_object(&j);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return LH_EIO;
    return 0;
}

/* The site with the most bytes per unit in runs of `tool` (any tool when
 * NULL), attributed to `stage` (or, unless strict, to none) when `stage`
 * is given. */
static const lh_site *best_site(const lh_report *r, const char *tool,
                                const char *stage, int strict)
{
    const lh_site *best = NULL;
    int best_rank = 0;
    for (size_t i = 0; i < r->nruns; i++) {
        const lh_run_result *x = &r->runs[i];
        if (tool && (x->tool == NULL || strcmp(x->tool, tool) != 0))
            continue;
        for (size_t k = 0; k < x->nsites; k++) {
            const lh_site *s = &x->sites[k];
            if (stage && (s->stage[0] || strict) &&
                strcmp(s->stage, stage) != 0)
                continue;
            /* a site that only grows, at or over the floor, before one
             * whose blocks come and go (measure.c's order) */
            int rank = !s->in_flight && s->bytes_per_unit >= x->threshold;
            if (best == NULL || rank > best_rank ||
                (rank == best_rank &&
                 s->bytes_per_unit > best->bytes_per_unit)) {
                best = s;
                best_rank = rank;
            }
        }
    }
    return best;
}

/* The site to name for a culprit: the sites tool's (lh_tool_for), else
 * any tool's; one charged to the stage before one charged to no stage (the
 * B nodes' inbound buffers, growing while a node falls behind, outgrew the
 * enqueue leak's own site once). */
static const lh_site *top_site(const lh_report *r, const char *stage)
{
    const char *tools[2] = {lh_tool_for(LH_TOOL_FOR_SITES)->name, NULL};
    for (int strict = stage != NULL; strict >= 0; strict--)
        for (int t = 0; t < 2; t++) {
            const lh_site *s = best_site(r, tools[t], stage, strict);
            if (s)
                return s;
        }
    return NULL;
}

/* "; top site F <- CALLER (file:line)": the allocating function, its
 * caller and the line of the call; nothing for NULL. */
static void print_site(FILE *f, const lh_site *site)
{
    if (site == NULL)
        return;
    fprintf(f, "; top site %s", site->function);
    if (site->caller[0])
        fprintf(f, " <- %s", site->caller);
    if (site->caller_file[0] && site->caller_line > 0)
        fprintf(f, " (%s:%d)", site->caller_file, site->caller_line);
    else if (site->file[0])
        fprintf(f, " (%s:%d)", site->file, site->line);
}

/* The top site of the runs with no stage on: the heap tool's first (a
 * short heap run may end with one profile, and no site: memcheck's kind
 * run has them too), one that only grows, at or over the floor, first;
 * NULL when none had sites. */
static const lh_site *baseline_site(const lh_report *r)
{
    const lh_site *best = NULL;
    int best_rank = -1;
    for (size_t i = 0; i < r->nruns; i++) {
        const lh_run_result *x = &r->runs[i];
        if (x->enabled[0])
            continue;
        int heap = x->tool && strcmp(x->tool, "heap") == 0;
        for (size_t k = 0; k < x->nsites; k++) {
            const lh_site *s = &x->sites[k];
            int rank = 2 * heap + (!s->in_flight &&
                                   s->bytes_per_unit >= x->threshold);
            if (rank > best_rank ||
                (rank == best_rank &&
                 s->bytes_per_unit > best->bytes_per_unit)) {
                best = s;
                best_rank = rank;
            }
        }
    }
    return best;
}

/* "<lead>: +X B/unit (95% CI a-b) with no stage on; top site ...;
 * memcheck: ..." for a leak outside the stages. */
static void outside_verdict(const lh_report *r, FILE *f, const char *lead)
{
    const char *unit = r->baseline_unit ? r->baseline_unit
                       : r->unit        ? r->unit
                                        : "unit";
    fprintf(f, "%s: %+.1f B/%s (95%% CI %.1f-%.1f) with no stage on", lead,
            r->baseline_slope, unit, r->baseline_ci_low, r->baseline_ci_high);
    print_site(f, baseline_site(r));
    if (r->memcheck_kind)
        fprintf(f, "; memcheck: %s", r->memcheck_kind);
}

/* The verdict's last clause: restarts of a service measured through its
 * metrics (docs/protocol.md section 9), and how many runs. */
static void runs_clause(const lh_report *r, FILE *f)
{
    size_t restarts = 0;
    for (size_t i = 0; i < r->nruns; i++)
        restarts += r->runs[i].nrestarts;
    if (restarts)
        fprintf(f, "; the service restarted %zu time%s (growth across a "
                   "restart not counted: fitted after it)",
                restarts, restarts == 1 ? "" : "s");
    fprintf(f, "; %zu run%s\n", r->nruns, r->nruns == 1 ? "" : "s");
}

void lh_report_verdict(const lh_report *r, FILE *f)
{
    const char *unit = r->unit ? r->unit : "unit";
    if (strcmp(unit, "second") == 0)
        unit = "s"; /* B/s */
    if (strcmp(r->verdict, "error") == 0) {
        fprintf(f, "error: %s\n", r->error);
        return;
    }
    /* The run the verdict rests on: the last leaking run with the sites
     * tool (heap), else the last leaking run, else the last run; a
     * culprit's is one with a stage on (the baseline's comes after it, as
     * its own). */
    const char *sites = lh_tool_for(LH_TOOL_FOR_SITES)->name;
    const lh_run_result *best = NULL;
    for (size_t i = 0; i < r->nruns; i++) {
        const lh_run_result *x = &r->runs[i];
        if (r->nculprit > 0 && r->has_baseline && x->enabled[0] == '\0')
            continue;
        if (x->verdict == LH_RUN_LEAK &&
            (best == NULL || strcmp(x->tool, sites) == 0 ||
             strcmp(best->tool, sites) != 0))
            best = x;
    }
    if (strcmp(r->verdict, "leak") != 0) {
        const lh_run_result *last = r->nruns ? &r->runs[r->nruns - 1] : NULL;
        fprintf(f, "%s", r->verdict);
        char on[600] = "";
        if (last && r->mode && strcmp(r->mode, "watch") == 0)
            snprintf(on, sizeof on, " of the service as it runs");
        else if (last)
            snprintf(on, sizeof on, " with %.512s on",
                     last->enabled[0] ? last->enabled : "nothing");
        if (last && isfinite(last->slope) && isfinite(last->ci_low) &&
            isfinite(last->ci_high))
            fprintf(f, ": %+.1f B/%s (95%% CI %.1f-%.1f, %s)%s", last->slope,
                    unit, last->ci_low, last->ci_high, last->reason, on);
        else if (last)
            fprintf(f, ": no slope (%s)%s", last->reason, on);
        if (r->error[0]) /* why there is no culprit (hunt) */
            fprintf(f, "; %s", r->error);
        runs_clause(r, f);
        return;
    }
    if (r->nculprit == 0 && r->outside_stages) {
        outside_verdict(r, f, "leak outside the stages");
        lh_report_abi_verdict(r, f);
        runs_clause(r, f);
        return;
    }
    if (r->nculprit > 0) {
        fprintf(f, "leak in stage%s ", r->nculprit > 1 ? "s" : "");
        for (int i = 0; i < r->nculprit; i++)
            fprintf(f, "%s%s", i ? " and " : "", r->culprit[i]);
    } else {
        fprintf(f, "leak");
    }
    if (r->nshares > 1 && r->nculprit > 1) {
        fprintf(f, ":");
        int n = 0;
        for (size_t i = 0; i < r->nshares; i++)
            if (r->shares[i].leaks)
                fprintf(f, "%s %s %+.1f B/%s (95%% CI %.1f-%.1f)",
                        n++ ? "," : "", r->shares[i].stage,
                        r->shares[i].bytes_per_unit, unit,
                        r->shares[i].ci_low, r->shares[i].ci_high);
    } else if (best) {
        fprintf(f, ": %+.1f B/%s (95%% CI %.1f-%.1f)", best->slope, unit,
                best->ci_low, best->ci_high);
    }
    /* One top site per culprit (or one overall): the function, its caller
     * and where the caller makes the call. */
    int nsites = r->nculprit > 1 ? r->nculprit : 1;
    for (int k = 0; k < nsites; k++) {
        const lh_site *site =
            top_site(r, r->nculprit >= 1 ? r->culprit[k] : NULL);
        print_site(f, site);
    }
    if (r->outside_stages)
        outside_verdict(r, f, "; and outside the stages");
    else if (r->memcheck_kind)
        fprintf(f, "; memcheck: %s", r->memcheck_kind);
    lh_report_abi_verdict(r, f);
    runs_clause(r, f);
}
