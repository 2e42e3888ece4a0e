/*
 * test_switchcmd.c - the switch command of a watch-mode hunt
 * (switchcmd.c): {stages} replaced by the list shell-quoted (none: ''),
 * run through sh -c with its output in the log, a non-zero exit and a
 * command that does not finish each an error that quotes the command
 * line, the status and the log's last lines.
 */
#include "cu_main.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "switchcmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char why[2048];
static char dir[64], logp[128], out[128];

static void setup_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/lh-test-switchcmd.XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(logp, sizeof logp, "%s/switch.log", dir);
    snprintf(out, sizeof out, "%s/out", dir);
}

static void teardown_dir(void)
{
    unlink(logp);
    unlink(out);
    rmdir(dir);
}

/* The first line of `out` (the command's work). */
static const char *read_out(void)
{
    static char line[256];
    line[0] = '\0';
    FILE *f = fopen(out, "r");
    if (f) {
        if (fgets(line, sizeof line, f) == NULL)
            line[0] = '\0';
        fclose(f);
    }
    line[strcspn(line, "\n")] = '\0';
    return line;
}

static void test_switchcmd_quotes_the_list(void)
{
    char *line = lh_switchcmd_line("set {stages} && x={stages}", "a,b");
    CU_ASSERT_STRING_EQUAL(line, "set 'a,b' && x='a,b'");
    lh_free(line);
    line = lh_switchcmd_line("curl -d {stages} url", "");
    CU_ASSERT_STRING_EQUAL(line, "curl -d '' url");
    lh_free(line);
    line = lh_switchcmd_line("echo {stages}", "it's");
    CU_ASSERT_STRING_EQUAL(line, "echo 'it'\\''s'");
    lh_free(line);
    line = lh_switchcmd_line("no placeholder", "a");
    CU_ASSERT_STRING_EQUAL(line, "no placeholder");
    lh_free(line);
}

static void test_switchcmd_runs_through_the_shell(void)
{
    setup_dir();
    char cmd[512];
    /* a control file written as the protocol asks: tmp, then rename */
    snprintf(cmd, sizeof cmd, "printf '%%s\\n' {stages} >%s.tmp && "
             "mv %s.tmp %s", out, out, out);
    CU_ASSERT_EQUAL(lh_switchcmd_run(cmd, "a,b", logp, 5, why, sizeof why),
                    0);
    CU_ASSERT_STRING_EQUAL(read_out(), "a,b");
    CU_ASSERT_EQUAL(lh_switchcmd_run(cmd, "", logp, 5, why, sizeof why), 0);
    CU_ASSERT_STRING_EQUAL(read_out(), "");
    /* LEAKHUNT_STAGES holds the list too */
    snprintf(cmd, sizeof cmd, "echo \"$LEAKHUNT_STAGES\" >%s # {stages}",
             out);
    CU_ASSERT_EQUAL(lh_switchcmd_run(cmd, "c", logp, 5, why, sizeof why), 0);
    CU_ASSERT_STRING_EQUAL(read_out(), "c");
    teardown_dir();
}

static void test_switchcmd_reports_a_failing_command(void)
{
    setup_dir();
    int rc = lh_switchcmd_run("echo no route to host >&2; exit 7 # {stages}",
                              "a", logp, 5, why, sizeof why);
    CU_ASSERT_EQUAL(rc, LH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "`echo no route to host >&2; exit 7 "
                                       "# 'a'` failed: exit status 7"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "its last lines:\nno route to host"));
    CU_ASSERT_EQUAL(why[strlen(why) - 1], 't'); /* no newline at the end */
    teardown_dir();
}

static void test_switchcmd_stops_a_command_that_hangs(void)
{
    setup_dir();
    int64_t t0 = lh_now_us();
    int rc = lh_switchcmd_run("sleep 30 # {stages}", "", logp, 0.5, why,
                              sizeof why);
    double took = (double)(lh_now_us() - t0) / 1e6;
    CU_ASSERT_EQUAL(rc, LH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "did not finish in 0.5 s (stopped)"));
    CU_ASSERT(took < 3);
    teardown_dir();
}

static CU_TestInfo tests[] = {
    {"quotes the list", test_switchcmd_quotes_the_list},
    {"runs through the shell", test_switchcmd_runs_through_the_shell},
    {"reports a failing command", test_switchcmd_reports_a_failing_command},
    {"stops a command that hangs",
     test_switchcmd_stops_a_command_that_hangs},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("switchcmd", tests)
