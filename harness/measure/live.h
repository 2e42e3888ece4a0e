/*
 * live.h - a live run (docs/protocol.md section 5): one target, started
 * once with the protocol's LEAKHUNT_CONTROL, its stages switched under it
 * through that file; each configuration is measured as a segment of the
 * run.
 *
 * The first segment is the target's start, measured as a run of its own
 * would be (its warm-up left out by the decision); while it runs, the
 * target shows whether it can switch at all (stages= within
 * LH_ACK_TIMEOUT_S of its first stats line).  Every later segment starts
 * with a switch: the new list written to the control file (a temporary
 * file renamed over it), every live reporting process's acknowledgement
 * (ack.h), a settle period (segment.h), then the same loop as a run of
 * its own (budget, looks, extension, decision) on what follows.  The
 * whole run keeps one series (memory against work, every segment in it)
 * for the report's chart.
 */
#ifndef LH_LIVE_H
#define LH_LIVE_H

#include <stddef.h>

#include "measure.h"
#include "sampler.h"

typedef struct lh_live_opts {
    char *const *argv;     /* the target's command */
    int target_wraps;      /* lh_measure_opts.target_wraps */
    const lh_tool *tool;   /* for the whole run (rss or heap) */
    const char *dir;       /* the run's directory: control file, stats,
                              target log, the tool's files, live.csv
                              (created; a segment's may be the same) */
    const char *bindir;
    const char *supp;
    const char *stage_map;
    const char *first;     /* the starting list (comma list, "" none) */
    /* Watch mode (argv empty: docs/protocol.md section 9): nothing is
     * started; the service's metrics are the source (required), its
     * stages are switched by running switch_cmd (switchcmd.h) instead of
     * writing the control file, and acknowledged by its leakhunt_stages
     * series (or, without any, by its work counter moving again after
     * LH_LIVE_WATCH_SETTLE_S).  The first segment switches too, unless
     * the service shows its list already; the list the service showed
     * at the start is switched back to at the end. */
    const struct lh_poller_opts *metrics;
    const char *switch_cmd;
    int quiet;
    int (*interrupted)(void); /* or NULL: lh_measure_opts.interrupted;
                                 no switch back once it says so (no
                                 process can start then) */
} lh_live_opts;

/* Watch mode: a switch not acknowledged this long after its command
 * returned fails; without leakhunt_stages, the work counter must move
 * after this long. */
#define LH_LIVE_WATCH_ACK_S 10.0
#define LH_LIVE_WATCH_SETTLE_S 1.0

typedef struct lh_live lh_live;

/*
 * Writes `first` to the control file, prepares the tool and starts the
 * target.  0 and *out; or, with the message in why (cap bytes): LH_ESYS
 * when the directory or the control file cannot be written (the path and
 * the reason), LH_ETOOL when the tool cannot run (its message and fix),
 * LH_EIO when the target cannot be started, LH_EINVAL in watch mode when
 * the metrics cannot be used (the first scrape failed), LH_ENOMEM.
 */
int lh_live_open(const lh_live_opts *o, lh_live **out, char *why,
                 size_t cap);

/*
 * Measures configuration o->enabled as the next segment into *res (zeroed
 * by the caller; o->tool is the run's tool, o->dir the segment's own
 * directory for its samples.csv, o->timeout what is left of the live
 * run's time).  Returns as lh_measure does (LH_EIO with verdict ERROR:
 * the target exited, naming the configuration it ran), and:
 *   - watch mode: LH_EIO with verdict INCONCLUSIVE when the switch
 *     command failed or the switch was not acknowledged within
 *     LH_LIVE_WATCH_ACK_S (res->error names the configuration), or when
 *     too many scrapes failed;
 *   - LH_ESYS when the control file cannot be written (res->error: the
 *     path and the reason; verdict ERROR);
 *   - LH_EIO with verdict INCONCLUSIVE and res->error set when the switch
 *     went wrong: not acknowledged within LH_ACK_TIMEOUT_S, a process
 *     showing a list it was not asked for, or one that stopped
 *     acknowledging (ack.h).
 * After an error the live run cannot go on: close it.
 */
int lh_live_measure(lh_live *l, const lh_measure_opts *o,
                    lh_run_result *res);

/* Whether the target switches live: 1 yes, 0 it cannot (it showed no
 * stages= within LH_ACK_TIMEOUT_S of its first stats line, or wrote no
 * stats line), -1 not known yet. */
int lh_live_mode(const lh_live *l);

/* Samples on (into the whole run's series) until lh_live_mode is known,
 * at most LH_ACK_TIMEOUT_S after the first stats line (or until the
 * target exits); returns it (0 or 1). */
int lh_live_find_mode(lh_live *l);

/* The whole run's series so far (work as the target counts it). */
const lh_series *lh_live_series(const lh_live *l);

/* The pids of the processes under test (those that wrote stats lines),
 * up to max; how many. */
size_t lh_live_pids(const lh_live *l, pid_t *pids, size_t max);

/*
 * Stops the target (with the grace its tool and launcher need), or in
 * watch mode switches the service back to the list it showed at the
 * start (when known and changed; said on stderr), writes
 * the whole run's series to live.csv in its directory, and frees
 * everything;
 * *series (may be NULL) takes the whole run's series (free it with
 * lh_series_free).  Accepts NULL.
 */
void lh_live_close(lh_live *l, lh_series *series);

#endif
