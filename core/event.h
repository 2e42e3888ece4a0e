/*
 * event.h - the change event and its binary encoding.
 *
 * A change event says "key K now holds version V of a value whose checksum is
 * C, changed at time T", and carries the value itself as the payload.  The
 * same bytes travel as the Kafka message value, inside TCP frames from A to
 * B and between B nodes, and sit in B's delay queue.
 *
 * Wire format (all integers little-endian), LH_EVENT_HEADER_SIZE bytes of
 * header followed by the key and then the payload:
 *
 *   offset size field
 *   0      2    magic 0x4556 ("EV")
 *   2      1    format version (LH_EVENT_VERSION)
 *   3      1    flags (must be 0 in this version)
 *   4      2    key length    (1 .. LH_EVENT_MAX_KEY)
 *   6      2    reserved (0)
 *   8      4    payload length (0 .. LH_EVENT_MAX_PAYLOAD)
 *   12     4    value checksum (lh_checksum of the payload)
 *   16     8    version
 *   24     8    event time, microseconds since the epoch
 *   32     ...  key, then payload
 *
 * Decoding treats its input as untrusted: every length is checked against
 * both its limit and the bytes actually present, and nothing is read past
 * the buffer.  The decoded event points into the input buffer (no copies),
 * so it is valid only as long as that buffer is.
 */
#ifndef LH_EVENT_H
#define LH_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define LH_EVENT_MAGIC 0x4556u
#define LH_EVENT_VERSION 1u
#define LH_EVENT_HEADER_SIZE 32u
#define LH_EVENT_MAX_KEY 256u
#define LH_EVENT_MAX_PAYLOAD (64u * 1024u)

typedef struct lh_event {
    const uint8_t *key; /* not NUL-terminated */
    uint16_t key_len;
    const uint8_t *payload;
    uint32_t payload_len;
    uint32_t checksum; /* lh_checksum(payload, payload_len) when sent */
    uint64_t version;
    int64_t time_us;
} lh_event;

/* FNV-1a 32-bit checksum of `len` bytes: the value checksum of events and
 * store entries.  Never fails. */
uint32_t lh_checksum(const void *data, size_t len);

/* Bytes lh_event_encode needs for `ev` (header + key + payload). */
size_t lh_event_encoded_size(const lh_event *ev);

/*
 * Encodes `ev` into buf[0..cap).  Returns the number of bytes written, or
 * LH_EINVAL (key empty or NULL with a length, payload NULL with a length),
 * LH_EBADLEN (key or payload over its limit), LH_ETRUNC (cap too small;
 * nothing written).  ev->checksum is written as given, not recomputed.
 */
int lh_event_encode(const lh_event *ev, uint8_t *buf, size_t cap);

/*
 * Decodes one event from buf[0..len).  On success returns the number of
 * bytes it occupied and fills *out with pointers into buf.  Errors, each for
 * one malformed case, with *out unchanged:
 *   LH_ETRUNC      fewer bytes than the header or than the lengths announce
 *   LH_EBADMAGIC   wrong magic
 *   LH_EBADVERSION unknown format version
 *   LH_EPARSE      non-zero flags or reserved bits
 *   LH_EBADLEN     key length 0 or over LH_EVENT_MAX_KEY, payload over
 *                  LH_EVENT_MAX_PAYLOAD
 * The checksum is not verified here: verification is the verify stage's job
 * (lh_event_checksum_ok).
 */
int lh_event_decode(const uint8_t *buf, size_t len, lh_event *out);

/* 1 when ev->checksum matches its payload, else 0. */
int lh_event_checksum_ok(const lh_event *ev);

#endif
