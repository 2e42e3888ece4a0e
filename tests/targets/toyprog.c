/*
 * toyprog - a small staged program that speaks the target protocol, for
 * testing leak-hunt on something other than selfheal.
 *
 *   toyprog --enable=parse,filter,emit [--leak STAGE:BYTES]... [--units N]
 *           [--crash-after N] [--hang-after N] [--exit-after N]
 *           [--ignore-term] [--spawn-child] [--no-heap] [--rate N]
 *           [--tag TEXT]
 *
 * Each unit of work runs the enabled stages in order: parse builds a record
 * from a line of text, filter keeps or drops it, emit formats it into a
 * buffer.  Every stage allocates and frees working memory, so a clean run
 * has allocator churn but no growth.  --leak STAGE:BYTES makes that stage
 * keep BYTES per unit on a list that is never freed (reachable); emit runs
 * only for the records filter keeps when filter is on (90% of them, evenly
 * spread), so an emit leak then grows by 0.9 * BYTES per unit.  Stats
 * lines go to LEAKHUNT_STATS every 100 ms; SIGTERM ends the run cleanly.
 *
 * Faults, for testing the harness (each counts units done, checked every
 * batch of 64):
 *   --crash-after N  raise SIGSEGV (no core file) after N units;
 *   --hang-after N   stop working and stop writing stats after N units, but
 *                    stay alive until SIGTERM (or SIGKILL);
 *   --exit-after N   exit 0 early after N units (like --units, but says so);
 *   --ignore-term    ignore SIGTERM: only SIGKILL (or SIGINT) ends it;
 *   --spawn-child    fork a child that stays in the process group, does no
 *                    work and lives until a signal kills it (it ignores
 *                    SIGTERM too with --ignore-term);
 *   --no-heap        leave heap= out of the stats lines, so the harness
 *                    measures RSS;
 *   --rate N         at most N units per second (a leak under valgrind then
 *                    grows the heap slowly enough for quick leak searches);
 *   --tag TEXT       ignored: a unique word for `pgrep -f` to find every
 *                    process of a test (children share the argv).
 * The program logs its start and each fault on stderr, so the harness has
 * lines to quote from its log.
 */
#include "clock.h"
#include "memsample.h"
#include "stats.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum { PARSE, FILTER, EMIT, NSTAGES };
static const char *const names[NSTAGES] = {"parse", "filter", "emit"};

typedef struct kept {
    struct kept *next;
} kept;

static volatile sig_atomic_t stop;
static int enabled[NSTAGES];
static size_t leak_bytes[NSTAGES];
static kept *kept_list;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static void keep(size_t bytes)
{
    kept *k = malloc(bytes < sizeof *k ? sizeof *k : bytes);
    if (k == NULL)
        return;
    k->next = kept_list;
    kept_list = k;
}

static char *stage_parse(unsigned long i)
{
    char *rec = malloc(96);
    if (rec)
        snprintf(rec, 96, "record-%lu:%lu", i, i * 2654435761u % 1000);
    if (leak_bytes[PARSE])
        keep(leak_bytes[PARSE]);
    return rec;
}

static int stage_filter(const char *rec)
{
    char *tmp = malloc(64);
    /* The record's value (i * 761 mod 1000 in effect) runs through every
     * residue once per 1000 units: dropping values under 100 keeps exactly
     * 90% of the records, at the same rate all run long. */
    const char *colon = rec ? strrchr(rec, ':') : NULL;
    int keep_it = colon && tmp && strtoul(colon + 1, NULL, 10) >= 100;
    free(tmp);
    if (leak_bytes[FILTER])
        keep(leak_bytes[FILTER]);
    return keep_it;
}

static size_t stage_emit(const char *rec)
{
    char *out = malloc(160);
    size_t n = 0;
    if (out)
        n = (size_t)snprintf(out, 160, "{\"rec\":\"%s\"}", rec ? rec : "");
    free(out);
    if (leak_bytes[EMIT])
        keep(leak_bytes[EMIT]);
    return n;
}

/* --crash-after: a segfault, as a real bug would give, without a core
 * file to clean up. */
static void crash(unsigned long done)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    fprintf(stderr, "toyprog: crashing on purpose after %lu units\n", done);
    fflush(stderr);
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
}

/* --hang-after: alive, silent and idle until a signal ends it (or for
 * good, with SIGTERM ignored). */
static void hang(unsigned long done)
{
    fprintf(stderr, "toyprog: hanging on purpose after %lu units\n", done);
    fflush(stderr);
    while (!stop)
        lh_sleep_us(50000);
}

/* --spawn-child: a child in the same process group that does nothing and
 * outlives nothing on its own: only a signal ends it. */
static int start_child(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("toyprog: fork");
        return -1;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        if (signal(SIGTERM, SIG_IGN) != SIG_IGN)
            signal(SIGTERM, SIG_DFL);
        for (;;)
            pause();
    }
    fprintf(stderr, "toyprog: child pid %ld started\n", (long)pid);
    return 0;
}

static int stage_index(const char *name, size_t len)
{
    for (int s = 0; s < NSTAGES; s++)
        if (strlen(names[s]) == len && strncmp(names[s], name, len) == 0)
            return s;
    return -1;
}

static int parse_enable(const char *list)
{
    while (*list) {
        size_t len = strcspn(list, ",");
        int s = stage_index(list, len);
        if (s < 0) {
            fprintf(stderr, "toyprog: unknown stage '%.*s'\n", (int)len, list);
            return -1;
        }
        enabled[s] = 1;
        list += len;
        if (*list == ',')
            list++;
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long units = 0; /* 0: until SIGTERM */
    double rate = 0;         /* units per second, 0: as fast as it goes */
    unsigned long crash_after = 0, hang_after = 0, exit_after = 0;
    int ignore_term = 0, spawn_child = 0, no_heap = 0;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--enable=", 9) == 0) {
            if (parse_enable(argv[i] + 9) < 0)
                return 2;
        } else if (strcmp(argv[i], "--leak") == 0 && i + 1 < argc) {
            const char *spec = argv[++i];
            const char *colon = strchr(spec, ':');
            int s = colon ? stage_index(spec, (size_t)(colon - spec)) : -1;
            if (s < 0 || atol(colon + 1) <= 0) {
                fprintf(stderr, "toyprog: bad --leak '%s'\n", spec);
                return 2;
            }
            leak_bytes[s] = (size_t)atol(colon + 1);
        } else if (strcmp(argv[i], "--units") == 0 && i + 1 < argc) {
            units = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--crash-after") == 0 && i + 1 < argc) {
            crash_after = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--hang-after") == 0 && i + 1 < argc) {
            hang_after = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--exit-after") == 0 && i + 1 < argc) {
            exit_after = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--ignore-term") == 0) {
            ignore_term = 1;
        } else if (strcmp(argv[i], "--spawn-child") == 0) {
            spawn_child = 1;
        } else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc) {
            rate = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--no-heap") == 0) {
            no_heap = 1;
        } else if (strcmp(argv[i], "--tag") == 0 && i + 1 < argc) {
            i++;
        } else {
            fprintf(stderr, "usage: toyprog --enable=LIST [--leak STAGE:BYTES]"
                            " [--units N] [--crash-after N] [--hang-after N]"
                            " [--exit-after N] [--ignore-term] [--spawn-child]"
                            " [--no-heap] [--rate N] [--tag TEXT]\n");
            return 2;
        }
    }
    signal(SIGTERM, ignore_term ? SIG_IGN : on_term);
    signal(SIGINT, on_term);
    fprintf(stderr, "toyprog: pid %ld started%s%s\n", (long)getpid(),
            ignore_term ? ", ignoring SIGTERM" : "",
            spawn_child ? ", with a child" : "");
    if (spawn_child && start_child() < 0)
        return 1;
    lh_stats_writer *w = NULL;
    if (lh_stats_writer_from_env(&w) < 0) {
        fprintf(stderr, "toyprog: cannot open LEAKHUNT_STATS\n");
        return 1;
    }
    unsigned long done = 0;
    size_t sink = 0;
    int64_t next = lh_now_us(), started = next;
    while (!stop && (units == 0 || done < units)) {
        for (int k = 0; k < 64; k++, done++) {
            char *rec = enabled[PARSE] ? stage_parse(done) : NULL;
            int pass = enabled[FILTER] ? stage_filter(rec) : 1;
            if (pass && enabled[EMIT])
                sink += stage_emit(rec);
            free(rec);
        }
        if (crash_after && done >= crash_after)
            crash(done);
        if (hang_after && done >= hang_after)
            hang(done);
        if (exit_after && done >= exit_after) {
            fprintf(stderr, "toyprog: exiting early after %lu units\n", done);
            break;
        }
        if (rate > 0) {
            int64_t due = started + (int64_t)((double)done / rate * 1e6);
            int64_t now = lh_now_us();
            if (due > now)
                lh_sleep_us(due - now);
        } else {
            lh_sleep_us(200); /* about 250k units/s: a service, not a spin */
        }
        if (w && lh_now_us() >= next) {
            lh_stats_line line = {.work = done,
                                  .pid = getpid(),
                                  .has = LH_STATS_HAS_PID};
            uint64_t heap;
            if (!no_heap && lh_mem_heap_live(&heap) == 0) {
                line.heap = heap;
                line.has |= LH_STATS_HAS_HEAP;
            }
            lh_stats_writer_put(w, &line);
            next += 100000;
        }
    }
    lh_stats_writer_close(w);
    while (kept_list) {
        kept *k = kept_list;
        kept_list = k->next;
        free(k);
    }
    printf("toyprog: %lu units, %zu bytes emitted\n", done, sink);
    return 0;
}
