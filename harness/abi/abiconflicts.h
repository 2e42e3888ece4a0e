/*
 * abiconflicts.h - the ABI conflicts of running processes, for a hunt's
 * report.
 *
 * When a hunt names a culprit, the processes of the culprit configuration
 * are checked while they run (what they really loaded: a scenario may set
 * LD_LIBRARY_PATH for some of them only), the conflicts kept in a list,
 * those whose units are on the culprit's top allocation stacks marked, and
 * the list written into report.json as `abi_conflicts`.  This is a thin
 * layer over the checker (abicheck.h), which owns the findings.
 *
 * Use:
 *     lh_abiconflicts c;
 *     if (lh_abiconflicts_check_pids(&c, pids, npids, NULL, 0) == 0) {
 *         lh_abiconflicts_mark(&c, stack_files, nstack_files);
 *         lh_json_key(j, "abi_conflicts");
 *         lh_abiconflicts_write_json(&c, j);
 *     }
 *     lh_abiconflicts_free(&c);
 */
#ifndef LH_ABICONFLICTS_H
#define LH_ABICONFLICTS_H

#include "abicheck.h"
#include "json.h"

#include <stddef.h>

/* One conflict: a type with two layouts in one process (see abicheck.h,
 * "Objects and conflicts"). */
typedef struct lh_abi_conflict {
    const lh_abi_type *type; /* name, header, verdict (LH_ABI_INSIDE or
                                LH_ABI_ACROSS), object_a/object_b (file
                                indexes), via, layouts (each with its
                                objects and units) */
    int marked;              /* set by lh_abiconflicts_mark */
} lh_abi_conflict;

typedef struct lh_abiconflicts {
    lh_abi_conflict *items; /* the conflicts, in the order types were met */
    size_t count;
    int status;             /* lh_abicheck_status of the check: 0 none,
                               1 conflicts, 2 incomplete (a process could
                               not be read, or no mapped object had debug
                               info: the checker's errors say why) */
    lh_abicheck *checker;   /* owns the types; files, errors, warnings */
} lh_abiconflicts;

/*
 * Checks the objects mapped into the processes `pids` (each object once,
 * whichever process maps it), with `debug_dirs` added to the debug-file
 * search.  Returns 0 with *out filled, whatever was found (a process that
 * is gone makes status 2 and is named in the checker's errors), or
 * LH_ENOMEM.  *out must be freed with lh_abiconflicts_free in both cases.
 */
int lh_abiconflicts_check_pids(lh_abiconflicts *out, const long *pids,
                               size_t npids, const char *const *debug_dirs,
                               size_t ndebug_dirs);

/*
 * Marks the conflicts one of whose units is one of `files` (source file
 * names from allocation stacks: absolute, or relative and matched as a
 * path's tail; see lh_abicheck_mark_files).  Clears earlier marks; after
 * it the JSON carries "marked".  Returns the number marked.
 */
size_t lh_abiconflicts_mark(lh_abiconflicts *c, const char *const *files,
                            size_t nfiles);

/* Writes the conflicts as one JSON array value, each as abi-check --json
 * writes its conflicts (lh_abicheck_json_conflicts): kind, name, header,
 * typedef, local, verdict, objects, via, marked, layouts with members,
 * enumerators, decl_files, objects and units.  An empty list is []. */
void lh_abiconflicts_write_json(const lh_abiconflicts *c, lh_json *j);

/*
 * One line for a verdict: "struct a_buf (header a.h): 32 bytes in
 * abi-repro-shared, 40 bytes in liba.so.1, exchanged through a_buf_new".
 * Writes at most len bytes (NUL included) into buf; returns the length
 * the whole line needs, as snprintf does.
 */
size_t lh_abiconflicts_describe(const lh_abiconflicts *c, size_t i, char *buf,
                                size_t len);

/* Releases everything; accepts a zeroed struct. */
void lh_abiconflicts_free(lh_abiconflicts *c);

#endif
