/*
 * proto.h - the frames between A and B nodes and between B nodes
 * (core/frame.h carries them).
 *
 *   LH_PROTO_HELLO   first frame on a connection, from the connecting side:
 *                    u8 kind (LH_PROTO_FROM_A / LH_PROTO_FROM_B), u8 the
 *                    sender's node protocol version (below), u8[2] 0,
 *                    u32 sender id, then (only when the nodes share an
 *                    auth token) the token's bytes, at most
 *                    LH_PROTO_MAX_TOKEN.
 *   LH_PROTO_EVENTS  a batch of events: repeated { u64 tag, u32 len,
 *                    len bytes of encoded event (core/event.h) }.
 *   LH_PROTO_ACKS    events finished: repeated u64 tag (the sender's tags).
 *   LH_PROTO_STAGES  (version 1, from A only) the stages A runs now: their
 *                    names, comma-separated, no NUL, empty for none, at
 *                    most LH_PROTO_MAX_STAGES bytes.  A sends one right
 *                    after its HELLO and one after every switch, forward
 *                    on or off (docs/protocol.md section 5: a B node
 *                    acknowledges a list only once A announced it too).
 *
 * Integers little-endian.  The sender chooses tags; the receiver echoes
 * each tag once in an ACKS frame on the same connection when the event is
 * finished.  Parsing treats input as untrusted.
 *
 * Versions (the HELLO's second byte): 0 is HELLO, EVENTS and ACKS (the
 * byte was a reserved 0); 1 adds STAGES.  A receiver takes HELLOs of every
 * version up to its own (LH_PROTO_VERSION) and refuses newer ones, and a
 * STAGES frame on a version 0 connection is a protocol error: a node of
 * version 0 refuses a version 1 HELLO (a parse error, the connection
 * closed), so nodes of different versions fail at once, in the open,
 * rather than mid-stream.
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
    LH_PROTO_STAGES = 4,
};

/* The node protocol version this build speaks (and writes in HELLOs). */
#define LH_PROTO_VERSION 1u
#define LH_PROTO_MAX_STAGES 512u

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

/* Queues a HELLO frame (of version LH_PROTO_VERSION).  0 or LH_ENOMEM. */
int lh_proto_put_hello(lh_frame_writer *w, uint8_t kind, uint32_t id);

/* Parses a HELLO payload without a token.  0 or LH_EPARSE (also for a
 * version over LH_PROTO_VERSION). */
int lh_proto_parse_hello(const uint8_t *p, uint32_t len, uint8_t *kind,
                         uint32_t *id);

/* The sender's protocol version, of a HELLO payload that parsed. */
static inline uint8_t lh_proto_hello_version(const uint8_t *p)
{
    return p[1];
}

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
 * begin, add records, end; or push records, which begins frames as
 * needed, and end.  Nothing else may use the writer while a frame is open
 * (between begin and end).  A batch with no record is withdrawn by end.
 * Zero-initialise a batch that is pushed to or ended before any begin.
 */
typedef struct lh_proto_batch {
    lh_frame_writer *w;
    size_t at;      /* offset of the frame header from the queue's front */
    uint32_t bytes; /* payload bytes so far */
    uint32_t count;
    int open;       /* a frame is begun and not yet ended */
} lh_proto_batch;

/* Opens a frame on w.  0 or LH_ENOMEM (nothing queued, not open). */
int lh_proto_batch_begin(lh_proto_batch *b, lh_frame_writer *w);
/* 0, LH_ETOOBIG (batch would pass LH_PROTO_MAX_BATCH: end it and begin a
 * new one), or LH_ENOMEM. */
int lh_proto_batch_add(lh_proto_batch *b, uint64_t tag, const void *ev,
                       uint32_t len);
/* Closes the open frame (patches its length); does nothing when none is
 * open. */
void lh_proto_batch_end(lh_proto_batch *b);

/* Adds a record to the frame open on w, beginning one when none is open
 * and a new one when the record does not fit the current frame: a sender
 * batches without minding where frames end.  0, LH_ETOOBIG (the record
 * is larger than any frame) or LH_ENOMEM; the frame may be left open
 * either way. */
int lh_proto_batch_push(lh_proto_batch *b, lh_frame_writer *w, uint64_t tag,
                        const void *ev, uint32_t len);

/* Iterates the records of an EVENTS payload: returns 1 with the next
 * record (ev points into p), 0 at the end, LH_EPARSE on a bad record. */
int lh_proto_next_event(const uint8_t *p, uint32_t len, uint32_t *pos,
                        uint64_t *tag, const uint8_t **ev, uint32_t *ev_len);

/* Queues a STAGES frame for the stages in `mask` (LH_STAGE_BITs, named
 * as stage_list.h names them).  0 or LH_ENOMEM. */
int lh_proto_put_stages(lh_frame_writer *w, unsigned mask);

/* Parses a STAGES payload into a mask.  0, or LH_EPARSE (too long, a name
 * this build does not know, a list that breaks the requirements). */
int lh_proto_parse_stages(const uint8_t *p, uint32_t len, unsigned *mask);

/* Acks accumulate in a buffer (u64 each) and go out as one frame. */
int lh_proto_ack_add(lh_buf *acks, uint64_t tag);
/* Queues the ACKS frame(s) for everything in acks and empties it.  0 or
 * LH_ENOMEM (acks kept). */
int lh_proto_ack_flush(lh_buf *acks, lh_frame_writer *w);

/* Iterates the tags of an ACKS payload: 1 with *tag, 0 at the end,
 * LH_EPARSE when the payload is not a whole number of tags. */
int lh_proto_next_ack(const uint8_t *p, uint32_t len, uint32_t *pos,
                      uint64_t *tag);

/*
 * The acknowledging side of a connection that sent EVENTS: reads what fd
 * has into rd and hands each tag of the whole ACKS frames now buffered to
 * on_ack(arg, tag), in order.  0 when everything buffered is handled,
 * else an error after which the connection is to be closed: what
 * lh_frame_reader_fill or lh_frame_reader_next returned (LH_ECLOSED,
 * LH_EBADMAGIC, ...), LH_EPARSE for a frame other than ACKS or a payload
 * that is not whole tags, or what on_ack returned (non-zero stops there).
 */
int lh_proto_read_acks(lh_frame_reader *rd, int fd,
                       int (*on_ack)(void *arg, uint64_t tag), void *arg);

#endif
