/*
 * kafka_conf.c - setting up librdkafka handles for the Kafka layer
 * (kafka_internal.h), the -X client properties and the topic check
 * (kafka.h).
 *
 * The -X properties are a process-wide list (a role is one process, and
 * kcat's -X is global too), kept as name, value pairs in the order given
 * and applied in that order after a client's own settings, so the last
 * one given wins.  Each is checked when it is added, on a scratch
 * configuration, so a bad one is refused at the command line with
 * librdkafka's own message; settings librdkafka checks only as a whole
 * (sasl.* without a mechanism's needs) are refused when a client is made
 * (LH_EINVAL).
 *
 * The topic check lists the cluster's topics rather than asking for one:
 * a Metadata request that names a topic creates it on a cluster that
 * auto-creates topics, and librdkafka's mock cluster always does (it
 * speaks Metadata v2, before allow_auto_topic_creation; librdkafka says
 * so at level warning).  A topic handle (rd_kafka_topic_new) would do the
 * same through librdkafka's own metadata refreshes, so the check makes
 * none.
 *
 * Logging: librdkafka's log lines of level error and worse go to stderr
 * with a "kafka:" prefix, except the FAIL lines, which repeat what the
 * clients' error callbacks say (those log a transient error only when it
 * differs from the previous one, so a broker that stays down does not
 * flood the log).
 */
#include "kafka.h"
#include "kafka_internal.h"

#include "alloc.h"
#include "error.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

/* The -X properties: name, value, name, value, ..., NULL. */
static char **props;
static size_t nprops; /* strings in props, not counting the NULL */
static size_t propcap; /* room in props */

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

/* The configuration cfg describes.  0, LH_EINVAL (logged). */
static int conf_fill(rd_kafka_conf_t *conf, const lh_kafka_cfg *cfg)
{
    int rc = 0;

    rd_kafka_conf_set_log_cb(conf, log_cb);
    if (cfg->brokers != NULL)
        rc = conf_set(conf, "bootstrap.servers", cfg->brokers);
    if (rc == 0 && cfg->group != NULL)
        rc = conf_set(conf, "group.id", cfg->group);
    for (size_t i = 0; rc == 0 && cfg->kv != NULL && cfg->kv[i]; i += 2)
        rc = conf_set(conf, cfg->kv[i], cfg->kv[i + 1]);
    for (size_t i = 0; rc == 0 && !cfg->no_props && i < nprops; i += 2)
        rc = conf_set(conf, props[i], props[i + 1]);
    if (rc != 0)
        return rc;
    if (cfg->opaque != NULL)
        rd_kafka_conf_set_opaque(conf, cfg->opaque);
    if (cfg->callbacks != NULL)
        cfg->callbacks(conf);
    return 0;
}

int lh_kafka_handle_new(const lh_kafka_cfg *cfg, rd_kafka_t **out)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    if (conf == NULL)
        return LH_ENOMEM;
    int rc = conf_fill(conf, cfg);
    if (rc != 0) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    /* rd_kafka_new owns conf when it succeeds. */
    rd_kafka_t *rk = rd_kafka_new(cfg->type, conf, errstr, sizeof errstr);
    if (rk == NULL) {
        /* What fails here is the configuration as a whole. */
        fprintf(stderr, "kafka: cannot create %s: %s\n", cfg->what, errstr);
        rd_kafka_conf_destroy(conf);
        return LH_EINVAL;
    }
    *out = rk;
    return 0;
}

int lh_kafka_prop_add(const char *spec, char *err, size_t errcap)
{
    const char *eq = spec ? strchr(spec, '=') : NULL;
    char *name = NULL, *val = NULL;
    int rc = LH_ENOMEM;

    if (eq == NULL || eq == spec) {
        snprintf(err, errcap, "want NAME=VALUE, not '%s'", spec ? spec : "");
        return LH_EINVAL;
    }
    name = lh_strndup(spec, (size_t)(eq - spec));
    val = lh_strdup(eq + 1);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (name == NULL || val == NULL || conf == NULL)
        goto out;
    if (rd_kafka_conf_set(conf, name, val, err, errcap) != RD_KAFKA_CONF_OK) {
        rc = LH_EINVAL;
        goto out;
    }
    void *v = props;
    rc = lh_grow(&v, &propcap, nprops + 3, sizeof *props, 8);
    if (rc != 0)
        goto out;
    props = v;
    props[nprops++] = name;
    props[nprops++] = val;
    props[nprops] = NULL;
    name = val = NULL;
    rc = 0;
out:
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
    lh_free(name);
    lh_free(val);
    return rc;
}

const char *lh_kafka_prop(const char *name)
{
    const char *v = NULL;

    for (size_t i = 0; name != NULL && i < nprops; i += 2)
        if (strcmp(props[i], name) == 0)
            v = props[i + 1];
    return v;
}

void lh_kafka_props_clear(void)
{
    for (size_t i = 0; i < nprops; i++)
        lh_free(props[i]);
    lh_free(props);
    props = NULL;
    nprops = propcap = 0;
}

int lh_kafka_topic_check(const char *brokers, const char *topic,
                         int timeout_ms)
{
    const lh_kafka_cfg cfg = {.type = RD_KAFKA_CONSUMER,
                              .what = "the topic check's client",
                              .brokers = brokers};
    const struct rd_kafka_metadata *md = NULL;
    const char *allow = lh_kafka_prop("allow.auto.create.topics");
    rd_kafka_t *rk = NULL;
    int rc;

    if (brokers == NULL || !*brokers || topic == NULL || !*topic)
        return LH_EINVAL;
    if (allow != NULL && strcmp(allow, "true") == 0)
        return 0;
    rc = lh_kafka_handle_new(&cfg, &rk);
    if (rc != 0)
        return rc;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (err) {
        rc = err == RD_KAFKA_RESP_ERR__TIMED_OUT ? LH_ETIMEOUT : LH_EIO;
        goto out;
    }
    rc = LH_ENOTFOUND;
    for (int i = 0; i < md->topic_cnt && rc != 0; i++)
        if (strcmp(md->topics[i].topic, topic) == 0 && !md->topics[i].err)
            rc = 0;
out:
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}
