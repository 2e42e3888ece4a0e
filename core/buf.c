/*
 * Design: data[start..end) holds the unread bytes.  Consumed space at the
 * front is reclaimed only when an append needs room and at least half the
 * buffer is dead (by moving the live bytes down); otherwise the buffer grows
 * to at least twice its size, copying only the live bytes.  A buffer that
 * becomes empty restarts at offset 0, so a queue that is drained regularly
 * stays within its capacity.  Every failure happens before the buffer is
 * touched.
 */
#include "buf.h"

#include "alloc.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int lh_buf_reserve(lh_buf *b, size_t n)
{
    if (b->cap - b->end >= n)
        return 0;
    size_t live = b->end - b->start;
    /* Reclaim consumed space first when at least half the buffer is dead
     * (so each byte moved paid for a byte freed: amortised O(1)). */
    if (b->start > 0 && b->cap - live >= n && b->start >= live) {
        memmove(b->data, b->data + b->start, live);
        b->start = 0;
        b->end = live;
        return 0;
    }
    if (n > SIZE_MAX - live)
        return LH_ENOMEM;
    size_t need = live + n;
    size_t cap = b->cap ? b->cap : 256;
    /* Otherwise grow, and by at least double: a new block of the same
     * size would cost a copy and gain nothing over a memmove. */
    while (cap < need || cap == b->cap) {
        if (cap > SIZE_MAX / 2)
            return LH_ENOMEM;
        cap *= 2;
    }
    uint8_t *data = lh_malloc(cap);
    if (data == NULL)
        return LH_ENOMEM;
    if (live)
        memcpy(data, b->data + b->start, live);
    lh_free(b->data);
    b->data = data;
    b->start = 0;
    b->end = live;
    b->cap = cap;
    return 0;
}

int lh_buf_append(lh_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    int rc = lh_buf_reserve(b, n);
    if (rc < 0)
        return rc;
    memcpy(b->data + b->end, p, n);
    b->end += n;
    return 0;
}

int lh_buf_read_file(lh_buf *b, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return LH_EIO;
    int rc = 0;
    for (;;) {
        rc = lh_buf_reserve(b, 65536);
        if (rc < 0)
            break;
        size_t n = fread(lh_buf_tail(b), 1, 65536, f);
        lh_buf_commit(b, n);
        if (n < 65536)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = LH_EIO;
    int saved = errno;
    fclose(f);
    errno = saved;
    return rc;
}

void lh_buf_consume(lh_buf *b, size_t n)
{
    if (n >= b->end - b->start) {
        b->start = b->end = 0;
        return;
    }
    b->start += n;
}

void lh_buf_reset(lh_buf *b)
{
    b->start = b->end = 0;
}

void lh_buf_free(lh_buf *b)
{
    if (b == NULL)
        return;
    lh_free(b->data);
    b->data = NULL;
    b->start = b->end = b->cap = 0;
}
