/*
 * rpc.h - a small RPC framework (the "third-party" framework of the story).
 *
 * Client and server speak request/response messages over one TCP
 * connection; each request carries a request id, so many requests are in
 * flight at once (pipelining) and replies are matched by id.  Requests time
 * out; the number in flight is bounded.  Message buffers come from library
 * A (a_buf, see ../liba/), the way the article's framework used its library:
 * this framework is compiled against one version of A's header, and the
 * process may be linked or run with another.
 *
 * Everything is non-blocking and driven by the caller's poll loop:
 * rpc_client_fd / rpc_client_events tell what to poll for, and
 * rpc_client_process does the work and calls completion callbacks.  A
 * blocking convenience (rpc_client_call_sync) exists for simple callers.
 *
 * Wire format of a message (little-endian):
 *   magic u16 0x5250 ("RP"), version u8 1, kind u8 (1 request, 2 reply),
 *   request id u32, method u8, status u8 (replies; 0 ok), reserved u16,
 *   body length u32 (<= RPC_MAX_BODY), body.
 * Errors are lh error codes (core/error.h).
 */
#ifndef RPC_H
#define RPC_H

#include <stddef.h>
#include <stdint.h>

#define RPC_MAX_BODY (1u << 20)
#define RPC_MAX_TOKEN 256u /* bytes of an auth token */
#define RPC_DEFAULT_TIMEOUT_MS 2000
#define RPC_DEFAULT_MAX_INFLIGHT 4096

/* Store methods (the only service we run; other methods are the server
 * handler's business). */
enum {
    RPC_METHOD_GET = 1, /* body: key bytes.  reply: rpc_value or status NOTFOUND */
    RPC_METHOD_PUT = 2, /* body: rpc_value encoding.  reply: empty */
    RPC_METHOD_PING = 3,
    /* Reserved by the framework: the auth token (body), sent first by a
     * client whose opts carry one.  Never reaches the handler. */
    RPC_METHOD_AUTH = 255,
};

/* Reply statuses. */
enum {
    RPC_STATUS_OK = 0,
    RPC_STATUS_NOTFOUND = 1,
    RPC_STATUS_BADREQ = 2,
    RPC_STATUS_ERROR = 3,
    RPC_STATUS_DENIED = 4, /* auth refused (reply id 0), then the server closes */
};

/* Which library-A API carries message bodies (rpc_opts.a_api).  Both are
 * used per call on each side; the choice selects which ABI break of A v2
 * a v1-compiled framework runs into (repro/liba/v2/a.h). */
enum {
    RPC_A_BUF = 0, /* a_buf + inline a_buf_release (variant 1: grown struct) */
    RPC_A_MSG = 1, /* a_msg + inline a_msg_ref/unref (variant 2: swapped members) */
};

typedef struct rpc_opts {
    int timeout_ms;      /* per request; 0: RPC_DEFAULT_TIMEOUT_MS */
    unsigned max_inflight; /* 0: RPC_DEFAULT_MAX_INFLIGHT */
    const char *auth_token; /* sent on connect; NULL: none; at most
                               RPC_MAX_TOKEN bytes (else LH_ETOOBIG).
                               Server: when set, a connection's first
                               message must be RPC_METHOD_AUTH carrying it
                               (compared in constant time) and arrive
                               within 5 s of the accept, else the
                               connection is refused and closed at that
                               message's header */
    unsigned a_api;        /* RPC_A_BUF (0, default) or RPC_A_MSG */
} rpc_opts;

/* A reply handed to a completion callback; body valid only during it (never
 * NULL, even when body_len is 0). */
typedef struct rpc_reply {
    uint8_t status;
    const uint8_t *body;
    uint32_t body_len;
} rpc_reply;

/* err is 0 with a reply, or LH_ETIMEOUT / LH_ECLOSED with reply NULL
 * (LH_EAUTH when the server refused the auth token).  A callback may queue
 * new calls; it must not free the client. */
typedef void (*rpc_done_fn)(void *arg, int err, const rpc_reply *reply);

typedef struct rpc_client rpc_client;

/* Connects to "host:port".  0 and *out, or an lh error code. */
int rpc_client_connect(const char *addr, const rpc_opts *opts,
                       rpc_client **out);

/* Closes the connection; pending requests complete with LH_ECLOSED.
 * Accepts NULL. */
void rpc_client_free(rpc_client *c);

/* Queues a request.  0, LH_EFULL (max_inflight reached, or 4 MiB of
 * requests wait to be written to a server that does not read: retry after
 * processing), LH_ETOOBIG, LH_ECLOSED, or LH_ENOMEM.  `done` is
 * called exactly once for every request that was accepted. */
int rpc_client_call(rpc_client *c, uint8_t method, const void *body,
                    uint32_t len, rpc_done_fn done, void *arg);

/* The socket, and the poll events it needs now (POLLIN, plus POLLOUT while
 * output is queued). */
int rpc_client_fd(const rpc_client *c);
short rpc_client_events(const rpc_client *c);

/* Does the I/O that `revents` allows, completes replies, expires requests
 * whose deadline passed.  0, or LH_ECLOSED when the connection died (all
 * pending requests have then been completed with LH_ECLOSED). */
int rpc_client_process(rpc_client *c, short revents);

/* Milliseconds until the earliest request deadline (-1: none in flight),
 * for the caller's poll timeout. */
int rpc_client_next_timeout_ms(const rpc_client *c);

/* For tests and fuzzing: handles `data` as if it had arrived on c's socket
 * (replies complete their calls).  0, LH_ENOMEM (nothing taken), or
 * LH_ECLOSED when the bytes kill the stream (a bad header; pending calls
 * are then completed with LH_ECLOSED, as rpc_client_process would). */
int rpc_client_feed(rpc_client *c, const void *data, size_t len);

unsigned rpc_client_inflight(const rpc_client *c);

/* Blocking call: sends, waits up to the timeout, copies the reply body into
 * out[0..cap) (*out_len set).  Returns the reply status (>= 0) or an lh
 * error code: those of rpc_client_call, LH_ETIMEOUT, LH_ECLOSED, LH_EAUTH,
 * or LH_ETRUNC when the body was longer than cap (*out_len is then the full
 * length and out holds its first cap bytes).  Other requests in flight
 * complete normally while it waits. */
int rpc_client_call_sync(rpc_client *c, uint8_t method, const void *body,
                         uint32_t len, void *out, uint32_t cap,
                         uint32_t *out_len);

/* Server side. */
typedef struct rpc_server rpc_server;

/* Handler: fills the reply body (an a_buf-backed writer) and returns a
 * status.  Called on the server's thread, one request at a time. */
typedef struct rpc_out rpc_out;
/* 0, LH_ETOOBIG (body would exceed RPC_MAX_BODY) or LH_ENOMEM; after a
 * failure the reply is sent with RPC_STATUS_ERROR and an empty body. */
int rpc_out_append(rpc_out *out, const void *data, uint32_t len);

typedef uint8_t (*rpc_handler_fn)(void *arg, uint8_t method,
                                  const uint8_t *body, uint32_t len,
                                  rpc_out *out);

/* Listens on host:port (0: kernel picks; *port_out set when not NULL).
 * opts may be NULL.  0 and *out, or LH_EINVAL / LH_ESYS / LH_ENOMEM. */
int rpc_server_new(const char *host, uint16_t port, const rpc_opts *opts,
                   rpc_handler_fn handler, void *arg, rpc_server **out,
                   uint16_t *port_out);

/* Serves until *stop becomes non-zero (checked at least every 100 ms).
 * A connection that sends a bad frame (wrong magic or version, not a
 * request, body over RPC_MAX_BODY) is closed and counted in bad_frames;
 * the others are served on.  0, or LH_ESYS when poll fails. */
int rpc_server_run(rpc_server *s, volatile int *stop);

/* rpc_server_run on a thread of its own, for a server and its clients in
 * one process (tests, benchmarks, abi-repro).  0 and *out, or LH_ENOMEM /
 * LH_ESYS.  rpc_server_thread_stop stops the loop, joins the thread and
 * returns what rpc_server_run returned; the server itself stays (free it
 * after).  Stop accepts NULL (and returns 0). */
typedef struct rpc_server_thread rpc_server_thread;
int rpc_server_thread_start(rpc_server *s, rpc_server_thread **out);
int rpc_server_thread_stop(rpc_server_thread *t);

/* For tests and fuzzing: serves `data` as the bytes one new connection
 * sent (then closed), without a socket; replies are discarded.  0, or the
 * error that would close the connection (a bad frame, counted in
 * bad_frames; an auth refusal, counted in refused; LH_ENOMEM). */
int rpc_server_feed(rpc_server *s, const void *data, size_t len);

/* Closes the listener and every connection.  Accepts NULL. */
void rpc_server_free(rpc_server *s);

/* Counters (safe to read from another thread while the server runs):
 * requests handled, bad frames seen, connections accepted, connections
 * refused for a missing or wrong auth token. */
typedef struct rpc_server_stats {
    uint64_t requests, bad_frames, connections, refused;
} rpc_server_stats;
void rpc_server_get_stats(const rpc_server *s, rpc_server_stats *out);

/* Library A as this framework sees it: the A_VERSION of the a.h it was
 * compiled against, the version of the A actually linked or loaded
 * (a_version()), and A's registry of live objects (count and bytes; either
 * pointer may be NULL).  When the two versions differ, the process has the
 * article's ABI mismatch. */
int rpc_liba_header_version(void);
int rpc_liba_runtime_version(void);
void rpc_liba_live(size_t *count, size_t *bytes);

/* The store's value encoding used by GET replies and PUT requests:
 *   version u64, checksum u32, key_len u16, reserved u16, value_len u32,
 *   key, value. */
typedef struct rpc_value {
    const uint8_t *key;
    uint16_t key_len;
    const uint8_t *value;
    uint32_t value_len;
    uint32_t checksum;
    uint64_t version;
} rpc_value;

#define RPC_VALUE_HEADER_SIZE 20u

/* Encoded size of v. */
size_t rpc_value_size(const rpc_value *v);

/* Writes v into buf.  Returns the bytes written (rpc_value_size), LH_EINVAL
 * (NULL pointer with a non-zero length) or LH_ERANGE (cap too small,
 * nothing written). */
int rpc_value_encode(const rpc_value *v, uint8_t *buf, size_t cap);

/* Parses an encoding; out's pointers point into buf.  0, LH_ETRUNC (shorter
 * than its header or its lengths), LH_EBADLEN (bytes left over after the
 * value), LH_EPARSE (reserved field not zero).  out unchanged on failure. */
int rpc_value_decode(const uint8_t *buf, size_t len, rpc_value *out);

#endif
