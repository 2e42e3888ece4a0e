/*
 * test_heapshim.c - the heap tool's shim (harness/shim/heapshim.c) in real
 * processes: shimprog (tests/fixtures/shim) started with the shim and
 * tcmalloc preloaded, as `leak-hunt __heap-wrap` starts a process.  Its
 * heap-live.log lines, its answers to fresh requests and not to stale
 * ones, whole profiles under each process's own pid (a forked child's
 * too), a thread that leaves every signal to the program, nothing from a
 * process that lives under 100 ms, and nothing at all without its
 * variable.
 */
#include "cu_main.h"

#include "alloc.h"
#include "clock.h"
#include "heaplog.h"
#include "heapprof.h"
#include "process.h"
#include "sampler.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef LH_SHIMPROG
#error "LH_SHIMPROG: the fixture program"
#endif
#ifndef LH_SHIM_SO
#error "LH_SHIM_SO: the shim"
#endif
#ifndef LH_TCMALLOC_SO
#define LH_TCMALLOC_SO "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4"
#endif

static char dir[64], out[128];

/* Starts shimprog MODE with the shim (and with `with_dir`, the run
 * directory); its output to dir/out.  Waits for its first line when
 * `ready`. */
static lh_proc start(const char *mode, int with_dir, int ready)
{
    static char preload[1024], heapdir[128];
    snprintf(dir, sizeof dir, "/tmp/lh-test-shim.XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s:%s", LH_SHIM_SO,
             LH_TCMALLOC_SO);
    snprintf(heapdir, sizeof heapdir, "%s=%s", LH_HEAPLOG_ENV_DIR, dir);
    const char *set[] = {preload, with_dir ? heapdir : LH_HEAPLOG_ENV_DIR,
                         "HEAP_PROFILE_ALLOCATION_INTERVAL=0",
                         "HEAP_PROFILE_INUSE_INTERVAL=0", "HEAPPROFILE",
                         NULL};
    char **env = lh_spawn_env(set);
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    char *argv[] = {LH_SHIMPROG, (char *)mode, NULL};
    lh_spawn_opts o = {.argv = argv, .env = env, .out = fd,
                       .die_with_parent = 1};
    lh_proc p;
    CU_ASSERT_EQUAL_FATAL(lh_spawn(&o, &p), 0);
    close(fd);
    lh_free(env);
    for (int i = 0; ready && i < 200; i++) {
        struct stat st;
        if (stat(out, &st) == 0 && st.st_size > 0)
            break;
        lh_sleep_us(10000);
    }
    return p;
}

/* Removes the run directory and what is in it. */
static void clean(void)
{
    char sub[128];
    snprintf(sub, sizeof sub, "%s/%s", dir, LH_HEAPLOG_STAGING);
    const char *dirs[] = {sub, dir};
    for (int k = 0; k < 2; k++) {
        DIR *d = opendir(dirs[k]);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            char path[512];
            if (e->d_name[0] == '.' &&
                (e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0 ||
                 strcmp(e->d_name, LH_HEAPLOG_STAGING) == 0))
                continue;
            snprintf(path, sizeof path, "%s/%s", dirs[k], e->d_name);
            unlink(path);
        }
        if (d)
            closedir(d);
        rmdir(dirs[k]);
    }
}

/* Asks for dump n, made `age_s` seconds ago (by the file's mtime). */
static void request(unsigned n, int age_s)
{
    char tmp[128], path[128];
    snprintf(tmp, sizeof tmp, "%s/req.tmp", dir);
    snprintf(path, sizeof path, "%s/%s", dir, LH_HEAPLOG_REQUEST);
    FILE *f = fopen(tmp, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f, "%u\n", n);
    fclose(f);
    if (age_s) {
        struct timespec t[2];
        clock_gettime(CLOCK_REALTIME, &t[0]);
        t[0].tv_sec -= age_s;
        t[1] = t[0];
        CU_ASSERT_EQUAL(utimensat(AT_FDCWD, tmp, t, 0), 0);
    }
    CU_ASSERT_EQUAL(rename(tmp, path), 0);
}

static int profile_exists(pid_t pid, unsigned n)
{
    char path[160];
    snprintf(path, sizeof path, "%s/heap.%d.%04u.heap", dir, (int)pid, n);
    return access(path, R_OK) == 0;
}

/* Waits up to `ms` for heap.<pid>.<n>.heap.  1 when it came. */
static int await_profile(pid_t pid, unsigned n, int ms)
{
    for (int i = 0; i < ms / 20; i++) {
        if (profile_exists(pid, n))
            return 1;
        lh_sleep_us(20000);
    }
    return profile_exists(pid, n);
}

/* The last heap-live.log figure of pid, waiting up to `ms` for one of at
 * least `min`; -1 when there is none. */
static double live_heap(pid_t pid, double min, int ms)
{
    char path[128], line[256];
    snprintf(path, sizeof path, "%s/%s", dir, LH_HEAPLOG_LIVE);
    double heap = -1;
    for (int i = 0; i <= ms / 20 && heap < min; i++) {
        heap = -1;
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f)) {
            lh_heaplog_line l;
            if (lh_heaplog_parse(line, strlen(line), &l) == 0 &&
                l.pid == pid && !l.sanitizer)
                heap = (double)l.heap;
        }
        if (f)
            fclose(f);
        if (heap < min)
            lh_sleep_us(20000);
    }
    return heap;
}

/* The pid after `word` in the output ("ready 123"), 0 when none. */
static pid_t pid_said(const char *word)
{
    char line[128];
    long pid = 0;
    for (int i = 0; i < 200 && pid == 0; i++) {
        FILE *f = fopen(out, "r");
        while (f && fgets(line, sizeof line, f))
            if (strncmp(line, word, strlen(word)) == 0)
                pid = strtol(line + strlen(word), NULL, 10);
        if (f)
            fclose(f);
        if (pid == 0)
            lh_sleep_us(10000);
    }
    return (pid_t)pid;
}

/* The task id of the shim's thread in pid ("leakhunt-heap"), 0 if none. */
static long shim_thread(pid_t pid)
{
    char path[320], comm[64];
    long tid = 0;
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && tid == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%s/comm", (int)pid,
                 e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fgets(comm, sizeof comm, f) &&
            strcmp(comm, "leakhunt-heap\n") == 0)
            tid = strtol(e->d_name, NULL, 10);
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return tid;
}

static void test_shim_writes_live_heap_lines(void)
{
    lh_proc p = start("wait", 1, 1);
    double heap = live_heap(p.pid, 65536, 2000);
    CU_ASSERT(heap >= 65536); /* what shimprog holds, as tcmalloc counts */
    lh_proc_stop(&p, 2000);
    clean();
}

/* The shim's thread blocks every signal: the program's SIGTERM reaches
 * the program's sigwait. */
static void test_shim_leaves_signals_to_the_program(void)
{
    lh_proc p = start("wait", 1, 1);
    CU_ASSERT(live_heap(p.pid, 1, 2000) > 0);
    char path[128], line[256];
    long tid = shim_thread(p.pid);
    CU_ASSERT_FATAL(tid > 0);
    snprintf(path, sizeof path, "/proc/%d/task/%ld/status", (int)p.pid, tid);
    FILE *f = fopen(path, "r");
    unsigned long long blocked = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "SigBlk:", 7) == 0)
            blocked = strtoull(line + 7, NULL, 16);
    if (f)
        fclose(f);
    for (int sig = 1; sig < 32; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            CU_ASSERT(blocked & (1ULL << (sig - 1)));
    kill(p.pid, SIGTERM);
    CU_ASSERT_EQUAL(lh_proc_wait(&p, lh_now_us() + 5000000), 0);
    CU_ASSERT(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0);
    f = fopen(out, "r");
    int got = 0;
    while (f && fgets(line, sizeof line, f))
        got |= strcmp(line, "got SIGTERM\n") == 0;
    if (f)
        fclose(f);
    CU_ASSERT(got);
    lh_proc_stop(&p, 0);
    clean();
}

/* A fresh request is answered with a whole profile under the pid; a stale
 * one is passed over, and the next fresh one answered. */
static void test_shim_answers_fresh_requests_only(void)
{
    lh_proc p = start("wait", 1, 1);
    CU_ASSERT(live_heap(p.pid, 1, 2000) > 0); /* its profiler runs */
    request(1, 0);
    CU_ASSERT_FATAL(await_profile(p.pid, 1, 2000));
    char path[160], why[256];
    snprintf(path, sizeof path, "%s/heap.%d.0001.heap", dir, (int)p.pid);
    lh_heapprof *prof = NULL;
    CU_ASSERT_EQUAL(lh_heapprof_load(path, &prof, why, sizeof why), 0);
    lh_heapprof_free(prof);
    request(2, 10);
    lh_sleep_us(500000);
    CU_ASSERT(!profile_exists(p.pid, 2));
    request(3, 0);
    CU_ASSERT(await_profile(p.pid, 3, 2000));
    lh_proc_stop(&p, 2000);
    clean();
}

/* A forked child profiles under its own pid (its allocations after its
 * profiler started, 100 ms after the fork), never under its parent's
 * names. */
static void test_shim_forked_child_has_names_of_its_own(void)
{
    lh_proc p = start("fork", 1, 1);
    pid_t parent = pid_said("ready "), child = pid_said("child ");
    CU_ASSERT_FATAL(parent == p.pid && child > 0);
    CU_ASSERT(live_heap(child, 1 << 20, 2000) >= (1 << 20));
    CU_ASSERT(live_heap(parent, 1, 2000) > 0);
    request(1, 0);
    CU_ASSERT(await_profile(parent, 1, 2000));
    CU_ASSERT(await_profile(child, 1, 2000));
    char path[160], why[256];
    lh_heapprof *prof = NULL;
    snprintf(path, sizeof path, "%s/heap.%d.0001.heap", dir, (int)child);
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_load(path, &prof, why, sizeof why), 0);
    CU_ASSERT(prof->total.inuse_bytes >= (1 << 20));
    lh_heapprof_free(prof);
    snprintf(path, sizeof path, "%s/heap.%d.0001.heap", dir, (int)parent);
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_load(path, &prof, why, sizeof why), 0);
    CU_ASSERT(prof->total.inuse_bytes < (1 << 20));
    lh_heapprof_free(prof);
    kill(child, SIGKILL);
    lh_proc_stop(&p, 0);
    clean();
}

/* A process that lives under 100 ms leaves no line and no profile. */
static void test_shim_short_process_leaves_nothing(void)
{
    lh_proc p = start("quick", 1, 0);
    CU_ASSERT_EQUAL(lh_proc_wait(&p, lh_now_us() + 5000000), 0);
    lh_sleep_us(200000);
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, LH_HEAPLOG_LIVE);
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
    lh_proc_stop(&p, 0);
    clean();
}

/* Without LEAKHUNT_HEAP_DIR the shim does nothing (no thread). */
static void test_shim_idle_without_its_variable(void)
{
    lh_proc p = start("wait", 0, 1);
    lh_sleep_us(300000);
    CU_ASSERT_EQUAL(shim_thread(p.pid), 0);
    lh_proc_stop(&p, 2000);
    clean();
}

static CU_TestInfo tests[] = {
    {"live heap lines", test_shim_writes_live_heap_lines},
    {"signals left to the program", test_shim_leaves_signals_to_the_program},
    {"fresh requests only", test_shim_answers_fresh_requests_only},
    {"forked child: names of its own",
     test_shim_forked_child_has_names_of_its_own},
    {"a short process leaves nothing", test_shim_short_process_leaves_nothing},
    {"idle without its variable", test_shim_idle_without_its_variable},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("heapshim", tests)
