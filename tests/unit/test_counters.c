/*
 * test_counters.c - counters files of the selfheal roles.
 */
#include "cu_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "counters.h"
#include "error.h"

static char dir[64];

static void path_of(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

static void test_counters_write_then_read_round_trips(void)
{
    lh_counters c, back;
    char path[128], role[16];

    memset(&c, 0, sizeof c);
    c.v[LH_C_consumed] = 12345;
    c.v[LH_C_healed] = 7;
    path_of(path, sizeof path, "rt.cnt");
    CU_ASSERT_EQUAL(lh_counters_write(&c, "b2", path), 0);
    CU_ASSERT_EQUAL(lh_counters_read(path, &back, role, sizeof role), 0);
    CU_ASSERT_STRING_EQUAL(role, "b2");
    CU_ASSERT_EQUAL(back.v[LH_C_consumed], 12345);
    CU_ASSERT_EQUAL(back.v[LH_C_healed], 7);
    CU_ASSERT_EQUAL(back.v[LH_C_verified], 0);
    /* no temporary file left behind */
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CU_ASSERT_NOT_EQUAL(access(tmp, F_OK), 0);
    unlink(path);
}

static void test_counters_missing_file_is_not_found(void)
{
    lh_counters c;
    char path[128];
    path_of(path, sizeof path, "absent.cnt");
    CU_ASSERT_EQUAL(lh_counters_read(path, &c, NULL, 0), LH_ENOTFOUND);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static void test_counters_malformed_line_leaves_output_unchanged(void)
{
    lh_counters c;
    char path[128];
    path_of(path, sizeof path, "bad.cnt");
    write_text(path, "role a\nconsumed 5\nverified five\n");
    memset(&c, 0xab, sizeof c);
    CU_ASSERT_EQUAL(lh_counters_read(path, &c, NULL, 0), LH_EPARSE);
    CU_ASSERT_EQUAL(c.v[LH_C_consumed], 0xababababababababULL);
    unlink(path);
}

static void test_counters_unknown_names_are_skipped(void)
{
    lh_counters c;
    char path[128];
    path_of(path, sizeof path, "future.cnt");
    write_text(path, "role a\npid 1\nsomething_new 9\nconsumed 5\n");
    CU_ASSERT_EQUAL(lh_counters_read(path, &c, NULL, 0), 0);
    CU_ASSERT_EQUAL(c.v[LH_C_consumed], 5);
    unlink(path);
}

static void test_counters_add_sums_each_counter(void)
{
    lh_counters a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.v[LH_C_finished] = 2;
    b.v[LH_C_finished] = 3;
    b.v[LH_C_healed] = 1;
    lh_counters_add(&a, &b);
    CU_ASSERT_EQUAL(a.v[LH_C_finished], 5);
    CU_ASSERT_EQUAL(a.v[LH_C_healed], 1);
}

static void test_counters_tick_writes_at_most_every_100ms(void)
{
    lh_counters c;
    char path[128];
    int64_t last = 0;
    memset(&c, 0, sizeof c);
    path_of(path, sizeof path, "tick.cnt");
    CU_ASSERT_EQUAL(lh_counters_tick(&c, "a", path, &last, 0), 0);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    unlink(path);
    CU_ASSERT_EQUAL(lh_counters_tick(&c, "a", path, &last, 0), 0);
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0); /* too soon */
    CU_ASSERT_EQUAL(lh_counters_tick(&c, "a", path, &last, 1), 0);
    CU_ASSERT_EQUAL(access(path, F_OK), 0); /* forced */
    unlink(path);
}

static void test_counters_names_and_ids_agree(void)
{
    for (int i = 0; i < LH_C_COUNT; i++)
        CU_ASSERT_EQUAL(lh_counter_id(lh_counter_name(i)), i);
    CU_ASSERT_EQUAL(lh_counter_id("nope"), LH_ENOTFOUND);
    CU_ASSERT_PTR_NULL(lh_counter_name(LH_C_COUNT));
}

static int setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_counters.XXXXXX");
    return mkdtemp(dir) == NULL;
}

static int teardown(void)
{
    return rmdir(dir);
}

static CU_TestInfo tests[] = {
    {"write then read round-trips", test_counters_write_then_read_round_trips},
    {"missing file is not found", test_counters_missing_file_is_not_found},
    {"malformed line leaves output unchanged",
     test_counters_malformed_line_leaves_output_unchanged},
    {"unknown names are skipped", test_counters_unknown_names_are_skipped},
    {"add sums each counter", test_counters_add_sums_each_counter},
    {"tick writes at most every 100 ms",
     test_counters_tick_writes_at_most_every_100ms},
    {"names and ids agree", test_counters_names_and_ids_agree},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    CU_SuiteInfo suites[] = {
        {"counters", setup, teardown, NULL, NULL, tests},
        CU_SUITE_INFO_NULL,
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() +
                      CU_get_number_of_tests_failed() +
                      CU_get_number_of_suites_failed();
    unsigned ran = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return failed || ran == 0 ? 1 : 0;
}
