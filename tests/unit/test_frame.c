/*
 * test_frame.c - frame reader and writer, in memory and over real sockets.
 */
#include "cu_main.h"

#include "alloc.h"
#include "error.h"
#include "frame.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NFRAMES 5

/* Payload i of a test stream: length lens[i], bytes derived from i. */
static const uint32_t lens[NFRAMES] = {0, 1, 7, 300, 4096};

static void payload_bytes(uint8_t *p, uint32_t len, unsigned seed)
{
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed * 131 + i * 17);
}

/* Builds the test stream with the writer into w (pending bytes). */
static void queue_stream(lh_frame_writer *w)
{
    static uint8_t tmp[4096];
    for (unsigned i = 0; i < NFRAMES; i++) {
        payload_bytes(tmp, lens[i], i);
        CU_ASSERT_EQUAL_FATAL(
            lh_frame_writer_put(w, (uint8_t)(10 + i), tmp, lens[i]), 0);
    }
}

/* Takes every whole frame from r and checks it against the test stream
 * (repeated); *seen counts frames so far.  Returns the last
 * lh_frame_reader_next result (0 when it ran out of bytes). */
static int drain_and_check(lh_frame_reader *r, unsigned *seen)
{
    static uint8_t expect[4096];
    for (;;) {
        uint8_t type = 0;
        const uint8_t *p = NULL;
        uint32_t len = 0;
        int rc = lh_frame_reader_next(r, &type, &p, &len);
        if (rc <= 0)
            return rc;
        unsigned i = *seen % NFRAMES; /* streams may repeat */
        CU_ASSERT_EQUAL(type, 10 + i);
        CU_ASSERT_EQUAL_FATAL(len, lens[i]);
        payload_bytes(expect, len, i);
        CU_ASSERT(len == 0 || memcmp(p, expect, len) == 0);
        (*seen)++;
    }
}

/* What lh_frame_reader_next hands out. */
typedef struct frame_out {
    uint8_t type;
    const uint8_t *p;
    uint32_t len;
} frame_out;

static int next(lh_frame_reader *r, frame_out *g)
{
    return lh_frame_reader_next(r, &g->type, &g->p, &g->len);
}

/* A frame of `type` with `len` bytes of payload into out (room for
 * LH_FRAME_HEADER_SIZE + len); the bytes that make it, `size`. */
static size_t make_frame(uint8_t *out, uint8_t type, const void *payload,
                         uint32_t len)
{
    lh_frame_header(out, type, len);
    memcpy(out + LH_FRAME_HEADER_SIZE, payload, len);
    return LH_FRAME_HEADER_SIZE + len;
}

/* A reader (payload limit max, 0: the default) that was fed n bytes. */
static void fed_reader(lh_frame_reader *r, uint32_t max, const void *bytes,
                       size_t n)
{
    lh_frame_reader_init(r, max);
    CU_ASSERT_EQUAL_FATAL(lh_frame_reader_feed(r, bytes, n), 0);
}

static void test_frame_header_writes_the_documented_layout(void)
{
    uint8_t h[LH_FRAME_HEADER_SIZE];
    lh_frame_header(h, 0xab, 0x01020304u);
    const uint8_t expect[8] = {0x48, 0x4c, 1, 0xab, 0x04, 0x03, 0x02, 0x01};
    CU_ASSERT(memcmp(h, expect, 8) == 0);
}

static void test_frame_reader_returns_frames_the_writer_queued(void)
{
    lh_frame_writer w;
    lh_frame_writer_init(&w);
    queue_stream(&w);
    size_t total = 0;
    for (unsigned i = 0; i < NFRAMES; i++)
        total += LH_FRAME_HEADER_SIZE + lens[i];
    CU_ASSERT_EQUAL(lh_frame_writer_pending(&w), total);

    lh_frame_reader r;
    lh_frame_reader_init(&r, 0);
    CU_ASSERT_EQUAL(r.max_payload, LH_FRAME_DEFAULT_MAX);
    CU_ASSERT_EQUAL(lh_frame_reader_feed(&r, lh_buf_peek(&w.out),
                                         lh_frame_writer_pending(&w)),
                    0);
    unsigned seen = 0;
    CU_ASSERT_EQUAL(drain_and_check(&r, &seen), 0);
    CU_ASSERT_EQUAL(seen, NFRAMES);
    lh_frame_reader_free(&r);
    lh_frame_writer_free(&w);
}

static void test_frame_reader_fed_one_byte_at_a_time_yields_every_frame(void)
{
    lh_frame_writer w;
    lh_frame_writer_init(&w);
    queue_stream(&w);
    const uint8_t *bytes = lh_buf_peek(&w.out);
    size_t n = lh_frame_writer_pending(&w);

    lh_frame_reader r;
    lh_frame_reader_init(&r, 0);
    unsigned seen = 0;
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL_FATAL(lh_frame_reader_feed(&r, bytes + i, 1), 0);
        unsigned before = seen;
        CU_ASSERT_EQUAL(drain_and_check(&r, &seen), 0);
        CU_ASSERT(seen - before <= 1);
    }
    CU_ASSERT_EQUAL(seen, NFRAMES);
    CU_ASSERT_EQUAL(lh_buf_len(&r.in), 0);
    lh_frame_reader_free(&r);
    lh_frame_writer_free(&w);
}

static void test_frame_reader_handles_a_frame_split_at_every_point(void)
{
    uint8_t frame[LH_FRAME_HEADER_SIZE + 20];
    lh_frame_header(frame, 7, 20);
    payload_bytes(frame + LH_FRAME_HEADER_SIZE, 20, 3);
    for (size_t cut = 0; cut <= sizeof frame; cut++) {
        lh_frame_reader r;
        lh_frame_reader_init(&r, 64);
        uint8_t type;
        const uint8_t *p;
        uint32_t len;
        CU_ASSERT_EQUAL_FATAL(lh_frame_reader_feed(&r, frame, cut), 0);
        int first = lh_frame_reader_next(&r, &type, &p, &len);
        CU_ASSERT_EQUAL(first, cut == sizeof frame ? 1 : 0);
        if (first == 0) {
            CU_ASSERT_EQUAL_FATAL(
                lh_frame_reader_feed(&r, frame + cut, sizeof frame - cut), 0);
            CU_ASSERT_EQUAL_FATAL(lh_frame_reader_next(&r, &type, &p, &len), 1);
        }
        CU_ASSERT_EQUAL(type, 7);
        CU_ASSERT_EQUAL_FATAL(len, 20);
        CU_ASSERT(memcmp(p, frame + LH_FRAME_HEADER_SIZE, 20) == 0);
        CU_ASSERT_EQUAL(lh_frame_reader_next(&r, &type, &p, &len), 0);
        lh_frame_reader_free(&r);
    }
}

static void test_frame_reader_next_leaves_outputs_alone_without_a_frame(void)
{
    lh_frame_reader r;
    lh_frame_reader_init(&r, 0);
    uint8_t type = 99;
    const uint8_t *p = (const uint8_t *)"x";
    uint32_t len = 1234;
    CU_ASSERT_EQUAL(lh_frame_reader_next(&r, &type, &p, &len), 0);
    uint8_t hdr[LH_FRAME_HEADER_SIZE];
    lh_frame_header(hdr, 1, 5);
    CU_ASSERT_EQUAL_FATAL(lh_frame_reader_feed(&r, hdr, sizeof hdr), 0);
    CU_ASSERT_EQUAL(lh_frame_reader_next(&r, &type, &p, &len), 0);
    CU_ASSERT_EQUAL(type, 99);
    CU_ASSERT_EQUAL(len, 1234);
    lh_frame_reader_free(&r);
}

static void test_frame_reader_rejects_oversize_before_the_payload_arrives(void)
{
    lh_frame_reader r;
    frame_out g;
    uint8_t hdr[LH_FRAME_HEADER_SIZE];
    lh_frame_header(hdr, 1, 17);
    fed_reader(&r, 16, hdr, sizeof hdr);
    CU_ASSERT_EQUAL(next(&r, &g), LH_ETOOBIG);
    CU_ASSERT_EQUAL(next(&r, &g), LH_ETOOBIG);
    CU_ASSERT_EQUAL(lh_frame_reader_feed(&r, "x", 1), LH_ETOOBIG);
    lh_frame_reader_free(&r);

    /* A length of 0xffffffff against the default maximum. */
    lh_frame_header(hdr, 1, 0xffffffffu);
    fed_reader(&r, 0, hdr, sizeof hdr);
    CU_ASSERT_EQUAL(next(&r, &g), LH_ETOOBIG);
    lh_frame_reader_free(&r);
}

static void test_frame_reader_accepts_a_payload_of_exactly_the_maximum(void)
{
    uint8_t payload[16], frame[LH_FRAME_HEADER_SIZE + 16];
    memset(payload, 0x42, sizeof payload);
    lh_frame_reader r;
    frame_out g;
    fed_reader(&r, 16, frame, make_frame(frame, 2, payload, 16));
    CU_ASSERT_EQUAL(next(&r, &g), 1);
    CU_ASSERT_EQUAL(g.len, 16);
    lh_frame_reader_free(&r);
}

static void test_frame_reader_bad_magic_is_sticky(void)
{
    uint8_t good[LH_FRAME_HEADER_SIZE + 3];
    make_frame(good, 1, "abc", 3);
    uint8_t bad[sizeof good];
    memcpy(bad, good, sizeof good);
    bad[1] ^= 0x10;

    lh_frame_reader r;
    frame_out g;
    fed_reader(&r, 0, good, sizeof good);
    CU_ASSERT_EQUAL_FATAL(lh_frame_reader_feed(&r, bad, sizeof bad), 0);
    /* The good frame before the bad one is still delivered. */
    CU_ASSERT_EQUAL(next(&r, &g), 1);
    CU_ASSERT_EQUAL(next(&r, &g), LH_EBADMAGIC);
    CU_ASSERT_EQUAL(r.error, LH_EBADMAGIC);
    /* Nothing gets it back in sync: more input, a good frame, a socket. */
    CU_ASSERT_EQUAL(lh_frame_reader_feed(&r, good, sizeof good), LH_EBADMAGIC);
    CU_ASSERT_EQUAL(next(&r, &g), LH_EBADMAGIC);
    int sv[2];
    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CU_ASSERT_EQUAL(write(sv[1], good, sizeof good), (ssize_t)sizeof good);
    CU_ASSERT_EQUAL(lh_frame_reader_fill(&r, sv[0]), LH_EBADMAGIC);
    close(sv[0]);
    close(sv[1]);
    lh_frame_reader_free(&r);
}

static void test_frame_reader_bad_version_is_sticky(void)
{
    uint8_t frame[LH_FRAME_HEADER_SIZE];
    lh_frame_header(frame, 1, 0);
    frame[2] = LH_FRAME_VERSION + 1;
    lh_frame_reader r;
    frame_out g;
    fed_reader(&r, 0, frame, sizeof frame);
    CU_ASSERT_EQUAL(next(&r, &g), LH_EBADVERSION);
    lh_frame_header(frame, 1, 0);
    CU_ASSERT_EQUAL(lh_frame_reader_feed(&r, frame, sizeof frame),
                    LH_EBADVERSION);
    CU_ASSERT_EQUAL(next(&r, &g), LH_EBADVERSION);
    lh_frame_reader_free(&r);
}

static void test_frame_reader_feed_out_of_memory_keeps_the_reader_usable(void)
{
    uint8_t frame[LH_FRAME_HEADER_SIZE + 4];
    make_frame(frame, 5, "wxyz", 4);
    lh_frame_reader r;
    frame_out g;
    lh_frame_reader_init(&r, 0);
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_frame_reader_feed(&r, frame, sizeof frame), LH_ENOMEM);
    CU_ASSERT_EQUAL(lh_buf_len(&r.in), 0);
    CU_ASSERT_EQUAL(r.error, 0); /* not a stream error */
    CU_ASSERT_EQUAL(lh_frame_reader_feed(&r, frame, sizeof frame), 0);
    CU_ASSERT_EQUAL(next(&r, &g), 1);
    CU_ASSERT_EQUAL(g.type, 5);
    lh_frame_reader_free(&r);
}

static void test_frame_reader_fill_out_of_memory_reads_nothing(void)
{
    int sv[2];
    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    uint8_t frame[LH_FRAME_HEADER_SIZE + 2];
    make_frame(frame, 6, "hi", 2);
    CU_ASSERT_EQUAL(write(sv[1], frame, sizeof frame), (ssize_t)sizeof frame);
    lh_frame_reader r;
    frame_out g;
    lh_frame_reader_init(&r, 0);
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_frame_reader_fill(&r, sv[0]), LH_ENOMEM);
    /* The bytes are still in the socket for the next fill. */
    CU_ASSERT_EQUAL(lh_frame_reader_fill(&r, sv[0]), (int)sizeof frame);
    CU_ASSERT_EQUAL(next(&r, &g), 1);
    CU_ASSERT_EQUAL(g.len, 2);
    lh_frame_reader_free(&r);
    close(sv[0]);
    close(sv[1]);
}

static void test_frame_writer_put_out_of_memory_queues_nothing(void)
{
    lh_frame_writer w;
    lh_frame_writer_init(&w);
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_frame_writer_put(&w, 1, "abc", 3), LH_ENOMEM);
    CU_ASSERT_EQUAL(lh_frame_writer_pending(&w), 0);
    CU_ASSERT_EQUAL_FATAL(lh_frame_writer_put(&w, 1, "abc", 3), 0);
    /* A put that must grow the queue fails whole, not header-only. */
    static uint8_t big[1000];
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_frame_writer_put(&w, 2, big, sizeof big), LH_ENOMEM);
    CU_ASSERT_EQUAL(lh_frame_writer_pending(&w), LH_FRAME_HEADER_SIZE + 3);
    lh_frame_writer_free(&w);
}

static void test_frame_writer_put_rejects_oversize_and_missing_payload(void)
{
    lh_frame_writer w;
    lh_frame_writer_init(&w);
    uint8_t small[4] = {0};
    /* The length is checked before the payload is touched. */
    CU_ASSERT_EQUAL(lh_frame_writer_put(&w, 1, small, LH_FRAME_DEFAULT_MAX + 1),
                    LH_ETOOBIG);
    CU_ASSERT_EQUAL(lh_frame_writer_put(&w, 1, NULL, 4), LH_EINVAL);
    CU_ASSERT_EQUAL(lh_frame_writer_pending(&w), 0);
    CU_ASSERT_EQUAL(lh_frame_writer_put(&w, 1, NULL, 0), 0);
    CU_ASSERT_EQUAL(lh_frame_writer_pending(&w), LH_FRAME_HEADER_SIZE);
    lh_frame_writer_free(&w);
    lh_frame_writer_free(NULL);
    lh_frame_reader_free(NULL);
}

static int small_socketpair(int sv[2], int sndbuf)
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return -1;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (lh_net_nonblock(sv[0]) < 0 || lh_net_nonblock(sv[1]) < 0)
        return -1;
    return 0;
}

static void test_frame_writer_flushes_partially_into_a_small_socket_buffer(void)
{
    signal(SIGPIPE, SIG_DFL);
    int sv[2];
    CU_ASSERT_EQUAL_FATAL(small_socketpair(sv, 4096), 0);
    lh_frame_writer w;
    lh_frame_writer_init(&w);
    /* 40 copies of the stream: ~180 KiB, far above the socket buffer. */
    enum { COPIES = 40 };
    for (int i = 0; i < COPIES; i++)
        queue_stream(&w);
    size_t total = lh_frame_writer_pending(&w);

    long left = lh_frame_writer_flush(&w, sv[0]);
    CU_ASSERT(left > 0);
    CU_ASSERT((size_t)left < total);
    CU_ASSERT_EQUAL((size_t)left, lh_frame_writer_pending(&w));
    /* A second flush with the socket still full makes no progress and is
     * not an error. */
    CU_ASSERT_EQUAL(lh_frame_writer_flush(&w, sv[0]), left);

    lh_frame_reader r;
    lh_frame_reader_init(&r, 0);
    unsigned seen = 0;
    int partial_flushes = 1;
    for (int guard = 0; guard < 100000 && seen < COPIES * NFRAMES; guard++) {
        int n = lh_frame_reader_fill(&r, sv[1]);
        CU_ASSERT_FATAL(n > 0 || n == LH_EAGAIN);
        CU_ASSERT_EQUAL(drain_and_check(&r, &seen), 0);
        left = lh_frame_writer_flush(&w, sv[0]);
        CU_ASSERT_FATAL(left >= 0);
        if (left > 0)
            partial_flushes++;
    }
    CU_ASSERT_EQUAL(seen, COPIES * NFRAMES);
    CU_ASSERT_EQUAL(lh_frame_writer_pending(&w), 0);
    CU_ASSERT(partial_flushes > 2);
    CU_ASSERT_EQUAL(lh_frame_reader_fill(&r, sv[1]), LH_EAGAIN);
    lh_frame_reader_free(&r);
    lh_frame_writer_free(&w);
    close(sv[0]);
    close(sv[1]);
}

static void test_frame_writer_flush_to_closed_peer_is_closed_not_sigpipe(void)
{
    /* Default SIGPIPE action: a send without MSG_NOSIGNAL would kill the
     * test binary, and ctest would report the crash. */
    signal(SIGPIPE, SIG_DFL);
    int sv[2];
    CU_ASSERT_EQUAL_FATAL(small_socketpair(sv, 4096), 0);
    close(sv[1]);
    lh_frame_writer w;
    lh_frame_writer_init(&w);
    CU_ASSERT_EQUAL_FATAL(lh_frame_writer_put(&w, 1, "data", 4), 0);
    CU_ASSERT_EQUAL(lh_frame_writer_flush(&w, sv[0]), LH_ECLOSED);
    CU_ASSERT_EQUAL(lh_frame_writer_pending(&w), LH_FRAME_HEADER_SIZE + 4);
    lh_frame_writer_free(&w);
    close(sv[0]);
}

static void test_frame_writer_flush_of_empty_queue_returns_zero(void)
{
    lh_frame_writer w;
    lh_frame_writer_init(&w);
    /* No send happens, so even a bad fd is fine. */
    CU_ASSERT_EQUAL(lh_frame_writer_flush(&w, -1), 0);
    lh_frame_writer_free(&w);
}

static void test_frame_writer_flush_to_a_non_socket_is_io(void)
{
    int fds[2];
    CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
    lh_frame_writer w;
    lh_frame_writer_init(&w);
    CU_ASSERT_EQUAL_FATAL(lh_frame_writer_put(&w, 1, "x", 1), 0);
    CU_ASSERT_EQUAL(lh_frame_writer_flush(&w, fds[1]), LH_EIO);
    CU_ASSERT_EQUAL(lh_frame_writer_flush(&w, -1), LH_EIO);
    lh_frame_writer_free(&w);
    close(fds[0]);
    close(fds[1]);
}

static void test_frame_reader_fill_on_empty_socket_is_again(void)
{
    int sv[2];
    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    lh_frame_reader r;
    lh_frame_reader_init(&r, 0);
    /* MSG_DONTWAIT: even a blocking fd does not block. */
    CU_ASSERT_EQUAL(lh_frame_reader_fill(&r, sv[0]), LH_EAGAIN);
    CU_ASSERT_EQUAL(r.error, 0);
    lh_frame_reader_free(&r);
    close(sv[0]);
    close(sv[1]);
}

static void test_frame_reader_eof_is_closed_after_buffered_frames(void)
{
    int sv[2];
    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    lh_frame_writer w;
    lh_frame_writer_init(&w);
    queue_stream(&w);
    CU_ASSERT_EQUAL_FATAL(lh_frame_writer_flush(&w, sv[1]), 0);
    close(sv[1]);
    lh_frame_reader r;
    lh_frame_reader_init(&r, 0);
    int rc;
    int guard = 0;
    do {
        rc = lh_frame_reader_fill(&r, sv[0]);
    } while (rc > 0 && ++guard < 1000);
    CU_ASSERT_EQUAL(rc, LH_ECLOSED);
    /* EOF is not a stream error: what arrived before it is delivered. */
    CU_ASSERT_EQUAL(r.error, 0);
    unsigned seen = 0;
    CU_ASSERT_EQUAL(drain_and_check(&r, &seen), 0);
    CU_ASSERT_EQUAL(seen, NFRAMES);
    CU_ASSERT_EQUAL(lh_frame_reader_fill(&r, sv[0]), LH_ECLOSED);
    lh_frame_reader_free(&r);
    lh_frame_writer_free(&w);
    close(sv[0]);
}

static void test_frame_reader_fill_reads_a_bounded_amount_per_call(void)
{
    int sv[2];
    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    CU_ASSERT_EQUAL_FATAL(lh_net_nonblock(sv[1]), 0);
    static uint8_t junk[256 * 1024];
    size_t sent = 0;
    for (;;) {
        ssize_t n = send(sv[1], junk + sent, sizeof junk - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    CU_ASSERT_FATAL(sent > 64 * 1024);
    lh_frame_reader r;
    lh_frame_reader_init(&r, 0);
    size_t got = 0;
    int calls = 0;
    for (;;) {
        int n = lh_frame_reader_fill(&r, sv[0]);
        if (n <= 0)
            break;
        CU_ASSERT(n <= 64 * 1024);
        got += (size_t)n;
        calls++;
    }
    CU_ASSERT_EQUAL(got, sent);
    CU_ASSERT(calls >= 2);
    lh_frame_reader_free(&r);
    close(sv[0]);
    close(sv[1]);
}

static void test_frame_reader_fill_on_a_bad_fd_is_io(void)
{
    lh_frame_reader r;
    lh_frame_reader_init(&r, 0);
    CU_ASSERT_EQUAL(lh_frame_reader_fill(&r, -1), LH_EIO);
    lh_frame_reader_free(&r);
}

/* A connected TCP pair over loopback: *c client, *s server side. */
static int tcp_pair(int *c, int *s)
{
    uint16_t port = 0;
    int l = lh_net_listen("127.0.0.1", 0, &port);
    if (l < 0)
        return -1;
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port);
    *c = lh_net_connect(addr, 2000);
    *s = -1;
    struct pollfd pfd = {.fd = l, .events = POLLIN};
    if (*c >= 0 && poll(&pfd, 1, 2000) == 1)
        *s = lh_net_accept(l);
    close(l);
    if (*c < 0 || *s < 0) {
        if (*c >= 0)
            close(*c);
        if (*s >= 0)
            close(*s);
        return -1;
    }
    return 0;
}

static int wait_readable(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, 2000);
}

static void test_frame_stream_over_tcp_round_trips(void)
{
    int c, s;
    CU_ASSERT_EQUAL_FATAL(tcp_pair(&c, &s), 0);
    lh_frame_writer w;
    lh_frame_writer_init(&w);
    queue_stream(&w);
    lh_frame_reader r;
    lh_frame_reader_init(&r, 0);
    unsigned seen = 0;
    for (int guard = 0; guard < 1000 && seen < NFRAMES; guard++) {
        CU_ASSERT_FATAL(lh_frame_writer_flush(&w, c) >= 0);
        if (wait_readable(s) != 1)
            break;
        int n = lh_frame_reader_fill(&r, s);
        CU_ASSERT_FATAL(n > 0 || n == LH_EAGAIN);
        CU_ASSERT_EQUAL(drain_and_check(&r, &seen), 0);
    }
    CU_ASSERT_EQUAL(seen, NFRAMES);
    lh_frame_reader_free(&r);
    lh_frame_writer_free(&w);
    close(c);
    close(s);
}

static void test_frame_tcp_peer_reset_is_closed_for_reader_and_writer(void)
{
    signal(SIGPIPE, SIG_DFL);
    int c, s;
    CU_ASSERT_EQUAL_FATAL(tcp_pair(&c, &s), 0);
    /* Close the server side with a reset (linger 0). */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    CU_ASSERT_EQUAL_FATAL(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg),
                          0);
    close(s);
    CU_ASSERT_EQUAL(wait_readable(c), 1);
    lh_frame_reader r;
    lh_frame_reader_init(&r, 0);
    CU_ASSERT_EQUAL(lh_frame_reader_fill(&r, c), LH_ECLOSED);
    lh_frame_writer w;
    lh_frame_writer_init(&w);
    CU_ASSERT_EQUAL_FATAL(lh_frame_writer_put(&w, 1, "late", 4), 0);
    CU_ASSERT_EQUAL(lh_frame_writer_flush(&w, c), LH_ECLOSED);
    lh_frame_writer_free(&w);
    lh_frame_reader_free(&r);
    close(c);
}

/* A stream like a B node's inbound one: mostly small frames, one in eight
 * up to 400 KB, queued by a writer ahead of a reader that fills and takes
 * every whole frame at an irregular pace.  The buffer holds the largest
 * frame plus one read (512 KiB here); moving only when as many bytes were
 * dead as live, it used to double to 1 MiB when a large frame began early
 * in it (measured on this stream). */
static void test_frame_reader_buffer_stays_near_the_largest_frame(void)
{
    int sv[2];
    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CU_ASSERT_EQUAL_FATAL(lh_net_nonblock(sv[0]), 0);
    CU_ASSERT_EQUAL_FATAL(lh_net_nonblock(sv[1]), 0);
    static uint8_t payload[400000];
    uint32_t seed = 7;
    size_t put = 0, taken = 0, largest = 0;
    lh_frame_writer w;
    lh_frame_reader r;
    lh_frame_writer_init(&w);
    lh_frame_reader_init(&r, 0);
    for (int k = 0; k < 600; k++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t x = seed >> 8;
        uint32_t len = x % 8 == 0 ? (x / 8) % 400000 : (x / 8) % 20000;
        if (len + LH_FRAME_HEADER_SIZE > largest)
            largest = len + LH_FRAME_HEADER_SIZE;
        CU_ASSERT_EQUAL_FATAL(lh_frame_writer_put(&w, 1, payload, len), 0);
        put++;
        for (uint32_t j = 0; j < (x >> 4) % 4; j++) {
            CU_ASSERT_FATAL(lh_frame_writer_flush(&w, sv[1]) >= 0);
            int n = lh_frame_reader_fill(&r, sv[0]);
            CU_ASSERT_FATAL(n > 0 || n == LH_EAGAIN);
            uint8_t type;
            const uint8_t *p;
            uint32_t got;
            while (lh_frame_reader_next(&r, &type, &p, &got) == 1)
                taken++;
        }
    }
    CU_ASSERT(taken > put / 2);
    CU_ASSERT(largest > 256 * 1024);
    CU_ASSERT(r.in.cap <= 512 * 1024);
    lh_frame_reader_free(&r);
    lh_frame_writer_free(&w);
    close(sv[0]);
    close(sv[1]);
}

static CU_TestInfo tests[] = {
    {"header writes the documented layout",
     test_frame_header_writes_the_documented_layout},
    {"reader returns frames the writer queued",
     test_frame_reader_returns_frames_the_writer_queued},
    {"reader fed one byte at a time yields every frame",
     test_frame_reader_fed_one_byte_at_a_time_yields_every_frame},
    {"reader handles a frame split at every point",
     test_frame_reader_handles_a_frame_split_at_every_point},
    {"reader next leaves outputs alone without a frame",
     test_frame_reader_next_leaves_outputs_alone_without_a_frame},
    {"reader rejects oversize before the payload arrives",
     test_frame_reader_rejects_oversize_before_the_payload_arrives},
    {"reader accepts a payload of exactly the maximum",
     test_frame_reader_accepts_a_payload_of_exactly_the_maximum},
    {"reader bad magic is sticky", test_frame_reader_bad_magic_is_sticky},
    {"reader bad version is sticky", test_frame_reader_bad_version_is_sticky},
    {"reader feed out of memory keeps the reader usable",
     test_frame_reader_feed_out_of_memory_keeps_the_reader_usable},
    {"reader fill out of memory reads nothing",
     test_frame_reader_fill_out_of_memory_reads_nothing},
    {"writer put out of memory queues nothing",
     test_frame_writer_put_out_of_memory_queues_nothing},
    {"writer put rejects oversize and missing payload",
     test_frame_writer_put_rejects_oversize_and_missing_payload},
    {"writer flushes partially into a small socket buffer",
     test_frame_writer_flushes_partially_into_a_small_socket_buffer},
    {"writer flush to closed peer is CLOSED, not SIGPIPE",
     test_frame_writer_flush_to_closed_peer_is_closed_not_sigpipe},
    {"writer flush of empty queue returns zero",
     test_frame_writer_flush_of_empty_queue_returns_zero},
    {"writer flush to a non-socket is IO",
     test_frame_writer_flush_to_a_non_socket_is_io},
    {"reader fill on empty socket is AGAIN",
     test_frame_reader_fill_on_empty_socket_is_again},
    {"reader EOF is CLOSED after buffered frames",
     test_frame_reader_eof_is_closed_after_buffered_frames},
    {"reader fill reads a bounded amount per call",
     test_frame_reader_fill_reads_a_bounded_amount_per_call},
    {"reader fill on a bad fd is IO", test_frame_reader_fill_on_a_bad_fd_is_io},
    {"reader buffer stays near the largest frame",
     test_frame_reader_buffer_stays_near_the_largest_frame},
    {"stream over TCP round trips", test_frame_stream_over_tcp_round_trips},
    {"TCP peer reset is CLOSED for reader and writer",
     test_frame_tcp_peer_reset_is_closed_for_reader_and_writer},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("frame", tests)
