/*
 * synth.h - synthetic series for the leak decision (harness/measure/
 * slope.c), shared by its unit suite (test_slope.c) and its benchmark
 * (tests/bench/bench_slope.c).
 *
 * A series looks like what the harness samples: work advancing at a
 * jittery rate (and not at all for the first 3 samples), memory on a 50 MB
 * base, quantized to 4 KiB pages.  The generator is seeded, so a seed
 * gives the same series on every run and every machine.
 */
#ifndef LH_TEST_SYNTH_H
#define LH_TEST_SYNTH_H

#include "slope.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define SYNTH_PAGE 4096.0
#define SYNTH_BASE (50.0 * 1024 * 1024)

/* splitmix64 */
typedef struct rng {
    uint64_t s;
} rng;

static inline uint64_t rnext(rng *g)
{
    uint64_t z = (g->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* uniform in [0, 1) */
static inline double unif(rng *g)
{
    return (double)(rnext(g) >> 11) * (1.0 / 9007199254740992.0);
}

static inline double uniform(rng *g, double lo, double hi)
{
    return lo + (hi - lo) * unif(g);
}

static inline double loguniform(rng *g, double lo, double hi)
{
    return exp(uniform(g, log(lo), log(hi)));
}

/* standard normal (Box-Muller) */
static inline double gauss(rng *g)
{
    double u = unif(g), v = unif(g);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* n samples over `total` units: no work for 3 samples, then a rate that
 * jitters by +-30%; bytes = SYNTH_BASE; queue not reported. */
static inline void synth_work(rng *g, lh_slope_sample *s, size_t n,
                              double total)
{
    double acc = 0, x = 0;
    for (size_t i = 0; i < n; i++) { /* the increments, then their sums */
        s[i].work = i < 3 ? 0 : uniform(g, 0.7, 1.3);
        acc += s[i].work;
    }
    for (size_t i = 0; i < n; i++) {
        x += s[i].work * total / acc;
        s[i].work = floor(x);
        s[i].bytes = SYNTH_BASE;
        s[i].queue = -1;
    }
}

static inline void synth_white(rng *g, lh_slope_sample *s, size_t n,
                               double sigma)
{
    for (size_t i = 0; i < n; i++)
        s[i].bytes += sigma * gauss(g);
}

/* AR(1) noise of marginal deviation sigma */
static inline void synth_ar1(rng *g, lh_slope_sample *s, size_t n,
                             double phi, double sigma)
{
    double e = sigma * gauss(g), innov = sigma * sqrt(1 - phi * phi);
    for (size_t i = 0; i < n; i++) {
        s[i].bytes += e;
        e = phi * e + innov * gauss(g);
    }
}

static inline void synth_quantize(lh_slope_sample *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s[i].bytes = floor(s[i].bytes / SYNTH_PAGE) * SYNTH_PAGE;
}

#endif
