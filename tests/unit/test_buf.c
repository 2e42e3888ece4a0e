/*
 * test_buf.c - the growable byte buffer.
 */
#include "cu_main.h"

#include "alloc.h"
#include "buf.h"
#include "error.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

/* chunk gets the pattern of `seed`; b takes its first `put` bytes, then
 * gives `eaten` back. */
static void prime(lh_buf *b, uint8_t *chunk, size_t size, unsigned seed,
                  size_t put, size_t eaten)
{
    fill_pattern(chunk, size, seed);
    CU_ASSERT_EQUAL_FATAL(lh_buf_append(b, chunk, put), 0);
    lh_buf_consume(b, eaten);
}

/* b holds exactly the len bytes at want. */
static void expect_bytes(const lh_buf *b, const void *want, size_t len)
{
    CU_ASSERT_EQUAL(lh_buf_len(b), len);
    CU_ASSERT(memcmp(lh_buf_peek(b), want, len) == 0);
}

/* b has `cap` bytes of storage and holds the len bytes at want from its
 * start. */
static void expect_packed(const lh_buf *b, size_t cap, const void *want,
                          size_t len)
{
    CU_ASSERT_EQUAL(b->cap, cap);
    CU_ASSERT_EQUAL(b->start, 0);
    expect_bytes(b, want, len);
}

/* b is what it was when saved: same storage, same bytes in it. */
static void expect_unchanged(const lh_buf *b, const lh_buf *saved)
{
    CU_ASSERT_PTR_EQUAL(b->data, saved->data);
    CU_ASSERT_EQUAL(b->start, saved->start);
    CU_ASSERT_EQUAL(b->end, saved->end);
    CU_ASSERT_EQUAL(b->cap, saved->cap);
}

static void test_buf_append_then_peek_returns_bytes_in_order(void)
{
    lh_buf b = LH_BUF_INIT;
    CU_ASSERT_EQUAL(lh_buf_len(&b), 0);
    CU_ASSERT_EQUAL(lh_buf_append(&b, "hello ", 6), 0);
    CU_ASSERT_EQUAL(lh_buf_append(&b, "world", 5), 0);
    CU_ASSERT_EQUAL_FATAL(lh_buf_len(&b), 11);
    CU_ASSERT(memcmp(lh_buf_peek(&b), "hello world", 11) == 0);
    lh_buf_free(&b);
}

static void test_buf_peek_and_tail_of_an_unused_buffer_are_null(void)
{
    /* No offset is applied to the NULL storage (clang UBSan aborts on
     * that in the sanitizer builds). */
    lh_buf b = LH_BUF_INIT;
    CU_ASSERT_PTR_NULL(lh_buf_peek(&b));
    CU_ASSERT_PTR_NULL(lh_buf_tail(&b));
    CU_ASSERT_EQUAL(lh_buf_reserve(&b, 0), 0);
    CU_ASSERT_PTR_NULL(lh_buf_tail(&b));
}

static void test_buf_append_zero_bytes_allocates_nothing(void)
{
    lh_buf b = LH_BUF_INIT;
    unsigned long before = lh_alloc_calls();
    CU_ASSERT_EQUAL(lh_buf_append(&b, NULL, 0), 0);
    CU_ASSERT_EQUAL(lh_alloc_calls(), before);
    CU_ASSERT_PTR_NULL(b.data);
    CU_ASSERT_EQUAL(lh_buf_len(&b), 0);
}

static void test_buf_consume_drops_from_the_front(void)
{
    lh_buf b = LH_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(lh_buf_append(&b, "abcdef", 6), 0);
    lh_buf_consume(&b, 2);
    CU_ASSERT_EQUAL(lh_buf_len(&b), 4);
    CU_ASSERT(memcmp(lh_buf_peek(&b), "cdef", 4) == 0);
    lh_buf_consume(&b, 3);
    CU_ASSERT_EQUAL(lh_buf_len(&b), 1);
    CU_ASSERT_EQUAL(lh_buf_peek(&b)[0], 'f');
    lh_buf_free(&b);
}

static void test_buf_consume_everything_rewinds_to_offset_zero(void)
{
    lh_buf b = LH_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(lh_buf_append(&b, "abcdef", 6), 0);
    lh_buf_consume(&b, 6);
    CU_ASSERT_EQUAL(lh_buf_len(&b), 0);
    CU_ASSERT_EQUAL(b.start, 0);
    CU_ASSERT_EQUAL(b.end, 0);
    CU_ASSERT_PTR_NOT_NULL(b.data);
    lh_buf_free(&b);
}

static void test_buf_consume_more_than_held_empties_the_buffer(void)
{
    lh_buf b = LH_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(lh_buf_append(&b, "abc", 3), 0);
    lh_buf_consume(&b, 100);
    CU_ASSERT_EQUAL(lh_buf_len(&b), 0);
    lh_buf_free(&b);
}

static void test_buf_first_reserve_allocates_256_and_growth_doubles(void)
{
    lh_buf b = LH_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(lh_buf_reserve(&b, 10), 0);
    CU_ASSERT_EQUAL(b.cap, 256);
    uint8_t chunk[300];
    fill_pattern(chunk, sizeof chunk, 1);
    CU_ASSERT_EQUAL_FATAL(lh_buf_append(&b, chunk, 200), 0);
    CU_ASSERT_EQUAL_FATAL(lh_buf_append(&b, chunk + 200, 100), 0);
    CU_ASSERT_EQUAL(b.cap, 512);
    expect_bytes(&b, chunk, 300);
    CU_ASSERT_EQUAL_FATAL(lh_buf_reserve(&b, 2000), 0);
    CU_ASSERT_EQUAL(b.cap, 4096); /* 512 -> ... -> first power >= 2300 */
    CU_ASSERT(memcmp(lh_buf_peek(&b), chunk, 300) == 0);
    lh_buf_free(&b);
}

static void test_buf_reserve_compacts_when_half_is_dead_without_allocating(void)
{
    lh_buf b = LH_BUF_INIT;
    uint8_t chunk[256];
    /* 50 live, 150 dead, 56 free at the end */
    prime(&b, chunk, sizeof chunk, 3, 200, 150);
    uint8_t *data = b.data;
    unsigned long before = lh_alloc_calls();
    CU_ASSERT_EQUAL_FATAL(lh_buf_reserve(&b, 200), 0);
    CU_ASSERT_EQUAL(lh_alloc_calls(), before);
    CU_ASSERT_PTR_EQUAL(b.data, data);
    expect_packed(&b, 256, chunk + 150, 50);
    lh_buf_free(&b);
}

static void test_buf_reserve_grows_when_little_is_dead(void)
{
    lh_buf b = LH_BUF_INIT;
    uint8_t chunk[256];
    prime(&b, chunk, sizeof chunk, 5, 250, 10); /* 240 live, 10 dead, 6 free */
    CU_ASSERT_EQUAL_FATAL(lh_buf_reserve(&b, 12), 0);
    /* Room existed after a 240-byte move, but growing doubles instead. */
    expect_packed(&b, 512, chunk + 10, 240);
    lh_buf_free(&b);
}

static void test_buf_used_as_queue_stays_within_its_capacity(void)
{
    lh_buf b = LH_BUF_INIT;
    uint8_t chunk[100];
    uint8_t expect = 0;
    int in_order = 1;
    /* Producer runs 50 bytes ahead of the consumer for 10000 rounds. */
    for (int round = 0; round < 10000; round++) {
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = (uint8_t)(round * 100 + (int)i);
        CU_ASSERT_EQUAL_FATAL(lh_buf_append(&b, chunk, sizeof chunk), 0);
        size_t take = round == 0 ? 50 : 100;
        for (size_t i = 0; i < take; i++)
            in_order &= lh_buf_peek(&b)[i] == expect++;
        lh_buf_consume(&b, take);
    }
    CU_ASSERT(in_order);
    CU_ASSERT_EQUAL(lh_buf_len(&b), 50);
    CU_ASSERT(b.cap <= 512);
    lh_buf_free(&b);
}

static void test_buf_reserve_failure_leaves_buffer_unchanged(void)
{
    lh_buf b = LH_BUF_INIT;
    uint8_t chunk[200];
    prime(&b, chunk, sizeof chunk, 9, 200, 20);
    lh_buf saved = b;
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_buf_reserve(&b, 10000), LH_ENOMEM);
    expect_unchanged(&b, &saved);
    CU_ASSERT(memcmp(lh_buf_peek(&b), chunk + 20, 180) == 0);
    lh_buf_free(&b);
}

static void test_buf_append_failure_leaves_buffer_unchanged(void)
{
    lh_buf b = LH_BUF_INIT;
    uint8_t chunk[300];
    fill_pattern(chunk, sizeof chunk, 11);
    /* First append on an empty buffer: still empty and unallocated. */
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_buf_append(&b, chunk, 10), LH_ENOMEM);
    CU_ASSERT_PTR_NULL(b.data);
    CU_ASSERT_EQUAL(b.cap, 0);
    CU_ASSERT_EQUAL(lh_buf_len(&b), 0);
    /* Growing append on a used buffer. */
    CU_ASSERT_EQUAL_FATAL(lh_buf_append(&b, chunk, 200), 0);
    lh_buf saved = b;
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_buf_append(&b, chunk + 200, 100), LH_ENOMEM);
    expect_unchanged(&b, &saved);
    CU_ASSERT(memcmp(lh_buf_peek(&b), chunk, 200) == 0);
    /* And the buffer still works. */
    CU_ASSERT_EQUAL(lh_buf_append(&b, chunk + 200, 100), 0);
    CU_ASSERT(memcmp(lh_buf_peek(&b), chunk, 300) == 0);
    lh_buf_free(&b);
}

static void test_buf_reserve_of_impossible_size_fails_without_allocating(void)
{
    lh_buf b = LH_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(lh_buf_append(&b, "x", 1), 0);
    unsigned long before = lh_alloc_calls();
    CU_ASSERT_EQUAL(lh_buf_reserve(&b, SIZE_MAX), LH_ENOMEM);
    CU_ASSERT_EQUAL(lh_buf_reserve(&b, SIZE_MAX / 2 + 2), LH_ENOMEM);
    CU_ASSERT_EQUAL(lh_alloc_calls(), before);
    CU_ASSERT_EQUAL(lh_buf_len(&b), 1);
    lh_buf_free(&b);
}

static void test_buf_tail_and_commit_append_in_place(void)
{
    lh_buf b = LH_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(lh_buf_append(&b, "ab", 2), 0);
    CU_ASSERT_EQUAL_FATAL(lh_buf_reserve(&b, 3), 0);
    memcpy(lh_buf_tail(&b), "cde", 3);
    CU_ASSERT_EQUAL(lh_buf_len(&b), 2); /* not visible before commit */
    lh_buf_commit(&b, 3);
    CU_ASSERT_EQUAL(lh_buf_len(&b), 5);
    CU_ASSERT(memcmp(lh_buf_peek(&b), "abcde", 5) == 0);
    lh_buf_free(&b);
}

static void test_buf_reset_forgets_bytes_and_keeps_storage(void)
{
    lh_buf b = LH_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(lh_buf_append(&b, "abc", 3), 0);
    uint8_t *data = b.data;
    size_t cap = b.cap;
    lh_buf_reset(&b);
    CU_ASSERT_EQUAL(lh_buf_len(&b), 0);
    CU_ASSERT_PTR_EQUAL(b.data, data);
    CU_ASSERT_EQUAL(b.cap, cap);
    lh_buf_free(&b);
}

static void test_buf_free_releases_and_leaves_a_reusable_buffer(void)
{
    lh_buf b = LH_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(lh_buf_append(&b, "abc", 3), 0);
    lh_buf_free(&b);
    CU_ASSERT_PTR_NULL(b.data);
    CU_ASSERT_EQUAL(b.cap, 0);
    CU_ASSERT_EQUAL(lh_buf_len(&b), 0);
    CU_ASSERT_EQUAL(lh_buf_append(&b, "xy", 2), 0);
    CU_ASSERT(memcmp(lh_buf_peek(&b), "xy", 2) == 0);
    lh_buf_free(&b);
    lh_buf_free(&b); /* twice is fine */
    lh_buf_free(NULL);
}

static void test_buf_read_file_appends_the_whole_file(void)
{
    char path[] = "/tmp/lh-test-buf-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    /* bigger than one 64 KiB read, not a multiple of it */
    size_t size = 200000;
    uint8_t *data = malloc(size);
    CU_ASSERT_FATAL(data != NULL);
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    CU_ASSERT_EQUAL_FATAL(write(fd, data, size), (ssize_t)size);
    close(fd);
    lh_buf b = LH_BUF_INIT;
    CU_ASSERT_EQUAL(lh_buf_append(&b, "x", 1), 0);
    CU_ASSERT_EQUAL(lh_buf_read_file(&b, path), 0);
    CU_ASSERT_EQUAL(lh_buf_len(&b), size + 1);
    CU_ASSERT(memcmp(lh_buf_peek(&b) + 1, data, size) == 0);
    lh_buf_free(&b);
    unlink(path);
    free(data);
}

static void test_buf_read_file_missing_is_eio_with_errno(void)
{
    lh_buf b = LH_BUF_INIT;
    errno = 0;
    CU_ASSERT_EQUAL(lh_buf_read_file(&b, "/nonexistent/lh-buf"), LH_EIO);
    CU_ASSERT_EQUAL(errno, ENOENT);
    CU_ASSERT_EQUAL(lh_buf_len(&b), 0);
    lh_buf_free(&b);
}

static void test_buf_read_file_allocation_failure_is_enomem(void)
{
    lh_buf b = LH_BUF_INIT;
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_buf_read_file(&b, "/proc/self/stat"), LH_ENOMEM);
    lh_alloc_fail_after(-1, 0);
    lh_buf_free(&b);
}

static CU_TestInfo tests[] = {
    {"read_file appends the whole file",
     test_buf_read_file_appends_the_whole_file},
    {"read_file of a missing file is EIO with errno",
     test_buf_read_file_missing_is_eio_with_errno},
    {"read_file allocation failure is ENOMEM",
     test_buf_read_file_allocation_failure_is_enomem},
    {"append then peek returns bytes in order",
     test_buf_append_then_peek_returns_bytes_in_order},
    {"peek and tail of an unused buffer are NULL",
     test_buf_peek_and_tail_of_an_unused_buffer_are_null},
    {"append of zero bytes allocates nothing",
     test_buf_append_zero_bytes_allocates_nothing},
    {"consume drops from the front", test_buf_consume_drops_from_the_front},
    {"consume everything rewinds to offset zero",
     test_buf_consume_everything_rewinds_to_offset_zero},
    {"consume more than held empties the buffer",
     test_buf_consume_more_than_held_empties_the_buffer},
    {"first reserve allocates 256 and growth doubles",
     test_buf_first_reserve_allocates_256_and_growth_doubles},
    {"reserve compacts when half is dead without allocating",
     test_buf_reserve_compacts_when_half_is_dead_without_allocating},
    {"reserve grows when little is dead",
     test_buf_reserve_grows_when_little_is_dead},
    {"used as a queue stays within its capacity",
     test_buf_used_as_queue_stays_within_its_capacity},
    {"reserve failure leaves buffer unchanged",
     test_buf_reserve_failure_leaves_buffer_unchanged},
    {"append failure leaves buffer unchanged",
     test_buf_append_failure_leaves_buffer_unchanged},
    {"reserve of impossible size fails without allocating",
     test_buf_reserve_of_impossible_size_fails_without_allocating},
    {"tail and commit append in place",
     test_buf_tail_and_commit_append_in_place},
    {"reset forgets bytes and keeps storage",
     test_buf_reset_forgets_bytes_and_keeps_storage},
    {"free releases and leaves a reusable buffer",
     test_buf_free_releases_and_leaves_a_reusable_buffer},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("buf", tests)
