/*
 * Design: the child puts itself in a new process group before exec, so one
 * kill(-pgid) reaches the target and whatever stays in its group.  A
 * launcher such as selfheal's `up` puts each of its children in a group of
 * its own, so the group alone is not enough: the harness also keeps a list
 * of the target's descendants (walking /proc: at most every 500 ms while
 * the target is polled, and again when it is stopped) and registers their
 * groups too (a descendant whose launcher died is still found: it was
 * tracked before, and its own children through it).  Stopping: SIGTERM to the target's group, the
 * grace period for it to stop its own children in its own order, then
 * SIGTERM to every descendant left, what is left of the grace period (at
 * least 3 s of it: valgrind writes its report at exit), then SIGKILL
 * to all of them until none is left.
 * Live groups sit in a small fixed table that a signal handler can walk
 * without locks or allocation.
 *
 * The process is started by core's process layer (process.h: an argv,
 * no shell; the environment built in the parent, only async-signal-safe
 * calls between fork and exec), leading its own group and dying with
 * leak-hunt.
 */
#include "target.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "process.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_GROUPS 256
#define MAX_DESC 192       /* descendants tracked per target */
#define TRACK_EVERY_US 500000
#define ORPHAN_GRACE_MIN_MS 3000

static volatile sig_atomic_t live_groups[MAX_GROUPS];
/* Set by lh_target_kill_all: a group registered afterwards (its start was
 * under way when leak-hunt was told to stop) is killed at once. */
static volatile sig_atomic_t killing;

static void register_group(pid_t pgid)
{
    for (int i = 0; i < MAX_GROUPS; i++)
        if (live_groups[i] == pgid)
            return;
    for (int i = 0; i < MAX_GROUPS; i++)
        if (live_groups[i] == 0) {
            live_groups[i] = pgid;
            return;
        }
}

static void unregister_group(pid_t pgid)
{
    for (int i = 0; i < MAX_GROUPS; i++)
        if (live_groups[i] == pgid)
            live_groups[i] = 0;
}

void lh_target_kill_all(void)
{
    killing = 1;
    for (int i = 0; i < MAX_GROUPS; i++)
        if (live_groups[i] > 0)
            kill(-(pid_t)live_groups[i], SIGKILL);
}

struct lh_target {
    pid_t pid;
    lh_proc proc; /* the main process: proc.exited once reaped */
    int stopped; /* group and descendants confirmed gone */
    pid_t desc[MAX_DESC]; /* descendants seen so far */
    pid_t desc_pgid[MAX_DESC];
    size_t ndesc;
    int64_t tracked_at;
};

/* One process as /proc/PID/stat gives it. */
typedef struct proc_entry {
    pid_t pid, ppid, pgid;
    char state;
} proc_entry;

/* Reads /proc/PID/stat: 0, or -1 when the process is gone or unreadable.
 * The command name may hold spaces and parentheses: the fields after it
 * start after the last ')'. */
static int read_stat(pid_t pid, proc_entry *e)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    int ppid, pgid;
    char state;
    if (p == NULL || sscanf(p + 1, " %c %d %d", &state, &ppid, &pgid) != 3)
        return -1;
    e->pid = pid;
    e->ppid = ppid;
    e->pgid = pgid;
    e->state = state;
    return 0;
}

static int tracked(const lh_target *t, pid_t pid)
{
    if (pid == t->pid)
        return 1;
    for (size_t i = 0; i < t->ndesc; i++)
        if (t->desc[i] == pid)
            return 1;
    return 0;
}

/* Adds every process whose parent is the target or a descendant already
 * tracked (repeating until nothing new: grandchildren), and registers
 * their groups for lh_target_kill_all.  Best effort: a /proc that cannot
 * be read leaves the list as it was. */
static void track_descendants(lh_target *t)
{
    t->tracked_at = lh_now_us();
    DIR *d = opendir("/proc");
    if (d == NULL)
        return;
    size_t n = 0, cap = 0;
    proc_entry *all = NULL;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        if (lh_grow((void **)&all, &cap, n + 1, sizeof *all, 512) < 0)
            break;
        if (read_stat((pid_t)atoi(de->d_name), &all[n]) == 0)
            n++;
    }
    closedir(d);
    int added;
    do {
        added = 0;
        for (size_t i = 0; i < n && t->ndesc < MAX_DESC; i++) {
            if (all[i].pid == t->pid || tracked(t, all[i].pid) ||
                !tracked(t, all[i].ppid))
                continue;
            t->desc[t->ndesc] = all[i].pid;
            t->desc_pgid[t->ndesc] = all[i].pgid;
            t->ndesc++;
            if (all[i].pgid != getpgrp())
                register_group(all[i].pgid);
            added = 1;
        }
    } while (added);
    lh_free(all);
}

/* 1 when descendant I is gone: no such process, or a zombie (never ours:
 * only the target is our child, so its parent or init reaps it). */
static int desc_gone(const lh_target *t, size_t i)
{
    proc_entry e;
    return read_stat(t->desc[i], &e) < 0 || e.state == 'Z';
}

/* 1 when every descendant is gone; OUTSIDE: only those outside the
 * target's group (the group's members had their grace period). */
static int descendants_gone(const lh_target *t, int outside)
{
    for (size_t i = 0; i < t->ndesc; i++)
        if (!(outside && t->desc_pgid[i] == t->pid) && !desc_gone(t, i))
            return 0;
    return 1;
}

static void signal_descendants(const lh_target *t, int sig)
{
    for (size_t i = 0; i < t->ndesc; i++) {
        if (desc_gone(t, i))
            continue;
        if (t->desc_pgid[i] != getpgrp())
            kill(-t->desc_pgid[i], sig);
        kill(t->desc[i], sig);
    }
}

static void unregister_descendants(const lh_target *t)
{
    for (size_t i = 0; i < t->ndesc; i++)
        if (t->desc_pgid[i] != t->pid)
            unregister_group(t->desc_pgid[i]);
}

/* A NULL-terminated vector of strings, owned. */
typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

static int strvec_push(strvec *s, const char *str)
{
    if (lh_grow((void **)&s->v, &s->cap, s->n + 2, sizeof *s->v, 16) < 0)
        return LH_ENOMEM;
    char *copy = lh_strdup(str);
    if (copy == NULL)
        return LH_ENOMEM;
    s->v[s->n++] = copy;
    s->v[s->n] = NULL;
    return 0;
}

static void strvec_free(strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        lh_free(s->v[i]);
    lh_free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

char *lh_target_substitute(const char *arg, const char *stages)
{
    static const char pat[] = "{stages}";
    size_t plen = sizeof pat - 1, slen = strlen(stages), count = 0;
    for (const char *p = strstr(arg, pat); p; p = strstr(p + plen, pat))
        count++;
    size_t len = strlen(arg) + count * slen + 1;
    char *out = lh_malloc(len);
    if (out == NULL)
        return NULL;
    char *w = out;
    const char *r = arg;
    for (const char *p = strstr(r, pat); p; p = strstr(r, pat)) {
        memcpy(w, r, (size_t)(p - r));
        w += p - r;
        memcpy(w, stages, slen);
        w += slen;
        r = p + plen;
    }
    strcpy(w, r);
    return out;
}

static int push_words(strvec *s, const char *words)
{
    char *copy = lh_strdup(words);
    if (copy == NULL)
        return LH_ENOMEM;
    int rc = 0;
    char *save = NULL;
    for (char *w = strtok_r(copy, " \t", &save); w;
         w = strtok_r(NULL, " \t", &save)) {
        rc = strvec_push(s, w);
        if (rc < 0)
            break;
    }
    lh_free(copy);
    return rc;
}

/* The target protocol's variables, each set or removed (a LEAKHUNT_WRAP
 * of leak-hunt's own environment must not reach a target that wraps
 * itself, nor a LEAKHUNT_CONTROL one that is restarted per
 * configuration), then the tool's extra ones.  Entries point into `lines` and
 * o->env.  NULL on no memory; free with lh_free. */
static char **build_env(const lh_target_opts *o, char lines[4][4096])
{
    const char *set[4 + 4 + 64 + 1];
    size_t n = 0;
    set[n++] = "LEAKHUNT_STAGES";
    set[n++] = "LEAKHUNT_STATS";
    set[n++] = "LEAKHUNT_WRAP";
    set[n++] = "LEAKHUNT_CONTROL";
    if (o->control_path) {
        snprintf(lines[3], 4096, "LEAKHUNT_CONTROL=%s", o->control_path);
        set[n++] = lines[3];
    }
    if (o->stages) {
        snprintf(lines[0], 4096, "LEAKHUNT_STAGES=%s", o->stages);
        set[n++] = lines[0];
    }
    if (o->stats_path) {
        snprintf(lines[1], 4096, "LEAKHUNT_STATS=%s", o->stats_path);
        set[n++] = lines[1];
    }
    if (o->wrap && !o->wrap_self) {
        snprintf(lines[2], 4096, "LEAKHUNT_WRAP=%s", o->wrap);
        set[n++] = lines[2];
    }
    for (size_t i = 0; o->env && o->env[i] && n + 1 < sizeof set / sizeof set[0];
         i++)
        set[n++] = o->env[i];
    set[n] = NULL;
    return lh_spawn_env(set);
}

static int build_argv(const lh_target_opts *o, strvec *argv)
{
    int rc = 0;
    if (o->wrap && o->wrap_self)
        rc = push_words(argv, o->wrap);
    for (size_t i = 0; rc == 0 && o->argv[i]; i++) {
        char *arg =
            lh_target_substitute(o->argv[i], o->stages ? o->stages : "");
        if (arg == NULL)
            return LH_ENOMEM;
        rc = strvec_push(argv, arg);
        lh_free(arg);
    }
    return rc;
}

int lh_target_start(const lh_target_opts *o, lh_target **out)
{
    if (o == NULL || o->argv == NULL || o->argv[0] == NULL)
        return LH_EINVAL;
    strvec argv = {0};
    char lines[4][4096];
    char **env = NULL;
    lh_target *t = NULL;
    int logfd = -1;
    int rc = build_argv(o, &argv);
    if (rc < 0)
        goto out;
    env = build_env(o, lines);
    if (env == NULL) {
        rc = LH_ENOMEM;
        goto out;
    }
    if (argv.n == 0) {
        rc = LH_EINVAL;
        goto out;
    }
    t = lh_calloc(1, sizeof *t);
    if (t == NULL) {
        rc = LH_ENOMEM;
        goto out;
    }
    logfd = open(o->log_path ? o->log_path : "/dev/null",
                 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        rc = LH_ESYS;
        goto out;
    }
    lh_spawn_opts so = {
        .argv = argv.v,
        .env = env,
        .out = logfd,
        .own_group = 1,
        .die_with_parent = 1,
        .group_dies_with_parent = 1, /* what it forks dies with us too */
        .exec_error = "leak-hunt: cannot execute target ",
    };
    rc = lh_spawn(&so, &t->proc);
    if (rc < 0)
        goto out;
    pid_t pid = t->proc.pid;
    register_group(pid);
    if (killing) /* after register_group: no window left */
        kill(-pid, SIGKILL);
    t->pid = pid;
    *out = t;
    t = NULL;
out:
    if (logfd >= 0)
        close(logfd);
    lh_free(t);
    lh_free(env);
    strvec_free(&argv);
    return rc;
}

pid_t lh_target_pid(const lh_target *t)
{
    return t->pid;
}

int lh_target_exited(lh_target *t, int *status)
{
    if (!t->proc.exited && lh_now_us() - t->tracked_at >= TRACK_EVERY_US)
        track_descendants(t);
    lh_proc_poll(&t->proc); /* not our child any more: exited, status -1 */
    if (t->proc.exited && status)
        *status = t->proc.status;
    return t->proc.exited;
}

static int group_empty(pid_t pgid)
{
    return kill(-pgid, 0) < 0 && errno == ESRCH;
}

/* SIGTERM to the target's group, and up to the deadline for the whole
 * group to exit, not just the main process: B nodes under valgrind write
 * their reports after `up` has gone. */
static void term_group(lh_target *t, int64_t deadline)
{
    if (group_empty(t->pid) && lh_target_exited(t, NULL))
        return;
    kill(-t->pid, SIGTERM);
    while (lh_now_us() < deadline) {
        lh_target_exited(t, NULL);
        if (t->proc.exited && group_empty(t->pid))
            break;
        lh_sleep_us(20000);
    }
}

/* Descendants in groups of their own that the target did not stop (it
 * crashed, or was too slow): SIGTERM first, so that a valgrind among them
 * still writes its report, then the rest of the grace period, or at least
 * min(grace, 3 s). */
static void term_descendants(lh_target *t, int grace_ms, int64_t deadline)
{
    track_descendants(t);
    if (descendants_gone(t, 1) || grace_ms <= 0)
        return;
    signal_descendants(t, SIGTERM);
    int min_ms = grace_ms < ORPHAN_GRACE_MIN_MS ? grace_ms
                                                : ORPHAN_GRACE_MIN_MS;
    int64_t end = lh_now_us() + (int64_t)min_ms * 1000;
    if (deadline > end)
        end = deadline;
    while (lh_now_us() < end && !descendants_gone(t, 1))
        lh_sleep_us(20000);
}

/* SIGKILL to the group and every descendant until none is left (bounded:
 * 10 s).  0 or LH_ETIMEOUT. */
static int kill_all_left(lh_target *t)
{
    kill(-t->pid, SIGKILL);
    signal_descendants(t, SIGKILL);
    int64_t kill_deadline = lh_now_us() + 10 * 1000000;
    for (;;) {
        lh_target_exited(t, NULL);
        /* Zombies of our direct child count as group members until
         * reaped, which lh_target_exited just did. */
        if (t->proc.exited && group_empty(t->pid) &&
            descendants_gone(t, 0))
            return 0;
        if (lh_now_us() > kill_deadline)
            return LH_ETIMEOUT;
        kill(-t->pid, SIGKILL);
        signal_descendants(t, SIGKILL);
        lh_sleep_us(10000);
    }
}

int lh_target_stop(lh_target *t, int grace_ms, int *status)
{
    int rc = 0;
    if (!t->stopped) {
        track_descendants(t);
        int64_t deadline = lh_now_us() + (int64_t)grace_ms * 1000;
        term_group(t, deadline);
        term_descendants(t, grace_ms, deadline);
        rc = kill_all_left(t);
        if (rc == 0) {
            t->stopped = 1;
            unregister_group(t->pid);
            unregister_descendants(t);
        }
    }
    if (status)
        *status = t->proc.exited ? t->proc.status : -1;
    return rc;
}

void lh_target_free(lh_target *t)
{
    if (t == NULL)
        return;
    lh_target_stop(t, 0, NULL);
    lh_proc_stop(&t->proc, 0); /* releases the group's keeper */
    lh_free(t);
}

void lh_target_describe_status(int status, char *buf, size_t cap)
{
    if (status == -1)
        snprintf(buf, cap, "status unknown");
    else if (WIFEXITED(status))
        snprintf(buf, cap, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, cap, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, cap, "wait status %#x", (unsigned)status);
}

void lh_target_log_tail(const char *path, int lines, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return;
    long want = (long)cap - 1;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        long from = size > want ? size - want : 0;
        fseek(f, from, SEEK_SET);
    }
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Keep only the last `lines` lines. */
    int seen = 0;
    for (size_t i = n; i > 0; i--) {
        if (buf[i - 1] == '\n' && i != n && ++seen == lines) {
            memmove(buf, buf + i, n - i + 1);
            return;
        }
    }
}
