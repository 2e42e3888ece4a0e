/*
 * a.h - library A, version 1: message buffers with a registry of live
 * objects.  Prefix a_.
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

#define A_VERSION 1

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
typedef struct a_buf {
    uint8_t *data;     /* block from a_alloc, NULL while cap == 0 */
    size_t len;        /* bytes used */
    size_t cap;        /* bytes allocated */
    uint32_t flags;    /* A_BUF_F_... */
    uint32_t reserved;
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
    a_free(b->data);
    a_free(b);
}

/*
 * a_msg: a reference-counted message body.  a_msg_new returns it with one
 * reference; a_msg_ref adds one, a_msg_unref drops one and destroys the
 * message with the last.
 */
typedef struct a_msg {
    uint32_t refcount;
    uint32_t flags; /* A_MSG_F_... */
    uint8_t *data;
    uint32_t len;
    uint32_t cap;
} a_msg;

#define A_MSG_F_OWNED 0x1u /* data belongs to the message */

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
