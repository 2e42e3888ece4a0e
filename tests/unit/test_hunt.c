/*
 * test_hunt.c - auto's search (harness/hunt/hunt.c) and every strategy
 * (strategies.c, strategy_auto.c) driven by made-up slopes.
 *
 * A fake pipeline of five stages with selfheal's requirements answers each
 * prefix's measurement from a table (slope, interval, verdict), so the
 * tests can say which prefixes the search measured, how many runs it took
 * and which stages it named, without running anything.
 */
#include "cu_main.h"
#include "error.h"
#include "hunt.h"
#include "strategy.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define STAGES "forward,hash,enqueue,verify,rpc"
#define REQUIRES "hash:forward,enqueue:forward,verify:forward,rpc:verify"
#define FLOOR 1.0
static const double floor_ = FLOOR; /* lh_hunt_search reads it by address */

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
    CU_ASSERT_EQUAL(lh_hunt_search(&s, &floor_, NULL, fake_measure, &f, &o), 0);
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
        CU_ASSERT_EQUAL(lh_hunt_search(&s, &floor_, NULL, fake_measure, &f, &o), 0);
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
    CU_ASSERT_EQUAL(lh_hunt_search(&s, &floor_, NULL, fake_measure, &f, &o), 0);
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
    CU_ASSERT_EQUAL(lh_hunt_search(&s, &floor_, NULL, fake_measure, &f, &o), 0);
    CU_ASSERT_EQUAL(o.culprits, 1u << HASH);
}

/* A live hunt learns its floor from its first run per unit, the full
 * set's (0.25 B/unit on the heap figure, cmd_hunt.c): a 0.9 B/unit leak
 * in rpc, under the default floor, is still found when the floor drops
 * once the search has begun. */
typedef struct learning {
    fake f;
    double *floor;
} learning;

static int learning_measure(void *arg, int k, lh_hunt_point *out)
{
    learning *l = arg;
    int rc = fake_measure(&l->f, k, out);
    *l->floor = 0.25;
    return rc;
}

static void test_hunt_floor_learnt_after_the_full_set_is_used(void)
{
    lh_hunt_stages s;
    learning l;
    lh_hunt_outcome o;
    double floor = FLOOR;
    selfheal(&s);
    plant(&l.f, 1u << RPC, 0.9);
    for (int k = 1; k <= 5; k++) /* decided at the learnt floor */
        l.f.p[k].leaks = l.f.p[k].ci_low > 0.25;
    l.floor = &floor;
    CU_ASSERT_EQUAL(lh_hunt_search(&s, &floor, NULL, learning_measure, &l, &o),
                    0);
    CU_ASSERT_EQUAL(o.culprits, 1u << RPC);
}

static void test_hunt_two_leaking_stages_are_both_named(void)
{
    lh_hunt_stages s;
    fake f;
    lh_hunt_outcome o;
    selfheal(&s);
    plant(&f, (1u << HASH) | (1u << RPC), 80);
    CU_ASSERT_EQUAL(lh_hunt_search(&s, &floor_, NULL, fake_measure, &f, &o), 0);
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
    CU_ASSERT_EQUAL(lh_hunt_search(&s, &floor_, NULL, fake_measure, &f, &o), 0);
    CU_ASSERT_EQUAL(o.culprits, (1u << HASH) | (1u << RPC));
}

static void test_hunt_leak_under_the_floor_is_no_culprit(void)
{
    lh_hunt_stages s;
    fake f;
    lh_hunt_outcome o;
    selfheal(&s);
    plant(&f, 1u << RPC, 0.8);
    CU_ASSERT_EQUAL(lh_hunt_search(&s, &floor_, NULL, fake_measure, &f, &o), 0);
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
    CU_ASSERT_EQUAL(lh_hunt_search(&s, &floor_, NULL, fake_measure, &f, &o), 0);
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
    CU_ASSERT_EQUAL(lh_hunt_search(&s, &floor_, NULL, fake_measure, &f, &o), 0);
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
    CU_ASSERT_EQUAL(lh_hunt_search(&s, &floor_, NULL, fake_measure, &f, &o), LH_EIO);
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

/*
 * The strategies (strategy.h) over a fake callback: answers by stage set
 * and job, made up per test, counting the runs a real callback would make
 * (a set asked again for the same job, not fresh, costs none).
 */

#define NSETS 32

typedef struct answers {
    lh_run_result search[NSETS], again[NSETS], sites[NSETS], kind[NSETS];
    lh_site site_store[NSETS][4];
    int has_again[NSETS]; /* a fresh search of the set answers `again` */
    int asked[3][NSETS];  /* by job and set */
    int fresh[NSETS];     /* fresh search runs of the set */
    int whole[NSETS];     /* of which to the whole budget */
    unsigned order[64];   /* sets asked, in order (every job) */
    lh_hunt_job jobs[64];
    int nasked, runs;
    int fail_at; /* ask number that fails, 0: none */
    int per_second; /* the baseline is measured per second */
} answers;

static int a_per_second(void *arg)
{
    return ((answers *)arg)->per_second;
}

static int fake_set(void *arg, unsigned set, const lh_hunt_plan *p,
                    lh_hunt_answer *ans)
{
    const lh_run_result **out = &ans->run;
    ans->per_second = set == 0 && a_per_second(arg);
    answers *a = arg;
    if (a->nasked < 64) {
        a->order[a->nasked] = set;
        a->jobs[a->nasked] = p->job;
    }
    a->nasked++;
    if (a->fail_at && a->nasked == a->fail_at)
        return LH_EIO;
    if (p->fresh || a->asked[p->job][set] == 0)
        a->runs++;
    a->asked[p->job][set]++;
    if (p->job == LH_HUNT_SITES) {
        *out = &a->sites[set];
    } else if (p->job == LH_HUNT_KIND) {
        *out = &a->kind[set];
    } else {
        if (p->fresh) {
            a->fresh[set]++;
            a->whole[set] += p->whole;
        }
        *out = p->fresh && a->has_again[set] ? &a->again[set]
                                              : &a->search[set];
    }
    return 0;
}

/* A run of `set` with a +-half interval, judged as a run would be: leak
 * when the interval clears the floor, clean when it lies under it,
 * inconclusive otherwise. */
static void answer(lh_run_result *r, const lh_hunt_stages *s, unsigned set,
                   double slope, double half)
{
    memset(r, 0, sizeof *r);
    lh_hunt_set_name(s, set, r->enabled, sizeof r->enabled);
    r->slope = slope;
    r->ci_low = slope - half;
    r->ci_high = slope + half;
    r->threshold = FLOOR;
    r->verdict = r->ci_low > FLOOR    ? LH_RUN_LEAK
                 : r->ci_high < FLOOR ? LH_RUN_CLEAN
                                      : LH_RUN_INCONCLUSIVE;
    snprintf(r->reason, sizeof r->reason, "%s",
             r->verdict == LH_RUN_LEAK ? "growth" : "flat");
}

/* Every set answers `bytes` per stage of `leaking` it holds (+-0.3),
 * for every job; no site. */
static void plant_sets(answers *a, const lh_hunt_stages *s, unsigned leaking,
                       double bytes)
{
    memset(a, 0, sizeof *a);
    for (unsigned set = 0; set < (1u << s->n); set++) {
        double slope = bytes * __builtin_popcount(set & leaking);
        answer(&a->search[set], s, set, slope, 0.3);
        answer(&a->sites[set], s, set, slope, 0.3);
        answer(&a->kind[set], s, set, slope, 0.3);
    }
}

/* Gives set's sites run a site of `bytes` per unit in `stage`'s code
 * ("": no stage's). */
static void add_site(answers *a, unsigned set, const char *stage,
                     double bytes, int in_flight)
{
    lh_run_result *r = &a->sites[set];
    lh_site *x = &a->site_store[set][r->nsites];
    memset(x, 0, sizeof *x);
    snprintf(x->function, sizeof x->function, "alloc_%s",
             stage[0] ? stage : "main");
    snprintf(x->caller, sizeof x->caller, "run_%s", stage[0] ? stage : "main");
    snprintf(x->stage, sizeof x->stage, "%s", stage);
    snprintf(x->file, sizeof x->file, "%s.c", stage[0] ? stage : "main");
    x->line = 42;
    x->bytes_per_unit = bytes;
    x->in_flight = in_flight;
    r->sites = a->site_store[set];
    r->nsites++;
}

static void toy(lh_hunt_stages *s, const char *requires)
{
    char err[128];
    CU_ASSERT_EQUAL_FATAL(lh_hunt_stages_parse(s, "parse,filter,emit",
                                               requires, err, sizeof err),
                          0);
}

/* Runs strategy `name` over the fake. */
static void hunt_with(const char *name, const lh_hunt_stages *s, answers *a,
                      lh_hunt_result *out)
{
    const lh_hunt_strategy *st = lh_hunt_strategy_find(name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    lh_hunt_ctx c = {.st = s, .floor = FLOOR, .log = NULL,
                     .measure = fake_set, .arg = a};
    lh_hunt_run(st, &c, out);
}

/* Plants `leaking` (64 B/unit a stage) and runs strategy `name`: it names
 * `culprit` alone, after `runs` runs. */
static void expect_one(const char *name, const lh_hunt_stages *s,
                       unsigned leaking, int culprit, int runs)
{
    answers a;
    lh_hunt_result r;
    plant_sets(&a, s, leaking, 64);
    hunt_with(name, s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 1);
    CU_ASSERT_EQUAL(r.culprit[0], culprit);
    CU_ASSERT_EQUAL(a.runs, runs);
    CU_ASSERT_FALSE(r.failed);
}

static void test_strategy_table_names_every_strategy(void)
{
    char names[128], small[8];
    lh_hunt_strategy_names(names, sizeof names);
    CU_ASSERT_STRING_EQUAL(names, "auto, linear, bisect, isolate or ddmin");
    CU_ASSERT_PTR_NULL(lh_hunt_strategy_find("nosuch"));
    CU_ASSERT_PTR_EQUAL(lh_hunt_strategy_find("auto"),
                        &lh_hunt_strategies[0]);
    lh_hunt_strategy_names(small, sizeof small);
    CU_ASSERT_EQUAL(strlen(small), sizeof small - 1);
}

/* linear: prefix k for k = 1.. until one leaks; the stage it adds is
 * named, after k runs. */
static void test_linear_names_the_stage_of_the_first_leaking_prefix(void)
{
    lh_hunt_stages s;
    toy(&s, NULL);
    for (int st = 0; st < 3; st++)
        expect_one("linear", &s, 1u << st, st, st + 2);
}

static void test_linear_clean_runs_every_prefix_and_names_none(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    toy(&s, NULL);
    plant_sets(&a, &s, 0, 0);
    hunt_with("linear", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 0);
    CU_ASSERT_EQUAL(a.runs, 4);
    CU_ASSERT_STRING_EQUAL(r.note, "");
    /* a failed run stops it */
    plant_sets(&a, &s, 1u << 2, 64);
    a.fail_at = 3;
    hunt_with("linear", &s, &a, &r);
    CU_ASSERT_TRUE(r.failed);
    CU_ASSERT_EQUAL(r.nculprit, 0);
    CU_ASSERT_EQUAL(a.nasked, 3);
}

/* With requirements, prefixes repeat: asking again costs no run. */
static void test_linear_repeated_prefix_costs_no_run(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(lh_hunt_stages_parse(&s, "a,b,c", "a:c", err,
                                               sizeof err), 0);
    plant_sets(&a, &s, 0, 0);
    hunt_with("linear", &s, &a, &r);
    CU_ASSERT_EQUAL(a.nasked, 4);
    CU_ASSERT_EQUAL(a.runs, 3); /* none, {a,c}, {a,b,c} twice */
    CU_ASSERT_EQUAL(r.nculprit, 0);
}

/* A prefix that cannot be decided stops linear and bisect: a later
 * prefix's leak would not say whether this one leaks. */
static void test_linear_and_bisect_stop_at_an_undecided_prefix(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    toy(&s, NULL);
    plant_sets(&a, &s, 1u << 2, 64);
    answer(&a.search[0x3], &s, 0x3, 1.0, 0.5); /* parse,filter: wide */
    hunt_with("linear", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 0);
    CU_ASSERT_EQUAL(a.runs, 3);
    CU_ASSERT_EQUAL(r.undecided, 1);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(r.note, "parse,filter could not be decided (flat)"));
    /* bisect: the full set, prefix 1 (clean), then prefix 2 */
    plant_sets(&a, &s, 1u << 2, 64);
    answer(&a.search[0x3], &s, 0x3, 1.0, 0.5);
    hunt_with("bisect", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 0);
    CU_ASSERT_EQUAL(a.runs, 4);
    CU_ASSERT_EQUAL(r.undecided, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.note, "the search stops there"));
}

/* bisect: the full set, then halves: each stage's leak is found in
 * bisect's count of runs; a clean full set is one run. */
static void test_bisect_names_each_stage_in_its_count_of_runs(void)
{
    static const int runs[5] = {4, 4, 4, 5, 5};
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    selfheal(&s);
    for (int st = 0; st < 5; st++)
        expect_one("bisect", &s, 1u << st, st, runs[st]);
    plant_sets(&a, &s, 0, 0);
    hunt_with("bisect", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 0);
    CU_ASSERT_EQUAL(a.runs, 2);
    plant_sets(&a, &s, 1u << RPC, 80);
    a.fail_at = 3;
    hunt_with("bisect", &s, &a, &r);
    CU_ASSERT_TRUE(r.failed);
    CU_ASSERT_EQUAL(r.nculprit, 0);
}

/* isolate: each stage with what it requires; a stage whose growth its
 * requirements' runs explain is no culprit. */
static void test_isolate_judges_a_stage_over_its_requirements(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    toy(&s, NULL);
    expect_one("isolate", &s, 1u << 2, 2, 4);
    /* filter and emit need parse, which leaks: they leak as much */
    toy(&s, "filter:parse,emit:parse");
    expect_one("isolate", &s, 1u << 0, 0, 4);
    /* a stage leaking on top of its requirement is named too */
    plant_sets(&a, &s, (1u << 0) | (1u << 2), 64);
    hunt_with("isolate", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 2);
    CU_ASSERT_EQUAL(r.culprit[1], 2);
    CU_ASSERT_EQUAL(a.order[1], 0x1u);
    CU_ASSERT_EQUAL(a.order[2], 0x3u);
    CU_ASSERT_EQUAL(a.order[3], 0x5u);
}

/* A noisy run: emit's interval reaches under its requirement's slope plus
 * the floor: no culprit; a failed run names nothing. */
static void test_isolate_noisy_step_or_failed_run_is_no_culprit(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    toy(&s, "filter:parse,emit:parse");
    plant_sets(&a, &s, 1u << 0, 64);
    answer(&a.search[0x5], &s, 0x5, 66, 2); /* 64 .. 68 */
    hunt_with("isolate", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 1);
    CU_ASSERT_EQUAL(r.culprit[0], 0);
    plant_sets(&a, &s, 1u << 0, 64);
    a.fail_at = 3;
    hunt_with("isolate", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 0);
    CU_ASSERT_TRUE(r.failed);
    CU_ASSERT_EQUAL(a.nasked, 3);
}

/* ddmin: full, without emit (leaks), without filter (clean), without
 * parse (leaks): {filter} is 1-minimal, after 4 runs and the baseline. */
static void test_ddmin_finds_a_minimal_leaking_set(void)
{
    lh_hunt_stages s;
    toy(&s, NULL);
    expect_one("ddmin", &s, 1u << 1, 1, 5);
    /* parse leaks in every set that has it: 3 runs */
    expect_one("ddmin", &s, 1u << 0, 0, 4);
}

/* Two stages that leak only together are both named. */
static void test_ddmin_names_stages_that_leak_only_together(void)
{
    answers a;
    lh_hunt_result r;
    lh_hunt_stages s;
    toy(&s, NULL);
    plant_sets(&a, &s, 0, 0);
    answer(&a.search[0x7], &s, 0x7, 64, 0.3);
    answer(&a.search[0x3], &s, 0x3, 64, 0.3);
    hunt_with("ddmin", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 2);
    CU_ASSERT_EQUAL(r.culprit[0], 0);
    CU_ASSERT_EQUAL(r.culprit[1], 1);
}

/* With requirements, dropping parse drops what needs it; parse, needed by
 * the others, is named only when it is all there is. */
static void test_ddmin_drops_dependants_and_spares_requirements(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    toy(&s, "filter:parse,emit:parse");
    expect_one("ddmin", &s, 1u << 0, 0, 4);
    plant_sets(&a, &s, 1u << 0, 64);
    hunt_with("ddmin", &s, &a, &r);
    CU_ASSERT_EQUAL(a.order[1], 0x7u);
    CU_ASSERT_EQUAL(a.order[2], 0x3u);
    CU_ASSERT_EQUAL(a.order[3], 0x1u);
    expect_one("ddmin", &s, 1u << 1, 1, 4);
}

static void test_ddmin_clean_full_set_or_failed_run_names_none(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    toy(&s, NULL);
    plant_sets(&a, &s, 0, 0);
    hunt_with("ddmin", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 0);
    CU_ASSERT_EQUAL(a.runs, 2);
    plant_sets(&a, &s, 1u << 1, 64);
    a.fail_at = 4;
    hunt_with("ddmin", &s, &a, &r);
    CU_ASSERT_TRUE(r.failed);
    CU_ASSERT_EQUAL(r.nculprit, 0);
}

/* selfheal, rpc leaking 64 B/event; the sites run charges it to rpc's
 * code, memcheck sees reachable growth. */
static void plant_rpc(answers *a, const lh_hunt_stages *s)
{
    plant_sets(a, s, 1u << RPC, 64);
    add_site(a, 0x1f, "rpc", 64, 0);
    a->kind[0x1f].verdict = LH_RUN_INCONCLUSIVE;
    a->kind[0x1f].reachable_growth = 4096;
}

/* auto: the baseline, the search (4 runs), the neighbour again (fresh, deciding
 * early), the sites run on the culprit's set, the kind where it comes in:
 * 8 runs, as on the built-in pipeline. */
static void test_auto_confirms_and_explains_a_stage_leak(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    selfheal(&s);
    plant_rpc(&a, &s);
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 1);
    CU_ASSERT_EQUAL(r.culprit[0], RPC);
    CU_ASSERT_EQUAL(a.runs, 8);
    CU_ASSERT_EQUAL(a.fresh[0xf], 1);
    CU_ASSERT_EQUAL(a.whole[0xf], 0);
    CU_ASSERT_EQUAL(a.asked[LH_HUNT_SITES][0x1f], 1);
    CU_ASSERT_EQUAL(a.asked[LH_HUNT_KIND][0x1f], 1);
    CU_ASSERT_EQUAL(a.jobs[7], LH_HUNT_KIND);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.memcheck_kind);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.memcheck_kind, "still reachable"));
    CU_ASSERT_FALSE(r.unconfirmed);
    CU_ASSERT_STRING_EQUAL(r.note, "");
    int leaking = 0;
    for (int g = 0; g < r.nrows; g++)
        if (r.rows[g].leaks) {
            leaking++;
            CU_ASSERT_EQUAL(r.rows[g].added, 1u << RPC);
            CU_ASSERT_DOUBLE_EQUAL(r.rows[g].d.value, 64, 1e-9);
        }
    CU_ASSERT_EQUAL(leaking, 1);
}

/* The neighbour leaks as much on its second run: the boundary was in the
 * wrong place, no culprit, no row left leaking, no sites run. */
static void test_auto_neighbour_that_leaks_again_names_no_stage(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    selfheal(&s);
    plant_rpc(&a, &s);
    a.has_again[0xf] = 1;
    answer(&a.again[0xf], &s, 0xf, 63, 0.3);
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 0);
    CU_ASSERT_TRUE(r.unconfirmed);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.note, "the leak-free neighbour "
                                          "forward,hash,enqueue,verify "
                                          "measured +63.0 B/unit"));
    CU_ASSERT_EQUAL(a.asked[LH_HUNT_SITES][0x1f], 0);
    for (int g = 0; g < r.nrows; g++)
        CU_ASSERT_FALSE(r.rows[g].leaks);
}

/* The sites run charges the growth to another stage's code. */
static void test_auto_growth_in_other_code_names_no_stage(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    selfheal(&s);
    plant_sets(&a, &s, 1u << RPC, 64);
    add_site(&a, 0x1f, "verify", 64, 0);
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 0);
    CU_ASSERT_TRUE(r.unconfirmed);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.note, "not in the code of the stage "
                                          "the search named: top site "
                                          "alloc_verify <- run_verify "
                                          "(verify.c:42)"));
    CU_ASSERT_EQUAL(a.asked[LH_HUNT_KIND][0x1f], 0);
}

/* Growth only in blocks that come and go: a queue that filled.  The
 * search tool runs again to the whole budget; growth again is growth in no
 * stage's code (unconfirmed), a clean second run is clean. */
static void test_auto_queue_that_filled_is_measured_again(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    selfheal(&s);
    plant_sets(&a, &s, 1u << RPC, 64);
    add_site(&a, 0x1f, "forward", 64, 1);
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 0);
    CU_ASSERT_EQUAL(a.whole[0x1f], 1);
    CU_ASSERT_TRUE(r.unconfirmed);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.note, "only events in flight"));
    /* the second run is clean: nothing to report */
    plant_sets(&a, &s, 1u << RPC, 64);
    add_site(&a, 0x1f, "forward", 64, 1);
    a.has_again[0x1f] = 1;
    answer(&a.again[0x1f], &s, 0x1f, 0.1, 0.3);
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 0);
    CU_ASSERT_FALSE(r.unconfirmed);
    CU_ASSERT_EQUAL(r.undecided, 0);
}

/* A sites run that sees no leak: the search tool's second opinion, to
 * the whole budget, decides. */
static void test_auto_sites_run_without_a_leak_asks_again(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    selfheal(&s);
    plant_rpc(&a, &s);
    answer(&a.sites[0x1f], &s, 0x1f, 0.5, 0.3);
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 1); /* the search tool's leak again */
    CU_ASSERT_EQUAL(a.whole[0x1f], 1);
    CU_ASSERT_EQUAL(a.runs, 9);
    plant_rpc(&a, &s);
    answer(&a.sites[0x1f], &s, 0x1f, 0.5, 0.3);
    a.has_again[0x1f] = 1;
    answer(&a.again[0x1f], &s, 0x1f, 0.5, 0.3);
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.note, "did not stand a second run"));
    CU_ASSERT_FALSE(r.unconfirmed);
}

/* Sites charged to no stage at all (a target without a stage map) leave
 * the culprits as the search named them; memcheck's kind follows its
 * figures. */
static void test_auto_unattributed_sites_and_the_kinds(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    selfheal(&s);
    plant_sets(&a, &s, 1u << RPC, 64);
    add_site(&a, 0x1f, "", 64, 0);
    a.kind[0x1f].definitely_lost = 1000;
    a.kind[0x1f].reachable_growth = 10;
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 1);
    CU_ASSERT_STRING_EQUAL(r.memcheck_kind, "definitely lost");
    plant_sets(&a, &s, 1u << RPC, 64);
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_STRING_EQUAL(r.memcheck_kind, "no growth seen under valgrind");
    plant_sets(&a, &s, 1u << RPC, 64);
    a.kind[0x1f].sites = a.site_store[0x1f];
    a.kind[0x1f].nsites = 1;
    snprintf(a.site_store[0x1f][0].kind, sizeof a.site_store[0x1f][0].kind,
             "definitely lost");
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_STRING_EQUAL(r.memcheck_kind, "definitely lost");
}

/* Two leaking stages, the sites run backs one: the other's row is no
 * leak, and the kind is asked where the standing one comes in. */
static void test_auto_keeps_only_the_culprits_the_sites_back(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    selfheal(&s);
    plant_sets(&a, &s, (1u << HASH) | (1u << RPC), 80);
    add_site(&a, 0x1f, "rpc", 80, 0);
    add_site(&a, 0x1f, "hash", 0.5, 0);
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 1);
    CU_ASSERT_EQUAL(r.culprit[0], RPC);
    CU_ASSERT_EQUAL(a.asked[LH_HUNT_KIND][0x1f], 1);
    for (int g = 0; g < r.nrows; g++)
        CU_ASSERT_EQUAL(r.rows[g].leaks, r.rows[g].added == 1u << RPC);
    /* both backed: the kind where hash comes in */
    plant_sets(&a, &s, (1u << HASH) | (1u << RPC), 80);
    add_site(&a, 0x1f, "rpc", 80, 0);
    add_site(&a, 0x1f, "hash", 80, 0);
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 2);
    CU_ASSERT_EQUAL(a.asked[LH_HUNT_KIND][0x3], 1);
}

/* A run that fails during the confirmation stops it: no culprit. */
static void test_auto_failed_confirmation_names_no_stage(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    selfheal(&s);
    for (int at = 6; at <= 7; at++) { /* the neighbour, the sites run */
        plant_rpc(&a, &s);
        a.fail_at = at;
        hunt_with("auto", &s, &a, &r);
        CU_ASSERT_TRUE(r.failed);
        CU_ASSERT_EQUAL(r.nculprit, 0);
    }
    plant_rpc(&a, &s);
    a.fail_at = 3; /* the search */
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_TRUE(r.failed);
    CU_ASSERT_EQUAL(r.nrows, 0);
}

/* Noisy answers: a clean full set with a wide interval and an
 * inconclusive prefix are counted as undecided, and name nothing. */
static void test_auto_inconclusive_full_set_is_undecided(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    selfheal(&s);
    plant_sets(&a, &s, 0, 0);
    answer(&a.search[0x1f], &s, 0x1f, 1.2, 0.8);
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 0);
    CU_ASSERT_EQUAL(r.undecided, 1);
    CU_ASSERT_EQUAL(a.runs, 2);
}

/*
 * The baseline (every stage off), measured first for every strategy.
 */

static const char *const strategies[] = {"auto", "linear", "bisect",
                                         "isolate", "ddmin"};
#define NSTRATEGIES (sizeof strategies / sizeof strategies[0])

/* Like plant_sets, with `outside` B/unit more in every set, the empty one
 * too (a leak in the main loop, outside every stage). */
static void plant_outside(answers *a, const lh_hunt_stages *s,
                          unsigned leaking, double bytes, double outside)
{
    plant_sets(a, s, leaking, bytes);
    for (unsigned set = 0; set < (1u << s->n); set++) {
        double slope = outside + bytes * __builtin_popcount(set & leaking);
        answer(&a->search[set], s, set, slope, 0.3);
        answer(&a->sites[set], s, set, slope, 0.3);
        answer(&a->kind[set], s, set, slope, 0.3);
    }
}

/* Every strategy measures the baseline first; a leak there and nowhere
 * else is outside the stages: no stage named, nothing undecided. */
static void test_every_strategy_reports_a_leak_outside_the_stages(void)
{
    lh_hunt_stages s;
    toy(&s, NULL);
    for (size_t i = 0; i < NSTRATEGIES; i++) {
        answers a;
        lh_hunt_result r;
        plant_outside(&a, &s, 0, 0, 64);
        hunt_with(strategies[i], &s, &a, &r);
        CU_ASSERT_EQUAL(a.order[0], 0u);
        CU_ASSERT_EQUAL(a.jobs[0], LH_HUNT_SEARCH);
        CU_ASSERT_EQUAL(r.nculprit, 0);
        CU_ASSERT_TRUE(r.base.measured);
        CU_ASSERT_TRUE(r.base.outside);
        CU_ASSERT_FALSE(r.base.per_second);
        CU_ASSERT_DOUBLE_EQUAL(r.base.point.slope, 64, 1e-9);
        CU_ASSERT_EQUAL(r.undecided, 0);
        CU_ASSERT_FALSE(r.failed);
        CU_ASSERT_FALSE(r.unconfirmed);
    }
}

/* A stage leaking on top of a leaking baseline is found by its step over
 * the baseline, by every strategy; the outside leak stays reported. */
static void test_every_strategy_finds_a_stage_leak_over_the_baseline(void)
{
    lh_hunt_stages s;
    toy(&s, NULL);
    for (size_t i = 0; i < NSTRATEGIES; i++) {
        answers a;
        lh_hunt_result r;
        plant_outside(&a, &s, 1u << 1, 64, 64);
        hunt_with(strategies[i], &s, &a, &r);
        CU_ASSERT_EQUAL(r.nculprit, 1);
        CU_ASSERT_EQUAL(r.culprit[0], 1);
        CU_ASSERT_TRUE(r.base.outside);
        CU_ASSERT_FALSE(r.failed);
    }
    /* with requirements too: filter and emit need parse */
    toy(&s, "filter:parse,emit:parse");
    for (size_t i = 0; i < NSTRATEGIES; i++) {
        answers a;
        lh_hunt_result r;
        plant_outside(&a, &s, 1u << 2, 64, 64);
        hunt_with(strategies[i], &s, &a, &r);
        CU_ASSERT_EQUAL(r.nculprit, 1);
        CU_ASSERT_EQUAL(r.culprit[0], 2);
        CU_ASSERT_TRUE(r.base.outside);
    }
}

/* auto over a leaking baseline: the search's first row is the step over
 * the baseline, and the leak outside the stages is not confirmed again
 * when a culprit stands (the sites run on its configuration holds it). */
static void test_auto_over_a_leaking_baseline_gives_steps_over_it(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    selfheal(&s);
    plant_outside(&a, &s, 1u << RPC, 64, 40);
    add_site(&a, 0x1f, "rpc", 64, 0);
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_EQUAL(r.nculprit, 1);
    CU_ASSERT_EQUAL(r.culprit[0], RPC);
    for (int g = 0; g < r.nrows; g++)
        CU_ASSERT_DOUBLE_EQUAL(r.rows[g].d.value,
                               r.rows[g].added & (1u << RPC) ? 64 : 0, 1e-9);
    CU_ASSERT_EQUAL(a.asked[LH_HUNT_SITES][0], 0);
    CU_ASSERT_EQUAL(a.asked[LH_HUNT_KIND][0x1f], 1);
    CU_ASSERT_EQUAL(a.runs, 8);
}

/* A step smaller than the baseline's spread is no stage's leak. */
static void test_step_within_the_baselines_spread_is_not_charged(void)
{
    lh_hunt_stages s;
    toy(&s, NULL);
    for (size_t i = 0; i < NSTRATEGIES; i++) {
        answers a;
        lh_hunt_result r;
        plant_outside(&a, &s, 1u << 1, 3, 64);
        hunt_with(strategies[i], &s, &a, &r);
        CU_ASSERT_EQUAL(r.nculprit, 0);
        CU_ASSERT_TRUE(r.base.outside);
    }
}

/* auto confirms a leak outside the stages when it is the whole answer:
 * sites and the kind with no stage on; sites that show no leak call for a
 * second search run of the baseline, which may drop it. */
static void test_auto_confirms_a_leak_outside_the_stages(void)
{
    lh_hunt_stages s;
    answers a;
    lh_hunt_result r;
    toy(&s, NULL);
    plant_outside(&a, &s, 0, 0, 64);
    add_site(&a, 0, "", 64, 0);
    a.kind[0].reachable_growth = 4096;
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_TRUE(r.base.outside);
    CU_ASSERT_EQUAL(a.asked[LH_HUNT_SITES][0], 1);
    CU_ASSERT_EQUAL(a.asked[LH_HUNT_KIND][0], 1);
    CU_ASSERT_EQUAL(a.runs, 4); /* baseline, full set, sites, kind */
    CU_ASSERT_PTR_NOT_NULL(r.memcheck_kind);
    /* the sites run sees no leak, the second run does: it stands */
    plant_outside(&a, &s, 0, 0, 64);
    answer(&a.sites[0], &s, 0, 0.2, 0.3);
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_TRUE(r.base.outside);
    CU_ASSERT_EQUAL(a.whole[0], 1);
    CU_ASSERT_EQUAL(a.asked[LH_HUNT_KIND][0], 1);
    /* ... and a clean second run drops it: clean, not inconclusive */
    plant_outside(&a, &s, 0, 0, 64);
    answer(&a.sites[0], &s, 0, 0.2, 0.3);
    a.has_again[0] = 1;
    answer(&a.again[0], &s, 0, 0.1, 0.3);
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_FALSE(r.base.outside);
    CU_ASSERT_EQUAL(r.undecided, 0);
    CU_ASSERT_FALSE(r.unconfirmed);
    CU_ASSERT_EQUAL(a.asked[LH_HUNT_KIND][0], 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.note, "did not stand a second run"));
}

/* A target that does no work with no stage on, growing 64 KiB a second
 * there; `leaking` stages leak 64 B/unit. */
static void plant_idle(answers *a, const lh_hunt_stages *s, unsigned leaking)
{
    plant_sets(a, s, leaking, 64);
    a->per_second = 1;
    answer(&a->search[0], s, 0, 65536, 900);
}

/* A target that does no work with no stage on: its baseline is per
 * second.  Idle growth is reported outside the stages; a stage's leak per
 * unit is charged as if the baseline were flat. */
static void test_per_second_baseline_reports_idle_growth_apart(void)
{
    lh_hunt_stages s;
    toy(&s, NULL);
    for (size_t i = 0; i < NSTRATEGIES; i++) {
        answers a;
        lh_hunt_result r;
        plant_idle(&a, &s, 1u << 1);
        hunt_with(strategies[i], &s, &a, &r);
        CU_ASSERT_TRUE(r.base.per_second);
        CU_ASSERT_TRUE(r.base.outside);
        CU_ASSERT_EQUAL(r.nculprit, 1);
        CU_ASSERT_EQUAL(r.culprit[0], 1);
        /* auto measures the idle baseline again; the others take it */
        CU_ASSERT_EQUAL(a.fresh[0], i == 0 ? 1 : 0);
    }
    /* idle growth and nothing else, not seen again by auto: dropped */
    answers a;
    lh_hunt_result r;
    plant_idle(&a, &s, 0);
    a.has_again[0] = 1;
    answer(&a.again[0], &s, 0, 0.2, 0.3);
    hunt_with("auto", &s, &a, &r);
    CU_ASSERT_FALSE(r.base.outside);
    CU_ASSERT_EQUAL(r.nculprit, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.note, "+65536.0 B/s"));
}

/* The baseline never makes a hunt inconclusive or failed: a baseline run
 * that fails or cannot be decided is left out, and the search goes on as
 * before. */
static void test_baseline_that_fails_or_is_undecided_is_left_out(void)
{
    lh_hunt_stages s;
    toy(&s, NULL);
    for (size_t i = 0; i < NSTRATEGIES; i++) {
        answers a;
        lh_hunt_result r;
        plant_sets(&a, &s, 1u << 2, 64);
        a.fail_at = 1;
        hunt_with(strategies[i], &s, &a, &r);
        CU_ASSERT_FALSE(r.base.measured);
        CU_ASSERT_FALSE(r.failed);
        CU_ASSERT_EQUAL(r.nculprit, 1);
        CU_ASSERT_EQUAL(r.culprit[0], 2);
        plant_sets(&a, &s, 0, 0);
        answer(&a.search[0], &s, 0, 1.0, 0.5); /* inconclusive */
        hunt_with(strategies[i], &s, &a, &r);
        CU_ASSERT_TRUE(r.base.measured);
        CU_ASSERT_FALSE(r.base.outside);
        CU_ASSERT_EQUAL(r.undecided, 0);
        CU_ASSERT_EQUAL(r.nculprit, 0);
    }
}

static CU_TestInfo tests[] = {
    {"clean full set takes one run", test_hunt_clean_full_set_takes_one_run},
    {"each stage's leak is named alone in bisect's runs",
     test_hunt_each_stage_leak_is_named_alone_in_bisect_runs},
    {"verify leak with a step at rpc names only verify",
     test_hunt_verify_leak_with_a_step_at_rpc_names_only_verify},
    {"hash leak with a step at enqueue names only hash",
     test_hunt_hash_leak_with_a_step_at_enqueue_names_only_hash},
    {"floor learnt after the full set is used",
     test_hunt_floor_learnt_after_the_full_set_is_used},
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
    {"strategy table names every strategy",
     test_strategy_table_names_every_strategy},
    {"linear names the stage of the first leaking prefix",
     test_linear_names_the_stage_of_the_first_leaking_prefix},
    {"linear clean runs every prefix and names none",
     test_linear_clean_runs_every_prefix_and_names_none},
    {"linear repeated prefix costs no run",
     test_linear_repeated_prefix_costs_no_run},
    {"linear and bisect stop at an undecided prefix",
     test_linear_and_bisect_stop_at_an_undecided_prefix},
    {"bisect names each stage in its count of runs",
     test_bisect_names_each_stage_in_its_count_of_runs},
    {"isolate judges a stage over its requirements",
     test_isolate_judges_a_stage_over_its_requirements},
    {"isolate noisy step or failed run is no culprit",
     test_isolate_noisy_step_or_failed_run_is_no_culprit},
    {"ddmin finds a minimal leaking set",
     test_ddmin_finds_a_minimal_leaking_set},
    {"ddmin names stages that leak only together",
     test_ddmin_names_stages_that_leak_only_together},
    {"ddmin drops dependants and spares requirements",
     test_ddmin_drops_dependants_and_spares_requirements},
    {"ddmin clean full set or failed run names none",
     test_ddmin_clean_full_set_or_failed_run_names_none},
    {"auto confirms and explains a stage leak",
     test_auto_confirms_and_explains_a_stage_leak},
    {"auto neighbour that leaks again names no stage",
     test_auto_neighbour_that_leaks_again_names_no_stage},
    {"auto growth in other code names no stage",
     test_auto_growth_in_other_code_names_no_stage},
    {"auto queue that filled is measured again",
     test_auto_queue_that_filled_is_measured_again},
    {"auto sites run without a leak asks again",
     test_auto_sites_run_without_a_leak_asks_again},
    {"auto unattributed sites and the kinds",
     test_auto_unattributed_sites_and_the_kinds},
    {"auto keeps only the culprits the sites back",
     test_auto_keeps_only_the_culprits_the_sites_back},
    {"auto failed confirmation names no stage",
     test_auto_failed_confirmation_names_no_stage},
    {"auto inconclusive full set is undecided",
     test_auto_inconclusive_full_set_is_undecided},
    {"every strategy reports a leak outside the stages",
     test_every_strategy_reports_a_leak_outside_the_stages},
    {"every strategy finds a stage leak over the baseline",
     test_every_strategy_finds_a_stage_leak_over_the_baseline},
    {"auto over a leaking baseline gives steps over it",
     test_auto_over_a_leaking_baseline_gives_steps_over_it},
    {"step within the baseline's spread is not charged",
     test_step_within_the_baselines_spread_is_not_charged},
    {"auto confirms a leak outside the stages",
     test_auto_confirms_a_leak_outside_the_stages},
    {"per second baseline reports idle growth apart",
     test_per_second_baseline_reports_idle_growth_apart},
    {"baseline that fails or is undecided is left out",
     test_baseline_that_fails_or_is_undecided_is_left_out},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("hunt", tests)
