/*
 * kafka_consumer.c - the consumer-group member (see kafka.h).
 *
 * Design notes.
 *
 * One group member with a short session timeout (6 s: the mock makes a
 * rejoin wait session.timeout.ms - 1 s).  Prefetch is capped at 32 MiB
 * (queued.max.messages.kbytes; librdkafka's default is 64 MiB, and one
 * fetch of fetch.message.max.bytes may overshoot it): that is A's memory
 * beyond its ring, and under overload, with the partitions paused and
 * resumed again and again, the queue refills to wherever the cap lets it
 * (with 128 MiB A's RSS wandered by 7 MB between runs); 32 MiB is some
 * 300,000 events of the pipeline's size, over a second ahead of a
 * consumer forwarding ~200,000 a second.  Offsets are stored only by
 * lh_kconsumer_done, and auto-commit commits stored offsets every 200 ms.
 * lh_kconsumer_done records the offset in a per-partition slot under a
 * mutex (it may be called from another thread, and per event); the slots
 * go to rd_kafka_offsets_store on the next poll, from lh_kconsumer_done
 * itself when 50 ms passed since the last time (a paused caller may not
 * poll), before a revoke, and on free.
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
 * stored and the next auto-commit sends them again.  A transient error is
 * logged when it differs from the previous one.
 */
#include "kafka.h"

#include "kafka_internal.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* lh_kconsumer_done hands offsets to librdkafka at least this often. */
#define STORE_PERIOD_US 50000

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

static void consumer_callbacks(rd_kafka_conf_t *conf)
{
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, commit_cb);
    rd_kafka_conf_set_error_cb(conf, consumer_error_cb);
}

/* A member not yet joined: its lock and its copy of the topic name.  0,
 * LH_ENOMEM or LH_ESYS. */
static int consumer_alloc(const char *topic, lh_kconsumer **out)
{
    lh_kconsumer *c = lh_calloc(1, sizeof *c);

    if (!c)
        return LH_ENOMEM;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        lh_free(c);
        return LH_ESYS;
    }
    c->last_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    c->topic = lh_strdup(topic);
    if (!c->topic) {
        pthread_mutex_destroy(&c->lock);
        lh_free(c);
        return LH_ENOMEM;
    }
    *out = c;
    return 0;
}

/* Frees a member whose set-up failed half way (nothing to commit). */
static void consumer_discard(lh_kconsumer *c)
{
    if (c->q)
        rd_kafka_queue_destroy(c->q);
    if (c->rk) {
        rd_kafka_consumer_close(c->rk);
        rd_kafka_destroy(c->rk);
    }
    pthread_mutex_destroy(&c->lock);
    lh_free(c->topic);
    lh_free(c);
}

/* Routes the handle's events to the consumer queue and subscribes to the
 * topic.  0, LH_ENOMEM or LH_EIO (logged). */
static int subscribe(lh_kconsumer *c)
{
    rd_kafka_topic_partition_list_t *subs;
    rd_kafka_resp_err_t err;

    rd_kafka_poll_set_consumer(c->rk);
    c->q = rd_kafka_queue_get_consumer(c->rk);
    subs = rd_kafka_topic_partition_list_new(1);
    if (!c->q || !subs) {
        if (subs)
            rd_kafka_topic_partition_list_destroy(subs);
        return LH_ENOMEM;
    }
    rd_kafka_topic_partition_list_add(subs, c->topic, RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(c->rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (err) {
        fprintf(stderr, "kafka: cannot subscribe to %s: %s\n", c->topic,
                rd_kafka_err2str(err));
        return LH_EIO;
    }
    return 0;
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

    if (!brokers || !*brokers || !group || !*group || !topic || !*topic ||
        !out)
        return LH_EINVAL;
    int rc = consumer_alloc(topic, &c);
    if (rc != 0)
        return rc;
    const lh_kafka_cfg cfg = {.type = RD_KAFKA_CONSUMER,
                              .what = "consumer",
                              .brokers = brokers,
                              .group = group,
                              .kv = kv,
                              .opaque = c,
                              .callbacks = consumer_callbacks};
    rc = lh_kafka_handle_new(&cfg, &c->rk);
    if (rc == 0)
        rc = subscribe(c);
    if (rc != 0) {
        consumer_discard(c);
        return rc;
    }
    *out = c;
    return 0;
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
        void *d = c->done;
        size_t n = c->ndone;

        rc = lh_grow(&d, &n, (size_t)partition + 1, sizeof *c->done,
                     (size_t)partition + 1);
        if (rc != 0)
            goto out;
        c->done = d;
        for (size_t i = c->ndone; i < n; i++)
            c->done[i] = -1;
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
