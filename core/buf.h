/*
 * buf.h - a growable byte buffer with a read cursor.
 *
 * Bytes are appended at the end and consumed from the front; consumed space
 * is reclaimed lazily (compacted when more than half the buffer is dead), so
 * a buffer used as a socket queue does not grow without bound.  The buffer
 * owns its memory; lh_buf_free releases it and accepts NULL.
 */
#ifndef LH_BUF_H
#define LH_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct lh_buf {
    uint8_t *data; /* storage, NULL until the first append */
    size_t start;  /* first unread byte */
    size_t end;    /* one past the last byte */
    size_t cap;    /* allocated size of data */
} lh_buf;

#define LH_BUF_INIT {NULL, 0, 0, 0}

/* Unread bytes and their count.  NULL for a buffer never allocated (no
 * arithmetic on a null pointer, which UBSan rejects). */
static inline const uint8_t *lh_buf_peek(const lh_buf *b)
{
    return b->data ? b->data + b->start : NULL;
}
static inline size_t lh_buf_len(const lh_buf *b)
{
    return b->end - b->start;
}

/* Makes room for `n` more bytes at the end.  0, or LH_ENOMEM (buffer
 * unchanged). */
int lh_buf_reserve(lh_buf *b, size_t n);

/* Appends n bytes.  0, or LH_ENOMEM (buffer unchanged). */
int lh_buf_append(lh_buf *b, const void *p, size_t n);

/* Space after the end for direct writes (after lh_buf_reserve), and the
 * commit of `n` bytes written there. */
static inline uint8_t *lh_buf_tail(lh_buf *b)
{
    return b->data ? b->data + b->end : NULL;
}
static inline void lh_buf_commit(lh_buf *b, size_t n)
{
    b->end += n;
}

/* Appends the whole contents of the file at `path`.  0, LH_EIO (cannot
 * open or read it; errno says why), or LH_ENOMEM.  On failure the buffer
 * holds what it held before plus possibly part of the file. */
int lh_buf_read_file(lh_buf *b, const char *path);

/* Drops n unread bytes from the front (n <= lh_buf_len). */
void lh_buf_consume(lh_buf *b, size_t n);

/* Forgets all bytes, keeping the storage. */
void lh_buf_reset(lh_buf *b);

/* Releases the storage; the buffer is empty and reusable afterwards. */
void lh_buf_free(lh_buf *b);

#endif
