/*
 * test_heapprof.c - gperftools heap profiles: parsing and diffing recorded
 * real profiles (tests/fixtures/heap), and symbolisation of fresh profiles
 * of lh_heapgrow, which this suite runs under tcmalloc's heap profiler.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "cu_main.h"
#include "error.h"
#include "heapprof.h"
#include "read_file.h"

#ifndef LH_FIXTURES
#error "LH_FIXTURES must name tests/fixtures"
#endif
#if !defined(LH_HEAPGROW_O0) || !defined(LH_HEAPGROW_O2)
#error "LH_HEAPGROW_O0 and _O2 must name the lh_heapgrow programs"
#endif
#ifndef LH_TCMALLOC_SO
#error "LH_TCMALLOC_SO must name libtcmalloc.so"
#endif
#define HEAPDIR LH_FIXTURES "/heap/"

static lh_heapprof *load(const char *path)
{
    char why[200] = "";
    lh_heapprof *p = NULL;
    int rc = lh_heapprof_load(path, &p, why, sizeof why);

    if (rc != 0)
        fprintf(stderr, "%s: %s\n", path, why);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    return p;
}

static int parse_str(const char *text, lh_heapprof **p, char *why,
                     size_t whylen)
{
    return lh_heapprof_parse(text, strlen(text), p, why, whylen);
}

/* The line of heapgrow.c that carries the marker "SITE:<name> ". */
static unsigned site_line(const char *name)
{
    char marker[64], line[256];
    FILE *f = fopen(HEAPDIR "heapgrow.c", "r");
    unsigned n = 0, found = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    snprintf(marker, sizeof marker, "SITE:%s ", name);
    while (fgets(line, sizeof line, f) != NULL) {
        n++;
        if (strstr(line, marker) != NULL)
            found = n;
    }
    fclose(f);
    CU_ASSERT_FATAL(found > 0);
    return found;
}

/* ---- parsing real profiles ---------------------------------------------- */

static void test_heapprof_parse_reads_header_records_and_maps(void)
{
    lh_heapprof *p = load(HEAPDIR "heapgrow.0001.heap");
    const lh_heapprof_record *r;
    int exe = 0, libc = 0, anon = 0;

    CU_ASSERT_EQUAL(p->total.inuse_objs, 403);
    CU_ASSERT_EQUAL(p->total.inuse_bytes, 22600);
    CU_ASSERT_EQUAL(p->total.alloc_objs, 403);
    CU_ASSERT_EQUAL(p->total.alloc_bytes, 22600);
    CU_ASSERT_PTR_NULL(p->total.addrs);
    CU_ASSERT_EQUAL_FATAL(p->nrecords, 7);
    r = &p->records[0];
    CU_ASSERT_EQUAL(r->inuse_objs, 100);
    CU_ASSERT_EQUAL(r->inuse_bytes, 6400);
    CU_ASSERT_EQUAL_FATAL(r->naddrs, 6);
    CU_ASSERT_EQUAL(r->addrs[0], 0x556cbe1f21f9ull);
    CU_ASSERT_EQUAL(r->addrs[5], 0x556cbe1f20f1ull);
    CU_ASSERT_EQUAL(p->records[6].inuse_bytes, 1000);
    CU_ASSERT_EQUAL(p->records[6].naddrs, 4);
    for (size_t i = 0; i < p->nmaps; i++) {
        const lh_heapprof_mapping *m = &p->maps[i];
        if (m->path == NULL)
            anon++;
        else if (strstr(m->path, "/heapgrow") != NULL)
            exe++;
        else if (strstr(m->path, "/libc.so.6") != NULL)
            libc++;
    }
    CU_ASSERT_EQUAL(exe, 5);
    CU_ASSERT_EQUAL(libc, 5);
    CU_ASSERT(anon > 0);
    CU_ASSERT_EQUAL(p->maps[1].start, 0x556cbe1f2000ull);
    CU_ASSERT_EQUAL(p->maps[1].end, 0x556cbe1f3000ull);
    CU_ASSERT_EQUAL(p->maps[1].offset, 0x1000);
    CU_ASSERT_STRING_EQUAL(p->maps[1].perms, "r-xp");
    CU_ASSERT_STRING_EQUAL(p->maps[5].path, "[heap]");
    lh_heapprof_free(p);
}

static void test_heapprof_exit_dump_keeps_freed_stacks_at_zero(void)
{
    lh_heapprof *p = load(HEAPDIR "heapgrow.0003.heap");
    const lh_heapprof_record *last;

    CU_ASSERT_EQUAL(p->total.inuse_objs, 802);
    CU_ASSERT_EQUAL(p->total.alloc_objs, 803);
    CU_ASSERT_EQUAL_FATAL(p->nrecords, 11);
    last = &p->records[10];
    CU_ASSERT_EQUAL(last->inuse_objs, 0);
    CU_ASSERT_EQUAL(last->inuse_bytes, 0);
    CU_ASSERT_EQUAL(last->alloc_bytes, 1000);
    lh_heapprof_free(p);
}

/* ---- diff ---------------------------------------------------------------- */

static void test_heapprof_diff_gives_growth_by_stack(void)
{
    lh_heapprof *a = load(HEAPDIR "heapgrow.0001.heap");
    lh_heapprof *b = load(HEAPDIR "heapgrow.0002.heap");
    lh_heapprof_delta *d = NULL;
    size_t n = 0;
    int64_t sum = 0;

    CU_ASSERT_EQUAL_FATAL(lh_heapprof_diff(a, b, &d, &n), 0);
    /* the second loop's four stacks are new; the first loop's and the
     * one-off callocs did not change */
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_EQUAL(d[0].inuse_bytes, 6400);
    CU_ASSERT_EQUAL(d[0].inuse_objs, 100);
    CU_ASSERT_EQUAL(d[1].inuse_bytes, 4800);
    CU_ASSERT_EQUAL(d[2].inuse_bytes, 3200);
    CU_ASSERT_EQUAL(d[3].inuse_bytes, 2400);
    for (size_t i = 0; i < n; i++)
        sum += d[i].inuse_bytes;
    CU_ASSERT_EQUAL(sum, b->total.inuse_bytes - a->total.inuse_bytes);
    /* deltas borrow the newer profile's stacks */
    CU_ASSERT(d[0].addrs >= b->records[0].addrs &&
              d[0].addrs < b->records[0].addrs + 1000);
    lh_free(d);
    lh_heapprof_free(a);
    lh_heapprof_free(b);
}

static void test_heapprof_diff_reports_frees_and_vanished_stacks(void)
{
    lh_heapprof *b = load(HEAPDIR "heapgrow.0002.heap");
    lh_heapprof *c = load(HEAPDIR "heapgrow.0003.heap");
    lh_heapprof_delta *d = NULL;
    size_t n = 0;

    CU_ASSERT_EQUAL_FATAL(lh_heapprof_diff(b, c, &d, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(d[0].inuse_bytes, -1000);
    CU_ASSERT_EQUAL(d[0].inuse_objs, -1);
    CU_ASSERT_EQUAL(d[0].alloc_bytes, 0);
    lh_free(d);

    /* reversed, the second loop's stacks vanish: negative growth */
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_diff(c, b, &d, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(d[0].inuse_bytes, 1000);
    lh_free(d);
    lh_heapprof_free(b);
    lh_heapprof_free(c);

    b = load(HEAPDIR "heapgrow.0001.heap");
    c = load(HEAPDIR "heapgrow.0002.heap");
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_diff(c, b, &d, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_EQUAL(d[3].inuse_bytes, -6400);
    CU_ASSERT(d[3].addrs >= c->records[0].addrs &&
              d[3].addrs < c->records[0].addrs + 1000);
    lh_free(d);

    /* against nothing, everything is growth */
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_diff(NULL, b, &d, &n), 0);
    CU_ASSERT_EQUAL(n, b->nrecords);
    CU_ASSERT_EQUAL(d[0].inuse_bytes, 6400);
    lh_free(d);
    CU_ASSERT_EQUAL(lh_heapprof_diff(b, NULL, &d, &n), LH_EINVAL);
    lh_heapprof_free(b);
    lh_heapprof_free(c);
}

/* ---- corrupt and truncated ---------------------------------------------- */

#define MAPS                                                                   \
    "\nMAPPED_LIBRARIES:\n00400000-00401000 r-xp 00000000 08:01 1 /bin/x\n"

static void test_heapprof_bad_header_is_refused(void)
{
    static const struct {
        const char *text;
        int rc;
    } cases[] = {
        {"%PDF-1.4\n", LH_EBADMAGIC},
        {"heap  profile: 1: 2 [ 1: 2] @ heapprofile\n" MAPS, LH_EBADMAGIC},
        {"heap profile: 1: 2 [ 1: 2] @ heap_v2/524288\n" MAPS, LH_EUNSUPPORTED},
        {"heap profile: 1: 2 [ 1: 2] @ growthz\n" MAPS, LH_EUNSUPPORTED},
        {"heap profile: 1: 2 [ 1: 2] @\n" MAPS, LH_EUNSUPPORTED},
        {"heap profile: 1: 2 [ 1: 2 @ heapprofile\n" MAPS, LH_EPARSE},
        {"heap profile: x: 2 [ 1: 2] @ heapprofile\n" MAPS, LH_EPARSE},
        {"heap profile: 3: 2 [ 1: 2] @ heapprofile\n" MAPS, LH_EPARSE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lh_heapprof *p = NULL;
        char why[200] = "";
        int rc = parse_str(cases[i].text, &p, why, sizeof why);
        if (rc != cases[i].rc)
            fprintf(stderr, "case %zu: rc %d (%s)\n", i, rc, why);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        CU_ASSERT_PTR_NULL(p);
        CU_ASSERT(why[0] != '\0');
    }
}

static void test_heapprof_bad_counts_and_addresses_are_refused(void)
{
    static const char *const bad[] = {
        /* counts */
        "  x: 64 [ 1: 64] @ 0x1\n",
        "  -1: 64 [ 1: 64] @ 0x1\n",
        "  1: 64 [ 1: 32] @ 0x1\n",
        "  2: 64 [ 1: 64] @ 0x1\n",
        "  1: 99999999999999999999 [ 1: 64] @ 0x1\n",
        "  1: 64 [ 1: 64] 0x1\n",
        "  1: 64 1: 64] @ 0x1\n",
        /* the records do not add up to the header */
        "  1: 32 [ 1: 32] @ 0x1\n",
        /* addresses */
        "  1: 64 [ 1: 64] @ 0xZZ\n",
        "  1: 64 [ 1: 64] @ 1234\n",
        "  1: 64 [ 1: 64] @ 0x\n",
        "  1: 64 [ 1: 64] @ 0x12g4\n",
        "  1: 64 [ 1: 64] @ 0x11112222333344445\n",
        "  1: 64 [ 1: 64] @ 0x1,0x2\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        lh_heapprof *p = NULL;
        char why[200] = "";
        int rc;
        snprintf(text, sizeof text,
                 "heap profile: 1: 64 [ 1: 64] @ heapprofile\n%s" MAPS, bad[i]);
        rc = parse_str(text, &p, why, sizeof why);
        if (rc != LH_EPARSE)
            fprintf(stderr, "case %zu: rc %d (%s)\n", i, rc, why);
        CU_ASSERT_EQUAL(rc, LH_EPARSE);
        CU_ASSERT_PTR_NULL(p);
        CU_ASSERT(i == 7 || strstr(why, "line 2") != NULL);
    }
}

static void test_heapprof_bad_mappings_and_deep_stacks_are_refused(void)
{
    static const char *const bad_maps[] = {
        "00400000-00401000 r-xp 00000000 08:01 1 /bin/x\nzz\n",
        "00401000-00400000 r-xp 00000000 08:01 1 /bin/x\n",
        "00400000-00401000 rxyz 00000000 08:01 1 /bin/x\n",
        "00400000-00401000 r-xp 00000000 0801 1 /bin/x\n",
        "00400000-00401000 r-xp 00000000 08:01 a /bin/x\n",
    };
    char text[8192];
    int off;
    lh_heapprof *p = NULL;

    for (size_t i = 0; i < sizeof bad_maps / sizeof bad_maps[0]; i++) {
        snprintf(text, sizeof text,
                 "heap profile: 0: 0 [ 0: 0] @ heapprofile\n\n"
                 "MAPPED_LIBRARIES:\n%s",
                 bad_maps[i]);
        CU_ASSERT_EQUAL(parse_str(text, &p, NULL, 0), LH_EPARSE);
        CU_ASSERT_PTR_NULL(p);
    }
    off = snprintf(text, sizeof text,
                   "heap profile: 1: 8 [ 1: 8] @ heapprofile\n 1: 8 [ 1: 8] @");
    for (int i = 0; i <= LH_HEAPPROF_MAX_DEPTH; i++)
        off += snprintf(text + off, sizeof text - (size_t)off, " 0x%x", i + 1);
    snprintf(text + off, sizeof text - (size_t)off, "\n" MAPS);
    CU_ASSERT_EQUAL(parse_str(text, &p, NULL, 0), LH_EPARSE);
    CU_ASSERT_PTR_NULL(p);
}

static void test_heapprof_every_prefix_is_truncated_or_whole(void)
{
    size_t len = 0;
    char *data = lh_test_read_file(HEAPDIR "heapgrow.0002.heap", &len);
    const char *maps = strstr(data, "MAPPED_LIBRARIES:\n");
    size_t maps_end, nrec;
    int bad = 0;
    lh_heapprof *whole = load(HEAPDIR "heapgrow.0002.heap");

    nrec = whole->nrecords;
    lh_heapprof_free(whole);
    CU_ASSERT_PTR_NOT_NULL_FATAL(maps);
    maps_end = (size_t)(maps - data) + strlen("MAPPED_LIBRARIES:");
    for (size_t n = 0; n <= len; n++) {
        lh_heapprof *p = NULL;
        char why[200] = "";
        int rc = lh_heapprof_parse(data, n, &p, why, sizeof why);
        /* before the maps section: truncated; after: whole */
        int want = n < maps_end ? LH_ETRUNC : 0;
        if (rc != want && !(rc == LH_ETRUNC && n >= maps_end)) {
            if (bad++ == 0)
                fprintf(stderr, "prefix %zu: rc %d (%s)\n", n, rc, why);
        }
        if ((rc == 0) != (p != NULL))
            bad++;
        if (p != NULL && p->nrecords != nrec)
            bad++;
        lh_heapprof_free(p);
    }
    CU_ASSERT_EQUAL(bad, 0);
    lh_free(data);
}

static void test_heapprof_empty_and_record_free_profiles(void)
{
    lh_heapprof *p = NULL;
    char why[200] = "";

    CU_ASSERT_EQUAL(lh_heapprof_parse("", 0, &p, why, sizeof why), LH_ETRUNC);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_EQUAL_FATAL(
        parse_str("heap profile: 0: 0 [ 0: 0] @ heapprofile\r\n\r\n"
                  "MAPPED_LIBRARIES:\r\n",
                  &p, NULL, 0),
        0);
    CU_ASSERT_EQUAL(p->nrecords, 0);
    CU_ASSERT_EQUAL(p->nmaps, 0);
    lh_heapprof_free(p);
    /* a stack gperftools could not unwind has no addresses */
    CU_ASSERT_EQUAL_FATAL(parse_str("heap profile: 1: 8 [ 1: 8] @ heapprofile\n"
                                    "1: 8 [1: 8] @\n" MAPS,
                                    &p, NULL, 0),
                          0);
    CU_ASSERT_EQUAL(p->nrecords, 1);
    CU_ASSERT_EQUAL(p->records[0].naddrs, 0);
    CU_ASSERT_PTR_NOT_NULL(p->records[0].addrs);
    CU_ASSERT_STRING_EQUAL(p->maps[0].path, "/bin/x");
    lh_heapprof_free(p);
    CU_ASSERT_EQUAL(lh_heapprof_parse(NULL, 1, &p, NULL, 0), LH_EINVAL);
    CU_ASSERT_EQUAL(lh_heapprof_parse("x", 1, NULL, NULL, 0), LH_EINVAL);
    CU_ASSERT_EQUAL(
        lh_heapprof_load(HEAPDIR "missing.heap", &p, why, sizeof why), LH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "missing.heap"));
    lh_heapprof_free(NULL);
}

static void test_heapprof_allocation_failures_are_clean(void)
{
    size_t len = 0;
    char *data = lh_test_read_file(HEAPDIR "heapgrow.0002.heap", &len);
    lh_heapprof *a = load(HEAPDIR "heapgrow.0001.heap");
    int nomem = 0, other = 0;
    long n;

    for (n = 0; n < 10000; n++) {
        lh_heapprof *p = NULL;
        lh_heapprof_delta *d = NULL;
        size_t nd = 0;
        int rc;
        lh_alloc_fail_after(n, 1);
        rc = lh_heapprof_parse(data, len, &p, NULL, 0);
        if (rc == 0) {
            rc = lh_heapprof_diff(a, p, &d, &nd);
            if (rc != 0 && (d != NULL || nd != 0))
                other++;
        }
        lh_alloc_fail_after(-1, 0);
        lh_free(d);
        if (rc == 0) {
            lh_heapprof_free(p);
            break;
        }
        lh_heapprof_free(p);
        if (rc == LH_ENOMEM)
            nomem++;
        else
            other++;
    }
    CU_ASSERT(nomem >= 5);
    CU_ASSERT_EQUAL(other, 0);
    CU_ASSERT(n < 10000);
    lh_heapprof_free(a);
    lh_free(data);
}

/* ---- symbolisation, on a fresh run of lh_heapgrow ------------------------ */

struct run {
    char dir[64];
    char dump[2][128];
};

/* Runs lh_heapgrow STEPS under tcmalloc's heap profiler; 0 when it left two
 * signal dumps. */
static int run_heapgrow(struct run *r, const char *prog, const char *steps)
{
    pid_t pid;
    int status;

    snprintf(r->dir, sizeof r->dir, "/tmp/lh-heapprof-XXXXXX");
    if (mkdtemp(r->dir) == NULL)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char prefix[128], pre[512];
        char *argv[] = {(char *)prog, (char *)steps, NULL};
        char *envp[] = {pre, prefix, (char *)"HEAPPROFILESIGNAL=12", NULL};
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        snprintf(pre, sizeof pre, "LD_PRELOAD=%s", LH_TCMALLOC_SO);
        snprintf(prefix, sizeof prefix, "HEAPPROFILE=%s/hp", r->dir);
        execve(prog, argv, envp);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        snprintf(r->dump[i], sizeof r->dump[i], "%s/hp.%04d.heap", r->dir,
                 i + 1);
        if (access(r->dump[i], R_OK) != 0)
            return -1;
    }
    return 0;
}

static void run_cleanup(struct run *r)
{
    DIR *d = opendir(r->dir);
    struct dirent *e;
    char path[512];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", r->dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(r->dir);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = s != NULL ? strlen(s) : 0, b = strlen(suffix);
    return s != NULL && a >= b && strcmp(s + a - b, suffix) == 0;
}

/* fn is name or a compiler clone of it (name.constprop.0) */
static int is_fn(const char *fn, const char *name)
{
    size_t n = strlen(name);
    return fn != NULL && strncmp(fn, name, n) == 0 &&
           (fn[n] == '\0' || fn[n] == '.');
}

static const lh_heapprof_site *find_site(const lh_heapprof_site *s, size_t n,
                                         const char *fn)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i].nchain > 0 && is_fn(s[i].chain[0]->fn, fn))
            return &s[i];
    }
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check_growth_sites(const char *prog)
{
    static const char *const extra[] = {"xmalloc", NULL};
    struct run r;
    lh_heapprof *a = NULL, *b = NULL;
    lh_heapprof_delta *d = NULL;
    lh_heapprof_symtab *st = NULL;
    lh_heapprof_site *sites = NULL;
    size_t nd = 0, ns = 0;
    const lh_heapprof_site *s;
    char text[256];
    double t0, t1;

    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(run_heapgrow(&r, prog, "50"), 0);
    t0 = now();
    a = load(r.dump[0]);
    b = load(r.dump[1]);
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_diff(a, b, &d, &nd), 0);
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_symtab_new(b, &st), 0);
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_sites(st, d, nd, 1, extra, &sites, &ns),
                          0);
    t1 = now();
    if (getenv("LH_UNDER_VALGRIND") == NULL)
        fprintf(stderr, "\n    %s: parse 2 + diff + symbolise: %.1f ms\n",
                strrchr(prog, '/') + 1, (t1 - t0) * 1e3);

    CU_ASSERT_EQUAL_FATAL(ns, 4);
    /* 50 steps of a 64-byte record: the top site is remember's malloc */
    s = &sites[0];
    CU_ASSERT(is_fn(s->chain[0]->fn, "remember"));
    CU_ASSERT(ends_with(s->chain[0]->file, "/heap/heapgrow.c"));
    CU_ASSERT_EQUAL(s->chain[0]->line, site_line("remember"));
    CU_ASSERT_EQUAL(s->inuse_bytes, 50 * 64);
    CU_ASSERT_EQUAL(s->inuse_objs, 50);
    CU_ASSERT_PTR_NOT_NULL(strstr(s->chain[0]->obj, "lh_heapgrow"));
    CU_ASSERT_FATAL(s->nchain >= 3);
    /* at -O2 step is inlined into main: the expansion keeps it */
    CU_ASSERT_STRING_EQUAL(s->chain[1]->fn, "step");
    CU_ASSERT_STRING_EQUAL(s->chain[2]->fn, "main");

    /* an inlined function is a frame of its own, with the call site of
     * the inlining as its caller's line */
    s = &sites[1];
    CU_ASSERT_STRING_EQUAL(s->chain[0]->fn, "inl_alloc");
    CU_ASSERT_EQUAL(s->chain[0]->line, site_line("inl_alloc"));
    CU_ASSERT(s->chain[0]->inlined);
    CU_ASSERT_EQUAL(s->inuse_bytes, 50 * 48);
    CU_ASSERT(is_fn(s->chain[1]->fn, "keep_inlined"));
    CU_ASSERT_EQUAL(s->chain[1]->line, site_line("keep_inlined"));
    CU_ASSERT_FALSE(s->chain[1]->inlined);
    CU_ASSERT_EQUAL(s->chain[0]->addr, s->chain[1]->addr);

    /* libc's strdup collapses into its caller */
    s = find_site(sites, ns, "name_copy");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->chain[0]->line, site_line("name_copy"));
    CU_ASSERT_EQUAL(s->inuse_bytes, 50 * 32);

    /* so does the program's own wrapper, when named */
    s = find_site(sites, ns, "via_wrapper");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->chain[0]->line, site_line("via_wrapper"));
    CU_ASSERT_EQUAL(s->inuse_bytes, 50 * 24);

    CU_ASSERT(lh_heapprof_site_format(&sites[0], 2, LH_FIXTURES, text,
                                      sizeof text) > 0);
    snprintf(r.dump[0], sizeof r.dump[0], "remember <- step (heap/heapgrow.c:");
    CU_ASSERT_NSTRING_EQUAL(text, r.dump[0], strlen(r.dump[0]));
    lh_heapprof_sites_free(sites, ns);

    /* without the wrapper named, the site is the wrapper's malloc */
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_sites(st, d, nd, 1, NULL, &sites, &ns),
                          0);
    s = find_site(sites, ns, "xmalloc");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->chain[0]->line, site_line("xmalloc"));
    CU_ASSERT(is_fn(s->chain[1]->fn, "via_wrapper"));
    lh_heapprof_sites_free(sites, ns);

    /* the whole profile, by full chain: both loops' stacks stay apart, and
     * the one-off calloc in main is its own site */
    lh_free(d);
    d = NULL;
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_diff(NULL, b, &d, &nd), 0);
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_sites(st, d, nd, 0, extra, &sites, &ns),
                          0);
    CU_ASSERT_EQUAL(ns, b->nrecords);
    s = NULL;
    for (size_t i = 0; i < ns; i++) {
        if (sites[i].chain[0]->line == site_line("scratch"))
            s = &sites[i];
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s->chain[0]->fn, "main");
    CU_ASSERT_EQUAL(s->inuse_bytes, 1000);
    lh_heapprof_sites_free(sites, ns);

    lh_heapprof_symtab_free(st);
    lh_free(d);
    lh_heapprof_free(a);
    lh_heapprof_free(b);
    run_cleanup(&r);
}

static void test_heapprof_growth_sites_resolve_at_O0(void)
{
    check_growth_sites(LH_HEAPGROW_O0);
}

static void test_heapprof_growth_sites_resolve_at_O2(void)
{
    check_growth_sites(LH_HEAPGROW_O2);
}

static void test_heapprof_symbolise_caches_and_handles_unknown(void)
{
    lh_heapprof *p = NULL;
    lh_heapprof_symtab *st = NULL;
    const lh_heapprof_frame *f1, *f2;
    size_t n1, n2;

    /* mappings of files that do not exist: unknown frames, no failure */
    CU_ASSERT_EQUAL_FATAL(parse_str("heap profile: 1: 8 [ 1: 8] @ heapprofile\n"
                                    "1: 8 [1: 8] @ 0x400123 0x900000\n" MAPS,
                                    &p, NULL, 0),
                          0);
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_symtab_new(p, &st), 0);
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_symbolise(st, 0x900000, &f1, &n1), 0);
    CU_ASSERT_EQUAL(n1, 1);
    CU_ASSERT_PTR_NULL(f1[0].fn);
    CU_ASSERT_PTR_NULL(f1[0].obj);
    CU_ASSERT_EQUAL(f1[0].addr, 0x900000);
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_symbolise(st, 0x900000, &f2, &n2), 0);
    CU_ASSERT_PTR_EQUAL(f1, f2);
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_symbolise(st, 0, &f2, &n2), 0);
    CU_ASSERT_PTR_NULL(f2[0].fn);
    /* many addresses: the cache grows and keeps answering */
    for (uint64_t a = 1; a < 2000; a++) {
        CU_ASSERT_EQUAL_FATAL(lh_heapprof_symbolise(st, a * 16, &f2, &n2), 0);
    }
    CU_ASSERT_EQUAL_FATAL(lh_heapprof_symbolise(st, 0x900000, &f2, &n2), 0);
    CU_ASSERT_EQUAL(f2[0].addr, 0x900000);
    lh_heapprof_symtab_free(st);
    lh_heapprof_symtab_free(NULL);
    lh_heapprof_free(p);
}

static void test_heapprof_site_format_is_bounded(void)
{
    lh_heapprof_frame f[2] = {
        {1, "a_buf_new", "/src/liba/buf.c", 10, NULL, 0},
        {2, "rpc_call", "/src/stages/rpc.c", 88, NULL, 0},
    };
    const lh_heapprof_frame *chain[2] = {&f[0], &f[1]};
    lh_heapprof_site s = {chain, 2, 0, 0, 0, 0, 1};
    char buf[64];
    int n;

    n = lh_heapprof_site_format(&s, 2, "/src", buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "a_buf_new <- rpc_call (stages/rpc.c:88)");
    CU_ASSERT_EQUAL(n, (int)strlen(buf));
    n = lh_heapprof_site_format(&s, 1, NULL, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "a_buf_new (/src/liba/buf.c:10)");
    n = lh_heapprof_site_format(&s, 2, "/src", buf, 10);
    CU_ASSERT_STRING_EQUAL(buf, "a_buf_new");
    CU_ASSERT_EQUAL(n, 39);
    CU_ASSERT_EQUAL(lh_heapprof_site_format(&s, 2, NULL, NULL, 0), 44);
    f[1].fn = NULL;
    f[1].file = NULL;
    lh_heapprof_site_format(&s, 5, NULL, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "a_buf_new <- ??");
    s.nchain = 0;
    lh_heapprof_site_format(&s, 2, NULL, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "??");
}

static CU_TestInfo tests[] = {
    {"parse reads header records and maps",
     test_heapprof_parse_reads_header_records_and_maps},
    {"exit dump keeps freed stacks at zero",
     test_heapprof_exit_dump_keeps_freed_stacks_at_zero},
    {"diff gives growth by stack", test_heapprof_diff_gives_growth_by_stack},
    {"diff reports frees and vanished stacks",
     test_heapprof_diff_reports_frees_and_vanished_stacks},
    {"bad header is refused", test_heapprof_bad_header_is_refused},
    {"bad counts and addresses are refused",
     test_heapprof_bad_counts_and_addresses_are_refused},
    {"bad mappings and deep stacks are refused",
     test_heapprof_bad_mappings_and_deep_stacks_are_refused},
    {"every prefix is truncated or whole",
     test_heapprof_every_prefix_is_truncated_or_whole},
    {"empty and record-free profiles",
     test_heapprof_empty_and_record_free_profiles},
    {"allocation failures are clean",
     test_heapprof_allocation_failures_are_clean},
    {"growth sites resolve to function file line at -O0",
     test_heapprof_growth_sites_resolve_at_O0},
    {"growth sites resolve to function file line at -O2 (inlined, clones)",
     test_heapprof_growth_sites_resolve_at_O2},
    {"symbolise caches and handles unknown",
     test_heapprof_symbolise_caches_and_handles_unknown},
    {"site format is bounded", test_heapprof_site_format_is_bounded},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("heapprof", tests)
