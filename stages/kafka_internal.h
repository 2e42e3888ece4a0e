/*
 * kafka_internal.h - what the files of the Kafka layer share (kafka_*.c),
 * not for use outside it: creating a configured librdkafka handle.
 */
#ifndef LH_KAFKA_INTERNAL_H
#define LH_KAFKA_INTERNAL_H

#include <librdkafka/rdkafka.h>

/* How to set up one handle: the client set-up every part of the layer
 * (producer, consumer, lag reader, the mock cluster's own handle) shares. */
typedef struct lh_kafka_cfg {
    rd_kafka_type_t type;
    const char *what;      /* for messages: "producer", "lag reader" */
    const char *brokers;   /* bootstrap.servers; NULL: not set */
    const char *group;     /* group.id; NULL: not set */
    const char *const *kv; /* more name, value pairs, NULL-terminated;
                              NULL: none */
    int no_props;          /* 1: without the -X properties
                              (lh_kafka_prop_add) */
    void *opaque;          /* handed to the callbacks */
    /* Optional: sets the client's callbacks on conf. */
    void (*callbacks)(rd_kafka_conf_t *conf);
} lh_kafka_cfg;

/*
 * Creates a handle as cfg says, logging librdkafka's errors to stderr
 * with a "kafka:" prefix.  The -X properties (kafka.h) come last unless
 * cfg->no_props.  0 and *out; LH_ENOMEM (no configuration object),
 * LH_EINVAL (a property refused, or librdkafka refused the configuration
 * as a whole: "sasl.username and sasl.password must be set") or LH_EIO
 * (no handle), each but the first logged naming the property or the
 * client.
 */
int lh_kafka_handle_new(const lh_kafka_cfg *cfg, rd_kafka_t **out);

#endif
