/*
 * test_dqueue.c - the bounded delay queue: order, FIFO ties, pop limits,
 * capacity, item ownership and allocation failures.
 */
#include "alloc.h"
#include "cu_main.h"
#include "dqueue.h"
#include "error.h"

#include <stdint.h>

struct item {
    int64_t due;
    size_t idx;
    int popped;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static lh_dqueue *queue(size_t capacity)
{
    lh_dqueue *q = NULL;
    CU_ASSERT_EQUAL_FATAL(lh_dqueue_new(capacity, &q), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    return q;
}

static void test_dqueue_random_pushes_pop_in_due_then_insertion_order(void)
{
    enum { N = 20000 };
    static struct item items[N];
    lh_dqueue *q = queue(N);
    /* Few distinct due times, so many ties. */
    for (size_t i = 0; i < N; i++) {
        items[i] = (struct item){.due = (int64_t)(rng() % 500) - 100,
                                 .idx = i};
        CU_ASSERT_EQUAL_FATAL(lh_dqueue_push(q, items[i].due, &items[i]), 0);
    }
    CU_ASSERT_EQUAL(lh_dqueue_len(q), N);
    void *out[333];
    const struct item *prev = NULL;
    size_t total = 0, bad = 0;
    for (;;) {
        size_t n = lh_dqueue_pop_due(q, INT64_MAX, out, 333);
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            struct item *it = out[i];
            if (it->popped)
                bad++;
            it->popped = 1;
            if (prev != NULL &&
                (prev->due > it->due ||
                 (prev->due == it->due && prev->idx > it->idx)))
                bad++;
            prev = it;
        }
        total += n;
    }
    CU_ASSERT_EQUAL(total, N);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(lh_dqueue_len(q), 0);
    lh_dqueue_free(q, NULL);
}

static void test_dqueue_equal_due_times_come_out_fifo(void)
{
    enum { N = 200 };
    struct item items[N];
    struct item early = {.due = 5};
    lh_dqueue *q = queue(N + 1);
    for (size_t i = 0; i < N; i++) {
        items[i] = (struct item){.due = 10, .idx = i};
        CU_ASSERT_EQUAL(lh_dqueue_push(q, 10, &items[i]), 0);
        if (i == N / 2) /* an earlier item in the middle reshuffles the heap */
            CU_ASSERT_EQUAL(lh_dqueue_push(q, 5, &early), 0);
    }
    void *out[N + 1];
    CU_ASSERT_EQUAL_FATAL(lh_dqueue_pop_due(q, 10, out, N + 1), N + 1);
    CU_ASSERT_PTR_EQUAL(out[0], &early);
    for (size_t i = 0; i < N; i++)
        CU_ASSERT_PTR_EQUAL(out[i + 1], &items[i]);
    lh_dqueue_free(q, NULL);
}

static void test_dqueue_pop_due_respects_now_and_max(void)
{
    int a, b, c, d;
    lh_dqueue *q = queue(8);
    CU_ASSERT_EQUAL(lh_dqueue_push(q, 30, &c), 0);
    CU_ASSERT_EQUAL(lh_dqueue_push(q, 10, &a), 0);
    CU_ASSERT_EQUAL(lh_dqueue_push(q, 40, &d), 0);
    CU_ASSERT_EQUAL(lh_dqueue_push(q, 20, &b), 0);
    void *out[4] = {NULL, NULL, NULL, NULL};
    /* Nothing is due before 10. */
    CU_ASSERT_EQUAL(lh_dqueue_pop_due(q, 9, out, 4), 0);
    CU_ASSERT_PTR_NULL(out[0]);
    /* now bounds the batch: 10 and 20 are due at 25, 30 is not. */
    CU_ASSERT_EQUAL(lh_dqueue_pop_due(q, 25, out, 4), 2);
    CU_ASSERT_PTR_EQUAL(out[0], &a);
    CU_ASSERT_PTR_EQUAL(out[1], &b);
    CU_ASSERT_PTR_NULL(out[2]);
    /* max bounds the batch: both are due at 100, one comes out. */
    CU_ASSERT_EQUAL(lh_dqueue_pop_due(q, 100, out, 1), 1);
    CU_ASSERT_PTR_EQUAL(out[0], &c);
    CU_ASSERT_EQUAL(lh_dqueue_pop_due(q, 100, out, 0), 0);
    CU_ASSERT_EQUAL(lh_dqueue_len(q), 1);
    /* Due exactly at now counts as due. */
    CU_ASSERT_EQUAL(lh_dqueue_pop_due(q, 40, out, 4), 1);
    CU_ASSERT_PTR_EQUAL(out[0], &d);
    CU_ASSERT_EQUAL(lh_dqueue_len(q), 0);
    lh_dqueue_free(q, NULL);
}

static void test_dqueue_next_due_is_earliest_or_eempty(void)
{
    int x;
    int64_t due = 77;
    lh_dqueue *q = queue(4);
    CU_ASSERT_EQUAL(lh_dqueue_next_due(q, &due), LH_EEMPTY);
    CU_ASSERT_EQUAL(due, 77);
    CU_ASSERT_EQUAL(lh_dqueue_push(q, 500, &x), 0);
    CU_ASSERT_EQUAL(lh_dqueue_next_due(q, &due), 0);
    CU_ASSERT_EQUAL(due, 500);
    CU_ASSERT_EQUAL(lh_dqueue_push(q, -3, &x), 0);
    CU_ASSERT_EQUAL(lh_dqueue_push(q, 200, &x), 0);
    CU_ASSERT_EQUAL(lh_dqueue_next_due(q, &due), 0);
    CU_ASSERT_EQUAL(due, -3);
    void *out[1];
    CU_ASSERT_EQUAL(lh_dqueue_pop_due(q, 0, out, 1), 1);
    CU_ASSERT_EQUAL(lh_dqueue_next_due(q, &due), 0);
    CU_ASSERT_EQUAL(due, 200);
    lh_dqueue_free(q, NULL);
}

static int freed_count;

static void count_and_free(void *item)
{
    freed_count++;
    lh_free(item);
}

static void test_dqueue_push_at_capacity_is_efull_and_item_not_taken(void)
{
    freed_count = 0;
    lh_dqueue *q = queue(3);
    CU_ASSERT_EQUAL(lh_dqueue_capacity(q), 3);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(lh_dqueue_push(q, i, lh_malloc(8)), 0);
    void *extra = lh_malloc(8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(extra);
    CU_ASSERT_EQUAL(lh_dqueue_push(q, -1, extra), LH_EFULL);
    CU_ASSERT_EQUAL(lh_dqueue_len(q), 3);
    /* The refused item is not in the queue: the earliest is still 0. */
    int64_t due = 99;
    CU_ASSERT_EQUAL(lh_dqueue_next_due(q, &due), 0);
    CU_ASSERT_EQUAL(due, 0);
    /* Room again after a pop. */
    void *out[1];
    CU_ASSERT_EQUAL(lh_dqueue_pop_due(q, 0, out, 1), 1);
    lh_free(out[0]);
    CU_ASSERT_EQUAL(lh_dqueue_push(q, -1, extra), 0);
    CU_ASSERT_EQUAL(lh_dqueue_len(q), 3);
    lh_dqueue_free(q, count_and_free);
    CU_ASSERT_EQUAL(freed_count, 3);
}

static void test_dqueue_free_calls_free_item_on_remaining_items(void)
{
    freed_count = 0;
    lh_dqueue *q = queue(100);
    for (int i = 0; i < 40; i++)
        CU_ASSERT_EQUAL(lh_dqueue_push(q, 40 - i, lh_malloc(16)), 0);
    void *out[15];
    CU_ASSERT_EQUAL(lh_dqueue_pop_due(q, 100, out, 15), 15);
    for (int i = 0; i < 15; i++)
        lh_free(out[i]);
    lh_dqueue_free(q, count_and_free);
    CU_ASSERT_EQUAL(freed_count, 25); /* valgrind checks nothing leaked */
    lh_dqueue_free(NULL, count_and_free);
    CU_ASSERT_EQUAL(freed_count, 25);
}

static void test_dqueue_new_rejects_zero_capacity(void)
{
    lh_dqueue *q = NULL;
    CU_ASSERT_EQUAL(lh_dqueue_new(0, &q), LH_EINVAL);
    CU_ASSERT_PTR_NULL(q);
}

static void test_dqueue_storage_grows_on_demand_not_at_creation(void)
{
    /* A bound of a billion items must cost one small allocation up front. */
    unsigned long calls = lh_alloc_calls();
    lh_dqueue *q = queue((size_t)1 << 30);
    CU_ASSERT_EQUAL(lh_alloc_calls() - calls, 1);
    int x;
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL(lh_dqueue_push(q, i, &x), 0);
    /* Doubling from 16: 16, 32, ..., 1024 is 7 allocations. */
    CU_ASSERT(lh_alloc_calls() - calls <= 1 + 7);
    CU_ASSERT_EQUAL(lh_dqueue_len(q), 1000);
    lh_dqueue_free(q, NULL);
}

static void test_dqueue_new_out_of_memory_is_enomem(void)
{
    lh_dqueue *q = NULL;
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_dqueue_new(10, &q), LH_ENOMEM);
    lh_alloc_fail_after(-1, 0);
    CU_ASSERT_PTR_NULL(q);
}

static void test_dqueue_push_out_of_memory_leaves_queue_unchanged(void)
{
    int items[40];
    lh_dqueue *q = queue(40);
    /* The first push allocates the storage. */
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_dqueue_push(q, 1, &items[0]), LH_ENOMEM);
    lh_alloc_fail_after(-1, 0);
    CU_ASSERT_EQUAL(lh_dqueue_len(q), 0);
    CU_ASSERT_EQUAL_FATAL(lh_dqueue_push(q, 100, &items[0]), 0);
    /* Fill the initial storage, then fail the growth. */
    int pushed = 1, failures = 0;
    while (pushed < 40) {
        unsigned long calls = lh_alloc_calls();
        lh_alloc_fail_after(0, 0);
        int err = lh_dqueue_push(q, 100 - pushed, &items[pushed]);
        lh_alloc_fail_after(-1, 0);
        if (err == 0) {
            CU_ASSERT_EQUAL(lh_alloc_calls(), calls); /* no allocation */
            pushed++;
            continue;
        }
        CU_ASSERT_EQUAL(err, LH_ENOMEM);
        failures++;
        CU_ASSERT_EQUAL(lh_dqueue_len(q), (size_t)pushed);
        int64_t due = 0;
        CU_ASSERT_EQUAL(lh_dqueue_next_due(q, &due), 0);
        CU_ASSERT_EQUAL(due, 100 - pushed + 1);
        /* Retry with memory available. */
        CU_ASSERT_EQUAL_FATAL(lh_dqueue_push(q, 100 - pushed, &items[pushed]),
                              0);
        pushed++;
    }
    CU_ASSERT_EQUAL(failures, 2); /* growth at 16 and at 32 items */
    CU_ASSERT_EQUAL(lh_dqueue_len(q), 40);
    void *out[40];
    CU_ASSERT_EQUAL(lh_dqueue_pop_due(q, 1000, out, 40), 40);
    for (int i = 0; i < 40; i++)
        CU_ASSERT_PTR_EQUAL(out[i], &items[39 - i]);
    lh_dqueue_free(q, NULL);
}

static CU_TestInfo tests[] = {
    {"random_pushes_pop_in_due_then_insertion_order",
     test_dqueue_random_pushes_pop_in_due_then_insertion_order},
    {"equal_due_times_come_out_fifo",
     test_dqueue_equal_due_times_come_out_fifo},
    {"pop_due_respects_now_and_max", test_dqueue_pop_due_respects_now_and_max},
    {"next_due_is_earliest_or_eempty",
     test_dqueue_next_due_is_earliest_or_eempty},
    {"push_at_capacity_is_efull_and_item_not_taken",
     test_dqueue_push_at_capacity_is_efull_and_item_not_taken},
    {"free_calls_free_item_on_remaining_items",
     test_dqueue_free_calls_free_item_on_remaining_items},
    {"new_rejects_zero_capacity", test_dqueue_new_rejects_zero_capacity},
    {"storage_grows_on_demand_not_at_creation",
     test_dqueue_storage_grows_on_demand_not_at_creation},
    {"new_out_of_memory_is_enomem", test_dqueue_new_out_of_memory_is_enomem},
    {"push_out_of_memory_leaves_queue_unchanged",
     test_dqueue_push_out_of_memory_leaves_queue_unchanged},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("dqueue", tests)
