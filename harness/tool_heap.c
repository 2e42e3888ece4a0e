/*
 * heap: gperftools' heap profiler in every process under test.
 *
 * Each process runs under `leak-hunt __heap-wrap` (tcmalloc preloaded,
 * its own profile prefix, SIGUSR2 dumps a profile).  Every couple of
 * seconds the tool signals each process and notes the work done at that
 * dump.  With tcmalloc loaded, the processes' own heap= figures come from
 * tcmalloc's counter, which is the signal the runner decides on.  At the
 * end, the growth between the first dump after the warm-up and the last
 * dump, by allocation site (heapprof.c parses and symbolises), divided by
 * the work done between them, gives each site's bytes per unit.  The
 * profiles stay in the run directory for google-pprof.
 */
#include "tool.h"

#include "alloc.h"
#include "clock.h"
#include "doctor.h"
#include "error.h"
#include "heapprof.h"
#include "measure.h"

#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef LH_TCMALLOC_SO
#define LH_TCMALLOC_SO "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4"
#endif

#define DUMP_EVERY_S 2.0
#define MAX_PROCS 64
#define MAX_DUMPS 4096

typedef struct dump {
    pid_t pid;
    int seq;     /* gperftools' dump number: heap.<pid>.<seq>.heap */
    double work;
} dump;

typedef struct heap_state {
    pid_t pids[MAX_PROCS];
    int seqs[MAX_PROCS];
    size_t nprocs;
    dump dumps[MAX_DUMPS];
    size_t ndumps;
} heap_state;

static int heap_prepare(lh_tool_ctx *c)
{
    if (access(LH_TCMALLOC_SO, R_OK) != 0) {
        lh_doctor_check chk; /* the doctor's check words problem and fix */
        lh_doctor_tcmalloc(LH_TCMALLOC_SO, &chk);
        snprintf(c->res->error, sizeof c->res->error,
                 "cannot use the heap tool: %s; fix: %s ('leak-hunt doctor' "
                 "checks every tool)", chk.text, chk.fix);
        return LH_ETOOL;
    }
    heap_state *s = lh_calloc(1, sizeof *s);
    if (s == NULL)
        return LH_ENOMEM;
    c->state = s;
    snprintf(c->wrap, sizeof c->wrap, "%s/leak-hunt __heap-wrap %s",
             c->bindir, c->dir);
    c->tick_seconds = DUMP_EVERY_S;
    c->grace_ms = 10000;
    return 0;
}

static int *seq_of(heap_state *s, pid_t pid)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->pids[i] == pid)
            return &s->seqs[i];
    if (s->nprocs == MAX_PROCS)
        return NULL;
    s->pids[s->nprocs] = pid;
    s->seqs[s->nprocs] = 0;
    return &s->seqs[s->nprocs++];
}

static void profile_path(const lh_tool_ctx *c, const dump *d, char *buf,
                         size_t cap)
{
    snprintf(buf, cap, "%s/heap.%d.%04d.heap", c->dir, (int)d->pid, d->seq);
}

/* A dump is complete once its last line (the end of MAPPED_LIBRARIES)
 * stops changing: wait for the file and for its size to settle. */
static int dump_written(const char *path)
{
    struct stat a, b;
    if (stat(path, &a) != 0 || a.st_size == 0)
        return 0;
    usleep(20000);
    return stat(path, &b) == 0 && b.st_size == a.st_size;
}

static int heap_tick(lh_tool_ctx *c)
{
    heap_state *s = c->state;
    if (s == NULL)
        return 0;
    size_t first = s->ndumps;
    for (size_t i = 0; i < c->npids; i++) {
        int *seq = seq_of(s, c->pids[i]);
        if (seq == NULL || s->ndumps == MAX_DUMPS)
            continue;
        if (kill(c->pids[i], SIGUSR2) != 0)
            continue;
        ++*seq;
        s->dumps[s->ndumps++] = (dump){c->pids[i], *seq, c->work};
    }
    /* Wait (bounded) for each dump to be written: the next file number
     * gperftools uses is also the one its exit dump takes, so a dump that
     * never came must be forgotten, or the exit dump (written after the
     * process freed everything) would pass for it. */
    int64_t deadline = lh_now_us() + 3000000;
    char path[1200];
    for (size_t i = first; i < s->ndumps;) {
        profile_path(c, &s->dumps[i], path, sizeof path);
        if (dump_written(path)) {
            i++;
            continue;
        }
        if (lh_now_us() < deadline) {
            usleep(20000);
            continue;
        }
        int *seq = seq_of(s, s->dumps[i].pid);
        if (seq)
            --*seq;
        memmove(&s->dumps[i], &s->dumps[i + 1],
                (s->ndumps - i - 1) * sizeof s->dumps[0]);
        s->ndumps--;
    }
    return 0;
}

/* Strips the source root from a DWARF path, for display. */
static const char *shorten(const char *path)
{
#ifdef LH_SOURCE_DIR
    size_t n = strlen(LH_SOURCE_DIR);
    if (path && strncmp(path, LH_SOURCE_DIR, n) == 0 && path[n] == '/')
        return path + n + 1;
#endif
    return path ? path : "";
}

static int in_shared_object(const lh_heapprof_frame *f)
{
    const char *base = f->obj ? strrchr(f->obj, '/') : NULL;
    return base && strstr(base, ".so") != NULL;
}

/* Where a site is shown: a block allocated inside a shared library (the
 * story's library A: a_alloc <- meta_new <- a_buf_new) is shown at the
 * library function the program called (a_buf_new), with the program's
 * calling function as the caller, when that caller has source
 * information.  Returns the chain index of the frame to show (0: the
 * allocating frame itself, the case for the program's own code and for a
 * library's own threads). */
static size_t library_entry(const lh_heapprof_site *x)
{
    const lh_heapprof_frame *f0 = x->chain[0];
    if (!in_shared_object(f0))
        return 0;
    size_t top = 0;
    while (top + 1 < x->nchain && x->chain[top + 1]->obj &&
           strcmp(x->chain[top + 1]->obj, f0->obj) == 0)
        top++;
    if (top + 1 >= x->nchain || x->chain[top + 1]->file == NULL)
        return 0;
    return top;
}

/* Adds the growth between two dumps of one process to the run's sites. */
static int add_growth(lh_tool_ctx *c, const char *old_path,
                      const char *new_path, double span)
{
    lh_heapprof *a = NULL, *b = NULL;
    lh_heapprof_delta *d = NULL;
    lh_heapprof_symtab *st = NULL;
    lh_heapprof_site *sites = NULL;
    size_t nd = 0, ns = 0;
    char why[256] = "";
    int rc = lh_heapprof_load(old_path, &a, why, sizeof why);
    if (rc == 0)
        rc = lh_heapprof_load(new_path, &b, why, sizeof why);
    if (rc < 0) {
        fprintf(stderr, "leak-hunt: cannot read heap profile: %s\n", why);
        goto out;
    }
    rc = lh_heapprof_diff(a, b, &d, &nd);
    if (rc == 0)
        rc = lh_heapprof_symtab_new(b, &st);
    if (rc == 0)
        /* whole chains (depth 0): library_entry() looks past the first
         * two frames; the loop below merges what it shows alike */
        rc = lh_heapprof_sites(st, d, nd, 0, NULL, &sites, &ns);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < ns; i++) {
        const lh_heapprof_site *x = &sites[i];
        if (x->inuse_bytes <= 0 || x->nchain == 0)
            continue;
        size_t top = library_entry(x);
        const lh_heapprof_frame *f0 = x->chain[top];
        lh_site site;
        memset(&site, 0, sizeof site);
        snprintf(site.function, sizeof site.function, "%s",
                 f0->fn ? f0->fn : "??");
        /* the caller: the first frame of another function (an inlined
         * frame is followed by the frame of the function it was inlined
         * into, often the same: rpc_handle <- rpc_handle) */
        size_t up = top + 1;
        while (up < x->nchain && f0->fn && x->chain[up]->fn &&
               strcmp(x->chain[up]->fn, f0->fn) == 0)
            up++;
        if (up < x->nchain && x->chain[up]->fn) {
            snprintf(site.caller, sizeof site.caller, "%s",
                     x->chain[up]->fn);
            snprintf(site.caller_file, sizeof site.caller_file, "%s",
                     shorten(x->chain[up]->file));
            site.caller_line = (int)x->chain[up]->line;
        }
        snprintf(site.file, sizeof site.file, "%s", shorten(f0->file));
        site.line = (int)f0->line;
        /* The stage is that of the first frame, from the site outwards,
         * that belongs to one: a leak inside a library is charged to the
         * stage that called it. */
        for (size_t k = 0; k < x->nchain && !site.stage[0]; k++)
            lh_measure_attribute(c->stage_map, x->chain[k]->fn,
                                 shorten(x->chain[k]->file), site.stage,
                                 sizeof site.stage);
        site.bytes = (double)x->inuse_bytes;
        /* Dump work is the total over all processes, so each process's
         * growth per unit adds up to the whole's. */
        site.bytes_per_unit = site.bytes / span;
        int merged = 0;
        for (size_t k = 0; k < c->res->nsites && !merged; k++) {
            lh_site *y = &c->res->sites[k];
            if (strcmp(y->function, site.function) == 0 &&
                strcmp(y->caller, site.caller) == 0 &&
                strcmp(y->file, site.file) == 0 && y->line == site.line) {
                y->bytes += site.bytes;
                y->bytes_per_unit += site.bytes_per_unit;
                merged = 1;
            }
        }
        if (!merged) {
            rc = lh_run_result_add_site(c->res, &site);
            if (rc < 0)
                goto out;
        }
    }
out:
    lh_heapprof_sites_free(sites, ns);
    lh_heapprof_symtab_free(st);
    lh_free(d);
    lh_heapprof_free(a);
    lh_heapprof_free(b);
    return rc;
}

static int heap_finish(lh_tool_ctx *c)
{
    heap_state *s = c->state;
    if (s == NULL)
        return 0;
    for (size_t p = 0; p < s->nprocs; p++) {
        /* base: this process's first dump after the first 20% of the work
         * its dumps span; last: its last dump. */
        const dump *first = NULL, *last = NULL, *base = NULL;
        char path[1200];
        for (size_t i = 0; i < s->ndumps; i++) {
            if (s->dumps[i].pid != s->pids[p])
                continue;
            /* A dump asked for just before the stop may never have been
             * written: use the dumps that exist. */
            profile_path(c, &s->dumps[i], path, sizeof path);
            if (access(path, R_OK) != 0)
                continue;
            if (first == NULL)
                first = &s->dumps[i];
            last = &s->dumps[i];
        }
        if (first == NULL || first == last)
            continue;
        double cut = first->work + 0.2 * (last->work - first->work);
        for (size_t i = 0; i < s->ndumps && base == NULL; i++) {
            profile_path(c, &s->dumps[i], path, sizeof path);
            if (s->dumps[i].pid == s->pids[p] && s->dumps[i].work >= cut &&
                access(path, R_OK) == 0)
                base = &s->dumps[i];
        }
        if (base == NULL || base == last || last->work <= base->work)
            continue;
        char a[1200], b[1200];
        profile_path(c, base, a, sizeof a);
        profile_path(c, last, b, sizeof b);
        int rc = add_growth(c, a, b, last->work - base->work);
        if (rc == LH_ENOMEM)
            return rc;
    }
    return 0;
}

static void heap_cleanup(lh_tool_ctx *c)
{
    lh_free(c->state);
    c->state = NULL;
}

const lh_tool lh_tool_heap = {
    .name = "heap",
    .prepare = heap_prepare,
    .tick = heap_tick,
    .finish = heap_finish,
    .cleanup = heap_cleanup,
};
