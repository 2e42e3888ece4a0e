/*
 * toyprog - a small staged program that speaks the target protocol, for
 * testing leak-hunt on something other than selfheal.
 *
 *   toyprog --enable=parse,filter,emit [--leak STAGE:BYTES]... [--units N]
 *           [--crash-after N] [--hang-after N] [--exit-after N]
 *           [--ignore-term] [--spawn-child] [--no-heap] [--rate N]
 *           [--idle-without-stages] [--leak-per-second BYTES]
 *           [--tag TEXT] [--no-live] [--live-lag-ms MS] [--live-reverse]
 *           [--live-wrong] [--live-mute-after N]
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
 * Live switching (docs/protocol.md section 5): with LEAKHUNT_CONTROL set,
 * the program starts with the list in that file when it is there (instead
 * of --enable), looks at it every 50 ms (a stat, and a read when the
 * file's inode, size or mtime changed), applies a new list at once, and
 * every stats line carries stages=, the list it runs now ('-' for none).
 * A list naming an unknown stage is refused with a message on stderr and
 * the running list kept.  --no-live turns all of it off (a target that
 * cannot switch: leak-hunt restarts it per configuration).  Misbehaviour,
 * for testing leak-hunt's checks: --live-lag-ms MS applies a new list MS
 * late; --live-reverse writes the list in reverse order (a set all the
 * same); --live-wrong shows, from the first switch on, a list it was not
 * asked for (the asked one with emit toggled); --live-mute-after N drops
 * stages= from its lines after N switches.
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

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

/* The stages of a comma list as a mask (bit s: stage s).  0, or -1 with
 * the unknown name in why. */
static int list_mask(const char *list, unsigned *mask, char *why, size_t cap)
{
    unsigned m = 0;
    while (*list) {
        size_t len = strcspn(list, ",");
        int s = name_index(list, len, 0);
        if (s < 0) {
            snprintf(why, cap, "unknown stage '%.*s'", (int)len, list);
            return -1;
        }
        m |= 1u << s;
        list += len;
        if (*list == ',')
            list++;
    }
    *mask = m;
    return 0;
}

static void set_mask(unsigned mask)
{
    for (int s = 0; s < NSTAGES; s++)
        enabled[s] = (mask >> s) & 1u;
}

static unsigned mask_now(void)
{
    unsigned m = 0;
    for (int s = 0; s < NSTAGES; s++)
        if (enabled[s])
            m |= 1u << s;
    return m;
}

/* "parse,emit", or "-" for none; reversed: "emit,parse". */
static void format_mask(unsigned mask, int reversed, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 0; k < NSTAGES; k++) {
        int s = reversed ? NSTAGES - 1 - k : k;
        if (mask & (1u << s))
            len += (size_t)snprintf(buf + len, cap - len, "%s%s",
                                    len ? "," : "", names[s]);
    }
    if (len == 0)
        snprintf(buf, cap, "-");
}

static int parse_enable(const char *list)
{
    char why[128];
    unsigned mask;
    if (list_mask(list, &mask, why, sizeof why) < 0) {
        fprintf(stderr, "toyprog: %s\n", why);
        return -1;
    }
    set_mask(mask);
    return 0;
}

typedef struct opts {
    unsigned long units; /* 0: until SIGTERM */
    double rate;         /* units per second, 0: as fast as it goes */
    unsigned long crash_after, hang_after, exit_after;
    int ignore_term, spawn_child, no_heap, idle_without_stages;
    size_t leak_per_second;
    int no_live, live_reverse, live_wrong;
    unsigned long live_lag_ms, live_mute_after;
} opts;

static int usage(void)
{
    fprintf(stderr, "usage: toyprog --enable=LIST [--leak STAGE:BYTES]"
                    " [--units N] [--crash-after N] [--hang-after N]"
                    " [--exit-after N] [--ignore-term] [--spawn-child]"
                    " [--no-heap] [--rate N] [--idle-without-stages]"
                    " [--leak-per-second BYTES] [--tag TEXT] [--no-live]"
                    " [--live-lag-ms MS] [--live-reverse] [--live-wrong]"
                    " [--live-mute-after N]\n");
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
    else if (strcmp(a, "--live-lag-ms") == 0)
        o->live_lag_ms = strtoul(v, NULL, 10);
    else if (strcmp(a, "--live-mute-after") == 0)
        o->live_mute_after = strtoul(v, NULL, 10);
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
    else if (strcmp(a, "--no-live") == 0)
        o->no_live = 1;
    else if (strcmp(a, "--live-reverse") == 0)
        o->live_reverse = 1;
    else if (strcmp(a, "--live-wrong") == 0)
        o->live_wrong = 1;
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

/* Live switching: the control file as last read, and a list waiting
 * for --live-lag-ms. */
typedef struct live {
    const char *path; /* LEAKHUNT_CONTROL; NULL: off */
    int64_t next_us;  /* the next look */
    int seen;         /* ino, size, mtime are the last file's */
    ino_t ino;
    off_t size;
    struct timespec mtime;
    int waiting;      /* `want` applies at apply_us */
    unsigned want;
    int64_t apply_us;
    unsigned long switches;
} live;

/* The list in the control file: 1 and *mask when it changed and is
 * valid, 0 when nothing new, -1 when refused (said on stderr). */
static int read_control(live *l, unsigned *mask)
{
    struct stat st;
    if (stat(l->path, &st) != 0) {
        l->seen = 0;
        return 0;
    }
    if (l->seen && st.st_ino == l->ino && st.st_size == l->size &&
        st.st_mtim.tv_sec == l->mtime.tv_sec &&
        st.st_mtim.tv_nsec == l->mtime.tv_nsec)
        return 0;
    l->seen = 1;
    l->ino = st.st_ino;
    l->size = st.st_size;
    l->mtime = st.st_mtim;
    char text[1100], why[160], now[64];
    int fd = open(l->path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n < 0)
        return 0; /* gone between the stat and the open: the next look */
    text[n] = '\0';
    text[strcspn(text, "\n")] = '\0';
    if (list_mask(text, mask, why, sizeof why) == 0)
        return 1;
    format_mask(mask_now(), 0, now, sizeof now);
    fprintf(stderr, "toyprog: refusing stage list '%s' from %s: %s; "
            "keeping '%s'\n", text, l->path, why, now);
    return -1;
}

/* Every 50 ms: a new list in the control file is applied (after
 * --live-lag-ms). */
static void poll_control(const opts *o, live *l)
{
    int64_t now = lh_now_us();
    if (l->path == NULL)
        return;
    if (l->waiting && now >= l->apply_us) {
        set_mask(l->want);
        l->waiting = 0;
        l->switches++;
    }
    if (now < l->next_us)
        return;
    l->next_us = now + 50000;
    unsigned mask;
    if (read_control(l, &mask) != 1 || mask == mask_now())
        return;
    l->want = mask;
    l->waiting = 1;
    l->apply_us = now + (int64_t)o->live_lag_ms * 1000;
    if (o->live_lag_ms == 0)
        poll_control(o, l);
}

/* The starting list: the control file's when it is there and valid. */
static void start_live(const opts *o, live *l)
{
    const char *path = getenv("LEAKHUNT_CONTROL");
    memset(l, 0, sizeof *l);
    if (o->no_live || path == NULL || path[0] == '\0')
        return;
    l->path = path;
    unsigned mask;
    if (read_control(l, &mask) == 1)
        set_mask(mask);
}

/* The stages= a stats line carries: the running list, or one it was not
 * asked for (--live-wrong); nothing when live switching is off or muted
 * (--live-mute-after). */
static void put_stages(const opts *o, const live *l, lh_stats_line *line)
{
    if (l->path == NULL ||
        (o->live_mute_after && l->switches >= o->live_mute_after))
        return;
    unsigned shown = mask_now();
    if (o->live_wrong && l->switches > 0)
        shown ^= 1u << EMIT;
    format_mask(shown, o->live_reverse, line->stages, sizeof line->stages);
    line->has |= LH_STATS_HAS_STAGES;
}

/* A stats line (every 100 ms), with what --leak-per-second keeps. */
static void report(const opts *o, const live *l, lh_stats_writer *w,
                   unsigned long done)
{
    if (o->leak_per_second)
        keep(o->leak_per_second / 10);
    if (w == NULL)
        return;
    lh_stats_line line = {.work = done, .pid = getpid(),
                          .has = LH_STATS_HAS_PID};
    put_stages(o, l, &line);
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
    live l;
    start_live(&o, &l);
    unsigned long done = 0;
    size_t sink = 0;
    int64_t next = lh_now_us(), started = next;
    while (!stop && (o.units == 0 || done < o.units)) {
        poll_control(&o, &l);
        unsigned n = batch(&o, done, &sink);
        done += n;
        if (faults(&o, done))
            break;
        if (n == 0)
            lh_sleep_us(10000); /* idle: nothing to do */
        else
            pace(&o, done, started);
        if (lh_now_us() >= next) {
            report(&o, &l, w, done);
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
