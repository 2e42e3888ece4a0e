/*
 * toyprog - a small staged program that speaks the target protocol, for
 * testing leak-hunt on something other than selfheal.
 *
 *   toyprog --enable=parse,filter,emit [--leak STAGE:BYTES]... [--units N]
 *           [--crash-after N] [--hang-after N] [--exit-after N]
 *           [--ignore-term] [--spawn-child] [--no-heap] [--rate N]
 *           [--idle-without-stages] [--leak-per-second BYTES]
 *           [--tag TEXT]
 *
 * Each unit of work runs the enabled stages in order: parse builds a record
 * from a line of text, filter keeps or drops it, emit formats it into a
 * buffer.  Every stage allocates and frees working memory, so a clean run
 * has allocator churn but no growth.  --leak STAGE:BYTES makes that stage
 * keep BYTES per unit on a list that is never freed (reachable); emit runs
 * only for the records filter keeps when filter is on (90% of them, evenly
 * spread), so an emit leak then grows by 0.9 * BYTES per unit.
 * --leak main:BYTES keeps BYTES per unit in the main loop, outside every
 * stage, whatever stages are on (leak-hunt's "leak outside the stages").
 * Stats lines go to LEAKHUNT_STATS every 100 ms; SIGTERM ends the run
 * cleanly.
 *
 * With --idle-without-stages and no stage enabled the program does no
 * work (its stats lines say work=0, as selfheal's B nodes do with forward
 * off, when nothing reaches them); --leak-per-second BYTES keeps BYTES a
 * second whether it works or not (a timer that leaks: idle growth).
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

enum { PARSE, FILTER, EMIT, NSTAGES, MAIN = NSTAGES };
/* the stages, then "main": the loop around them (--leak only) */
static const char *const names[NSTAGES + 1] = {"parse", "filter", "emit",
                                               "main"};

typedef struct kept {
    struct kept *next;
} kept;

static volatile sig_atomic_t stop;
static int enabled[NSTAGES];
static size_t leak_bytes[NSTAGES + 1];
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

/* Index of a stage (or of "main" when `main_too`), -1 when unknown. */
static int name_index(const char *name, size_t len, int main_too)
{
    for (int s = 0; s < NSTAGES + (main_too ? 1 : 0); s++)
        if (strlen(names[s]) == len && strncmp(names[s], name, len) == 0)
            return s;
    return -1;
}

static int parse_enable(const char *list)
{
    while (*list) {
        size_t len = strcspn(list, ",");
        int s = name_index(list, len, 0);
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

typedef struct opts {
    unsigned long units; /* 0: until SIGTERM */
    double rate;         /* units per second, 0: as fast as it goes */
    unsigned long crash_after, hang_after, exit_after;
    int ignore_term, spawn_child, no_heap, idle_without_stages;
    size_t leak_per_second;
} opts;

static int usage(void)
{
    fprintf(stderr, "usage: toyprog --enable=LIST [--leak STAGE:BYTES]"
                    " [--units N] [--crash-after N] [--hang-after N]"
                    " [--exit-after N] [--ignore-term] [--spawn-child]"
                    " [--no-heap] [--rate N] [--idle-without-stages]"
                    " [--leak-per-second BYTES] [--tag TEXT]\n");
    return 2;
}

/* --leak STAGE:BYTES (STAGE may be main).  0 or -1. */
static int parse_leak(const char *spec)
{
    const char *colon = strchr(spec, ':');
    int s = colon ? name_index(spec, (size_t)(colon - spec), 1) : -1;
    if (s < 0 || atol(colon + 1) <= 0) {
        fprintf(stderr, "toyprog: bad --leak '%s'\n", spec);
        return -1;
    }
    leak_bytes[s] = (size_t)atol(colon + 1);
    return 0;
}

/* An option with a value: 1 taken, 0 not one of them. */
static int value_arg(opts *o, const char *a, const char *v)
{
    if (strcmp(a, "--units") == 0)
        o->units = strtoul(v, NULL, 10);
    else if (strcmp(a, "--crash-after") == 0)
        o->crash_after = strtoul(v, NULL, 10);
    else if (strcmp(a, "--hang-after") == 0)
        o->hang_after = strtoul(v, NULL, 10);
    else if (strcmp(a, "--exit-after") == 0)
        o->exit_after = strtoul(v, NULL, 10);
    else if (strcmp(a, "--rate") == 0)
        o->rate = strtod(v, NULL);
    else if (strcmp(a, "--leak-per-second") == 0)
        o->leak_per_second = strtoul(v, NULL, 10);
    else if (strcmp(a, "--tag") != 0)
        return 0;
    return 1;
}

/* A flag: 1 taken, 0 not one of them. */
static int flag_arg(opts *o, const char *a)
{
    if (strcmp(a, "--ignore-term") == 0)
        o->ignore_term = 1;
    else if (strcmp(a, "--spawn-child") == 0)
        o->spawn_child = 1;
    else if (strcmp(a, "--no-heap") == 0)
        o->no_heap = 1;
    else if (strcmp(a, "--idle-without-stages") == 0)
        o->idle_without_stages = 1;
    else
        return 0;
    return 1;
}

/* 0, or the exit status. */
static int parse_args(opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--enable=", 9) == 0) {
            if (parse_enable(a + 9) < 0)
                return 2;
        } else if (strcmp(a, "--leak") == 0 && i + 1 < argc) {
            if (parse_leak(argv[++i]) < 0)
                return 2;
        } else if (i + 1 < argc && value_arg(o, a, argv[i + 1])) {
            i++;
        } else if (!flag_arg(o, a)) {
            return usage();
        }
    }
    return 0;
}

/* One batch of 64 units through the enabled stages; returns the units
 * done (none when idle: no stage on, --idle-without-stages). */
static unsigned batch(const opts *o, unsigned long done, size_t *sink)
{
    if (o->idle_without_stages && !enabled[PARSE] && !enabled[FILTER] &&
        !enabled[EMIT])
        return 0;
    for (int k = 0; k < 64; k++, done++) {
        char *rec = enabled[PARSE] ? stage_parse(done) : NULL;
        int pass = enabled[FILTER] ? stage_filter(rec) : 1;
        if (pass && enabled[EMIT])
            *sink += stage_emit(rec);
        free(rec);
        if (leak_bytes[MAIN])
            keep(leak_bytes[MAIN]);
    }
    return 64;
}

/* The faults after a batch; 1 when the run is to end. */
static int faults(const opts *o, unsigned long done)
{
    if (o->crash_after && done >= o->crash_after)
        crash(done);
    if (o->hang_after && done >= o->hang_after)
        hang(done);
    if (o->exit_after && done >= o->exit_after) {
        fprintf(stderr, "toyprog: exiting early after %lu units\n", done);
        return 1;
    }
    return 0;
}

/* Waits for the next batch: --rate's pace, or 200 us (about 250k
 * units/s: a service, not a spin). */
static void pace(const opts *o, unsigned long done, int64_t started)
{
    if (o->rate > 0) {
        int64_t due = started + (int64_t)((double)done / o->rate * 1e6);
        int64_t now = lh_now_us();
        if (due > now)
            lh_sleep_us(due - now);
    } else {
        lh_sleep_us(200);
    }
}

/* A stats line (every 100 ms), with what --leak-per-second keeps. */
static void report(const opts *o, lh_stats_writer *w, unsigned long done)
{
    if (o->leak_per_second)
        keep(o->leak_per_second / 10);
    if (w == NULL)
        return;
    lh_stats_line line = {.work = done, .pid = getpid(),
                          .has = LH_STATS_HAS_PID};
    uint64_t heap;
    if (!o->no_heap && lh_mem_heap_live(&heap) == 0) {
        line.heap = heap;
        line.has |= LH_STATS_HAS_HEAP;
    }
    lh_stats_writer_put(w, &line);
}

int main(int argc, char **argv)
{
    opts o = {0};
    int rc = parse_args(&o, argc, argv);
    if (rc)
        return rc;
    signal(SIGTERM, o.ignore_term ? SIG_IGN : on_term);
    signal(SIGINT, on_term);
    fprintf(stderr, "toyprog: pid %ld started%s%s\n", (long)getpid(),
            o.ignore_term ? ", ignoring SIGTERM" : "",
            o.spawn_child ? ", with a child" : "");
    if (o.spawn_child && start_child() < 0)
        return 1;
    lh_stats_writer *w = NULL;
    if (lh_stats_writer_from_env(&w) < 0) {
        fprintf(stderr, "toyprog: cannot open LEAKHUNT_STATS\n");
        return 1;
    }
    unsigned long done = 0;
    size_t sink = 0;
    int64_t next = lh_now_us(), started = next;
    while (!stop && (o.units == 0 || done < o.units)) {
        unsigned n = batch(&o, done, &sink);
        done += n;
        if (faults(&o, done))
            break;
        if (n == 0)
            lh_sleep_us(10000); /* idle: nothing to do */
        else
            pace(&o, done, started);
        if (lh_now_us() >= next) {
            report(&o, w, done);
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
