/*
 * test_rpc.c - the RPC framework (repro/rpc) over real loopback sockets.
 *
 * A real rpc_server runs on a thread for most tests; where the test needs a
 * peer that misbehaves on purpose (replies out of order, never replies),
 * the peer is a raw socket driven by the test itself.
 */
#include "rpc.h"

#include "a.h"
#include "alloc.h"
#include "clock.h"
#include "cu_main.h"
#include "error.h"
#include "net.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { M_ECHO = 10, M_HUGE = 11, M_STATUS = 12 };

/* ---- a real server on a thread --------------------------------------- */

typedef struct server {
    rpc_server *s;
    pthread_t thread;
    volatile int stop;
    char addr[32];
} server;

static uint8_t handler(void *arg, uint8_t method, const uint8_t *body,
                       uint32_t len, rpc_out *out)
{
    (void)arg;
    switch (method) {
    case M_ECHO:
        rpc_out_append(out, body, len);
        return RPC_STATUS_OK;
    case M_HUGE: {
        static uint8_t chunk[65536];
        for (int i = 0; i < 17; i++)
            if (rpc_out_append(out, chunk, sizeof(chunk)) < 0)
                break;
        return RPC_STATUS_OK;
    }
    case M_STATUS:
        return len > 0 ? body[0] : RPC_STATUS_ERROR;
    default:
        return RPC_STATUS_BADREQ;
    }
}

static void *server_main(void *arg)
{
    server *sv = arg;
    rpc_server_run(sv->s, &sv->stop);
    return NULL;
}

static int server_start(server *sv, const rpc_opts *opts)
{
    uint16_t port = 0;
    memset(sv, 0, sizeof(*sv));
    int rc = rpc_server_new("127.0.0.1", 0, opts, handler, NULL, &sv->s,
                            &port);
    if (rc < 0)
        return rc;
    snprintf(sv->addr, sizeof(sv->addr), "127.0.0.1:%u", (unsigned)port);
    if (pthread_create(&sv->thread, NULL, server_main, sv) != 0) {
        rpc_server_free(sv->s);
        return LH_ESYS;
    }
    return 0;
}

static void server_stop(server *sv)
{
    sv->stop = 1;
    pthread_join(sv->thread, NULL);
    rpc_server_free(sv->s);
}

/* A server (with `so`) and one client of it (with `co`). */
static rpc_client *serve_and_connect(server *sv, const rpc_opts *so,
                                     const rpc_opts *co)
{
    rpc_client *c = NULL;
    CU_ASSERT_FATAL(server_start(sv, so) == 0);
    CU_ASSERT_FATAL(rpc_client_connect(sv->addr, co, &c) == 0);
    return c;
}

/* ---- raw sockets -------------------------------------------------------- */

static int wait_fd(int fd, short ev, int ms)
{
    struct pollfd p = {fd, ev, 0};
    return poll(&p, 1, ms);
}

/* Reads exactly n bytes within about `ms`.  0, or -1. */
static int read_full(int fd, void *buf, size_t n, int ms)
{
    uint8_t *p = buf;
    int64_t end = lh_now_us() + (int64_t)ms * 1000;
    while (n > 0) {
        if (wait_fd(fd, POLLIN, 50) < 0 || lh_now_us() > end)
            return -1;
        ssize_t r = recv(fd, p, n, MSG_DONTWAIT);
        if (r == 0)
            return -1;
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                wait_fd(fd, POLLOUT, 50);
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* 1 when the peer closed fd within `ms`, 0 otherwise. */
static int peer_closed(int fd, int ms)
{
    uint8_t b[256];
    int64_t end = lh_now_us() + (int64_t)ms * 1000;
    while (lh_now_us() < end) {
        wait_fd(fd, POLLIN, 50);
        ssize_t r = recv(fd, b, sizeof(b), MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return 1;
    }
    return 0;
}

static void put_header(uint8_t h[16], uint16_t magic, uint8_t version,
                       uint8_t kind, uint32_t id, uint8_t method,
                       uint8_t status, uint32_t len)
{
    h[0] = (uint8_t)magic;
    h[1] = (uint8_t)(magic >> 8);
    h[2] = version;
    h[3] = kind;
    memcpy(h + 4, &id, 4); /* little-endian host (x86-64) */
    h[8] = method;
    h[9] = status;
    h[10] = h[11] = 0;
    memcpy(h + 12, &len, 4);
}

/* ---- completion bookkeeping ------------------------------------------ */

typedef struct result {
    int calls;
    int err;
    uint8_t status;
    uint32_t len;
    uint8_t body[64];
} result;

static void on_done(void *arg, int err, const rpc_reply *reply)
{
    result *r = arg;
    r->calls++;
    r->err = err;
    if (reply) {
        r->status = reply->status;
        r->len = reply->body_len;
        memcpy(r->body, reply->body,
               reply->body_len < sizeof(r->body) ? reply->body_len
                                                 : sizeof(r->body));
    }
}

/* Drives the client until `pred` holds or `ms` pass. */
static void drive(rpc_client *c, int (*pred)(void *), void *arg, int ms)
{
    int64_t end = lh_now_us() + (int64_t)ms * 1000;
    while (!pred(arg) && lh_now_us() < end) {
        struct pollfd p = {rpc_client_fd(c), rpc_client_events(c), 0};
        int n = poll(&p, 1, 20);
        if (rpc_client_process(c, n > 0 ? p.revents : 0) < 0)
            break;
    }
}

/* ---- tests ------------------------------------------------------------- */

typedef struct many {
    result *r;
    int n;
    int done;
} many;

static void on_many(void *arg, int err, const rpc_reply *reply)
{
    result *r = arg;
    on_done(r, err, reply);
}

static int many_done(void *arg)
{
    many *m = arg;
    int d = 0;
    for (int i = 0; i < m->n; i++)
        d += m->r[i].calls;
    m->done = d;
    return d == m->n;
}

static void test_rpc_pipelines_many_requests_and_matches_replies(void)
{
    server sv;
    rpc_opts o = {.max_inflight = 128};
    rpc_client *c = serve_and_connect(&sv, NULL, &o);
    enum { N = 5000 };
    static result r[N];
    memset(r, 0, sizeof(r));
    int sent = 0;
    unsigned peak = 0;
    int64_t end = lh_now_us() + 20 * 1000000LL;
    many m = {r, N, 0};
    while (!many_done(&m) && lh_now_us() < end) {
        while (sent < N) {
            uint32_t v = (uint32_t)sent;
            int rc = rpc_client_call(c, M_ECHO, &v, sizeof(v), on_many,
                                     &r[sent]);
            if (rc == LH_EFULL)
                break;
            CU_ASSERT_FATAL(rc == 0);
            sent++;
        }
        if (rpc_client_inflight(c) > peak)
            peak = rpc_client_inflight(c);
        struct pollfd p = {rpc_client_fd(c), rpc_client_events(c), 0};
        int n = poll(&p, 1, 50);
        CU_ASSERT_FATAL(rpc_client_process(c, n > 0 ? p.revents : 0) == 0);
    }
    int ok = 0;
    for (int i = 0; i < N; i++) {
        uint32_t v;
        memcpy(&v, r[i].body, sizeof(v));
        if (r[i].calls == 1 && r[i].err == 0 && r[i].len == 4 &&
            v == (uint32_t)i)
            ok++;
    }
    CU_ASSERT_EQUAL(ok, N);
    CU_ASSERT(peak > 1); /* really pipelined */
    CU_ASSERT(peak <= 128);
    rpc_server_stats st;
    rpc_server_get_stats(sv.s, &st);
    CU_ASSERT_EQUAL(st.requests, N);
    rpc_client_free(c);
    server_stop(&sv);
}

static int fake_listen(uint16_t *port, char *addr, size_t cap)
{
    int fd = lh_net_listen("127.0.0.1", 0, port);
    snprintf(addr, cap, "127.0.0.1:%u", (unsigned)*port);
    return fd;
}

static int fake_accept(int lfd)
{
    for (int i = 0; i < 100; i++) {
        int fd = lh_net_accept(lfd);
        if (fd >= 0)
            return fd;
        wait_fd(lfd, POLLIN, 20);
    }
    return -1;
}

/* A raw peer: a listener on loopback and an rpc client connected to it
 * (the kernel completes the connection before anyone accepts it); fd is
 * the accepted side once raw_accept ran, else -1. */
typedef struct raw {
    int lfd;
    int fd;
    char addr[32];
    rpc_client *c;
} raw;

static void raw_connect(raw *r, const rpc_opts *o)
{
    uint16_t port;
    r->fd = -1;
    r->c = NULL;
    r->lfd = fake_listen(&port, r->addr, sizeof(r->addr));
    CU_ASSERT_FATAL(r->lfd >= 0);
    CU_ASSERT_FATAL(rpc_client_connect(r->addr, o, &r->c) == 0);
}

static void raw_accept(raw *r)
{
    r->fd = fake_accept(r->lfd);
    CU_ASSERT_FATAL(r->fd >= 0);
}

/* Frees the client (when the test has not) and closes the sockets. */
static void raw_close(raw *r)
{
    rpc_client_free(r->c);
    if (r->fd >= 0)
        close(r->fd);
    close(r->lfd);
}

/* A raw peer on a thread: reads n (at most 64) requests with a body of
 * `len` (at most 4) bytes each, then answers them, in order or last first,
 * echoing each body; then waits for the client to close. */
typedef struct echo_peer {
    int lfd;
    int n;
    uint32_t len;
    int last_first;
    int ok;
    pthread_t thread;
} echo_peer;

static void *echo_peer_main(void *arg)
{
    echo_peer *ep = arg;
    int fd = fake_accept(ep->lfd);
    if (fd < 0)
        return NULL;
    uint8_t hdr[64][16];
    uint8_t body[64][4];
    for (int i = 0; i < ep->n; i++) {
        if (read_full(fd, hdr[i], 16, 5000) < 0 ||
            read_full(fd, body[i], ep->len, 5000) < 0)
            goto out;
    }
    for (int k = 0; k < ep->n; k++) {
        int i = ep->last_first ? ep->n - 1 - k : k;
        uint8_t h[16];
        uint32_t id;
        memcpy(&id, hdr[i] + 4, 4);
        put_header(h, 0x5250, 1, 2, id, hdr[i][8], 0, ep->len);
        if (write_full(fd, h, 16) < 0 ||
            write_full(fd, body[i], ep->len) < 0)
            goto out;
    }
    ep->ok = 1;
    peer_closed(fd, 5000);
out:
    close(fd);
    return NULL;
}

static void echo_peer_start(echo_peer *ep)
{
    CU_ASSERT_FATAL(pthread_create(&ep->thread, NULL, echo_peer_main, ep) ==
                    0);
}

static void test_rpc_replies_out_of_order_are_matched_by_id(void)
{
    raw rw;
    raw_connect(&rw, NULL);
    rpc_client *c = rw.c;
    /* Reads 32 requests, then answers them last first. */
    echo_peer ep = {rw.lfd, 32, 4, 1, 0, 0};
    echo_peer_start(&ep);
    result r[32];
    memset(r, 0, sizeof(r));
    for (uint32_t i = 0; i < 32; i++)
        CU_ASSERT_FATAL(rpc_client_call(c, M_ECHO, &i, 4, on_done, &r[i]) ==
                        0);
    many m = {r, 32, 0};
    drive(c, many_done, &m, 5000);
    CU_ASSERT_EQUAL(m.done, 32);
    for (uint32_t i = 0; i < 32; i++) {
        uint32_t v;
        memcpy(&v, r[i].body, 4);
        CU_ASSERT_EQUAL(r[i].err, 0);
        CU_ASSERT_EQUAL(v, i);
    }
    rpc_client_free(c);
    rw.c = NULL;
    pthread_join(ep.thread, NULL);
    CU_ASSERT(ep.ok);
    raw_close(&rw);
}

static int one_done(void *arg)
{
    return ((result *)arg)->calls > 0;
}

static void test_rpc_request_times_out_when_server_never_replies(void)
{
    rpc_opts o = {.timeout_ms = 150};
    raw rw;
    raw_connect(&rw, &o);
    raw_accept(&rw);
    rpc_client *c = rw.c;
    CU_ASSERT_EQUAL(rpc_client_next_timeout_ms(c), -1);
    result r = {0};
    int64_t t0 = lh_now_us();
    CU_ASSERT_FATAL(rpc_client_call(c, M_ECHO, "x", 1, on_done, &r) == 0);
    int left = rpc_client_next_timeout_ms(c);
    CU_ASSERT(left > 0 && left <= 150);
    drive(c, one_done, &r, 3000);
    int64_t took = lh_now_us() - t0;
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT_EQUAL(r.err, LH_ETIMEOUT);
    CU_ASSERT(took >= 150000 && took < 2000000);
    CU_ASSERT_EQUAL(rpc_client_inflight(c), 0);
    /* The sync helper reports the same. */
    char out[8];
    uint32_t n = 0;
    CU_ASSERT_EQUAL(rpc_client_call_sync(c, M_ECHO, "y", 1, out, sizeof(out),
                                         &n),
                    LH_ETIMEOUT);
    raw_close(&rw);
}

static int two_done(void *arg)
{
    result *r = arg;
    return r[0].calls > 0 && r[1].calls > 0;
}

static void test_rpc_late_reply_after_timeout_is_dropped(void)
{
    rpc_opts o = {.timeout_ms = 150};
    raw rw;
    raw_connect(&rw, &o);
    rpc_client *c = rw.c;
    /* Answers request 1 only once request 2 is in - and the client sends
     * that only after request 1 timed out - then request 2. */
    echo_peer ep = {rw.lfd, 2, 1, 0, 0, 0};
    echo_peer_start(&ep);
    result r[2];
    memset(r, 0, sizeof(r));
    CU_ASSERT_FATAL(rpc_client_call(c, M_ECHO, "a", 1, on_done, &r[0]) == 0);
    drive(c, one_done, &r[0], 3000);
    CU_ASSERT_EQUAL(r[0].err, LH_ETIMEOUT);
    /* The second call is sent after the first timed out; the peer answers
     * both, the first one late. */
    CU_ASSERT_FATAL(rpc_client_call(c, M_ECHO, "b", 1, on_done, &r[1]) == 0);
    drive(c, two_done, r, 3000);
    CU_ASSERT_EQUAL(r[0].calls, 1); /* not called again by the late reply */
    CU_ASSERT_EQUAL(r[1].calls, 1);
    CU_ASSERT_EQUAL(r[1].err, 0);
    CU_ASSERT_EQUAL(r[1].body[0], 'b');
    rpc_client_free(c);
    rw.c = NULL;
    pthread_join(ep.thread, NULL);
    CU_ASSERT(ep.ok);
    raw_close(&rw);
}

static void test_rpc_server_serves_others_while_one_peer_does_not_read(void)
{
    server sv;
    CU_ASSERT_FATAL(server_start(&sv, NULL) == 0);
    /* A raw peer floods echo requests and never reads its replies. */
    int fd = lh_net_connect(sv.addr, 2000);
    CU_ASSERT_FATAL(fd >= 0);
    static uint8_t frame[16 + 65536];
    put_header(frame, 0x5250, 1, 1, 1, M_ECHO, 0, 65536);
    size_t sent = 0;
    int64_t end = lh_now_us() + 5000000;
    while (sent < (size_t)64 << 20 && lh_now_us() < end) {
        size_t off = sent % sizeof(frame);
        ssize_t n = send(fd, frame + off, sizeof(frame) - off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent += (size_t)n;
            continue;
        }
        if (wait_fd(fd, POLLOUT, 500) == 0)
            break; /* the server stopped reading us */
    }
    /* Well over the server's high-water mark went out... */
    CU_ASSERT(sent > (size_t)4 << 20);
    CU_ASSERT(sent < (size_t)64 << 20); /* ...and then it stopped reading */
    /* ...and another client is served all the same. */
    rpc_client *c = NULL;
    CU_ASSERT_FATAL(rpc_client_connect(sv.addr, NULL, &c) == 0);
    char out[8];
    uint32_t n = 0;
    CU_ASSERT_EQUAL(rpc_client_call_sync(c, M_ECHO, "ok", 2, out, sizeof(out),
                                         &n),
                    RPC_STATUS_OK);
    rpc_client_free(c);
    close(fd);
    server_stop(&sv);
}

static void test_rpc_call_over_max_inflight_is_full(void)
{
    rpc_opts o = {.max_inflight = 4};
    raw rw;
    raw_connect(&rw, &o);
    rpc_client *c = rw.c;
    result r[5];
    memset(r, 0, sizeof(r));
    for (int i = 0; i < 4; i++)
        CU_ASSERT(rpc_client_call(c, M_ECHO, "a", 1, on_done, &r[i]) == 0);
    CU_ASSERT_EQUAL(rpc_client_call(c, M_ECHO, "a", 1, on_done, &r[4]),
                    LH_EFULL);
    CU_ASSERT_EQUAL(rpc_client_inflight(c), 4);
    rpc_client_free(c); /* completes the four with LH_ECLOSED */
    rw.c = NULL;
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(r[i].calls, 1);
        CU_ASSERT_EQUAL(r[i].err, LH_ECLOSED);
    }
    CU_ASSERT_EQUAL(r[4].calls, 0);
    raw_close(&rw);
}

static void test_rpc_calls_to_a_server_that_does_not_read_stop_at_full(void)
{
    enum { BODY = 16384, MAX = 4096 };
    /* Short timeouts free slots as fast as the caller fills them, as a
     * caller that retries would; only the queued bytes can say stop. */
    rpc_opts o = {.max_inflight = MAX, .timeout_ms = 1};
    raw rw;
    raw_connect(&rw, &o);
    raw_accept(&rw); /* accepted, never read */
    rpc_client *c = rw.c;
    uint8_t *body = lh_calloc(1, BODY);
    CU_ASSERT_FATAL(body != NULL);
    result r = {0};
    int rc = 0, sent = 0;
    for (int i = 0; i < 4 * MAX && rc == 0; i++) {
        rc = rpc_client_call(c, M_ECHO, body, BODY, on_done, &r);
        sent += rc == 0;
        lh_sleep_us(rc == 0 && i % 64 == 0 ? 2000 : 0);
        CU_ASSERT(rpc_client_process(c, POLLOUT) == 0);
    }
    CU_ASSERT_EQUAL(rc, LH_EFULL);
    /* Stopped by the bytes (about 4 MiB plus what the kernel took), not
     * by the slots: the timed-out calls freed theirs. */
    CU_ASSERT(rpc_client_inflight(c) < MAX);
    CU_ASSERT(sent < 4 * MAX);
    CU_ASSERT(r.calls > 0 && r.err == LH_ETIMEOUT);
    raw_close(&rw);
    lh_free(body);
}

static void test_rpc_call_rejects_oversize_body(void)
{
    raw rw;
    raw_connect(&rw, NULL);
    rpc_client *c = rw.c;
    result r = {0};
    static uint8_t big[RPC_MAX_BODY + 1];
    CU_ASSERT_EQUAL(rpc_client_call(c, M_ECHO, big, sizeof(big), on_done, &r),
                    LH_ETOOBIG);
    CU_ASSERT_EQUAL(rpc_client_inflight(c), 0);
    rpc_client_free(c);
    rw.c = NULL;
    CU_ASSERT_EQUAL(r.calls, 0);
    raw_close(&rw);
}

/* Sends `bytes` on a fresh raw connection and reports whether the server
 * closed it. */
static int server_closes_after(const char *addr, const void *bytes, size_t n)
{
    int fd = lh_net_connect(addr, 2000);
    if (fd < 0)
        return 0;
    write_full(fd, bytes, n);
    int closed = peer_closed(fd, 3000);
    close(fd);
    return closed;
}

static void test_rpc_server_closes_bad_frames_and_serves_others(void)
{
    server sv;
    rpc_client *good = serve_and_connect(&sv, NULL, NULL);
    char out[16];
    uint32_t n = 0;
    CU_ASSERT_EQUAL(rpc_client_call_sync(good, M_ECHO, "hi", 2, out,
                                         sizeof(out), &n),
                    RPC_STATUS_OK);

    uint8_t h[16];
    const char garbage[] = "GET / HTTP/1.0\r\n\r\n";
    CU_ASSERT(server_closes_after(sv.addr, garbage, sizeof(garbage) - 1));
    put_header(h, 0x5251, 1, 1, 7, M_ECHO, 0, 0); /* wrong magic */
    CU_ASSERT(server_closes_after(sv.addr, h, 16));
    put_header(h, 0x5250, 9, 1, 7, M_ECHO, 0, 0); /* wrong version */
    CU_ASSERT(server_closes_after(sv.addr, h, 16));
    put_header(h, 0x5250, 1, 2, 7, M_ECHO, 0, 0); /* a reply, not a request */
    CU_ASSERT(server_closes_after(sv.addr, h, 16));
    put_header(h, 0x5250, 1, 1, 7, M_ECHO, 0, RPC_MAX_BODY + 1); /* oversize */
    CU_ASSERT(server_closes_after(sv.addr, h, 16));

    /* The good connection is still served. */
    CU_ASSERT_EQUAL(rpc_client_call_sync(good, M_ECHO, "again", 5, out,
                                         sizeof(out), &n),
                    RPC_STATUS_OK);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT(memcmp(out, "again", 5) == 0);
    rpc_server_stats st;
    rpc_server_get_stats(sv.s, &st);
    CU_ASSERT_EQUAL(st.bad_frames, 5);
    CU_ASSERT_EQUAL(st.connections, 6);
    rpc_client_free(good);
    server_stop(&sv);
}

/* One echo call from a new client with `o`: its status.  A client that
 * was refused stays closed. */
static int echo_as(const char *addr, const rpc_opts *o)
{
    rpc_client *c = NULL;
    char out[16];
    uint32_t n = 0;
    CU_ASSERT_FATAL(rpc_client_connect(addr, o, &c) == 0);
    int rc = rpc_client_call_sync(c, M_ECHO, "x", 1, out, sizeof(out), &n);
    if (rc == LH_EAUTH)
        CU_ASSERT_EQUAL(rpc_client_call(c, M_ECHO, "x", 1, on_done, NULL),
                        LH_ECLOSED);
    rpc_client_free(c);
    return rc;
}

static void test_rpc_server_refuses_missing_or_wrong_token(void)
{
    server sv;
    rpc_opts so = {.auth_token = "s3cret"};
    CU_ASSERT_FATAL(server_start(&sv, &so) == 0);
    rpc_opts wrong = {.auth_token = "guess"}, right = {.auth_token = "s3cret"};
    CU_ASSERT_EQUAL(echo_as(sv.addr, &wrong), LH_EAUTH);
    CU_ASSERT_EQUAL(echo_as(sv.addr, NULL), LH_EAUTH);
    CU_ASSERT_EQUAL(echo_as(sv.addr, &right), RPC_STATUS_OK);
    rpc_server_stats st;
    rpc_server_get_stats(sv.s, &st);
    CU_ASSERT_EQUAL(st.refused, 2);
    CU_ASSERT_EQUAL(st.requests, 1);
    server_stop(&sv);
}

static void test_rpc_server_refuses_at_the_header_before_auth(void)
{
    server sv;
    rpc_opts so = {.auth_token = "s3cret"};
    CU_ASSERT_FATAL(server_start(&sv, &so) == 0);
    uint8_t h[16];
    /* An auth message longer than RPC_MAX_TOKEN, and a request before any
     * auth: both refused at their header, with no body ever sent (the
     * server must not wait for one). */
    put_header(h, 0x5250, 1, 1, 0, RPC_METHOD_AUTH, 0, RPC_MAX_TOKEN + 1);
    CU_ASSERT(server_closes_after(sv.addr, h, 16));
    put_header(h, 0x5250, 1, 1, 1, M_ECHO, 0, 100);
    CU_ASSERT(server_closes_after(sv.addr, h, 16));
    rpc_server_stats st;
    rpc_server_get_stats(sv.s, &st);
    CU_ASSERT_EQUAL(st.refused, 2);
    CU_ASSERT_EQUAL(st.bad_frames, 0);
    CU_ASSERT_EQUAL(st.requests, 0);
    server_stop(&sv);
}

static void test_rpc_token_over_limit_is_too_big(void)
{
    char tok[RPC_MAX_TOKEN + 2];
    memset(tok, 't', sizeof(tok) - 1);
    tok[sizeof(tok) - 1] = '\0';
    rpc_opts o = {.auth_token = tok};
    rpc_client *c = NULL;
    rpc_server *s = NULL;
    CU_ASSERT_EQUAL(rpc_client_connect("127.0.0.1:1", &o, &c), LH_ETOOBIG);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(rpc_server_new("127.0.0.1", 0, &o, handler, NULL, &s,
                                   NULL),
                    LH_ETOOBIG);
    CU_ASSERT_PTR_NULL(s);
}

static void test_rpc_server_feed_serves_then_counts_a_bad_frame(void)
{
    rpc_server *s = NULL;
    rpc_opts so = {.auth_token = "s3cret"};
    CU_ASSERT_FATAL(rpc_server_new("127.0.0.1", 0, &so, handler, NULL, &s,
                                   NULL) == 0);
    uint8_t in[16 + 6 + 16 + 2 + 16];
    put_header(in, 0x5250, 1, 1, 0, RPC_METHOD_AUTH, 0, 6);
    memcpy(in + 16, "s3cret", 6);
    put_header(in + 22, 0x5250, 1, 1, 1, M_ECHO, 0, 2);
    memcpy(in + 38, "hi", 2);
    put_header(in + 40, 0x5250, 7, 1, 2, M_ECHO, 0, 0); /* wrong version */
    CU_ASSERT_EQUAL(rpc_server_feed(s, in, 40), 0);
    CU_ASSERT_EQUAL(rpc_server_feed(s, in, sizeof(in)), LH_EBADVERSION);
    CU_ASSERT_EQUAL(rpc_server_feed(s, in + 22, 18), LH_EAUTH);
    in[16] = 'S'; /* wrong token */
    CU_ASSERT_EQUAL(rpc_server_feed(s, in, 40), LH_EAUTH);
    rpc_server_stats st;
    rpc_server_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.requests, 2);
    CU_ASSERT_EQUAL(st.bad_frames, 1);
    CU_ASSERT_EQUAL(st.refused, 2);
    rpc_server_free(s);
}

static void test_rpc_client_feed_completes_calls_and_dies_on_bad_header(void)
{
    server sv;
    rpc_client *c = serve_and_connect(&sv, NULL, NULL);
    result r1, r2;
    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    CU_ASSERT_FATAL(rpc_client_call(c, M_ECHO, "a", 1, on_done, &r1) == 0);
    CU_ASSERT_FATAL(rpc_client_call(c, M_ECHO, "b", 1, on_done, &r2) == 0);
    uint8_t rep[16 + 3 + 16];
    put_header(rep, 0x5250, 1, 2, 2, M_ECHO, 0, 3);
    memcpy(rep + 16, "xyz", 3);
    put_header(rep + 19, 0x5250, 1, 1, 1, M_ECHO, 0, 0); /* not a reply */
    CU_ASSERT_EQUAL(rpc_client_feed(c, rep, 10), 0); /* half a header */
    CU_ASSERT_EQUAL(r2.calls, 0);
    CU_ASSERT_EQUAL(rpc_client_feed(c, rep + 10, 9), 0);
    CU_ASSERT_EQUAL(r2.calls, 1);
    CU_ASSERT_EQUAL(r2.err, 0);
    CU_ASSERT_EQUAL(r2.len, 3);
    CU_ASSERT(memcmp(r2.body, "xyz", 3) == 0);
    CU_ASSERT_EQUAL(r1.calls, 0);
    CU_ASSERT_EQUAL(rpc_client_feed(c, rep + 19, 16), LH_ECLOSED);
    CU_ASSERT_EQUAL(r1.calls, 1);
    CU_ASSERT_EQUAL(r1.err, LH_ECLOSED);
    CU_ASSERT_EQUAL(rpc_client_inflight(c), 0);
    rpc_client_free(c);
    server_stop(&sv);
}

static void test_rpc_sync_call_returns_status_and_truncates(void)
{
    server sv;
    rpc_client *c = serve_and_connect(&sv, NULL, NULL);
    char out[4];
    uint32_t n = 0;
    uint8_t st = RPC_STATUS_NOTFOUND;
    CU_ASSERT_EQUAL(rpc_client_call_sync(c, M_STATUS, &st, 1, out,
                                         sizeof(out), &n),
                    RPC_STATUS_NOTFOUND);
    CU_ASSERT_EQUAL(rpc_client_call_sync(c, 99, NULL, 0, out, sizeof(out),
                                         &n),
                    RPC_STATUS_BADREQ);
    CU_ASSERT_EQUAL(rpc_client_call_sync(c, M_ECHO, "abcdef", 6, out,
                                         sizeof(out), &n),
                    LH_ETRUNC);
    CU_ASSERT_EQUAL(n, 6);
    CU_ASSERT(memcmp(out, "abcd", 4) == 0);
    /* A handler that overflows the body gets an ERROR reply, empty. */
    CU_ASSERT_EQUAL(rpc_client_call_sync(c, M_HUGE, NULL, 0, out,
                                         sizeof(out), &n),
                    RPC_STATUS_ERROR);
    CU_ASSERT_EQUAL(n, 0);
    rpc_client_free(c);
    server_stop(&sv);
}

static void test_rpc_pending_calls_close_when_server_goes(void)
{
    raw rw;
    raw_connect(&rw, NULL);
    raw_accept(&rw);
    rpc_client *c = rw.c;
    result r = {0};
    CU_ASSERT_FATAL(rpc_client_call(c, M_ECHO, "x", 1, on_done, &r) == 0);
    close(rw.fd);
    rw.fd = -1;
    drive(c, one_done, &r, 3000);
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT_EQUAL(r.err, LH_ECLOSED);
    CU_ASSERT_EQUAL(rpc_client_process(c, POLLIN), LH_ECLOSED);
    raw_close(&rw);
}

static void test_rpc_msg_api_carries_bodies_too(void)
{
    rpc_opts o = {.a_api = RPC_A_MSG};
    server sv;
    rpc_client *c = serve_and_connect(&sv, &o, &o);
    char out[16];
    uint32_t n = 0;
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(rpc_client_call_sync(c, M_ECHO, "msg", 3, out,
                                             sizeof(out), &n),
                        RPC_STATUS_OK);
    CU_ASSERT(memcmp(out, "msg", 3) == 0);
    rpc_client_free(c);
    server_stop(&sv);
}

static void test_rpc_calls_leave_nothing_in_liba_registry(void)
{
    /* Built against A v1 and linked with A v1: every object goes back. */
    size_t before = 0, after = 0;
    a_live_stats(&before, NULL);
    for (unsigned api = RPC_A_BUF; api <= RPC_A_MSG; api++) {
        rpc_opts o = {.a_api = api};
        server sv;
        rpc_client *c = serve_and_connect(&sv, &o, &o);
        char out[16];
        uint32_t n;
        for (int i = 0; i < 200; i++)
            rpc_client_call_sync(c, M_ECHO, "abc", 3, out, sizeof(out), &n);
        rpc_client_free(c);
        server_stop(&sv);
    }
    a_live_stats(&after, NULL);
    CU_ASSERT_EQUAL(after, before);
    CU_ASSERT_EQUAL(a_version(), 1);
}

static void test_rpc_connect_and_call_fail_cleanly_without_memory(void)
{
    /* A raw listener, not a server thread: the fault counter is
     * process-wide, and a server allocating concurrently would take the
     * injected failure. */
    uint16_t port;
    char addr[32];
    int lfd = fake_listen(&port, addr, sizeof(addr));
    CU_ASSERT_FATAL(lfd >= 0);
    rpc_opts o = {.auth_token = "t"};
    int saw_nomem = 0;
    for (long k = 0; k < 8; k++) {
        rpc_client *c = NULL;
        lh_alloc_fail_after(k, 0);
        int rc = rpc_client_connect(addr, &o, &c);
        lh_alloc_fail_after(-1, 0);
        if (rc == LH_ENOMEM) {
            saw_nomem++;
            CU_ASSERT_PTR_NULL(c);
            continue;
        }
        CU_ASSERT_EQUAL(rc, 0);
        rpc_client_free(c);
    }
    CU_ASSERT(saw_nomem >= 3); /* client, slots, buckets, auth bytes */

    rpc_client *c = NULL;
    CU_ASSERT_FATAL(rpc_client_connect(addr, NULL, &c) == 0);
    result r = {0};
    static uint8_t body[4096];
    lh_alloc_fail_after(0, 1);
    int rc = rpc_client_call(c, M_ECHO, body, sizeof(body), on_done, &r);
    lh_alloc_fail_after(-1, 0);
    CU_ASSERT_EQUAL(rc, LH_ENOMEM);
    CU_ASSERT_EQUAL(rpc_client_inflight(c), 0);
    rpc_client_free(c);
    CU_ASSERT_EQUAL(r.calls, 0);
    close(lfd);

    rpc_server *s = NULL;
    rpc_opts so = {.auth_token = "t"};
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(rpc_server_new("127.0.0.1", 0, &so, handler, NULL, &s,
                                   NULL),
                    LH_ENOMEM);
    lh_alloc_fail_after(1, 0);
    CU_ASSERT_EQUAL(rpc_server_new("127.0.0.1", 0, &so, handler, NULL, &s,
                                   NULL),
                    LH_ENOMEM);
    lh_alloc_fail_after(-1, 0);
    CU_ASSERT_PTR_NULL(s);
}

static void test_rpc_value_round_trips(void)
{
    rpc_value v = {(const uint8_t *)"key1", 4, (const uint8_t *)"value", 5,
                   0xdeadbeef, 42};
    uint8_t buf[64];
    CU_ASSERT_EQUAL(rpc_value_size(&v), RPC_VALUE_HEADER_SIZE + 9);
    int n = rpc_value_encode(&v, buf, sizeof(buf));
    CU_ASSERT_EQUAL(n, (int)rpc_value_size(&v));
    rpc_value d;
    CU_ASSERT_EQUAL(rpc_value_decode(buf, (size_t)n, &d), 0);
    CU_ASSERT_EQUAL(d.version, 42);
    CU_ASSERT_EQUAL(d.checksum, 0xdeadbeef);
    CU_ASSERT_EQUAL(d.key_len, 4);
    CU_ASSERT_EQUAL(d.value_len, 5);
    CU_ASSERT(memcmp(d.key, "key1", 4) == 0);
    CU_ASSERT(memcmp(d.value, "value", 5) == 0);
    /* Empty key and value are fine too. */
    rpc_value e = {NULL, 0, NULL, 0, 1, 2};
    CU_ASSERT_EQUAL(rpc_value_encode(&e, buf, sizeof(buf)),
                    (int)RPC_VALUE_HEADER_SIZE);
    CU_ASSERT_EQUAL(rpc_value_decode(buf, RPC_VALUE_HEADER_SIZE, &d), 0);
    CU_ASSERT_EQUAL(d.key_len, 0);
}

static void test_rpc_value_rejects_malformed_encodings(void)
{
    rpc_value v = {(const uint8_t *)"k", 1, (const uint8_t *)"vv", 2, 7, 9};
    uint8_t buf[64];
    int n = rpc_value_encode(&v, buf, sizeof(buf));
    CU_ASSERT_FATAL(n == 23);
    rpc_value d = {0};
    d.version = 1234;
    /* Shorter than the header, shorter than its lengths, longer. */
    CU_ASSERT_EQUAL(rpc_value_decode(buf, 19, &d), LH_ETRUNC);
    CU_ASSERT_EQUAL(rpc_value_decode(buf, (size_t)n - 1, &d), LH_ETRUNC);
    CU_ASSERT_EQUAL(rpc_value_decode(buf, (size_t)n + 1, &d), LH_EBADLEN);
    /* A key length that claims more than there is. */
    uint8_t bad[64];
    memcpy(bad, buf, (size_t)n);
    bad[12] = 0xff;
    bad[13] = 0xff;
    CU_ASSERT_EQUAL(rpc_value_decode(bad, (size_t)n, &d), LH_ETRUNC);
    /* A value length near 4 GiB must not wrap. */
    memcpy(bad, buf, (size_t)n);
    bad[16] = bad[17] = bad[18] = bad[19] = 0xff;
    CU_ASSERT_EQUAL(rpc_value_decode(bad, (size_t)n, &d), LH_ETRUNC);
    /* Reserved field set. */
    memcpy(bad, buf, (size_t)n);
    bad[14] = 1;
    CU_ASSERT_EQUAL(rpc_value_decode(bad, (size_t)n, &d), LH_EPARSE);
    CU_ASSERT_EQUAL(d.version, 1234); /* untouched by the failures */
    /* Encoding into too small a buffer writes nothing. */
    memset(bad, 0xaa, sizeof(bad));
    CU_ASSERT_EQUAL(rpc_value_encode(&v, bad, (size_t)n - 1), LH_ERANGE);
    CU_ASSERT_EQUAL(bad[0], 0xaa);
    rpc_value nul = {NULL, 3, NULL, 0, 0, 0};
    CU_ASSERT_EQUAL(rpc_value_encode(&nul, buf, sizeof(buf)), LH_EINVAL);
}

static CU_TestInfo tests[] = {
    {"pipelines many requests and matches replies",
     test_rpc_pipelines_many_requests_and_matches_replies},
    {"replies out of order are matched by id",
     test_rpc_replies_out_of_order_are_matched_by_id},
    {"request times out when server never replies",
     test_rpc_request_times_out_when_server_never_replies},
    {"late reply after timeout is dropped",
     test_rpc_late_reply_after_timeout_is_dropped},
    {"server serves others while one peer does not read",
     test_rpc_server_serves_others_while_one_peer_does_not_read},
    {"call over max inflight is full", test_rpc_call_over_max_inflight_is_full},
    {"calls to a server that does not read stop at full",
     test_rpc_calls_to_a_server_that_does_not_read_stop_at_full},
    {"call rejects oversize body", test_rpc_call_rejects_oversize_body},
    {"server closes bad frames and serves others",
     test_rpc_server_closes_bad_frames_and_serves_others},
    {"server refuses missing or wrong token",
     test_rpc_server_refuses_missing_or_wrong_token},
    {"server refuses at the header before auth",
     test_rpc_server_refuses_at_the_header_before_auth},
    {"token over limit is too big", test_rpc_token_over_limit_is_too_big},
    {"server feed serves then counts a bad frame",
     test_rpc_server_feed_serves_then_counts_a_bad_frame},
    {"client feed completes calls and dies on bad header",
     test_rpc_client_feed_completes_calls_and_dies_on_bad_header},
    {"sync call returns status and truncates",
     test_rpc_sync_call_returns_status_and_truncates},
    {"pending calls close when server goes",
     test_rpc_pending_calls_close_when_server_goes},
    {"msg api carries bodies too", test_rpc_msg_api_carries_bodies_too},
    {"calls leave nothing in liba registry",
     test_rpc_calls_leave_nothing_in_liba_registry},
    {"connect and call fail cleanly without memory",
     test_rpc_connect_and_call_fail_cleanly_without_memory},
    {"value round trips", test_rpc_value_round_trips},
    {"value rejects malformed encodings",
     test_rpc_value_rejects_malformed_encodings},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("rpc", tests)
