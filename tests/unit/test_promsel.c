/*
 * test_promsel.c - selectors over a parsed scrape (promsel.c): exactly one
 * series or an error that names what there is; the work and memory roles
 * (a counter, a gauge) and their values; and the leakhunt_stages info
 * metric: absent, agreed as sets, mixed during a switch, and refused when
 * it breaks the convention.
 */
#include "cu_main.h"

#include "alloc.h"
#include "error.h"
#include "promsel.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static char why[1024];

static const char text[] = "# TYPE jobs_done_total counter\n"
                           "jobs_done_total 120\n"
                           "# TYPE requests_total counter\n"
                           "requests_total{code=\"200\",path=\"/a\"} 10\n"
                           "requests_total{code=\"200\",path=\"/b\"} 11\n"
                           "requests_total{code=\"500\",path=\"/a\"} 2\n"
                           "requests_total{code=\"500\"} 1\n"
                           "# TYPE mem_bytes gauge\n"
                           "mem_bytes{role=\"b0\"} 1000\n"
                           "mem_bytes{role=\"b1\"} 2000\n"
                           "# TYPE tasks counter\n"
                           "tasks_total 7\n"
                           "untyped_total 5\n"
                           "untyped_plain 5\n"
                           "# TYPE lat histogram\n"
                           "lat_bucket{le=\"+Inf\"} 9\n"
                           "lat_sum 3.5\n"
                           "lat_count 9\n"
                           "# TYPE q summary\n"
                           "q{quantile=\"0.5\"} 1\n"
                           "q_count 4\n"
                           "# TYPE broken gauge\n"
                           "broken NaN\n"
                           "# TYPE below gauge\n"
                           "below -1\n"
                           "# TYPE neg_total counter\n"
                           "neg_total -3\n";

static lh_prom_scrape *scrape_of(const char *t)
{
    lh_prom_scrape *s = NULL;
    CU_ASSERT_EQUAL_FATAL(lh_prom_parse(t, strlen(t), &s, why, sizeof why), 0);
    return s;
}

/* Selects `sel` for `role`; returns the code, the value in *v. */
static int select_one(const lh_prom_scrape *s, const char *sel,
                      lh_prom_role role, double *v)
{
    lh_prom_selector *x = NULL;
    lh_prom_value out = {.value = -42};
    why[0] = '\0';
    CU_ASSERT_EQUAL_FATAL(lh_prom_selector_parse(sel, &x, why, sizeof why), 0);
    int rc = lh_prom_select(s, x, role, &out, why, sizeof why);
    if (rc != 0)
        CU_ASSERT_DOUBLE_EQUAL(out.value, -42, 0); /* untouched */
    *v = out.value;
    lh_prom_selector_free(x);
    return rc;
}

static int says(const char *part)
{
    if (strstr(why, part) != NULL)
        return 1;
    fprintf(stderr, "expected '%s' in '%s'\n", part, why);
    return 0;
}

/* A selection and what comes of it: the code, and the value (rc 0) or
 * a part of the message. */
typedef struct role_case {
    const char *sel;
    lh_prom_role role;
    int rc;
    double value;
    const char *says;
} role_case;

static void check_each(const role_case *c, size_t n)
{
    lh_prom_scrape *s = scrape_of(text);
    for (size_t i = 0; i < n; i++) {
        double v;
        int rc = select_one(s, c[i].sel, c[i].role, &v);
        CU_ASSERT_EQUAL(rc, c[i].rc);
        if (rc == 0 && c[i].rc == 0 && isnan(c[i].value)) {
            CU_ASSERT(isnan(v));
        } else if (rc == 0 && c[i].rc == 0) {
            CU_ASSERT_DOUBLE_EQUAL(v, c[i].value, 0);
        }
        if (c[i].says != NULL)
            CU_ASSERT(says(c[i].says));
    }
    lh_prom_free(s);
}

#define CHECK_EACH(cases) check_each(cases, sizeof cases / sizeof cases[0])

static void test_promsel_selects_exactly_one_series(void)
{
    static const role_case cases[] = {
        {"jobs_done_total", LH_PROM_ANY, 0, 120, NULL},
        {"requests_total{code=\"200\",path=\"/b\"}", LH_PROM_WORK, 0, 11, NULL},
        /* "" selects the series without the label */
        {"requests_total{code=\"500\",path=\"\"}", LH_PROM_WORK, 0, 1, NULL},
        {"mem_bytes{role=\"b1\"}", LH_PROM_MEMORY, 0, 2000, NULL},
    };
    CHECK_EACH(cases);
}

static void test_promsel_names_the_series_when_several_match(void)
{
    static const role_case cases[] = {
        {"requests_total", LH_PROM_WORK, LH_EINVAL, 0,
         "4 series match 'requests_total': "
         "requests_total{code=\"200\",path=\"/a\"}, "
         "requests_total{code=\"200\",path=\"/b\"}, "
         "requests_total{code=\"500\",path=\"/a\"}, "
         "requests_total{code=\"500\"} (give labels"},
        {"requests_total{path=\"/a\"}", LH_PROM_ANY, LH_EINVAL, 0,
         "2 series match"},
    };
    CHECK_EACH(cases);
    /* many: four named, then how many more */
    char big[2048] = "";
    double v;
    for (int i = 0; i < 9; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big), "m{i=\"%d\"} 1\n",
                 i);
    lh_prom_scrape *s = scrape_of(big);
    CU_ASSERT_EQUAL(select_one(s, "m", LH_PROM_ANY, &v), LH_EINVAL);
    CU_ASSERT(says("9 series match 'm': m{i=\"0\"}, m{i=\"1\"}, m{i=\"2\"}, "
                   "m{i=\"3\"} and 5 more"));
    lh_prom_free(s);
}

static void test_promsel_sums_the_series_sum_selects(void)
{
    static const role_case cases[] = {
        {"sum(mem_bytes)", LH_PROM_MEMORY, 0, 3000, NULL},
        {"sum(requests_total{code=\"200\"})", LH_PROM_WORK, 0, 21, NULL},
        {"sum(requests_total)", LH_PROM_WORK, 0, 24, NULL},
        {"sum(jobs_done_total)", LH_PROM_WORK, 0, 120, NULL}, /* one */
        {"sum(mem_bytes{role=\"b9\"})", LH_PROM_MEMORY, LH_ENOTFOUND, 0,
         "no series of mem_bytes matches"},
        /* each series checked for the role */
        {"sum(mem_bytes)", LH_PROM_WORK, LH_EINVAL, 0, "not a counter"},
        {" sum( mem_bytes{role=\"b0\"} ) ", LH_PROM_MEMORY, 0, 1000, NULL},
    };
    CHECK_EACH(cases);
}

static void test_promsel_names_the_metric_when_none_matches(void)
{
    static const role_case cases[] = {
        {"nothing_here", LH_PROM_ANY, LH_ENOTFOUND, 0,
         "metric nothing_here not found in the scrape"},
        {"jobs_done", LH_PROM_WORK, LH_ENOTFOUND, 0,
         "metric jobs_done not found in the scrape (there is "
         "jobs_done_total)"},
        {"untyped_plain_total", LH_PROM_WORK, LH_ENOTFOUND, 0,
         "(there is untyped_plain)"},
        {"mem_bytes{role=\"b9\"}", LH_PROM_MEMORY, LH_ENOTFOUND, 0,
         "no series of mem_bytes matches 'mem_bytes{role=\"b9\"}' (it has "
         "mem_bytes{role=\"b0\"}, mem_bytes{role=\"b1\"})"},
    };
    CHECK_EACH(cases);
}

static void test_promsel_work_metric_must_be_a_counter(void)
{
    static const role_case cases[] = {
        /* counters, in each of their spellings */
        {"tasks_total", LH_PROM_WORK, 0, 7, NULL},
        {"untyped_total", LH_PROM_WORK, 0, 5, NULL},
        {"lat_count", LH_PROM_WORK, 0, 9, NULL},
        {"q_count", LH_PROM_WORK, 0, 4, NULL},
        /* not counters */
        {"mem_bytes{role=\"b0\"}", LH_PROM_WORK, LH_EINVAL, 0,
         "work metric mem_bytes{role=\"b0\"} is a gauge, not a counter"},
        {"untyped_plain", LH_PROM_WORK, LH_EINVAL, 0,
         "work metric untyped_plain is untyped, without a _total name, not "
         "a counter"},
        {"lat_sum", LH_PROM_WORK, LH_EINVAL, 0,
         "work metric lat_sum is the _sum of a histogram, not a counter"},
        {"lat_bucket", LH_PROM_WORK, LH_EINVAL, 0,
         "is the _bucket of a histogram, not a counter"},
        {"neg_total", LH_PROM_WORK, LH_EINVAL, 0,
         "work metric neg_total is -3 (a work counter needs a finite value "
         ">= 0)"},
    };
    CHECK_EACH(cases);
}

static void test_promsel_memory_metric_must_be_a_gauge(void)
{
    static const role_case cases[] = {
        {"untyped_plain", LH_PROM_MEMORY, 0, 5, NULL},
        {"tasks_total", LH_PROM_MEMORY, LH_EINVAL, 0,
         "memory metric tasks_total is a counter, not a gauge"},
        {"q", LH_PROM_MEMORY, LH_EINVAL, 0,
         "memory metric q{quantile=\"0.5\"} is a summary quantile, not a "
         "gauge"},
        {"broken", LH_PROM_MEMORY, LH_EINVAL, 0, "memory metric broken is nan"},
        {"below", LH_PROM_MEMORY, LH_EINVAL, 0, "is -1 (a memory gauge needs"},
        /* ANY takes them as they are */
        {"broken", LH_PROM_ANY, 0, NAN, NULL},
    };
    CHECK_EACH(cases);
}

static void test_promsel_refuses_bad_selectors(void)
{
    static const struct {
        const char *text, *reason;
    } bad[] = {
        {"", "expected a metric name"},
        {"a b", "unexpected 'b' after the series"},
        {"a{b=c}", "label b: expected a quoted value"},
        {"a{b=\"c\"", "expected ',' or '}'"},
        {"9a", "expected a metric name"},
        {"a{b=\"\\x\"}", "invalid escape"},
        {"sum(a", "bad character in metric name 'sum(a'"},
        {"sum()", "expected a metric name"},
        {"sum(a b)", "unexpected 'b' after the series"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lh_prom_selector *x = (lh_prom_selector *)why;
        CU_ASSERT_EQUAL(
            lh_prom_selector_parse(bad[i].text, &x, why, sizeof why),
            LH_EPARSE);
        CU_ASSERT_PTR_EQUAL(x, (lh_prom_selector *)why);
        CU_ASSERT(says("bad metric selector '"));
        CU_ASSERT(says(bad[i].reason));
    }
    lh_prom_selector *x = NULL;
    CU_ASSERT_EQUAL_FATAL(
        lh_prom_selector_parse(" up{a=\"1\"} ", &x, why, sizeof why), 0);
    CU_ASSERT_STRING_EQUAL(lh_prom_selector_name(x), "up");
    CU_ASSERT_STRING_EQUAL(lh_prom_selector_text(x), " up{a=\"1\"} ");
    lh_prom_selector_free(x);
}

static int stages_of(const char *t, const char *filter, lh_prom_stages *st)
{
    lh_prom_scrape *s = scrape_of(t);
    lh_prom_selector *f = NULL;
    if (filter)
        CU_ASSERT_EQUAL_FATAL(
            lh_prom_selector_parse(filter, &f, why, sizeof why), 0);
    why[0] = '\0';
    int rc = lh_prom_stages_read(s, f, st, why, sizeof why);
    lh_prom_selector_free(f);
    lh_prom_free(s);
    return rc;
}

static void test_promsel_reads_the_stages_a_service_runs(void)
{
    lh_prom_stages st;
    CU_ASSERT_EQUAL(stages_of("up 1\n", NULL, &st), 0);
    CU_ASSERT_EQUAL(st.state, LH_PROM_STAGES_ABSENT);
    CU_ASSERT_EQUAL(st.nseries, 0);
    CU_ASSERT_EQUAL(stages_of("# TYPE leakhunt_stages gauge\n"
                              "leakhunt_stages{stages=\"hash,verify\"} 1\n",
                              NULL, &st),
                    0);
    CU_ASSERT_EQUAL(st.state, LH_PROM_STAGES_AGREED);
    CU_ASSERT_STRING_EQUAL(st.list, "hash,verify");
    /* several processes, the same set in another order; old lists at 0 */
    CU_ASSERT_EQUAL(stages_of("leakhunt_stages{node=\"b0\",stages=\"a,b\"} 1\n"
                              "leakhunt_stages{node=\"b0\",stages=\"a\"} 0\n"
                              "leakhunt_stages{node=\"b1\",stages=\"b,a\"} 1\n",
                              NULL, &st),
                    0);
    CU_ASSERT_EQUAL(st.state, LH_PROM_STAGES_AGREED);
    CU_ASSERT_EQUAL(st.nseries, 2);
    /* a switch under way */
    CU_ASSERT_EQUAL(stages_of("leakhunt_stages{node=\"b0\",stages=\"a\"} 1\n"
                              "leakhunt_stages{node=\"b1\",stages=\"a,b\"} 1\n",
                              NULL, &st),
                    0);
    CU_ASSERT_EQUAL(st.state, LH_PROM_STAGES_MIXED);
    CU_ASSERT_STRING_EQUAL(st.list, "a");
    CU_ASSERT_STRING_EQUAL(st.other, "a,b");
    /* none: "-" or "" */
    CU_ASSERT_EQUAL(stages_of("leakhunt_stages{stages=\"-\"} 1\n"
                              "leakhunt_stages{stages=\"\",n=\"2\"} 1\n",
                              NULL, &st),
                    0);
    CU_ASSERT_EQUAL(st.state, LH_PROM_STAGES_AGREED);
    CU_ASSERT_STRING_EQUAL(st.list, "-");
    /* every series at 0: the service does not say */
    CU_ASSERT_EQUAL(stages_of("leakhunt_stages{stages=\"a\"} 0\n", NULL, &st),
                    0);
    CU_ASSERT_EQUAL(st.state, LH_PROM_STAGES_ABSENT);
    /* a filter: only role b's series count, under another name too */
    CU_ASSERT_EQUAL(stages_of("app_stages{role=\"a\",stages=\"x\"} 1\n"
                              "app_stages{role=\"b\",stages=\"y\"} 1\n",
                              "app_stages{role=\"b\"}", &st),
                    0);
    CU_ASSERT_EQUAL(st.state, LH_PROM_STAGES_AGREED);
    CU_ASSERT_STRING_EQUAL(st.list, "y");
}

static void test_promsel_refuses_stages_that_break_the_convention(void)
{
    lh_prom_stages st;
    static const struct {
        const char *text, *reason;
    } bad[] = {
        {"leakhunt_stages 1\n", "leakhunt_stages has no stages label"},
        {"leakhunt_stages{stages=\"a\"} 2\n", "is 2 (1 for the list run now"},
        {"leakhunt_stages{stages=\"a,a\"} 1\n", "'a,a' is not a stage list"},
        {"leakhunt_stages{stages=\"a,,b\"} 1\n", "is not a stage list"},
        {"leakhunt_stages{stages=\"a b\"} 1\n", "is not a stage list"},
        {"leakhunt_stages{stages=\"a,-\"} 1\n", "is not a stage list"},
        {"leakhunt_stages{stages=\"a,\"} 1\n", "is not a stage list"},
        {"leakhunt_stages{stages=\"abcdefghijabcdefghijabcdefghijab\"} 1\n",
         "is not a stage list"},
        {"# TYPE leakhunt_stages counter\nleakhunt_stages{stages=\"a\"} 1\n",
         "is a counter (the stages info metric is a gauge or untyped)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(stages_of(bad[i].text, NULL, &st), LH_EPARSE);
        CU_ASSERT(says(bad[i].reason));
    }
    /* 31 characters is the longest name */
    CU_ASSERT_EQUAL(stages_of("leakhunt_stages{stages="
                              "\"abcdefghijabcdefghijabcdefghija\"} 1\n",
                              NULL, &st),
                    0);
}

static void test_promsel_survives_allocation_failures(void)
{
    int failures = 0;
    for (long n = 0; n < 50; n++) {
        lh_prom_selector *x = NULL;
        lh_alloc_fail_after(n, 0);
        int rc = lh_prom_selector_parse("up{a=\"1\"}", &x, why, sizeof why);
        lh_alloc_fail_after(-1, 0);
        if (rc == 0) {
            lh_prom_selector_free(x);
            break;
        }
        CU_ASSERT_EQUAL(rc, LH_ENOMEM);
        CU_ASSERT_PTR_NULL(x);
        failures++;
    }
    CU_ASSERT(failures >= 3);
}

static CU_TestInfo tests[] = {
    {"selects exactly one series", test_promsel_selects_exactly_one_series},
    {"names the series when several match",
     test_promsel_names_the_series_when_several_match},
    {"sums the series sum selects", test_promsel_sums_the_series_sum_selects},
    {"names the metric when none matches",
     test_promsel_names_the_metric_when_none_matches},
    {"work metric must be a counter",
     test_promsel_work_metric_must_be_a_counter},
    {"memory metric must be a gauge",
     test_promsel_memory_metric_must_be_a_gauge},
    {"refuses bad selectors", test_promsel_refuses_bad_selectors},
    {"reads the stages a service runs",
     test_promsel_reads_the_stages_a_service_runs},
    {"refuses stages that break the convention",
     test_promsel_refuses_stages_that_break_the_convention},
    {"survives allocation failures", test_promsel_survives_allocation_failures},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("promsel", tests)
