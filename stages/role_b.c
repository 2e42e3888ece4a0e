/*
 * role_b.c - a B node: receives events from A (and from peer B nodes),
 * runs them through the stages, acknowledges them upstream when finished.
 *
 * Design:
 * - One thread, one poll loop.  The stages take part through their
 *   prepare/dispatch hooks (the delay queue's timer, the store's RPC
 *   socket); items move between stages by lh_node_resume.
 * - Inbound connections (from A, or from a peer B that forwards by hash)
 *   start with a HELLO frame, then carry EVENTS one way and ACKS back.
 *   An item remembers its inbound connection by slot and generation, so an
 *   item that outlives its connection is not acknowledged to a stranger.
 * - Outbound connections go to every peer B (hash on or off: the stage may
 *   be switched on at any time).  An item sent to its owner stays here in
 *   a slot table until the owner acks it; the slot number is the tag.
 *   When a peer connection dies, its items go on locally (they are not
 *   lost, and A's acks still come).
 * - Live switching (docs/protocol.md section 5, control.h): with
 *   LEAKHUNT_CONTROL set, the loop looks at the control file every 50 ms
 *   and applies a new list at once (node_switch: the stages' switched
 *   hooks hand on what they hold, stage.h), and every stats line carries
 *   stages=.  That field shows a list only once A runs it too: each A
 *   announces its list in a STAGES frame (proto.h) after its HELLO and
 *   after each switch, and the node shows its own list when every A
 *   connected to it that announced one announced the same; until then
 *   it shows the list it showed before.  A refused list (control.h) is
 *   said on stderr and changes nothing, so the field keeps the old list.
 * - Buffers sized up front: every connection's reader, writer and ack
 *   buffer gets room for its largest frame or a few of them when it is
 *   set up (presize), instead of growing in steps whenever a burst first
 *   needs more, at random times in a run: a leak harness reads such steps
 *   as growth (clean runs measured up to 1.5 B/event of it).  Items
 *   themselves are malloc'ed and freed per event: their number is the
 *   stats lines' queue=, which leak-hunt takes out as a backlog (a pool
 *   would turn it into a high-water mark).
 * - Bounded everything: at most max_items live items (inbound sockets are
 *   not read beyond that: TCP pushes back to A, whose window is the real
 *   bound), a peer window of PEER_WINDOW items, a fixed number of
 *   connections, a delay queue of queue_cap.
 * - Untrusted input: a connection whose frames are bad (garbage, a wrong
 *   magic or version, an oversize length, a malformed HELLO or batch) is
 *   closed and counted in bad_frames; one without the shared auth token
 *   in its HELLO (--auth-token / LH_AUTH_TOKEN), or that sends no HELLO
 *   within HELLO_TIMEOUT_US, is closed and counted in refused.  Before
 *   its HELLO a connection may send LH_PROTO_MAX_HELLO bytes a frame.
 *   The others are served on.
 * - Every 100 ms: a stats line (docs/protocol.md section 2) when
 *   LEAKHUNT_STATS is set, and the counters file with --counters.
 * - With --ledger DIR, every event this node finishes gets a record
 *   (ledger.h: VERIFIED, PASSED with verify off, FAILED), and the records
 *   are handed to the kernel once per turn of the loop *before* any ack is
 *   written to a socket: an event acknowledged upstream always has its
 *   record, so a SIGKILL loses only records of unacknowledged events,
 *   which A has consumed again.  An event forwarded to its owner is
 *   recorded by the owner, not here.
 * - Stopping (SIGTERM) is bounded by the stop deadline (roleutil.h).
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
#include "frame.h"
#include "inject.h"
#include "ledger.h"
#include "memsample.h"
#include "metrics.h"
#include "net.h"
#include "proto.h"
#include "registry.h"
#include "roleutil.h"
#include "stage.h"
#include "stats.h"

#define MAX_CONNS 64
#define MAX_PEERS 64
#define PEER_WINDOW 65536u
#define PEER_RETRY_US 300000
#define DEFAULT_MAX_ITEMS 1000000u
#define DEFAULT_QUEUE_CAP 1000000u
#define HELLO_TIMEOUT_US 5000000
#define MAX_CLOSE_MESSAGES 20 /* then bad connections are only counted */
/* Room each connection's buffers get when it is set up (presize): */
#define ROOM_FRAMES (2 * LH_PROTO_MAX_BATCH) /* frames queued to send */
#define ROOM_ACKS LH_PROTO_MAX_BATCH          /* acks of one turn */
#define ROOM_READ (LH_FRAME_HEADER_SIZE + LH_PROTO_MAX_BATCH) /* a frame */

_Static_assert(LH_AUTH_TOKEN_MAX == LH_PROTO_MAX_TOKEN, "one token limit");

typedef struct conn {
    int fd;
    uint8_t kind; /* 0 until HELLO, then LH_PROTO_FROM_A or _FROM_B */
    uint8_t version;   /* the sender's, from its HELLO */
    uint8_t announced; /* an A that sent its stages (in `stages`) */
    unsigned stages;
    uint32_t gen;
    uint32_t sender;
    int64_t hello_by; /* close it if no HELLO came by then */
    lh_frame_reader rd;
    lh_frame_writer wr;
    lh_buf acks;
} conn;

typedef struct peer {
    char *addr;
    int fd; /* -1 while down */
    int64_t retry_at;
    int warned;
    lh_frame_reader rd;
    lh_frame_writer wr;
    lh_proto_batch batch; /* the EVENTS frame being filled, if open */
    lh_item **slots;
    uint32_t *free_slots;
    uint32_t nfree;
} peer;

struct lh_node {
    lh_node_cfg cfg;
    lh_counters c;
    void *st[LH_STAGE_COUNT];
    int opened[LH_STAGE_COUNT];
    conn *in[MAX_CONNS];
    uint32_t next_gen;
    peer *peers; /* cfg.nodes entries; the self entry stays unused */
    int listen_fd;
    size_t live;
    size_t max_items;
    unsigned close_messages;
    char role[16];
    lh_ledger *ledger; /* --ledger, else NULL */
    lh_control ctl;    /* LEAKHUNT_CONTROL */
    unsigned shown;    /* the stages the stats lines show */
    lh_metrics *metrics; /* --metrics-port, else NULL */
    double started;      /* wall clock at start, seconds */
};

/* ---- node services for the stages ---- */

const lh_node_cfg *lh_node_config(const lh_node *n)
{
    return &n->cfg;
}

lh_counters *lh_node_counters(lh_node *n)
{
    return &n->c;
}

static void run_from(lh_node *n, lh_item *it, int from)
{
    for (int i = from; i < LH_STAGE_COUNT; i++) {
        it->at = (uint8_t)i;
        int r = lh_stage_registry[i].ops->handle(n, n->st[i], it,
                                                 lh_node_stage_on(n, i));
        if (r != LH_STEP_NEXT)
            return;
    }
    lh_node_finish(n, it);
}

void lh_node_resume(lh_node *n, lh_item *it)
{
    run_from(n, it, it->at + 1);
}

static void ack_upstream(lh_node *n, lh_item *it)
{
    uint32_t slot = (uint32_t)(it->origin & 0xffffffffu);
    uint32_t gen = (uint32_t)(it->origin >> 32);
    conn *c = slot < MAX_CONNS ? n->in[slot] : NULL;
    if (c == NULL || c->gen != gen)
        return;
    if (lh_proto_ack_add(&c->acks, it->tag) != 0)
        fprintf(stderr, "selfheal %s: out of memory queueing an ack\n",
                n->role);
}

void lh_node_drop(lh_node *n, lh_item *it)
{
    n->live--;
    lh_free(it);
}

/* The finish record; flushed before the ack goes out (serve). */
static void ledger_record(lh_node *n, lh_item *it)
{
    int kind = it->failed ? LH_LEDGER_FAILED
               : lh_node_stage_on(n, LH_STAGE_VERIFY) ? LH_LEDGER_VERIFIED
                                                       : LH_LEDGER_PASSED;
    if (lh_item_decode(it) != 0)
        return; /* no key to record: counted in bad_events */
    lh_ledger_add(n->ledger, it->ev.key, it->ev.key_len, it->ev.version,
                  kind);
}

int lh_node_reject(lh_node *n, lh_item *it)
{
    n->c.v[LH_C_bad_events]++;
    it->failed = 1;
    lh_node_finish(n, it);
    return LH_STEP_DONE;
}

void lh_node_finish(lh_node *n, lh_item *it)
{
    if (!it->failed)
        n->c.v[LH_C_finished]++;
    if (n->ledger != NULL)
        ledger_record(n, it);
    ack_upstream(n, it);
    lh_node_drop(n, it);
}

int lh_node_peer_up(const lh_node *n, uint32_t id)
{
    if (id == n->cfg.self)
        return 1;
    return n->peers != NULL && id < n->cfg.nodes && n->peers[id].fd >= 0;
}

int lh_node_send_peer(lh_node *n, uint32_t id, lh_item *it)
{
    if (id >= n->cfg.nodes || id == n->cfg.self || n->peers == NULL)
        return LH_ECLOSED;
    peer *p = &n->peers[id];
    if (p->fd < 0)
        return LH_ECLOSED;
    if (p->nfree == 0)
        return LH_EFULL;
    uint32_t slot = p->free_slots[p->nfree - 1];
    int rc = lh_proto_batch_push(&p->batch, &p->wr, slot, it->data, it->len);
    if (rc != 0)
        return rc;
    p->nfree--;
    p->slots[slot] = it;
    return 0;
}

/* ---- connections ---- */

static void conn_close(lh_node *n, uint32_t slot)
{
    conn *c = n->in[slot];
    if (c == NULL)
        return;
    close(c->fd);
    lh_frame_reader_free(&c->rd);
    lh_frame_writer_free(&c->wr);
    lh_buf_free(&c->acks);
    lh_free(c);
    n->in[slot] = NULL;
}

/* Closes inbound connection `slot` after error `why`, counting a bad frame
 * or a refusal.  An orderly EOF or a reset is neither. */
static void conn_drop(lh_node *n, uint32_t slot, int why)
{
    const char *what = NULL;
    if (why == LH_EAUTH) {
        n->c.v[LH_C_refused]++;
        what = "refused (missing or wrong auth token)";
    } else if (why == LH_ETIMEOUT) {
        n->c.v[LH_C_refused]++;
        what = "refused (no HELLO in time)";
    } else if (why == LH_EBADMAGIC || why == LH_EBADVERSION ||
               why == LH_ETOOBIG || why == LH_EPARSE) {
        n->c.v[LH_C_bad_frames]++;
        what = lh_strerror(why);
    }
    if (what != NULL && n->close_messages < MAX_CLOSE_MESSAGES) {
        n->close_messages++;
        fprintf(stderr, "selfheal %s: closed a connection: %s%s\n", n->role,
                what, n->close_messages == MAX_CLOSE_MESSAGES
                          ? " (further ones are only counted)" : "");
    }
    conn_close(n, slot);
}

/* Gives b room for `room` bytes in all now.  If that fails, the buffer
 * grows when it must. */
static void presize(lh_buf *b, size_t room)
{
    if (lh_buf_len(b) < room)
        (void)lh_buf_reserve(b, room - lh_buf_len(b));
}

static void accept_all(lh_node *n)
{
    for (;;) {
        int fd = lh_net_accept(n->listen_fd);
        if (fd < 0)
            return;
        uint32_t slot = 0;
        while (slot < MAX_CONNS && n->in[slot] != NULL)
            slot++;
        conn *c = slot < MAX_CONNS ? lh_calloc(1, sizeof *c) : NULL;
        if (c == NULL) {
            fprintf(stderr, "selfheal %s: refusing a connection (%s)\n",
                    n->role, slot < MAX_CONNS ? "out of memory"
                                              : "too many connections");
            close(fd);
            continue;
        }
        c->fd = fd;
        c->gen = ++n->next_gen;
        c->hello_by = lh_now_us() + HELLO_TIMEOUT_US;
        lh_frame_reader_init(&c->rd, LH_PROTO_MAX_HELLO);
        lh_frame_writer_init(&c->wr);
        n->in[slot] = c;
    }
}

static int take_events(lh_node *n, uint32_t slot, const uint8_t *p,
                       uint32_t len)
{
    conn *c = n->in[slot];
    uint32_t pos = 0;
    uint64_t tag;
    const uint8_t *ev;
    uint32_t ev_len;
    int rc;

    for (;;) {
        rc = lh_proto_next_event(p, len, &pos, &tag, &ev, &ev_len);
        if (rc != 1)
            break;
        lh_item *it = lh_item_new(ev, ev_len, tag);
        if (it == NULL)
            return LH_ENOMEM;
        it->origin = (uint64_t)c->gen << 32 | slot;
        it->from_peer = c->kind == LH_PROTO_FROM_B;
        n->live++;
        if (it->from_peer) {
            n->c.v[LH_C_hash_received]++;
            run_from(n, it, LH_STAGE_ENQUEUE);
        } else {
            n->c.v[LH_C_received]++;
            run_from(n, it, LH_STAGE_FORWARD);
        }
        /* The pipeline may not close connections, so c is still valid. */
    }
    return rc;
}

/* A STAGES frame: what an A (version 1 or later) runs now. */
static int take_stages(conn *c, const uint8_t *p, uint32_t len)
{
    unsigned mask;
    if (c->kind != LH_PROTO_FROM_A || c->version < 1 ||
        lh_proto_parse_stages(p, len, &mask) != 0)
        return LH_EPARSE;
    c->stages = mask;
    c->announced = 1;
    return 0;
}

/* Reads what an inbound connection has and handles its frames.  Returns
 * 0, or an error after which the connection is closed. */
static int read_inbound(lh_node *n, uint32_t slot)
{
    conn *c = n->in[slot];
    uint8_t type;
    const uint8_t *p;
    uint32_t len;
    int rc = lh_frame_reader_fill(&c->rd, c->fd);

    if (rc < 0 && rc != LH_EAGAIN)
        return rc;
    for (;;) {
        rc = lh_frame_reader_next(&c->rd, &type, &p, &len);
        if (rc != 1)
            break;
        if (c->kind == 0) {
            uint8_t kind;
            const uint8_t *tok;
            uint32_t tok_len;
            if (type != LH_PROTO_HELLO ||
                lh_proto_parse_hello_auth(p, len, &kind, &c->sender, &tok,
                                          &tok_len) != 0)
                return LH_EPARSE;
            if (n->cfg.auth_token != NULL &&
                !lh_token_equal(tok, tok_len, n->cfg.auth_token))
                return LH_EAUTH;
            c->kind = kind;
            c->version = lh_proto_hello_version(p);
            c->rd.max_payload = LH_FRAME_DEFAULT_MAX;
            /* Room for the largest EVENTS frame now: the buffer grows to
             * it anyway, but in steps whenever a burst first makes a
             * larger batch, which leak-hunt measured as growth (rss: 9
             * B/event for a 6 B/event leak in 2 of 12 runs).  The acks
             * going back likewise. */
            presize(&c->rd.in, ROOM_READ);
            presize(&c->wr.out, ROOM_FRAMES);
            presize(&c->acks, ROOM_ACKS);
            continue;
        }
        if (type == LH_PROTO_STAGES) {
            rc = take_stages(c, p, len);
            if (rc < 0)
                return rc;
            continue;
        }
        if (type != LH_PROTO_EVENTS)
            return LH_EPARSE;
        rc = take_events(n, slot, p, len);
        if (rc < 0)
            return rc;
    }
    return rc;
}

static void peer_down(lh_node *n, uint32_t id)
{
    peer *p = &n->peers[id];
    if (p->fd < 0)
        return;
    lh_proto_batch_end(&p->batch);
    close(p->fd);
    p->fd = -1;
    p->retry_at = lh_now_us() + PEER_RETRY_US;
    lh_frame_reader_free(&p->rd);
    lh_frame_writer_free(&p->wr);
    fprintf(stderr, "selfheal %s: lost peer b%u (its events go on here)\n",
            n->role, id);
    /* Items the peer had not acknowledged go on locally. */
    for (uint32_t s = 0; s < PEER_WINDOW; s++) {
        lh_item *it = p->slots[s];
        if (it == NULL)
            continue;
        p->slots[s] = NULL;
        p->free_slots[p->nfree++] = s;
        lh_node_resume(n, it);
    }
}

static void peer_connect(lh_node *n, uint32_t id, int64_t now)
{
    peer *p = &n->peers[id];
    int fd = lh_net_connect(p->addr, 200);
    if (fd < 0) {
        p->retry_at = now + PEER_RETRY_US;
        return;
    }
    p->fd = fd;
    lh_frame_reader_init(&p->rd, 0);
    lh_frame_writer_init(&p->wr);
    presize(&p->rd.in, ROOM_READ);
    presize(&p->wr.out, ROOM_FRAMES);
    if (lh_proto_put_hello_auth(&p->wr, LH_PROTO_FROM_B, n->cfg.self,
                                n->cfg.auth_token) != 0) {
        peer_down(n, id);
        return;
    }
    if (p->warned)
        fprintf(stderr, "selfheal %s: peer b%u connected\n", n->role, id);
    p->warned = 1;
}

/* A peer's ack: the owner finished the item, so it is acknowledged
 * upstream (and not counted here as finished work). */
typedef struct ack_from {
    lh_node *n;
    peer *p;
} ack_from;

static int on_peer_ack(void *arg, uint64_t tag)
{
    ack_from *from = arg;
    peer *p = from->p;

    if (tag >= PEER_WINDOW || p->slots[tag] == NULL)
        return LH_EPARSE;
    lh_item *it = p->slots[tag];
    p->slots[tag] = NULL;
    p->free_slots[p->nfree++] = (uint32_t)tag;
    ack_upstream(from->n, it);
    lh_node_drop(from->n, it);
    return 0;
}

static int read_peer(lh_node *n, uint32_t id)
{
    ack_from from = {n, &n->peers[id]};
    return lh_proto_read_acks(&from.p->rd, from.p->fd, on_peer_ack, &from);
}

/* ---- the poll loop ---- */

enum { NPFD = 2 + MAX_CONNS + MAX_PEERS + LH_STAGE_COUNT };
enum { FD_LISTEN, FD_INBOUND, FD_PEER, FD_STAGE, FD_METRICS };

/* What one turn of the loop polls: for each pollfd, what it is (FD_...)
 * and which (connection slot, peer id). */
typedef struct poll_set {
    struct pollfd pfd[NPFD];
    int kind[NPFD];
    uint32_t idx[NPFD];
    int stage_pfd[LH_STAGE_COUNT]; /* a stage's pollfd, -1: none */
    int n;
} poll_set;

static void poll_add(poll_set *ps, int fd, short events, int kind,
                     uint32_t idx)
{
    ps->pfd[ps->n] = (struct pollfd){.fd = fd, .events = events};
    ps->kind[ps->n] = kind;
    ps->idx[ps->n++] = idx;
}

/* Inbound connections: closes those whose HELLO is late, watches the
 * others (reading only while items may be taken). */
static void prepare_inbound(lh_node *n, poll_set *ps, int64_t now,
                            int *timeout)
{
    int reading = n->live < n->max_items;
    for (uint32_t s = 0; s < MAX_CONNS; s++) {
        conn *c = n->in[s];
        if (c == NULL)
            continue;
        if (c->kind == 0 && now >= c->hello_by) {
            conn_drop(n, s, LH_ETIMEOUT);
            continue;
        }
        if (c->kind == 0)
            lh_timeout_min(timeout, (int)((c->hello_by - now) / 1000) + 1);
        short ev = reading || c->kind == 0 ? POLLIN : 0;
        if (lh_frame_writer_pending(&c->wr) > 0)
            ev |= POLLOUT;
        poll_add(ps, c->fd, ev, FD_INBOUND, s);
    }
}

/* Peers: connects those due, watches those up. */
static void prepare_peers(lh_node *n, poll_set *ps, int64_t now,
                          int *timeout)
{
    for (uint32_t id = 0; n->peers && id < n->cfg.nodes; id++) {
        peer *p = &n->peers[id];
        if (id == n->cfg.self)
            continue;
        if (p->fd < 0 && now >= p->retry_at)
            peer_connect(n, id, now);
        if (p->fd < 0) {
            lh_timeout_min(timeout, (int)((p->retry_at - now) / 1000) + 1);
            continue;
        }
        short ev = POLLIN;
        if (lh_frame_writer_pending(&p->wr) > 0)
            ev |= POLLOUT;
        poll_add(ps, p->fd, ev, FD_PEER, id);
    }
}

/* Fills ps for this turn; returns the poll timeout (ms). */
static int prepare(lh_node *n, poll_set *ps)
{
    int timeout = 100;
    int64_t now = lh_now_us();

    ps->n = 0;
    lh_timeout_min(&timeout, lh_control_wait_ms(&n->ctl, now));
    poll_add(ps, n->listen_fd, POLLIN, FD_LISTEN, 0);
    if (n->metrics != NULL) {
        poll_add(ps, lh_metrics_fd(n->metrics), POLLIN, FD_METRICS, 0);
        lh_timeout_min(&timeout, lh_metrics_wait_ms(n->metrics));
    }
    prepare_inbound(n, ps, now, &timeout);
    prepare_peers(n, ps, now, &timeout);
    for (int i = 0; i < LH_STAGE_COUNT; i++) {
        ps->stage_pfd[i] = -1;
        ps->pfd[ps->n] = (struct pollfd){.fd = -1};
        if (lh_stage_prepare(lh_stage_registry[i].ops, n, n->st[i],
                             &ps->pfd[ps->n], &timeout)) {
            ps->stage_pfd[i] = ps->n;
            ps->kind[ps->n++] = FD_STAGE;
        }
    }
    return timeout;
}

/* Serves the sockets poll found ready (the stages' come after). */
static void dispatch(lh_node *n, const poll_set *ps)
{
    for (int k = 0; k < ps->n; k++) {
        short re = ps->pfd[k].revents;
        int readable = (re & (POLLIN | POLLHUP | POLLERR)) != 0;
        uint32_t i = ps->idx[k];
        int r = 0;
        if (re == 0)
            continue;
        if (ps->kind[k] == FD_LISTEN) {
            accept_all(n);
        } else if (ps->kind[k] == FD_METRICS) {
            lh_metrics_run(n->metrics);
        } else if (ps->kind[k] == FD_INBOUND && n->in[i] != NULL) {
            if (readable)
                r = read_inbound(n, i);
            if (r < 0 && r != LH_EAGAIN)
                conn_drop(n, i, r);
        } else if (ps->kind[k] == FD_PEER && n->peers[i].fd >= 0) {
            if (readable)
                r = read_peer(n, i);
            if (r == LH_EBADMAGIC || r == LH_EBADVERSION ||
                r == LH_ETOOBIG || r == LH_EPARSE)
                n->c.v[LH_C_bad_frames]++;
            if (r < 0 && r != LH_EAGAIN)
                peer_down(n, i);
        }
    }
    int64_t now = lh_now_us();
    for (int i = 0; i < LH_STAGE_COUNT; i++) {
        int k = ps->stage_pfd[i];
        lh_stage_dispatch(lh_stage_registry[i].ops, n, n->st[i],
                          k >= 0 ? ps->pfd[k].revents : 0, now);
    }
}

static void ledger_flush(lh_node *n)
{
    if (lh_ledger_flush(n->ledger) != 0 && n->c.v[LH_C_ledger_errors] == 0)
        fprintf(stderr, "selfheal %s: cannot write the ledger: %s\n",
                n->role, strerror(errno));
    n->c.v[LH_C_ledger_errors] = lh_ledger_errors(n->ledger);
}

/* Closes batches, queues acks, writes what the sockets take. */
static void flush_all(lh_node *n)
{
    for (uint32_t id = 0; n->peers && id < n->cfg.nodes; id++) {
        peer *p = &n->peers[id];
        lh_proto_batch_end(&p->batch);
        if (p->fd >= 0 && lh_frame_writer_pending(&p->wr) > 0 &&
            lh_frame_writer_flush(&p->wr, p->fd) < 0)
            peer_down(n, id);
    }
    for (uint32_t s = 0; s < MAX_CONNS; s++) {
        conn *c = n->in[s];
        if (c == NULL)
            continue;
        if (lh_buf_len(&c->acks) > 0 &&
            lh_proto_ack_flush(&c->acks, &c->wr) != 0)
            continue;
        if (lh_frame_writer_pending(&c->wr) > 0 &&
            lh_frame_writer_flush(&c->wr, c->fd) < 0)
            conn_close(n, s);
    }
}

/* ---- live switching ---- */

/* The stages the stats lines show: the node's own once every A connected
 * here that announced its stages announced the same (an A runs forward),
 * else those shown before. */
static unsigned shown_stages(lh_node *n)
{
    for (uint32_t s = 0; s < MAX_CONNS; s++) {
        const conn *c = n->in[s];
        if (c != NULL && c->kind == LH_PROTO_FROM_A && c->announced &&
            c->stages != n->cfg.stages)
            return n->shown;
    }
    n->shown = n->cfg.stages;
    return n->shown;
}

/* Why this node cannot run `mask` (NULL: it can): what lh_stages_parse
 * does not know, the node's own means. */
static const char *cannot_run(const lh_node *n, unsigned mask)
{
    if ((mask & LH_STAGE_BIT(LH_STAGE_RPC)) && n->cfg.store == NULL)
        return "stage rpc needs --store";
    return NULL;
}

/* Runs `mask` from now on; the stages whose state changes are told, in
 * pipeline order, with the new set in force (stage.h). */
static void node_switch(lh_node *n, unsigned mask)
{
    unsigned old = n->cfg.stages;
    char names[256];

    n->cfg.stages = mask;
    for (int i = 0; i < LH_STAGE_COUNT; i++)
        if ((old ^ mask) & LH_STAGE_BIT(i))
            lh_stage_switched(lh_stage_registry[i].ops, n, n->st[i],
                              (mask & LH_STAGE_BIT(i)) != 0);
    lh_control_format(mask, names, sizeof names);
    fprintf(stderr, "selfheal %s: stages now %s\n", n->role, names);
}

/* A look at the control file (when due); a new list is applied. */
static void control_step(lh_node *n, int64_t now)
{
    unsigned mask;
    if (lh_control_poll(&n->ctl, now, 0, n->cfg.stages, &mask) != 1 ||
        mask == n->cfg.stages)
        return;
    const char *why = cannot_run(n, mask);
    if (why != NULL)
        lh_control_refuse(&n->ctl, why, n->cfg.stages);
    else
        node_switch(n, mask);
}

/* The control file's list, when there is one, replaces the starting
 * stages (a node restarted mid-run joins the running configuration). */
static void control_start(lh_node *n)
{
    unsigned start = n->cfg.stages;
    lh_control_init(&n->ctl, n->role);
    if (lh_control_start(&n->ctl, &n->cfg.stages)) {
        const char *why = cannot_run(n, n->cfg.stages);
        if (why != NULL) {
            n->cfg.stages = start;
            lh_control_refuse(&n->ctl, why, start);
        }
    }
    n->shown = n->cfg.stages;
}

static void write_stats(lh_node *n, lh_stats_writer *w)
{
    lh_stats_line line = {0};
    uint64_t heap = 0;
    if (w == NULL)
        return;
    line.work = n->c.v[LH_C_finished];
    line.queue = n->live;
    line.pid = (int64_t)getpid();
    line.has = LH_STATS_HAS_QUEUE | LH_STATS_HAS_PID | LH_STATS_HAS_ROLE;
    if (lh_mem_heap_live(&heap) == 0) {
        line.heap = heap;
        line.has |= LH_STATS_HAS_HEAP;
    }
    snprintf(line.role, sizeof line.role, "%s", n->role);
    if (lh_control_on(&n->ctl)) {
        lh_control_format(shown_stages(n), line.stages, sizeof line.stages);
        line.has |= LH_STATS_HAS_STAGES;
    }
    lh_stats_writer_put(w, &line);
}

/* The stages this node shows, in its counters (up serves them). */
static void note_stages(lh_node *n)
{
    n->c.v[LH_C_stages_mask] = (uint64_t)shown_stages(n) + 1;
}

/* /metrics: this node's series (metrics.h), unlabelled: the endpoint
 * serves this process only. */
static int render_metrics(void *arg, lh_buf *out)
{
    lh_node *n = arg;
    char stages[256];
    lh_metrics_node_info info = {.labels = "",
                                 .c = &n->c,
                                 .start_time = n->started,
                                 .stages = stages};

    note_stages(n);
    lh_control_format(shown_stages(n), stages, sizeof stages);
    info.has_heap = lh_mem_heap_live(&info.heap_live) == 0;
    info.has_rss = lh_mem_rss(getpid(), &info.rss) == 0;
    return lh_metrics_nodes(out, &info, 1);
}

static int serve(lh_node *n, const char *counters_path)
{
    poll_set ps;
    lh_stats_writer *sw = NULL;
    int64_t last_stats = 0, last_counters = 0;
    int rc = lh_stats_writer_from_env(&sw);

    if (rc != 0)
        fprintf(stderr, "selfheal %s: cannot open LEAKHUNT_STATS file: %s\n",
                n->role, lh_strerror(rc));
    while (!lh_role_stop) {
        int timeout = prepare(n, &ps);
        int ready = poll(ps.pfd, (nfds_t)ps.n, timeout);
        if (ready < 0 && errno != EINTR) {
            fprintf(stderr, "selfheal %s: poll: %s\n", n->role,
                    strerror(errno));
            rc = LH_ESYS;
            break;
        }
        if (ready < 0)
            continue;
        dispatch(n, &ps);
        control_step(n, lh_now_us());
        /* Finish records reach the kernel before their acks leave. */
        ledger_flush(n);
        flush_all(n);
        int64_t now = lh_now_us();
        if (now - last_stats >= 100000) {
            last_stats = now;
            write_stats(n, sw);
        }
        note_stages(n);
        lh_counters_tick(&n->c, n->role, counters_path, &last_counters, 0);
    }
    write_stats(n, sw);
    ledger_flush(n);
    lh_counters_tick(&n->c, n->role, counters_path, &last_counters, 1);
    lh_stats_writer_close(sw);
    return rc;
}

/* ---- options, set-up and teardown ---- */

typedef struct b_opts {
    uint64_t id;
    const char *peers;
    const char *listen;
    const char *port_file;
    const char *store;
    const char *stages;
    const char *counters;
    const char *auth_token;
    const char *ledger;
    uint64_t delay_ms;
    uint64_t queue_cap;
    uint64_t max_items;
    uint64_t rpc_timeout_ms;
    uint64_t metrics_port; /* UINT64_MAX: no --metrics-port */
    const char *metrics_port_file;
    lh_inject *inject; /* --inject specs go here */
} b_opts;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: selfheal b [--id N] [--peers ADDR,...] [--listen ADDR]\n"
            "                  [--port-file FILE] [--store ADDR] "
            "[--stages LIST]\n"
            "                  [--delay-ms MS] [--queue-cap N] "
            "[--max-items N]\n"
            "                  [--rpc-timeout-ms MS] [--inject "
            "STAGE:KIND:BYTES[:EVERY]]...\n"
            "                  [--counters FILE] [--auth-token TOKEN] "
            "[--ledger DIR]\n"
            "                  [--metrics-port PORT [--metrics-port-file "
            "FILE]]\n"
            "--peers lists every B node's address, index = id; the node "
            "listens on its own\n"
            "entry (or on --listen, default 127.0.0.1:0).  Stages default "
            "to LEAKHUNT_STAGES,\n"
            "else all.  --auth-token (or LH_AUTH_TOKEN): peers must send "
            "it, and it is\n"
            "sent to peers and the store.  --ledger: record every "
            "finished event there\n"
            "(ledger.h).  --metrics-port: serve Prometheus /metrics on that "
            "port (0: one the\n"
            "kernel picks, written to --metrics-port-file and said on "
            "stderr).\n");
}

static int take_inject(void *opts, const char *val)
{
    char err[256];
    if (lh_inject_add(((b_opts *)opts)->inject, val, err, sizeof err) != 0) {
        fprintf(stderr, "selfheal b: %s\n", err);
        return 2;
    }
    return 0;
}


/* In the order of the usage text. */
static const lh_opt b_options[] = {
    LH_OPT_N(b_opts, "--id", id, 0, MAX_PEERS - 1),
    LH_OPT_S(b_opts, "--peers", peers),
    LH_OPT_S(b_opts, "--listen", listen),
    LH_OPT_S(b_opts, "--port-file", port_file),
    LH_OPT_S(b_opts, "--store", store),
    LH_OPT_S(b_opts, "--stages", stages),
    LH_OPT_N(b_opts, "--delay-ms", delay_ms, 0, 86400000), /* a day */
    LH_OPT_N(b_opts, "--queue-cap", queue_cap, 1, 1000000000),
    LH_OPT_N(b_opts, "--max-items", max_items, 1, 1000000000),
    LH_OPT_N(b_opts, "--rpc-timeout-ms", rpc_timeout_ms, 1, 3600000),
    LH_OPT_C("--inject", take_inject),
    LH_OPT_S(b_opts, "--counters", counters),
    LH_OPT_S(b_opts, "--auth-token", auth_token),
    LH_OPT_S(b_opts, "--ledger", ledger),
    LH_OPT_N(b_opts, "--metrics-port", metrics_port, 0, 65535),
    LH_OPT_S(b_opts, "--metrics-port-file", metrics_port_file),
};


/* The node's configuration from the options: token, stages, peers, id.
 * 0, or the exit status. */
static int configure(lh_node *n, const b_opts *o, char ***peer_addrs)
{
    size_t npeers = 0;
    char err[256];

    if (lh_auth_token("b", o->auth_token, &n->cfg.auth_token) != 0)
        return 2;
    if (lh_stages_select(o->stages, &n->cfg.stages, err, sizeof err) != 0) {
        fprintf(stderr, "selfheal b: %s\n", err);
        return 2;
    }
    if (o->peers != NULL &&
        lh_strv_split(o->peers, ',', peer_addrs, &npeers) != 0)
        return 1;
    if (npeers == 0)
        npeers = 1;
    if (npeers > MAX_PEERS) {
        fprintf(stderr, "selfheal b: at most %d B nodes in --peers\n",
                MAX_PEERS);
        return 2;
    }
    if (o->id >= npeers) {
        fprintf(stderr, "selfheal b: --id %" PRIu64 " out of range for %zu "
                "node(s) in --peers\n", o->id, npeers);
        return 2;
    }
    n->cfg.self = (uint32_t)o->id;
    n->cfg.nodes = (uint32_t)npeers;
    n->cfg.delay_us = (int64_t)o->delay_ms * 1000;
    n->cfg.queue_cap = (size_t)o->queue_cap;
    n->cfg.rpc_timeout_ms = (int)o->rpc_timeout_ms;
    n->max_items = (size_t)o->max_items;
    n->cfg.store = o->store;
    snprintf(n->role, sizeof n->role, "b%u", n->cfg.self);
    const char *why = cannot_run(n, n->cfg.stages);
    if (why != NULL) {
        fprintf(stderr, "selfheal b: %s\n", why);
        return 2;
    }
    control_start(n);
    return 0;
}

/* Listens on --listen, else on this node's --peers entry; writes the port
 * file.  0, or the exit status. */
static int node_listen(lh_node *n, const b_opts *o, char **peer_addrs)
{
    const char *addr = o->listen ? o->listen
                       : peer_addrs ? peer_addrs[o->id]
                                    : "127.0.0.1:0";
    char host[256];
    uint16_t port = 0, bound = 0;

    if (lh_net_split(addr, host, sizeof host, &port) != 0) {
        fprintf(stderr, "selfheal b: bad address '%s'\n", addr);
        return 2;
    }
    n->listen_fd = lh_net_listen(host, port, &bound);
    if (n->listen_fd < 0) {
        fprintf(stderr, "selfheal b: cannot listen on %s: %s\n", addr,
                strerror(errno));
        n->listen_fd = -1;
        return 1;
    }
    if (o->port_file != NULL && lh_port_file_write(o->port_file, bound) != 0) {
        fprintf(stderr, "selfheal b: cannot write %s: %s\n", o->port_file,
                strerror(errno));
        return 1;
    }
    return 0;
}

/* The peers (with more than one node, hash on or off), not yet
 * connected.  0 or LH_ENOMEM. */
static int peers_new(lh_node *n, char **peer_addrs)
{
    if (n->cfg.nodes <= 1)
        return 0;
    n->peers = lh_calloc(n->cfg.nodes, sizeof *n->peers);
    if (n->peers == NULL)
        return LH_ENOMEM;
    for (uint32_t id = 0; id < n->cfg.nodes; id++) {
        peer *p = &n->peers[id];
        p->fd = -1;
        p->addr = peer_addrs[id];
        if (id == n->cfg.self)
            continue;
        p->slots = lh_calloc(PEER_WINDOW, sizeof *p->slots);
        p->free_slots = lh_calloc(PEER_WINDOW, sizeof *p->free_slots);
        if (p->slots == NULL || p->free_slots == NULL)
            return LH_ENOMEM;
        for (uint32_t s = 0; s < PEER_WINDOW; s++)
            p->free_slots[s] = PEER_WINDOW - 1 - s;
        p->nfree = PEER_WINDOW;
    }
    return 0;
}

/* Opens every stage, ON or OFF, in pipeline order.  0 or the error of the
 * first that fails (said). */
static int stages_open(lh_node *n)
{
    for (int i = 0; i < LH_STAGE_COUNT; i++) {
        const lh_stage_ops *ops = lh_stage_registry[i].ops;
        n->st[i] = NULL;
        if (ops->open != NULL) {
            int rc = ops->open(n, &n->st[i]);
            if (rc != 0) {
                fprintf(stderr, "selfheal b: cannot start stage %s: %s\n",
                        ops->name, lh_strerror(rc));
                return rc;
            }
        }
        n->opened[i] = 1;
    }
    return 0;
}

/* Everything the node needs before serving.  0, or the exit status
 * (node_free undoes what was done). */
static int setup(lh_node *n, const b_opts *o, char ***peer_addrs)
{
    int status = configure(n, o, peer_addrs);
    if (status == 0)
        status = node_listen(n, o, *peer_addrs);
    if (status != 0)
        return status;
    if (peers_new(n, *peer_addrs) != 0 || stages_open(n) != 0)
        return 1;
    if (o->ledger != NULL) {
        int rc = lh_ledger_open(o->ledger, n->role, &n->ledger);
        if (rc != 0) {
            fprintf(stderr, "selfheal b: cannot create a ledger in %s: %s\n",
                    o->ledger, lh_strerror(rc));
            return 1;
        }
    }
    lh_role_signals();
    if (lh_role_stop_deadline(n->role) != 0)
        return 2;
    n->started = (double)lh_wall_us() / 1e6;
    return lh_role_metrics_start(n->role, o->metrics_port,
                                 o->metrics_port_file, render_metrics, n,
                                 &n->metrics);
}

static void node_free(lh_node *n, char **peer_addrs)
{
    lh_metrics_stop(n->metrics);
    for (int i = LH_STAGE_COUNT - 1; i >= 0; i--)
        if (n->opened[i] && lh_stage_registry[i].ops->close)
            lh_stage_registry[i].ops->close(n, n->st[i]);
    if (n->peers != NULL) {
        for (uint32_t id = 0; id < n->cfg.nodes; id++) {
            peer *p = &n->peers[id];
            if (p->fd >= 0) {
                close(p->fd);
                lh_frame_reader_free(&p->rd);
                lh_frame_writer_free(&p->wr);
            }
            if (p->slots != NULL)
                for (uint32_t s = 0; s < PEER_WINDOW; s++)
                    if (p->slots[s] != NULL)
                        lh_node_drop(n, p->slots[s]);
            lh_free(p->slots);
            lh_free(p->free_slots);
        }
        lh_free(n->peers);
    }
    for (uint32_t s = 0; s < MAX_CONNS; s++)
        conn_close(n, s);
    if (n->listen_fd >= 0)
        close(n->listen_fd);
    lh_inject_free(n->cfg.inject);
    lh_ledger_close(n->ledger);
    lh_strv_free(peer_addrs);
}

int lh_role_b(int argc, char **argv)
{
    b_opts o = {.delay_ms = 1000,
                .queue_cap = DEFAULT_QUEUE_CAP,
                .max_items = DEFAULT_MAX_ITEMS,
                .rpc_timeout_ms = 2000,
                .metrics_port = UINT64_MAX};
    lh_node n;
    char **peer_addrs = NULL;
    int status;

    memset(&n, 0, sizeof n);
    n.listen_fd = -1;
    if (lh_inject_new(&n.cfg.inject) != 0)
        return 1;
    o.inject = n.cfg.inject;
    status = lh_opts_parse("b", argc, argv, b_options,
                           sizeof b_options / sizeof b_options[0], &o);
    if (status == 1) {
        usage(stdout);
        status = 0;
    } else if (status == 0) {
        status = setup(&n, &o, &peer_addrs);
        if (status == 0)
            status = serve(&n, o.counters) == 0 ? 0 : 1;
    }
    node_free(&n, peer_addrs);
    return status;
}
