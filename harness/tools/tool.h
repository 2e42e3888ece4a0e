/*
 * tool.h - the measurement tools (rss, heap, memcheck) behind one interface.
 *
 * A tool is a const struct of function pointers (STYLE.md: redis's
 * ConnectionType): `prepare` sets up how the processes under test are
 * wrapped (a LEAKHUNT_WRAP prefix and extra environment), `tick` runs
 * periodically while the target works (dump a heap profile, run a leak
 * search), `finish` turns what was collected into allocation sites and leak
 * kinds once the target has stopped.  `signal` builds the series a
 * decision is made on from what the tool collected (memcheck: growth by
 * loss record, see tool_memcheck.c); without it the decision uses `series`
 * as measured.  Any of the four may be NULL.
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
    char wrap[2048];       /* prefix for the processes under test ("" none) */
    char *env[LH_TOOL_MAX_ENV + 1]; /* extra "NAME=value", owned */
    size_t nenv;
    int grace_ms;          /* stop grace the tool needs */
    double tick_seconds;   /* how often tick wants to run (0: never) */
    lh_run_result *res;
    pid_t pids[64];        /* processes under test, from the stats lines */
    size_t npids;
    double work;           /* work done when tick/finish is called */
    lh_series series;      /* a tool's own signal (memcheck: bytes in use
                              at each leak search against work), as
                              measured: the report charts it */
    char note[160];        /* what `signal` set aside, for the verdict
                              ("" when nothing) */
    void *state;           /* the tool's own */
} lh_tool_ctx;

typedef struct lh_tool {
    const char *name;
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

extern const lh_tool lh_tool_rss;
extern const lh_tool lh_tool_heap;
extern const lh_tool lh_tool_memcheck;

/* Finds a tool by name; NULL if unknown. */
const lh_tool *lh_tool_find(const char *name);

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
