/*
 * fuzz_rpc.c - libFuzzer target for the RPC framework's message decoding
 * (repro/rpc/rpc.h): the server's request parsing (with and without an
 * auth token), the client's reply parsing, and the store's value encoding.
 *
 * Input: byte 0 picks the mode (its value modulo 4), the rest is the
 * stream:
 *   0  requests to a server without a token (rpc_server_feed);
 *   1  the same to a server that requires the token "fuzz-token";
 *   2  replies to a client with byte 1 % 9 calls in flight (ids 1..n),
 *      fed in chunks whose sizes come from byte 2 (rpc_client_feed);
 *   3  rpc_value_decode of the bytes.
 * The server's handler is the store's shape: GET answers with a value
 * built from the key, PUT decodes its body as an rpc_value.
 *
 * Checks: a bad frame is counted once in bad_frames, a refusal once in
 * refused, a clean stream in neither; every accepted client call completes
 * exactly once (a reply, or LH_ECLOSED when the stream dies or the client
 * is freed) with a readable body; a value that decodes encodes back to the
 * same bytes.
 *
 * Seeds: tests/fuzz/make_seeds_rpc.py writes corpus/fuzz_rpc/.
 */
#include "error.h"
#include "net.h"
#include "rpc.h"

#define FUZZ_TARGET "fuzz_rpc"
#include "fuzz_check.h"

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CALLS 8

static rpc_server *open_srv, *token_srv;
static int client_lfd = -1;
static char client_addr[64];

/* Decodes a value and checks that it encodes back to the same bytes.
 * 1 when it decoded. */
static int value_round_trip(const uint8_t *p, size_t n)
{
    rpc_value v;
    memset(&v, 0xa5, sizeof v);
    rpc_value before = v;
    int rc = rpc_value_decode(p, n, &v);
    if (rc != 0) {
        CHECK(rc == LH_ETRUNC || rc == LH_EBADLEN || rc == LH_EPARSE);
        CHECK(memcmp(&v, &before, sizeof v) == 0); /* out unchanged */
        return 0;
    }
    CHECK(rpc_value_size(&v) == n);
    uint8_t *back = malloc(n ? n : 1);
    CHECK(back != NULL);
    CHECK(rpc_value_encode(&v, back, n) == (int)n);
    CHECK(memcmp(back, p, n) == 0);
    if (n > 0)
        CHECK(rpc_value_encode(&v, back, n - 1) == LH_ERANGE);
    free(back);
    return 1;
}

static uint8_t handler(void *arg, uint8_t method, const uint8_t *body,
                       uint32_t len, rpc_out *out)
{
    (void)arg;
    CHECK(body != NULL);
    if (method == RPC_METHOD_GET) {
        if (len == 0 || len > UINT16_MAX)
            return RPC_STATUS_BADREQ;
        rpc_value v = {body, (uint16_t)len, body, len, 0, 1};
        size_t n = rpc_value_size(&v);
        uint8_t *buf = malloc(n);
        CHECK(buf != NULL);
        CHECK(rpc_value_encode(&v, buf, n) == (int)n);
        int rc = rpc_out_append(out, buf, (uint32_t)n);
        free(buf);
        CHECK(rc == 0 || rc == LH_ETOOBIG);
        return RPC_STATUS_OK;
    }
    if (method == RPC_METHOD_PUT) {
        uint8_t r = (uint8_t)value_round_trip(body, len);
        rpc_out_append(out, &r, 1);
        return r ? RPC_STATUS_OK : RPC_STATUS_BADREQ;
    }
    if (method == RPC_METHOD_PING)
        return RPC_STATUS_OK;
    return RPC_STATUS_BADREQ;
}

static void setup(void)
{
    if (open_srv != NULL)
        return;
    rpc_opts tok = {.auth_token = "fuzz-token"};
    uint16_t port = 0;
    CHECK(rpc_server_new("127.0.0.1", 0, NULL, handler, NULL, &open_srv,
                         NULL) == 0);
    CHECK(rpc_server_new("127.0.0.1", 0, &tok, handler, NULL, &token_srv,
                         NULL) == 0);
    client_lfd = lh_net_listen("127.0.0.1", 0, &port);
    CHECK(client_lfd >= 0);
    snprintf(client_addr, sizeof client_addr, "127.0.0.1:%u", port);
}

static void fuzz_server(rpc_server *s, const uint8_t *p, size_t n)
{
    rpc_server_stats a, b;
    rpc_server_get_stats(s, &a);
    int rc = rpc_server_feed(s, p, n);
    rpc_server_get_stats(s, &b);
    int bad = rc == LH_EBADMAGIC || rc == LH_EBADVERSION || rc == LH_EPARSE ||
              rc == LH_ETOOBIG;
    CHECK(rc == 0 || bad || rc == LH_EAUTH);
    CHECK(b.bad_frames == a.bad_frames + (uint64_t)bad);
    CHECK(b.refused == a.refused + (uint64_t)(rc == LH_EAUTH));
    CHECK(b.requests >= a.requests);
}

typedef struct call {
    int done;
    int err;
} call;

static void on_done(void *arg, int err, const rpc_reply *r)
{
    call *c = arg;
    CHECK(c->done == 0);
    c->done = 1;
    c->err = err;
    if (err == 0) {
        CHECK(r != NULL && r->body != NULL && r->body_len <= RPC_MAX_BODY);
        volatile uint8_t sum = 0;
        for (uint32_t i = 0; i < r->body_len; i++)
            sum ^= r->body[i];
        (void)sum;
    } else {
        CHECK(r == NULL);
        CHECK(err == LH_ECLOSED || err == LH_EAUTH);
    }
}

static void fuzz_client(const uint8_t *p, size_t n)
{
    if (n < 2)
        return;
    unsigned ncalls = p[0] % (MAX_CALLS + 1);
    unsigned seed = p[1];
    p += 2;
    n -= 2;

    rpc_opts o = {.max_inflight = MAX_CALLS, .a_api = seed & 1};
    rpc_client *c = NULL;
    call calls[MAX_CALLS];
    memset(calls, 0, sizeof calls);
    CHECK(rpc_client_connect(client_addr, &o, &c) == 0);
    int fd = lh_net_accept(client_lfd); /* keep the backlog empty */
    if (fd >= 0)
        close(fd);
    for (unsigned i = 0; i < ncalls; i++)
        CHECK(rpc_client_call(c, RPC_METHOD_GET, "k", 1, on_done, &calls[i]) ==
              0);

    size_t at = 0;
    unsigned s = seed | 1;
    int rc = 0;
    while (at < n && rc == 0) {
        s = s * 1103515245u + 12345u;
        size_t chunk = 1 + (s >> 16) % 64;
        if (chunk > n - at)
            chunk = n - at;
        rc = rpc_client_feed(c, p + at, chunk);
        CHECK(rc == 0 || rc == LH_ECLOSED);
        at += chunk;
    }
    if (rc == LH_ECLOSED) {
        for (unsigned i = 0; i < ncalls; i++)
            CHECK(calls[i].done);
        CHECK(rpc_client_inflight(c) == 0);
        CHECK(rpc_client_feed(c, "x", 1) == LH_ECLOSED);
    }
    rpc_client_free(c);
    for (unsigned i = 0; i < ncalls; i++)
        CHECK(calls[i].done == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    setup();
    switch (data[0] % 4) {
    case 0:
        fuzz_server(open_srv, data + 1, size - 1);
        break;
    case 1:
        fuzz_server(token_srv, data + 1, size - 1);
        break;
    case 2:
        fuzz_client(data + 1, size - 1);
        break;
    default:
        value_round_trip(data + 1, size - 1);
        break;
    }
    return 0;
}
