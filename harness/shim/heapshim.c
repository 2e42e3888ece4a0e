/*
 * heapshim.c - libleakhunt-heap.so, preloaded by `leak-hunt __heap-wrap`
 * into each process under the heap tool (docs/architecture.md, the heap
 * tool).  The files it shares with leak-hunt are described in heaplog.h.
 *
 * What it does, from a thread of its own that wakes every 100 ms:
 *   - writes the process's live heap, as its allocator counts it, to the
 *     run's heap-live.log: tcmalloc's generic.current_allocated_bytes
 *     (MallocExtension_GetNumericProperty), or under a sanitizer the
 *     sanitizer allocator's __sanitizer_get_current_allocated_bytes.
 *     leak-hunt decides on that instead of the heap= a program reports,
 *     which a program may compute with an allocator that is not in use
 *     (glibc's mallinfo2 reads flat under tcmalloc);
 *   - starts gperftools' heap profiler for this process
 *     (HeapProfilerStart) on its first wake-up, and dumps a profile
 *     (HeapProfilerDump) when the tool asks for one in heap-dump.req,
 *     renaming it into place under this process's pid once complete.
 *
 * Why a thread and a request file, not gperftools' HEAPPROFILE and
 * HEAPPROFILESIGNAL: a signal kills any process that has no handler for
 * it (a child that did not load the profiler), reaches the program's own
 * handler when the program uses that signal too, and gperftools' handler
 * writes the whole profile inside the signal handler of whatever thread
 * took it.  A request file needs no signal at all; the dump runs on our
 * thread, outside any signal handler.  Profile names come from the pid
 * at the time of the dump, so every process, whether started by the
 * wrapper, exec'd by one that was (LD_PRELOAD and LEAKHUNT_HEAP_DIR are
 * inherited) or forked from one, has names of its own.
 *
 * Staying out of the target's way:
 *   - nothing here goes through the target's malloc once the thread
 *     runs: lines are formatted into stack buffers, files are opened,
 *     written and closed with system calls (so a program that closes
 *     every descriptor it does not know does not break us), directories
 *     are read with getdents64; the profiler allocates from its own arena;
 *   - the thread runs with every signal blocked, so the program's signals
 *     (SIGTERM to a program that waits for it with sigwait or a signalfd)
 *     never land on it, and it is detached: it ends with the process (or
 *     at exec), and a destructor stops it from calling into the allocator
 *     once the process is exiting;
 *   - a fork: the child's copy of the profiler would write under the
 *     parent's names, so the child handler stops it (the child's own
 *     profiler starts on its thread's first wake-up) and starts the
 *     child's thread.  The prepare handler waits for a dump in progress,
 *     so a fork never copies the profiler's lock held by our thread.
 *     These handlers run inside fork(); the child one calls what is not
 *     async-signal-safe (HeapProfilerStop, pthread_create), as every
 *     malloc in the child does: the profiler's lock is ours or free at
 *     that point (prepare), and glibc has reset its own locks before
 *     child handlers run;
 *   - a process that lives under 100 ms (each command a shell loop runs)
 *     never starts the profiler nor writes a line.
 *
 * The shim links nothing but the C library: tcmalloc's functions and the
 * sanitizer's are looked up with dlsym, so the same object serves a
 * process under a sanitizer, where tcmalloc must not be loaded.
 */
#include "heaplog.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PATH_CAP 1024
#define STACK_SIZE (256 * 1024)

typedef int (*property_fn)(const char *name, size_t *value);
typedef size_t (*sanitizer_fn)(void);
typedef void (*start_fn)(const char *prefix);
typedef void (*stop_fn)(void);
typedef void (*dump_fn)(const char *reason);

static struct {
    char dir[PATH_CAP];
    char live[PATH_CAP], request[PATH_CAP], staging[PATH_CAP];
    property_fn property;
    sanitizer_fn sanitizer;
    start_fn start;
    stop_fn stop;
    dump_fn dump;
    pid_t profiled;          /* pid the profiler runs for, 0: not started */
    unsigned long served;    /* the last request answered or passed over */
    pthread_mutex_t dumping; /* held by the thread during a dump */
    atomic_int exiting;
} shim = {.dumping = PTHREAD_MUTEX_INITIALIZER};

/* ISO C has no cast from object to function pointer: copy the bits. */
static void find(const char *name, void *fn, size_t size)
{
    void *sym = dlsym(RTLD_DEFAULT, name);
    if (sym != NULL)
        memcpy(fn, &sym, size);
}

/* Appends s to buf at *n (cut at cap - 1). */
static void put(char *buf, size_t cap, size_t *n, const char *s)
{
    while (*s && *n + 1 < cap)
        buf[(*n)++] = *s++;
    buf[*n] = '\0';
}

static void put_number(char *buf, size_t cap, size_t *n, uint64_t v,
                       int width)
{
    char digits[24];
    int k = 0;
    do {
        digits[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (k < width)
        digits[k++] = '0';
    while (k > 0 && *n + 1 < cap)
        buf[(*n)++] = digits[--k];
    buf[*n] = '\0';
}

/* Reads a decimal number at s, advancing it; 0 when there is none. */
static uint64_t get_number(const char **s)
{
    uint64_t v = 0;
    while (**s >= '0' && **s <= '9' && v < UINT64_MAX / 10)
        v = v * 10 + (uint64_t)(*(*s)++ - '0');
    return v;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* One line of heap-live.log. */
static void write_live(pid_t pid)
{
    size_t heap = 0;
    const char *from;
    if (shim.sanitizer) {
        heap = shim.sanitizer();
        from = LH_HEAPLOG_SANITIZER;
    } else if (shim.property("generic.current_allocated_bytes", &heap)) {
        from = LH_HEAPLOG_TCMALLOC;
    } else {
        return;
    }
    char line[128];
    size_t n = 0;
    put(line, sizeof line, &n, LH_HEAPLOG_PID);
    put_number(line, sizeof line, &n, (uint64_t)pid, 0);
    put(line, sizeof line, &n, " " LH_HEAPLOG_HEAP);
    put_number(line, sizeof line, &n, heap, 0);
    put(line, sizeof line, &n, " " LH_HEAPLOG_FROM);
    put(line, sizeof line, &n, from);
    put(line, sizeof line, &n, "\n");
    int fd = open(shim.live, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    ssize_t w = write(fd, line, n);
    (void)w; /* a line lost is a sample lost, nothing to do about it */
    close(fd);
}

/* The latest request in heap-dump.req (0 when none), and whether it was
 * made within the last LH_HEAPLOG_FRESH_MS. */
static unsigned long read_request(int *fresh)
{
    char buf[32];
    struct stat st;
    struct timespec now;
    *fresh = 0;
    int fd = open(shim.request, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (fstat(fd, &st) == 0 && clock_gettime(CLOCK_REALTIME, &now) == 0) {
        long long ms = (long long)(now.tv_sec - st.st_mtim.tv_sec) * 1000 +
                       (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
        *fresh = ms <= LH_HEAPLOG_FRESH_MS;
    }
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *p = buf;
    return (unsigned long)get_number(&p);
}

/* Starts the profiler for this process, under its pid in the staging
 * directory. */
static void start_profiler(pid_t pid)
{
    char prefix[PATH_CAP];
    size_t n = 0;
    put(prefix, sizeof prefix, &n, shim.staging);
    put(prefix, sizeof prefix, &n, "/");
    put_number(prefix, sizeof prefix, &n, (uint64_t)pid, 0);
    mkdir(shim.staging, 0755);
    shim.start(prefix);
    shim.profiled = pid;
}

/* gperftools' count in a staging name "<pid>.<count>.heap", or -1 when
 * the name is not one of this process's. */
static long staged_count(const char *name, const char *mine, size_t len)
{
    if (strncmp(name, mine, len) != 0)
        return -1;
    const char *p = name + len;
    if (*p < '0' || *p > '9')
        return -1;
    long count = (long)get_number(&p);
    return strcmp(p, ".heap") == 0 ? count : -1;
}

/* Moves the newest staged profile of this process to
 * heap.<pid>.<request>.heap; older ones (left by an interrupted dump)
 * are removed. */
static void publish(pid_t pid, unsigned long request)
{
    char mine[32], best[256] = "";
    _Alignas(struct dirent64) char buf[4096];
    size_t len = 0;
    long best_count = -1;
    put_number(mine, sizeof mine, &len, (uint64_t)pid, 0);
    put(mine, sizeof mine, &len, ".");
    int dfd = open(shim.staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return;
    ssize_t got;
    while ((got = getdents64(dfd, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < got;) {
            struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);
            off += d->d_reclen;
            long count = staged_count(d->d_name, mine, len);
            if (count < 0 || strlen(d->d_name) >= sizeof best)
                continue;
            if (best_count >= 0 && count < best_count) {
                unlinkat(dfd, d->d_name, 0);
                continue;
            }
            if (best_count >= 0)
                unlinkat(dfd, best, 0);
            best_count = count;
            memcpy(best, d->d_name, strlen(d->d_name) + 1);
        }
    }
    if (best_count >= 0) {
        char to[PATH_CAP];
        size_t n = 0;
        put(to, sizeof to, &n, shim.dir);
        put(to, sizeof to, &n, "/heap.");
        put_number(to, sizeof to, &n, (uint64_t)pid, 0);
        put(to, sizeof to, &n, ".");
        put_number(to, sizeof to, &n, request, 4);
        put(to, sizeof to, &n, ".heap");
        renameat(dfd, best, AT_FDCWD, to);
    }
    close(dfd);
}

/* Answers the latest request if it is new and fresh: the tool notes the
 * work done when it asks, so a dump much later than that (a process
 * started, or stopped, since) would be charged the wrong work; such a
 * request is passed over, and the process answers the next. */
static void serve(pid_t pid)
{
    int fresh;
    unsigned long request = read_request(&fresh);
    if (request <= shim.served)
        return;
    shim.served = request;
    if (fresh) {
        shim.dump("leak-hunt");
        publish(pid, request);
    }
}

/* One wake-up: the profiler started for this process (its first, or the
 * first after a fork), its line written, a request answered.  Under the
 * lock that fork's prepare handler takes. */
static void wake(void)
{
    pid_t pid = getpid();
    pthread_mutex_lock(&shim.dumping);
    if (!atomic_load(&shim.exiting)) {
        if (shim.start && shim.profiled != pid)
            start_profiler(pid);
        write_live(pid);
        if (shim.profiled == pid)
            serve(pid);
    }
    pthread_mutex_unlock(&shim.dumping);
}

static void *run(void *arg)
{
    (void)arg;
    while (!atomic_load(&shim.exiting)) {
        pause_ms(LH_HEAPLOG_PERIOD_MS);
        wake();
    }
    return NULL;
}

/* Starts the thread with every signal blocked (it inherits the mask). */
static void start_thread(void)
{
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_t t;
    if (pthread_attr_init(&attr) != 0)
        return;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, STACK_SIZE);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&t, &attr, run, NULL) == 0)
        pthread_setname_np(t, "leakhunt-heap");
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

static void before_fork(void)
{
    pthread_mutex_lock(&shim.dumping);
}

static void after_fork_parent(void)
{
    pthread_mutex_unlock(&shim.dumping);
}

static void after_fork_child(void)
{
    pthread_mutex_unlock(&shim.dumping);
    if (shim.profiled != 0) {
        shim.stop(); /* the parent's profiler, under the parent's names */
        shim.profiled = 0;
    }
    if (!atomic_load(&shim.exiting))
        start_thread();
}

/* Joins a path from the run directory and a name; 0, or -1 if too long. */
static int in_dir(char *buf, const char *name)
{
    size_t n = 0;
    put(buf, PATH_CAP, &n, shim.dir);
    put(buf, PATH_CAP, &n, "/");
    put(buf, PATH_CAP, &n, name);
    return n + 1 < PATH_CAP ? 0 : -1;
}

__attribute__((constructor)) static void shim_init(void)
{
    const char *dir = getenv(LH_HEAPLOG_ENV_DIR);
    if (dir == NULL || dir[0] != '/' || strlen(dir) + 64 >= PATH_CAP)
        return;
    memcpy(shim.dir, dir, strlen(dir) + 1);
    if (in_dir(shim.live, LH_HEAPLOG_LIVE) < 0 ||
        in_dir(shim.request, LH_HEAPLOG_REQUEST) < 0 ||
        in_dir(shim.staging, LH_HEAPLOG_STAGING) < 0)
        return;
    find("__sanitizer_get_current_allocated_bytes", &shim.sanitizer,
         sizeof shim.sanitizer);
    if (shim.sanitizer == NULL) {
        find("MallocExtension_GetNumericProperty", &shim.property,
             sizeof shim.property);
        if (shim.property == NULL)
            return; /* neither allocator counts for us */
        find("HeapProfilerStart", &shim.start, sizeof shim.start);
        find("HeapProfilerStop", &shim.stop, sizeof shim.stop);
        find("HeapProfilerDump", &shim.dump, sizeof shim.dump);
        if (!shim.start || !shim.stop || !shim.dump)
            shim.start = NULL; /* tcmalloc without its profiler */
    }
    if (pthread_atfork(before_fork, after_fork_parent, after_fork_child) != 0)
        return;
    start_thread();
}

/* Runs before tcmalloc's own destructors (the shim is initialised after
 * it, LD_PRELOAD order in cmd_heapwrap.c): from here on the thread calls
 * nothing, and the profiler stops, so that no exit dump is written (its
 * staged file would never be published). */
__attribute__((destructor)) static void shim_fini(void)
{
    atomic_store(&shim.exiting, 1);
    if (shim.profiled == getpid()) {
        pthread_mutex_lock(&shim.dumping);
        shim.stop();
        shim.profiled = 0;
        pthread_mutex_unlock(&shim.dumping);
    }
}
