/*
 * a.h - library A, version 2: message buffers with a registry of live
 * objects.  Prefix a_.
 *
 * What changed since version 1 (same soname, liba.so.1, so a deployment can
 * swap the shared object without relinking - and that is the trap):
 *   1. a_buf grew a field: `meta`, a metadata block (creation time, append
 *      count, running checksum) that a_buf_new allocates.  The inline
 *      a_buf_release below frees it; code compiled against the v1 header
 *      runs v1's inline release, which does not know the field, so the
 *      block is never freed.  It stays in A's registry: still reachable,
 *      never "definitely lost".
 *   2. a_msg kept its size but its first two members swapped places (flags
 *      first, then refcount).  A size check misses it; member offsets catch
 *      it.  v1 inline a_msg_ref/a_msg_unref adjust what is now the flags
 *      word, whose high byte (the layout generation) keeps it from ever
 *      reaching zero, so the message is never destroyed: it stays in A's
 *      list of live objects.
 * Neither break crashes: everything v1 code reads (data, len, cap) kept its
 * offset.
 *
 * Library A plays the "shared component" of the story (README.md, "The story"):
 * a library that an RPC framework uses for its message buffers and that is
 * shipped as a shared object (soname liba.so.1) and as a static archive.
 * Every block A hands out is recorded in a registry inside A, so A can
 * report what is alive (a_live_stats) and nothing it allocated is ever
 * unreachable: leaked objects stay "still reachable" in valgrind's terms.
 *
 * Two object kinds:
 *   a_buf - a growable byte buffer, released with the inline a_buf_release;
 *   a_msg - a reference-counted message, with the inline a_msg_ref /
 *           a_msg_unref; the last unref destroys it.
 * The cleanup helpers are inline in this header, so a caller compiled
 * against this header carries this version's idea of the layout: that is
 * the point of the repro (see ../v2/a.h for what changes).
 *
 * Thread safety: the registry is locked; one object is used by one thread
 * at a time.
 */
#ifndef A_H
#define A_H

#include <stddef.h>
#include <stdint.h>

#define A_VERSION 2

/* Allocates `size` bytes recorded in A's registry; NULL on failure. */
void *a_alloc(size_t size);

/* Releases a block from a_alloc (NULL: nothing). */
void a_free(void *p);

/* Count and total size of the blocks alive in A's registry. */
void a_live_stats(size_t *count, size_t *bytes);

/* The version of the library actually loaded (A_VERSION of its build). */
int a_version(void);

/*
 * a_buf: a growable byte buffer.  Allocated by A only (never declare one
 * yourself); fields are read through the inline accessors.
 */
typedef struct a_buf_meta {
    uint64_t created_ns; /* CLOCK_MONOTONIC at a_buf_new */
    uint32_t appends;    /* a_buf_append calls */
    uint32_t checksum;   /* FNV-1a of the contents so far */
    char origin[48];     /* what created the buffer */
} a_buf_meta;

typedef struct a_buf {
    uint8_t *data;     /* block from a_alloc, NULL while cap == 0 */
    size_t len;        /* bytes used */
    size_t cap;        /* bytes allocated */
    uint32_t flags;    /* A_BUF_F_... */
    uint32_t reserved;
    a_buf_meta *meta;  /* new in v2: block from a_alloc, set by a_buf_new */
} a_buf;

#define A_BUF_F_GROWN 0x1u /* data was reallocated at least once */

/* A new empty buffer with room for `cap` bytes; NULL on failure. */
a_buf *a_buf_new(size_t cap);

/* Appends n bytes, growing as needed.  0, or -1 on allocation failure
 * (buffer unchanged). */
int a_buf_append(a_buf *b, const void *p, size_t n);

static inline const uint8_t *a_buf_data(const a_buf *b)
{
    return b->data;
}

static inline size_t a_buf_len(const a_buf *b)
{
    return b->len;
}

/* Releases the buffer and its storage.  Accepts NULL. */
static inline void a_buf_release(a_buf *b)
{
    if (b == NULL)
        return;
    a_free(b->meta);
    a_free(b->data);
    a_free(b);
}

/* The buffer's metadata (v2). */
static inline const a_buf_meta *a_buf_get_meta(const a_buf *b)
{
    return b->meta;
}

/*
 * a_msg: a reference-counted message body.  a_msg_new returns it with one
 * reference; a_msg_ref adds one, a_msg_unref drops one and destroys the
 * message with the last.
 */
typedef struct a_msg {
    uint32_t flags; /* A_MSG_F_...; moved first in v2 */
    uint32_t refcount;
    uint8_t *data;
    uint32_t len;
    uint32_t cap;
} a_msg;

#define A_MSG_F_OWNED 0x1u    /* data belongs to the message */
#define A_MSG_F_CHECKED 0x2u  /* v2: contents carry a checksum */
#define A_MSG_LAYOUT_SHIFT 24 /* v2: high byte holds the layout generation */

/* A new message with room for `cap` bytes and one reference; NULL on
 * failure. */
a_msg *a_msg_new(uint32_t cap);

/* Appends n bytes.  0, or -1 on allocation failure or when the length would
 * overflow 32 bits (message unchanged). */
int a_msg_append(a_msg *m, const void *p, uint32_t n);

/* Frees the message and its data regardless of references (a_msg_unref
 * calls it for the last reference). */
void a_msg_destroy(a_msg *m);

static inline a_msg *a_msg_ref(a_msg *m)
{
    m->refcount++;
    return m;
}

/* Drops one reference.  Accepts NULL. */
static inline void a_msg_unref(a_msg *m)
{
    if (m == NULL)
        return;
    m->refcount--;
    if (m->refcount == 0)
        a_msg_destroy(m);
}

static inline const uint8_t *a_msg_data(const a_msg *m)
{
    return m->data;
}

static inline uint32_t a_msg_len(const a_msg *m)
{
    return m->len;
}

#endif
