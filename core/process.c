/*
 * Design: fork, then in the child only async-signal-safe calls before
 * exec (the environment array and /dev/null are ready in the parent:
 * malloc is not safe between fork and exec in a threaded parent).  The
 * group is set on both sides of the fork, so whichever runs first wins and
 * kill(-pid) works as soon as lh_spawn returns.  Signals are blocked in
 * the parent across the fork and the child puts every handler it
 * inherited back to the default before unblocking them: until the exec
 * the child is a copy of the parent, and a signal meant for the child
 * (a stop, the death signal) must not be caught by the parent's handler
 * and lost (reproduced for selfheal up's children: a SIGTERM in that
 * window was eaten and the child ran on, orphaned).  The death signal is
 * SIGKILL, armed, then the parent checked: a parent that died before
 * prctl would otherwise leave the child running.  lh_spawn returns only
 * once the exec has happened (or failed): a close-on-exec pipe, which the
 * child writes to only when exec fails, reads end-of-file when it
 * succeeds.  Until then the child is still a copy of the parent (under
 * valgrind: catching every signal), so a caller that signals it too early
 * would hit the wrong program.  Waiting polls with WNOHANG, so a
 * deadline bounds every wait; a child that outlives it is stopped and
 * reaped, never left behind.
 *
 * The keeper (group_dies_with_parent): PR_SET_PDEATHSIG reaches
 * the child only, not what the child starts (a fork carries no death
 * signal), so a second child of ours, in a group of its own, holds the
 * read end of a pipe whose only write end is ours (close-on-exec, so no
 * exec'd child holds it).  End of file there means we died, however
 * (SIGKILL included, and whichever thread started the child): the keeper
 * then SIGKILLs the child's group.  lh_proc_stop, which kills what is
 * left of the group itself, releases it by closing the pipe (so no write:
 * a keeper already gone would raise SIGPIPE in a caller that does not
 * ignore it); it also ends by itself once the group is empty.  It is a
 * copy of the parent that runs no program: it ends by exec'ing
 * /bin/true, so that nothing of the parent's exit runs in it (under
 * valgrind: a leak report of the parent's heap).
 */
#include "process.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define WAIT_STEP_US 5000
#define KEEPER_POLL_MS 100
#define KEEPER_WAIT_US 2000000

/* Puts fd on `to` (0, 1 or 2) without close-on-exec. */
static void put_fd(int fd, int to)
{
    if (fd == to)
        fcntl(fd, F_SETFD, 0);
    else
        dup2(fd, to);
}

static void say(const char *s)
{
    (void)!write(2, s, strlen(s));
}

/* Child side, before exec: every signal the parent catches goes back to
 * its default (async-signal-safe: sigaction only). */
static void default_handlers(void)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction old;
        if (sigaction(sig, NULL, &old) != 0)
            continue;
        if ((old.sa_flags & SA_SIGINFO) ||
            (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN))
            sigaction(sig, &dfl, NULL);
    }
    signal(SIGPIPE, SIG_DFL);
}

static void unblock_all(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Blocks every signal in the calling thread around a fork; *old gets the
 * mask to put back. */
static void block_all(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, old);
}

/* Child side, between fork and exec: async-signal-safe calls only. */
static void child_exec(const lh_spawn_opts *o, int devnull, int outfd,
                       int sync, pid_t parent)
{
    if (o->own_group)
        setpgid(0, 0);
    default_handlers();
    if (o->die_with_parent) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
    }
    unblock_all();
    put_fd(devnull, 0);
    put_fd(outfd, 1);
    put_fd(outfd, 2);
    if (o->path) {
        execve(o->path, o->argv, o->env ? o->env : environ);
    } else {
        if (o->env)
            environ = (char **)(uintptr_t)o->env;
        execvp(o->argv[0], o->argv);
    }
    int err = errno;
    (void)!write(sync, &err, sizeof err);
    say(o->exec_error ? o->exec_error : "cannot execute ");
    say(o->path ? o->path : o->argv[0]);
    say(": ");
    say(strerror(err));
    say("\n");
    _exit(127);
}

/* The keeper's side (a copy of the parent, no exec), its pipe on fd 0:
 * end of file (the parent died, or released it) kills the group, an
 * empty group ends it. */
static void keeper_loop(pid_t group)
{
    for (;;) {
        struct pollfd pfd = {.fd = 0, .events = POLLIN};
        if (poll(&pfd, 1, KEEPER_POLL_MS) > 0) {
            char c;
            ssize_t n = read(0, &c, 1);
            if (n < 0 && errno == EINTR)
                continue;
            kill(-group, SIGKILL); /* end of file: nothing else is written */
            break;
        }
        if (kill(-group, 0) < 0 && errno == ESRCH)
            break;
    }
    char *const argv[] = {"true", NULL};
    char *const env[] = {NULL};
    execve("/bin/true", argv, env);
    _exit(0);
}

static void keeper_child(int rd, pid_t group)
{
    setpgid(0, 0); /* a kill of the parent's group leaves it standing */
    default_handlers();
    prctl(PR_SET_NAME, "lh-keeper");
    dup2(rd, 0);
    if (close_range(1, ~0u, 0) != 0)
        for (int fd = 1; fd < 1024; fd++)
            close(fd);
    unblock_all();
    keeper_loop(group);
}

static void close_fds(int *fds, size_t n)
{
    int saved = errno;
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    errno = saved;
}

/* Blocks until the child has exec'd (end of file on the sync pipe) or
 * failed to (it wrote its errno; it then exits 127). */
static void wait_exec(int sync)
{
    int err;
    while (read(sync, &err, sizeof err) < 0 && errno == EINTR)
        ;
}

/* Starts p's keeper (see the design note).  0 or LH_ESYS. */
static int start_keeper(lh_proc *p)
{
    int kp[2];
    sigset_t old;
    if (pipe2(kp, O_CLOEXEC) != 0)
        return LH_ESYS;
    block_all(&old);
    pid_t k = fork();
    if (k == 0)
        keeper_child(kp[0], p->pid);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(kp[0]);
    if (k < 0) {
        close(kp[1]);
        errno = saved;
        return LH_ESYS;
    }
    p->keeper = k;
    p->keeper_fd = kp[1];
    return 0;
}

/* Releases p's keeper, if any, and reaps it; what is left of the group
 * after the child dies with it. */
static void release_keeper(lh_proc *p)
{
    if (p->keeper <= 0)
        return;
    if (kill(-p->pid, 0) == 0)
        kill(-p->pid, SIGKILL);
    close(p->keeper_fd);
    int64_t end = lh_now_us() + KEEPER_WAIT_US;
    while (waitpid(p->keeper, NULL, WNOHANG) == 0) {
        if (lh_now_us() > end) {
            kill(p->keeper, SIGKILL);
            waitpid(p->keeper, NULL, 0);
            break;
        }
        lh_sleep_us(1000);
    }
    p->keeper = 0;
    p->keeper_fd = -1;
}

int lh_spawn(const lh_spawn_opts *o, lh_proc *p)
{
    /* devnull, output pipe (read, write), sync pipe (read, write) */
    int fds[5] = {-1, -1, -1, -1, -1};
    sigset_t mask;
    memset(p, 0, sizeof *p);
    p->fd = -1;
    p->keeper_fd = -1;
    if (o == NULL || o->argv == NULL || o->argv[0] == NULL)
        return LH_EINVAL;
    fds[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fds[0] < 0 || (o->out == LH_SPAWN_PIPE && pipe2(fds + 1, O_CLOEXEC)) ||
        pipe2(fds + 3, O_CLOEXEC) != 0) {
        close_fds(fds, 5);
        return LH_ESYS;
    }
    int outfd = o->out == LH_SPAWN_PIPE ? fds[2]
                : o->out >= 0           ? o->out
                                        : fds[0];
    pid_t parent = getpid();
    block_all(&mask);
    pid_t pid = fork();
    if (pid == 0)
        child_exec(o, fds[0], outfd, fds[4], parent);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
    errno = saved;
    int read_end = fds[1];
    fds[1] = pid < 0 ? read_end : -1;
    int sync = fds[3];
    fds[3] = -1;
    close_fds(fds, 5);
    if (pid < 0) {
        close_fds(&sync, 1);
        return LH_ESYS;
    }
    if (o->own_group)
        setpgid(pid, pid); /* also here: no race with an early kill */
    wait_exec(sync);
    close(sync);
    p->pid = pid;
    p->fd = read_end;
    p->group = o->own_group != 0;
    if (o->own_group && o->die_with_parent && o->group_dies_with_parent &&
        start_keeper(p) != 0) {
        int saved_errno = errno;
        lh_proc_stop(p, 0);
        errno = saved_errno;
        return LH_ESYS;
    }
    return 0;
}

int lh_proc_read(lh_proc *p, lh_buf *out, size_t max, int64_t deadline_us)
{
    char chunk[4096];
    for (;;) {
        int64_t left = (deadline_us - lh_now_us()) / 1000;
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
        if (left <= 0)
            return LH_ETIMEOUT;
        int ready = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (ready < 0 && errno != EINTR)
            return LH_ESYS;
        if (ready <= 0)
            continue; /* the deadline, checked above */
        ssize_t got = read(p->fd, chunk, sizeof chunk);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got < 0)
            return LH_ESYS;
        if (got == 0)
            return 0;
        size_t room = lh_buf_len(out) < max ? max - lh_buf_len(out) : 0;
        size_t keep = (size_t)got < room ? (size_t)got : room;
        if (keep > 0 && lh_buf_append(out, chunk, keep) < 0)
            return LH_ENOMEM;
    }
}

int lh_pid_gone(pid_t pid)
{
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return 1;
    text[n] = '\0';
    /* the command name may hold spaces and ')': the state follows the
     * last ')' */
    const char *p = strrchr(text, ')');
    char state;
    if (p == NULL || sscanf(p + 1, " %c", &state) != 1)
        return 1;
    return state == 'Z' || state == 'X';
}

int lh_proc_poll(lh_proc *p)
{
    if (p->exited)
        return 1;
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
        p->exited = 1;
        p->status = st;
        return 1;
    }
    if (r == 0 || errno == EINTR)
        return 0;
    p->exited = 1;
    p->status = -1;
    return LH_ESYS;
}

int lh_proc_wait(lh_proc *p, int64_t deadline_us)
{
    for (;;) {
        int rc = lh_proc_poll(p);
        if (rc != 0)
            return rc < 0 ? rc : 0;
        if (lh_now_us() > deadline_us)
            return LH_ETIMEOUT;
        lh_sleep_us(WAIT_STEP_US);
    }
}

static void signal_proc(const lh_proc *p, int sig)
{
    if (p->group)
        kill(-p->pid, sig);
    kill(p->pid, sig);
}

void lh_proc_stop(lh_proc *p, int grace_ms)
{
    if (p->pid > 0 && !p->exited) {
        if (grace_ms > 0) {
            signal_proc(p, SIGTERM);
            lh_proc_wait(p, lh_now_us() + (int64_t)grace_ms * 1000);
        }
        if (!p->exited) {
            signal_proc(p, SIGKILL);
            while (lh_proc_poll(p) == 0)
                lh_sleep_us(1000);
        }
    }
    release_keeper(p);
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}

/* 1 when the environment entry `entry` ("NAME=value") is NAME of `set`
 * ("NAME=value" or "NAME"). */
static int names(const char *set, const char *entry)
{
    size_t len = strcspn(set, "=");
    return strncmp(entry, set, len) == 0 && entry[len] == '=';
}

char **lh_spawn_env(const char *const *set)
{
    size_t n = 0, m = 0, k = 0;
    while (environ && environ[n])
        n++;
    while (set && set[m])
        m++;
    char **env = lh_calloc(n + m + 1, sizeof *env);
    if (env == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int replaced = 0;
        for (size_t j = 0; j < m && !replaced; j++)
            replaced = names(set[j], environ[i]);
        if (!replaced)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++)
        if (strchr(set[j], '='))
            env[k++] = (char *)(uintptr_t)set[j];
    env[k] = NULL;
    return env;
}

int lh_spawn_capture(const lh_spawn_opts *o, char *buf, size_t cap,
                     int timeout_ms, int *status)
{
    int64_t deadline = lh_now_us() + (int64_t)timeout_ms * 1000;
    lh_spawn_opts po = *o;
    lh_buf out = LH_BUF_INIT;
    lh_proc p;

    if (cap > 0)
        buf[0] = '\0';
    *status = 0;
    po.out = LH_SPAWN_PIPE;
    int rc = lh_spawn(&po, &p);
    if (rc < 0)
        return rc;
    rc = lh_proc_read(&p, &out, cap > 0 ? cap - 1 : 0, deadline);
    /* output closed: the child is exiting, or left a descendant behind */
    if (rc == 0)
        rc = lh_proc_wait(&p, deadline);
    if (p.exited)
        *status = p.status;
    lh_proc_stop(&p, 0);
    if (cap > 0) {
        size_t len = lh_buf_len(&out) < cap - 1 ? lh_buf_len(&out) : cap - 1;
        if (len > 0)
            memcpy(buf, lh_buf_peek(&out), len);
        buf[len] = '\0';
    }
    lh_buf_free(&out);
    return rc;
}
