/*
 * test_doctor.c - the doctor's parsing helpers and ptrace policy, and its
 * checks against the real tools of this machine (valgrind, vgdb,
 * gperftools, libelf): no mocks.  The story's broken valgrind is made real
 * with VALGRIND_LIB=/nonexistent, which reproduces its exact message.
 */
#include "cu_main.h"

#include "alloc.h"
#include "doctor.h"
#include "error.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef LH_TCMALLOC_SO
#define LH_TCMALLOC_SO "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4"
#endif

static const char story[] =
    "valgrind: failed to start tool 'memcheck' for platform 'amd64-linux': "
    "No such file or directory\n";

static void test_doctor_parse_version_reads_valgrind_dash_version(void)
{
    char ver[32];

    CU_ASSERT_EQUAL(
        lh_doctor_parse_version("valgrind-3.19.0\n", ver, sizeof ver), 0);
    CU_ASSERT_STRING_EQUAL(ver, "3.19.0");
    CU_ASSERT_EQUAL(
        lh_doctor_parse_version("valgrind-3.22.0.GIT\n", ver, sizeof ver), 0);
    CU_ASSERT_STRING_EQUAL(ver, "3.22.0.GIT");
    CU_ASSERT_EQUAL(lh_doctor_parse_version(story, ver, sizeof ver),
                    LH_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(ver, "");
    CU_ASSERT_EQUAL(lh_doctor_parse_version("valgrind-\n", ver, sizeof ver),
                    LH_ENOTFOUND);
}

static void test_doctor_parse_version_truncates_to_buffer(void)
{
    char ver[4];

    CU_ASSERT_EQUAL(lh_doctor_parse_version("valgrind-3.19.0", ver, sizeof ver),
                    0);
    CU_ASSERT_STRING_EQUAL(ver, "3.1");
}

static void test_doctor_parse_start_failure_reads_tool_and_platform(void)
{
    char tool[16], platform[32];
    char text[256];

    CU_ASSERT_EQUAL(lh_doctor_parse_start_failure(story, tool, sizeof tool,
                                                  platform, sizeof platform),
                    0);
    CU_ASSERT_STRING_EQUAL(tool, "memcheck");
    CU_ASSERT_STRING_EQUAL(platform, "amd64-linux");
    snprintf(text, sizeof text, "==1== some line\n%s", story);
    CU_ASSERT_EQUAL(lh_doctor_parse_start_failure(text, tool, sizeof tool,
                                                  platform, sizeof platform),
                    0);
    CU_ASSERT_STRING_EQUAL(platform, "amd64-linux");
}

static void test_doctor_parse_start_failure_rejects_partial_message(void)
{
    char tool[16], platform[32];

    CU_ASSERT_EQUAL(lh_doctor_parse_start_failure(
                        "valgrind: failed to start tool 'memcheck' for pla",
                        tool, sizeof tool, platform, sizeof platform),
                    LH_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(tool, "");
    CU_ASSERT_STRING_EQUAL(platform, "");
    CU_ASSERT_EQUAL(lh_doctor_parse_start_failure(
                        "failed to start tool 'mem\ncheck' for platform 'x'",
                        tool, sizeof tool, platform, sizeof platform),
                    LH_ENOTFOUND);
    CU_ASSERT_EQUAL(lh_doctor_parse_start_failure("all is well", tool,
                                                  sizeof tool, platform,
                                                  sizeof platform),
                    LH_ENOTFOUND);
}

static void test_doctor_parse_start_failure_refuses_to_truncate(void)
{
    char tool[4], platform[32];

    CU_ASSERT_EQUAL(lh_doctor_parse_start_failure(story, tool, sizeof tool,
                                                  platform, sizeof platform),
                    LH_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(tool, "");
}

static void test_doctor_cap_effective_reads_capeff_bit(void)
{
    const char *root = "Name:\tx\nCapInh:\t0000000000000000\n"
                       "CapPrm:\t000001ffffffffff\n"
                       "CapEff:\t000001fffeffffff\n";
    const char *none = "CapEff:\t0000000000000000\n";
    const char *only = "CapEff:\t0000000000080000\n"; /* bit 19 alone */

    CU_ASSERT_EQUAL(lh_doctor_cap_effective(root, 19), 1);
    CU_ASSERT_EQUAL(lh_doctor_cap_effective(root, 24), 0);
    CU_ASSERT_EQUAL(lh_doctor_cap_effective(none, 19), 0);
    CU_ASSERT_EQUAL(lh_doctor_cap_effective(only, 19), 1);
    CU_ASSERT_EQUAL(lh_doctor_cap_effective(only, 18), 0);
    CU_ASSERT_EQUAL(lh_doctor_cap_effective("Name:\tx\n", 19), LH_EPARSE);
    CU_ASSERT_EQUAL(lh_doctor_cap_effective("CapEff:\tzz\n", 19), LH_EPARSE);
}

static void test_doctor_ptrace_policy_allows_scope_0_and_no_yama(void)
{
    lh_doctor_check c;

    lh_doctor_ptrace_policy(-1, 0, &c);
    CU_ASSERT_TRUE(c.ok);
    CU_ASSERT_STRING_EQUAL(c.fix, "");
    lh_doctor_ptrace_policy(0, 0, &c);
    CU_ASSERT_TRUE(c.ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "ptrace_scope is 0"));
}

static void test_doctor_ptrace_policy_explains_scope_1_non_ancestor(void)
{
    lh_doctor_check c;

    lh_doctor_ptrace_policy(1, 0, &c);
    CU_ASSERT_FALSE(c.ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "ancestor"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.fix, "kernel.yama.ptrace_scope=0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.fix, "CAP_SYS_PTRACE"));
    lh_doctor_ptrace_policy(1, 1, &c);
    CU_ASSERT_TRUE(c.ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "CAP_SYS_PTRACE"));
}

static void test_doctor_ptrace_policy_scope_2_needs_cap_and_3_is_final(void)
{
    lh_doctor_check c;

    lh_doctor_ptrace_policy(2, 0, &c);
    CU_ASSERT_FALSE(c.ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "only CAP_SYS_PTRACE"));
    lh_doctor_ptrace_policy(2, 1, &c);
    CU_ASSERT_TRUE(c.ok);
    lh_doctor_ptrace_policy(3, 1, &c);
    CU_ASSERT_FALSE(c.ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.fix, "boot"));
}

/* A fresh directory for files a test makes; removed by rm_tmp. */
static void mk_tmp(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/test_doctor.XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
}

static void write_file(const char *path, const char *text, int mode)
{
    FILE *f = fopen(path, "w");

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    chmod(path, (mode_t)mode);
}

static void test_doctor_debuginfo_accepts_program_built_with_g(void)
{
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    lh_doctor_check c;

    CU_ASSERT_FATAL(len > 0);
    self[len] = '\0';
    CU_ASSERT_EQUAL(lh_doctor_debuginfo(self, &c), 0);
    CU_ASSERT_TRUE(c.ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, ".debug_info"));
}

static void test_doctor_debuginfo_rejects_missing_and_non_elf_files(void)
{
    char dir[64], path[128];
    lh_doctor_check c;

    CU_ASSERT_EQUAL(lh_doctor_debuginfo("/nonexistent/prog", &c), LH_ETOOL);
    CU_ASSERT_FALSE(c.ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "not found"));
    mk_tmp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/notelf", dir);
    write_file(path, "just some text, long enough\n", 0755);
    CU_ASSERT_EQUAL(lh_doctor_debuginfo(path, &c), LH_ETOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "not an ELF file"));
    CU_ASSERT_NOT_EQUAL(c.fix[0], '\0');
    unlink(path);
    rmdir(dir);
}

static void test_doctor_debuginfo_passes_scripts_unchecked(void)
{
    char dir[64], path[128];
    lh_doctor_check c;

    mk_tmp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/run.sh", dir);
    write_file(path, "#!/bin/sh\nexec true\n", 0755);
    CU_ASSERT_EQUAL(lh_doctor_debuginfo(path, &c), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "script, not checked"));
    unlink(path);
    rmdir(dir);
}

static void test_doctor_tcmalloc_reports_missing_library(void)
{
    lh_doctor_check c;

    CU_ASSERT_EQUAL(lh_doctor_tcmalloc("/nonexistent/libtcmalloc.so.4", &c),
                    LH_ETOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "not found"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.fix, "apt-get install"));
    CU_ASSERT_EQUAL(lh_doctor_tcmalloc(NULL, &c), LH_ETOOL);
    CU_ASSERT_EQUAL(lh_doctor_heapprofile("/nonexistent/x.so", &c), LH_ETOOL);
}

static void test_doctor_tcmalloc_reports_file_the_loader_refuses(void)
{
    char dir[64], path[128];
    lh_doctor_check c;

    mk_tmp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/libbogus.so", dir);
    write_file(path, "not a shared object\n", 0644);
    CU_ASSERT_EQUAL(lh_doctor_tcmalloc(path, &c), LH_ETOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "does not preload"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "cannot be preloaded"));
    unlink(path);
    rmdir(dir);
}

static void test_doctor_valgrind_starts_memcheck_here(void)
{
    lh_doctor_check c;

    CU_ASSERT_EQUAL(lh_doctor_valgrind(&c), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "starts memcheck"));
    CU_ASSERT_STRING_EQUAL(c.fix, "");
}

static void test_doctor_valgrind_names_fix_for_story_failure(void)
{
    lh_doctor_check c;
    char *old = getenv("VALGRIND_LIB");
    char *saved = old ? lh_strdup(old) : NULL;

    setenv("VALGRIND_LIB", "/nonexistent", 1);
    CU_ASSERT_EQUAL(lh_doctor_valgrind(&c), LH_ETOOL);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(c.text, "failed to start tool 'memcheck' for platform"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.fix, "VALGRIND_LIB"));
    /* the fix names the directory that really holds the tool */
    CU_ASSERT_PTR_NOT_NULL(strstr(c.fix, "VALGRIND_LIB=/"));
    if (saved)
        setenv("VALGRIND_LIB", saved, 1);
    else
        unsetenv("VALGRIND_LIB");
    lh_free(saved);
}

static void test_doctor_valgrind_missing_from_path_says_apt_get(void)
{
    lh_doctor_check c;
    char *saved = lh_strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");

    CU_ASSERT_PTR_NOT_NULL_FATAL(saved);
    setenv("PATH", "/nonexistent", 1);
    CU_ASSERT_EQUAL(lh_doctor_valgrind(&c), LH_ETOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "not found on PATH"));
    CU_ASSERT_STRING_EQUAL(c.fix, "apt-get install valgrind");
    CU_ASSERT_EQUAL(lh_doctor_vgdb(&c), LH_ETOOL);
    CU_ASSERT_EQUAL(lh_doctor_pprof(&c), LH_ETOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.fix, "google-perftools"));
    setenv("PATH", saved, 1);
    lh_free(saved);
}

static void test_doctor_tools_of_this_machine_pass(void)
{
    lh_doctor_check c;

    CU_ASSERT_EQUAL(lh_doctor_vgdb(&c), 0);
    CU_ASSERT_EQUAL(lh_doctor_pprof(&c), 0);
    CU_ASSERT_EQUAL(lh_doctor_ptrace(1, &c), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "vgdb reached"));
    CU_ASSERT_EQUAL(lh_doctor_tcmalloc(LH_TCMALLOC_SO, &c), 0);
    CU_ASSERT_EQUAL(lh_doctor_heapprofile(LH_TCMALLOC_SO, &c), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "dumps a profile"));
}

static void test_doctor_check_without_memory_fails_with_a_message(void)
{
    lh_doctor_check c;

    lh_alloc_fail_after(0, 1);
    CU_ASSERT_EQUAL(lh_doctor_pprof(&c), LH_ETOOL);
    lh_alloc_fail_after(-1, 0);
    CU_ASSERT_FALSE(c.ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "out of memory"));
    lh_alloc_fail_after(0, 1);
    CU_ASSERT_EQUAL(lh_doctor_ptrace(1, &c), LH_ETOOL);
    lh_alloc_fail_after(-1, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "out of memory"));
}

static CU_TestInfo tests[] = {
    {"parse_version_reads_valgrind_dash_version",
     test_doctor_parse_version_reads_valgrind_dash_version},
    {"parse_version_truncates_to_buffer",
     test_doctor_parse_version_truncates_to_buffer},
    {"parse_start_failure_reads_tool_and_platform",
     test_doctor_parse_start_failure_reads_tool_and_platform},
    {"parse_start_failure_rejects_partial_message",
     test_doctor_parse_start_failure_rejects_partial_message},
    {"parse_start_failure_refuses_to_truncate",
     test_doctor_parse_start_failure_refuses_to_truncate},
    {"cap_effective_reads_capeff_bit",
     test_doctor_cap_effective_reads_capeff_bit},
    {"ptrace_policy_allows_scope_0_and_no_yama",
     test_doctor_ptrace_policy_allows_scope_0_and_no_yama},
    {"ptrace_policy_explains_scope_1_non_ancestor",
     test_doctor_ptrace_policy_explains_scope_1_non_ancestor},
    {"ptrace_policy_scope_2_needs_cap_and_3_is_final",
     test_doctor_ptrace_policy_scope_2_needs_cap_and_3_is_final},
    {"debuginfo_accepts_program_built_with_g",
     test_doctor_debuginfo_accepts_program_built_with_g},
    {"debuginfo_rejects_missing_and_non_elf_files",
     test_doctor_debuginfo_rejects_missing_and_non_elf_files},
    {"debuginfo_passes_scripts_unchecked",
     test_doctor_debuginfo_passes_scripts_unchecked},
    {"tcmalloc_reports_missing_library",
     test_doctor_tcmalloc_reports_missing_library},
    {"tcmalloc_reports_file_the_loader_refuses",
     test_doctor_tcmalloc_reports_file_the_loader_refuses},
    {"valgrind_starts_memcheck_here",
     test_doctor_valgrind_starts_memcheck_here},
    {"valgrind_names_fix_for_story_failure",
     test_doctor_valgrind_names_fix_for_story_failure},
    {"valgrind_missing_from_path_says_apt_get",
     test_doctor_valgrind_missing_from_path_says_apt_get},
    {"tools_of_this_machine_pass", test_doctor_tools_of_this_machine_pass},
    {"check_without_memory_fails_with_a_message",
     test_doctor_check_without_memory_fails_with_a_message},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("doctor", tests)
