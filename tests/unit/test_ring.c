/*
 * test_ring.c - the consistent-hash ring: balance, minimal movement, errors
 * and allocation failures.
 */
#include "alloc.h"
#include "cu_main.h"
#include "error.h"
#include "ring.h"

#include <stdio.h>
#include <string.h>

#define NKEYS 1000000u

/* Writes "key-<i>" into buf and returns its length (no snprintf: this runs a
 * million times under valgrind). */
static size_t make_key(char *buf, uint32_t i)
{
    char digits[16];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    memcpy(buf, "key-", 4);
    for (size_t j = 0; j < n; j++)
        buf[4 + j] = digits[n - 1 - j];
    return 4 + n;
}

/* Looks up keys 0..nkeys-1 and stores each owner in owners[]. */
static void assign(const lh_ring *ring, uint32_t *owners, uint32_t nkeys)
{
    char key[32];
    for (uint32_t i = 0; i < nkeys; i++) {
        size_t len = make_key(key, i);
        int err = lh_ring_lookup(ring, key, len, &owners[i]);
        if (err) {
            CU_FAIL("lookup failed");
            return;
        }
    }
}

static lh_ring *ring_with(unsigned vnodes, uint32_t first, uint32_t count)
{
    lh_ring *ring = NULL;
    CU_ASSERT_EQUAL_FATAL(lh_ring_new(vnodes, &ring), 0);
    for (uint32_t n = first; n < first + count; n++)
        CU_ASSERT_EQUAL_FATAL(lh_ring_add(ring, n), 0);
    return ring;
}

/* Owners of keys 0..nkeys-1 before and after one change of the ring
 * (both lh_malloc'd). */
typedef struct moves {
    uint32_t *before;
    uint32_t *after;
} moves;

/* Applies change(ring, node), which must succeed and leave `size` nodes. */
static moves owners_around(lh_ring *ring, uint32_t nkeys,
                           int (*change)(lh_ring *, uint32_t), uint32_t node,
                           size_t size)
{
    moves m = {lh_malloc(nkeys * sizeof *m.before),
               lh_malloc(nkeys * sizeof *m.after)};
    CU_ASSERT_PTR_NOT_NULL_FATAL(m.before);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m.after);
    assign(ring, m.before, nkeys);
    CU_ASSERT_EQUAL(change(ring, node), 0);
    CU_ASSERT_EQUAL(lh_ring_size(ring), size);
    assign(ring, m.after, nkeys);
    return m;
}

static void moves_free(moves *m)
{
    lh_free(m->before);
    lh_free(m->after);
}

static void test_ring_balance_three_nodes_within_ten_percent(void)
{
    lh_ring *ring = ring_with(0, 0, 3);
    uint32_t *owners = lh_malloc(NKEYS * sizeof *owners);
    CU_ASSERT_PTR_NOT_NULL_FATAL(owners);
    assign(ring, owners, NKEYS);
    unsigned long count[3] = {0, 0, 0};
    for (uint32_t i = 0; i < NKEYS; i++) {
        if (owners[i] >= 3)
            CU_FAIL_FATAL("key owned by a node that was never added");
        count[owners[i]]++;
    }
    double fair = NKEYS / 3.0;
    printf("\n    ring balance, 3 nodes x %u vnodes, %u keys:",
           LH_RING_DEFAULT_VNODES, NKEYS);
    for (int n = 0; n < 3; n++) {
        double dev = (count[n] - fair) / fair;
        printf(" node%d %.2f%% (%+.1f%% of fair)", n,
               100.0 * count[n] / NKEYS, 100.0 * dev);
        CU_ASSERT(dev > -0.10 && dev < 0.10);
    }
    printf("\n");
    lh_free(owners);
    lh_ring_free(ring);
}

static void test_ring_lookup_is_deterministic_and_order_independent(void)
{
    lh_ring *a = ring_with(0, 0, 4);
    lh_ring *b = NULL;
    CU_ASSERT_EQUAL_FATAL(lh_ring_new(0, &b), 0);
    const uint32_t order[] = {3, 1, 0, 2};
    for (size_t i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(lh_ring_add(b, order[i]), 0);
    char key[32];
    for (uint32_t i = 0; i < 20000; i++) {
        size_t len = make_key(key, i);
        uint32_t na = 99, nb = 98;
        CU_ASSERT_EQUAL(lh_ring_lookup(a, key, len, &na), 0);
        CU_ASSERT_EQUAL(lh_ring_lookup(b, key, len, &nb), 0);
        if (na != nb) {
            CU_FAIL("rings with the same nodes disagree");
            break;
        }
    }
    lh_ring_free(a);
    lh_ring_free(b);
}

static void test_ring_remove_moves_only_departed_keys(void)
{
    const uint32_t nkeys = 200000;
    lh_ring *ring = ring_with(0, 0, 4);
    moves m = owners_around(ring, nkeys, lh_ring_remove, 2, 3);
    unsigned long departed = 0, moved = 0, stray = 0;
    for (uint32_t i = 0; i < nkeys; i++) {
        if (m.before[i] == 2) {
            departed++;
            if (m.after[i] == 2)
                stray++; /* still mapped to the removed node */
        } else if (m.after[i] != m.before[i]) {
            moved++;
        }
    }
    printf("\n    remove 1 of 4 nodes: %lu of %u keys (%.2f%%) were on it and "
           "moved; %lu others moved\n",
           departed, nkeys, 100.0 * departed / nkeys, moved);
    CU_ASSERT(departed > 0);
    CU_ASSERT_EQUAL(stray, 0);
    CU_ASSERT_EQUAL(moved, 0);
    moves_free(&m);
    lh_ring_free(ring);
}

static void test_ring_add_moves_about_one_over_n_plus_one_to_new_node(void)
{
    const uint32_t nkeys = 200000;
    lh_ring *ring = ring_with(0, 0, 3);
    moves m = owners_around(ring, nkeys, lh_ring_add, 3, 4);
    unsigned long to_new = 0, between_old = 0;
    for (uint32_t i = 0; i < nkeys; i++) {
        if (m.after[i] == m.before[i])
            continue;
        if (m.after[i] == 3)
            to_new++;
        else
            between_old++;
    }
    double frac = (double)to_new / nkeys;
    printf("\n    add a 4th node: %.2f%% of keys moved to it (ideal 25%%), "
           "%lu moved between old nodes\n",
           100.0 * frac, between_old);
    CU_ASSERT_EQUAL(between_old, 0);
    /* default vnodes: a node's share has a spread of a few % of itself. */
    CU_ASSERT(frac > 0.25 * 0.8 && frac < 0.25 * 1.2);
    moves_free(&m);
    lh_ring_free(ring);
}

static void test_ring_add_duplicate_is_eexist_and_ring_unchanged(void)
{
    lh_ring *ring = ring_with(8, 7, 2);
    uint32_t owner_before = 0, owner_after = 1;
    CU_ASSERT_EQUAL(lh_ring_lookup(ring, "k", 1, &owner_before), 0);
    CU_ASSERT_EQUAL(lh_ring_add(ring, 7), LH_EEXIST);
    CU_ASSERT_EQUAL(lh_ring_add(ring, 8), LH_EEXIST);
    CU_ASSERT_EQUAL(lh_ring_size(ring), 2);
    CU_ASSERT_EQUAL(lh_ring_lookup(ring, "k", 1, &owner_after), 0);
    CU_ASSERT_EQUAL(owner_before, owner_after);
    lh_ring_free(ring);
}

static void test_ring_remove_unknown_is_enotfound(void)
{
    lh_ring *ring = ring_with(0, 1, 2);
    CU_ASSERT_EQUAL(lh_ring_remove(ring, 0), LH_ENOTFOUND);
    CU_ASSERT_EQUAL(lh_ring_remove(ring, 3), LH_ENOTFOUND);
    CU_ASSERT_EQUAL(lh_ring_remove(ring, 1), 0);
    CU_ASSERT_EQUAL(lh_ring_remove(ring, 1), LH_ENOTFOUND);
    CU_ASSERT_EQUAL(lh_ring_size(ring), 1);
    lh_ring_free(ring);
}

static void test_ring_lookup_empty_is_eempty(void)
{
    lh_ring *ring = NULL;
    CU_ASSERT_EQUAL_FATAL(lh_ring_new(0, &ring), 0);
    uint32_t node = 42;
    CU_ASSERT_EQUAL(lh_ring_size(ring), 0);
    CU_ASSERT_EQUAL(lh_ring_lookup(ring, "k", 1, &node), LH_EEMPTY);
    CU_ASSERT_EQUAL(node, 42);
    /* Emptied again after use. */
    CU_ASSERT_EQUAL(lh_ring_add(ring, 5), 0);
    CU_ASSERT_EQUAL(lh_ring_lookup(ring, "k", 1, &node), 0);
    CU_ASSERT_EQUAL(node, 5);
    CU_ASSERT_EQUAL(lh_ring_remove(ring, 5), 0);
    CU_ASSERT_EQUAL(lh_ring_lookup(ring, "k", 1, &node), LH_EEMPTY);
    lh_ring_free(ring);
}

static void test_ring_single_node_owns_every_key(void)
{
    lh_ring *ring = ring_with(1, 9, 1);
    char key[32];
    for (uint32_t i = 0; i < 1000; i++) {
        uint32_t node = 0;
        size_t len = make_key(key, i);
        CU_ASSERT_EQUAL(lh_ring_lookup(ring, key, len, &node), 0);
        CU_ASSERT_EQUAL(node, 9);
    }
    CU_ASSERT_EQUAL(lh_ring_lookup(ring, "", 0, &(uint32_t){0}), 0);
    lh_ring_free(ring);
}

static void test_ring_new_rejects_too_many_vnodes(void)
{
    lh_ring *ring = NULL;
    CU_ASSERT_EQUAL(lh_ring_new(65537, &ring), LH_EINVAL);
    CU_ASSERT_PTR_NULL(ring);
    CU_ASSERT_EQUAL(lh_ring_new(65536, &ring), 0);
    CU_ASSERT_EQUAL(lh_ring_add(ring, 1), 0);
    lh_ring_free(ring);
    lh_ring_free(NULL);
}

static void test_ring_hash_spreads_nearby_keys(void)
{
    /* Keys differing in one byte land far apart: about half of the 64 bits
     * flip on average. */
    unsigned long flips = 0;
    char key[32];
    for (uint32_t i = 0; i < 1000; i++) {
        size_t len = make_key(key, i);
        uint64_t a = lh_ring_hash(key, len);
        key[len - 1] ^= 1;
        uint64_t b = lh_ring_hash(key, len);
        flips += (unsigned long)__builtin_popcountll(a ^ b);
    }
    double mean = flips / 1000.0;
    CU_ASSERT(mean > 28.0 && mean < 36.0);
    CU_ASSERT_NOT_EQUAL(lh_ring_hash("", 0), lh_ring_hash("\0", 1));
}

static void test_ring_new_out_of_memory_is_enomem(void)
{
    lh_ring *ring = NULL;
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_ring_new(0, &ring), LH_ENOMEM);
    lh_alloc_fail_after(-1, 0);
    CU_ASSERT_PTR_NULL(ring);
}

static void test_ring_add_out_of_memory_leaves_ring_unchanged(void)
{
    /* Four nodes fill both arrays, so the fifth add must grow both. */
    lh_ring *ring = ring_with(0, 0, 4);
    uint32_t before = 99;
    CU_ASSERT_EQUAL(lh_ring_lookup(ring, "abc", 3, &before), 0);
    /* Fail the first allocation, then the second, of the next add; each
     * time the ring must be exactly as it was. */
    for (long n = 0; n < 2; n++) {
        lh_alloc_fail_after(n, 1);
        int err = lh_ring_add(ring, 4);
        lh_alloc_fail_after(-1, 0);
        CU_ASSERT_EQUAL(err, LH_ENOMEM);
        CU_ASSERT_EQUAL(lh_ring_size(ring), 4);
        uint32_t owner = 99;
        CU_ASSERT_EQUAL(lh_ring_lookup(ring, "abc", 3, &owner), 0);
        CU_ASSERT_EQUAL(owner, before);
        CU_ASSERT_EQUAL(lh_ring_remove(ring, 4), LH_ENOTFOUND);
    }
    /* Once memory is back the same add succeeds. */
    CU_ASSERT_EQUAL(lh_ring_add(ring, 4), 0);
    CU_ASSERT_EQUAL(lh_ring_size(ring), 5);
    lh_ring_free(ring);
}

static CU_TestInfo tests[] = {
    {"balance_three_nodes_within_ten_percent",
     test_ring_balance_three_nodes_within_ten_percent},
    {"lookup_is_deterministic_and_order_independent",
     test_ring_lookup_is_deterministic_and_order_independent},
    {"remove_moves_only_departed_keys",
     test_ring_remove_moves_only_departed_keys},
    {"add_moves_about_one_over_n_plus_one_to_new_node",
     test_ring_add_moves_about_one_over_n_plus_one_to_new_node},
    {"add_duplicate_is_eexist_and_ring_unchanged",
     test_ring_add_duplicate_is_eexist_and_ring_unchanged},
    {"remove_unknown_is_enotfound", test_ring_remove_unknown_is_enotfound},
    {"lookup_empty_is_eempty", test_ring_lookup_empty_is_eempty},
    {"single_node_owns_every_key", test_ring_single_node_owns_every_key},
    {"new_rejects_too_many_vnodes", test_ring_new_rejects_too_many_vnodes},
    {"hash_spreads_nearby_keys", test_ring_hash_spreads_nearby_keys},
    {"new_out_of_memory_is_enomem", test_ring_new_out_of_memory_is_enomem},
    {"add_out_of_memory_leaves_ring_unchanged",
     test_ring_add_out_of_memory_leaves_ring_unchanged},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("ring", tests)
