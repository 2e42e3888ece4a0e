/*
 * stage_hash.c - hash: the receiving B sends the event to the B node that
 * owns its key on a consistent-hash ring (core/ring.h) of all B nodes.
 *
 * ON: the owner is looked up by the event's key; when it is this node the
 * event goes on here, else it travels to the owner over TCP and this node
 * holds it until the owner acknowledges it (lh_node_send_peer).  B
 * membership changes re-balance the ring: an owner found unreachable
 * (restarting, or not started yet) leaves the ring, so its keys go to the
 * next node on it, and it returns when its connection is back.  An owner
 * whose window is full leaves the event here: the pipeline degrades to
 * local work instead of stalling.
 * OFF: the receiving node keeps every event.  Switched OFF while it runs:
 * events already sent to their owner are finished there (its ack comes
 * back as usual); nothing is held here to hand on.  The ring is kept
 * (membership follows the peers whether the stage is on or off), so the
 * stage can be switched on again at once.
 */
#include "inject.h"
#include "ring.h"
#include "stage.h"

#include "alloc.h"
#include "error.h"

typedef struct hash_state {
    lh_ring *ring;
    uint8_t *member; /* member[id]: node id is on the ring now */
    uint32_t nodes;
} hash_state;

static void hash_close(lh_node *node, void *state)
{
    hash_state *h = state;
    (void)node;
    if (h == NULL)
        return;
    lh_ring_free(h->ring);
    lh_free(h->member);
    lh_free(h);
}

static int hash_open(lh_node *node, void **state)
{
    const lh_node_cfg *cfg = lh_node_config(node);
    hash_state *h;
    int rc = LH_ENOMEM;

    *state = NULL;
    h = lh_calloc(1, sizeof *h);
    if (h == NULL)
        return LH_ENOMEM;
    h->nodes = cfg->nodes;
    h->member = lh_calloc(cfg->nodes, 1);
    if (h->member == NULL)
        goto out;
    rc = lh_ring_new(0, &h->ring);
    if (rc != 0)
        goto out;
    /* Every configured node starts on the ring: keys are placed as they
     * will be once all nodes are up, and a node that is not reachable is
     * taken off when an event for it finds it down. */
    for (uint32_t id = 0; id < cfg->nodes; id++) {
        rc = lh_ring_add(h->ring, id);
        if (rc != 0)
            goto out;
        h->member[id] = 1;
    }
    *state = h;
    h = NULL;
out:
    hash_close(node, h);
    return rc;
}

/* The owner of the event's key among the reachable nodes: owners found
 * down leave the ring (their keys move to the others). */
static int owner_of(lh_node *node, hash_state *h, const lh_item *it,
                    uint32_t *owner)
{
    for (;;) {
        int rc = lh_ring_lookup(h->ring, it->ev.key, it->ev.key_len, owner);
        if (rc != 0)
            return rc;
        if (lh_node_peer_up(node, *owner))
            return 0;
        lh_ring_remove(h->ring, *owner);
        h->member[*owner] = 0;
    }
}

static int hash_handle(lh_node *node, void *state, lh_item *it, int on)
{
    hash_state *h = state;
    uint32_t owner;

    if (!on)
        return LH_STEP_NEXT;
    LH_INJECT(lh_node_config(node)->inject, LH_STAGE_HASH);
    if (lh_item_decode(it) != 0)
        return lh_node_reject(node, it);
    if (owner_of(node, h, it, &owner) != 0 ||
        owner == lh_node_config(node)->self)
        return LH_STEP_NEXT;
    if (lh_node_send_peer(node, owner, it) != 0)
        return LH_STEP_NEXT; /* window full: this node does the work */
    lh_node_counters(node)->v[LH_C_hash_forwarded]++;
    return LH_STEP_HELD;
}

/* Nodes that came back (reconnected) return to the ring. */
static void hash_dispatch(lh_node *node, void *state, short revents,
                          int64_t now_us)
{
    hash_state *h = state;
    (void)revents;
    (void)now_us;
    for (uint32_t id = 0; id < h->nodes; id++)
        if (!h->member[id] && lh_node_peer_up(node, id) &&
            lh_ring_add(h->ring, id) == 0)
            h->member[id] = 1;
}

const lh_stage_ops lh_stage_hash = {
    .name = "hash",
    .open = hash_open,
    .close = hash_close,
    .handle = hash_handle,
    .dispatch = hash_dispatch,
};
