/*
 * stage_enqueue.c - enqueue: the owner holds each event in a delay queue
 * (core/dqueue.h) until it is due, delay after its arrival (default 1 s);
 * the timer is the node's poll loop: prepare sleeps until the next due
 * time, dispatch releases what is due, in due order.
 *
 * ON: queued (a full queue makes the event due at once rather than
 * buffering without bound; A's windows keep that from happening in
 * practice).  OFF: every event is due at once.  Switched OFF while it
 * runs: what is queued is due at once too, and goes on now, in due order.
 */
#include "dqueue.h"
#include "inject.h"
#include "stage.h"

#include "clock.h"
#include "error.h"

#define RELEASE_BATCH 256

static int enqueue_open(lh_node *node, void **state)
{
    lh_dqueue *q = NULL;

    *state = NULL;
    int rc = lh_dqueue_new(lh_node_config(node)->queue_cap, &q);
    if (rc != 0)
        return rc;
    *state = q;
    return 0;
}

/* Hands every item due at now_us to `to` (lh_node_resume, or
 * lh_node_drop when closing), in due order. */
static void release(lh_node *node, lh_dqueue *q, int64_t now_us,
                    void (*to)(lh_node *, lh_item *))
{
    void *items[RELEASE_BATCH];
    size_t n;

    for (;;) {
        n = lh_dqueue_pop_due(q, now_us, items, RELEASE_BATCH);
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++)
            to(node, items[i]);
    }
}

static void enqueue_close(lh_node *node, void *state)
{
    if (state == NULL) /* open failed */
        return;
    release(node, state, INT64_MAX, lh_node_drop);
    lh_dqueue_free(state, NULL);
}

static void enqueue_switched(lh_node *node, void *state, int on)
{
    if (!on)
        release(node, state, INT64_MAX, lh_node_resume);
}

static int enqueue_handle(lh_node *node, void *state, lh_item *it, int on)
{
    if (!on)
        return LH_STEP_NEXT;
    LH_INJECT(lh_node_config(node)->inject, LH_STAGE_ENQUEUE);
    it->due_us = lh_now_us() + lh_node_config(node)->delay_us;
    if (lh_dqueue_push(state, it->due_us, it) != 0)
        return LH_STEP_NEXT;
    lh_node_counters(node)->v[LH_C_enqueued]++;
    return LH_STEP_HELD;
}

static int enqueue_prepare(lh_node *node, void *state, struct pollfd *pfd,
                           int *timeout_ms)
{
    int64_t due;
    (void)node;
    (void)pfd;
    if (lh_dqueue_next_due(state, &due) != 0)
        return 0;
    int64_t wait = due - lh_now_us();
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
