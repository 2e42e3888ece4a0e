/*
 * preload.h - may leak-hunt preload a library into this program?
 *
 * The heap tool preloads tcmalloc (and its shim, harness/shim/) into each
 * process under test; memcheck runs each under valgrind.  Some programs
 * must not get either, and are recognised from their files before
 * anything is started (docs/protocol.md section 6):
 *   - a program built with a sanitizer (AddressSanitizer and the others
 *     with an allocator of their own): its runtime must come first in
 *     the list of libraries and replaces malloc; tcmalloc before it stops
 *     it at start-up ("ASan runtime does not come first"), and valgrind
 *     cannot run it;
 *   - a program with an allocator of its own: the program, or a library it
 *     needs or that LD_PRELOAD already holds, defines malloc (jemalloc,
 *     mimalloc, another tcmalloc, a sanitizer runtime);
 *   - a statically linked program: LD_PRELOAD does nothing to it.
 * A script is judged by its interpreter (the program after `#!`, or the
 * one `#!/usr/bin/env NAME` runs).
 */
#ifndef LH_PRELOAD_H
#define LH_PRELOAD_H

#include <stddef.h>

typedef enum lh_preload_kind {
    LH_PRELOAD_OK = 0,    /* dynamic, the C library's malloc */
    LH_PRELOAD_SANITIZER, /* built with a sanitizer */
    LH_PRELOAD_ALLOCATOR, /* an allocator of its own */
    LH_PRELOAD_STATIC,    /* statically linked */
    LH_PRELOAD_UNKNOWN,   /* not found or not readable: unknown */
} lh_preload_kind;

typedef struct lh_preload_check {
    lh_preload_kind kind;
    char program[1024]; /* the file judged (a script's interpreter) */
    /* LH_PRELOAD_SANITIZER: the sanitizer's runtime library when it is a
     * shared library (to be preloaded first), "" when it is linked into
     * the program */
    char runtime[1024];
    char why[256];      /* for the report: "built with AddressSanitizer
                           (libasan.so.8)" ("" for OK) */
} lh_preload_check;

/*
 * Judges the program `cmd` (a path, or a name looked up in PATH as execvp
 * does) would run, with `ld_preload` (NULL or the LD_PRELOAD it will get
 * besides ours) and `ours`, the soname of the tcmalloc leak-hunt preloads
 * (a program that needs that very library is fine).  Fills *out; 0, or
 * LH_ENOMEM.
 */
int lh_preload_check_program(const char *cmd, const char *ld_preload,
                             const char *ours, lh_preload_check *out);

/* 1 when valgrind cannot run the program `cmd` (built with a sanitizer),
 * with the whole message, problem and fix, in `why`; 0 otherwise (also
 * when the program cannot be read: valgrind will say). */
int lh_preload_valgrind_refuses(const char *cmd, char *why, size_t cap);

/* Finds `cmd` as execvp would: a name with a '/' as it is, else the first
 * executable file of that name in PATH.  0, or LH_ENOTFOUND. */
int lh_preload_resolve(const char *cmd, char *path, size_t cap);

#endif
