/*
 * up.h - what the files of `selfheal up` share (role_up.c: options,
 * children, supervision; up_report.c: the summary and --json): the
 * topology's children and the run's state.  Not for use elsewhere.
 */
#ifndef LH_UP_H
#define LH_UP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "counters.h"
#include "kafka.h"
#include "ledger.h"
#include "metrics.h"

#define MAX_NODES 64
#define MAX_ARGS 96
#define MAX_INJECT 8
#define MAX_CONSUMERS 16
#define MAX_PROPS 32 /* -X */

enum kind { K_BROKER, K_STORE, K_B, K_A, K_PRODUCE };

typedef struct child {
    enum kind kind;
    char name[16];
    char *argv[MAX_ARGS];
    int argc;
    int wrap;     /* start under LEAKHUNT_WRAP (B nodes) */
    int v2;       /* run with library A v2 (abi-mismatch) */
    pid_t pid;    /* 0: not running */
    int status;   /* last exit status */
    int exited;
    int restarts;
    char counters_path[PATH_MAX];
    double started;   /* wall clock when this instance started, s */
    lh_counters base; /* counters of earlier instances */
    lh_counters last; /* last read from the running instance */
} child;

typedef struct up_opts {
    uint64_t events, nodes, keys, value_size, rate, max_lag, delay_ms;
    uint64_t window, partitions, stall_s, grace_s, consumers;
    uint64_t store_delay_us; /* the store's --delay-us */
    double duration, corrupt_rate;
    const char *brokers, *stages, *json, *dir, *scenario, *wrap_roles;
    const char *auth_token;
    const char *broker_faults; /* the broker's --faults plan, NULL: none */
    const char *inject[MAX_INJECT];
    int ninject;
    const char *topic, *group; /* --topic, --group */
    const char *props[MAX_PROPS]; /* -X, for produce and the A's */
    int nprops;
    uint64_t brokers_count; /* the embedded broker's --brokers-count */
    uint64_t metrics_port;  /* --metrics-port, UINT64_MAX: none */
    const char *metrics_port_file;
    int keep;
    int ledger; /* --ledger */
} up_opts;

typedef struct up {
    up_opts o;
    char dir[2048];
    int made_dir;
    char self[PATH_MAX];
    char brokers[1024];
    char store_addr[64];
    char peers[MAX_NODES * 24];
    char **wrap;
    size_t nwrap;
    child kids[MAX_NODES + MAX_CONSUMERS + 3];
    int nkids;
    unsigned stages;
    char stage_names[128]; /* the stages as a list, for the summary */
    lh_klag *klag;
    lh_ledger_sum led; /* the merged ledger, when led_ok */
    int led_ok;
    lh_metrics *metrics; /* --metrics-port, else NULL */
} up;

/* /metrics of the whole topology (up_metrics.c): every child's series,
 * labelled role and node, and per-role sums.  A render callback
 * (metrics.h); arg is the up. */
int lh_up_render_metrics(void *arg, lh_buf *out);

/* A child's counts over all its instances. */
static inline void lh_up_total_of(const child *c, lh_counters *out)
{
    *out = c->base;
    lh_counters_add(out, &c->last);
}

/* The summary on stdout (up_report.c). */
void lh_up_print_summary(const up *u, const lh_counters *sum, double secs,
                         double rate);

/* The --json file, written through FILE.tmp and rename.  0 or LH_ESYS
 * (said). */
int lh_up_write_json(const up *u, const lh_counters *sum, double secs,
                     double rate, int ok);

#endif
