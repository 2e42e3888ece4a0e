/*
 * tool.h - the measurement tools (rss, heap, memcheck) behind one interface.
 *
 * A tool is a const struct (STYLE.md: redis's ConnectionType, curl's
 * connection filters): a few properties that say how the measuring loop,
 * the runner and the report treat its runs, and hooks.  `prepare` sets up
 * how the processes under test are wrapped (a LEAKHUNT_WRAP prefix and
 * extra environment), `tick` runs periodically while the target works
 * (dump a heap profile, run a leak search), `finish` turns what was
 * collected into allocation sites and leak kinds once the target has
 * stopped.  `signal` builds the series a decision is made on from what the
 * tool collected (memcheck: growth by loss record, see tool_memcheck.c).
 * Any hook may be NULL: callers go through the lh_tool_<hook> wrappers
 * below, which state each default once (do nothing; `signal`: the series
 * as measured).  tick, finish and signal are called only after prepare
 * succeeded (c->state is then what prepare set); cleanup is called once
 * in every case, also when prepare failed.  No code outside a tool's own file names the tool: the
 * others ask its properties, and commands pick a tool by the job
 * (lh_tool_for).
 */
#ifndef LH_TOOL_H
#define LH_TOOL_H

#include <stddef.h>
#include <sys/types.h>

#include "result.h"

#define LH_TOOL_MAX_ENV 8

typedef struct lh_tool_ctx {
    const char *dir;       /* this run's raw-data directory (exists) */
    const char *bindir;    /* directory of the leak-hunt binary */
    const char *supp;      /* valgrind suppressions file, or NULL */
    const char *stage_map; /* --stage-map, or NULL */
    char *const *argv;     /* the target's command */
    char wrap[2048];       /* prefix for the processes under test ("" none) */
    char *env[LH_TOOL_MAX_ENV + 1]; /* extra "NAME=value", owned */
    size_t nenv;
    int grace_ms;          /* stop grace the tool needs */
    double tick_seconds;   /* how often tick wants to run (0: never) */
    char heap_log[1100];   /* the processes' live heap as their allocator
                              counts it (heap: harness/shim/heaplog.h),
                              read instead of their heap= figures; ""
                              none */
    lh_run_result *res;
    pid_t pids[64];        /* processes under test, from the stats lines */
    size_t npids;
    double work;           /* work done when tick/finish is called */
    int last;              /* tick: the last one, the target is stopped
                              next (a tool may wait, bounded, for what it
                              asked for); in a live run, the last of a
                              segment */
    double seg_from, seg_to; /* a live run's segment (docs/protocol.md
                              section 5): finish looks only at what was
                              collected at work (as `work` above) from
                              seg_from to seg_to, from its first point on,
                              with no warm-up of its own; seg_to 0: the
                              whole run, with the tool's warm-up */
    lh_series series;      /* a tool's own signal (memcheck: bytes in use
                              at each leak search against work), as
                              measured: the report charts it */
    char note[160];        /* what `signal` set aside, for the verdict
                              ("" when nothing) */
    void *state;           /* the tool's own */
} lh_tool_ctx;

typedef struct lh_tool {
    const char *name;

    /* Properties; zero is the common case. */

    /* A work budget of the built-in pipeline is divided by this for the
     * tool's runs (memcheck: 50, valgrind runs the pipeline ~50x slower),
     * so that they take about as long as the others; 0 or 1: the whole
     * budget (lh_tool_work_budget). */
    int budget_divisor;
    /* 1: the tool has a signal of its own (c->series, one point per
     * `point`), and the decision rests on it: the measuring loop waits for
     * enough points before it judges, and a run with too few is
     * inconclusive, never judged on the samples (measure.c).  `point` and
     * `points` name one and several of them for messages ("leak search",
     * "leak searches"). */
    int own_signal;
    const char *point, *points;
    /* 1: the series may be judged before the budget is spent (sequential
     * decision, lh_measure_opts.look_every). */
    int early_looks;
    /* 1: the report shows the tool's findings beyond allocation sites
     * (bytes lost for good, reachable growth, errors that are not leaks:
     * lh_run_result's memcheck fields) in a section named after it. */
    int report_findings;

    /* Hooks (any may be NULL; call them through the wrappers below). */

    /* 1 when the tool cannot measure the program `argv` runs at all, with
     * the whole message (problem and fix) in why (memcheck: a program
     * built with a sanitizer, which valgrind cannot run); 0 when it can.
     * prepare refuses such a target (LH_ETOOL); a command that only asks
     * the tool for more (hunt: the kind of leak) may skip it instead. */
    int (*refuses)(char *const *argv, char *why, size_t cap);

    /* 0, or an error with a message already in res->error. */
    int (*prepare)(lh_tool_ctx *c);
    int (*tick)(lh_tool_ctx *c);
    int (*finish)(lh_tool_ctx *c);
    /* Writes into *out (emptied first) one point per point of c->series,
     * same work, bytes in .heap; may write c->note.  `warmup` is the
     * fraction of the work the decision discards.  0 or LH_ENOMEM. */
    int (*signal)(lh_tool_ctx *c, double warmup, lh_series *out);
    void (*cleanup)(lh_tool_ctx *c);
} lh_tool;

/* The hooks with their defaults. */
static inline int lh_tool_refuses(const lh_tool *t, char *const *argv,
                                  char *why, size_t cap)
{
    return t->refuses && argv && argv[0] ? t->refuses(argv, why, cap) : 0;
}
static inline int lh_tool_prepare(const lh_tool *t, lh_tool_ctx *c)
{
    return t->prepare ? t->prepare(c) : 0;
}
static inline int lh_tool_tick(const lh_tool *t, lh_tool_ctx *c)
{
    return t->tick ? t->tick(c) : 0;
}
static inline int lh_tool_finish(const lh_tool *t, lh_tool_ctx *c)
{
    return t->finish ? t->finish(c) : 0;
}
static inline void lh_tool_cleanup(const lh_tool *t, lh_tool_ctx *c)
{
    if (t->cleanup)
        t->cleanup(c);
}

/* The series to decide on, into *out (emptied first): the tool's `signal`,
 * or without one c->series as measured (c->note emptied).  0 or
 * LH_ENOMEM. */
int lh_tool_signal(const lh_tool *t, lh_tool_ctx *c, double warmup,
                   lh_series *out);

/* The work budget a run of the built-in pipeline gets with this tool out
 * of `work` (budget_divisor; at least 1 unit). */
static inline double lh_tool_work_budget(const lh_tool *t, double work)
{
    if (t->budget_divisor <= 1)
        return work;
    return work / t->budget_divisor > 1 ? work / t->budget_divisor : 1;
}

extern const lh_tool lh_tool_rss;
extern const lh_tool lh_tool_heap;
extern const lh_tool lh_tool_memcheck;

/* Finds a tool by name; NULL if unknown (or name NULL). */
const lh_tool *lh_tool_find(const char *name);

/* The i-th tool (0, 1, ...), NULL past the last: for lists of the tools
 * that have a property. */
const lh_tool *lh_tool_at(size_t i);

/* The tool a run was measured with (lh_tool_find(r->tool)), or NULL. */
const lh_tool *lh_tool_of(const lh_run_result *r);

/* What a command asks a tool for, so that commands pick tools by the job
 * and name none: the cheap signal a search decides on, allocation sites
 * (the confirmation), the kind of a leak (reachable or lost). */
typedef enum lh_tool_role {
    LH_TOOL_FOR_SEARCH,
    LH_TOOL_FOR_SITES,
    LH_TOOL_FOR_KIND,
} lh_tool_role;

/* The tool that does `role` best (never NULL). */
const lh_tool *lh_tool_for(lh_tool_role role);

/* Adds "NAME=value" to the ctx environment.  0 or LH_ENOMEM/LH_EFULL. */
int lh_tool_setenv(lh_tool_ctx *c, const char *name, const char *value);

#endif
