/*
 * heapprof.h - gperftools heap profiles: parse, diff, symbolise.
 *
 * A process run with LD_PRELOAD=libtcmalloc.so.4 and HEAPPROFILE=PREFIX
 * writes PREFIX.NNNN.heap on each dump (HEAPPROFILESIGNAL, an interval, or
 * exit).  gperftools 2.10 writes this text ("legacy" heap profile):
 *
 *   heap profile:    101:     7400 [   101:     7400] @ heapprofile
 *      100:     6400 [   100:     6400] @ 0x555aa22fe19b 0x555aa22fe231 ...
 *   ...
 *
 *   MAPPED_LIBRARIES:
 *   555aa22fd000-555aa22fe000 r--p 00000000 00:00 10953496    /path/to/exe
 *   ...
 *
 * Each record is "inuse_objs: inuse_bytes [alloc_objs: alloc_bytes] @
 * stack"; the stack is return addresses, innermost first, with tcmalloc's
 * own frames already removed (so the first address usually returns into the
 * function that called malloc).  The header carries the sums.  The
 * MAPPED_LIBRARIES section is the process's /proc/self/maps at dump time.
 *
 * These files stay as they are, for users to open with
 *   google-pprof --text --lines --base=OLD.heap BINARY NEW.heap
 * This module reads them in-process: lh_heapprof_parse, lh_heapprof_diff
 * (growth between two dumps of one process, by stack), and symbolisation
 * with elfutils libdwfl against the mapped objects (function, file:line,
 * inlined calls expanded), with the allocator's frames collapsed so each
 * site is the first frame outside the allocator plus its callers.
 */
#ifndef LH_HEAPPROF_H
#define LH_HEAPPROF_H

#include <stddef.h>
#include <stdint.h>

/* Deepest stack accepted (gperftools records at most 32 frames). */
#define LH_HEAPPROF_MAX_DEPTH 256

typedef struct lh_heapprof_record {
    int64_t inuse_objs, inuse_bytes; /* live at the dump */
    int64_t alloc_objs, alloc_bytes; /* allocated since profiling started */
    const uint64_t *addrs;           /* return addresses, innermost first */
    size_t naddrs;
} lh_heapprof_record;

typedef struct lh_heapprof_mapping {
    uint64_t start, end, offset;
    char perms[5]; /* "r-xp" */
    char *path;    /* NULL for anonymous mappings; "[heap]" and the like kept */
} lh_heapprof_mapping;

/* A parsed profile; read-only for callers, owned by them (free with
 * lh_heapprof_free).  `total` is the header line (addrs NULL). */
typedef struct lh_heapprof {
    lh_heapprof_record total;
    lh_heapprof_record *records; /* in file order */
    size_t nrecords;
    lh_heapprof_mapping *maps;
    size_t nmaps;
} lh_heapprof;

/*
 * Parses a heap profile of `len` bytes.  On success stores a new profile in
 * *out and returns 0.  On failure returns, leaving *out unchanged:
 *   LH_EBADMAGIC     the first line is not "heap profile: ...";
 *   LH_EUNSUPPORTED  a header tag other than "heapprofile" (heap_v2/...,
 *                    a CPU or growth profile);
 *   LH_ETRUNC        the input ends inside a record line or before the
 *                    MAPPED_LIBRARIES section (a dump still being written);
 *   LH_EPARSE        a malformed line: bad counts (not numbers, negative,
 *                    in-use above allocated, records not adding up to the
 *                    header), non-hex addresses, a stack deeper than
 *                    LH_HEAPPROF_MAX_DEPTH, a malformed mapping line;
 *   LH_ENOMEM, LH_EINVAL (NULL data with len > 0, NULL out).
 * `why`, when not NULL, receives a one-line reason with the line number.
 */
int lh_heapprof_parse(const char *data, size_t len, lh_heapprof **out,
                      char *why, size_t whylen);

/* lh_heapprof_parse on a file; also LH_EIO when it cannot be read. */
int lh_heapprof_load(const char *path, lh_heapprof **out, char *why,
                     size_t whylen);

/* Releases a profile; NULL is fine. */
void lh_heapprof_free(lh_heapprof *p);

/* Growth of one stack between two dumps: cur minus old. */
typedef struct lh_heapprof_delta {
    const uint64_t *addrs; /* borrowed from cur, or from old for a stack
                              that cur no longer has */
    size_t naddrs;
    int64_t inuse_objs, inuse_bytes;
    int64_t alloc_objs, alloc_bytes;
} lh_heapprof_delta;

/*
 * Differences `cur` against `old` (two dumps of the same process, so equal
 * addresses mean equal code), stack by stack.  Stacks whose four counts did
 * not change are left out.  `old` may be NULL (everything in cur is
 * growth).  On success *out is a new array (lh_free it) sorted by
 * inuse_bytes, largest growth first (ties: by stack, for a stable order),
 * *n its length; its addrs point into old/cur, which must outlive it.
 * Returns 0, LH_EINVAL or LH_ENOMEM (outputs unchanged).
 */
int lh_heapprof_diff(const lh_heapprof *old, const lh_heapprof *cur,
                     lh_heapprof_delta **out, size_t *n);

/* One symbolised frame.  Strings are owned by the symtab. */
typedef struct lh_heapprof_frame {
    uint64_t addr;    /* the return address from the profile */
    const char *fn;   /* function (ELF symbol, or the DWARF name of an
                         inlined function); NULL when unknown */
    const char *file; /* source path as DWARF has it; NULL when unknown */
    unsigned line;    /* 0 when unknown */
    const char *obj;  /* mapped object path; NULL outside any mapping */
    int inlined;      /* this frame was inlined into the next one */
} lh_heapprof_frame;

typedef struct lh_heapprof_symtab lh_heapprof_symtab;

/*
 * Makes a symbol table for a profile's mappings (libdwfl, reading the ELF
 * and DWARF of each mapped file, including separate debug files under
 * /usr/lib/debug).  Objects that are missing or have no symbols simply give
 * unknown frames.  0, LH_EINVAL, LH_ENOMEM, or LH_ETOOL when libdwfl cannot
 * start.  The profile may be freed afterwards.
 *
 * Cost (measured here): building is cheap; each new address costs a symbol
 * search and a DWARF scope walk, ~45 ms for the 24 addresses of the test
 * program's profile, ~1.5 s for 1,678 stacks in a python3 profile (libdwfl
 * searches a module's symbol table linearly).  Dumps of one process share
 * their mappings: keep one symtab for all of them so the cache carries
 * over, and symbolise only the top deltas (they come sorted) when a profile
 * is large.
 */
int lh_heapprof_symtab_new(const lh_heapprof *p, lh_heapprof_symtab **out);

/* Releases a symbol table and every string and frame it handed out. */
void lh_heapprof_symtab_free(lh_heapprof_symtab *st);

/*
 * Symbolises one return address (the call site: addr - 1 is looked up).
 * With inlining, one address gives several frames, innermost first, the
 * last being the real function.  *frames stays valid until the symtab is
 * freed; results are cached per address.  Returns 0 (an unknown address
 * gives one frame with fn NULL) or LH_ENOMEM.
 */
int lh_heapprof_symbolise(lh_heapprof_symtab *st, uint64_t addr,
                          const lh_heapprof_frame **frames, size_t *n);

/* Allocation growth of one site, with its callers. */
typedef struct lh_heapprof_site {
    /* chain[0] is the site: the first frame outside the allocator; then
     * its callers, outermost last.  Points into the symtab. */
    const lh_heapprof_frame **chain;
    size_t nchain;
    int64_t inuse_objs, inuse_bytes, alloc_objs, alloc_bytes; /* summed */
    size_t nstacks; /* profile stacks merged into this site */
} lh_heapprof_site;

/*
 * Symbolises deltas (from lh_heapprof_diff, or a whole profile through a
 * NULL-old diff), drops the allocator frames at the top of each stack, and
 * merges stacks whose first `depth` remaining frames are the same function,
 * file and line (depth 0: the whole chain; 1: the site alone; 2: site and
 * caller ...).  The allocator is: malloc, calloc, realloc, free, memalign,
 * posix_memalign, aligned_alloc, valloc, pvalloc, reallocarray, strdup,
 * strndup, the __libc_ and tc_ variants, operator new/new[] (_Znw*, _Zna*),
 * tcmalloc internals, anything in a libtcmalloc object, our own wrappers
 * lh_malloc, lh_calloc, lh_realloc, lh_strdup, lh_strndup, and the
 * functions named in `extra_allocators` (NULL-terminated; may be NULL),
 * e.g. a target's xmalloc; a name also matches its compiler clones
 * ("xmalloc.constprop.0").  A stack made only of allocator frames keeps its
 * last frame.
 * On success *out is a new array sorted by inuse_bytes (largest first),
 * *n its length; free it with lh_heapprof_sites_free.  Chains keep pointing
 * into the symtab.  0, LH_EINVAL or LH_ENOMEM (outputs unchanged).
 */
int lh_heapprof_sites(lh_heapprof_symtab *st, const lh_heapprof_delta *d,
                      size_t nd, size_t depth,
                      const char *const *extra_allocators,
                      lh_heapprof_site **out, size_t *n);

void lh_heapprof_sites_free(lh_heapprof_site *sites, size_t n);

/*
 * Writes "a_buf_new <- rpc_call (stages/rpc.c:88)" for a site: up to
 * `depth` frames of the chain (0: 2) joined by " <- ", then the file:line
 * of the last frame shown, with a leading `strip` prefix removed from the
 * path when it has one (e.g. the source root; NULL: none).  Unknown
 * functions print as "??" and a missing file:line is left out.  Like
 * snprintf: returns the length it needed, writes at most len bytes.
 */
int lh_heapprof_site_format(const lh_heapprof_site *s, size_t depth,
                            const char *strip, char *buf, size_t len);

#endif
