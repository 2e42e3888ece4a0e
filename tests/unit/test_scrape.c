/*
 * test_scrape.c - the libcurl scraper (scrape.c) and the poller behind it
 * (poller.c) against a real service on loopback: our test service,
 * tests/targets/metrics_service.py, started for each test.  It scrapes
 * the service (one connection kept for many scrapes), and meets each way
 * a scrape fails (HTTP 404, a body that is not the format, HTML, a port
 * that refuses, an answer too slow, a body too big, a certificate not
 * trusted), then polls a leaking service through a restart, a stage switch
 * and an outage.  Timings go to stderr (figures, not assertions).
 */
#include "cu_main.h"
#include "netutil.h"

#include "clock.h"
#include "error.h"
#include "poller.h"
#include "process.h"
#include "scrape.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char why[1024];
static char dir[64], url[128], base[96];
static lh_proc svc;

/* Starts the service with the extra arguments (NULL-terminated); sets
 * url and base.  Fatal when it does not listen within 10 s. */
static void start(const char *const *extra)
{
    char port_file[128];
    char *argv[32];
    size_t n = 0;
    snprintf(dir, sizeof dir, "/tmp/lh-test-scrape.XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(port_file, sizeof port_file, "%s/port", dir);
    argv[n++] = "python3";
    argv[n++] = LH_METRICS_SERVICE;
    argv[n++] = "--port-file";
    argv[n++] = port_file;
    for (size_t i = 0; extra && extra[i] && n < 30; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    lh_spawn_opts o = {.argv = argv,
                       .out = LH_SPAWN_NULL,
                       .own_group = 1,
                       .die_with_parent = 1};
    CU_ASSERT_EQUAL_FATAL(lh_spawn(&o, &svc), 0);
    int port = 0;
    for (int i = 0; i < 200 && port == 0; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port == 0)
            lh_sleep_us(50000);
    }
    unlink(port_file);
    CU_ASSERT_NOT_EQUAL_FATAL(port, 0);
    snprintf(base, sizeof base, "%s://127.0.0.1:%d",
             extra && extra[0] && strcmp(extra[0], "--tls") == 0 ? "https"
                                                                 : "http",
             port);
    snprintf(url, sizeof url, "%s/metrics", base);
}

static void stop(void)
{
    lh_proc_stop(&svc, 2000);
    memset(&svc, 0, sizeof svc);
    rmdir(dir);
}

static size_t discard(char *d, size_t s, size_t n, void *a)
{
    (void)d, (void)a;
    return s * n;
}

/* POSTs body to the service's path (its control endpoints). */
static void post(const char *path, const char *body)
{
    char u[160];
    long status = 0;
    snprintf(u, sizeof u, "%s%s", base, path);
    CURL *c = curl_easy_init();
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    curl_easy_setopt(c, CURLOPT_URL, u);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    CU_ASSERT_EQUAL(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    CU_ASSERT_EQUAL(status, 200);
    curl_easy_cleanup(c);
}

static lh_scraper *scraper(const lh_scrape_opts *o)
{
    lh_scraper *sc = NULL;
    CU_ASSERT_EQUAL_FATAL(lh_scraper_new(url, o, &sc, why, sizeof why), 0);
    return sc;
}

static double value_of(const lh_prom_scrape *s, const char *sel)
{
    lh_prom_selector *x = NULL;
    lh_prom_value v = {.value = NAN};
    CU_ASSERT_EQUAL_FATAL(lh_prom_selector_parse(sel, &x, why, sizeof why), 0);
    CU_ASSERT_EQUAL(lh_prom_select(s, x, LH_PROM_ANY, &v, why, sizeof why), 0);
    lh_prom_selector_free(x);
    return v.value;
}

static int says(const char *part)
{
    if (strstr(why, part) != NULL)
        return 1;
    fprintf(stderr, "expected '%s' in '%s'\n", part, why);
    return 0;
}

/* Scrapes once, expecting the error `rc` with `part` in the message. */
static void scrape_fails(lh_scraper *sc, int rc, const char *part)
{
    lh_prom_scrape *s = NULL;
    why[0] = '\0';
    CU_ASSERT_EQUAL(lh_scraper_get(sc, &s, why, sizeof why), rc);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT(says(part));
}

static void test_scrape_reads_the_service_on_one_connection(void)
{
    const char *extra[] = {"--extra-series", "1000", NULL};
    start(extra);
    lh_scraper *sc = scraper(NULL);
    lh_prom_scrape *s = NULL;
    int n = 50;
    double fetch = 0, parse = 0, first = 0;
    for (int i = 0; i < n; i++) {
        CU_ASSERT_EQUAL_FATAL(lh_scraper_get(sc, &s, why, sizeof why), 0);
        fetch += lh_scraper_fetch_seconds(sc);
        parse += lh_scraper_parse_seconds(sc);
        if (i == 0)
            first = lh_scraper_fetch_seconds(sc);
        if (i < n - 1)
            lh_prom_free(s);
    }
    CU_ASSERT_EQUAL(lh_scraper_status(sc), 200);
    CU_ASSERT(s->nsamples > 1000);
    CU_ASSERT(value_of(s, "lh_test_work_total") >= 0);
    /* escapes came through */
    CU_ASSERT_DOUBLE_EQUAL(value_of(s, "lh_test_requests_total{code=\"200\","
                                       "path=\"/a\\\"b\\\\c\"}"),
                           value_of(s, "lh_test_work_total"), 0);
    /* one connection for all the scrapes */
    CU_ASSERT_DOUBLE_EQUAL(value_of(s, "lh_test_connections_total"), 1, 0);
    fprintf(stderr,
            "\n  %d scrapes of %zu bytes (%zu series): first %.2f "
            "ms, mean fetch %.2f ms, mean parse %.3f ms\n",
            n, lh_scraper_bytes(sc), s->nsamples, first * 1e3, fetch / n * 1e3,
            parse / n * 1e3);
    lh_prom_free(s);
    lh_scraper_free(sc);
    stop();
}

static void test_scrape_refuses_what_is_not_metrics(void)
{
    start(NULL);
    lh_scraper *sc = scraper(NULL);
    post("/mode", "404");
    scrape_fails(sc, LH_EIO, "cannot scrape http://127.0.0.1:");
    CU_ASSERT(says("/metrics: HTTP 404 ('404 page not found')"));
    CU_ASSERT_EQUAL(lh_scraper_status(sc), 404);
    post("/mode", "garbage");
    scrape_fails(sc, LH_EPARSE,
                 "/metrics does not serve the Prometheus text "
                 "format: line 1: this: 'is' is not a "
                 "number");
    post("/mode", "html");
    scrape_fails(sc, LH_EPARSE,
                 "it serves text/html, not the Prometheus "
                 "text format");
    post("/mode", "ok");
    lh_prom_scrape *s = NULL;
    CU_ASSERT_EQUAL(lh_scraper_get(sc, &s, why, sizeof why), 0);
    lh_prom_free(s);
    lh_scraper_free(sc);
    /* another path on the same service */
    snprintf(url, sizeof url, "%s/nope", base);
    sc = scraper(NULL);
    scrape_fails(sc, LH_EIO, "/nope: HTTP 404");
    lh_scraper_free(sc);
    stop();
}

static void test_scrape_times_out_and_limits_the_size(void)
{
    start(NULL);
    lh_scrape_opts o = {.timeout_ms = 500};
    lh_scraper *sc = scraper(&o);
    post("/mode", "slow");
    int64_t t0 = lh_now_us();
    scrape_fails(sc, LH_ETIMEOUT,
                 "timed out (connect 1000 ms, whole "
                 "request 500 ms)");
    double took = (double)(lh_now_us() - t0) / 1e6;
    CU_ASSERT(took >= 0.45 && took < 3.0); /* not the 5 s answer */
    lh_scraper_free(sc);
    post("/mode", "big");
    lh_scrape_opts small = {.max_bytes = 1 << 20};
    sc = scraper(&small);
    scrape_fails(sc, LH_ETOOBIG, "the body is over 1048576 bytes");
    lh_scraper_free(sc);
    sc = scraper(NULL); /* 4 MiB is under the default 16 MiB */
    lh_prom_scrape *s = NULL;
    CU_ASSERT_EQUAL(lh_scraper_get(sc, &s, why, sizeof why), 0);
    CU_ASSERT_EQUAL(lh_scraper_bytes(sc), 4096 * 1023);
    lh_prom_free(s);
    lh_scraper_free(sc);
    stop();
}

static void test_scrape_reports_a_port_that_refuses(void)
{
    lh_test_closed_url(url, sizeof url);
    lh_scraper *sc = scraper(NULL);
    int64_t t0 = lh_now_us();
    scrape_fails(sc, LH_EIO, url);
    CU_ASSERT(says("ouldn't connect"));
    CU_ASSERT((double)(lh_now_us() - t0) / 1e6 < 1.0);
    CU_ASSERT_EQUAL(lh_scraper_status(sc), 0);
    lh_scraper_free(sc);
}

/* A self-signed certificate for 127.0.0.1 in dir; 0 when openssl is
 * missing. */
static int make_cert(char *cert, char *key, size_t cap)
{
    char tmpl[64], out[4096];
    int status = -1;
    snprintf(tmpl, sizeof tmpl, "/tmp/lh-test-cert.XXXXXX");
    if (mkdtemp(tmpl) == NULL)
        return 0;
    snprintf(cert, cap, "%s/cert.pem", tmpl);
    snprintf(key, cap, "%s/key.pem", tmpl);
    char *argv[] = {"openssl",  "req",
                    "-x509",    "-newkey",
                    "rsa:2048", "-nodes",
                    "-days",    "1",
                    "-subj",    "/CN=127.0.0.1",
                    "-addext",  "subjectAltName=IP:127.0.0.1",
                    "-keyout",  key,
                    "-out",     cert,
                    NULL};
    lh_spawn_opts o = {.argv = argv};
    if (lh_spawn_capture(&o, out, sizeof out, 30000, &status) < 0 ||
        status != 0) {
        fprintf(stderr, "\n  openssl failed (%d): %s\n", status, out);
        return 0;
    }
    return 1;
}

static void test_scrape_speaks_https_with_the_ca_given(void)
{
    char cert[128], key[128];
    if (!make_cert(cert, key, sizeof cert)) {
        fprintf(stderr, "\n  SKIPPED: no openssl to make a certificate\n");
        return;
    }
    const char *extra[] = {"--tls", cert, key, NULL};
    start(extra);
    CU_ASSERT_EQUAL(strncmp(url, "https://", 8), 0);
    /* The system's CAs: not trusted.  (Loading their bundle takes over
     * 2 s under valgrind, hence the long timeouts.) */
    lh_scrape_opts sys = {.connect_ms = 30000, .timeout_ms = 30000};
    lh_scraper *sc = scraper(&sys);
    scrape_fails(sc, LH_EIO, "cannot scrape https://127.0.0.1:");
    CU_ASSERT(says("certificate"));
    lh_scraper_free(sc);
    lh_scrape_opts o = {.ca_file = cert};
    sc = scraper(&o);
    lh_prom_scrape *s = NULL;
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL_FATAL(lh_scraper_get(sc, &s, why, sizeof why), 0);
        if (i < 4)
            lh_prom_free(s);
    }
    /* the refused handshake never reached the service's handler */
    CU_ASSERT_DOUBLE_EQUAL(value_of(s, "lh_test_connections_total"), 1, 0);
    fprintf(stderr, "\n  https scrape: %.2f ms\n",
            lh_scraper_fetch_seconds(sc) * 1e3);
    lh_prom_free(s);
    lh_scraper_free(sc);
    stop();
    unlink(cert);
    unlink(key);
    *strrchr(cert, '/') = '\0';
    rmdir(cert);
}

/* Points for `seconds`, 10 a second, into v[]; how many. */
static size_t poll_for(lh_poller *p, double seconds, lh_prom_point *v,
                       size_t max)
{
    size_t n = 0;
    int64_t end = lh_now_us() + (int64_t)(seconds * 1e6);
    while (lh_now_us() < end && n < max) {
        if (lh_poller_take(p, &v[n]) == 0)
            n++;
        lh_sleep_us(100000);
    }
    return n;
}

static void test_scrape_polls_a_leak_through_a_restart_and_an_outage(void)
{
    const char *extra[] = {"--leak",   "1000", "--rate", "2000",
                           "--stages", "a",    NULL};
    start(extra);
    lh_poller_opts o = {.url = url,
                        .work_metric = "lh_test_work_total",
                        .memory_metric = "lh_test_heap_bytes"};
    lh_poller *p = NULL;
    lh_prom_point v[64];
    CU_ASSERT_EQUAL_FATAL(lh_poller_new(&o, &p, why, sizeof why), 0);
    size_t n = poll_for(p, 1.0, v, 64);
    CU_ASSERT_FATAL(n >= 5);
    /* 1000 bytes held per unit of work */
    double dw = v[n - 1].work - v[0].work, dm = v[n - 1].memory - v[0].memory;
    CU_ASSERT_FATAL(dw > 500);
    CU_ASSERT_DOUBLE_EQUAL(dm / dw, 1000, 1e-9);
    CU_ASSERT_STRING_EQUAL(lh_poller_stages(p)->list, "a");
    double before = v[n - 1].work;
    post("/restart", "");
    post("/stages", "b,c");
    size_t m = poll_for(p, 0.5, v, 64);
    CU_ASSERT_FATAL(m >= 2);
    CU_ASSERT(v[0].restarted);
    CU_ASSERT_EQUAL(v[m - 1].epoch, 1);
    CU_ASSERT(v[0].work >= before); /* work goes on across it */
    CU_ASSERT(v[0].memory < 1000 * (v[0].work - before) + 1);
    size_t nr;
    const lh_prom_restart *r = lh_poller_restarts(p, &nr);
    CU_ASSERT_EQUAL_FATAL(nr, 1);
    CU_ASSERT(r[0].by_start_time || r[0].counter_after < r[0].counter_before);
    CU_ASSERT_STRING_EQUAL(lh_poller_stages(p)->list, "b,c");
    /* an outage: failures counted, no point, then back */
    post("/mode", "404");
    lh_prom_point pt = {.work = -1};
    CU_ASSERT_EQUAL(lh_poller_take(p, &pt), LH_EIO);
    CU_ASSERT_EQUAL(lh_poller_take(p, &pt), LH_EIO);
    CU_ASSERT_DOUBLE_EQUAL(pt.work, -1, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(lh_poller_error(p), "HTTP 404"));
    lh_poller_stats st;
    lh_poller_get_stats(p, &st);
    CU_ASSERT_EQUAL(st.consecutive, 2);
    post("/mode", "ok");
    CU_ASSERT_EQUAL(lh_poller_take(p, &pt), 0);
    CU_ASSERT(!pt.restarted);
    lh_poller_get_stats(p, &st);
    CU_ASSERT_EQUAL(st.consecutive, 0);
    CU_ASSERT_EQUAL(st.failures, 2);
    CU_ASSERT(st.fetch_mean_s > 0 && st.fetch_max_s >= st.fetch_mean_s);
    fprintf(stderr,
            "\n  poller: %lu scrapes, mean fetch %.2f ms (max %.2f), "
            "mean parse %.3f ms, %zu bytes\n",
            st.scrapes, st.fetch_mean_s * 1e3, st.fetch_max_s * 1e3,
            st.parse_mean_s * 1e3, st.bytes);
    lh_poller_free(p);
    stop();
}

static CU_TestInfo tests[] = {
    {"reads the service on one connection",
     test_scrape_reads_the_service_on_one_connection},
    {"refuses what is not metrics", test_scrape_refuses_what_is_not_metrics},
    {"times out and limits the size",
     test_scrape_times_out_and_limits_the_size},
    {"reports a port that refuses", test_scrape_reports_a_port_that_refuses},
    {"speaks https with the ca given",
     test_scrape_speaks_https_with_the_ca_given},
    {"polls a leak through a restart and an outage",
     test_scrape_polls_a_leak_through_a_restart_and_an_outage},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("scrape", tests)
