/*
 * Design: one pass over the lines, then one sort of the samples for
 * duplicate series.  Every string (names, unescaped label values, HELP
 * text) goes into one pool allocated up front at len + 1 bytes: each
 * stored string comes from a disjoint span of the input followed by a
 * delimiter it does not keep (a quote, a blank, '=', '{', the line feed),
 * so the pool cannot run out and its pointers never move.  Every name
 * seen (a family's, a sample's) is found through a small open-addressing
 * hash, with its family and its first sample's line, so the family of
 * each sample and the check that a TYPE line comes before the samples it
 * types cost O(1), not a scan: a 16 MiB scrape parses in linear time.  Labels
 * of all samples are one array, in sample order, so each sample's first label
 * is found at the end by a running sum, after the array has stopped moving.
 *
 * Values are checked against Go's decimal float grammar before strtod
 * converts them (strtod alone would take hexadecimal, "nan(...)" and
 * leading blanks; leak-hunt never calls setlocale, so '.' is the point).
 */
#include "promtext.h"

#include "alloc.h"
#include "error.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VALUE_MAX 255 /* longest value or timestamp token */
#define QUOTE_MAX 40  /* bytes of input quoted in a message */

/* A name seen: its family (SIZE_MAX if none has that name: a sample of
 * another family, jobs_total of the counter jobs) and the line of its
 * first sample (0: none). */
typedef struct name_entry {
    const char *name;
    size_t family;
    unsigned first_sample;
} name_entry;

typedef struct parser {
    const char *text, *end;
    unsigned line;
    int series_only; /* lh_prom_parse_series: no line numbers */
    char *why;
    size_t whylen;
    lh_prom_scrape *s;
    size_t fam_cap, smp_cap, lab_cap, nlabels;
    size_t pool_used, pool_cap;
    name_entry *names; /* every name seen: of families and of samples */
    size_t nnames, names_cap;
    size_t *hash; /* index into names + 1, 0 for empty */
    size_t hash_cap;
} parser;

/* ---- messages ----------------------------------------------------------- */

static int fail(parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(parser *ps, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ps->series_only)
        lh_set_why(ps->why, ps->whylen, "%s", msg);
    else
        lh_set_why(ps->why, ps->whylen, "line %u: %s", ps->line, msg);
    return LH_EPARSE;
}

/* Up to QUOTE_MAX bytes at p (stopping at end), printable, "..." when
 * cut: for messages. */
static const char *quote(const char *p, const char *end, char *buf, size_t cap)
{
    size_t n = 0;
    while (p < end && n + 4 < cap && n < QUOTE_MAX) {
        unsigned char c = (unsigned char)*p++;
        buf[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (p < end)
        memcpy(buf + n, "...", 3), n += 3;
    buf[n] = '\0';
    return buf;
}

/* ---- characters --------------------------------------------------------- */

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_alpha_(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && is_blank(*p))
        p++;
    return p;
}

/* Length of the valid UTF-8 sequence at p (< end), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned min, cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* ---- the pool and the families ------------------------------------------ */

/* Copies n bytes into the pool, NUL-terminated; NULL only if the pool's
 * bound (file comment) were wrong. */
static char *pool_add(parser *ps, const char *p, size_t n)
{
    if (ps->pool_cap - ps->pool_used < n + 1)
        return NULL;
    char *dst = ps->s->pool_ + ps->pool_used;
    memcpy(dst, p, n);
    dst[n] = '\0';
    ps->pool_used += n + 1;
    return dst;
}

/* Names are looked up as two pieces, a prefix p[n] and a suffix (a
 * family's name and "_total", say), so that no lookup copies a name. */
static uint64_t hash_name(const char *p, size_t n, const char *suffix)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    for (; *suffix; suffix++)
        h = (h ^ (unsigned char)*suffix) * 1099511628211ULL;
    return h;
}

/* The slot for the name p[n] + suffix: one holding its entry, or the
 * empty one where it would go. */
static size_t *hash_slot(parser *ps, const char *p, size_t n,
                         const char *suffix)
{
    size_t mask = ps->hash_cap - 1;
    size_t i = (size_t)hash_name(p, n, suffix) & mask;
    for (;;) {
        size_t *slot = &ps->hash[i];
        if (*slot == 0)
            return slot;
        const char *name = ps->names[*slot - 1].name;
        if (strncmp(name, p, n) == 0 && strcmp(name + n, suffix) == 0)
            return slot;
        i = (i + 1) & mask;
    }
}

static int hash_grow(parser *ps)
{
    size_t cap = ps->hash_cap ? ps->hash_cap * 2 : 64;
    size_t *old = ps->hash, old_cap = ps->hash_cap;
    ps->hash = lh_calloc(cap, sizeof *ps->hash);
    if (ps->hash == NULL) {
        ps->hash = old;
        return LH_ENOMEM;
    }
    ps->hash_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i] == 0)
            continue;
        const char *name = ps->names[old[i] - 1].name;
        *hash_slot(ps, name, strlen(name), "") = old[i];
    }
    lh_free(old);
    return 0;
}

/* The entry of the name p[n] + suffix, or NULL. */
static name_entry *name_find(parser *ps, const char *p, size_t n,
                             const char *suffix)
{
    if (ps->hash_cap == 0)
        return NULL;
    size_t v = *hash_slot(ps, p, n, suffix);
    return v ? &ps->names[v - 1] : NULL;
}

/* The entry of the name p[n], made if missing with the name `stored` when
 * that is p[n] already in the pool (a sample's name), else a copy.  NULL
 * on no memory (or no pool left, which the pool's bound rules out). */
static name_entry *name_get(parser *ps, const char *p, size_t n,
                            const char *stored)
{
    name_entry *e = name_find(ps, p, n, "");
    if (e != NULL)
        return e;
    if (((ps->nnames + 1) * 2 > ps->hash_cap && hash_grow(ps) < 0) ||
        lh_grow((void **)&ps->names, &ps->names_cap, ps->nnames + 1,
                sizeof *ps->names, 16) < 0)
        return NULL;
    const char *name = stored ? stored : pool_add(ps, p, n);
    if (name == NULL)
        return NULL;
    e = &ps->names[ps->nnames++];
    e->name = name;
    e->family = SIZE_MAX;
    e->first_sample = 0;
    *hash_slot(ps, p, n, "") = ps->nnames;
    return e;
}

/* The family named p[n] + suffix, or SIZE_MAX. */
static size_t family_find(parser *ps, const char *p, size_t n,
                          const char *suffix)
{
    name_entry *e = name_find(ps, p, n, suffix);
    return e ? e->family : SIZE_MAX;
}

/* The family named p[n], created untyped if missing (the name as in
 * name_get).  Its index, or LH_ENOMEM (negative, as a long). */
static long family_get(parser *ps, const char *p, size_t n, const char *stored)
{
    name_entry *e = name_get(ps, p, n, stored);
    if (e == NULL)
        return LH_ENOMEM;
    if (e->family != SIZE_MAX)
        return (long)e->family;
    lh_prom_scrape *s = ps->s;
    if (lh_grow((void **)&s->families, &ps->fam_cap, s->nfamilies + 1,
                sizeof *s->families, 16) < 0)
        return LH_ENOMEM;
    size_t f = s->nfamilies++;
    memset(&s->families[f], 0, sizeof s->families[f]);
    s->families[f].name = e->name;
    e->family = f;
    return (long)f;
}

/* ---- tokens ------------------------------------------------------------- */

/* The metric name at p: its length (0 when p does not start one). */
static size_t metric_name_len(const char *p, const char *end)
{
    const char *q = p;
    if (q < end && (is_alpha_(*q) || *q == ':'))
        q++;
    else
        return 0;
    while (q < end && (is_alpha_(*q) || is_digit(*q) || *q == ':'))
        q++;
    return (size_t)(q - p);
}

static size_t label_name_len(const char *p, const char *end)
{
    const char *q = p;
    if (q < end && is_alpha_(*q))
        q++;
    else
        return 0;
    while (q < end && (is_alpha_(*q) || is_digit(*q)))
        q++;
    return (size_t)(q - p);
}

/* The token at p: up to a blank or the end. */
static const char *token_end(const char *p, const char *end)
{
    while (p < end && !is_blank(*p))
        p++;
    return p;
}

/* A decimal float in Go's grammar: [+-] digits [. digits] [e [+-] digits]
 * with at least one digit before the exponent. */
static int decimal_ok(const char *p, const char *end)
{
    int digits = 0;
    if (p < end && (*p == '+' || *p == '-'))
        p++;
    while (p < end && is_digit(*p))
        p++, digits++;
    if (p < end && *p == '.') {
        p++;
        while (p < end && is_digit(*p))
            p++, digits++;
    }
    if (digits == 0)
        return 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || !is_digit(*p))
            return 0;
        while (p < end && is_digit(*p))
            p++;
    }
    return p == end;
}

static int word_is(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - p) == n && strncasecmp(p, word, n) == 0;
}

/* Parses the value token p..end.  0, or -1 (not a value), or -2 (out of
 * range). */
static int parse_float(const char *p, const char *end, double *out)
{
    const char *q = p;
    int neg = 0;
    if (q < end && (*q == '+' || *q == '-'))
        neg = *q++ == '-';
    if (word_is(q, end, "inf") || word_is(q, end, "infinity")) {
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    if (q == p && word_is(q, end, "nan")) {
        *out = NAN;
        return 0;
    }
    if ((size_t)(end - p) > VALUE_MAX || !decimal_ok(p, end))
        return -1;
    char buf[VALUE_MAX + 1];
    memcpy(buf, p, (size_t)(end - p));
    buf[end - p] = '\0';
    errno = 0;
    double v = strtod(buf, NULL);
    if (errno == ERANGE && isinf(v))
        return -2;
    *out = v;
    return 0;
}

/* Parses a timestamp token: [+-] digits, in int64 range.  0 or -1. */
static int parse_timestamp(const char *p, const char *end, int64_t *out)
{
    int neg = 0;
    if (p < end && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    if (p == end)
        return -1;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
    for (; p < end; p++) {
        if (!is_digit(*p))
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* ---- samples ------------------------------------------------------------ */

/* The quoted label value at *pp (just after the opening quote), unescaped
 * into the pool.  0 and *pp after the closing quote, or LH_EPARSE. */
static int label_value(parser *ps, const char **pp, const char *end,
                       const char *name, const char **out)
{
    const char *p = *pp;
    char *dst = ps->s->pool_ + ps->pool_used, *start = dst;
    if ((size_t)(end - p) + 1 > ps->pool_cap - ps->pool_used)
        return fail(ps, "out of string space"); /* (cannot happen) */
    while (p < end && *p != '"') {
        if (*p == '\\') {
            char e = p + 1 < end ? p[1] : '\0';
            if (e != '\\' && e != '"' && e != 'n')
                return fail(ps,
                            "label %s: invalid escape in its value "
                            "(only \\\\, \\\" and \\n)",
                            name);
            *dst++ = e == 'n' ? '\n' : e;
            p += 2;
            continue;
        }
        size_t n =
            utf8_len((const unsigned char *)p, (const unsigned char *)end);
        if (n == 0)
            return fail(ps, "label %s: value is not valid UTF-8", name);
        memcpy(dst, p, n);
        dst += n, p += n;
    }
    if (p == end)
        return fail(ps, "label %s: value without its closing quote", name);
    *dst++ = '\0';
    ps->pool_used += (size_t)(dst - start);
    *out = start;
    *pp = p + 1;
    return 0;
}

static int label_cmp(const void *a, const void *b)
{
    const lh_prom_label *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* One label (name="value") at *pp into the labels array.  0, or an
 * error. */
static int one_label(parser *ps, const char **pp, const char *end)
{
    char q[64];
    const char *p = *pp;
    size_t n = label_name_len(p, end);
    if (n == 0)
        return fail(ps, "expected a label name at '%s'",
                    quote(p, end, q, sizeof q));
    const char *name = pool_add(ps, p, n);
    if (name == NULL)
        return fail(ps, "out of string space");
    if (strcmp(name, "__name__") == 0)
        return fail(ps, "label name __name__ is reserved");
    p = skip_blanks(p + n, end);
    if (p == end || *p != '=')
        return fail(ps, "label %s: expected '=' after its name", name);
    p = skip_blanks(p + 1, end);
    if (p == end || *p != '"')
        return fail(ps, "label %s: expected a quoted value", name);
    p++;
    const char *value = NULL;
    int rc = label_value(ps, &p, end, name, &value);
    if (rc < 0)
        return rc;
    if (lh_grow((void **)&ps->s->labels_, &ps->lab_cap, ps->nlabels + 1,
                sizeof *ps->s->labels_, 64) < 0)
        return LH_ENOMEM;
    ps->s->labels_[ps->nlabels].name = name;
    ps->s->labels_[ps->nlabels].value = value;
    ps->nlabels++;
    *pp = p;
    return 0;
}

/* The label set at *pp (just after '{'), appended to the labels array
 * and sorted; x->nlabels set.  0, or an error. */
static int label_set(parser *ps, const char **pp, const char *end,
                     lh_prom_sample *x)
{
    const char *p = *pp;
    size_t first = ps->nlabels;
    for (;;) {
        p = skip_blanks(p, end);
        if (p < end && *p == '}')
            break;
        int rc = one_label(ps, &p, end);
        if (rc < 0)
            return rc;
        p = skip_blanks(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}')
            break;
        return fail(ps, "label %s: expected ',' or '}' after its value",
                    ps->s->labels_[ps->nlabels - 1].name);
    }
    x->nlabels = ps->nlabels - first;
    if (x->nlabels == 0) {
        *pp = p + 1;
        return 0;
    }
    lh_prom_label *l = ps->s->labels_ + first;
    qsort(l, x->nlabels, sizeof *l, label_cmp);
    for (size_t i = 1; i < x->nlabels; i++)
        if (strcmp(l[i - 1].name, l[i].name) == 0)
            return fail(ps, "label %s given twice", l[i].name);
    *pp = p + 1;
    return 0;
}

static int ends_with(const char *name, size_t n, const char *suffix,
                     size_t *base)
{
    size_t k = strlen(suffix);
    if (n <= k || memcmp(name + n - k, suffix, k) != 0)
        return 0;
    *base = n - k;
    return 1;
}

/* A typed family named name[0..n) of type t, or SIZE_MAX. */
static size_t typed_family(parser *ps, const char *name, size_t n,
                           lh_prom_type t1, lh_prom_type t2)
{
    size_t f = family_find(ps, name, n, "");
    if (f == SIZE_MAX)
        return SIZE_MAX;
    lh_prom_type t = ps->s->families[f].type;
    return t == t1 || t == t2 ? f : SIZE_MAX;
}

/* The family and part of a sample named `name` (header comment): a
 * typed family of that very name, else a suffix of a typed family, else
 * an untyped family of that name (created).  0, or an error. */
static int resolve_family(parser *ps, const char *name, lh_prom_sample *x)
{
    size_t n = strlen(name), base, f = family_find(ps, name, n, "");
    if (f != SIZE_MAX && ps->s->families[f].type != LH_PROM_UNTYPED) {
        x->family = f;
        x->part = LH_PROM_PLAIN;
        return 0;
    }
    static const struct {
        const char *suffix;
        lh_prom_part part;
        lh_prom_type t1, t2;
    } suffixes[] = {
        {"_total", LH_PROM_TOTAL, LH_PROM_COUNTER, LH_PROM_COUNTER},
        {"_bucket", LH_PROM_BUCKET, LH_PROM_HISTOGRAM, LH_PROM_HISTOGRAM},
        {"_sum", LH_PROM_SUM, LH_PROM_HISTOGRAM, LH_PROM_SUMMARY},
        {"_count", LH_PROM_COUNT, LH_PROM_HISTOGRAM, LH_PROM_SUMMARY},
    };
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t g;
        if (ends_with(name, n, suffixes[i].suffix, &base) &&
            (g = typed_family(ps, name, base, suffixes[i].t1,
                              suffixes[i].t2)) != SIZE_MAX) {
            x->family = g;
            x->part = suffixes[i].part;
            return 0;
        }
    }
    long g = family_get(ps, name, n, name);
    if (g < 0)
        return (int)g;
    x->family = (size_t)g;
    x->part = LH_PROM_PLAIN;
    return 0;
}

/* What a histogram's or summary's sample must carry (promtext.h). */
static int check_part(parser *ps, const lh_prom_sample *x,
                      const lh_prom_label *labels)
{
    const lh_prom_family *f = &ps->s->families[x->family];
    const char *need = NULL;
    if (f->type == LH_PROM_HISTOGRAM && x->part == LH_PROM_PLAIN)
        return fail(ps,
                    "histogram %s: sample %s needs the suffix _bucket, "
                    "_sum or _count",
                    f->name, x->name);
    if (x->part == LH_PROM_BUCKET)
        need = "le";
    else if (f->type == LH_PROM_SUMMARY && x->part == LH_PROM_PLAIN)
        need = "quantile";
    if (need == NULL)
        return 0;
    for (size_t i = 0; i < x->nlabels; i++) {
        if (strcmp(labels[i].name, need) != 0)
            continue;
        const char *v = labels[i].value;
        double d;
        if (parse_float(v, v + strlen(v), &d) < 0)
            return fail(ps, "%s: label %s=\"%.40s\" is not a number", x->name,
                        need, v);
        return 0;
    }
    return fail(ps, "%s %s: sample %s has no %s label",
                lh_prom_type_name(f->type), f->name, x->name, need);
}

/* The value and the optional timestamp after the name and labels. */
static int value_and_time(parser *ps, const char *p, const char *end,
                          lh_prom_sample *x)
{
    char q[64];
    p = skip_blanks(p, end);
    if (p == end)
        return fail(ps, "%s: no value", x->name);
    const char *t = token_end(p, end);
    int rc = parse_float(p, t, &x->value);
    if (rc == -2)
        return fail(ps, "%s: value '%s' out of range", x->name,
                    quote(p, t, q, sizeof q));
    if (rc < 0)
        return fail(ps, "%s: '%s' is not a number", x->name,
                    quote(p, t, q, sizeof q));
    p = skip_blanks(t, end);
    if (p == end)
        return 0;
    t = token_end(p, end);
    if (parse_timestamp(p, t, &x->timestamp_ms) < 0)
        return fail(ps,
                    "%s: '%s' is not a timestamp (integer "
                    "milliseconds)",
                    x->name, quote(p, t, q, sizeof q));
    x->has_timestamp = 1;
    p = skip_blanks(t, end);
    if (p != end)
        return fail(ps, "%s: unexpected '%s' after the timestamp", x->name,
                    quote(p, end, q, sizeof q));
    return 0;
}

/* The name and label set at *pp into x (series only: no family). */
static int series(parser *ps, const char **pp, const char *end,
                  lh_prom_sample *x)
{
    char q[64];
    const char *p = *pp;
    size_t n = metric_name_len(p, end);
    if (n == 0)
        return fail(ps, "expected a metric name at '%s'",
                    quote(p, end, q, sizeof q));
    if (p + n < end && !is_blank(p[n]) && p[n] != '{')
        return fail(ps, "bad character in metric name '%s'",
                    quote(p, end, q, sizeof q));
    x->name = pool_add(ps, p, n);
    if (x->name == NULL)
        return fail(ps, "out of string space");
    p = skip_blanks(p + n, end);
    if (p < end && *p == '{') {
        p++;
        int rc = label_set(ps, &p, end, x);
        if (rc < 0)
            return rc;
    }
    *pp = p;
    return 0;
}

static int sample_line(parser *ps, const char *p, const char *end)
{
    lh_prom_scrape *s = ps->s;
    if (lh_grow((void **)&s->samples, &ps->smp_cap, s->nsamples + 1,
                sizeof *s->samples, 64) < 0)
        return LH_ENOMEM;
    lh_prom_sample *x = &s->samples[s->nsamples];
    memset(x, 0, sizeof *x);
    x->line = ps->line;
    size_t first = ps->nlabels;
    int rc = series(ps, &p, end, x);
    if (rc == 0)
        rc = resolve_family(ps, x->name, x);
    if (rc == 0)
        rc = check_part(ps, x, x->nlabels ? s->labels_ + first : NULL);
    if (rc == 0)
        rc = value_and_time(ps, p, end, x);
    if (rc < 0)
        return rc;
    name_entry *e = name_get(ps, x->name, strlen(x->name), x->name);
    if (e == NULL)
        return LH_ENOMEM;
    if (e->first_sample == 0)
        e->first_sample = ps->line;
    s->nsamples++;
    return 0;
}

/* ---- HELP and TYPE ------------------------------------------------------ */

static const char *const type_names[] = {"untyped", "counter", "gauge",
                                         "histogram", "summary"};

const char *lh_prom_type_name(lh_prom_type t)
{
    if ((unsigned)t >= sizeof type_names / sizeof type_names[0])
        return "unknown";
    return type_names[t];
}

/* A TYPE line must come before every sample it would type: of its name,
 * and of the suffixed names its type gives a family (jobs_total for the
 * counter jobs).  Checked by sample name, whatever family those samples
 * went to, so a scrape means the same whatever the order of its lines. */
static int type_before_samples(parser *ps, const lh_prom_family *f,
                               lh_prom_type t)
{
    static const char *const sfx[] = {"", "_total", "_bucket", "_sum",
                                      "_count"};
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        int typed =
            i == 0 || (i == 1 && t == LH_PROM_COUNTER) ||
            (i == 2 && t == LH_PROM_HISTOGRAM) ||
            (i >= 3 && (t == LH_PROM_HISTOGRAM || t == LH_PROM_SUMMARY));
        name_entry *e = name_find(ps, f->name, strlen(f->name), sfx[i]);
        if (typed && e != NULL && e->first_sample != 0)
            return fail(ps,
                        "TYPE line for %.200s after its sample %.200s%s "
                        "(line %u)",
                        f->name, f->name, sfx[i], e->first_sample);
    }
    return 0;
}

static int type_line(parser *ps, size_t f, const char *p, const char *end)
{
    char q[64];
    lh_prom_family *fam = &ps->s->families[f];
    const char *t = token_end(p, end);
    if (p == t)
        return fail(ps, "TYPE line for %s without a type", fam->name);
    if (skip_blanks(t, end) != end)
        return fail(ps, "TYPE line for %s: unexpected '%s' after the type",
                    fam->name, quote(skip_blanks(t, end), end, q, sizeof q));
    if (fam->type_line != 0)
        return fail(ps, "second TYPE line for %s (first on line %u)", fam->name,
                    fam->type_line);
    size_t k;
    for (k = 0; k < sizeof type_names / sizeof type_names[0]; k++)
        if ((size_t)(t - p) == strlen(type_names[k]) &&
            memcmp(p, type_names[k], (size_t)(t - p)) == 0)
            break;
    if (k == sizeof type_names / sizeof type_names[0])
        return fail(ps,
                    "TYPE line for %s: unknown type '%s' (counter, "
                    "gauge, histogram, summary or untyped)",
                    fam->name, quote(p, t, q, sizeof q));
    int rc = type_before_samples(ps, fam, (lh_prom_type)k);
    if (rc < 0)
        return rc;
    fam->type = (lh_prom_type)k;
    fam->type_line = ps->line;
    return 0;
}

/* HELP text: the rest of the line, with \\ and \n unescaped. */
static int help_line(parser *ps, size_t f, const char *p, const char *end)
{
    lh_prom_family *fam = &ps->s->families[f];
    if (fam->help != NULL)
        return fail(ps, "second HELP line for %s", fam->name);
    char *dst = ps->s->pool_ + ps->pool_used, *start = dst;
    if ((size_t)(end - p) + 1 > ps->pool_cap - ps->pool_used)
        return fail(ps, "out of string space");
    while (p < end) {
        if (*p == '\\') {
            char e = p + 1 < end ? p[1] : '\0';
            if (e != '\\' && e != 'n')
                return fail(ps,
                            "HELP line for %s: invalid escape (only "
                            "\\\\ and \\n)",
                            fam->name);
            *dst++ = e == 'n' ? '\n' : '\\';
            p += 2;
            continue;
        }
        size_t n =
            utf8_len((const unsigned char *)p, (const unsigned char *)end);
        if (n == 0)
            return fail(ps, "HELP line for %s: not valid UTF-8", fam->name);
        memcpy(dst, p, n);
        dst += n, p += n;
    }
    *dst++ = '\0';
    ps->pool_used += (size_t)(dst - start);
    fam->help = start;
    return 0;
}

/* A line starting with '#' (p just after it): HELP, TYPE, or a comment. */
static int comment_line(parser *ps, const char *p, const char *end)
{
    char q[64];
    p = skip_blanks(p, end);
    const char *t = token_end(p, end);
    int help = t - p == 4 && memcmp(p, "HELP", 4) == 0;
    int type = t - p == 4 && memcmp(p, "TYPE", 4) == 0;
    if (!help && !type)
        return 0;
    p = skip_blanks(t, end);
    size_t n = metric_name_len(p, end);
    if (n == 0 || (p + n < end && !is_blank(p[n])))
        return fail(ps, "%s line without a valid metric name at '%s'",
                    help ? "HELP" : "TYPE", quote(p, end, q, sizeof q));
    long f = family_get(ps, p, n, NULL);
    if (f < 0)
        return (int)f;
    p = skip_blanks(p + n, end);
    return help ? help_line(ps, (size_t)f, p, end)
                : type_line(ps, (size_t)f, p, end);
}

/* ---- the whole input ---------------------------------------------------- */

static int one_line(parser *ps, const char *p, const char *end)
{
    p = skip_blanks(p, end);
    if (p == end)
        return 0;
    if (*p == '#')
        return comment_line(ps, p + 1, end);
    return sample_line(ps, p, end);
}

/* Orders samples by name, then label set. */
static int series_cmp(const void *a, const void *b)
{
    const lh_prom_sample *x = *(lh_prom_sample *const *)a;
    const lh_prom_sample *y = *(lh_prom_sample *const *)b;
    int c = strcmp(x->name, y->name);
    for (size_t i = 0; c == 0 && i < x->nlabels && i < y->nlabels; i++) {
        c = strcmp(x->labels[i].name, y->labels[i].name);
        if (c == 0)
            c = strcmp(x->labels[i].value, y->labels[i].value);
    }
    if (c == 0)
        c = (x->nlabels > y->nlabels) - (x->nlabels < y->nlabels);
    if (c == 0)
        c = (x->line > y->line) - (x->line < y->line);
    return c;
}

/* Each sample's labels pointer, now that the array has stopped moving;
 * then the same series twice is refused. */
static int finish(parser *ps)
{
    lh_prom_scrape *s = ps->s;
    size_t at = 0;
    for (size_t i = 0; i < s->nsamples; i++) {
        s->samples[i].labels = s->labels_ ? s->labels_ + at : NULL;
        at += s->samples[i].nlabels;
    }
    if (s->nsamples < 2)
        return 0;
    lh_prom_sample **v = lh_calloc(s->nsamples, sizeof *v);
    if (v == NULL)
        return LH_ENOMEM;
    for (size_t i = 0; i < s->nsamples; i++)
        v[i] = &s->samples[i];
    qsort(v, s->nsamples, sizeof *v, series_cmp);
    int rc = 0;
    for (size_t i = 1; i < s->nsamples && rc == 0; i++) {
        lh_prom_sample *a = v[i - 1], *b = v[i];
        if (strcmp(a->name, b->name) != 0 || a->nlabels != b->nlabels)
            continue;
        size_t k = 0;
        while (k < a->nlabels &&
               strcmp(a->labels[k].name, b->labels[k].name) == 0 &&
               strcmp(a->labels[k].value, b->labels[k].value) == 0)
            k++;
        if (k == a->nlabels) {
            char buf[160];
            lh_prom_format_series(b, buf, sizeof buf);
            ps->line = b->line;
            rc = fail(ps, "series %s again (first on line %u)", buf, a->line);
        }
    }
    lh_free(v);
    return rc;
}

static int parser_init(parser *ps, const char *text, size_t len, char *why,
                       size_t whylen)
{
    memset(ps, 0, sizeof *ps);
    ps->text = text;
    ps->end = text + len;
    ps->line = 1;
    ps->why = why;
    ps->whylen = whylen;
    ps->s = lh_calloc(1, sizeof *ps->s);
    if (ps->s == NULL)
        return LH_ENOMEM;
    ps->pool_cap = len + 1;
    ps->s->pool_ = lh_malloc(ps->pool_cap);
    return ps->s->pool_ ? 0 : LH_ENOMEM;
}

/* The end of a parse: *out set on success, the message for LH_ENOMEM,
 * and what the parser holds freed (the scrape too on failure).  rc. */
static int parser_done(parser *ps, int rc, lh_prom_scrape **out)
{
    lh_free(ps->hash);
    lh_free(ps->names);
    if (rc == LH_ENOMEM)
        lh_set_why(ps->why, ps->whylen, "out of memory");
    if (rc == 0)
        *out = ps->s;
    else
        lh_prom_free(ps->s);
    return rc;
}

/* The line of the first NUL byte in text[len], or 0 if none. */
static unsigned nul_line(const char *text, size_t len)
{
    const char *z = memchr(text, '\0', len);
    if (z == NULL)
        return 0;
    unsigned line = 1;
    for (const char *p = text; p < z; p++)
        line += *p == '\n';
    return line;
}

static int parse_lines(parser *ps)
{
    const char *p = ps->text;
    unsigned zl = nul_line(p, (size_t)(ps->end - p));
    if (zl != 0) {
        ps->line = zl;
        return fail(ps, "NUL byte (not text)");
    }
    while (p < ps->end) {
        const char *nl = memchr(p, '\n', (size_t)(ps->end - p));
        if (nl == NULL)
            return fail(ps, "no line feed at the end of the last line (a "
                            "cut body?)");
        const char *e = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
        int rc = one_line(ps, p, e);
        if (rc < 0)
            return rc;
        p = nl + 1;
        ps->line++;
    }
    return finish(ps);
}

int lh_prom_parse(const char *text, size_t len, lh_prom_scrape **out, char *why,
                  size_t whylen)
{
    parser ps;
    int rc = parser_init(&ps, text, len, why, whylen);
    if (rc == 0)
        rc = parse_lines(&ps);
    return parser_done(&ps, rc, out);
}

/* The one series of lh_prom_parse_series, its family, nothing after. */
static int one_series(parser *ps)
{
    const char *p = skip_blanks(ps->text, ps->end);
    lh_prom_scrape *s = ps->s;
    if (lh_grow((void **)&s->samples, &ps->smp_cap, 1, sizeof *s->samples, 1) <
        0)
        return LH_ENOMEM;
    memset(s->samples, 0, sizeof *s->samples);
    int rc = series(ps, &p, ps->end, s->samples);
    if (rc < 0)
        return rc;
    p = skip_blanks(p, ps->end);
    if (p != ps->end) {
        char q[64];
        return fail(ps, "unexpected '%s' after the series",
                    quote(p, ps->end, q, sizeof q));
    }
    const char *name = s->samples->name;
    long f = family_get(ps, name, strlen(name), name);
    if (f < 0)
        return (int)f;
    s->nsamples = 1;
    return finish(ps);
}

int lh_prom_parse_series(const char *text, size_t len, lh_prom_scrape **out,
                         char *why, size_t whylen)
{
    parser ps;
    int rc = parser_init(&ps, text, len, why, whylen);
    ps.series_only = 1;
    if (rc == 0)
        rc = one_series(&ps);
    return parser_done(&ps, rc, out);
}

void lh_prom_free(lh_prom_scrape *s)
{
    if (s == NULL)
        return;
    lh_free(s->families);
    lh_free(s->samples);
    lh_free(s->labels_);
    lh_free(s->pool_);
    lh_free(s);
}

/* ---- lookups ------------------------------------------------------------ */

lh_prom_type lh_prom_sample_type(const lh_prom_scrape *s,
                                 const lh_prom_sample *x)
{
    return x->family < s->nfamilies ? s->families[x->family].type
                                    : LH_PROM_UNTYPED;
}

const lh_prom_family *lh_prom_family_of(const lh_prom_scrape *s,
                                        const char *name)
{
    for (size_t i = 0; i < s->nfamilies; i++)
        if (strcmp(s->families[i].name, name) == 0)
            return &s->families[i];
    return NULL;
}

const char *lh_prom_label_value(const lh_prom_sample *x, const char *name)
{
    for (size_t i = 0; i < x->nlabels; i++)
        if (strcmp(x->labels[i].name, name) == 0)
            return x->labels[i].value;
    return NULL;
}

/* Appends c to buf[*n] when it fits with room for "...". */
static int put(char *buf, size_t cap, size_t *n, char c)
{
    if (*n + 4 >= cap)
        return -1;
    buf[(*n)++] = c;
    return 0;
}

static int put_str(char *buf, size_t cap, size_t *n, const char *s, int escape)
{
    for (; *s; s++) {
        int rc;
        if (escape && (*s == '\\' || *s == '"'))
            rc = put(buf, cap, n, '\\') < 0 ? -1 : put(buf, cap, n, *s);
        else if (escape && *s == '\n')
            rc = put(buf, cap, n, '\\') < 0 ? -1 : put(buf, cap, n, 'n');
        else
            rc = put(buf, cap, n, *s);
        if (rc < 0)
            return -1;
    }
    return 0;
}

size_t lh_prom_format_series(const lh_prom_sample *x, char *buf, size_t cap)
{
    size_t n = 0;
    if (cap < 4) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    int rc = put_str(buf, cap, &n, x->name, 0);
    for (size_t i = 0; rc == 0 && i < x->nlabels; i++) {
        rc = put(buf, cap, &n, i ? ',' : '{');
        if (rc == 0)
            rc = put_str(buf, cap, &n, x->labels[i].name, 0);
        if (rc == 0)
            rc = put_str(buf, cap, &n, "=\"", 0);
        if (rc == 0)
            rc = put_str(buf, cap, &n, x->labels[i].value, 1);
        if (rc == 0)
            rc = put(buf, cap, &n, '"');
    }
    if (rc == 0 && x->nlabels > 0)
        rc = put(buf, cap, &n, '}');
    if (rc < 0)
        memcpy(buf + n, "...", 3), n += 3;
    buf[n] = '\0';
    return n;
}
