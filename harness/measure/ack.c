/*
 * ack.c - a live-switching target's acknowledgements (ack.h).
 *
 * Design: each process is kept as what its last line showed, classified
 * on arrival against the two lists that may be shown legitimately (the
 * old and the new), so no list is stored per process.  Anything else is
 * a stray, kept with its pid and list for the message; a stray and a
 * process that stopped acknowledging end the switch for good (the hunt is
 * inconclusive: what was measured is not what was asked for).
 */
#include "ack.h"

#include <stdio.h>
#include <string.h>

/* The stats form of a comma list: "-" for none. */
static void stats_form(const char *list, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", list && list[0] ? list : "-");
}

/* The comma form for messages: "" shown as "no stage". */
static const char *shown(const char *stats)
{
    return strcmp(stats, "-") == 0 ? "(none)" : stats;
}

void lh_ack_init(lh_ack *a, const char *list, double now)
{
    memset(a, 0, sizeof *a);
    stats_form(list, a->want, sizeof a->want);
    a->asked = now;
}

void lh_ack_ask(lh_ack *a, const char *list, double now)
{
    snprintf(a->old, sizeof a->old, "%s", a->want);
    stats_form(list, a->want, sizeof a->want);
    a->asked = now;
    a->done = 0;
    for (size_t i = 0; i < a->nprocs; i++)
        if (a->procs[i].shows == LH_ACK_SHOWS_NEW)
            a->procs[i].shows = LH_ACK_SHOWS_OLD;
}

static lh_ack_proc *proc_of(lh_ack *a, pid_t pid)
{
    for (size_t i = 0; i < a->nprocs; i++)
        if (a->procs[i].pid == pid)
            return &a->procs[i];
    if (a->nprocs == LH_ACK_MAX_PROCS)
        return NULL;
    lh_ack_proc *p = &a->procs[a->nprocs++];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    return p;
}

/* The first line that makes the switch fail for good. */
static void go_bad(lh_ack *a, lh_ack_state st, pid_t pid, const char *list)
{
    if (a->bad)
        return;
    a->bad = st;
    a->bad_pid = pid;
    snprintf(a->bad_list, sizeof a->bad_list, "%s", list ? list : "");
}

void lh_ack_line(lh_ack *a, pid_t pid, const char *stages, double now)
{
    if (!a->any_line) {
        a->any_line = 1;
        a->first_line = now;
    }
    lh_ack_proc *p = proc_of(a, pid);
    if (p == NULL)
        return; /* (more processes than we keep: they hold nothing up) */
    p->last = now;
    if (stages == NULL) {
        if (p->acked)
            go_bad(a, LH_ACK_MUTE, pid, NULL);
        p->shows = LH_ACK_SHOWS_NONE;
        return;
    }
    a->any_stages = 1;
    p->acked = 1;
    if (lh_stats_stages_same(stages, a->want)) {
        p->shows = LH_ACK_SHOWS_NEW;
    } else if (a->old[0] && !a->done &&
               lh_stats_stages_same(stages, a->old)) {
        p->shows = LH_ACK_SHOWS_OLD;
    } else {
        p->shows = LH_ACK_SHOWS_NONE;
        go_bad(a, LH_ACK_STRAY, pid, stages);
    }
}

/* 1 when process p holds a switch up if it does not show the new list:
 * alive, and reporting. */
static int counts(const lh_ack_proc *p, double now, lh_ack_alive_fn alive,
                  void *arg)
{
    return now - p->last <= LH_ACK_SILENT_S && alive(arg, p->pid);
}

/* The first process that holds the switch up, or NULL. */
static const lh_ack_proc *holding(const lh_ack *a, double now,
                                  lh_ack_alive_fn alive, void *arg,
                                  int *any)
{
    *any = 0;
    for (size_t i = 0; i < a->nprocs; i++) {
        const lh_ack_proc *p = &a->procs[i];
        if (!counts(p, now, alive, arg))
            continue;
        *any = 1;
        if (p->shows != LH_ACK_SHOWS_NEW)
            return p;
    }
    return NULL;
}

lh_ack_state lh_ack_check(lh_ack *a, double now, lh_ack_alive_fn alive,
                          void *arg)
{
    if (a->bad)
        return a->bad;
    if (a->done)
        return LH_ACK_DONE;
    int any;
    if (holding(a, now, alive, arg, &any) == NULL && any) {
        a->done = 1;
        return LH_ACK_DONE;
    }
    return now - a->asked > LH_ACK_TIMEOUT_S ? LH_ACK_LATE : LH_ACK_PENDING;
}

int lh_ack_live(const lh_ack *a, double now)
{
    if (a->any_stages)
        return 1;
    if (a->any_line && now - a->first_line >= LH_ACK_TIMEOUT_S)
        return 0;
    return -1;
}

void lh_ack_describe(const lh_ack *a, lh_ack_state st, double now,
                     lh_ack_alive_fn alive, void *arg, char *buf,
                     size_t cap)
{
    int any;
    const lh_ack_proc *p;
    switch (st) {
    case LH_ACK_STRAY:
        snprintf(buf, cap, "process %d shows stages '%s', a list it was "
                 "not asked for (asked for '%.400s')", (int)a->bad_pid,
                 shown(a->bad_list), shown(a->want));
        break;
    case LH_ACK_MUTE:
        snprintf(buf, cap, "process %d stopped acknowledging (a stats "
                 "line without stages=) while '%.400s' was asked for",
                 (int)a->bad_pid, shown(a->want));
        break;
    case LH_ACK_LATE:
        p = holding(a, now, alive, arg, &any);
        if (p && p->shows == LH_ACK_SHOWS_OLD)
            snprintf(buf, cap, "process %d still shows '%.400s' %.1f s "
                     "after '%.400s' was asked for", (int)p->pid,
                     shown(a->old), now - a->asked, shown(a->want));
        else if (p)
            snprintf(buf, cap, "process %d shows no stages= %.1f s after "
                     "'%.400s' was asked for", (int)p->pid, now - a->asked,
                     shown(a->want));
        else
            snprintf(buf, cap, "no process reported %.1f s after '%.400s' "
                     "was asked for", now - a->asked, shown(a->want));
        break;
    default:
        snprintf(buf, cap, "%s", st == LH_ACK_DONE ? "acknowledged"
                                                   : "pending");
    }
}
