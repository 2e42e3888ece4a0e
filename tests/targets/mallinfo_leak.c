/*
 * mallinfo_leak - a foreign program as the heap tool meets them: it
 * reports heap= from glibc's mallinfo2 (which reads flat once tcmalloc
 * replaces malloc: tcmalloc has no mallinfo2), and may start a child the
 * way programs do, without LEAKHUNT_WRAP.
 *
 *   mallinfo_leak [--leak BYTES] [--rate UNITS] [--spawn exec|fork|plain]
 *                 [--child-leak BYTES]
 *
 * Each unit allocates and frees some working memory and, with --leak,
 * keeps BYTES on a list never freed.  --rate: units per second (default
 * 2000).  Stats lines (work, heap from mallinfo2, pid) every 100 ms to
 * LEAKHUNT_STATS.  --spawn starts one child that does the same with
 * --child-leak BYTES (default: none):
 *   exec   fork and exec this program again: the child inherits the
 *          environment (LD_PRELOAD, the heap tool's variables);
 *   fork   fork only: the child runs on in the parent's image;
 *   plain  fork and exec with LD_PRELOAD removed: a child with no
 *          profiler at all, which still reports stats lines.
 * SIGTERM ends it (the child too: same process group).
 */
#include "clock.h"
#include "stats.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct kept {
    struct kept *next;
} kept;

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static uint64_t mallinfo_heap(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
}

/* Works until SIGTERM: `rate` units a second, `leak` bytes kept each. */
static void work(double rate, size_t leak)
{
    lh_stats_writer *w = NULL;
    if (lh_stats_writer_from_env(&w) < 0) {
        fprintf(stderr, "mallinfo_leak: cannot open LEAKHUNT_STATS\n");
        exit(1);
    }
    kept *list = NULL;
    uint64_t done = 0;
    int64_t start = lh_now_us(), next = start;
    while (!stop) {
        char *tmp = malloc(200);
        if (tmp)
            memset(tmp, (int)done, 200);
        free(tmp);
        if (leak) {
            kept *k = malloc(leak < sizeof *k ? sizeof *k : leak);
            if (k) {
                k->next = list;
                list = k;
            }
        }
        done++;
        int64_t due = start + (int64_t)((double)done / rate * 1e6);
        int64_t now = lh_now_us();
        if (due > now)
            lh_sleep_us(due - now);
        if (w && now >= next) {
            lh_stats_line line = {.work = done,
                                  .heap = mallinfo_heap(),
                                  .pid = getpid(),
                                  .has = LH_STATS_HAS_PID |
                                         LH_STATS_HAS_HEAP};
            lh_stats_writer_put(w, &line);
            next += 100000;
        }
    }
    lh_stats_writer_close(w);
    while (list) {
        kept *k = list;
        list = k->next;
        free(k);
    }
}

/* Starts the child (see the top); returns in the parent, and in the child
 * of `fork`. 1 in that child, 0 in the parent, -1 on failure. */
static int spawn(const char *how, char *self, const char *child_leak)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("mallinfo_leak: fork");
        return -1;
    }
    if (pid > 0) {
        fprintf(stderr, "mallinfo_leak: child %ld started (%s)\n", (long)pid,
                how);
        return 0;
    }
    if (strcmp(how, "fork") == 0)
        return 1;
    if (strcmp(how, "plain") == 0)
        unsetenv("LD_PRELOAD");
    char *args[] = {self, "--leak", (char *)child_leak, NULL};
    execv("/proc/self/exe", args);
    perror("mallinfo_leak: exec");
    _exit(127);
}

int main(int argc, char **argv)
{
    double rate = 2000;
    const char *leak = "0", *child_leak = "0", *how = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--leak") == 0 && i + 1 < argc)
            leak = argv[++i];
        else if (strcmp(argv[i], "--child-leak") == 0 && i + 1 < argc)
            child_leak = argv[++i];
        else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
            rate = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--spawn") == 0 && i + 1 < argc &&
                 (strcmp(argv[i + 1], "exec") == 0 ||
                  strcmp(argv[i + 1], "fork") == 0 ||
                  strcmp(argv[i + 1], "plain") == 0))
            how = argv[++i];
        else {
            fprintf(stderr, "usage: mallinfo_leak [--leak BYTES] [--rate N] "
                            "[--spawn exec|fork|plain] [--child-leak "
                            "BYTES]\n");
            return 2;
        }
    }
    if (!(rate > 0)) {
        fprintf(stderr, "mallinfo_leak: --rate must be positive\n");
        return 2;
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    fprintf(stderr, "mallinfo_leak: pid %ld started\n", (long)getpid());
    int child = how ? spawn(how, argv[0], child_leak) : 0;
    if (child < 0)
        return 1;
    work(rate, (size_t)strtoul(child ? child_leak : leak, NULL, 10));
    return 0;
}
