/*
 * test_promtext.c - the Prometheus text format parser (promtext.c): a
 * whole exposition of every type, the escapes, values and timestamps at
 * their edges, blank lines, CRLF and comments; and each way a body is not
 * the format refused with the line and the reason, leaving *out as it
 * was; every allocation failure handled without a leak; and the recorded
 * output of real exporters (tests/fixtures/prom).
 */
#include "cu_main.h"

#include "alloc.h"
#include "error.h"
#include "promtext.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static char why[512];

static lh_prom_scrape *parse_ok(const char *text)
{
    lh_prom_scrape *s = NULL;
    why[0] = '\0';
    int rc = lh_prom_parse(text, strlen(text), &s, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "unexpected refusal: %s\n", why);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

/* Parses text that must be refused; 1 when why contains `reason`. */
static int refused(const char *text, const char *reason)
{
    lh_prom_scrape *s = (lh_prom_scrape *)&why; /* must stay untouched */
    why[0] = '\0';
    int rc = lh_prom_parse(text, strlen(text), &s, why, sizeof why);
    CU_ASSERT_EQUAL(rc, LH_EPARSE);
    CU_ASSERT_PTR_EQUAL(s, (lh_prom_scrape *)&why);
    if (strstr(why, reason) == NULL) {
        fprintf(stderr, "expected '%s' in '%s'\n", reason, why);
        return 0;
    }
    return 1;
}

/* Input that must be refused, and what the message must say. */
typedef struct bad_case {
    const char *text, *reason;
} bad_case;

#define REFUSE_EACH(cases) refuse_each(cases, sizeof cases / sizeof cases[0])

static void refuse_each(const bad_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        CU_ASSERT(refused(c[i].text, c[i].reason));
}

static const lh_prom_sample *find(const lh_prom_scrape *s, const char *name,
                                  size_t nth)
{
    for (size_t i = 0; i < s->nsamples; i++)
        if (strcmp(s->samples[i].name, name) == 0 && nth-- == 0)
            return &s->samples[i];
    return NULL;
}

static const char whole[] =
    "# HELP http_requests_total The total number of HTTP requests.\n"
    "# TYPE http_requests_total counter\n"
    "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
    "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
    "\n"
    "# A normal comment.\n"
    "#\n"
    "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error="
    "\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
    "metric_without_timestamp_and_labels 12.47\n"
    "something_weird{problem=\"division by zero\"} +Inf -3982045\n"
    "# HELP http_request_duration_seconds A histogram.\n"
    "# TYPE http_request_duration_seconds histogram\n"
    "http_request_duration_seconds_bucket{le=\"0.05\"} 24054\n"
    "http_request_duration_seconds_bucket{le=\"+Inf\"} 144320\n"
    "http_request_duration_seconds_sum 53423\n"
    "http_request_duration_seconds_count 144320\n"
    "# TYPE rpc_duration_seconds summary\n"
    "rpc_duration_seconds{quantile=\"0.5\"} 4773\n"
    "rpc_duration_seconds_sum 1.7560473e+07\n"
    "rpc_duration_seconds_count 2693\n"
    "# TYPE temperature gauge\n"
    "temperature -12.5\n"
    "# TYPE jobs counter\n"
    "jobs_total 42\n";

static void test_promtext_parses_every_type_and_part(void)
{
    lh_prom_scrape *s = parse_ok(whole);
    CU_ASSERT_EQUAL(s->nsamples, 14);
    const lh_prom_sample *x = find(s, "http_requests_total", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_EQUAL(lh_prom_sample_type(s, x), LH_PROM_COUNTER);
    CU_ASSERT_DOUBLE_EQUAL(x->value, 3, 0);
    CU_ASSERT(x->has_timestamp);
    CU_ASSERT_EQUAL(x->timestamp_ms, 1395066363000LL);
    CU_ASSERT_EQUAL(x->line, 4);
    /* labels sorted by name */
    CU_ASSERT_EQUAL_FATAL(x->nlabels, 2);
    CU_ASSERT_STRING_EQUAL(x->labels[0].name, "code");
    CU_ASSERT_STRING_EQUAL(x->labels[1].value, "post");
    x = find(s, "something_weird", 0);
    CU_ASSERT(isinf(x->value) && x->value > 0);
    CU_ASSERT_EQUAL(x->timestamp_ms, -3982045);
    x = find(s, "metric_without_timestamp_and_labels", 0);
    CU_ASSERT_EQUAL(lh_prom_sample_type(s, x), LH_PROM_UNTYPED);
    CU_ASSERT(!x->has_timestamp);
    CU_ASSERT_EQUAL(x->nlabels, 0);
    x = find(s, "http_request_duration_seconds_bucket", 1);
    CU_ASSERT_EQUAL(lh_prom_sample_type(s, x), LH_PROM_HISTOGRAM);
    CU_ASSERT_EQUAL(x->part, LH_PROM_BUCKET);
    CU_ASSERT_STRING_EQUAL(lh_prom_label_value(x, "le"), "+Inf");
    x = find(s, "http_request_duration_seconds_count", 0);
    CU_ASSERT_EQUAL(x->part, LH_PROM_COUNT);
    x = find(s, "rpc_duration_seconds", 0);
    CU_ASSERT_EQUAL(lh_prom_sample_type(s, x), LH_PROM_SUMMARY);
    CU_ASSERT_EQUAL(x->part, LH_PROM_PLAIN);
    CU_ASSERT_EQUAL(find(s, "rpc_duration_seconds_sum", 0)->part, LH_PROM_SUM);
    CU_ASSERT_DOUBLE_EQUAL(find(s, "temperature", 0)->value, -12.5, 0);
    /* A counter typed without _total, sampled with it. */
    x = find(s, "jobs_total", 0);
    CU_ASSERT_EQUAL(lh_prom_sample_type(s, x), LH_PROM_COUNTER);
    CU_ASSERT_EQUAL(x->part, LH_PROM_TOTAL);
    CU_ASSERT_STRING_EQUAL(s->families[x->family].name, "jobs");
    const lh_prom_family *f = lh_prom_family_of(s, "http_requests_total");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_STRING_EQUAL(f->help, "The total number of HTTP requests.");
    CU_ASSERT_EQUAL(f->type_line, 2);
    lh_prom_free(s);
}

static void test_promtext_unescapes_label_values_and_help(void)
{
    lh_prom_scrape *s =
        parse_ok("# HELP a Line one\\nback\\\\slash \"as is\"\n"
                 "a{v=\"back\\\\slash\",q=\"say \\\"hi\\\"\",n=\"one\\ntwo\","
                 "u=\"\xc3\xa9t\xc3\xa9 \xe2\x82\xac\",e=\"\"} 1\n");
    const lh_prom_sample *x = &s->samples[0];
    CU_ASSERT_STRING_EQUAL(lh_prom_label_value(x, "v"), "back\\slash");
    CU_ASSERT_STRING_EQUAL(lh_prom_label_value(x, "q"), "say \"hi\"");
    CU_ASSERT_STRING_EQUAL(lh_prom_label_value(x, "n"), "one\ntwo");
    CU_ASSERT_STRING_EQUAL(lh_prom_label_value(x, "u"),
                           "\xc3\xa9t\xc3\xa9 \xe2\x82\xac");
    CU_ASSERT_STRING_EQUAL(lh_prom_label_value(x, "e"), "");
    CU_ASSERT_PTR_NULL(lh_prom_label_value(x, "missing"));
    CU_ASSERT_STRING_EQUAL(s->families[0].help,
                           "Line one\nback\\slash \"as is\"");
    /* formatted back with the escapes */
    char buf[256];
    lh_prom_format_series(x, buf, sizeof buf);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "n=\"one\\ntwo\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "q=\"say \\\"hi\\\"\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "v=\"back\\\\slash\""));
    lh_prom_free(s);
}

static void test_promtext_reads_values_at_their_edges(void)
{
    static const struct {
        const char *text;
        double v;
    } ok[] = {
        {"1", 1},
        {"-3.5E+2", -350},
        {"1e-07", 1e-7},
        {".5", 0.5},
        {"5.", 5},
        {"+7", 7},
        {"0", 0},
        {"-0", 0},
        {"1.7976931348623157e308", 1.7976931348623157e308},
        {"1e-400", 0},
        {"Inf", INFINITY},
        {"+Inf", INFINITY},
        {"-Inf", -INFINITY},
        {"inf", INFINITY},
        {"Infinity", INFINITY},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "m %s\n", ok[i].text);
        lh_prom_scrape *s = parse_ok(line);
        if (isinf(ok[i].v)) {
            CU_ASSERT(s->samples[0].value == ok[i].v);
        } else {
            CU_ASSERT_DOUBLE_EQUAL(s->samples[0].value, ok[i].v, 1e-300);
        }
        lh_prom_free(s);
    }
    lh_prom_scrape *s = parse_ok("m NaN\nn nan\n");
    CU_ASSERT(isnan(s->samples[0].value) && isnan(s->samples[1].value));
    lh_prom_free(s);
    static const char *const bad[] = {"0x1p3",   "1_000", "+NaN", "1e",  "e5",
                                      "--1",     "1.2.3", ".",    "1e+", "12a",
                                      "infinit", "nanx",  "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "m %s\n", bad[i]);
        CU_ASSERT(refused(line, "line 1: m: '"));
        CU_ASSERT(refused(line, "is not a number"));
    }
    CU_ASSERT(refused("m 1e999\n", "out of range"));
    CU_ASSERT(refused("m -1e999\n", "out of range"));
    CU_ASSERT(refused("m\n", "m: no value"));
    CU_ASSERT(refused("m{a=\"b\"}\n", "m: no value"));
}

static void test_promtext_reads_timestamps_at_their_edges(void)
{
    lh_prom_scrape *s = parse_ok("a 1 9223372036854775807\n"
                                 "b 1 -9223372036854775808\n"
                                 "c 1 +5\n");
    CU_ASSERT_EQUAL(s->samples[0].timestamp_ms, INT64_MAX);
    CU_ASSERT_EQUAL(s->samples[1].timestamp_ms, INT64_MIN);
    CU_ASSERT_EQUAL(s->samples[2].timestamp_ms, 5);
    lh_prom_free(s);
    static const bad_case bad[] = {
        {"a 1 9223372036854775808\n", "is not a timestamp"},
        {"a 1 1.5\n", "'1.5' is not a timestamp"},
        {"a 1 -\n", "is not a timestamp"},
        {"a 1 2 3\n", "unexpected '3' after the timestamp"},
    };
    REFUSE_EACH(bad);
}

static void test_promtext_takes_blank_lines_crlf_blanks_and_comments(void)
{
    lh_prom_scrape *s = parse_ok("\n\r\n   \n\t\n"
                                 "  # TYPE g gauge\r\n"
                                 "#TYPE h gauge\n"
                                 "# HELPER is a comment, not HELP\n"
                                 "# EOF\n"
                                 "\tg \t{ a = \"x\" , b=\"y\", }\t2\t \r\n"
                                 "h{} 3\n"
                                 "i{a=\"1\",} 4\n");
    CU_ASSERT_EQUAL(s->nsamples, 3);
    const lh_prom_sample *g = find(s, "g", 0);
    CU_ASSERT_EQUAL(lh_prom_sample_type(s, g), LH_PROM_GAUGE);
    CU_ASSERT_EQUAL(g->nlabels, 2);
    CU_ASSERT_DOUBLE_EQUAL(g->value, 2, 0);
    CU_ASSERT_EQUAL(g->line, 9);
    CU_ASSERT_EQUAL(lh_prom_sample_type(s, find(s, "h", 0)), LH_PROM_GAUGE);
    CU_ASSERT_EQUAL(find(s, "h", 0)->nlabels, 0);
    CU_ASSERT_EQUAL(find(s, "i", 0)->nlabels, 1);
    lh_prom_free(s);
    /* nothing at all, or comments only */
    s = parse_ok("");
    CU_ASSERT_EQUAL(s->nsamples, 0);
    lh_prom_free(s);
    s = parse_ok("# just a comment\n\n");
    CU_ASSERT_EQUAL(s->nsamples, 0);
    lh_prom_free(s);
}

static void test_promtext_refuses_bad_names_and_labels(void)
{
    static const bad_case bad[] = {
        {"ok 1\n9lives 1\n", "line 2: expected a metric name"},
        {"a-b 1\n", "line 1: bad character in metric name"},
        {"a{9=\"x\"} 1\n", "expected a label name"},
        {"a{b:c=\"x\"} 1\n", "label b: expected '='"},
        {"a{b=x} 1\n", "label b: expected a quoted value"},
        {"a{b=\"x} 1\n", "without its closing quote"},
        {"a{b=\"x\\t\"} 1\n", "label b: invalid escape"},
        {"a{b=\"x\\\"} 1\n", "without its closing quote"},
        {"a{b=\"x\" c=\"y\"} 1\n", "expected ',' or '}'"},
        {"a{b=\"x\"\n", "expected ',' or '}'"},
        {"a{,} 1\n", "expected a label name"},
        {"a{b=\"1\",b=\"2\"} 1\n", "label b given twice"},
        {"a{__name__=\"x\"} 1\n", "__name__ is reserved"},
        {"a{b=\"\xff\"} 1\n", "label b: value is not valid UTF-8"},
        {"a{b=\"\xc0\xaf\"} 1\n", "not valid UTF-8"},
        {"a{b=\"\xed\xa0\x80\"} 1\n", "not valid UTF-8"},
        {"a{b=\"\xe2\x82\"} 1\n", "not valid UTF-8"},
    };
    REFUSE_EACH(bad);
}

static void test_promtext_refuses_bad_help_and_type_lines(void)
{
    static const bad_case bad[] = {
        {"# TYPE a gauge\n# TYPE a counter\n",
         "line 2: second TYPE line for a (first on line 1)"},
        {"a 1\n# TYPE a gauge\n",
         "line 2: TYPE line for a after its sample a (line 1)"},
        {"h_bucket{le=\"1\"} 1\n# TYPE h histogram\n",
         "TYPE line for h after its sample h_bucket (line 1)"},
        {"c_total 1\n# TYPE c counter\n", "after its sample c_total"},
        /* a sample already in one family, then typed as another */
        {"# TYPE h histogram\nh_bucket{le=\"1\"} 1\n# TYPE h_bucket gauge\n",
         "line 3: TYPE line for h_bucket after its sample h_bucket (line 2)"},
        {"# TYPE a gauges\n", "unknown type 'gauges'"},
        {"# TYPE a Gauge\n", "unknown type 'Gauge'"},
        {"# TYPE a gauge extra\n", "unexpected 'extra' after"},
        {"# TYPE a\n", "TYPE line for a without a type"},
        {"# TYPE\n", "TYPE line without a valid metric name"},
        {"# HELP 1a x\n", "HELP line without a valid metric name"},
        {"# HELP a{ x\n", "HELP line without"},
        {"# HELP a one\n# HELP a two\n", "line 2: second HELP line for a"},
        {"# HELP a bad \\t escape\n", "invalid escape"},
        {"# HELP a \xff\n", "not valid UTF-8"},
    };
    REFUSE_EACH(bad);
    /* a TYPE types only the names its type gives a family */
    lh_prom_scrape *s = parse_ok("# TYPE a_total gauge\na_total 1\n"
                                 "# TYPE a gauge\na 2\n");
    CU_ASSERT_EQUAL(lh_prom_sample_type(s, &s->samples[0]), LH_PROM_GAUGE);
    CU_ASSERT_STRING_EQUAL(s->families[s->samples[0].family].name, "a_total");
    lh_prom_free(s);
}

static void test_promtext_refuses_what_a_type_forbids(void)
{
    static const bad_case bad[] = {
        {"# TYPE h histogram\nh 1\n",
         "histogram h: sample h needs the suffix _bucket"},
        {"# TYPE h histogram\nh_bucket 1\n",
         "histogram h: sample h_bucket has no le label"},
        {"# TYPE h histogram\nh_bucket{le=\"x\"} 1\n",
         "h_bucket: label le=\"x\" is not a number"},
        {"# TYPE s summary\ns 1\n",
         "summary s: sample s has no quantile label"},
    };
    REFUSE_EACH(bad);
    /* the _sum and _count of either need no such label */
    lh_prom_scrape *s = parse_ok("# TYPE s summary\ns_sum 1\ns_count 2\n"
                                 "# TYPE h histogram\nh_sum 1\n");
    CU_ASSERT_EQUAL(s->nsamples, 3);
    lh_prom_free(s);
}

static void test_promtext_refuses_the_same_series_twice(void)
{
    CU_ASSERT(refused("a{x=\"1\",y=\"2\"} 1\nb 1\na{y=\"2\",x=\"1\"} 2\n",
                      "line 3: series a{x=\"1\",y=\"2\"} again (first on "
                      "line 1)"));
    CU_ASSERT(refused("a 1\na 2 100\n", "series a again"));
    /* different label sets, or a subset, are different series */
    lh_prom_scrape *s = parse_ok("a{x=\"1\"} 1\na{x=\"1\",y=\"2\"} 1\n"
                                 "a 1\na{x=\"2\"} 1\n");
    CU_ASSERT_EQUAL(s->nsamples, 4);
    lh_prom_free(s);
}

static void test_promtext_refuses_nul_and_a_cut_last_line(void)
{
    const char text[] = "a 1\nb \0 2\n";
    lh_prom_scrape *s = NULL;
    CU_ASSERT_EQUAL(lh_prom_parse(text, sizeof text - 1, &s, why, sizeof why),
                    LH_EPARSE);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "line 2: NUL byte"));
    CU_ASSERT(refused("a 1\nb 12", "line 2: no line feed at the end"));
    CU_ASSERT(refused("a 1\r", "line 1: no line feed"));
}

static void test_promtext_parses_series_designators(void)
{
    lh_prom_scrape *s = NULL;
    const char *t = "  up{job=\"a\\\"b\", instance=\"\"}  ";
    CU_ASSERT_EQUAL_FATAL(
        lh_prom_parse_series(t, strlen(t), &s, why, sizeof why), 0);
    CU_ASSERT_EQUAL(s->nsamples, 1);
    CU_ASSERT_STRING_EQUAL(s->samples[0].name, "up");
    CU_ASSERT_STRING_EQUAL(lh_prom_label_value(&s->samples[0], "job"), "a\"b");
    CU_ASSERT_STRING_EQUAL(lh_prom_label_value(&s->samples[0], "instance"), "");
    lh_prom_free(s);
    static const struct {
        const char *text, *reason;
    } bad[] = {
        {"", "expected a metric name"},
        {"up 1", "unexpected '1' after the series"},
        {"up{", "expected a label name"},
        {"up{a=\"1\"", "expected ',' or '}'"},
        {"up}", "bad character in metric name"},
        {"up{a=\"1\",a=\"2\"}", "label a given twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = NULL;
        CU_ASSERT_EQUAL(lh_prom_parse_series(bad[i].text, strlen(bad[i].text),
                                             &s, why, sizeof why),
                        LH_EPARSE);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_PTR_NOT_NULL(strstr(why, bad[i].reason));
        CU_ASSERT_PTR_NULL(strstr(why, "line "));
    }
}

static void test_promtext_formats_series_cut_to_fit(void)
{
    lh_prom_scrape *s = parse_ok("metric{label=\"a long value\"} 1\n");
    char buf[16];
    size_t n = lh_prom_format_series(&s->samples[0], buf, sizeof buf);
    CU_ASSERT_EQUAL(n, strlen(buf));
    CU_ASSERT(n < sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf + n - 3, "...");
    CU_ASSERT_EQUAL(strncmp(buf, "metric{", 7), 0);
    char tiny[2] = "x";
    CU_ASSERT_EQUAL(lh_prom_format_series(&s->samples[0], tiny, 2), 0);
    CU_ASSERT_STRING_EQUAL(tiny, "");
    lh_prom_free(s);
}

/* A long line of many labels, and many families: the pool bound holds
 * (names stored once), and the hash grows. */
static void test_promtext_handles_long_names_and_many_families(void)
{
    size_t cap = 2 << 20, n = 0;
    char *text = lh_malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    char name[300];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    n += (size_t)snprintf(text + n, cap - n, "# TYPE %s counter\n%s_total{",
                          name, name);
    for (int i = 0; i < 500; i++)
        n += (size_t)snprintf(text + n, cap - n, "l%d=\"v\",", i);
    n += (size_t)snprintf(text + n, cap - n, "} 1\n");
    for (int i = 0; i < 3000; i++)
        n += (size_t)snprintf(text + n, cap - n, "f%d_%s 1\n", i, name);
    lh_prom_scrape *s = NULL;
    CU_ASSERT_EQUAL_FATAL(lh_prom_parse(text, n, &s, why, sizeof why), 0);
    CU_ASSERT_EQUAL(s->nsamples, 3001);
    CU_ASSERT_EQUAL(s->samples[0].nlabels, 500);
    CU_ASSERT_EQUAL(s->samples[0].part, LH_PROM_TOTAL);
    CU_ASSERT_EQUAL(s->nfamilies, 3001);
    lh_prom_free(s);
    lh_free(text);
}

/* A fixture read whole (tests/fixtures/prom: recorded real output). */
static lh_prom_scrape *parse_fixture(const char *name)
{
    char path[512], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/prom/%s", LH_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    text = lh_malloc(1 << 20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    len = fread(text, 1, 1 << 20, f);
    fclose(f);
    lh_prom_scrape *s = NULL;
    int rc = lh_prom_parse(text, len, &s, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "%s refused: %s\n", name, why);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    lh_free(text);
    return s;
}

static void test_promtext_reads_real_exporters(void)
{
    /* node_exporter 1.5.0 (Go's client library) */
    lh_prom_scrape *s = parse_fixture("node_exporter-1.5.0.txt");
    CU_ASSERT_EQUAL(s->nsamples, 507);
    const lh_prom_sample *x = find(s, "go_gc_duration_seconds", 2);
    CU_ASSERT_EQUAL(lh_prom_sample_type(s, x), LH_PROM_SUMMARY);
    CU_ASSERT_STRING_EQUAL(lh_prom_label_value(x, "quantile"), "0.5");
    x = find(s, "node_cpu_seconds_total", 0);
    CU_ASSERT_EQUAL(lh_prom_sample_type(s, x), LH_PROM_COUNTER);
    CU_ASSERT_DOUBLE_EQUAL(find(s, "process_resident_memory_bytes", 0)->value,
                           1.523712e+07, 0);
    CU_ASSERT_STRING_EQUAL(
        lh_prom_label_value(find(s, "node_os_info", 0), "pretty_name"),
        "Debian GNU/Linux 12 (bookworm)");
    lh_prom_free(s);
    /* Python's prometheus_client 0.16.0: counters as *_total, Info, Enum,
     * a label value with every escape, a stages gauge with an old list */
    s = parse_fixture("python_client-0.16.0.txt");
    CU_ASSERT_EQUAL(s->nsamples, 45);
    x = find(s, "jobs_total", 0);
    CU_ASSERT_EQUAL(lh_prom_sample_type(s, x), LH_PROM_COUNTER);
    CU_ASSERT_STRING_EQUAL(lh_prom_label_value(x, "kind"), "a\"b\\c\nd");
    CU_ASSERT_EQUAL(lh_prom_sample_type(s, find(s, "lat_seconds_bucket", 0)),
                    LH_PROM_HISTOGRAM);
    CU_ASSERT_DOUBLE_EQUAL(find(s, "leakhunt_stages", 1)->value, 0, 0);
    lh_prom_free(s);
}

static void test_promtext_survives_every_allocation_failure(void)
{
    int failures = 0;
    for (long n = 0; n < 200; n++) {
        lh_prom_scrape *s = NULL;
        lh_alloc_fail_after(n, 0);
        int rc = lh_prom_parse(whole, strlen(whole), &s, why, sizeof why);
        lh_alloc_fail_after(-1, 0);
        if (rc == 0) {
            CU_ASSERT_EQUAL(s->nsamples, 14);
            lh_prom_free(s);
            break;
        }
        CU_ASSERT_EQUAL(rc, LH_ENOMEM);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_STRING_EQUAL(why, "out of memory");
        failures++;
    }
    CU_ASSERT(failures > 5);
}

static CU_TestInfo tests[] = {
    {"parses every type and part", test_promtext_parses_every_type_and_part},
    {"unescapes label values and help",
     test_promtext_unescapes_label_values_and_help},
    {"reads values at their edges", test_promtext_reads_values_at_their_edges},
    {"reads timestamps at their edges",
     test_promtext_reads_timestamps_at_their_edges},
    {"takes blank lines, crlf, blanks and comments",
     test_promtext_takes_blank_lines_crlf_blanks_and_comments},
    {"refuses bad names and labels",
     test_promtext_refuses_bad_names_and_labels},
    {"refuses bad help and type lines",
     test_promtext_refuses_bad_help_and_type_lines},
    {"refuses what a type forbids", test_promtext_refuses_what_a_type_forbids},
    {"refuses the same series twice",
     test_promtext_refuses_the_same_series_twice},
    {"refuses nul and a cut last line",
     test_promtext_refuses_nul_and_a_cut_last_line},
    {"parses series designators", test_promtext_parses_series_designators},
    {"formats series cut to fit", test_promtext_formats_series_cut_to_fit},
    {"handles long names and many families",
     test_promtext_handles_long_names_and_many_families},
    {"reads real exporters", test_promtext_reads_real_exporters},
    {"survives every allocation failure",
     test_promtext_survives_every_allocation_failure},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("promtext", tests)
