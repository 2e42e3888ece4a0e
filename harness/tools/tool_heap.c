/*
 * heap: gperftools' heap profiler in every process under test.
 *
 * Each process runs under `leak-hunt __heap-wrap` (tcmalloc preloaded,
 * its own profile prefix, SIGUSR2 dumps a profile).  Every couple of
 * seconds the tool signals each process and notes the work done at that
 * dump.  With tcmalloc loaded, the processes' own heap= figures come from
 * tcmalloc's counter, which is the signal the runner decides on.  At the
 * end, each process's dumps from its first after the warm-up on give each
 * allocation site (heapprof.c parses and symbolises) a series of bytes
 * over that base dump, and the rise of the site's floor along it, per unit
 * of work, is the site's bytes per unit (process_growth).  The profiles
 * stay in the run directory for google-pprof.
 */
#include "tool.h"

#include "alloc.h"
#include "clock.h"
#include "doctor.h"
#include "error.h"
#include "heapprof.h"
#include "measure.h"
#include "slope.h"

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

/* One site of one process through its dumps after the base dump. */
typedef struct site_row {
    lh_site site; /* what and where (its byte figures unused here) */
    double *v;    /* bytes over the base at each dump (v[0]: the base, 0) */
} site_row;

typedef struct site_table {
    site_row *rows;
    size_t n, cap;
    size_t npoints; /* the base and the dumps after it */
} site_table;

static void table_free(site_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        lh_free(t->rows[i].v);
    lh_free(t->rows);
    memset(t, 0, sizeof *t);
}

static int same_site(const lh_site *a, const lh_site *b)
{
    return strcmp(a->function, b->function) == 0 &&
           strcmp(a->caller, b->caller) == 0 &&
           strcmp(a->file, b->file) == 0 && a->line == b->line;
}

static site_row *table_row(site_table *t, const lh_site *site)
{
    for (size_t i = 0; i < t->n; i++)
        if (same_site(&t->rows[i].site, site))
            return &t->rows[i];
    if (lh_grow((void **)&t->rows, &t->cap, t->n + 1, sizeof *t->rows, 64) <
        0)
        return NULL;
    double *v = lh_calloc(t->npoints, sizeof *v);
    if (v == NULL)
        return NULL;
    site_row *row = &t->rows[t->n++];
    row->site = *site;
    row->v = v;
    return row;
}

/* Describes a site of a diff the way the report shows it. */
static void describe_site(const lh_tool_ctx *c, const lh_heapprof_site *x,
                          lh_site *site)
{
    size_t top = library_entry(x);
    const lh_heapprof_frame *f0 = x->chain[top];
    memset(site, 0, sizeof *site);
    snprintf(site->function, sizeof site->function, "%s",
             f0->fn ? f0->fn : "??");
    /* the caller: the first frame of another function (an inlined frame
     * is followed by the frame of the function it was inlined into, often
     * the same: rpc_handle <- rpc_handle) */
    size_t up = top + 1;
    while (up < x->nchain && f0->fn && x->chain[up]->fn &&
           strcmp(x->chain[up]->fn, f0->fn) == 0)
        up++;
    if (up < x->nchain && x->chain[up]->fn) {
        snprintf(site->caller, sizeof site->caller, "%s", x->chain[up]->fn);
        snprintf(site->caller_file, sizeof site->caller_file, "%s",
                 shorten(x->chain[up]->file));
        site->caller_line = (int)x->chain[up]->line;
    }
    snprintf(site->file, sizeof site->file, "%s", shorten(f0->file));
    site->line = (int)f0->line;
    /* The stage is that of the first frame, from the site outwards, that
     * belongs to one: a leak inside a library is charged to the stage that
     * called it. */
    for (size_t k = 0; k < x->nchain && !site->stage[0]; k++)
        lh_measure_attribute(c->stage_map, x->chain[k]->fn,
                             shorten(x->chain[k]->file), site->stage,
                             sizeof site->stage);
}

/* Notes, at point k of the table, each site's bytes in `path` over the
 * base profile. */
static int collect(const lh_tool_ctx *c, const lh_heapprof *base,
                   const char *path, site_table *t, size_t k)
{
    lh_heapprof *b = NULL;
    lh_heapprof_delta *d = NULL;
    lh_heapprof_symtab *st = NULL;
    lh_heapprof_site *sites = NULL;
    size_t nd = 0, ns = 0;
    char why[256] = "";
    int rc = lh_heapprof_load(path, &b, why, sizeof why);
    if (rc < 0) {
        fprintf(stderr, "leak-hunt: cannot read heap profile: %s\n", why);
        goto out;
    }
    rc = lh_heapprof_diff(base, b, &d, &nd);
    if (rc == 0)
        rc = lh_heapprof_symtab_new(b, &st);
    if (rc == 0)
        /* whole chains (depth 0): library_entry() looks past the first
         * two frames; rows merge what it shows alike */
        rc = lh_heapprof_sites(st, d, nd, 0, NULL, &sites, &ns);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < ns; i++) {
        const lh_heapprof_site *x = &sites[i];
        if (x->nchain == 0 || x->inuse_bytes == 0)
            continue;
        lh_site site;
        describe_site(c, x, &site);
        site_row *row = table_row(t, &site);
        if (row == NULL) {
            rc = LH_ENOMEM;
            goto out;
        }
        row->v[k] += (double)x->inuse_bytes;
    }
out:
    lh_heapprof_sites_free(sites, ns);
    lh_heapprof_symtab_free(st);
    lh_free(d);
    lh_heapprof_free(b);
    return rc;
}

/*
 * The growth of one process's sites from its base dump through each later
 * dump, per unit: for a site that only grew, its growth from the base to
 * the last dump; for a site whose blocks come and go (in_flight), the rise
 * of its floor (lh_slope_floor_rise), not its change between two dumps.
 * Events in flight are such a site: the difference of the base and the
 * last dump gave them 16.5 B/event in a 300k-event run (the queue was
 * fuller at the end), over a 4 B/event lost block; their floor stays put
 * unless the queue's does.  A leak among short-lived blocks raises it.
 */
static int process_growth(lh_tool_ctx *c, const dump *const *dumps,
                          size_t n)
{
    lh_heapprof *base = NULL;
    site_table t;
    double *work = lh_calloc(n, sizeof *work);
    char path[1200], why[256] = "";
    int rc;

    memset(&t, 0, sizeof t);
    t.npoints = n;
    if (work == NULL)
        return LH_ENOMEM;
    for (size_t i = 0; i < n; i++)
        work[i] = dumps[i]->work;
    profile_path(c, dumps[0], path, sizeof path);
    rc = lh_heapprof_load(path, &base, why, sizeof why);
    if (rc < 0) {
        fprintf(stderr, "leak-hunt: cannot read heap profile: %s\n", why);
        goto out;
    }
    for (size_t k = 1; k < n; k++) {
        profile_path(c, dumps[k], path, sizeof path);
        rc = collect(c, base, path, &t, k);
        if (rc < 0)
            goto out;
    }
    double span = work[n - 1] - work[0];
    for (size_t i = 0; i < t.n; i++) {
        const double *v = t.rows[i].v;
        lh_site site = t.rows[i].site;
        for (size_t k = 1; k < n; k++)
            if (v[k] < v[k - 1])
                site.in_flight = 1;
        /* a site that only grew: its whole growth over the whole span */
        double rate = site.in_flight ? lh_slope_floor_rise(work, v, n)
                                     : (v[n - 1] - v[0]) / span;
        if (!(rate > 0))
            continue;
        /* Dump work is the total over all processes, so each process's
         * growth per unit adds up to the whole's. */
        site.bytes_per_unit = rate;
        site.bytes = rate * span;
        int merged = 0;
        for (size_t k = 0; k < c->res->nsites && !merged; k++) {
            lh_site *y = &c->res->sites[k];
            if (same_site(y, &site)) {
                y->bytes += site.bytes;
                y->bytes_per_unit += site.bytes_per_unit;
                y->in_flight |= site.in_flight;
                merged = 1;
            }
        }
        if (!merged) {
            rc = lh_run_result_add_site(c->res, &site);
            if (rc < 0)
                goto out;
        }
    }
    rc = 0;
out:
    table_free(&t);
    lh_heapprof_free(base);
    lh_free(work);
    return rc;
}

static int heap_finish(lh_tool_ctx *c)
{
    heap_state *s = c->state;
    const dump **mine = lh_calloc(s->ndumps ? s->ndumps : 1, sizeof *mine);
    if (mine == NULL)
        return LH_ENOMEM;
    int rc = 0;
    for (size_t p = 0; p < s->nprocs; p++) {
        /* This process's dumps that were written (a dump asked for just
         * before the stop may never have been), from its first dump after
         * the first 20% of the work they span: the base. */
        size_t n = 0;
        char path[1200];
        for (size_t i = 0; i < s->ndumps; i++) {
            profile_path(c, &s->dumps[i], path, sizeof path);
            if (s->dumps[i].pid == s->pids[p] && access(path, R_OK) == 0)
                mine[n++] = &s->dumps[i];
        }
        if (n < 2)
            continue;
        double cut = mine[0]->work + 0.2 * (mine[n - 1]->work - mine[0]->work);
        size_t b = 0;
        while (b < n && mine[b]->work < cut)
            b++;
        if (b + 1 >= n || mine[n - 1]->work <= mine[b]->work)
            continue;
        rc = process_growth(c, mine + b, n - b);
        if (rc == LH_ENOMEM)
            break;
        rc = 0;
    }
    lh_free(mine);
    return rc;
}

static void heap_cleanup(lh_tool_ctx *c)
{
    lh_free(c->state);
    c->state = NULL;
}

const lh_tool lh_tool_heap = {
    .name = "heap",
    .early_looks = 1,
    .prepare = heap_prepare,
    .tick = heap_tick,
    .finish = heap_finish,
    .cleanup = heap_cleanup,
};
