/*
 * ldcache.c - reads /etc/ld.so.cache (format in ldcache.h).
 *
 * The file is copied whole (a few tens of kilobytes) and indexed: every
 * kept entry is a pair of pointers into the copy, checked once here to lie
 * inside it and end with a NUL, so lookups need no further checks.  The
 * cache is written in the host's byte order by the host's ldconfig, so the
 * integers are read in host order.  Lookups are linear: a cache holds a few
 * hundred to a few thousand entries and abi-check asks for a few dozen
 * names.
 */
#include "ldcache.h"

#include "alloc.h"
#include "buf.h"
#include "error.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define OLD_MAGIC "ld.so-1.7.0"
#define NEW_MAGIC "glibc-ld.so.cache1.1"
#define NEW_HEADER 48
#define NEW_ENTRY 24
#define OLD_HEADER 16
#define OLD_ENTRY 12
#define FLAG_TYPE_MASK 0x00ffu
#define FLAG_ELF_LIBC6 0x0003u

struct entry {
    const char *name;
    const char *path;
};

struct lh_ldcache {
    char *data;
    size_t len;
    struct entry *entries;
    size_t n;
};

static uint32_t get32(const char *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof v);
    return v;
}

/* The NUL-terminated string at `off` within [base, base + len), or NULL. */
static const char *string_at(const char *base, size_t len, uint32_t off)
{
    if (off >= len || !memchr(base + off, '\0', len - off))
        return NULL;
    return base + off;
}

/* Where the new-format table starts: 0, or after an old-format table. */
static int find_new_table(const char *data, size_t len, size_t *at,
                          char *why, size_t whylen)
{
    size_t old_n, end;

    *at = 0;
    if (len >= sizeof NEW_MAGIC - 1 &&
        memcmp(data, NEW_MAGIC, sizeof NEW_MAGIC - 1) == 0)
        return 0;
    if (len < OLD_HEADER || memcmp(data, OLD_MAGIC, sizeof OLD_MAGIC - 1) != 0) {
        lh_set_why(why, whylen, "not a loader cache (no %s header)",
                   NEW_MAGIC);
        return LH_EBADMAGIC;
    }
    old_n = get32(data + 12);
    if (old_n > (len - OLD_HEADER) / OLD_ENTRY) {
        lh_set_why(why, whylen, "truncated: %zu old-format entries", old_n);
        return LH_EPARSE;
    }
    end = OLD_HEADER + old_n * OLD_ENTRY;
    end = (end + 7u) & ~(size_t)7u;
    if (end > len || len - end < sizeof NEW_MAGIC - 1 ||
        memcmp(data + end, NEW_MAGIC, sizeof NEW_MAGIC - 1) != 0) {
        lh_set_why(why, whylen, "old-format cache only (ld.so-1.7.0): not "
                                "supported");
        return LH_EUNSUPPORTED;
    }
    *at = end;
    return 0;
}

/* Indexes the new-format table at data + at. */
static int index_entries(lh_ldcache *c, size_t at, char *why, size_t whylen)
{
    const char *base = c->data + at;
    size_t len = c->len - at, n, i;

    if (len < NEW_HEADER) {
        lh_set_why(why, whylen, "truncated header (%zu bytes)", len);
        return LH_EPARSE;
    }
    n = get32(base + 20);
    if (n > (len - NEW_HEADER) / NEW_ENTRY) {
        lh_set_why(why, whylen, "truncated: %zu entries do not fit in %zu "
                   "bytes", n, len);
        return LH_EPARSE;
    }
    c->entries = lh_calloc(n ? n : 1, sizeof *c->entries);
    if (!c->entries)
        return LH_ENOMEM;
    for (i = 0; i < n; i++) {
        const char *e = base + NEW_HEADER + i * NEW_ENTRY;
        const char *name = string_at(base, len, get32(e + 4));
        const char *path = string_at(base, len, get32(e + 8));

        if (!name || !path) {
            lh_set_why(why, whylen, "entry %zu: string offset outside the "
                       "file", i);
            return LH_EPARSE;
        }
        if ((get32(e) & FLAG_TYPE_MASK) != FLAG_ELF_LIBC6)
            continue;
        c->entries[c->n].name = name;
        c->entries[c->n].path = path;
        c->n++;
    }
    return 0;
}

int lh_ldcache_parse(lh_ldcache **out, const void *data, size_t len,
                     char *why, size_t whylen)
{
    lh_ldcache *c;
    size_t at = 0;
    int rc;

    rc = find_new_table(data, len, &at, why, whylen);
    if (rc)
        return rc;
    c = lh_calloc(1, sizeof *c);
    if (!c)
        return LH_ENOMEM;
    c->data = lh_malloc(len ? len : 1);
    if (!c->data) {
        lh_free(c);
        return LH_ENOMEM;
    }
    memcpy(c->data, data, len);
    c->len = len;
    rc = index_entries(c, at, why, whylen);
    if (rc) {
        lh_ldcache_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int lh_ldcache_load(lh_ldcache **out, const char *path, char *why,
                    size_t whylen)
{
    lh_buf b = LH_BUF_INIT;
    int rc = lh_buf_read_file(&b, path);

    if (rc == LH_EIO)
        lh_set_why(why, whylen, "cannot read %s: %s", path, strerror(errno));
    if (rc == 0)
        rc = lh_ldcache_parse(out, lh_buf_peek(&b), lh_buf_len(&b), why,
                              whylen);
    lh_buf_free(&b);
    return rc;
}

size_t lh_ldcache_count(const lh_ldcache *c)
{
    return c->n;
}

const char *lh_ldcache_find(const lh_ldcache *c, const char *name, size_t i)
{
    size_t k;

    for (k = 0; k < c->n; k++)
        if (strcmp(c->entries[k].name, name) == 0 && i-- == 0)
            return c->entries[k].path;
    return NULL;
}

void lh_ldcache_free(lh_ldcache *c)
{
    if (!c)
        return;
    lh_free(c->entries);
    lh_free(c->data);
    lh_free(c);
}
