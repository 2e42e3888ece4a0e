/*
 * test_stats.c - stats lines: format/parse round trip, the strict parser's
 * refusals, and the O_APPEND writer (one file shared by forked writers).
 */
#include "alloc.h"
#include "cu_main.h"
#include "error.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A per-process scratch path: $TMPDIR/lh-test-stats-<pid>-<name>. */
static void tmp_path(char *buf, size_t cap, const char *name)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, cap, "%s/lh-test-stats-%ld-%s",
             base && base[0] ? base : "/tmp", (long)getpid(), name);
}

/* Reads a whole file into a NUL-terminated lh_malloc'd buffer. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = lh_malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *bigger = lh_realloc(buf, cap * 2);
        if (bigger == NULL) {
            lh_free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* The file at path holds exactly `want`; then it is removed. */
static void expect_file(const char *path, const char *want)
{
    size_t len = 0;
    char *text = slurp(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_STRING_EQUAL(text, want);
    lh_free(text);
    unlink(path);
}

static int lines_equal(const lh_stats_line *a, const lh_stats_line *b)
{
    if (a->has != b->has || a->work != b->work)
        return 0;
    if ((a->has & LH_STATS_HAS_QUEUE) && a->queue != b->queue)
        return 0;
    if ((a->has & LH_STATS_HAS_HEAP) && a->heap != b->heap)
        return 0;
    if ((a->has & LH_STATS_HAS_PID) && a->pid != b->pid)
        return 0;
    if ((a->has & LH_STATS_HAS_ROLE) && strcmp(a->role, b->role) != 0)
        return 0;
    if ((a->has & LH_STATS_HAS_STAGES) && strcmp(a->stages, b->stages) != 0)
        return 0;
    return 1;
}

static void test_stats_format_writes_documented_line(void)
{
    lh_stats_line line = {.work = 5,
                          .queue = 3,
                          .heap = 100,
                          .pid = 42,
                          .role = "b-1.x_Y",
                          .has = LH_STATS_HAS_QUEUE | LH_STATS_HAS_HEAP |
                                 LH_STATS_HAS_PID | LH_STATS_HAS_ROLE};
    char buf[LH_STATS_LINE_MAX];
    const char *want = "work=5 queue=3 heap=100 pid=42 role=b-1.x_Y\n";
    CU_ASSERT_EQUAL(lh_stats_format(&line, buf, sizeof buf), (int)strlen(want));
    CU_ASSERT_STRING_EQUAL(buf, want);
    lh_stats_line bare = {.work = 0};
    CU_ASSERT_EQUAL(lh_stats_format(&bare, buf, sizeof buf), 7);
    CU_ASSERT_STRING_EQUAL(buf, "work=0\n");
    lh_stats_line live = {.work = 9, .pid = 7, .role = "b0",
                          .stages = "forward,hash",
                          .has = LH_STATS_HAS_PID | LH_STATS_HAS_ROLE |
                                 LH_STATS_HAS_STAGES};
    want = "work=9 pid=7 role=b0 stages=forward,hash\n";
    CU_ASSERT_EQUAL(lh_stats_format(&live, buf, sizeof buf), (int)strlen(want));
    CU_ASSERT_STRING_EQUAL(buf, want);
    lh_stats_line none = {.work = 1, .stages = "-",
                          .has = LH_STATS_HAS_STAGES};
    CU_ASSERT_EQUAL(lh_stats_format(&none, buf, sizeof buf), 16);
    CU_ASSERT_STRING_EQUAL(buf, "work=1 stages=-\n");
}

static void test_stats_round_trip_of_all_fields(void)
{
    const uint64_t values[] = {0, 1, 9, 10, 4096, 1234567890123ull,
                               (uint64_t)INT64_MAX - 1, (uint64_t)INT64_MAX};
    const size_t nv = sizeof values / sizeof values[0];
    const char *roles[] = {"a", "b0", "store", "A.b_c-9", "x23456789012345678901234567890y"};
    const char *stages[] = {"-", "forward", "rpc,verify,forward", "a.b-c_9,-x,x-",
                            "x23456789012345678901234567890y,z"};
    char buf[LH_STATS_LINE_MAX + 1];
    unsigned long checked = 0, bad = 0;
    /* Every combination of optional fields, with values at the edges. */
    for (unsigned has = 0; has < 32; has++) {
        for (size_t i = 0; i < nv; i++) {
            lh_stats_line in = {.work = values[i],
                                .queue = values[(i + 1) % nv],
                                .heap = values[(i + 2) % nv],
                                .pid = (int64_t)values[(i + 3) % nv],
                                .has = has};
            snprintf(in.role, sizeof in.role, "%s", roles[i % 5]);
            snprintf(in.stages, sizeof in.stages, "%s", stages[i % 5]);
            int n = lh_stats_format(&in, buf, sizeof buf);
            lh_stats_line out;
            memset(&out, 0xa5, sizeof out);
            if (n <= 0 || lh_stats_parse(buf, (size_t)n, &out) != 0 ||
                !lines_equal(&in, &out))
                bad++;
            checked++;
        }
    }
    CU_ASSERT_EQUAL(checked, 32 * nv);
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_stats_parse_accepts_any_order_after_work_and_no_newline(void)
{
    lh_stats_line out;
    const char *text = "work=7 role=b1 pid=99 heap=3 queue=0";
    CU_ASSERT_EQUAL_FATAL(lh_stats_parse(text, strlen(text), &out), 0);
    CU_ASSERT_EQUAL(out.work, 7);
    CU_ASSERT_EQUAL(out.queue, 0);
    CU_ASSERT_EQUAL(out.heap, 3);
    CU_ASSERT_EQUAL(out.pid, 99);
    CU_ASSERT_STRING_EQUAL(out.role, "b1");
    CU_ASSERT_EQUAL(out.has, LH_STATS_HAS_QUEUE | LH_STATS_HAS_HEAP |
                                 LH_STATS_HAS_PID | LH_STATS_HAS_ROLE);
    CU_ASSERT_EQUAL(lh_stats_parse("work=9\n", 7, &out), 0);
    CU_ASSERT_EQUAL(out.work, 9);
    CU_ASSERT_EQUAL(out.has, 0);
    /* Only len bytes are read: what follows is not part of the line. */
    CU_ASSERT_EQUAL(lh_stats_parse("work=12 garbage", 7, &out), 0);
    CU_ASSERT_EQUAL(out.work, 12);
    CU_ASSERT_EQUAL(lh_stats_parse("work=9223372036854775807", 24, &out), 0);
    CU_ASSERT_EQUAL(out.work, (uint64_t)INT64_MAX);
    /* stages= anywhere after work, as written (order kept). */
    text = "work=3 stages=verify,forward pid=4\n";
    CU_ASSERT_EQUAL_FATAL(lh_stats_parse(text, strlen(text), &out), 0);
    CU_ASSERT_STRING_EQUAL(out.stages, "verify,forward");
    CU_ASSERT_EQUAL(out.has, LH_STATS_HAS_STAGES | LH_STATS_HAS_PID);
    text = "work=3 stages=-";
    CU_ASSERT_EQUAL_FATAL(lh_stats_parse(text, strlen(text), &out), 0);
    CU_ASSERT_STRING_EQUAL(out.stages, "-");
}

/* A line of exactly `len` bytes with its '\n': "work=1 stages=" and
 * distinct names, the last one padded to the length. */
static void long_line(char *buf, size_t len)
{
    size_t pos = (size_t)sprintf(buf, "work=1 stages=");
    for (unsigned k = 0; pos + 6 <= len - 1; k++)
        pos += (size_t)sprintf(buf + pos, "%ss%04u", k ? "," : "", k);
    while (pos < len - 1)
        buf[pos++] = 'x';
    buf[len - 1] = '\n';
    buf[len] = '\0';
}

static void test_stats_line_limit_is_1_kib_with_its_newline(void)
{
    char text[LH_STATS_LINE_MAX + 2];
    lh_stats_line out;
    long_line(text, LH_STATS_LINE_MAX);
    CU_ASSERT_EQUAL(strlen(text), LH_STATS_LINE_MAX);
    CU_ASSERT_EQUAL_FATAL(lh_stats_parse(text, strlen(text), &out), 0);
    /* The same without its '\n' is one byte shorter: still fine. */
    CU_ASSERT_EQUAL(lh_stats_parse(text, strlen(text) - 1, &out), 0);
    /* It formats back, exactly as long. */
    char buf[LH_STATS_LINE_MAX + 1];
    CU_ASSERT_EQUAL(lh_stats_format(&out, buf, sizeof buf), LH_STATS_LINE_MAX);
    CU_ASSERT_STRING_EQUAL(buf, text);
    long_line(text, LH_STATS_LINE_MAX + 1);
    CU_ASSERT_EQUAL(lh_stats_parse(text, strlen(text), &out), LH_EPARSE);
    CU_ASSERT_EQUAL(lh_stats_parse(text, strlen(text) - 1, &out), LH_EPARSE);
    /* A line over the limit is the protocol's refusal (LH_EINVAL), not
     * the buffer's, whatever the buffer. */
    lh_stats_line big = {.work = 12, .has = LH_STATS_HAS_STAGES};
    memcpy(big.stages, out.stages, sizeof big.stages);
    size_t slen = strlen(big.stages);
    big.stages[slen] = ',';
    big.stages[slen + 1] = 'z';
    big.stages[slen + 2] = '\0';
    char huge[2 * LH_STATS_LINE_MAX];
    CU_ASSERT_EQUAL(lh_stats_format(&big, huge, sizeof huge), LH_EINVAL);
    CU_ASSERT_EQUAL(lh_stats_format(&big, huge, 4), LH_EINVAL);
}

static void test_stats_stages_valid_and_compared_as_sets(void)
{
    static const char *const good[] = {
        "-", "a", "forward", "a,b", "b,a", "x-,-x,a.b,A_9",
        "x23456789012345678901234567890y", "--",
    };
    static const char *const bad[] = {
        "", ",", "a,", ",a", "a,,b", "-,a", "a,-", "a-,-", "a,a", "b,a,c,a",
        "a b", "a;b", "a\n", "x23456789012345678901234567890yz", "\xc3\xa9",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CU_ASSERT(lh_stats_stages_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (lh_stats_stages_valid(bad[i], strlen(bad[i]))) {
            fprintf(stderr, "\n    accepted stage list \"%s\"", bad[i]);
            CU_FAIL("bad stage list accepted");
        }
    CU_ASSERT(lh_stats_stages_same("-", "-"));
    CU_ASSERT(lh_stats_stages_same("a,b,c", "c,a,b"));
    CU_ASSERT(lh_stats_stages_same("forward", "forward"));
    CU_ASSERT(!lh_stats_stages_same("a,b", "a"));
    CU_ASSERT(!lh_stats_stages_same("a", "a,b"));
    CU_ASSERT(!lh_stats_stages_same("-", "a"));
    CU_ASSERT(!lh_stats_stages_same("a", "-"));
    CU_ASSERT(!lh_stats_stages_same("ab", "a,b"));
    CU_ASSERT(!lh_stats_stages_same("a,b", "a,c"));
}

static void test_stats_parse_rejects_malformed_lines(void)
{
    static const struct {
        const char *why;
        const char *text;
        size_t len; /* 0: strlen */
    } cases[] = {
        {"empty", "", 0},
        {"only newline", "\n", 0},
        {"missing work", "queue=1 heap=2", 0},
        {"work not first", "queue=1 work=2", 0},
        {"duplicate work", "work=1 work=2", 0},
        {"duplicate key", "work=1 heap=2 heap=3", 0},
        {"unknown key", "work=1 mem=4", 0},
        {"key case", "Work=1", 0},
        {"empty value", "work=", 0},
        {"empty optional value", "work=1 queue=", 0},
        {"no equals", "work", 0},
        {"no key", "=5", 0},
        {"minus sign", "work=-1", 0},
        {"plus sign", "work=+1", 0},
        {"negative pid", "work=1 pid=-5", 0},
        {"hex", "work=0x10", 0},
        {"letters after digits", "work=12ab", 0},
        {"decimal point", "work=1.5", 0},
        {"overflow 2^63", "work=9223372036854775808", 0},
        {"overflow 2^64", "work=18446744073709551616", 0},
        {"overflow in heap", "work=1 heap=99999999999999999999", 0},
        {"bad role char", "work=1 role=b/1", 0},
        {"role with space", "work=1 role=b 1", 0},
        {"role with equals", "work=1 role=a=b", 0},
        {"empty role", "work=1 role=", 0},
        {"role too long", "work=1 role=x234567890123456789012345678901y", 0},
        {"double space", "work=1  queue=2", 0},
        {"leading space", " work=1", 0},
        {"trailing space", "work=1 ", 0},
        {"trailing space before newline", "work=1 \n", 0},
        {"tab separator", "work=1\tqueue=2", 0},
        {"carriage return", "work=1\r\n", 0},
        {"trailing garbage after newline", "work=1\nx", 0},
        {"two lines", "work=1\nwork=2\n", 0},
        {"double newline", "work=1\n\n", 0},
        {"embedded NUL", "work=1\0 queue=2", 15},
        {"space in value", "work=1 2", 0},
        {"empty stages", "work=1 stages=", 0},
        {"stages with empty item", "work=1 stages=a,,b", 0},
        {"stages leading comma", "work=1 stages=,a", 0},
        {"stages trailing comma", "work=1 stages=a,", 0},
        {"stages none in a list", "work=1 stages=a,-", 0},
        {"stages duplicate name", "work=1 stages=a,b,a", 0},
        {"stages bad char", "work=1 stages=a/b", 0},
        {"stages with space", "work=1 stages=a, b", 0},
        {"stages name too long",
         "work=1 stages=x23456789012345678901234567890yz", 0},
        {"duplicate stages", "work=1 stages=a stages=a", 0},
        {"stages first", "stages=a work=1", 0},
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lh_stats_line out;
        memset(&out, 0x5a, sizeof out);
        lh_stats_line copy = out;
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
        int err = lh_stats_parse(cases[i].text, len, &out);
        if (err != LH_EPARSE) {
            fprintf(stderr, "\n    accepted malformed line (%s): \"%s\"",
                    cases[i].why, cases[i].text);
            failures++;
        } else if (memcmp(&out, &copy, sizeof out) != 0) {
            fprintf(stderr, "\n    output changed on error (%s)", cases[i].why);
            failures++;
        }
    }
    CU_ASSERT_EQUAL(failures, 0);
}

static void test_stats_format_refuses_what_parser_refuses(void)
{
    char buf[LH_STATS_LINE_MAX] = "untouched";
    lh_stats_line line = {.work = 1, .has = LH_STATS_HAS_ROLE};
    strcpy(line.role, "b/1");
    CU_ASSERT_EQUAL(lh_stats_format(&line, buf, sizeof buf), LH_EINVAL);
    line.role[0] = '\0';
    CU_ASSERT_EQUAL(lh_stats_format(&line, buf, sizeof buf), LH_EINVAL);
    memset(line.role, 'a', sizeof line.role); /* not NUL-terminated */
    CU_ASSERT_EQUAL(lh_stats_format(&line, buf, sizeof buf), LH_EINVAL);
    lh_stats_line big = {.work = (uint64_t)INT64_MAX + 1};
    CU_ASSERT_EQUAL(lh_stats_format(&big, buf, sizeof buf), LH_EINVAL);
    lh_stats_line bigq = {.work = 1, .queue = UINT64_MAX,
                          .has = LH_STATS_HAS_QUEUE};
    CU_ASSERT_EQUAL(lh_stats_format(&bigq, buf, sizeof buf), LH_EINVAL);
    lh_stats_line negpid = {.work = 1, .pid = -1, .has = LH_STATS_HAS_PID};
    CU_ASSERT_EQUAL(lh_stats_format(&negpid, buf, sizeof buf), LH_EINVAL);
    lh_stats_line st = {.work = 1, .has = LH_STATS_HAS_STAGES};
    CU_ASSERT_EQUAL(lh_stats_format(&st, buf, sizeof buf), LH_EINVAL); /* "" */
    strcpy(st.stages, "a,a");
    CU_ASSERT_EQUAL(lh_stats_format(&st, buf, sizeof buf), LH_EINVAL);
    strcpy(st.stages, "a,-");
    CU_ASSERT_EQUAL(lh_stats_format(&st, buf, sizeof buf), LH_EINVAL);
    memset(st.stages, 'a', sizeof st.stages); /* not NUL-terminated */
    CU_ASSERT_EQUAL(lh_stats_format(&st, buf, sizeof buf), LH_EINVAL);
    /* Values of absent fields do not matter. */
    lh_stats_line absent = {.work = 1, .queue = UINT64_MAX, .pid = -1};
    CU_ASSERT_EQUAL(lh_stats_format(&absent, buf, sizeof buf), 7);
}

static void test_stats_format_short_buffer_is_etrunc(void)
{
    lh_stats_line line = {.work = 123, .heap = 4567, .role = "store",
                          .stages = "a,bc",
                          .has = LH_STATS_HAS_HEAP | LH_STATS_HAS_ROLE |
                                 LH_STATS_HAS_STAGES};
    char buf[LH_STATS_LINE_MAX];
    int full = lh_stats_format(&line, buf, sizeof buf);
    CU_ASSERT_EQUAL_FATAL(
        full, (int)strlen("work=123 heap=4567 role=store stages=a,bc\n"));
    /* Every cap too small for the line and its NUL is refused; the exact
     * size is enough. */
    for (size_t cap = 0; cap <= (size_t)full; cap++) {
        char small[LH_STATS_LINE_MAX];
        memset(small, 'z', sizeof small);
        CU_ASSERT_EQUAL(lh_stats_format(&line, small, cap), LH_ETRUNC);
        CU_ASSERT_EQUAL(small[cap], 'z'); /* nothing written past cap */
    }
    CU_ASSERT_EQUAL(lh_stats_format(&line, buf, (size_t)full + 1), full);
}

static void test_stats_writer_appends_lines_that_parse(void)
{
    char path[512];
    tmp_path(path, sizeof path, "append.stats");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, "work=1\n", 7), 7); /* existing content kept */
    close(fd);
    lh_stats_writer *w = NULL;
    CU_ASSERT_EQUAL_FATAL(lh_stats_writer_open(path, &w), 0);
    lh_stats_line line = {.work = 2, .queue = 8, .has = LH_STATS_HAS_QUEUE};
    CU_ASSERT_EQUAL(lh_stats_writer_put(w, &line), 0);
    line.work = 3;
    CU_ASSERT_EQUAL(lh_stats_writer_put(w, &line), 0);
    lh_stats_line bad = {.work = 4, .pid = -2, .has = LH_STATS_HAS_PID};
    CU_ASSERT_EQUAL(lh_stats_writer_put(w, &bad), LH_EINVAL);
    lh_stats_writer_close(w);
    lh_stats_writer_close(NULL);
    expect_file(path, "work=1\nwork=2 queue=8\nwork=3 queue=8\n");
}

static void test_stats_writer_creates_file_0644(void)
{
    char path[512];
    tmp_path(path, sizeof path, "new.stats");
    mode_t old = umask(0);
    lh_stats_writer *w = NULL;
    int err = lh_stats_writer_open(path, &w);
    umask(old);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    lh_stats_writer_close(w);
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0644);
    unlink(path);
}

static void test_stats_writer_open_missing_dir_is_esys_with_errno(void)
{
    char path[512];
    tmp_path(path, sizeof path, "nodir/x.stats");
    lh_stats_writer *w = NULL;
    errno = 0;
    CU_ASSERT_EQUAL(lh_stats_writer_open(path, &w), LH_ESYS);
    CU_ASSERT_EQUAL(errno, ENOENT);
    CU_ASSERT_PTR_NULL(w);
}

static void test_stats_writer_open_out_of_memory_is_enomem(void)
{
    char path[512];
    tmp_path(path, sizeof path, "oom.stats");
    lh_stats_writer *w = NULL;
    lh_alloc_fail_after(0, 0);
    int err = lh_stats_writer_open(path, &w);
    lh_alloc_fail_after(-1, 0);
    CU_ASSERT_EQUAL(err, LH_ENOMEM);
    CU_ASSERT_PTR_NULL(w);
    CU_ASSERT_EQUAL(access(path, F_OK), -1); /* nothing created */
    unlink(path);
}

static void test_stats_writer_from_env_follows_leakhunt_stats(void)
{
    char path[512];
    tmp_path(path, sizeof path, "env.stats");
    lh_stats_writer *w = (lh_stats_writer *)path; /* must be overwritten */
    CU_ASSERT_EQUAL(unsetenv("LEAKHUNT_STATS"), 0);
    CU_ASSERT_EQUAL(lh_stats_writer_from_env(&w), 0);
    CU_ASSERT_PTR_NULL(w);
    w = (lh_stats_writer *)path;
    CU_ASSERT_EQUAL(setenv("LEAKHUNT_STATS", "", 1), 0);
    CU_ASSERT_EQUAL(lh_stats_writer_from_env(&w), 0);
    CU_ASSERT_PTR_NULL(w);
    CU_ASSERT_EQUAL(setenv("LEAKHUNT_STATS", path, 1), 0);
    CU_ASSERT_EQUAL_FATAL(lh_stats_writer_from_env(&w), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    lh_stats_line line = {.work = 77};
    CU_ASSERT_EQUAL(lh_stats_writer_put(w, &line), 0);
    lh_stats_writer_close(w);
    unsetenv("LEAKHUNT_STATS");
    expect_file(path, "work=77\n");
}

static void test_stats_writer_put_failed_write_is_eio(void)
{
    lh_stats_writer *w = NULL;
    CU_ASSERT_EQUAL_FATAL(lh_stats_writer_open("/dev/full", &w), 0);
    lh_stats_line line = {.work = 1};
    CU_ASSERT_EQUAL(lh_stats_writer_put(w, &line), LH_EIO); /* ENOSPC */
    lh_stats_writer_close(w);
}

enum { WRITERS = 4, LINES_PER_WRITER = 3000 };

static void writer_child(const char *path, int id)
{
    lh_stats_writer *w = NULL;
    int status = 1;
    if (lh_stats_writer_open(path, &w) != 0)
        goto out;
    /* Long lines make interleaving visible if writes were split. */
    lh_stats_line line = {.queue = (uint64_t)INT64_MAX,
                          .heap = (uint64_t)INT64_MAX,
                          .pid = (int64_t)getpid(),
                          .has = LH_STATS_HAS_QUEUE | LH_STATS_HAS_HEAP |
                                 LH_STATS_HAS_PID | LH_STATS_HAS_ROLE};
    snprintf(line.role, sizeof line.role, "writer-%d.padding_padding", id);
    for (int i = 0; i < LINES_PER_WRITER; i++) {
        line.work = (uint64_t)i;
        if (lh_stats_writer_put(w, &line) != 0)
            goto out;
    }
    status = 0;
out:
    lh_stats_writer_close(w);
    /* The child still holds the parent's CUnit registry, which only the
     * parent may free.  Ending through exec rather than exit keeps valgrind
     * (which follows forks) from reporting that memory as the child's; the
     * exit status carries the result. */
    execl("/bin/sh", "sh", "-c", status ? "exit 1" : "exit 0", (char *)NULL);
    _exit(127);
}

static void test_stats_concurrent_forked_writers_produce_whole_lines(void)
{
    char path[512];
    tmp_path(path, sizeof path, "shared.stats");
    unlink(path);
    fflush(NULL); /* nothing buffered is written twice by the children */
    pid_t pids[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        pids[i] = fork();
        CU_ASSERT_FATAL(pids[i] >= 0);
        if (pids[i] == 0)
            writer_child(path, i);
    }
    for (int i = 0; i < WRITERS; i++) {
        int status = -1;
        CU_ASSERT_EQUAL(waitpid(pids[i], &status, 0), pids[i]);
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    size_t len = 0;
    char *text = slurp(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    uint64_t next[WRITERS] = {0};
    unsigned long lines = 0, bad = 0;
    const char *p = text;
    while (p < text + len) {
        const char *nl = memchr(p, '\n', (size_t)(text + len - p));
        if (nl == NULL) {
            bad++; /* unterminated last line */
            break;
        }
        lh_stats_line line;
        int id = -1;
        if (lh_stats_parse(p, (size_t)(nl - p + 1), &line) != 0 ||
            sscanf(line.role, "writer-%d.", &id) != 1 || id < 0 ||
            id >= WRITERS || line.work != next[id] ||
            line.pid != (int64_t)pids[id])
            bad++;
        else
            next[id]++;
        lines++;
        p = nl + 1;
    }
    printf("\n    %d forked writers: %lu lines, %lu broken\n", WRITERS, lines,
           bad);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(lines, (unsigned long)WRITERS * LINES_PER_WRITER);
    for (int i = 0; i < WRITERS; i++)
        CU_ASSERT_EQUAL(next[i], LINES_PER_WRITER);
    lh_free(text);
    unlink(path);
}

static CU_TestInfo tests[] = {
    {"format_writes_documented_line", test_stats_format_writes_documented_line},
    {"round_trip_of_all_fields", test_stats_round_trip_of_all_fields},
    {"parse_accepts_any_order_after_work_and_no_newline",
     test_stats_parse_accepts_any_order_after_work_and_no_newline},
    {"parse_rejects_malformed_lines", test_stats_parse_rejects_malformed_lines},
    {"line_limit_is_1_kib_with_its_newline",
     test_stats_line_limit_is_1_kib_with_its_newline},
    {"stages_valid_and_compared_as_sets",
     test_stats_stages_valid_and_compared_as_sets},
    {"format_refuses_what_parser_refuses",
     test_stats_format_refuses_what_parser_refuses},
    {"format_short_buffer_is_etrunc", test_stats_format_short_buffer_is_etrunc},
    {"writer_appends_lines_that_parse",
     test_stats_writer_appends_lines_that_parse},
    {"writer_creates_file_0644", test_stats_writer_creates_file_0644},
    {"writer_open_missing_dir_is_esys_with_errno",
     test_stats_writer_open_missing_dir_is_esys_with_errno},
    {"writer_open_out_of_memory_is_enomem",
     test_stats_writer_open_out_of_memory_is_enomem},
    {"writer_from_env_follows_leakhunt_stats",
     test_stats_writer_from_env_follows_leakhunt_stats},
    {"writer_put_failed_write_is_eio",
     test_stats_writer_put_failed_write_is_eio},
    {"concurrent_forked_writers_produce_whole_lines",
     test_stats_concurrent_forked_writers_produce_whole_lines},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("stats", tests)
