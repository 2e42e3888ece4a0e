/*
 * stage.h - the stage interface of the selfheal pipeline (DESIGN section 3)
 * and the services of a B node that stages use.
 *
 * A stage is a const struct of function pointers (lh_stage_ops), one file
 * per stage (stage_<name>.c), listed once in include/stage_list.h (which
 * says how to add one).  Every stage
 * implements both its ON and its OFF behaviour in its handle function, so
 * the table of DESIGN section 3 lives in the stage files:
 *
 *   forward  ON: A sends the event to a B node (role_a.c); on the B side
 *                handle marks the arrival from A.  OFF: A consumes and drops.
 *   hash     ON: send the event to its owner by consistent hash (possibly
 *                itself).  OFF: the receiving node keeps it.
 *   enqueue  ON: hold the event in the delay queue until due.  OFF: due now.
 *   verify   ON: decode + checksum (+ store compare by rpc).  OFF: passed.
 *   rpc      ON: read the store by RPC, heal a mismatch.  OFF: local only.
 *
 * The pipeline is asynchronous.  A B node runs one poll loop; an item (one
 * event) goes through the stages in order until a stage holds it
 * (LH_STEP_HELD): the stage later hands it back with lh_node_resume, which
 * runs the stages after it, or ends it with lh_node_finish.  Stages that
 * wait on time or sockets take part in the loop through the optional
 * prepare (what to poll, how long to sleep) and dispatch hooks.
 *
 * Ownership: the node owns items; a stage that holds an item must hand it
 * back (resume or finish) or give it up in its close function by calling
 * lh_node_drop (shutdown: not acknowledged, so upstream sends them again).
 *
 * Live switching (docs/protocol.md section 5): a node may switch stages on
 * and off while it runs (role_b.c reads LEAKHUNT_CONTROL).  So every
 * stage's state is opened at start, whether the stage starts ON or OFF,
 * and a stage that holds items implements `switched`, which the node calls
 * after the switch for each stage whose state changed, in pipeline order,
 * with the node's new stage set already in force.  Switched OFF, a stage
 * hands on what it holds, so that the OFF behaviour of the table above
 * holds from the switch on and no event is lost or finished twice:
 *
 *   enqueue  what is queued is due at once: resumed now, in due order
 *            (verified now too, when verify is on).
 *   rpc      the events waiting to be sent go on locally (verified, or
 *            passed when verify went off as well); calls in flight finish
 *            and the event then goes on locally instead of another call.
 *   hash     nothing to hand on: events at their owner are finished
 *            there and acknowledged back; new events stay here.
 *   forward, verify  hold nothing.
 *
 * Switched ON, a stage takes the events that reach it from then on.  A
 * switch hands nothing to close: close is for shutdown only.
 */
#ifndef LH_STAGE_H
#define LH_STAGE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"
#include "event.h"
#include "stage_list.h"

/* Stage ids, in pipeline order (LH_STAGE_FORWARD, ...; stage_list.h). */
#define LH_STAGE_ENUM_(ID, name, req) LH_STAGE_##ID,
enum lh_stage_id {
    LH_STAGE_LIST(LH_STAGE_ENUM_, LH_STAGE_NO_REQ)
    LH_STAGE_COUNT
};
#undef LH_STAGE_ENUM_

/* A set of stages is a mask of their bits. */
#define LH_STAGE_BIT(id) (1u << (id))
#define LH_STAGES_ALL ((1u << LH_STAGE_COUNT) - 1u)
_Static_assert(LH_STAGE_COUNT <= 32, "a stage mask is an unsigned");

/* One event travelling through a B node. */
typedef struct lh_item {
    struct lh_item *next; /* for the holder's lists */
    void *ctx;            /* for the holding stage (e.g. callback state) */
    uint64_t tag;         /* upstream's tag, echoed in the ack */
    uint64_t origin;      /* upstream connection (the node's business) */
    int64_t due_us;       /* used by the enqueue stage */
    lh_event ev;          /* decoded view of data, once decoded != 0 */
    uint8_t at;           /* stage holding or last handling the item */
    uint8_t decoded;
    uint8_t from_peer;    /* came from a peer B: hash already applied */
    uint8_t failed;       /* counted as a bad or failed event */
    uint8_t tries;        /* store calls tried (rpc stage) */
    uint8_t phase;        /* the holding stage's step (rpc: get/heal) */
    uint32_t len;
    uint8_t data[];       /* the encoded event (core/event.h) */
} lh_item;

typedef struct lh_node lh_node;
typedef struct lh_inject lh_inject;

/* What the node knows and the stages read. */
typedef struct lh_node_cfg {
    uint32_t self;       /* this node's id */
    uint32_t nodes;      /* the B nodes are ids 0 .. nodes-1 */
    unsigned stages;     /* enabled stages now, LH_STAGE_BIT mask */
    int64_t delay_us;    /* enqueue delay (default 1 s) */
    size_t queue_cap;    /* delay queue capacity */
    const char *store;   /* store address host:port (rpc stage) */
    int rpc_timeout_ms;  /* per store call */
    const char *auth_token; /* shared token (store, peers), NULL: none */
    lh_inject *inject;   /* leak injection, NULL: none */
} lh_node_cfg;

/* Results of a stage's handle. */
enum lh_step {
    LH_STEP_NEXT = 0, /* go on with the next stage */
    LH_STEP_HELD = 1, /* the stage keeps the item (resume or finish later) */
    LH_STEP_DONE = 2, /* the stage called lh_node_finish already */
};

typedef struct lh_stage_ops {
    const char *name;
    /* Optional: sets up the stage's state (*state, NULL if none), ready
     * for the stage to be ON whenever it is switched on.  Called for every
     * stage at start, ON or OFF (lh_node_stage_on says which).  0 or an
     * lh error (the node fails). */
    int (*open)(lh_node *node, void **state);
    /* Optional: releases the state at shutdown, giving up held items. */
    void (*close)(lh_node *node, void *state);
    /* Optional: the stage was switched ON (on = 1) or OFF while the node
     * runs; called after the switch (above).  Switched OFF, it hands on
     * the items it holds. */
    void (*switched)(lh_node *node, void *state, int on);
    /* Required: one item, ON or OFF behaviour.  Returns an lh_step. */
    int (*handle)(lh_node *node, void *state, lh_item *it, int on);
    /* Optional: before each poll, fills *pfd and returns 1 when the stage
     * has a socket to watch (else 0), and lowers *timeout_ms (-1: none)
     * to when it next needs to run. */
    int (*prepare)(lh_node *node, void *state, struct pollfd *pfd,
                   int *timeout_ms);
    /* Optional: after each poll, with the revents of the prepared socket
     * (0 if none or not ready); runs timers due at now_us. */
    void (*dispatch)(lh_node *node, void *state, short revents,
                     int64_t now_us);
} lh_stage_ops;

/* Calls through the ops, with the defaults stated once: a NULL hook does
 * nothing (handle is required). */
static inline int lh_stage_prepare(const lh_stage_ops *ops, lh_node *n,
                                   void *st, struct pollfd *pfd, int *tmo)
{
    return ops->prepare ? ops->prepare(n, st, pfd, tmo) : 0;
}
static inline void lh_stage_dispatch(const lh_stage_ops *ops, lh_node *n,
                                     void *st, short revents, int64_t now)
{
    if (ops->dispatch)
        ops->dispatch(n, st, revents, now);
}
static inline void lh_stage_switched(const lh_stage_ops *ops, lh_node *n,
                                     void *st, int on)
{
    if (ops->switched)
        ops->switched(n, st, on);
}

/* The stages, one per file: lh_stage_forward in stage_forward.c, ... */
#define LH_STAGE_EXTERN_(ID, name, req)                                        \
    extern const lh_stage_ops lh_stage_##name;
LH_STAGE_LIST(LH_STAGE_EXTERN_, LH_STAGE_NO_REQ)
#undef LH_STAGE_EXTERN_

/* Lowers *timeout_ms to `ms` (>= 0) when that is sooner; -1 means none. */
static inline void lh_timeout_min(int *timeout_ms, int ms)
{
    if (ms < 0)
        return;
    if (*timeout_ms < 0 || ms < *timeout_ms)
        *timeout_ms = ms;
}

/*
 * Node services (role_b.c).
 */

const lh_node_cfg *lh_node_config(const lh_node *n);

/* The node's counters (the stages count their work here). */
lh_counters *lh_node_counters(lh_node *n);

/* 1 when stage `id` is enabled on this node now. */
static inline int lh_node_stage_on(const lh_node *n, int id)
{
    return (lh_node_config(n)->stages & LH_STAGE_BIT(id)) != 0;
}

/* Runs the stages after it->at. */
void lh_node_resume(lh_node *n, lh_item *it);

/* Ends the item: acknowledges it upstream, counts it finished (unless
 * it->failed), frees it. */
void lh_node_finish(lh_node *n, lh_item *it);

/* Frees the item without acknowledging it (shutdown: the upstream sends
 * it again). */
void lh_node_drop(lh_node *n, lh_item *it);

/* Ends an item the stage cannot work on (it does not decode, or fails its
 * check): counted in bad_events and finished as failed.  Returns
 * LH_STEP_DONE, for the stage's handle to return. */
int lh_node_reject(lh_node *n, lh_item *it);

/* Sends the item to peer B `node` and holds it until the peer acknowledges
 * it (then finishes it).  0 when sent, LH_ECLOSED when the peer is not
 * connected or LH_EFULL when its window is full (the caller keeps the
 * item and goes on locally). */
int lh_node_send_peer(lh_node *n, uint32_t node, lh_item *it);

/* 1 when the connection to peer B `node` is up (this node itself: 1). */
int lh_node_peer_up(const lh_node *n, uint32_t node);

/*
 * Items (item.c).
 */

/* A new item holding a copy of the event's len bytes at data, with
 * upstream's tag, everything else zero; the caller owns it (the node frees
 * it when it ends).  NULL when out of memory. */
lh_item *lh_item_new(const uint8_t *data, uint32_t len, uint64_t tag);

/* Decodes it->data into it->ev once.  0 or the lh_event_decode error. */
int lh_item_decode(lh_item *it);

#endif
