/*
 * kafka.h - the pipeline's use of librdkafka: the embedded broker (the mock
 * cluster of rdkafka_mock.h), a keyed producer, and a consumer-group member
 * that consumes in batches, pauses and resumes its partitions, and commits
 * only offsets the pipeline has finished with.
 *
 * Facts about the mock cluster that shape this module: it keeps at most
 * about 5 MB or 100,000 batches per partition and silently drops older data
 * (so producers are paced and keys spread over partitions); a group's first
 * join takes about 3 s and a rejoin waits session.timeout.ms minus 1 s (we
 * use a short session timeout); commits during a rebalance fail with
 * REBALANCE_IN_PROGRESS (retried on the next commit).
 *
 * Errors are lh error codes; every failure also logs one line naming the
 * librdkafka error to stderr.
 */
#ifndef LH_KAFKA_H
#define LH_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#define LH_KAFKA_DEFAULT_TOPIC "changes"
#define LH_KAFKA_DEFAULT_PARTITIONS 8
#define LH_KAFKA_DEFAULT_GROUP "selfheal"

/* The embedded broker. */
typedef struct lh_kbroker lh_kbroker;

/* Starts a mock cluster of `brokers` brokers (>= 1) with `topic` created
 * with `partitions` partitions, listening on loopback.  Writes the
 * bootstrap servers ("127.0.0.1:port,...") into bootstrap[0..cap). */
int lh_kbroker_start(int brokers, const char *topic, int partitions,
                     lh_kbroker **out, char *bootstrap, size_t cap);
void lh_kbroker_stop(lh_kbroker *b); /* accepts NULL */

/* Error injection for fault tests: the next `count` requests of the Kafka
 * API `api_key` fail with `error` (an rd_kafka_resp_err_t value), and
 * brokers going down and up. */
int lh_kbroker_inject_errors(lh_kbroker *b, int api_key, int count, int error);
int lh_kbroker_set_down(lh_kbroker *b, int broker_id, int down);

/* Brokers in the cluster; their ids are 1 .. count. */
int lh_kbroker_count(const lh_kbroker *b);

/* Error injection that can be read back: the next `count` requests of
 * `api_key` that broker `broker_id` (-1: each broker) receives fail with
 * `error`, each answered after rtt_ms (0: at once).  These go on each
 * broker's own error stack, which takes precedence over the cluster's.
 * 0, LH_EINVAL, or LH_ENOTFOUND (no such broker; nothing pushed). */
int lh_kbroker_push_errors(lh_kbroker *b, int broker_id, int api_key,
                           int count, int error, int rtt_ms);

/* Sets *left to the errors lh_kbroker_push_errors pushed for api_key that
 * no request has consumed yet, summed over the brokers.  0, LH_EINVAL or
 * LH_EIO (*left unchanged). */
int lh_kbroker_errors_left(lh_kbroker *b, int api_key, uint64_t *left);

/* Delays every response of broker `broker_id` (-1: all) by rtt_ms (0:
 * none).  0, LH_EINVAL, LH_ENOTFOUND or LH_EIO. */
int lh_kbroker_set_rtt(lh_kbroker *b, int broker_id, int rtt_ms);

/* Fault plans for the embedded broker (`selfheal broker --faults SPEC`).
 * SPEC is a comma-separated list of steps, run in order:
 *   sleep:MS                   wait MS milliseconds before the next step
 *   err:API:ERROR[:COUNT[:BROKER]]
 *                              the next COUNT (default 1) requests of API
 *                              fail with ERROR, on BROKER (default: each)
 *   down[:BROKER] / up[:BROKER] a broker (default: all) stops serving:
 *                              connections closed, new ones refused;
 *                              or serves again
 *   rtt:MS[:BROKER]            responses delayed by MS (0: no delay)
 * API is a Kafka request name (Produce, Fetch, ListOffsets, Metadata,
 * OffsetCommit, OffsetFetch, FindCoordinator, JoinGroup, Heartbeat,
 * LeaveGroup, SyncGroup, ApiVersions, InitProducerId; any case) or its
 * number; ERROR is a librdkafka error name without RD_KAFKA_RESP_ERR_
 * (NOT_LEADER_FOR_PARTITION, _TRANSPORT, ...; any case) or its number. */
enum lh_kfault_kind {
    LH_KFAULT_SLEEP,
    LH_KFAULT_ERRORS,
    LH_KFAULT_DOWN,
    LH_KFAULT_UP,
    LH_KFAULT_RTT,
};

typedef struct lh_kfault {
    int kind;    /* enum lh_kfault_kind */
    int broker;  /* -1: every broker */
    int api_key; /* errors */
    int error;   /* errors: an rd_kafka_resp_err_t value */
    int count;   /* errors */
    int ms;      /* sleep, rtt */
} lh_kfault;

#define LH_KFAULT_MAX_COUNT 1000000
#define LH_KFAULT_MAX_MS 3600000

/* Parses SPEC into steps[0 .. *n) (at most max steps).  0, or LH_EINVAL
 * with a one-line reason in err[0..errcap) (lower case, naming the step),
 * or LH_ETOOBIG (more than max steps); *n and steps unchanged then. */
int lh_kfault_parse(const char *spec, lh_kfault *steps, size_t max,
                    size_t *n, char *err, size_t errcap);

/* Applies one step to the cluster (a sleep does nothing: the caller times
 * it).  0, or what lh_kbroker_push_errors / _set_down / _set_rtt return. */
int lh_kbroker_apply(lh_kbroker *b, const lh_kfault *f);

/* The Kafka API key of a request name (see above), or LH_ENOTFOUND. */
int lh_kafka_api_key(const char *name);

/* The name of an API key ("Produce"; "?" when not in the list above), and
 * librdkafka's name of an error code ("NOT_COORDINATOR"); static strings. */
const char *lh_kafka_api_name(int api_key);
const char *lh_kafka_err_name(int error);

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
