/*
 * event.c - encoding and untrusted decoding of change events.
 *
 * Design notes:
 * - Integers are assembled byte by byte (core/byteorder.h), so the code
 *   has no alignment or host-endianness assumptions and never reads a
 *   multi-byte value through a cast pointer.
 * - Decoding checks in a fixed order: header present, magic, version,
 *   flags/reserved, key length limit, payload length limit, then the bytes
 *   the lengths announce.  A given malformed input therefore always yields
 *   the same error, and limits are checked before any arithmetic on the
 *   lengths (which then cannot overflow: 32 + 256 + 64 KiB).
 * - The encoder writes ev->checksum as given rather than recomputing it:
 *   the producer states what it sent, and a corrupted value must stay
 *   detectable by lh_event_checksum_ok on the other side.
 */
#include "event.h"

#include "byteorder.h"
#include "error.h"

#include <string.h>

#define FNV32_OFFSET 2166136261u
#define FNV32_PRIME 16777619u

uint32_t lh_checksum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t h = FNV32_OFFSET;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV32_PRIME;
    }
    return h;
}

size_t lh_event_encoded_size(const lh_event *ev)
{
    return LH_EVENT_HEADER_SIZE + (size_t)ev->key_len + (size_t)ev->payload_len;
}

int lh_event_encode(const lh_event *ev, uint8_t *buf, size_t cap)
{
    if (ev->key_len == 0 || ev->key == NULL)
        return LH_EINVAL;
    if (ev->payload_len > 0 && ev->payload == NULL)
        return LH_EINVAL;
    if (ev->key_len > LH_EVENT_MAX_KEY ||
        ev->payload_len > LH_EVENT_MAX_PAYLOAD)
        return LH_EBADLEN;
    size_t need = lh_event_encoded_size(ev);
    if (buf == NULL || cap < need)
        return LH_ETRUNC;

    lh_put_le16(buf + 0, LH_EVENT_MAGIC);
    buf[2] = LH_EVENT_VERSION;
    buf[3] = 0; /* flags */
    lh_put_le16(buf + 4, ev->key_len);
    lh_put_le16(buf + 6, 0); /* reserved */
    lh_put_le32(buf + 8, ev->payload_len);
    lh_put_le32(buf + 12, ev->checksum);
    lh_put_le64(buf + 16, ev->version);
    lh_put_le64(buf + 24, (uint64_t)ev->time_us);
    memcpy(buf + LH_EVENT_HEADER_SIZE, ev->key, ev->key_len);
    if (ev->payload_len > 0)
        memcpy(buf + LH_EVENT_HEADER_SIZE + ev->key_len, ev->payload,
               ev->payload_len);
    return (int)need;
}

int lh_event_decode(const uint8_t *buf, size_t len, lh_event *out)
{
    if (buf == NULL || len < LH_EVENT_HEADER_SIZE)
        return LH_ETRUNC;
    if (lh_get_le16(buf + 0) != LH_EVENT_MAGIC)
        return LH_EBADMAGIC;
    if (buf[2] != LH_EVENT_VERSION)
        return LH_EBADVERSION;
    if (buf[3] != 0 || lh_get_le16(buf + 6) != 0)
        return LH_EPARSE;
    uint16_t key_len = lh_get_le16(buf + 4);
    if (key_len == 0 || key_len > LH_EVENT_MAX_KEY)
        return LH_EBADLEN;
    uint32_t payload_len = lh_get_le32(buf + 8);
    if (payload_len > LH_EVENT_MAX_PAYLOAD)
        return LH_EBADLEN;
    size_t total = LH_EVENT_HEADER_SIZE + (size_t)key_len + payload_len;
    if (len < total)
        return LH_ETRUNC;

    out->key = buf + LH_EVENT_HEADER_SIZE;
    out->key_len = key_len;
    out->payload = buf + LH_EVENT_HEADER_SIZE + key_len;
    out->payload_len = payload_len;
    out->checksum = lh_get_le32(buf + 12);
    out->version = lh_get_le64(buf + 16);
    out->time_us = (int64_t)lh_get_le64(buf + 24);
    return (int)total;
}

int lh_event_checksum_ok(const lh_event *ev)
{
    if (ev->payload_len > 0 && ev->payload == NULL)
        return 0;
    return lh_checksum(ev->payload, ev->payload_len) == ev->checksum;
}
