/*
 * frame.c - length-prefixed frames over TCP streams.
 *
 * Design notes:
 * - The reader keeps the raw stream in an lh_buf and validates a frame's
 *   header as soon as its 8 bytes are buffered, before waiting for the
 *   payload: a peer cannot make us buffer an oversize frame, nor make us
 *   wait for bytes that a bad header will never be followed by.
 * - Header errors (magic, version, length) are sticky in r->error: once the
 *   stream is out of sync nothing after it can be trusted, so every later
 *   call returns the same error and the caller closes the connection.
 *   Socket conditions (EAGAIN, EOF, I/O errors) are not sticky: frames
 *   buffered before an EOF can still be taken.
 * - A frame handed out by lh_frame_reader_next is consumed at once; its
 *   payload stays in place in the buffer until the next call that adds
 *   bytes, which is what "valid until the next call" promises.
 * - lh_frame_reader_fill reads at most FILL_CHUNK bytes per call so that one
 *   busy connection cannot starve the others in an event loop.
 * - The writer sends with MSG_NOSIGNAL | MSG_DONTWAIT: a vanished peer is
 *   an LH_ECLOSED return, never a SIGPIPE, and a blocking fd handed to us by
 *   mistake still does not block.
 */
#include "frame.h"

#include "byteorder.h"
#include "error.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#define FILL_CHUNK (64u * 1024u)

void lh_frame_header(uint8_t hdr[LH_FRAME_HEADER_SIZE], uint8_t type,
                     uint32_t len)
{
    lh_put_le16(hdr, LH_FRAME_MAGIC);
    hdr[2] = LH_FRAME_VERSION;
    hdr[3] = type;
    lh_put_le32(hdr + 4, len);
}

void lh_frame_reader_init(lh_frame_reader *r, uint32_t max_payload)
{
    lh_buf empty = LH_BUF_INIT;
    r->in = empty;
    r->max_payload = max_payload ? max_payload : LH_FRAME_DEFAULT_MAX;
    r->error = 0;
}

void lh_frame_reader_free(lh_frame_reader *r)
{
    if (r == NULL)
        return;
    lh_buf_free(&r->in);
}

int lh_frame_reader_feed(lh_frame_reader *r, const void *data, size_t len)
{
    if (r->error)
        return r->error;
    return lh_buf_append(&r->in, data, len);
}

/*
 * Room for the next read.  A frame longer than FILL_CHUNK comes in over
 * several reads.  Left to lh_buf_reserve, which moves the unread bytes to
 * the front only when at least as many dead bytes lie before them, the
 * buffer doubled whenever a large frame happened to begin early in it,
 * although moving the part already read would have made room: over a run
 * a B node's inbound buffers crept up to 2-4 times the largest frame (1.5
 * to 2 MiB per node, in steps at random times), which a leak harness sees
 * as growth.  So the rest of the current frame is reserved at once when
 * its header is in, and the partial frame is moved to the front first when
 * that makes room.  A frame is moved at most once (its rest then fits),
 * and the buffer grows only for a frame longer than it can hold.
 */
static int make_room(lh_frame_reader *r)
{
    lh_buf *b = &r->in;
    size_t live = lh_buf_len(b), want = FILL_CHUNK;
    if (live >= LH_FRAME_HEADER_SIZE) {
        const uint8_t *h = lh_buf_peek(b);
        uint32_t plen = lh_get_le32(h + 4);
        /* a bad header is lh_frame_reader_next's to report */
        if (lh_get_le16(h) == LH_FRAME_MAGIC &&
            h[2] == LH_FRAME_VERSION && plen <= r->max_payload) {
            size_t frame = LH_FRAME_HEADER_SIZE + (size_t)plen;
            if (frame > live && frame - live > want)
                want = frame - live;
        }
    }
    if (b->cap - b->end < want && b->start > 0 && b->cap - live >= want) {
        memmove(b->data, b->data + b->start, live);
        b->start = 0;
        b->end = live;
    }
    return lh_buf_reserve(b, want);
}

int lh_frame_reader_fill(lh_frame_reader *r, int fd)
{
    if (r->error)
        return r->error;
    int rc = make_room(r);
    if (rc < 0)
        return rc;
    ssize_t n;
    do {
        n = recv(fd, lh_buf_tail(&r->in), FILL_CHUNK, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        lh_buf_commit(&r->in, (size_t)n);
        return (int)n;
    }
    if (n == 0)
        return LH_ECLOSED;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return LH_EAGAIN;
    if (errno == ECONNRESET)
        return LH_ECLOSED;
    return LH_EIO;
}

int lh_frame_reader_next(lh_frame_reader *r, uint8_t *type,
                         const uint8_t **payload, uint32_t *len)
{
    if (r->error)
        return r->error;
    size_t have = lh_buf_len(&r->in);
    if (have < LH_FRAME_HEADER_SIZE)
        return 0;
    const uint8_t *h = lh_buf_peek(&r->in);
    unsigned magic = lh_get_le16(h);
    uint32_t plen = lh_get_le32(h + 4);
    if (magic != LH_FRAME_MAGIC)
        r->error = LH_EBADMAGIC;
    else if (h[2] != LH_FRAME_VERSION)
        r->error = LH_EBADVERSION;
    else if (plen > r->max_payload)
        r->error = LH_ETOOBIG;
    if (r->error)
        return r->error;
    if (have - LH_FRAME_HEADER_SIZE < plen)
        return 0;
    *type = h[3];
    *payload = h + LH_FRAME_HEADER_SIZE;
    *len = plen;
    lh_buf_consume(&r->in, LH_FRAME_HEADER_SIZE + (size_t)plen);
    return 1;
}

void lh_frame_writer_init(lh_frame_writer *w)
{
    lh_buf empty = LH_BUF_INIT;
    w->out = empty;
}

void lh_frame_writer_free(lh_frame_writer *w)
{
    if (w == NULL)
        return;
    lh_buf_free(&w->out);
}

int lh_frame_writer_put(lh_frame_writer *w, uint8_t type, const void *payload,
                        uint32_t len)
{
    if (len > LH_FRAME_DEFAULT_MAX)
        return LH_ETOOBIG;
    if (len > 0 && payload == NULL)
        return LH_EINVAL;
    /* One reservation for header and payload: all or nothing. */
    int rc = lh_buf_reserve(&w->out, LH_FRAME_HEADER_SIZE + (size_t)len);
    if (rc < 0)
        return rc;
    uint8_t hdr[LH_FRAME_HEADER_SIZE];
    lh_frame_header(hdr, type, len);
    memcpy(lh_buf_tail(&w->out), hdr, sizeof hdr);
    lh_buf_commit(&w->out, sizeof hdr);
    if (len > 0) {
        memcpy(lh_buf_tail(&w->out), payload, len);
        lh_buf_commit(&w->out, len);
    }
    return 0;
}

long lh_frame_writer_flush(lh_frame_writer *w, int fd)
{
    while (lh_buf_len(&w->out) > 0) {
        ssize_t n = send(fd, lh_buf_peek(&w->out), lh_buf_len(&w->out),
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            lh_buf_consume(&w->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
            return LH_ECLOSED;
        return LH_EIO;
    }
    return (long)lh_buf_len(&w->out);
}
