/*
 * test_sampler.c - the sampler on real files: malformed stats lines
 * counted and the first quoted (printable, cut), lines written in pieces,
 * the heap log of the heap tool's shim taking the place of heap= (and of
 * RSS for a process under a sanitizer), and the heap log's strict parser.
 * Processes are this test's own (getpid()), so the RSS read is real.
 */
#include "cu_main.h"

#include "alloc.h"
#include "error.h"
#include "heaplog.h"
#include "sampler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char stats[128], heaplog[128];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/lh-test-sampler.XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(stats, sizeof stats, "%s/stats.log", dir);
    snprintf(heaplog, sizeof heaplog, "%s/%s", dir, LH_HEAPLOG_LIVE);
}

static void teardown(void)
{
    unlink(stats);
    unlink(heaplog);
    rmdir(dir);
}

/* Appends text to the file at path. */
static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* One sample after the given stats text (NULL: none written). */
static lh_sample take(lh_sampler *s, lh_series *v)
{
    CU_ASSERT_EQUAL_FATAL(lh_sampler_take(s, v), 0);
    return v->v[v->n - 1];
}

static void test_sampler_counts_malformed_lines_and_quotes_the_first(void)
{
    setup();
    lh_sampler *s = NULL;
    lh_series v = {0};
    CU_ASSERT_EQUAL_FATAL(lh_sampler_new(stats, getpid(), &s), 0);
    CU_ASSERT_STRING_EQUAL(lh_sampler_first_bad_line(s), "");
    append(stats, "work=10 heap=100\n"
                  "heap=5 work=3\n"  /* work not first */
                  "work=abc\n"       /* not a number */
                  "work=11 heap=101\n");
    lh_sample x = take(s, &v);
    CU_ASSERT_EQUAL(lh_sampler_bad_lines(s), 2);
    CU_ASSERT_STRING_EQUAL(lh_sampler_first_bad_line(s), "heap=5 work=3");
    CU_ASSERT(lh_sampler_reported(s));
    CU_ASSERT_DOUBLE_EQUAL(x.work, 11, 0);
    CU_ASSERT_DOUBLE_EQUAL(x.heap, 101, 0);
    lh_series_free(&v);
    lh_sampler_free(s);
    teardown();
}

static void test_sampler_quote_is_printable_and_cut(void)
{
    setup();
    lh_sampler *s = NULL;
    lh_series v = {0};
    CU_ASSERT_EQUAL_FATAL(lh_sampler_new(stats, getpid(), &s), 0);
    char line[300];
    memset(line, 'x', sizeof line);
    memcpy(line, "wo\trk\x01=", 7);
    line[sizeof line - 2] = '\n';
    line[sizeof line - 1] = '\0';
    append(stats, line);
    take(s, &v);
    const char *q = lh_sampler_first_bad_line(s);
    CU_ASSERT_EQUAL(lh_sampler_bad_lines(s), 1);
    CU_ASSERT_EQUAL(strlen(q), LH_SAMPLER_QUOTE_MAX - 1);
    CU_ASSERT_NSTRING_EQUAL(q, "wo?rk?=xx", 9);
    CU_ASSERT_STRING_EQUAL(q + strlen(q) - 3, "...");
    CU_ASSERT(!lh_sampler_reported(s));
    lh_series_free(&v);
    lh_sampler_free(s);
    teardown();
}

/* A line over the sampler's buffer is one malformed line, however long,
 * and the lines after it are read. */
static void test_sampler_overlong_line_counts_once(void)
{
    setup();
    lh_sampler *s = NULL;
    lh_series v = {0};
    CU_ASSERT_EQUAL_FATAL(lh_sampler_new(stats, getpid(), &s), 0);
    char *big = lh_calloc(5001, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, '7', 5000);
    memcpy(big, "work=", 5);
    append(stats, big);
    append(stats, "\nwork=42\n");
    lh_sample x = take(s, &v);
    CU_ASSERT_EQUAL(lh_sampler_bad_lines(s), 1);
    CU_ASSERT_NSTRING_EQUAL(lh_sampler_first_bad_line(s), "work=777", 8);
    CU_ASSERT_DOUBLE_EQUAL(x.work, 42, 0);
    lh_free(big);
    lh_series_free(&v);
    lh_sampler_free(s);
    teardown();
}

/* A line written in two pieces is read once it is whole. */
static void test_sampler_partial_line_waits(void)
{
    setup();
    lh_sampler *s = NULL;
    lh_series v = {0};
    CU_ASSERT_EQUAL_FATAL(lh_sampler_new(stats, getpid(), &s), 0);
    append(stats, "work=5 hea");
    take(s, &v);
    CU_ASSERT(!lh_sampler_reported(s));
    append(stats, "p=9\n");
    lh_sample x = take(s, &v);
    CU_ASSERT_EQUAL(lh_sampler_bad_lines(s), 0);
    CU_ASSERT_DOUBLE_EQUAL(x.work, 5, 0);
    CU_ASSERT_DOUBLE_EQUAL(x.heap, 9, 0);
    lh_series_free(&v);
    lh_sampler_free(s);
    teardown();
}

/* Under the heap tool, a process's heap is tcmalloc's count from the heap
 * log, not its heap= (mallinfo2 under tcmalloc: flat); a process the log
 * does not name keeps its own figure. */
static void test_sampler_heap_log_replaces_heap_field(void)
{
    setup();
    lh_sampler *s = NULL;
    lh_series v = {0};
    CU_ASSERT_EQUAL_FATAL(lh_sampler_new(stats, getpid(), &s), 0);
    CU_ASSERT_EQUAL_FATAL(lh_sampler_heap_log(s, heaplog), 0);
    append(stats, "work=10 heap=7 pid=101\nwork=20 heap=8 pid=102\n");
    lh_sample x = take(s, &v);
    CU_ASSERT_DOUBLE_EQUAL(x.heap, 15, 0); /* no log line yet */
    append(heaplog, "pid=101 heap=5000 from=tcmalloc\n"
                    "pid=999 heap=1 from=tcmalloc\n"); /* not measured */
    x = take(s, &v);
    CU_ASSERT_DOUBLE_EQUAL(x.heap, 5008, 0);
    append(heaplog, "pid=101 heap=6000 from=tcmalloc\n");
    append(stats, "work=11 heap=7 pid=101\n");
    x = take(s, &v);
    CU_ASSERT_DOUBLE_EQUAL(x.heap, 6008, 0);
    CU_ASSERT_DOUBLE_EQUAL(x.work, 31, 0);
    CU_ASSERT(lh_sampler_has_heap(s));
    lh_series_free(&v);
    lh_sampler_free(s);
    teardown();
}

/* tcmalloc's count alone does not make the heap the signal of a program
 * that reported none; a sanitizer's does (its RSS grows with the
 * quarantine), also for a program measured by time. */
static void test_sampler_sanitizer_heap_is_the_signal(void)
{
    setup();
    pid_t me = getpid();
    char line[96];
    lh_sampler *s = NULL;
    lh_series v = {0};
    CU_ASSERT_EQUAL_FATAL(lh_sampler_new(stats, me, &s), 0);
    CU_ASSERT_EQUAL_FATAL(lh_sampler_heap_log(s, heaplog), 0);
    snprintf(line, sizeof line, "pid=%d heap=777 from=tcmalloc\n", (int)me);
    append(heaplog, line);
    lh_sample x = take(s, &v);
    CU_ASSERT(!lh_sampler_has_heap(s));
    CU_ASSERT(x.rss > 0);
    snprintf(line, sizeof line, "pid=%d heap=4242 from=sanitizer\n", (int)me);
    append(heaplog, line);
    x = take(s, &v);
    CU_ASSERT(lh_sampler_has_heap(s));
    CU_ASSERT_DOUBLE_EQUAL(x.heap, 4242, 0);
    CU_ASSERT(!lh_sampler_reported(s)); /* measured by time */
    lh_series_free(&v);
    lh_sampler_free(s);
    teardown();
}

/* Lines without pid= are the target's main process (the fallback pid):
 * its count from the heap log stands for their heap=; not added when
 * every line names its pid. */
static void test_sampler_heap_log_for_lines_without_pid(void)
{
    setup();
    lh_sampler *s = NULL;
    lh_series v = {0};
    CU_ASSERT_EQUAL_FATAL(lh_sampler_new(stats, 4321, &s), 0);
    CU_ASSERT_EQUAL_FATAL(lh_sampler_heap_log(s, heaplog), 0);
    append(heaplog, "pid=4321 heap=900 from=tcmalloc\n");
    append(stats, "work=3 heap=1 pid=77\n");
    lh_sample x = take(s, &v);
    CU_ASSERT_DOUBLE_EQUAL(x.heap, 1, 0);
    append(stats, "work=4 heap=2\n");
    x = take(s, &v);
    CU_ASSERT_DOUBLE_EQUAL(x.heap, 901, 0);
    lh_series_free(&v);
    lh_sampler_free(s);
    teardown();
}

static void test_heaplog_parse_is_strict(void)
{
    lh_heaplog_line l;
    const char *ok = "pid=12 heap=34 from=sanitizer\n";
    CU_ASSERT_EQUAL(lh_heaplog_parse(ok, strlen(ok), &l), 0);
    CU_ASSERT_EQUAL(l.pid, 12);
    CU_ASSERT_EQUAL(l.heap, 34);
    CU_ASSERT_EQUAL(l.sanitizer, 1);
    const char *bad[] = {
        "pid=12 heap=34 from=sanitizer",    /* no newline */
        "pid=12 heap=34 from=glibc\n",      /* unknown allocator */
        "pid=0 heap=34 from=tcmalloc\n",    /* no pid 0 */
        "pid=12 heap=-1 from=tcmalloc\n",   /* sign */
        "pid=12  heap=1 from=tcmalloc\n",   /* two spaces */
        "heap=1 pid=12 from=tcmalloc\n",    /* order */
        "pid=12 heap=1 from=tcmalloc x\n",  /* trailing */
        "pid=99999999999 heap=1 from=tcmalloc\n",
        "pid=1 heap=1234567890123456789012 from=tcmalloc\n",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(lh_heaplog_parse(bad[i], strlen(bad[i]), &l),
                        LH_EPARSE);
}

static CU_TestInfo tests[] = {
    {"malformed lines counted, the first quoted",
     test_sampler_counts_malformed_lines_and_quotes_the_first},
    {"quote printable and cut", test_sampler_quote_is_printable_and_cut},
    {"an over-long line counts once", test_sampler_overlong_line_counts_once},
    {"a partial line waits", test_sampler_partial_line_waits},
    {"heap log replaces heap=", test_sampler_heap_log_replaces_heap_field},
    {"a sanitizer's heap is the signal",
     test_sampler_sanitizer_heap_is_the_signal},
    {"heap log for lines without pid",
     test_sampler_heap_log_for_lines_without_pid},
    {"heap log parser strict", test_heaplog_parse_is_strict},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("sampler", tests)
