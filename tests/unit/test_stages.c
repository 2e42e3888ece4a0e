/*
 * test_stages.c - the stages' switch hooks (stage.h): switched OFF while it
 * runs, a stage hands on every item it holds, in order, once, with the
 * OFF semantics in force; switched ON again it holds again.
 *
 * The stages are the real ones (stage_enqueue.c, stage_rpc.c); the node is
 * a recording one, the other side of the stage interface (stage.h's node
 * services), so that what a stage does with each item can be seen: which
 * items it resumed, in which order, which it dropped.  The running node
 * (role_b.c) is exercised end to end by tests/integration/selfheal_live.sh.
 */
#include "cu_main.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "event.h"
#include "net.h"
#include "stage.h"

#include <unistd.h>

#define F LH_STAGE_BIT(LH_STAGE_FORWARD)
#define E LH_STAGE_BIT(LH_STAGE_ENQUEUE)
#define V LH_STAGE_BIT(LH_STAGE_VERIFY)
#define R LH_STAGE_BIT(LH_STAGE_RPC)

enum { MAX_SEEN = 64 };

/* The recording node: the stage interface's node services. */
struct lh_node {
    lh_node_cfg cfg;
    lh_counters c;
    uint64_t resumed[MAX_SEEN]; /* tags, in order */
    int nresumed, finished, dropped;
};

const lh_node_cfg *lh_node_config(const lh_node *n)
{
    return &n->cfg;
}

lh_counters *lh_node_counters(lh_node *n)
{
    return &n->c;
}

void lh_node_resume(lh_node *n, lh_item *it)
{
    if (n->nresumed < MAX_SEEN)
        n->resumed[n->nresumed++] = it->tag;
    lh_free(it);
}

void lh_node_finish(lh_node *n, lh_item *it)
{
    n->finished++;
    lh_free(it);
}

void lh_node_drop(lh_node *n, lh_item *it)
{
    n->dropped++;
    lh_free(it);
}

int lh_node_reject(lh_node *n, lh_item *it)
{
    lh_node_finish(n, it);
    return LH_STEP_DONE;
}

int lh_node_send_peer(lh_node *n, uint32_t node, lh_item *it)
{
    (void)n;
    (void)node;
    (void)it;
    return LH_ECLOSED;
}

int lh_node_peer_up(const lh_node *n, uint32_t node)
{
    (void)n;
    return node == 0;
}

/* An item carrying a valid event with key "k<tag>", held by stage `at`. */
static lh_item *new_item(uint64_t tag, int at)
{
    char key[32];
    const char payload[] = "value";
    snprintf(key, sizeof key, "k%llu", (unsigned long long)tag);
    lh_event ev = {.key = (const uint8_t *)key,
                   .key_len = (uint16_t)strlen(key),
                   .payload = (const uint8_t *)payload,
                   .payload_len = sizeof payload - 1,
                   .checksum = lh_checksum(payload, sizeof payload - 1),
                   .version = 1};
    uint8_t data[128];
    int len = lh_event_encode(&ev, data, sizeof data);
    CU_ASSERT_FATAL(len > 0);
    lh_item *it = lh_item_new(data, (uint32_t)len, tag);
    CU_ASSERT_PTR_NOT_NULL_FATAL(it);
    it->at = (uint8_t)at;
    return it;
}

/* Switches stage `id` to `on` as the node does: the set first, then the
 * hook. */
static void switch_stage(lh_node *n, const lh_stage_ops *ops, void *st, int id,
                         int on)
{
    if (on)
        n->cfg.stages |= LH_STAGE_BIT(id);
    else
        n->cfg.stages &= ~LH_STAGE_BIT(id);
    lh_stage_switched(ops, n, st, on);
}

static void test_stages_enqueue_switched_off_releases_the_queue_in_order(void)
{
    lh_node n = {.cfg = {.stages = F | E, .delay_us = 3600000000LL,
                         .queue_cap = 100, .nodes = 1}};
    const lh_stage_ops *ops = &lh_stage_enqueue;
    void *st = NULL;
    struct pollfd pfd;
    int timeout = -1;

    CU_ASSERT_EQUAL_FATAL(ops->open(&n, &st), 0);
    for (uint64_t t = 1; t <= 5; t++) {
        lh_item *it = new_item(t, LH_STAGE_ENQUEUE);
        CU_ASSERT_EQUAL(ops->handle(&n, st, it, 1), LH_STEP_HELD);
    }
    CU_ASSERT_EQUAL(n.c.v[LH_C_enqueued], 5);
    CU_ASSERT_EQUAL(n.nresumed, 0); /* due in an hour */
    switch_stage(&n, ops, st, LH_STAGE_ENQUEUE, 0);
    /* Due at once: every item resumed, in due order, none dropped. */
    CU_ASSERT_EQUAL(n.nresumed, 5);
    for (int i = 0; i < n.nresumed; i++)
        CU_ASSERT_EQUAL(n.resumed[i], (uint64_t)i + 1);
    CU_ASSERT_EQUAL(n.dropped, 0);
    /* Nothing left to wait for; OFF, items go on. */
    CU_ASSERT_EQUAL(lh_stage_prepare(ops, &n, st, &pfd, &timeout), 0);
    CU_ASSERT_EQUAL(timeout, -1);
    lh_item *it = new_item(6, LH_STAGE_ENQUEUE);
    CU_ASSERT_EQUAL(ops->handle(&n, st, it, 0), LH_STEP_NEXT);
    lh_free(it);
    /* ON again: held again; shutdown drops what is held (A resends). */
    switch_stage(&n, ops, st, LH_STAGE_ENQUEUE, 1);
    CU_ASSERT_EQUAL(n.nresumed, 5);
    it = new_item(7, LH_STAGE_ENQUEUE);
    CU_ASSERT_EQUAL(ops->handle(&n, st, it, 1), LH_STEP_HELD);
    ops->close(&n, st);
    CU_ASSERT_EQUAL(n.dropped, 1);
    CU_ASSERT_EQUAL(n.nresumed, 5);
}

static void test_stages_enqueue_full_queue_makes_events_due_at_once(void)
{
    lh_node n = {.cfg = {.stages = F | E, .delay_us = 0, .queue_cap = 2,
                         .nodes = 1}};
    const lh_stage_ops *ops = &lh_stage_enqueue;
    void *st = NULL;
    lh_item *its[3];

    CU_ASSERT_EQUAL_FATAL(ops->open(&n, &st), 0);
    for (int i = 0; i < 3; i++)
        its[i] = new_item((uint64_t)i + 1, LH_STAGE_ENQUEUE);
    CU_ASSERT_EQUAL(ops->handle(&n, st, its[0], 1), LH_STEP_HELD);
    CU_ASSERT_EQUAL(ops->handle(&n, st, its[1], 1), LH_STEP_HELD);
    CU_ASSERT_EQUAL(ops->handle(&n, st, its[2], 1), LH_STEP_NEXT);
    lh_free(its[2]);
    CU_ASSERT_EQUAL(n.c.v[LH_C_enqueued], 2);
    /* Due (no delay): released by the loop's dispatch, in order. */
    lh_stage_dispatch(ops, &n, st, 0, INT64_MAX);
    CU_ASSERT_EQUAL(n.nresumed, 2);
    CU_ASSERT_EQUAL(n.resumed[0], 1);
    CU_ASSERT_EQUAL(n.resumed[1], 2);
    /* Room again. */
    its[0] = new_item(4, LH_STAGE_ENQUEUE);
    CU_ASSERT_EQUAL(ops->handle(&n, st, its[0], 1), LH_STEP_HELD);
    ops->close(&n, st);
    CU_ASSERT_EQUAL(n.dropped, 1);
}

/* The rpc stage ON with a store that cannot be reached (a port nothing
 * listens on), so that every event waits; then switched off. */
static void rpc_waiters_switched_off(unsigned off_too, uint64_t want_verified,
                                     uint64_t want_passed)
{
    char store[64];
    uint16_t port = 0;
    int fd = lh_net_listen("127.0.0.1", 0, &port);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd); /* a port nothing listens on: connecting is refused */
    snprintf(store, sizeof store, "127.0.0.1:%u", port);
    lh_node n = {.cfg = {.stages = F | V | R, .store = store,
                         .rpc_timeout_ms = 1000, .nodes = 1}};
    const lh_stage_ops *ops = &lh_stage_rpc;
    void *st = NULL;

    CU_ASSERT_EQUAL_FATAL(ops->open(&n, &st), 0);
    for (uint64_t t = 1; t <= 4; t++) {
        lh_item *it = new_item(t, LH_STAGE_RPC);
        CU_ASSERT_EQUAL(ops->handle(&n, st, it, 1), LH_STEP_HELD);
    }
    CU_ASSERT_EQUAL(n.nresumed, 0);
    n.cfg.stages &= ~off_too;
    switch_stage(&n, ops, st, LH_STAGE_RPC, 0);
    /* Every waiting event went on locally, in order, counted once. */
    CU_ASSERT_EQUAL(n.nresumed, 4);
    for (int i = 0; i < n.nresumed; i++)
        CU_ASSERT_EQUAL(n.resumed[i], (uint64_t)i + 1);
    CU_ASSERT_EQUAL(n.c.v[LH_C_verified], want_verified);
    CU_ASSERT_EQUAL(n.c.v[LH_C_passed_unchecked], want_passed);
    CU_ASSERT_EQUAL(n.dropped + n.finished, 0);
    /* OFF: events go on; ON again: they wait again. */
    lh_item *it = new_item(5, LH_STAGE_RPC);
    CU_ASSERT_EQUAL(ops->handle(&n, st, it, 0), LH_STEP_NEXT);
    lh_free(it);
    n.cfg.stages |= off_too;
    switch_stage(&n, ops, st, LH_STAGE_RPC, 1);
    it = new_item(6, LH_STAGE_RPC);
    CU_ASSERT_EQUAL(ops->handle(&n, st, it, 1), LH_STEP_HELD);
    ops->close(&n, st);
    CU_ASSERT_EQUAL(n.dropped, 1);
}

static void test_stages_rpc_switched_off_sends_waiters_down_the_local_path(void)
{
    /* verify stays on: the local check passed, so they count verified */
    rpc_waiters_switched_off(0, 4, 0);
}

static void test_stages_rpc_and_verify_switched_off_pass_the_waiters(void)
{
    rpc_waiters_switched_off(V, 0, 4);
}

static CU_TestInfo tests[] = {
    {"enqueue switched off releases the queue in order",
     test_stages_enqueue_switched_off_releases_the_queue_in_order},
    {"enqueue full queue makes events due at once",
     test_stages_enqueue_full_queue_makes_events_due_at_once},
    {"rpc switched off sends waiters down the local path",
     test_stages_rpc_switched_off_sends_waiters_down_the_local_path},
    {"rpc and verify switched off pass the waiters",
     test_stages_rpc_and_verify_switched_off_pass_the_waiters},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("stages", tests)
