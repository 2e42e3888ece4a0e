/*
 * Design: a countdown shared by all threads.  fail_countdown < 0 means
 * injection is off; each allocation decrements it and fails when it hits
 * zero.  With `sticky` set the countdown stays at zero so every later
 * allocation fails as well, which is how tests reach the second failure
 * path of a function that allocates twice.
 */
#include "alloc.h"

#include "error.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown = -1;
static atomic_int fail_sticky;
static atomic_ulong calls;

void lh_alloc_fail_after(long n, int sticky)
{
    atomic_store(&fail_sticky, sticky ? 1 : 0);
    atomic_store(&fail_countdown, n < 0 ? -1 : n);
}

unsigned long lh_alloc_calls(void)
{
    return atomic_load(&calls);
}

static int should_fail(void)
{
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    long c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    /* Compare-and-swap so that two threads cannot both take the last step
     * of the countdown (which would skip the injected failure). */
    while (c >= 0) {
        long next = c - 1;
        if (c == 0)
            next = atomic_load(&fail_sticky) ? 0 : -1;
        if (atomic_compare_exchange_weak(&fail_countdown, &c, next))
            return c == 0;
    }
    return 0;
}

void *lh_malloc(size_t size)
{
    if (should_fail())
        return NULL;
    return malloc(size ? size : 1);
}

void *lh_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    if (should_fail())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *lh_realloc(void *p, size_t size)
{
    if (should_fail())
        return NULL;
    return realloc(p, size ? size : 1);
}

char *lh_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *copy = lh_malloc(len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

char *lh_strdup(const char *s)
{
    return lh_strndup(s, strlen(s));
}

int lh_grow(void **arr, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : (first ? first : 1);
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return LH_ENOMEM;
        ncap *= 2;
    }
    if (elem == 0 || ncap > SIZE_MAX / elem)
        return LH_ENOMEM;
    void *p = lh_realloc(*arr, ncap * elem);
    if (p == NULL)
        return LH_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

void lh_free(void *p)
{
    free(p);
}
