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

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define MAX_PIDS 256

typedef struct proc_state {
    pid_t pid;
    uint64_t work, heap, queue;
} proc_state;

struct lh_sampler {
    char *path;
    int fd;
    char partial[LH_STATS_LINE_MAX * 2];
    size_t partial_len;
    int discarding; /* inside an over-long line */
    proc_state procs[MAX_PIDS];
    size_t nprocs;
    uint64_t anon_work, anon_heap, anon_queue; /* lines without pid= */
    int reported, has_heap, has_queue;
    unsigned long bad_lines;
    pid_t fallback;
    int64_t start_us;
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

int lh_sampler_new(const char *stats_path, pid_t fallback_pid,
                   lh_sampler **out)
{
    lh_sampler *s = lh_calloc(1, sizeof *s);
    if (s == NULL)
        return LH_ENOMEM;
    s->fd = -1;
    if (stats_path) {
        s->path = lh_strdup(stats_path);
        if (s->path == NULL) {
            lh_free(s);
            return LH_ENOMEM;
        }
    }
    s->fallback = fallback_pid;
    s->start_us = lh_now_us();
    *out = s;
    return 0;
}

void lh_sampler_free(lh_sampler *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    lh_free(s->path);
    lh_free(s);
}

static void apply_line(lh_sampler *s, const char *text, size_t len)
{
    lh_stats_line line;
    if (len == 0)
        return;
    if (lh_stats_parse(text, len, &line) < 0) {
        s->bad_lines++;
        return;
    }
    s->reported = 1;
    if (line.has & LH_STATS_HAS_HEAP)
        s->has_heap = 1;
    if (line.has & LH_STATS_HAS_QUEUE)
        s->has_queue = 1;
    if (!(line.has & LH_STATS_HAS_PID)) {
        s->anon_work = line.work;
        s->anon_heap = line.heap;
        s->anon_queue = line.queue;
        return;
    }
    proc_state *p = NULL;
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i].pid == (pid_t)line.pid)
            p = &s->procs[i];
    if (p == NULL) {
        if (s->nprocs == MAX_PIDS) {
            s->bad_lines++;
            return;
        }
        p = &s->procs[s->nprocs++];
        p->pid = (pid_t)line.pid;
    }
    p->work = line.work;
    p->heap = line.heap;
    p->queue = line.queue;
}

static void read_lines(lh_sampler *s)
{
    if (s->path == NULL)
        return;
    if (s->fd < 0) {
        s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0)
            return;
    }
    char buf[16384];
    for (;;) {
        ssize_t n = read(s->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        for (ssize_t i = 0; i < n; i++) {
            char c = buf[i];
            if (s->discarding) {
                if (c == '\n')
                    s->discarding = 0;
                continue;
            }
            if (s->partial_len == sizeof s->partial) {
                s->bad_lines++;
                s->partial_len = 0;
                s->discarding = c != '\n';
                continue;
            }
            s->partial[s->partial_len++] = c;
            if (c == '\n') {
                apply_line(s, s->partial, s->partial_len);
                s->partial_len = 0;
            }
        }
    }
}

int lh_sampler_take(lh_sampler *s, lh_series *series)
{
    read_lines(s);
    lh_sample x = {0};
    x.t = (double)(lh_now_us() - s->start_us) / 1e6;
    uint64_t rss;
    if (s->reported) {
        x.work = (double)s->anon_work;
        x.heap = (double)s->anon_heap;
        x.queue = (double)s->anon_queue;
        for (size_t i = 0; i < s->nprocs; i++) {
            x.work += (double)s->procs[i].work;
            x.heap += (double)s->procs[i].heap;
            x.queue += (double)s->procs[i].queue;
            if (lh_mem_rss(s->procs[i].pid, &rss) == 0)
                x.rss += (double)rss;
        }
        if (s->nprocs == 0 && s->fallback > 0 &&
            lh_mem_rss(s->fallback, &rss) == 0)
            x.rss = (double)rss;
    } else {
        x.work = x.t;
        if (s->fallback > 0 && lh_mem_rss(s->fallback, &rss) == 0)
            x.rss = (double)rss;
    }
    return lh_series_push(series, &x);
}

int lh_sampler_reported(const lh_sampler *s)
{
    return s->reported;
}

int lh_sampler_has_heap(const lh_sampler *s)
{
    return s->has_heap;
}

int lh_sampler_has_queue(const lh_sampler *s)
{
    return s->has_queue;
}

unsigned long lh_sampler_bad_lines(const lh_sampler *s)
{
    return s->bad_lines;
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
