/*
 * kafka_producer.c - the keyed producer (see kafka.h).
 *
 * Tuned for many small keyed messages.  linger.ms 5 and batches of up to
 * 10,000 messages / 1 MB keep the number of batches low, which matters
 * twice over on the mock: fewer requests, and the mock's per-partition cap
 * of 100,000 batches is then never the binding one (its ~5 MB cap is).
 * Idempotence is on, so a Produce error that librdkafka retries can neither
 * duplicate nor reorder messages of one partition (one key stays on one
 * partition: murmur2_random, the Java client's partitioner).  Delivery
 * reports only count; the caller drives them with lh_kproducer_poll.
 */
#include "kafka.h"

#include "kafka_internal.h"

#include "alloc.h"
#include "error.h"

#include <stdatomic.h>
#include <stdio.h>

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

static void producer_callbacks(rd_kafka_conf_t *conf)
{
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_conf_set_error_cb(conf, producer_error_cb);
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
    int rc;

    if (!brokers || !*brokers || !topic || !*topic || !out)
        return LH_EINVAL;
    p = lh_calloc(1, sizeof *p);
    if (!p)
        return LH_ENOMEM;
    const lh_kafka_cfg cfg = {.type = RD_KAFKA_PRODUCER,
                              .what = "producer",
                              .brokers = brokers,
                              .kv = kv,
                              .opaque = p,
                              .callbacks = producer_callbacks};
    rc = lh_kafka_handle_new(&cfg, &p->rk);
    if (rc < 0)
        goto out;
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
