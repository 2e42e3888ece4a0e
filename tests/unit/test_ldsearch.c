/*
 * test_ldsearch.c - the dynamic loader's search (ldsearch.h) and its cache
 * (ldcache.h).
 *
 * The search runs on the tree tests/abicheck builds (LH_ABI_FIXTURES/ld):
 * libleaf.so.1 in one directory per step of the loader's order, libraries
 * without paths of their own, programs with DT_RPATH or DT_RUNPATH built
 * with $ORIGIN, a copy of libleaf whose ELF machine is AArch64, a library
 * found nowhere, a DT_NEEDED holding a path.  Each test gives the search
 * its whole environment (LD_LIBRARY_PATH, a cache file the test writes,
 * the default directories), so the system's libraries do not interfere;
 * one test reads the system's own cache, which has the real format.
 */
#include "ldcache.h"
#include "ldsearch.h"

#include "alloc.h"
#include "cu_main.h"
#include "error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LH_ABI_FIXTURES
#error "LH_ABI_FIXTURES must name the fixture build directory"
#endif

#define FX LH_ABI_FIXTURES
#define LD FX "/ld"

/* ------------------------------------------------- synthetic caches */

struct cent {
    uint32_t flags;
    const char *name, *path;
};

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

/*
 * Writes a cache in glibc's 1.1 format (after an empty old-format table
 * when old_prefix): 48-byte header, 24-byte entries, then the strings,
 * offsets counted from the new header.  Returns its length.
 */
static size_t make_cache(unsigned char *out, size_t cap, const struct cent *e,
                         size_t n, int old_prefix)
{
    size_t at = old_prefix ? 16 : 0, strings, i, s;

    memset(out, 0, cap);
    if (old_prefix)
        memcpy(out, "ld.so-1.7.0", 11); /* nlibs 0 at offset 12 */
    memcpy(out + at, "glibc-ld.so.cache1.1", 20);
    put32(out + at + 20, (uint32_t)n);
    strings = 48 + n * 24;
    s = strings;
    for (i = 0; i < n; i++) {
        unsigned char *ent = out + at + 48 + i * 24;

        put32(ent, e[i].flags);
        put32(ent + 4, (uint32_t)s);
        memcpy(out + at + s, e[i].name, strlen(e[i].name) + 1);
        s += strlen(e[i].name) + 1;
        put32(ent + 8, (uint32_t)s);
        memcpy(out + at + s, e[i].path, strlen(e[i].path) + 1);
        s += strlen(e[i].path) + 1;
    }
    put32(out + at + 24, (uint32_t)(s - strings));
    CU_ASSERT_FATAL(at + s <= cap);
    return at + s;
}

/* A cache file mapping libleaf.so.1 to ld/cache/, unique to this process
 * (the memcheck run of this suite may run at the same time). */
static char *write_cache_file(void)
{
    static const struct cent e[] = {
        {0x0303, "libleaf.so.1", LD "/cache/libleaf.so.1"},
    };
    unsigned char buf[512];
    size_t len = make_cache(buf, sizeof buf, e, 1, 0);
    char *path = malloc(256);
    FILE *f;

    CU_ASSERT_FATAL(path != NULL);
    snprintf(path, 256, "%s/test-%ld.cache", LD, (long)getpid());
    f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(buf, 1, len, f) == len);
    fclose(f);
    return path;
}

static void test_ldcache_synthetic_cache_lists_libc6_entries_in_order(void)
{
    static const struct cent e[] = {
        {0x0303, "libleaf.so.1", "/first/libleaf.so.1"},
        {0x0001, "libleaf.so.1", "/libc5/libleaf.so.1"},
        {0x0303, "libother.so.2", "/x/libother.so.2"},
        {0x0903, "libleaf.so.1", "/second/libleaf.so.1"},
    };
    unsigned char buf[1024];
    lh_ldcache *c = NULL;
    char why[256];
    size_t len;
    int old;

    for (old = 0; old <= 1; old++) {
        len = make_cache(buf, sizeof buf, e, 4, old);
        CU_ASSERT_EQUAL_FATAL(lh_ldcache_parse(&c, buf, len, why, sizeof why),
                              0);
        CU_ASSERT_EQUAL(lh_ldcache_count(c), 3); /* not the libc5 entry */
        CU_ASSERT_STRING_EQUAL(lh_ldcache_find(c, "libleaf.so.1", 0),
                               "/first/libleaf.so.1");
        CU_ASSERT_STRING_EQUAL(lh_ldcache_find(c, "libleaf.so.1", 1),
                               "/second/libleaf.so.1");
        CU_ASSERT_PTR_NULL(lh_ldcache_find(c, "libleaf.so.1", 2));
        CU_ASSERT_STRING_EQUAL(lh_ldcache_find(c, "libother.so.2", 0),
                               "/x/libother.so.2");
        CU_ASSERT_PTR_NULL(lh_ldcache_find(c, "libother.so", 0));
        lh_ldcache_free(c);
        c = NULL;
    }
}

static void test_ldcache_system_cache_has_the_c_library(void)
{
    lh_ldcache *c = NULL;
    const char *libc;
    char why[256];

    if (access("/etc/ld.so.cache", R_OK) != 0)
        return; /* no cache on this system: nothing to compare with */
    CU_ASSERT_EQUAL_FATAL(lh_ldcache_load(&c, "/etc/ld.so.cache", why,
                                          sizeof why),
                          0);
    CU_ASSERT_TRUE(lh_ldcache_count(c) > 10);
    libc = lh_ldcache_find(c, "libc.so.6", 0);
    CU_ASSERT_FATAL(libc != NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(libc, "/libc.so.6"));
    CU_ASSERT_EQUAL(access(libc, R_OK), 0);
    lh_ldcache_free(c);
}

static void test_ldcache_malformed_caches_are_errors_with_reasons(void)
{
    static const struct cent e[] = {
        {0x0303, "libleaf.so.1", "/first/libleaf.so.1"},
    };
    unsigned char buf[512], bad[512];
    lh_ldcache *c = NULL;
    char why[256];
    size_t len = make_cache(buf, sizeof buf, e, 1, 0), cut;
    int rc;

    why[0] = '\0';
    CU_ASSERT_EQUAL(lh_ldcache_parse(&c, "", 0, why, sizeof why),
                    LH_EBADMAGIC);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "not a loader cache"));
    CU_ASSERT_EQUAL(lh_ldcache_load(&c, FX "/no-such.cache", why, sizeof why),
                    LH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "no-such.cache"));
    /* An entry count past the end of the file. */
    memcpy(bad, buf, len);
    put32(bad + 20, 1000);
    CU_ASSERT_EQUAL(lh_ldcache_parse(&c, bad, len, why, sizeof why),
                    LH_EPARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "truncated"));
    /* A string offset outside the file. */
    memcpy(bad, buf, len);
    put32(bad + 48 + 8, (uint32_t)len + 5);
    CU_ASSERT_EQUAL(lh_ldcache_parse(&c, bad, len, why, sizeof why),
                    LH_EPARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "outside"));
    /* Every truncation: an error, never a crash or a string past the end. */
    for (cut = 0; cut < len; cut++) {
        rc = lh_ldcache_parse(&c, buf, cut, why, sizeof why);
        CU_ASSERT_TRUE(rc == LH_EBADMAGIC || rc == LH_EPARSE);
    }
    CU_ASSERT_PTR_NULL(c);
}

/* ------------------------------------------------------------ search */

static const char *const fx_defaults[] = {LD "/default", NULL};

/* Runs the search on one root with LD_LIBRARY_PATH `llp`, cache file
 * `cache` ("" none) and the fixture's default directory. */
static lh_ldsearch *run1(const char *root, const char *llp, const char *cache)
{
    static lh_ldsearch s;
    lh_ldsearch_env env;
    const char *roots[1];

    roots[0] = root;
    memset(&env, 0, sizeof env);
    env.ld_library_path = llp;
    env.cache_path = cache;
    env.default_dirs = fx_defaults;
    CU_ASSERT_EQUAL_FATAL(lh_ldsearch_run(&s, roots, 1, &env), 0);
    return &s;
}

/* The object resolved for `name`, NULL when none; asserts it is listed
 * once. */
static const lh_ld_object *by_name(const lh_ldsearch *s, const char *name)
{
    const lh_ld_object *found = NULL;
    size_t i, n = 0;

    for (i = 0; i < s->count; i++)
        if (strcmp(s->objects[i].name, name) == 0) {
            found = &s->objects[i];
            n++;
        }
    CU_ASSERT(n <= 1);
    return found;
}

static void test_ldsearch_rpath_is_inherited_and_before_ld_library_path(void)
{
    lh_ldsearch *s = run1(LD "/prog_rpath", LD "/llp", "");
    const lh_ld_object *mid = by_name(s, "libmid.so.1");
    const lh_ld_object *mid2 = by_name(s, "libmid2.so.1");
    const lh_ld_object *leaf = by_name(s, "libleaf.so.1");

    CU_ASSERT_EQUAL(s->objects[0].how, LH_LD_ROOT);
    CU_ASSERT_FATAL(mid && mid2 && leaf);
    CU_ASSERT_EQUAL(mid->how, LH_LD_RPATH); /* $ORIGIN/mid */
    CU_ASSERT_STRING_EQUAL(mid->path, LD "/mid/libmid.so.1");
    CU_ASSERT_EQUAL(mid->needed_by, 0);
    /* libmid has no path: the program's DT_RPATH, inherited, wins over
     * LD_LIBRARY_PATH; both mids need libleaf, listed once. */
    CU_ASSERT_EQUAL(leaf->how, LH_LD_RPATH);
    CU_ASSERT_STRING_EQUAL(leaf->path, LD "/rpath/libleaf.so.1");
    CU_ASSERT_EQUAL(leaf->needed_by, (size_t)(mid - s->objects));
    CU_ASSERT_STRING_EQUAL(leaf->soname, "libleaf.so.1");
    /* Breadth first: both mids before the leaf they need. */
    CU_ASSERT_TRUE(mid < leaf && mid2 < leaf);
    lh_ldsearch_free(s);
}

static void test_ldsearch_runpath_is_not_inherited(void)
{
    char *cache = write_cache_file();
    lh_ldsearch *s = run1(LD "/prog_runpath", NULL, "");
    const lh_ld_object *leaf = by_name(s, "libleaf.so.1");

    /* ${ORIGIN}/mid finds libmid; libmid's own search has no RUNPATH
     * (the program's is not inherited): the default directory. */
    CU_ASSERT_EQUAL(by_name(s, "libmid.so.1")->how, LH_LD_RUNPATH);
    CU_ASSERT_FATAL(leaf != NULL);
    CU_ASSERT_EQUAL(leaf->how, LH_LD_DEFAULT);
    CU_ASSERT_STRING_EQUAL(leaf->path, LD "/default/libleaf.so.1");
    lh_ldsearch_free(s);

    s = run1(LD "/prog_runpath", LD "/llp", "");
    CU_ASSERT_EQUAL(by_name(s, "libleaf.so.1")->how, LH_LD_LIBRARY_PATH);
    CU_ASSERT_STRING_EQUAL(by_name(s, "libleaf.so.1")->path,
                           LD "/llp/libleaf.so.1");
    lh_ldsearch_free(s);

    /* The cache comes before the default directories. */
    s = run1(LD "/prog_runpath", NULL, cache);
    CU_ASSERT_EQUAL(by_name(s, "libleaf.so.1")->how, LH_LD_CACHE);
    CU_ASSERT_STRING_EQUAL(by_name(s, "libleaf.so.1")->path,
                           LD "/cache/libleaf.so.1");
    lh_ldsearch_free(s);
    unlink(cache);
    free(cache);
}

static void test_ldsearch_ld_library_path_comes_before_runpath(void)
{
    lh_ldsearch *s = run1(LD "/prog_direct", "/nonexistent;" LD "/llp", "");

    CU_ASSERT_EQUAL(by_name(s, "libleaf.so.1")->how, LH_LD_LIBRARY_PATH);
    CU_ASSERT_STRING_EQUAL(by_name(s, "libleaf.so.1")->path,
                           LD "/llp/libleaf.so.1");
    lh_ldsearch_free(s);
    s = run1(LD "/prog_direct", NULL, "");
    CU_ASSERT_EQUAL(by_name(s, "libleaf.so.1")->how, LH_LD_RUNPATH);
    CU_ASSERT_STRING_EQUAL(by_name(s, "libleaf.so.1")->path,
                           LD "/runpath/libleaf.so.1");
    lh_ldsearch_free(s);
}

static void test_ldsearch_skips_a_library_of_another_machine(void)
{
    lh_ldsearch *s = run1(LD "/prog_wrong", NULL, "");
    const lh_ld_object *leaf = by_name(s, "libleaf.so.1");

    CU_ASSERT_FATAL(leaf != NULL);
    CU_ASSERT_EQUAL(leaf->how, LH_LD_RPATH);
    CU_ASSERT_STRING_EQUAL(leaf->path, LD "/rpath/libleaf.so.1");
    lh_ldsearch_free(s);
}

static void test_ldsearch_missing_library_is_listed_with_where_it_looked(void)
{
    lh_ldsearch *s = run1(LD "/prog_missing", LD "/llp", "");
    const lh_ld_object *gone = by_name(s, "libnothere.so.1");

    CU_ASSERT_FATAL(gone != NULL);
    CU_ASSERT_EQUAL(gone->how, LH_LD_MISSING);
    CU_ASSERT_PTR_NULL(gone->path);
    CU_ASSERT_EQUAL(gone->needed_by, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(gone->searched, LD "/llp"));
    CU_ASSERT_PTR_NOT_NULL(strstr(gone->searched, LD "/default"));
    CU_ASSERT_STRING_EQUAL(lh_ldsearch_how_name(gone->how), "missing");
    lh_ldsearch_free(s);
}

static void test_ldsearch_needed_path_and_interpreter(void)
{
    lh_ldsearch *s = run1(LD "/prog_slash", NULL, "");
    const lh_ld_object *plain = by_name(s, LD "/plain/libplain.so");
    size_t i, interp = 0;

    CU_ASSERT_FATAL(plain != NULL);
    CU_ASSERT_EQUAL(plain->how, LH_LD_SLASH);
    CU_ASSERT_STRING_EQUAL(plain->path, LD "/plain/libplain.so");
    /* libc.so.6 is not in the fixture's default directory: missing; the
     * program's PT_INTERP is added by its path, last. */
    CU_ASSERT_EQUAL(by_name(s, "libc.so.6")->how, LH_LD_MISSING);
    for (i = 0; i < s->count; i++)
        interp += s->objects[i].how == LH_LD_INTERP;
    CU_ASSERT_EQUAL(interp, 1);
    CU_ASSERT_EQUAL(s->objects[s->count - 1].how, LH_LD_INTERP);
    lh_ldsearch_free(s);
}

static void test_ldsearch_later_roots_are_like_preloaded_objects(void)
{
    const char *roots[] = {LD "/prog_direct", LD "/cache/libleaf.so.1"};
    lh_ldsearch_env env;
    lh_ldsearch s;
    size_t i, leaves = 0;

    memset(&env, 0, sizeof env);
    env.cache_path = "";
    env.default_dirs = fx_defaults;
    CU_ASSERT_EQUAL_FATAL(lh_ldsearch_run(&s, roots, 2, &env), 0);
    /* The program's DT_NEEDED libleaf.so.1 is the second root, by its
     * soname: no other copy is looked for. */
    for (i = 0; i < s.count; i++)
        leaves += s.objects[i].soname &&
                  strcmp(s.objects[i].soname, "libleaf.so.1") == 0;
    CU_ASSERT_EQUAL(leaves, 1);
    CU_ASSERT_PTR_NULL(by_name(&s, "libleaf.so.1"));
    lh_ldsearch_free(&s);
}

static void test_ldsearch_system_search_finds_the_c_library(void)
{
    const char *roots[] = {LD "/prog_rpath"};
    lh_ldsearch s;
    const lh_ld_object *libc;

    CU_ASSERT_EQUAL_FATAL(lh_ldsearch_run(&s, roots, 1, NULL), 0);
    libc = by_name(&s, "libc.so.6");
    CU_ASSERT_FATAL(libc != NULL);
    CU_ASSERT_PTR_NOT_NULL(libc->path);
    CU_ASSERT_TRUE(libc->how == LH_LD_CACHE || libc->how == LH_LD_DEFAULT);
    lh_ldsearch_free(&s);
}

static void test_ldsearch_roots_that_are_not_programs_have_no_deps(void)
{
    const char *roots[] = {FX "/no-such-file", LH_ABI_SOURCES "/user.c",
                           FX "/user_base.o"};
    lh_ldsearch s;

    CU_ASSERT_EQUAL_FATAL(lh_ldsearch_run(&s, roots, 3, NULL), 0);
    CU_ASSERT_EQUAL(s.count, 3);
    lh_ldsearch_free(&s);
}

static void test_ldsearch_allocation_failures_are_clean(void)
{
    const char *roots[] = {LD "/prog_rpath"};
    lh_ldsearch_env env;
    long n;
    int done = 0;

    memset(&env, 0, sizeof env);
    env.ld_library_path = LD "/llp";
    env.cache_path = "";
    env.default_dirs = fx_defaults;
    for (n = 0; !done && n < 10000; n++) {
        lh_ldsearch s;
        int rc;

        lh_alloc_fail_after(n, 0);
        rc = lh_ldsearch_run(&s, roots, 1, &env);
        lh_alloc_fail_after(-1, 0);
        CU_ASSERT_TRUE(rc == 0 || rc == LH_ENOMEM);
        done = rc == 0 && by_name(&s, "libleaf.so.1") &&
               by_name(&s, "libleaf.so.1")->how == LH_LD_RPATH;
        lh_ldsearch_free(&s);
    }
    CU_ASSERT_TRUE(done);
}

static CU_TestInfo tests[] = {
    {"ldcache: synthetic cache lists libc6 entries in order",
     test_ldcache_synthetic_cache_lists_libc6_entries_in_order},
    {"ldcache: the system cache has the C library",
     test_ldcache_system_cache_has_the_c_library},
    {"ldcache: malformed caches are errors with reasons",
     test_ldcache_malformed_caches_are_errors_with_reasons},
    {"DT_RPATH is inherited and comes before LD_LIBRARY_PATH",
     test_ldsearch_rpath_is_inherited_and_before_ld_library_path},
    {"DT_RUNPATH is not inherited; cache before defaults",
     test_ldsearch_runpath_is_not_inherited},
    {"LD_LIBRARY_PATH comes before DT_RUNPATH",
     test_ldsearch_ld_library_path_comes_before_runpath},
    {"a library of another machine is skipped",
     test_ldsearch_skips_a_library_of_another_machine},
    {"a missing library is listed with where it looked",
     test_ldsearch_missing_library_is_listed_with_where_it_looked},
    {"a DT_NEEDED path, and the interpreter",
     test_ldsearch_needed_path_and_interpreter},
    {"later roots are like preloaded objects",
     test_ldsearch_later_roots_are_like_preloaded_objects},
    {"the system search finds the C library",
     test_ldsearch_system_search_finds_the_c_library},
    {"roots that are not programs have no dependencies",
     test_ldsearch_roots_that_are_not_programs_have_no_deps},
    {"allocation failures are clean",
     test_ldsearch_allocation_failures_are_clean},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("ldsearch", tests)
