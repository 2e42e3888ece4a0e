/*
 * stage_rpc.c - rpc: verification reads the store through the RPC
 * framework (repro/rpc/rpc.h) and heals a mismatch.
 *
 * ON: for each verified-so-far event a GET of its key goes to the store,
 * asynchronously and pipelined (many in flight on one connection; replies
 * complete in the node's poll loop).  The reply is compared with the event:
 *   - store holds the same version with the same bytes: verified;
 *   - store holds a newer version: verified (stale event, nothing to do);
 *   - key missing, an older version, or different bytes for this version:
 *     mismatch, and the event's value is written back (PUT = heal).
 * The store answers a PUT with one byte: 0 repaired a corrupted write
 * (counted healed), 1 ignored as older than what it holds, 2 applied
 * without repairing anything.  After a 2 the event is checked again (GET):
 * the heal may have been the first write of its version the store saw
 * (the producer's write failed or is late), and the store may damage a
 * first write like any other (--corrupt-rate); so a heal is verified like
 * the write it replaces.  At most MAX_HEALS heals per event; a mismatch
 * after that finishes the event as failed.
 * OFF: verification stays local (stage_verify.c).  Switched OFF while it
 * runs: the events waiting to be sent go on locally at once (counted
 * verified, or passed when verify went off too); calls in flight finish,
 * and an event whose call comes back (answered or not) then goes on
 * locally instead of being sent again (no heal, no retry).  The store
 * connection is kept for the calls in flight and for the next switch ON;
 * a node started with rpc OFF connects when it is first switched on.
 *
 * The store may stop answering (down, stopped, overloaded) or answer
 * slowly; an event is never given up because of that (it would be lost:
 * acknowledged upstream, committed, never verified).  So:
 *   - A call that fails for want of an answer (timeout, connection lost)
 *     is counted in rpc_errors and retried, without limit.  Only a call
 *     the store answered with an error (bad request, its own failure, an
 *     unreadable reply) counts against MAX_TRIES; after that the event is
 *     finished as failed.
 *   - A timeout means the connection is not being answered: it is closed
 *     (its other calls come back and wait again; bytes still queued for a
 *     store that does not read are dropped with it, so memory stays
 *     bounded) and opened again after a backoff that doubles from
 *     BACKOFF_MIN_US to BACKOFF_MAX_US with each failure in a row and
 *     goes back to the minimum at the first answer.  An error answer holds
 *     sending for the same backoff without closing.
 *   - Calls in flight are bounded by a window that starts at one after
 *     any failure and grows by one per answer up to MAX_INFLIGHT (slow
 *     start: it doubles every round trip), so a store that comes back is
 *     probed with one call, not hit with a thousand.  Events beyond the
 *     window wait in a FIFO here; their number is bounded upstream (A's
 *     window of unacknowledged events), which is how backpressure reaches
 *     A and Kafka: nothing is acknowledged, so A pauses its partitions.
 * An outage is logged once when it starts and once when the store answers
 * again (with its length and the calls retried).
 *
 * Completion callbacks only record the outcome: a heal is queued and sent,
 * and a connection closed, after rpc_client_process returns, never from
 * inside the framework.
 */
#include "inject.h"
#include "rpc.h"
#include "stage.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "clock.h"
#include "error.h"

#define MAX_TRIES 3 /* for calls the store answered with an error */
#define MAX_INFLIGHT 1024
#define BACKOFF_MIN_US 50000
#define BACKOFF_MAX_US 2000000

#define MAX_HEALS 3

/* it->phase: the call to send (low bits) and the heals sent so far. */
enum { PHASE_GET = 0, PHASE_HEAL = 1, PHASE_MASK = 0x0f, HEALS_SHIFT = 4 };

static unsigned heals_of(const lh_item *it)
{
    return (unsigned)it->phase >> HEALS_SHIFT;
}

static void set_phase(lh_item *it, unsigned phase, unsigned heals)
{
    it->phase = (uint8_t)(heals << HEALS_SHIFT | phase);
    it->tries = 0;
}

typedef struct rpc_stage {
    lh_node *node;
    rpc_client *client;
    int64_t reconnect_at; /* no client: connect again then */
    int64_t send_at;      /* send nothing before then (backoff) */
    int64_t backoff_us;   /* the next backoff */
    int64_t outage_since; /* first failure of the current run, 0: none */
    uint64_t outage_retries;
    lh_item *wait_head; /* items waiting to be (re)sent, FIFO */
    lh_item *wait_tail;
    size_t waiting;
    size_t inflight;
    size_t limit;       /* calls allowed in flight now, 1..MAX_INFLIGHT */
    int suspect;        /* a call timed out: close the connection */
    int closing;
    int warned;
    lh_buf scratch;
} rpc_stage;

static void wait_push(rpc_stage *st, lh_item *it)
{
    it->next = NULL;
    if (st->wait_tail)
        st->wait_tail->next = it;
    else
        st->wait_head = it;
    st->wait_tail = it;
    st->waiting++;
}

static void wait_push_front(rpc_stage *st, lh_item *it)
{
    it->next = st->wait_head;
    st->wait_head = it;
    if (st->wait_tail == NULL)
        st->wait_tail = it;
    st->waiting++;
}

static lh_item *wait_pop(rpc_stage *st)
{
    lh_item *it = st->wait_head;
    if (it == NULL)
        return NULL;
    st->wait_head = it->next;
    if (st->wait_head == NULL)
        st->wait_tail = NULL;
    it->next = NULL;
    st->waiting--;
    return it;
}

/* Goes on without the store: verify counted it neither verified nor
 * passed (the rpc stage does, at its end), so this does. */
static void go_local(rpc_stage *st, lh_item *it)
{
    int verify = lh_node_stage_on(st->node, LH_STAGE_VERIFY);
    lh_node_counters(st->node)->v[verify ? LH_C_verified
                                         : LH_C_passed_unchecked]++;
    lh_node_resume(st->node, it);
}

/* An item that needs another call: it waits for it, or goes on locally
 * when the stage has been switched off meanwhile. */
static void again(rpc_stage *st, lh_item *it)
{
    if (lh_node_stage_on(st->node, LH_STAGE_RPC))
        wait_push(st, it);
    else
        go_local(st, it);
}

/* A failure: the window closes to one call and sending waits for the
 * backoff, which doubles for the next failure.  `outage`: the store did
 * not answer (logged once per outage), rather than answered an error. */
static void backoff(rpc_stage *st, int64_t now, int outage)
{
    if (outage && st->outage_since == 0) {
        st->outage_since = now;
        fprintf(stderr, "selfheal b%u: store %s not answering; retrying "
                "with backoff\n", lh_node_config(st->node)->self,
                lh_node_config(st->node)->store);
    }
    st->limit = 1;
    if (st->send_at < now + st->backoff_us)
        st->send_at = now + st->backoff_us;
    st->backoff_us *= 2;
    if (st->backoff_us > BACKOFF_MAX_US)
        st->backoff_us = BACKOFF_MAX_US;
}

/* An answer came: the backoff starts over and the window grows. */
static void answered(rpc_stage *st)
{
    if (st->outage_since != 0) {
        fprintf(stderr, "selfheal b%u: store answering again after %.1f s "
                "(%llu calls retried)\n", lh_node_config(st->node)->self,
                (double)(lh_now_us() - st->outage_since) / 1e6,
                (unsigned long long)st->outage_retries);
        st->outage_since = 0;
    }
    st->outage_retries = 0;
    st->backoff_us = BACKOFF_MIN_US;
    if (st->limit < MAX_INFLIGHT)
        st->limit++;
}

static void try_connect(rpc_stage *st, int64_t now)
{
    const lh_node_cfg *cfg = lh_node_config(st->node);
    rpc_opts opts = {.timeout_ms = cfg->rpc_timeout_ms,
                     .max_inflight = MAX_INFLIGHT,
                     .auth_token = cfg->auth_token};
    rpc_client *c = NULL;

    int rc = rpc_client_connect(cfg->store, &opts, &c);
    if (rc != 0) {
        if (!st->warned)
            fprintf(stderr, "selfheal b%u: cannot reach store %s: %s "
                    "(retrying)\n", cfg->self, cfg->store, lh_strerror(rc));
        st->warned = 1;
        now = lh_now_us(); /* connecting may have taken a while */
        backoff(st, now, 1);
        st->reconnect_at = st->send_at;
        return;
    }
    st->warned = 0;
    st->client = c;
}

/* The store did not answer (err: LH_ETIMEOUT, LH_ECLOSED, ...): the item
 * waits to be sent again, however long that takes. */
static void unanswered_call(rpc_stage *st, lh_item *it, int err)
{
    lh_node_counters(st->node)->v[LH_C_rpc_errors]++;
    st->outage_retries++;
    if (err == LH_ETIMEOUT)
        st->suspect = 1;
    again(st, it);
}

/* The store answered with an error: retried MAX_TRIES times in all, then
 * the event is finished as failed. */
static void refused_call(rpc_stage *st, lh_item *it)
{
    lh_node_counters(st->node)->v[LH_C_rpc_errors]++;
    backoff(st, lh_now_us(), 0);
    it->tries++;
    if (it->tries < MAX_TRIES) {
        again(st, it);
        return;
    }
    it->failed = 1;
    lh_node_finish(st->node, it);
}

static void verified(rpc_stage *st, lh_item *it)
{
    lh_node_counters(st->node)->v[LH_C_verified]++;
    lh_node_resume(st->node, it);
}

/* What every completion does first: the call leaves the window; when the
 * stage is closing the item is dropped, when the store did not answer it
 * waits to be sent again.  Returns the stage when there is an answer to
 * look at, else NULL (the item is dealt with). */
static rpc_stage *completed(lh_item *it, int err)
{
    rpc_stage *st = it->ctx;

    st->inflight--;
    if (st->closing) {
        lh_node_drop(st->node, it);
        return NULL;
    }
    if (err != 0) {
        unanswered_call(st, it, err);
        return NULL;
    }
    answered(st);
    return st;
}

static void get_done(void *arg, int err, const rpc_reply *reply)
{
    lh_item *it = arg;
    rpc_stage *st = completed(it, err);
    rpc_value v;

    if (st == NULL)
        return;
    lh_counters *c = lh_node_counters(st->node);
    if (reply->status == RPC_STATUS_OK) {
        if (rpc_value_decode(reply->body, reply->body_len, &v) < 0) {
            refused_call(st, it);
            return;
        }
        if (v.version > it->ev.version) {
            c->v[LH_C_stale]++;
            verified(st, it);
            return;
        }
        if (v.version == it->ev.version && v.value_len == it->ev.payload_len &&
            lh_checksum(v.value, v.value_len) == it->ev.checksum &&
            memcmp(v.value, it->ev.payload, v.value_len) == 0) {
            verified(st, it);
            return;
        }
    } else if (reply->status != RPC_STATUS_NOTFOUND) {
        refused_call(st, it);
        return;
    }
    /* Missing, older or different: heal with the event's value. */
    c->v[LH_C_mismatched]++;
    if (heals_of(it) >= MAX_HEALS) {
        /* The store keeps losing what we write: give up on this one. */
        c->v[LH_C_rpc_errors]++;
        it->failed = 1;
        lh_node_finish(st->node, it);
        return;
    }
    set_phase(it, PHASE_HEAL, heals_of(it) + 1);
    again(st, it);
}

static void put_done(void *arg, int err, const rpc_reply *reply)
{
    lh_item *it = arg;
    rpc_stage *st = completed(it, err);

    if (st == NULL)
        return;
    lh_counters *c = lh_node_counters(st->node);
    if (reply->status != RPC_STATUS_OK) {
        refused_call(st, it);
        return;
    }
    if (reply->body_len >= 1 && reply->body[0] == 0) {
        c->v[LH_C_healed]++;
    } else if (reply->body_len >= 1 && reply->body[0] == 1) {
        c->v[LH_C_heal_ignored]++;
    } else {
        /* Applied as a first write (which the store may damage): check. */
        set_phase(it, PHASE_GET, heals_of(it));
        again(st, it);
        return;
    }
    verified(st, it);
}

/* 1 when a call may be sent now. */
static int can_send(const rpc_stage *st, int64_t now)
{
    return st->client != NULL && st->inflight < st->limit &&
           now >= st->send_at;
}

/* Sends the item's current call.  0 sent, LH_EFULL / LH_ECLOSED: not sent
 * (the caller keeps the item), other errors: the item was finished. */
static int submit(rpc_stage *st, lh_item *it)
{
    int rc;

    if (st->client == NULL)
        return LH_ECLOSED;
    if (st->inflight >= st->limit)
        return LH_EFULL;
    it->ctx = st;
    if ((it->phase & PHASE_MASK) == PHASE_GET) {
        rc = rpc_client_call(st->client, RPC_METHOD_GET, it->ev.key,
                             it->ev.key_len, get_done, it);
    } else {
        rpc_value v = {
            .key = it->ev.key,
            .key_len = it->ev.key_len,
            .value = it->ev.payload,
            .value_len = it->ev.payload_len,
            .checksum = it->ev.checksum,
            .version = it->ev.version,
        };
        size_t need = rpc_value_size(&v);
        lh_buf_reset(&st->scratch);
        rc = lh_buf_reserve(&st->scratch, need);
        if (rc == 0)
            rc = rpc_value_encode(&v, lh_buf_tail(&st->scratch), need);
        if (rc >= 0)
            rc = rpc_client_call(st->client, RPC_METHOD_PUT,
                                 lh_buf_tail(&st->scratch), (uint32_t)need,
                                 put_done, it);
    }
    if (rc == 0) {
        st->inflight++;
        return 0;
    }
    if (rc == LH_EFULL || rc == LH_ECLOSED)
        return rc;
    lh_node_counters(st->node)->v[LH_C_rpc_errors]++;
    it->failed = 1;
    lh_node_finish(st->node, it);
    return rc;
}

static int rpc_open(lh_node *node, void **state)
{
    *state = NULL;
    rpc_stage *st = lh_calloc(1, sizeof *st);
    if (st == NULL)
        return LH_ENOMEM;
    st->node = node;
    st->limit = MAX_INFLIGHT;
    st->backoff_us = BACKOFF_MIN_US;
    /* Without --store the node never switches rpc on (role_b.c). */
    if (lh_node_stage_on(node, LH_STAGE_RPC))
        try_connect(st, lh_now_us());
    *state = st;
    return 0;
}

/* Switched off: the waiting events go on locally (calls in flight come
 * back to again()).  Switched on: connect at the next turn if not
 * connected. */
static void rpc_switched(lh_node *node, void *state, int on)
{
    rpc_stage *st = state;
    lh_item *it;
    (void)node;

    if (on) {
        if (st->client == NULL)
            st->reconnect_at = 0;
        return;
    }
    for (;;) {
        it = wait_pop(st);
        if (it == NULL)
            break;
        go_local(st, it);
    }
}

static void rpc_close(lh_node *node, void *state)
{
    rpc_stage *st = state;
    lh_item *it;

    if (st == NULL)
        return;
    st->closing = 1;
    rpc_client_free(st->client); /* in-flight items come back: dropped */
    for (;;) {
        it = wait_pop(st);
        if (it == NULL)
            break;
        lh_node_drop(node, it);
    }
    lh_buf_free(&st->scratch);
    lh_free(st);
}

static int rpc_handle(lh_node *node, void *state, lh_item *it, int on)
{
    rpc_stage *st = state;

    if (!on)
        return LH_STEP_NEXT;
    LH_INJECT(lh_node_config(node)->inject, LH_STAGE_RPC);
    if (lh_item_decode(it) != 0)
        return lh_node_reject(node, it);
    set_phase(it, PHASE_GET, 0);
    if (st->wait_head != NULL || !can_send(st, lh_now_us())) {
        wait_push(st, it); /* keep order behind earlier waiters */
        return LH_STEP_HELD;
    }
    int rc = submit(st, it);
    if (rc == LH_EFULL || rc == LH_ECLOSED)
        wait_push(st, it);
    return rc == 0 || rc == LH_EFULL || rc == LH_ECLOSED ? LH_STEP_HELD
                                                         : LH_STEP_DONE;
}

static int rpc_prepare(lh_node *node, void *state, struct pollfd *pfd,
                       int *timeout_ms)
{
    rpc_stage *st = state;
    int64_t now = lh_now_us();

    if (st->client == NULL && !lh_node_stage_on(node, LH_STAGE_RPC))
        return 0; /* off and not connected: nothing to wait for */
    if (st->client == NULL) {
        int64_t wait = st->reconnect_at - now;
        lh_timeout_min(timeout_ms, wait <= 0 ? 0 : (int)(wait / 1000) + 1);
        return 0;
    }
    pfd->fd = rpc_client_fd(st->client);
    pfd->events = rpc_client_events(st->client);
    lh_timeout_min(timeout_ms, rpc_client_next_timeout_ms(st->client));
    if (st->waiting > 0 && st->inflight < st->limit) {
        int64_t wait = st->send_at - now;
        lh_timeout_min(timeout_ms, wait <= 0 ? 0 : (int)(wait / 1000) + 1);
    }
    return 1;
}

/* Closes the connection; its calls in flight come back (unanswered) and
 * wait.  Connecting again waits for the backoff. */
static void drop_client(rpc_stage *st, int64_t now)
{
    rpc_client *dead = st->client;

    st->client = NULL;
    st->suspect = 0;
    backoff(st, now, 1);
    st->reconnect_at = st->send_at;
    rpc_client_free(dead); /* pending calls complete: they wait again */
}

static void rpc_dispatch(lh_node *node, void *state, short revents,
                         int64_t now_us)
{
    rpc_stage *st = state;

    if (st->client != NULL && rpc_client_process(st->client, revents) != 0) {
        fprintf(stderr, "selfheal b%u: store connection lost (reconnecting)\n",
                lh_node_config(node)->self);
        drop_client(st, now_us);
    }
    if (st->client != NULL && st->suspect)
        drop_client(st, now_us); /* a call timed out: nobody answers */
    if (st->client == NULL && now_us >= st->reconnect_at &&
        lh_node_stage_on(node, LH_STAGE_RPC))
        try_connect(st, now_us);
    while (st->wait_head != NULL && can_send(st, now_us)) {
        lh_item *it = wait_pop(st);
        int rc = submit(st, it);
        if (rc == LH_EFULL || rc == LH_ECLOSED) {
            wait_push_front(st, it);
            break;
        }
    }
}

const lh_stage_ops lh_stage_rpc = {
    .name = "rpc",
    .open = rpc_open,
    .close = rpc_close,
    .switched = rpc_switched,
    .handle = rpc_handle,
    .prepare = rpc_prepare,
    .dispatch = rpc_dispatch,
};
