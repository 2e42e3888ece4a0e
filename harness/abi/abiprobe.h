/*
 * abiprobe.h - the ABI conflicts of a command's runs, each set of loaded
 * objects checked once.
 *
 * A hunt looks at the processes under test of every run just before they
 * are stopped (measure.h's before_stop): what they really loaded, whatever
 * LD_LIBRARY_PATH or dlopen chose.  The configurations of one target
 * usually load the same objects, so the probe keys each check on the
 * objects mapped (device and inode of every file mapping of every pid):
 * a run that maps what an earlier one mapped shares its check.  A tool
 * that preloads something (the heap tool's tcmalloc, valgrind's own
 * objects) makes a new set, checked once more.
 */
#ifndef LH_ABIPROBE_H
#define LH_ABIPROBE_H

#include <stddef.h>
#include <sys/types.h>

#include "abiconflicts.h"

typedef struct lh_abiprobe lh_abiprobe;

/* A probe with nothing checked.  NULL when out of memory. */
lh_abiprobe *lh_abiprobe_new(void);

/* Accepts NULL. */
void lh_abiprobe_free(lh_abiprobe *p);

/*
 * Checks the objects mapped into `pids` for run number `run` (any index
 * the caller uses), unless a run with the same objects was checked
 * already.  0, or LH_ENOMEM; a process that cannot be read is the
 * check's own business (status 2, the checker's errors).
 */
int lh_abiprobe_check(lh_abiprobe *p, size_t run, const pid_t *pids,
                      size_t npids);

/* The check that covers run `run`, or NULL when the run was not checked
 * (it exited by itself, or was never probed). */
lh_abiconflicts *lh_abiprobe_of(lh_abiprobe *p, size_t run);

/* How many distinct sets of objects were checked. */
size_t lh_abiprobe_checks(const lh_abiprobe *p);

#endif
