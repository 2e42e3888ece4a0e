/*
 * Design: a binary min-heap in an array, keyed by (due time, insertion
 * sequence number).  The sequence number makes the order total, so items
 * with equal due times come out in the order they went in although a heap
 * is not a stable structure.  The sequence is 64-bit and never wraps in
 * practice (one push per nanosecond would take 584 years).
 *
 * Storage starts small and doubles on demand, never past the capacity, so
 * a queue created with a large bound costs nothing until it fills.  A push
 * grows the storage (if it must) before touching the heap, so a failed push
 * leaves the queue unchanged and the item with the caller.
 */
#include "dqueue.h"

#include "alloc.h"
#include "error.h"

#define INITIAL_SLOTS 16

struct entry {
    int64_t due;
    uint64_t seq;
    void *item;
};

struct lh_dqueue {
    struct entry *heap;
    size_t len;
    size_t slots; /* allocated entries */
    size_t capacity;
    uint64_t next_seq;
};

static int before(const struct entry *a, const struct entry *b)
{
    if (a->due != b->due)
        return a->due < b->due;
    return a->seq < b->seq;
}

static void sift_up(struct entry *heap, size_t i)
{
    struct entry e = heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&e, &heap[parent]))
            break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = e;
}

static void sift_down(struct entry *heap, size_t len, size_t i)
{
    struct entry e = heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= len)
            break;
        if (child + 1 < len && before(&heap[child + 1], &heap[child]))
            child++;
        if (!before(&heap[child], &e))
            break;
        heap[i] = heap[child];
        i = child;
    }
    heap[i] = e;
}

int lh_dqueue_new(size_t capacity, lh_dqueue **out)
{
    if (capacity == 0 || capacity > SIZE_MAX / sizeof(struct entry))
        return LH_EINVAL;
    lh_dqueue *q = lh_calloc(1, sizeof *q);
    if (q == NULL)
        return LH_ENOMEM;
    q->capacity = capacity;
    *out = q;
    return 0;
}

void lh_dqueue_free(lh_dqueue *q, void (*free_item)(void *item))
{
    if (q == NULL)
        return;
    if (free_item != NULL) {
        for (size_t i = 0; i < q->len; i++)
            free_item(q->heap[i].item);
    }
    lh_free(q->heap);
    lh_free(q);
}

static int grow(lh_dqueue *q)
{
    size_t slots = q->slots ? q->slots : INITIAL_SLOTS / 2;
    slots = slots > q->capacity / 2 ? q->capacity : slots * 2;
    struct entry *heap = lh_realloc(q->heap, slots * sizeof *heap);
    if (heap == NULL)
        return LH_ENOMEM;
    q->heap = heap;
    q->slots = slots;
    return 0;
}

int lh_dqueue_push(lh_dqueue *q, int64_t due_us, void *item)
{
    if (q->len == q->capacity)
        return LH_EFULL;
    if (q->len == q->slots) {
        int err = grow(q);
        if (err)
            return err;
    }
    struct entry *e = &q->heap[q->len];
    e->due = due_us;
    e->seq = q->next_seq++;
    e->item = item;
    sift_up(q->heap, q->len);
    q->len++;
    return 0;
}

size_t lh_dqueue_pop_due(lh_dqueue *q, int64_t now_us, void **items,
                         size_t max)
{
    size_t n = 0;
    while (n < max && q->len > 0 && q->heap[0].due <= now_us) {
        items[n++] = q->heap[0].item;
        q->len--;
        if (q->len > 0) {
            q->heap[0] = q->heap[q->len];
            sift_down(q->heap, q->len, 0);
        }
    }
    return n;
}

int lh_dqueue_next_due(const lh_dqueue *q, int64_t *due_us)
{
    if (q->len == 0)
        return LH_EEMPTY;
    *due_us = q->heap[0].due;
    return 0;
}

size_t lh_dqueue_len(const lh_dqueue *q)
{
    return q->len;
}

size_t lh_dqueue_capacity(const lh_dqueue *q)
{
    return q->capacity;
}
