/*
 * proto.h - the frames between A and B nodes and between B nodes
 * (core/frame.h carries them).
 *
 *   LH_PROTO_HELLO   first frame on a connection, from the connecting side:
 *                    u8 kind (LH_PROTO_FROM_A / LH_PROTO_FROM_B), u8[3] 0,
 *                    u32 sender id, then (only when the nodes share an
 *                    auth token) the token's bytes, at most
 *                    LH_PROTO_MAX_TOKEN.
 *   LH_PROTO_EVENTS  a batch of events: repeated { u64 tag, u32 len,
 *                    len bytes of encoded event (core/event.h) }.
 *   LH_PROTO_ACKS    events finished: repeated u64 tag (the sender's tags).
 *
 * Integers little-endian.  The sender chooses tags; the receiver echoes
 * each tag once in an ACKS frame on the same connection when the event is
 * finished.  Parsing treats input as untrusted.
 */
#ifndef LH_PROTO_H
#define LH_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

enum {
    LH_PROTO_HELLO = 1,
    LH_PROTO_EVENTS = 2,
    LH_PROTO_ACKS = 3,
};

enum {
    LH_PROTO_FROM_A = 1,
    LH_PROTO_FROM_B = 2,
};

#define LH_PROTO_RECORD_HEADER 12u /* tag + len */
/* Payload bytes per EVENTS (and ACKS) frame: room for the largest event
 * (LH_EVENT_HEADER_SIZE + LH_EVENT_MAX_KEY + LH_EVENT_MAX_PAYLOAD) and its
 * record header.  A receiver holds a whole frame before it takes any event
 * from it, so its buffer grows to the largest frame it was sent: with 1 MiB
 * frames a B node's inbound buffers grew to 1-2 MiB each, in steps at
 * whatever moment a burst first made a larger batch (a leak harness sees
 * those steps as growth); 128 KiB bounds them and costs one 8-byte header
 * per ~1,000 events. */
#define LH_PROTO_MAX_BATCH (128u * 1024u)

/* Queues a HELLO frame.  0 or LH_ENOMEM. */
int lh_proto_put_hello(lh_frame_writer *w, uint8_t kind, uint32_t id);

/* Parses a HELLO payload without a token.  0 or LH_EPARSE. */
int lh_proto_parse_hello(const uint8_t *p, uint32_t len, uint8_t *kind,
                         uint32_t *id);

#define LH_PROTO_MAX_TOKEN 256u
#define LH_PROTO_MAX_HELLO (8u + LH_PROTO_MAX_TOKEN)

/* Queues a HELLO frame carrying `token` (NULL: none, the same frame as
 * lh_proto_put_hello).  0, LH_ETOOBIG (token over LH_PROTO_MAX_TOKEN) or
 * LH_ENOMEM. */
int lh_proto_put_hello_auth(lh_frame_writer *w, uint8_t kind, uint32_t id,
                            const char *token);

/* Parses a HELLO payload with or without a token: *token points into p
 * (*token_len 0 when none).  0 or LH_EPARSE. */
int lh_proto_parse_hello_auth(const uint8_t *p, uint32_t len, uint8_t *kind,
                              uint32_t *id, const uint8_t **token,
                              uint32_t *token_len);

/*
 * Building an EVENTS frame in place in a writer's queue (no extra copy):
 * begin, add records, end.  Nothing else may use the writer between begin
 * and end.  A batch with no record is withdrawn by end.
 */
typedef struct lh_proto_batch {
    lh_frame_writer *w;
    size_t at;      /* offset of the frame header from the queue's front */
    uint32_t bytes; /* payload bytes so far */
    uint32_t count;
} lh_proto_batch;

int lh_proto_batch_begin(lh_proto_batch *b, lh_frame_writer *w);
/* 0, LH_ETOOBIG (batch would pass LH_PROTO_MAX_BATCH: end it and begin a
 * new one), or LH_ENOMEM. */
int lh_proto_batch_add(lh_proto_batch *b, uint64_t tag, const void *ev,
                       uint32_t len);
void lh_proto_batch_end(lh_proto_batch *b);

/* Iterates the records of an EVENTS payload: returns 1 with the next
 * record (ev points into p), 0 at the end, LH_EPARSE on a bad record. */
int lh_proto_next_event(const uint8_t *p, uint32_t len, uint32_t *pos,
                        uint64_t *tag, const uint8_t **ev, uint32_t *ev_len);

/* Acks accumulate in a buffer (u64 each) and go out as one frame. */
int lh_proto_ack_add(lh_buf *acks, uint64_t tag);
/* Queues the ACKS frame(s) for everything in acks and empties it.  0 or
 * LH_ENOMEM (acks kept). */
int lh_proto_ack_flush(lh_buf *acks, lh_frame_writer *w);

/* Iterates the tags of an ACKS payload: 1 with *tag, 0 at the end,
 * LH_EPARSE when the payload is not a whole number of tags. */
int lh_proto_next_ack(const uint8_t *p, uint32_t len, uint32_t *pos,
                      uint64_t *tag);

static inline void lh_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void lh_put_le64(uint8_t *p, uint64_t v)
{
    lh_put_le32(p, (uint32_t)v);
    lh_put_le32(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t lh_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static inline uint64_t lh_get_le64(const uint8_t *p)
{
    return (uint64_t)lh_get_le32(p) | (uint64_t)lh_get_le32(p + 4) << 32;
}

#endif
