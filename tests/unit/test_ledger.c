/*
 * test_ledger.c - the event ledger (stages/ledger.h): records by (key,
 * version), loss and duplicates on merge, what a killed writer leaves.
 */
#include "cu_main.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "ledger.h"

static char dir[64];

static void fresh_dir(void)
{
    if (dir[0]) {
        lh_ledger_remove(dir);
        rmdir(dir);
    }
    snprintf(dir, sizeof dir, "%s", "/tmp/lh-test-ledger.XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
}

static void add(lh_ledger *l, const char *key, uint64_t version, int kind)
{
    CU_ASSERT_EQUAL(lh_ledger_add(l, (const uint8_t *)key, strlen(key),
                                  version, kind), 0);
}

static lh_ledger *open_role(const char *role)
{
    lh_ledger *l = NULL;
    CU_ASSERT_EQUAL_FATAL(lh_ledger_open(dir, role, &l), 0);
    return l;
}

/* One record: a (key, version) pair and what happened to it. */
typedef struct rec {
    const char *key;
    uint64_t version;
    int kind;
} rec;

enum {
    PRODUCED = LH_LEDGER_PRODUCED,
    VERIFIED = LH_LEDGER_VERIFIED,
    PASSED = LH_LEDGER_PASSED,
    FAILED = LH_LEDGER_FAILED,
    DROPPED = LH_LEDGER_DROPPED,
};

/* Writes the ledger file of `role`: recs up to the one without a key. */
static void write_role(const char *role, const rec *recs)
{
    lh_ledger *l = open_role(role);
    for (; recs->key; recs++)
        add(l, recs->key, recs->version, recs->kind);
    CU_ASSERT_EQUAL(lh_ledger_close(l), 0);
}

static void merge(lh_ledger_sum *s)
{
    memset(s, 0xff, sizeof *s);
    CU_ASSERT_EQUAL_FATAL(lh_ledger_merge(dir, s, NULL, 0), 0);
}

/* The merge's count of pairs: produced, finished, lost, finished more than
 * once, finished but never produced. */
static void expect_pairs(const lh_ledger_sum *s, uint64_t produced,
                         uint64_t finished, uint64_t lost, uint64_t dups,
                         uint64_t unknown)
{
    CU_ASSERT_EQUAL(s->produced, produced);
    CU_ASSERT_EQUAL(s->finished, finished);
    CU_ASSERT_EQUAL(s->lost, lost);
    CU_ASSERT_EQUAL(s->duplicates, dups);
    CU_ASSERT_EQUAL(s->unknown, unknown);
}

static void test_ledger_merge_counts_lost_and_duplicates_by_pair(void)
{
    static const rec produce[] = {{"k1", 1, PRODUCED}, {"k1", 2, PRODUCED},
                                  {"k2", 1, PRODUCED}, {"k3", 1, PRODUCED},
                                  {NULL, 0, 0}};
    /* k1 v1 finished twice (two B instances), k2 v1 once; k1 v2 (same key,
     * other version) and k3 v1 never. */
    static const rec b0[] = {{"k1", 1, VERIFIED}, {NULL, 0, 0}};
    static const rec b1[] = {{"k1", 1, VERIFIED}, {"k2", 1, PASSED},
                             {NULL, 0, 0}};
    lh_ledger_sum s;
    fresh_dir();
    write_role("produce", produce);
    write_role("b0", b0);
    write_role("b1", b1);
    merge(&s);
    CU_ASSERT_EQUAL(s.files, 3);
    CU_ASSERT_EQUAL(s.records, 7);
    expect_pairs(&s, 4, 2, 2, 1, 0);
    CU_ASSERT_EQUAL(s.failed, 0);
    CU_ASSERT_EQUAL(s.truncated, 0);
}

static void test_ledger_failed_only_is_lost_and_dropped_is_finished(void)
{
    static const rec produce[] = {{"a", 7, PRODUCED}, {"b", 7, PRODUCED},
                                  {"c", 7, PRODUCED}, {NULL, 0, 0}};
    static const rec b0[] = {
        {"a", 7, FAILED},   /* only failed: lost */
        {"b", 7, FAILED},   /* failed, then verified: */
        {"b", 7, VERIFIED}, /* finished, no duplicate */
        {NULL, 0, 0},
    };
    static const rec a[] = {
        {"c", 7, DROPPED},  /* forward off: finished */
        {"zz", 1, DROPPED}, /* never produced */
        {NULL, 0, 0},
    };
    lh_ledger_sum s;
    fresh_dir();
    write_role("produce", produce);
    write_role("b0", b0);
    write_role("a", a);
    merge(&s);
    expect_pairs(&s, 3, 2, 1, 0, 1);
    CU_ASSERT_EQUAL(s.failed, 1);
}

static void test_ledger_long_keys_differing_at_the_end_stay_apart(void)
{
    char k1[41], k2[41];
    lh_ledger_sum s;
    memset(k1, 'x', 40);
    k1[40] = '\0';
    memcpy(k2, k1, sizeof k2);
    k2[39] = 'y';
    fresh_dir();
    write_role("produce", (const rec[]){{k1, 1, PRODUCED},
                                        {k2, 1, PRODUCED},
                                        {NULL, 0, 0}});
    write_role("b0", (const rec[]){{k1, 1, VERIFIED}, {NULL, 0, 0}});
    merge(&s);
    expect_pairs(&s, 2, 1, 1, 0, 0);
}

/* A child writes n records, flushes after `flushed` of them, and is
 * killed (SIGKILL) with the rest still buffered. */
static void killed_writer(unsigned n, unsigned flushed)
{
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        lh_ledger *l = NULL;
        char key[16];
        if (lh_ledger_open(dir, "b0", &l) != 0)
            _exit(1);
        for (unsigned i = 0; i < n; i++) {
            snprintf(key, sizeof key, "k%u", i);
            lh_ledger_add(l, (const uint8_t *)key, strlen(key), 1,
                          LH_LEDGER_VERIFIED);
            if (i + 1 == flushed)
                lh_ledger_flush(l);
        }
        kill(getpid(), SIGKILL);
        _exit(1);
    }
    int st = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
    CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static void test_ledger_flushed_records_survive_sigkill_and_buffered_do_not(
    void)
{
    lh_ledger_sum s;
    fresh_dir();
    killed_writer(100, 60);
    merge(&s);
    CU_ASSERT_EQUAL(s.files, 1);
    CU_ASSERT_EQUAL(s.records, 60);
    CU_ASSERT_EQUAL(s.unknown, 60); /* nobody produced them here */
    /* A full buffer goes to the file without an explicit flush. */
    fresh_dir();
    killed_writer(5000, 0);
    merge(&s);
    CU_ASSERT(s.records >= 2048 && s.records < 5000);
    CU_ASSERT_EQUAL(s.records % 2048, 0);
}

static void test_ledger_partial_tail_is_ignored_and_counted(void)
{
    lh_ledger_sum s;
    char path[128];
    fresh_dir();
    write_role("b0", (const rec[]){{"k", 1, VERIFIED},
                                   {"k", 2, VERIFIED},
                                   {NULL, 0, 0}});
    snprintf(path, sizeof path, "%s/b0.%ld.led", dir, (long)getpid());
    FILE *f = fopen(path, "ab");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite("12345", 1, 5, f);
    fclose(f);
    /* A file killed before its header: empty, ignored. */
    snprintf(path, sizeof path, "%s/b1.1.led", dir);
    f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    merge(&s);
    CU_ASSERT_EQUAL(s.records, 2);
    CU_ASSERT_EQUAL(s.truncated, 1);
    CU_ASSERT_EQUAL(s.files, 2);
}

static void test_ledger_foreign_file_is_refused_and_sum_unchanged(void)
{
    lh_ledger_sum s;
    char path[128];
    fresh_dir();
    snprintf(path, sizeof path, "%s/stray.led", dir);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int i = 0; i < 64; i++)
        fputc('x', f);
    fclose(f);
    memset(&s, 0x5a, sizeof s);
    CU_ASSERT_EQUAL(lh_ledger_merge(dir, &s, NULL, 0), LH_EBADMAGIC);
    CU_ASSERT_EQUAL(s.records, 0x5a5a5a5a5a5a5a5aull);
    CU_ASSERT_EQUAL(lh_ledger_merge("/nonexistent/ledger", &s, NULL, 0),
                    LH_ENOTFOUND);
}

static void test_ledger_report_names_lost_pairs(void)
{
    lh_ledger_sum s;
    char text[256] = {0};
    fresh_dir();
    write_role("produce", (const rec[]){{"k00000042", 3, PRODUCED},
                                        {NULL, 0, 0}});
    FILE *f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(lh_ledger_merge(dir, &s, f, 5), 0);
    rewind(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    CU_ASSERT(n > 0);
    CU_ASSERT_STRING_EQUAL(text, "lost k00000042 v3\n");
}

static void test_ledger_open_refuses_bad_roles_and_bad_kinds(void)
{
    lh_ledger *l = NULL;
    fresh_dir();
    CU_ASSERT_EQUAL(lh_ledger_open(dir, "", &l), LH_EINVAL);
    CU_ASSERT_EQUAL(lh_ledger_open(dir, "../x", &l), LH_EINVAL);
    CU_ASSERT_EQUAL(lh_ledger_open(dir, "b.0", &l), LH_EINVAL);
    CU_ASSERT_PTR_NULL(l);
    CU_ASSERT_EQUAL(lh_ledger_open("/nonexistent/ledger", "b0", &l), LH_ESYS);
    l = open_role("b0");
    /* One file per process instance: the same role again is refused. */
    lh_ledger *again = NULL;
    CU_ASSERT_EQUAL(lh_ledger_open(dir, "b0", &again), LH_ESYS);
    CU_ASSERT_EQUAL(lh_ledger_add(l, (const uint8_t *)"k", 1, 1, 0),
                    LH_EINVAL);
    CU_ASSERT_EQUAL(lh_ledger_add(l, (const uint8_t *)"k", 1, 1, 6),
                    LH_EINVAL);
    CU_ASSERT_EQUAL(lh_ledger_errors(l), 0);
    lh_ledger_close(l);
    CU_ASSERT_EQUAL(lh_ledger_close(NULL), 0);
    CU_ASSERT_EQUAL(lh_ledger_flush(NULL), 0);
}

static void test_ledger_allocation_failures_leave_nothing_behind(void)
{
    lh_ledger *l = NULL;
    lh_ledger_sum s;
    fresh_dir();
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_ledger_open(dir, "b0", &l), LH_ENOMEM);
    CU_ASSERT_PTR_NULL(l);
    merge(&s);
    CU_ASSERT_EQUAL(s.files, 0); /* no file was created */
    write_role("b0", (const rec[]){{"k", 1, VERIFIED}, {NULL, 0, 0}});
    memset(&s, 0x5a, sizeof s);
    lh_alloc_fail_after(0, 1);
    CU_ASSERT_EQUAL(lh_ledger_merge(dir, &s, NULL, 0), LH_ENOMEM);
    lh_alloc_fail_after(-1, 0);
    CU_ASSERT_EQUAL(s.records, 0x5a5a5a5a5a5a5a5aull);
}

static void test_ledger_remove_deletes_only_ledger_files(void)
{
    char path[128];
    fresh_dir();
    lh_ledger_close(open_role("b0"));
    snprintf(path, sizeof path, "%s/b0.cnt", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    CU_ASSERT_EQUAL(lh_ledger_remove(dir), 0);
    lh_ledger_sum s;
    merge(&s);
    CU_ASSERT_EQUAL(s.files, 0);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    unlink(path);
    lh_ledger_remove(dir);
    rmdir(dir);
    dir[0] = '\0';
}

static CU_TestInfo tests[] = {
    {"merge counts lost and duplicates by pair",
     test_ledger_merge_counts_lost_and_duplicates_by_pair},
    {"failed only is lost, dropped is finished",
     test_ledger_failed_only_is_lost_and_dropped_is_finished},
    {"long keys differing at the end stay apart",
     test_ledger_long_keys_differing_at_the_end_stay_apart},
    {"flushed records survive SIGKILL, buffered do not",
     test_ledger_flushed_records_survive_sigkill_and_buffered_do_not},
    {"partial tail ignored and counted",
     test_ledger_partial_tail_is_ignored_and_counted},
    {"foreign file refused, sum unchanged",
     test_ledger_foreign_file_is_refused_and_sum_unchanged},
    {"report names lost pairs", test_ledger_report_names_lost_pairs},
    {"open refuses bad roles and kinds",
     test_ledger_open_refuses_bad_roles_and_bad_kinds},
    {"allocation failures leave nothing behind",
     test_ledger_allocation_failures_leave_nothing_behind},
    {"remove deletes only ledger files",
     test_ledger_remove_deletes_only_ledger_files},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("ledger", tests)
