/*
 * inject.h - planted leaks for testing the harness (docs/selfheal.md).
 *
 * `--inject STAGE:KIND:BYTES[:EVERY]` (repeatable, one spec per stage):
 * every EVERY-th event (default 1) that passes STAGE while it is ON
 * allocates BYTES bytes (at least LH_INJECT_MIN_BYTES), and:
 *   lost       drops the pointer (memcheck: definitely lost);
 *   reachable  appends the block to a list that is never trimmed, not even
 *              at exit (memcheck: still reachable; the article's kind);
 *   cache      appends it to a FIFO cache of at most LH_INJECT_CACHE_CAP
 *              blocks per stage, evicting (freeing) the oldest: memory
 *              levels off at about CAP * BYTES.  Not a leak; freed at exit.
 *
 * The allocation must be attributed to the stage's own source file (heap
 * profiles and memcheck stacks name the frame that called malloc), so
 * LH_INJECT is a macro that calls malloc() directly in the stage's handle
 * function; it bypasses lh_malloc on purpose (a wrapper frame would hide
 * the stage).  inject.c only keeps or drops the block.
 */
#ifndef LH_INJECT_H
#define LH_INJECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "stage.h"

#define LH_INJECT_CACHE_CAP 4096u
#define LH_INJECT_MIN_BYTES 16u
#define LH_INJECT_MAX_BYTES (16u * 1024u * 1024u)

enum lh_inject_kind {
    LH_INJECT_NONE = 0,
    LH_INJECT_LOST,
    LH_INJECT_REACHABLE,
    LH_INJECT_CACHE,
};

typedef struct lh_inject_spec {
    int kind;       /* enum lh_inject_kind */
    size_t bytes;
    uint64_t every; /* >= 1 */
    uint64_t seen;  /* events that passed so far */
} lh_inject_spec;

struct lh_inject {
    lh_inject_spec spec[LH_STAGE_COUNT];
    void **cache[LH_STAGE_COUNT]; /* ring of LH_INJECT_CACHE_CAP, lazily */
    size_t cache_len[LH_STAGE_COUNT];
    size_t cache_head[LH_STAGE_COUNT];
    uint64_t blocks; /* blocks allocated so far */
};

/* Creates an empty injection set.  0 and *out, or LH_ENOMEM. */
int lh_inject_new(lh_inject **out);

/*
 * Adds one spec "STAGE:KIND:BYTES[:EVERY]".  0, or LH_EINVAL with a
 * one-line message in err[0..errcap) (unknown stage or kind, BYTES out of
 * LH_INJECT_MIN_BYTES..LH_INJECT_MAX_BYTES, EVERY 0, a second spec for the
 * same stage).
 */
int lh_inject_add(lh_inject *inj, const char *spec, char *err, size_t errcap);

/* Keeps or drops a block the stage just allocated (see the kinds).  NULL
 * (allocation failed) is ignored. */
void lh_inject_keep(lh_inject *inj, int stage, void *block);

/* Frees the set and the cache blocks; the `reachable` blocks stay reachable
 * (from a static list head) on purpose.  Accepts NULL. */
void lh_inject_free(lh_inject *inj);

/* True when this event leaks (counts the event). */
static inline int lh_inject_due(lh_inject *inj, int stage)
{
    lh_inject_spec *s = &inj->spec[stage];
    if (s->kind == LH_INJECT_NONE)
        return 0;
    s->seen++;
    return s->seen % s->every == 0;
}

/* In a stage's handle: plants the configured leak for this event.  The
 * malloc() call expands into the caller, so the caller's file owns it. */
#define LH_INJECT(inj, stage)                                                  \
    do {                                                                       \
        lh_inject *inj_ = (inj);                                               \
        if (inj_ != NULL && lh_inject_due(inj_, (stage)))                      \
            lh_inject_keep(inj_, (stage),                                      \
                           malloc(inj_->spec[(stage)].bytes));                 \
    } while (0)

#endif
