/*
 * up_report.c - what `selfheal up` reports when the run is over: the
 * summary on stdout (totals, ledger, throughput, CPU, per node) and the
 * same counts as JSON (--json).
 */
#include "up.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

static const struct {
    const char *label;
    const char *key;
    int id;
} summary_rows[] = {
    {"produced", "produced", LH_C_produced},
    {"consumed", "consumed", LH_C_consumed},
    {"forwarded", "forwarded", LH_C_forwarded},
    {"hash-forwarded", "hash_forwarded", LH_C_hash_forwarded},
    {"enqueued", "enqueued", LH_C_enqueued},
    {"verified", "verified", LH_C_verified},
    {"passed-without-check", "passed_unchecked", LH_C_passed_unchecked},
    {"healed", "healed", LH_C_healed},
    {"corrupted", "corrupted", LH_C_corrupted},
    {"RPC timeouts", "rpc_timeouts", LH_C_rpc_timeouts},
    {"RPC error answers", "rpc_error_answers", LH_C_rpc_error_answers},
};

void lh_up_print_summary(const up *u, const lh_counters *sum, double secs,
                         double rate)
{
    printf("selfheal up: %.2f s, stages '%s', %" PRIu64 " B node(s)%s\n",
           secs, u->stage_names, u->o.nodes,
           u->o.scenario ? ", scenario abi-mismatch" : "");
    for (size_t i = 0; i < sizeof summary_rows / sizeof summary_rows[0]; i++)
        printf("  %-22s %" PRIu64 "\n", summary_rows[i].label,
               sum->v[summary_rows[i].id]);
    printf("  %-22s %" PRIu64 " superseded, %" PRIu64 " unhealed, %" PRIu64
           " heals ignored\n", "corrupted writes:", sum->v[LH_C_superseded],
           sum->v[LH_C_unhealed], sum->v[LH_C_heal_ignored]);
    printf("  %-22s %" PRIu64 " keys, %" PRIu64 " not at their latest "
           "value\n", "store:", sum->v[LH_C_store_keys],
           sum->v[LH_C_store_keys_wrong]);
    printf("  %-22s %" PRIu64 " dropped by A, %" PRIu64 " bad, %" PRIu64
           " restarts\n", "other:", sum->v[LH_C_dropped],
           sum->v[LH_C_bad_events], sum->v[LH_C_restarts]);
    printf("  %-22s %" PRIu64 " bad frames, %" PRIu64 " refused\n",
           "connections closed:", sum->v[LH_C_bad_frames],
           sum->v[LH_C_refused]);
    if (u->led_ok)
        printf("  %-22s %" PRIu64 " produced, %" PRIu64 " finished, %" PRIu64
               " lost, %" PRIu64 " duplicates (%" PRIu64 " records, %" PRIu64
               " unknown%s)\n", "ledger (key, version):", u->led.produced,
               u->led.finished, u->led.lost, u->led.duplicates,
               u->led.records, u->led.unknown,
               sum->v[LH_C_ledger_errors] ? ", INCOMPLETE" : "");
    if (rate > 0)
        printf("  %-22s %.0f events/s (steady, 10%%..90%% of the run)\n",
               "throughput:", rate);
    printf("  %-22s", "cpu seconds:");
    for (int i = 0; i < u->nkids; i++) {
        const child *c = &u->kids[i];
        lh_counters t;
        lh_up_total_of(c, &t);
        if (t.v[LH_C_cpu_user_ms] + t.v[LH_C_cpu_sys_ms] == 0)
            continue;
        printf(" %s %.2f", c->name,
               (double)(t.v[LH_C_cpu_user_ms] + t.v[LH_C_cpu_sys_ms]) / 1e3);
    }
    printf("\n  per node:\n");
    for (int i = 0; i < u->nkids; i++) {
        const child *c = &u->kids[i];
        lh_counters t;
        if (c->kind != K_B)
            continue;
        lh_up_total_of(c, &t);
        printf("    %-4s received %" PRIu64 ", hash-forwarded %" PRIu64
               ", hash-received %" PRIu64 ", enqueued %" PRIu64
               ", verified %" PRIu64 ", passed %" PRIu64 ", healed %" PRIu64
               ", rpc timeouts %" PRIu64 ", rpc error answers %" PRIu64 ", finished %" PRIu64
               ", bad frames %" PRIu64 ", refused %" PRIu64
               ", restarts %d\n",
               c->name, t.v[LH_C_received], t.v[LH_C_hash_forwarded],
               t.v[LH_C_hash_received], t.v[LH_C_enqueued],
               t.v[LH_C_verified], t.v[LH_C_passed_unchecked],
               t.v[LH_C_healed], t.v[LH_C_rpc_timeouts],
               t.v[LH_C_rpc_error_answers], t.v[LH_C_finished],
               t.v[LH_C_bad_frames], t.v[LH_C_refused], c->restarts);
    }
    fflush(stdout);
}

/* The merged ledger's counts (--ledger). */
static void json_ledger(FILE *f, const up *u, const lh_counters *sum)
{
    const struct {
        const char *key;
        uint64_t v;
    } led[] = {
        {"ledger_events", u->led.records},
        {"lost", u->led.lost},
        {"duplicates", u->led.duplicates},
        {"ledger_produced", u->led.produced},
        {"ledger_finished", u->led.finished},
        {"ledger_failed", u->led.failed},
        {"ledger_unknown", u->led.unknown},
        {"ledger_files", u->led.files},
        {"ledger_truncated", u->led.truncated},
    };
    for (size_t i = 0; i < sizeof led / sizeof led[0]; i++)
        fprintf(f, "  \"%s\": %" PRIu64 ",\n", led[i].key, led[i].v);
    fprintf(f, "  \"ledger_complete\": %s,\n",
            sum->v[LH_C_ledger_errors] == 0 ? "true" : "false");
}

/* Every counter: the totals, then each child's but the broker's (a B
 * node's in full, the others' non-zero ones). */
static void json_counters(FILE *f, const up *u, const lh_counters *sum)
{
    /* stages_mask is a node's own (its /metrics' leakhunt_stages), not a
     * count: not in the JSON. */
    fprintf(f, "  \"totals\": {");
    for (int i = 0; i < LH_C_COUNT; i++)
        if (i != LH_C_stages_mask)
            fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "",
                    lh_counter_name(i), sum->v[i]);
    fprintf(f, "},\n  \"nodes\": [");
    int first = 1;
    for (int k = 0; k < u->nkids; k++) {
        const child *c = &u->kids[k];
        lh_counters t;
        if (c->kind != K_B && c->kind != K_A && c->kind != K_STORE &&
            c->kind != K_PRODUCE)
            continue;
        lh_up_total_of(c, &t);
        fprintf(f, "%s\n    {\"role\": \"%s\", \"restarts\": %d", first ? ""
                : ",", c->name, c->restarts);
        for (int i = 0; i < LH_C_COUNT; i++)
            if ((t.v[i] != 0 || c->kind == K_B) && i != LH_C_stages_mask)
                fprintf(f, ", \"%s\": %" PRIu64, lh_counter_name(i), t.v[i]);
        fprintf(f, "}");
        first = 0;
    }
    fprintf(f, "\n  ]\n");
}

int lh_up_write_json(const up *u, const lh_counters *sum, double secs,
                     double rate, int ok)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", u->o.json);
    FILE *f = fopen(tmp, "we");
    if (f == NULL) {
        fprintf(stderr, "selfheal up: cannot write %s: %s\n", u->o.json,
                strerror(errno));
        return LH_ESYS;
    }
    fprintf(f, "{\n");
    for (size_t i = 0; i < sizeof summary_rows / sizeof summary_rows[0]; i++)
        fprintf(f, "  \"%s\": %" PRIu64 ",\n", summary_rows[i].key,
                sum->v[summary_rows[i].id]);
    fprintf(f, "  \"seconds\": %.3f,\n", secs);
    fprintf(f, "  \"events_per_second\": %.1f,\n", rate);
    fprintf(f, "  \"stages\": \"%s\",\n", u->stage_names);
    fprintf(f, "  \"ok\": %s,\n", ok ? "true" : "false");
    if (u->led_ok)
        json_ledger(f, u, sum);
    json_counters(f, u, sum);
    fprintf(f, "}\n");
    int bad = ferror(f) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, u->o.json) != 0) {
        fprintf(stderr, "selfheal up: cannot write %s: %s\n", u->o.json,
                strerror(errno));
        unlink(tmp);
        return LH_ESYS;
    }
    return 0;
}
