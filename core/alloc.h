/*
 * alloc.h - the allocation wrapper every module of ours allocates through.
 *
 * It forwards to the C library (or to tcmalloc when a process preloads it),
 * and lets tests make the Nth allocation from now fail, so that the failure
 * paths of every module are exercised rather than assumed (curl's
 * "runtests -t", libuv's test-loop-oom).  The fault counter is atomic, so
 * threads may allocate concurrently; a test arms it from one thread.
 */
#ifndef LH_ALLOC_H
#define LH_ALLOC_H

#include <stddef.h>

/* Like malloc/calloc/realloc/strdup; NULL on failure (real or injected).
 * lh_calloc checks n * size for overflow.  lh_realloc leaves p untouched on
 * failure.  lh_free(NULL) does nothing. */
void *lh_malloc(size_t size);
void *lh_calloc(size_t n, size_t size);
void *lh_realloc(void *p, size_t size);
char *lh_strdup(const char *s);
char *lh_strndup(const char *s, size_t n);
void lh_free(void *p);

/*
 * Grows the array *arr of `elem`-byte items, of capacity *cap, so that it
 * holds at least `need` items: the capacity doubles from `first` (or from
 * *cap when it is not 0) until it is enough.  The one doubling-realloc of
 * the tree.  0, or LH_ENOMEM (overflow or allocation failure) with *arr
 * and *cap untouched.
 */
int lh_grow(void **arr, size_t *cap, size_t need, size_t elem, size_t first);

/*
 * Makes the allocation `n` calls from now fail (n == 0: the very next one),
 * and every allocation after it too when `sticky` is non-zero.  A negative n
 * disarms injection.  Returns nothing; test-only, but cheap enough to leave
 * in production builds (one relaxed atomic load per allocation).
 */
void lh_alloc_fail_after(long n, int sticky);

/* Number of allocation calls made through this wrapper so far. */
unsigned long lh_alloc_calls(void);

#endif
