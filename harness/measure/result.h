/*
 * result.h - what one measured configuration produced.
 */
#ifndef LH_RESULT_H
#define LH_RESULT_H

#include <stddef.h>

#include "sampler.h"

typedef enum lh_run_verdict {
    LH_RUN_CLEAN = 0,
    LH_RUN_LEAK = 1,
    LH_RUN_INCONCLUSIVE = 2,
    LH_RUN_ERROR = 3,
} lh_run_verdict;

const char *lh_run_verdict_name(lh_run_verdict v);

/* An allocation site and what it retained. */
typedef struct lh_site {
    char function[128];
    char caller[128];   /* first caller outside the site's own function */
    char caller_file[256]; /* where the caller makes the call, "" unknown */
    int caller_line;
    char file[256];
    int line;
    char stage[32];     /* attributed stage, "" when none */
    char kind[32];      /* memcheck kind ("reachable", "definitely lost") */
    double bytes;       /* growth over the measured span */
    double bytes_per_unit;
    int in_flight;      /* its blocks come and go (the rise of their floor
                           is its growth): events in flight, a backlog, or a
                           leak among short-lived blocks; ranked after the
                           sites that only grow (measure.c) */
} lh_site;

/* A restart of a service measured through its metrics (--metrics): its
 * work counter went backwards, or its process start time changed
 * (docs/protocol.md section 9). */
typedef struct lh_run_restart {
    double seconds;        /* into the run (or segment), the first scrape
                              after it */
    double work;           /* the run's work there */
    double counter_before, counter_after; /* the counter as scraped */
    int by_start_time;     /* seen by process_start_time_seconds */
} lh_run_restart;

#define LH_RUN_MAX_RESTARTS 8

typedef struct lh_run_result {
    char enabled[512];  /* comma list */
    const char *tool;
    double work, seconds, rate; /* rate: work units per second */
    const char *signal; /* "heap" or "rss", or the tool's name when the run
                           was decided on its own signal (memcheck) */
    double slope, ci_low, ci_high, threshold;
    lh_run_verdict verdict;
    char reason[160];   /* "steady growth", "plateau", "backlog", ... */
    lh_series series;
    lh_series tool_series; /* the tool's own signal (memcheck: bytes in use
                              at each leak search, in .heap), when it had one */
    double warmup_work;    /* work discarded as warm-up by the decision */
    int early;             /* decided by two agreeing looks before the
                              budget was spent (lh_measure_opts.look_every) */
    /* A live run's segment (docs/protocol.md section 5): its work counts
     * from work_from, the live run's work at its switch (work_range
     * [work_from, work_from + work]); series and warmup_work are the
     * segment's own, from the switch, with the acknowledgement and the
     * settle period in the warm-up.  `separate`: a run of its own in a
     * command that measured the others live (memcheck's). */
    int live, separate;
    double work_from;
    size_t measured_from; /* the first sample of the measured part in
                             series (a segment's: after its settle) */
    lh_site *sites;
    size_t nsites;
    /* memcheck */
    double definitely_lost, reachable_growth;
    unsigned long other_errors;
    char first_error[256];
    /* stats lines that were not the protocol's (docs/protocol.md section
     * 2), and the first of them, printable */
    unsigned long bad_stats_lines;
    char first_bad_stats_line[128];
    /* processes the tool could not measure its own way, and what it did
     * instead (heap: built with a sanitizer, ...); "" none */
    char skipped[1024];
    /* Measured through Prometheus metrics (docs/protocol.md section 9):
     * scraped 1, the scrapes made and failed, the first failure's
     * message, the transfer times of the good ones, and the restarts seen
     * (their count; the first LH_RUN_MAX_RESTARTS kept).  The decision
     * fits only what follows the last restart. */
    int scraped;
    unsigned long scrapes, scrape_failures;
    char scrape_error[512];
    double fetch_mean_s, fetch_max_s;
    size_t nrestarts;
    lh_run_restart restarts[LH_RUN_MAX_RESTARTS];
    /* The run could not begin for a reason that is the user's to fix (a
     * metrics URL or metric that cannot be used): exit 2, not 3. */
    int usage_error;
    /* failure */
    char error[2048];
    char dir[1024];
} lh_run_result;

void lh_run_result_free(lh_run_result *r);

/* Appends a site (copied).  0 or LH_ENOMEM. */
int lh_run_result_add_site(lh_run_result *r, const lh_site *s);

/* Sorts sites by bytes_per_unit, largest first. */
void lh_run_result_sort_sites(lh_run_result *r);

#endif
