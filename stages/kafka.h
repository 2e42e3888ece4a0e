/*
 * kafka.h - the pipeline's Kafka clients on librdkafka: a keyed producer,
 * a consumer-group member that consumes in batches, pauses and resumes
 * its partitions, and commits only offsets the pipeline has finished
 * with, and a reader of a group's lag.  The embedded broker they talk to
 * in tests and in `selfheal up` is kafka_broker.h's.
 *
 * Facts about the mock cluster that shape these clients: it keeps at most
 * about 5 MB or 100,000 batches per partition and silently drops older
 * data (so producers are paced and keys spread over partitions); a
 * group's first join takes about 3 s and a rejoin waits
 * session.timeout.ms minus 1 s (we use a short session timeout); commits
 * during a rebalance fail with REBALANCE_IN_PROGRESS (retried on the next
 * commit).
 *
 * Errors are lh error codes; every failure also logs one line naming the
 * librdkafka error to stderr.  One file per client: kafka_producer.c,
 * kafka_consumer.c, kafka_lag.c (their set-up, the -X properties and the
 * topic check are kafka_conf.c's).
 */
#ifndef LH_KAFKA_H
#define LH_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#define LH_KAFKA_DEFAULT_TOPIC "changes"
#define LH_KAFKA_DEFAULT_PARTITIONS 8
#define LH_KAFKA_DEFAULT_GROUP "selfheal"

/*
 * Client properties: `-X name=value`, as kcat takes them.  They are the
 * process's (each selfheal role is one process): every producer,
 * consumer and lag reader created after lh_kafka_prop_add gets them, set
 * after the layer's own settings, so they override them
 * (security.protocol, sasl.*, ssl.*, or anything librdkafka knows; the
 * embedded broker's own handle does not get them).
 */

/* Adds one property from "name=value".  The name and value are checked
 * with librdkafka at once (rd_kafka_conf_set on a scratch configuration).
 * 0; LH_EINVAL with the reason in err[0..errcap) (no '=', or
 * librdkafka's own message: `No such configuration property: "foo"`,
 * `Invalid value "x" for configuration property "security.protocol"`);
 * LH_ENOMEM.  Nothing is added on failure. */
int lh_kafka_prop_add(const char *spec, char *err, size_t errcap);

/* The value of a property added, or NULL.  The last one added wins. */
const char *lh_kafka_prop(const char *name);

/* Forgets every property (frees them).  Call before exit. */
void lh_kafka_props_clear(void);

/*
 * Checks that `topic` exists on the cluster at `brokers`, from the
 * cluster's list of topics (asking for the topic by name would create it
 * on a cluster that auto-creates topics, as librdkafka's mock cluster
 * always does).  With the property allow.auto.create.topics=true added
 * (lh_kafka_prop_add), a missing topic is the cluster's to create: 0 at
 * once.  0 (there); LH_ENOTFOUND (not there: said on stderr by the
 * caller); LH_ETIMEOUT (no answer within timeout_ms); LH_EINVAL (a
 * property librdkafka refused when the client was made, said); LH_EIO,
 * LH_ENOMEM.
 */
int lh_kafka_topic_check(const char *brokers, const char *topic,
                         int timeout_ms);

/* Keyed producer: one key always maps to one partition. */
typedef struct lh_kproducer lh_kproducer;

int lh_kproducer_new(const char *brokers, const char *topic,
                     lh_kproducer **out);

/* Queues one message (copied).  0, LH_EFULL (local queue full: call
 * lh_kproducer_poll and retry), or LH_EIO. */
int lh_kproducer_send(lh_kproducer *p, const void *key, size_t key_len,
                      const void *value, size_t value_len);

/* Serves delivery reports for up to timeout_ms.  Returns reports served. */
int lh_kproducer_poll(lh_kproducer *p, int timeout_ms);

/* Waits until everything queued is delivered or failed.  0 or
 * LH_ETIMEOUT. */
int lh_kproducer_flush(lh_kproducer *p, int timeout_ms);

/* Messages acknowledged by the broker, and failed permanently. */
uint64_t lh_kproducer_delivered(const lh_kproducer *p);
uint64_t lh_kproducer_failed(const lh_kproducer *p);

/* Flushes (bounded) and frees.  Accepts NULL. */
void lh_kproducer_free(lh_kproducer *p);

/* Consumer-group member. */
typedef struct lh_kconsumer lh_kconsumer;

typedef struct lh_kmsg {
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
    int32_t partition;
    int64_t offset;
    void *handle_; /* the librdkafka message; released by
                      lh_kconsumer_release */
} lh_kmsg;

/* Joins `group` and subscribes to `topic`, with auto-commit of *stored*
 * offsets only (offsets are stored by lh_kconsumer_done). */
int lh_kconsumer_new(const char *brokers, const char *group, const char *topic,
                     lh_kconsumer **out);

/* Takes up to `max` messages, waiting at most timeout_ms for the first.
 * Returns how many (0: none yet), or LH_EIO on a fatal consumer error.
 * Partition EOFs and transient errors are not returned. */
int lh_kconsumer_poll(lh_kconsumer *c, lh_kmsg *msgs, size_t max,
                      int timeout_ms);

/* Releases messages returned by lh_kconsumer_poll (their bytes become
 * invalid). */
void lh_kconsumer_release(lh_kconsumer *c, lh_kmsg *msgs, size_t n);

/* Marks everything up to and including `offset` on `partition` finished:
 * its offset (offset + 1) is stored and committed by the next auto-commit.
 * Callers mark offsets in order per partition. */
int lh_kconsumer_done(lh_kconsumer *c, int32_t partition, int64_t offset);

/* Pauses / resumes all currently assigned partitions (backpressure).  The
 * state survives rebalances: partitions assigned while paused start
 * paused.  Pausing drops what was fetched but not yet returned (it is
 * fetched again after the resume).  Keep calling lh_kconsumer_poll while
 * paused (it returns 0): rebalance callbacks are served from it, and a
 * member that stops polling holds up a rebalance of the whole group. */
int lh_kconsumer_pause(lh_kconsumer *c);
int lh_kconsumer_resume(lh_kconsumer *c);

/* Number of partitions currently assigned to this member (0 before the
 * first join completes).  Never fails. */
int lh_kconsumer_assigned(lh_kconsumer *c);

/* Commits stored offsets synchronously, leaves the group, frees.  Accepts
 * NULL. */
void lh_kconsumer_free(lh_kconsumer *c);

/* Consumer lag of a group, for producers that pace themselves to what the
 * pipeline keeps up with.  Reads committed offsets and watermarks; joins
 * nothing and consumes nothing. */
typedef struct lh_klag lh_klag;

int lh_klag_new(const char *brokers, const char *group, const char *topic,
                lh_klag **out);

/* Sets *lag to the sum over the topic's partitions of (high watermark -
 * committed offset), with a partition the group never committed counted
 * from its low watermark.  0, LH_ETIMEOUT or LH_EIO (*lag unchanged). */
int lh_klag_get(lh_klag *l, int timeout_ms, int64_t *lag);

/* Partitions of the topic (read once by lh_klag_new). */
int lh_klag_partitions(const lh_klag *l);

void lh_klag_free(lh_klag *l); /* accepts NULL */

#endif
