/*
 * stage_verify.c - verify: a due event is checked.
 *
 * ON: decode (structure) and checksum (the payload matches the checksum
 * the producer computed); a bad event is counted and finished.  With the
 * rpc stage on, the comparison with the store's value follows there and
 * rpc counts the event verified; with rpc off verification is local only
 * and ends here.  OFF: the event is treated as passed (passed_unchecked).
 */
#include "inject.h"
#include "stage.h"

static int verify_handle(lh_node *node, void *state, lh_item *it, int on)
{
    lh_counters *c = lh_node_counters(node);
    (void)state;

    if (!on) {
        c->v[LH_C_passed_unchecked]++;
        return LH_STEP_NEXT;
    }
    LH_INJECT(lh_node_config(node)->inject, LH_STAGE_VERIFY);
    if (lh_item_decode(it) != 0 || !lh_event_checksum_ok(&it->ev))
        return lh_node_reject(node, it);
    if (!lh_node_stage_on(node, LH_STAGE_RPC))
        c->v[LH_C_verified]++;
    return LH_STEP_NEXT;
}

const lh_stage_ops lh_stage_verify = {
    .name = "verify",
    .handle = verify_handle,
};
