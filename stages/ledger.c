/*
 * ledger.c - the event ledger (ledger.h): append-only binary files, one
 * per process instance, merged by `up` with a sort at the end of the run.
 *
 * Design:
 * - A record is 32 bytes: the key (16 bytes, exact up to 16, else prefix
 *   and hash), the version, the key length and the kind.  The first record
 *   of a file is a header (magic "LHLEDG01"), so that a stray file is
 *   refused instead of summed.  Host byte order: the files never leave the
 *   machine that wrote them.
 * - Cost: lh_ledger_add copies 32 bytes into a buffer of BUF_RECORDS
 *   records; lh_ledger_flush is one write(2) of everything buffered.  The
 *   roles flush once per turn of their loop, so at 200,000 events/s that
 *   is a few hundred to a few thousand writes a second, each of many
 *   records; no fsync (see below).
 * - Why flush-before-ack is enough for the at-least-once claim: the fault
 *   model is a process killed (SIGKILL, a crash), not the machine.  Bytes
 *   given to write(2) are in the kernel's page cache and survive the
 *   process.  A B node flushes its ledger before it writes any ack to a
 *   socket, and A (forward off) before it marks offsets done for commit.
 *   So every event acknowledged upstream, hence every event whose offset
 *   can be committed, has its finish record on file; an event finished
 *   whose record was still in the buffer when the process died was not
 *   acknowledged either, so Kafka delivers it again and it is finished
 *   (and recorded) again.  The producer flushes every turn of its loop
 *   (about every 10 ms) and at exit; it is not a process the fault tests
 *   kill, and were it killed its last records would show as "unknown"
 *   finishes, never as losses.
 * - A write that fails drops the buffered records and counts them
 *   (lh_ledger_errors): the roles export that count, and `up` says the
 *   ledger is incomplete rather than report false losses.
 * - Merge: read every file into one array, qsort by (key, version), walk
 *   the runs.  32 bytes per record: 200,000 events make about 400,000
 *   records, 13 MB, sorted in well under a second.  The ledger is for
 *   bounded runs (`up --ledger`), not for soaks of hours.
 */
#include "ledger.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"

#define BUF_RECORDS 2048
#define MAGIC "LHLEDG01"

typedef struct rec {
    uint8_t key[LH_LEDGER_KEY_MAX];
    uint64_t version;
    uint16_t key_len;
    uint8_t kind;
    uint8_t pad[5];
} rec;

_Static_assert(sizeof(rec) == 32, "ledger records are 32 bytes");

struct lh_ledger {
    int fd;
    size_t n;
    uint64_t errors;
    rec buf[BUF_RECORDS];
};

static uint64_t fnv64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void rec_key(rec *r, const uint8_t *key, size_t key_len)
{
    memset(r->key, 0, sizeof r->key);
    if (key_len <= LH_LEDGER_KEY_MAX) {
        memcpy(r->key, key, key_len);
    } else {
        uint64_t h = fnv64(key, key_len);
        memcpy(r->key, key, 8);
        memcpy(r->key + 8, &h, 8);
    }
    r->key_len = key_len > UINT16_MAX ? UINT16_MAX : (uint16_t)key_len;
}

/* Writes all n bytes.  0 or LH_ESYS. */
static int write_all(int fd, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return LH_ESYS;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int role_ok(const char *role)
{
    if (role == NULL || role[0] == '\0' || strlen(role) > 64)
        return 0;
    return strpbrk(role, "/.") == NULL;
}

int lh_ledger_open(const char *dir, const char *role, lh_ledger **out)
{
    char path[PATH_MAX];
    rec head;
    int rc;

    if (dir == NULL || !role_ok(role))
        return LH_EINVAL;
    if ((size_t)snprintf(path, sizeof path, "%s/%s.%ld" LH_LEDGER_SUFFIX, dir,
                         role, (long)getpid()) >= sizeof path)
        return LH_EINVAL;
    lh_ledger *l = lh_malloc(sizeof *l);
    if (l == NULL)
        return LH_ENOMEM;
    l->n = 0;
    l->errors = 0;
    l->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
                 0644);
    if (l->fd < 0) {
        rc = LH_ESYS;
        goto fail;
    }
    memset(&head, 0, sizeof head);
    memcpy(head.key, MAGIC, 8);
    rc = write_all(l->fd, &head, sizeof head);
    if (rc != 0) {
        int e = errno;
        close(l->fd);
        unlink(path);
        errno = e;
        goto fail;
    }
    *out = l;
    return 0;
fail:
    lh_free(l);
    return rc;
}

int lh_ledger_flush(lh_ledger *l)
{
    if (l == NULL || l->n == 0)
        return 0;
    int rc = write_all(l->fd, l->buf, l->n * sizeof l->buf[0]);
    if (rc != 0)
        l->errors += l->n; /* some may be on file: counted lost anyway */
    l->n = 0;
    return rc;
}

int lh_ledger_add(lh_ledger *l, const uint8_t *key, size_t key_len,
                  uint64_t version, int kind)
{
    if (kind < LH_LEDGER_PRODUCED || kind > LH_LEDGER_FAILED)
        return LH_EINVAL;
    int rc = 0;
    if (l->n == BUF_RECORDS)
        rc = lh_ledger_flush(l);
    rec *r = &l->buf[l->n++];
    rec_key(r, key, key_len);
    r->version = version;
    r->kind = (uint8_t)kind;
    memset(r->pad, 0, sizeof r->pad);
    return rc;
}

uint64_t lh_ledger_errors(const lh_ledger *l)
{
    return l ? l->errors : 0;
}

int lh_ledger_close(lh_ledger *l)
{
    if (l == NULL)
        return 0;
    int rc = lh_ledger_flush(l);
    close(l->fd);
    lh_free(l);
    return rc;
}

/* ---- merge ---- */

typedef struct recs {
    rec *v;
    size_t n, cap;
} recs;

static int has_suffix(const char *name)
{
    size_t n = strlen(name), s = sizeof LH_LEDGER_SUFFIX - 1;
    return n > s && strcmp(name + n - s, LH_LEDGER_SUFFIX) == 0;
}

/* Appends the records of one file to *all.  0, LH_EBADMAGIC, LH_ENOMEM or
 * LH_ESYS; *truncated set when the file ends in a partial record. */
static int read_file(const char *path, recs *all, int *truncated)
{
    struct stat st;
    rec head;
    int rc = LH_ESYS;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return LH_ESYS;
    if (fstat(fd, &st) != 0)
        goto out;
    size_t size = (size_t)st.st_size;
    *truncated = size % sizeof(rec) != 0;
    if (size < sizeof head) { /* killed before its header was written */
        rc = 0;
        goto out;
    }
    size_t n = size / sizeof(rec) - 1;
    if (read(fd, &head, sizeof head) != (ssize_t)sizeof head)
        goto out;
    if (memcmp(head.key, MAGIC, 8) != 0) {
        rc = LH_EBADMAGIC;
        goto out;
    }
    void *v = all->v;
    rc = lh_grow(&v, &all->cap, all->n + n, sizeof *all->v, 1024);
    all->v = v;
    if (rc != 0)
        goto out;
    rc = LH_ESYS;
    size_t want = n * sizeof(rec), got = 0;
    uint8_t *dst = (uint8_t *)(all->v + all->n);
    while (got < want) {
        ssize_t r = read(fd, dst + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto out;
        got += (size_t)r;
    }
    all->n += n;
    rc = 0;
out:
    close(fd);
    return rc;
}

static int cmp_pair(const rec *a, const rec *b)
{
    if (a->key_len != b->key_len)
        return a->key_len < b->key_len ? -1 : 1;
    int c = memcmp(a->key, b->key, sizeof a->key);
    if (c != 0)
        return c;
    if (a->version != b->version)
        return a->version < b->version ? -1 : 1;
    return 0;
}

static int cmp_rec(const void *a, const void *b)
{
    return cmp_pair(a, b);
}

static void print_pair(FILE *f, const char *what, const rec *r)
{
    fprintf(f, "%s ", what);
    size_t n = r->key_len > LH_LEDGER_KEY_MAX ? 8 : r->key_len;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = r->key[i];
        if (c >= 0x21 && c < 0x7f)
            fputc(c, f);
        else
            fprintf(f, "\\x%02x", c);
    }
    if (r->key_len > LH_LEDGER_KEY_MAX)
        fprintf(f, "...(%u bytes)", (unsigned)r->key_len);
    fprintf(f, " v%" PRIu64 "\n", r->version);
}

static void sum_runs(const recs *all, lh_ledger_sum *s, FILE *report,
                     unsigned show)
{
    unsigned shown = 0;
    size_t i = 0;
    while (i < all->n) {
        size_t j = i;
        uint64_t produced = 0, ok = 0, failed = 0;
        while (j < all->n && cmp_pair(&all->v[i], &all->v[j]) == 0) {
            uint8_t k = all->v[j].kind;
            if (k == LH_LEDGER_PRODUCED)
                produced++;
            else if (k == LH_LEDGER_FAILED)
                failed++;
            else
                ok++;
            j++;
        }
        if (ok > 1)
            s->duplicates += ok - 1;
        if (produced > 0 && ok > 0) {
            s->produced++;
            s->finished++;
        } else if (produced > 0) {
            s->produced++;
            s->lost++;
            s->failed += failed > 0;
            if (report != NULL && shown < show) {
                print_pair(report, failed ? "lost (failed)" : "lost",
                           &all->v[i]);
                shown++;
            }
        } else if (ok > 0 || failed > 0) {
            s->unknown++;
        }
        i = j;
    }
}

int lh_ledger_merge(const char *dir, lh_ledger_sum *out, FILE *report,
                    unsigned show)
{
    lh_ledger_sum s;
    recs all = {0};
    char path[PATH_MAX];
    int rc = 0;
    DIR *d = opendir(dir);

    if (d == NULL)
        return errno == ENOENT ? LH_ENOTFOUND : LH_ESYS;
    memset(&s, 0, sizeof s);
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0)
                rc = LH_ESYS;
            break;
        }
        if (!has_suffix(e->d_name))
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >=
            sizeof path) {
            rc = LH_EINVAL;
            break;
        }
        int truncated = 0;
        size_t before = all.n;
        rc = read_file(path, &all, &truncated);
        if (rc != 0)
            break;
        s.files++;
        s.records += all.n - before;
        s.truncated += truncated != 0;
    }
    closedir(d);
    if (rc == 0) {
        if (all.n > 1)
            qsort(all.v, all.n, sizeof *all.v, cmp_rec);
        sum_runs(&all, &s, report, show);
        *out = s;
    }
    lh_free(all.v);
    return rc;
}

int lh_ledger_remove(const char *dir)
{
    char path[PATH_MAX];
    int rc = 0;
    DIR *d = opendir(dir);

    if (d == NULL)
        return errno == ENOENT ? 0 : LH_ESYS;
    for (;;) {
        struct dirent *e = readdir(d);
        if (e == NULL)
            break;
        if (!has_suffix(e->d_name))
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) <
                sizeof path &&
            unlink(path) != 0 && rc == 0)
            rc = LH_ESYS;
    }
    closedir(d);
    return rc;
}
