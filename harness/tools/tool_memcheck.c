/*
 * memcheck: valgrind with XML output, plus leak searches during the run.
 *
 * The final XML report alone misses memory that leaks while staying
 * reachable (the story's bug: valgrind's default summary was silent), so
 * every half second the tool asks every process under test (side by
 * side: each has its own valgrind) for `leak_check full reachable
 * changed` through vgdb (the `increased` search that also reports what
 * shrank).  Each answer gives the bytes in use (the LEAK SUMMARY, summed
 * over processes: the measured series, charted in the report) and the
 * loss records that changed since the previous search.  Every loss record
 * (one allocation stack in one process) is followed through the run; the
 * decision's signal and each allocation site's growth are made of them
 * (below, and mc_finish).  At the end the XML files give what was lost for
 * good and memcheck's other errors, which the report lists apart from
 * leaks.
 *
 * The decision's signal (mc_signal) is not the bytes in use as they are.
 * On the clean pipeline those move by megabytes for two reasons that are
 * not leaks: events in flight (the B nodes' items and RPC bodies, up and
 * down with the load: +-1.5 MB per node under valgrind) and buffers that
 * double up to their high-water mark (socket readers and writers: 1-4
 * steps of 64 KiB .. 1 MiB per record in a run, then nothing).  Measured
 * on three runs, the bytes in use of a clean run fitted +4.9 B/event (a
 * false leak), and a 4 B/event definitely-lost leak fitted +9.1.  So every
 * loss record (one allocation stack in one process) is followed through
 * the run, and
 *   - a record that never shrank and grew at most in a third of the leak
 *     searches after the warm-up (a buffer reaching its high-water mark)
 *     is held at its level at the warm-up's end: its steps are set aside
 *     (and named in the verdict);
 *   - records that shrank at some point (events in flight) are summed and
 *     enter as the running maximum of that sum: the high-water mark of
 *     what is in flight, which levels off unless something in it keeps
 *     growing (a leak hidden among short-lived blocks of the same stack,
 *     like the ABI scenario's, still raises it);
 *   - a record that never shrank and grew in most searches (a leak: even
 *     32 bytes every 8th event grows between every two searches) enters as
 *     it is.
 * On the same three runs: clean 0.00 B/event (clean, step), 4 B/event
 * lost 3.96, 64 B/event reachable 63.9.  The price: a leak that grows in
 * rare large steps (a block of 1 MiB every 100k events) is set aside here
 * like a buffer; rss and heap, which see it, remain the tools for it.
 */
#include "tool.h"

#include "alloc.h"
#include "buf.h"
#include "clock.h"
#include "doctor.h"
#include "error.h"
#include "preload.h"
#include "slope.h"
#include "process.h"
#include "vgxml.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEARCH_EVERY_S 0.5
/* A leak search that has not answered by then is stopped: SIGTERM (vgdb
 * then lets go of the process it may be ptracing), and SIGKILL after the
 * grace. */
#define SEARCH_TIMEOUT_US (60 * 1000000LL)
#define SEARCH_STOP_GRACE_MS 5000
#define SEARCH_STEP_US 100000 /* how often a search checks its process */
/* Bounds a hang of the start-up check only. */
#define CHECK_TIMEOUT_MS 120000
#define MAX_TRACKED 512
#define MAX_RECORDS 4096

typedef struct grown {
    lh_site site;
    double bytes; /* growth after the warm-up (mc_finish) */
} grown;

/* One loss record (an allocation stack of one process) through the run. */
typedef struct record {
    uint64_t key; /* pid, kind and stack */
    int site;     /* its allocation site in mc_state.sites, or -1 */
    double cur;   /* bytes at the latest search */
    double *v;    /* bytes at each round (mc_state.nrounds of them) */
} record;

typedef struct mc_state {
    grown sites[MAX_TRACKED];
    size_t nsites;
    record *recs;
    size_t nrecs, caprecs;
    size_t nrounds, caprounds; /* rounds = points of the tool's series */
    int searches;      /* completed rounds over all pids */
    int vgdb_failed;
} mc_state;

/* Runs `valgrind --tool=memcheck --version`, then memcheck on `true`:
 * 1 when both work; else 0 with res->error saying why and what fixes it
 * (the doctor's words when its check sees the problem too). */
static int valgrind_works(lh_tool_ctx *c)
{
    char *const version[] = {"valgrind", "--tool=memcheck", "--version",
                             NULL};
    char *const run[] = {"valgrind", "--tool=memcheck", "-q", "true", NULL};
    lh_spawn_opts o = {.argv = version};
    char out[1024] = "";
    int st = 0;
    lh_spawn_capture(&o, out, sizeof out, CHECK_TIMEOUT_MS, &st);
    size_t n = strlen(out);
    o.argv = run;
    int rc = lh_spawn_capture(&o, out + n, sizeof out - n, CHECK_TIMEOUT_MS,
                              &st);
    n = strlen(out);
    if (rc == 0 && st == 0 && strstr(out, "valgrind-") != NULL)
        return 1;
    lh_doctor_check chk; /* the doctor's check words the problem and fix */
    if (lh_doctor_valgrind(&chk) != 0)
        snprintf(c->res->error, sizeof c->res->error,
                 "%s; fix: %s ('leak-hunt doctor' checks every tool)",
                 chk.text, chk.fix);
    else
        snprintf(c->res->error, sizeof c->res->error,
                 "cannot start valgrind (%s); 'leak-hunt doctor' checks it",
                 n ? strtok(out, "\n") : "no output");
    return 0;
}

static int mc_refuses(char *const *argv, char *why, size_t cap)
{
    return lh_preload_valgrind_refuses(argv[0], why, cap);
}

static int mc_prepare(lh_tool_ctx *c)
{
    if (lh_tool_refuses(&lh_tool_memcheck, c->argv, c->res->error,
                        sizeof c->res->error))
        return LH_ETOOL;
    if (!valgrind_works(c))
        return LH_ETOOL;
    mc_state *s = lh_calloc(1, sizeof *s);
    if (s == NULL)
        return LH_ENOMEM;
    c->state = s;
    char supp[1200] = "";
    if (c->supp)
        snprintf(supp, sizeof supp, " --suppressions=%s", c->supp);
    snprintf(c->wrap, sizeof c->wrap,
             "valgrind --tool=memcheck --xml=yes --xml-file=%s/memcheck.%%p.xml"
             " --log-file=%s/valgrind.%%p.log --vgdb=yes --vgdb-error=999999999"
             " --vgdb-prefix=%s/vgdb --leak-check=full --show-leak-kinds=all"
             " --num-callers=40%s",
             c->dir, c->dir, c->dir, supp);
    c->grace_ms = 60000;
    c->tick_seconds = SEARCH_EVERY_S;
    return 0;
}

static grown *find_site(mc_state *s, const lh_site *key)
{
    for (size_t i = 0; i < s->nsites; i++)
        if (strcmp(s->sites[i].site.function, key->function) == 0 &&
            strcmp(s->sites[i].site.file, key->file) == 0 &&
            s->sites[i].site.line == key->line &&
            strcmp(s->sites[i].site.kind, key->kind) == 0)
            return &s->sites[i];
    if (s->nsites == MAX_TRACKED)
        return NULL;
    grown *g = &s->sites[s->nsites++];
    memset(g, 0, sizeof *g);
    g->site = *key;
    return g;
}

static const char *kind_text(lh_vgxml_kind k)
{
    switch (k) {
    case LH_VG_LEAK_DEFINITELY_LOST:
        return "definitely lost";
    case LH_VG_LEAK_INDIRECTLY_LOST:
        return "indirectly lost";
    case LH_VG_LEAK_POSSIBLY_LOST:
        return "possibly lost";
    default:
        return "still reachable";
    }
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= UINT64_C(0x100000001b3); /* FNV-1a */
    }
    return h;
}

/* The record's latest size, from one loss record of a search ("changed"
 * searches print only what changed: the others keep their size).  A record
 * past MAX_RECORDS, or one that cannot be stored, is not followed: its
 * bytes stay in the measured series but not in the decision's. */
static void note_record(mc_state *s, pid_t pid, const lh_vgxml_error *e,
                        int site)
{
    uint64_t key = mix(UINT64_C(0xcbf29ce484222325), (uint64_t)pid);
    key = mix(key, (uint64_t)e->kind);
    for (size_t i = 0; i < e->stack.nframes; i++)
        key = mix(key, e->stack.frames[i].ip);
    for (size_t i = 0; i < s->nrecs; i++)
        if (s->recs[i].key == key) {
            s->recs[i].cur = (double)e->leaked_bytes;
            return;
        }
    if (s->nrecs == MAX_RECORDS ||
        lh_grow((void **)&s->recs, &s->caprecs, s->nrecs + 1, sizeof *s->recs,
                64) < 0)
        return;
    double *v = NULL;
    if (s->caprounds > 0) {
        v = lh_calloc(s->caprounds, sizeof *v); /* 0 before it was seen */
        if (v == NULL)
            return;
    }
    record *r = &s->recs[s->nrecs++];
    r->key = key;
    r->site = site;
    r->cur = (double)e->leaked_bytes;
    r->v = v;
}

/* Closes a round: every record's size now is its value at this round. */
static int end_round(mc_state *s)
{
    if (s->nrounds == s->caprounds) {
        size_t cap = s->caprounds ? 2 * s->caprounds : 64;
        for (size_t i = 0; i < s->nrecs; i++) {
            double *v = lh_realloc(s->recs[i].v, cap * sizeof *v);
            if (v == NULL)
                return LH_ENOMEM; /* those grown so far keep their size */
            memset(v + s->caprounds, 0, (cap - s->caprounds) * sizeof *v);
            s->recs[i].v = v;
        }
        s->caprounds = cap;
    }
    for (size_t i = 0; i < s->nrecs; i++)
        s->recs[i].v[s->nrounds] = s->recs[i].cur;
    s->nrounds++;
    return 0;
}

/* One leak search on one process, started: vgdb, through the process's
 * own FIFOs, asks its valgrind for `leak_check full reachable changed`
 * (the searches of a round run side by side: each process under test is
 * scanned by its own valgrind).  0, or LH_ESYS. */
static int search_start(lh_tool_ctx *c, pid_t pid, lh_proc *p)
{
    char prefix[1200], pidopt[32];
    snprintf(prefix, sizeof prefix, "--vgdb-prefix=%s/vgdb", c->dir);
    snprintf(pidopt, sizeof pidopt, "--pid=%d", (int)pid);
    char *const argv[] = {"vgdb",      prefix,      pidopt,  "leak_check",
                          "full",      "reachable", "changed", NULL};
    lh_spawn_opts o = {.argv = argv, .out = LH_SPAWN_PIPE};
    return lh_spawn(&o, p);
}

/* What the search's vgdb says, into *text (all of it, or what fitted),
 * kept in the run directory for the raw data; vgdb is waited for until
 * the deadline, or until the searched process dies (a crash mid-search:
 * vgdb then waits on a FIFO that a surviving forked child of the target
 * still holds open, and the crash was reported only at the deadline, a
 * minute later), then stopped: at once when the process is gone. */
static void search_read(lh_tool_ctx *c, pid_t pid, lh_proc *p,
                        int64_t deadline, lh_buf *text)
{
    int rc, gone = 0;
    do {
        int64_t step = lh_now_us() + SEARCH_STEP_US;
        rc = lh_proc_read(p, text, SIZE_MAX, step < deadline ? step : deadline);
    } while (rc == LH_ETIMEOUT && lh_now_us() < deadline &&
             !(gone = lh_pid_gone(pid)));
    if (rc == 0)
        lh_proc_wait(p, deadline);
    lh_proc_stop(p, gone ? 0 : SEARCH_STOP_GRACE_MS);
    char path[1200];
    snprintf(path, sizeof path, "%s/leak-search.%d.txt", c->dir, (int)pid);
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "# work=%.0f\n", c->work);
        fwrite(lh_buf_peek(text) ? (const void *)lh_buf_peek(text) : "", 1,
               lh_buf_len(text), f);
        fclose(f);
    }
}

/* The allocation site of a loss record as the report shows it: the site
 * frame and its caller, the first frame after the site in another
 * function (an inlined frame repeats the site's own). */
static void record_site(const lh_vgxml_error *e, lh_site *key)
{
    const lh_vgxml_frame *fr = lh_vgxml_site(&e->stack);
    memset(key, 0, sizeof *key);
    snprintf(key->function, sizeof key->function, "%s",
             fr && fr->fn ? fr->fn : "???");
    snprintf(key->file, sizeof key->file, "%s",
             fr && fr->file ? fr->file : "");
    key->line = fr ? (int)fr->line : 0;
    snprintf(key->kind, sizeof key->kind, "%s", kind_text(e->kind));
    if (fr == NULL)
        return;
    const lh_vgxml_frame *end = e->stack.frames + e->stack.nframes;
    const lh_vgxml_frame *up = fr + 1;
    while (up < end && up->fn && fr->fn && strcmp(up->fn, fr->fn) == 0)
        up++;
    if (up < end && up->fn) {
        snprintf(key->caller, sizeof key->caller, "%s", up->fn);
        snprintf(key->caller_file, sizeof key->caller_file, "%s",
                 up->file ? up->file : "");
        key->caller_line = (int)up->line;
    }
}

/* Parses a search's answer: notes each loss record it gives, and returns
 * the bytes in use (the LEAK SUMMARY), or -1 without one. */
static double search_parse(mc_state *s, pid_t pid, const lh_buf *text)
{
    lh_vgxml_report *r = NULL;
    double in_use = -1;
    const char *t = lh_buf_peek(text) ? (const char *)lh_buf_peek(text) : "";
    if (lh_vgxml_parse_leak_text(t, lh_buf_len(text), &r, NULL, 0) == 0 &&
        r->has_summary) {
        in_use = (double)(r->definitely_lost.bytes + r->indirectly_lost.bytes +
                          r->possibly_lost.bytes + r->still_reachable.bytes);
        for (size_t i = 0; i < r->nerrors; i++) {
            const lh_vgxml_error *e = &r->errors[i];
            if (!e->is_leak)
                continue;
            lh_site key;
            record_site(e, &key);
            grown *g = find_site(s, &key);
            note_record(s, pid, e, g ? (int)(g - s->sites) : -1);
        }
    }
    lh_vgxml_report_free(r);
    return in_use;
}

/* Finishes search_start's search: bytes in use, or -1. */
static double search_finish(lh_tool_ctx *c, mc_state *s, pid_t pid,
                            lh_proc *p, int64_t deadline)
{
    lh_buf text = LH_BUF_INIT;
    search_read(c, pid, p, deadline, &text);
    double in_use = search_parse(s, pid, &text);
    lh_buf_free(&text);
    return in_use;
}

static int mc_tick(lh_tool_ctx *c)
{
    mc_state *s = c->state;
    if (c->npids == 0 || s->vgdb_failed)
        return 0;
    double total = 0;
    int ok = 0;
    lh_proc running[sizeof c->pids / sizeof c->pids[0]];
    int started[sizeof running / sizeof running[0]];
    size_t np = c->npids < sizeof running / sizeof running[0]
                    ? c->npids
                    : sizeof running / sizeof running[0];
    int64_t deadline = lh_now_us() + SEARCH_TIMEOUT_US;
    for (size_t i = 0; i < np; i++)
        started[i] = search_start(c, c->pids[i], &running[i]) == 0;
    for (size_t i = 0; i < np; i++) {
        double b = started[i] ? search_finish(c, s, c->pids[i], &running[i],
                                              deadline)
                              : -1;
        if (b >= 0) {
            total += b;
            ok++;
        }
    }
    if (ok == 0) {
        if (++s->vgdb_failed && s->searches == 0)
            fprintf(stderr, "leak-hunt: vgdb leak searches failed; is ptrace "
                            "allowed? ('leak-hunt doctor' checks it)\n");
        return 0;
    }
    if (c->work <= 0) {
        /* Nothing done yet: this is no baseline for growth per unit. */
        s->searches = 0;
        return 0;
    }
    s->searches++;
    lh_sample x = {.work = c->work, .heap = total};
    /* Rounds and the series' points stay one to one. */
    if (end_round(s) < 0)
        return LH_ENOMEM;
    int rc = lh_series_push(&c->series, &x);
    if (rc < 0)
        s->nrounds--;
    return rc;
}

/* The decision's signal: see the note at the top (the combination itself
 * is lh_slope_records_signal, tested on synthetic records). */
static int mc_signal(lh_tool_ctx *c, double warmup, lh_series *out)
{
    mc_state *s = c->state;
    const lh_series *in = &c->series;
    size_t n = in->n;
    int rc = 0;

    out->n = 0;
    c->note[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        lh_sample x = {.work = in->v[i].work, .heap = in->v[i].heap};
        rc = lh_series_push(out, &x);
        if (rc < 0)
            return rc;
    }
    if (s->nrounds != n || n < 2)
        return 0; /* the bytes in use as measured */
    double *work = lh_calloc(2 * n, sizeof *work);
    const double **recs = lh_calloc(s->nrecs ? s->nrecs : 1, sizeof *recs);
    if (work == NULL || recs == NULL) {
        rc = LH_ENOMEM;
        goto out;
    }
    double *sig = work + n;
    for (size_t i = 0; i < n; i++)
        work[i] = in->v[i].work;
    for (size_t r = 0; r < s->nrecs; r++)
        recs[r] = s->recs[r].v;
    size_t nsteps = 0;
    double step_bytes = 0;
    rc = lh_slope_records_signal(recs, s->nrecs, work, n, warmup, sig,
                                 &nsteps, &step_bytes);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        out->v[i].heap = sig[i];
    if (nsteps > 0)
        snprintf(c->note, sizeof c->note,
                 "%zu allocation stack%s grew in steps to a high-water mark "
                 "(%.0f KiB after warm-up), set aside",
                 nsteps, nsteps == 1 ? "" : "s", step_bytes / 1024);
out:
    lh_free(work);
    lh_free(recs);
    return rc;
}

static void read_final_xml(lh_tool_ctx *c)
{
    DIR *d = opendir(c->dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "memcheck.", 9) != 0 ||
            strstr(e->d_name, ".xml") == NULL)
            continue;
        char path[1300], why[256];
        snprintf(path, sizeof path, "%s/%s", c->dir, e->d_name);
        lh_vgxml_report *r = NULL;
        if (lh_vgxml_load(path, &r, why, sizeof why) < 0) {
            fprintf(stderr, "leak-hunt: cannot read %s: %s\n", path, why);
            continue;
        }
        for (size_t i = 0; i < r->nerrors; i++) {
            const lh_vgxml_error *x = &r->errors[i];
            if (x->kind == LH_VG_LEAK_DEFINITELY_LOST)
                c->res->definitely_lost += (double)x->leaked_bytes;
            else if (!x->is_leak) {
                c->res->other_errors++;
                if (c->res->first_error[0] == '\0') {
                    const char *aux = x->naux ? x->aux[0].text : "";
                    snprintf(c->res->first_error,
                             sizeof c->res->first_error, "%s%s%s",
                             x->what ? x->what : x->kind_name,
                             aux && *aux ? "; " : "", aux ? aux : "");
                }
            }
        }
        lh_vgxml_report_free(r);
    }
    closedir(d);
}

/*
 * A site's growth is what its records gained after the warm-up, each taken
 * as the decision takes it (lh_slope_record_kind): a steady record by its
 * bytes, a record that stepped to a high-water mark not at all, blocks in
 * flight by the rise of their floor (lh_slope_floor_rise: halves, for the
 * more searches a minimum is taken over, the likelier it sees the queue
 * drained), which is nothing unless
 * something among them stays.  So the top site of a leak is the leak, not
 * the events in flight (the B nodes' items came out at 4.9 B/event over a
 * 4 B/event lost block by their net change, at 4.9-14.6 by their slope:
 * the queue fills up while valgrind's pipeline gathers speed, and it
 * still drains to nothing between searches).
 */
static int sites_from_records(lh_tool_ctx *c, mc_state *s)
{
    size_t n = s->nrounds;
    if (n < 2 || n != c->series.n)
        return 0;
    int rc = 0;
    double *work = lh_calloc(n, sizeof *work);
    if (work == NULL)
        return LH_ENOMEM;
    for (size_t i = 0; i < n; i++)
        work[i] = c->series.v[i].work;
    size_t cut = lh_slope_warmup_index(work, n, LH_DECIDE_DEFAULT_WARMUP);
    double span = work[n - 1] - work[cut];
    if (!(span > 0))
        goto out;
    for (size_t r = 0; r < s->nrecs; r++) {
        const record *rec = &s->recs[r];
        const double *v = rec->v;
        double gain = 0;
        switch (lh_slope_record_kind(v, n, cut)) {
        case LH_RECORD_STEADY:
            gain = v[n - 1] - v[cut];
            break;
        case LH_RECORD_STEPS:
            break;
        case LH_RECORD_CHURN:
            gain = lh_slope_floor_rise(work + cut, v + cut, n - cut) * span;
            if (rec->site >= 0)
                s->sites[rec->site].site.in_flight = 1;
            break;
        }
        if (rec->site >= 0)
            s->sites[rec->site].bytes += gain;
    }
    for (size_t i = 0; i < s->nsites; i++) {
        grown *g = &s->sites[i];
        if (g->bytes <= 0)
            continue;
        g->site.bytes = g->bytes;
        g->site.bytes_per_unit = g->bytes / span;
        c->res->reachable_growth +=
            strcmp(g->site.kind, "still reachable") == 0 ? g->bytes : 0;
        rc = lh_run_result_add_site(c->res, &g->site);
        if (rc < 0)
            goto out;
    }
out:
    lh_free(work);
    return rc;
}

static int mc_finish(lh_tool_ctx *c)
{
    int rc = sites_from_records(c, c->state);
    read_final_xml(c);
    return rc;
}

static void mc_cleanup(lh_tool_ctx *c)
{
    mc_state *s = c->state;
    if (s != NULL) {
        for (size_t i = 0; i < s->nrecs; i++)
            lh_free(s->recs[i].v);
        lh_free(s->recs);
    }
    lh_free(s);
    c->state = NULL;
}

const lh_tool lh_tool_memcheck = {
    .name = "memcheck",
    /* valgrind runs the pipeline ~50x slower: 1/50 of a work budget takes
     * about as long as the other tools' runs; the run still goes on until
     * it has enough leak searches to judge (measure.c) */
    .budget_divisor = 50,
    /* heap figures are not meaningful under valgrind: the decision rests
     * on the leak searches (mc_signal), never on early looks */
    .own_signal = 1,
    .point = "leak search",
    .points = "leak searches",
    .report_findings = 1,
    .refuses = mc_refuses,
    .prepare = mc_prepare,
    .tick = mc_tick,
    .finish = mc_finish,
    .signal = mc_signal,
    .cleanup = mc_cleanup,
};
