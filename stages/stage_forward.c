/*
 * stage_forward.c - forward: A sends each event to a B node.
 *
 * ON: the sending is A's (role_a.c, which asks lh_stages_select whether
 * forward is on); on the B side this handle marks an event's arrival from
 * A, which is where the stage's planted leak (if any) sits, so that heap
 * profiles of B nodes attribute it to this file.  OFF: A consumes and drops
 * every event, so nothing reaches a B node; an event arriving anyway (sent
 * before A switched forward off) just goes on.  A applies switches of
 * forward itself (role_a.c) and announces its list to the B nodes, which
 * acknowledge a list only once A runs it too (docs/protocol.md section 5).
 */
#include "inject.h"
#include "stage.h"

static int forward_handle(lh_node *node, void *state, lh_item *it, int on)
{
    (void)state;
    (void)it;
    if (on)
        LH_INJECT(lh_node_config(node)->inject, LH_STAGE_FORWARD);
    return LH_STEP_NEXT;
}

const lh_stage_ops lh_stage_forward = {
    .name = "forward",
    .handle = forward_handle,
};
