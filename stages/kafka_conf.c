/*
 * kafka_conf.c - setting up librdkafka handles for the Kafka layer
 * (kafka_internal.h).
 *
 * Logging: librdkafka's log lines of level error and worse go to stderr
 * with a "kafka:" prefix, except the FAIL lines, which repeat what the
 * clients' error callbacks say (those log a transient error only when it
 * differs from the previous one, so a broker that stays down does not
 * flood the log).
 */
#include "kafka_internal.h"

#include "error.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

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
        fprintf(stderr, "kafka: cannot create %s: %s\n", cfg->what, errstr);
        rd_kafka_conf_destroy(conf);
        return LH_EIO;
    }
    *out = rk;
    return 0;
}
