/*
 * a.c - library A, version 2 (what changed: see a.h).
 *
 * Design: every block A hands out starts with a hidden header that links it
 * into one doubly-linked registry list (a static head in this library, so
 * valgrind finds every live block from a root: nothing A allocated can ever
 * be "definitely lost").  The header keeps the block's size, so
 * a_live_stats is a walk-free pair of counters.  A is a stand-in for a
 * third-party library: it allocates with the C library directly and knows
 * nothing of leak-hunt.
 */
#include "a.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct hdr {
    struct hdr *prev, *next;
    size_t size;
    size_t pad_; /* keeps the user block 16-byte aligned */
} hdr;

static hdr registry = {&registry, &registry, 0, 0};
static size_t live_count;
static size_t live_bytes;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

static void link_block(hdr *h)
{
    pthread_mutex_lock(&registry_lock);
    h->next = registry.next;
    h->prev = &registry;
    registry.next->prev = h;
    registry.next = h;
    live_count++;
    live_bytes += h->size;
    pthread_mutex_unlock(&registry_lock);
}

static void unlink_block(hdr *h)
{
    pthread_mutex_lock(&registry_lock);
    h->prev->next = h->next;
    h->next->prev = h->prev;
    live_count--;
    live_bytes -= h->size;
    pthread_mutex_unlock(&registry_lock);
}

void *a_alloc(size_t size)
{
    if (size > SIZE_MAX - sizeof(hdr))
        return NULL;
    hdr *h = malloc(sizeof(hdr) + size);
    if (h == NULL)
        return NULL;
    h->size = size;
    h->pad_ = 0;
    link_block(h);
    return h + 1;
}

void a_free(void *p)
{
    if (p == NULL)
        return;
    hdr *h = (hdr *)p - 1;
    unlink_block(h);
    free(h);
}

/* Resizes a registry block; NULL on failure (old block untouched). */
static void *resize(void *p, size_t size)
{
    void *q = a_alloc(size);
    if (q == NULL)
        return NULL;
    if (p != NULL) {
        hdr *h = (hdr *)p - 1;
        memcpy(q, p, h->size < size ? h->size : size);
        a_free(p);
    }
    return q;
}

void a_live_stats(size_t *count, size_t *bytes)
{
    pthread_mutex_lock(&registry_lock);
    if (count != NULL)
        *count = live_count;
    if (bytes != NULL)
        *bytes = live_bytes;
    pthread_mutex_unlock(&registry_lock);
}

int a_version(void)
{
    return A_VERSION;
}

static uint32_t fnv1a(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

static a_buf_meta *meta_new(void)
{
    a_buf_meta *m = a_alloc(sizeof(*m));
    if (m == NULL)
        return NULL;
    memset(m, 0, sizeof(*m));
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    m->created_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    m->checksum = 2166136261u;
    memcpy(m->origin, "a_buf_new", sizeof("a_buf_new"));
    return m;
}

a_buf *a_buf_new(size_t cap)
{
    a_buf *b = a_alloc(sizeof(*b));
    if (b == NULL)
        return NULL;
    memset(b, 0, sizeof(*b));
    b->meta = meta_new();
    if (b->meta == NULL)
        goto fail;
    if (cap > 0) {
        b->data = a_alloc(cap);
        if (b->data == NULL)
            goto fail;
        b->cap = cap;
    }
    return b;
fail:
    a_free(b->meta);
    a_free(b);
    return NULL;
}

int a_buf_append(a_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (n > SIZE_MAX - b->len)
        return -1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n) {
            if (cap > SIZE_MAX / 2)
                return -1;
            cap *= 2;
        }
        uint8_t *data = resize(b->data, cap);
        if (data == NULL)
            return -1;
        b->data = data;
        b->cap = cap;
        b->flags |= A_BUF_F_GROWN;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    if (b->meta) {
        b->meta->appends++;
        b->meta->checksum = fnv1a(b->meta->checksum, p, n);
    }
    return 0;
}

a_msg *a_msg_new(uint32_t cap)
{
    a_msg *m = a_alloc(sizeof(*m));
    if (m == NULL)
        return NULL;
    memset(m, 0, sizeof(*m));
    if (cap > 0) {
        m->data = a_alloc(cap);
        if (m->data == NULL) {
            a_free(m);
            return NULL;
        }
        m->cap = cap;
    }
    m->refcount = 1;
    m->flags = A_MSG_F_OWNED | A_MSG_F_CHECKED |
               ((uint32_t)A_VERSION << A_MSG_LAYOUT_SHIFT);
    return m;
}

int a_msg_append(a_msg *m, const void *p, uint32_t n)
{
    if (n == 0)
        return 0;
    if (n > UINT32_MAX - m->len)
        return -1;
    if (m->len + n > m->cap) {
        uint64_t cap = m->cap ? m->cap : 64;
        while (cap < (uint64_t)m->len + n)
            cap *= 2;
        if (cap > UINT32_MAX)
            cap = UINT32_MAX;
        uint8_t *data = resize(m->data, (size_t)cap);
        if (data == NULL)
            return -1;
        m->data = data;
        m->cap = (uint32_t)cap;
    }
    memcpy(m->data + m->len, p, n);
    m->len += n;
    return 0;
}

void a_msg_destroy(a_msg *m)
{
    if (m == NULL)
        return;
    a_free(m->data);
    a_free(m);
}
