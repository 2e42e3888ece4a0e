/*
 * kafka_broker.c - the embedded broker and its fault plans (see
 * kafka_broker.h).
 *
 * Design notes.
 *
 * Broker: the mock cluster lives on a dedicated rd_kafka_t of its own (a
 * producer handle that never produces); it runs its own thread, so
 * lh_kbroker_start returns at once and the cluster serves until stopped.
 * That thread is started with every signal blocked (as rd_kafka_new does
 * for its own threads; rd_kafka_mock_cluster_new does not): otherwise a
 * stop signal may be delivered to it (valgrind, which picks the thread, did
 * it in 1 run of 7 at load 20), its poll() fails with EINTR ("Mock cluster
 * failed to poll 2 fds: -1: Interrupted system call"), and
 * rd_kafka_mock_cluster_destroy then never returned: the broker did not
 * stop in up's 60 s grace (selfheal_valgrind's flake).  Signals reach the
 * caller's thread only.
 *
 * Faults: lh_kbroker_push_errors uses each broker's own error stack
 * (rd_kafka_mock_broker_push_request_error_rtts) rather than the
 * cluster's, because only a broker's stack can be read back
 * (rd_kafka_mock_broker_error_stack_cnt): a fault test can then tell that
 * the errors it asked for were met by real requests.  Fault plans
 * (lh_kfault_parse) are parsed in two passes, checking first, so a bad
 * plan leaves the caller's steps untouched; error names come from
 * librdkafka's own table (rd_kafka_get_err_descs).
 */
#include "kafka_broker.h"

#include "kafka_internal.h"

#include "alloc.h"
#include "error.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The embedded broker. */

struct lh_kbroker {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    int brokers; /* ids 1 .. brokers */
    char *topic;
    int partitions;
    int32_t *leader; /* per partition: the broker that leads it */
    uint8_t *down;   /* per broker id (1 .. brokers): 1 while down */
    char *group;     /* lh_kbroker_set_group's, NULL: none */
    int32_t coordinator; /* the group's, when group is set */
};

/* rd_kafka_mock_cluster_new with every signal blocked in the thread it
 * starts (see the design note). */
static rd_kafka_mock_cluster_t *new_cluster(rd_kafka_t *rk, int brokers)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return mc;
}

/* Leaders spread over the brokers (partition p on broker 1 + p % n),
 * set and remembered, so that failover knows what a broker led. */
static int leaders_init(lh_kbroker *b, const char *topic, int partitions)
{
    b->topic = lh_strdup(topic);
    b->leader = lh_calloc((size_t)partitions, sizeof *b->leader);
    b->down = lh_calloc((size_t)b->brokers + 1, sizeof *b->down);
    if (b->topic == NULL || b->leader == NULL || b->down == NULL)
        return LH_ENOMEM;
    b->partitions = partitions;
    for (int p = 0; p < partitions; p++) {
        b->leader[p] = 1 + p % b->brokers;
        if (b->brokers > 1 &&
            rd_kafka_mock_partition_set_leader(b->mc, topic, p,
                                               b->leader[p]) != 0)
            return LH_EIO;
    }
    return 0;
}

/* A broker up, other than `not`, taking turns from `after`; -1: none. */
static int32_t live_broker(const lh_kbroker *b, int32_t not, int32_t after)
{
    for (int k = 1; k <= b->brokers; k++) {
        int32_t id = 1 + (after + k - 1) % b->brokers;
        if (id != not && !b->down[id])
            return id;
    }
    return -1;
}

/* What a real cluster's controller does when a broker goes: the
 * partitions it led and the group it coordinated move to brokers still
 * up (when there is one; nothing moves back when it returns). */
static void failover(lh_kbroker *b, int32_t gone)
{
    int moved = 0;

    for (int p = 0; p < b->partitions; p++) {
        if (b->leader[p] != gone)
            continue;
        int32_t to = live_broker(b, gone, p);
        if (to < 0)
            return;
        if (rd_kafka_mock_partition_set_leader(b->mc, b->topic, p, to) == 0) {
            b->leader[p] = to;
            moved++;
        }
    }
    if (b->group != NULL && b->coordinator == gone) {
        int32_t to = live_broker(b, gone, gone);
        if (to > 0 && rd_kafka_mock_coordinator_set(b->mc, "group", b->group,
                                                    to) == 0) {
            b->coordinator = to;
            fprintf(stderr, "kafka: broker %d down: group %s coordinated by "
                    "broker %d now\n", (int)gone, b->group, (int)to);
        }
    }
    if (moved > 0)
        fprintf(stderr, "kafka: broker %d down: %d partition(s) of %s led "
                "elsewhere now\n", (int)gone, moved, b->topic);
}

int lh_kbroker_set_group(lh_kbroker *b, const char *group)
{
    if (!b || !group || !*group)
        return LH_EINVAL;
    char *g = lh_strdup(group);
    if (!g)
        return LH_ENOMEM;
    int32_t to = live_broker(b, -1, 0);
    if (to < 0 || rd_kafka_mock_coordinator_set(b->mc, "group", g, to) != 0) {
        lh_free(g);
        return LH_EIO;
    }
    lh_free(b->group);
    b->group = g;
    b->coordinator = to;
    return 0;
}

int lh_kbroker_start(int brokers, const char *topic, int partitions,
                     lh_kbroker **out, char *bootstrap, size_t cap)
{
    static const char *const kv[] = {"log_level", "3", NULL};
    const lh_kafka_cfg cfg = {.type = RD_KAFKA_PRODUCER,
                              .what = "the mock cluster's handle",
                              .kv = kv,
                              .no_props = 1};
    lh_kbroker *b = NULL;
    rd_kafka_resp_err_t err;
    const char *servers;
    int rc;

    if (brokers < 1 || !topic || !*topic || partitions < 1 || !out ||
        !bootstrap || cap == 0)
        return LH_EINVAL;
    b = lh_calloc(1, sizeof *b);
    if (!b)
        return LH_ENOMEM;
    rc = lh_kafka_handle_new(&cfg, &b->rk);
    if (rc < 0)
        goto out;
    b->brokers = brokers;
    b->mc = new_cluster(b->rk, brokers);
    if (!b->mc) {
        fprintf(stderr, "kafka: cannot start the mock cluster\n");
        rc = LH_EIO;
        goto out;
    }
    err = rd_kafka_mock_topic_create(b->mc, topic, partitions,
                                     brokers < 3 ? brokers : 3);
    if (err) {
        fprintf(stderr, "kafka: cannot create topic %s: %s\n", topic,
                rd_kafka_err2str(err));
        rc = LH_EIO;
        goto out;
    }
    rc = leaders_init(b, topic, partitions);
    if (rc != 0)
        goto out;
    servers = rd_kafka_mock_cluster_bootstraps(b->mc);
    if (strlen(servers) >= cap) {
        rc = LH_ETRUNC;
        goto out;
    }
    memcpy(bootstrap, servers, strlen(servers) + 1);
    *out = b;
    b = NULL;
    rc = 0;
out:
    lh_kbroker_stop(b);
    return rc;
}

void lh_kbroker_stop(lh_kbroker *b)
{
    if (!b)
        return;
    if (b->mc)
        rd_kafka_mock_cluster_destroy(b->mc);
    if (b->rk)
        rd_kafka_destroy(b->rk);
    lh_free(b->topic);
    lh_free(b->leader);
    lh_free(b->down);
    lh_free(b->group);
    lh_free(b);
}

int lh_kbroker_inject_errors(lh_kbroker *b, int api_key, int count, int error)
{
    if (!b || api_key < 0 || api_key > INT16_MAX || count < 0)
        return LH_EINVAL;
    for (int i = 0; i < count; i++)
        rd_kafka_mock_push_request_errors(b->mc, (int16_t)api_key, 1,
                                          (rd_kafka_resp_err_t)error);
    return 0;
}

int lh_kbroker_set_down(lh_kbroker *b, int broker_id, int down)
{
    rd_kafka_resp_err_t err;

    if (!b)
        return LH_EINVAL;
    /* Leadership moves first, as in a controlled shutdown: a client that
     * sees the broker go and asks for metadata at once must find the new
     * leaders (moved after, a refresh in between saw the old ones and the
     * clients waited for the broker: a run stalled in 1 of 2). */
    if (down && broker_id >= 1 && broker_id <= b->brokers) {
        b->down[broker_id] = 1;
        failover(b, broker_id);
    }
    err = down ? rd_kafka_mock_broker_set_down(b->mc, broker_id)
               : rd_kafka_mock_broker_set_up(b->mc, broker_id);
    if (err) {
        fprintf(stderr, "kafka: cannot set broker %d %s: %s\n", broker_id,
                down ? "down" : "up", rd_kafka_err2str(err));
        return err == RD_KAFKA_RESP_ERR__UNKNOWN_BROKER ||
                       err == RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE
                   ? LH_ENOTFOUND
                   : LH_EIO;
    }
    for (int id = 1; id <= b->brokers; id++)
        if (broker_id == -1 || broker_id == id)
            b->down[id] = (uint8_t)(down != 0);
    return 0;
}

int lh_kbroker_count(const lh_kbroker *b)
{
    return b ? b->brokers : 0;
}

/* The mock's answer for a broker id as an lh error code. */
static int mock_rc(rd_kafka_resp_err_t err)
{
    if (!err)
        return 0;
    if (err == RD_KAFKA_RESP_ERR__UNKNOWN_BROKER ||
        err == RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE)
        return LH_ENOTFOUND;
    if (err == RD_KAFKA_RESP_ERR__INVALID_ARG)
        return LH_EINVAL;
    return LH_EIO;
}

int lh_kbroker_push_errors(lh_kbroker *b, int broker_id, int api_key,
                           int count, int error, int rtt_ms)
{
    int first = broker_id, last = broker_id;

    if (!b || api_key < 0 || api_key > INT16_MAX || count < 0 ||
        count > LH_KFAULT_MAX_COUNT || rtt_ms < 0 ||
        rtt_ms > LH_KFAULT_MAX_MS || broker_id < -1 || broker_id == 0)
        return LH_EINVAL;
    if (broker_id > b->brokers)
        return LH_ENOTFOUND;
    if (broker_id == -1) {
        first = 1;
        last = b->brokers;
    }
    for (int id = first; id <= last; id++)
        for (int i = 0; i < count; i++) {
            rd_kafka_resp_err_t err = rd_kafka_mock_broker_push_request_error_rtts(
                b->mc, id, (int16_t)api_key, 1, (rd_kafka_resp_err_t)error,
                rtt_ms);
            if (err) {
                fprintf(stderr, "kafka: cannot push an error on broker %d: "
                        "%s\n", id, rd_kafka_err2str(err));
                return mock_rc(err);
            }
        }
    return 0;
}

int lh_kbroker_errors_left(lh_kbroker *b, int api_key, uint64_t *left)
{
    uint64_t sum = 0;

    if (!b || !left || api_key < 0 || api_key > INT16_MAX)
        return LH_EINVAL;
    for (int id = 1; id <= b->brokers; id++) {
        size_t cnt = 0;
        rd_kafka_resp_err_t err =
            rd_kafka_mock_broker_error_stack_cnt(b->mc, id, (int16_t)api_key,
                                                 &cnt);
        if (err)
            return LH_EIO;
        sum += cnt;
    }
    *left = sum;
    return 0;
}

int lh_kbroker_set_rtt(lh_kbroker *b, int broker_id, int rtt_ms)
{
    if (!b || rtt_ms < 0 || rtt_ms > LH_KFAULT_MAX_MS || broker_id < -1 ||
        broker_id == 0)
        return LH_EINVAL;
    if (broker_id > b->brokers)
        return LH_ENOTFOUND;
    return mock_rc(rd_kafka_mock_broker_set_rtt(b->mc, broker_id, rtt_ms));
}

int lh_kbroker_apply(lh_kbroker *b, const lh_kfault *f)
{
    if (!b || !f)
        return LH_EINVAL;
    switch (f->kind) {
    case LH_KFAULT_SLEEP:
        return 0;
    case LH_KFAULT_ERRORS:
        return lh_kbroker_push_errors(b, f->broker, f->api_key, f->count,
                                      f->error, 0);
    case LH_KFAULT_DOWN:
    case LH_KFAULT_UP:
        if (f->broker < -1 || f->broker == 0)
            return LH_EINVAL;
        if (f->broker > b->brokers)
            return LH_ENOTFOUND;
        return lh_kbroker_set_down(b, f->broker, f->kind == LH_KFAULT_DOWN);
    case LH_KFAULT_RTT:
        return lh_kbroker_set_rtt(b, f->broker, f->ms);
    default:
        return LH_EINVAL;
    }
}

/* Fault plans. */

static const struct {
    const char *name;
    int key;
} api_names[] = {
    {"Produce", 0},          {"Fetch", 1},         {"ListOffsets", 2},
    {"Metadata", 3},         {"OffsetCommit", 8},  {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},    {"Heartbeat", 12},
    {"LeaveGroup", 13},      {"SyncGroup", 14},    {"ApiVersions", 18},
    {"InitProducerId", 22},
};

/* A whole decimal number in [lo, hi] spelled by s[0..len); 0 or
 * LH_EINVAL. */
static int parse_int(const char *s, size_t len, long lo, long hi, int *out)
{
    long v = 0;
    int neg = 0;
    size_t i = 0;

    if (len > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == len || len - i > 9)
        return LH_EINVAL;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return LH_EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    if (neg)
        v = -v;
    if (v < lo || v > hi)
        return LH_EINVAL;
    *out = (int)v;
    return 0;
}

/* 1 when s[0..len) equals name, ignoring case. */
static int same_word(const char *s, size_t len, const char *name)
{
    return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

static int api_key_of(const char *s, size_t len)
{
    int key;

    for (size_t i = 0; i < sizeof api_names / sizeof api_names[0]; i++)
        if (same_word(s, len, api_names[i].name))
            return api_names[i].key;
    if (parse_int(s, len, 0, INT16_MAX, &key) == 0)
        return key;
    return LH_ENOTFOUND;
}

int lh_kafka_api_key(const char *name)
{
    if (!name)
        return LH_ENOTFOUND;
    return api_key_of(name, strlen(name));
}

const char *lh_kafka_api_name(int api_key)
{
    for (size_t i = 0; i < sizeof api_names / sizeof api_names[0]; i++)
        if (api_names[i].key == api_key)
            return api_names[i].name;
    return "?";
}

const char *lh_kafka_err_name(int error)
{
    return rd_kafka_err2name((rd_kafka_resp_err_t)error);
}

/* An error code from its name (NOT_LEADER_FOR_PARTITION, _TRANSPORT, with
 * or without RD_KAFKA_RESP_ERR_) or number.  0 or LH_ENOTFOUND. */
static int error_of(const char *s, size_t len, int *out)
{
    static const char prefix[] = "RD_KAFKA_RESP_ERR_";
    const struct rd_kafka_err_desc *descs;
    size_t cnt;

    if (parse_int(s, len, -1000, 10000, out) == 0)
        return 0;
    if (len > sizeof prefix - 1 &&
        strncasecmp(s, prefix, sizeof prefix - 1) == 0) {
        s += sizeof prefix - 1;
        len -= sizeof prefix - 1;
    }
    rd_kafka_get_err_descs(&descs, &cnt);
    for (size_t i = 0; i < cnt; i++)
        if (descs[i].name && same_word(s, len, descs[i].name)) {
            *out = (int)descs[i].code;
            return 0;
        }
    return LH_ENOTFOUND;
}

/* The fields of one step: pointers into the spec and their lengths. */
#define STEP_FIELDS 5

static int parse_step(const char *s, size_t len, lh_kfault *f, char *err,
                      size_t errcap)
{
    const char *fld[STEP_FIELDS];
    size_t flen[STEP_FIELDS];
    int nf = 0;
    size_t start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != ':')
            continue;
        if (nf == STEP_FIELDS) {
            snprintf(err, errcap, "fault step '%.*s': too many fields",
                     (int)len, s);
            return LH_EINVAL;
        }
        fld[nf] = s + start;
        flen[nf++] = i - start;
        start = i + 1;
    }
    memset(f, 0, sizeof *f);
    f->broker = -1;
    f->count = 1;
    int ok = 0;
    if (same_word(fld[0], flen[0], "sleep")) {
        f->kind = LH_KFAULT_SLEEP;
        ok = nf == 2 &&
             parse_int(fld[1], flen[1], 0, LH_KFAULT_MAX_MS, &f->ms) == 0;
    } else if (same_word(fld[0], flen[0], "down") ||
               same_word(fld[0], flen[0], "up")) {
        f->kind = flen[0] == 4 ? LH_KFAULT_DOWN : LH_KFAULT_UP;
        ok = nf == 1 ||
             (nf == 2 && parse_int(fld[1], flen[1], 1, 1000, &f->broker) == 0);
    } else if (same_word(fld[0], flen[0], "rtt")) {
        f->kind = LH_KFAULT_RTT;
        ok = (nf == 2 || nf == 3) &&
             parse_int(fld[1], flen[1], 0, LH_KFAULT_MAX_MS, &f->ms) == 0 &&
             (nf == 2 || parse_int(fld[2], flen[2], 1, 1000, &f->broker) == 0);
    } else if (same_word(fld[0], flen[0], "err")) {
        f->kind = LH_KFAULT_ERRORS;
        f->api_key = nf >= 3 ? api_key_of(fld[1], flen[1]) : 0;
        if (nf < 3) {
            ok = 0;
        } else if (f->api_key < 0) {
            snprintf(err, errcap, "fault step '%.*s': unknown Kafka request "
                     "'%.*s'", (int)len, s, (int)flen[1], fld[1]);
            return LH_EINVAL;
        } else if (error_of(fld[2], flen[2], &f->error) != 0) {
            snprintf(err, errcap, "fault step '%.*s': unknown Kafka error "
                     "'%.*s'", (int)len, s, (int)flen[2], fld[2]);
            return LH_EINVAL;
        } else {
            ok = nf <= 5 &&
                 (nf < 4 || parse_int(fld[3], flen[3], 1, LH_KFAULT_MAX_COUNT,
                                      &f->count) == 0) &&
                 (nf < 5 || parse_int(fld[4], flen[4], 1, 1000,
                                      &f->broker) == 0);
        }
    } else {
        snprintf(err, errcap, "fault step '%.*s': unknown step (known: "
                 "sleep, err, down, up, rtt)", (int)len, s);
        return LH_EINVAL;
    }
    if (!ok) {
        snprintf(err, errcap, "fault step '%.*s': bad fields (sleep:MS, "
                 "err:API:ERROR[:COUNT[:BROKER]], down[:BROKER], "
                 "up[:BROKER], rtt:MS[:BROKER])", (int)len, s);
        return LH_EINVAL;
    }
    return 0;
}

int lh_kfault_parse(const char *spec, lh_kfault *steps, size_t max,
                    size_t *n, char *err, size_t errcap)
{
    size_t count = 0, start = 0, len;
    lh_kfault f;
    char dummy[1];

    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    if (!spec || !steps || !n) {
        snprintf(err, errcap, "no fault spec");
        return LH_EINVAL;
    }
    len = strlen(spec);
    /* Two passes: check everything first, so a bad spec changes nothing. */
    for (int pass = 0; pass < 2; pass++) {
        count = 0;
        start = 0;
        for (size_t i = 0; i <= len; i++) {
            if (i < len && spec[i] != ',')
                continue;
            if (i == start) {
                snprintf(err, errcap, "empty fault step in '%s'", spec);
                return LH_EINVAL;
            }
            int rc = parse_step(spec + start, i - start, &f, err, errcap);
            if (rc < 0)
                return rc;
            if (count == max) {
                snprintf(err, errcap, "more than %zu fault steps", max);
                return LH_ETOOBIG;
            }
            if (pass == 1)
                steps[count] = f;
            count++;
            start = i + 1;
        }
    }
    *n = count;
    return 0;
}
