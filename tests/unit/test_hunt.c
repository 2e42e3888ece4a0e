/*
 * test_hunt.c - auto's search (harness/hunt/hunt.c) driven by made-up slopes.
 *
 * A fake pipeline of five stages with selfheal's requirements answers each
 * prefix's measurement from a table (slope, interval, verdict), so the
 * tests can say which prefixes the search measured, how many runs it took
 * and which stages it named, without running anything.
 */
#include "cu_main.h"
#include "error.h"
#include "hunt.h"

#include <math.h>
#include <string.h>

#define STAGES "forward,hash,enqueue,verify,rpc"
#define REQUIRES "hash:forward,enqueue:forward,verify:forward,rpc:verify"
#define FLOOR 1.0

enum { FORWARD, HASH, ENQUEUE, VERIFY, RPC };

typedef struct fake {
    lh_hunt_point p[LH_HUNT_MAX_STAGES + 1]; /* by distinct prefix */
    int asked[LH_HUNT_MAX_STAGES + 1];
    int calls;
    int fail_at; /* call number that fails, 0: none */
} fake;

static int fake_measure(void *arg, int k, lh_hunt_point *out)
{
    fake *f = arg;
    f->calls++;
    if (f->fail_at && f->calls == f->fail_at)
        return LH_EIO;
    f->asked[k]++;
    *out = f->p[k];
    return 0;
}

/* A point with a symmetric interval; a leak when the interval clears the
 * floor (as the run's own decision would say). */
static lh_hunt_point pt(double slope, double half)
{
    lh_hunt_point p = {slope - half > FLOOR, slope, slope - half,
                       slope + half};
    return p;
}

static void selfheal(lh_hunt_stages *s)
{
    char err[128];
    CU_ASSERT_EQUAL_FATAL(lh_hunt_stages_parse(s, STAGES, REQUIRES, err,
                                               sizeof err), 0);
}

/* Prefix k (1..5) leaks `bytes` per stage of `leaking` it holds, with a
 * +-0.3 interval per run. */
static void plant(fake *f, unsigned leaking, double bytes)
{
    memset(f, 0, sizeof *f);
    for (int k = 1; k <= 5; k++) {
        double slope = 0;
        for (int i = 0; i < k; i++)
            if (leaking & (1u << i))
                slope += bytes;
        f->p[k] = pt(slope, 0.3);
    }
}

static void test_hunt_clean_full_set_takes_one_run(void)
{
    lh_hunt_stages s;
    fake f;
    lh_hunt_outcome o;
    selfheal(&s);
    plant(&f, 0, 0);
    CU_ASSERT_EQUAL(lh_hunt_search(&s, FLOOR, fake_measure, &f, &o), 0);
    CU_ASSERT_EQUAL(o.runs, 1);
    CU_ASSERT_EQUAL(f.asked[5], 1);
    CU_ASSERT_EQUAL(o.culprits, 0u);
    CU_ASSERT_EQUAL(o.ngroups, 1);
    CU_ASSERT_EQUAL(o.groups[0].added, 0x1fu);
    CU_ASSERT_FALSE(o.groups[0].leaks);
    CU_ASSERT_EQUAL(o.first_leak, 0);
}

static void test_hunt_each_stage_leak_is_named_alone_in_bisect_runs(void)
{
    /* bisect's counts over five prefixes: 3 for the first three stages,
     * 4 for verify and rpc */
    static const int runs[5] = {3, 3, 3, 4, 4};
    lh_hunt_stages s;
    selfheal(&s);
    for (int st = 0; st < 5; st++) {
        fake f;
        lh_hunt_outcome o;
        plant(&f, 1u << st, 80);
        CU_ASSERT_EQUAL(lh_hunt_search(&s, FLOOR, fake_measure, &f, &o), 0);
        CU_ASSERT_EQUAL(o.culprits, 1u << st);
        CU_ASSERT_EQUAL(o.runs, runs[st]);
        CU_ASSERT_EQUAL(f.calls, runs[st]);
        CU_ASSERT_EQUAL(o.first_leak, st + 1);
        CU_ASSERT_EQUAL(o.last_leak, st + 1);
        /* the groups cover every stage once, in order */
        unsigned seen = 0;
        for (int g = 0; g < o.ngroups; g++) {
            CU_ASSERT_EQUAL(o.groups[g].added & seen, 0u);
            seen |= o.groups[g].added;
            if (g > 0)
                CU_ASSERT_EQUAL(o.groups[g].lo, o.groups[g - 1].hi);
        }
        CU_ASSERT_EQUAL(seen, 0x1fu);
    }
}

/* The session's false second culprit: a leak in verify measured 80 with
 * verify on and 84.8 with rpc on too, each run's interval +-0.3.  The
 * point increment (4.8) and even the two runs' raw intervals (4.2..5.4)
 * clear the floor; the run-to-run spread does not let it. */
static void test_hunt_verify_leak_with_a_step_at_rpc_names_only_verify(void)
{
    lh_hunt_stages s;
    fake f;
    lh_hunt_outcome o;
    selfheal(&s);
    plant(&f, 1u << VERIFY, 80);
    f.p[5] = pt(84.8, 0.3);
    CU_ASSERT_EQUAL(lh_hunt_search(&s, FLOOR, fake_measure, &f, &o), 0);
    CU_ASSERT_EQUAL(o.culprits, 1u << VERIFY);
    CU_ASSERT(f.p[5].ci_low - f.p[4].ci_high > FLOOR); /* as it was read */
    for (int g = 0; g < o.ngroups; g++)
        if (o.groups[g].added & (1u << RPC)) {
            CU_ASSERT_FALSE(o.groups[g].leaks);
            CU_ASSERT_DOUBLE_EQUAL(o.groups[g].d.value, 4.8, 1e-9);
            CU_ASSERT(o.groups[g].d.low < FLOOR);
        }
}

/* The other one seen: hash leaking 80, 88 with enqueue on. */
static void test_hunt_hash_leak_with_a_step_at_enqueue_names_only_hash(void)
{
    lh_hunt_stages s;
    fake f;
    lh_hunt_outcome o;
    selfheal(&s);
    plant(&f, 1u << HASH, 80);
    for (int k = 3; k <= 5; k++)
        f.p[k] = pt(88, 0.4);
    CU_ASSERT_EQUAL(lh_hunt_search(&s, FLOOR, fake_measure, &f, &o), 0);
    CU_ASSERT_EQUAL(o.culprits, 1u << HASH);
}

static void test_hunt_two_leaking_stages_are_both_named(void)
{
    lh_hunt_stages s;
    fake f;
    lh_hunt_outcome o;
    selfheal(&s);
    plant(&f, (1u << HASH) | (1u << RPC), 80);
    CU_ASSERT_EQUAL(lh_hunt_search(&s, FLOOR, fake_measure, &f, &o), 0);
    CU_ASSERT_EQUAL(o.culprits, (1u << HASH) | (1u << RPC));
    CU_ASSERT_EQUAL(o.runs, 5); /* every prefix, each once */
    for (int k = 1; k <= 5; k++)
        CU_ASSERT_EQUAL(f.asked[k], 1);
    CU_ASSERT_EQUAL(o.first_leak, 2);
    CU_ASSERT_EQUAL(o.last_leak, 5);
    int leaking = 0;
    for (int g = 0; g < o.ngroups; g++)
        if (o.groups[g].leaks) {
            leaking++;
            CU_ASSERT_DOUBLE_EQUAL(o.groups[g].d.value, 80, 1e-9);
        }
    CU_ASSERT_EQUAL(leaking, 2);
}

/* A second leak a third the size of the first is still found. */
static void test_hunt_smaller_second_leak_is_named(void)
{
    lh_hunt_stages s;
    fake f;
    lh_hunt_outcome o;
    selfheal(&s);
    plant(&f, 1u << HASH, 80);
    f.p[5] = pt(80 + 26, 0.3);
    CU_ASSERT_EQUAL(lh_hunt_search(&s, FLOOR, fake_measure, &f, &o), 0);
    CU_ASSERT_EQUAL(o.culprits, (1u << HASH) | (1u << RPC));
}

static void test_hunt_leak_under_the_floor_is_no_culprit(void)
{
    lh_hunt_stages s;
    fake f;
    lh_hunt_outcome o;
    selfheal(&s);
    plant(&f, 1u << RPC, 0.8);
    CU_ASSERT_EQUAL(lh_hunt_search(&s, FLOOR, fake_measure, &f, &o), 0);
    CU_ASSERT_EQUAL(o.culprits, 0u);
    CU_ASSERT_EQUAL(o.runs, 1);
}

/* An inconclusive run without a slope (too few samples) adds nothing. */
static void test_hunt_run_without_a_slope_is_no_leak(void)
{
    lh_hunt_stages s;
    fake f;
    lh_hunt_outcome o;
    selfheal(&s);
    plant(&f, 0, 0);
    f.p[5] = (lh_hunt_point){0, NAN, NAN, NAN};
    CU_ASSERT_EQUAL(lh_hunt_search(&s, FLOOR, fake_measure, &f, &o), 0);
    CU_ASSERT_EQUAL(o.culprits, 0u);
    CU_ASSERT_FALSE(o.groups[0].leaks);
}

/* A full set that leaks only as a whole, each half under the floor: the
 * search still ends at one stage, in the half that adds more. */
static void test_hunt_leak_spread_under_the_floor_follows_the_bigger_half(void)
{
    lh_hunt_stages s;
    fake f;
    lh_hunt_outcome o;
    selfheal(&s);
    plant(&f, 0, 0);
    f.p[2] = pt(0.7, 0.05);
    f.p[3] = pt(0.7, 0.05);
    f.p[4] = pt(0.7, 0.05);
    f.p[5] = pt(1.8, 0.05);
    CU_ASSERT_EQUAL(lh_hunt_search(&s, FLOOR, fake_measure, &f, &o), 0);
    CU_ASSERT_EQUAL(o.culprits, 1u << RPC);
}

static void test_hunt_failed_run_stops_the_search_with_no_culprit(void)
{
    lh_hunt_stages s;
    fake f;
    lh_hunt_outcome o;
    selfheal(&s);
    plant(&f, 1u << RPC, 80);
    f.fail_at = 2;
    CU_ASSERT_EQUAL(lh_hunt_search(&s, FLOOR, fake_measure, &f, &o), LH_EIO);
    CU_ASSERT_EQUAL(f.calls, 2);
    CU_ASSERT_EQUAL(o.culprits, 0u);
    CU_ASSERT_EQUAL(o.ngroups, 0);
}

static void test_hunt_delta_widens_each_run_by_its_spread(void)
{
    lh_hunt_point a = {1, 80, 79.8, 80.2}, b = {1, 84.8, 84.5, 85.1};
    lh_hunt_delta d;
    lh_hunt_delta_of(&a, &b, &d);
    CU_ASSERT_DOUBLE_EQUAL(d.value, 4.8, 1e-9);
    /* b's half-width below (0.3 + 8.48) with a's above (0.2 + 8) */
    double lo = sqrt(8.78 * 8.78 + 8.2 * 8.2);
    CU_ASSERT_DOUBLE_EQUAL(d.low, 4.8 - lo, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(d.high, 4.8 + lo, 1e-9);
    CU_ASSERT_FALSE(lh_hunt_adds_leak(&a, &b, FLOOR));
    /* from nothing (the empty set) to a leak */
    lh_hunt_point zero = {0, 0, 0, 0};
    CU_ASSERT_TRUE(lh_hunt_adds_leak(&zero, &a, FLOOR));
    /* an increment is a leak only where b's own run says leak */
    lh_hunt_point not_leak = {0, 80, 79.8, 80.2};
    CU_ASSERT_FALSE(lh_hunt_adds_leak(&zero, &not_leak, FLOOR));
}

static void test_hunt_requirements_give_distinct_prefixes(void)
{
    lh_hunt_stages s;
    char err[128];
    unsigned sets[LH_HUNT_MAX_STAGES + 1];
    /* a needs c: prefix 1 is {a,c}, prefix 2 {a,b,c}, prefix 3 the same */
    CU_ASSERT_EQUAL_FATAL(lh_hunt_stages_parse(&s, "a,b,c", "a:c", err,
                                               sizeof err), 0);
    CU_ASSERT_EQUAL(lh_hunt_prefixes(&s, sets), 2);
    CU_ASSERT_EQUAL(sets[0], 0u);
    CU_ASSERT_EQUAL(sets[1], 0x5u);
    CU_ASSERT_EQUAL(sets[2], 0x7u);
    /* the step to {a,c} is named for a, the stage that brought c */
    CU_ASSERT_EQUAL(lh_hunt_step_stage(&s, 0x5u), 2);
    CU_ASSERT_EQUAL(lh_hunt_step_stage(&s, 0x2u), 1);
    CU_ASSERT_EQUAL(lh_hunt_step_stage(&s, 0), -1);
    char name[64];
    lh_hunt_set_name(&s, 0x5u, name, sizeof name);
    CU_ASSERT_STRING_EQUAL(name, "a,c");
}

static void test_hunt_stages_parse_rejects_bad_lists_and_keeps_output(void)
{
    lh_hunt_stages s;
    char err[128];
    selfheal(&s);
    lh_hunt_stages before = s;
    CU_ASSERT_EQUAL(lh_hunt_stages_parse(&s, "a,b", "b:x", err, sizeof err),
                    LH_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "b:x"));
    CU_ASSERT_EQUAL(lh_hunt_stages_parse(&s, "a,,b", NULL, err, sizeof err),
                    LH_EINVAL);
    CU_ASSERT_EQUAL(lh_hunt_stages_parse(&s, "a,b,a", NULL, err, sizeof err),
                    LH_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'a' is twice"));
    CU_ASSERT_EQUAL(lh_hunt_stages_parse(&s, "a,b", "b:b", err, sizeof err),
                    LH_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "b:b"));
    CU_ASSERT_EQUAL(lh_hunt_stages_parse(&s, "", NULL, err, sizeof err),
                    LH_EINVAL);
    CU_ASSERT_EQUAL(lh_hunt_stages_parse(
                        &s, "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", NULL, err,
                        sizeof err),
                    LH_EINVAL);
    CU_ASSERT_EQUAL(memcmp(&s, &before, sizeof s), 0);
}

static CU_TestInfo tests[] = {
    {"clean full set takes one run", test_hunt_clean_full_set_takes_one_run},
    {"each stage's leak is named alone in bisect's runs",
     test_hunt_each_stage_leak_is_named_alone_in_bisect_runs},
    {"verify leak with a step at rpc names only verify",
     test_hunt_verify_leak_with_a_step_at_rpc_names_only_verify},
    {"hash leak with a step at enqueue names only hash",
     test_hunt_hash_leak_with_a_step_at_enqueue_names_only_hash},
    {"two leaking stages are both named",
     test_hunt_two_leaking_stages_are_both_named},
    {"smaller second leak is named", test_hunt_smaller_second_leak_is_named},
    {"leak under the floor is no culprit",
     test_hunt_leak_under_the_floor_is_no_culprit},
    {"run without a slope is no leak", test_hunt_run_without_a_slope_is_no_leak},
    {"leak spread under the floor follows the bigger half",
     test_hunt_leak_spread_under_the_floor_follows_the_bigger_half},
    {"failed run stops the search with no culprit",
     test_hunt_failed_run_stops_the_search_with_no_culprit},
    {"delta widens each run by its spread",
     test_hunt_delta_widens_each_run_by_its_spread},
    {"requirements give distinct prefixes",
     test_hunt_requirements_give_distinct_prefixes},
    {"stages parse rejects bad lists and keeps output",
     test_hunt_stages_parse_rejects_bad_lists_and_keeps_output},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("hunt", tests)
