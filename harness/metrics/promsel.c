/*
 * Design: a selector is parsed by the exposition parser itself
 * (lh_prom_parse_series), so its names, quoting and escapes are exactly
 * those of a sample line.  Matching is PromQL's equality matcher: every
 * label of the selector, with "" meaning absent.  Lookups scan the
 * samples: a scrape of a few thousand series costs microseconds, ten
 * times a second.
 *
 * The stage lists of leakhunt_stages follow the stats lines' rules
 * (docs/protocol.md section 1) and are checked and compared by
 * core/stats.c's lh_stats_stages_valid and lh_stats_stages_same.
 */
#include "promsel.h"

#include "alloc.h"
#include "error.h"
#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define LIST_SHOWN 4 /* series named in an "several match" message */

struct lh_prom_selector {
    char *text;
    lh_prom_scrape *series; /* one sample: the name and labels */
    int sum;                /* sum(...): every series it matches, added */
};

/* "sum(" ... ")" around a selector (spaces around it allowed): the inner
 * text's start and length in *inner and *len, and 1; else 0. */
static int sum_of(const char *text, const char **inner, size_t *len)
{
    const char *p = text + strspn(text, " \t");
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n < 5 || strncmp(p, "sum(", 4) != 0 || p[n - 1] != ')')
        return 0;
    *inner = p + 4;
    *len = n - 5;
    return 1;
}

int lh_prom_selector_parse(const char *text, lh_prom_selector **out, char *why,
                           size_t whylen)
{
    char reason[256] = "";
    lh_prom_selector *sel = lh_calloc(1, sizeof *sel);
    if (sel == NULL)
        return LH_ENOMEM;
    sel->text = lh_strdup(text);
    if (sel->text == NULL) {
        lh_free(sel);
        return LH_ENOMEM;
    }
    const char *inner = text;
    size_t len = strlen(text);
    sel->sum = sum_of(text, &inner, &len);
    int rc = lh_prom_parse_series(inner, len, &sel->series, reason,
                                  sizeof reason);
    if (rc < 0) {
        if (rc == LH_EPARSE)
            lh_set_why(why, whylen,
                       "bad metric selector '%.200s': %s "
                       "(name, name{label=\"value\",...}, or sum(...) "
                       "of either)",
                       text, reason);
        lh_prom_selector_free(sel);
        return rc;
    }
    *out = sel;
    return 0;
}

void lh_prom_selector_free(lh_prom_selector *sel)
{
    if (sel == NULL)
        return;
    lh_prom_free(sel->series);
    lh_free(sel->text);
    lh_free(sel);
}

const char *lh_prom_selector_name(const lh_prom_selector *sel)
{
    return sel->series->samples[0].name;
}

const char *lh_prom_selector_text(const lh_prom_selector *sel)
{
    return sel->text;
}

int lh_prom_selector_matches(const lh_prom_selector *sel,
                             const lh_prom_sample *x)
{
    const lh_prom_sample *want = &sel->series->samples[0];
    if (strcmp(want->name, x->name) != 0)
        return 0;
    for (size_t i = 0; i < want->nlabels; i++) {
        const char *v = lh_prom_label_value(x, want->labels[i].name);
        if (strcmp(v ? v : "", want->labels[i].value) != 0)
            return 0;
    }
    return 1;
}

/* Appends ", series" (or the first one alone) to buf, while it fits. */
static void add_series(char *buf, size_t cap, const lh_prom_sample *x,
                       int first)
{
    size_t n = strlen(buf);
    if (n + 8 >= cap)
        return;
    if (!first) {
        memcpy(buf + n, ", ", 3);
        n += 2;
    }
    lh_prom_format_series(x, buf + n, cap - n);
}

/* The series of `name` (at most LIST_SHOWN, then how many more) into
 * buf; how many there are. */
static size_t list_series(const lh_prom_scrape *s, const lh_prom_selector *sel,
                          int matching, char *buf, size_t cap)
{
    size_t count = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < s->nsamples; i++) {
        const lh_prom_sample *x = &s->samples[i];
        if (strcmp(x->name, lh_prom_selector_name(sel)) != 0 ||
            (matching && !lh_prom_selector_matches(sel, x)))
            continue;
        if (count < LIST_SHOWN)
            add_series(buf, cap, x, count == 0);
        count++;
    }
    size_t n = strlen(buf);
    if (count > LIST_SHOWN && n < cap)
        snprintf(buf + n, cap - n, " and %zu more", count - LIST_SHOWN);
    return count;
}

/* Why nothing matched: no such metric (and a near name if there is
 * one), or no series of it with those labels. */
static int none_found(const lh_prom_scrape *s, const lh_prom_selector *sel,
                      char *why, size_t whylen)
{
    char have[512];
    const char *name = lh_prom_selector_name(sel);
    if (list_series(s, sel, 0, have, sizeof have) > 0) {
        lh_set_why(why, whylen,
                   "no series of %.200s matches '%.200s' (it "
                   "has %s)",
                   name, lh_prom_selector_text(sel), have);
        return LH_ENOTFOUND;
    }
    size_t n = strlen(name);
    char near[300] = "";
    for (size_t i = 0; i < s->nsamples && near[0] == '\0'; i++) {
        const char *x = s->samples[i].name;
        size_t k = strlen(x);
        if ((k == n + 6 && strncmp(x, name, n) == 0 &&
             strcmp(x + n, "_total") == 0) ||
            (n == k + 6 && strncmp(name, x, k) == 0 &&
             strcmp(name + k, "_total") == 0))
            snprintf(near, sizeof near, " (there is %.200s)", x);
    }
    lh_set_why(why, whylen, "metric %.200s not found in the scrape%s", name,
               near);
    return LH_ENOTFOUND;
}

static int ends_with_total(const char *name)
{
    size_t n = strlen(name);
    return n > 6 && strcmp(name + n - 6, "_total") == 0;
}

/* What a series is, for messages: "a gauge", "the _sum of a histogram",
 * "untyped". */
static const char *kind_of(const lh_prom_value *v, char *buf, size_t cap)
{
    static const char *const parts[] = {"", "_total", "_bucket", "_sum",
                                        "_count"};
    if (v->type == LH_PROM_UNTYPED)
        return "untyped";
    if (v->part == LH_PROM_BUCKET || v->part == LH_PROM_SUM ||
        v->part == LH_PROM_COUNT)
        snprintf(buf, cap, "the %s of a %s", parts[v->part],
                 lh_prom_type_name(v->type));
    else if (v->type == LH_PROM_SUMMARY)
        snprintf(buf, cap, "a summary quantile");
    else
        snprintf(buf, cap, "a %s", lh_prom_type_name(v->type));
    return buf;
}

/* Whether a series can be the role's: 0, or LH_EINVAL with why. */
static int check_role(const lh_prom_value *v, lh_prom_role role, char *why,
                      size_t whylen)
{
    char series[256], kind[64];
    const char *what = role == LH_PROM_WORK ? "work" : "memory";
    if (role == LH_PROM_ANY)
        return 0;
    lh_prom_format_series(v->sample, series, sizeof series);
    int ok;
    if (role == LH_PROM_WORK)
        ok = v->type == LH_PROM_COUNTER ||
             ((v->type == LH_PROM_HISTOGRAM || v->type == LH_PROM_SUMMARY) &&
              v->part == LH_PROM_COUNT) ||
             (v->type == LH_PROM_UNTYPED && ends_with_total(v->sample->name));
    else
        ok = (v->type == LH_PROM_GAUGE || v->type == LH_PROM_UNTYPED) &&
             v->part == LH_PROM_PLAIN;
    if (!ok) {
        lh_set_why(why, whylen, "%s metric %s is %s%s, not a %s", what, series,
                   kind_of(v, kind, sizeof kind),
                   v->type == LH_PROM_UNTYPED ? ", without a _total name" : "",
                   role == LH_PROM_WORK ? "counter" : "gauge");
        return LH_EINVAL;
    }
    if (!isfinite(v->value) || v->value < 0) {
        lh_set_why(why, whylen,
                   "%s metric %s is %g (a %s needs a finite "
                   "value >= 0)",
                   what, series, v->value,
                   role == LH_PROM_WORK ? "work counter" : "memory gauge");
        return LH_EINVAL;
    }
    return 0;
}

/* Sample x of s as a selection's value. */
static lh_prom_value value_of(const lh_prom_scrape *s, const lh_prom_sample *x)
{
    lh_prom_value v = {
        .value = x->value,
        .type = lh_prom_sample_type(s, x),
        .part = x->part,
        .sample = x,
    };
    return v;
}

/* sum(...): every series the selector matches (at least one), each
 * checked for the role, added; the first stands for them in *out. */
static int select_sum(const lh_prom_scrape *s, const lh_prom_selector *sel,
                      lh_prom_role role, lh_prom_value *out, char *why,
                      size_t whylen)
{
    lh_prom_value total = {0};
    for (size_t i = 0; i < s->nsamples; i++) {
        const lh_prom_sample *x = &s->samples[i];
        if (!lh_prom_selector_matches(sel, x))
            continue;
        lh_prom_value v = value_of(s, x);
        int rc = check_role(&v, role, why, whylen);
        if (rc < 0)
            return rc;
        if (total.sample == NULL)
            total = v;
        else
            total.value += v.value;
    }
    *out = total;
    return 0;
}

int lh_prom_select(const lh_prom_scrape *s, const lh_prom_selector *sel,
                   lh_prom_role role, lh_prom_value *out, char *why,
                   size_t whylen)
{
    const lh_prom_sample *found = NULL;
    size_t count = 0;
    for (size_t i = 0; i < s->nsamples; i++) {
        if (lh_prom_selector_matches(sel, &s->samples[i])) {
            found = found ? found : &s->samples[i];
            count++;
        }
    }
    if (count == 0)
        return none_found(s, sel, why, whylen);
    if (sel->sum)
        return select_sum(s, sel, role, out, why, whylen);
    if (count > 1) {
        char list[512];
        list_series(s, sel, 1, list, sizeof list);
        lh_set_why(why, whylen,
                   "%zu series match '%.200s': %s (give labels "
                   "that choose one)",
                   count, lh_prom_selector_text(sel), list);
        return LH_EINVAL;
    }
    lh_prom_value v = value_of(s, found);
    int rc = check_role(&v, role, why, whylen);
    if (rc == 0)
        *out = v;
    return rc;
}

/* ---- leakhunt_stages ---------------------------------------------------- */

/* The list of one leakhunt_stages series into buf (checked). */
static int series_list(const lh_prom_scrape *s, const lh_prom_sample *x,
                       char *buf, size_t cap, char *why, size_t whylen)
{
    char series[256];
    lh_prom_format_series(x, series, sizeof series);
    lh_prom_type t = lh_prom_sample_type(s, x);
    if (t != LH_PROM_GAUGE && t != LH_PROM_UNTYPED) {
        lh_set_why(why, whylen,
                   "%s is a %s (the stages info metric is a "
                   "gauge or untyped)",
                   series, lh_prom_type_name(t));
        return LH_EPARSE;
    }
    if (x->value != 0 && x->value != 1) {
        lh_set_why(why, whylen,
                   "%s is %g (1 for the list run now, 0 for an "
                   "old one)",
                   series, x->value);
        return LH_EPARSE;
    }
    const char *v = lh_prom_label_value(x, "stages");
    if (v == NULL) {
        lh_set_why(why, whylen, "%s has no stages label", series);
        return LH_EPARSE;
    }
    if (v[0] == '\0')
        v = "-";
    if (strlen(v) >= cap || !lh_stats_stages_valid(v, strlen(v))) {
        lh_set_why(why, whylen,
                   "%s: '%.200s' is not a stage list "
                   "(distinct names of [A-Za-z0-9_.-], at most %d "
                   "characters, separated by commas; - for none)",
                   series, v, LH_STATS_NAME_MAX - 1);
        return LH_EPARSE;
    }
    memcpy(buf, v, strlen(v) + 1);
    return 0;
}

int lh_prom_stages_read(const lh_prom_scrape *s, const lh_prom_selector *filter,
                        lh_prom_stages *out, char *why, size_t whylen)
{
    char list[LH_PROM_STAGES_MAX];
    lh_prom_stages r = {0};
    for (size_t i = 0; i < s->nsamples; i++) {
        const lh_prom_sample *x = &s->samples[i];
        if (filter ? !lh_prom_selector_matches(filter, x)
                   : strcmp(x->name, LH_PROM_STAGES_METRIC) != 0)
            continue;
        int rc = series_list(s, x, list, sizeof list, why, whylen);
        if (rc < 0)
            return rc;
        if (x->value == 0)
            continue;
        if (r.nseries++ == 0) {
            memcpy(r.list, list, sizeof list);
            r.state = LH_PROM_STAGES_AGREED;
        } else if (r.state == LH_PROM_STAGES_AGREED &&
                   !lh_stats_stages_same(r.list, list)) {
            memcpy(r.other, list, sizeof list);
            r.state = LH_PROM_STAGES_MIXED;
        }
    }
    *out = r;
    return 0;
}
