/*
 * promtext.h - the Prometheus text exposition format, version 0.0.4.
 *
 * What a service serves on /metrics (Content-Type text/plain;
 * version=0.0.4), one item per line, '\n' after every line (a '\r'
 * before it is allowed), blank lines and other comments ignored, tokens
 * separated by spaces or tabs:
 *
 *   # HELP http_requests_total Requests served, by code.
 *   # TYPE http_requests_total counter
 *   http_requests_total{code="200",path="/a\"b"} 1027 1395066363000
 *   process_resident_memory_bytes 2.1e+07
 *
 * - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
 *   (__name__ is reserved and refused); label values in
 *   double quotes, valid UTF-8, with the escapes \\ \" \n and no other;
 *   a trailing comma in a label set is allowed;
 * - values as Go's ParseFloat reads them in decimal: 12, -3.5, 1e-07,
 *   .5, NaN, +Inf, -Inf (also "inf", "Infinity", any case); hexadecimal
 *   and underscores are refused; an optional timestamp: an integer of
 *   milliseconds;
 * - "# HELP name text" (text escapes \\ and \n) and "# TYPE name type"
 *   (counter, gauge, histogram, summary, untyped), each at most once per
 *   name, TYPE before the first sample it types (of its name, and of
 *   name_total, name_bucket, name_sum, name_count as its type has them);
 * - a histogram's samples are name_bucket (with an le label), name_sum and
 *   name_count; a summary's are name (with a quantile label), name_sum and
 *   name_count; a counter's sample is its name, or name_total when the
 *   TYPE line names the family without the suffix (OpenMetrics' habit).
 *
 * The parser is strict about all of that: anything else is LH_EPARSE with
 * "line N: reason" in `why`, never a guess.  Also refused: a NUL byte, a
 * last line without its line feed (a cut body), the same series (name and
 * label set) twice, a label named twice in one series.  Not checked (the
 * decision never reads them, and Prometheus itself accepts them): that a
 * family's samples are contiguous, that histogram buckets are cumulative.
 * docs/protocol.md (Prometheus metrics) says what leak-hunt reads.
 */
#ifndef LH_PROMTEXT_H
#define LH_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

typedef enum lh_prom_type {
    LH_PROM_UNTYPED = 0,
    LH_PROM_COUNTER,
    LH_PROM_GAUGE,
    LH_PROM_HISTOGRAM,
    LH_PROM_SUMMARY,
} lh_prom_type;

/* Which sample of its family a sample is. */
typedef enum lh_prom_part {
    LH_PROM_PLAIN = 0, /* the family's name itself (a summary's quantile) */
    LH_PROM_TOTAL,     /* name_total of a counter typed as name */
    LH_PROM_BUCKET,    /* name_bucket of a histogram */
    LH_PROM_SUM,       /* name_sum of a histogram or summary */
    LH_PROM_COUNT,     /* name_count of a histogram or summary */
} lh_prom_part;

typedef struct lh_prom_label {
    const char *name;
    const char *value; /* unescaped; may be "" */
} lh_prom_label;

typedef struct lh_prom_family {
    const char *name;
    lh_prom_type type;  /* UNTYPED when no TYPE line */
    const char *help;   /* unescaped, or NULL when no HELP line */
    unsigned type_line; /* line of its TYPE (0: none) */
} lh_prom_family;

typedef struct lh_prom_sample {
    const char *name;
    const lh_prom_label *labels; /* sorted by name */
    size_t nlabels;
    double value;
    int64_t timestamp_ms;
    int has_timestamp;
    size_t family; /* index into the scrape's families */
    lh_prom_part part;
    unsigned line; /* 1-based */
} lh_prom_sample;

/* A parsed exposition: read-only for callers, every string owned by it,
 * freed with lh_prom_free.  Samples are in the order of the input. */
typedef struct lh_prom_scrape {
    lh_prom_family *families;
    size_t nfamilies;
    lh_prom_sample *samples;
    size_t nsamples;
    /* private */
    lh_prom_label *labels_;
    char *pool_;
} lh_prom_scrape;

/*
 * Parses `len` bytes of exposition text (not NUL-terminated).  Returns 0
 * and a scrape in *out (an empty input gives an empty scrape), LH_EPARSE
 * with "line N: reason" in why, or LH_ENOMEM; *out is untouched on
 * failure.  The work is linear in len apart from one sort of the samples.
 */
int lh_prom_parse(const char *text, size_t len, lh_prom_scrape **out, char *why,
                  size_t whylen);

/* Frees a scrape.  Accepts NULL. */
void lh_prom_free(lh_prom_scrape *s);

/*
 * Parses a series designator, `name` or `name{label="value",...}` (the
 * same lexical rules as a sample line, blanks allowed around the tokens,
 * nothing after the closing brace) of `len` bytes.  On success *out holds
 * one sample with that name and those labels, value 0 (free it with
 * lh_prom_free).  LH_EPARSE with the reason in why (no line number), or
 * LH_ENOMEM.
 */
int lh_prom_parse_series(const char *text, size_t len, lh_prom_scrape **out,
                         char *why, size_t whylen);

/* The family's type of a sample. */
lh_prom_type lh_prom_sample_type(const lh_prom_scrape *s,
                                 const lh_prom_sample *x);

/* "counter", "gauge", ...; never NULL. */
const char *lh_prom_type_name(lh_prom_type t);

/* The family named `name` (exactly), or NULL. */
const lh_prom_family *lh_prom_family_of(const lh_prom_scrape *s,
                                        const char *name);

/*
 * Writes `name{a="x",b="y"}` (label values escaped as in the format, cut
 * with "..." to fit) into buf[cap], NUL-terminated.  Returns the length
 * written.  For messages.
 */
size_t lh_prom_format_series(const lh_prom_sample *x, char *buf, size_t cap);

/* The value of label `name` of a sample, or NULL when it has none. */
const char *lh_prom_label_value(const lh_prom_sample *x, const char *name);

#endif
