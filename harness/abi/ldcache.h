/*
 * ldcache.h - the dynamic loader's cache of library paths (/etc/ld.so.cache).
 *
 * ldconfig writes, for every library in the trusted directories and those
 * /etc/ld.so.conf lists, an entry mapping a library name (its soname, the
 * DT_NEEDED string programs carry) to the file's path.  The loader looks a
 * name up there after the object's own search paths and LD_LIBRARY_PATH and
 * before its default directories (see ldsearch.h).
 *
 * Format read: glibc's "glibc-ld.so.cache" version 1.1 (glibc 2.32 and
 * later write only this), alone or after the old "ld.so-1.7.0" table.  A
 * header of 48 bytes (magic and version, entry count, string table size,
 * flags, extension offset), then 24-byte entries {int32 flags; uint32 key;
 * uint32 value; uint32 osversion; uint64 hwcap}, whose key (the name) and
 * value (the path) are offsets of NUL-terminated strings counted from the
 * start of the new-format header.  Only entries of ELF libraries for the
 * GNU C library are kept (flags & 0xff == 3); the architecture bits are not
 * interpreted: the caller checks each candidate file's ELF class and
 * machine, as the loader does.
 *
 * Memory: the cache owns its copy of the file; the strings it returns stay
 * valid until lh_ldcache_free.
 */
#ifndef LH_LDCACHE_H
#define LH_LDCACHE_H

#include <stddef.h>

typedef struct lh_ldcache lh_ldcache;

/*
 * Reads the cache file at `path`.  0 and *out, or: LH_EIO (cannot open or
 * read it), LH_EBADMAGIC (not a cache file), LH_EPARSE (truncated, or an
 * offset outside the file), LH_ENOMEM; the reason is written to why (see
 * lh_set_why) and *out is left alone.
 */
int lh_ldcache_load(lh_ldcache **out, const char *path, char *why,
                    size_t whylen);

/* Like lh_ldcache_load on `len` bytes in memory (copied). */
int lh_ldcache_parse(lh_ldcache **out, const void *data, size_t len,
                     char *why, size_t whylen);

/* Number of entries kept. */
size_t lh_ldcache_count(const lh_ldcache *c);

/*
 * The i-th path (i = 0, 1, ...) the cache lists for the library `name`, in
 * the cache's own order (the loader's preference), or NULL past the last.
 */
const char *lh_ldcache_find(const lh_ldcache *c, const char *name, size_t i);

/* Releases the cache; accepts NULL. */
void lh_ldcache_free(lh_ldcache *c);

#endif
