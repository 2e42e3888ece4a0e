/*
 * bench_consume - how fast a consumer-group member reads the topic: the
 * ceiling the pipeline's end-to-end rate is compared with.
 *
 * Two ways to run it:
 *
 *   bench_consume [--messages M] [--partitions P] [--value-size S]
 *       starts a mock cluster in this process, produces M keyed messages
 *       (default 2,000,000 of 64 bytes over 64 partitions: the mock keeps
 *       ~5 MB per partition, so they all fit; the low watermarks are
 *       checked and any dropped message reported), then consumes them.
 *
 *   bench_consume --brokers LIST --topic T --expect N
 *       consumes N messages from an existing topic (the pipeline's benchmark
 *       runs this on its own broker, in the same run).
 *
 * Each consume run uses a fresh group reading from the start and is timed
 * from its first message to its N-th (the group join, ~3 s on the mock, is
 * printed apart).  Two consumers run one after the other:
 *   raw  plain librdkafka, rd_kafka_consumer_poll per message, same tuning;
 *   lh   stages/kafka.h: lh_kconsumer_poll batches plus lh_kconsumer_done,
 *        i.e. what the A role does before forwarding.
 * Output, one line each, for scripts:
 *   bench_consume: raw msgs=N seconds=S rate=R join_s=J
 *   bench_consume: lh msgs=N seconds=S rate=R join_s=J
 * Exit 0 when every message was consumed, 1 otherwise.
 */
#include "kafka.h"
#include "kafka_broker.h"

#include "clock.h"
#include "error.h"

#include <librdkafka/rdkafka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct result {
    uint64_t msgs;
    double seconds, join_s;
} result;

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];

    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "bench_consume: %s=%s: %s\n", k, v, err);
        return -1;
    }
    return 0;
}

/* Plain librdkafka consumer, tuned as stages/kafka_consumer.c tunes its own. */
static int consume_raw(const char *brokers, const char *topic,
                       const char *group, uint64_t expect, int timeout_s,
                       result *r)
{
    static const char *const kv[] = {
        "session.timeout.ms", "6000", "heartbeat.interval.ms", "500",
        "enable.auto.commit", "true", "auto.commit.interval.ms", "200",
        "auto.offset.reset", "earliest", "enable.partition.eof", "false",
        "fetch.wait.max.ms", "100", "fetch.message.max.bytes", "4194304",
        "queued.min.messages", "200000", "queued.max.messages.kbytes",
        "131072", NULL,
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *subs;
    rd_kafka_t *rk;
    char err[512];
    int64_t t0 = lh_now_us(), first = 0, last = 0,
            end = t0 + (int64_t)timeout_s * 1000000;
    uint64_t n = 0;

    if (conf_set(conf, "bootstrap.servers", brokers) < 0 ||
        conf_set(conf, "group.id", group) < 0) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    for (int i = 0; kv[i]; i += 2) {
        if (conf_set(conf, kv[i], kv[i + 1]) < 0) {
            rd_kafka_conf_destroy(conf);
            return -1;
        }
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "bench_consume: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_poll_set_consumer(rk);
    subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    while (n < expect && lh_now_us() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

        if (!m)
            continue;
        if (!m->err) {
            if (n++ == 0)
                first = lh_now_us();
            last = lh_now_us();
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    r->msgs = n;
    r->join_s = first ? (double)(first - t0) / 1e6 : 0;
    r->seconds = n > 1 ? (double)(last - first) / 1e6 : 0;
    return 0;
}

/* The same through stages/kafka.h, as the A role uses it. */
static int consume_lh(const char *brokers, const char *topic,
                      const char *group, uint64_t expect, int timeout_s,
                      result *r)
{
    enum { BATCH = 1024 };
    static lh_kmsg msgs[BATCH];
    lh_kconsumer *c = NULL;
    int64_t t0 = lh_now_us(), first = 0, last = 0,
            end = t0 + (int64_t)timeout_s * 1000000;
    uint64_t n = 0;
    int rc = lh_kconsumer_new(brokers, group, topic, &c);

    if (rc < 0) {
        fprintf(stderr, "bench_consume: %s\n", lh_strerror(rc));
        return -1;
    }
    while (n < expect && lh_now_us() < end) {
        int got = lh_kconsumer_poll(c, msgs, BATCH, 100);

        if (got < 0)
            break;
        if (got == 0)
            continue;
        if (n == 0)
            first = lh_now_us();
        n += (uint64_t)got;
        last = lh_now_us();
        for (int i = 0; i < got; i++)
            lh_kconsumer_done(c, msgs[i].partition, msgs[i].offset);
        lh_kconsumer_release(c, msgs, (size_t)got);
    }
    lh_kconsumer_free(c);
    r->msgs = n;
    r->join_s = first ? (double)(first - t0) / 1e6 : 0;
    r->seconds = n > 1 ? (double)(last - first) / 1e6 : 0;
    return 0;
}

static void print_result(const char *name, const result *r)
{
    printf("bench_consume: %s msgs=%" PRIu64 " seconds=%.3f rate=%.0f "
           "join_s=%.2f\n",
           name, r->msgs, r->seconds,
           r->seconds > 0 ? (double)r->msgs / r->seconds : 0.0, r->join_s);
    fflush(stdout);
}

/* Produces m messages of vsize bytes keyed "k%08u" (100,000 keys). */
static int produce(const char *brokers, const char *topic, uint64_t m,
                   size_t vsize)
{
    lh_kproducer *p = NULL;
    char key[16];
    char *val = calloc(1, vsize + 1);
    int64_t t0 = lh_now_us();
    int rc = lh_kproducer_new(brokers, topic, &p);

    if (rc < 0 || !val) {
        free(val);
        return -1;
    }
    memset(val, 'v', vsize);
    for (uint64_t i = 0; i < m; i++) {
        int kl = snprintf(key, sizeof key, "k%08u", (unsigned)(i % 100000));

        for (;;) {
            rc = lh_kproducer_send(p, key, (size_t)kl, val, vsize);
            if (rc != LH_EFULL)
                break;
            lh_kproducer_poll(p, 5);
        }
        if (rc < 0)
            break;
        if ((i & 1023) == 0)
            lh_kproducer_poll(p, 0);
    }
    if (lh_kproducer_flush(p, 60000) < 0)
        fprintf(stderr, "bench_consume: produce flush timed out\n");
    {
        double s = (double)(lh_now_us() - t0) / 1e6;
        printf("bench_consume: produce msgs=%" PRIu64 " delivered=%" PRIu64
               " failed=%" PRIu64 " seconds=%.3f rate=%.0f\n",
               m, lh_kproducer_delivered(p), lh_kproducer_failed(p), s,
               (double)lh_kproducer_delivered(p) / s);
    }
    rc = lh_kproducer_delivered(p) == m ? 0 : -1;
    lh_kproducer_free(p);
    free(val);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bench_consume [--messages M] [--partitions P] "
            "[--value-size S]\n"
            "       bench_consume --brokers LIST --topic T --expect N\n"
            "  --only raw|lh   run one consumer only\n"
            "  --timeout S     give up a consume run after S s (default 120)\n");
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = LH_KAFKA_DEFAULT_TOPIC,
               *only = NULL;
    uint64_t messages = 2000000, expect = 0;
    int partitions = 64, timeout_s = 120;
    size_t vsize = 64;
    lh_kbroker *b = NULL;
    char servers[512], group[64];
    result raw = {0}, lh = {0};
    int ok = 1;

    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        if (strcmp(argv[i], "--brokers") == 0)
            brokers = v;
        else if (strcmp(argv[i], "--topic") == 0)
            topic = v;
        else if (strcmp(argv[i], "--expect") == 0)
            expect = strtoull(v, NULL, 10);
        else if (strcmp(argv[i], "--messages") == 0)
            messages = strtoull(v, NULL, 10);
        else if (strcmp(argv[i], "--partitions") == 0)
            partitions = atoi(v);
        else if (strcmp(argv[i], "--value-size") == 0)
            vsize = strtoull(v, NULL, 10);
        else if (strcmp(argv[i], "--timeout") == 0)
            timeout_s = atoi(v);
        else if (strcmp(argv[i], "--only") == 0)
            only = v;
        else {
            usage(stderr);
            return 2;
        }
    }

    if (!brokers) {
        lh_klag *lag = NULL;
        int64_t kept = -1;

        if (lh_kbroker_start(1, topic, partitions, &b, servers,
                             sizeof servers) < 0)
            return 1;
        brokers = servers;
        if (produce(brokers, topic, messages, vsize) < 0) {
            lh_kbroker_stop(b);
            return 1;
        }
        /* A group that never committed: lag = what the broker still has. */
        if (lh_klag_new(brokers, "bench-nobody", topic, &lag) == 0 &&
            lh_klag_get(lag, 10000, &kept) == 0)
            printf("bench_consume: broker keeps %" PRId64 " of %" PRIu64
                   " (dropped %" PRId64 ")\n",
                   kept, messages, (int64_t)messages - kept);
        lh_klag_free(lag);
        expect = kept > 0 ? (uint64_t)kept : messages;
    }
    if (expect == 0) {
        fprintf(stderr, "bench_consume: --expect N is required with "
                        "--brokers\n");
        return 2;
    }
    if (!only || strcmp(only, "raw") == 0) {
        snprintf(group, sizeof group, "bench-raw-%d", (int)getpid());
        if (consume_raw(brokers, topic, group, expect, timeout_s, &raw) < 0)
            ok = 0;
        print_result("raw", &raw);
        ok = ok && raw.msgs == expect;
    }
    if (!only || strcmp(only, "lh") == 0) {
        snprintf(group, sizeof group, "bench-lh-%d", (int)getpid());
        if (consume_lh(brokers, topic, group, expect, timeout_s, &lh) < 0)
            ok = 0;
        print_result("lh", &lh);
        ok = ok && lh.msgs == expect;
    }
    lh_kbroker_stop(b);
    return ok ? 0 : 1;
}
