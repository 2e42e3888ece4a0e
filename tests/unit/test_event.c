/*
 * test_event.c - change event encoding, untrusted decoding, checksum.
 */
#include "cu_main.h"

#include "alloc.h"
#include "byteorder.h"
#include "error.h"
#include "event.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BIG (LH_EVENT_HEADER_SIZE + LH_EVENT_MAX_KEY + LH_EVENT_MAX_PAYLOAD)

static uint8_t wire[BIG + 16];
static uint8_t key_bytes[LH_EVENT_MAX_KEY + 1];
static uint8_t payload_bytes[LH_EVENT_MAX_PAYLOAD + 1];

static void fill_inputs(void)
{
    for (size_t i = 0; i < sizeof key_bytes; i++)
        key_bytes[i] = (uint8_t)('a' + i % 26);
    for (size_t i = 0; i < sizeof payload_bytes; i++)
        payload_bytes[i] = (uint8_t)(i * 31 + 7);
}

static lh_event sample_event(uint16_t key_len, uint32_t payload_len)
{
    fill_inputs();
    lh_event ev = {
        .key = key_bytes,
        .key_len = key_len,
        .payload = payload_bytes,
        .payload_len = payload_len,
        .version = 0x0102030405060708ull,
        .time_us = 1764160000123456LL,
    };
    ev.checksum = lh_checksum(ev.payload, ev.payload_len);
    return ev;
}

/* Encodes a small valid event into `wire`; returns its size. */
static size_t encode_sample(void)
{
    lh_event ev = sample_event(5, 11);
    int n = lh_event_encode(&ev, wire, sizeof wire);
    CU_ASSERT_EQUAL_FATAL(n, (int)(LH_EVENT_HEADER_SIZE + 5 + 11));
    return (size_t)n;
}

/* Decodes buf[0..len) from an exact-size heap copy (so a read past the end
 * is caught by valgrind/ASan) and checks that a failure leaves *out as it
 * was.  Returns the decoder's result. */
static int decode_exact(const uint8_t *buf, size_t len, lh_event *out)
{
    uint8_t *copy = malloc(len ? len : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    if (len)
        memcpy(copy, buf, len);
    lh_event before;
    memset(&before, 0x5a, sizeof before);
    lh_event got = before;
    int rc = lh_event_decode(copy, len, &got);
    if (rc < 0)
        CU_ASSERT(memcmp(&got, &before, sizeof got) == 0);
    if (rc >= 0 && out != NULL) {
        /* Rebase the pointers onto the caller's buffer. */
        *out = got;
        out->key = buf + (got.key - copy);
        out->payload = buf + (got.payload - copy);
    }
    free(copy);
    return rc;
}

static void test_checksum_matches_fnv1a_reference_values(void)
{
    CU_ASSERT_EQUAL(lh_checksum("", 0), 0x811c9dc5u);
    CU_ASSERT_EQUAL(lh_checksum(NULL, 0), 0x811c9dc5u);
    CU_ASSERT_EQUAL(lh_checksum("a", 1), 0xe40c292cu);
    CU_ASSERT_EQUAL(lh_checksum("foobar", 6), 0xbf9cf968u);
}

static void test_event_encoded_size_is_header_plus_key_plus_payload(void)
{
    lh_event ev = sample_event(7, 100);
    CU_ASSERT_EQUAL(lh_event_encoded_size(&ev), 32 + 7 + 100);
}

static void test_event_round_trip_preserves_every_field(void)
{
    struct {
        uint16_t key_len;
        uint32_t payload_len;
        uint64_t version;
        int64_t time_us;
    } cases[] = {
        {1, 0, 0, 0},
        {5, 11, 1, -1},
        {LH_EVENT_MAX_KEY, LH_EVENT_MAX_PAYLOAD, UINT64_MAX, INT64_MIN},
        {200, 4096, 0x8000000000000000ull, INT64_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lh_event ev = sample_event(cases[i].key_len, cases[i].payload_len);
        ev.version = cases[i].version;
        ev.time_us = cases[i].time_us;
        int n = lh_event_encode(&ev, wire, sizeof wire);
        CU_ASSERT_EQUAL_FATAL(n, (int)lh_event_encoded_size(&ev));
        lh_event got;
        CU_ASSERT_EQUAL(decode_exact(wire, (size_t)n, &got), n);
        CU_ASSERT_EQUAL(got.key_len, ev.key_len);
        CU_ASSERT_EQUAL(got.payload_len, ev.payload_len);
        CU_ASSERT_EQUAL(got.checksum, ev.checksum);
        CU_ASSERT_EQUAL(got.version, ev.version);
        CU_ASSERT_EQUAL(got.time_us, ev.time_us);
        CU_ASSERT(memcmp(got.key, ev.key, ev.key_len) == 0);
        if (ev.payload_len)
            CU_ASSERT(memcmp(got.payload, ev.payload, ev.payload_len) == 0);
        CU_ASSERT(lh_event_checksum_ok(&got));
    }
}

static void test_event_decode_points_into_the_input_buffer(void)
{
    size_t n = encode_sample();
    lh_event got;
    CU_ASSERT_EQUAL_FATAL(lh_event_decode(wire, n, &got), (int)n);
    CU_ASSERT_PTR_EQUAL(got.key, wire + 32);
    CU_ASSERT_PTR_EQUAL(got.payload, wire + 32 + 5);
}

static void test_event_encode_writes_the_documented_layout(void)
{
    lh_event ev = sample_event(3, 2);
    ev.checksum = 0xa1b2c3d4u;
    ev.version = 0x1122334455667788ull;
    ev.time_us = 0x0102030405060708LL;
    CU_ASSERT_EQUAL_FATAL(lh_event_encode(&ev, wire, sizeof wire), 37);
    /* clang-format off */
    static const uint8_t expect[37] = {
        0x56, 0x45, 1, 0, 3, 0, 0, 0, 2, 0, 0, 0,
        0xd4, 0xc3, 0xb2, 0xa1,
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
        'a', 'b', 'c', 7, 38,
    };
    /* clang-format on */
    CU_ASSERT(memcmp(wire, expect, sizeof expect) == 0);
}

static void test_event_decode_ignores_trailing_bytes(void)
{
    size_t n = encode_sample();
    memset(wire + n, 0xee, 16);
    lh_event got;
    CU_ASSERT_EQUAL(decode_exact(wire, n + 16, &got), (int)n);
    CU_ASSERT_EQUAL(got.payload_len, 11);
}

static void test_event_encode_rejects_empty_or_missing_key(void)
{
    lh_event ev = sample_event(0, 4);
    CU_ASSERT_EQUAL(lh_event_encode(&ev, wire, sizeof wire), LH_EINVAL);
    ev = sample_event(4, 4);
    ev.key = NULL;
    CU_ASSERT_EQUAL(lh_event_encode(&ev, wire, sizeof wire), LH_EINVAL);
}

static void test_event_encode_rejects_missing_payload_with_a_length(void)
{
    lh_event ev = sample_event(4, 4);
    ev.payload = NULL;
    CU_ASSERT_EQUAL(lh_event_encode(&ev, wire, sizeof wire), LH_EINVAL);
    ev.payload_len = 0; /* no payload, no length: fine */
    CU_ASSERT_EQUAL(lh_event_encode(&ev, wire, sizeof wire), 36);
}

static void test_event_encode_rejects_key_or_payload_over_limit(void)
{
    lh_event ev = sample_event(LH_EVENT_MAX_KEY + 1, 4);
    CU_ASSERT_EQUAL(lh_event_encode(&ev, wire, sizeof wire), LH_EBADLEN);
    ev = sample_event(4, LH_EVENT_MAX_PAYLOAD + 1);
    CU_ASSERT_EQUAL(lh_event_encode(&ev, wire, sizeof wire), LH_EBADLEN);
}

static void
test_event_encode_into_short_buffer_is_trunc_and_writes_nothing(void)
{
    lh_event ev = sample_event(5, 11);
    size_t need = lh_event_encoded_size(&ev);
    for (size_t cap = 0; cap < need; cap++) {
        memset(wire, 0xcc, sizeof wire);
        CU_ASSERT_EQUAL(lh_event_encode(&ev, wire, cap), LH_ETRUNC);
        int untouched = 1;
        for (size_t i = 0; i < need; i++)
            untouched &= wire[i] == 0xcc;
        CU_ASSERT(untouched);
    }
    CU_ASSERT_EQUAL(lh_event_encode(&ev, wire, need), (int)need);
}

static void test_event_decode_truncated_at_every_length_is_trunc(void)
{
    lh_event ev = sample_event(9, 40);
    int n = lh_event_encode(&ev, wire, sizeof wire);
    CU_ASSERT_EQUAL_FATAL(n, 32 + 9 + 40);
    for (size_t len = 0; len < (size_t)n; len++)
        CU_ASSERT_EQUAL(decode_exact(wire, len, NULL), LH_ETRUNC);
    CU_ASSERT_EQUAL(decode_exact(wire, (size_t)n, NULL), n);
    CU_ASSERT_EQUAL(lh_event_decode(NULL, 0, NULL), LH_ETRUNC);
}

static void test_event_decode_bad_magic_is_badmagic(void)
{
    size_t n = encode_sample();
    uint8_t saved[2] = {wire[0], wire[1]};
    wire[0] ^= 0x01;
    CU_ASSERT_EQUAL(decode_exact(wire, n, NULL), LH_EBADMAGIC);
    wire[0] = saved[0];
    wire[1] ^= 0x80;
    CU_ASSERT_EQUAL(decode_exact(wire, n, NULL), LH_EBADMAGIC);
    /* Byte-swapped magic (a big-endian writer) is also wrong. */
    wire[0] = saved[1];
    wire[1] = saved[0];
    CU_ASSERT_EQUAL(decode_exact(wire, n, NULL), LH_EBADMAGIC);
}

static void test_event_decode_unknown_version_is_badversion(void)
{
    size_t n = encode_sample();
    const uint8_t bad[] = {0, 2, 0x81, 255};
    for (size_t i = 0; i < sizeof bad; i++) {
        wire[2] = bad[i];
        CU_ASSERT_EQUAL(decode_exact(wire, n, NULL), LH_EBADVERSION);
    }
}

static void test_event_decode_nonzero_flags_or_reserved_is_parse(void)
{
    size_t n = encode_sample();
    for (int bit = 0; bit < 8; bit++) {
        wire[3] = (uint8_t)(1u << bit);
        CU_ASSERT_EQUAL(decode_exact(wire, n, NULL), LH_EPARSE);
    }
    wire[3] = 0;
    wire[6] = 1;
    CU_ASSERT_EQUAL(decode_exact(wire, n, NULL), LH_EPARSE);
    wire[6] = 0;
    wire[7] = 0x80;
    CU_ASSERT_EQUAL(decode_exact(wire, n, NULL), LH_EPARSE);
}

static void test_event_decode_key_length_zero_or_over_max_is_badlen(void)
{
    size_t n = encode_sample();
    const uint16_t bad[] = {0, LH_EVENT_MAX_KEY + 1, 1000, 0xffff};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lh_put_le16(wire + 4, bad[i]);
        CU_ASSERT_EQUAL(decode_exact(wire, n, NULL), LH_EBADLEN);
    }
}

static void test_event_decode_payload_over_max_is_badlen(void)
{
    size_t n = encode_sample();
    const uint32_t bad[] = {LH_EVENT_MAX_PAYLOAD + 1, 0x7fffffffu, 0xffffffffu};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lh_put_le32(wire + 8, bad[i]);
        CU_ASSERT_EQUAL(decode_exact(wire, n, NULL), LH_EBADLEN);
    }
}

static void test_event_decode_lengths_beyond_the_buffer_are_trunc(void)
{
    size_t n = encode_sample();
    lh_put_le16(wire + 4, 6); /* one more key byte than present */
    CU_ASSERT_EQUAL(decode_exact(wire, n, NULL), LH_ETRUNC);
    lh_put_le16(wire + 4, 5);
    lh_put_le32(wire + 8, LH_EVENT_MAX_PAYLOAD); /* at the limit, not present */
    CU_ASSERT_EQUAL(decode_exact(wire, n, NULL), LH_ETRUNC);
}

static void test_event_decode_accepts_limits_exactly(void)
{
    lh_event ev = sample_event(LH_EVENT_MAX_KEY, LH_EVENT_MAX_PAYLOAD);
    int n = lh_event_encode(&ev, wire, sizeof wire);
    CU_ASSERT_EQUAL_FATAL(n, (int)BIG);
    lh_event got;
    CU_ASSERT_EQUAL(decode_exact(wire, (size_t)n, &got), n);
    CU_ASSERT_EQUAL(got.key_len, LH_EVENT_MAX_KEY);
    CU_ASSERT_EQUAL(got.payload_len, LH_EVENT_MAX_PAYLOAD);
}

static void test_event_decode_checks_in_documented_order(void)
{
    /* Everything wrong at once: the magic is reported first, then the
     * version, then flags, then lengths. */
    size_t n = encode_sample();
    wire[0] = 0;
    wire[2] = 9;
    wire[3] = 1;
    lh_put_le16(wire + 4, 0);
    CU_ASSERT_EQUAL(decode_exact(wire, n, NULL), LH_EBADMAGIC);
    lh_put_le16(wire, LH_EVENT_MAGIC);
    CU_ASSERT_EQUAL(decode_exact(wire, n, NULL), LH_EBADVERSION);
    wire[2] = LH_EVENT_VERSION;
    CU_ASSERT_EQUAL(decode_exact(wire, n, NULL), LH_EPARSE);
    wire[3] = 0;
    CU_ASSERT_EQUAL(decode_exact(wire, n, NULL), LH_EBADLEN);
}

static void test_event_checksum_ok_detects_a_changed_payload_byte(void)
{
    size_t n = encode_sample();
    lh_event got;
    CU_ASSERT_EQUAL_FATAL(lh_event_decode(wire, n, &got), (int)n);
    CU_ASSERT(lh_event_checksum_ok(&got));
    wire[n - 1] ^= 0x04; /* last payload byte */
    CU_ASSERT_FALSE(lh_event_checksum_ok(&got));
}

static void test_event_encode_keeps_the_stated_checksum(void)
{
    /* A producer that states a wrong checksum is caught downstream. */
    lh_event ev = sample_event(5, 11);
    ev.checksum ^= 1;
    int n = lh_event_encode(&ev, wire, sizeof wire);
    CU_ASSERT_EQUAL_FATAL(n, 48);
    lh_event got;
    CU_ASSERT_EQUAL_FATAL(lh_event_decode(wire, (size_t)n, &got), n);
    CU_ASSERT_EQUAL(got.checksum, ev.checksum);
    CU_ASSERT_FALSE(lh_event_checksum_ok(&got));
}

static void test_event_codec_allocates_nothing(void)
{
    unsigned long before = lh_alloc_calls();
    size_t n = encode_sample();
    lh_event got;
    CU_ASSERT_EQUAL(lh_event_decode(wire, n, &got), (int)n);
    CU_ASSERT_EQUAL(lh_alloc_calls(), before);
}

static CU_TestInfo tests[] = {
    {"checksum matches FNV-1a reference values",
     test_checksum_matches_fnv1a_reference_values},
    {"encoded size is header + key + payload",
     test_event_encoded_size_is_header_plus_key_plus_payload},
    {"round trip preserves every field",
     test_event_round_trip_preserves_every_field},
    {"decode points into the input buffer",
     test_event_decode_points_into_the_input_buffer},
    {"encode writes the documented layout",
     test_event_encode_writes_the_documented_layout},
    {"decode ignores trailing bytes", test_event_decode_ignores_trailing_bytes},
    {"encode rejects empty or missing key",
     test_event_encode_rejects_empty_or_missing_key},
    {"encode rejects missing payload with a length",
     test_event_encode_rejects_missing_payload_with_a_length},
    {"encode rejects key or payload over limit",
     test_event_encode_rejects_key_or_payload_over_limit},
    {"encode into short buffer is TRUNC and writes nothing",
     test_event_encode_into_short_buffer_is_trunc_and_writes_nothing},
    {"decode truncated at every length is TRUNC",
     test_event_decode_truncated_at_every_length_is_trunc},
    {"decode bad magic is BADMAGIC", test_event_decode_bad_magic_is_badmagic},
    {"decode unknown version is BADVERSION",
     test_event_decode_unknown_version_is_badversion},
    {"decode non-zero flags or reserved is PARSE",
     test_event_decode_nonzero_flags_or_reserved_is_parse},
    {"decode key length 0 or over max is BADLEN",
     test_event_decode_key_length_zero_or_over_max_is_badlen},
    {"decode payload over max is BADLEN",
     test_event_decode_payload_over_max_is_badlen},
    {"decode lengths beyond the buffer are TRUNC",
     test_event_decode_lengths_beyond_the_buffer_are_trunc},
    {"decode accepts limits exactly", test_event_decode_accepts_limits_exactly},
    {"decode checks in documented order",
     test_event_decode_checks_in_documented_order},
    {"checksum_ok detects a changed payload byte",
     test_event_checksum_ok_detects_a_changed_payload_byte},
    {"encode keeps the stated checksum",
     test_event_encode_keeps_the_stated_checksum},
    {"codec allocates nothing", test_event_codec_allocates_nothing},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("event", tests)
