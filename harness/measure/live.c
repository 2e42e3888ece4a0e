/*
 * live.c - a live run (live.h; docs/protocol.md section 5).
 *
 * Design: the live run owns what a run of its own would set up and tear
 * down for each configuration: the target, its sampler, the tool's
 * context (prepared once: under the heap tool every process under test
 * has the profiler from its start), and the whole run's series.  A
 * segment borrows them for measure.c's loop (measure_int.h), which calls
 * back here for what only a segment does: its samples counted from its
 * switch (lh_live_take), the acknowledgements (lh_live_check, ack.h), the
 * switch and settle phases before its measured part (lh_live_phase), and
 * the tool's findings for its part of the run (lh_live_finish).
 *
 * The heap tool dumps every LIVE_TICK_S instead of its own 2 s (a
 * segment that decides in 2-4 s still gets dumps to compare), once more
 * when the settle period ends (the segment's base dump) and at the end of
 * the segment (lh_measure's last tick); a segment's sites are the growth
 * between its own dumps (tool.h: seg_from, seg_to), with today's rule for
 * blocks in flight.
 *
 * After a switch the decision leaves out LIVE_WARMUP of the measured
 * part's work, not the 20% a fresh start needs: the settle period has
 * already waited for the queues (segment.c); the first segment, the
 * target's start, keeps the 20%.
 */
#include "live.h"

#include "ack.h"
#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "measure_int.h"
#include "process.h"
#include "segment.h"
#include "slope.h"
#include "switchcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The heap tool's dumps in a live run, every this many seconds. */
#define LIVE_TICK_S 1.0
/* Share of a segment's measured work the decision leaves out after a
 * switch (segment.c's note). */
#define LIVE_WARMUP 0.1

typedef enum phase {
    PHASE_SWITCHING, /* the new list asked for, not acknowledged yet */
    PHASE_SETTLING,  /* acknowledged, not settled yet */
    PHASE_MEASURING,
} phase;

struct lh_live {
    lh_live_opts o;
    char dir[1024];
    char control[1100], control_tmp[1110], stats[1100], log[1100];
    lh_target *t;
    lh_sampler *smp;
    lh_tool_ctx ctx;
    lh_run_result scratch; /* the tool's messages before any segment */
    lh_ack ack;
    lh_series series;      /* the whole run */
    int64_t start_us;
    char running[512];     /* the list acknowledged last (comma list) */
    int mode;              /* lh_live_mode */
    int segments;          /* begun so far */
    int dead;              /* the target exited */
    /* the segment under way */
    size_t seg_start;      /* its first sample in `series` */
    size_t ack_at;         /* its acknowledgement in its own series */
    phase ph;
    int forced;            /* its settle period was cut (max_seconds) */
    double seg_from;       /* the run's work at its base dump */
    lh_settle_opts settle;
    /* watch mode (live.h) */
    int watch;
    lh_promsource src;
    char original[LH_PROM_STAGES_MAX]; /* the list shown at the start */
    int has_original;
    char want[512];        /* the list switched to last */
    int switched;          /* a switch command was run */
    char switch_log[1100];
    double asked_at;       /* when its switch command returned */
    double settle_work;    /* the work LH_LIVE_WATCH_SETTLE_S after (-1:
                              not yet) */
};

/* The running list when it is not known (watch mode, a service that does
 * not say): never the same as a list asked for. */
#define UNKNOWN_LIST "\001"

static double now_s(const lh_live *l)
{
    return (double)(lh_now_us() - l->start_us) / 1e6;
}

/* The sampler's hook: every stats line goes to the acknowledgements. */
static void on_line(void *arg, const lh_stats_line *line)
{
    lh_live *l = arg;
    pid_t pid = line->has & LH_STATS_HAS_PID ? (pid_t)line->pid : 0;
    lh_ack_line(&l->ack, pid,
                line->has & LH_STATS_HAS_STAGES ? line->stages : NULL,
                now_s(l));
}

/* ack.h's liveness: pid 0 is the target itself; another process is alive
 * while /proc has it and it is not a zombie (lh_pid_gone). */
static int alive(void *arg, pid_t pid)
{
    lh_live *l = arg;
    if (pid == 0)
        return !l->dead;
    return !lh_pid_gone(pid);
}

/* The list to the control file: a temporary file in the same directory,
 * renamed over it (docs/protocol.md section 5).  0, or LH_ESYS with the
 * path and the reason in why. */
static int write_control(lh_live *l, const char *list, char *why, size_t cap)
{
    const char *path = l->control_tmp;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0;
    if (ok) {
        size_t len = strlen(list);
        ok = write(fd, list, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
        int e = errno;
        ok = close(fd) == 0 && ok;
        if (!ok && errno == 0)
            errno = e;
    }
    if (ok) {
        path = l->control;
        ok = rename(l->control_tmp, l->control) == 0;
    }
    if (!ok) {
        snprintf(why, cap, "cannot write the control file %.900s: %s", path,
                 strerror(errno));
        return LH_ESYS;
    }
    return 0;
}

/* Watch mode: a sampler that reads no process (the run's clock), the
 * metrics over it, their first good scrape, and the list the service
 * shows.  0, LH_EINVAL (why: the metrics cannot be used), LH_ENOMEM. */
static int start_watch(lh_live *l, char *why, size_t cap)
{
    int rc = lh_sampler_new(l->stats, 0, &l->smp);
    if (rc == 0)
        rc = lh_promsource_open(&l->src, l->o.metrics, l->smp, l->o.quiet,
                                why, cap);
    if (rc == 0)
        rc = lh_promsource_first(&l->src, NULL, 0, why, cap);
    if (rc < 0)
        return rc == LH_ENOMEM ? rc : LH_EINVAL;
    const lh_prom_stages *st = lh_poller_stages(l->src.poll);
    if (st->state == LH_PROM_STAGES_AGREED) {
        snprintf(l->original, sizeof l->original, "%s",
                 strcmp(st->list, "-") == 0 ? "" : st->list);
        l->has_original = 1;
        snprintf(l->running, sizeof l->running, "%.511s", l->original);
    }
    l->mode = 1;
    return 0;
}

/* The tool prepared for the whole run, and the target started with the
 * control file's list.  0, or an error with why set. */
static int start(lh_live *l, char *why, size_t cap)
{
    lh_tool_ctx *c = &l->ctx;
    c->dir = l->dir;
    c->bindir = l->o.bindir;
    c->supp = l->o.supp;
    c->stage_map = l->o.stage_map;
    c->argv = l->o.argv;
    c->res = &l->scratch;
    c->grace_ms = 5000;
    int rc = lh_tool_prepare(l->o.tool, c);
    if (rc < 0) {
        snprintf(why, cap, "%s", l->scratch.error);
        return rc;
    }
    if (c->tick_seconds > LIVE_TICK_S)
        c->tick_seconds = LIVE_TICK_S;
    if (l->watch)
        return start_watch(l, why, cap);
    lh_target_opts to = {
        .argv = l->o.argv,
        .stages = l->o.first,
        .stats_path = l->stats,
        .wrap = c->wrap[0] ? c->wrap : NULL,
        .wrap_self = !l->o.target_wraps,
        .log_path = l->log,
        .env = c->nenv ? c->env : NULL,
        .control_path = l->control,
    };
    rc = lh_target_start(&to, &l->t);
    if (rc < 0) {
        snprintf(why, cap, "cannot start target %.900s: %s", l->o.argv[0],
                 lh_strerror(rc));
        return LH_EIO;
    }
    rc = lh_sampler_new(l->stats, lh_target_pid(l->t), &l->smp);
    if (rc == 0 && c->heap_log[0])
        rc = lh_sampler_heap_log(l->smp, c->heap_log);
    if (rc < 0)
        return rc;
    lh_sampler_on_line(l->smp, on_line, l);
    return 0;
}

int lh_live_open(const lh_live_opts *o, lh_live **out, char *why, size_t cap)
{
    lh_live *l = lh_calloc(1, sizeof *l);
    if (l == NULL)
        return LH_ENOMEM;
    l->o = *o;
    snprintf(l->dir, sizeof l->dir, "%s", o->dir);
    l->o.dir = l->dir;
    l->mode = -1;
    lh_settle_opts_init(&l->settle);
    snprintf(l->control, sizeof l->control, "%s/control", l->dir);
    snprintf(l->control_tmp, sizeof l->control_tmp, "%s/control.tmp",
             l->dir);
    snprintf(l->stats, sizeof l->stats, "%s/stats.log", l->dir);
    snprintf(l->log, sizeof l->log, "%s/target.log", l->dir);
    snprintf(l->switch_log, sizeof l->switch_log, "%s/switch.log", l->dir);
    l->watch = o->argv == NULL || o->argv[0] == NULL;
    int rc = 0;
    if (lh_measure_mkdir(l->dir) < 0) {
        snprintf(why, cap, "cannot create the live run's directory %.900s: "
                 "%s", l->dir, strerror(errno));
        rc = LH_ESYS;
    }
    if (rc == 0 && !l->watch)
        rc = write_control(l, o->first, why, cap);
    l->start_us = lh_now_us();
    lh_ack_init(&l->ack, o->first, 0);
    snprintf(l->running, sizeof l->running, "%s",
             l->watch ? UNKNOWN_LIST : o->first);
    if (rc == 0)
        rc = start(l, why, cap);
    if (rc < 0) {
        if (rc == LH_ENOMEM)
            snprintf(why, cap, "out of memory");
        lh_live_close(l, NULL);
        return rc;
    }
    *out = l;
    return 0;
}

int lh_live_mode(const lh_live *l)
{
    return l->mode;
}

const lh_series *lh_live_series(const lh_live *l)
{
    return &l->series;
}

size_t lh_live_pids(const lh_live *l, pid_t *pids, size_t max)
{
    return l->smp ? lh_sampler_pids(l->smp, pids, max) : 0;
}

/* The mode once the acknowledgements tell it. */
static void find_mode(lh_live *l)
{
    if (l->mode < 0)
        l->mode = lh_ack_live(&l->ack, now_s(l));
}

int lh_live_find_mode(lh_live *l)
{
    int64_t end = lh_now_us() + (int64_t)((LH_ACK_TIMEOUT_S + 0.5) * 1e6);
    find_mode(l);
    while (l->mode < 0 && !l->dead && lh_now_us() < end) {
        lh_sleep_us(100000);
        if (lh_sampler_take(l->smp, &l->series) < 0)
            break;
        if (lh_target_exited(l->t, NULL))
            l->dead = 1;
        find_mode(l);
    }
    if (l->mode < 0)
        l->mode = 0; /* no stats line at all, or gone: not live */
    return l->mode;
}

int lh_live_take(measurement *m)
{
    lh_live *l = m->live;
    int restarted = 0;
    int rc = l->watch ? lh_measure_take_metrics(m, &l->series, &restarted)
                      : lh_sampler_take(l->smp, &l->series);
    if (rc < 0 || (l->watch && rc == 0))
        return rc; /* (a failed scrape: no sample) */
    const lh_sample *origin = &l->series.v[l->seg_start];
    if (m->res->series.n == 0)
        m->work_origin = origin->work;
    lh_sample x = lh_segment_sample(&l->series.v[l->series.n - 1], origin);
    rc = lh_series_push(&m->res->series, &x);
    if (rc == 0 && restarted)
        lh_measure_refit(m);
    return rc;
}

/* Watch mode's acknowledgement (docs/protocol.md section 9): every
 * leakhunt_stages series at 1 shows the list asked for; with none, the
 * work counter moving again LH_LIVE_WATCH_SETTLE_S after the switch
 * command returned.  Late after LH_LIVE_WATCH_ACK_S. */
static lh_ack_state watch_ack(lh_live *l)
{
    const lh_prom_stages *st = lh_poller_stages(l->src.poll);
    double since = now_s(l) - l->asked_at;
    if (st->state == LH_PROM_STAGES_AGREED &&
        lh_stats_stages_same(st->list, l->want[0] ? l->want : "-"))
        return LH_ACK_DONE;
    if (st->state == LH_PROM_STAGES_ABSENT &&
        since >= LH_LIVE_WATCH_SETTLE_S) {
        double w = lh_promsource_work(&l->src);
        if (l->settle_work < 0)
            l->settle_work = w;
        else if (w > l->settle_work)
            return LH_ACK_DONE;
    }
    return since > LH_LIVE_WATCH_ACK_S ? LH_ACK_LATE : LH_ACK_PENDING;
}

/* The switch asked for last: done, pending, or gone wrong. */
static lh_ack_state switch_state(lh_live *l)
{
    if (l->watch)
        return watch_ack(l);
    return lh_ack_check(&l->ack, now_s(l), alive, l);
}

/* Watch mode: a switch not acknowledged in time. */
static int watch_late(measurement *m)
{
    lh_live *l = m->live;
    const lh_prom_stages *st = lh_poller_stages(l->src.poll);
    char shows[LH_PROM_STAGES_MAX + 64];
    if (st->state == LH_PROM_STAGES_ABSENT)
        snprintf(shows, sizeof shows, "no leakhunt_stages series, and the "
                 "work counter did not move");
    else
        snprintf(shows, sizeof shows, "leakhunt_stages shows '%s'",
                 st->state == LH_PROM_STAGES_MIXED ? st->other : st->list);
    m->res->verdict = LH_RUN_INCONCLUSIVE;
    m->res->slope = m->res->ci_low = m->res->ci_high = NAN;
    snprintf(m->res->error, sizeof m->res->error,
             "live switching failed while measuring %.500s: %.600s %.0f s "
             "after the switch command returned", l->want[0] ? l->want
                                                             : "no stage",
             shows, LH_LIVE_WATCH_ACK_S);
    snprintf(m->res->reason, sizeof m->res->reason,
             "live switching failed");
    return LH_EIO;
}

/* The switch went wrong: the segment is inconclusive, the run over. */
static int switch_failed(measurement *m, lh_ack_state st)
{
    lh_live *l = m->live;
    char what[900];
    lh_ack_describe(&l->ack, st, now_s(l), alive, l, what, sizeof what);
    m->res->verdict = LH_RUN_INCONCLUSIVE;
    snprintf(m->res->error, sizeof m->res->error,
             "live switching failed while measuring %.500s: %.1200s",
             m->res->enabled[0] ? m->res->enabled : "no stage", what);
    snprintf(m->res->reason, sizeof m->res->reason,
             "live switching failed");
    return LH_EIO;
}

int lh_live_check(measurement *m)
{
    lh_live *l = m->live;
    find_mode(l);
    if (l->mode == 0)
        return 0; /* a target that cannot switch: nothing to check */
    if (l->watch)
        return l->ph == PHASE_SWITCHING && watch_ack(l) == LH_ACK_LATE
                   ? watch_late(m)
                   : 0;
    lh_ack_state st = lh_ack_check(&l->ack, now_s(l), alive, l);
    if (st == LH_ACK_STRAY || st == LH_ACK_MUTE ||
        (st == LH_ACK_LATE && l->ph == PHASE_SWITCHING))
        return switch_failed(m, st);
    return 0;
}

/* The measured part begins: the budget and looks count from here, and
 * the tool takes the segment's base dump. */
static void begin_measuring(measurement *m)
{
    lh_live *l = m->live;
    lh_tool_ctx *c = m->ctx;
    m->measuring = 1;
    m->from = m->res->series.n - 1;
    m->work_from = lh_measure_work(m);
    m->time_from = (double)(lh_now_us() - m->start) / 1e6;
    l->ph = PHASE_MEASURING;
    c->npids = lh_sampler_pids(l->smp, c->pids, 64);
    c->work = lh_sampler_work(l->smp);
    l->seg_from = c->work;
    if (c->tick_seconds > 0) {
        lh_tool_tick(m->o->tool, c);
        m->next_tick = lh_now_us() + (int64_t)(c->tick_seconds * 1e6);
    }
}

int lh_live_phase(measurement *m)
{
    lh_live *l = m->live;
    const lh_series *s = &m->res->series;
    if (l->ph == PHASE_MEASURING) { /* no switch */
        begin_measuring(m);
        return 0;
    }
    if (l->ph == PHASE_SWITCHING) {
        if (switch_state(l) != LH_ACK_DONE) {
            lh_measure_show(m, "switching");
            return 1;
        }
        snprintf(l->running, sizeof l->running, "%s", m->o->enabled);
        l->ack_at = s->n - 1;
        l->ph = PHASE_SETTLING;
    }
    lh_settle st = lh_settle_at(s->v, s->n, l->ack_at, s->n - 1,
                                lh_sampler_has_queue(l->smp), &l->settle);
    if (st == LH_SETTLE_WAIT) {
        lh_measure_show(m, "settling");
        return 1;
    }
    l->forced = st == LH_SETTLE_FORCED;
    begin_measuring(m);
    return 0;
}

int lh_live_findings_wanted(const measurement *m)
{
    return m->res->verdict != LH_RUN_CLEAN || m->live->segments == 1;
}

void lh_live_finish(measurement *m)
{
    lh_live *l = m->live;
    lh_tool_ctx *c = m->ctx;
    c->res = m->res;
    if (!lh_live_findings_wanted(m))
        return;
    c->work = lh_sampler_work(l->smp);
    if (l->segments > 1) {
        c->seg_from = l->seg_from;
        c->seg_to = c->work > l->seg_from ? c->work : l->seg_from + 1;
    }
    lh_tool_finish(m->o->tool, c);
    c->seg_from = c->seg_to = 0;
    if (l->forced) {
        size_t len = strlen(m->res->reason);
        snprintf(m->res->reason + len, sizeof m->res->reason - len,
                 "; settle period cut at %.0f s (the queue still moving)",
                 l->settle.max_seconds);
    }
}

/* The segment's measurement, on the live run's target, sampler and
 * tool. */
static void segment_setup(lh_live *l, measurement *m,
                          const lh_measure_opts *o, lh_run_result *res)
{
    memset(m, 0, sizeof *m);
    m->o = o;
    m->res = res;
    m->live = l;
    m->ctx = &l->ctx;
    m->t = l->t;
    m->smp = l->smp;
    snprintf(m->stats, sizeof m->stats, "%s", l->stats);
    snprintf(m->log, sizeof m->log, "%s", l->log);
    snprintf(res->enabled, sizeof res->enabled, "%s", o->enabled);
    snprintf(res->dir, sizeof res->dir, "%s", o->dir);
    res->tool = o->tool->name;
    res->verdict = LH_RUN_ERROR;
    l->ctx.res = res;
    l->seg_start = l->series.n;
    l->forced = 0;
    m->work_origin = lh_sampler_work(l->smp);
    if (l->watch) {
        m->src = &l->src;
        lh_promsource_mark(&l->src);
        m->src_t0 = lh_promsource_now(&l->src);
        m->work_origin = m->src_work0 = lh_promsource_work(&l->src);
    }
}

/* 1 when two comma lists ("" for none) name the same stages; never for
 * a list not known (UNKNOWN_LIST). */
static int same_list(const char *a, const char *b)
{
    if (strcmp(a, UNKNOWN_LIST) == 0 || strcmp(b, UNKNOWN_LIST) == 0)
        return 0;
    return lh_stats_stages_same(a[0] ? a : "-", b[0] ? b : "-");
}

/* Watch mode's switch: the user's command for `want`.  0, or LH_EIO
 * (it failed: the segment inconclusive, naming the configuration),
 * LH_ENOMEM. */
static int switch_watch(lh_live *l, measurement *m, const char *want)
{
    char why[1500];
    snprintf(l->want, sizeof l->want, "%s", want);
    l->switched = 1;
    int rc = lh_switchcmd_run(l->o.switch_cmd, want, l->switch_log, 0, why,
                              sizeof why);
    if (rc == LH_EIO) {
        m->res->verdict = LH_RUN_INCONCLUSIVE;
        m->res->slope = m->res->ci_low = m->res->ci_high = NAN;
        snprintf(m->res->error, sizeof m->res->error,
                 "cannot switch the service to %.400s: %s",
                 want[0] ? want : "no stage", why);
        snprintf(m->res->reason, sizeof m->res->reason,
                 "the switch command failed");
    }
    if (rc < 0)
        return rc;
    l->asked_at = now_s(l);
    l->settle_work = -1;
    l->ph = PHASE_SWITCHING;
    return 0;
}

/* How the segment begins: the target's start (measured at once, with a
 * fresh start's warm-up), the list it runs already (settling), or a
 * switch.  0, or LH_ESYS (the control file). */
static int segment_begin(lh_live *l, measurement *m)
{
    const char *want = m->o->enabled;
    if (l->segments == 0 && !l->watch) {
        m->measuring = 1;
        m->warmup = LH_DECIDE_DEFAULT_WARMUP;
        l->ph = PHASE_MEASURING;
        return 0;
    }
    m->warmup = LIVE_WARMUP;
    if (same_list(l->running, want)) {
        /* no switch: nothing to settle; the first sample is the
         * measured part's start (lh_live_phase) */
        l->ph = PHASE_MEASURING;
        return 0;
    }
    if (l->watch)
        return switch_watch(l, m, want);
    int rc = write_control(l, want, m->res->error, sizeof m->res->error);
    if (rc < 0)
        return rc;
    lh_ack_ask(&l->ack, want, now_s(l));
    l->ph = PHASE_SWITCHING;
    return 0;
}

int lh_live_measure(lh_live *l, const lh_measure_opts *o, lh_run_result *res)
{
    measurement m;
    segment_setup(l, &m, o, res);
    int rc = lh_measure_make_dir(&m, 0);
    if (rc == 0)
        rc = segment_begin(l, &m);
    if (rc < 0)
        return rc;
    l->segments++;
    lh_measure_clocks(&m);
    rc = lh_measure_loop(&m);
    if (m.exited)
        l->dead = 1;
    res->live = 1;
    res->work_from = m.work_origin;
    return rc;
}

/* The whole run's series, live.csv (its first segment's own is
 * samples.csv, in the same directory). */
static void write_series(const lh_live *l)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/live.csv", l->dir);
    FILE *f = fopen(path, "w");
    if (f) {
        lh_series_write_csv(&l->series, f);
        fclose(f);
    }
}

/* Watch mode's end: the service switched back to the list it showed at
 * the start, when it was known and was changed. */
static void restore(lh_live *l)
{
    if (!l->has_original || !l->switched ||
        (same_list(l->want, l->original) && same_list(l->running, l->want)))
        return;
    char why[1500];
    const char *what = l->original[0] ? l->original : "no stage";
    if (l->o.interrupted && l->o.interrupted()) {
        fprintf(stderr, "leak-hunt: the service was not switched back to "
                "%s (interrupted): it runs %s, or is switching to it\n",
                what, l->want[0] ? l->want : "no stage");
        return;
    }
    int rc = lh_switchcmd_run(l->o.switch_cmd, l->original, l->switch_log,
                              0, why, sizeof why);
    if (rc < 0)
        fprintf(stderr, "leak-hunt: cannot switch the service back to %s "
                "(it ran that at the start): %s\n", what,
                rc == LH_EIO ? why : lh_strerror(rc));
    else if (!l->o.quiet)
        fprintf(stderr, "leak-hunt: switched the service back to %s (it "
                "ran that at the start)\n", what);
}

void lh_live_close(lh_live *l, lh_series *series)
{
    if (l == NULL)
        return;
    if (l->t) {
        lh_measure_stop_target(l->t, &l->ctx, l->o.target_wraps);
    }
    if (l->watch)
        restore(l);
    lh_promsource_close(&l->src);
    lh_tool_cleanup(l->o.tool, &l->ctx);
    for (size_t i = 0; i < l->ctx.nenv; i++)
        lh_free(l->ctx.env[i]);
    lh_series_free(&l->ctx.series);
    if (l->series.n)
        write_series(l);
    lh_sampler_free(l->smp);
    lh_target_free(l->t);
    lh_run_result_free(&l->scratch);
    if (series) {
        *series = l->series;
    } else {
        lh_series_free(&l->series);
    }
    lh_free(l);
}
