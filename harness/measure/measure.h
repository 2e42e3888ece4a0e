/*
 * measure.h - measure one stage configuration of a target (leak-hunt run).
 *
 * Starts the target with the chosen tool, samples it until the work or
 * duration budget is spent, decides leak / clean / inconclusive from the
 * growth per work unit, and when inconclusive keeps the same run going for
 * twice the budget (up to max_extend times) before stopping it.  Raw data
 * (samples.csv, stats.log, target.log, the tool's files) stays in `dir`.
 */
#ifndef LH_MEASURE_H
#define LH_MEASURE_H

#include "result.h"
#include "tool.h"

/* Called from the measurement loop while the target runs (see
 * lh_measure_opts.progress): `res` is the run so far (its series grows;
 * verdict, slope, work and seconds are not final yet), `elapsed` and `work`
 * the figures at this moment.  It must not keep `res`. */
typedef void (*lh_measure_progress_fn)(void *arg, const lh_run_result *res,
                                       double elapsed, double work);

/* Called once just before the target of a run is stopped (see
 * lh_measure_opts.before_stop), while its processes still run: `pids` are
 * the processes under test (those that wrote stats lines with pid=, else
 * the target's main process).  It must not keep `res` or `pids`. */
typedef void (*lh_measure_probe_fn)(void *arg, lh_run_result *res,
                                    const pid_t *pids, size_t npids);

typedef struct lh_measure_opts {
    char *const *argv;     /* target command; "{stages}" is substituted.
                              Empty (argv[0] NULL): watch mode, nothing is
                              started and `metrics` is the only source */
    int target_wraps;      /* 1: the target applies LEAKHUNT_WRAP itself
                              (multi-process, like selfheal); 0: leak-hunt
                              wraps the whole command */
    const char *enabled;   /* comma list of enabled stages */
    const lh_tool *tool;
    double work;           /* budget in work units (0: by duration) */
    double duration;       /* budget in seconds (0: by work) */
    double timeout;        /* hard limit in seconds for the whole run */
    double threshold;      /* bytes per unit */
    int max_extend;        /* doublings allowed when inconclusive */
    const char *dir;       /* raw-data directory (created) */
    const char *bindir;
    const char *supp;      /* valgrind suppressions, or NULL */
    const char *stage_map; /* "PATTERN=stage,..." or NULL: stages/<s>.c */
    int quiet;
    const char *label;     /* for progress lines */
    lh_measure_progress_fn progress; /* or NULL: called every
                                        progress_every seconds (soak writes
                                        its partial report with it) */
    void *progress_arg;
    double progress_every;
    /* Sequential decision (hunt): when > 0 and the tool allows it
     * (lh_tool.early_looks: rss, heap), the series is judged every look_every of the
     * budget (work or duration) from the first such step on, and the run
     * ends at the first verdict, leak or clean, that the look before gave
     * too (res->early is set); the budget stays the limit.  0: judged only
     * when the budget is spent. */
    double look_every;
    double look_seconds; /* > 0: a look every that many seconds of the
                            measured part instead (a live segment: its
                            rate depends on the configuration) */
    /* A tool with its own signal (memcheck): its points (leak searches)
     * to wait for before the budget counts as spent (0: the number a
     * decision needs).  Fewer than that give an inconclusive verdict (too
     * few): for a run that is there for the tool's findings (the kind of
     * leak), not for its slope. */
    int tool_points;
    /* Or NULL: looks at the processes under test before they are stopped
     * (a hunt checks their ABI: abi/abiconflicts.h).  Not called when the
     * target exited by itself. */
    lh_measure_probe_fn before_stop;
    void *before_stop_arg;
    /* Or NULL: the work and memory come from the service's Prometheus
     * metrics (--metrics, docs/protocol.md section 9; promsource.h), not
     * from stats lines.  Its first scrape must be good before the run
     * begins (else res->usage_error, LH_EINVAL); a restart seen restarts
     * the fit. */
    const struct lh_poller_opts *metrics;
    /* Or NULL: 1 once the command was told to stop (SIGINT, SIGTERM).
     * A target's stop ends its run; in watch mode there is none, so the
     * loop asks this at each step (the run then fails: LH_EIO). */
    int (*interrupted)(void);
} lh_measure_opts;

/*
 * Runs the measurement into *res (which the caller zeroes first and frees
 * with lh_run_result_free).  Returns 0 with res->verdict set (CLEAN, LEAK,
 * INCONCLUSIVE), LH_TOOL when the tool could not run (res->error says why
 * and how to fix it), LH_EIO when the target failed (res->error has its
 * status and the last lines of its log; verdict ERROR) or, with metrics,
 * too many scrapes failed (verdict INCONCLUSIVE), or LH_EINVAL when the
 * metrics could not be used at all (res->usage_error set).
 */
int lh_measure(const lh_measure_opts *o, lh_run_result *res);

/* The floor, in bytes per second, of a run measured by time on RSS (a
 * program that writes no stats line) whose decision spans `seconds`
 * after its warm-up: a few pages over the span (measure.c). */
double lh_measure_rss_second_floor(double seconds);

/* Attributes a source file / function to a stage: with a stage map the
 * first pattern that is a substring of file or function wins; without one,
 * a file whose base name is stage_<stage>.c (selfheal's layout).  Writes "" when
 * nothing matches. */
void lh_measure_attribute(const char *stage_map, const char *function,
                          const char *file, char *stage, size_t cap);

#endif
