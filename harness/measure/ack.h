/*
 * ack.h - a live-switching target's acknowledgements (docs/protocol.md
 * section 5): the stage list each reporting process shows on its stats
 * lines (stages=), against the list leak-hunt asked for.
 *
 * Pure bookkeeping: the caller feeds each stats line with the time it was
 * read (lh_ack_line) and asks for the state with a callback that says
 * which processes are alive, so tests drive it with made-up lines and
 * clocks.  Lists are compared as sets (lh_stats_stages_same).
 *
 * A switch is done when every process that is alive and reported within
 * LH_ACK_SILENT_S shows the list asked for: a process that died or
 * stopped reporting does not hold it up.  While one still shows the list
 * before, the switch is pending; still pending LH_ACK_TIMEOUT_S after it
 * was asked for, it is late.  A process that shows any other list (or,
 * once the switch is done, the old one again) shows a list it was not
 * asked for; one that showed stages= and then writes a line without it
 * stopped acknowledging.  Those two are final: the tracker keeps the
 * first such line for the message.
 */
#ifndef LH_ACK_H
#define LH_ACK_H

#include <stddef.h>
#include <sys/types.h>

#include "stats.h"

#define LH_ACK_TIMEOUT_S 2.0 /* a switch pending longer: late */
#define LH_ACK_SILENT_S 1.0  /* no line for longer: stopped reporting */
#define LH_ACK_MAX_PROCS 256

typedef enum lh_ack_state {
    LH_ACK_PENDING = 0, /* a live process still shows the old list */
    LH_ACK_DONE,        /* every live reporting process shows the new one */
    LH_ACK_LATE,        /* pending LH_ACK_TIMEOUT_S after the request */
    LH_ACK_STRAY,       /* a process shows a list it was not asked for */
    LH_ACK_MUTE,        /* a process stopped acknowledging */
} lh_ack_state;

/* What a process showed on its last line. */
typedef enum lh_ack_shows {
    LH_ACK_SHOWS_NONE = 0, /* no stages= */
    LH_ACK_SHOWS_OLD,
    LH_ACK_SHOWS_NEW,
} lh_ack_shows;

typedef struct lh_ack_proc {
    pid_t pid;         /* 0: lines without pid= (the target itself) */
    lh_ack_shows shows;
    int acked;         /* it has shown stages= */
    double last;       /* when its last line was read */
} lh_ack_proc;

typedef struct lh_ack {
    char old[LH_STATS_LINE_MAX];  /* stats form ("-" for none); "" none */
    char want[LH_STATS_LINE_MAX];
    double asked;       /* when `want` was asked for */
    int done;           /* the switch to `want` is done */
    lh_ack_state bad;   /* STRAY or MUTE once seen (final), else 0 */
    char bad_list[128]; /* the list a stray line showed */
    pid_t bad_pid;
    int any_line, any_stages;
    double first_line;  /* when the first stats line was read */
    lh_ack_proc procs[LH_ACK_MAX_PROCS];
    size_t nprocs;
} lh_ack;

/* 1 when process `pid` (0: the target's own) is alive. */
typedef int (*lh_ack_alive_fn)(void *arg, pid_t pid);

/* Starts the bookkeeping for a target started with `list` (comma list,
 * "" for no stage): that list is asked for at `now`, with no old one. */
void lh_ack_init(lh_ack *a, const char *list, double now);

/* A switch to `list` asked for at `now`: the list wanted so far becomes
 * the old one. */
void lh_ack_ask(lh_ack *a, const char *list, double now);

/* A stats line of process `pid` (0: no pid=) read at `now`, with its
 * stages= value (NULL: the line has none). */
void lh_ack_line(lh_ack *a, pid_t pid, const char *stages, double now);

/* The state of the switch asked for last, at `now`. */
lh_ack_state lh_ack_check(lh_ack *a, double now, lh_ack_alive_fn alive,
                          void *arg);

/* Whether the target can switch live: 1 once a line has shown stages=, 0
 * when its first stats line is LH_ACK_TIMEOUT_S old and none has, -1 not
 * known yet. */
int lh_ack_live(const lh_ack *a, double now);

/* What is wrong, for a message (a state other than DONE and PENDING):
 * "process 123 shows 'a,b', asked for 'a'", "process 123 stopped
 * acknowledging (a stats line without stages=)", "process 123 still
 * shows 'a' 2.0 s after 'a,b' was asked for". */
void lh_ack_describe(const lh_ack *a, lh_ack_state st, double now,
                     lh_ack_alive_fn alive, void *arg, char *buf,
                     size_t cap);

#endif
