/*
 * fuzz_vgxml.c - libFuzzer target for the valgrind XML and vgdb leak-text
 * parsers (harness/tools/vgxml.c).  Every input goes through both.
 *
 * Besides memory safety (the input is not NUL-terminated, so a read past
 * len shows under ASan), it checks on every input:
 *   - a refusal is one of the documented codes, leaves *out NULL and says
 *     why;
 *   - an accepted report is consistent: each error has a kind name, is_leak
 *     matches the kind, every string is readable;
 *   - XML that starts like valgrind's ("<?xml "): when the whole input is
 *     accepted, so is its first half, with no more errors than the whole.
 */
#include "error.h"
#include "vgxml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void touch(const char *s)
{
    if (s != NULL)
        sink += strlen(s);
}

static void check_stack(const lh_vgxml_stack *st)
{
    for (size_t i = 0; i < st->nframes; i++) {
        touch(st->frames[i].obj);
        touch(st->frames[i].fn);
        touch(st->frames[i].dir);
        touch(st->frames[i].file);
    }
    if (st->nframes > 0 && lh_vgxml_site(st) == NULL)
        abort();
}

static void check_report(const lh_vgxml_report *r)
{
    touch(r->tool);
    for (size_t i = 0; i < r->nerrors; i++) {
        const lh_vgxml_error *e = &r->errors[i];
        if (e->kind_name == NULL ||
            e->is_leak != lh_vgxml_kind_is_leak(e->kind))
            abort();
        touch(e->what);
        check_stack(&e->stack);
        for (size_t j = 0; j < e->naux; j++) {
            touch(e->aux[j].text);
            check_stack(&e->aux[j].stack);
        }
    }
    for (size_t i = 0; i < r->nsupps; i++)
        touch(r->supps[i].name);
}

static int known_refusal(int rc)
{
    return rc == LH_EPARSE || rc == LH_EBADVERSION || rc == LH_EUNSUPPORTED;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    lh_vgxml_report *r = NULL, *half = NULL;
    char why[160];
    int rc;

    why[0] = '\0';
    rc = lh_vgxml_parse(text, size, &r, why, sizeof why);
    if (rc != 0) {
        if (!known_refusal(rc) || r != NULL || why[0] == '\0')
            abort();
    } else {
        check_report(r);
        /* Only for input that starts as valgrind's does: expat may accept
         * two stray bytes while it still guesses the encoding and refuse
         * the first of them alone. */
        if (size / 2 >= 6 && memcmp(text, "<?xml ", 6) == 0) {
            if (lh_vgxml_parse(text, size / 2, &half, NULL, 0) != 0 ||
                half->nerrors > r->nerrors)
                abort();
            check_report(half);
            lh_vgxml_report_free(half);
        }
        lh_vgxml_report_free(r);
    }

    r = NULL;
    why[0] = '\0';
    rc = lh_vgxml_parse_leak_text(text, size, &r, why, sizeof why);
    if (rc != 0) {
        if (rc != LH_EPARSE || r != NULL || why[0] == '\0')
            abort();
        return 0;
    }
    check_report(r);
    for (size_t i = 0; i < r->nerrors; i++) {
        if (!r->errors[i].is_leak)
            abort();
    }
    lh_vgxml_report_free(r);
    return 0;
}
