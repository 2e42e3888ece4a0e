/*
 * test_poller.c - scrapes turned into points (poller.c), fed parsed text:
 * work counted from the first scrape, a restart (the counter going back,
 * or the start time moving) starting a new epoch with the work bridged
 * and the event kept, a failed scrape counted and skipped with no point,
 * the stages of the last good scrape.  The same code behind real scrapes
 * is test_scrape's.
 */
#include "cu_main.h"

#include "alloc.h"
#include "error.h"
#include "poller.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static char why[512];

static lh_poller *poller(const char *work, const char *memory)
{
    lh_poller_opts o = {.work_metric = work, .memory_metric = memory};
    lh_poller *p = NULL;
    CU_ASSERT_EQUAL_FATAL(lh_poller_new(&o, &p, why, sizeof why), 0);
    return p;
}

/* Feeds the scrape "work_total W\nmem M\n" (plus `extra`) at t. */
static int feed(lh_poller *p, double t, double work, double mem,
                const char *extra, lh_prom_point *pt)
{
    char text[512];
    lh_prom_scrape *s = NULL;
    snprintf(text, sizeof text,
             "# TYPE work_total counter\nwork_total %.17g\n"
             "# TYPE mem gauge\nmem %.17g\n%s",
             work, mem, extra ? extra : "");
    CU_ASSERT_EQUAL_FATAL(
        lh_prom_parse(text, strlen(text), &s, why, sizeof why), 0);
    int rc = lh_poller_feed(p, s, t, pt);
    lh_prom_free(s);
    return rc;
}

static void test_poller_counts_work_from_the_first_scrape(void)
{
    lh_poller *p = poller("work_total", "mem");
    lh_prom_point pt;
    CU_ASSERT_EQUAL(feed(p, 0.1, 5000, 100, NULL, &pt), 0);
    CU_ASSERT_DOUBLE_EQUAL(pt.work, 0, 0);
    CU_ASSERT_DOUBLE_EQUAL(pt.counter, 5000, 0);
    CU_ASSERT_DOUBLE_EQUAL(pt.memory, 100, 0);
    CU_ASSERT_DOUBLE_EQUAL(pt.t, 0.1, 0);
    CU_ASSERT_EQUAL(pt.epoch, 0);
    CU_ASSERT(!pt.restarted);
    CU_ASSERT_EQUAL(feed(p, 0.2, 5250, 130, NULL, &pt), 0);
    CU_ASSERT_DOUBLE_EQUAL(pt.work, 250, 0);
    CU_ASSERT_DOUBLE_EQUAL(pt.memory, 130, 0);
    lh_poller_stats st;
    lh_poller_get_stats(p, &st);
    CU_ASSERT_EQUAL(st.scrapes, 2);
    CU_ASSERT_EQUAL(st.failures, 0);
    CU_ASSERT_DOUBLE_EQUAL(st.last_ok_t, 0.2, 0);
    size_t n = 9;
    lh_poller_restarts(p, &n);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_STRING_EQUAL(lh_poller_error(p), "");
    lh_poller_free(p);
}

static void test_poller_starts_an_epoch_when_the_counter_goes_back(void)
{
    lh_poller *p = poller("work_total", "mem");
    lh_prom_point pt;
    feed(p, 1, 100, 10, NULL, &pt);
    feed(p, 2, 400, 40, NULL, &pt);
    /* restarted: the counter is 30, the work since the restart */
    CU_ASSERT_EQUAL(feed(p, 3, 30, 5, NULL, &pt), 0);
    CU_ASSERT(pt.restarted);
    CU_ASSERT_EQUAL(pt.epoch, 1);
    CU_ASSERT_DOUBLE_EQUAL(pt.work, 300 + 30, 0);
    CU_ASSERT_DOUBLE_EQUAL(pt.memory, 5, 0);
    CU_ASSERT_EQUAL(feed(p, 4, 80, 9, NULL, &pt), 0);
    CU_ASSERT(!pt.restarted);
    CU_ASSERT_EQUAL(pt.epoch, 1);
    CU_ASSERT_DOUBLE_EQUAL(pt.work, 380, 0);
    size_t n;
    const lh_prom_restart *r = lh_poller_restarts(p, &n);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_DOUBLE_EQUAL(r[0].t, 3, 0);
    CU_ASSERT_DOUBLE_EQUAL(r[0].work, 330, 0);
    CU_ASSERT_DOUBLE_EQUAL(r[0].counter_before, 400, 0);
    CU_ASSERT_DOUBLE_EQUAL(r[0].counter_after, 30, 0);
    CU_ASSERT(!r[0].by_start_time);
    /* a second restart, to 0 */
    CU_ASSERT_EQUAL(feed(p, 5, 0, 1, NULL, &pt), 0);
    CU_ASSERT(pt.restarted);
    CU_ASSERT_EQUAL(pt.epoch, 2);
    CU_ASSERT_DOUBLE_EQUAL(pt.work, 380, 0);
    lh_poller_restarts(p, &n);
    CU_ASSERT_EQUAL(n, 2);
    /* a counter that stands still is no restart */
    CU_ASSERT_EQUAL(feed(p, 6, 0, 1, NULL, &pt), 0);
    CU_ASSERT(!pt.restarted);
    lh_poller_free(p);
}

static void test_poller_sees_a_restart_by_the_start_time(void)
{
    lh_poller *p = poller("work_total", "mem");
    lh_prom_point pt;
    feed(p, 1, 100, 10, "process_start_time_seconds 1000\n", &pt);
    feed(p, 2, 200, 10, "process_start_time_seconds 1000\n", &pt);
    CU_ASSERT(!pt.restarted);
    /* the new process has already done more than the old one */
    CU_ASSERT_EQUAL(
        feed(p, 3, 250, 3, "process_start_time_seconds 1002.5\n", &pt), 0);
    CU_ASSERT(pt.restarted);
    CU_ASSERT_EQUAL(pt.epoch, 1);
    CU_ASSERT_DOUBLE_EQUAL(pt.work, 100 + 250, 0);
    size_t n;
    const lh_prom_restart *r = lh_poller_restarts(p, &n);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT(r[0].by_start_time);
    /* a labelled start time (several processes) is not a witness */
    CU_ASSERT_EQUAL(feed(p, 4, 260, 3,
                         "process_start_time_seconds{n=\"1\"} "
                         "7\n",
                         &pt),
                    0);
    CU_ASSERT(!pt.restarted);
    lh_poller_free(p);
}

static void test_poller_counts_and_skips_a_failed_scrape(void)
{
    lh_poller *p = poller("work_total", "mem{role=\"b\"}");
    lh_prom_point pt = {.work = -1};
    lh_prom_scrape *s = NULL;
    const char *t = "work_total 10\nmem{role=\"b\"} 7\n";
    CU_ASSERT_EQUAL_FATAL(lh_prom_parse(t, strlen(t), &s, why, sizeof why), 0);
    CU_ASSERT_EQUAL(lh_poller_feed(p, s, 1, &pt), 0);
    lh_prom_free(s);
    /* the memory metric missing: an error, no point, counted */
    pt.work = -1;
    CU_ASSERT_EQUAL(feed(p, 2, 20, 5, NULL, &pt), LH_ENOTFOUND);
    CU_ASSERT_DOUBLE_EQUAL(pt.work, -1, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(lh_poller_error(p),
                                  "no series of mem "
                                  "matches 'mem{role=\"b\"}'"));
    CU_ASSERT_EQUAL(feed(p, 3, 30, 5, NULL, &pt), LH_ENOTFOUND);
    lh_poller_stats st;
    lh_poller_get_stats(p, &st);
    CU_ASSERT_EQUAL(st.scrapes, 3);
    CU_ASSERT_EQUAL(st.failures, 2);
    CU_ASSERT_EQUAL(st.consecutive, 2);
    CU_ASSERT_DOUBLE_EQUAL(st.last_ok_t, 1, 0);
    lh_poller_free(p);

    /* the work metric of the wrong type: its own message */
    p = poller("g", NULL);
    CU_ASSERT_EQUAL(feed(p, 1, 1, 1, "# TYPE g gauge\ng 1\n", &pt), LH_EINVAL);
    CU_ASSERT_STRING_EQUAL(lh_poller_error(p),
                           "work metric g is a gauge, not a counter");
    CU_ASSERT_STRING_EQUAL(lh_poller_first_error(p), lh_poller_error(p));
    lh_poller_get_stats(p, &st);
    CU_ASSERT_DOUBLE_EQUAL(st.last_ok_t, -1, 0);
    lh_poller_free(p);
}

static void test_poller_goes_on_after_a_failure_without_a_false_restart(void)
{
    lh_poller *p = poller("work_total", "mem");
    lh_prom_point pt;
    feed(p, 1, 100, 10, NULL, &pt);
    CU_ASSERT_EQUAL(feed(p, 2, 150, 10,
                         "broken_stages 1\n"
                         "leakhunt_stages 1\n",
                         &pt),
                    LH_EPARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(lh_poller_error(p), "no stages label"));
    CU_ASSERT_EQUAL(feed(p, 3, 180, 11, NULL, &pt), 0);
    CU_ASSERT(!pt.restarted);
    CU_ASSERT_DOUBLE_EQUAL(pt.work, 80, 0);
    lh_poller_stats st;
    lh_poller_get_stats(p, &st);
    CU_ASSERT_EQUAL(st.consecutive, 0);
    CU_ASSERT_EQUAL(st.failures, 1);
    lh_poller_free(p);
}

static void test_poller_without_metrics_gives_nan(void)
{
    lh_poller *p = poller(NULL, NULL);
    lh_prom_point pt;
    CU_ASSERT_EQUAL(feed(p, 1, 100, 10, NULL, &pt), 0);
    CU_ASSERT(isnan(pt.work) && isnan(pt.counter) && isnan(pt.memory));
    CU_ASSERT_EQUAL(feed(p, 2, 100, 10, NULL, &pt), 0);
    CU_ASSERT(!pt.restarted);
    CU_ASSERT_EQUAL(lh_poller_take(p, &pt), LH_EINVAL); /* no URL */
    lh_poller_free(p);
}

static void test_poller_keeps_the_stages_of_the_last_good_scrape(void)
{
    lh_poller_opts o = {.work_metric = "work_total",
                        .stages_metric = "leakhunt_stages{role=\"b\"}"};
    lh_poller *p = NULL;
    lh_prom_point pt;
    CU_ASSERT_EQUAL_FATAL(lh_poller_new(&o, &p, why, sizeof why), 0);
    CU_ASSERT_EQUAL(lh_poller_stages(p)->state, LH_PROM_STAGES_ABSENT);
    feed(p, 1, 1, 1,
         "leakhunt_stages{role=\"a\",stages=\"x\"} 1\n"
         "leakhunt_stages{role=\"b\",stages=\"hash\"} 1\n",
         &pt);
    CU_ASSERT_EQUAL(lh_poller_stages(p)->state, LH_PROM_STAGES_AGREED);
    CU_ASSERT_STRING_EQUAL(lh_poller_stages(p)->list, "hash");
    /* a failed scrape leaves them as they were */
    feed(p, 2, 2, 1, "leakhunt_stages{role=\"b\",stages=\",\"} 1\n", &pt);
    CU_ASSERT_STRING_EQUAL(lh_poller_stages(p)->list, "hash");
    feed(p, 3, 3, 1, "leakhunt_stages{role=\"b\",stages=\"-\"} 1\n", &pt);
    CU_ASSERT_STRING_EQUAL(lh_poller_stages(p)->list, "-");
    lh_poller_free(p);
}

static void test_poller_refuses_bad_options(void)
{
    lh_poller *p = NULL;
    lh_poller_opts o = {.work_metric = "work{"};
    CU_ASSERT_EQUAL(lh_poller_new(&o, &p, why, sizeof why), LH_EPARSE);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "bad metric selector 'work{'"));
    lh_poller_opts u = {.url = "ftp://host/metrics", .work_metric = "w"};
    CU_ASSERT_EQUAL(lh_poller_new(&u, &p, why, sizeof why), LH_EINVAL);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_STRING_EQUAL(why, "metrics URL 'ftp://host/metrics' is not "
                                "http:// or https://");
    int failures = 0;
    for (long n = 0; n < 60; n++) {
        lh_poller_opts a = {.work_metric = "w", .memory_metric = "m"};
        lh_alloc_fail_after(n, 0);
        int rc = lh_poller_new(&a, &p, why, sizeof why);
        lh_alloc_fail_after(-1, 0);
        if (rc == 0) {
            lh_poller_free(p);
            break;
        }
        CU_ASSERT_EQUAL(rc, LH_ENOMEM);
        failures++;
    }
    CU_ASSERT(failures >= 5);
}

static CU_TestInfo tests[] = {
    {"counts work from the first scrape",
     test_poller_counts_work_from_the_first_scrape},
    {"starts an epoch when the counter goes back",
     test_poller_starts_an_epoch_when_the_counter_goes_back},
    {"sees a restart by the start time",
     test_poller_sees_a_restart_by_the_start_time},
    {"counts and skips a failed scrape",
     test_poller_counts_and_skips_a_failed_scrape},
    {"goes on after a failure without a false restart",
     test_poller_goes_on_after_a_failure_without_a_false_restart},
    {"without metrics gives nan", test_poller_without_metrics_gives_nan},
    {"keeps the stages of the last good scrape",
     test_poller_keeps_the_stages_of_the_last_good_scrape},
    {"refuses bad options", test_poller_refuses_bad_options},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("poller", tests)
