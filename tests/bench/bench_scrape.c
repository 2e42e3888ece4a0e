/*
 * bench_scrape.c - what one scrape of a Prometheus endpoint costs
 * leak-hunt (harness/metrics/scrape.c): the transfer and the parse, in
 * wall time (median, 90th and 99th percentile, longest) and in leak-hunt's
 * own CPU time per scrape.
 *
 *   bench_scrape [--fresh] [--every MS] URL [COUNT]
 *
 * COUNT scrapes (default 200) of URL, back to back or one every MS
 * milliseconds (100: the poller's pace).  --fresh makes a new scraper,
 * so a new connection, for each scrape (what a scraper that did not keep
 * its handle would pay).  For a service to scrape:
 *   python3 tests/targets/metrics_service.py --port 9100 --extra-series 1000
 */
#include "clock.h"
#include "error.h"
#include "scrape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void print_ms(const char *what, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    printf("%-6s median %7.3f ms  p90 %7.3f ms  p99 %7.3f ms  max %7.3f ms\n",
           what, v[n / 2] * 1e3, v[n * 9 / 10] * 1e3, v[n * 99 / 100] * 1e3,
           v[n - 1] * 1e3);
}

/* One scrape, with a new scraper when *sc is NULL; 0 or the error. */
static int one(const char *url, lh_scraper **sc, double *fetch, double *parse,
               size_t *bytes, size_t *series)
{
    char why[512];
    lh_prom_scrape *s = NULL;
    if (*sc == NULL && lh_scraper_new(url, NULL, sc, why, sizeof why) < 0) {
        fprintf(stderr, "bench_scrape: %s\n", why);
        return LH_EINVAL;
    }
    int rc = lh_scraper_get(*sc, &s, why, sizeof why);
    if (rc < 0) {
        fprintf(stderr, "bench_scrape: %s\n", why);
        return rc;
    }
    *fetch = lh_scraper_fetch_seconds(*sc);
    *parse = lh_scraper_parse_seconds(*sc);
    *bytes = lh_scraper_bytes(*sc);
    *series = s->nsamples;
    lh_prom_free(s);
    return 0;
}

int main(int argc, char **argv)
{
    int fresh = 0, every_ms = 0, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--fresh") == 0)
            fresh = 1;
        else if (strcmp(argv[i], "--every") == 0 && i + 1 < argc)
            every_ms = atoi(argv[++i]);
        else
            break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: bench_scrape [--fresh] [--every MS] URL "
                        "[COUNT]\n");
        return 2;
    }
    const char *url = argv[i];
    int n = i + 1 < argc ? atoi(argv[i + 1]) : 200;
    if (n < 2)
        n = 2;
    double *fetch = calloc((size_t)n, sizeof *fetch);
    double *parse = calloc((size_t)n, sizeof *parse);
    size_t bytes = 0, series = 0;
    lh_scraper *sc = NULL;
    int rc = fetch && parse ? 0 : 1;
    double cpu0 = cpu_seconds();
    int64_t t0 = lh_now_us();
    for (int k = 0; k < n && rc == 0; k++) {
        rc = one(url, &sc, &fetch[k], &parse[k], &bytes, &series);
        if (fresh) {
            lh_scraper_free(sc);
            sc = NULL;
        }
        if (every_ms > 0)
            lh_sleep_us(t0 + (int64_t)(k + 1) * every_ms * 1000 - lh_now_us());
    }
    double cpu = cpu_seconds() - cpu0;
    lh_scraper_free(sc);
    if (rc == 0) {
        printf("%s: %d scrapes of %zu bytes, %zu series, %s connection%s\n",
               url, n, bytes, series, fresh ? "a new" : "one kept",
               every_ms ? ", one every interval" : ", back to back");
        print_ms("fetch", fetch, n);
        print_ms("parse", parse, n);
        printf("cpu    %.3f ms of leak-hunt's CPU per scrape\n", cpu / n * 1e3);
    }
    free(fetch);
    free(parse);
    return rc == 0 ? 0 : 1;
}
