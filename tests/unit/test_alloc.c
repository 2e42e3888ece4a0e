/*
 * test_alloc.c - the allocation wrapper and its fault injection.
 */
#include "cu_main.h"

#include "alloc.h"
#include "error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

static void test_alloc_fail_after_zero_fails_only_the_next_call(void)
{
    lh_alloc_fail_after(0, 0);
    void *a = lh_malloc(16);
    void *b = lh_malloc(16);
    CU_ASSERT_PTR_NULL(a);
    CU_ASSERT_PTR_NOT_NULL(b);
    lh_free(b);
}

static void test_alloc_fail_after_n_lets_n_calls_succeed_first(void)
{
    lh_alloc_fail_after(3, 0);
    void *p[5];
    for (int i = 0; i < 5; i++)
        p[i] = lh_malloc(8);
    CU_ASSERT_PTR_NOT_NULL(p[0]);
    CU_ASSERT_PTR_NOT_NULL(p[1]);
    CU_ASSERT_PTR_NOT_NULL(p[2]);
    CU_ASSERT_PTR_NULL(p[3]);
    CU_ASSERT_PTR_NOT_NULL(p[4]);
    for (int i = 0; i < 5; i++)
        lh_free(p[i]);
}

static void test_alloc_fail_after_counts_every_kind_of_allocation(void)
{
    /* malloc, calloc, realloc and strdup each take one step. */
    lh_alloc_fail_after(3, 0);
    void *m = lh_malloc(8);
    void *c = lh_calloc(2, 8);
    void *r = lh_realloc(NULL, 8);
    char *s = lh_strdup("x");
    CU_ASSERT_PTR_NOT_NULL(m);
    CU_ASSERT_PTR_NOT_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(r);
    CU_ASSERT_PTR_NULL(s);
    lh_free(m);
    lh_free(c);
    lh_free(r);
    lh_free(s);
}

static void test_alloc_sticky_fails_every_call_until_disarmed(void)
{
    lh_alloc_fail_after(1, 1);
    void *first = lh_malloc(8);
    CU_ASSERT_PTR_NOT_NULL(first);
    for (int i = 0; i < 10; i++) {
        CU_ASSERT_PTR_NULL(lh_malloc(8));
        CU_ASSERT_PTR_NULL(lh_calloc(1, 8));
        CU_ASSERT_PTR_NULL(lh_strdup("abc"));
    }
    lh_alloc_fail_after(-1, 0);
    void *after = lh_malloc(8);
    CU_ASSERT_PTR_NOT_NULL(after);
    lh_free(first);
    lh_free(after);
}

static void test_alloc_negative_disarms_a_pending_failure(void)
{
    lh_alloc_fail_after(0, 1);
    lh_alloc_fail_after(-5, 0);
    void *p = lh_malloc(8);
    CU_ASSERT_PTR_NOT_NULL(p);
    lh_free(p);
}

static void test_alloc_calls_counts_each_call_including_failures(void)
{
    unsigned long before = lh_alloc_calls();
    lh_alloc_fail_after(1, 0);
    void *a = lh_malloc(1);
    void *b = lh_malloc(1); /* fails, still counted */
    void *c = lh_calloc(1, 1);
    void *d = lh_realloc(c, 64);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_EQUAL(lh_alloc_calls() - before, 4);
    lh_free(a);
    lh_free(d ? d : c);
}

static void test_alloc_calloc_overflow_returns_null(void)
{
    CU_ASSERT_PTR_NULL(lh_calloc(SIZE_MAX / 2 + 1, 2));
    CU_ASSERT_PTR_NULL(lh_calloc(2, SIZE_MAX / 2 + 1));
    CU_ASSERT_PTR_NULL(lh_calloc(SIZE_MAX, SIZE_MAX));
}

static void test_alloc_calloc_zeroes_memory(void)
{
    unsigned char *p = lh_calloc(64, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int all_zero = 1;
    for (size_t i = 0; i < 256; i++)
        all_zero &= p[i] == 0;
    CU_ASSERT(all_zero);
    lh_free(p);
}

static void test_alloc_zero_sizes_return_freeable_memory(void)
{
    void *m = lh_malloc(0);
    void *c = lh_calloc(0, 8);
    void *c2 = lh_calloc(8, 0);
    CU_ASSERT_PTR_NOT_NULL(m);
    CU_ASSERT_PTR_NOT_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(c2);
    lh_free(m);
    lh_free(c);
    lh_free(c2);
}

static void test_alloc_realloc_failure_leaves_block_intact(void)
{
    char *p = lh_malloc(8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    memcpy(p, "abcdefg", 8);
    lh_alloc_fail_after(0, 0);
    char *q = lh_realloc(p, 4096);
    CU_ASSERT_PTR_NULL(q);
    CU_ASSERT_STRING_EQUAL(p, "abcdefg");
    q = lh_realloc(p, 4096);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_STRING_EQUAL(q, "abcdefg");
    lh_free(q);
}

static void test_alloc_strdup_copies_and_strndup_truncates(void)
{
    const char *src = "leak-hunt";
    char *d = lh_strdup(src);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_PTR_NOT_EQUAL(d, src);
    CU_ASSERT_STRING_EQUAL(d, src);
    char *n = lh_strndup(src, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_STRING_EQUAL(n, "leak");
    char *longer = lh_strndup(src, 100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(longer);
    CU_ASSERT_STRING_EQUAL(longer, src);
    char *empty = lh_strdup("");
    CU_ASSERT_PTR_NOT_NULL_FATAL(empty);
    CU_ASSERT_STRING_EQUAL(empty, "");
    lh_free(d);
    lh_free(n);
    lh_free(longer);
    lh_free(empty);
}

static void test_alloc_strdup_failure_returns_null(void)
{
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_PTR_NULL(lh_strdup("abc"));
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_PTR_NULL(lh_strndup("abc", 2));
}

static void test_alloc_free_null_does_nothing(void)
{
    unsigned long before = lh_alloc_calls();
    lh_free(NULL);
    CU_ASSERT_EQUAL(lh_alloc_calls(), before);
}

static void test_alloc_grow_doubles_from_first_until_enough(void)
{
    int *v = NULL;
    size_t cap = 0;
    CU_ASSERT_EQUAL(lh_grow((void **)&v, &cap, 1, sizeof *v, 16), 0);
    CU_ASSERT_EQUAL(cap, 16);
    v[15] = 7;
    CU_ASSERT_EQUAL(lh_grow((void **)&v, &cap, 16, sizeof *v, 16), 0);
    CU_ASSERT_EQUAL(cap, 16); /* enough already: nothing moves */
    CU_ASSERT_EQUAL(lh_grow((void **)&v, &cap, 70, sizeof *v, 16), 0);
    CU_ASSERT_EQUAL(cap, 128);
    CU_ASSERT_EQUAL(v[15], 7);
    lh_free(v);
}

static void test_alloc_grow_failure_and_overflow_leave_the_array(void)
{
    int *v = NULL;
    size_t cap = 0;
    CU_ASSERT_EQUAL_FATAL(lh_grow((void **)&v, &cap, 4, sizeof *v, 4), 0);
    int *kept = v;
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_grow((void **)&v, &cap, 5, sizeof *v, 4), LH_ENOMEM);
    CU_ASSERT_PTR_EQUAL(v, kept);
    CU_ASSERT_EQUAL(cap, 4);
    CU_ASSERT_EQUAL(lh_grow((void **)&v, &cap, SIZE_MAX / 2, sizeof *v, 4),
                    LH_ENOMEM);
    CU_ASSERT_EQUAL(lh_grow((void **)&v, &cap, SIZE_MAX, 1, 4), LH_ENOMEM);
    CU_ASSERT_EQUAL(cap, 4);
    lh_alloc_fail_after(-1, 0);
    lh_free(v);
}

#define RACE_THREADS 4
#define RACE_CALLS 20000

static atomic_int race_failures;

static void *race_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < RACE_CALLS; i++) {
        void *p = lh_malloc(8);
        if (p == NULL)
            atomic_fetch_add(&race_failures, 1);
        lh_free(p);
    }
    return NULL;
}

static void test_alloc_concurrent_threads_see_exactly_one_injected_failure(void)
{
    pthread_t t[RACE_THREADS];
    atomic_store(&race_failures, 0);
    lh_alloc_fail_after(RACE_THREADS * RACE_CALLS / 2, 0);
    int started = 0;
    for (int i = 0; i < RACE_THREADS; i++)
        if (pthread_create(&t[i], NULL, race_worker, NULL) == 0)
            started++;
    CU_ASSERT_EQUAL_FATAL(started, RACE_THREADS);
    for (int i = 0; i < RACE_THREADS; i++)
        pthread_join(t[i], NULL);
    CU_ASSERT_EQUAL(atomic_load(&race_failures), 1);
    lh_alloc_fail_after(-1, 0);
}

static CU_TestInfo tests[] = {
    {"fail_after(0) fails only the next call",
     test_alloc_fail_after_zero_fails_only_the_next_call},
    {"fail_after(n) lets n calls succeed first",
     test_alloc_fail_after_n_lets_n_calls_succeed_first},
    {"fail_after counts every kind of allocation",
     test_alloc_fail_after_counts_every_kind_of_allocation},
    {"sticky fails every call until disarmed",
     test_alloc_sticky_fails_every_call_until_disarmed},
    {"negative disarms a pending failure",
     test_alloc_negative_disarms_a_pending_failure},
    {"calls counts each call including failures",
     test_alloc_calls_counts_each_call_including_failures},
    {"calloc overflow returns NULL", test_alloc_calloc_overflow_returns_null},
    {"calloc zeroes memory", test_alloc_calloc_zeroes_memory},
    {"zero sizes return freeable memory",
     test_alloc_zero_sizes_return_freeable_memory},
    {"realloc failure leaves block intact",
     test_alloc_realloc_failure_leaves_block_intact},
    {"strdup copies and strndup truncates",
     test_alloc_strdup_copies_and_strndup_truncates},
    {"strdup failure returns NULL", test_alloc_strdup_failure_returns_null},
    {"free(NULL) does nothing", test_alloc_free_null_does_nothing},
    {"grow doubles from first until enough",
     test_alloc_grow_doubles_from_first_until_enough},
    {"grow failure and overflow leave the array",
     test_alloc_grow_failure_and_overflow_leave_the_array},
    {"concurrent threads see exactly one injected failure",
     test_alloc_concurrent_threads_see_exactly_one_injected_failure},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("alloc", tests)
