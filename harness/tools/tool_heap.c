/*
 * heap: gperftools' heap profiler in every process under test.
 *
 * Each process runs under `leak-hunt __heap-wrap` (cmd_heapwrap.c), which
 * preloads tcmalloc and our shim (harness/shim/heapshim.c) into the
 * programs that can take them.  The shim writes each process's live heap
 * as tcmalloc counts it every 100 ms (heap-live.log: the sampler takes the
 * heap series from there, never from the processes' heap= figures) and
 * dumps a profile when asked.  Every couple of seconds the tool asks (it
 * writes the request's number in heap-dump.req: no signal, so no process
 * can be killed by one, and nothing waits for a dump) and notes the work
 * done then (only the last request, before the target is stopped, is
 * waited for, up to a second, from the processes that answered the one
 * before).  A profile appears as heap.<pid>.<request>.heap once
 * complete, for every process that has the shim, children of the
 * processes under test included (each under its own pid).  At the end,
 * each process's dumps from its first after the warm-up on give each
 * allocation site (heapprof.c parses and symbolises) a series of bytes
 * over that base dump, and the rise of the site's floor along it, per unit
 * of work, is the site's bytes per unit (process_growth).  The profiles
 * stay in the run directory for google-pprof.  The processes the wrapper
 * left without the profiler (built with a sanitizer, with an allocator of
 * their own, statically linked: heap-wrap.log), and the processes under
 * test that reported stats lines without it, are named in the run's
 * `skipped` note.
 */
#include "tool.h"

#include "alloc.h"
#include "clock.h"
#include "doctor.h"
#include "error.h"
#include "heaplog.h"
#include "heapprof.h"
#include "measure.h"
#include "slope.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LH_TCMALLOC_SO
#define LH_TCMALLOC_SO "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4"
#endif

#define DUMP_EVERY_S 2.0
#define MAX_REQUESTS 65536
#define MAX_UNPROFILED 16
#define MAX_SKIP_ROWS 8
/* How long the last request's dumps are waited for. */
#define LAST_WAIT_MS 1000

typedef struct dump {
    pid_t pid;
    int seq;     /* the request it answers: heap.<pid>.<seq>.heap */
    double work;
} dump;

typedef struct heap_state {
    double *work;          /* work done at request n: work[n - 1] */
    size_t nreqs, cap;
    pid_t unprofiled[MAX_UNPROFILED]; /* reported stats, had no shim */
    size_t nunprofiled;
    pid_t checked[64];     /* pids whose maps were read */
    size_t nchecked;
    char request[1100], tmp[1110];
} heap_state;

/* "cannot use the heap tool" with the doctor's words for a missing
 * file. */
static int missing(lh_tool_ctx *c, const char *what, const char *path,
                   const char *fix)
{
    if (strcmp(what, "tcmalloc") == 0) {
        lh_doctor_check chk; /* the doctor's check words problem and fix */
        lh_doctor_tcmalloc(path, &chk);
        snprintf(c->res->error, sizeof c->res->error,
                 "cannot use the heap tool: %s; fix: %s ('leak-hunt doctor' "
                 "checks every tool)", chk.text, chk.fix);
    } else {
        snprintf(c->res->error, sizeof c->res->error,
                 "cannot use the heap tool: %.900s not found; fix: %s", path,
                 fix);
    }
    return LH_ETOOL;
}

static int heap_prepare(lh_tool_ctx *c)
{
    char shim[1100];
    snprintf(shim, sizeof shim, "%s/%s", c->bindir, LH_HEAPLOG_SHIM);
    if (access(LH_TCMALLOC_SO, R_OK) != 0)
        return missing(c, "tcmalloc", LH_TCMALLOC_SO, NULL);
    if (access(shim, R_OK) != 0)
        return missing(c, "shim", shim, "build leak-hunt's target "
                       "leakhunt-heap (it is built with leak-hunt)");
    heap_state *s = lh_calloc(1, sizeof *s);
    if (s == NULL)
        return LH_ENOMEM;
    c->state = s;
    snprintf(s->request, sizeof s->request, "%s/%s", c->dir,
             LH_HEAPLOG_REQUEST);
    snprintf(s->tmp, sizeof s->tmp, "%s.tmp", s->request);
    snprintf(c->heap_log, sizeof c->heap_log, "%s/%s", c->dir,
             LH_HEAPLOG_LIVE);
    snprintf(c->wrap, sizeof c->wrap, "%s/leak-hunt __heap-wrap %s",
             c->bindir, c->dir);
    c->tick_seconds = DUMP_EVERY_S;
    c->grace_ms = 10000;
    return 0;
}

/* 1 when the process has our shim (and so the profiler) mapped. */
static int has_shim(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 1; /* gone: nothing to say about it */
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "/" LH_HEAPLOG_SHIM) != NULL;
    fclose(f);
    return found;
}

/* Notes, once per pid, a process under test that runs without the shim
 * (a child started without LEAKHUNT_WRAP and without our LD_PRELOAD). */
static void check_profiled(heap_state *s, pid_t pid)
{
    for (size_t i = 0; i < s->nchecked; i++)
        if (s->checked[i] == pid)
            return;
    if (s->nchecked < sizeof s->checked / sizeof s->checked[0])
        s->checked[s->nchecked++] = pid;
    if (!has_shim(pid) && s->nunprofiled < MAX_UNPROFILED)
        s->unprofiled[s->nunprofiled++] = pid;
}

/* 1 when `name` is a profile's, heap.<pid>.<request>.heap. */
static int dump_name(const char *name, int *pid, int *seq)
{
    char tail[8];
    return sscanf(name, "heap.%d.%d%7s", pid, seq, tail) == 3 &&
           strcmp(tail, ".heap") == 0 && *pid > 0 && *seq > 0;
}

/* 1 when heap.<pid>.<n>.heap exists. */
static int have_dump(const lh_tool_ctx *c, pid_t pid, size_t n)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/heap.%d.%04zu.heap", c->dir, (int)pid, n);
    return access(path, F_OK) == 0;
}

/* The last request before the target stops: waits, up to LAST_WAIT_MS,
 * for the dumps of the processes that answered the one before (they are
 * alive and have the shim; any other is never waited for). */
static void await_last(const lh_tool_ctx *c, size_t n)
{
    pid_t pids[64];
    size_t np = 0;
    DIR *d = opendir(c->dir);
    struct dirent *e;
    while (d && np < 64 && (e = readdir(d)) != NULL) {
        int pid, seq;
        if (dump_name(e->d_name, &pid, &seq) && (size_t)seq == n - 1)
            pids[np++] = pid;
    }
    if (d)
        closedir(d);
    int64_t deadline = lh_now_us() + LAST_WAIT_MS * 1000;
    for (size_t i = 0; i < np; i++)
        while (!have_dump(c, pids[i], n) && lh_now_us() < deadline)
            lh_sleep_us(20000);
}

/* Asks every shim for a dump (heap-dump.req replaced whole) and notes
 * the work done now.  Never waits for a dump: the profiles are collected
 * by finish, and a request a process did not answer has no file. */
static int heap_tick(lh_tool_ctx *c)
{
    heap_state *s = c->state;
    for (size_t i = 0; i < c->npids; i++)
        check_profiled(s, c->pids[i]);
    if (s->nreqs == MAX_REQUESTS ||
        lh_grow((void **)&s->work, &s->cap, s->nreqs + 1, sizeof *s->work,
                256) < 0)
        return 0;
    FILE *f = fopen(s->tmp, "w");
    if (f == NULL)
        return 0;
    int bad = fprintf(f, "%zu\n", s->nreqs + 1) < 0;
    if (fclose(f) != 0 || bad || rename(s->tmp, s->request) != 0)
        return 0;
    s->work[s->nreqs++] = c->work;
    if (c->last && s->nreqs > 1)
        await_last(c, s->nreqs);
    return 0;
}

static void profile_path(const lh_tool_ctx *c, const dump *d, char *buf,
                         size_t cap)
{
    snprintf(buf, cap, "%s/heap.%d.%04d.heap", c->dir, (int)d->pid, d->seq);
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
 * base profile, symbolised with st (one symbol table for all the
 * process's profiles: building one reads the DWARF of every mapping, a
 * tenth of a second a profile). */
static int collect(const lh_tool_ctx *c, const lh_heapprof *base,
                   lh_heapprof_symtab *st, const char *path, site_table *t,
                   size_t k)
{
    lh_heapprof *b = NULL;
    lh_heapprof_delta *d = NULL;
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
static int process_growth(lh_tool_ctx *c, const dump *dumps, size_t n)
{
    lh_heapprof *base = NULL, *last = NULL;
    lh_heapprof_symtab *st = NULL;
    site_table t;
    double *work = lh_calloc(n, sizeof *work);
    char path[1200], why[256] = "";
    int rc;

    memset(&t, 0, sizeof t);
    t.npoints = n;
    if (work == NULL)
        return LH_ENOMEM;
    for (size_t i = 0; i < n; i++)
        work[i] = dumps[i].work;
    profile_path(c, &dumps[0], path, sizeof path);
    rc = lh_heapprof_load(path, &base, why, sizeof why);
    if (rc < 0) {
        fprintf(stderr, "leak-hunt: cannot read heap profile: %s\n", why);
        goto out;
    }
    /* the last profile's mappings cover the earlier ones' */
    profile_path(c, &dumps[n - 1], path, sizeof path);
    rc = lh_heapprof_load(path, &last, why, sizeof why);
    if (rc == 0)
        rc = lh_heapprof_symtab_new(last, &st);
    if (rc < 0) {
        if (why[0])
            fprintf(stderr, "leak-hunt: cannot read heap profile: %s\n", why);
        goto out;
    }
    for (size_t k = 1; k < n; k++) {
        profile_path(c, &dumps[k], path, sizeof path);
        rc = collect(c, base, st, path, &t, k);
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
    lh_heapprof_symtab_free(st);
    lh_heapprof_free(last);
    lh_heapprof_free(base);
    lh_free(work);
    return rc;
}

static int by_pid_then_request(const void *a, const void *b)
{
    const dump *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The profiles in the run directory that answer one of our requests
 * (heap.<pid>.<request>.heap), by pid, then request.  0 or LH_ENOMEM. */
static int find_dumps(const lh_tool_ctx *c, dump **out, size_t *n)
{
    const heap_state *s = c->state;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    DIR *d = opendir(c->dir);
    if (d == NULL)
        return 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        int pid, seq;
        if (!dump_name(e->d_name, &pid, &seq) || (size_t)seq > s->nreqs)
            continue;
        double w = s->work[seq - 1];
        if (c->seg_to > 0 && (w < c->seg_from || w > c->seg_to))
            continue; /* (another segment's, in a live run) */
        rc = lh_grow((void **)out, &cap, *n + 1, sizeof **out, 64);
        if (rc == 0)
            (*out)[(*n)++] = (dump){pid, seq, s->work[seq - 1]};
    }
    closedir(d);
    if (*n > 1)
        qsort(*out, *n, sizeof **out, by_pid_then_request);
    return rc < 0 ? LH_ENOMEM : 0;
}

/* One process's dumps (in request order): from its first dump after the
 * first 20% of the work they span, the base, on (a live segment's: from
 * its first, taken once it settled). */
static int one_process(lh_tool_ctx *c, const dump *d, size_t n)
{
    if (n < 2)
        return 0;
    double share = c->seg_to > 0 ? 0 : 0.2;
    double cut = d[0].work + share * (d[n - 1].work - d[0].work);
    size_t b = 0;
    while (b < n && d[b].work < cut)
        b++;
    if (b + 1 >= n || d[n - 1].work <= d[b].work)
        return 0;
    return process_growth(c, d + b, n - b);
}

/* Appends text to the run's `skipped` note ("; " between parts). */
static void add_skipped(lh_run_result *res, const char *text)
{
    size_t len = strlen(res->skipped);
    if (len + 3 >= sizeof res->skipped)
        return;
    int room = (int)(sizeof res->skipped - len - 3);
    snprintf(res->skipped + len, sizeof res->skipped - len, "%s%.*s",
             len ? "; " : "", room, text);
}

/* Processes skipped for one reason: the reason, once, with their pids. */
typedef struct skip_row {
    char text[700];
    pid_t pids[MAX_UNPROFILED];
    size_t n;
} skip_row;

typedef struct skip_table {
    skip_row rows[MAX_SKIP_ROWS];
    size_t n;
} skip_table;

/* Notes pid under `text` (a row per distinct text; pids past the room
 * are left out). */
static void skip_add(skip_table *t, pid_t pid, const char *text)
{
    skip_row *r = NULL;
    for (size_t i = 0; i < t->n && r == NULL; i++)
        if (strcmp(t->rows[i].text, text) == 0)
            r = &t->rows[i];
    if (r == NULL) {
        if (t->n == MAX_SKIP_ROWS)
            return;
        r = &t->rows[t->n++];
        snprintf(r->text, sizeof r->text, "%s", text);
    }
    if (r->n < MAX_UNPROFILED)
        r->pids[r->n++] = pid;
}

static int skipped_pid(const skip_table *t, pid_t pid)
{
    for (size_t i = 0; i < t->n; i++)
        for (size_t k = 0; k < t->rows[i].n; k++)
            if (t->rows[i].pids[k] == pid)
                return 1;
    return 0;
}

/* The rows of heap-wrap.log ("pid=<pid> <program>: <why>; <instead>"). */
static void read_wrap_log(const lh_tool_ctx *c, skip_table *t)
{
    char path[1200], line[1200];
    snprintf(path, sizeof path, "%s/%s", c->dir, LH_HEAPLOG_WRAP);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
        int pid = 0, skip = 0;
        line[strcspn(line, "\n")] = '\0';
        if (sscanf(line, "pid=%d %n", &pid, &skip) == 1 && pid > 0 && skip)
            skip_add(t, pid, line + skip);
    }
    if (f)
        fclose(f);
}

/* The run's `skipped` note: the processes the wrapper left without the
 * profiler, then the processes under test that had none without a word
 * from the wrapper, one entry per reason ("pid=12 ..." or "pids=12,34
 * ..."); said once on stderr too. */
static void note_skipped(lh_tool_ctx *c)
{
    heap_state *s = c->state;
    skip_table t;
    memset(&t, 0, sizeof t);
    read_wrap_log(c, &t);
    for (size_t i = 0; i < s->nunprofiled; i++)
        if (!skipped_pid(&t, s->unprofiled[i]))
            skip_add(&t, s->unprofiled[i],
                     "reported stats lines without the heap profiler "
                     "(started without LEAKHUNT_WRAP, and without the "
                     "LD_PRELOAD it sets): no profile; its live heap from "
                     "its own heap= or RSS");
    for (size_t i = 0; i < t.n; i++) {
        char entry[900];
        size_t len = (size_t)snprintf(entry, sizeof entry, "%s=",
                                      t.rows[i].n > 1 ? "pids" : "pid");
        for (size_t k = 0; k < t.rows[i].n && len < 160; k++)
            len += (size_t)snprintf(entry + len, sizeof entry - len, "%s%d",
                                    k ? "," : "", (int)t.rows[i].pids[k]);
        snprintf(entry + len, sizeof entry - len, " %.700s", t.rows[i].text);
        add_skipped(c->res, entry);
    }
    if (c->res->skipped[0])
        fprintf(stderr, "leak-hunt: heap tool: %s\n", c->res->skipped);
}

static int heap_finish(lh_tool_ctx *c)
{
    dump *all = NULL;
    size_t n = 0;
    note_skipped(c);
    int rc = find_dumps(c, &all, &n);
    for (size_t i = 0, j; rc == 0 && i < n; i = j) {
        for (j = i; j < n && all[j].pid == all[i].pid; j++)
            ;
        rc = one_process(c, all + i, j - i);
        if (rc != LH_ENOMEM)
            rc = 0;
    }
    lh_free(all);
    return rc;
}

static void heap_cleanup(lh_tool_ctx *c)
{
    heap_state *s = c->state;
    if (s)
        lh_free(s->work);
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
