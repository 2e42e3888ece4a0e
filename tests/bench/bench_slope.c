/*
 * bench_slope.c - how often lh_decide cries wolf, how small a leak it sees,
 * and what one decision costs.
 *
 * Synthetic series shaped like what the harness samples: work advancing at
 * a jittery rate (and not at all for the first samples), memory quantized to
 * 4 KiB pages on top of a 50 MB base.  Clean shapes:
 *   white     white noise, sigma 1 KiB .. 256 KiB (log-uniform)
 *   ar1       AR(1) noise, phi 0.5 .. 0.98, marginal sigma 4 .. 256 KiB
 *   walk      page random walk: each sample moves +-1..2 pages with
 *             probability 0.05 .. 0.3, reflected in a band of 64 KiB ..
 *             512 KiB (allocator wander), plus white noise
 *   step      one jump of 64 KiB .. 4 MiB after the warm-up, plus noise
 *   step2     two such jumps
 *   plateau   growth at 2 .. 200 B/unit up to a cap reached at 5% .. 60%
 *             of the run, then flat, plus noise
 *   saturate  C (1 - exp(-x / tau)), C 256 KiB .. 16 MiB, tau 2% .. 15% of
 *             the run, plus noise
 * Runs have 200 .. 1000 samples over 100k .. 1M units.  The detection part
 * adds a leak of s B/unit to white or AR(1) noise at fixed sizes and prints
 * the detection rate per s.
 *
 * Usage: bench_slope [series per shape (default 1000)] [threshold]
 * Prints figures; never fails on them (STYLE.md: benchmarks print).
 */
#include "clock.h"
#include "error.h"
#include "slope.h"
#include "synth.h" /* tests/unit: the generator and series test_slope uses */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE SYNTH_PAGE
#define BASE SYNTH_BASE
#define MAXN 10000

static int verbose; /* BENCH_SLOPE_VERBOSE=1: print the misses */

enum shape { WHITE, AR1, WALK, STEP, STEP2, PLATEAU, SATURATE, NSHAPES };
static const char *shape_names[] = {"white", "ar1",     "walk",    "step",
                                    "step2", "plateau", "saturate"};

enum noise { N_WHITE, N_AR1 };

/* Adds noise of a random clean family to s[].bytes (not quantized). */
static void add_noise(rng *g, lh_slope_sample *s, size_t n, int family)
{
    if (family == N_WHITE) {
        synth_white(g, s, n, loguniform(g, 1024, 256 * 1024));
    } else {
        double phi = uniform(g, 0.5, 0.98);
        double sigma = loguniform(g, 4096, 256 * 1024);
        synth_ar1(g, s, n, phi, sigma);
    }
}

/* One clean series of shape `sh`; n samples over `total` units. */
static void make_clean(rng *g, lh_slope_sample *s, size_t n, double total,
                       int sh)
{
    synth_work(g, s, n, total);
    switch (sh) {
    case WHITE:
        add_noise(g, s, n, N_WHITE);
        break;
    case AR1:
        add_noise(g, s, n, N_AR1);
        break;
    case WALK: {
        double p = uniform(g, 0.05, 0.3);
        double band = loguniform(g, 64 * 1024, 512 * 1024);
        double level = floor(uniform(g, 0, band) / PAGE) * PAGE;
        for (size_t i = 0; i < n; i++) {
            if (unif(g) < p) {
                double pages = unif(g) < 0.5 ? 1 : 2;
                level += (unif(g) < 0.5 ? -1 : 1) * pages * PAGE;
                if (level < 0)
                    level = -level;
                if (level > band)
                    level = 2 * band - level;
            }
            s[i].bytes += level;
        }
        synth_white(g, s, n, loguniform(g, 512, 16 * 1024));
        break;
    }
    case STEP:
    case STEP2: {
        int jumps = sh == STEP ? 1 : 2;
        for (int k = 0; k < jumps; k++) {
            double at = uniform(g, 0.2, 1.0) * total;
            double size = loguniform(g, 64 * 1024, 4 * 1024 * 1024);
            for (size_t i = 0; i < n; i++)
                if (s[i].work >= at)
                    s[i].bytes += size;
        }
        add_noise(g, s, n, unif(g) < 0.5 ? N_WHITE : N_AR1);
        break;
    }
    case PLATEAU: {
        double rate = loguniform(g, 2, 200);
        double cap_at = uniform(g, 0.05, 0.6) * total;
        for (size_t i = 0; i < n; i++)
            s[i].bytes += rate * (s[i].work < cap_at ? s[i].work : cap_at);
        add_noise(g, s, n, unif(g) < 0.5 ? N_WHITE : N_AR1);
        break;
    }
    case SATURATE: {
        double c = loguniform(g, 256 * 1024, 16 * 1024 * 1024);
        double tau = uniform(g, 0.02, 0.15) * total;
        for (size_t i = 0; i < n; i++)
            s[i].bytes += c * (1 - exp(-s[i].work / tau));
        add_noise(g, s, n, unif(g) < 0.5 ? N_WHITE : N_AR1);
        break;
    }
    }
    synth_quantize(s, n);
}

/* BENCH_SLOPE_DUMP=FILE: append the series misjudged, "work bytes" lines,
 * a blank line between series. */
static void dump(const lh_slope_sample *s, size_t n)
{
    const char *path = getenv("BENCH_SLOPE_DUMP");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (!f)
        return;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.0f %.0f\n", s[i].work, s[i].bytes);
    fprintf(f, "\n");
    fclose(f);
}

static void false_positives(rng *g, lh_slope_sample *s, int per_shape,
                            const lh_decide_opts *o)
{
    int total_fp = 0, total = 0;
    printf("false positives (verdict leak on clean series), floor %.2f "
           "B/unit, %d series per shape:\n",
           o->threshold, per_shape);
    printf("  %-9s %6s %8s %8s %8s %8s\n", "shape", "leak", "clean",
           "inconcl", "backlog", "FP%");
    for (int sh = 0; sh < NSHAPES; sh++) {
        int count[4] = {0, 0, 0, 0};
        for (int k = 0; k < per_shape; k++) {
            size_t n = (size_t)uniform(g, 200, 1001);
            double work = loguniform(g, 1e5, 1e6);
            lh_decision d;
            make_clean(g, s, n, work, sh);
            if (lh_decide(s, n, o, &d) < 0) {
                printf("lh_decide failed\n");
                return;
            }
            count[d.verdict]++;
            if (verbose && d.verdict == LH_VERDICT_LEAK) {
                printf("    FP %s n=%zu work=%.0f: %s\n", shape_names[sh], n,
                       work, d.text);
                dump(s, n);
            }
        }
        printf("  %-9s %6d %8d %8d %8d %7.2f%%\n", shape_names[sh],
               count[LH_VERDICT_LEAK], count[LH_VERDICT_CLEAN],
               count[LH_VERDICT_INCONCLUSIVE], count[LH_VERDICT_BACKLOG],
               100.0 * count[LH_VERDICT_LEAK] / per_shape);
        total_fp += count[LH_VERDICT_LEAK];
        total += per_shape;
    }
    printf("  all       %6d of %d: FP rate %.2f%%\n", total_fp, total,
           100.0 * total_fp / total);
}

typedef struct condition {
    size_t n;
    double work;
    int noise;
    double sigma, phi;
    const char *label;
} condition;

/* Leak of `slope` B/unit plus fixed noise, page-quantized. */
static void make_leak(rng *g, lh_slope_sample *s, const condition *c,
                      double slope)
{
    synth_work(g, s, c->n, c->work);
    double e = c->sigma * gauss(g);
    double innov = c->sigma * sqrt(1 - c->phi * c->phi);
    for (size_t i = 0; i < c->n; i++) {
        double noise;
        if (c->noise == N_WHITE) {
            noise = c->sigma * gauss(g);
        } else {
            noise = e;
            e = c->phi * e + innov * gauss(g);
        }
        s[i].bytes = BASE + slope * s[i].work + noise;
    }
    synth_quantize(s, c->n);
}

static const condition conds[] = {
    {200, 1e5, N_WHITE, 8192, 0, "200 samples, 100k units, white 8 KiB"},
    {200, 1e5, N_AR1, 65536, 0.9, "200 samples, 100k units, AR(0.9) 64 KiB"},
    {500, 2e5, N_WHITE, 65536, 0, "500 samples, 200k units, white 64 KiB"},
    {1000, 1e6, N_WHITE, 8192, 0, "1000 samples, 1M units, white 8 KiB"},
    {1000, 1e6, N_AR1, 262144, 0.95,
     "1000 samples, 1M units, AR(0.95) 256 KiB"},
    {200, 1e5, N_WHITE, 262144, 0, "200 samples, 100k units, white 256 KiB"},
};
static const double slopes[] = {0.5, 1.0, 1.25, 1.5, 2.0, 3.0,
                                4.0, 6.0, 8.0,  16.0, 64.0};
#define NCONDS (sizeof(conds) / sizeof(conds[0]))
#define NSLOPES (sizeof(slopes) / sizeof(slopes[0]))

/* 1 when a series of c with a leak of `slope` is called a leak; an
 * inconclusive run is measured again at twice the samples and work, up to
 * rounds - 1 times (the caller's doubling). */
static int detected(rng *g, lh_slope_sample *s, const condition *c,
                    double slope, int rounds, const lh_decide_opts *o)
{
    condition longer = *c;
    lh_decision d;
    int rc = 0;
    memset(&d, 0, sizeof d);
    for (int round = 0; round < rounds; round++) {
        make_leak(g, s, &longer, slope);
        rc = lh_decide(s, longer.n, o, &d);
        if (rc < 0 || d.verdict != LH_VERDICT_INCONCLUSIVE)
            break;
        longer.n *= 2;
        longer.work *= 2;
    }
    if (rc == 0 && d.verdict == LH_VERDICT_LEAK)
        return 1;
    if (verbose && rounds == 1 && slope >= 4 && rc == 0)
        printf("\n    miss %g: %s", slope, d.text);
    return 0;
}

/* One table: the detection rate per condition and leak size, and the
 * smallest leak found in at least 95% of the series. */
static void detection_table(rng *g, lh_slope_sample *s, int reps, int rounds,
                            const lh_decide_opts *o)
{
    printf("  %-44s", "condition \\ leak B/unit");
    for (size_t k = 0; k < NSLOPES; k++)
        printf(" %5g", slopes[k]);
    printf("  smallest>=95%%\n");
    for (size_t c = 0; c < NCONDS; c++) {
        double smallest = NAN;
        printf("  %-44s", conds[c].label);
        for (size_t k = 0; k < NSLOPES; k++) {
            int hits = 0;
            for (int r = 0; r < reps; r++)
                hits += detected(g, s, &conds[c], slopes[k], rounds, o);
            double rate = 100.0 * hits / reps;
            printf(" %5.0f", rate);
            if (rate >= 95 && isnan(smallest))
                smallest = slopes[k];
        }
        printf("  %g\n", smallest);
    }
}

static void detection(rng *g, lh_slope_sample *s, int reps,
                      const lh_decide_opts *o)
{
    printf("\ndetection rate (verdict leak), %d series per cell, floor "
           "%.2f B/unit:\n",
           reps, o->threshold);
    detection_table(g, s, reps, 1, o);
    /* The caller doubles an inconclusive run (same sampling rate), here up
     * to twice: 4x the work at most. */
    printf("\nsame, the caller doubling an inconclusive run up to twice "
           "(<= 4x work):\n");
    detection_table(g, s, reps, 3, o);
}

/* The harness may call lh_decide live, while the run grows.  Acting on the
 * first LEAK of many looks inflates the false-positive rate; measure it. */
static void live_looks(rng *g, lh_slope_sample *s, int per_shape,
                       const lh_decide_opts *o)
{
    int any = 0, final = 0, total = 0;
    for (int sh = 0; sh < NSHAPES; sh++)
        for (int k = 0; k < per_shape / 4; k++) {
            size_t n = (size_t)uniform(g, 200, 1001);
            make_clean(g, s, n, loguniform(g, 1e5, 1e6), sh);
            int hit = 0;
            lh_decision d;
            for (int look = 3; look <= 10; look++) {
                size_t upto = n * (size_t)look / 10;
                if (lh_decide(s, upto, o, &d) == 0 &&
                    d.verdict == LH_VERDICT_LEAK)
                    hit = 1;
            }
            any += hit;
            final += d.verdict == LH_VERDICT_LEAK;
            total++;
        }
    printf("\nlive looks on %d clean series (decide at 30%%, 40%% .. 100%% of "
           "the run):\n  leak at the last look %.2f%%, leak at any look "
           "%.2f%%\n",
           total, 100.0 * final / total, 100.0 * any / total);
}

/* CPU time of this process: the machine may be busy with other work. */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void cost(rng *g, lh_slope_sample *s, const lh_decide_opts *o)
{
    static const size_t sizes[] = {200, 1000, 10000};
    printf("\ncost of one lh_decide (mean of 20 calls, %u resamples):\n",
           o->resamples);
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        for (int leak = 0; leak < 2; leak++) {
            condition c = {sizes[k], 1e6, N_WHITE, 16384, 0, ""};
            make_leak(g, s, &c, leak ? 64.0 : 0.0);
            int calls = 20;
            lh_decision d;
            int64_t w0 = lh_now_us();
            double c0 = cpu_ms();
            for (int i = 0; i < calls; i++)
                (void)lh_decide(s, c.n, o, &d);
            double c1 = cpu_ms();
            int64_t w1 = lh_now_us();
            printf("  %5zu samples, %-5s series (%s): %.2f ms CPU, %.2f ms "
                   "wall\n",
                   c.n, leak ? "leak" : "clean",
                   lh_decide_verdict_name(d.verdict), (c1 - c0) / calls,
                   (double)(w1 - w0) / calls / 1000.0);
        }
    }
}

int main(int argc, char **argv)
{
    int per_shape = argc > 1 ? atoi(argv[1]) : 1000;
    lh_decide_opts o;
    rng g = {UINT64_C(20261126)};
    lh_slope_sample *s = malloc(MAXN * sizeof(*s));

    if (!s)
        return 1;
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows when redirected */
    verbose = getenv("BENCH_SLOPE_VERBOSE") != NULL;
    lh_decide_opts_init(&o);
    if (argc > 2)
        o.threshold = atof(argv[2]);
    if (per_shape < 1)
        per_shape = 1000;
    false_positives(&g, s, per_shape, &o);
    detection(&g, s, per_shape / 5 > 20 ? per_shape / 5 : 20, &o);
    live_looks(&g, s, per_shape, &o);
    cost(&g, s, &o);
    free(s);
    return 0;
}
