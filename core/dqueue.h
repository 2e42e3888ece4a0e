/*
 * dqueue.h - a bounded delay queue ordered by due time.
 *
 * Items (opaque pointers owned by the caller) go in with a due time and come
 * out in due-time order, items with equal due times in insertion order.  A
 * binary min-heap: push and pop are O(log n), peeking the next due time is
 * O(1).  The queue never grows past its capacity: a push into a full queue
 * returns LH_EFULL so the caller can apply backpressure.
 *
 * The "timer" is the caller's event loop: lh_dqueue_next_due tells it how
 * long to sleep, lh_dqueue_pop_due releases everything whose time has come.
 * Not thread-safe.
 */
#ifndef LH_DQUEUE_H
#define LH_DQUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct lh_dqueue lh_dqueue;

/* Creates a queue holding at most `capacity` items (> 0).  Storage grows on
 * demand up to the capacity.  0 and *out set, LH_EINVAL or LH_ENOMEM. */
int lh_dqueue_new(size_t capacity, lh_dqueue **out);

/* Frees the queue, calling free_item (if not NULL) on each item still in
 * it.  Accepts NULL. */
void lh_dqueue_free(lh_dqueue *q, void (*free_item)(void *item));

/* Adds an item due at due_us.  0, LH_EFULL (at capacity), or LH_ENOMEM;
 * on failure the item is not taken. */
int lh_dqueue_push(lh_dqueue *q, int64_t due_us, void *item);

/* Removes up to `max` items due at or before now_us, in due order, into
 * items[].  Returns how many. */
size_t lh_dqueue_pop_due(lh_dqueue *q, int64_t now_us, void **items,
                         size_t max);

/* Earliest due time.  0 and *due_us set, or LH_EEMPTY. */
int lh_dqueue_next_due(const lh_dqueue *q, int64_t *due_us);

size_t lh_dqueue_len(const lh_dqueue *q);
size_t lh_dqueue_capacity(const lh_dqueue *q);

#endif
