/*
 * test_roleutil.c - option values, the auth token's sources and its
 * comparison (stages/roleutil.h).
 */
#include "cu_main.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "roleutil.h"

static void test_roleutil_u64_range_accepts_bounds_and_refuses_outside(void)
{
    uint64_t v = 7;
    CU_ASSERT_EQUAL(lh_opt_u64_range("t", "--n", "1", 1, 10, &v), 0);
    CU_ASSERT_EQUAL(v, 1);
    CU_ASSERT_EQUAL(lh_opt_u64_range("t", "--n", "10", 1, 10, &v), 0);
    CU_ASSERT_EQUAL(v, 10);
    v = 7;
    CU_ASSERT_EQUAL(lh_opt_u64_range("t", "--n", "0", 1, 10, &v), LH_EINVAL);
    CU_ASSERT_EQUAL(lh_opt_u64_range("t", "--n", "11", 1, 10, &v), LH_EINVAL);
    CU_ASSERT_EQUAL(lh_opt_u64_range("t", "--n", "-1", 0, 10, &v), LH_EINVAL);
    CU_ASSERT_EQUAL(lh_opt_u64_range("t", "--n", "3x", 0, 10, &v), LH_EINVAL);
    CU_ASSERT_EQUAL(
        lh_opt_u64_range("t", "--n", "99999999999999999999", 0, UINT64_MAX, &v),
        LH_EINVAL);
    CU_ASSERT_EQUAL(v, 7); /* unchanged on failure */
}

static void test_roleutil_token_from_flag_then_env_and_bounded(void)
{
    const char *t = "unset";
    char big[LH_AUTH_TOKEN_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';

    unsetenv("LH_AUTH_TOKEN");
    CU_ASSERT_EQUAL(lh_auth_token("t", NULL, &t), 0);
    CU_ASSERT_PTR_NULL(t);
    setenv("LH_AUTH_TOKEN", "from-env", 1);
    CU_ASSERT_EQUAL(lh_auth_token("t", NULL, &t), 0);
    CU_ASSERT_STRING_EQUAL(t, "from-env");
    CU_ASSERT_EQUAL(lh_auth_token("t", "from-flag", &t), 0);
    CU_ASSERT_STRING_EQUAL(t, "from-flag");
    setenv("LH_AUTH_TOKEN", "", 1);
    CU_ASSERT_EQUAL(lh_auth_token("t", NULL, &t), 0);
    CU_ASSERT_PTR_NULL(t);
    t = "kept";
    CU_ASSERT_EQUAL(lh_auth_token("t", "", &t), LH_EINVAL);
    CU_ASSERT_EQUAL(lh_auth_token("t", big, &t), LH_EINVAL);
    setenv("LH_AUTH_TOKEN", big, 1);
    CU_ASSERT_EQUAL(lh_auth_token("t", NULL, &t), LH_EINVAL);
    CU_ASSERT_STRING_EQUAL(t, "kept");
    big[LH_AUTH_TOKEN_MAX] = '\0'; /* exactly the limit */
    CU_ASSERT_EQUAL(lh_auth_token("t", big, &t), 0);
    unsetenv("LH_AUTH_TOKEN");
}

static void test_roleutil_token_equal_needs_same_bytes_and_length(void)
{
    const uint8_t *p = (const uint8_t *)"secret-token";
    CU_ASSERT_EQUAL(lh_token_equal(p, 12, "secret-token"), 1);
    CU_ASSERT_EQUAL(lh_token_equal(p, 11, "secret-token"), 0); /* prefix */
    CU_ASSERT_EQUAL(lh_token_equal(p, 12, "secret-tokem"), 0); /* last */
    CU_ASSERT_EQUAL(lh_token_equal(p, 12, "Secret-token"), 0); /* first */
    CU_ASSERT_EQUAL(lh_token_equal(p, 6, "secret-token"), 0);
    CU_ASSERT_EQUAL(lh_token_equal(p, 12, "secret"), 0); /* longer */
    CU_ASSERT_EQUAL(lh_token_equal(p, 0, "s"), 0);
    /* Zero bytes in the offered token do not end the comparison. */
    const uint8_t z[3] = {'a', 0, 0};
    CU_ASSERT_EQUAL(lh_token_equal(z, 3, "a"), 0);
    CU_ASSERT_EQUAL(lh_token_equal(z, 1, "a"), 1);
}

static CU_TestInfo tests[] = {
    {"u64 range accepts bounds and refuses outside",
     test_roleutil_u64_range_accepts_bounds_and_refuses_outside},
    {"token from flag then env and bounded",
     test_roleutil_token_from_flag_then_env_and_bounded},
    {"token equal needs same bytes and length",
     test_roleutil_token_equal_needs_same_bytes_and_length},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("roleutil", tests)
