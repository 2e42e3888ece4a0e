/*
 * process.h - starting a program as a child process: an argv, never a shell.
 * (Not spawn.h: that name would hide the C library's <spawn.h>.)
 *
 * Every child starts with stdin on /dev/null, no signal blocked, every
 * handler and SIGPIPE at its default, its stdout and stderr where the
 * caller says (/dev/null, a pipe the caller reads, or a descriptor of the
 * caller's), and, when asked, leading a process group of its own (so that
 * one kill(-pid) reaches whatever it starts) and dying with its parent
 * (PR_SET_PDEATHSIG, SIGKILL), or its whole group with the parent
 * (group_dies_with_parent).  Nothing goes through /bin/sh: each argument reaches
 * the program as it is, and PATH and the environment are taken as given.
 *
 * The environment is built in the parent (lh_spawn_env); between fork and
 * exec the child makes async-signal-safe calls only, so a caller may have
 * threads.  lh_spawn returns once the child runs the program (the exec
 * has happened), or has failed to: an exec that fails shows up as exit
 * status 127, with a line on the child's stderr that says why.
 *
 * Used by the harness for its targets (target.c), the doctor's checks and
 * memcheck's vgdb leak searches, and by selfheal up for its children.
 */
#ifndef LH_SPAWN_H
#define LH_SPAWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

/* lh_spawn_opts.out: where the child's stdout and stderr go, when not to
 * a descriptor of the caller's (>= 0). */
#define LH_SPAWN_NULL (-1) /* /dev/null */
#define LH_SPAWN_PIPE (-2) /* a pipe: lh_proc.fd reads it */

typedef struct lh_spawn_opts {
    char *const *argv;   /* the program and its arguments, NULL-terminated */
    const char *path;    /* the file to execute, or NULL: argv[0], looked
                            up on the child's PATH unless it holds a '/' */
    char *const *env;    /* the child's whole environment, or NULL: ours */
    int out;             /* LH_SPAWN_NULL, LH_SPAWN_PIPE or a descriptor */
    int own_group;       /* 1: the child leads a new process group */
    int die_with_parent; /* 1: SIGKILL when its parent dies */
    int group_dies_with_parent; /* 1 (with own_group and die_with_parent):
                            the whole group gets SIGKILL when the parent
                            dies, however it dies and whichever thread
                            started the child (what the child forks has
                            no death signal): a keeper process
                            (lh_proc.keeper) does it */
    const char *exec_error; /* written before "ARGV0: reason" when exec
                               fails; NULL: "cannot execute " */
} lh_spawn_opts;

/* A child started by lh_spawn. */
typedef struct lh_proc {
    pid_t pid;  /* its id (and its group's, with own_group); kept after it
                   is reaped */
    int fd;     /* the read end of its output (LH_SPAWN_PIPE), else -1 */
    int group;  /* it leads its own process group */
    int exited; /* reaped: status is its waitpid status (-1: unknown) */
    int status;
    pid_t keeper;   /* the group's keeper (group_dies_with_parent), 0:
                       none; released by lh_proc_stop */
    int keeper_fd;  /* our end of the keeper's pipe */
} lh_proc;

/*
 * Starts the child.  0 and *p filled, LH_EINVAL (no argv[0]), or LH_ESYS
 * (/dev/null, pipe or fork failed; errno says why) with *p unusable and
 * nothing left open.
 */
int lh_spawn(const lh_spawn_opts *o, lh_proc *p);

/*
 * Reads the child's output (LH_SPAWN_PIPE) into *out until end of file:
 * the first `max` bytes are kept (SIZE_MAX: all), the rest read and
 * dropped, so the child never blocks on a full pipe.  deadline_us is on
 * lh_now_us's clock.  0 at end of file, LH_ETIMEOUT at the deadline, LH_ENOMEM (what
 * fitted is kept) or LH_ESYS.
 */
int lh_proc_read(lh_proc *p, lh_buf *out, size_t max, int64_t deadline_us);

/* Non-blocking: 1 once the child has exited (p->status set), 0 while it
 * runs, LH_ESYS when it cannot be waited for (not our child any more:
 * p->exited set, status -1). */
int lh_proc_poll(lh_proc *p);

/* Waits until the child has exited or the deadline (lh_now_us's clock).
 * 0, LH_ETIMEOUT, or LH_ESYS as lh_proc_poll. */
int lh_proc_wait(lh_proc *p, int64_t deadline_us);

/*
 * Ends the child if it still runs: SIGTERM (to its group with own_group),
 * up to grace_ms for it to exit, then SIGKILL, and reaps it.  grace_ms 0:
 * SIGKILL at once.  With a keeper, what is left of the group then gets
 * SIGKILL too and the keeper is released and reaped.  Closes p->fd.
 * Accepts a child already reaped (call it then too when it has a keeper),
 * and a zeroed lh_proc with pid 0 (does nothing then).
 */
void lh_proc_stop(lh_proc *p, int grace_ms);

/*
 * 1 when process pid no longer runs: gone, or a zombie (dead, not yet
 * reaped: kill(pid, 0) still succeeds on it), from /proc/PID/stat.  For a
 * caller that waits on something only that process can answer.
 */
int lh_pid_gone(pid_t pid);

/*
 * Our environment with each "NAME=value" of `set` (NULL-terminated, or
 * NULL) in place of NAME, and each bare "NAME" removing it; entries of
 * `set` come last, in their order.  The strings are not copied: they must
 * outlive the array, which is freed with lh_free.  NULL on no memory.
 */
char **lh_spawn_env(const char *const *set);

/*
 * Runs the child to its end with its output in a pipe, and copies that
 * output into buf (NUL-terminated, truncated to cap - 1 bytes).  *status
 * gets its waitpid status.  At timeout_ms the child (its group with
 * own_group) is killed.  0, LH_ETIMEOUT (buf holds what came before),
 * LH_EINVAL, LH_ENOMEM or LH_ESYS.  o->out is ignored.
 */
int lh_spawn_capture(const lh_spawn_opts *o, char *buf, size_t cap,
                     int timeout_ms, int *status);

#endif
