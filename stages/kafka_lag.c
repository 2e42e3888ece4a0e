/*
 * kafka_lag.c - a consumer group's lag (see kafka.h): committed offsets
 * against the watermarks, read by a handle that joins nothing and
 * consumes nothing.
 */
#include "kafka.h"

#include "kafka_internal.h"

#include "alloc.h"
#include "error.h"

#include <stdio.h>

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
    static const char *const kv[] = {"enable.auto.commit", "false", NULL};
    const lh_kafka_cfg cfg = {.type = RD_KAFKA_CONSUMER,
                              .what = "lag reader",
                              .brokers = brokers,
                              .group = group,
                              .kv = kv};
    lh_klag *l = NULL;
    int rc;

    if (!brokers || !*brokers || !group || !*group || !topic || !*topic ||
        !out)
        return LH_EINVAL;
    l = lh_calloc(1, sizeof *l);
    if (!l)
        return LH_ENOMEM;
    l->topic = lh_strdup(topic);
    rc = l->topic ? lh_kafka_handle_new(&cfg, &l->rk) : LH_ENOMEM;
    if (rc == 0)
        rc = lag_load_partitions(l, 10000);
    if (rc < 0) {
        lh_klag_free(l);
        return rc;
    }
    *out = l;
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
