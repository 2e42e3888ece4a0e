/*
 * test_control.c - the live-switching control file (stages/control.h):
 * looks only when due, reads only a changed file, takes a valid list,
 * refuses a bad one once with a message, starts from the file.
 */
#include "cu_main.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "error.h"
#include "registry.h"

#define F LH_STAGE_BIT(LH_STAGE_FORWARD)
#define H LH_STAGE_BIT(LH_STAGE_HASH)
#define V LH_STAGE_BIT(LH_STAGE_VERIFY)
#define R LH_STAGE_BIT(LH_STAGE_RPC)

static char dir[256], path[300], tmp[300], errpath[300];

/* A scratch directory and LEAKHUNT_CONTROL pointing into it. */
static void set_up(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/lh-test-control-XXXXXX",
             base && base[0] ? base : "/tmp");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ctl", dir);
    snprintf(tmp, sizeof tmp, "%s/ctl.tmp", dir);
    snprintf(errpath, sizeof errpath, "%s/stderr", dir);
    CU_ASSERT_EQUAL(setenv("LEAKHUNT_CONTROL", path, 1), 0);
}

static void tear_down(void)
{
    unlink(path);
    unlink(tmp);
    unlink(errpath);
    rmdir(dir);
    unsetenv("LEAKHUNT_CONTROL");
}

/* Writes text as the control file the way leak-hunt does: a temporary
 * file renamed over the path. */
static void write_ctl(const char *text, size_t len)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, text, len), (ssize_t)len);
    close(fd);
    CU_ASSERT_EQUAL(rename(tmp, path), 0);
}

static void write_list(const char *text)
{
    write_ctl(text, strlen(text));
}

static int saved_stderr = -1;

/* stderr goes to errpath until capture_end, which reads it into said. */
static void capture_begin(void)
{
    fflush(stderr);
    saved_stderr = dup(2);
    int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CU_ASSERT_FATAL(saved_stderr >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
}

static void capture_end(char *said, size_t cap)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    FILE *f = fopen(errpath, "r");
    size_t n = f ? fread(said, 1, cap - 1, f) : 0;
    said[n] = '\0';
    if (f)
        fclose(f);
}

/* lh_control_poll (forced), what it said in said[0..cap). */
static int poll_said(lh_control *c, unsigned keeping, unsigned *mask,
                     char *said, size_t cap)
{
    capture_begin();
    int rc = lh_control_poll(c, 0, 1, keeping, mask);
    capture_end(said, cap);
    return rc;
}

static void test_control_is_off_without_leakhunt_control(void)
{
    lh_control c;
    unsigned mask = 77;
    unsetenv("LEAKHUNT_CONTROL");
    lh_control_init(&c, "b0");
    CU_ASSERT(!lh_control_on(&c));
    CU_ASSERT_EQUAL(lh_control_poll(&c, 0, 1, F, &mask), 0);
    CU_ASSERT_EQUAL(lh_control_wait_ms(&c, 0), -1);
    CU_ASSERT_EQUAL(lh_control_start(&c, &mask), 0);
    CU_ASSERT_EQUAL(mask, 77);
    CU_ASSERT_EQUAL(setenv("LEAKHUNT_CONTROL", "", 1), 0);
    lh_control_init(&c, "b0");
    CU_ASSERT(!lh_control_on(&c));
    unsetenv("LEAKHUNT_CONTROL");
}

static void test_control_reads_a_changed_file_only_when_due(void)
{
    lh_control c;
    unsigned mask = 0;
    set_up();
    lh_control_init(&c, "b0");
    CU_ASSERT(lh_control_on(&c));
    /* No file yet: nothing new. */
    CU_ASSERT_EQUAL(lh_control_poll(&c, 1000, 0, F, &mask), 0);
    CU_ASSERT_EQUAL(lh_control_wait_ms(&c, 1000), LH_CONTROL_PERIOD_US / 1000);
    write_list("forward,hash\n");
    /* Not due yet: not looked at. */
    CU_ASSERT_EQUAL(lh_control_poll(&c, 1000 + LH_CONTROL_PERIOD_US - 1, 0, F,
                                    &mask), 0);
    CU_ASSERT_EQUAL(lh_control_poll(&c, 1000 + LH_CONTROL_PERIOD_US, 0, F,
                                    &mask), 1);
    CU_ASSERT_EQUAL(mask, F | H);
    /* The same file again: nothing new, however often it is looked at. */
    mask = 0;
    CU_ASSERT_EQUAL(lh_control_poll(&c, 0, 1, F | H, &mask), 0);
    CU_ASSERT_EQUAL(lh_control_poll(&c, 0, 1, F | H, &mask), 0);
    CU_ASSERT_EQUAL(mask, 0);
    /* A new file (rename), in any order, no final newline. */
    write_list("rpc,verify,forward");
    CU_ASSERT_EQUAL(lh_control_poll(&c, 0, 1, F | H, &mask), 1);
    CU_ASSERT_EQUAL(mask, F | V | R);
    /* An empty line, or an empty file: no stage. */
    write_list("\n");
    CU_ASSERT_EQUAL(lh_control_poll(&c, 0, 1, F, &mask), 1);
    CU_ASSERT_EQUAL(mask, 0);
    mask = 5;
    write_list("");
    CU_ASSERT_EQUAL(lh_control_poll(&c, 0, 1, F, &mask), 1);
    CU_ASSERT_EQUAL(mask, 0);
    /* Gone, then back with the same list: read again. */
    unlink(path);
    CU_ASSERT_EQUAL(lh_control_poll(&c, 0, 1, 0, &mask), 0);
    write_list("");
    mask = 5;
    CU_ASSERT_EQUAL(lh_control_poll(&c, 0, 1, 0, &mask), 1);
    CU_ASSERT_EQUAL(mask, 0);
    tear_down();
}

static void test_control_refuses_a_bad_list_once_with_a_message(void)
{
    static const struct {
        const char *text;
        const char *why;
    } cases[] = {
        {"forward,bogus\n",
         "unknown stage 'bogus' (stages: forward,hash,enqueue,verify,rpc)"},
        {"forward,rpc\n", "stage 'rpc' requires 'forward,verify'"},
        {"hash", "stage 'hash' requires 'forward'"},
        {"forward\nhash\n", "not one line"},
    };
    lh_control c;
    unsigned mask = 99;
    char said[1024], want[512];
    set_up();
    lh_control_init(&c, "b1");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_list(cases[i].text);
        CU_ASSERT_EQUAL(poll_said(&c, F | H, &mask, said, sizeof said),
                        LH_EINVAL);
        snprintf(want, sizeof want, "selfheal b1: refusing stage list '%.*s' "
                 "from %s: %s; keeping 'forward,hash'\n",
                 (int)strcspn(cases[i].text, "\n"), cases[i].text, path,
                 cases[i].why);
        CU_ASSERT_STRING_EQUAL(said, want);
        /* Said once: the same file is not refused again. */
        CU_ASSERT_EQUAL(poll_said(&c, F | H, &mask, said, sizeof said), 0);
        CU_ASSERT_STRING_EQUAL(said, "");
    }
    CU_ASSERT_EQUAL(mask, 99); /* untouched */
    /* Longer than the limit. */
    char big[LH_CONTROL_MAX + 8];
    memset(big, 'f', sizeof big);
    write_ctl(big, sizeof big);
    CU_ASSERT_EQUAL(poll_said(&c, 0, &mask, said, sizeof said), LH_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(said, "longer than 1024 bytes; keeping no "
                                        "stage\n"));
    /* A role's own refusal, of the list last read. */
    write_list("forward,verify,rpc\n");
    CU_ASSERT_EQUAL(lh_control_poll(&c, 0, 1, F, &mask), 1);
    capture_begin();
    lh_control_refuse(&c, "stage rpc needs --store", F);
    capture_end(said, sizeof said);
    snprintf(want, sizeof want, "selfheal b1: refusing stage list "
             "'forward,verify,rpc' from %s: stage rpc needs --store; "
             "keeping 'forward'\n", path);
    CU_ASSERT_STRING_EQUAL(said, want);
    tear_down();
}

static void test_control_start_takes_the_file_when_valid(void)
{
    lh_control c;
    unsigned mask = F | H;
    char said[512];
    set_up();
    lh_control_init(&c, "a");
    CU_ASSERT_EQUAL(lh_control_start(&c, &mask), 0); /* no file */
    CU_ASSERT_EQUAL(mask, F | H);
    write_list("forward,verify\n");
    lh_control_init(&c, "a");
    CU_ASSERT_EQUAL(lh_control_start(&c, &mask), 1);
    CU_ASSERT_EQUAL(mask, F | V);
    /* Read at start: not new at the first look. */
    CU_ASSERT_EQUAL(lh_control_poll(&c, 0, 1, mask, &mask), 0);
    write_list("verify\n");
    lh_control_init(&c, "a");
    capture_begin();
    CU_ASSERT_EQUAL(lh_control_start(&c, &mask), 0);
    capture_end(said, sizeof said);
    CU_ASSERT_EQUAL(mask, F | V); /* kept */
    CU_ASSERT_PTR_NOT_NULL(strstr(said, "selfheal a: refusing stage list "
                                        "'verify'"));
    tear_down();
}

static void test_control_format_writes_a_dash_for_none(void)
{
    char buf[64];
    lh_control_format(0, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "-");
    lh_control_format(F | H | V, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "forward,hash,verify");
}

static CU_TestInfo tests[] = {
    {"is off without LEAKHUNT_CONTROL",
     test_control_is_off_without_leakhunt_control},
    {"reads a changed file only when due",
     test_control_reads_a_changed_file_only_when_due},
    {"refuses a bad list once with a message",
     test_control_refuses_a_bad_list_once_with_a_message},
    {"start takes the file when valid",
     test_control_start_takes_the_file_when_valid},
    {"format writes a dash for none",
     test_control_format_writes_a_dash_for_none},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("control", tests)
