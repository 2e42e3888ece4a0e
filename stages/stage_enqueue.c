/*
 * stage_enqueue.c - enqueue: the owner holds each event until it is due,
 * delay after its arrival (default 1 s); the timer is the node's poll
 * loop: prepare sleeps until the next due time, dispatch releases what is
 * due, in due order.
 *
 * ON: queued (a full queue, --queue-cap events, makes the event due at
 * once rather than buffering without bound; A's windows keep that from
 * happening in practice).  OFF: every event is due at once.  Switched OFF
 * while it runs: what is queued is due at once too, and goes on now, in
 * due order.
 *
 * Design: every event waits the same delay on a monotonic clock, so due
 * order is arrival order and the delay queue is a FIFO, threaded through
 * the items' `next` (a general delay queue, core/dqueue.h, is a heap in an
 * array of its own).  So the queue has no storage to grow: its memory is
 * the items', which the node reports as queue= in its stats lines
 * (docs/protocol.md section 2), where an array that doubles at each new
 * high-water mark of the backlog would be steps that a leak harness reads
 * as growth.
 */
#include "inject.h"
#include "stage.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"

typedef struct fifo {
    lh_item *head, *tail;
    size_t len, cap;
} fifo;

static int enqueue_open(lh_node *node, void **state)
{
    fifo *q = lh_calloc(1, sizeof *q);

    *state = q;
    if (q == NULL)
        return LH_ENOMEM;
    q->cap = lh_node_config(node)->queue_cap;
    return 0;
}

/* Hands every item due at now_us to `to` (lh_node_resume, or
 * lh_node_drop when closing), in due order. */
static void release(lh_node *node, fifo *q, int64_t now_us,
                    void (*to)(lh_node *, lh_item *))
{
    while (q->head != NULL && q->head->due_us <= now_us) {
        lh_item *it = q->head;
        q->head = it->next;
        if (q->head == NULL)
            q->tail = NULL;
        q->len--;
        it->next = NULL;
        to(node, it);
    }
}

static void enqueue_close(lh_node *node, void *state)
{
    if (state == NULL) /* open failed */
        return;
    release(node, state, INT64_MAX, lh_node_drop);
    lh_free(state);
}

static void enqueue_switched(lh_node *node, void *state, int on)
{
    if (!on)
        release(node, state, INT64_MAX, lh_node_resume);
}

static int enqueue_handle(lh_node *node, void *state, lh_item *it, int on)
{
    fifo *q = state;

    if (!on)
        return LH_STEP_NEXT;
    LH_INJECT(lh_node_config(node)->inject, LH_STAGE_ENQUEUE);
    if (q->len == q->cap)
        return LH_STEP_NEXT;
    it->due_us = lh_now_us() + lh_node_config(node)->delay_us;
    it->next = NULL;
    if (q->tail != NULL)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->len++;
    lh_node_counters(node)->v[LH_C_enqueued]++;
    return LH_STEP_HELD;
}

static int enqueue_prepare(lh_node *node, void *state, struct pollfd *pfd,
                           int *timeout_ms)
{
    const fifo *q = state;
    (void)node;
    (void)pfd;
    if (q->head == NULL)
        return 0;
    int64_t wait = q->head->due_us - lh_now_us();
    lh_timeout_min(timeout_ms, wait <= 0 ? 0 : (int)((wait + 999) / 1000));
    return 0;
}

static void enqueue_dispatch(lh_node *node, void *state, short revents,
                             int64_t now_us)
{
    (void)revents;
    release(node, state, now_us, lh_node_resume);
}

const lh_stage_ops lh_stage_enqueue = {
    .name = "enqueue",
    .open = enqueue_open,
    .close = enqueue_close,
    .switched = enqueue_switched,
    .handle = enqueue_handle,
    .prepare = enqueue_prepare,
    .dispatch = enqueue_dispatch,
};
