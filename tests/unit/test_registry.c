/*
 * test_registry.c - the stage registry and stage lists.
 */
#include "cu_main.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "registry.h"

static void test_registry_lines_follow_pipeline_order(void)
{
    static const char *const order[] = {"forward", "hash", "enqueue",
                                        "verify", "rpc"};
    for (int i = 0; i < LH_STAGE_COUNT; i++) {
        CU_ASSERT_STRING_EQUAL(lh_stage_registry[i].name, order[i]);
        CU_ASSERT_PTR_NOT_NULL(lh_stage_registry[i].ops);
        CU_ASSERT_PTR_NOT_NULL(lh_stage_registry[i].ops->handle);
        CU_ASSERT_STRING_EQUAL(lh_stage_registry[i].ops->name, order[i]);
    }
}

static void test_registry_parses_a_prefix_into_its_bits(void)
{
    unsigned m = 99;
    char err[128];
    CU_ASSERT_EQUAL(lh_stages_parse("forward,hash,enqueue", &m, err,
                                    sizeof err), 0);
    CU_ASSERT_EQUAL(m, LH_STAGE_BIT(LH_STAGE_FORWARD) |
                           LH_STAGE_BIT(LH_STAGE_HASH) |
                           LH_STAGE_BIT(LH_STAGE_ENQUEUE));
    CU_ASSERT_EQUAL(lh_stages_parse("", &m, err, sizeof err), 0);
    CU_ASSERT_EQUAL(m, 0);
}

static void test_registry_unknown_name_is_refused_with_its_name(void)
{
    unsigned m = 99;
    char err[128];
    CU_ASSERT_EQUAL(lh_stages_parse("forward,hsah", &m, err, sizeof err),
                    LH_ENOTFOUND);
    CU_ASSERT_EQUAL(m, 99);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'hsah'"));
    CU_ASSERT_PTR_NULL(strchr(err, '\n'));
}

static void test_registry_missing_requirement_is_refused(void)
{
    unsigned m = 99;
    char err[128];
    CU_ASSERT_EQUAL(lh_stages_parse("forward,rpc", &m, err, sizeof err),
                    LH_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'rpc' requires"));
    CU_ASSERT_EQUAL(lh_stages_parse("hash", &m, err, sizeof err), LH_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'hash' requires 'forward'"));
    CU_ASSERT_EQUAL(m, 99);
}

static void test_registry_select_prefers_argument_then_environment(void)
{
    unsigned m = 0;
    char err[128];
    unsetenv("LEAKHUNT_STAGES");
    CU_ASSERT_EQUAL(lh_stages_select(NULL, &m, err, sizeof err), 0);
    CU_ASSERT_EQUAL(m, LH_STAGES_ALL);
    setenv("LEAKHUNT_STAGES", "forward", 1);
    CU_ASSERT_EQUAL(lh_stages_select(NULL, &m, err, sizeof err), 0);
    CU_ASSERT_EQUAL(m, LH_STAGE_BIT(LH_STAGE_FORWARD));
    CU_ASSERT_EQUAL(lh_stages_select("forward,verify", &m, err, sizeof err),
                    0);
    CU_ASSERT_EQUAL(m, LH_STAGE_BIT(LH_STAGE_FORWARD) |
                           LH_STAGE_BIT(LH_STAGE_VERIFY));
    unsetenv("LEAKHUNT_STAGES");
}

static void test_registry_format_round_trips(void)
{
    char buf[128], err[128];
    unsigned m = 0;
    lh_stages_format(LH_STAGES_ALL, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "forward,hash,enqueue,verify,rpc");
    CU_ASSERT_EQUAL(lh_stages_parse(buf, &m, err, sizeof err), 0);
    CU_ASSERT_EQUAL(m, LH_STAGES_ALL);
    lh_stages_format(0, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "");
}

static void test_registry_list_strings_match_the_table(void)
{
    char buf[128];
    lh_stages_format(LH_STAGES_ALL, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(LH_STAGE_NAMES, buf);
    /* One STAGE:NEEDED pair per direct requirement, in pipeline order. */
    CU_ASSERT_STRING_EQUAL(LH_STAGE_REQUIRES,
                           "hash:forward,enqueue:forward,verify:forward,"
                           "rpc:verify");
}

static void test_registry_needs_are_transitive(void)
{
    CU_ASSERT_EQUAL(lh_stage_needs(LH_STAGE_FORWARD), 0);
    CU_ASSERT_EQUAL(lh_stage_needs(LH_STAGE_HASH),
                    LH_STAGE_BIT(LH_STAGE_FORWARD));
    /* rpc lists verify only; verify brings forward. */
    CU_ASSERT_EQUAL(lh_stage_registry[LH_STAGE_RPC].requires,
                    LH_STAGE_BIT(LH_STAGE_VERIFY));
    CU_ASSERT_EQUAL(lh_stage_needs(LH_STAGE_RPC),
                    LH_STAGE_BIT(LH_STAGE_FORWARD) |
                        LH_STAGE_BIT(LH_STAGE_VERIFY));
    unsigned m = 99;
    char err[128];
    CU_ASSERT_EQUAL(lh_stages_parse("forward,rpc", &m, err, sizeof err),
                    LH_EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "stage 'rpc' requires 'forward,verify'");
    CU_ASSERT_EQUAL(lh_stages_parse("rpc,verify", &m, err, sizeof err),
                    LH_EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "stage 'verify' requires 'forward'");
    CU_ASSERT_EQUAL(lh_stages_parse("verify,rpc,forward", &m, err,
                                    sizeof err),
                    0);
}

static CU_TestInfo tests[] = {
    {"registry lines follow pipeline order",
     test_registry_lines_follow_pipeline_order},
    {"parses a prefix into its bits",
     test_registry_parses_a_prefix_into_its_bits},
    {"unknown name is refused with its name",
     test_registry_unknown_name_is_refused_with_its_name},
    {"missing requirement is refused",
     test_registry_missing_requirement_is_refused},
    {"select prefers argument then environment",
     test_registry_select_prefers_argument_then_environment},
    {"format round-trips", test_registry_format_round_trips},
    {"list strings match the table",
     test_registry_list_strings_match_the_table},
    {"needs are transitive", test_registry_needs_are_transitive},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("registry", tests)
