/*
 * test_promsource.c - the metrics as the loop's source (promsource.c),
 * on a port nobody listens on (the answers of a real service are
 * test_scrape's and the integration tests'): a bad selector refused when
 * set up, a first scrape that fails said with the URL (at once in watch
 * mode), failed scrapes during the run skipped with no sample until more
 * than half of LH_PROMSOURCE_MIN_SCRAPES have failed, then the run over
 * with a message that counts them.
 */
#include "cu_main.h"
#include "netutil.h"

#include "error.h"
#include "promsource.h"

#include <stdio.h>
#include <string.h>

static char why[2048], url[128];

static void test_promsource_refuses_a_bad_selector(void)
{
    lh_sampler *smp = NULL;
    CU_ASSERT_EQUAL_FATAL(lh_sampler_new("/nonexistent/stats", 0, &smp), 0);
    lh_poller_opts o = {.url = "http://127.0.0.1:1/metrics",
                        .work_metric = "work_total{code="};
    lh_promsource s;
    CU_ASSERT_EQUAL(lh_promsource_open(&s, &o, smp, 1, why, sizeof why),
                    LH_EPARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "work_total{code="));
    lh_promsource_close(&s);
    lh_sampler_free(smp);
}

/* A source on the closed URL over a sampler of nothing (watch mode's). */
static void open_closed(lh_promsource *s, lh_sampler **smp)
{
    lh_test_closed_url(url, sizeof url);
    CU_ASSERT_EQUAL_FATAL(lh_sampler_new("/nonexistent/stats", 0, smp), 0);
    lh_poller_opts o = {.url = url, .work_metric = "work_total",
                        .memory_metric = "mem"};
    CU_ASSERT_EQUAL_FATAL(lh_promsource_open(s, &o, *smp, 1, why,
                                             sizeof why), 0);
}

static void test_promsource_says_a_first_scrape_that_fails(void)
{
    lh_sampler *smp = NULL;
    lh_promsource s;
    open_closed(&s, &smp);
    CU_ASSERT_EQUAL(lh_promsource_first(&s, NULL, 5, why, sizeof why),
                    LH_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "cannot measure through --metrics"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, url));
    lh_promsource_close(&s);
    lh_sampler_free(smp);
}

static void test_promsource_ends_the_run_when_most_scrapes_fail(void)
{
    lh_sampler *smp = NULL;
    lh_promsource s;
    open_closed(&s, &smp);
    lh_series series = {0};
    int restarted = 1, rc = 0, n = 0;
    while (n < 100) {
        rc = lh_promsource_take(&s, &series, &restarted, why, sizeof why);
        n++;
        if (rc != 0)
            break;
    }
    CU_ASSERT_EQUAL(rc, LH_EIO);
    CU_ASSERT_EQUAL(n, LH_PROMSOURCE_MIN_SCRAPES);
    CU_ASSERT_EQUAL(series.n, 0); /* a failed scrape adds no sample */
    CU_ASSERT_EQUAL(restarted, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "20 of 20 scrapes failed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, url));
    lh_run_result res = {0};
    lh_promsource_result(&s, &res, 0, 0);
    CU_ASSERT_EQUAL(res.scraped, 1);
    CU_ASSERT_EQUAL(res.scrapes, 20);
    CU_ASSERT_EQUAL(res.scrape_failures, 20);
    CU_ASSERT_PTR_NOT_NULL(strstr(res.scrape_error, url));
    CU_ASSERT_EQUAL(res.nrestarts, 0);
    lh_series_free(&series);
    lh_promsource_close(&s);
    lh_sampler_free(smp);
}

static CU_TestInfo tests[] = {
    {"refuses a bad selector", test_promsource_refuses_a_bad_selector},
    {"says a first scrape that fails",
     test_promsource_says_a_first_scrape_that_fails},
    {"ends the run when most scrapes fail",
     test_promsource_ends_the_run_when_most_scrapes_fail},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("promsource", tests)
