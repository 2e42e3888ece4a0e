/*
 * heapprof.c - gperftools heap profiles: parse, diff, symbolise.
 *
 * Design notes.
 *
 * Parsing is line by line over the caller's buffer, never past `len`, with
 * a three-state machine (header, records, maps).  Every address of every
 * record goes into one pool array; records learn their pointer into it at
 * the end, so a profile is four allocations however many records it has.
 * Checks: numbers are non-negative int64 without overflow, in-use never
 * exceeds allocated, and the records add up to the header line (gperftools
 * computes the header as their sum; a mismatch means a damaged file).  A
 * record line with no newline after it is a dump still being written:
 * LH_ETRUNC, since its last address may be cut ("0x555aa2" is valid hex).
 * The maps section normally ends without a newline, so only a last maps
 * line that does not parse counts as truncation there.
 *
 * Diff: open-addressing hash of the old profile's stacks; one pass over the
 * new profile; old stacks not seen again come out as negative growth.
 *
 * Symbolisation: libdwfl with dwfl_linux_proc_maps_report fed the
 * MAPPED_LIBRARIES lines (they are /proc/self/maps lines), which is how
 * libdwfl itself reads a live process: it groups the mappings of each file
 * into a module and computes the load bias.  Return addresses are looked up
 * at addr - 1, inside the call instruction, so the line is the call's.
 * Inlined calls are expanded with dwarf_getscopes: each
 * DW_TAG_inlined_subroutine scope contributes a frame whose caller's
 * location is its DW_AT_call_file:DW_AT_call_line.  Results are cached per
 * address, and every string is interned, so frames compare by pointer when
 * sites are merged.  libdw allocates with malloc; what it hands back
 * (dwarf_getscopes' array) is released with free, everything of ours with
 * lh_free.
 */
#include "heapprof.h"

#include "allocators.h"
#include "input.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "error.h"

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */

struct cursor {
    const char *p, *end;
};

static void skip_blanks(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static int eat(struct cursor *c, char ch)
{
    skip_blanks(c);
    if (c->p >= c->end || *c->p != ch)
        return -1;
    c->p++;
    return 0;
}

static int scan_i64(struct cursor *c, int64_t *out)
{
    int64_t v = 0;
    int digits = 0;

    skip_blanks(c);
    for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++, digits++) {
        int d = *c->p - '0';
        if (v > (INT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (digits == 0)
        return -1;
    *out = v;
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Hex digits (no 0x) up to a blank or the end; at most 16. */
static int scan_hex(struct cursor *c, uint64_t *out)
{
    uint64_t v = 0;
    int digits = 0;

    for (; c->p < c->end && hexval(*c->p) >= 0; c->p++, digits++) {
        if (digits >= 16)
            return -1;
        v = v << 4 | (uint64_t)hexval(*c->p);
    }
    if (digits == 0)
        return -1;
    *out = v;
    return 0;
}

/* "N: M [ N: M] @" into r; 0 or -1. */
static int scan_counts(struct cursor *c, lh_heapprof_record *r)
{
    if (scan_i64(c, &r->inuse_objs) != 0 || eat(c, ':') != 0 ||
        scan_i64(c, &r->inuse_bytes) != 0 || eat(c, '[') != 0 ||
        scan_i64(c, &r->alloc_objs) != 0 || eat(c, ':') != 0 ||
        scan_i64(c, &r->alloc_bytes) != 0 || eat(c, ']') != 0 ||
        eat(c, '@') != 0)
        return -1;
    return 0;
}

static int counts_sane(const lh_heapprof_record *r)
{
    return r->inuse_objs <= r->alloc_objs && r->inuse_bytes <= r->alloc_bytes;
}

enum { ST_HEADER, ST_RECORDS, ST_MAPS };

struct pstate {
    lh_heapprof *p;
    int state;      /* ST_HEADER, then ST_RECORDS, then ST_MAPS */
    int64_t sum[4]; /* the records' counts added up, for the header */
    size_t rec_cap;
    uint64_t *pool;
    size_t npool, pool_cap;
    size_t *offs; /* per record: first address in pool */
    size_t offs_cap;
    size_t map_cap;
    unsigned lineno;
    char why[160];
};

static int parse_record(struct pstate *s, struct cursor *c)
{
    lh_heapprof_record r;
    lh_heapprof *p = s->p;
    size_t first = s->npool;
    int rc;

    memset(&r, 0, sizeof r);
    if (scan_counts(c, &r) != 0) {
        snprintf(s->why, sizeof s->why, "line %u: bad counts", s->lineno);
        return LH_EPARSE;
    }
    if (!counts_sane(&r)) {
        snprintf(s->why, sizeof s->why,
                 "line %u: bad counts: more in use than allocated", s->lineno);
        return LH_EPARSE;
    }
    for (;;) {
        uint64_t a;
        skip_blanks(c);
        if (c->p >= c->end)
            break;
        if (c->end - c->p < 3 || c->p[0] != '0' ||
            (c->p[1] != 'x' && c->p[1] != 'X')) {
            snprintf(s->why, sizeof s->why, "line %u: address is not hex",
                     s->lineno);
            return LH_EPARSE;
        }
        c->p += 2;
        if (scan_hex(c, &a) != 0 ||
            (c->p < c->end && *c->p != ' ' && *c->p != '\t')) {
            snprintf(s->why, sizeof s->why, "line %u: address is not hex",
                     s->lineno);
            return LH_EPARSE;
        }
        if (s->npool - first >= LH_HEAPPROF_MAX_DEPTH) {
            snprintf(s->why, sizeof s->why, "line %u: stack deeper than %d",
                     s->lineno, LH_HEAPPROF_MAX_DEPTH);
            return LH_EPARSE;
        }
        rc = lh_grow((void **)&s->pool, &s->pool_cap, s->npool + 1,
                     sizeof *s->pool, 16);
        if (rc != 0)
            return rc;
        s->pool[s->npool++] = a;
    }
    r.naddrs = s->npool - first;
    if (lh_grow((void **)&p->records, &s->rec_cap, p->nrecords + 1,
                sizeof *p->records, 16) != 0 ||
        lh_grow((void **)&s->offs, &s->offs_cap, p->nrecords + 1,
                sizeof *s->offs, 16) != 0)
        return LH_ENOMEM;
    s->offs[p->nrecords] = first;
    p->records[p->nrecords++] = r;
    return 0;
}

/* "start-end perms offset dev inode [path]" */
static int parse_mapping(struct pstate *s, struct cursor *c)
{
    lh_heapprof_mapping m;
    lh_heapprof *p = s->p;
    uint64_t dev;
    int64_t inode;
    const char *path, *pend;

    memset(&m, 0, sizeof m);
    if (scan_hex(c, &m.start) != 0 || eat(c, '-') != 0 ||
        scan_hex(c, &m.end) != 0 || m.end < m.start)
        return LH_EPARSE;
    skip_blanks(c);
    if (c->end - c->p < 5 || c->p[4] != ' ')
        return LH_EPARSE;
    for (int i = 0; i < 4; i++) {
        if (strchr("rwxsp-", c->p[i]) == NULL || c->p[i] == '\0')
            return LH_EPARSE;
        m.perms[i] = c->p[i];
    }
    c->p += 4;
    skip_blanks(c);
    if (scan_hex(c, &m.offset) != 0)
        return LH_EPARSE;
    skip_blanks(c);
    if (scan_hex(c, &dev) != 0 || eat(c, ':') != 0 || scan_hex(c, &dev) != 0)
        return LH_EPARSE;
    if (c->p < c->end && *c->p != ' ' && *c->p != '\t')
        return LH_EPARSE;
    if (scan_i64(c, &inode) != 0)
        return LH_EPARSE;
    if (c->p < c->end && *c->p != ' ' && *c->p != '\t')
        return LH_EPARSE;
    skip_blanks(c);
    path = c->p;
    pend = c->end;
    while (pend > path && (pend[-1] == ' ' || pend[-1] == '\t'))
        pend--;
    if (pend > path) {
        if (memchr(path, '\0', (size_t)(pend - path)) != NULL)
            return LH_EPARSE;
        m.path = lh_strndup(path, (size_t)(pend - path));
        if (m.path == NULL)
            return LH_ENOMEM;
    }
    if (lh_grow((void **)&p->maps, &s->map_cap, p->nmaps + 1,
                sizeof *p->maps, 16) != 0) {
        lh_free(m.path);
        return LH_ENOMEM;
    }
    p->maps[p->nmaps++] = m;
    return 0;
}

void lh_heapprof_free(lh_heapprof *p)
{
    if (p == NULL)
        return;
    if (p->nrecords > 0)
        lh_free((void *)p->records[0].addrs);
    lh_free(p->records);
    for (size_t i = 0; i < p->nmaps; i++)
        lh_free(p->maps[i].path);
    lh_free(p->maps);
    lh_free(p);
}

/* Line 1: "heap profile: N: M [ N: M] @ heapprofile".  `last`: the
 * input ends on this line without a newline. */
static int parse_header(struct pstate *s, struct cursor *c, int last)
{
    static const char magic[] = "heap profile:";
    struct cursor t;
    size_t have = (size_t)(c->end - c->p);

    if (have < sizeof magic - 1 || memcmp(c->p, magic, sizeof magic - 1) != 0) {
        /* "heap pro" and nothing after it: a cut, not a stranger */
        int cut = last && have < sizeof magic - 1 &&
                  memcmp(c->p, magic, have) == 0;
        snprintf(s->why, sizeof s->why, "%s",
                 cut ? "input ends inside the header"
                     : "not a heap profile: line 1 does not start "
                       "with \"heap profile:\"");
        return cut ? LH_ETRUNC : LH_EBADMAGIC;
    }
    if (last) {
        snprintf(s->why, sizeof s->why, "input ends inside the header");
        return LH_ETRUNC;
    }
    c->p += sizeof magic - 1;
    if (scan_counts(c, &s->p->total) != 0 || !counts_sane(&s->p->total)) {
        snprintf(s->why, sizeof s->why, "line 1: bad counts in header");
        return LH_EPARSE;
    }
    skip_blanks(c);
    t = *c;
    while (t.end > t.p && (t.end[-1] == ' ' || t.end[-1] == '\t'))
        t.end--;
    if ((size_t)(t.end - t.p) != strlen("heapprofile") ||
        memcmp(t.p, "heapprofile", (size_t)(t.end - t.p)) != 0) {
        snprintf(s->why, sizeof s->why,
                 "line 1: profile type \"%.*s\", want heapprofile "
                 "(gperftools HEAPPROFILE dump)",
                 (int)((t.end - t.p) > 40 ? 40 : (t.end - t.p)), t.p);
        return LH_EUNSUPPORTED;
    }
    s->state = ST_RECORDS;
    return 0;
}

/* Adds the last record's counts to the sum the header must match. */
static int add_to_sum(struct pstate *s)
{
    const lh_heapprof_record *r = &s->p->records[s->p->nrecords - 1];
    int64_t v[4] = {r->inuse_objs, r->inuse_bytes, r->alloc_objs,
                    r->alloc_bytes};

    for (int i = 0; i < 4; i++) {
        if (s->sum[i] > INT64_MAX - v[i]) {
            snprintf(s->why, sizeof s->why,
                     "line %u: bad counts: sum overflows", s->lineno);
            return LH_EPARSE;
        }
        s->sum[i] += v[i];
    }
    return 0;
}

/* A line of the records section: a record, the blank line before the
 * maps, or the MAPPED_LIBRARIES: line that starts them. */
static int parse_records_line(struct pstate *s, struct cursor *c, int last)
{
    static const char maps_tag[] = "MAPPED_LIBRARIES:";
    int rc;

    skip_blanks(c);
    if (c->p == c->end && !last)
        return 0; /* the blank line before the maps */
    if ((size_t)(c->end - c->p) >= sizeof maps_tag - 1 &&
        memcmp(c->p, maps_tag, sizeof maps_tag - 1) == 0) {
        s->state = ST_MAPS;
        return 0;
    }
    if (last) {
        snprintf(s->why, sizeof s->why, "line %u: input ends inside a record",
                 s->lineno);
        return LH_ETRUNC;
    }
    rc = parse_record(s, c);
    return rc != 0 ? rc : add_to_sum(s);
}

/* A line of the maps section (the last may be cut only if it does not
 * parse: the section normally ends without a newline). */
static int parse_maps_line(struct pstate *s, struct cursor *c, int last)
{
    int rc;

    if (c->p == c->end)
        return 0;
    rc = parse_mapping(s, c);
    if (rc == LH_EPARSE) {
        if (last)
            rc = LH_ETRUNC;
        snprintf(s->why, sizeof s->why, "line %u: %s mapping line", s->lineno,
                 rc == LH_ETRUNC ? "input ends inside a" : "malformed");
    }
    return rc;
}

/* After the last line: the maps reached, and the records add up to the
 * header. */
static int check_end(struct pstate *s)
{
    const lh_heapprof_record *t = &s->p->total;

    if (s->state != ST_MAPS) {
        snprintf(s->why, sizeof s->why, "input ends before %s",
                 s->state == ST_HEADER ? "the header" : "MAPPED_LIBRARIES");
        return LH_ETRUNC;
    }
    if (s->sum[0] != t->inuse_objs || s->sum[1] != t->inuse_bytes ||
        s->sum[2] != t->alloc_objs || s->sum[3] != t->alloc_bytes) {
        snprintf(s->why, sizeof s->why,
                 "bad counts: records add up to %lld: %lld [%lld: %lld], "
                 "header says %lld: %lld [%lld: %lld]",
                 (long long)s->sum[0], (long long)s->sum[1],
                 (long long)s->sum[2], (long long)s->sum[3],
                 (long long)t->inuse_objs, (long long)t->inuse_bytes,
                 (long long)t->alloc_objs, (long long)t->alloc_bytes);
        return LH_EPARSE;
    }
    return 0;
}

/* The pool is final: hand out the pointers.  records[0] owns it. */
static int hand_out_pool(struct pstate *s)
{
    if (s->p->nrecords > 0 && s->pool == NULL) {
        s->pool = lh_malloc(sizeof *s->pool);
        if (s->pool == NULL)
            return LH_ENOMEM;
    }
    for (size_t i = 0; i < s->p->nrecords; i++)
        s->p->records[i].addrs = s->pool + s->offs[i];
    s->pool = NULL;
    return 0;
}

/* Splits data into lines (a trailing '\r' dropped) and parses each in the
 * section it belongs to. */
static int parse_lines(struct pstate *s, const char *data, size_t len)
{
    for (size_t off = 0; off < len;) {
        const char *line = data + off;
        const char *nl = memchr(line, '\n', len - off);
        size_t n = nl != NULL ? (size_t)(nl - line) : len - off;
        struct cursor c = {line, line + n};
        int last = nl == NULL;
        int rc;

        s->lineno++;
        off += n + (nl != NULL);
        if (n > 0 && line[n - 1] == '\r')
            c.end--;
        if (s->state == ST_HEADER)
            rc = parse_header(s, &c, last);
        else if (s->state == ST_RECORDS)
            rc = parse_records_line(s, &c, last);
        else
            rc = parse_maps_line(s, &c, last);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int lh_heapprof_parse(const char *data, size_t len, lh_heapprof **out,
                      char *why, size_t whylen)
{
    struct pstate s;
    int rc = 0;

    if (out == NULL || (data == NULL && len > 0)) {
        lh_set_why(why, whylen, "invalid argument");
        return LH_EINVAL;
    }
    memset(&s, 0, sizeof s);
    s.state = ST_HEADER;
    s.p = lh_calloc(1, sizeof *s.p);
    if (s.p == NULL)
        rc = LH_ENOMEM;
    if (rc == 0)
        rc = parse_lines(&s, data, len);
    if (rc == 0)
        rc = check_end(&s);
    if (rc == 0)
        rc = hand_out_pool(&s);
    if (rc == 0) {
        *out = s.p;
        s.p = NULL;
    }
    if (rc == LH_ENOMEM)
        snprintf(s.why, sizeof s.why, "out of memory");
    if (rc != 0)
        lh_set_why(why, whylen, "%s", s.why);
    lh_free(s.pool);
    lh_free(s.offs);
    /* on failure the records' addrs are still NULL: the pool is freed
     * above, not through records[0] */
    lh_heapprof_free(s.p);
    return rc;
}

int lh_heapprof_load(const char *path, lh_heapprof **out, char *why,
                     size_t whylen)
{
    lh_buf b = LH_BUF_INIT;
    /* without `out`, refused as invalid before anything is read */
    int rc = lh_input_read(out ? path : NULL, &b, why, whylen);

    if (rc == 0)
        rc = lh_heapprof_parse((const char *)lh_buf_peek(&b), lh_buf_len(&b),
                               out, why, whylen);
    lh_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Diff                                                                     */

static uint64_t stack_hash(const uint64_t *a, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ n;
    for (size_t i = 0; i < n; i++) {
        h ^= a[i];
        h *= 1099511628211ull;
        h ^= h >> 29;
    }
    return h;
}

static int stack_eq(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static int stack_cmp(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
    for (size_t i = 0; i < na && i < nb; i++) {
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    }
    return na < nb ? -1 : na > nb;
}

static int delta_order(const void *x, const void *y)
{
    const lh_heapprof_delta *a = x, *b = y;
    if (a->inuse_bytes != b->inuse_bytes)
        return a->inuse_bytes > b->inuse_bytes ? -1 : 1;
    if (a->alloc_bytes != b->alloc_bytes)
        return a->alloc_bytes > b->alloc_bytes ? -1 : 1;
    return stack_cmp(a->addrs, a->naddrs, b->addrs, b->naddrs);
}

int lh_heapprof_diff(const lh_heapprof *old, const lh_heapprof *cur,
                     lh_heapprof_delta **out, size_t *n)
{
    size_t nold = old != NULL ? old->nrecords : 0;
    size_t cap = 16, nd = 0;
    size_t *table = NULL; /* old index + 1; 0 empty */
    unsigned char *seen = NULL;
    lh_heapprof_delta *d = NULL;
    int rc = 0;

    if (cur == NULL || out == NULL || n == NULL)
        return LH_EINVAL;
    while (cap < 2 * nold + 2)
        cap *= 2;
    table = lh_calloc(cap, sizeof *table);
    seen = lh_calloc(nold + 1, 1);
    d = lh_calloc(cur->nrecords + nold + 1, sizeof *d);
    if (table == NULL || seen == NULL || d == NULL) {
        rc = LH_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nold; i++) {
        const lh_heapprof_record *r = &old->records[i];
        size_t h = (size_t)stack_hash(r->addrs, r->naddrs) & (cap - 1);
        while (table[h] != 0)
            h = (h + 1) & (cap - 1);
        table[h] = i + 1;
    }
    for (size_t i = 0; i < cur->nrecords; i++) {
        const lh_heapprof_record *r = &cur->records[i];
        lh_heapprof_delta x = {r->addrs,       r->naddrs,     r->inuse_objs,
                               r->inuse_bytes, r->alloc_objs, r->alloc_bytes};
        size_t h = (size_t)stack_hash(r->addrs, r->naddrs) & (cap - 1);
        for (; table[h] != 0; h = (h + 1) & (cap - 1)) {
            const lh_heapprof_record *o = &old->records[table[h] - 1];
            if (!seen[table[h] - 1] &&
                stack_eq(o->addrs, o->naddrs, r->addrs, r->naddrs)) {
                seen[table[h] - 1] = 1;
                x.inuse_objs -= o->inuse_objs;
                x.inuse_bytes -= o->inuse_bytes;
                x.alloc_objs -= o->alloc_objs;
                x.alloc_bytes -= o->alloc_bytes;
                break;
            }
        }
        if (x.inuse_objs || x.inuse_bytes || x.alloc_objs || x.alloc_bytes)
            d[nd++] = x;
    }
    for (size_t i = 0; i < nold; i++) {
        const lh_heapprof_record *o = &old->records[i];
        if (seen[i])
            continue;
        lh_heapprof_delta x = {o->addrs,       o->naddrs,
                               -o->inuse_objs, -o->inuse_bytes,
                               -o->alloc_objs, -o->alloc_bytes};
        if (x.inuse_objs || x.inuse_bytes || x.alloc_objs || x.alloc_bytes)
            d[nd++] = x;
    }
    qsort(d, nd, sizeof *d, delta_order);
    *out = d;
    *n = nd;
    d = NULL;
out:
    lh_free(table);
    lh_free(seen);
    lh_free(d);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Symbolisation                                                            */

struct symentry {
    uint64_t addr;
    lh_heapprof_frame *frames; /* NULL: empty slot */
    size_t n;
};

struct lh_heapprof_symtab {
    Dwfl *dwfl;
    Dwfl_Callbacks cb;
    char *debuginfo_path;
    struct symentry *cache;
    size_t ncache, cache_cap; /* cap is a power of two */
    char **strings;           /* interned; open addressing */
    size_t nstrings, strings_cap;
};

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/* The interned copy of s (NULL for NULL), or NULL with *err = LH_ENOMEM. */
static const char *intern(lh_heapprof_symtab *st, const char *s, int *err)
{
    size_t h;

    if (s == NULL)
        return NULL;
    if (st->nstrings + 1 > st->strings_cap / 2) {
        size_t ncap = st->strings_cap ? st->strings_cap * 2 : 256;
        char **nt = lh_calloc(ncap, sizeof *nt);
        if (nt == NULL) {
            *err = LH_ENOMEM;
            return NULL;
        }
        for (size_t i = 0; i < st->strings_cap; i++) {
            if (st->strings[i] == NULL)
                continue;
            h = (size_t)str_hash(st->strings[i]) & (ncap - 1);
            while (nt[h] != NULL)
                h = (h + 1) & (ncap - 1);
            nt[h] = st->strings[i];
        }
        lh_free(st->strings);
        st->strings = nt;
        st->strings_cap = ncap;
    }
    h = (size_t)str_hash(s) & (st->strings_cap - 1);
    for (; st->strings[h] != NULL; h = (h + 1) & (st->strings_cap - 1)) {
        if (strcmp(st->strings[h], s) == 0)
            return st->strings[h];
    }
    st->strings[h] = lh_strdup(s);
    if (st->strings[h] == NULL) {
        *err = LH_ENOMEM;
        return NULL;
    }
    st->nstrings++;
    return st->strings[h];
}

void lh_heapprof_symtab_free(lh_heapprof_symtab *st)
{
    if (st == NULL)
        return;
    if (st->dwfl != NULL)
        dwfl_end(st->dwfl);
    for (size_t i = 0; i < st->cache_cap; i++)
        lh_free(st->cache[i].frames);
    lh_free(st->cache);
    for (size_t i = 0; i < st->strings_cap; i++)
        lh_free(st->strings[i]);
    lh_free(st->strings);
    lh_free(st);
}

int lh_heapprof_symtab_new(const lh_heapprof *p, lh_heapprof_symtab **out)
{
    lh_heapprof_symtab *st;
    lh_buf maps = LH_BUF_INIT;
    FILE *f = NULL;
    int rc = 0;

    if (p == NULL || out == NULL)
        return LH_EINVAL;
    st = lh_calloc(1, sizeof *st);
    if (st == NULL)
        return LH_ENOMEM;
    st->cb.find_elf = dwfl_linux_proc_find_elf;
    st->cb.find_debuginfo = dwfl_standard_find_debuginfo;
    st->cb.debuginfo_path = &st->debuginfo_path;
    st->dwfl = dwfl_begin(&st->cb);
    if (st->dwfl == NULL) {
        rc = LH_ETOOL;
        goto out;
    }
    /* Only file-backed mappings: "[heap]", "[vdso]" and anonymous ones
     * would make libdwfl look into a live process.  libdwfl groups lines
     * by device and inode, which gperftools does not always fill in: each
     * run of lines of one path gets an inode of its own. */
    const char *prev = NULL;
    unsigned long ino = 0;
    for (size_t i = 0; i < p->nmaps; i++) {
        const lh_heapprof_mapping *m = &p->maps[i];
        char line[96];
        int k;
        if (m->path == NULL || m->path[0] != '/')
            continue;
        if (prev == NULL || strcmp(prev, m->path) != 0)
            ino++;
        prev = m->path;
        k = snprintf(line, sizeof line, "%llx-%llx %s %llx 00:00 %lu ",
                     (unsigned long long)m->start, (unsigned long long)m->end,
                     m->perms, (unsigned long long)m->offset, ino);
        if (lh_buf_append(&maps, line, (size_t)k) != 0 ||
            lh_buf_append(&maps, m->path, strlen(m->path)) != 0 ||
            lh_buf_append(&maps, "\n", 1) != 0) {
            rc = LH_ENOMEM;
            goto out;
        }
    }
    dwfl_report_begin(st->dwfl);
    if (lh_buf_len(&maps) > 0) {
        f = fmemopen(maps.data + maps.start, lh_buf_len(&maps), "r");
        if (f == NULL) {
            rc = errno == ENOMEM ? LH_ENOMEM : LH_ESYS;
            goto out;
        }
        if (dwfl_linux_proc_maps_report(st->dwfl, f) != 0) {
            rc = LH_ETOOL;
            goto out;
        }
    }
    if (dwfl_report_end(st->dwfl, NULL, NULL) != 0) {
        rc = LH_ETOOL;
        goto out;
    }
    *out = st;
    st = NULL;
out:
    if (f != NULL)
        fclose(f);
    lh_buf_free(&maps);
    lh_heapprof_symtab_free(st);
    return rc;
}

/* The name of a subprogram or inlined-subroutine DIE (following
 * DW_AT_abstract_origin and DW_AT_specification), or NULL. */
static const char *die_name(Dwarf_Die *die)
{
    Dwarf_Attribute a;

    if (dwarf_attr_integrate(die, DW_AT_name, &a) == NULL)
        return NULL;
    return dwarf_formstring(&a);
}

static int die_udata(Dwarf_Die *die, unsigned at, Dwarf_Word *v)
{
    Dwarf_Attribute a;
    if (dwarf_attr(die, at, &a) == NULL)
        return -1;
    return dwarf_formudata(&a, v);
}

#define MAX_INLINE 32

/* Fills frames[0..] for pc in mod; returns the count (>= 1). */
static size_t lookup(lh_heapprof_symtab *st, Dwfl_Module *mod, uint64_t addr,
                     lh_heapprof_frame *frames, int *err)
{
    Dwarf_Addr pc = addr - 1, bias = 0;
    const char *sym = dwfl_module_addrname(mod, pc);
    const char *obj =
        dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    Dwfl_Line *ln = dwfl_module_getsrc(mod, pc);
    const char *file = NULL;
    int line = 0;
    Dwarf_Die *cu, *scopes = NULL;
    Dwarf_Die funcs[MAX_INLINE];
    size_t nf = 0, n;
    int ns;

    if (ln != NULL)
        file = dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL);
    obj = intern(st, obj, err);

    cu = dwfl_module_addrdie(mod, pc, &bias);
    ns = cu != NULL ? dwarf_getscopes(cu, pc - bias, &scopes) : -1;
    if (ns > 0) {
        /* dwarf_getscopes follows an inlined scope into its abstract
         * definition; the callers are the physical parents of the
         * innermost scope (what eu-addr2line -i does too). */
        Dwarf_Die inner = scopes[0];
        free(scopes);
        scopes = NULL;
        ns = dwarf_getscopes_die(&inner, &scopes);
    }
    for (int i = 0; i < ns && nf < MAX_INLINE; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_inlined_subroutine) {
            funcs[nf++] = scopes[i];
        } else if (tag == DW_TAG_subprogram) {
            funcs[nf++] = scopes[i];
            break;
        }
    }
    if (nf == 0) {
        frames[0] = (lh_heapprof_frame){addr,
                                        intern(st, sym, err),
                                        intern(st, file, err),
                                        line > 0 ? (unsigned)line : 0,
                                        obj,
                                        0};
        free(scopes);
        return 1;
    }
    /* frame i is funcs[i]; its location is the source line for i == 0,
     * else the call site recorded in the inlined scope funcs[i - 1]. */
    for (n = 0; n < nf; n++) {
        const char *fn = die_name(&funcs[n]);
        const char *f = file;
        unsigned l = line > 0 ? (unsigned)line : 0;
        if (n == nf - 1 && dwarf_tag(&funcs[n]) == DW_TAG_subprogram &&
            sym != NULL)
            fn = sym; /* the linkage name, as pprof and valgrind show it */
        if (n > 0) {
            Dwarf_Word fidx = 0, cl = 0;
            Dwarf_Files *files;
            size_t nfiles;
            f = NULL;
            l = 0;
            if (die_udata(&funcs[n - 1], DW_AT_call_file, &fidx) == 0 &&
                dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && fidx < nfiles)
                f = dwarf_filesrc(files, fidx, NULL, NULL);
            if (die_udata(&funcs[n - 1], DW_AT_call_line, &cl) == 0)
                l = (unsigned)cl;
        }
        frames[n] = (lh_heapprof_frame){
            addr, intern(st, fn, err), intern(st, f, err), l, obj, n + 1 < nf};
    }
    free(scopes);
    return nf;
}

int lh_heapprof_symbolise(lh_heapprof_symtab *st, uint64_t addr,
                          const lh_heapprof_frame **frames, size_t *n)
{
    lh_heapprof_frame tmp[MAX_INLINE];
    struct symentry *e;
    size_t h, k = 1;
    int err = 0;

    if (st == NULL || frames == NULL || n == NULL)
        return LH_EINVAL;
    if (st->cache_cap > 0) {
        h = (size_t)stack_hash(&addr, 1) & (st->cache_cap - 1);
        for (; st->cache[h].frames != NULL; h = (h + 1) & (st->cache_cap - 1)) {
            if (st->cache[h].addr == addr) {
                *frames = st->cache[h].frames;
                *n = st->cache[h].n;
                return 0;
            }
        }
    }
    if (st->ncache + 1 > st->cache_cap / 2) {
        size_t ncap = st->cache_cap ? st->cache_cap * 2 : 256;
        struct symentry *nt = lh_calloc(ncap, sizeof *nt);
        if (nt == NULL)
            return LH_ENOMEM;
        for (size_t i = 0; i < st->cache_cap; i++) {
            if (st->cache[i].frames == NULL)
                continue;
            h = (size_t)stack_hash(&st->cache[i].addr, 1) & (ncap - 1);
            while (nt[h].frames != NULL)
                h = (h + 1) & (ncap - 1);
            nt[h] = st->cache[i];
        }
        lh_free(st->cache);
        st->cache = nt;
        st->cache_cap = ncap;
    }
    {
        Dwfl_Module *mod =
            addr > 0 ? dwfl_addrmodule(st->dwfl, addr - 1) : NULL;
        if (mod != NULL)
            k = lookup(st, mod, addr, tmp, &err);
        else
            tmp[0] = (lh_heapprof_frame){addr, NULL, NULL, 0, NULL, 0};
    }
    if (err != 0)
        return err;
    h = (size_t)stack_hash(&addr, 1) & (st->cache_cap - 1);
    while (st->cache[h].frames != NULL)
        h = (h + 1) & (st->cache_cap - 1);
    e = &st->cache[h];
    e->frames = lh_malloc(k * sizeof *e->frames);
    if (e->frames == NULL)
        return LH_ENOMEM;
    memcpy(e->frames, tmp, k * sizeof *tmp);
    e->addr = addr;
    e->n = k;
    st->ncache++;
    *frames = e->frames;
    *n = k;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Sites                                                                    */

static int is_allocator(const lh_heapprof_frame *f, const char *const *extra)
{
    if (f->obj != NULL && strstr(f->obj, "/libtcmalloc") != NULL)
        return 1;
    return lh_allocator_fn(f->fn, extra);
}

static int same_frame(const lh_heapprof_frame *a, const lh_heapprof_frame *b)
{
    /* strings are interned: pointers compare */
    return a->fn == b->fn && a->file == b->file && a->line == b->line &&
           (a->fn != NULL || a->addr == b->addr);
}

static size_t key_len(const lh_heapprof_site *s, size_t depth)
{
    return depth == 0 || depth > s->nchain ? s->nchain : depth;
}

static int same_key(const lh_heapprof_site *a, const lh_heapprof_site *b,
                    size_t depth)
{
    size_t n = key_len(a, depth);
    if (n != key_len(b, depth))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!same_frame(a->chain[i], b->chain[i]))
            return 0;
    }
    return 1;
}

static uint64_t key_hash(const lh_heapprof_site *s, size_t depth)
{
    uint64_t h = 1469598103934665603ull;
    size_t n = key_len(s, depth);
    for (size_t i = 0; i < n; i++) {
        const lh_heapprof_frame *f = s->chain[i];
        uint64_t v[3] = {(uint64_t)(uintptr_t)f->fn,
                         (uint64_t)(uintptr_t)f->file,
                         f->line + (f->fn == NULL ? f->addr : 0)};
        h = (h ^ stack_hash(v, 3)) * 1099511628211ull;
    }
    return h;
}

static int site_order(const void *x, const void *y)
{
    const lh_heapprof_site *a = x, *b = y;
    if (a->inuse_bytes != b->inuse_bytes)
        return a->inuse_bytes > b->inuse_bytes ? -1 : 1;
    if (a->alloc_bytes != b->alloc_bytes)
        return a->alloc_bytes > b->alloc_bytes ? -1 : 1;
    return 0;
}

void lh_heapprof_sites_free(lh_heapprof_site *sites, size_t n)
{
    if (sites == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        lh_free(sites[i].chain);
    lh_free(sites);
}

int lh_heapprof_sites(lh_heapprof_symtab *st, const lh_heapprof_delta *d,
                      size_t nd, size_t depth,
                      const char *const *extra_allocators,
                      lh_heapprof_site **out, size_t *n)
{
    lh_heapprof_site *sites = NULL;
    size_t nsites = 0, cap = 16;
    size_t *table = NULL;
    const lh_heapprof_frame **chain = NULL;
    size_t chain_cap = 0;
    int rc = 0;

    if (st == NULL || out == NULL || n == NULL || (d == NULL && nd > 0))
        return LH_EINVAL;
    while (cap < 2 * nd + 2)
        cap *= 2;
    table = lh_calloc(cap, sizeof *table);
    sites = lh_calloc(nd + 1, sizeof *sites);
    if (table == NULL || sites == NULL) {
        rc = LH_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nd; i++) {
        size_t nc = 0, skip = 0, h;
        lh_heapprof_site key;

        for (size_t j = 0; j < d[i].naddrs; j++) {
            const lh_heapprof_frame *fr;
            size_t k;
            rc = lh_heapprof_symbolise(st, d[i].addrs[j], &fr, &k);
            if (rc != 0)
                goto out;
            rc = lh_grow((void **)&chain, &chain_cap, nc + k, sizeof *chain,
                         16);
            if (rc != 0)
                goto out;
            for (size_t m = 0; m < k; m++)
                chain[nc++] = &fr[m];
        }
        while (skip + 1 < nc && is_allocator(chain[skip], extra_allocators))
            skip++;
        key.chain = chain + skip;
        key.nchain = nc - skip;
        h = (size_t)key_hash(&key, depth) & (cap - 1);
        for (; table[h] != 0; h = (h + 1) & (cap - 1)) {
            if (same_key(&sites[table[h] - 1], &key, depth))
                break;
        }
        if (table[h] == 0) {
            lh_heapprof_site *s = &sites[nsites];
            if (key.nchain > 0) {
                s->chain = lh_malloc(key.nchain * sizeof *s->chain);
                if (s->chain == NULL) {
                    rc = LH_ENOMEM;
                    goto out;
                }
                memcpy(s->chain, key.chain, key.nchain * sizeof *s->chain);
            }
            s->nchain = key.nchain;
            table[h] = ++nsites;
        }
        {
            lh_heapprof_site *s = &sites[table[h] - 1];
            s->inuse_objs += d[i].inuse_objs;
            s->inuse_bytes += d[i].inuse_bytes;
            s->alloc_objs += d[i].alloc_objs;
            s->alloc_bytes += d[i].alloc_bytes;
            s->nstacks++;
        }
    }
    qsort(sites, nsites, sizeof *sites, site_order);
    *out = sites;
    *n = nsites;
    sites = NULL;
out:
    lh_heapprof_sites_free(sites, nsites);
    lh_free(table);
    lh_free(chain);
    return rc;
}

/* Appends str to buf (snprintf style: counts what does not fit). */
static void put(char *buf, size_t len, size_t *pos, const char *str)
{
    size_t n = strlen(str);
    if (*pos < len) {
        size_t room = len - *pos - 1;
        memcpy(buf + *pos, str, n < room ? n : room);
        buf[*pos + (n < room ? n : room)] = '\0';
    }
    *pos += n;
}

int lh_heapprof_site_format(const lh_heapprof_site *s, size_t depth,
                            const char *strip, char *buf, size_t len)
{
    size_t pos = 0, shown;
    const lh_heapprof_frame *last;

    if (s == NULL || (buf == NULL && len > 0))
        return LH_EINVAL;
    if (len > 0)
        buf[0] = '\0';
    shown = s->nchain < (depth ? depth : 2) ? s->nchain : (depth ? depth : 2);
    if (shown == 0) {
        put(buf, len, &pos, "??");
        return (int)pos;
    }
    for (size_t i = 0; i < shown; i++) {
        if (i > 0)
            put(buf, len, &pos, " <- ");
        put(buf, len, &pos, s->chain[i]->fn ? s->chain[i]->fn : "??");
    }
    last = s->chain[shown - 1];
    if (last->file != NULL) {
        const char *file = last->file;
        size_t sl = strip != NULL ? strlen(strip) : 0;
        char num[24];
        if (sl > 0 && strncmp(file, strip, sl) == 0) {
            file += sl;
            while (*file == '/')
                file++;
        }
        snprintf(num, sizeof num, ":%u)", last->line);
        put(buf, len, &pos, " (");
        put(buf, len, &pos, file);
        put(buf, len, &pos, num);
    }
    return pos > INT32_MAX ? INT32_MAX : (int)pos;
}
