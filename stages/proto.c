/*
 * proto.c - HELLO, EVENTS, ACKS and STAGES frames.
 *
 * Batches are written straight into the frame writer's queue: begin
 * reserves the frame header, records are appended after it, end patches
 * the header's length.  Offsets are kept relative to the queue's front,
 * which stays valid if the buffer is reallocated or compacted.
 */
#include "proto.h"

#include <string.h>

#include "byteorder.h"
#include "error.h"
#include "event.h"
#include "registry.h"

_Static_assert(LH_PROTO_MAX_BATCH >= LH_PROTO_RECORD_HEADER +
                                         LH_EVENT_HEADER_SIZE +
                                         LH_EVENT_MAX_KEY +
                                         LH_EVENT_MAX_PAYLOAD,
               "an EVENTS frame holds the largest event");
_Static_assert(sizeof LH_STAGE_NAMES <= LH_PROTO_MAX_STAGES,
               "a STAGES frame holds every stage");

int lh_proto_put_hello(lh_frame_writer *w, uint8_t kind, uint32_t id)
{
    uint8_t p[8] = {kind, LH_PROTO_VERSION, 0, 0};
    lh_put_le32(p + 4, id);
    return lh_frame_writer_put(w, LH_PROTO_HELLO, p, sizeof p);
}

int lh_proto_parse_hello(const uint8_t *p, uint32_t len, uint8_t *kind,
                         uint32_t *id)
{
    if (len != 8 || (p[0] != LH_PROTO_FROM_A && p[0] != LH_PROTO_FROM_B) ||
        p[1] > LH_PROTO_VERSION || p[2] || p[3])
        return LH_EPARSE;
    *kind = p[0];
    *id = lh_get_le32(p + 4);
    return 0;
}

int lh_proto_put_hello_auth(lh_frame_writer *w, uint8_t kind, uint32_t id,
                            const char *token)
{
    uint8_t p[LH_PROTO_MAX_HELLO] = {kind, LH_PROTO_VERSION, 0, 0};
    size_t n = token ? strlen(token) : 0;
    if (n > LH_PROTO_MAX_TOKEN)
        return LH_ETOOBIG;
    lh_put_le32(p + 4, id);
    if (n > 0)
        memcpy(p + 8, token, n);
    return lh_frame_writer_put(w, LH_PROTO_HELLO, p, (uint32_t)(8 + n));
}

int lh_proto_parse_hello_auth(const uint8_t *p, uint32_t len, uint8_t *kind,
                              uint32_t *id, const uint8_t **token,
                              uint32_t *token_len)
{
    if (len < 8 || len > LH_PROTO_MAX_HELLO)
        return LH_EPARSE;
    int rc = lh_proto_parse_hello(p, 8, kind, id);
    if (rc != 0)
        return rc;
    *token = p + 8;
    *token_len = len - 8;
    return 0;
}

int lh_proto_batch_begin(lh_proto_batch *b, lh_frame_writer *w)
{
    uint8_t hdr[LH_FRAME_HEADER_SIZE];
    lh_frame_header(hdr, LH_PROTO_EVENTS, 0);
    b->w = w;
    b->at = lh_buf_len(&w->out);
    b->bytes = 0;
    b->count = 0;
    int rc = lh_buf_append(&w->out, hdr, sizeof hdr);
    b->open = rc == 0;
    return rc;
}

int lh_proto_batch_add(lh_proto_batch *b, uint64_t tag, const void *ev,
                       uint32_t len)
{
    size_t need = LH_PROTO_RECORD_HEADER + (size_t)len;
    if (b->bytes + need > LH_PROTO_MAX_BATCH)
        return LH_ETOOBIG;
    if (lh_buf_reserve(&b->w->out, need) != 0)
        return LH_ENOMEM;
    uint8_t *t = lh_buf_tail(&b->w->out);
    lh_put_le64(t, tag);
    lh_put_le32(t + 8, len);
    memcpy(t + LH_PROTO_RECORD_HEADER, ev, len);
    lh_buf_commit(&b->w->out, need);
    b->bytes += (uint32_t)need;
    b->count++;
    return 0;
}

void lh_proto_batch_end(lh_proto_batch *b)
{
    if (!b->open)
        return;
    b->open = 0;
    lh_buf *out = &b->w->out;
    if (b->count == 0) {
        /* Withdraw the empty frame's header. */
        out->end = out->start + b->at;
        return;
    }
    uint8_t *hdr = out->data + out->start + b->at;
    lh_frame_header(hdr, LH_PROTO_EVENTS, b->bytes);
}

int lh_proto_batch_push(lh_proto_batch *b, lh_frame_writer *w, uint64_t tag,
                        const void *ev, uint32_t len)
{
    if (!b->open && lh_proto_batch_begin(b, w) != 0)
        return LH_ENOMEM;
    int rc = lh_proto_batch_add(b, tag, ev, len);
    if (rc != LH_ETOOBIG)
        return rc;
    lh_proto_batch_end(b); /* full: the record starts the next frame */
    if (lh_proto_batch_begin(b, w) != 0)
        return LH_ENOMEM;
    return lh_proto_batch_add(b, tag, ev, len);
}

int lh_proto_next_event(const uint8_t *p, uint32_t len, uint32_t *pos,
                        uint64_t *tag, const uint8_t **ev, uint32_t *ev_len)
{
    if (*pos == len)
        return 0;
    if (*pos > len || len - *pos < LH_PROTO_RECORD_HEADER)
        return LH_EPARSE;
    const uint8_t *r = p + *pos;
    uint32_t n = lh_get_le32(r + 8);
    if (n > len - *pos - LH_PROTO_RECORD_HEADER)
        return LH_EPARSE;
    *tag = lh_get_le64(r);
    *ev = r + LH_PROTO_RECORD_HEADER;
    *ev_len = n;
    *pos += LH_PROTO_RECORD_HEADER + n;
    return 1;
}

int lh_proto_put_stages(lh_frame_writer *w, unsigned mask)
{
    char names[LH_PROTO_MAX_STAGES + 1];
    lh_stages_format(mask, names, sizeof names);
    return lh_frame_writer_put(w, LH_PROTO_STAGES, names,
                               (uint32_t)strlen(names));
}

int lh_proto_parse_stages(const uint8_t *p, uint32_t len, unsigned *mask)
{
    char names[LH_PROTO_MAX_STAGES + 1];

    if (len > LH_PROTO_MAX_STAGES || memchr(p, '\0', len) != NULL)
        return LH_EPARSE;
    memcpy(names, p, len);
    names[len] = '\0';
    return lh_stages_parse(names, mask, NULL, 0) == 0 ? 0 : LH_EPARSE;
}

int lh_proto_ack_add(lh_buf *acks, uint64_t tag)
{
    uint8_t t[8];
    lh_put_le64(t, tag);
    return lh_buf_append(acks, t, sizeof t);
}

int lh_proto_ack_flush(lh_buf *acks, lh_frame_writer *w)
{
    size_t len = lh_buf_len(acks);
    const size_t max = LH_PROTO_MAX_BATCH / 8 * 8;

    while (len > 0) {
        size_t n = len < max ? len : max;
        int rc = lh_frame_writer_put(w, LH_PROTO_ACKS, lh_buf_peek(acks),
                                     (uint32_t)n);
        if (rc != 0)
            return rc;
        lh_buf_consume(acks, n);
        len -= n;
    }
    lh_buf_reset(acks);
    return 0;
}

int lh_proto_next_ack(const uint8_t *p, uint32_t len, uint32_t *pos,
                      uint64_t *tag)
{
    if (len % 8 != 0)
        return LH_EPARSE;
    if (*pos >= len)
        return 0;
    *tag = lh_get_le64(p + *pos);
    *pos += 8;
    return 1;
}

/* Hands the tags of one ACKS payload to on_ack.  0 or the first error. */
static int each_ack(const uint8_t *p, uint32_t len,
                    int (*on_ack)(void *arg, uint64_t tag), void *arg)
{
    uint32_t pos = 0;
    uint64_t tag;
    int rc;

    for (;;) {
        rc = lh_proto_next_ack(p, len, &pos, &tag);
        if (rc != 1)
            return rc;
        rc = on_ack(arg, tag);
        if (rc != 0)
            return rc;
    }
}

int lh_proto_read_acks(lh_frame_reader *rd, int fd,
                       int (*on_ack)(void *arg, uint64_t tag), void *arg)
{
    uint8_t type;
    const uint8_t *p;
    uint32_t len;
    int rc = lh_frame_reader_fill(rd, fd);

    if (rc < 0 && rc != LH_EAGAIN)
        return rc;
    for (;;) {
        rc = lh_frame_reader_next(rd, &type, &p, &len);
        if (rc != 1)
            return rc;
        if (type != LH_PROTO_ACKS)
            return LH_EPARSE;
        rc = each_ack(p, len, on_ack, arg);
        if (rc != 0)
            return rc;
    }
}
