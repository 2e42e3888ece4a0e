/*
 * allocators.h - which stack frames belong to the allocator.
 *
 * Both the heap-profile and the valgrind parsers name an allocation site
 * as the first frame outside the allocator; this is the one list they
 * share: the C library's allocation functions and their __libc_ forms,
 * operator new/delete (demangled or mangled), tcmalloc's entry points and
 * internals, our own lh_malloc family, and compiler clones of any of them
 * ("lh_malloc.part.0").
 */
#ifndef LH_ALLOCATORS_H
#define LH_ALLOCATORS_H

/* 1 when `fn` is an allocator function or one of `extra` (NULL-terminated,
 * may be NULL: a target's own wrappers, e.g. xmalloc).  0 for NULL. */
int lh_allocator_fn(const char *fn, const char *const *extra);

#endif
