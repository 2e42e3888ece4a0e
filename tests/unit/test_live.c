/*
 * test_live.c - a live run's pure parts (docs/protocol.md section 5) on
 * made-up lines and series: the acknowledgements (ack.h: per process,
 * lists as sets, dead or silent processes, late, stray, stopped), the
 * settle rule (segment.h: work flowing, a queue that fills against one
 * that is bursty at its level, the cap), a segment's series counted from
 * its switch, and the decision on a segment after its settle period when
 * the configuration before left growth behind (a delay queue draining, a
 * cache that filled).
 */
#include "cu_main.h"

#include "ack.h"
#include "alloc.h"
#include "error.h"
#include "segment.h"
#include "slope.h"

#include <math.h>
#include <string.h>

/* ---- acknowledgements ---------------------------------------------------- */

/* Liveness for the tests: every pid alive but those listed dead. */
static pid_t dead[4];

static int alive(void *arg, pid_t pid)
{
    (void)arg;
    for (size_t i = 0; i < sizeof dead / sizeof dead[0]; i++)
        if (dead[i] && dead[i] == pid)
            return 0;
    return 1;
}

static lh_ack_state check(lh_ack *a, double now)
{
    return lh_ack_check(a, now, alive, NULL);
}

static lh_ack *new_ack(const char *first)
{
    memset(dead, 0, sizeof dead);
    lh_ack *a = lh_calloc(1, sizeof *a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    lh_ack_init(a, first, 0);
    return a;
}

static void test_ack_done_when_every_reporting_process_shows_the_new_list(void)
{
    lh_ack *a = new_ack("forward");
    lh_ack_line(a, 11, "forward", 0.1);
    lh_ack_line(a, 12, "forward", 0.1);
    CU_ASSERT_EQUAL(check(a, 0.2), LH_ACK_DONE);
    lh_ack_ask(a, "forward,hash", 1.0);
    CU_ASSERT_EQUAL(check(a, 1.0), LH_ACK_PENDING);
    lh_ack_line(a, 11, "forward,hash", 1.1);
    lh_ack_line(a, 12, "forward", 1.1); /* still the old list: pending */
    CU_ASSERT_EQUAL(check(a, 1.15), LH_ACK_PENDING);
    lh_ack_line(a, 12, "forward,hash", 1.2);
    CU_ASSERT_EQUAL(check(a, 1.25), LH_ACK_DONE);
    lh_free(a);
}

static void test_ack_lists_are_compared_as_sets(void)
{
    lh_ack *a = new_ack("parse,emit");
    lh_ack_line(a, 7, "emit,parse", 0.1);
    CU_ASSERT_EQUAL(check(a, 0.1), LH_ACK_DONE);
    lh_ack_ask(a, "", 0.5); /* no stage: shown as '-' */
    lh_ack_line(a, 7, "emit,parse", 0.6);
    CU_ASSERT_EQUAL(check(a, 0.6), LH_ACK_PENDING);
    lh_ack_line(a, 7, "-", 0.7);
    CU_ASSERT_EQUAL(check(a, 0.7), LH_ACK_DONE);
    lh_free(a);
}

static void test_ack_a_dead_or_silent_process_does_not_hold_a_switch_up(void)
{
    lh_ack *a = new_ack("a");
    lh_ack_line(a, 1, "a", 0.1);
    lh_ack_line(a, 2, "a", 0.1);
    lh_ack_line(a, 3, "a", 0.1);
    lh_ack_ask(a, "a,b", 1.0);
    lh_ack_line(a, 1, "a,b", 1.1);
    lh_ack_line(a, 2, "a", 1.1);
    lh_ack_line(a, 3, "a", 0.9 - LH_ACK_SILENT_S); /* (its last line) */
    CU_ASSERT_EQUAL(check(a, 1.15), LH_ACK_PENDING);
    dead[0] = 2; /* pid 2 died showing the old list; pid 3 is silent */
    CU_ASSERT_EQUAL(check(a, 1.2), LH_ACK_DONE);
    lh_free(a);
}

static void test_ack_pending_past_the_timeout_is_late_and_says_who(void)
{
    lh_ack *a = new_ack("a");
    lh_ack_line(a, 42, "a", 0.1);
    lh_ack_ask(a, "a,b", 1.0);
    for (double t = 1.1; t < 1.0 + LH_ACK_TIMEOUT_S; t += 0.1) {
        lh_ack_line(a, 42, "a", t);
        CU_ASSERT_EQUAL(check(a, t), LH_ACK_PENDING);
    }
    double now = 1.0 + LH_ACK_TIMEOUT_S + 0.05;
    lh_ack_line(a, 42, "a", now);
    CU_ASSERT_EQUAL(check(a, now), LH_ACK_LATE);
    char why[512];
    lh_ack_describe(a, LH_ACK_LATE, now, alive, NULL, why, sizeof why);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "process 42 still shows 'a'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "'a,b' was asked for"));
    lh_free(a);
}

static void test_ack_a_list_not_asked_for_is_final(void)
{
    lh_ack *a = new_ack("a");
    lh_ack_line(a, 5, "a", 0.1);
    lh_ack_ask(a, "a,b", 1.0);
    lh_ack_line(a, 5, "a,c", 1.1); /* a third list */
    CU_ASSERT_EQUAL(check(a, 1.1), LH_ACK_STRAY);
    lh_ack_line(a, 5, "a,b", 1.2);
    CU_ASSERT_EQUAL(check(a, 1.2), LH_ACK_STRAY); /* final */
    char why[512];
    lh_ack_describe(a, LH_ACK_STRAY, 1.2, alive, NULL, why, sizeof why);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "process 5 shows stages 'a,c'"));
    lh_free(a);

    /* the old list again once the switch is done: not asked for then */
    a = new_ack("a");
    lh_ack_line(a, 5, "a", 0.1);
    lh_ack_ask(a, "b", 1.0);
    lh_ack_line(a, 5, "b", 1.1);
    CU_ASSERT_EQUAL(check(a, 1.1), LH_ACK_DONE);
    lh_ack_line(a, 5, "a", 1.2);
    CU_ASSERT_EQUAL(check(a, 1.2), LH_ACK_STRAY);
    lh_free(a);

    /* at the start, another list than the one started with */
    a = new_ack("a");
    lh_ack_line(a, 5, "b", 0.1);
    CU_ASSERT_EQUAL(check(a, 0.1), LH_ACK_STRAY);
    lh_free(a);
}

static void test_ack_a_line_without_stages_after_some_is_stopped(void)
{
    lh_ack *a = new_ack("a");
    lh_ack_line(a, 9, "a", 0.1);
    lh_ack_line(a, 9, NULL, 0.2);
    CU_ASSERT_EQUAL(check(a, 0.2), LH_ACK_MUTE);
    char why[512];
    lh_ack_describe(a, LH_ACK_MUTE, 0.2, alive, NULL, why, sizeof why);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "process 9 stopped acknowledging"));
    lh_free(a);
}

static void test_ack_live_is_known_two_seconds_after_the_first_line(void)
{
    lh_ack *a = new_ack("a");
    CU_ASSERT_EQUAL(lh_ack_live(a, 5.0), -1); /* no line yet */
    lh_ack_line(a, 0, NULL, 1.0);             /* no pid=, no stages= */
    CU_ASSERT_EQUAL(lh_ack_live(a, 2.9), -1);
    CU_ASSERT_EQUAL(lh_ack_live(a, 1.0 + LH_ACK_TIMEOUT_S), 0);
    lh_free(a);

    a = new_ack("a");
    lh_ack_line(a, 0, NULL, 1.0);
    lh_ack_line(a, 0, "a", 1.5); /* late, but within the 2 s */
    CU_ASSERT_EQUAL(lh_ack_live(a, 1.5), 1);
    CU_ASSERT_EQUAL(check(a, 1.5), LH_ACK_DONE);
    lh_free(a);
}

/* ---- the settle rule ------------------------------------------------------ */

/* A series of n samples every 100 ms from t = 0: work rate per second
 * from `work_from` seconds on (0 before), queue by q(i). */
static lh_sample *series(size_t n, double rate, double work_from,
                         double (*q)(size_t i))
{
    lh_sample *v = lh_calloc(n, sizeof *v);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].t = 0.1 * (double)i;
        if (v[i].t >= work_from && i > 0)
            w += rate * 0.1;
        v[i].work = w;
        v[i].queue = q ? q(i) : 0;
        v[i].heap = 1e6;
    }
    return v;
}

/* The first sample settled from ack on (n: none); *forced: by the cap. */
static size_t settled(const lh_sample *v, size_t n, size_t ack,
                      int has_queue, const lh_settle_opts *o, int *forced)
{
    for (size_t i = ack; i < n; i++) {
        lh_settle s = lh_settle_at(v, n, ack, i, has_queue, o);
        if (s != LH_SETTLE_WAIT) {
            *forced = s == LH_SETTLE_FORCED;
            return i;
        }
    }
    return n;
}

static void test_settle_waits_its_minimum_of_flowing_work(void)
{
    lh_settle_opts o;
    lh_settle_opts_init(&o);
    int forced = 0;
    lh_sample *v = series(100, 50000, 0, NULL);
    size_t i = settled(v, 100, 3, 0, &o, &forced);
    CU_ASSERT_FALSE(forced);
    CU_ASSERT(v[i].t - v[3].t >= o.min_seconds - 1e-9);
    CU_ASSERT(v[i].t - v[3].t < o.min_seconds + 0.15);
    lh_free(v);

    /* work starts 2 s after the acknowledgement (consumers joining):
     * the minimum counts from there */
    v = series(100, 50000, 2.3, NULL);
    i = settled(v, 100, 3, 0, &o, &forced);
    CU_ASSERT_FALSE(forced);
    CU_ASSERT(v[i].t >= 2.3 + o.min_seconds - 0.11);
    lh_free(v);
}

/* A queue filling steadily for 3 s (200 items a sample), then flat. */
static double filling(size_t i)
{
    return i < 30 ? 200.0 * (double)i : 6000;
}

/* A bursty queue at one level: 0, 8000, 2000, 6000, ... */
static double bursty(size_t i)
{
    static const double q[] = {0, 8000, 2000, 6000, 500, 7000, 3000};
    return q[i % 7];
}

static void test_settle_waits_for_a_filling_queue_not_a_bursty_one(void)
{
    lh_settle_opts o;
    lh_settle_opts_init(&o);
    int forced = 0;
    lh_sample *v = series(100, 50000, 0, filling);
    size_t i = settled(v, 100, 0, 1, &o, &forced);
    CU_ASSERT_FALSE(forced);
    CU_ASSERT(v[i].t >= 3.0); /* not while it fills */
    CU_ASSERT(v[i].t <= 3.0 + 2 * o.window + 0.2);
    lh_free(v);

    v = series(100, 50000, 0, bursty);
    i = settled(v, 100, 0, 1, &o, &forced);
    CU_ASSERT_FALSE(forced);
    CU_ASSERT(v[i].t <= o.min_seconds + 2 * o.window + 0.2);
    lh_free(v);

    /* the same queue not reported: only the minimum */
    v = series(100, 50000, 0, filling);
    i = settled(v, 100, 0, 0, &o, &forced);
    CU_ASSERT(v[i].t < o.min_seconds + 0.15);
    lh_free(v);
}

/* A queue that fills all along. */
static double growing(size_t i)
{
    return 300.0 * (double)i;
}

static void test_settle_is_forced_after_its_cap(void)
{
    lh_settle_opts o;
    lh_settle_opts_init(&o);
    int forced = 0;
    lh_sample *v = series(100, 50000, 0, growing);
    size_t i = settled(v, 100, 0, 1, &o, &forced);
    CU_ASSERT(forced);
    CU_ASSERT(fabs(v[i].t - o.max_seconds) < 0.11);
    lh_free(v);
}

static void test_settle_takes_a_configuration_without_work_by_time(void)
{
    lh_settle_opts o;
    lh_settle_opts_init(&o);
    int forced = 1;
    lh_sample *v = series(100, 50000, 50, NULL); /* no work at all */
    size_t i = settled(v, 100, 0, 1, &o, &forced);
    CU_ASSERT_FALSE(forced);
    CU_ASSERT(fabs(v[i].t - o.no_work_seconds) < 0.11);
    lh_free(v);
}

/* ---- segments ------------------------------------------------------------ */

static void test_segment_counts_work_and_time_from_its_switch(void)
{
    lh_series whole = {0}, seg = {0};
    for (int i = 0; i < 10; i++) {
        lh_sample x = {.t = 10 + 0.1 * i, .work = 5000 + 100.0 * i,
                       .heap = 1e6 + i, .queue = i};
        CU_ASSERT_EQUAL_FATAL(lh_series_push(&whole, &x), 0);
    }
    CU_ASSERT_EQUAL(lh_segment_cut(&whole, 4, 9, &seg), 0);
    CU_ASSERT_EQUAL(seg.n, 5);
    CU_ASSERT_DOUBLE_EQUAL(seg.v[0].t, 0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(seg.v[0].work, 0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(seg.v[4].t, 0.4, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(seg.v[4].work, 400, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(seg.v[4].heap, 1e6 + 8, 1e-9); /* as measured */
    CU_ASSERT_DOUBLE_EQUAL(seg.v[4].queue, 8, 1e-9);
    CU_ASSERT_EQUAL(lh_segment_cut(&whole, 5, 4, &seg), LH_EINVAL);
    CU_ASSERT_EQUAL(lh_segment_cut(&whole, 5, 11, &seg), LH_EINVAL);
    CU_ASSERT_EQUAL(seg.n, 5);
    lh_series_free(&whole);
    lh_series_free(&seg);
}

/* ---- the decision after a switch ----------------------------------------- */

/*
 * A segment after a switch whose memory carries the configuration
 * before: per sample (100 ms, 5000 units each) `carry(i)` bytes, on top of
 * a flat heap with a bursty queue of ~224 B an item.  Settled by the rule
 * and decided on the rest (the live run's warm-up share), it must not be a
 * leak; with a real leak of `leak` B/unit on top it must be one.
 */
static lh_verdict after_switch(double (*carry)(size_t i), double leak)
{
    size_t n = 120;
    lh_sample *v = series(n, 50000, 0, bursty);
    for (size_t i = 0; i < n; i++)
        v[i].heap = 20e6 + 224 * v[i].queue + carry(i) + leak * v[i].work;
    lh_settle_opts o;
    lh_settle_opts_init(&o);
    int forced = 0;
    size_t from = settled(v, n, 2, 1, &o, &forced);
    CU_ASSERT_FATAL(from < n);
    lh_slope_sample *s = lh_calloc(n - from, sizeof *s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (size_t i = from; i < n; i++)
        s[i - from] = (lh_slope_sample){v[i].work, v[i].heap, v[i].queue};
    lh_decide_opts d;
    lh_decide_opts_init(&d);
    d.warmup = 0.1;
    d.threshold = LH_DECIDE_HEAP_THRESHOLD;
    lh_decision out;
    /* the queue's share taken out, as measure.c does */
    for (size_t i = 0; i < n - from; i++)
        s[i].bytes -= 224 * s[i].queue;
    CU_ASSERT_EQUAL_FATAL(lh_decide(s, n - from, &d, &out), 0);
    lh_free(s);
    lh_free(v);
    return out.verdict;
}

/* A delay queue of 30 MB released over the first 0.4 s after the
 * switch (enqueue switched off after a long segment). */
static double draining(size_t i)
{
    return i < 4 ? 30e6 * (1 - 0.25 * (double)i) : 0;
}

/* A cache of 4096 blocks of 80 B on three nodes (hash:cache:64) that
 * fills in its first 0.3 s, then stays. */
static double cache(size_t i)
{
    double full = 3 * 4096 * 80.0;
    return i < 3 ? full * (double)i / 3 : full;
}

/* The first use of a stage: ~750 KB in its first 0.7 s (the built-in
 * pipeline's rpc, measured). */
static double first_use(size_t i)
{
    return i < 7 ? 750e3 * (double)i / 7 : 750e3;
}

static void test_growth_left_from_before_the_switch_is_no_leak(void)
{
    CU_ASSERT_EQUAL(after_switch(draining, 0), LH_VERDICT_CLEAN);
    CU_ASSERT_EQUAL(after_switch(cache, 0), LH_VERDICT_CLEAN);
    CU_ASSERT_EQUAL(after_switch(first_use, 0), LH_VERDICT_CLEAN);
    /* and a leak of 1 B/unit after the same switches is one */
    CU_ASSERT_EQUAL(after_switch(draining, 1), LH_VERDICT_LEAK);
    CU_ASSERT_EQUAL(after_switch(cache, 1), LH_VERDICT_LEAK);
    CU_ASSERT_EQUAL(after_switch(first_use, 1), LH_VERDICT_LEAK);
}

static CU_TestInfo tests[] = {
    {"ack_done_when_every_reporting_process_shows_the_new_list",
     test_ack_done_when_every_reporting_process_shows_the_new_list},
    {"ack_lists_are_compared_as_sets", test_ack_lists_are_compared_as_sets},
    {"ack_a_dead_or_silent_process_does_not_hold_a_switch_up",
     test_ack_a_dead_or_silent_process_does_not_hold_a_switch_up},
    {"ack_pending_past_the_timeout_is_late_and_says_who",
     test_ack_pending_past_the_timeout_is_late_and_says_who},
    {"ack_a_list_not_asked_for_is_final",
     test_ack_a_list_not_asked_for_is_final},
    {"ack_a_line_without_stages_after_some_is_stopped",
     test_ack_a_line_without_stages_after_some_is_stopped},
    {"ack_live_is_known_two_seconds_after_the_first_line",
     test_ack_live_is_known_two_seconds_after_the_first_line},
    {"settle_waits_its_minimum_of_flowing_work",
     test_settle_waits_its_minimum_of_flowing_work},
    {"settle_waits_for_a_filling_queue_not_a_bursty_one",
     test_settle_waits_for_a_filling_queue_not_a_bursty_one},
    {"settle_is_forced_after_its_cap", test_settle_is_forced_after_its_cap},
    {"settle_takes_a_configuration_without_work_by_time",
     test_settle_takes_a_configuration_without_work_by_time},
    {"segment_counts_work_and_time_from_its_switch",
     test_segment_counts_work_and_time_from_its_switch},
    {"growth_left_from_before_the_switch_is_no_leak",
     test_growth_left_from_before_the_switch_is_no_leak},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("live", tests)
