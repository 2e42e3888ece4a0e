/*
 * test_proto.c - HELLO, EVENTS, ACKS and STAGES frames between A and B
 * nodes, and the HELLO's protocol version.
 */
#include "cu_main.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "byteorder.h"
#include "error.h"
#include "frame.h"
#include "proto.h"
#include "registry.h"

/* Moves everything queued in w into a reader. */
static void pipe_to(lh_frame_writer *w, lh_frame_reader *r)
{
    CU_ASSERT_EQUAL(lh_frame_reader_feed(r, lh_buf_peek(&w->out),
                                         lh_frame_writer_pending(w)), 0);
    lh_buf_consume(&w->out, lh_frame_writer_pending(w));
}

static void test_proto_batch_round_trips_tags_and_bytes(void)
{
    lh_frame_writer w;
    lh_frame_reader r;
    lh_proto_batch b;
    const char *ev[3] = {"first", "", "third event"};
    uint8_t type;
    const uint8_t *p, *e;
    uint32_t len, pos = 0, elen;
    uint64_t tag;

    lh_frame_writer_init(&w);
    lh_frame_reader_init(&r, 0);
    CU_ASSERT_EQUAL(lh_proto_batch_begin(&b, &w), 0);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(lh_proto_batch_add(&b, 100 + (uint64_t)i, ev[i],
                                           (uint32_t)strlen(ev[i])), 0);
    lh_proto_batch_end(&b);
    pipe_to(&w, &r);
    CU_ASSERT_EQUAL(lh_frame_reader_next(&r, &type, &p, &len), 1);
    CU_ASSERT_EQUAL(type, LH_PROTO_EVENTS);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(lh_proto_next_event(p, len, &pos, &tag, &e, &elen), 1);
        CU_ASSERT_EQUAL(tag, 100 + (uint64_t)i);
        CU_ASSERT_EQUAL(elen, strlen(ev[i]));
        CU_ASSERT(memcmp(e, ev[i], elen) == 0);
    }
    CU_ASSERT_EQUAL(lh_proto_next_event(p, len, &pos, &tag, &e, &elen), 0);
    lh_frame_writer_free(&w);
    lh_frame_reader_free(&r);
}

static void test_proto_empty_batch_leaves_nothing_queued(void)
{
    lh_frame_writer w;
    lh_proto_batch b;

    lh_frame_writer_init(&w);
    CU_ASSERT_EQUAL(lh_frame_writer_put(&w, LH_PROTO_ACKS, "12345678", 8), 0);
    size_t before = lh_frame_writer_pending(&w);
    CU_ASSERT_EQUAL(lh_proto_batch_begin(&b, &w), 0);
    lh_proto_batch_end(&b);
    CU_ASSERT_EQUAL(lh_frame_writer_pending(&w), before);
    lh_frame_writer_free(&w);
}

static void test_proto_batch_refuses_records_past_its_limit(void)
{
    lh_frame_writer w;
    lh_proto_batch b;
    static uint8_t big[60000];
    int rc = 0, n = 0;

    lh_frame_writer_init(&w);
    CU_ASSERT_EQUAL(lh_proto_batch_begin(&b, &w), 0);
    while (rc == 0 && n < 100) {
        rc = lh_proto_batch_add(&b, (uint64_t)n, big, sizeof big);
        n += rc == 0;
    }
    CU_ASSERT_EQUAL(rc, LH_ETOOBIG);
    CU_ASSERT(b.bytes <= LH_PROTO_MAX_BATCH);
    CU_ASSERT_EQUAL((uint32_t)n, b.count);
    lh_proto_batch_end(&b);
    CU_ASSERT_EQUAL(lh_frame_writer_pending(&w),
                    LH_FRAME_HEADER_SIZE + b.bytes);
    lh_frame_writer_free(&w);
}

static void test_proto_batch_begin_out_of_memory_queues_nothing(void)
{
    lh_frame_writer w;
    lh_proto_batch b;

    lh_frame_writer_init(&w);
    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_proto_batch_begin(&b, &w), LH_ENOMEM);
    lh_alloc_fail_after(-1, 0);
    CU_ASSERT_EQUAL(lh_frame_writer_pending(&w), 0);
    lh_frame_writer_free(&w);
}

static void test_proto_next_event_rejects_a_record_longer_than_the_frame(void)
{
    uint8_t p[LH_PROTO_RECORD_HEADER + 4];
    uint32_t pos = 0, elen = 0;
    uint64_t tag = 0;
    const uint8_t *e = NULL;

    lh_put_le64(p, 7);
    lh_put_le32(p + 8, 5); /* says 5, 4 present */
    CU_ASSERT_EQUAL(lh_proto_next_event(p, sizeof p, &pos, &tag, &e, &elen),
                    LH_EPARSE);
    CU_ASSERT_EQUAL(pos, 0);
    CU_ASSERT_EQUAL(lh_proto_next_event(p, 5, &pos, &tag, &e, &elen),
                    LH_EPARSE); /* header itself cut */
}

static void test_proto_acks_round_trip_in_one_frame(void)
{
    lh_buf acks = LH_BUF_INIT;
    lh_frame_writer w;
    lh_frame_reader r;
    uint8_t type;
    const uint8_t *p;
    uint32_t len, pos = 0;
    uint64_t tag;

    lh_frame_writer_init(&w);
    lh_frame_reader_init(&r, 0);
    for (uint64_t t = 0; t < 1000; t++)
        CU_ASSERT_EQUAL(lh_proto_ack_add(&acks, t * 3), 0);
    CU_ASSERT_EQUAL(lh_proto_ack_flush(&acks, &w), 0);
    CU_ASSERT_EQUAL(lh_buf_len(&acks), 0);
    pipe_to(&w, &r);
    CU_ASSERT_EQUAL(lh_frame_reader_next(&r, &type, &p, &len), 1);
    CU_ASSERT_EQUAL(type, LH_PROTO_ACKS);
    for (uint64_t t = 0; t < 1000; t++) {
        CU_ASSERT_EQUAL(lh_proto_next_ack(p, len, &pos, &tag), 1);
        CU_ASSERT_EQUAL(tag, t * 3);
    }
    CU_ASSERT_EQUAL(lh_proto_next_ack(p, len, &pos, &tag), 0);
    CU_ASSERT_EQUAL(lh_frame_reader_next(&r, &type, &p, &len), 0);
    lh_buf_free(&acks);
    lh_frame_writer_free(&w);
    lh_frame_reader_free(&r);
}

static void test_proto_ack_payload_of_partial_tag_is_an_error(void)
{
    uint8_t p[12] = {0};
    uint32_t pos = 0;
    uint64_t tag = 99;
    CU_ASSERT_EQUAL(lh_proto_next_ack(p, sizeof p, &pos, &tag), LH_EPARSE);
    CU_ASSERT_EQUAL(tag, 99);
}

static void test_proto_hello_round_trips_and_refuses_unknown_kinds_and_versions(void)
{
    lh_frame_writer w;
    uint8_t kind = 0;
    uint32_t id = 0;

    lh_frame_writer_init(&w);
    CU_ASSERT_EQUAL(lh_proto_put_hello(&w, LH_PROTO_FROM_B, 42), 0);
    const uint8_t *p = lh_buf_peek(&w.out) + LH_FRAME_HEADER_SIZE;
    CU_ASSERT_EQUAL(lh_proto_parse_hello(p, 8, &kind, &id), 0);
    CU_ASSERT_EQUAL(kind, LH_PROTO_FROM_B);
    CU_ASSERT_EQUAL(id, 42);
    uint8_t bad[8] = {9, 0, 0, 0, 1, 0, 0, 0};
    kind = 0;
    CU_ASSERT_EQUAL(lh_proto_parse_hello(bad, 8, &kind, &id), LH_EPARSE);
    CU_ASSERT_EQUAL(kind, 0);
    CU_ASSERT_EQUAL(lh_proto_parse_hello(p, 7, &kind, &id), LH_EPARSE);
    /* The version: this build's is written; version 0 (before STAGES,
     * when the byte was reserved) is taken; a newer one is not, nor are
     * the bytes still reserved. */
    CU_ASSERT_EQUAL(lh_proto_hello_version(p), LH_PROTO_VERSION);
    uint8_t v0[8] = {LH_PROTO_FROM_A, 0, 0, 0, 5, 0, 0, 0};
    CU_ASSERT_EQUAL(lh_proto_parse_hello(v0, 8, &kind, &id), 0);
    CU_ASSERT_EQUAL(lh_proto_hello_version(v0), 0);
    CU_ASSERT_EQUAL(id, 5);
    uint8_t v2[8] = {LH_PROTO_FROM_A, LH_PROTO_VERSION + 1, 0, 0, 5, 0, 0, 0};
    CU_ASSERT_EQUAL(lh_proto_parse_hello(v2, 8, &kind, &id), LH_EPARSE);
    uint8_t r2[8] = {LH_PROTO_FROM_A, 1, 1, 0, 5, 0, 0, 0};
    CU_ASSERT_EQUAL(lh_proto_parse_hello(r2, 8, &kind, &id), LH_EPARSE);
    lh_frame_writer_free(&w);
}

static void test_proto_hello_auth_carries_the_token_and_bounds_it(void)
{
    lh_frame_writer w;
    uint8_t kind = 0;
    uint32_t id = 0, tlen = 99;
    const uint8_t *tok = NULL;
    char big[LH_PROTO_MAX_TOKEN + 2];

    lh_frame_writer_init(&w);
    CU_ASSERT_EQUAL(lh_proto_put_hello_auth(&w, LH_PROTO_FROM_A, 7, "tok"),
                    0);
    const uint8_t *h = lh_buf_peek(&w.out);
    CU_ASSERT_EQUAL(lh_buf_len(&w.out), LH_FRAME_HEADER_SIZE + 8 + 3);
    CU_ASSERT_EQUAL(lh_proto_parse_hello_auth(h + LH_FRAME_HEADER_SIZE, 11,
                                              &kind, &id, &tok, &tlen),
                    0);
    CU_ASSERT_EQUAL(kind, LH_PROTO_FROM_A);
    CU_ASSERT_EQUAL(id, 7);
    CU_ASSERT_EQUAL(tlen, 3);
    CU_ASSERT_EQUAL(lh_proto_hello_version(h + LH_FRAME_HEADER_SIZE),
                    LH_PROTO_VERSION);
    CU_ASSERT(tok != NULL && memcmp(tok, "tok", 3) == 0);
    /* The plain parser refuses a HELLO with a token. */
    CU_ASSERT_EQUAL(lh_proto_parse_hello(h + LH_FRAME_HEADER_SIZE, 11, &kind,
                                         &id),
                    LH_EPARSE);
    /* Without a token: the same frame as lh_proto_put_hello. */
    lh_buf_reset(&w.out);
    CU_ASSERT_EQUAL(lh_proto_put_hello_auth(&w, LH_PROTO_FROM_B, 1, NULL), 0);
    CU_ASSERT_EQUAL(lh_proto_parse_hello_auth(lh_buf_peek(&w.out) +
                                                  LH_FRAME_HEADER_SIZE,
                                              8, &kind, &id, &tok, &tlen),
                    0);
    CU_ASSERT_EQUAL(tlen, 0);
    /* Over the limit: refused on both sides. */
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    lh_buf_reset(&w.out);
    CU_ASSERT_EQUAL(lh_proto_put_hello_auth(&w, LH_PROTO_FROM_B, 1, big),
                    LH_ETOOBIG);
    CU_ASSERT_EQUAL(lh_buf_len(&w.out), 0);
    uint8_t p[LH_PROTO_MAX_HELLO + 1] = {LH_PROTO_FROM_B};
    CU_ASSERT_EQUAL(lh_proto_parse_hello_auth(p, LH_PROTO_MAX_HELLO, &kind,
                                              &id, &tok, &tlen),
                    0);
    CU_ASSERT_EQUAL(lh_proto_parse_hello_auth(p, LH_PROTO_MAX_HELLO + 1,
                                              &kind, &id, &tok, &tlen),
                    LH_EPARSE);
    CU_ASSERT_EQUAL(lh_proto_parse_hello_auth(p, 7, &kind, &id, &tok, &tlen),
                    LH_EPARSE);
    lh_frame_writer_free(&w);
}

static void test_proto_batch_push_starts_a_new_frame_when_full(void)
{
    lh_frame_writer w;
    lh_frame_reader r;
    lh_proto_batch b = {0};
    static uint8_t big[60000];
    uint8_t type;
    const uint8_t *p, *e;
    uint32_t len, elen, pos;
    uint64_t tag;

    lh_frame_writer_init(&w);
    lh_frame_reader_init(&r, 0);
    lh_proto_batch_end(&b); /* nothing open: nothing happens */
    CU_ASSERT_EQUAL(lh_frame_writer_pending(&w), 0);
    for (uint64_t t = 0; t < 3; t++)
        CU_ASSERT_EQUAL(lh_proto_batch_push(&b, &w, t, big, sizeof big), 0);
    CU_ASSERT(b.open);
    lh_proto_batch_end(&b);
    CU_ASSERT(!b.open);
    pipe_to(&w, &r);
    /* Two records fit a frame; the third starts the next one. */
    uint64_t want = 0;
    for (int f = 0; f < 2; f++) {
        CU_ASSERT_EQUAL_FATAL(lh_frame_reader_next(&r, &type, &p, &len), 1);
        CU_ASSERT_EQUAL(type, LH_PROTO_EVENTS);
        pos = 0;
        while (lh_proto_next_event(p, len, &pos, &tag, &e, &elen) == 1) {
            CU_ASSERT_EQUAL(tag, want);
            CU_ASSERT_EQUAL(elen, sizeof big);
            want++;
        }
    }
    CU_ASSERT_EQUAL(want, 3);
    CU_ASSERT_EQUAL(lh_frame_reader_next(&r, &type, &p, &len), 0);
    /* A record no frame can hold is refused. */
    static uint8_t huge[LH_PROTO_MAX_BATCH];
    CU_ASSERT_EQUAL(lh_proto_batch_push(&b, &w, 9, huge, sizeof huge),
                    LH_ETOOBIG);
    lh_proto_batch_end(&b);
    lh_frame_writer_free(&w);
    lh_frame_reader_free(&r);
}

/* on_ack for the tests: records the tags; refuses tag 666. */
typedef struct got_acks {
    uint64_t tags[16];
    int n;
} got_acks;

static int record_ack(void *arg, uint64_t tag)
{
    got_acks *g = arg;
    if (tag == 666)
        return LH_EPARSE;
    if (g->n < 16)
        g->tags[g->n++] = tag;
    return 0;
}

/* Sends what w holds over fd (a socketpair end). */
static void send_all(lh_frame_writer *w, int fd)
{
    CU_ASSERT_EQUAL(lh_frame_writer_flush(w, fd), 0);
}

static void test_proto_read_acks_hands_each_tag_and_refuses_other_frames(void)
{
    int sv[2];
    lh_buf acks = LH_BUF_INIT;
    lh_frame_writer w;
    lh_frame_reader r;
    got_acks got = {{0}, 0};

    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    lh_frame_writer_init(&w);
    lh_frame_reader_init(&r, 0);
    /* Nothing there yet: nothing to do. */
    CU_ASSERT_EQUAL(lh_proto_read_acks(&r, sv[1], record_ack, &got), 0);
    for (uint64_t t = 1; t <= 3; t++)
        CU_ASSERT_EQUAL(lh_proto_ack_add(&acks, t * 10), 0);
    CU_ASSERT_EQUAL(lh_proto_ack_flush(&acks, &w), 0);
    CU_ASSERT_EQUAL(lh_proto_ack_add(&acks, 40), 0);
    CU_ASSERT_EQUAL(lh_proto_ack_flush(&acks, &w), 0);
    send_all(&w, sv[0]);
    CU_ASSERT_EQUAL(lh_proto_read_acks(&r, sv[1], record_ack, &got), 0);
    CU_ASSERT_EQUAL(got.n, 4);
    for (int i = 0; i < got.n; i++)
        CU_ASSERT_EQUAL(got.tags[i], (uint64_t)(i + 1) * 10);
    /* The callback's refusal stops the reading and is returned. */
    CU_ASSERT_EQUAL(lh_proto_ack_add(&acks, 666), 0);
    CU_ASSERT_EQUAL(lh_proto_ack_add(&acks, 50), 0);
    CU_ASSERT_EQUAL(lh_proto_ack_flush(&acks, &w), 0);
    send_all(&w, sv[0]);
    CU_ASSERT_EQUAL(lh_proto_read_acks(&r, sv[1], record_ack, &got),
                    LH_EPARSE);
    CU_ASSERT_EQUAL(got.n, 4);
    /* A frame other than ACKS is a protocol error. */
    lh_frame_reader_free(&r);
    lh_frame_reader_init(&r, 0);
    CU_ASSERT_EQUAL(lh_proto_put_hello(&w, LH_PROTO_FROM_A, 1), 0);
    send_all(&w, sv[0]);
    CU_ASSERT_EQUAL(lh_proto_read_acks(&r, sv[1], record_ack, &got),
                    LH_EPARSE);
    /* The peer gone: closed. */
    lh_frame_reader_free(&r);
    lh_frame_reader_init(&r, 0);
    close(sv[0]);
    CU_ASSERT_EQUAL(lh_proto_read_acks(&r, sv[1], record_ack, &got),
                    LH_ECLOSED);
    close(sv[1]);
    lh_buf_free(&acks);
    lh_frame_writer_free(&w);
    lh_frame_reader_free(&r);
}

static void test_proto_stages_round_trip_every_set(void)
{
    lh_frame_writer w;
    lh_frame_reader r;
    uint8_t type;
    const uint8_t *p;
    uint32_t len;
    unsigned bad = 0, checked = 0;

    lh_frame_writer_init(&w);
    lh_frame_reader_init(&r, 0);
    /* Every set that meets the requirements goes over as itself. */
    for (unsigned m = 0; m <= LH_STAGES_ALL; m++) {
        unsigned need_ok = 1, back = ~0u;
        for (int i = 0; i < LH_STAGE_COUNT; i++)
            if ((m & LH_STAGE_BIT(i)) &&
                (m & lh_stage_needs(i)) != lh_stage_needs(i))
                need_ok = 0;
        if (!need_ok)
            continue;
        CU_ASSERT_EQUAL(lh_proto_put_stages(&w, m), 0);
        pipe_to(&w, &r);
        CU_ASSERT_EQUAL_FATAL(lh_frame_reader_next(&r, &type, &p, &len), 1);
        CU_ASSERT_EQUAL(type, LH_PROTO_STAGES);
        if (lh_proto_parse_stages(p, len, &back) != 0 || back != m)
            bad++;
        checked++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(checked > 5);
    lh_frame_writer_free(&w);
    lh_frame_reader_free(&r);
}

static void test_proto_stages_refuses_what_this_build_cannot_run(void)
{
    unsigned mask = 12345;
    static const char *const bad[] = {
        "forward,nosuch", "hash",     /* unknown, requirement missing */
        "forward,rpc",    "fo\0rward", /* requirement, NUL */
    };
    static const uint32_t lens[] = {14, 4, 11, 8};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(lh_proto_parse_stages((const uint8_t *)bad[i], lens[i],
                                              &mask),
                        LH_EPARSE);
    CU_ASSERT_EQUAL(mask, 12345); /* untouched */
    static uint8_t big[LH_PROTO_MAX_STAGES + 1];
    memset(big, ',', sizeof big);
    CU_ASSERT_EQUAL(lh_proto_parse_stages(big, sizeof big, &mask), LH_EPARSE);
    CU_ASSERT_EQUAL(lh_proto_parse_stages(big, LH_PROTO_MAX_STAGES, &mask), 0);
    CU_ASSERT_EQUAL(mask, 0); /* only separators: no stage */
    CU_ASSERT_EQUAL(lh_proto_parse_stages((const uint8_t *)"", 0, &mask), 0);
    CU_ASSERT_EQUAL(mask, 0);
}

static CU_TestInfo tests[] = {
    {"batch round-trips tags and bytes",
     test_proto_batch_round_trips_tags_and_bytes},
    {"empty batch leaves nothing queued",
     test_proto_empty_batch_leaves_nothing_queued},
    {"batch refuses records past its limit",
     test_proto_batch_refuses_records_past_its_limit},
    {"batch begin out of memory queues nothing",
     test_proto_batch_begin_out_of_memory_queues_nothing},
    {"next event rejects a record longer than the frame",
     test_proto_next_event_rejects_a_record_longer_than_the_frame},
    {"acks round-trip in one frame", test_proto_acks_round_trip_in_one_frame},
    {"batch push starts a new frame when full",
     test_proto_batch_push_starts_a_new_frame_when_full},
    {"read acks hands each tag and refuses other frames",
     test_proto_read_acks_hands_each_tag_and_refuses_other_frames},
    {"ack payload of a partial tag is an error",
     test_proto_ack_payload_of_partial_tag_is_an_error},
    {"hello round-trips and refuses unknown kinds and versions",
     test_proto_hello_round_trips_and_refuses_unknown_kinds_and_versions},
    {"hello auth carries the token and bounds it",
     test_proto_hello_auth_carries_the_token_and_bounds_it},
    {"stages round trip every set", test_proto_stages_round_trip_every_set},
    {"stages refuses what this build cannot run",
     test_proto_stages_refuses_what_this_build_cannot_run},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("proto", tests)
