/*
 * test_kafka.c - the Kafka layer against a real librdkafka mock cluster
 * started in this process.  Every test starts its own cluster, so groups
 * and offsets never leak from one test into another.  A group's first join
 * takes about 3 s on the mock; the suite stays well under a minute.
 */
#include "cu_main.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "event.h"
#include "kafka.h"
#include "kafka_broker.h"
#include "roles.h"
#include "rpc.h"

#include <librdkafka/rdkafka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC "t"
#define PARTS 4
#define NKEYS 37

static lh_kbroker *broker;
static char servers[256];

static void start_broker(void)
{
    broker = NULL;
    CU_ASSERT_FATAL(lh_kbroker_start(1, TOPIC, PARTS, &broker, servers,
                                     sizeof servers) == 0);
    CU_ASSERT(strncmp(servers, "127.0.0.1:", 10) == 0);
}

static void stop_broker(void)
{
    lh_kbroker_stop(broker);
    broker = NULL;
}

/* Produces messages [first, first + n): key "k<i % NKEYS>", value
 * "<i>", and waits until all are delivered. */
static void produce_range(int first, int n)
{
    lh_kproducer *p = NULL;
    char key[16], val[16];

    CU_ASSERT_FATAL(lh_kproducer_new(servers, TOPIC, &p) == 0);
    for (int i = first; i < first + n; i++) {
        int kl = snprintf(key, sizeof key, "k%d", i % NKEYS);
        int vl = snprintf(val, sizeof val, "%d", i);
        int rc;

        for (;;) {
            rc = lh_kproducer_send(p, key, (size_t)kl, val, (size_t)vl);
            if (rc != LH_EFULL)
                break;
            lh_kproducer_poll(p, 10);
        }
        CU_ASSERT_FATAL(rc == 0);
    }
    CU_ASSERT(lh_kproducer_flush(p, 30000) == 0);
    CU_ASSERT(lh_kproducer_delivered(p) == (uint64_t)n);
    CU_ASSERT(lh_kproducer_failed(p) == 0);
    lh_kproducer_free(p);
}

typedef struct seen {
    int n;              /* messages received */
    int count[4096];    /* per value */
    int key_part[NKEYS]; /* partition of each key, -1 unknown */
    int key_moved;       /* a key seen on two partitions */
    int bad;             /* unparsable message */
} seen;

static void seen_init(seen *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < NKEYS; i++)
        s->key_part[i] = -1;
}

/* A fresh record of what a member saw (lh_free it). */
static seen *seen_new(void)
{
    seen *s = lh_calloc(1, sizeof *s);

    CU_ASSERT_FATAL(s != NULL);
    seen_init(s);
    return s;
}

/* Starts the broker with the values 0..n-1 in the topic. */
static void start_with(int n)
{
    start_broker();
    produce_range(0, n);
}

/* Polls until `want` messages arrived in total or timeout_ms passed; marks
 * each one done when `done` is set.  Returns messages received. */
static int consume(lh_kconsumer *c, seen *s, int want, int timeout_ms,
                   int done)
{
    lh_kmsg msgs[64];
    int64_t end = lh_now_us() + (int64_t)timeout_ms * 1000;
    int got = 0;

    while (s->n < want && lh_now_us() < end) {
        int n = lh_kconsumer_poll(c, msgs, 64, 100);

        CU_ASSERT_FATAL(n >= 0);
        for (int i = 0; i < n; i++) {
            char kb[16] = {0}, vb[16] = {0};
            int k, v;

            if (msgs[i].key_len >= sizeof kb || msgs[i].value_len >= sizeof vb) {
                s->bad++;
                continue;
            }
            memcpy(kb, msgs[i].key, msgs[i].key_len);
            memcpy(vb, msgs[i].value, msgs[i].value_len);
            k = atoi(kb + 1);
            v = atoi(vb);
            if (k < 0 || k >= NKEYS || v < 0 || v >= 4096) {
                s->bad++;
                continue;
            }
            s->count[v]++;
            if (s->key_part[k] >= 0 && s->key_part[k] != msgs[i].partition)
                s->key_moved = 1;
            s->key_part[k] = msgs[i].partition;
            if (done)
                CU_ASSERT(lh_kconsumer_done(c, msgs[i].partition,
                                            msgs[i].offset) == 0);
            s->n++;
            got++;
        }
        lh_kconsumer_release(c, msgs, (size_t)n);
    }
    return got;
}

/* Polls (serving the rebalance) until the member has partitions. */
static void wait_assigned(lh_kconsumer *c, seen *s)
{
    int64_t end = lh_now_us() + 20 * 1000000;

    while (lh_kconsumer_assigned(c) == 0 && lh_now_us() < end)
        consume(c, s, s->n + 1, 100, 0);
    CU_ASSERT_FATAL(lh_kconsumer_assigned(c) > 0);
}

static void test_kafka_group_member_gets_every_message_once_key_on_one_partition(void)
{
    enum { N = 1000 };
    lh_kconsumer *c = NULL;
    seen *s = seen_new();

    start_with(N);
    CU_ASSERT_FATAL(lh_kconsumer_new(servers, "g", TOPIC, &c) == 0);
    consume(c, s, N, 30000, 1);
    CU_ASSERT(s->n == N);
    CU_ASSERT(s->bad == 0);
    for (int v = 0; v < N; v++)
        CU_ASSERT(s->count[v] == 1);
    CU_ASSERT(s->key_moved == 0);
    /* The keys really were spread: more than one partition was used. */
    int used[PARTS] = {0}, nused = 0;
    for (int k = 0; k < NKEYS; k++)
        if (s->key_part[k] >= 0 && s->key_part[k] < PARTS)
            used[s->key_part[k]] = 1;
    for (int p = 0; p < PARTS; p++)
        nused += used[p];
    CU_ASSERT(nused > 1);
    CU_ASSERT(lh_kconsumer_assigned(c) == PARTS);
    lh_kconsumer_free(c);
    stop_broker();
    lh_free(s);
}

static void test_kafka_pause_stops_delivery_and_resume_restarts_it(void)
{
    lh_kconsumer *c = NULL;
    seen *s = seen_new();

    start_with(100);
    CU_ASSERT_FATAL(lh_kconsumer_new(servers, "g", TOPIC, &c) == 0);
    consume(c, s, 100, 30000, 1);
    CU_ASSERT_FATAL(s->n == 100);

    CU_ASSERT(lh_kconsumer_pause(c) == 0);
    produce_range(100, 100);
    CU_ASSERT(consume(c, s, 200, 1000, 1) == 0);

    CU_ASSERT(lh_kconsumer_resume(c) == 0);
    CU_ASSERT(consume(c, s, 200, 20000, 1) == 100);
    for (int v = 0; v < 200; v++)
        CU_ASSERT(s->count[v] == 1);
    lh_kconsumer_free(c);
    stop_broker();
    lh_free(s);
}

/* Polls both members until each has partitions and they hold all of them
 * between them, or 30 s. */
static void wait_split(lh_kconsumer *a, lh_kconsumer *b, seen *sa, seen *sb)
{
    int64_t end = lh_now_us() + 30 * 1000000;

    while (lh_now_us() < end &&
           !(lh_kconsumer_assigned(a) > 0 && lh_kconsumer_assigned(b) > 0 &&
             lh_kconsumer_assigned(a) + lh_kconsumer_assigned(b) == PARTS)) {
        consume(a, sa, sa->n + 1, 50, 1);
        consume(b, sb, sb->n + 1, 50, 1);
    }
}

static void test_kafka_pause_before_join_survives_rebalances(void)
{
    lh_kconsumer *a = NULL, *b = NULL;
    seen *sa = seen_new(), *sb = seen_new();
    int64_t end;

    start_with(200);

    /* Paused before its first assignment, a gets every partition and
     * still reads nothing. */
    CU_ASSERT_FATAL(lh_kconsumer_new(servers, "g", TOPIC, &a) == 0);
    CU_ASSERT(lh_kconsumer_pause(a) == 0);
    wait_assigned(a, sa);
    CU_ASSERT(lh_kconsumer_assigned(a) == PARTS);
    CU_ASSERT(consume(a, sa, 1000, 1000, 1) == 0);

    /* A second member joins: the group rebalances, a keeps fewer
     * partitions and stays paused; b reads only its own share. */
    CU_ASSERT_FATAL(lh_kconsumer_new(servers, "g", TOPIC, &b) == 0);
    wait_split(a, b, sa, sb);
    CU_ASSERT_FATAL(lh_kconsumer_assigned(a) > 0);
    CU_ASSERT_FATAL(lh_kconsumer_assigned(b) > 0);
    end = lh_now_us() + 1000000;
    while (lh_now_us() < end) {
        consume(a, sa, 1000, 50, 1);
        consume(b, sb, 1000, 50, 1);
    }
    CU_ASSERT(sa->n == 0);
    CU_ASSERT(sb->n > 0 && sb->n < 200);

    /* b leaves: a gets every partition back, still paused. */
    lh_kconsumer_free(b);
    b = NULL;
    end = lh_now_us() + 30000000;
    while (lh_kconsumer_assigned(a) != PARTS && lh_now_us() < end)
        consume(a, sa, 1000, 50, 1);
    CU_ASSERT(lh_kconsumer_assigned(a) == PARTS);
    CU_ASSERT(consume(a, sa, 1000, 1000, 1) == 0);

    /* Resumed, a reads what b did not finish: the rest of the 200. */
    CU_ASSERT(lh_kconsumer_resume(a) == 0);
    consume(a, sa, 200 - sb->n, 20000, 1);
    CU_ASSERT(sa->n + sb->n == 200);
    for (int v = 0; v < 200; v++)
        CU_ASSERT(sa->count[v] + sb->count[v] == 1);
    lh_kconsumer_free(a);
    stop_broker();
    lh_free(sa);
    lh_free(sb);
}

static void test_kafka_new_member_starts_after_committed_offset(void)
{
    lh_kconsumer *c = NULL;
    lh_klag *lag = NULL;
    int64_t l = -1;
    seen *s = seen_new();

    start_with(150);
    CU_ASSERT_FATAL(lh_klag_new(servers, "g", TOPIC, &lag) == 0);
    CU_ASSERT(lh_klag_get(lag, 5000, &l) == 0);
    CU_ASSERT(l == 150); /* nothing committed: counted from the start */

    CU_ASSERT_FATAL(lh_kconsumer_new(servers, "g", TOPIC, &c) == 0);
    consume(c, s, 150, 30000, 1);
    CU_ASSERT_FATAL(s->n == 150);
    lh_kconsumer_free(c); /* commits what was marked done */
    c = NULL;
    CU_ASSERT(lh_klag_get(lag, 5000, &l) == 0);
    CU_ASSERT(l == 0);

    produce_range(150, 80);
    CU_ASSERT(lh_klag_get(lag, 5000, &l) == 0);
    CU_ASSERT(l == 80);

    seen_init(s);
    CU_ASSERT_FATAL(lh_kconsumer_new(servers, "g", TOPIC, &c) == 0);
    consume(c, s, 80, 30000, 1);
    CU_ASSERT(s->n == 80);
    /* Nothing more comes: the old messages are not redelivered. */
    CU_ASSERT(consume(c, s, 81, 1000, 1) == 0);
    for (int v = 0; v < 150; v++)
        CU_ASSERT(s->count[v] == 0);
    for (int v = 150; v < 230; v++)
        CU_ASSERT(s->count[v] == 1);
    lh_kconsumer_free(c);
    lh_klag_free(lag);
    stop_broker();
    lh_free(s);
}

static void test_kafka_produce_errors_are_retried_without_loss(void)
{
    enum { N = 500 };
    lh_klag *lag = NULL;
    int64_t l = -1;

    start_broker();
    /* Produce is API key 0; both errors are retriable. */
    CU_ASSERT(lh_kbroker_inject_errors(broker, 0, 3,
                                       RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION) == 0);
    CU_ASSERT(lh_kbroker_inject_errors(broker, 0, 2,
                                       RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT) == 0);
    produce_range(0, N); /* asserts delivered == N, failed == 0 */
    /* The topic holds exactly N messages: none lost, none written twice
     * by a retry (a group that never committed counts them all). */
    CU_ASSERT_FATAL(lh_klag_new(servers, "g", TOPIC, &lag) == 0);
    CU_ASSERT(lh_klag_partitions(lag) == PARTS);
    CU_ASSERT(lh_klag_get(lag, 5000, &l) == 0);
    CU_ASSERT(l == N);
    lh_klag_free(lag);
    stop_broker();
}

static void test_kafka_broker_down_holds_delivery_until_it_is_up(void)
{
    lh_kproducer *p = NULL;
    int64_t end;

    start_broker();
    CU_ASSERT(lh_kbroker_set_down(broker, 999, 1) == LH_ENOTFOUND);
    CU_ASSERT_FATAL(lh_kproducer_new(servers, TOPIC, &p) == 0);
    /* Connected and delivering first, so the outage hits a live client. */
    CU_ASSERT(lh_kproducer_send(p, "k", 1, "v0", 2) == 0);
    CU_ASSERT(lh_kproducer_flush(p, 10000) == 0);
    CU_ASSERT(lh_kproducer_delivered(p) == 1);

    CU_ASSERT(lh_kbroker_set_down(broker, 1, 1) == 0);
    for (int i = 0; i < 100; i++)
        CU_ASSERT(lh_kproducer_send(p, "k", 1, "v", 1) == 0);
    end = lh_now_us() + 1000000;
    while (lh_now_us() < end)
        lh_kproducer_poll(p, 50);
    CU_ASSERT(lh_kproducer_delivered(p) == 1);

    CU_ASSERT(lh_kbroker_set_down(broker, 1, 0) == 0);
    CU_ASSERT(lh_kproducer_flush(p, 20000) == 0);
    CU_ASSERT(lh_kproducer_delivered(p) == 101);
    CU_ASSERT(lh_kproducer_failed(p) == 0);
    lh_kproducer_free(p);
    stop_broker();
}

static void test_kafka_fault_plan_parses_names_numbers_and_defaults(void)
{
    lh_kfault f[8];
    size_t n = 0;
    char err[256];

    CU_ASSERT_FATAL(lh_kfault_parse(
        "sleep:100,err:Produce:NOT_LEADER_FOR_PARTITION:3:1,"
        "err:8:_transport,down,up:1,rtt:50:1,err:offsetcommit:15",
        f, 8, &n, err, sizeof err) == 0);
    CU_ASSERT_EQUAL(n, 7);
    CU_ASSERT(f[0].kind == LH_KFAULT_SLEEP && f[0].ms == 100);
    CU_ASSERT(f[1].kind == LH_KFAULT_ERRORS && f[1].api_key == 0 &&
              f[1].error == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION &&
              f[1].count == 3 && f[1].broker == 1);
    CU_ASSERT(f[2].kind == LH_KFAULT_ERRORS && f[2].api_key == 8 &&
              f[2].error == RD_KAFKA_RESP_ERR__TRANSPORT && f[2].count == 1 &&
              f[2].broker == -1);
    CU_ASSERT(f[3].kind == LH_KFAULT_DOWN && f[3].broker == -1);
    CU_ASSERT(f[4].kind == LH_KFAULT_UP && f[4].broker == 1);
    CU_ASSERT(f[5].kind == LH_KFAULT_RTT && f[5].ms == 50 && f[5].broker == 1);
    CU_ASSERT(f[6].api_key == 8 &&
              f[6].error == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
    CU_ASSERT_EQUAL(lh_kafka_api_key("Heartbeat"), 12);
    CU_ASSERT_EQUAL(lh_kafka_api_key("Bogus"), LH_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(lh_kafka_api_name(1), "Fetch");
    CU_ASSERT_STRING_EQUAL(lh_kafka_err_name(16), "NOT_COORDINATOR");
}

static void test_kafka_fault_plan_rejects_bad_steps_and_changes_nothing(void)
{
    static const char *const bad[] = {
        "", "sleep", "sleep:-1", "sleep:x", "sleep:1:2", "down:0", "up:x",
        "rtt", "err:Produce", "err:Nope:NOT_COORDINATOR",
        "err:Produce:NO_SUCH_ERROR", "err:Produce:NOT_COORDINATOR:0",
        "err:Produce:NOT_COORDINATOR:1:1:9", "frob", "sleep:1,,up", "up,",
    };
    lh_kfault f[2];
    size_t n = 99;
    char err[256];

    memset(f, 0x5a, sizeof f);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CU_ASSERT(lh_kfault_parse(bad[i], f, 2, &n, err, sizeof err) ==
                  LH_EINVAL);
        CU_ASSERT(err[0] != '\0');
    }
    /* Fine steps, but more of them than fit. */
    CU_ASSERT(lh_kfault_parse("down,sleep:1,up", f, 2, &n, err, sizeof err) ==
              LH_ETOOBIG);
    CU_ASSERT(strstr(err, "more than 2") != NULL);
    /* The message names the step. */
    CU_ASSERT(lh_kfault_parse("down,err:Fetch:nope", f, 2, &n, err,
                              sizeof err) == LH_EINVAL);
    CU_ASSERT(strstr(err, "err:Fetch:nope") != NULL);
    CU_ASSERT_EQUAL(n, 99);
    CU_ASSERT_EQUAL(f[0].kind, 0x5a5a5a5a);
    CU_ASSERT(lh_kfault_parse(NULL, f, 2, &n, NULL, 0) == LH_EINVAL);
}

static void test_kafka_pushed_errors_are_consumed_by_real_requests(void)
{
    lh_kfault f[2];
    size_t n = 0;
    uint64_t left = 99;

    start_broker();
    CU_ASSERT_FATAL(lh_kfault_parse("err:Produce:NOT_LEADER_FOR_PARTITION:3,"
                                    "rtt:0", f, 2, &n, NULL, 0) == 0);
    CU_ASSERT(lh_kbroker_apply(broker, &f[0]) == 0);
    CU_ASSERT(lh_kbroker_apply(broker, &f[1]) == 0);
    CU_ASSERT(lh_kbroker_errors_left(broker, 0, &left) == 0);
    CU_ASSERT_EQUAL(left, 3);
    produce_range(0, 50); /* asserts all 50 delivered, none failed */
    CU_ASSERT(lh_kbroker_errors_left(broker, 0, &left) == 0);
    CU_ASSERT_EQUAL(left, 0);
    /* Broker 2 does not exist in a cluster of one: nothing pushed. */
    f[0].broker = 2;
    CU_ASSERT(lh_kbroker_apply(broker, &f[0]) == LH_ENOTFOUND);
    CU_ASSERT(lh_kbroker_set_rtt(broker, 2, 10) == LH_ENOTFOUND);
    CU_ASSERT(lh_kbroker_push_errors(broker, 0, 0, 1, 6, 0) == LH_EINVAL);
    CU_ASSERT(lh_kbroker_errors_left(broker, 0, &left) == 0);
    CU_ASSERT_EQUAL(left, 0);
    CU_ASSERT_EQUAL(lh_kbroker_count(broker), 1);
    stop_broker();
}

static void test_kafka_bad_arguments_are_rejected(void)
{
    lh_kbroker *b = (lh_kbroker *)&servers;
    lh_kproducer *p = NULL;
    lh_kconsumer *c = NULL;
    char buf[8];

    CU_ASSERT(lh_kbroker_start(0, TOPIC, 1, &b, buf, sizeof buf) == LH_EINVAL);
    CU_ASSERT(lh_kbroker_start(1, "", 1, &b, buf, sizeof buf) == LH_EINVAL);
    CU_ASSERT(lh_kbroker_start(1, TOPIC, 0, &b, buf, sizeof buf) == LH_EINVAL);
    CU_ASSERT(b == (lh_kbroker *)&servers);
    /* A bootstrap buffer too small for "127.0.0.1:port". */
    CU_ASSERT(lh_kbroker_start(1, TOPIC, 1, &b, buf, sizeof buf) == LH_ETRUNC);
    CU_ASSERT(b == (lh_kbroker *)&servers);
    CU_ASSERT(lh_kproducer_new(NULL, TOPIC, &p) == LH_EINVAL);
    CU_ASSERT(lh_kproducer_new("127.0.0.1:1", "", &p) == LH_EINVAL);
    CU_ASSERT(lh_kconsumer_new("127.0.0.1:1", NULL, TOPIC, &c) == LH_EINVAL);
    CU_ASSERT(p == NULL && c == NULL);
    CU_ASSERT(lh_kproducer_send(NULL, "k", 1, "v", 1) == LH_EINVAL);
    CU_ASSERT(lh_kconsumer_done(NULL, 0, 0) == LH_EINVAL);
    CU_ASSERT(lh_kbroker_inject_errors(NULL, 0, 1, 1) == LH_EINVAL);
    lh_kproducer_free(NULL);
    lh_kconsumer_free(NULL);
    lh_kbroker_stop(NULL);
    lh_klag_free(NULL);
}

static void test_kafka_allocation_failures_leave_nothing_behind(void)
{
    lh_kbroker *b = NULL;
    lh_kproducer *p = NULL;
    lh_kconsumer *c = NULL;
    lh_klag *l = NULL;

    lh_alloc_fail_after(0, 0);
    CU_ASSERT(lh_kbroker_start(1, TOPIC, 1, &b, servers, sizeof servers) ==
              LH_ENOMEM);
    lh_alloc_fail_after(0, 0);
    CU_ASSERT(lh_kproducer_new("127.0.0.1:1", TOPIC, &p) == LH_ENOMEM);
    /* The consumer allocates its struct, then its topic name. */
    for (long n = 0; n < 2; n++) {
        lh_alloc_fail_after(n, 0);
        CU_ASSERT(lh_kconsumer_new("127.0.0.1:1", "g", TOPIC, &c) ==
                  LH_ENOMEM);
    }
    for (long n = 0; n < 2; n++) {
        lh_alloc_fail_after(n, 0);
        CU_ASSERT(lh_klag_new("127.0.0.1:1", "g", TOPIC, &l) == LH_ENOMEM);
    }
    lh_alloc_fail_after(-1, 0);
    CU_ASSERT(b == NULL && p == NULL && c == NULL && l == NULL);
}

/* The produce role against a store served by the real RPC framework. */
#define PKEYS 50
#define PEVENTS 2000

typedef struct store_state {
    uint64_t version[PKEYS];
    uint32_t checksum[PKEYS];
    int puts, bad, out_of_order;
} store_state;

static uint8_t store_handler(void *arg, uint8_t method, const uint8_t *body,
                             uint32_t len, rpc_out *out)
{
    store_state *st = arg;
    rpc_value v;
    int k;

    (void)out;
    if (method != RPC_METHOD_PUT || rpc_value_decode(body, len, &v) < 0 ||
        v.key_len != 9 || v.key[0] != 'k' ||
        v.checksum != lh_checksum(v.value, v.value_len)) {
        st->bad++;
        return RPC_STATUS_BADREQ;
    }
    k = 0;
    for (int i = 1; i < 9; i++)
        k = k * 10 + (v.key[i] - '0');
    if (k < 0 || k >= PKEYS) {
        st->bad++;
        return RPC_STATUS_BADREQ;
    }
    if (v.version != st->version[k] + 1)
        st->out_of_order++;
    st->version[k] = v.version;
    st->checksum[k] = v.checksum;
    st->puts++;
    return RPC_STATUS_OK;
}

typedef struct produce_run {
    int argc;
    char **argv;
    int rc;
} produce_run;

static void *produce_main(void *arg)
{
    produce_run *r = arg;

    r->rc = lh_role_produce(r->argc, r->argv);
    return NULL;
}

/* One run of the produce role shows both its halves: each change goes to
 * the store and then, as an event, to Kafka; and with nobody committing it
 * stops at --max-lag events, going on as the group catches up. */
static void test_kafka_produce_role_writes_store_then_publishes_within_max_lag(void)
{
    store_state *st = lh_calloc(1, sizeof *st);
    rpc_server *srv = NULL;
    rpc_server_thread *sth = NULL;
    pthread_t pth;
    uint16_t port = 0;
    char store_addr[32], events[16], keys[16];
    char *argv[] = {"produce", "--brokers", servers, "--store", store_addr,
                    "--events", events, "--keys", keys, "--max-lag", "500",
                    "--group", "g", "--value-size", "40", "--topic", TOPIC,
                    NULL};
    produce_run r = {(int)(sizeof argv / sizeof argv[0]) - 1, argv, -1};
    lh_kconsumer *c = NULL;
    lh_klag *all = NULL;
    lh_kmsg msgs[64];
    uint64_t seen_version[PKEYS] = {0};
    uint32_t seen_checksum[PKEYS] = {0};
    int64_t in_topic = -1;
    int seen_part[PKEYS], n = 0, bad = 0, order = 0, moved = 0;

    CU_ASSERT_FATAL(st != NULL);
    for (int k = 0; k < PKEYS; k++)
        seen_part[k] = -1;
    start_broker();
    CU_ASSERT_FATAL(rpc_server_new("127.0.0.1", 0, NULL, store_handler, st,
                                   &srv, &port) == 0);
    CU_ASSERT_FATAL(rpc_server_thread_start(srv, &sth) == 0);
    snprintf(store_addr, sizeof store_addr, "127.0.0.1:%u", port);
    snprintf(events, sizeof events, "%d", PEVENTS);
    snprintf(keys, sizeof keys, "%d", PKEYS);
    CU_ASSERT_FATAL(pthread_create(&pth, NULL, produce_main, &r) == 0);

    /* Nobody consumes yet: the producer stops at 500 events. */
    lh_sleep_us(1500000);
    CU_ASSERT_FATAL(lh_klag_new(servers, "nobody", TOPIC, &all) == 0);
    CU_ASSERT(lh_klag_get(all, 5000, &in_topic) == 0);
    CU_ASSERT(in_topic == 500);

    /* The group consumes and commits; the producer goes on to the end. */
    CU_ASSERT_FATAL(lh_kconsumer_new(servers, "g", TOPIC, &c) == 0);
    for (int64_t end = lh_now_us() + 30000000; n < PEVENTS && lh_now_us() < end;) {
        int got = lh_kconsumer_poll(c, msgs, 64, 100);

        CU_ASSERT_FATAL(got >= 0);
        for (int i = 0; i < got; i++) {
            lh_event ev;
            int k = 0;

            lh_kconsumer_done(c, msgs[i].partition, msgs[i].offset);
            if (lh_event_decode(msgs[i].value, msgs[i].value_len, &ev) < 0 ||
                !lh_event_checksum_ok(&ev) || ev.key_len != 9 ||
                msgs[i].key_len != 9 ||
                memcmp(msgs[i].key, ev.key, 9) != 0 || ev.payload_len != 40) {
                bad++;
                continue;
            }
            for (int j = 1; j < 9; j++)
                k = k * 10 + (ev.key[j] - '0');
            if (k < 0 || k >= PKEYS) {
                bad++;
                continue;
            }
            if (ev.version != seen_version[k] + 1)
                order++;
            if (seen_part[k] >= 0 && seen_part[k] != msgs[i].partition)
                moved++;
            seen_part[k] = msgs[i].partition;
            seen_version[k] = ev.version;
            seen_checksum[k] = ev.checksum;
            n++;
        }
        lh_kconsumer_release(c, msgs, (size_t)got);
    }
    CU_ASSERT(n == PEVENTS);
    if (n < PEVENTS)
        raise(SIGTERM); /* the role stops on it: the join cannot hang */
    pthread_join(pth, NULL);
    CU_ASSERT(r.rc == 0);
    CU_ASSERT(rpc_server_thread_stop(sth) == 0);
    rpc_server_free(srv);

    CU_ASSERT(st->puts == PEVENTS);
    CU_ASSERT(st->bad == 0);
    CU_ASSERT(st->out_of_order == 0);
    CU_ASSERT(bad == 0);
    CU_ASSERT(order == 0);
    CU_ASSERT(moved == 0);
    CU_ASSERT(lh_klag_get(all, 5000, &in_topic) == 0);
    CU_ASSERT(in_topic == PEVENTS);
    /* The last event of each key is what the store holds. */
    for (int k = 0; k < PKEYS; k++) {
        CU_ASSERT(seen_version[k] == st->version[k]);
        CU_ASSERT(seen_checksum[k] == st->checksum[k]);
    }
    lh_kconsumer_free(c);
    lh_klag_free(all);
    stop_broker();
    lh_free(st);
}


static void test_kafka_props_are_checked_applied_and_cleared(void)
{
    lh_kproducer *p = NULL;
    char err[512];

    CU_ASSERT(lh_kafka_prop_add("no.such.property=1", err, sizeof err) ==
              LH_EINVAL);
    CU_ASSERT(strstr(err, "no.such.property") != NULL);
    CU_ASSERT(lh_kafka_prop_add("security.protocol=pigeon", err,
                                sizeof err) == LH_EINVAL);
    CU_ASSERT(strstr(err, "security.protocol") != NULL);
    CU_ASSERT(lh_kafka_prop_add("client.id", err, sizeof err) == LH_EINVAL);
    CU_ASSERT(lh_kafka_prop_add("=x", err, sizeof err) == LH_EINVAL);
    CU_ASSERT(lh_kafka_prop("security.protocol") == NULL);
    /* Refused ones are not kept; good ones are, the last one winning. */
    CU_ASSERT(lh_kafka_prop_add("client.id=one", err, sizeof err) == 0);
    CU_ASSERT(lh_kafka_prop_add("client.id=two=2", err, sizeof err) == 0);
    CU_ASSERT_STRING_EQUAL(lh_kafka_prop("client.id"), "two=2");
    /* Applied to the clients: SASL PLAIN without its user is refused by
     * librdkafka when the client is made. */
    CU_ASSERT(lh_kafka_prop_add("security.protocol=sasl_plaintext", err,
                                sizeof err) == 0);
    CU_ASSERT(lh_kafka_prop_add("sasl.mechanisms=PLAIN", err, sizeof err) ==
              0);
    CU_ASSERT(lh_kproducer_new("127.0.0.1:1", TOPIC, &p) == LH_EINVAL);
    CU_ASSERT(p == NULL);
    lh_kafka_props_clear();
    CU_ASSERT(lh_kafka_prop("client.id") == NULL);
    CU_ASSERT_FATAL(lh_kproducer_new("127.0.0.1:1", TOPIC, &p) == 0);
    lh_kproducer_free(p);
    /* An allocation failure adds nothing. */
    lh_alloc_fail_after(0, 0);
    CU_ASSERT(lh_kafka_prop_add("client.id=x", err, sizeof err) == LH_ENOMEM);
    lh_alloc_fail_after(-1, 0);
    CU_ASSERT(lh_kafka_prop("client.id") == NULL);
}

static void test_kafka_topic_check_lists_topics_and_creates_none(void)
{
    char err[256];

    start_broker();
    CU_ASSERT(lh_kafka_topic_check(servers, TOPIC, 10000) == 0);
    CU_ASSERT(lh_kafka_topic_check(servers, "missing", 10000) ==
              LH_ENOTFOUND);
    /* The mock auto-creates any topic a Metadata request names: the
     * check named none, so it is still missing. */
    CU_ASSERT(lh_kafka_topic_check(servers, "missing", 10000) ==
              LH_ENOTFOUND);
    CU_ASSERT(lh_kafka_prop_add("allow.auto.create.topics=true", err,
                                sizeof err) == 0);
    CU_ASSERT(lh_kafka_topic_check(servers, "missing", 10000) == 0);
    lh_kafka_props_clear();
    CU_ASSERT(lh_kafka_topic_check(servers, "", 1000) == LH_EINVAL);
    CU_ASSERT(lh_kafka_topic_check(NULL, TOPIC, 1000) == LH_EINVAL);
    stop_broker();
    /* Nobody there: no answer in time. */
    int rc = lh_kafka_topic_check("127.0.0.1:1", TOPIC, 500);
    CU_ASSERT(rc == LH_ETIMEOUT || rc == LH_EIO);
}

static void test_kafka_broker_down_fails_over_to_brokers_up(void)
{
    lh_kproducer *p = NULL;
    char key[16];

    broker = NULL;
    CU_ASSERT_FATAL(lh_kbroker_start(3, TOPIC, 6, &broker, servers,
                                     sizeof servers) == 0);
    CU_ASSERT(lh_kbroker_set_group(broker, "g") == 0);
    CU_ASSERT(lh_kbroker_set_group(broker, "") == LH_EINVAL);
    CU_ASSERT(lh_kbroker_set_down(broker, 2, 1) == 0);
    /* Every partition, broker 2's two among them, takes messages. */
    CU_ASSERT_FATAL(lh_kproducer_new(servers, TOPIC, &p) == 0);
    for (int i = 0; i < 60; i++) {
        int kl = snprintf(key, sizeof key, "k%d", i);
        CU_ASSERT(lh_kproducer_send(p, key, (size_t)kl, "v", 1) == 0);
    }
    CU_ASSERT(lh_kproducer_flush(p, 15000) == 0);
    CU_ASSERT(lh_kproducer_delivered(p) == 60);
    lh_kproducer_free(p);
    stop_broker();
}

static CU_TestInfo tests[] = {
    {"produce role writes the store, then publishes within --max-lag",
     test_kafka_produce_role_writes_store_then_publishes_within_max_lag},
    {"group member gets every message once, a key stays on one partition",
     test_kafka_group_member_gets_every_message_once_key_on_one_partition},
    {"pause stops delivery and resume restarts it",
     test_kafka_pause_stops_delivery_and_resume_restarts_it},
    {"pause before the join survives rebalances",
     test_kafka_pause_before_join_survives_rebalances},
    {"a new member starts after the committed offset",
     test_kafka_new_member_starts_after_committed_offset},
    {"produce errors are retried without loss",
     test_kafka_produce_errors_are_retried_without_loss},
    {"broker down holds delivery until it is up",
     test_kafka_broker_down_holds_delivery_until_it_is_up},
    {"fault plan parses names, numbers and defaults",
     test_kafka_fault_plan_parses_names_numbers_and_defaults},
    {"fault plan rejects bad steps and changes nothing",
     test_kafka_fault_plan_rejects_bad_steps_and_changes_nothing},
    {"pushed errors are consumed by real requests",
     test_kafka_pushed_errors_are_consumed_by_real_requests},
    {"bad arguments are rejected", test_kafka_bad_arguments_are_rejected},
    {"allocation failures leave nothing behind",
     test_kafka_allocation_failures_leave_nothing_behind},
    {"-X properties are checked, applied and cleared",
     test_kafka_props_are_checked_applied_and_cleared},
    {"the topic check lists topics and creates none",
     test_kafka_topic_check_lists_topics_and_creates_none},
    {"a broker down fails over to the brokers up",
     test_kafka_broker_down_fails_over_to_brokers_up},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("kafka", tests)
