/*
 * test_preload.c - what leak-hunt may preload into a program, judged on
 * real files: programs built for this suite (tests/fixtures/preload: plain,
 * with AddressSanitizer, defining malloc, with a sanitizer's init linked
 * in, static), the system's tcmalloc libraries as LD_PRELOAD entries, and
 * scripts written here.
 */
#include "cu_main.h"

#include "error.h"
#include "preload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef LH_PRELOAD_BIN
#error "LH_PRELOAD_BIN: the directory of the fixture programs"
#endif
#ifndef LH_TCMALLOC_SO
#define LH_TCMALLOC_SO "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4"
#endif

static const char *ours(void)
{
    const char *slash = strrchr(LH_TCMALLOC_SO, '/');
    return slash ? slash + 1 : LH_TCMALLOC_SO;
}

/* The check of fixture `name` (a file in LH_PRELOAD_BIN). */
static lh_preload_check check(const char *name, const char *ld_preload)
{
    char path[1024];
    lh_preload_check c;
    snprintf(path, sizeof path, "%s/%s", LH_PRELOAD_BIN, name);
    CU_ASSERT_EQUAL(lh_preload_check_program(path, ld_preload, ours(), &c),
                    0);
    return c;
}

static void test_preload_plain_program_is_ok(void)
{
    lh_preload_check c = check("lh_preload_plain", NULL);
    CU_ASSERT_EQUAL(c.kind, LH_PRELOAD_OK);
    CU_ASSERT_STRING_EQUAL(c.why, "");
    /* the tcmalloc leak-hunt preloads, already there: still ours */
    c = check("lh_preload_plain", LH_TCMALLOC_SO);
    CU_ASSERT_EQUAL(c.kind, LH_PRELOAD_OK);
}

static void test_preload_asan_program_names_its_runtime(void)
{
    lh_preload_check c = check("lh_preload_asan", NULL);
    CU_ASSERT_EQUAL(c.kind, LH_PRELOAD_SANITIZER);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.why, "AddressSanitizer"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.runtime, "/libasan.so"));
    CU_ASSERT_EQUAL(access(c.runtime, R_OK), 0);
}

static void test_preload_linked_in_sanitizer_has_no_runtime_file(void)
{
    lh_preload_check c = check("lh_preload_fakesan", NULL);
    CU_ASSERT_EQUAL(c.kind, LH_PRELOAD_SANITIZER);
    CU_ASSERT_STRING_EQUAL(c.runtime, "");
    CU_ASSERT_PTR_NOT_NULL(strstr(c.why, "linked in"));
}

static void test_preload_own_malloc_is_an_allocator(void)
{
    lh_preload_check c = check("lh_preload_ownmalloc", NULL);
    CU_ASSERT_EQUAL(c.kind, LH_PRELOAD_ALLOCATOR);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.why, "defines malloc"));
}

static void test_preload_static_program(void)
{
    lh_preload_check c = check("lh_preload_static", NULL);
    CU_ASSERT_EQUAL(c.kind, LH_PRELOAD_STATIC);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.why, "statically linked"));
}

/* An allocator already in LD_PRELOAD: by its symbols when it is a path,
 * by its name when the loader is to find it; a sanitizer's runtime
 * likewise. */
static void test_preload_ld_preload_entries(void)
{
    char minimal[1024];
    snprintf(minimal, sizeof minimal, "%s", LH_TCMALLOC_SO);
    char *slash = strrchr(minimal, '/');
    CU_ASSERT_PTR_NOT_NULL_FATAL(slash);
    snprintf(slash + 1, sizeof minimal - (size_t)(slash + 1 - minimal),
             "libtcmalloc_minimal.so.4");
    lh_preload_check c = check("lh_preload_plain", minimal);
    CU_ASSERT_EQUAL(c.kind, LH_PRELOAD_ALLOCATOR);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.why, "libtcmalloc_minimal.so.4"));
    c = check("lh_preload_plain", "libjemalloc.so.2");
    CU_ASSERT_EQUAL(c.kind, LH_PRELOAD_ALLOCATOR);
    c = check("lh_preload_plain", "libasan.so.8");
    CU_ASSERT_EQUAL(c.kind, LH_PRELOAD_SANITIZER);
}

/* Writes an executable script with `text` at dir/name. */
static void script(const char *dir, const char *name, const char *text,
                   char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    CU_ASSERT_EQUAL(chmod(path, 0755), 0);
}

/* A script is judged by its interpreter, also through env; one whose
 * interpreter is missing is unknown. */
static void test_preload_script_is_judged_by_interpreter(void)
{
    char dir[] = "/tmp/lh-test-preload.XXXXXX", sh[256], env[256], bad[256];
    char text[1200];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    script(dir, "a.sh", "#!/bin/sh\nexit 0\n", sh, sizeof sh);
    snprintf(text, sizeof text, "#!/usr/bin/env -S %s/lh_preload_asan -x\n",
             LH_PRELOAD_BIN);
    script(dir, "b", text, env, sizeof env);
    script(dir, "c", "#!/nonexistent/interp\n", bad, sizeof bad);
    lh_preload_check c;
    CU_ASSERT_EQUAL(lh_preload_check_program(sh, NULL, ours(), &c), 0);
    CU_ASSERT_EQUAL(c.kind, LH_PRELOAD_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.program, "sh"));
    CU_ASSERT_EQUAL(lh_preload_check_program(env, NULL, ours(), &c), 0);
    CU_ASSERT_EQUAL(c.kind, LH_PRELOAD_SANITIZER);
    CU_ASSERT_EQUAL(lh_preload_check_program(bad, NULL, ours(), &c), 0);
    CU_ASSERT_EQUAL(c.kind, LH_PRELOAD_UNKNOWN);
    unlink(sh);
    unlink(env);
    unlink(bad);
    rmdir(dir);
}

/* A name without a slash is found in PATH, as execvp finds it. */
static void test_preload_resolve_follows_path(void)
{
    char path[1024];
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", "/nonexistent:" LH_PRELOAD_BIN, 1);
    CU_ASSERT_EQUAL(lh_preload_resolve("lh_preload_plain", path, sizeof path),
                    0);
    CU_ASSERT_STRING_EQUAL(path, LH_PRELOAD_BIN "/lh_preload_plain");
    CU_ASSERT_EQUAL(lh_preload_resolve("no-such-program-here", path,
                                       sizeof path), LH_ENOTFOUND);
    lh_preload_check c;
    CU_ASSERT_EQUAL(lh_preload_check_program("lh_preload_asan", NULL, ours(),
                                             &c), 0);
    CU_ASSERT_EQUAL(c.kind, LH_PRELOAD_SANITIZER);
    CU_ASSERT_EQUAL(lh_preload_check_program("no-such-program-here", NULL,
                                             ours(), &c), 0);
    CU_ASSERT_EQUAL(c.kind, LH_PRELOAD_UNKNOWN);
    if (old) {
        setenv("PATH", old, 1);
        free(old);
    }
}

/* valgrind's refusal: a sanitizer build only, with the fix. */
static void test_preload_valgrind_refuses_sanitizer_builds(void)
{
    char why[1024] = "";
    CU_ASSERT_EQUAL(lh_preload_valgrind_refuses(LH_PRELOAD_BIN
                                                "/lh_preload_asan",
                                                why, sizeof why), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "AddressSanitizer"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "fix:"));
    CU_ASSERT_EQUAL(lh_preload_valgrind_refuses(LH_PRELOAD_BIN
                                                "/lh_preload_plain",
                                                why, sizeof why), 0);
    CU_ASSERT_EQUAL(lh_preload_valgrind_refuses(LH_PRELOAD_BIN
                                                "/lh_preload_static",
                                                why, sizeof why), 0);
}

static CU_TestInfo tests[] = {
    {"plain program ok", test_preload_plain_program_is_ok},
    {"ASan program names its runtime",
     test_preload_asan_program_names_its_runtime},
    {"linked-in sanitizer: no runtime file",
     test_preload_linked_in_sanitizer_has_no_runtime_file},
    {"own malloc: allocator", test_preload_own_malloc_is_an_allocator},
    {"static program", test_preload_static_program},
    {"LD_PRELOAD entries", test_preload_ld_preload_entries},
    {"script judged by interpreter",
     test_preload_script_is_judged_by_interpreter},
    {"resolve follows PATH", test_preload_resolve_follows_path},
    {"valgrind refuses sanitizer builds",
     test_preload_valgrind_refuses_sanitizer_builds},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("preload", tests)
