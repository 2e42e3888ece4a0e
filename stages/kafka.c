/*
 * kafka.c - the pipeline's Kafka layer on librdkafka (see kafka.h).
 *
 * Design notes.
 *
 * Broker: the mock cluster lives on a dedicated rd_kafka_t of its own (a
 * producer handle that never produces); it runs its own thread, so
 * lh_kbroker_start returns at once and the cluster serves until stopped.
 *
 * Faults: lh_kbroker_push_errors uses each broker's own error stack
 * (rd_kafka_mock_broker_push_request_error_rtts) rather than the
 * cluster's, because only a broker's stack can be read back
 * (rd_kafka_mock_broker_error_stack_cnt): a fault test can then tell that
 * the errors it asked for were met by real requests.  Fault plans
 * (lh_kfault_parse) are parsed in two passes, checking first, so a bad
 * plan leaves the caller's steps untouched; error names come from
 * librdkafka's own table (rd_kafka_get_err_descs).
 *
 * Producer: tuned for many small keyed messages.  linger.ms 5 and batches of
 * up to 10,000 messages / 1 MB keep the number of batches low, which matters
 * twice over on the mock: fewer requests, and the mock's per-partition cap
 * of 100,000 batches is then never the binding one (its ~5 MB cap is).
 * Idempotence is on, so a Produce error that librdkafka retries can neither
 * duplicate nor reorder messages of one partition (one key stays on one
 * partition: murmur2_random, the Java client's partitioner).  Delivery
 * reports only count; the caller drives them with lh_kproducer_poll.
 *
 * Consumer: one group member with a short session timeout (6 s: the mock
 * makes a rejoin wait session.timeout.ms - 1 s).  Prefetch is capped at
 * 32 MiB (queued.max.messages.kbytes; librdkafka's default is 64 MiB,
 * and one fetch of fetch.message.max.bytes may overshoot it): that is A's
 * memory beyond its ring, and under overload, with the partitions paused
 * and resumed again and again, the queue refills to wherever the cap lets
 * it (with 128 MiB A's RSS wandered by 7 MB between runs); 32 MiB is some
 * 300,000 events of the pipeline's size, over a second ahead of a
 * consumer forwarding ~200,000 a second.  Offsets are stored only
 * by lh_kconsumer_done, and auto-commit commits stored offsets every 200 ms.
 * lh_kconsumer_done records the offset in a per-partition slot under a
 * mutex (it may be called from another thread, and per event); the slots go
 * to rd_kafka_offsets_store on the next poll, from lh_kconsumer_done itself
 * when 50 ms passed since the last time (a paused caller may not poll),
 * before a revoke, and on free.
 *
 * Rebalancing is eager ("range,roundrobin"): on revoke we store and commit
 * what is done, then unassign; on assign we assign and, when the member is
 * paused, pause the new partitions at once, so a pause survives rebalances.
 * The callback also handles the cooperative protocol, should the strategy
 * be changed, through rd_kafka_rebalance_protocol.  Messages still in the
 * pipeline for a revoked partition are redelivered to its next owner:
 * delivery is at least once.
 *
 * Polling: rd_kafka_consume_batch_queue waits for a *full* batch until its
 * timeout, which would add latency, so lh_kconsumer_poll waits for the first
 * message with rd_kafka_consumer_poll and then drains what is already
 * fetched with a zero-timeout batch call.  Rebalance, error and commit
 * callbacks are served by these calls on the polling thread.
 *
 * Commits that fail with REBALANCE_IN_PROGRESS (the mock answers so while a
 * group rejoins) or ILLEGAL_GENERATION are not logged: the offsets stay
 * stored and the next auto-commit sends them again.
 *
 * Logging: librdkafka's log lines of level error and worse, and its error
 * callbacks, go to stderr with a "kafka:" prefix; a transient error is
 * logged when it differs from the previous one, so a broker that stays down
 * does not flood the log.
 */
#include "kafka.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

/* lh_kconsumer_done hands offsets to librdkafka at least this often. */
#define STORE_PERIOD_US 50000

/* Shared helpers. */

static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    (void)rk;
    /* Warnings, and FAIL lines, repeat what the error callbacks say. */
    if (level <= LOG_ERR && strcmp(fac, "FAIL") != 0)
        fprintf(stderr, "kafka: %s: %s\n", fac, buf);
}

/* Sets one property; logs and returns LH_EINVAL on failure. */
static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *val)
{
    char errstr[256];

    if (rd_kafka_conf_set(conf, name, val, errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka: cannot set %s=%s: %s\n", name, val, errstr);
        return LH_EINVAL;
    }
    return 0;
}

/* Sets a NULL-terminated list of name, value pairs. */
static int conf_set_all(rd_kafka_conf_t *conf, const char *const *kv)
{
    for (size_t i = 0; kv[i]; i += 2) {
        int rc = conf_set(conf, kv[i], kv[i + 1]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static rd_kafka_conf_t *conf_base(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    if (!conf)
        return NULL;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    return conf;
}

/* Creates a handle; takes ownership of conf in every case. */
static rd_kafka_t *handle_new(rd_kafka_type_t type, rd_kafka_conf_t *conf,
                              const char *what)
{
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);

    if (!rk) {
        fprintf(stderr, "kafka: cannot create %s: %s\n", what, errstr);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

/* The embedded broker. */

struct lh_kbroker {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    int brokers; /* ids 1 .. brokers */
};

int lh_kbroker_start(int brokers, const char *topic, int partitions,
                     lh_kbroker **out, char *bootstrap, size_t cap)
{
    static const char *const kv[] = {"log_level", "3", NULL};
    lh_kbroker *b = NULL;
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_resp_err_t err;
    const char *servers;
    int rc;

    if (brokers < 1 || !topic || !*topic || partitions < 1 || !out ||
        !bootstrap || cap == 0)
        return LH_EINVAL;
    b = lh_calloc(1, sizeof *b);
    conf = conf_base();
    if (!b || !conf) {
        rc = LH_ENOMEM;
        goto out;
    }
    rc = conf_set_all(conf, kv);
    if (rc < 0)
        goto out;
    b->rk = handle_new(RD_KAFKA_PRODUCER, conf, "the mock cluster's handle");
    conf = NULL;
    if (!b->rk) {
        rc = LH_EIO;
        goto out;
    }
    b->brokers = brokers;
    b->mc = rd_kafka_mock_cluster_new(b->rk, brokers);
    if (!b->mc) {
        fprintf(stderr, "kafka: cannot start the mock cluster\n");
        rc = LH_EIO;
        goto out;
    }
    err = rd_kafka_mock_topic_create(b->mc, topic, partitions, 1);
    if (err) {
        fprintf(stderr, "kafka: cannot create topic %s: %s\n", topic,
                rd_kafka_err2str(err));
        rc = LH_EIO;
        goto out;
    }
    servers = rd_kafka_mock_cluster_bootstraps(b->mc);
    if (strlen(servers) >= cap) {
        rc = LH_ETRUNC;
        goto out;
    }
    memcpy(bootstrap, servers, strlen(servers) + 1);
    *out = b;
    b = NULL;
    rc = 0;
out:
    if (conf)
        rd_kafka_conf_destroy(conf);
    lh_kbroker_stop(b);
    return rc;
}

void lh_kbroker_stop(lh_kbroker *b)
{
    if (!b)
        return;
    if (b->mc)
        rd_kafka_mock_cluster_destroy(b->mc);
    if (b->rk)
        rd_kafka_destroy(b->rk);
    lh_free(b);
}

int lh_kbroker_inject_errors(lh_kbroker *b, int api_key, int count, int error)
{
    if (!b || api_key < 0 || api_key > INT16_MAX || count < 0)
        return LH_EINVAL;
    for (int i = 0; i < count; i++)
        rd_kafka_mock_push_request_errors(b->mc, (int16_t)api_key, 1,
                                          (rd_kafka_resp_err_t)error);
    return 0;
}

int lh_kbroker_set_down(lh_kbroker *b, int broker_id, int down)
{
    rd_kafka_resp_err_t err;

    if (!b)
        return LH_EINVAL;
    err = down ? rd_kafka_mock_broker_set_down(b->mc, broker_id)
               : rd_kafka_mock_broker_set_up(b->mc, broker_id);
    if (err) {
        fprintf(stderr, "kafka: cannot set broker %d %s: %s\n", broker_id,
                down ? "down" : "up", rd_kafka_err2str(err));
        return err == RD_KAFKA_RESP_ERR__UNKNOWN_BROKER ||
                       err == RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE
                   ? LH_ENOTFOUND
                   : LH_EIO;
    }
    return 0;
}

int lh_kbroker_count(const lh_kbroker *b)
{
    return b ? b->brokers : 0;
}

/* The mock's answer for a broker id as an lh error code. */
static int mock_rc(rd_kafka_resp_err_t err)
{
    if (!err)
        return 0;
    if (err == RD_KAFKA_RESP_ERR__UNKNOWN_BROKER ||
        err == RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE)
        return LH_ENOTFOUND;
    if (err == RD_KAFKA_RESP_ERR__INVALID_ARG)
        return LH_EINVAL;
    return LH_EIO;
}

int lh_kbroker_push_errors(lh_kbroker *b, int broker_id, int api_key,
                           int count, int error, int rtt_ms)
{
    int first = broker_id, last = broker_id;

    if (!b || api_key < 0 || api_key > INT16_MAX || count < 0 ||
        count > LH_KFAULT_MAX_COUNT || rtt_ms < 0 ||
        rtt_ms > LH_KFAULT_MAX_MS || broker_id < -1 || broker_id == 0)
        return LH_EINVAL;
    if (broker_id > b->brokers)
        return LH_ENOTFOUND;
    if (broker_id == -1) {
        first = 1;
        last = b->brokers;
    }
    for (int id = first; id <= last; id++)
        for (int i = 0; i < count; i++) {
            rd_kafka_resp_err_t err = rd_kafka_mock_broker_push_request_error_rtts(
                b->mc, id, (int16_t)api_key, 1, (rd_kafka_resp_err_t)error,
                rtt_ms);
            if (err) {
                fprintf(stderr, "kafka: cannot push an error on broker %d: "
                        "%s\n", id, rd_kafka_err2str(err));
                return mock_rc(err);
            }
        }
    return 0;
}

int lh_kbroker_errors_left(lh_kbroker *b, int api_key, uint64_t *left)
{
    uint64_t sum = 0;

    if (!b || !left || api_key < 0 || api_key > INT16_MAX)
        return LH_EINVAL;
    for (int id = 1; id <= b->brokers; id++) {
        size_t cnt = 0;
        rd_kafka_resp_err_t err =
            rd_kafka_mock_broker_error_stack_cnt(b->mc, id, (int16_t)api_key,
                                                 &cnt);
        if (err)
            return LH_EIO;
        sum += cnt;
    }
    *left = sum;
    return 0;
}

int lh_kbroker_set_rtt(lh_kbroker *b, int broker_id, int rtt_ms)
{
    if (!b || rtt_ms < 0 || rtt_ms > LH_KFAULT_MAX_MS || broker_id < -1 ||
        broker_id == 0)
        return LH_EINVAL;
    if (broker_id > b->brokers)
        return LH_ENOTFOUND;
    return mock_rc(rd_kafka_mock_broker_set_rtt(b->mc, broker_id, rtt_ms));
}

int lh_kbroker_apply(lh_kbroker *b, const lh_kfault *f)
{
    if (!b || !f)
        return LH_EINVAL;
    switch (f->kind) {
    case LH_KFAULT_SLEEP:
        return 0;
    case LH_KFAULT_ERRORS:
        return lh_kbroker_push_errors(b, f->broker, f->api_key, f->count,
                                      f->error, 0);
    case LH_KFAULT_DOWN:
    case LH_KFAULT_UP:
        if (f->broker < -1 || f->broker == 0)
            return LH_EINVAL;
        if (f->broker > b->brokers)
            return LH_ENOTFOUND;
        return lh_kbroker_set_down(b, f->broker, f->kind == LH_KFAULT_DOWN);
    case LH_KFAULT_RTT:
        return lh_kbroker_set_rtt(b, f->broker, f->ms);
    default:
        return LH_EINVAL;
    }
}

/* Fault plans. */

static const struct {
    const char *name;
    int key;
} api_names[] = {
    {"Produce", 0},          {"Fetch", 1},         {"ListOffsets", 2},
    {"Metadata", 3},         {"OffsetCommit", 8},  {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},    {"Heartbeat", 12},
    {"LeaveGroup", 13},      {"SyncGroup", 14},    {"ApiVersions", 18},
    {"InitProducerId", 22},
};

/* A whole decimal number in [lo, hi] spelled by s[0..len); 0 or
 * LH_EINVAL. */
static int parse_int(const char *s, size_t len, long lo, long hi, int *out)
{
    long v = 0;
    int neg = 0;
    size_t i = 0;

    if (len > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == len || len - i > 9)
        return LH_EINVAL;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return LH_EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    if (neg)
        v = -v;
    if (v < lo || v > hi)
        return LH_EINVAL;
    *out = (int)v;
    return 0;
}

/* 1 when s[0..len) equals name, ignoring case. */
static int same_word(const char *s, size_t len, const char *name)
{
    return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

static int api_key_of(const char *s, size_t len)
{
    int key;

    for (size_t i = 0; i < sizeof api_names / sizeof api_names[0]; i++)
        if (same_word(s, len, api_names[i].name))
            return api_names[i].key;
    if (parse_int(s, len, 0, INT16_MAX, &key) == 0)
        return key;
    return LH_ENOTFOUND;
}

int lh_kafka_api_key(const char *name)
{
    if (!name)
        return LH_ENOTFOUND;
    return api_key_of(name, strlen(name));
}

const char *lh_kafka_api_name(int api_key)
{
    for (size_t i = 0; i < sizeof api_names / sizeof api_names[0]; i++)
        if (api_names[i].key == api_key)
            return api_names[i].name;
    return "?";
}

const char *lh_kafka_err_name(int error)
{
    return rd_kafka_err2name((rd_kafka_resp_err_t)error);
}

/* An error code from its name (NOT_LEADER_FOR_PARTITION, _TRANSPORT, with
 * or without RD_KAFKA_RESP_ERR_) or number.  0 or LH_ENOTFOUND. */
static int error_of(const char *s, size_t len, int *out)
{
    static const char prefix[] = "RD_KAFKA_RESP_ERR_";
    const struct rd_kafka_err_desc *descs;
    size_t cnt;

    if (parse_int(s, len, -1000, 10000, out) == 0)
        return 0;
    if (len > sizeof prefix - 1 &&
        strncasecmp(s, prefix, sizeof prefix - 1) == 0) {
        s += sizeof prefix - 1;
        len -= sizeof prefix - 1;
    }
    rd_kafka_get_err_descs(&descs, &cnt);
    for (size_t i = 0; i < cnt; i++)
        if (descs[i].name && same_word(s, len, descs[i].name)) {
            *out = (int)descs[i].code;
            return 0;
        }
    return LH_ENOTFOUND;
}

/* The fields of one step: pointers into the spec and their lengths. */
#define STEP_FIELDS 5

static int parse_step(const char *s, size_t len, lh_kfault *f, char *err,
                      size_t errcap)
{
    const char *fld[STEP_FIELDS];
    size_t flen[STEP_FIELDS];
    int nf = 0;
    size_t start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != ':')
            continue;
        if (nf == STEP_FIELDS) {
            snprintf(err, errcap, "fault step '%.*s': too many fields",
                     (int)len, s);
            return LH_EINVAL;
        }
        fld[nf] = s + start;
        flen[nf++] = i - start;
        start = i + 1;
    }
    memset(f, 0, sizeof *f);
    f->broker = -1;
    f->count = 1;
    int ok = 0;
    if (same_word(fld[0], flen[0], "sleep")) {
        f->kind = LH_KFAULT_SLEEP;
        ok = nf == 2 &&
             parse_int(fld[1], flen[1], 0, LH_KFAULT_MAX_MS, &f->ms) == 0;
    } else if (same_word(fld[0], flen[0], "down") ||
               same_word(fld[0], flen[0], "up")) {
        f->kind = flen[0] == 4 ? LH_KFAULT_DOWN : LH_KFAULT_UP;
        ok = nf == 1 ||
             (nf == 2 && parse_int(fld[1], flen[1], 1, 1000, &f->broker) == 0);
    } else if (same_word(fld[0], flen[0], "rtt")) {
        f->kind = LH_KFAULT_RTT;
        ok = (nf == 2 || nf == 3) &&
             parse_int(fld[1], flen[1], 0, LH_KFAULT_MAX_MS, &f->ms) == 0 &&
             (nf == 2 || parse_int(fld[2], flen[2], 1, 1000, &f->broker) == 0);
    } else if (same_word(fld[0], flen[0], "err")) {
        f->kind = LH_KFAULT_ERRORS;
        f->api_key = nf >= 3 ? api_key_of(fld[1], flen[1]) : 0;
        if (nf < 3) {
            ok = 0;
        } else if (f->api_key < 0) {
            snprintf(err, errcap, "fault step '%.*s': unknown Kafka request "
                     "'%.*s'", (int)len, s, (int)flen[1], fld[1]);
            return LH_EINVAL;
        } else if (error_of(fld[2], flen[2], &f->error) != 0) {
            snprintf(err, errcap, "fault step '%.*s': unknown Kafka error "
                     "'%.*s'", (int)len, s, (int)flen[2], fld[2]);
            return LH_EINVAL;
        } else {
            ok = nf <= 5 &&
                 (nf < 4 || parse_int(fld[3], flen[3], 1, LH_KFAULT_MAX_COUNT,
                                      &f->count) == 0) &&
                 (nf < 5 || parse_int(fld[4], flen[4], 1, 1000,
                                      &f->broker) == 0);
        }
    } else {
        snprintf(err, errcap, "fault step '%.*s': unknown step (known: "
                 "sleep, err, down, up, rtt)", (int)len, s);
        return LH_EINVAL;
    }
    if (!ok) {
        snprintf(err, errcap, "fault step '%.*s': bad fields (sleep:MS, "
                 "err:API:ERROR[:COUNT[:BROKER]], down[:BROKER], "
                 "up[:BROKER], rtt:MS[:BROKER])", (int)len, s);
        return LH_EINVAL;
    }
    return 0;
}

int lh_kfault_parse(const char *spec, lh_kfault *steps, size_t max,
                    size_t *n, char *err, size_t errcap)
{
    size_t count = 0, start = 0, len;
    lh_kfault f;
    char dummy[1];

    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    if (!spec || !steps || !n) {
        snprintf(err, errcap, "no fault spec");
        return LH_EINVAL;
    }
    len = strlen(spec);
    /* Two passes: check everything first, so a bad spec changes nothing. */
    for (int pass = 0; pass < 2; pass++) {
        count = 0;
        start = 0;
        for (size_t i = 0; i <= len; i++) {
            if (i < len && spec[i] != ',')
                continue;
            if (i == start) {
                snprintf(err, errcap, "empty fault step in '%s'", spec);
                return LH_EINVAL;
            }
            int rc = parse_step(spec + start, i - start, &f, err, errcap);
            if (rc < 0)
                return rc;
            if (count == max) {
                snprintf(err, errcap, "more than %zu fault steps", max);
                return LH_ETOOBIG;
            }
            if (pass == 1)
                steps[count] = f;
            count++;
            start = i + 1;
        }
    }
    *n = count;
    return 0;
}

/* Producer. */

struct lh_kproducer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    _Atomic uint64_t delivered;
    _Atomic uint64_t failed;
    rd_kafka_resp_err_t last_err; /* last delivery error logged */
};

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m,
                      void *opaque)
{
    lh_kproducer *p = opaque;

    (void)rk;
    if (!m->err) {
        atomic_fetch_add_explicit(&p->delivered, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&p->failed, 1, memory_order_relaxed);
    if (m->err != p->last_err) {
        fprintf(stderr, "kafka: delivery failed: %s\n",
                rd_kafka_err2str(m->err));
        p->last_err = m->err;
    }
}

static void producer_error_cb(rd_kafka_t *rk, int err, const char *reason,
                              void *opaque)
{
    lh_kproducer *p = opaque;

    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[256];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
        fprintf(stderr, "kafka: producer fatal error: %s: %s\n",
                rd_kafka_err2name(orig), why);
        return;
    }
    if ((rd_kafka_resp_err_t)err != p->last_err) {
        fprintf(stderr, "kafka: producer: %s\n", reason);
        p->last_err = (rd_kafka_resp_err_t)err;
    }
}

int lh_kproducer_new(const char *brokers, const char *topic,
                     lh_kproducer **out)
{
    static const char *const kv[] = {
        "linger.ms", "5",
        "batch.num.messages", "10000",
        "batch.size", "1000000",
        "compression.codec", "none",
        "partitioner", "murmur2_random",
        "queue.buffering.max.messages", "1000000",
        "queue.buffering.max.kbytes", "1048576",
        "enable.idempotence", "true",
        "message.timeout.ms", "60000",
        "retry.backoff.ms", "50",
        "socket.nagle.disable", "true",
        NULL,
    };
    lh_kproducer *p = NULL;
    rd_kafka_conf_t *conf = NULL;
    int rc;

    if (!brokers || !*brokers || !topic || !*topic || !out)
        return LH_EINVAL;
    p = lh_calloc(1, sizeof *p);
    conf = conf_base();
    if (!p || !conf) {
        rc = LH_ENOMEM;
        goto out;
    }
    rc = conf_set(conf, "bootstrap.servers", brokers);
    if (rc == 0)
        rc = conf_set_all(conf, kv);
    if (rc < 0)
        goto out;
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_conf_set_error_cb(conf, producer_error_cb);
    p->rk = handle_new(RD_KAFKA_PRODUCER, conf, "producer");
    conf = NULL;
    if (!p->rk) {
        rc = LH_EIO;
        goto out;
    }
    p->rkt = rd_kafka_topic_new(p->rk, topic, NULL);
    if (!p->rkt) {
        fprintf(stderr, "kafka: cannot create topic handle %s: %s\n", topic,
                rd_kafka_err2str(rd_kafka_last_error()));
        rc = LH_EIO;
        goto out;
    }
    *out = p;
    p = NULL;
    rc = 0;
out:
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (p) {
        if (p->rk)
            rd_kafka_destroy(p->rk);
        lh_free(p);
    }
    return rc;
}

int lh_kproducer_send(lh_kproducer *p, const void *key, size_t key_len,
                      const void *value, size_t value_len)
{
    rd_kafka_resp_err_t err;

    if (!p || (!key && key_len) || (!value && value_len))
        return LH_EINVAL;
    if (rd_kafka_produce(p->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                         (void *)value, value_len, key, key_len, NULL) == 0)
        return 0;
    err = rd_kafka_last_error();
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return LH_EFULL;
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        return LH_ETOOBIG;
    fprintf(stderr, "kafka: cannot produce: %s\n", rd_kafka_err2str(err));
    return LH_EIO;
}

int lh_kproducer_poll(lh_kproducer *p, int timeout_ms)
{
    if (!p)
        return LH_EINVAL;
    return rd_kafka_poll(p->rk, timeout_ms);
}

int lh_kproducer_flush(lh_kproducer *p, int timeout_ms)
{
    if (!p)
        return LH_EINVAL;
    if (rd_kafka_flush(p->rk, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return LH_ETIMEOUT;
    return 0;
}

uint64_t lh_kproducer_delivered(const lh_kproducer *p)
{
    return atomic_load_explicit(&((lh_kproducer *)p)->delivered,
                                memory_order_relaxed);
}

uint64_t lh_kproducer_failed(const lh_kproducer *p)
{
    return atomic_load_explicit(&((lh_kproducer *)p)->failed,
                                memory_order_relaxed);
}

void lh_kproducer_free(lh_kproducer *p)
{
    if (!p)
        return;
    if (rd_kafka_flush(p->rk, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(stderr, "kafka: producer closed with %d messages undelivered\n",
                rd_kafka_outq_len(p->rk));
    rd_kafka_topic_destroy(p->rkt);
    rd_kafka_destroy(p->rk);
    lh_free(p);
}

/* Consumer. */

struct lh_kconsumer {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q; /* the consumer queue */
    char *topic;
    pthread_mutex_t lock; /* guards done[], ndone, dirty, paused, assigned */
    int64_t *done;        /* per partition: next offset to store, or -1 */
    size_t ndone;
    int dirty;
    int paused;
    int assigned;
    int64_t stored_us; /* when done[] last went to librdkafka */
    rd_kafka_resp_err_t last_err; /* last transient error logged */
};

/* Hands recorded offsets to librdkafka.  Called with c->lock held.
 * Partitions no longer assigned fail individually; that is expected after
 * a revoke and not reported. */
static void store_done_locked(lh_kconsumer *c)
{
    rd_kafka_topic_partition_list_t *l;
    int n = 0;

    if (!c->dirty)
        return;
    for (size_t i = 0; i < c->ndone; i++)
        n += c->done[i] >= 0;
    l = rd_kafka_topic_partition_list_new(n);
    if (!l)
        return; /* stays dirty: retried on the next poll */
    for (size_t i = 0; i < c->ndone; i++) {
        if (c->done[i] < 0)
            continue;
        rd_kafka_topic_partition_list_add(l, c->topic, (int32_t)i)->offset =
            c->done[i];
        c->done[i] = -1;
    }
    (void)rd_kafka_offsets_store(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    c->dirty = 0;
}

static int quiet_commit_err(rd_kafka_resp_err_t err)
{
    return err == RD_KAFKA_RESP_ERR_NO_ERROR ||
           err == RD_KAFKA_RESP_ERR__NO_OFFSET ||
           err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
           err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
           err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID;
}

static void commit_now(lh_kconsumer *c)
{
    rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, NULL, 0);

    if (!quiet_commit_err(err))
        fprintf(stderr, "kafka: commit failed: %s\n", rd_kafka_err2str(err));
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    lh_kconsumer *c = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *e = NULL;
    rd_kafka_resp_err_t rerr = RD_KAFKA_RESP_ERR_NO_ERROR;
    int paused;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (coop)
            e = rd_kafka_incremental_assign(rk, parts);
        else
            rerr = rd_kafka_assign(rk, parts);
        pthread_mutex_lock(&c->lock);
        paused = c->paused;
        c->assigned = coop ? c->assigned + parts->cnt : parts->cnt;
        pthread_mutex_unlock(&c->lock);
        if (paused)
            (void)rd_kafka_pause_partitions(rk, parts);
    } else {
        pthread_mutex_lock(&c->lock);
        store_done_locked(c);
        pthread_mutex_unlock(&c->lock);
        if (!rd_kafka_assignment_lost(rk))
            commit_now(c);
        if (coop)
            e = rd_kafka_incremental_unassign(rk, parts);
        else
            rerr = rd_kafka_assign(rk, NULL);
        pthread_mutex_lock(&c->lock);
        c->assigned = coop ? c->assigned - parts->cnt : 0;
        if (c->assigned < 0)
            c->assigned = 0;
        pthread_mutex_unlock(&c->lock);
    }
    if (e) {
        fprintf(stderr, "kafka: rebalance failed: %s\n",
                rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    } else if (rerr) {
        fprintf(stderr, "kafka: rebalance failed: %s\n",
                rd_kafka_err2str(rerr));
    }
}

static void commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    (void)rk;
    (void)offsets;
    (void)opaque;
    if (!quiet_commit_err(err))
        fprintf(stderr, "kafka: auto-commit failed: %s\n",
                rd_kafka_err2str(err));
}

static void consumer_error_cb(rd_kafka_t *rk, int err, const char *reason,
                              void *opaque)
{
    lh_kconsumer *c = opaque;

    (void)rk;
    if ((rd_kafka_resp_err_t)err == c->last_err)
        return;
    c->last_err = (rd_kafka_resp_err_t)err;
    fprintf(stderr, "kafka: consumer: %s\n", reason);
}

int lh_kconsumer_new(const char *brokers, const char *group, const char *topic,
                     lh_kconsumer **out)
{
    static const char *const kv[] = {
        "session.timeout.ms", "6000",
        "heartbeat.interval.ms", "500",
        "partition.assignment.strategy", "range,roundrobin",
        "enable.auto.commit", "true",
        "auto.commit.interval.ms", "200",
        "enable.auto.offset.store", "false",
        "auto.offset.reset", "earliest",
        "enable.partition.eof", "false",
        "fetch.wait.max.ms", "100",
        "fetch.min.bytes", "1",
        "fetch.message.max.bytes", "4194304",
        "queued.min.messages", "100000",
        "queued.max.messages.kbytes", "32768",
        "socket.nagle.disable", "true",
        NULL,
    };
    lh_kconsumer *c = NULL;
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_topic_partition_list_t *subs = NULL;
    rd_kafka_resp_err_t err;
    int rc, locked = 0;

    if (!brokers || !*brokers || !group || !*group || !topic || !*topic ||
        !out)
        return LH_EINVAL;
    c = lh_calloc(1, sizeof *c);
    if (!c)
        return LH_ENOMEM;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        lh_free(c);
        return LH_ESYS;
    }
    locked = 1;
    c->last_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    c->topic = lh_strdup(topic);
    conf = conf_base();
    if (!c->topic || !conf) {
        rc = LH_ENOMEM;
        goto out;
    }
    rc = conf_set(conf, "bootstrap.servers", brokers);
    if (rc == 0)
        rc = conf_set(conf, "group.id", group);
    if (rc == 0)
        rc = conf_set_all(conf, kv);
    if (rc < 0)
        goto out;
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, commit_cb);
    rd_kafka_conf_set_error_cb(conf, consumer_error_cb);
    c->rk = handle_new(RD_KAFKA_CONSUMER, conf, "consumer");
    conf = NULL;
    if (!c->rk) {
        rc = LH_EIO;
        goto out;
    }
    rd_kafka_poll_set_consumer(c->rk);
    c->q = rd_kafka_queue_get_consumer(c->rk);
    subs = rd_kafka_topic_partition_list_new(1);
    if (!c->q || !subs) {
        rc = LH_ENOMEM;
        goto out;
    }
    rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(c->rk, subs);
    if (err) {
        fprintf(stderr, "kafka: cannot subscribe to %s: %s\n", topic,
                rd_kafka_err2str(err));
        rc = LH_EIO;
        goto out;
    }
    *out = c;
    c = NULL;
    rc = 0;
out:
    if (subs)
        rd_kafka_topic_partition_list_destroy(subs);
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (c) {
        if (c->q)
            rd_kafka_queue_destroy(c->q);
        if (c->rk) {
            rd_kafka_consumer_close(c->rk);
            rd_kafka_destroy(c->rk);
        }
        if (locked)
            pthread_mutex_destroy(&c->lock);
        lh_free(c->topic);
        lh_free(c);
    }
    return rc;
}

/* Fills *m from a librdkafka message (which it then owns). */
static void fill_msg(lh_kmsg *m, rd_kafka_message_t *rm)
{
    m->key = rm->key;
    m->key_len = rm->key_len;
    m->value = rm->payload;
    m->value_len = rm->len;
    m->partition = rm->partition;
    m->offset = rm->offset;
    m->handle_ = rm;
}

/* Deals with an error message from the queue.  LH_EIO when fatal. */
static int msg_error(lh_kconsumer *c, rd_kafka_message_t *rm)
{
    rd_kafka_resp_err_t err = rm->err;
    char why[256];

    rd_kafka_message_destroy(rm);
    if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        return 0;
    if (err == RD_KAFKA_RESP_ERR__FATAL ||
        rd_kafka_fatal_error(c->rk, why, sizeof why)) {
        fprintf(stderr, "kafka: consumer fatal error: %s\n",
                rd_kafka_err2str(err));
        return LH_EIO;
    }
    if (err != c->last_err) {
        c->last_err = err;
        fprintf(stderr, "kafka: consume: %s\n", rd_kafka_err2str(err));
    }
    return 0;
}

int lh_kconsumer_poll(lh_kconsumer *c, lh_kmsg *msgs, size_t max,
                      int timeout_ms)
{
    rd_kafka_message_t *batch[256];
    rd_kafka_message_t *rm;
    size_t n = 0;
    int rc;

    if (!c || !msgs || max == 0)
        return LH_EINVAL;
    pthread_mutex_lock(&c->lock);
    store_done_locked(c);
    pthread_mutex_unlock(&c->lock);

    rm = rd_kafka_consumer_poll(c->rk, timeout_ms);
    if (!rm)
        return 0;
    if (rm->err) {
        rc = msg_error(c, rm);
        return rc < 0 ? rc : 0;
    }
    fill_msg(&msgs[n++], rm);
    while (n < max) {
        size_t want = max - n;
        ssize_t got;

        if (want > sizeof batch / sizeof batch[0])
            want = sizeof batch / sizeof batch[0];
        got = rd_kafka_consume_batch_queue(c->q, 0, batch, want);
        if (got <= 0)
            break;
        for (ssize_t i = 0; i < got; i++) {
            if (batch[i]->err) {
                rc = msg_error(c, batch[i]);
                if (rc < 0) {
                    for (ssize_t j = i + 1; j < got; j++)
                        rd_kafka_message_destroy(batch[j]);
                    lh_kconsumer_release(c, msgs, n);
                    return rc;
                }
                continue;
            }
            fill_msg(&msgs[n++], batch[i]);
        }
        if ((size_t)got < want)
            break;
    }
    return (int)n;
}

void lh_kconsumer_release(lh_kconsumer *c, lh_kmsg *msgs, size_t n)
{
    (void)c;
    if (!msgs)
        return;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].handle_)
            rd_kafka_message_destroy(msgs[i].handle_);
        msgs[i].handle_ = NULL;
        msgs[i].key = NULL;
        msgs[i].value = NULL;
    }
}

int lh_kconsumer_done(lh_kconsumer *c, int32_t partition, int64_t offset)
{
    int64_t now;
    int rc = 0;

    if (!c || partition < 0 || offset < 0)
        return LH_EINVAL;
    pthread_mutex_lock(&c->lock);
    if ((size_t)partition >= c->ndone) {
        size_t n = (size_t)partition + 1;
        int64_t *d;

        if (n < 2 * c->ndone)
            n = 2 * c->ndone;
        d = lh_realloc(c->done, n * sizeof *d);
        if (!d) {
            rc = LH_ENOMEM;
            goto out;
        }
        for (size_t i = c->ndone; i < n; i++)
            d[i] = -1;
        c->done = d;
        c->ndone = n;
    }
    c->done[partition] = offset + 1;
    c->dirty = 1;
    now = lh_now_us();
    if (now - c->stored_us >= STORE_PERIOD_US) {
        store_done_locked(c); /* a paused caller may not poll for a while */
        c->stored_us = now;
    }
out:
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* Pauses or resumes the current assignment and records the state. */
static int set_paused(lh_kconsumer *c, int paused)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    rd_kafka_resp_err_t err;

    if (!c)
        return LH_EINVAL;
    pthread_mutex_lock(&c->lock);
    c->paused = paused;
    pthread_mutex_unlock(&c->lock);
    err = rd_kafka_assignment(c->rk, &l);
    if (err) {
        fprintf(stderr, "kafka: cannot read the assignment: %s\n",
                rd_kafka_err2str(err));
        return LH_EIO;
    }
    err = paused ? rd_kafka_pause_partitions(c->rk, l)
                 : rd_kafka_resume_partitions(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        fprintf(stderr, "kafka: cannot %s partitions: %s\n",
                paused ? "pause" : "resume", rd_kafka_err2str(err));
        return LH_EIO;
    }
    return 0;
}

int lh_kconsumer_pause(lh_kconsumer *c)
{
    return set_paused(c, 1);
}

int lh_kconsumer_resume(lh_kconsumer *c)
{
    return set_paused(c, 0);
}

int lh_kconsumer_assigned(lh_kconsumer *c)
{
    int n;

    if (!c)
        return 0;
    pthread_mutex_lock(&c->lock);
    n = c->assigned;
    pthread_mutex_unlock(&c->lock);
    return n;
}

void lh_kconsumer_free(lh_kconsumer *c)
{
    rd_kafka_resp_err_t err;

    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    store_done_locked(c);
    pthread_mutex_unlock(&c->lock);
    commit_now(c);
    err = rd_kafka_consumer_close(c->rk);
    if (err)
        fprintf(stderr, "kafka: consumer close: %s\n", rd_kafka_err2str(err));
    rd_kafka_queue_destroy(c->q);
    rd_kafka_destroy(c->rk);
    pthread_mutex_destroy(&c->lock);
    lh_free(c->done);
    lh_free(c->topic);
    lh_free(c);
}

/* Group lag. */

struct lh_klag {
    rd_kafka_t *rk;
    char *topic;
    rd_kafka_topic_partition_list_t *parts; /* every partition of topic */
};

/* Fills l->parts from the topic's metadata. */
static int lag_load_partitions(lh_klag *l, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(l->rk, l->topic, NULL);
    rd_kafka_resp_err_t err;
    int rc = 0;

    if (!rkt)
        return LH_EIO;
    err = rd_kafka_metadata(l->rk, 0, rkt, &md, timeout_ms);
    if (err) {
        fprintf(stderr, "kafka: cannot read metadata of %s: %s\n", l->topic,
                rd_kafka_err2str(err));
        rc = err == RD_KAFKA_RESP_ERR__TIMED_OUT ? LH_ETIMEOUT : LH_EIO;
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err ||
        md->topics[0].partition_cnt < 1) {
        fprintf(stderr, "kafka: topic %s has no partitions\n", l->topic);
        rc = LH_ENOTFOUND;
        goto out;
    }
    l->parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    if (!l->parts) {
        rc = LH_ENOMEM;
        goto out;
    }
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(l->parts, l->topic,
                                          md->topics[0].partitions[i].id);
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

int lh_klag_new(const char *brokers, const char *group, const char *topic,
                lh_klag **out)
{
    lh_klag *l = NULL;
    rd_kafka_conf_t *conf = NULL;
    int rc;

    if (!brokers || !*brokers || !group || !*group || !topic || !*topic ||
        !out)
        return LH_EINVAL;
    l = lh_calloc(1, sizeof *l);
    conf = conf_base();
    if (!l || !conf) {
        rc = LH_ENOMEM;
        goto out;
    }
    l->topic = lh_strdup(topic);
    if (!l->topic) {
        rc = LH_ENOMEM;
        goto out;
    }
    rc = conf_set(conf, "bootstrap.servers", brokers);
    if (rc == 0)
        rc = conf_set(conf, "group.id", group);
    if (rc == 0)
        rc = conf_set(conf, "enable.auto.commit", "false");
    if (rc < 0)
        goto out;
    l->rk = handle_new(RD_KAFKA_CONSUMER, conf, "lag reader");
    conf = NULL;
    if (!l->rk) {
        rc = LH_EIO;
        goto out;
    }
    rc = lag_load_partitions(l, 10000);
    if (rc < 0)
        goto out;
    *out = l;
    l = NULL;
out:
    if (conf)
        rd_kafka_conf_destroy(conf);
    lh_klag_free(l);
    return rc;
}

int lh_klag_get(lh_klag *l, int timeout_ms, int64_t *lag)
{
    rd_kafka_resp_err_t err;
    int64_t sum = 0;

    if (!l || !lag)
        return LH_EINVAL;
    for (int i = 0; i < l->parts->cnt; i++)
        l->parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    err = rd_kafka_committed(l->rk, l->parts, timeout_ms);
    if (err)
        goto fail;
    for (int i = 0; i < l->parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &l->parts->elems[i];
        int64_t lo, hi;

        err = rd_kafka_query_watermark_offsets(l->rk, tp->topic, tp->partition,
                                               &lo, &hi, timeout_ms);
        if (err)
            goto fail;
        int64_t from = tp->offset >= lo ? tp->offset : lo;

        if (hi > from)
            sum += hi - from;
    }
    *lag = sum;
    return 0;
fail:
    fprintf(stderr, "kafka: cannot read the lag of %s: %s\n", l->topic,
            rd_kafka_err2str(err));
    return err == RD_KAFKA_RESP_ERR__TIMED_OUT ? LH_ETIMEOUT : LH_EIO;
}

int lh_klag_partitions(const lh_klag *l)
{
    return l && l->parts ? l->parts->cnt : 0;
}

void lh_klag_free(lh_klag *l)
{
    if (!l)
        return;
    if (l->parts)
        rd_kafka_topic_partition_list_destroy(l->parts);
    if (l->rk) {
        rd_kafka_consumer_close(l->rk);
        rd_kafka_destroy(l->rk);
    }
    lh_free(l->topic);
    lh_free(l);
}
