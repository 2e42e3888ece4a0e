/*
 * rpc.c - the RPC framework (see rpc.h for the wire format and the API).
 *
 * Design notes.
 *
 * Bodies through library A.  Every request and reply body passes through
 * a library-A object on each side: the client builds the request in one
 * (kept until the call completes, as a framework keeps a request for a
 * retry) and receives the reply into one; the server receives the request
 * into one and the handler writes the reply into one (rpc_out).  Cleanup
 * uses A's header inline helpers (a_buf_release, a_msg_ref/unref), so a
 * framework compiled against one version of a.h and run with another
 * version of A behaves like the article's: a little is left behind per call
 * (repro/liba/v2/a.h says what).  rpc_opts.a_api picks a_buf or a_msg.
 *
 * Client.  Output waiting to be written is bounded by OUT_HIGH_WATER
 * (a call beyond it is LH_EFULL): a request that timed out frees its slot
 * at once, but its bytes stay queued, so without this bound a server that
 * stopped reading would make a client that keeps calling grow without end.
 * Requests in flight live in a slot pool sized max_inflight,
 * indexed by id through a chained hash (ids only grow, so a slot can't be
 * found by id modulo the pool size once a slow request lets the ids run
 * past it), and threaded on a list in send order.  All requests of one
 * client share one timeout, so send order is deadline order: expiry pops
 * from the head, and the next deadline is the head's.
 *
 * Server.  One poll loop over the listener and every connection.  Each
 * connection has an input and an output lh_buf; whole frames are handled in
 * order, and a connection whose output is above a high-water mark is not
 * read (nor its buffered frames handled) until the peer drains it, so a
 * client that never reads cannot make the server grow without bound.  A
 * header is checked as soon as its 16 bytes are in, so an oversize length
 * closes the connection before its body arrives.
 *
 * Auth.  With a token, a connection's first message must be the auth
 * message, within AUTH_TIMEOUT_US of the accept; anything else (another
 * method, an auth body over RPC_MAX_TOKEN, a wrong token, silence) is
 * refused at once, before any body is read.  Tokens are compared in time
 * that depends on the server's token only.
 */
#include "rpc.h"

#include "a.h"
#include "alloc.h"
#include "buf.h"
#include "byteorder.h"
#include "clock.h"
#include "error.h"
#include "net.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAGIC 0x5250u
#define VERSION 1u
#define KIND_REQUEST 1u
#define KIND_REPLY 2u
#define HEADER_SIZE 16u
#define READ_CHUNK 65536u
#define READ_BUDGET (1u << 20)       /* bytes read per connection per turn */
#define OUT_HIGH_WATER (4u << 20)    /* stop reading a peer that doesn't */
#define AUTH_TIMEOUT_US 5000000      /* to send the auth message */

/* ---- wire helpers ---------------------------------------------------- */

typedef struct header {
    uint16_t magic;
    uint8_t version, kind;
    uint32_t id;
    uint8_t method, status;
    uint32_t len;
} header;

static void header_write(uint8_t out[HEADER_SIZE], uint8_t kind, uint32_t id,
                         uint8_t method, uint8_t status, uint32_t len)
{
    lh_put_le16(out, MAGIC);
    out[2] = VERSION;
    out[3] = kind;
    lh_put_le32(out + 4, id);
    out[8] = method;
    out[9] = status;
    lh_put_le16(out + 10, 0);
    lh_put_le32(out + 12, len);
}

static void header_read(const uint8_t *p, header *h)
{
    h->magic = lh_get_le16(p);
    h->version = p[2];
    h->kind = p[3];
    h->id = lh_get_le32(p + 4);
    h->method = p[8];
    h->status = p[9];
    h->len = lh_get_le32(p + 12);
}

/* 0 when a header of `kind` is acceptable, else the error that closes the
 * stream. */
static int header_check(const header *h, uint8_t kind)
{
    if (h->magic != MAGIC)
        return LH_EBADMAGIC;
    if (h->version != VERSION)
        return LH_EBADVERSION;
    if (h->kind != kind)
        return LH_EPARSE;
    if (h->len > RPC_MAX_BODY)
        return LH_ETOOBIG;
    return 0;
}

/* ---- bodies in library-A objects ------------------------------------- */

typedef struct body {
    a_buf *buf;
    a_msg *msg;
} body;

static int body_new(body *b, unsigned api, size_t cap)
{
    b->buf = NULL;
    b->msg = NULL;
    if (api == RPC_A_MSG) {
        b->msg = a_msg_new((uint32_t)cap);
        return b->msg ? 0 : LH_ENOMEM;
    }
    b->buf = a_buf_new(cap);
    return b->buf ? 0 : LH_ENOMEM;
}

static int body_append(body *b, const void *p, uint32_t n)
{
    int rc = b->msg ? a_msg_append(b->msg, p, n) : a_buf_append(b->buf, p, n);
    return rc < 0 ? LH_ENOMEM : 0;
}

static const uint8_t *body_data(const body *b)
{
    return b->msg ? a_msg_data(b->msg) : a_buf_data(b->buf);
}

static uint32_t body_len(const body *b)
{
    return b->msg ? a_msg_len(b->msg) : (uint32_t)a_buf_len(b->buf);
}

/* Copies the body's bytes after `hdr` into `out`, holding a reference on a
 * message while it does (the writer's reference).  0 or LH_ENOMEM (out
 * unchanged). */
static int body_queue(body *b, lh_buf *out, const uint8_t hdr[HEADER_SIZE])
{
    if (b->msg)
        a_msg_ref(b->msg);
    uint32_t n = body_len(b);
    int rc = lh_buf_reserve(out, HEADER_SIZE + (size_t)n);
    if (rc == 0) {
        lh_buf_append(out, hdr, HEADER_SIZE);
        lh_buf_append(out, body_data(b), n);
    }
    if (b->msg)
        a_msg_unref(b->msg);
    return rc;
}

/* Drops the framework's reference: the inline cleanup of a.h. */
static void body_drop(body *b)
{
    if (b->msg)
        a_msg_unref(b->msg);
    else
        a_buf_release(b->buf);
    b->buf = NULL;
    b->msg = NULL;
}

/* What an empty body points at: callers never see a NULL body. */
static const uint8_t empty[1];

/* ---- socket helpers --------------------------------------------------- */

/* Writes what the socket takes.  0 (maybe some left) or LH_ECLOSED. */
static int flush_out(int fd, lh_buf *out)
{
    while (lh_buf_len(out) > 0) {
        ssize_t n = send(fd, lh_buf_peek(out), lh_buf_len(out),
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            lh_buf_consume(out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return LH_ECLOSED;
    }
    return 0;
}

/* Reads up to READ_CHUNK bytes.  > 0 bytes, LH_EAGAIN, LH_ECLOSED (EOF or
 * error), LH_ENOMEM. */
static int read_some(int fd, lh_buf *in)
{
    int rc = lh_buf_reserve(in, READ_CHUNK);
    if (rc < 0)
        return rc;
    for (;;) {
        ssize_t n = recv(fd, lh_buf_tail(in), READ_CHUNK, MSG_DONTWAIT);
        if (n > 0) {
            lh_buf_commit(in, (size_t)n);
            return (int)n;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return LH_EAGAIN;
        return LH_ECLOSED;
    }
}

/* ---- client ------------------------------------------------------------ */

typedef struct pending {
    uint32_t id;
    int64_t deadline_us;
    rpc_done_fn done;
    void *arg;
    body req;     /* the request, kept until the call completes */
    int32_t hnext; /* hash chain */
    int32_t prev, next; /* send-order list, or free list (next) */
} pending;

struct rpc_client {
    int fd;
    int closed;  /* 0, or the error pending calls completed with */
    int timeout_ms;
    unsigned max_inflight;
    unsigned a_api;
    lh_buf in, out;
    uint32_t next_id;
    pending *slots;
    int32_t *buckets;
    uint32_t bucket_mask;
    int32_t free_head;
    int32_t head, tail; /* oldest and newest in flight */
    unsigned inflight;
};

static uint32_t hash_id(uint32_t id)
{
    return id * 2654435761u;
}

static int32_t slot_find(const rpc_client *c, uint32_t id, int32_t **link)
{
    int32_t *l = &c->buckets[hash_id(id) & c->bucket_mask];
    while (*l >= 0) {
        if (c->slots[*l].id == id) {
            if (link)
                *link = l;
            return *l;
        }
        l = &c->slots[*l].hnext;
    }
    return -1;
}

/* Takes slot i out of the hash and the send-order list and returns it to
 * the free list; the caller has copied what it needs. */
static void slot_remove(rpc_client *c, int32_t i)
{
    pending *p = &c->slots[i];
    int32_t *link = NULL;
    slot_find(c, p->id, &link);
    *link = p->hnext;
    if (p->prev >= 0)
        c->slots[p->prev].next = p->next;
    else
        c->head = p->next;
    if (p->next >= 0)
        c->slots[p->next].prev = p->prev;
    else
        c->tail = p->prev;
    p->next = c->free_head;
    c->free_head = i;
    c->inflight--;
}

/* Completes slot i: removes it first, so the callback may queue calls. */
static void slot_complete(rpc_client *c, int32_t i, int err,
                          const rpc_reply *reply)
{
    pending p = c->slots[i];
    slot_remove(c, i);
    p.done(p.arg, err, reply);
    body_drop(&p.req);
}

static void client_fail(rpc_client *c, int err)
{
    if (!c->closed)
        c->closed = err;
    while (c->head >= 0)
        slot_complete(c, c->head, c->closed, NULL);
}

int rpc_client_connect(const char *addr, const rpc_opts *opts,
                       rpc_client **out)
{
    int rc = LH_ENOMEM;
    rpc_client *c = NULL;
    if (addr == NULL || out == NULL)
        return LH_EINVAL;
    c = lh_calloc(1, sizeof(*c));
    if (c == NULL)
        goto out;
    c->fd = -1;
    c->head = c->tail = -1;
    c->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms
                                                 : RPC_DEFAULT_TIMEOUT_MS;
    c->max_inflight = opts && opts->max_inflight ? opts->max_inflight
                                                 : RPC_DEFAULT_MAX_INFLIGHT;
    c->a_api = opts ? opts->a_api : RPC_A_BUF;
    if (c->max_inflight > (1u << 24) || c->a_api > RPC_A_MSG) {
        rc = LH_EINVAL;
        goto out;
    }
    uint32_t nb = 16;
    while (nb < 2 * c->max_inflight)
        nb *= 2;
    c->bucket_mask = nb - 1;
    c->slots = lh_calloc(c->max_inflight, sizeof(*c->slots));
    c->buckets = lh_malloc(nb * sizeof(*c->buckets));
    if (c->slots == NULL || c->buckets == NULL)
        goto out;
    memset(c->buckets, 0xff, nb * sizeof(*c->buckets)); /* all -1 */
    for (unsigned i = 0; i < c->max_inflight; i++)
        c->slots[i].next = i + 1 < c->max_inflight ? (int32_t)(i + 1) : -1;
    c->free_head = 0;
    c->head = c->tail = -1;
    c->next_id = 1;
    if (opts && opts->auth_token) {
        size_t n = strlen(opts->auth_token);
        uint8_t hdr[HEADER_SIZE];
        if (n > RPC_MAX_TOKEN) {
            rc = LH_ETOOBIG;
            goto out;
        }
        header_write(hdr, KIND_REQUEST, 0, RPC_METHOD_AUTH, 0, (uint32_t)n);
        if (lh_buf_append(&c->out, hdr, sizeof(hdr)) < 0 ||
            lh_buf_append(&c->out, opts->auth_token, n) < 0)
            goto out;
    }
    rc = lh_net_connect(addr, c->timeout_ms);
    if (rc < 0)
        goto out;
    c->fd = rc;
    rc = 0;
    *out = c;
    c = NULL;
out:
    rpc_client_free(c);
    return rc;
}

void rpc_client_free(rpc_client *c)
{
    if (c == NULL)
        return;
    if (c->slots)
        client_fail(c, LH_ECLOSED);
    if (c->fd >= 0)
        close(c->fd);
    lh_buf_free(&c->in);
    lh_buf_free(&c->out);
    lh_free(c->slots);
    lh_free(c->buckets);
    lh_free(c);
}

int rpc_client_call(rpc_client *c, uint8_t method, const void *body_p,
                    uint32_t len, rpc_done_fn done, void *arg)
{
    if (c == NULL || done == NULL || (body_p == NULL && len > 0))
        return LH_EINVAL;
    if (c->closed)
        return LH_ECLOSED;
    if (len > RPC_MAX_BODY)
        return LH_ETOOBIG;
    if (c->inflight >= c->max_inflight)
        return LH_EFULL;
    /* Requests that timed out leave their slot but not their bytes: bound
     * the bytes too, or a server that stops reading makes us grow. */
    if (lh_buf_len(&c->out) >= OUT_HIGH_WATER)
        return LH_EFULL;

    body req;
    int rc = body_new(&req, c->a_api, len);
    if (rc < 0)
        return rc;
    rc = body_append(&req, body_p, len);
    if (rc < 0)
        goto fail;
    uint32_t id = c->next_id++;
    if (c->next_id == 0)
        c->next_id = 1; /* 0 is the auth message's */
    uint8_t hdr[HEADER_SIZE];
    header_write(hdr, KIND_REQUEST, id, method, 0, len);
    rc = body_queue(&req, &c->out, hdr);
    if (rc < 0)
        goto fail;

    int32_t i = c->free_head;
    pending *p = &c->slots[i];
    c->free_head = p->next;
    p->id = id;
    p->deadline_us = lh_now_us() + (int64_t)c->timeout_ms * 1000;
    p->done = done;
    p->arg = arg;
    p->req = req;
    uint32_t b = hash_id(id) & c->bucket_mask;
    p->hnext = c->buckets[b];
    c->buckets[b] = i;
    p->next = -1;
    p->prev = c->tail;
    if (c->tail >= 0)
        c->slots[c->tail].next = i;
    else
        c->head = i;
    c->tail = i;
    c->inflight++;
    return 0;
fail:
    body_drop(&req);
    return rc;
}

int rpc_client_fd(const rpc_client *c)
{
    return c->fd;
}

short rpc_client_events(const rpc_client *c)
{
    if (c->closed)
        return 0;
    return (short)(POLLIN | (lh_buf_len(&c->out) > 0 ? POLLOUT : 0));
}

/* Handles one reply frame. */
static void client_reply(rpc_client *c, const header *h, const uint8_t *p)
{
    if (h->id == 0) {
        /* The server's answer to our auth message: only a refusal is
         * ever sent, and the server closes after it. */
        if (h->status != RPC_STATUS_OK)
            c->closed = LH_EAUTH;
        return;
    }
    int32_t i = slot_find(c, h->id, NULL);
    if (i < 0)
        return; /* already timed out */
    body rep;
    if (body_new(&rep, c->a_api, h->len) < 0 ||
        body_append(&rep, p, h->len) < 0) {
        /* No memory for the reply object: complete the call without it
         * rather than leave it hanging. */
        if (rep.buf || rep.msg)
            body_drop(&rep);
        rpc_reply r = {RPC_STATUS_ERROR, empty, 0};
        slot_complete(c, i, 0, &r);
        return;
    }
    const uint8_t *bp = body_data(&rep);
    rpc_reply r = {h->status, bp ? bp : empty, body_len(&rep)};
    slot_complete(c, i, 0, &r);
    body_drop(&rep);
}

/* Handles every whole frame buffered.  0, or the error that kills the
 * stream. */
static int client_parse(rpc_client *c)
{
    while (lh_buf_len(&c->in) >= HEADER_SIZE && !c->closed) {
        header h;
        header_read(lh_buf_peek(&c->in), &h);
        int rc = header_check(&h, KIND_REPLY);
        if (rc < 0)
            return rc;
        if (lh_buf_len(&c->in) < HEADER_SIZE + (size_t)h.len)
            break;
        client_reply(c, &h, lh_buf_peek(&c->in) + HEADER_SIZE);
        lh_buf_consume(&c->in, HEADER_SIZE + (size_t)h.len);
    }
    return 0;
}

static void client_expire(rpc_client *c)
{
    if (c->head < 0)
        return;
    int64_t now = lh_now_us();
    while (c->head >= 0 && c->slots[c->head].deadline_us <= now)
        slot_complete(c, c->head, LH_ETIMEOUT, NULL);
}

int rpc_client_process(rpc_client *c, short revents)
{
    if (c->closed)
        return LH_ECLOSED;
    int rc = flush_out(c->fd, &c->out);
    if (rc < 0)
        goto dead;
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        size_t got = 0;
        while (got < READ_BUDGET) {
            rc = read_some(c->fd, &c->in);
            if (rc == LH_EAGAIN)
                break;
            if (rc < 0) {
                client_parse(c); /* what arrived before the EOF counts */
                goto dead;
            }
            got += (size_t)rc;
            rc = client_parse(c);
            if (rc < 0 || c->closed)
                goto dead;
        }
    }
    client_expire(c);
    return 0;
dead:
    client_fail(c, LH_ECLOSED);
    return LH_ECLOSED;
}

int rpc_client_feed(rpc_client *c, const void *data, size_t len)
{
    if (c->closed)
        return LH_ECLOSED;
    if (lh_buf_append(&c->in, data, len) < 0)
        return LH_ENOMEM;
    if (client_parse(c) < 0 || c->closed) {
        client_fail(c, LH_ECLOSED);
        return LH_ECLOSED;
    }
    return 0;
}

int rpc_client_next_timeout_ms(const rpc_client *c)
{
    if (c->head < 0)
        return -1;
    int64_t left = c->slots[c->head].deadline_us - lh_now_us();
    if (left <= 0)
        return 0;
    return (int)((left + 999) / 1000);
}

unsigned rpc_client_inflight(const rpc_client *c)
{
    return c->inflight;
}

typedef struct sync_ctx {
    int finished;
    int rc;
    void *out;
    uint32_t cap;
    uint32_t *out_len;
} sync_ctx;

static void sync_done(void *arg, int err, const rpc_reply *reply)
{
    sync_ctx *s = arg;
    s->finished = 1;
    if (err < 0) {
        s->rc = err;
        return;
    }
    uint32_t n = reply->body_len < s->cap ? reply->body_len : s->cap;
    if (n > 0)
        memcpy(s->out, reply->body, n);
    if (s->out_len)
        *s->out_len = reply->body_len;
    s->rc = reply->body_len > s->cap ? LH_ETRUNC : reply->status;
}

int rpc_client_call_sync(rpc_client *c, uint8_t method, const void *body_p,
                         uint32_t len, void *out, uint32_t cap,
                         uint32_t *out_len)
{
    if (out == NULL && cap > 0)
        return LH_EINVAL;
    sync_ctx s = {0, 0, out, cap, out_len};
    int rc = rpc_client_call(c, method, body_p, len, sync_done, &s);
    if (rc < 0)
        return rc;
    while (!s.finished) {
        struct pollfd pfd = {c->fd, rpc_client_events(c), 0};
        int timeout = rpc_client_next_timeout_ms(c);
        int n = poll(&pfd, 1, timeout);
        if (n < 0 && errno != EINTR) {
            client_fail(c, LH_ECLOSED);
            break;
        }
        rpc_client_process(c, n > 0 ? pfd.revents : 0);
    }
    return s.rc;
}

/* ---- server ------------------------------------------------------------ */

typedef struct conn {
    int fd;
    int authed;
    int64_t auth_by; /* refused if not authed by then */
    int eof;
    lh_buf in, out;
} conn;

struct rpc_server {
    int lfd;
    char *token;
    unsigned a_api;
    rpc_handler_fn handler;
    void *arg;
    conn **conns;
    size_t nconns, cap;
    struct pollfd *pfds;
    size_t pfd_cap;
    rpc_server_stats stats;
};

struct rpc_out {
    body b;
    int err;
};

static void count(uint64_t *counter)
{
    __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

int rpc_out_append(rpc_out *out, const void *data, uint32_t len)
{
    if (out->err)
        return out->err;
    if (len > RPC_MAX_BODY - body_len(&out->b)) {
        out->err = LH_ETOOBIG;
        return LH_ETOOBIG;
    }
    int rc = body_append(&out->b, data, len);
    if (rc < 0)
        out->err = rc;
    return rc;
}

int rpc_server_new(const char *host, uint16_t port, const rpc_opts *opts,
                   rpc_handler_fn handler, void *arg, rpc_server **out,
                   uint16_t *port_out)
{
    int rc = LH_ENOMEM;
    if (host == NULL || handler == NULL || out == NULL)
        return LH_EINVAL;
    if (opts && opts->a_api > RPC_A_MSG)
        return LH_EINVAL;
    rpc_server *s = lh_calloc(1, sizeof(*s));
    if (s == NULL)
        return LH_ENOMEM;
    s->lfd = -1;
    s->handler = handler;
    s->arg = arg;
    s->a_api = opts ? opts->a_api : RPC_A_BUF;
    if (opts && opts->auth_token) {
        if (strlen(opts->auth_token) > RPC_MAX_TOKEN) {
            rc = LH_ETOOBIG;
            goto out;
        }
        s->token = lh_strdup(opts->auth_token);
        if (s->token == NULL)
            goto out;
    }
    rc = lh_net_listen(host, port, port_out);
    if (rc < 0)
        goto out;
    s->lfd = rc;
    *out = s;
    s = NULL;
    rc = 0;
out:
    rpc_server_free(s);
    return rc;
}

static void conn_free(conn *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    lh_buf_free(&c->in);
    lh_buf_free(&c->out);
    lh_free(c);
}

void rpc_server_free(rpc_server *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nconns; i++)
        conn_free(s->conns[i]);
    if (s->lfd >= 0)
        close(s->lfd);
    lh_free(s->conns);
    lh_free(s->pfds);
    lh_free(s->token);
    lh_free(s);
}

void rpc_server_get_stats(const rpc_server *s, rpc_server_stats *out)
{
    out->requests = __atomic_load_n(&s->stats.requests, __ATOMIC_RELAXED);
    out->bad_frames = __atomic_load_n(&s->stats.bad_frames, __ATOMIC_RELAXED);
    out->connections =
        __atomic_load_n(&s->stats.connections, __ATOMIC_RELAXED);
    out->refused = __atomic_load_n(&s->stats.refused, __ATOMIC_RELAXED);
}

static void server_accept(rpc_server *s)
{
    for (;;) {
        int fd = lh_net_accept(s->lfd);
        if (fd < 0)
            return; /* LH_EAGAIN, or a transient error: poll tells again */
        void *v = s->conns;
        int rc = lh_grow(&v, &s->cap, s->nconns + 1, sizeof(*s->conns), 16);
        s->conns = v;
        if (rc != 0) {
            close(fd);
            return;
        }
        conn *c = lh_calloc(1, sizeof(*c));
        if (c == NULL) {
            close(fd);
            return;
        }
        c->fd = fd;
        c->authed = s->token == NULL;
        c->auth_by = lh_now_us() + AUTH_TIMEOUT_US;
        s->conns[s->nconns++] = c;
        count(&s->stats.connections);
    }
}

/* Refuses a connection that did not authenticate: one DENIED reply, sent
 * best-effort, then the caller closes. */
static void server_refuse(rpc_server *s, conn *c)
{
    uint8_t hdr[HEADER_SIZE];
    header_write(hdr, KIND_REPLY, 0, RPC_METHOD_AUTH, RPC_STATUS_DENIED, 0);
    lh_buf_reset(&c->out);
    if (lh_buf_append(&c->out, hdr, sizeof(hdr)) == 0)
        flush_out(c->fd, &c->out);
    count(&s->stats.refused);
}

/* Compares in time that depends on the server's token length only, not on
 * where the offered token differs. */
static int token_matches(const rpc_server *s, const uint8_t *p, uint32_t n)
{
    size_t want = strlen(s->token);
    unsigned diff = n != want;
    for (size_t i = 0; i < want; i++)
        diff |= (unsigned)(uint8_t)s->token[i] ^ (i < n ? p[i] : 0u);
    return diff == 0;
}

/* Serves one request: body in an A object, reply written by the handler
 * into another, both released with A's inline cleanup.  0 or LH_ENOMEM
 * (the connection is then closed: its reply could not be queued). */
static int server_request(rpc_server *s, conn *c, const header *h,
                          const uint8_t *p)
{
    body req;
    rpc_out out;
    int rc = body_new(&req, s->a_api, h->len);
    if (rc < 0)
        return rc;
    rc = body_append(&req, p, h->len);
    if (rc < 0)
        goto out_req;
    rc = body_new(&out.b, s->a_api, 256);
    if (rc < 0)
        goto out_req;
    out.err = 0;
    count(&s->stats.requests);
    const uint8_t *bp = body_data(&req);
    uint8_t status = s->handler(s->arg, h->method, bp ? bp : empty,
                                body_len(&req), &out);
    uint8_t hdr[HEADER_SIZE];
    if (out.err) {
        body_drop(&out.b);
        rc = body_new(&out.b, s->a_api, 0);
        if (rc < 0)
            goto out_req;
        status = RPC_STATUS_ERROR;
    }
    header_write(hdr, KIND_REPLY, h->id, h->method, status,
                 body_len(&out.b));
    rc = body_queue(&out.b, &c->out, hdr);
    body_drop(&out.b);
out_req:
    body_drop(&req);
    return rc;
}

/* Handles the buffered whole frames of c.  0, or < 0 to close it. */
static int server_parse(rpc_server *s, conn *c)
{
    while (lh_buf_len(&c->in) >= HEADER_SIZE &&
           lh_buf_len(&c->out) < OUT_HIGH_WATER) {
        header h;
        header_read(lh_buf_peek(&c->in), &h);
        int rc = header_check(&h, KIND_REQUEST);
        if (rc < 0) {
            count(&s->stats.bad_frames);
            return rc;
        }
        if (!c->authed &&
            (h.method != RPC_METHOD_AUTH || h.len > RPC_MAX_TOKEN)) {
            /* Refused at the header: no waiting for a body. */
            server_refuse(s, c);
            return LH_EAUTH;
        }
        if (lh_buf_len(&c->in) < HEADER_SIZE + (size_t)h.len)
            return 0;
        const uint8_t *p = lh_buf_peek(&c->in) + HEADER_SIZE;
        if (h.method == RPC_METHOD_AUTH) {
            if (s->token && !c->authed && !token_matches(s, p, h.len)) {
                server_refuse(s, c);
                return LH_EAUTH;
            }
            c->authed = 1;
        } else {
            rc = server_request(s, c, &h, p);
            if (rc < 0)
                return rc;
        }
        lh_buf_consume(&c->in, HEADER_SIZE + (size_t)h.len);
    }
    return 0;
}

/* Does the I/O poll allowed on c.  0, or < 0 to close it. */
static int server_conn(rpc_server *s, conn *c, short revents)
{
    int rc = flush_out(c->fd, &c->out);
    if (rc < 0)
        return rc;
    if ((revents & (POLLIN | POLLHUP | POLLERR)) && !c->eof &&
        lh_buf_len(&c->out) < OUT_HIGH_WATER) {
        size_t got = 0;
        while (got < READ_BUDGET) {
            rc = read_some(c->fd, &c->in);
            if (rc == LH_EAGAIN)
                break;
            if (rc == LH_ECLOSED) {
                c->eof = 1;
                break;
            }
            if (rc < 0)
                return rc;
            got += (size_t)rc;
            rc = server_parse(s, c);
            if (rc < 0)
                return rc;
            if (lh_buf_len(&c->out) >= OUT_HIGH_WATER)
                break;
        }
    }
    rc = server_parse(s, c); /* frames held back by the high-water mark */
    if (rc < 0)
        return rc;
    rc = flush_out(c->fd, &c->out);
    if (rc < 0)
        return rc;
    if (c->eof && lh_buf_len(&c->out) == 0)
        return LH_ECLOSED;
    return 0;
}

int rpc_server_run(rpc_server *s, volatile int *stop)
{
    while (!*stop) {
        size_t n = s->nconns + 1;
        void *v = s->pfds;
        int grown = lh_grow(&v, &s->pfd_cap, n, sizeof(*s->pfds), 16);
        s->pfds = v;
        if (grown != 0) {
            lh_sleep_us(10000); /* out of memory: try again soon */
            continue;
        }
        s->pfds[0] = (struct pollfd){s->lfd, POLLIN, 0};
        for (size_t i = 0; i < s->nconns; i++) {
            conn *c = s->conns[i];
            short ev = 0;
            if (!c->eof && lh_buf_len(&c->out) < OUT_HIGH_WATER)
                ev |= POLLIN;
            if (lh_buf_len(&c->out) > 0)
                ev |= POLLOUT;
            s->pfds[i + 1] = (struct pollfd){c->fd, ev, 0};
        }
        int rc = poll(s->pfds, (nfds_t)n, 100);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return LH_ESYS;
        }
        if (rc == 0 && s->token == NULL)
            continue;
        /* Connections first (their pollfds are indexed as they stand),
         * then new ones. */
        size_t kept = 0;
        for (size_t i = 0; i < s->nconns; i++) {
            conn *c = s->conns[i];
            short rev = s->pfds[i + 1].revents;
            if (!c->authed && rev == 0 && lh_now_us() >= c->auth_by) {
                server_refuse(s, c); /* silent too long */
                conn_free(c);
                continue;
            }
            if (rev == 0 && lh_buf_len(&c->out) == 0) {
                s->conns[kept++] = c;
                continue;
            }
            if (server_conn(s, c, rev) < 0)
                conn_free(c);
            else
                s->conns[kept++] = c;
        }
        s->nconns = kept;
        if (s->pfds[0].revents & POLLIN)
            server_accept(s);
    }
    return 0;
}

struct rpc_server_thread {
    rpc_server *s;
    pthread_t thread;
    volatile int stop;
    int rc; /* rpc_server_run's */
};

static void *server_thread_main(void *arg)
{
    rpc_server_thread *t = arg;
    t->rc = rpc_server_run(t->s, &t->stop);
    return NULL;
}

int rpc_server_thread_start(rpc_server *s, rpc_server_thread **out)
{
    rpc_server_thread *t = lh_calloc(1, sizeof(*t));
    if (t == NULL)
        return LH_ENOMEM;
    t->s = s;
    if (pthread_create(&t->thread, NULL, server_thread_main, t) != 0) {
        lh_free(t);
        return LH_ESYS;
    }
    *out = t;
    return 0;
}

int rpc_server_thread_stop(rpc_server_thread *t)
{
    if (t == NULL)
        return 0;
    t->stop = 1;
    pthread_join(t->thread, NULL);
    int rc = t->rc;
    lh_free(t);
    return rc;
}

int rpc_server_feed(rpc_server *s, const void *data, size_t len)
{
    conn *c = lh_calloc(1, sizeof(*c));
    int rc = LH_ENOMEM;
    if (c == NULL)
        return rc;
    c->fd = -1;
    c->authed = s->token == NULL;
    if (lh_buf_append(&c->in, data, len) < 0)
        goto out;
    for (;;) {
        rc = server_parse(s, c);
        if (rc < 0 || lh_buf_len(&c->out) < OUT_HIGH_WATER)
            break;
        lh_buf_reset(&c->out); /* replies go nowhere */
    }
out:
    conn_free(c);
    return rc;
}

/* ---- library A as seen from here ---------------------------------------- */

int rpc_liba_header_version(void)
{
    return A_VERSION;
}

int rpc_liba_runtime_version(void)
{
    return a_version();
}

void rpc_liba_live(size_t *count, size_t *bytes)
{
    a_live_stats(count, bytes);
}

/* ---- store value encoding ---------------------------------------------- */

size_t rpc_value_size(const rpc_value *v)
{
    return RPC_VALUE_HEADER_SIZE + (size_t)v->key_len + (size_t)v->value_len;
}

int rpc_value_encode(const rpc_value *v, uint8_t *buf, size_t cap)
{
    if (v == NULL || buf == NULL || (v->key == NULL && v->key_len > 0) ||
        (v->value == NULL && v->value_len > 0))
        return LH_EINVAL;
    size_t n = rpc_value_size(v);
    if (n > cap || n > (size_t)INT32_MAX)
        return LH_ERANGE;
    lh_put_le64(buf, v->version);
    lh_put_le32(buf + 8, v->checksum);
    lh_put_le16(buf + 12, v->key_len);
    lh_put_le16(buf + 14, 0);
    lh_put_le32(buf + 16, v->value_len);
    if (v->key_len)
        memcpy(buf + RPC_VALUE_HEADER_SIZE, v->key, v->key_len);
    if (v->value_len)
        memcpy(buf + RPC_VALUE_HEADER_SIZE + v->key_len, v->value,
               v->value_len);
    return (int)n;
}

int rpc_value_decode(const uint8_t *buf, size_t len, rpc_value *out)
{
    if (buf == NULL || out == NULL)
        return LH_EINVAL;
    if (len < RPC_VALUE_HEADER_SIZE)
        return LH_ETRUNC;
    if (lh_get_le16(buf + 14) != 0)
        return LH_EPARSE;
    uint16_t key_len = lh_get_le16(buf + 12);
    uint32_t value_len = lh_get_le32(buf + 16);
    size_t need = RPC_VALUE_HEADER_SIZE + (size_t)key_len + (size_t)value_len;
    if (len < need)
        return LH_ETRUNC;
    if (len > need)
        return LH_EBADLEN;
    out->version = lh_get_le64(buf);
    out->checksum = lh_get_le32(buf + 8);
    out->key_len = key_len;
    out->key = buf + RPC_VALUE_HEADER_SIZE;
    out->value_len = value_len;
    out->value = buf + RPC_VALUE_HEADER_SIZE + key_len;
    return 0;
}
