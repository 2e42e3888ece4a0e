/*
 * target.h - starting, watching and stopping a target (docs/protocol.md sections 3-4).
 *
 * A target runs in its own process group with the target protocol's
 * environment: LEAKHUNT_STAGES, LEAKHUNT_STATS, LEAKHUNT_WRAP,
 * LEAKHUNT_CONTROL (a live run's), and every
 * "{stages}" in its argv replaced by the stage list.  Its stdout and stderr
 * go to a log file.  Stopping sends SIGTERM to the whole group, waits a
 * grace period (valgrind needs it for its final report), then SIGKILLs the
 * group, and returns only when no process of the group is left.  The
 * target's descendants in groups of their own (a launcher's children) are
 * tracked through /proc and stopped the same way after the group.  Every
 * group started is also registered process-wide, so lh_target_kill_all
 * (called from leak-hunt's signal handlers and at exit) can leave nothing
 * behind whatever happens; the direct child also dies with leak-hunt
 * (PR_SET_PDEATHSIG).
 */
#ifndef LH_TARGET_H
#define LH_TARGET_H

#include <stddef.h>
#include <sys/types.h>

typedef struct lh_target_opts {
    char *const *argv;      /* the command, NULL-terminated */
    const char *stages;     /* comma list for LEAKHUNT_STAGES and {stages} */
    const char *stats_path; /* LEAKHUNT_STATS, or NULL */
    const char *wrap;       /* LEAKHUNT_WRAP (space-separated prefix), or NULL */
    int wrap_self;          /* 1: also put `wrap` before argv (single-process
                               targets) instead of exporting it */
    const char *log_path;   /* stdout+stderr of the target, or NULL: /dev/null */
    char *const *env;       /* extra "NAME=value" entries, NULL-terminated, or NULL */
    const char *control_path; /* LEAKHUNT_CONTROL (a live run's control
                                 file), or NULL: unset */
} lh_target_opts;

typedef struct lh_target lh_target;

/*
 * Starts the target.  0 and *out, LH_EINVAL (empty argv or wrap), LH_ENOMEM,
 * or LH_ESYS (fork or the log file failed).  An exec failure shows up as an
 * exit status of 127 with the reason in the log.
 */
int lh_target_start(const lh_target_opts *o, lh_target **out);

/* The process (and group) id of the target. */
pid_t lh_target_pid(const lh_target *t);

/* A copy of arg with every "{stages}" replaced by `stages` (free with
 * lh_free), or NULL when out of memory. */
char *lh_target_substitute(const char *arg, const char *stages);

/* Non-blocking: 1 and *status (waitpid status) when the target's main
 * process has exited, 0 while it runs. */
int lh_target_exited(lh_target *t, int *status);

/*
 * Stops the group: SIGTERM, up to grace_ms for the main process to exit,
 * then SIGKILL to the group, and waits (bounded) until the group is empty.
 * *status gets the main process's waitpid status (or -1 if it had to be
 * killed).  Returns 0, or LH_ETIMEOUT if processes of the group could not be
 * reaped (should not happen).  Idempotent.
 */
int lh_target_stop(lh_target *t, int grace_ms, int *status);

/* Stops (if needed, with no grace) and frees.  Accepts NULL. */
void lh_target_free(lh_target *t);

/* SIGKILLs every process group still registered, and from then on every
 * group lh_target_start starts (so a start racing with leak-hunt's own
 * SIGINT cannot outlive it).  Async-signal-safe. */
void lh_target_kill_all(void);

/* Describes a waitpid status: "exit status 3", "killed by signal 11
 * (Segmentation fault)". */
void lh_target_describe_status(int status, char *buf, size_t cap);

/* Copies the last `lines` lines of the file at path into buf (for error
 * messages about a crashed target). */
void lh_target_log_tail(const char *path, int lines, char *buf, size_t cap);

#endif
