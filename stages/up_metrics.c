/*
 * up_metrics.c - `selfheal up --metrics-port`: one /metrics for the whole
 * topology (up.h, metrics.h).
 *
 * Design: up already reads every child's counters file every 50 ms
 * (counters.h: the counters, and each node's live heap and stages); a
 * scrape renders those, with each child's resident memory read from
 * /proc at the scrape, so the children serve nothing themselves and one
 * endpoint covers every host-local process.  Each child's series carry
 * role="b",node="b0" (role: broker, store, b, a, produce); a counter is
 * the child's total over its restarts (as up's summary counts it), a
 * gauge its current instance's.  Beside them, the selfheal_role_*
 * families hold one series per role, summed over its nodes
 * (selfheal_role_finished_total{role="b"}): what a tool that needs one
 * series (leak-hunt's --work-metric) reads for the B nodes together,
 * without the broker's retained log or A.
 */
#include "up.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "memsample.h"
#include "registry.h"

static const char *const role_of[] = {"broker", "store", "b", "a",
                                      "produce"};
enum { NROLES = 5 };

/* One child's figures; c receives its counters, labels its labels. */
static void child_info(const child *k, lh_counters *c, char *labels,
                       size_t cap, char *stages, size_t scap,
                       lh_metrics_node_info *info)
{
    lh_up_total_of(k, c);
    for (int id = 0; id < LH_C_COUNT; id++)
        if (lh_counter_is_gauge(id))
            c->v[id] = k->last.v[id];
    snprintf(labels, cap, "role=\"%s\",node=\"%s\"", role_of[k->kind],
             k->name);
    *info = (lh_metrics_node_info){.labels = labels,
                                   .c = k->counters_path[0] ? c : NULL};
    if (k->pid > 0) {
        info->has_rss = lh_mem_rss(k->pid, &info->rss) == 0;
        info->start_time = k->started;
        info->heap_live = k->last.v[LH_C_heap_live];
        info->has_heap = k->counters_path[0] != '\0' && info->heap_live > 0;
    }
    if (k->kind == K_B && k->last.v[LH_C_stages_mask] != 0) {
        lh_stages_format((unsigned)(k->last.v[LH_C_stages_mask] - 1), stages,
                         scap);
        if (stages[0] == '\0')
            snprintf(stages, scap, "-");
        info->stages = stages;
    }
}

/* selfheal_role_*: per role, the sum over its nodes. */
static int role_sums(lh_buf *out, const lh_metrics_node_info *nodes,
                     const int *kinds, size_t n)
{
    char name[96], labels[32];
    int rc = 0;

    for (int id = 0; rc == 0 && id < LH_C_COUNT; id++) {
        int gauge = lh_counter_is_gauge(id);
        if (id == LH_C_stages_mask)
            continue;
        snprintf(name, sizeof name, "selfheal_role_%s%s%s",
                 lh_counter_name(id), id == LH_C_heap_live ? "_bytes" : "",
                 gauge ? "" : "_total");
        rc = lh_metrics_family(out, name, gauge ? "gauge" : "counter",
                               "the sum over the role's nodes");
        for (int r = 0; rc == 0 && r < NROLES; r++) {
            uint64_t sum = 0;
            int any = 0;
            for (size_t i = 0; i < n; i++)
                if (kinds[i] == r && nodes[i].c != NULL) {
                    sum += nodes[i].c->v[id];
                    any = 1;
                }
            snprintf(labels, sizeof labels, "role=\"%s\"", role_of[r]);
            if (any)
                rc = lh_metrics_sample(out, name, labels, (double)sum);
        }
    }
    if (rc == 0)
        rc = lh_metrics_family(out, "selfheal_role_resident_memory_bytes",
                               "gauge", "the sum over the role's nodes");
    for (int r = 0; rc == 0 && r < NROLES; r++) {
        uint64_t sum = 0;
        int any = 0;
        for (size_t i = 0; i < n; i++)
            if (kinds[i] == r && nodes[i].has_rss) {
                sum += nodes[i].rss;
                any = 1;
            }
        snprintf(labels, sizeof labels, "role=\"%s\"", role_of[r]);
        if (any)
            rc = lh_metrics_sample(out, "selfheal_role_resident_memory_bytes",
                                   labels, (double)sum);
    }
    return rc;
}

int lh_up_render_metrics(void *arg, lh_buf *out)
{
    enum { MAXK = MAX_NODES + MAX_CONSUMERS + 3 };
    up *u = arg;
    lh_counters c[MAXK];
    char labels[MAXK][64], stages[MAXK][128];
    lh_metrics_node_info info[MAXK];
    int kinds[MAXK];
    size_t n = 0;

    for (int i = 0; i < u->nkids && n < MAXK; i++, n++) {
        child_info(&u->kids[i], &c[n], labels[n], sizeof labels[n],
                   stages[n], sizeof stages[n], &info[n]);
        kinds[n] = u->kids[i].kind;
    }
    int rc = lh_metrics_nodes(out, info, n);
    return rc ? rc : role_sums(out, info, kinds, n);
}
