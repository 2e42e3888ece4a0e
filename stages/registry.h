/*
 * registry.h - the stages as a table (generated from include/stage_list.h:
 * name, requirements, ops) and parsing of stage lists.
 *
 * A stage list is a comma-separated list of stage names ("forward,hash");
 * the empty list enables nothing.  Where no list is given at all (neither
 * --stages nor LEAKHUNT_STAGES), every stage is on.
 */
#ifndef LH_REGISTRY_H
#define LH_REGISTRY_H

#include <stddef.h>

#include "stage.h"

typedef struct lh_stage_entry {
    const char *name;
    unsigned requires; /* LH_STAGE_BITs of the stages it needs directly */
    const lh_stage_ops *ops;
} lh_stage_entry;

/* Indexed by enum lh_stage_id. */
extern const lh_stage_entry lh_stage_registry[LH_STAGE_COUNT];

/* Stage id of a name, or LH_ENOTFOUND. */
int lh_stage_lookup(const char *name, size_t len);

/* The stages stage `id` needs, directly or through the stages it needs:
 * a mask of LH_STAGE_BIT()s. */
unsigned lh_stage_needs(int id);

/*
 * Parses a stage list into a mask of LH_STAGE_BIT()s and checks the
 * requirements (lh_stage_needs).  0, or LH_ENOTFOUND (unknown name) /
 * LH_EINVAL (a stage's requirement is missing), with a one-line message
 * (no newline) in err[0..errcap).
 */
int lh_stages_parse(const char *list, unsigned *mask, char *err,
                    size_t errcap);

/* The list of stages given by `arg` (from --stages; NULL: not given), else
 * LEAKHUNT_STAGES, else all.  Same returns as lh_stages_parse. */
int lh_stages_select(const char *arg, unsigned *mask, char *err,
                     size_t errcap);

/* Formats a mask as a stage list ("forward,hash", "" for none). */
void lh_stages_format(unsigned mask, char *buf, size_t cap);

#endif
