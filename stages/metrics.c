/*
 * metrics.c - /metrics over libmicrohttpd, driven from the node's loop
 * (see metrics.h).
 *
 * Design notes.
 *
 * libmicrohttpd runs without a thread of its own (no
 * MHD_USE_INTERNAL_POLLING_THREAD) and with epoll (MHD_USE_EPOLL): all
 * its sockets, the listener and every connection, sit in one epoll set
 * whose descriptor the node polls beside its own; MHD_run serves what is
 * ready without blocking.  So the answer is rendered on the node's thread
 * and reads its counters as they are, with no lock and no copy.  A scrape
 * is small (a few KB) and answered in one MHD_run: the node's loop is
 * held up for the time it takes to format it (measured: docs/selfheal.md).
 *
 * Limits: at most 16 connections at once, idle ones closed after 10 s;
 * a request with a body is refused (only GET and HEAD are served).
 *
 * Number formatting: counters are 64-bit integers printed as integers
 * (exact), other values with %.17g, so a value read back is the value
 * written.
 */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include "alloc.h"
#include "error.h"

#define MAX_CONNECTIONS 16
#define IDLE_TIMEOUT_S 10

struct lh_metrics {
    struct MHD_Daemon *d;
    lh_metrics_render_fn render;
    void *arg;
    uint16_t port;
    int fd;
    uint64_t scrapes;
    lh_buf body; /* the answer being built; kept for its room */
};

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status,
                              const char *type, const void *data, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)data,
                                        MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    static const char text[] = "text/plain; charset=utf-8";
    lh_metrics *m = cls;

    (void)version;
    (void)upload_data;
    (void)con_cls;
    if (*upload_data_size != 0)
        return MHD_NO; /* a body: not ours to read */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        static const char msg[] = "only GET and HEAD\n";
        return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, msg,
                      sizeof msg - 1);
    }
    if (strcmp(url, "/metrics") != 0) {
        static const char msg[] = "not found: the metrics are at /metrics\n";
        return answer(conn, MHD_HTTP_NOT_FOUND, text, msg, sizeof msg - 1);
    }
    lh_buf_reset(&m->body);
    if (m->render(m->arg, &m->body) != 0) {
        static const char msg[] = "cannot render the metrics\n";
        return answer(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, text, msg,
                      sizeof msg - 1);
    }
    m->scrapes++;
    return answer(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                  lh_buf_peek(&m->body), lh_buf_len(&m->body));
}

int lh_metrics_start(uint16_t port, lh_metrics_render_fn render, void *arg,
                     lh_metrics **out)
{
    lh_metrics *m = lh_calloc(1, sizeof *m);

    if (m == NULL)
        return LH_ENOMEM;
    m->render = render;
    m->arg = arg;
    m->d = MHD_start_daemon(MHD_USE_EPOLL, port, NULL, NULL, on_request, m,
                            MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)MAX_CONNECTIONS,
                            MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_END);
    if (m->d == NULL) {
        int saved = errno;
        lh_free(m);
        errno = saved;
        return LH_ESYS;
    }
    const union MHD_DaemonInfo *pi =
        MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    const union MHD_DaemonInfo *fi =
        MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);
    if (pi == NULL || fi == NULL) {
        lh_metrics_stop(m);
        errno = ENOTSUP;
        return LH_ESYS;
    }
    m->port = pi->port;
    m->fd = fi->epoll_fd;
    *out = m;
    return 0;
}

uint16_t lh_metrics_port(const lh_metrics *m)
{
    return m->port;
}

int lh_metrics_fd(const lh_metrics *m)
{
    return m->fd;
}

int lh_metrics_wait_ms(lh_metrics *m)
{
    MHD_UNSIGNED_LONG_LONG ms = 0;

    if (MHD_get_timeout(m->d, &ms) != MHD_YES || ms > 1000)
        return 1000;
    return (int)ms;
}

void lh_metrics_run(lh_metrics *m)
{
    (void)MHD_run(m->d);
}

void lh_metrics_stop(lh_metrics *m)
{
    if (m == NULL)
        return;
    if (m->d != NULL)
        MHD_stop_daemon(m->d);
    lh_buf_free(&m->body);
    lh_free(m);
}

uint64_t lh_metrics_scrapes(const lh_metrics *m)
{
    return m->scrapes;
}

/* ---- series ---- */

__attribute__((format(printf, 2, 3)))
static int put(lh_buf *out, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return LH_EINVAL;
    if ((size_t)n >= sizeof line)
        return LH_ETOOBIG;
    return lh_buf_append(out, line, (size_t)n);
}

int lh_metrics_family(lh_buf *out, const char *name, const char *type,
                      const char *help)
{
    int rc = put(out, "# HELP %s %s\n", name, help);
    return rc ? rc : put(out, "# TYPE %s %s\n", name, type);
}

int lh_metrics_sample(lh_buf *out, const char *name, const char *labels,
                      double value)
{
    const char *open = labels && *labels ? "{" : "";
    const char *close = labels && *labels ? "}" : "";

    if (value >= 0 && value < 9007199254740992.0 && value == floor(value))
        return put(out, "%s%s%s%s %" PRIu64 "\n", name, open,
                   labels ? labels : "", close, (uint64_t)value);
    return put(out, "%s%s%s%s %.17g\n", name, open, labels ? labels : "",
               close, value);
}

/* A counter's sample, exact at any size. */
static int sample_u64(lh_buf *out, const char *name, const char *labels,
                      uint64_t v)
{
    if (labels == NULL || *labels == '\0')
        return put(out, "%s %" PRIu64 "\n", name, v);
    return put(out, "%s{%s} %" PRIu64 "\n", name, labels, v);
}

const char *lh_metrics_escape(const char *v, char *dst, size_t cap)
{
    size_t k = 0;

    for (; v != NULL && *v && k + 3 < cap; v++) {
        if (*v == '\\' || *v == '"') {
            dst[k++] = '\\';
            dst[k++] = *v;
        } else if (*v == '\n') {
            dst[k++] = '\\';
            dst[k++] = 'n';
        } else {
            dst[k++] = *v;
        }
    }
    if (cap > 0)
        dst[k] = '\0';
    return dst;
}

static const char *const help_of[LH_C_COUNT] = {
    [LH_C_produced] = "events published and delivered (produce)",
    [LH_C_consumed] = "events taken from Kafka (a)",
    [LH_C_forwarded] = "events sent to a B node (a)",
    [LH_C_dropped] = "events consumed and dropped, forward off (a)",
    [LH_C_acked] = "events the B nodes acknowledged as finished (a)",
    [LH_C_received] = "events received from A (b)",
    [LH_C_verified] = "events checked (b)",
    [LH_C_finished] = "events finished: the work unit (b)",
    [LH_C_rpc_timeouts] = "store calls not answered, retried (b)",
    [LH_C_rpc_error_answers] = "store calls answered with an error (b)",
    [LH_C_assigned] = "partitions assigned now (a)",
    [LH_C_outstanding] = "events sent and not yet acknowledged (a)",
};

/* The families of the counters table. */
static int counter_families(lh_buf *out, const lh_metrics_node_info *nodes,
                            size_t n)
{
    char name[96], help[160];
    int rc = 0;

    for (int id = 0; rc == 0 && id < LH_C_COUNT; id++) {
        int gauge = lh_counter_is_gauge(id);
        if (id == LH_C_heap_live || id == LH_C_stages_mask)
            continue; /* families of their own, below */
        snprintf(name, sizeof name, "selfheal_%s%s", lh_counter_name(id),
                 gauge ? "" : "_total");
        snprintf(help, sizeof help, "%s (counters.h: %s)",
                 help_of[id] ? help_of[id] : "a selfheal counter",
                 lh_counter_name(id));
        rc = lh_metrics_family(out, name, gauge ? "gauge" : "counter", help);
        for (size_t i = 0; rc == 0 && i < n; i++)
            if (nodes[i].c != NULL)
                rc = sample_u64(out, name, nodes[i].labels,
                                nodes[i].c->v[id]);
    }
    return rc;
}

int lh_metrics_nodes(lh_buf *out, const lh_metrics_node_info *nodes,
                     size_t n)
{
    char labels[512], esc[256];
    int rc = counter_families(out, nodes, n);

    if (rc == 0)
        rc = lh_metrics_family(out, "process_resident_memory_bytes", "gauge",
                               "resident memory of the node's process");
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (nodes[i].has_rss)
            rc = lh_metrics_sample(out, "process_resident_memory_bytes",
                                   nodes[i].labels, (double)nodes[i].rss);
    if (rc == 0)
        rc = lh_metrics_family(out, "selfheal_heap_live_bytes", "gauge",
                               "live heap of the node's process "
                               "(malloc'ed, not freed)");
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (nodes[i].has_heap)
            rc = lh_metrics_sample(out, "selfheal_heap_live_bytes",
                                   nodes[i].labels,
                                   (double)nodes[i].heap_live);
    if (rc == 0)
        rc = lh_metrics_family(out, "process_start_time_seconds", "gauge",
                               "start of the node's process, seconds since "
                               "the epoch");
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (nodes[i].start_time > 0)
            rc = lh_metrics_sample(out, "process_start_time_seconds",
                                   nodes[i].labels, nodes[i].start_time);
    if (rc == 0)
        rc = lh_metrics_family(out, "leakhunt_stages", "gauge",
                               "the stages the node runs now "
                               "(docs/protocol.md section 9)");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (nodes[i].stages == NULL)
            continue;
        const char *own = nodes[i].labels ? nodes[i].labels : "";
        snprintf(labels, sizeof labels, "%s%sstages=\"%s\"", own,
                 *own ? "," : "",
                 lh_metrics_escape(nodes[i].stages, esc, sizeof esc));
        rc = lh_metrics_sample(out, "leakhunt_stages", labels, 1);
    }
    return rc;
}
