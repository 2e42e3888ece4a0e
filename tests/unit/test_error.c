/*
 * test_error.c - the error table: codes, messages and names.
 */
#include "cu_main.h"

#include "error.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

static void test_error_codes_are_negative_and_consecutive_from_minus_one(void)
{
    CU_ASSERT_EQUAL(LH_ENOMEM, -1);
    CU_ASSERT_EQUAL(LH_EINVAL, -2);
    CU_ASSERT_EQUAL(LH_ELAST_, -(int)LH_ERR_COUNT_);
    /* The last named code sits just above LH_ELAST_. */
    CU_ASSERT_EQUAL(LH_ETOOL, LH_ELAST_ + 1);
}

static void test_error_every_code_has_a_distinct_message(void)
{
    for (int a = -1; a > LH_ELAST_; a--) {
        const char *ma = lh_strerror(a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ma);
        CU_ASSERT(strlen(ma) > 0);
        CU_ASSERT_STRING_NOT_EQUAL(ma, "unknown error");
        CU_ASSERT_STRING_NOT_EQUAL(ma, "success");
        for (int b = a - 1; b > LH_ELAST_; b--)
            CU_ASSERT_STRING_NOT_EQUAL(ma, lh_strerror(b));
    }
}

static void test_error_every_code_has_a_distinct_name(void)
{
    for (int a = -1; a > LH_ELAST_; a--) {
        const char *na = lh_errname(a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(na);
        CU_ASSERT_STRING_NOT_EQUAL(na, "UNKNOWN");
        CU_ASSERT_STRING_NOT_EQUAL(na, "OK");
        for (int b = a - 1; b > LH_ELAST_; b--)
            CU_ASSERT_STRING_NOT_EQUAL(na, lh_errname(b));
    }
}

static void test_error_messages_are_lower_case_without_full_stop(void)
{
    for (int e = -1; e > LH_ELAST_; e--) {
        const char *m = lh_strerror(e);
        size_t n = strlen(m);
        CU_ASSERT(!isupper((unsigned char)m[0]));
        CU_ASSERT(m[n - 1] != '.');
    }
}

static void test_error_names_match_the_enum(void)
{
    CU_ASSERT_STRING_EQUAL(lh_errname(LH_ENOMEM), "NOMEM");
    CU_ASSERT_STRING_EQUAL(lh_errname(LH_ETIMEOUT), "TIMEOUT");
    CU_ASSERT_STRING_EQUAL(lh_errname(LH_ETOOL), "TOOL");
    CU_ASSERT_STRING_EQUAL(lh_strerror(LH_ENOMEM), "out of memory");
    CU_ASSERT_STRING_EQUAL(lh_strerror(LH_ECLOSED), "connection closed");
}

static void test_error_zero_is_success(void)
{
    CU_ASSERT_STRING_EQUAL(lh_strerror(0), "success");
    CU_ASSERT_STRING_EQUAL(lh_errname(LH_OK), "OK");
}

static void test_error_unknown_codes_get_unknown_not_null(void)
{
    int unknown[] = {1, 42, LH_ELAST_, LH_ELAST_ - 1, -1000, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CU_ASSERT_STRING_EQUAL(lh_strerror(unknown[i]), "unknown error");
        CU_ASSERT_STRING_EQUAL(lh_errname(unknown[i]), "UNKNOWN");
    }
}

static void test_error_set_why_formats_and_tolerates_no_buffer(void)
{
    char why[8];
    lh_set_why(why, sizeof why, "line %d: %s", 12, "bad");
    CU_ASSERT_STRING_EQUAL(why, "line 12");
    lh_set_why(NULL, 10, "%s", "nothing to write to");
    lh_set_why(why, 0, "%s", "no room");
    CU_ASSERT_STRING_EQUAL(why, "line 12");
}

static CU_TestInfo tests[] = {
    {"codes are negative and consecutive from -1",
     test_error_codes_are_negative_and_consecutive_from_minus_one},
    {"every code has a distinct message",
     test_error_every_code_has_a_distinct_message},
    {"every code has a distinct name",
     test_error_every_code_has_a_distinct_name},
    {"messages are lower case without full stop",
     test_error_messages_are_lower_case_without_full_stop},
    {"names match the enum", test_error_names_match_the_enum},
    {"zero is success", test_error_zero_is_success},
    {"unknown codes get unknown, not NULL",
     test_error_unknown_codes_get_unknown_not_null},
    {"set_why formats and tolerates no buffer",
     test_error_set_why_formats_and_tolerates_no_buffer},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("error", tests)
