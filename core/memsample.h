/*
 * memsample.h - memory figures of a process.
 *
 * lh_mem_rss reads /proc/PID/statm (cheap: the harness samples it often);
 * lh_mem_rollup reads /proc/PID/smaps_rollup for the finer figures (costlier:
 * the kernel walks every mapping).  lh_mem_heap_live reports the live heap of
 * the calling process: tcmalloc's "generic.current_allocated_bytes" when
 * tcmalloc is loaded (found with dlsym, so there is no link dependency), else
 * glibc's mallinfo2 (arena bytes in use plus mmapped chunks).
 */
#ifndef LH_MEMSAMPLE_H
#define LH_MEMSAMPLE_H

#include <stdint.h>
#include <sys/types.h>

typedef struct lh_mem_rollup {
    uint64_t rss;           /* bytes */
    uint64_t pss;
    uint64_t anonymous;
    uint64_t private_dirty;
    uint64_t swap;
} lh_mem_rollup;

/* Resident set size of `pid` (0: the calling process) in bytes.  0, or
 * LH_ENOTFOUND (no such process), LH_EIO, LH_EPARSE. */
int lh_mem_rss(pid_t pid, uint64_t *bytes);

/* Figures from smaps_rollup.  Same errors as lh_mem_rss. */
int lh_mem_rollup_read(pid_t pid, lh_mem_rollup *out);

/* Parses the text of an smaps_rollup file (exposed for tests).  0 or
 * LH_EPARSE when the Rss line is missing. */
int lh_mem_rollup_parse(const char *text, lh_mem_rollup *out);

/* Live heap bytes of the calling process.  0 and *bytes set, or
 * LH_EUNSUPPORTED. */
int lh_mem_heap_live(uint64_t *bytes);

/* 1 when the calling process allocates through tcmalloc. */
int lh_mem_tcmalloc_loaded(void);

#endif
