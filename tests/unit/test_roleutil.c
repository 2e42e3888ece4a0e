/*
 * test_roleutil.c - option values, the auth token's sources and its
 * comparison (stages/roleutil.h).
 */
#include "cu_main.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* A child with the stop deadline from `env` gets SIGTERM and then hangs
 * (sleeps 5 s) instead of stopping.  Returns its wait status, or -1 when
 * it was still there after `wait_ms` (then killed).  Under valgrind the
 * child's exit status is memcheck's (it reports CUnit's registry, which
 * the child inherited and never frees): exit_is() then checks nothing,
 * and the timing tells the deadline's exit from the others. */
static int hung_child(const char *env, int wait_ms, double *secs)
{
    struct timespec t0, t1;
    fflush(NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0)
        return -2;
    if (pid == 0) {
        if (env != NULL)
            setenv("LH_STOP_DEADLINE_MS", env, 1);
        else
            unsetenv("LH_STOP_DEADLINE_MS");
        lh_role_signals();
        if (lh_role_stop_deadline("t") != 0)
            _exit(2);
        raise(SIGTERM);
        for (int i = 0; i < 50; i++)
            usleep(100000); /* "waiting for something" */
        _exit(0);
    }
    int st = 0;
    for (int waited = 0; waited < wait_ms; waited += 10) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            *secs = (double)(t1.tv_sec - t0.tv_sec) +
                    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
            return st;
        }
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static int exit_is(int st, int code)
{
    if (st < 0 || !WIFEXITED(st))
        return 0;
    return getenv("LH_UNDER_VALGRIND") != NULL || WEXITSTATUS(st) == code;
}

static void test_roleutil_stop_deadline_ends_a_hung_stop(void)
{
    double secs = 0;
    int st = hung_child("300", 4000, &secs);
    CU_ASSERT(exit_is(st, 1));
    CU_ASSERT(secs >= 0.29 && secs < 4.0);
}

static void test_roleutil_stop_deadline_zero_means_none_and_bad_is_refused(
    void)
{
    double secs = 0;
    /* 0: no deadline; the child sleeps its 5 s (killed after 1). */
    CU_ASSERT_EQUAL(hung_child("0", 1000, &secs), -1);
    int st = hung_child("soon", 4000, &secs);
    CU_ASSERT(exit_is(st, 2));
    CU_ASSERT(secs < 4.0);
}

typedef struct t_opts {
    const char *name;
    uint64_t count;
    double rate;
    int quiet;
    int extra; /* values taken by the callback */
} t_opts;

static int take_extra(void *opts, const char *val)
{
    if (strcmp(val, "bad") == 0)
        return 2;
    ((t_opts *)opts)->extra++;
    return 0;
}

static const lh_opt t_table[] = {
    LH_OPT_S(t_opts, "--name", name),
    LH_OPT_N(t_opts, "--count", count, 1, 10),
    LH_OPT_D(t_opts, "--rate", rate, 1.0),
    LH_OPT_F(t_opts, "--quiet", quiet),
    LH_OPT_C("--extra", take_extra),
};

static int t_parse(t_opts *o, int argc, char **argv)
{
    return lh_opts_parse("t", argc, argv, t_table,
                         sizeof t_table / sizeof t_table[0], o);
}

static void test_roleutil_opts_fill_the_struct_by_the_table(void)
{
    char *ok[] = {"t", "--name", "n1", "--count", "10", "--quiet",
                  "--rate", "0.5", "--extra", "x", "--extra", "y"};
    t_opts o = {.name = "default", .count = 3};
    CU_ASSERT_EQUAL(t_parse(&o, 12, ok), 0);
    CU_ASSERT_STRING_EQUAL(o.name, "n1");
    CU_ASSERT_EQUAL(o.count, 10);
    CU_ASSERT_EQUAL(o.quiet, 1);
    CU_ASSERT_DOUBLE_EQUAL(o.rate, 0.5, 1e-12);
    CU_ASSERT_EQUAL(o.extra, 2);
    t_opts d = {.name = "default", .count = 3};
    CU_ASSERT_EQUAL(t_parse(&d, 1, ok), 0); /* nothing given: defaults */
    CU_ASSERT_STRING_EQUAL(d.name, "default");
    CU_ASSERT_EQUAL(d.count, 3);
}

static void test_roleutil_opts_refuse_bad_lines_and_see_help(void)
{
    char *help[] = {"t", "--count", "2", "--help", "--bogus"};
    char *unknown[] = {"t", "--bogus", "--help"};
    char *missing[] = {"t", "--name"};
    char *range[] = {"t", "--count", "11"};
    char *rate[] = {"t", "--rate", "1.5"};
    char *call[] = {"t", "--extra", "bad"};
    t_opts o = {0};
    CU_ASSERT_EQUAL(t_parse(&o, 5, help), 1);
    CU_ASSERT_EQUAL(t_parse(&o, 3, unknown), 2);
    CU_ASSERT_EQUAL(t_parse(&o, 2, missing), 2);
    CU_ASSERT_EQUAL(t_parse(&o, 3, range), 2);
    CU_ASSERT_EQUAL(t_parse(&o, 3, rate), 2);
    CU_ASSERT_EQUAL(t_parse(&o, 3, call), 2);
    CU_ASSERT_EQUAL(o.count, 2); /* from the first line only */
    CU_ASSERT_DOUBLE_EQUAL(o.rate, 0.0, 1e-12);
}

static CU_TestInfo tests[] = {
    {"stop deadline ends a hung stop",
     test_roleutil_stop_deadline_ends_a_hung_stop},
    {"stop deadline zero means none and bad is refused",
     test_roleutil_stop_deadline_zero_means_none_and_bad_is_refused},
    {"u64 range accepts bounds and refuses outside",
     test_roleutil_u64_range_accepts_bounds_and_refuses_outside},
    {"token from flag then env and bounded",
     test_roleutil_token_from_flag_then_env_and_bounded},
    {"token equal needs same bytes and length",
     test_roleutil_token_equal_needs_same_bytes_and_length},
    {"opts fill the struct by the table",
     test_roleutil_opts_fill_the_struct_by_the_table},
    {"opts refuse bad lines and see help",
     test_roleutil_opts_refuse_bad_lines_and_see_help},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("roleutil", tests)
