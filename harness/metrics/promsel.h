/*
 * promsel.h - choosing one series of a parsed scrape (promtext.h), and
 * reading the stages a service runs now.
 *
 * A selector is what the user gives --work-metric and --memory-metric:
 * `name` or `name{label="value",...}`.  It selects the series of that name
 * that carry every label given with that value (a label given as "" selects
 * series without it), and must select exactly one: several are an error
 * that names them, none an error that names the metric (and what there is
 * instead).  `sum(name{...})` selects every series it matches (at least
 * one) and adds their values, each checked for its role: the B nodes of a
 * pipeline served from one endpoint, `sum(events_total{role="b"})`.  The value is checked for its role: a work metric is a counter
 * (its sample, or name_total of a counter family), the _count of a
 * histogram or summary (a counter too), or an untyped series whose name
 * ends in _total; a memory metric is a gauge or untyped.  Either must hold
 * a finite value >= 0.
 *
 * The stages a service runs now: the info metric leakhunt_stages, one
 * series per process, the list in its `stages` label (docs/protocol.md,
 * Prometheus metrics):
 *
 *   # TYPE leakhunt_stages gauge
 *   leakhunt_stages{node="b0",stages="hash,verify"} 1
 *   leakhunt_stages{node="b1",stages="hash,verify"} 1
 *
 * value 1 for the list run now (a series at 0, an old list kept by a
 * client library, is ignored); the list comma-separated stage names
 * (docs/protocol.md section 1), "-" or "" for no stage, compared as sets.
 */
#ifndef LH_PROMSEL_H
#define LH_PROMSEL_H

#include "promtext.h"

#include <stddef.h>

typedef struct lh_prom_selector lh_prom_selector;

/*
 * Parses a selector (NUL-terminated).  0 and *out, LH_EPARSE with the
 * reason in why ("bad selector 'x{': ..."), or LH_ENOMEM.
 */
int lh_prom_selector_parse(const char *text, lh_prom_selector **out, char *why,
                           size_t whylen);

/* Frees a selector.  Accepts NULL. */
void lh_prom_selector_free(lh_prom_selector *sel);

/* The metric name; the selector as written (for messages). */
const char *lh_prom_selector_name(const lh_prom_selector *sel);
const char *lh_prom_selector_text(const lh_prom_selector *sel);

/* 1 when the sample is one the selector selects, else 0. */
int lh_prom_selector_matches(const lh_prom_selector *sel,
                             const lh_prom_sample *x);

typedef enum lh_prom_role {
    LH_PROM_ANY = 0, /* no check of type or value */
    LH_PROM_WORK,    /* a counter (see above) */
    LH_PROM_MEMORY,  /* a gauge or untyped */
} lh_prom_role;

typedef struct lh_prom_value {
    double value;
    lh_prom_type type; /* its family's */
    lh_prom_part part;
    const lh_prom_sample *sample; /* in the scrape: valid while it is */
} lh_prom_value;

/*
 * Finds the one series `sel` selects in `s` and checks it for `role`.
 * Returns 0 with *out filled; LH_ENOTFOUND when none matches, LH_EINVAL
 * when several do or the series does not fit the role (wrong type, NaN,
 * infinite or negative); why says which and names the series.  *out is
 * untouched on failure.
 */
int lh_prom_select(const lh_prom_scrape *s, const lh_prom_selector *sel,
                   lh_prom_role role, lh_prom_value *out, char *why,
                   size_t whylen);

#define LH_PROM_STAGES_METRIC "leakhunt_stages"
/* A canonical list's size limit (a stats line's, docs/protocol.md). */
#define LH_PROM_STAGES_MAX 1024

typedef enum lh_prom_stages_state {
    LH_PROM_STAGES_ABSENT = 0, /* no series at 1: the service does not say */
    LH_PROM_STAGES_AGREED,     /* every series at 1 shows the same set */
    LH_PROM_STAGES_MIXED,      /* they differ (a switch under way) */
} lh_prom_stages_state;

typedef struct lh_prom_stages {
    lh_prom_stages_state state;
    size_t nseries;                 /* series at 1 */
    char list[LH_PROM_STAGES_MAX];  /* the first series' list as written
                                       ("" given as "-") */
    char other[LH_PROM_STAGES_MAX]; /* MIXED: the first that differs */
} lh_prom_stages;

/*
 * Reads the stages shown in `s`: the series of `filter` (a selector such
 * as leakhunt_stages{role="b"}: its name and labels choose the series), or
 * of every leakhunt_stages series when filter is NULL.  Returns 0 with *out
 * filled (ABSENT too), or LH_EPARSE (why names the series and says why)
 * for a series that is not a gauge or untyped, has no stages label, holds
 * a bad list (docs/protocol.md section 1: distinct names separated by
 * single commas, or "-"), a list over LH_PROM_STAGES_MAX - 1 bytes, or a
 * value other than 0 and 1.
 */
int lh_prom_stages_read(const lh_prom_scrape *s, const lh_prom_selector *filter,
                        lh_prom_stages *out, char *why, size_t whylen);

#endif
