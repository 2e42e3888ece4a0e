/*
 * counters.h - the counters every selfheal role keeps and `up` sums.
 *
 * One fixed table of named 64-bit counters, shared by all roles (each role
 * uses the ones that concern it; the rest stay 0).  A role given
 * `--counters FILE` rewrites FILE atomically (write FILE.tmp, rename) about
 * every 100 ms and once more at exit, as text:
 *
 *   role b0
 *   pid 1234
 *   <counter name> <decimal value>      one line per counter
 *
 * `up` reads the files of its children and sums them.  Unknown names are
 * skipped when reading, so the table can grow without breaking readers.
 */
#ifndef LH_COUNTERS_H
#define LH_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

/* The counters.  Names are the JSON keys `up --json` uses where the two
 * overlap. */
#define LH_COUNTER_MAP(X)                                                      \
    X(produced)          /* produce: events published and delivered */        \
    X(produce_failed)    /* produce: events Kafka failed to take */           \
    X(consumed)          /* a: events taken from Kafka */                     \
    X(forwarded)         /* a: events sent to a B node (forward ON) */        \
    X(dropped)           /* a: events consumed and dropped (forward OFF) */   \
    X(acked)             /* a: events B acknowledged as finished */           \
    X(resent)            /* a: events sent again after a B connection died */ \
    X(paused)            /* a: times A paused its partitions */               \
    X(assigned)          /* a: partitions assigned now (a gauge) */           \
    X(outstanding)       /* a: events sent and not yet acked (a gauge) */     \
    X(received)          /* b: events received from A */                      \
    X(hash_forwarded)    /* b: events sent to their owner B (not itself) */   \
    X(hash_received)     /* b: events received from a peer B */               \
    X(enqueued)          /* b: events put in the delay queue */               \
    X(verified)          /* b: events checked (locally, or with the store) */ \
    X(passed_unchecked)  /* b: events treated as passed (verify OFF) */       \
    X(bad_events)        /* b: events that failed decode or checksum */       \
    X(mismatched)        /* b: events whose store value differed */           \
    X(stale)             /* b: events older than the store's value */         \
    X(healed)            /* b: heal writes the store applied */               \
    X(heal_ignored)      /* b: heal writes the store ignored as stale */      \
    X(rpc_timeouts)      /* b: store calls not answered (timed out, or    \
                            their connection lost): retried */          \
    X(rpc_error_answers) /* b: store calls answered with an error, or     \
                            failed here (counted against the tries) */  \
    X(finished)          /* b: events finished (the work unit) */             \
    X(store_gets)        /* store: GET requests */                            \
    X(store_puts)        /* store: PUT requests applied */                    \
    X(corrupted)         /* store: writes dropped or corrupted on purpose */  \
    X(superseded)        /* store: corrupted entries overwritten by a newer   \
                            write before anyone healed them */                \
    X(store_healed)      /* store: corrupted writes repaired by a heal */     \
    X(unhealed)          /* store: corrupted writes neither healed nor       \
                            superseded (checked at exit) */                   \
    X(store_keys)        /* store: keys held */                               \
    X(store_keys_wrong)  /* store: keys whose value is not the latest written \
                            (checked at exit) */                              \
    X(bad_frames)        /* b, store: connections closed for a bad frame   \
                            (garbage, wrong magic/version, oversize) */     \
    X(refused)           /* b, store: connections refused: missing or wrong \
                            auth token */                                   \
    X(restarts)          /* up: children restarted */                         \
    X(cpu_user_ms)       /* every role: its user CPU time (set on write) */   \
    X(cpu_sys_ms)        /* every role: its system CPU time (set on write) */ \
    X(ledger_errors)     /* produce, a, b: ledger records lost to failed     \
                            writes (the ledger is then incomplete) */       \
    X(heap_live)         /* every role: its live heap in bytes (a gauge,    \
                            set on write: lh_mem_heap_live) */              \
    X(stages_mask)       /* b: the stages it runs as its stats lines show   \
                            them, LH_STAGE_BITs + 1 (a gauge; 0: not said;  \
                            not summed: see lh_counters_add) */

enum lh_counter_id {
#define LH_COUNTER_ENUM_(name) LH_C_##name,
    LH_COUNTER_MAP(LH_COUNTER_ENUM_)
#undef LH_COUNTER_ENUM_
    LH_C_COUNT
};

typedef struct lh_counters {
    uint64_t v[LH_C_COUNT];
} lh_counters;

/* The counter's name ("consumed"), or NULL for an id out of range. */
const char *lh_counter_name(int id);

/* The id of a counter name, or LH_ENOTFOUND. */
int lh_counter_id(const char *name);

/* Writes the counters of `role` (e.g. "b0") to path atomically (path.tmp
 * then rename), with cpu_user_ms / cpu_sys_ms taken from getrusage now.  0, LH_EINVAL, or LH_ESYS (errno kept; no file left
 * half-written). */
int lh_counters_write(const lh_counters *c, const char *role, const char *path);

/* Reads a counters file into *out (zeroed first; unknown names skipped);
 * role (if not NULL) receives the role name, at most rolecap bytes.  0,
 * LH_ENOTFOUND (no file), LH_EPARSE (malformed line: *out unchanged), or
 * LH_ESYS. */
int lh_counters_read(const char *path, lh_counters *out, char *role,
                     size_t rolecap);

/* sum += c, counter by counter; stages_mask is not summed: c's replaces
 * sum's when it is not 0. */
void lh_counters_add(lh_counters *sum, const lh_counters *c);

/* 1 for a counter that is a gauge (it goes down as well as up: assigned,
 * outstanding, store_keys, store_keys_wrong, unhealed, heap_live,
 * stages_mask), 0 for the others, which only grow within a process. */
int lh_counter_is_gauge(int id);

/* Rewrites the file when at least 100 ms passed since *last_us (monotonic
 * microseconds), or always when `force`; updates *last_us.  path NULL does
 * nothing.  Returns what lh_counters_write returns, or 0 when not due. */
int lh_counters_tick(const lh_counters *c, const char *role, const char *path,
                     int64_t *last_us, int force);

#endif
