/*
 * frame.h - length-prefixed frames for TCP streams.
 *
 * Every message between our processes (A to B, B to B, RPC excluded: the RPC
 * framework has its own wire format) is a frame:
 *
 *   offset size field
 *   0      2    magic 0x4C48 ("LH"), little-endian
 *   2      1    protocol version (LH_FRAME_VERSION)
 *   3      1    frame type (application-defined, 0..255)
 *   4      4    payload length, little-endian, <= the reader's maximum
 *   8      ...  payload
 *
 * The reader accumulates bytes from a non-blocking socket (or from memory,
 * for tests and fuzzing) and hands out whole frames; a bad magic, version or
 * an oversize length is an error for that stream, after which the reader
 * refuses further input (the connection should be closed).  The writer
 * queues frames and flushes what the socket accepts, keeping the rest for
 * the next flush: partial writes are normal, not errors.
 */
#ifndef LH_FRAME_H
#define LH_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define LH_FRAME_MAGIC 0x4C48u
#define LH_FRAME_VERSION 1u
#define LH_FRAME_HEADER_SIZE 8u
#define LH_FRAME_DEFAULT_MAX (4u * 1024u * 1024u)

/* Writes a frame header for `type` and `len` into hdr. */
void lh_frame_header(uint8_t hdr[LH_FRAME_HEADER_SIZE], uint8_t type,
                     uint32_t len);

typedef struct lh_frame_reader {
    lh_buf in;
    uint32_t max_payload;
    int error; /* sticky: first error seen, 0 while healthy */
} lh_frame_reader;

/* Initialises a reader accepting payloads up to max_payload bytes
 * (0: LH_FRAME_DEFAULT_MAX). */
void lh_frame_reader_init(lh_frame_reader *r, uint32_t max_payload);

/* Releases the reader's buffer.  Accepts NULL. */
void lh_frame_reader_free(lh_frame_reader *r);

/* Appends bytes from memory.  0, LH_ENOMEM, or the sticky error. */
int lh_frame_reader_feed(lh_frame_reader *r, const void *data, size_t len);

/*
 * Reads what the non-blocking socket `fd` has (up to a bounded amount per
 * call).  Returns the number of bytes read (> 0), LH_EAGAIN when nothing was
 * available, LH_ECLOSED on orderly EOF or a reset (ECONNRESET), LH_EIO on
 * another socket error, LH_ENOMEM, or the sticky error.  Only header errors
 * are sticky: frames buffered before an EOF can still be taken.
 */
int lh_frame_reader_fill(lh_frame_reader *r, int fd);

/*
 * Takes the next whole frame.  Returns 1 and sets *type, *payload, *len
 * (payload points into the reader, valid until the next call on it), 0 when
 * no whole frame is buffered yet, or LH_EBADMAGIC / LH_EBADVERSION /
 * LH_ETOOBIG for a bad header (sticky).
 */
int lh_frame_reader_next(lh_frame_reader *r, uint8_t *type,
                         const uint8_t **payload, uint32_t *len);

typedef struct lh_frame_writer {
    lh_buf out;
} lh_frame_writer;

void lh_frame_writer_init(lh_frame_writer *w);
void lh_frame_writer_free(lh_frame_writer *w); /* accepts NULL */

/* Queues one frame.  0, LH_ETOOBIG (len over LH_FRAME_DEFAULT_MAX),
 * LH_EINVAL (payload NULL with len > 0) or LH_ENOMEM (nothing queued). */
int lh_frame_writer_put(lh_frame_writer *w, uint8_t type, const void *payload,
                        uint32_t len);

/* Bytes queued and not yet written. */
static inline size_t lh_frame_writer_pending(const lh_frame_writer *w)
{
    return lh_buf_len(&w->out);
}

/*
 * Writes as much of the queue as the non-blocking socket takes.  Returns the
 * bytes still pending (0: all flushed), LH_ECLOSED if the peer is gone
 * (EPIPE/ECONNRESET), or LH_EIO.  Never blocks and never raises SIGPIPE.
 */
long lh_frame_writer_flush(lh_frame_writer *w, int fd);

#endif
