/*
 * role_a.c - `selfheal a`: a consumer-group member that forwards events to
 * the B nodes over TCP, with backpressure and at-least-once delivery.
 *
 * Design:
 * - Each poll of the consumer (up to --batch messages) becomes one EVENTS
 *   frame to the B connection with the fewest unacknowledged events; the
 *   tag of an event is its sequence number in A.
 * - Every event in flight has an entry in a ring indexed by sequence
 *   number (consumption order).  B acks by tag when it has finished the
 *   event; the ring's head advances over acked entries and the offsets it
 *   passes are marked done (lh_kconsumer_done), in order per partition, so
 *   the committed offset never passes an unfinished event (at-least-once).
 * - Backpressure: each B connection has a window of --window
 *   unacknowledged events.  When the total reaches the sum of the windows
 *   (or the ring has no room for another batch) A pauses its partitions,
 *   and resumes when half of it has drained: A never buffers without bound.
 * - forward OFF: A consumes and drops each event.  With --ledger DIR it
 *   first records each one as DROPPED (ledger.h) and hands the records to
 *   the kernel before marking any offset done, so a committed offset never
 *   passes an event without its record.  A dropped event takes a ring
 *   entry too, finished at once: its offset is marked done in consumption
 *   order, after the events forwarded before it (forward may just have
 *   been switched off with events still at the B nodes).
 * - Live switching (docs/protocol.md section 5, control.h): A runs one
 *   stage, forward, and looks at LEAKHUNT_CONTROL every 50 ms from its
 *   loop.  A is not a process under test, so it writes no stats lines; it
 *   acknowledges through the B nodes instead: it keeps a connection to
 *   every B node whether forward is on or off, and announces the list it
 *   runs in a STAGES frame (proto.h) after its HELLO and after every
 *   switch.  A B node shows a list in its stats lines only once A
 *   announced it too (role_b.c).  Connections, ring and ledger are sized
 *   at start for forward on, so forward can be switched either way.
 * - A lost B connection with unacknowledged events ends A with status 3:
 *   those events exist only in Kafka now, so the supervisor (up) starts A
 *   again, which consumes them again from the committed offsets.
 * - Stopping (SIGTERM) is bounded by the stop deadline (roleutil.h): the
 *   consumer's close commits and leaves the group when the broker is
 *   there, and must not keep A alive when it is gone.
 */
#include "roles.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "control.h"
#include "counters.h"
#include "error.h"
#include "event.h"
#include "kafka.h"
#include "ledger.h"
#include "memsample.h"
#include "metrics.h"
#include "net.h"
#include "proto.h"
#include "registry.h"
#include "roleutil.h"
#include "stats.h"

#define RETRY_US 300000
#define MAX_PARTITIONS_TRACKED 1024

typedef struct bconn {
    const char *addr;
    const char *token; /* auth token for the HELLO, NULL: none */
    int fd; /* -1 while down */
    int64_t retry_at;
    int warned;
    uint64_t outstanding;
    lh_frame_reader rd;
    lh_frame_writer wr;
} bconn;

typedef struct entry {
    int64_t offset;
    int32_t partition;
    uint16_t conn;
    uint8_t acked;
} entry;

typedef struct a_opts {
    const char *brokers, *nodes, *stages, *topic, *group, *counters, *name;
    const char *auth_token, *ledger, *metrics_port_file;
    uint64_t window, batch;
    uint64_t metrics_port; /* UINT64_MAX: no --metrics-port */
} a_opts;

typedef struct a_state {
    const a_opts *o;
    lh_kconsumer *kc;
    bconn *conns;
    size_t nconns;
    char **addrs; /* --nodes */
    size_t naddrs;
    const char *token;
    entry *ring;
    uint64_t cap, head, tail;
    uint64_t window; /* per connection */
    uint64_t batch;  /* events per poll */
    uint64_t outstanding;
    int paused;
    unsigned stages; /* LH_STAGE_BITs: what A runs and announces */
    int forward;     /* forward is in stages */
    lh_control ctl;  /* LEAKHUNT_CONTROL */
    const char *name; /* role name in stats lines and counters */
    lh_counters c;
    int64_t last_counters;
    lh_kmsg *msgs;       /* one poll's messages */
    struct pollfd *pfd;  /* one per connection */
    lh_ledger *ledger; /* --ledger, else NULL */
    lh_metrics *metrics; /* --metrics-port, else NULL */
    double started;      /* wall clock at start, seconds */
    int64_t done_off[MAX_PARTITIONS_TRACKED];
    uint8_t done_set[MAX_PARTITIONS_TRACKED];
} a_state;

/* Ledger records go to the kernel before any offset is marked done. */
static void ledger_flush(a_state *a)
{
    if (lh_ledger_flush(a->ledger) != 0 && a->c.v[LH_C_ledger_errors] == 0)
        fprintf(stderr, "selfheal %s: cannot write the ledger: %s\n",
                a->name, strerror(errno));
    a->c.v[LH_C_ledger_errors] = lh_ledger_errors(a->ledger);
}

static void note_done(a_state *a, int32_t partition, int64_t offset)
{
    if (partition >= 0 && partition < MAX_PARTITIONS_TRACKED) {
        a->done_off[partition] = offset;
        a->done_set[partition] = 1;
        return;
    }
    ledger_flush(a);
    lh_kconsumer_done(a->kc, partition, offset);
}

static void flush_done(a_state *a)
{
    ledger_flush(a);
    for (int p = 0; p < MAX_PARTITIONS_TRACKED; p++) {
        if (!a->done_set[p])
            continue;
        a->done_set[p] = 0;
        lh_kconsumer_done(a->kc, p, a->done_off[p]);
    }
}

static void conn_down(bconn *b)
{
    if (b->fd < 0)
        return;
    close(b->fd);
    b->fd = -1;
    b->retry_at = lh_now_us() + RETRY_US;
    lh_frame_reader_free(&b->rd);
    lh_frame_writer_free(&b->wr);
}

/* Connects to a B node and queues the HELLO and A's stages (`stages`). */
static void conn_try(bconn *b, unsigned stages, int64_t now)
{
    int fd = lh_net_connect(b->addr, 200);
    if (fd < 0) {
        if (!b->warned)
            fprintf(stderr, "selfheal a: cannot reach B node %s yet "
                    "(retrying)\n", b->addr);
        b->warned = 1;
        b->retry_at = now + RETRY_US;
        return;
    }
    b->fd = fd;
    lh_frame_reader_init(&b->rd, 0);
    lh_frame_writer_init(&b->wr);
    if (lh_proto_put_hello_auth(&b->wr, LH_PROTO_FROM_A, 0, b->token) != 0 ||
        lh_proto_put_stages(&b->wr, stages) != 0) {
        conn_down(b);
        return;
    }
    if (b->warned)
        fprintf(stderr, "selfheal a: connected to B node %s\n", b->addr);
    b->warned = 0;
}

/* A B connection failed.  Its unacknowledged events exist only in Kafka
 * now: returns LH_ECLOSED when there are any (A must exit so that they are
 * consumed again), else closes the connection (retried later) and
 * returns 0. */
static int conn_lost(bconn *b)
{
    if (b->outstanding > 0) {
        fprintf(stderr, "selfheal a: lost B node %s with %" PRIu64 " events "
                "unacknowledged; exiting so that they are consumed again\n",
                b->addr, b->outstanding);
        return LH_ECLOSED;
    }
    fprintf(stderr, "selfheal a: lost B node %s\n", b->addr);
    conn_down(b);
    return 0;
}

static int pick_conn(const a_state *a)
{
    int best = -1;
    for (size_t i = 0; i < a->nconns; i++) {
        const bconn *b = &a->conns[i];
        if (b->fd < 0)
            continue;
        if (best < 0 || b->outstanding < a->conns[best].outstanding)
            best = (int)i;
    }
    return best;
}

/* An ACKS frame's tag from connection ci: the event is finished. */
typedef struct ack_from {
    a_state *a;
    size_t ci;
} ack_from;

static int on_ack(void *arg, uint64_t tag)
{
    ack_from *from = arg;
    a_state *a = from->a;

    if (tag < a->head || tag >= a->tail)
        return LH_EPARSE;
    entry *e = &a->ring[tag % a->cap];
    if (e->acked || e->conn != from->ci)
        return LH_EPARSE;
    e->acked = 1;
    a->conns[from->ci].outstanding--;
    a->outstanding--;
    a->c.v[LH_C_acked]++;
    return 0;
}

/* Handles the ACKS frames a B connection has.  0, or an error (the
 * connection is then lost). */
static int read_acks(a_state *a, size_t ci)
{
    ack_from from = {a, ci};
    return lh_proto_read_acks(&a->conns[ci].rd, a->conns[ci].fd, on_ack,
                              &from);
}

static void advance_head(a_state *a)
{
    while (a->head < a->tail) {
        entry *e = &a->ring[a->head % a->cap];
        if (!e->acked)
            break;
        note_done(a, e->partition, e->offset);
        a->head++;
    }
    flush_done(a);
}

/* forward OFF: the event is consumed and dropped (recorded first); its
 * ring entry is finished at once (advance_head marks it done in order). */
static void drop(a_state *a, const lh_kmsg *m)
{
    lh_event ev;
    a->c.v[LH_C_dropped]++;
    if (a->ledger != NULL &&
        lh_event_decode(m->value, m->value_len, &ev) >= 0)
        lh_ledger_add(a->ledger, ev.key, ev.key_len, ev.version,
                      LH_LEDGER_DROPPED);
    entry *e = &a->ring[a->tail % a->cap];
    e->partition = m->partition;
    e->offset = m->offset;
    e->conn = UINT16_MAX;
    e->acked = 1;
    a->tail++;
}

/* Queues the event for connection ci and gives it its ring entry. */
static int forward(a_state *a, lh_proto_batch *batch, int ci,
                   const lh_kmsg *m)
{
    bconn *b = &a->conns[ci];
    int rc = lh_proto_batch_push(batch, &b->wr, a->tail, m->value,
                                 (uint32_t)m->value_len);
    if (rc != 0)
        return rc;
    entry *e = &a->ring[a->tail % a->cap];
    e->partition = m->partition;
    e->offset = m->offset;
    e->conn = (uint16_t)ci;
    e->acked = 0;
    a->tail++;
    b->outstanding++;
    a->outstanding++;
    a->c.v[LH_C_forwarded]++;
    return 0;
}

static int take(a_state *a, lh_kmsg *msgs, int n)
{
    int ci = a->forward ? pick_conn(a) : -1;
    lh_proto_batch batch = {0};
    int rc = 0;

    for (int i = 0; i < n && rc == 0; i++) {
        a->c.v[LH_C_consumed]++;
        if (a->forward && ci < 0) {
            /* Nowhere to send it: not dropped (forward is on), but left to
             * be consumed again after a restart. */
            fprintf(stderr, "selfheal a: no B node connected for a "
                    "consumed event; exiting so that it is consumed again\n");
            return LH_ECLOSED;
        }
        if (a->forward)
            rc = forward(a, &batch, ci, &msgs[i]);
        else
            drop(a, &msgs[i]);
    }
    lh_proto_batch_end(&batch);
    if (rc == 0)
        flush_done(a);
    return rc;
}

/* ---- the main loop ---- */

/* Connects what is due; returns the connections up. */
static int connect_due(a_state *a, int64_t now)
{
    int live = 0;
    for (size_t i = 0; i < a->nconns; i++) {
        if (a->conns[i].fd < 0 && now >= a->conns[i].retry_at)
            conn_try(&a->conns[i], a->stages, now);
        live += a->conns[i].fd >= 0;
    }
    return live;
}

/* Backpressure: pauses the partitions when the windows or the ring are
 * full, resumes them when half of the windows drained.  1 when there is
 * room for another batch. */
/* The sum of the windows: unacknowledged events A allows at most. */
static uint64_t window_limit(const a_state *a)
{
    return a->window * (a->nconns ? a->nconns : 1);
}

static int pace(a_state *a, int live)
{
    uint64_t limit = window_limit(a);
    int room = a->tail - a->head + a->batch <= a->cap &&
               a->outstanding < limit && (!a->forward || live > 0);
    if (!a->paused && !room) {
        if (lh_kconsumer_pause(a->kc) == 0) {
            a->paused = 1;
            a->c.v[LH_C_paused]++;
        }
    } else if (a->paused && room && a->outstanding <= limit / 2) {
        if (lh_kconsumer_resume(a->kc) == 0)
            a->paused = 0;
    }
    return room;
}

/* Events the next poll may return: a batch, but no more than the ring
 * holds nor, forward on, than the windows still allow, so that the window
 * is a hard bound (a whole batch taken with one event of room left
 * overshot it by a batch).  Paused, the poll must go on (kafka.h:
 * rebalances are served from it) and returns nothing: one then. */
static size_t poll_want(const a_state *a)
{
    uint64_t want = a->batch;
    uint64_t space = a->cap - (a->tail - a->head);
    if (space < want)
        want = space;
    if (a->forward) {
        uint64_t limit = window_limit(a);
        uint64_t left = a->outstanding < limit ? limit - a->outstanding : 0;
        if (left < want)
            want = left;
    }
    if (want == 0 && a->paused && space > 0)
        want = 1;
    return (size_t)want;
}

/* Polls the consumer (while paused too, see poll_want) and takes what
 * came.  0 and *got, or the exit status. */
static int consume(a_state *a, int *got)
{
    int pending_out = 0;
    for (size_t i = 0; i < a->nconns; i++)
        pending_out |= a->conns[i].fd >= 0 &&
                       lh_frame_writer_pending(&a->conns[i].wr) > 0;
    size_t want = poll_want(a);
    *got = 0;
    if (want == 0)
        return 0;
    int n = lh_kconsumer_poll(a->kc, a->msgs, want,
                              a->paused || pending_out ? 0 : 5);
    if (n < 0) {
        fprintf(stderr, "selfheal a: consumer failed: %s\n", lh_strerror(n));
        return 1;
    }
    if (n == 0)
        return 0;
    int rc = take(a, a->msgs, n);
    lh_kconsumer_release(a->kc, a->msgs, (size_t)n);
    if (rc == LH_ECLOSED)
        return 3;
    if (rc != 0) {
        fprintf(stderr, "selfheal a: cannot queue events: %s\n",
                lh_strerror(rc));
        return 1;
    }
    *got = n;
    return 0;
}

/* Writes what is queued and fills a->pfd for the connections up.  Returns
 * how many, or -3 when a lost connection ends A. */
static int prepare_conns(a_state *a)
{
    int np = 0;
    for (size_t i = 0; i < a->nconns; i++) {
        bconn *b = &a->conns[i];
        a->pfd[i] = (struct pollfd){.fd = -1};
        if (b->fd < 0)
            continue;
        if (lh_frame_writer_pending(&b->wr) > 0 &&
            lh_frame_writer_flush(&b->wr, b->fd) < 0) {
            if (conn_lost(b) != 0)
                return -3;
            continue;
        }
        a->pfd[i].fd = b->fd;
        a->pfd[i].events = POLLIN;
        if (lh_frame_writer_pending(&b->wr) > 0)
            a->pfd[i].events |= POLLOUT;
        np++;
    }
    return np;
}

/* Sockets: writes what is queued, waits up to timeout_ms, reads acks.
 * 0, or the exit status. */
static int serve_conns(a_state *a, int timeout_ms, int room)
{
    int np = prepare_conns(a);
    if (np < 0)
        return 3;
    if (np > 0 && poll(a->pfd, (nfds_t)a->nconns, timeout_ms) < 0 &&
        errno != EINTR) {
        fprintf(stderr, "selfheal a: poll: %s\n", strerror(errno));
        return 1;
    }
    if (np == 0 && !room)
        lh_sleep_us(10000);
    for (size_t i = 0; np > 0 && i < a->nconns; i++) {
        bconn *b = &a->conns[i];
        short re = a->pfd[i].revents;
        int rc = 0;
        if (b->fd < 0 || re == 0)
            continue;
        if ((re & POLLOUT) && lh_frame_writer_flush(&b->wr, b->fd) < 0)
            rc = LH_ECLOSED;
        if (rc == 0 && (re & (POLLIN | POLLHUP | POLLERR)))
            rc = read_acks(a, i);
        if (rc != 0 && conn_lost(b) != 0)
            return 3;
    }
    return 0;
}

/* ---- live switching ---- */

/* Why A cannot run `mask` (NULL: it can). */
static const char *cannot_run(const a_state *a, unsigned mask)
{
    if ((mask & LH_STAGE_BIT(LH_STAGE_FORWARD)) && a->naddrs == 0)
        return "forward needs --nodes";
    return NULL;
}

/* A's stages: `start` (options, LEAKHUNT_STAGES), or the control file's
 * list when there is one that A can run. */
static void control_start(a_state *a, unsigned start)
{
    unsigned mask = start;
    lh_control_init(&a->ctl, a->name);
    if (lh_control_start(&a->ctl, &mask) && cannot_run(a, mask) != NULL) {
        lh_control_refuse(&a->ctl, cannot_run(a, mask), start);
        mask = start;
    }
    a->stages = mask;
    a->forward = (mask & LH_STAGE_BIT(LH_STAGE_FORWARD)) != 0;
}

/* Tells every connected B node the stages A runs now. */
static void announce(a_state *a)
{
    for (size_t i = 0; i < a->nconns; i++) {
        bconn *b = &a->conns[i];
        if (b->fd >= 0 && lh_proto_put_stages(&b->wr, a->stages) != 0)
            fprintf(stderr, "selfheal %s: out of memory announcing the "
                    "stages to %s\n", a->name, b->addr);
    }
}

/* A look at the control file (when due); a new list is applied: forward
 * on or off from the next event consumed, and announced. */
static void control_step(a_state *a, int64_t now)
{
    unsigned mask;
    char names[256];

    if (lh_control_poll(&a->ctl, now, 0, a->stages, &mask) != 1 ||
        mask == a->stages)
        return;
    if (cannot_run(a, mask) != NULL) {
        lh_control_refuse(&a->ctl, cannot_run(a, mask), a->stages);
        return;
    }
    a->stages = mask;
    a->forward = (mask & LH_STAGE_BIT(LH_STAGE_FORWARD)) != 0;
    announce(a);
    lh_control_format(mask, names, sizeof names);
    fprintf(stderr, "selfheal %s: stages now %s\n", a->name, names);
}

/* One turn of the main loop.  0 to go on, else the exit status (1: a
 * failure; 3: events that only Kafka holds now, to be consumed again). */
static int step(a_state *a)
{
    control_step(a, lh_now_us());
    int live = connect_due(a, lh_now_us());
    int room = pace(a, live);
    int n = 0;
    int status = consume(a, &n);
    if (status == 0)
        status = serve_conns(a, n > 0 || room ? 0 : 10, room);
    if (status != 0)
        return status;
    advance_head(a);
    a->c.v[LH_C_assigned] = (uint64_t)lh_kconsumer_assigned(a->kc);
    a->c.v[LH_C_outstanding] = a->outstanding;
    lh_counters_tick(&a->c, a->name, a->o->counters, &a->last_counters, 0);
    if (a->metrics != NULL) /* non-blocking; the loop turns every 10 ms */
        lh_metrics_run(a->metrics);
    return 0;
}

/* /metrics: A's series (metrics.h), unlabelled: the endpoint serves this
 * process only.  No leakhunt_stages: A is not a process under test, and
 * its list (forward or none) is announced through the B nodes, whose
 * series show the whole list (as with stats lines). */
static int render_metrics(void *arg, lh_buf *out)
{
    a_state *a = arg;
    lh_metrics_node_info info = {.labels = "",
                                 .c = &a->c,
                                 .start_time = a->started};

    info.has_heap = lh_mem_heap_live(&info.heap_live) == 0;
    info.has_rss = lh_mem_rss(getpid(), &info.rss) == 0;
    return lh_metrics_nodes(out, &info, 1);
}

/* ---- options, set-up and teardown ---- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: selfheal a --brokers LIST [--nodes ADDR,...] "
            "[--topic T] [--group G]\n"
            "                  [--stages LIST] [--window N] [--batch N] "
            "[--counters FILE]\n"
            "                  [--name NAME] [--auth-token TOKEN] "
            "[--ledger DIR] [-X NAME=VALUE]...\n"
            "  --topic   the topic to consume (default %s; it must exist "
            "unless\n"
            "            -X allow.auto.create.topics=true)\n"
            "  --group   the consumer group (default %s)\n"
            "  -X        a librdkafka property for the consumer, as kcat "
            "takes it\n"
            "            (security.protocol, sasl.*, ssl.*, ...; "
            "repeatable)\n"
            "  --nodes   the B nodes to forward to (needed with forward on)\n"
            "  --window  unacknowledged events per B connection (default "
            "65536)\n"
            "  --batch   events per consumer poll and frame (default "
            "4096)\n"
            "  --name    role name in stats lines and counters (default "
            "a)\n"
            "  --auth-token  sent to the B nodes (default: LH_AUTH_TOKEN)\n"
            "  --ledger  record the events dropped with forward off there "
            "(ledger.h)\n"
            "  --metrics-port PORT  serve Prometheus /metrics there (0: one "
            "the kernel\n"
            "            picks, written to --metrics-port-file FILE and said "
            "on stderr)\n"
            "LEAKHUNT_CONTROL: a file whose stage list A switches to while "
            "it runs\n"
            "(docs/protocol.md); A then keeps a connection to every B node "
            "in --nodes.\n",
            LH_KAFKA_DEFAULT_TOPIC, LH_KAFKA_DEFAULT_GROUP);
}

static int take_prop(void *opts, const char *val)
{
    (void)opts;
    return lh_opt_kafka_prop("a", val);
}

static const lh_opt a_options[] = {
    LH_OPT_S(a_opts, "--brokers", brokers),
    LH_OPT_S(a_opts, "--nodes", nodes),
    LH_OPT_S(a_opts, "--topic", topic),
    LH_OPT_S(a_opts, "--group", group),
    LH_OPT_S(a_opts, "--stages", stages),
    LH_OPT_S(a_opts, "--counters", counters),
    LH_OPT_S(a_opts, "--name", name),
    LH_OPT_S(a_opts, "--auth-token", auth_token),
    LH_OPT_S(a_opts, "--ledger", ledger),
    LH_OPT_N(a_opts, "--window", window, 1, 1u << 24),
    LH_OPT_N(a_opts, "--batch", batch, 1, 65536),
    LH_OPT_C("-X", take_prop),
    LH_OPT_N(a_opts, "--metrics-port", metrics_port, 0, 65535),
    LH_OPT_S(a_opts, "--metrics-port-file", metrics_port_file),
};


/* What the options say beyond their syntax: the name, the token, the
 * stages, the B nodes.  0, or the exit status. */
static int check_opts(a_state *a, const a_opts *o)
{
    char err[256];
    unsigned mask = 0;
    size_t len = strlen(o->name);

    if (len == 0 || len >= LH_STATS_ROLE_MAX ||
        strspn(o->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789_.-") != len) {
        fprintf(stderr, "selfheal a: bad --name '%s' (1..%d of "
                "[A-Za-z0-9_.-])\n", o->name, LH_STATS_ROLE_MAX - 1);
        return 2;
    }
    a->name = o->name;
    if (lh_auth_token("a", o->auth_token, &a->token) != 0)
        return 2;
    if (lh_stages_select(o->stages, &mask, err, sizeof err) != 0) {
        fprintf(stderr, "selfheal a: %s\n", err);
        return 2;
    }
    if (o->brokers == NULL || o->window == 0 || o->batch == 0 ||
        o->batch > 65536) {
        fprintf(stderr, "selfheal a: --brokers is required; --window and "
                "--batch must be 1.. (batch <= 65536)\n");
        return 2;
    }
    if (o->nodes != NULL &&
        lh_strv_split(o->nodes, ',', &a->addrs, &a->naddrs) != 0)
        return 1;
    control_start(a, mask);
    return 0;
}

/* Memory, connections (not yet up), signals, the ledger, the consumer.
 * 0, or the exit status (a_teardown undoes what was done). */
static int setup(a_state *a, const a_opts *o)
{
    if (a->forward && a->naddrs == 0) {
        fprintf(stderr, "selfheal a: forward is on: --nodes is required\n");
        return 2;
    }
    if (a->naddrs > 60000) {
        fprintf(stderr, "selfheal a: too many B nodes\n");
        return 2;
    }
    a->window = o->window;
    a->batch = o->batch;
    a->nconns = a->naddrs; /* forward on or off: it may be switched */
    a->cap = o->window * (a->nconns ? a->nconns : 1) + 4 * o->batch;
    a->ring = lh_calloc(a->cap, sizeof *a->ring);
    a->conns = lh_calloc(a->nconns + 1, sizeof *a->conns);
    a->msgs = lh_calloc(o->batch, sizeof *a->msgs);
    a->pfd = lh_calloc(a->nconns + 1, sizeof *a->pfd);
    if (a->ring == NULL || a->conns == NULL || a->msgs == NULL ||
        a->pfd == NULL)
        return 1;
    for (size_t i = 0; i < a->nconns; i++) {
        a->conns[i].addr = a->addrs[i];
        a->conns[i].token = a->token;
        a->conns[i].fd = -1;
    }
    lh_role_signals();
    if (lh_role_stop_deadline(a->name) != 0)
        return 2;
    a->started = (double)lh_wall_us() / 1e6;
    int status = lh_role_metrics_start(a->name, o->metrics_port,
                                       o->metrics_port_file, render_metrics,
                                       a, &a->metrics);
    if (status != 0)
        return status;
    if (o->ledger != NULL) {
        int rc = lh_ledger_open(o->ledger, a->name, &a->ledger);
        if (rc != 0) {
            fprintf(stderr, "selfheal a: cannot create a ledger in %s: %s\n",
                    o->ledger, lh_strerror(rc));
            return 1;
        }
    }
    status = lh_role_topic_check(a->name, o->brokers, o->topic);
    if (status != 0)
        return status;
    int rc = lh_kconsumer_new(o->brokers, o->group, o->topic, &a->kc);
    if (rc != 0) {
        fprintf(stderr, "selfheal a: cannot join group %s on %s: %s\n",
                o->group, o->brokers, lh_strerror(rc));
        return rc == LH_EINVAL ? 2 : 1;
    }
    return 0;
}

static void teardown(a_state *a)
{
    ledger_flush(a);
    lh_counters_tick(&a->c, a->name, a->o->counters, &a->last_counters, 1);
    lh_metrics_stop(a->metrics);
    lh_kconsumer_free(a->kc);
    lh_ledger_close(a->ledger);
    for (size_t i = 0; a->conns && i < a->nconns; i++)
        conn_down(&a->conns[i]);
    lh_free(a->conns);
    lh_free(a->ring);
    lh_free(a->msgs);
    lh_free(a->pfd);
    lh_strv_free(a->addrs);
}

int lh_role_a(int argc, char **argv)
{
    a_opts o = {.topic = LH_KAFKA_DEFAULT_TOPIC,
                .group = LH_KAFKA_DEFAULT_GROUP,
                .name = "a",
                .window = 65536,
                .batch = 4096,
                .metrics_port = UINT64_MAX};
    a_state a;
    int status = lh_opts_parse("a", argc, argv, a_options,
                               sizeof a_options / sizeof a_options[0], &o);

    if (status == 1)
        usage(stdout);
    if (status != 0) {
        lh_kafka_props_clear();
        return status == 1 ? 0 : status;
    }
    memset(&a, 0, sizeof a);
    a.o = &o;
    status = check_opts(&a, &o);
    if (status != 0) {
        lh_strv_free(a.addrs);
        lh_kafka_props_clear();
        return status;
    }
    status = setup(&a, &o);
    /* A is not a process under test (docs/protocol.md section 3: the B
     * nodes are), so it writes no LEAKHUNT_STATS lines: its work would be
     * counted twice with the B nodes', and leak-hunt's tools would signal
     * a process they do not wrap.  Its switches are acknowledged by the
     * B nodes (live switching, above). */
    while (status == 0 && !lh_role_stop)
        status = step(&a);
    teardown(&a);
    lh_kafka_props_clear();
    return status;
}
