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
 * - forward OFF: A consumes, drops each event and marks it done at once.
 *   With --ledger DIR it first records each one as DROPPED (ledger.h) and
 *   hands the records to the kernel before marking any offset done, so a
 *   committed offset never passes an event without its record.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "counters.h"
#include "error.h"
#include "event.h"
#include "kafka.h"
#include "ledger.h"
#include "memsample.h"
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

typedef struct a_state {
    lh_kconsumer *kc;
    bconn *conns;
    size_t nconns;
    entry *ring;
    uint64_t cap, head, tail;
    uint64_t window; /* per connection */
    uint64_t outstanding;
    int paused;
    int forward;
    const char *name; /* role name in stats lines and counters */
    lh_counters c;
    lh_ledger *ledger; /* forward OFF with --ledger, else NULL */
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

static void conn_try(bconn *b, int64_t now)
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
    if (lh_proto_put_hello_auth(&b->wr, LH_PROTO_FROM_A, 0, b->token) != 0) {
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

/* Handles the ACKS frames a B connection has.  0, or an error (the
 * connection is then lost). */
static int read_acks(a_state *a, size_t ci)
{
    bconn *b = &a->conns[ci];
    uint8_t type;
    const uint8_t *p;
    uint32_t len;
    int rc = lh_frame_reader_fill(&b->rd, b->fd);

    if (rc < 0 && rc != LH_EAGAIN)
        return rc;
    for (;;) {
        rc = lh_frame_reader_next(&b->rd, &type, &p, &len);
        if (rc != 1)
            break;
        uint32_t pos = 0;
        uint64_t tag;
        if (type != LH_PROTO_ACKS)
            return LH_EPARSE;
        for (;;) {
            rc = lh_proto_next_ack(p, len, &pos, &tag);
            if (rc != 1)
                break;
            if (tag < a->head || tag >= a->tail)
                return LH_EPARSE;
            entry *e = &a->ring[tag % a->cap];
            if (e->acked || e->conn != ci)
                return LH_EPARSE;
            e->acked = 1;
            b->outstanding--;
            a->outstanding--;
            a->c.v[LH_C_acked]++;
        }
        if (rc < 0)
            return rc;
    }
    return rc == LH_EAGAIN ? 0 : rc;
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

static int take(a_state *a, lh_kmsg *msgs, int n)
{
    int ci = a->forward ? pick_conn(a) : -1;
    lh_proto_batch batch;
    int batching = 0;

    for (int i = 0; i < n; i++) {
        lh_kmsg *m = &msgs[i];
        a->c.v[LH_C_consumed]++;
        if (a->forward && ci < 0) {
            /* Nowhere to send it: not dropped (forward is on), but left to
             * be consumed again after a restart. */
            fprintf(stderr, "selfheal a: no B node connected for a "
                    "consumed event; exiting so that it is consumed again\n");
            return LH_ECLOSED;
        }
        if (!a->forward) {
            /* forward OFF: consumed and dropped. */
            lh_event ev;
            a->c.v[LH_C_dropped]++;
            if (a->ledger != NULL &&
                lh_event_decode(m->value, m->value_len, &ev) >= 0)
                lh_ledger_add(a->ledger, ev.key, ev.key_len, ev.version,
                              LH_LEDGER_DROPPED);
            note_done(a, m->partition, m->offset);
            continue;
        }
        bconn *b = &a->conns[ci];
        if (!batching) {
            if (lh_proto_batch_begin(&batch, &b->wr) != 0)
                return LH_ENOMEM;
            batching = 1;
        }
        int rc = lh_proto_batch_add(&batch, a->tail, m->value,
                                    (uint32_t)m->value_len);
        if (rc == LH_ETOOBIG) {
            lh_proto_batch_end(&batch);
            if (lh_proto_batch_begin(&batch, &b->wr) != 0)
                return LH_ENOMEM;
            rc = lh_proto_batch_add(&batch, a->tail, m->value,
                                    (uint32_t)m->value_len);
        }
        if (rc != 0) {
            lh_proto_batch_end(&batch);
            return rc;
        }
        entry *e = &a->ring[a->tail % a->cap];
        e->partition = m->partition;
        e->offset = m->offset;
        e->conn = (uint16_t)ci;
        e->acked = 0;
        a->tail++;
        b->outstanding++;
        a->outstanding++;
        a->c.v[LH_C_forwarded]++;
    }
    if (batching)
        lh_proto_batch_end(&batch);
    flush_done(a);
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: selfheal a --brokers LIST [--nodes ADDR,...] "
            "[--topic T] [--group G]\n"
            "                  [--stages LIST] [--window N] [--batch N] "
            "[--counters FILE]\n"
            "                  [--name NAME] [--auth-token TOKEN] "
            "[--ledger DIR]\n"
            "  --nodes   the B nodes to forward to (needed with forward on)\n"
            "  --window  unacknowledged events per B connection (default "
            "65536)\n"
            "  --batch   events per consumer poll and frame (default "
            "4096)\n"
            "  --name    role name in stats lines and counters (default "
            "a)\n"
            "  --auth-token  sent to the B nodes (default: LH_AUTH_TOKEN)\n"
            "  --ledger  with forward off, record dropped events there "
            "(ledger.h)\n");
}

int lh_role_a(int argc, char **argv)
{
    const char *brokers = NULL, *nodes = NULL, *stages = NULL;
    const char *topic = LH_KAFKA_DEFAULT_TOPIC, *group = LH_KAFKA_DEFAULT_GROUP;
    const char *counters = NULL, *name = "a";
    const char *token_opt = NULL, *token = NULL, *ledger = NULL;
    uint64_t window = 65536, batch = 4096;
    char **addrs = NULL;
    size_t naddrs = 0;
    unsigned mask = 0;
    a_state a;
    lh_kmsg *msgs = NULL;
    struct pollfd *pfd = NULL;
    int64_t last_counters = 0;
    char err[256];
    int status = 1, rc;

    memset(&a, 0, sizeof a);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(o, "--brokers") && strcmp(o, "--nodes") &&
            strcmp(o, "--topic") && strcmp(o, "--group") &&
            strcmp(o, "--stages") && strcmp(o, "--window") &&
            strcmp(o, "--batch") && strcmp(o, "--counters") &&
            strcmp(o, "--name") && strcmp(o, "--auth-token") &&
            strcmp(o, "--ledger")) {
            lh_opt_unknown("a", o);
            return 2;
        }
        v = lh_opt_value("a", argc, argv, &i);
        if (v == NULL)
            return 2;
        if (strcmp(o, "--brokers") == 0)
            brokers = v;
        else if (strcmp(o, "--nodes") == 0)
            nodes = v;
        else if (strcmp(o, "--topic") == 0)
            topic = v;
        else if (strcmp(o, "--group") == 0)
            group = v;
        else if (strcmp(o, "--stages") == 0)
            stages = v;
        else if (strcmp(o, "--counters") == 0)
            counters = v;
        else if (strcmp(o, "--name") == 0)
            name = v;
        else if (strcmp(o, "--auth-token") == 0)
            token_opt = v;
        else if (strcmp(o, "--ledger") == 0)
            ledger = v;
        else if (strcmp(o, "--window") == 0) {
            if (lh_opt_u64_range("a", o, v, 1, 1u << 24, &window))
                return 2;
        } else if (lh_opt_u64_range("a", o, v, 1, 65536, &batch))
            return 2;
    }
    if (name[0] == '\0' || strlen(name) >= LH_STATS_ROLE_MAX ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_.-") != strlen(name)) {
        fprintf(stderr, "selfheal a: bad --name '%s' (1..%d of "
                "[A-Za-z0-9_.-])\n", name, LH_STATS_ROLE_MAX - 1);
        return 2;
    }
    a.name = name;
    if (lh_auth_token("a", token_opt, &token) != 0)
        return 2;
    rc = lh_stages_select(stages, &mask, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "selfheal a: %s\n", err);
        return 2;
    }
    a.forward = (mask & LH_STAGE_BIT(LH_STAGE_FORWARD)) != 0;
    if (brokers == NULL || window == 0 || batch == 0 || batch > 65536) {
        fprintf(stderr, "selfheal a: --brokers is required; --window and "
                "--batch must be 1.. (batch <= 65536)\n");
        return 2;
    }
    if (nodes != NULL && lh_strv_split(nodes, ',', &addrs, &naddrs) != 0)
        return 1;
    if (a.forward && naddrs == 0) {
        fprintf(stderr, "selfheal a: forward is on: --nodes is required\n");
        status = 2;
        goto out;
    }
    if (naddrs > 60000) {
        fprintf(stderr, "selfheal a: too many B nodes\n");
        status = 2;
        goto out;
    }
    a.window = window;
    a.nconns = a.forward ? naddrs : 0;
    a.cap = window * (a.nconns ? a.nconns : 1) + 4 * batch;
    a.ring = lh_calloc(a.cap, sizeof *a.ring);
    a.conns = lh_calloc(a.nconns + 1, sizeof *a.conns);
    msgs = lh_calloc(batch, sizeof *msgs);
    pfd = lh_calloc(a.nconns + 1, sizeof *pfd);
    if (a.ring == NULL || a.conns == NULL || msgs == NULL || pfd == NULL)
        goto out;
    for (size_t i = 0; i < a.nconns; i++) {
        a.conns[i].addr = addrs[i];
        a.conns[i].token = token;
        a.conns[i].fd = -1;
    }
    lh_role_signals();
    if (lh_role_stop_deadline(a.name) != 0) {
        status = 2;
        goto out;
    }
    if (!a.forward && ledger != NULL) {
        rc = lh_ledger_open(ledger, a.name, &a.ledger);
        if (rc != 0) {
            fprintf(stderr, "selfheal a: cannot create a ledger in %s: %s\n",
                    ledger, lh_strerror(rc));
            goto out;
        }
    }
    rc = lh_kconsumer_new(brokers, group, topic, &a.kc);
    if (rc != 0) {
        fprintf(stderr, "selfheal a: cannot join group %s on %s: %s\n",
                group, brokers, lh_strerror(rc));
        goto out;
    }
    /* A is not a process under test (DESIGN section 4: the B nodes are),
     * so it writes no LEAKHUNT_STATS lines: its work would be counted
     * twice with the B nodes', and leak-hunt's tools would signal a
     * process they do not wrap. */
    status = 0;
    while (!lh_role_stop) {
        int64_t now = lh_now_us();
        int live = 0, n = 0;
        for (size_t i = 0; i < a.nconns; i++) {
            if (a.conns[i].fd < 0 && now >= a.conns[i].retry_at)
                conn_try(&a.conns[i], now);
            live += a.conns[i].fd >= 0;
        }
        uint64_t limit = a.window * (a.nconns ? a.nconns : 1);
        int room = a.tail - a.head + batch <= a.cap &&
                   a.outstanding < limit && (!a.forward || live > 0);
        if (!a.paused && !room) {
            if (lh_kconsumer_pause(a.kc) == 0) {
                a.paused = 1;
                a.c.v[LH_C_paused]++;
            }
        } else if (a.paused && room && a.outstanding <= limit / 2) {
            if (lh_kconsumer_resume(a.kc) == 0)
                a.paused = 0;
        }
        int pending_out = 0;
        for (size_t i = 0; i < a.nconns; i++)
            pending_out |= a.conns[i].fd >= 0 &&
                           lh_frame_writer_pending(&a.conns[i].wr) > 0;
        /* Poll while paused too (kafka.h: rebalances are served from the
         * poll); what it may still return fits in the ring's slack. */
        uint64_t space = a.cap - (a.tail - a.head);
        size_t want = room ? batch : (size_t)(space < batch ? space : batch);
        if (want > 0) {
            n = lh_kconsumer_poll(a.kc, msgs, want,
                                  a.paused || pending_out ? 0 : 5);
            if (n < 0) {
                fprintf(stderr, "selfheal a: consumer failed: %s\n",
                        lh_strerror(n));
                status = 1;
                break;
            }
            if (n > 0) {
                rc = take(&a, msgs, n);
                lh_kconsumer_release(a.kc, msgs, (size_t)n);
                if (rc == LH_ECLOSED) {
                    status = 3;
                    break;
                }
                if (rc != 0) {
                    fprintf(stderr, "selfheal a: cannot queue events: %s\n",
                            lh_strerror(rc));
                    status = 1;
                    break;
                }
            }
        }
        /* Sockets: write what is queued, read acks. */
        int np = 0;
        for (size_t i = 0; i < a.nconns; i++) {
            bconn *b = &a.conns[i];
            pfd[i] = (struct pollfd){.fd = -1};
            if (b->fd < 0)
                continue;
            if (lh_frame_writer_pending(&b->wr) > 0 &&
                lh_frame_writer_flush(&b->wr, b->fd) < 0) {
                if (conn_lost(b) != 0) {
                    status = 3;
                    goto done;
                }
                continue;
            }
            pfd[i].fd = b->fd;
            pfd[i].events = POLLIN;
            if (lh_frame_writer_pending(&b->wr) > 0)
                pfd[i].events |= POLLOUT;
            np++;
        }
        int timeout = n > 0 ? 0 : (room ? 0 : 10);
        if (np > 0 && poll(pfd, (nfds_t)a.nconns, timeout) < 0 &&
            errno != EINTR) {
            fprintf(stderr, "selfheal a: poll: %s\n", strerror(errno));
            status = 1;
            break;
        }
        if (np == 0 && !room)
            lh_sleep_us(10000);
        for (size_t i = 0; np > 0 && i < a.nconns; i++) {
            bconn *b = &a.conns[i];
            if (b->fd < 0 || pfd[i].revents == 0)
                continue;
            rc = 0;
            if ((pfd[i].revents & POLLOUT) &&
                lh_frame_writer_flush(&b->wr, b->fd) < 0)
                rc = LH_ECLOSED;
            if (rc == 0 && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                rc = read_acks(&a, i);
            if (rc != 0 && conn_lost(b) != 0) {
                status = 3;
                goto done;
            }
        }
        advance_head(&a);
        a.c.v[LH_C_assigned] = (uint64_t)lh_kconsumer_assigned(a.kc);
        a.c.v[LH_C_outstanding] = a.outstanding;
        lh_counters_tick(&a.c, a.name, counters, &last_counters, 0);
    }
done:
out:
    ledger_flush(&a);
    lh_counters_tick(&a.c, a.name ? a.name : "a", counters, &last_counters,
                     1);
    lh_kconsumer_free(a.kc);
    lh_ledger_close(a.ledger);
    for (size_t i = 0; a.conns && i < a.nconns; i++)
        conn_down(&a.conns[i]);
    lh_free(a.conns);
    lh_free(a.ring);
    lh_free(msgs);
    lh_free(pfd);
    lh_strv_free(addrs);
    return status;
}
