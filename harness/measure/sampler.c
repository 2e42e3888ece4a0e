/*
 * Design: per-pid state in a small array (targets have a handful of
 * processes); lines are parsed with core/stats.c's strict parser and
 * malformed ones are counted, not guessed at.  A pid whose process is gone
 * keeps its last work and heap (its work was done) but adds no RSS.
 */
#include "sampler.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "memsample.h"
#include "stats.h"
#include "heaplog.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define MAX_PIDS 256
/* heap_of: a process's heap= is its allocator's count when, over at
 * least TRUST_AFTER samples, AGREE_SHARE of them were within AGREE of the
 * heap log's figure. */
#define TRUST_AFTER 10
#define AGREE 0.2
#define AGREE_SHARE 0.8

typedef struct proc_state {
    pid_t pid;
    uint64_t work, heap, queue;
    int has_heap; /* its last line had heap= */
} proc_state;

/* A process's live heap as its allocator counts it (the heap tool's
 * heap log: docs/architecture.md, harness/shim/heapshim.c), and how its
 * own heap= compared with it (heap_of). */
typedef struct alloc_state {
    pid_t pid;
    uint64_t heap;
    unsigned compared, agreed; /* samples with both, and within AGREE */
    int trusted;               /* its heap= is the allocator's count */
} alloc_state;

/* A file read as lines as it grows: what was appended since the last
 * read, a partial last line kept for later, over-long lines skipped and
 * counted. */
typedef struct tail {
    char *path;
    int fd;
    char partial[LH_STATS_LINE_MAX * 2];
    size_t partial_len;
    int discarding; /* inside an over-long line */
} tail;

struct lh_sampler {
    tail stats, heap_log;
    proc_state procs[MAX_PIDS];
    size_t nprocs;
    uint64_t anon_work, anon_heap, anon_queue; /* lines without pid= */
    int anon;           /* a line without pid= was seen */
    int anon_has_heap;
    int reported, has_heap, has_queue;
    unsigned long bad_lines;
    char first_bad[LH_SAMPLER_QUOTE_MAX];
    alloc_state allocs[MAX_PIDS];
    size_t nallocs;
    int sanitizer_heap; /* a heap-log line came from a sanitizer */
    pid_t fallback;
    int64_t start_us;
    lh_sampler_line_fn on_line;
    void *on_line_arg;
};

void lh_series_free(lh_series *s)
{
    if (s == NULL)
        return;
    lh_free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

int lh_series_push(lh_series *s, const lh_sample *x)
{
    if (lh_grow((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v, 256) < 0)
        return LH_ENOMEM;
    s->v[s->n++] = *x;
    return 0;
}

static int tail_init(tail *t, const char *path)
{
    t->fd = -1;
    if (path == NULL)
        return 0;
    t->path = lh_strdup(path);
    return t->path ? 0 : LH_ENOMEM;
}

static void tail_free(tail *t)
{
    if (t->fd >= 0)
        close(t->fd);
    lh_free(t->path);
    memset(t, 0, sizeof *t);
    t->fd = -1;
}

int lh_sampler_new(const char *stats_path, pid_t fallback_pid,
                   lh_sampler **out)
{
    lh_sampler *s = lh_calloc(1, sizeof *s);
    if (s == NULL)
        return LH_ENOMEM;
    s->heap_log.fd = -1;
    if (tail_init(&s->stats, stats_path) < 0) {
        lh_free(s);
        return LH_ENOMEM;
    }
    s->fallback = fallback_pid;
    s->start_us = lh_now_us();
    *out = s;
    return 0;
}

int lh_sampler_heap_log(lh_sampler *s, const char *path)
{
    tail_free(&s->heap_log);
    return tail_init(&s->heap_log, path);
}

void lh_sampler_free(lh_sampler *s)
{
    if (s == NULL)
        return;
    tail_free(&s->stats);
    tail_free(&s->heap_log);
    lh_free(s);
}

/* Keeps the first malformed line for messages: printable characters
 * only, cut with "..." when long. */
static void note_bad(lh_sampler *s, const char *text, size_t len)
{
    if (s->bad_lines++ > 0)
        return;
    size_t cap = sizeof s->first_bad, n = 0;
    if (len > 0 && text[len - 1] == '\n')
        len--;
    for (size_t i = 0; i < len && n + 4 < cap; i++) {
        unsigned char c = (unsigned char)text[i];
        s->first_bad[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (n < len)
        memcpy(s->first_bad + n, "...", 3), n += 3;
    s->first_bad[n] = '\0';
}

static void apply_stats(lh_sampler *s, const char *text, size_t len)
{
    lh_stats_line line;
    if (len == 0)
        return;
    if (lh_stats_parse(text, len, &line) < 0) {
        note_bad(s, text, len);
        return;
    }
    s->reported = 1;
    if (s->on_line)
        s->on_line(s->on_line_arg, &line);
    if (line.has & LH_STATS_HAS_HEAP)
        s->has_heap = 1;
    if (line.has & LH_STATS_HAS_QUEUE)
        s->has_queue = 1;
    if (!(line.has & LH_STATS_HAS_PID)) {
        s->anon = 1;
        s->anon_work = line.work;
        s->anon_heap = line.heap;
        s->anon_has_heap = (line.has & LH_STATS_HAS_HEAP) != 0;
        s->anon_queue = line.queue;
        return;
    }
    proc_state *p = NULL;
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i].pid == (pid_t)line.pid)
            p = &s->procs[i];
    if (p == NULL) {
        if (s->nprocs == MAX_PIDS) {
            note_bad(s, text, len);
            return;
        }
        p = &s->procs[s->nprocs++];
        p->pid = (pid_t)line.pid;
    }
    p->work = line.work;
    p->heap = line.heap;
    p->has_heap = (line.has & LH_STATS_HAS_HEAP) != 0;
    p->queue = line.queue;
}

/* Reads a decimal number at *p up to `end` (digits only, at most 18 of
 * them).  0, or -1. */
static int read_number(const char **p, const char *end, uint64_t *v)
{
    const char *q = *p;
    uint64_t x = 0;
    while (q < end && *q >= '0' && *q <= '9' && q - *p < 18)
        x = x * 10 + (uint64_t)(*q++ - '0');
    if (q == *p || (q < end && *q >= '0' && *q <= '9'))
        return -1;
    *p = q;
    *v = x;
    return 0;
}

/* Consumes `word` at *p.  0, or -1. */
static int read_word(const char **p, const char *end, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(end - *p) < n || memcmp(*p, word, n) != 0)
        return -1;
    *p += n;
    return 0;
}

int lh_heaplog_parse(const char *text, size_t len, lh_heaplog_line *out)
{
    const char *p = text, *end = text + len;
    uint64_t pid, heap;
    if (len == 0 || text[len - 1] != '\n')
        return LH_EPARSE;
    end--;
    if (read_word(&p, end, LH_HEAPLOG_PID) < 0 ||
        read_number(&p, end, &pid) < 0 || pid == 0 || pid > INT32_MAX ||
        read_word(&p, end, " " LH_HEAPLOG_HEAP) < 0 ||
        read_number(&p, end, &heap) < 0 ||
        read_word(&p, end, " " LH_HEAPLOG_FROM) < 0)
        return LH_EPARSE;
    int sanitizer;
    if (read_word(&p, end, LH_HEAPLOG_TCMALLOC) == 0)
        sanitizer = 0;
    else if (read_word(&p, end, LH_HEAPLOG_SANITIZER) == 0)
        sanitizer = 1;
    else
        return LH_EPARSE;
    if (p != end)
        return LH_EPARSE;
    out->pid = (pid_t)pid;
    out->heap = heap;
    out->sanitizer = sanitizer;
    return 0;
}

static alloc_state *alloc_of(lh_sampler *s, pid_t pid)
{
    for (size_t i = 0; i < s->nallocs; i++)
        if (s->allocs[i].pid == pid)
            return &s->allocs[i];
    return NULL;
}

/* A heap-log line; one that does not parse is skipped (the log is ours,
 * not the target's: nothing to report to the user). */
static void apply_heap_log(lh_sampler *s, const char *text, size_t len)
{
    lh_heaplog_line line;
    if (lh_heaplog_parse(text, len, &line) < 0)
        return;
    alloc_state *a = alloc_of(s, line.pid);
    if (a == NULL) {
        if (s->nallocs == MAX_PIDS)
            return;
        a = &s->allocs[s->nallocs++];
        a->pid = line.pid;
    }
    a->heap = line.heap;
    if (line.sanitizer)
        s->sanitizer_heap = 1;
}

typedef void (*line_fn)(lh_sampler *s, const char *text, size_t len);

/* Feeds each complete line appended to t's file since the last call to
 * `fn`; an over-long line is passed cut short, once, then skipped to its
 * end. */
static void read_lines(lh_sampler *s, tail *t, line_fn fn)
{
    if (t->path == NULL)
        return;
    if (t->fd < 0) {
        t->fd = open(t->path, O_RDONLY | O_CLOEXEC);
        if (t->fd < 0)
            return;
    }
    char buf[16384];
    for (;;) {
        ssize_t n = read(t->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        for (ssize_t i = 0; i < n; i++) {
            char c = buf[i];
            if (t->discarding) {
                if (c == '\n')
                    t->discarding = 0;
                continue;
            }
            if (t->partial_len == sizeof t->partial) {
                fn(s, t->partial, t->partial_len); /* too long: malformed */
                t->partial_len = 0;
                t->discarding = c != '\n';
                continue;
            }
            t->partial[t->partial_len++] = c;
            if (c == '\n') {
                fn(s, t->partial, t->partial_len);
                t->partial_len = 0;
            }
        }
    }
}

/*
 * A process's live heap: its allocator's count from the heap log when
 * there is one, else what it reported on its stats line.  But a process
 * whose heap= is its allocator's count too (it agrees with the log,
 * TRUST_AFTER) is taken at its heap=: that figure was taken with the
 * line's queue=, at the same moment, while the log's comes from another
 * thread up to 100 ms apart.  A pipeline's heap moves with its queue
 * (~220 B an item), and the skew alone left 370-480 KB of noise around
 * the queue-corrected fit of the built-in pipeline under the heap tool,
 * against 0-70 KB with heap= (issue 13; tests/bench: sampled 2026-11-27,
 * 110 samples a configuration).  A heap= from another allocator
 * (mallinfo2 under a preloaded tcmalloc) never agrees.
 */
static double heap_of(lh_sampler *s, pid_t pid, int has_heap,
                      uint64_t reported)
{
    alloc_state *a = pid > 0 ? alloc_of(s, pid) : NULL;
    if (a == NULL)
        return (double)reported;
    if (has_heap && !a->trusted && a->heap > 0) {
        double r = (double)reported / (double)a->heap;
        a->compared++;
        if (r >= 1 - AGREE && r <= 1 + AGREE)
            a->agreed++;
        a->trusted = a->compared >= TRUST_AFTER &&
                     a->agreed >= AGREE_SHARE * a->compared;
    }
    return (double)(a->trusted && has_heap ? reported : a->heap);
}

int lh_sampler_take(lh_sampler *s, lh_series *series)
{
    read_lines(s, &s->stats, apply_stats);
    read_lines(s, &s->heap_log, apply_heap_log);
    lh_sample x = {0};
    x.t = (double)(lh_now_us() - s->start_us) / 1e6;
    uint64_t rss;
    if (s->reported) {
        x.work = (double)s->anon_work;
        /* lines without pid= come from the target's main process */
        x.heap = s->anon ? heap_of(s, s->fallback, s->anon_has_heap,
                                   s->anon_heap)
                         : 0;
        x.queue = (double)s->anon_queue;
        for (size_t i = 0; i < s->nprocs; i++) {
            x.work += (double)s->procs[i].work;
            x.heap += heap_of(s, s->procs[i].pid, s->procs[i].has_heap,
                              s->procs[i].heap);
            x.queue += (double)s->procs[i].queue;
            if (lh_mem_rss(s->procs[i].pid, &rss) == 0)
                x.rss += (double)rss;
        }
        if (s->nprocs == 0 && s->fallback > 0 &&
            lh_mem_rss(s->fallback, &rss) == 0)
            x.rss = (double)rss;
    } else {
        x.work = x.t;
        x.heap = heap_of(s, s->fallback, 0, 0);
        if (s->fallback > 0 && lh_mem_rss(s->fallback, &rss) == 0)
            x.rss = (double)rss;
    }
    return lh_series_push(series, &x);
}

void lh_sampler_on_line(lh_sampler *s, lh_sampler_line_fn fn, void *arg)
{
    s->on_line = fn;
    s->on_line_arg = arg;
}

int lh_sampler_reported(const lh_sampler *s)
{
    return s->reported;
}

int lh_sampler_has_heap(const lh_sampler *s)
{
    return s->has_heap || s->sanitizer_heap;
}

int lh_sampler_has_queue(const lh_sampler *s)
{
    return s->has_queue;
}

unsigned long lh_sampler_bad_lines(const lh_sampler *s)
{
    return s->bad_lines;
}

const char *lh_sampler_first_bad_line(const lh_sampler *s)
{
    return s->first_bad;
}

size_t lh_sampler_pids(const lh_sampler *s, pid_t *pids, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nprocs && n < max; i++)
        pids[n++] = s->procs[i].pid;
    return n;
}

double lh_sampler_work(const lh_sampler *s)
{
    double w = (double)s->anon_work;
    for (size_t i = 0; i < s->nprocs; i++)
        w += (double)s->procs[i].work;
    return w;
}

int lh_series_write_csv(const lh_series *s, FILE *f)
{
    if (fprintf(f, "t,work,heap,rss,queue\n") < 0)
        return LH_EIO;
    for (size_t i = 0; i < s->n; i++) {
        const lh_sample *x = &s->v[i];
        if (fprintf(f, "%.3f,%.0f,%.0f,%.0f,%.0f\n", x->t, x->work, x->heap,
                    x->rss, x->queue) < 0)
            return LH_EIO;
    }
    return 0;
}
