/*
 * role_produce.c - `selfheal produce`: the upstream system and load
 * generator.
 *
 * Each change picks a key ("k%08u", uniformly among --keys), bumps that
 * key's version, and makes the value: --value-size bytes that depend only
 * on key and version (so anyone can recompute what a version should hold).
 * The change is written to the store with an RPC PUT; when the store has
 * answered, the change event (core/event.h: key, version, checksum of the
 * value, event time = when the change was made, payload = the value) is
 * published to Kafka keyed by the key.  Publishing after the store answered
 * means an event never reaches the pipeline before its write reached the
 * store; a PUT that fails is counted and its event published all the same
 * (the store then holds an older value, which is what healing repairs).
 *
 * Many PUTs are in flight on one connection (pipelining); replies come
 * back in order, so the events of one key are
 * published in version order, and Kafka keeps that order (one key, one
 * partition, idempotent producer).  Without --store the PUT is skipped.
 * When the store connection dies, the PUTs in flight count as failed (their
 * events are still published) and no new change is made until a new
 * connection is up (retried every 300 ms: `up` restarts a dead store).
 *
 * Store writes in flight are bounded by a window, as the B nodes bound
 * their calls (stage_rpc.c): it closes to one after a write that failed
 * (timeout, error answer, connection lost) and grows by one per answered
 * write up to --inflight (slow start: it doubles every round trip).  It
 * also halves when an answer took longer than SLOW_ANSWER_US, once per
 * round trip (only for a write sent after the last cut): a slow store
 * answers everything, late, and a fixed window of thousands then queues
 * seconds of writes at it, which time out (measured: 28,151 of 30,000
 * writes failed with the store at 400 us a request and 4,096 in flight).
 * The summary line says the most writes ever in flight (inflight_max).
 *
 * Pacing: two independent brakes.
 *  --rate R     at most R changes per second (0: no rate limit).
 *  --max-lag L  at most L events published but not yet committed by the
 *               consumer group --group (0: no limit).  This is "as fast as
 *               the pipeline keeps up": the lag is read from the broker
 *               every 100 ms (lh_klag), and every change made since, in
 *               flight or not, is added.
 * The defaults are --rate 0 --max-lag auto.  The mock broker keeps only the
 * last 5 MiB of each partition and drops older data silently (measured: it
 * is a byte limit; a record costs its key and value plus ~20 bytes), so
 * "auto" keeps the lag under 3/4 of what the topic holds:
 *   partitions * 3/4 * 5 MiB / (value-size + 32 + 2 * 9 + 20)
 * = 242,000 events of 64 bytes with 8 partitions.  The group commits
 * offsets of events the pipeline has *finished*, so with B's 1 s delay
 * queue the lag in steady state is about rate x 1.3 s: more partitions
 * (broker --partitions) raise the ceiling.  A run without any consumer
 * needs --max-lag 0 (and --events small enough for the broker to keep).
 *
 * The run ends when --events changes were made and Kafka has acknowledged
 * or failed every event.  On SIGTERM/SIGINT: no new changes; store writes
 * in flight get STOP_WAIT_US to be answered (then they count as failed and
 * their events are published anyway), Kafka gets STOP_FLUSH_MS to take
 * what is queued, and the stop deadline (roleutil.h, 2 s by default) ends
 * the process whatever it still waits for (a store that stopped answering,
 * a broker that is gone: what `up` killed leaves behind).  It prints one
 * summary line and exits 0 when no event failed, 1 otherwise.
 *
 * With --ledger DIR every event handed to Kafka gets a PRODUCED record
 * (ledger.h), flushed every turn of the main loop and at exit.
 */
#include "counters.h"
#include "kafka.h"
#include "ledger.h"
#include "roles.h"
#include "roleutil.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "event.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef LH_HAVE_RPC
#include "rpc.h"
#endif

#define KEY_LEN 9 /* "k%08u" */
#define LAG_PERIOD_US 100000
#define RECONNECT_US 300000
#define MAX_LAG_AUTO UINT64_MAX
#define MOCK_PARTITION_BYTES (5u << 20)
#define STOP_WAIT_US 1000000 /* for store replies, once stopping */
#define STOP_FLUSH_MS 500    /* for Kafka, once stopping */
#define INFLIGHT_MAX 1024    /* --inflight's default: B's MAX_INFLIGHT */
#define SLOW_ANSWER_US 100000 /* a write answered later halves the window */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
    lh_role_stop_started();
}

typedef struct opts {
    const char *brokers, *store, *topic, *group, *counters, *ledger;
    const char *auth_token; /* for the store; NULL: none */
    uint64_t events, rate, max_lag, keys, value_size, inflight, seed;
} opts;

/* A change whose PUT is in flight. */
typedef struct slot {
    uint32_t key;
    uint64_t version;
    int64_t time_us;
    int64_t sent_us; /* monotonic, for the answer's latency */
    uint64_t seq;    /* p->issued when it was sent */
    int32_t next_free;
} slot;

typedef struct producer {
    opts o;
    lh_kproducer *kp;
    lh_klag *lag;
    lh_ledger *ledger; /* NULL: no --ledger */
#ifdef LH_HAVE_RPC
    rpc_client *rpc;
#endif
    uint64_t *versions; /* per key */
    slot *slots;
    int32_t free_head;
    uint8_t *value;   /* scratch: one value */
    uint8_t *wire;    /* scratch: one rpc_value or one event */
    size_t wire_cap;
    uint64_t rng;
    uint64_t issued;     /* changes made */
    uint64_t published;  /* events handed to Kafka */
    uint64_t put_failed; /* store writes that failed */
    uint64_t kafka_refused; /* events Kafka would not queue */
    int64_t lag_est_base;   /* lag read last time */
    uint64_t lag_dlv_base;  /* delivered when it was read */
    int64_t lag_read_us;
    int64_t reconnect_at; /* store connection lost: when to try again */
    int64_t stop_at;      /* when stop_flag was seen, 0: not yet */
    uint64_t window;      /* store writes allowed in flight, 1..inflight */
    uint64_t cut_seq;     /* writes sent before this one cut it already */
    uint64_t inflight_max; /* the most writes ever in flight */
    unsigned ledger_warned;
    lh_counters counters;
    int64_t counters_us;
} producer;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: selfheal produce --brokers LIST [--store ADDR] "
            "[options]\n"
            "  --brokers LIST    Kafka bootstrap servers\n"
            "  --store ADDR      store host:port (without: Kafka only)\n"
            "  --events N        changes to make (default 100000)\n"
            "  --rate R          changes per second, 0 = unlimited "
            "(default 0)\n"
            "  --max-lag L       max events not yet committed by --group, "
            "0 = unlimited\n"
            "                    (default auto: 3/4 of what the mock broker "
            "keeps)\n"
            "  --group G         consumer group whose lag paces us "
            "(default %s)\n"
            "  --keys K          distinct keys (default 10000)\n"
            "  --value-size S    value bytes (default 64)\n"
            "  --inflight N      store writes in flight at most (default 1024;\n"
            "                    a window below it adapts to the store)\n"
            "  --seed N          key choice seed (default 1)\n"
            "  --topic T         topic (default %s)\n"
            "  --counters FILE   counters file (see counters.h)\n"
            "  --ledger DIR      write the event ledger there (ledger.h)\n"
            "  --auth-token T    sent to the store (default: LH_AUTH_TOKEN)\n"
            "  -X NAME=VALUE     a librdkafka property for the producer and "
            "the lag reader,\n"
            "                    as kcat takes it (security.protocol, sasl.*, "
            "ssl.*, ...;\n"
            "                    repeatable)\n"
            "The topic must exist unless -X allow.auto.create.topics=true.\n",
            LH_KAFKA_DEFAULT_GROUP, LH_KAFKA_DEFAULT_TOPIC);
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!s || *s == '-')
        return LH_EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return LH_EINVAL;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, opts *o)
{
    o->topic = LH_KAFKA_DEFAULT_TOPIC;
    o->group = LH_KAFKA_DEFAULT_GROUP;
    o->events = 100000;
    o->max_lag = MAX_LAG_AUTO;
    o->keys = 10000;
    o->value_size = 64;
    o->inflight = INFLIGHT_MAX;
    o->seed = 1;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (!v || !*v)
            rc = LH_EINVAL;
        else if (strcmp(a, "-X") == 0) {
            if (lh_opt_kafka_prop("produce", v) != 0)
                return LH_EINVAL; /* said */
        } else if (strcmp(a, "--brokers") == 0)
            o->brokers = v;
        else if (strcmp(a, "--store") == 0)
            o->store = v;
        else if (strcmp(a, "--topic") == 0)
            o->topic = v;
        else if (strcmp(a, "--group") == 0)
            o->group = v;
        else if (strcmp(a, "--counters") == 0)
            o->counters = v;
        else if (strcmp(a, "--ledger") == 0)
            o->ledger = v;
        else if (strcmp(a, "--auth-token") == 0)
            o->auth_token = v;
        else if (strcmp(a, "--events") == 0)
            rc = parse_u64(v, 1, UINT64_MAX / 2, &o->events);
        else if (strcmp(a, "--rate") == 0)
            rc = parse_u64(v, 0, 100000000, &o->rate);
        else if (strcmp(a, "--max-lag") == 0 && strcmp(v, "auto") == 0)
            o->max_lag = MAX_LAG_AUTO;
        else if (strcmp(a, "--max-lag") == 0)
            rc = parse_u64(v, 0, INT64_MAX / 2, &o->max_lag);
        else if (strcmp(a, "--keys") == 0)
            rc = parse_u64(v, 1, 100000000, &o->keys);
        else if (strcmp(a, "--value-size") == 0)
            rc = parse_u64(v, 0, LH_EVENT_MAX_PAYLOAD, &o->value_size);
        else if (strcmp(a, "--inflight") == 0)
            rc = parse_u64(v, 1, 1000000, &o->inflight);
        else if (strcmp(a, "--seed") == 0)
            rc = parse_u64(v, 0, UINT64_MAX, &o->seed);
        else
            rc = LH_EINVAL;
        if (rc < 0) {
            fprintf(stderr, "selfheal produce: bad option %s%s%s\n", a,
                    v ? " " : "", v ? v : "");
            return LH_EINVAL;
        }
    }
    if (!o->brokers) {
        fprintf(stderr, "selfheal produce: --brokers is required\n");
        return LH_EINVAL;
    }
    if (lh_auth_token("produce", o->auth_token, &o->auth_token) != 0)
        return LH_EINVAL;
    return 0;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static void key_name(uint32_t key, char out[KEY_LEN + 1])
{
    snprintf(out, KEY_LEN + 1, "k%08" PRIu32, key % 100000000u);
}

/* The value of version `version` of `key`: a function of both only. */
static void make_value(uint32_t key, uint64_t version, uint8_t *buf,
                       size_t len)
{
    uint64_t s = ((uint64_t)key << 32 ^ version) * 0x9E3779B97F4A7C15ull;
    size_t i = 0;

    s ^= 0xD1B54A32D192ED03ull;
    if (s == 0)
        s = 1;
    while (i < len) {
        uint64_t r = xorshift(&s);
        for (int b = 0; b < 8 && i < len; b++, i++)
            buf[i] = (uint8_t)(r >> (8 * b));
    }
}

/* Publishes the event of one change.  Waits (serving delivery reports)
 * while the local queue is full. */
static void publish(producer *p, uint32_t key, uint64_t version,
                    int64_t time_us)
{
    char kname[KEY_LEN + 1];
    lh_event ev;
    int n, rc;

    key_name(key, kname);
    make_value(key, version, p->value, p->o.value_size);
    ev.key = (const uint8_t *)kname;
    ev.key_len = KEY_LEN;
    ev.payload = p->value;
    ev.payload_len = (uint32_t)p->o.value_size;
    ev.checksum = lh_checksum(p->value, p->o.value_size);
    ev.version = version;
    ev.time_us = time_us;
    n = lh_event_encode(&ev, p->wire, p->wire_cap);
    if (n < 0) {
        p->kafka_refused++;
        return;
    }
    for (;;) {
        rc = lh_kproducer_send(p->kp, kname, KEY_LEN, p->wire, (size_t)n);
        if (rc != LH_EFULL || stop_flag)
            break;
        lh_kproducer_poll(p->kp, 5);
    }
    if (rc < 0) {
        p->kafka_refused++;
        return;
    }
    p->published++;
    if (p->ledger != NULL)
        lh_ledger_add(p->ledger, (const uint8_t *)kname, KEY_LEN, version,
                      LH_LEDGER_PRODUCED);
}

#ifdef LH_HAVE_RPC
static void put_done(void *arg, int err, const rpc_reply *reply);
#endif

/* Makes one change.  0, or LH_EFULL when the store has no room in flight
 * (nothing changed then). */
static int make_change(producer *p)
{
    uint32_t key = (uint32_t)(xorshift(&p->rng) % p->o.keys);
    uint64_t version = p->versions[key] + 1;
    int64_t now = lh_wall_us();

#ifdef LH_HAVE_RPC
    if (p->o.store && !p->rpc)
        return LH_EFULL; /* store connection down: wait for it */
    if (p->rpc) {
        char kname[KEY_LEN + 1];
        rpc_value v;
        int32_t s = p->free_head;
        int n, rc;

        if (s < 0 || rpc_client_inflight(p->rpc) >= p->window)
            return LH_EFULL;
        key_name(key, kname);
        make_value(key, version, p->value, p->o.value_size);
        v.key = (const uint8_t *)kname;
        v.key_len = KEY_LEN;
        v.value = p->value;
        v.value_len = (uint32_t)p->o.value_size;
        v.checksum = lh_checksum(p->value, p->o.value_size);
        v.version = version;
        n = rpc_value_encode(&v, p->wire, p->wire_cap);
        if (n < 0)
            return n;
        p->slots[s].key = key;
        p->slots[s].version = version;
        p->slots[s].time_us = now;
        p->slots[s].sent_us = lh_now_us();
        p->slots[s].seq = p->issued;
        rc = rpc_client_call(p->rpc, RPC_METHOD_PUT, p->wire, (uint32_t)n,
                             put_done, &p->slots[s]);
        if (rc == LH_EFULL)
            return LH_EFULL;
        p->versions[key] = version;
        p->issued++;
        if (rc < 0) { /* connection gone: the write is lost */
            p->put_failed++;
            publish(p, key, version, now);
            return 0;
        }
        p->free_head = p->slots[s].next_free;
        if (rpc_client_inflight(p->rpc) > p->inflight_max)
            p->inflight_max = rpc_client_inflight(p->rpc);
        return 0;
    }
#endif
    p->versions[key] = version;
    p->issued++;
    publish(p, key, version, now);
    return 0;
}

#ifdef LH_HAVE_RPC
static producer *the_producer; /* put_done's way back: one per process */

/* The window after a write's answer (see the design note). */
static void adapt_window(producer *p, const slot *s, int failed)
{
    if (failed) {
        p->window = 1;
        p->cut_seq = p->issued;
    } else if (lh_now_us() - s->sent_us > SLOW_ANSWER_US) {
        if (s->seq >= p->cut_seq) {
            p->window = p->window > 1 ? p->window / 2 : 1;
            p->cut_seq = p->issued;
        }
    } else if (p->window < p->o.inflight) {
        p->window++;
    }
}

static void put_done(void *arg, int err, const rpc_reply *reply)
{
    producer *p = the_producer;
    slot *s = arg;
    int failed = err < 0 || !reply || reply->status != RPC_STATUS_OK;

    if (failed)
        p->put_failed++;
    adapt_window(p, s, failed);
    publish(p, s->key, s->version, s->time_us);
    s->next_free = p->free_head;
    p->free_head = (int32_t)(s - p->slots);
}
#endif

/* Updates the lag estimate when due.  Returns events the lag brake still
 * allows (UINT64_MAX: unlimited). */
static uint64_t lag_allowance(producer *p)
{
    int64_t now, est;

    if (!p->lag)
        return UINT64_MAX;
    now = lh_now_us();
    if (now - p->lag_read_us >= LAG_PERIOD_US) {
        int64_t l;

        if (lh_klag_get(p->lag, 1000, &l) == 0) {
            p->lag_est_base = l;
            p->lag_dlv_base = lh_kproducer_delivered(p->kp);
        }
        p->lag_read_us = now;
    }
    /* Everything made since the broker had lag_dlv_base events of ours
     * counts: PUTs in flight, events queued, events in the topic. */
    est = p->lag_est_base + (int64_t)p->issued - (int64_t)p->lag_dlv_base;
    if (est >= (int64_t)p->o.max_lag)
        return 0;
    return p->o.max_lag - (uint64_t)est;
}

static uint64_t inflight(const producer *p)
{
#ifdef LH_HAVE_RPC
    if (p->rpc)
        return rpc_client_inflight(p->rpc);
#endif
    (void)p;
    return 0;
}

/* Waits for store replies (or just sleeps) up to timeout_ms. */
static int serve_store(producer *p, int timeout_ms)
{
#ifdef LH_HAVE_RPC
    if (p->rpc) {
        struct pollfd pfd = {.fd = rpc_client_fd(p->rpc),
                             .events = rpc_client_events(p->rpc)};
        int t = rpc_client_next_timeout_ms(p->rpc);
        int rc;

        if (t >= 0 && t < timeout_ms)
            timeout_ms = t;
        rc = poll(&pfd, 1, timeout_ms);
        if (rc < 0 && errno != EINTR)
            return LH_ESYS;
        rc = rpc_client_process(p->rpc, rc > 0 ? pfd.revents : 0);
        if (rc == LH_ECLOSED) {
            /* Pending PUTs were completed (failed) by the framework. */
            fprintf(stderr, "selfheal produce: store connection closed, "
                            "reconnecting\n");
            rpc_client_free(p->rpc);
            p->rpc = NULL;
            p->reconnect_at = lh_now_us() + RECONNECT_US;
        }
        return 0;
    }
    if (p->o.store) { /* down: reconnect when due */
        int64_t now = lh_now_us();

        if (now >= p->reconnect_at) {
            rpc_opts ro = {.max_inflight = (unsigned)p->o.inflight,
                           .auth_token = p->o.auth_token};

            if (rpc_client_connect(p->o.store, &ro, &p->rpc) < 0) {
                p->rpc = NULL;
                p->reconnect_at = now + RECONNECT_US;
            } else {
                fprintf(stderr, "selfheal produce: store reconnected\n");
            }
        }
        if (timeout_ms < 50)
            timeout_ms = 50;
    }
#endif
    if (timeout_ms > 0)
        lh_sleep_us((int64_t)timeout_ms * 1000);
    return 0;
}

static void tick_counters(producer *p, int force)
{
    p->counters.v[LH_C_produced] = lh_kproducer_delivered(p->kp);
    p->counters.v[LH_C_produce_failed] =
        lh_kproducer_failed(p->kp) + p->kafka_refused;
    p->counters.v[LH_C_ledger_errors] = lh_ledger_errors(p->ledger);
    lh_counters_tick(&p->counters, "produce", p->o.counters, &p->counters_us,
                     force);
}

/* The per-key versions, the slots of PUTs in flight, the scratch
 * buffers, the key generator.  0 or LH_ENOMEM. */
static int setup_memory(producer *p)
{
    size_t need = LH_EVENT_HEADER_SIZE + KEY_LEN + p->o.value_size + 64;

    p->versions = lh_calloc(p->o.keys, sizeof *p->versions);
    p->slots = lh_calloc(p->o.inflight, sizeof *p->slots);
    p->value = lh_malloc(p->o.value_size + 1);
    p->wire = lh_malloc(need);
    p->wire_cap = need;
    if (!p->versions || !p->slots || !p->value || !p->wire)
        return LH_ENOMEM;
    for (uint64_t i = 0; i < p->o.inflight; i++)
        p->slots[i].next_free = i + 1 < p->o.inflight ? (int32_t)(i + 1) : -1;
    p->free_head = 0;
    p->window = p->o.inflight;
    p->rng = p->o.seed * 0x9E3779B97F4A7C15ull + 1;
    if (p->rng == 0)
        p->rng = 1;
    return 0;
}

/* The Kafka producer, and with a lag brake the group's lag reader
 * (--max-lag auto becomes a number here).  0 or an error (said). */
static int setup_kafka(producer *p)
{
    if (lh_role_topic_check("produce", p->o.brokers, p->o.topic) != 0)
        return LH_EINVAL; /* said: a usage error */
    int rc = lh_kproducer_new(p->o.brokers, p->o.topic, &p->kp);
    if (rc < 0) {
        fprintf(stderr, "selfheal produce: cannot create the producer: %s\n",
                lh_strerror(rc));
        return rc;
    }
    if (!p->o.max_lag)
        return 0;
    rc = lh_klag_new(p->o.brokers, p->o.group, p->o.topic, &p->lag);
    if (rc < 0) {
        fprintf(stderr, "selfheal produce: cannot read the lag of group "
                        "%s: %s\n", p->o.group, lh_strerror(rc));
        return rc;
    }
    if (p->o.max_lag == MAX_LAG_AUTO) {
        uint64_t per = p->o.value_size + LH_EVENT_HEADER_SIZE +
                       2 * KEY_LEN + 20;

        p->o.max_lag = (uint64_t)lh_klag_partitions(p->lag) *
                       (MOCK_PARTITION_BYTES / 4 * 3) / per;
        if (p->o.max_lag == 0)
            p->o.max_lag = 1;
    }
    return 0;
}

/* The store connection (--store).  0 or an error (said). */
static int setup_store(producer *p)
{
    if (!p->o.store)
        return 0;
#ifdef LH_HAVE_RPC
    rpc_opts ro = {.max_inflight = (unsigned)p->o.inflight,
                   .auth_token = p->o.auth_token};
    int rc = rpc_client_connect(p->o.store, &ro, &p->rpc);
    if (rc < 0) {
        fprintf(stderr, "selfheal produce: cannot connect to the store "
                        "%s: %s\n", p->o.store, lh_strerror(rc));
        return rc;
    }
    the_producer = p;
    return 0;
#else
    fprintf(stderr, "selfheal produce: built without the RPC framework\n");
    return LH_EUNSUPPORTED;
#endif
}

static int setup(producer *p)
{
    int rc = setup_memory(p);
    if (rc == 0)
        rc = setup_kafka(p);
    if (rc == 0 && p->o.ledger != NULL) {
        rc = lh_ledger_open(p->o.ledger, "produce", &p->ledger);
        if (rc < 0)
            fprintf(stderr, "selfheal produce: cannot create a ledger in "
                            "%s: %s\n", p->o.ledger, lh_strerror(rc));
    }
    if (rc == 0)
        rc = setup_store(p);
    return rc;
}

static void teardown(producer *p)
{
#ifdef LH_HAVE_RPC
    rpc_client_free(p->rpc); /* pending PUTs complete (and publish) */
    the_producer = NULL;
#endif
    if (lh_ledger_close(p->ledger) != 0)
        fprintf(stderr, "selfheal produce: cannot write the ledger: %s\n",
                strerror(errno));
    p->ledger = NULL;
    lh_kproducer_free(p->kp); /* flushes, bounded */
    lh_klag_free(p->lag);
    lh_free(p->versions);
    lh_free(p->slots);
    lh_free(p->value);
    lh_free(p->wire);
}

/* The main loop: makes changes while the brakes allow, serves replies and
 * delivery reports, until every event is settled. */
static int run(producer *p)
{
    const int64_t t0 = lh_now_us();

    for (;;) {
        uint64_t allowed = 0;
        int wait_ms = 0;

        if (!stop_flag && p->issued < p->o.events) {
            allowed = p->o.events - p->issued;
            if (p->o.rate) {
                uint64_t due = (uint64_t)((double)(lh_now_us() - t0) *
                                          (double)p->o.rate / 1e6) + 1;
                uint64_t by_rate = due > p->issued ? due - p->issued : 0;

                if (by_rate < allowed)
                    allowed = by_rate;
                if (allowed == 0)
                    wait_ms = 1;
            }
            uint64_t lag_ok = lag_allowance(p);
            if (lag_ok < allowed)
                allowed = lag_ok;
            if (lag_ok == 0)
                wait_ms = 5;
            if (allowed > 4096)
                allowed = 4096; /* serve replies between bursts */
            for (uint64_t i = 0; i < allowed; i++) {
                if (make_change(p) == LH_EFULL) {
                    wait_ms = 10;
                    break;
                }
            }
        } else if (inflight(p) > 0) {
            wait_ms = 10;
        }
        int rc = serve_store(p, wait_ms);

        if (rc < 0)
            return rc;
        lh_kproducer_poll(p->kp, 0);
        if (lh_ledger_flush(p->ledger) != 0 && p->ledger_warned++ == 0)
            fprintf(stderr, "selfheal produce: cannot write the ledger: "
                            "%s\n", strerror(errno));
        tick_counters(p, 0);

        if ((stop_flag || p->issued >= p->o.events) && inflight(p) == 0)
            break;
        if (stop_flag && p->stop_at == 0)
            p->stop_at = lh_now_us();
        if (stop_flag && lh_now_us() - p->stop_at >= STOP_WAIT_US) {
            fprintf(stderr, "selfheal produce: stopping with %" PRIu64
                            " store writes unanswered\n", inflight(p));
            break;
        }
    }
    return 0;
}

int lh_role_produce(int argc, char **argv)
{
    producer p;
    struct sigaction sa;
    int64_t t0, t1;
    uint64_t delivered, failed;
    int rc;

    memset(&p, 0, sizeof p);
    rc = parse_args(argc, argv, &p.o);
    if (rc != 0) {
        if (rc > 0)
            usage(stdout); /* errors are one line, said already */
        lh_kafka_props_clear();
        return rc > 0 ? 0 : 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (lh_role_stop_deadline("produce") != 0) {
        lh_kafka_props_clear();
        return 2;
    }

    t0 = lh_now_us();
    rc = setup(&p);
    if (rc == 0)
        rc = run(&p);
    int flush_ms = stop_flag ? STOP_FLUSH_MS : 30000;
    if (rc == 0 && p.kp && lh_kproducer_flush(p.kp, flush_ms) < 0)
        fprintf(stderr, "selfheal produce: events still undelivered after "
                        "%d ms\n", flush_ms);
    t1 = lh_now_us();
    delivered = p.kp ? lh_kproducer_delivered(p.kp) : 0;
    failed = p.kp ? lh_kproducer_failed(p.kp) + p.kafka_refused : 0;
    if (p.kp)
        tick_counters(&p, 1);
    if (rc == 0) {
        double secs = (double)(t1 - t0) / 1e6;
        printf("produce: changes %" PRIu64 " produced %" PRIu64
               " delivered %" PRIu64 " failed %" PRIu64
               " store_errors %" PRIu64 " inflight_max %" PRIu64
               " seconds %.2f rate %.0f/s\n",
               p.issued, p.published, delivered, failed, p.put_failed,
               p.inflight_max, secs,
               secs > 0 ? (double)delivered / secs : 0.0);
        fflush(stdout);
    }
    teardown(&p);
    lh_kafka_props_clear();
    if (rc == LH_EINVAL) /* the topic, or the -X properties (said) */
        return 2;
    if (rc < 0)
        return 1;
    return failed ? 1 : 0;
}
