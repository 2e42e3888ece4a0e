/*
 * test_inject.c - leak injection specs and the bounded cache.
 *
 * The `lost` and `reachable` kinds leak on purpose, so they are exercised
 * by the integration tests (tests/integration/selfheal_inject.sh), not
 * here: this suite must stay memcheck-clean.
 */
#include "cu_main.h"

#include <string.h>

#include "alloc.h"
#include "error.h"
#include "inject.h"

static void test_inject_parses_spec_with_and_without_every(void)
{
    lh_inject *inj = NULL;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(lh_inject_new(&inj), 0);
    CU_ASSERT_EQUAL(lh_inject_add(inj, "rpc:reachable:64", err, sizeof err),
                    0);
    CU_ASSERT_EQUAL(inj->spec[LH_STAGE_RPC].kind, LH_INJECT_REACHABLE);
    CU_ASSERT_EQUAL(inj->spec[LH_STAGE_RPC].bytes, 64);
    CU_ASSERT_EQUAL(inj->spec[LH_STAGE_RPC].every, 1);
    CU_ASSERT_EQUAL(lh_inject_add(inj, "hash:lost:100:7", err, sizeof err), 0);
    CU_ASSERT_EQUAL(inj->spec[LH_STAGE_HASH].kind, LH_INJECT_LOST);
    CU_ASSERT_EQUAL(inj->spec[LH_STAGE_HASH].every, 7);
    lh_inject_free(inj);
}

static void test_inject_refuses_bad_specs_naming_the_problem(void)
{
    static const struct {
        const char *spec, *says;
    } bad[] = {
        {"rcp:lost:64", "unknown stage"},
        {"rpc:leaky:64", "unknown kind"},
        {"rpc:lost:8", "BYTES"},
        {"rpc:lost:64:0", "EVERY"},
        {"rpc:lost", "want STAGE"},
        {"rpc:lost:64:1:9", "want STAGE"},
        {"rpc:lost:x", "BYTES"},
    };
    lh_inject *inj = NULL;
    char err[160];
    CU_ASSERT_EQUAL_FATAL(lh_inject_new(&inj), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CU_ASSERT_EQUAL(lh_inject_add(inj, bad[i].spec, err, sizeof err),
                        LH_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].says));
    }
    CU_ASSERT_EQUAL(lh_inject_add(inj, "verify:cache:64", err, sizeof err), 0);
    CU_ASSERT_EQUAL(lh_inject_add(inj, "verify:lost:64", err, sizeof err),
                    LH_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "already"));
    CU_ASSERT_EQUAL(inj->spec[LH_STAGE_VERIFY].kind, LH_INJECT_CACHE);
    lh_inject_free(inj);
}

static void test_inject_is_due_every_nth_event(void)
{
    lh_inject *inj = NULL;
    char err[128];
    int due = 0;
    CU_ASSERT_EQUAL_FATAL(lh_inject_new(&inj), 0);
    CU_ASSERT_EQUAL(lh_inject_add(inj, "enqueue:cache:16:3", err, sizeof err),
                    0);
    for (int i = 1; i <= 9; i++) {
        int d = lh_inject_due(inj, LH_STAGE_ENQUEUE);
        CU_ASSERT_EQUAL(d, i % 3 == 0);
        due += d;
    }
    CU_ASSERT_EQUAL(due, 3);
    CU_ASSERT_EQUAL(lh_inject_due(inj, LH_STAGE_HASH), 0); /* no spec */
    lh_inject_free(inj);
}

static void test_inject_cache_stops_growing_at_its_cap(void)
{
    lh_inject *inj = NULL;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(lh_inject_new(&inj), 0);
    CU_ASSERT_EQUAL(lh_inject_add(inj, "verify:cache:32", err, sizeof err), 0);
    for (unsigned i = 0; i < LH_INJECT_CACHE_CAP + 100; i++)
        LH_INJECT(inj, LH_STAGE_VERIFY);
    CU_ASSERT_EQUAL(inj->cache_len[LH_STAGE_VERIFY], LH_INJECT_CACHE_CAP);
    CU_ASSERT_EQUAL(inj->blocks, LH_INJECT_CACHE_CAP + 100);
    CU_ASSERT_EQUAL(inj->cache_head[LH_STAGE_VERIFY], 100);
    lh_inject_free(inj); /* frees the cached blocks: memcheck checks */
}

static void test_inject_out_of_memory_is_reported(void)
{
    lh_inject *inj = NULL;
    char err[128];
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_inject_new(&inj), LH_ENOMEM);
    lh_alloc_fail_after(-1, 0);
    CU_ASSERT_PTR_NULL(inj);
    CU_ASSERT_EQUAL_FATAL(lh_inject_new(&inj), 0);
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_inject_add(inj, "rpc:cache:64", err, sizeof err),
                    LH_ENOMEM);
    lh_alloc_fail_after(-1, 0);
    CU_ASSERT_EQUAL(inj->spec[LH_STAGE_RPC].kind, LH_INJECT_NONE);
    lh_inject_free(inj);
}

static CU_TestInfo tests[] = {
    {"parses spec with and without EVERY",
     test_inject_parses_spec_with_and_without_every},
    {"refuses bad specs naming the problem",
     test_inject_refuses_bad_specs_naming_the_problem},
    {"is due every Nth event", test_inject_is_due_every_nth_event},
    {"cache stops growing at its cap",
     test_inject_cache_stops_growing_at_its_cap},
    {"out of memory is reported", test_inject_out_of_memory_is_reported},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("inject", tests)
