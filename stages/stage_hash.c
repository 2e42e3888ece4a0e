/*
 * stage_hash.c - hash: the receiving B sends the event to the B node that
 * owns its key on a consistent-hash ring (core/ring.h) of all B nodes.
 *
 * ON: the owner is looked up by the event's key; when it is this node the
 * event goes on here, else it travels to the owner over TCP and this node
 * holds it until the owner acknowledges it (lh_node_send_peer).  An owner
 * that is not reachable (restarting) or whose window is full leaves the
 * event here: the pipeline degrades to local work instead of stalling.
 * OFF: the receiving node keeps every event.
 */
#include "inject.h"
#include "ring.h"
#include "stage.h"

#include "error.h"

static int hash_open(lh_node *node, int on, void **state)
{
    const lh_node_cfg *cfg = lh_node_config(node);
    lh_ring *ring = NULL;

    *state = NULL;
    if (!on)
        return 0;
    int rc = lh_ring_new(0, &ring);
    if (rc != 0)
        return rc;
    for (uint32_t id = 0; id < cfg->nodes; id++) {
        rc = lh_ring_add(ring, id);
        if (rc != 0) {
            lh_ring_free(ring);
            return rc;
        }
    }
    *state = ring;
    return 0;
}

static void hash_close(lh_node *node, void *state)
{
    (void)node;
    lh_ring_free(state);
}

static int hash_handle(lh_node *node, void *state, lh_item *it, int on)
{
    uint32_t owner;

    if (!on)
        return LH_STEP_NEXT;
    LH_INJECT(lh_node_config(node)->inject, LH_STAGE_HASH);
    if (lh_item_decode(it) != 0) {
        lh_node_counters(node)->v[LH_C_bad_events]++;
        it->failed = 1;
        lh_node_finish(node, it);
        return LH_STEP_DONE;
    }
    if (lh_ring_lookup(state, it->ev.key, it->ev.key_len, &owner) != 0 ||
        owner == lh_node_config(node)->self)
        return LH_STEP_NEXT;
    if (lh_node_send_peer(node, owner, it) != 0)
        return LH_STEP_NEXT;
    lh_node_counters(node)->v[LH_C_hash_forwarded]++;
    return LH_STEP_HELD;
}

const lh_stage_ops lh_stage_hash = {
    .name = "hash",
    .open = hash_open,
    .close = hash_close,
    .handle = hash_handle,
};
