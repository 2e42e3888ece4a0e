/*
 * ledger.h - the event ledger: loss and duplicates counted by (key,
 * version), not by counters.
 *
 * Every process that starts or ends an event's life appends one fixed-size
 * binary record per event to a file of its own, DIR/ROLE.PID.led:
 *   produce   PRODUCED  each change event handed to Kafka
 *   b         VERIFIED  finished with verify on (checksum, and the store
 *                       compare when rpc is on)
 *             PASSED    finished with verify off ("treated as passed")
 *             FAILED    finished as failed (bad event, store calls failed)
 *   a         DROPPED   consumed and dropped because forward is off
 * A restarted process has a new pid and so a new file: nothing is
 * rewritten, a killed process loses at most the records it had not yet
 * handed to the kernel (lh_ledger_flush).  Callers flush before they
 * acknowledge or commit an event (see role_b.c, role_a.c), so an event
 * whose finish was acknowledged always has its record.
 *
 * `up` merges the files at the end (lh_ledger_merge): a pair produced and
 * never finished (VERIFIED, PASSED or DROPPED) is lost; a pair finished
 * more than once is a duplicate (at-least-once allows them).
 *
 * Keys up to LH_LEDGER_KEY_MAX bytes are kept exactly; a longer key is
 * kept as its first 8 bytes and a 64-bit FNV-1a hash of all of it.
 */
#ifndef LH_LEDGER_H
#define LH_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LH_LEDGER_KEY_MAX 16u
#define LH_LEDGER_SUFFIX ".led"

enum lh_ledger_kind {
    LH_LEDGER_PRODUCED = 1,
    LH_LEDGER_VERIFIED = 2,
    LH_LEDGER_PASSED = 3,
    LH_LEDGER_DROPPED = 4,
    LH_LEDGER_FAILED = 5,
};

typedef struct lh_ledger lh_ledger;

/* Creates DIR/ROLE.PID.led (a new file; DIR must exist) and its write
 * buffer.  0 and *out, LH_EINVAL (role empty or with a '/' or '.'),
 * LH_ENOMEM, or LH_ESYS (errno kept). */
int lh_ledger_open(const char *dir, const char *role, lh_ledger **out);

/* Appends one record to the buffer; the buffer goes to the file when
 * full.  0, LH_EINVAL (kind out of range: nothing added), or LH_ESYS when
 * writing the full buffer failed (its records are lost and counted, see
 * lh_ledger_errors; this record is buffered all the same). */
int lh_ledger_add(lh_ledger *l, const uint8_t *key, size_t key_len,
                  uint64_t version, int kind);

/* Hands the buffered records to the kernel (write(2)): from then on they
 * survive the process being killed.  0 (also when nothing was buffered)
 * or LH_ESYS.  l NULL: 0. */
int lh_ledger_flush(lh_ledger *l);

/* Records lost to failed writes so far (the ledger is incomplete when
 * this is not 0). */
uint64_t lh_ledger_errors(const lh_ledger *l);

/* Flushes, closes and frees.  Returns what the flush returned.  NULL: 0. */
int lh_ledger_close(lh_ledger *l);

/* What the files of one run add up to.  "Pairs" are distinct (key,
 * version) pairs. */
typedef struct lh_ledger_sum {
    uint64_t files;      /* ledger files read */
    uint64_t records;    /* records read (ledger_events) */
    uint64_t truncated;  /* files with a partial record at the end */
    uint64_t produced;   /* pairs with a PRODUCED record */
    uint64_t finished;   /* produced pairs finished at least once */
    uint64_t lost;       /* produced pairs never finished */
    uint64_t failed;     /* of the lost: pairs that only FAILED */
    uint64_t duplicates; /* finishes beyond the first, over all pairs */
    uint64_t unknown;    /* pairs finished but never produced */
} lh_ledger_sum;

/* Reads every *.led file in dir and sums them into *out.  With `report`
 * not NULL, prints up to `show` lost pairs there ("lost k00000042 v3").
 * 0, LH_ENOTFOUND (no dir), LH_EBADMAGIC (a file that is not a ledger:
 * nothing summed), LH_EINVAL (a path too long), LH_ENOMEM, or LH_ESYS.
 * *out is written only on success.  A file shorter than its header (its
 * writer was killed at once) counts as empty; a partial record at the end
 * of a file is left out and counted in `truncated`. */
int lh_ledger_merge(const char *dir, lh_ledger_sum *out, FILE *report,
                    unsigned show);

/* Removes the *.led files in dir.  0 or LH_ESYS (the first failure). */
int lh_ledger_remove(const char *dir);

#endif
