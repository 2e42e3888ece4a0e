/*
 * kafka_broker.h - the embedded Kafka broker (librdkafka's mock cluster,
 * rdkafka_mock.h) and the faults it can be made to have: fault plans,
 * `selfheal broker --faults SPEC`, run by role_broker.c.  The clients
 * are kafka.h's.
 *
 * Errors are lh error codes; every failure also logs one line naming the
 * librdkafka error to stderr.
 */
#ifndef LH_KAFKA_BROKER_H
#define LH_KAFKA_BROKER_H

#include <stddef.h>
#include <stdint.h>

/* The embedded broker. */
typedef struct lh_kbroker lh_kbroker;

/* Starts a mock cluster of `brokers` brokers (>= 1) with `topic` created
 * with `partitions` partitions (replicated on up to 3 brokers, their
 * leaders spread over the brokers), listening on loopback.  Writes the
 * bootstrap servers ("127.0.0.1:port,...") into bootstrap[0..cap). */
int lh_kbroker_start(int brokers, const char *topic, int partitions,
                     lh_kbroker **out, char *bootstrap, size_t cap);
void lh_kbroker_stop(lh_kbroker *b); /* accepts NULL */

/* Makes a broker up the coordinator of consumer group `group`, which then
 * moves with failover (lh_kbroker_set_down).  0, LH_EINVAL, LH_ENOMEM or
 * LH_EIO (no broker up). */
int lh_kbroker_set_group(lh_kbroker *b, const char *group);

/* Error injection for fault tests: the next `count` requests of the Kafka
 * API `api_key` fail with `error` (an rd_kafka_resp_err_t value), and
 * brokers going down and up.  A broker taken down alone (broker_id > 0)
 * fails over as in a real cluster: the partitions of the topic it led,
 * and the coordinator of the group (lh_kbroker_set_group), move to a
 * broker still up, when there is one (the mock itself moves nothing);
 * they do not move back when it comes up again. */
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

#endif
