/*
 * fuzz_promtext.c - libFuzzer target for the Prometheus text format parser
 * (harness/metrics/promtext.c) and what reads a parsed scrape
 * (promsel.c): selectors and the leakhunt_stages convention.
 *
 * Besides memory safety (the input is not NUL-terminated, so a read past
 * len shows under ASan), it checks on every input:
 *   - a refusal is LH_EPARSE (or LH_ENOMEM), leaves *out untouched, and
 *     says "line N: ..." with N within the input, never the pool's
 *     "out of string space" (its bound, promtext.c, must hold);
 *   - an accepted scrape is consistent: each sample's family exists, its
 *     labels are sorted and distinct, its line within the input;
 *   - written back in the format (HELP and TYPE first, then each series
 *     with its value to 17 digits and its timestamp), it parses again to
 *     the same series, values and timestamps;
 *   - the same bytes as a selector: refused with a reason, or one sample;
 *   - a selection and a stages read on the scrape return documented codes.
 */
#include "error.h"
#include "promsel.h"
#include "promtext.h"

#define FUZZ_TARGET "fuzz_promtext"
#include "fuzz_check.h"

#include <math.h>
#include <string.h>

typedef struct out_buf {
    char *p;
    size_t n, cap;
} out_buf;

static void put(out_buf *b, const char *s, size_t n)
{
    CHECK(b->n + n <= b->cap);
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void put_str(out_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* HELP text escaped as the format wants (\\ and \n). */
static void put_help(out_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            put_str(b, "\\\\");
        else if (*s == '\n')
            put_str(b, "\\n");
        else
            put(b, s, 1);
    }
}

static size_t series_cap(const lh_prom_sample *x)
{
    size_t n = strlen(x->name) + 8;
    for (size_t i = 0; i < x->nlabels; i++)
        n += strlen(x->labels[i].name) + 2 * strlen(x->labels[i].value) + 4;
    return n;
}

static void put_value(out_buf *b, double v)
{
    char num[64];
    if (isnan(v))
        put_str(b, "NaN");
    else if (isinf(v))
        put_str(b, v > 0 ? "+Inf" : "-Inf");
    else {
        snprintf(num, sizeof num, "%.17g", v);
        put_str(b, num);
    }
}

/* The scrape written back in the format. */
static void write_back(const lh_prom_scrape *s, out_buf *b)
{
    size_t cap = 64;
    for (size_t i = 0; i < s->nfamilies; i++)
        cap += 3 * strlen(s->families[i].name) + 40 +
               (s->families[i].help ? 2 * strlen(s->families[i].help) : 0);
    for (size_t i = 0; i < s->nsamples; i++)
        cap += series_cap(&s->samples[i]) + 64;
    b->p = malloc(cap);
    b->cap = cap;
    b->n = 0;
    CHECK(b->p != NULL);
    for (size_t i = 0; i < s->nfamilies; i++) {
        const lh_prom_family *f = &s->families[i];
        if (f->help) {
            put_str(b, "# HELP ");
            put_str(b, f->name);
            put_str(b, " ");
            put_help(b, f->help);
            put_str(b, "\n");
        }
        if (f->type_line) {
            put_str(b, "# TYPE ");
            put_str(b, f->name);
            put_str(b, " ");
            put_str(b, lh_prom_type_name(f->type));
            put_str(b, "\n");
        }
    }
    for (size_t i = 0; i < s->nsamples; i++) {
        const lh_prom_sample *x = &s->samples[i];
        size_t room = series_cap(x);
        CHECK(b->n + room <= b->cap);
        size_t n = lh_prom_format_series(x, b->p + b->n, room);
        CHECK(n + 4 < room); /* never cut */
        b->n += n;
        put_str(b, " ");
        put_value(b, x->value);
        if (x->has_timestamp) {
            char ts[32];
            snprintf(ts, sizeof ts, " %lld", (long long)x->timestamp_ms);
            put_str(b, ts);
        }
        put_str(b, "\n");
    }
}

static void check_scrape(const lh_prom_scrape *s, unsigned lines)
{
    for (size_t i = 0; i < s->nsamples; i++) {
        const lh_prom_sample *x = &s->samples[i];
        CHECK(x->family < s->nfamilies);
        CHECK(x->line >= 1 && x->line <= lines);
        for (size_t k = 1; k < x->nlabels; k++)
            CHECK(strcmp(x->labels[k - 1].name, x->labels[k].name) < 0);
        (void)lh_prom_sample_type(s, x);
    }
}

static int same_value(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static void round_trip(const lh_prom_scrape *s)
{
    out_buf b;
    char why[256];
    lh_prom_scrape *t = NULL;
    write_back(s, &b);
    int rc = lh_prom_parse(b.p, b.n, &t, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "written back, refused: %s\n%.*s\n", why, (int)b.n,
                b.p);
    CHECK(rc == 0);
    CHECK(t->nsamples == s->nsamples);
    for (size_t i = 0; i < s->nsamples; i++) {
        const lh_prom_sample *x = &s->samples[i], *y = &t->samples[i];
        CHECK(strcmp(x->name, y->name) == 0);
        CHECK(x->nlabels == y->nlabels);
        for (size_t k = 0; k < x->nlabels; k++) {
            CHECK(strcmp(x->labels[k].name, y->labels[k].name) == 0);
            CHECK(strcmp(x->labels[k].value, y->labels[k].value) == 0);
        }
        CHECK(same_value(x->value, y->value));
        CHECK(x->has_timestamp == y->has_timestamp);
        CHECK(x->timestamp_ms == y->timestamp_ms);
    }
    lh_prom_free(t);
    free(b.p);
}

/* The readers of a scrape: documented codes only. */
static void read_scrape(const lh_prom_scrape *s)
{
    static const char *const sels[] = {"leakhunt_stages", "work_total",
                                       "m{a=\"\"}", "sum(m)"};
    char why[256];
    lh_prom_stages st;
    int rc = lh_prom_stages_read(s, NULL, &st, why, sizeof why);
    CHECK(rc == 0 || rc == LH_EPARSE);
    if (rc == 0 && st.state != LH_PROM_STAGES_ABSENT)
        CHECK(st.nseries > 0 && st.list[0] != '\0');
    for (size_t i = 0; i < sizeof sels / sizeof sels[0]; i++) {
        lh_prom_selector *sel = NULL;
        lh_prom_value v;
        CHECK(lh_prom_selector_parse(sels[i], &sel, why, sizeof why) == 0);
        for (int role = LH_PROM_ANY; role <= LH_PROM_MEMORY; role++) {
            rc = lh_prom_select(s, sel, (lh_prom_role)role, &v, why,
                                sizeof why);
            CHECK(rc == 0 || rc == LH_ENOTFOUND || rc == LH_EINVAL);
        }
        lh_prom_selector_free(sel);
    }
}

/* The pool's "cannot happen" (its bound, promtext.c): the reason itself,
 * not the input quoted in another reason. */
static int no_pool(const char *reason)
{
    return strncmp(reason, "out of string space", 19) == 0;
}

static void as_selector(const uint8_t *data, size_t size)
{
    char why[256] = "";
    lh_prom_scrape *s = NULL;
    int rc = lh_prom_parse_series((const char *)data, size, &s, why,
                                  sizeof why);
    if (rc != 0) {
        CHECK(rc == LH_EPARSE || rc == LH_ENOMEM);
        CHECK(s == NULL && why[0] != '\0');
        CHECK(!no_pool(why));
        return;
    }
    CHECK(s->nsamples == 1 && s->nfamilies == 1);
    lh_prom_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256] = "";
    unsigned lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    lh_prom_scrape *s = (lh_prom_scrape *)why;
    int rc = lh_prom_parse((const char *)data, size, &s, why, sizeof why);
    if (rc != 0) {
        unsigned at = 0;
        int n = 0;
        CHECK(rc == LH_EPARSE || rc == LH_ENOMEM);
        CHECK(s == (lh_prom_scrape *)why);
        if (rc == LH_EPARSE) {
            CHECK(sscanf(why, "line %u: %n", &at, &n) == 1 && n > 0);
            CHECK(at >= 1 && at <= lines);
            CHECK(!no_pool(why + n));
        }
    } else {
        check_scrape(s, lines);
        round_trip(s);
        read_scrape(s);
        lh_prom_free(s);
    }
    as_selector(data, size);
    return 0;
}
