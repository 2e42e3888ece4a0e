/*
 * test_process.c - starting children from an argv (core/process.c): no shell,
 * output captured or redirected, deadlines that kill, environments built
 * in the parent, nothing left behind.  Real processes (/bin/sh only as a
 * program under test, never in between).
 */
#include "cu_main.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Bounds a hang only; generous, the suite also runs under valgrind. */
#define LONG_MS 20000

static int capture(char *const *argv, char *buf, size_t cap, int *status)
{
    lh_spawn_opts o = {.argv = argv, .own_group = 1};
    return lh_spawn_capture(&o, buf, cap, LONG_MS, status);
}

/* 1 when st is a normal exit with `code`.  A child that fails to exec
 * is still the suite's own process: under valgrind its exit status is
 * valgrind's (the leak report of what it inherited), so only the exit
 * itself is checked there (test_roleutil.c does the same). */
static int exited_with(int st, int code)
{
    if (st < 0 || !WIFEXITED(st))
        return 0;
    return getenv("LH_UNDER_VALGRIND") != NULL || WEXITSTATUS(st) == code;
}

/* 1 once pid is gone or a zombie nobody reaps (a container's init may
 * not), within about two seconds (lh_pid_gone: tested on its own). */
static int gone_soon(pid_t pid)
{
    for (int i = 0; i < 200; i++) {
        if (lh_pid_gone(pid))
            return 1;
        lh_sleep_us(10000);
    }
    return 0;
}

static void test_process_passes_arguments_as_they_are_without_a_shell(void)
{
    char *const argv[] = {"echo", "a  b", "$HOME", ";", "*", "`id`", NULL};
    char buf[256];
    int st = -1;
    CU_ASSERT_EQUAL(capture(argv, buf, sizeof buf, &st), 0);
    CU_ASSERT_STRING_EQUAL(buf, "a  b $HOME ; * `id`\n");
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_process_capture_gives_exit_status_and_both_streams(void)
{
    char *const argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    char buf[256];
    int st = -1;
    CU_ASSERT_EQUAL(capture(argv, buf, sizeof buf, &st), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "out\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "err\n"));
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 3);
}

static void test_process_exec_failure_is_status_127_with_the_reason(void)
{
    char *const argv[] = {"lh-no-such-program-here", "x", NULL};
    lh_spawn_opts o = {.argv = argv, .exec_error = "test: cannot run "};
    char buf[256];
    int st = -1;
    CU_ASSERT_EQUAL(lh_spawn_capture(&o, buf, sizeof buf, LONG_MS, &st), 0);
    CU_ASSERT(exited_with(st, 127));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(buf, "test: cannot run lh-no-such-program-here: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "No such file"));
}

static void test_process_path_runs_that_file_with_argv_as_given(void)
{
    char *const argv[] = {"some-name", "-c", "echo $0", NULL};
    lh_spawn_opts o = {.argv = argv, .path = "/bin/sh"};
    char buf[64];
    int st = -1;
    CU_ASSERT_EQUAL(lh_spawn_capture(&o, buf, sizeof buf, LONG_MS, &st), 0);
    CU_ASSERT_STRING_EQUAL(buf, "some-name\n");
}

static void test_process_returns_once_the_child_runs_the_program(void)
{
    /* before exec the child is a copy of this suite (under valgrind one
     * that catches every signal): a caller must never see that copy */
    char *const argv[] = {"sleep", "30", NULL};
    lh_spawn_opts o = {.argv = argv};
    char self[512], child[512], path[64];
    lh_proc p;
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CU_ASSERT_FATAL(n > 0);
    self[n] = '\0';
    for (int i = 0; i < 20; i++) {
        CU_ASSERT_EQUAL_FATAL(lh_spawn(&o, &p), 0);
        snprintf(path, sizeof path, "/proc/%d/exe", (int)p.pid);
        n = readlink(path, child, sizeof child - 1);
        child[n > 0 ? n : 0] = '\0';
        lh_proc_stop(&p, 0);
        CU_ASSERT(n > 0);
        CU_ASSERT_STRING_NOT_EQUAL(child, self);
        CU_ASSERT_PTR_NOT_NULL(strstr(child, "sleep"));
    }
}

static void test_process_stdin_is_dev_null(void)
{
    char *const argv[] = {"cat", NULL};
    char buf[64];
    int st = -1;
    CU_ASSERT_EQUAL(capture(argv, buf, sizeof buf, &st), 0);
    CU_ASSERT_STRING_EQUAL(buf, "");
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_process_capture_truncates_but_drains_the_output(void)
{
    /* 588,895 bytes: far more than a pipe holds; the child must finish
     * normally (not blocked, not killed by SIGPIPE) */
    char *const argv[] = {"seq", "1", "100000", NULL};
    char buf[8];
    int st = -1;
    CU_ASSERT_EQUAL(capture(argv, buf, sizeof buf, &st), 0);
    CU_ASSERT_STRING_EQUAL(buf, "1\n2\n3\n4");
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_process_timeout_kills_the_whole_group(void)
{
    /* the shell prints its background child's pid, then waits on it */
    char *const argv[] = {"sh", "-c", "sleep 30 & echo $!; wait", NULL};
    lh_spawn_opts o = {.argv = argv, .own_group = 1};
    char buf[64];
    int st = -1;
    int64_t t0 = lh_now_us();
    CU_ASSERT_EQUAL(lh_spawn_capture(&o, buf, sizeof buf, 1500, &st),
                    LH_ETIMEOUT);
    CU_ASSERT(lh_now_us() - t0 < 10 * 1000000);
    pid_t child = (pid_t)atoi(buf);
    CU_ASSERT(child > 0);
    if (child > 0)
        CU_ASSERT(gone_soon(child));
}

static void test_process_out_descriptor_receives_the_output(void)
{
    char path[] = "/tmp/lh-process-test.XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    char *const argv[] = {"sh", "-c", "echo to-file; echo err-too >&2", NULL};
    lh_spawn_opts o = {.argv = argv, .out = fd};
    lh_proc p;
    CU_ASSERT_EQUAL_FATAL(lh_spawn(&o, &p), 0);
    CU_ASSERT_EQUAL(p.fd, -1);
    CU_ASSERT_EQUAL(lh_proc_wait(&p, lh_now_us() + LONG_MS * 1000LL), 0);
    CU_ASSERT(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0);
    lh_proc_stop(&p, 0);
    close(fd);
    char text[64] = "";
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    unlink(path);
    CU_ASSERT_STRING_EQUAL(text, "to-file\nerr-too\n");
}

static void test_process_stop_sends_term_first_then_kill_after_grace(void)
{
    /* this one exits on SIGTERM with 7 ... */
    char *const polite[] = {"sh", "-c", "trap 'exit 7' TERM; "
                                        "while :; do sleep 0.05; done", NULL};
    lh_spawn_opts o = {.argv = polite, .own_group = 1};
    lh_proc p;
    CU_ASSERT_EQUAL_FATAL(lh_spawn(&o, &p), 0);
    lh_sleep_us(300000); /* let the shell set its trap */
    lh_proc_stop(&p, LONG_MS);
    CU_ASSERT(p.exited);
    CU_ASSERT(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 7);
    /* ... this one ignores it and is killed when the grace is over */
    char *const deaf[] = {"sh", "-c", "trap '' TERM; sleep 30", NULL};
    o.argv = deaf;
    CU_ASSERT_EQUAL_FATAL(lh_spawn(&o, &p), 0);
    lh_sleep_us(300000);
    int64_t t0 = lh_now_us();
    lh_proc_stop(&p, 300);
    CU_ASSERT(lh_now_us() - t0 >= 300000);
    CU_ASSERT(p.exited);
    CU_ASSERT(WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGKILL);
}

static void test_process_poll_sees_the_exit_and_stop_accepts_a_reaped_child(void)
{
    char *const argv[] = {"true", NULL};
    lh_spawn_opts o = {.argv = argv};
    lh_proc p;
    CU_ASSERT_EQUAL_FATAL(lh_spawn(&o, &p), 0);
    CU_ASSERT_EQUAL(lh_proc_wait(&p, lh_now_us() + LONG_MS * 1000LL), 0);
    CU_ASSERT_EQUAL(lh_proc_poll(&p), 1);
    CU_ASSERT(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0);
    lh_proc_stop(&p, 1000); /* nothing to stop, nothing to wait for */
    lh_proc zero;
    memset(&zero, 0, sizeof zero);
    zero.fd = -1;
    lh_proc_stop(&zero, 0);
}

static void test_process_die_with_parent_ends_the_child_with_its_parent(void)
{
    int fd[2];
    CU_ASSERT_FATAL(pipe(fd) == 0);
    pid_t mid = fork();
    CU_ASSERT_FATAL(mid >= 0);
    if (mid == 0) { /* the parent that dies: spawns, reports, exits */
        char *const argv[] = {"sleep", "30", NULL};
        lh_spawn_opts o = {.argv = argv, .die_with_parent = 1};
        lh_proc p;
        pid_t pid = lh_spawn(&o, &p) == 0 ? p.pid : -1;
        (void)!write(fd[1], &pid, sizeof pid);
        /* exec, not _exit: a valgrind'd suite's copy ends without a leak
         * report of its own */
        execl("/bin/true", "true", (char *)NULL);
        _exit(0);
    }
    close(fd[1]);
    pid_t child = -1;
    CU_ASSERT_EQUAL(read(fd[0], &child, sizeof child), (ssize_t)sizeof child);
    close(fd[0]);
    waitpid(mid, NULL, 0);
    CU_ASSERT(child > 0);
    if (child > 0)
        CU_ASSERT(gone_soon(child));
}

/* 1 when a live process (not a zombie) is in group pgid. */
static int group_alive(pid_t pgid)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int alive = 0;
    while (d && !alive && (de = readdir(d)) != NULL) {
        char path[300], text[512] = "";
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = '\0';
        const char *p = strrchr(text, ')');
        int ppid, pg;
        char st;
        if (p && sscanf(p + 1, " %c %d %d", &st, &ppid, &pg) == 3 &&
            pg == pgid && st != 'Z')
            alive = 1;
    }
    if (d)
        closedir(d);
    return alive;
}

/* 1 once no live process is left in group pgid, within about two
 * seconds. */
static int group_gone_soon(pid_t pgid)
{
    for (int i = 0; i < 200; i++) {
        if (!group_alive(pgid))
            return 1;
        lh_sleep_us(10000);
    }
    return 0;
}

/* A shell that forks a sleep into its group (no death signal there),
 * then becomes another sleep; its group dies with its parent. */
static lh_spawn_opts group_opts(void)
{
    static char *const argv[] = {"sh", "-c", "sleep 30 & exec sleep 31",
                                 NULL};
    lh_spawn_opts o = {.argv = argv,
                       .own_group = 1,
                       .die_with_parent = 1,
                       .group_dies_with_parent = 1};
    return o;
}

static void test_process_group_dies_with_parent_killed(void)
{
    /* the shell forks a sleep into its group (no death signal there),
     * then becomes another sleep; its parent is SIGKILLed */
    int fd[2];
    CU_ASSERT_FATAL(pipe(fd) == 0);
    pid_t mid = fork();
    CU_ASSERT_FATAL(mid >= 0);
    if (mid == 0) {
        lh_spawn_opts o = group_opts();
        lh_proc p;
        pid_t ids[2] = {-1, -1};
        if (lh_spawn(&o, &p) == 0) {
            ids[0] = p.pid;
            ids[1] = p.keeper;
        }
        (void)!write(fd[1], ids, sizeof ids);
        for (;;)
            pause(); /* until SIGKILL */
    }
    close(fd[1]);
    pid_t ids[2] = {-1, -1};
    CU_ASSERT_EQUAL(read(fd[0], ids, sizeof ids), (ssize_t)sizeof ids);
    close(fd[0]);
    CU_ASSERT_FATAL(ids[0] > 0 && ids[1] > 0);
    lh_sleep_us(200000); /* the shell has forked its sleep */
    kill(mid, SIGKILL);
    waitpid(mid, NULL, 0);
    CU_ASSERT(group_gone_soon(ids[0]));
    CU_ASSERT(gone_soon(ids[1])); /* the keeper did its job and ended */
}

static void test_process_stop_releases_the_keeper_and_the_group(void)
{
    lh_spawn_opts o = group_opts();
    lh_proc p;
    CU_ASSERT_EQUAL_FATAL(lh_spawn(&o, &p), 0);
    CU_ASSERT(p.keeper > 0);
    lh_sleep_us(200000);
    /* only the leader is signalled, as a caller stopping it would */
    kill(p.pid, SIGKILL);
    CU_ASSERT_EQUAL(lh_proc_wait(&p, lh_now_us() + LONG_MS * 1000LL), 0);
    lh_proc_stop(&p, 0);
    CU_ASSERT_EQUAL(p.keeper, 0);
    CU_ASSERT(group_gone_soon(p.pid));
    CU_ASSERT_EQUAL(waitpid(-1, NULL, WNOHANG), -1); /* the keeper reaped */
    /* without the flag: no keeper */
    o.group_dies_with_parent = 0;
    CU_ASSERT_EQUAL_FATAL(lh_spawn(&o, &p), 0);
    CU_ASSERT_EQUAL(p.keeper, 0);
    lh_proc_stop(&p, 0);
}

static void test_process_pid_gone_sees_a_zombie_and_a_reaped_child(void)
{
    CU_ASSERT_EQUAL(lh_pid_gone(getpid()), 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        _exit(0);
    /* not reaped yet: a zombie, which kill(pid, 0) would call alive */
    int zombie = 0;
    for (int i = 0; i < 200 && !zombie; i++) {
        zombie = lh_pid_gone(pid);
        if (!zombie)
            lh_sleep_us(10000);
    }
    CU_ASSERT(zombie);
    CU_ASSERT_EQUAL(kill(pid, 0), 0);
    CU_ASSERT_EQUAL(waitpid(pid, NULL, 0), pid);
    CU_ASSERT_EQUAL(lh_pid_gone(pid), 1);
}

static void test_process_child_path_and_environment_come_from_env(void)
{
    setenv("LH_SPAWN_OLD", "old", 1);
    setenv("LH_SPAWN_GONE", "here", 1);
    const char *set[] = {"LH_SPAWN_OLD=new", "LH_SPAWN_GONE",
                         "LH_SPAWN_ADDED=yes", NULL};
    char **env = lh_spawn_env(set);
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    char *const argv[] = {"sh", "-c",
                          "echo $LH_SPAWN_OLD,${LH_SPAWN_GONE-unset},"
                          "$LH_SPAWN_ADDED",
                          NULL};
    lh_spawn_opts o = {.argv = argv, .env = env};
    char buf[128];
    int st = -1;
    CU_ASSERT_EQUAL(lh_spawn_capture(&o, buf, sizeof buf, LONG_MS, &st), 0);
    CU_ASSERT_STRING_EQUAL(buf, "new,unset,yes\n");
    size_t olds = 0;
    for (char **e = env; *e; e++)
        olds += strncmp(*e, "LH_SPAWN_OLD=", 13) == 0;
    CU_ASSERT_EQUAL(olds, 1);
    lh_free(env);
    /* a program is looked up on the child's PATH, not ours */
    const char *nopath[] = {"PATH=/nonexistent-lh", NULL};
    env = lh_spawn_env(nopath);
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    char *const t[] = {"true", NULL};
    o.argv = t;
    o.env = env;
    CU_ASSERT_EQUAL(lh_spawn_capture(&o, buf, sizeof buf, LONG_MS, &st), 0);
    CU_ASSERT(exited_with(st, 127));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "cannot execute true: "));
    lh_free(env);
    unsetenv("LH_SPAWN_OLD");
    unsetenv("LH_SPAWN_GONE");
}

static void test_process_bad_input_and_failures_leave_nothing_behind(void)
{
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_PTR_NULL(lh_spawn_env(NULL));
    lh_alloc_fail_after(-1, 0);
    char *const empty[] = {NULL};
    lh_spawn_opts o = {.argv = empty};
    char buf[16] = "x";
    int st = -1;
    CU_ASSERT_EQUAL(lh_spawn_capture(&o, buf, sizeof buf, LONG_MS, &st),
                    LH_EINVAL);
    CU_ASSERT_STRING_EQUAL(buf, "");
    /* a child stopped with no grace is killed and reaped, its pipe closed */
    char *const argv[] = {"sleep", "30", NULL};
    o.argv = argv;
    o.out = LH_SPAWN_PIPE;
    lh_proc p;
    CU_ASSERT_EQUAL_FATAL(lh_spawn(&o, &p), 0);
    CU_ASSERT(p.fd >= 0);
    lh_proc_stop(&p, 0);
    CU_ASSERT(p.exited);
    CU_ASSERT(WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGKILL);
    CU_ASSERT_EQUAL(p.fd, -1);
}

static void test_process_read_keeps_max_bytes_and_reports_no_memory(void)
{
    char *const argv[] = {"seq", "1", "2000", NULL};
    lh_spawn_opts o = {.argv = argv, .out = LH_SPAWN_PIPE};
    lh_proc p;
    lh_buf b = LH_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(lh_spawn(&o, &p), 0);
    CU_ASSERT_EQUAL(
        lh_proc_read(&p, &b, SIZE_MAX, lh_now_us() + LONG_MS * 1000LL), 0);
    CU_ASSERT_EQUAL(lh_buf_len(&b), 8893); /* all of it */
    CU_ASSERT_EQUAL(lh_proc_wait(&p, lh_now_us() + LONG_MS * 1000LL), 0);
    lh_proc_stop(&p, LONG_MS);
    CU_ASSERT(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0);
    lh_buf_free(&b);
    CU_ASSERT_EQUAL_FATAL(lh_spawn(&o, &p), 0);
    lh_alloc_fail_after(0, 1);
    CU_ASSERT_EQUAL(
        lh_proc_read(&p, &b, SIZE_MAX, lh_now_us() + LONG_MS * 1000LL),
        LH_ENOMEM);
    lh_alloc_fail_after(-1, 0);
    lh_proc_stop(&p, 0);
    CU_ASSERT(p.exited);
    lh_buf_free(&b);
}

static CU_TestInfo tests[] = {
    {"arguments pass as they are, without a shell",
     test_process_passes_arguments_as_they_are_without_a_shell},
    {"capture gives exit status and both streams",
     test_process_capture_gives_exit_status_and_both_streams},
    {"exec failure is status 127 with the reason",
     test_process_exec_failure_is_status_127_with_the_reason},
    {"path runs that file with argv as given",
     test_process_path_runs_that_file_with_argv_as_given},
    {"returns once the child runs the program",
     test_process_returns_once_the_child_runs_the_program},
    {"stdin is /dev/null", test_process_stdin_is_dev_null},
    {"capture truncates but drains the output",
     test_process_capture_truncates_but_drains_the_output},
    {"timeout kills the whole group", test_process_timeout_kills_the_whole_group},
    {"out descriptor receives the output",
     test_process_out_descriptor_receives_the_output},
    {"stop sends TERM first, then KILL after the grace",
     test_process_stop_sends_term_first_then_kill_after_grace},
    {"poll sees the exit; stop accepts a reaped child",
     test_process_poll_sees_the_exit_and_stop_accepts_a_reaped_child},
    {"die_with_parent ends the child with its parent",
     test_process_die_with_parent_ends_the_child_with_its_parent},
    {"the group dies with its parent, SIGKILLed",
     test_process_group_dies_with_parent_killed},
    {"stop releases the keeper and the group",
     test_process_stop_releases_the_keeper_and_the_group},
    {"pid_gone sees a zombie and a reaped child",
     test_process_pid_gone_sees_a_zombie_and_a_reaped_child},
    {"the child's PATH and environment come from env",
     test_process_child_path_and_environment_come_from_env},
    {"bad input and failures leave nothing behind",
     test_process_bad_input_and_failures_leave_nothing_behind},
    {"read keeps max bytes and reports no memory",
     test_process_read_keeps_max_bytes_and_reports_no_memory},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("process", tests)
