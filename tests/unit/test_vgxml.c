/*
 * test_vgxml.c - the valgrind XML and vgdb leak-text parsers, on real output
 * recorded from tests/fixtures/valgrind/leaky.c by regen.sh (valgrind 3.19).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cu_main.h"
#include "error.h"
#include "read_file.h"
#include "vgxml.h"

#ifndef LH_FIXTURES
#error "LH_FIXTURES must name tests/fixtures"
#endif
#define VGDIR LH_FIXTURES "/valgrind/"

static char *read_fixture(const char *name, size_t *len)
{
    char path[512];

    snprintf(path, sizeof path, VGDIR "%s", name);
    return lh_test_read_file(path, len);
}

static lh_vgxml_report *load_xml(const char *name)
{
    char path[512];
    char why[200] = "";
    lh_vgxml_report *r = NULL;
    int rc;

    snprintf(path, sizeof path, VGDIR "%s", name);
    rc = lh_vgxml_load(path, &r, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", name, why);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    return r;
}

static lh_vgxml_report *load_text(const char *name)
{
    size_t len = 0;
    char *data = read_fixture(name, &len);
    char why[200] = "";
    lh_vgxml_report *r = NULL;
    int rc = lh_vgxml_parse_leak_text(data, len, &r, why, sizeof why);

    if (rc != 0)
        fprintf(stderr, "%s: %s\n", name, why);
    lh_free(data);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    return r;
}

/* The n-th error of a kind (n from 0), or NULL. */
static const lh_vgxml_error *find_kind(const lh_vgxml_report *r,
                                       lh_vgxml_kind kind, int n)
{
    for (size_t i = 0; i < r->nerrors; i++) {
        if (r->errors[i].kind == kind && n-- == 0)
            return &r->errors[i];
    }
    return NULL;
}

/* The error whose allocation site is function fn, or NULL. */
static const lh_vgxml_error *find_site(const lh_vgxml_report *r,
                                       lh_vgxml_kind kind, const char *fn)
{
    for (size_t i = 0; i < r->nerrors; i++) {
        const lh_vgxml_frame *f = lh_vgxml_site(&r->errors[i].stack);
        if (r->errors[i].kind == kind && f != NULL && f->fn != NULL &&
            strcmp(f->fn, fn) == 0)
            return &r->errors[i];
    }
    return NULL;
}

static int parse_str(const char *xml, lh_vgxml_report **r, char *why,
                     size_t whylen)
{
    return lh_vgxml_parse(xml, strlen(xml), r, why, whylen);
}

#define XML_HEAD                                                               \
    "<?xml version=\"1.0\"?>\n<valgrindoutput>\n"                              \
    "<protocolversion>4</protocolversion>\n"                                   \
    "<protocoltool>memcheck</protocoltool>\n"

/* ---- XML: real runs ---------------------------------------------------- */

static void test_vgxml_full_run_reads_header_and_status(void)
{
    lh_vgxml_report *r = load_xml("full.xml");

    CU_ASSERT_EQUAL(r->protocol, 4);
    CU_ASSERT_STRING_EQUAL(r->tool, "memcheck");
    CU_ASSERT(r->pid > 0);
    CU_ASSERT(r->ppid > 0);
    CU_ASSERT_EQUAL(r->status, LH_VG_STATUS_FINISHED);
    CU_ASSERT_FALSE(r->truncated);
    CU_ASSERT_EQUAL(r->nerrors, 6);
    lh_vgxml_report_free(r);
}

static void test_vgxml_leaks_carry_kind_bytes_blocks_and_site(void)
{
    lh_vgxml_report *r = load_xml("full.xml");
    const lh_vgxml_error *e;
    const lh_vgxml_frame *site;

    e = find_site(r, LH_VG_LEAK_STILL_REACHABLE, "keep_one");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT(e->is_leak);
    CU_ASSERT_STRING_EQUAL(e->kind_name, "Leak_StillReachable");
    CU_ASSERT_EQUAL(e->leaked_bytes, 512);
    CU_ASSERT_EQUAL(e->leaked_blocks, 8);
    CU_ASSERT_STRING_EQUAL(e->what, "512 bytes in 8 blocks are still "
                                    "reachable in loss record 4 of 4");
    CU_ASSERT_EQUAL(e->stack.nframes, 3);
    CU_ASSERT_STRING_EQUAL(e->stack.frames[0].fn, "malloc");
    CU_ASSERT_PTR_NULL(e->stack.frames[0].file);
    site = lh_vgxml_site(&e->stack);
    CU_ASSERT_PTR_EQUAL(site, &e->stack.frames[1]);
    CU_ASSERT_STRING_EQUAL(site->file, "leaky.c");
    CU_ASSERT_EQUAL(site->line, 33);
    CU_ASSERT_PTR_NOT_NULL(site->dir);
    CU_ASSERT(site->ip != 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(site->obj, "leaky"));

    e = find_site(r, LH_VG_LEAK_DEFINITELY_LOST, "lose_one");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->leaked_bytes, 256);
    CU_ASSERT_EQUAL(e->leaked_blocks, 8);
    CU_ASSERT_EQUAL(lh_vgxml_site(&e->stack)->line, 41);

    /* 64 direct + 64 indirect per tree, two trees */
    e = find_site(r, LH_VG_LEAK_DEFINITELY_LOST, "lose_tree");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->leaked_bytes, 256);
    CU_ASSERT_EQUAL(e->leaked_blocks, 2);
    e = find_kind(r, LH_VG_LEAK_INDIRECTLY_LOST, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->leaked_bytes, 128);
    CU_ASSERT_EQUAL(e->leaked_blocks, 2);
    CU_ASSERT_EQUAL(e->count, 1);
    lh_vgxml_report_free(r);
}

static void test_vgxml_uninit_condition_has_stack_allocation_origin(void)
{
    lh_vgxml_report *r = load_xml("full.xml");
    const lh_vgxml_error *e = find_kind(r, LH_VG_UNINIT_CONDITION, 0);

    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_FALSE(e->is_leak);
    CU_ASSERT_STRING_EQUAL(e->what, "Conditional jump or move depends on "
                                    "uninitialised value(s)");
    CU_ASSERT_EQUAL(e->tid, 1);
    CU_ASSERT_STRING_EQUAL(e->stack.frames[0].fn, "decide");
    CU_ASSERT_EQUAL(e->stack.frames[0].line, 26);
    CU_ASSERT_EQUAL_FATAL(e->naux, 1);
    CU_ASSERT_STRING_EQUAL(e->aux[0].text, "Uninitialised value was created "
                                           "by a stack allocation");
    CU_ASSERT_EQUAL_FATAL(e->aux[0].stack.nframes, 1);
    CU_ASSERT_STRING_EQUAL(e->aux[0].stack.frames[0].fn, "decide");
    CU_ASSERT_EQUAL(e->aux[0].stack.frames[0].line, 23);
    lh_vgxml_report_free(r);
}

static void test_vgxml_invalid_read_keeps_block_alloc_stack(void)
{
    lh_vgxml_report *r = load_xml("full.xml");
    const lh_vgxml_error *e = find_kind(r, LH_VG_INVALID_READ, 0);

    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_STRING_EQUAL(e->what, "Invalid read of size 1");
    CU_ASSERT_EQUAL(e->stack.frames[0].line, 58);
    CU_ASSERT_EQUAL_FATAL(e->naux, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(e->aux[0].text, "0 bytes after a block of "
                                                  "size 16 alloc'd"));
    CU_ASSERT_EQUAL_FATAL(e->aux[0].stack.nframes, 3);
    CU_ASSERT_EQUAL(lh_vgxml_site(&e->aux[0].stack)->line, 56);
    lh_vgxml_report_free(r);
}

static void test_vgxml_errorcounts_set_the_counts(void)
{
    lh_vgxml_report *r = load_xml("full.xml");

    CU_ASSERT_EQUAL(find_kind(r, LH_VG_INVALID_READ, 0)->count, 1);
    CU_ASSERT_EQUAL(find_kind(r, LH_VG_UNINIT_CONDITION, 0)->count, 1);
    CU_ASSERT_EQUAL(r->nsupps, 0);
    lh_vgxml_report_free(r);

    /* a count that is not 1, and a pair for an unknown unique */
    r = NULL;
    CU_ASSERT_EQUAL_FATAL(
        parse_str(XML_HEAD "<error><unique>0x7</unique><kind>InvalidRead"
                           "</kind><what>w</what></error>"
                           "<errorcounts><pair><count>42</count><unique>0x7"
                           "</unique></pair><pair><count>3</count><unique>0x9"
                           "</unique></pair></errorcounts></valgrindoutput>",
                  &r, NULL, 0),
        0);
    CU_ASSERT_EQUAL(r->errors[0].count, 42);
    lh_vgxml_report_free(r);
}

static void test_vgxml_suppcounts_name_the_suppression(void)
{
    lh_vgxml_report *r = load_xml("suppressed.xml");

    CU_ASSERT_EQUAL_FATAL(r->nsupps, 1);
    CU_ASSERT_STRING_EQUAL(r->supps[0].name, "lose_one_is_known");
    CU_ASSERT_EQUAL(r->supps[0].count, 1);
    CU_ASSERT_PTR_NULL(find_site(r, LH_VG_LEAK_DEFINITELY_LOST, "lose_one"));
    CU_ASSERT_PTR_NOT_NULL(
        find_site(r, LH_VG_LEAK_STILL_REACHABLE, "keep_one"));
    lh_vgxml_report_free(r);
}

/* ---- XML: cut short ------------------------------------------------------ */

static void test_vgxml_killed_run_is_truncated_with_complete_errors(void)
{
    lh_vgxml_report *r = load_xml("killed.xml");

    CU_ASSERT(r->truncated);
    CU_ASSERT_EQUAL(r->status, LH_VG_STATUS_RUNNING);
    CU_ASSERT_EQUAL(r->nerrors, 2);
    CU_ASSERT_PTR_NOT_NULL(find_kind(r, LH_VG_UNINIT_CONDITION, 0));
    lh_vgxml_report_free(r);
}

static void test_vgxml_sigterm_run_names_the_signal_and_keeps_leaks(void)
{
    lh_vgxml_report *r = load_xml("sigterm.xml");

    CU_ASSERT_EQUAL(r->fatal_signo, 15);
    CU_ASSERT_STRING_EQUAL(r->fatal_signame, "SIGTERM");
    CU_ASSERT_EQUAL(r->status, LH_VG_STATUS_FINISHED);
    CU_ASSERT_FALSE(r->truncated);
    CU_ASSERT_EQUAL(r->nerrors, 7);
    CU_ASSERT_PTR_NOT_NULL(
        find_site(r, LH_VG_LEAK_STILL_REACHABLE, "keep_one"));
    lh_vgxml_report_free(r);

    r = load_xml("full.xml");
    CU_ASSERT_EQUAL(r->fatal_signo, 0);
    CU_ASSERT_PTR_NULL(r->fatal_signame);
    lh_vgxml_report_free(r);
}

static void test_vgxml_every_prefix_parses_as_truncated(void)
{
    size_t len = 0;
    char *data = read_fixture("full.xml", &len);
    size_t last = 0, end;
    int bad = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(strstr(data, "</valgrindoutput>"));
    end = (size_t)(strstr(data, "</valgrindoutput>") - data) +
          strlen("</valgrindoutput>");

    for (size_t n = 0; n <= len; n++) {
        lh_vgxml_report *r = NULL;
        char why[200];
        int rc = lh_vgxml_parse(data, n, &r, why, sizeof why);
        if (rc != 0 || r == NULL) {
            if (bad++ == 0)
                fprintf(stderr, "prefix %zu: %s\n", n, why);
            continue;
        }
        /* complete only once </valgrindoutput> is in */
        if (r->truncated != (n < end))
            bad++;
        if (r->nerrors < last)
            bad++;
        last = r->nerrors;
        lh_vgxml_report_free(r);
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(last, 6);
    lh_free(data);
}

static void test_vgxml_cut_inside_an_error_drops_only_that_error(void)
{
    size_t len = 0;
    char *data = read_fixture("full.xml", &len);
    const char *third = strstr(data, "<unique>0x2</unique>");
    lh_vgxml_report *r = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(third);
    CU_ASSERT_EQUAL_FATAL(
        lh_vgxml_parse(data, (size_t)(third - data) + 40, &r, NULL, 0), 0);
    CU_ASSERT(r->truncated);
    CU_ASSERT_EQUAL(r->nerrors, 2);
    lh_vgxml_report_free(r);
    lh_free(data);
}

static void test_vgxml_empty_input_is_truncated_and_empty(void)
{
    lh_vgxml_report *r = NULL;

    CU_ASSERT_EQUAL_FATAL(lh_vgxml_parse("", 0, &r, NULL, 0), 0);
    CU_ASSERT(r->truncated);
    CU_ASSERT_EQUAL(r->nerrors, 0);
    CU_ASSERT_EQUAL(r->protocol, 0);
    lh_vgxml_report_free(r);
}

/* ---- XML: refused -------------------------------------------------------- */

static void test_vgxml_malformed_xml_fails_with_line_number(void)
{
    lh_vgxml_report *r = NULL;
    char why[200] = "";
    int rc = parse_str(XML_HEAD "<pid>1</pid>\n<status><state>RUNNING</state>"
                                "\n</stack>\n",
                       &r, why, sizeof why);

    CU_ASSERT_EQUAL(rc, LH_EPARSE);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "line 7"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "mismatched tag"));
}

static void test_vgxml_other_tool_is_refused(void)
{
    char path[512];
    char why[200] = "";
    lh_vgxml_report *r = NULL;

    snprintf(path, sizeof path, VGDIR "helgrind.xml");
    CU_ASSERT_EQUAL(lh_vgxml_load(path, &r, why, sizeof why), LH_EUNSUPPORTED);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "helgrind"));
}

static void test_vgxml_other_protocol_version_is_refused(void)
{
    char why[200] = "";
    lh_vgxml_report *r = NULL;

    CU_ASSERT_EQUAL(parse_str("<valgrindoutput><protocolversion>3"
                              "</protocolversion>",
                              &r, why, sizeof why),
                    LH_EBADVERSION);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "version 3"));
}

static void test_vgxml_wrong_root_doctype_and_entities_are_refused(void)
{
    static const char *const bad[] = {
        "<html><body/></html>",
        "<!DOCTYPE valgrindoutput><valgrindoutput/>",
        "<!DOCTYPE v [<!ENTITY a \"aaaa\">]><valgrindoutput>&a;"
        "</valgrindoutput>",
        /* closed without the protocol */
        "<valgrindoutput></valgrindoutput>",
        /* an error before the protocol */
        "<valgrindoutput><error><kind>InvalidRead</kind></error>",
        /* junk after the root */
        XML_HEAD "</valgrindoutput><valgrindoutput>",
        "not xml at all",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lh_vgxml_report *r = NULL;
        char why[200] = "";
        int rc = parse_str(bad[i], &r, why, sizeof why);
        if (rc != LH_EPARSE)
            fprintf(stderr, "case %zu: rc %d (%s)\n", i, rc, why);
        CU_ASSERT_EQUAL(rc, LH_EPARSE);
        CU_ASSERT_PTR_NULL(r);
        CU_ASSERT(why[0] != '\0');
    }
}

static void test_vgxml_bad_fields_are_refused(void)
{
    static const char *const bad[] = {
        "<error><unique>0x1</unique><what>no kind</what></error>",
        "<error><kind>Leak_DefinitelyLost</kind><xwhat><text>t</text>"
        "<leakedbytes>12x</leakedbytes></xwhat></error>",
        "<error><kind>InvalidRead</kind><stack><frame><ip>zz</ip></frame>"
        "</stack></error>",
        "<error><kind>InvalidRead</kind><stack><frame><fn>f</fn></frame>"
        "</stack></error>",
        "<error><kind>InvalidRead</kind><stack><frame><ip>0x1</ip>"
        "<line>-3</line></frame></stack></error>",
        "<error><unique>12</unique><kind>InvalidRead</kind></error>",
        "<status><state>SLEEPING</state></status>",
        "<pid>99999999999999999999999</pid>",
        "<errorcounts><pair><count>1</count></pair></errorcounts>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char xml[600];
        lh_vgxml_report *r = NULL;
        snprintf(xml, sizeof xml, XML_HEAD "%s</valgrindoutput>", bad[i]);
        int rc = parse_str(xml, &r, NULL, 0);
        if (rc != LH_EPARSE)
            fprintf(stderr, "case %zu: rc %d\n", i, rc);
        CU_ASSERT_EQUAL(rc, LH_EPARSE);
        CU_ASSERT_PTR_NULL(r);
    }
}

static void test_vgxml_unknown_elements_and_kinds_are_kept_apart(void)
{
    lh_vgxml_report *r = NULL;
    int rc = parse_str(
        XML_HEAD "<clientmsg><tid>1</tid><text>hi</text></clientmsg>"
                 "<error><unique>0x3</unique><kind>FutureKind</kind>"
                 "<what>x &amp; y</what><newthing><error/></newthing>"
                 "<stack><frame><ip>0xA</ip><fn>operator new(unsigned long)"
                 "</fn></frame><frame><ip>0xb</ip><fn>f&lt;int&gt;</fn>"
                 "</frame></stack>"
                 "<xauxwhat><text>Address is on thread 1's stack</text>"
                 "<file>a.c</file><line>3</line></xauxwhat>"
                 "<auxwhat>Block was alloc'd at</auxwhat>"
                 "<stack><frame><ip>0xc</ip></frame></stack>"
                 "</error></valgrindoutput>",
        &r, NULL, 0);

    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(r->nerrors, 1);
    CU_ASSERT_EQUAL(r->errors[0].kind, LH_VG_OTHER);
    CU_ASSERT_STRING_EQUAL(r->errors[0].kind_name, "FutureKind");
    CU_ASSERT_STRING_EQUAL(r->errors[0].what, "x & y");
    CU_ASSERT_EQUAL(r->errors[0].unique, 3);
    CU_ASSERT_EQUAL(r->errors[0].stack.nframes, 2);
    CU_ASSERT_EQUAL(r->errors[0].stack.frames[0].ip, 10);
    CU_ASSERT_STRING_EQUAL(r->errors[0].stack.frames[1].fn, "f<int>");
    CU_ASSERT_EQUAL(lh_vgxml_site(&r->errors[0].stack),
                    &r->errors[0].stack.frames[1]);
    CU_ASSERT_EQUAL_FATAL(r->errors[0].naux, 2);
    CU_ASSERT_STRING_EQUAL(r->errors[0].aux[0].text,
                           "Address is on thread 1's stack");
    CU_ASSERT_EQUAL(r->errors[0].aux[0].stack.nframes, 0);
    CU_ASSERT_EQUAL(r->errors[0].aux[1].stack.nframes, 1);
    CU_ASSERT_EQUAL(r->status, LH_VG_STATUS_NONE);
    lh_vgxml_report_free(r);
}

static void test_vgxml_invalid_arguments_are_refused(void)
{
    lh_vgxml_report *r = NULL;
    char why[100];

    CU_ASSERT_EQUAL(lh_vgxml_parse(NULL, 3, &r, NULL, 0), LH_EINVAL);
    CU_ASSERT_EQUAL(lh_vgxml_parse("x", 1, NULL, NULL, 0), LH_EINVAL);
    CU_ASSERT_EQUAL(lh_vgxml_parse_leak_text(NULL, 3, &r, NULL, 0), LH_EINVAL);
    CU_ASSERT_EQUAL(
        lh_vgxml_load(VGDIR "no-such-file.xml", &r, why, sizeof why), LH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "no-such-file.xml"));
    CU_ASSERT_PTR_NULL(r);
    lh_vgxml_report_free(NULL);
    CU_ASSERT_STRING_EQUAL(lh_vgxml_kind_name(LH_VG_UNINIT_VALUE),
                           "UninitValue");
    CU_ASSERT_STRING_EQUAL(lh_vgxml_kind_name((lh_vgxml_kind)999), "other");
    CU_ASSERT_PTR_NULL(lh_vgxml_site(NULL));
}

/* Fails the n-th allocation and every later one, for n = 0, 1, ... until
 * the parse succeeds: each failure must be a clean LH_ENOMEM. */
static void check_alloc_failures(const char *data, size_t len, int text)
{
    int nomem = 0, other = 0;
    long n;

    for (n = 0; n < 100000; n++) {
        lh_vgxml_report *r = NULL;
        int rc;
        lh_alloc_fail_after(n, 1);
        rc = text ? lh_vgxml_parse_leak_text(data, len, &r, NULL, 0)
                  : lh_vgxml_parse(data, len, &r, NULL, 0);
        lh_alloc_fail_after(-1, 0);
        if (rc == 0) {
            lh_vgxml_report_free(r);
            break;
        }
        if (rc == LH_ENOMEM && r == NULL)
            nomem++;
        else
            other++;
    }
    CU_ASSERT(nomem > 10);
    CU_ASSERT_EQUAL(other, 0);
    CU_ASSERT(n < 100000);
}

static void test_vgxml_allocation_failures_are_clean(void)
{
    size_t len = 0;
    char *data = read_fixture("full.xml", &len);
    check_alloc_failures(data, len, 0);
    lh_free(data);
}

/* ---- vgdb leak text ------------------------------------------------------ */

static void test_vgxml_text_first_search_reads_records_and_summary(void)
{
    lh_vgxml_report *r = load_text("vgdb-first.txt");
    const lh_vgxml_error *e;

    CU_ASSERT(r->pid > 0);
    CU_ASSERT_FALSE(r->truncated);
    CU_ASSERT_EQUAL_FATAL(r->nerrors, 5);
    CU_ASSERT(r->has_summary);
    /* "4,096 (+4,096) bytes in 1 (+1) blocks are still reachable ..." */
    e = &r->errors[4];
    CU_ASSERT_EQUAL(e->kind, LH_VG_LEAK_STILL_REACHABLE);
    CU_ASSERT_EQUAL(e->leaked_bytes, 4096);
    CU_ASSERT_EQUAL(e->delta_bytes, 4096);
    CU_ASSERT_EQUAL(e->unique, 5);
    CU_ASSERT_EQUAL(e->stack.nframes, 11);
    /* an inlined frame repeats the ip */
    CU_ASSERT_EQUAL(e->stack.frames[2].ip, e->stack.frames[3].ip);
    CU_ASSERT_STRING_EQUAL(e->stack.frames[4].fn,
                           "_IO_file_overflow@@GLIBC_2.2.5");
    CU_ASSERT_STRING_EQUAL(e->stack.frames[4].file, "fileops.c");
    CU_ASSERT_EQUAL(e->stack.frames[4].line, 744);
    CU_ASSERT_STRING_EQUAL(e->stack.frames[0].fn, "malloc");
    CU_ASSERT_PTR_NOT_NULL(strstr(e->stack.frames[0].obj, "vgpreload_"));
    CU_ASSERT_PTR_NULL(e->stack.frames[0].file);

    e = &r->errors[1];
    CU_ASSERT_EQUAL(e->kind, LH_VG_LEAK_DEFINITELY_LOST);
    CU_ASSERT_EQUAL(e->leaked_bytes, 256);
    CU_ASSERT_EQUAL(e->direct_bytes, 128);
    CU_ASSERT_EQUAL(e->indirect_bytes, 128);
    CU_ASSERT_EQUAL(e->leaked_blocks, 2);
    CU_ASSERT_STRING_EQUAL(lh_vgxml_site(&e->stack)->fn, "lose_tree");

    CU_ASSERT_EQUAL(r->still_reachable.bytes, 4608);
    CU_ASSERT_EQUAL(r->still_reachable.delta_bytes, 4608);
    CU_ASSERT_EQUAL(r->still_reachable.blocks, 9);
    CU_ASSERT_EQUAL(r->definitely_lost.bytes, 384);
    CU_ASSERT_EQUAL(r->indirectly_lost.blocks, 2);
    CU_ASSERT_EQUAL(r->possibly_lost.bytes, 0);
    lh_vgxml_report_free(r);
}

static void test_vgxml_text_increased_reports_reachable_growth(void)
{
    lh_vgxml_report *r = load_text("vgdb-increased.txt");
    const lh_vgxml_error *e =
        find_site(r, LH_VG_LEAK_STILL_REACHABLE, "keep_one");
    const lh_vgxml_frame *site;

    CU_ASSERT_EQUAL(r->nerrors, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->leaked_bytes, 1280);
    CU_ASSERT_EQUAL(e->delta_bytes, 768);
    CU_ASSERT_EQUAL(e->leaked_blocks, 20);
    CU_ASSERT_EQUAL(e->delta_blocks, 12);
    CU_ASSERT_STRING_EQUAL(e->kind_name, "Leak_StillReachable");
    site = lh_vgxml_site(&e->stack);
    CU_ASSERT_STRING_EQUAL(site->file, "leaky.c");
    CU_ASSERT_EQUAL(site->line, 33);
    CU_ASSERT_EQUAL(site->ip, 0x1091CF);
    CU_ASSERT_EQUAL(r->still_reachable.delta_bytes, 768);
    CU_ASSERT_EQUAL(r->still_reachable.delta_blocks, 12);
    CU_ASSERT_EQUAL(r->definitely_lost.delta_bytes, 576);
    lh_vgxml_report_free(r);
}

static void test_vgxml_text_idle_search_has_summary_only(void)
{
    lh_vgxml_report *r = load_text("vgdb-idle.txt");

    CU_ASSERT_EQUAL(r->nerrors, 0);
    CU_ASSERT(r->has_summary);
    CU_ASSERT_EQUAL(r->still_reachable.bytes, 5376);
    CU_ASSERT_EQUAL(r->still_reachable.delta_bytes, 0);
    CU_ASSERT_FALSE(r->truncated);
    lh_vgxml_report_free(r);
}

static void test_vgxml_text_frame_shapes_and_plain_records(void)
{
    static const char text[] =
        "==7== \n"
        "==7== 64 bytes in 1 blocks are possibly lost in loss record 1 of 2\n"
        "==7==    at 0x4C2: operator new(unsigned long) (in /usr/lib/x.so)\n"
        "==7==    by 0x4C3: foo(int) const (a b.cc:12)\n"
        "==7==    by 0x4C4: ??? (in /lib/y.so)\n"
        "==7==    by 0x4C5: ???\n"
        "==7==    by 0x4C6: (below main) (libc-start.c:333)\n"
        "==7== \n"
        "==7== 1,000 (-24) bytes in 2 (-1) blocks are still reachable in "
        "loss record 2 of 2\n"
        "==7==    at 0x1: g (g.c:1)\n"
        "==7== \n"
        "==7== LEAK SUMMARY:\n"
        "==7==    definitely lost: 0 bytes in 0 blocks\n"
        "==7==      possibly lost: 64 bytes in 1 blocks\n"
        "==7==    still reachable: 1,000 (-24) bytes in 2 (-1) blocks\n"
        "==7==         suppressed: 0 bytes in 0 blocks\n"
        "==7== Reachable blocks (those to which a pointer was found) are not "
        "shown.\n"
        "==7== \n";
    lh_vgxml_report *r = NULL;
    const lh_vgxml_frame *f;

    CU_ASSERT_EQUAL_FATAL(
        lh_vgxml_parse_leak_text(text, sizeof text - 1, &r, NULL, 0), 0);
    CU_ASSERT_EQUAL(r->pid, 7);
    CU_ASSERT_EQUAL_FATAL(r->nerrors, 2);
    f = r->errors[0].stack.frames;
    CU_ASSERT_EQUAL_FATAL(r->errors[0].stack.nframes, 5);
    CU_ASSERT_STRING_EQUAL(f[0].fn, "operator new(unsigned long)");
    CU_ASSERT_STRING_EQUAL(f[0].obj, "/usr/lib/x.so");
    CU_ASSERT_STRING_EQUAL(f[1].fn, "foo(int) const");
    CU_ASSERT_STRING_EQUAL(f[1].file, "a b.cc");
    CU_ASSERT_EQUAL(f[1].line, 12);
    CU_ASSERT_PTR_NULL(f[2].fn);
    CU_ASSERT_STRING_EQUAL(f[2].obj, "/lib/y.so");
    CU_ASSERT_PTR_NULL(f[3].fn);
    CU_ASSERT_PTR_NULL(f[3].obj);
    CU_ASSERT_STRING_EQUAL(f[4].fn, "(below main)");
    CU_ASSERT_EQUAL(f[4].line, 333);
    CU_ASSERT_PTR_EQUAL(lh_vgxml_site(&r->errors[0].stack), &f[1]);
    CU_ASSERT_EQUAL(r->errors[0].kind, LH_VG_LEAK_POSSIBLY_LOST);
    CU_ASSERT_EQUAL(r->errors[0].delta_bytes, 0);
    CU_ASSERT_EQUAL(r->errors[1].leaked_bytes, 1000);
    CU_ASSERT_EQUAL(r->errors[1].delta_bytes, -24);
    CU_ASSERT_EQUAL(r->errors[1].delta_blocks, -1);
    CU_ASSERT_EQUAL(r->still_reachable.delta_bytes, -24);
    CU_ASSERT_EQUAL(r->possibly_lost.bytes, 64);
    CU_ASSERT(r->has_summary);
    lh_vgxml_report_free(r);
}

static void test_vgxml_site_skips_our_wrappers_and_named_allocators(void)
{
    static const char text[] =
        "==9== 64 (+64) bytes in 1 (+1) blocks are still reachable in loss "
        "record 1 of 1\n"
        "==9==    at 0x483877F: malloc (in /usr/libexec/valgrind/"
        "vgpreload_memcheck-amd64-linux.so)\n"
        "==9==    by 0x10A1B2: lh_malloc (alloc.c:40)\n"
        "==9==    by 0x10A2C3: xmalloc.constprop.0 (util.c:7)\n"
        "==9==    by 0x10A3D4: a_buf_new (buf.c:12)\n"
        "==9==    by 0x10A4E5: rpc_call (rpc.c:88)\n"
        "==9== \n";
    static const char *const extra[] = {"xmalloc", NULL};
    lh_vgxml_report *r = NULL;
    const lh_vgxml_stack *st;

    CU_ASSERT_EQUAL_FATAL(
        lh_vgxml_parse_leak_text(text, sizeof text - 1, &r, NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(r->nerrors, 1);
    st = &r->errors[0].stack;
    CU_ASSERT_STRING_EQUAL(lh_vgxml_site(st)->fn, "xmalloc.constprop.0");
    CU_ASSERT_STRING_EQUAL(lh_vgxml_site_ex(st, extra)->fn, "a_buf_new");
    CU_ASSERT_EQUAL(lh_vgxml_site_ex(st, extra)[1].line, 88);
    lh_vgxml_report_free(r);
}

static void test_vgxml_text_malformed_record_is_refused(void)
{
    static const char *const bad[] = {
        "==1== x bytes in 1 blocks are definitely lost in loss record 1 of 1\n",
        "==1== 8 bytes in 1 blocks are sort of lost in loss record 1 of 1\n",
        "==1== 8 (+) bytes in 1 blocks are still reachable in loss record 1 "
        "of 1\n",
        "==1== 8 bytes in 1 blocks are still reachable in loss record 2 of 1\n",
        "==1== 8 bytes in 1 blocks are still reachable in loss record 1 of "
        "1\n==1==    at 0xZZ: f (a.c:1)\n",
        "==1== LEAK SUMMARY:\n==1==    definitely lost: lots\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lh_vgxml_report *r = NULL;
        char why[200] = "";
        int rc = lh_vgxml_parse_leak_text(bad[i], strlen(bad[i]), &r, why,
                                          sizeof why);
        if (rc != LH_EPARSE)
            fprintf(stderr, "case %zu: rc %d\n", i, rc);
        CU_ASSERT_EQUAL(rc, LH_EPARSE);
        CU_ASSERT_PTR_NULL(r);
        CU_ASSERT_PTR_NOT_NULL(strstr(why, "line "));
    }
}

static void test_vgxml_text_cut_short_is_truncated(void)
{
    size_t len = 0;
    char *data = read_fixture("vgdb-increased.txt", &len);
    const char *summary = strstr(data, "LEAK SUMMARY");
    lh_vgxml_report *r = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(summary);
    CU_ASSERT_EQUAL_FATAL(lh_vgxml_parse_leak_text(
                              data, (size_t)(summary - data) + 40, &r, NULL, 0),
                          0);
    CU_ASSERT(r->truncated);
    CU_ASSERT_FALSE(r->has_summary);
    CU_ASSERT_EQUAL(r->nerrors, 4);
    lh_vgxml_report_free(r);
    lh_free(data);
}

static void test_vgxml_text_allocation_failures_are_clean(void)
{
    size_t len = 0;
    char *data = read_fixture("vgdb-first.txt", &len);
    check_alloc_failures(data, len, 1);
    lh_free(data);
}

static CU_TestInfo tests[] = {
    {"full run reads header and status",
     test_vgxml_full_run_reads_header_and_status},
    {"leaks carry kind bytes blocks and site",
     test_vgxml_leaks_carry_kind_bytes_blocks_and_site},
    {"uninit condition has stack allocation origin",
     test_vgxml_uninit_condition_has_stack_allocation_origin},
    {"invalid read keeps block alloc stack",
     test_vgxml_invalid_read_keeps_block_alloc_stack},
    {"errorcounts set the counts", test_vgxml_errorcounts_set_the_counts},
    {"suppcounts name the suppression",
     test_vgxml_suppcounts_name_the_suppression},
    {"killed run is truncated with complete errors",
     test_vgxml_killed_run_is_truncated_with_complete_errors},
    {"sigterm run names the signal and keeps leaks",
     test_vgxml_sigterm_run_names_the_signal_and_keeps_leaks},
    {"every prefix parses as truncated",
     test_vgxml_every_prefix_parses_as_truncated},
    {"cut inside an error drops only that error",
     test_vgxml_cut_inside_an_error_drops_only_that_error},
    {"empty input is truncated and empty",
     test_vgxml_empty_input_is_truncated_and_empty},
    {"malformed xml fails with line number",
     test_vgxml_malformed_xml_fails_with_line_number},
    {"other tool is refused", test_vgxml_other_tool_is_refused},
    {"other protocol version is refused",
     test_vgxml_other_protocol_version_is_refused},
    {"wrong root doctype and entities are refused",
     test_vgxml_wrong_root_doctype_and_entities_are_refused},
    {"bad fields are refused", test_vgxml_bad_fields_are_refused},
    {"unknown elements and kinds are kept apart",
     test_vgxml_unknown_elements_and_kinds_are_kept_apart},
    {"invalid arguments are refused", test_vgxml_invalid_arguments_are_refused},
    {"allocation failures are clean", test_vgxml_allocation_failures_are_clean},
    {"text first search reads records and summary",
     test_vgxml_text_first_search_reads_records_and_summary},
    {"text increased reports reachable growth",
     test_vgxml_text_increased_reports_reachable_growth},
    {"text idle search has summary only",
     test_vgxml_text_idle_search_has_summary_only},
    {"text frame shapes and plain records",
     test_vgxml_text_frame_shapes_and_plain_records},
    {"site skips our wrappers and named allocators",
     test_vgxml_site_skips_our_wrappers_and_named_allocators},
    {"text malformed record is refused",
     test_vgxml_text_malformed_record_is_refused},
    {"text cut short is truncated", test_vgxml_text_cut_short_is_truncated},
    {"text allocation failures are clean",
     test_vgxml_text_allocation_failures_are_clean},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("vgxml", tests)
