/*
 * abicheck_output.c - the findings as text, as JSON (through the project's
 * writer, report/json.h) and as the messages a command prints on stderr.
 *
 * JSON strings come from DWARF and file names, which a corrupt or hostile
 * input can fill with anything: bytes that are not valid UTF-8 are
 * replaced by U+FFFD before they reach the writer, so the output always
 * parses.
 */
#include "abicheck_int.h"

#include "alloc.h"

#include <inttypes.h>
#include <string.h>

#define TEXT_MAX_UNITS 8
#define TEXT_MAX_APART 20
#define TEXT_MAX_OBJECTS 3
#define SUMMARY_MAX_NAMES 12

/* ------------------------------------------------------------- helpers */

/* Length of a valid UTF-8 sequence at s, 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n, i;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4;
    else
        return 0;
    for (i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* A JSON string; bytes that are not valid UTF-8 become U+FFFD. */
static void jstr(lh_json *j, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char *copy, *o;

    while (*p && utf8_len(p))
        p += utf8_len(p);
    if (!*p) {
        lh_json_string(j, s);
        return;
    }
    copy = lh_malloc(strlen(s) * 3 + 1);
    if (!copy) {
        lh_json_string(j, "?");
        return;
    }
    for (p = (const unsigned char *)s, o = copy; *p;) {
        size_t n = utf8_len(p);

        if (n) {
            memcpy(o, p, n);
            o += n;
            p += n;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            p++;
        }
    }
    *o = '\0';
    lh_json_string(j, copy);
    lh_free(copy);
}

static void jkv(lh_json *j, const char *key, const char *s)
{
    lh_json_key(j, key);
    if (s)
        jstr(j, s);
    else
        lh_json_null(j);
}

static void jstrings(lh_json *j, const char *key, char *const *list, size_t n)
{
    size_t i;

    lh_json_key(j, key);
    lh_json_begin_array(j);
    for (i = 0; i < n; i++)
        jstr(j, list[i]);
    lh_json_end_array(j);
}

static const char *file_path(const lh_abicheck *ac, size_t i)
{
    return ac->files[i].pub.path;
}

static const char *verdict_name(lh_abi_verdict v)
{
    switch (v) {
    case LH_ABI_INSIDE:
        return "inside";
    case LH_ABI_ACROSS:
        return "across";
    case LH_ABI_APART:
        return "apart";
    default:
        return "one";
    }
}

static int is_conflict(const lh_abi_type *t)
{
    return t->verdict == LH_ABI_INSIDE || t->verdict == LH_ABI_ACROSS;
}

/* ---------------------------------------------------------------- JSON */

static void json_members(lh_json *j, const lh_abi_layout *l)
{
    size_t k;

    lh_json_key(j, "members");
    lh_json_begin_array(j);
    for (k = 0; k < l->nmembers; k++) {
        const lh_abi_member *m = &l->members[k];

        lh_json_begin_object(j);
        jkv(j, "name", m->name);
        lh_json_kv_int(j, "offset", (long long)m->offset);
        lh_json_kv_int(j, "bit_offset", m->bit_offset);
        lh_json_kv_int(j, "bit_size", m->bit_size);
        jkv(j, "type", m->type);
        lh_json_end_object(j);
    }
    lh_json_end_array(j);
    lh_json_key(j, "enumerators");
    lh_json_begin_array(j);
    for (k = 0; k < l->nenumerators; k++) {
        lh_json_begin_object(j);
        jkv(j, "name", l->enumerators[k].name);
        lh_json_kv_int(j, "value", (long long)l->enumerators[k].value);
        lh_json_end_object(j);
    }
    lh_json_end_array(j);
}

static void json_layout(const lh_abicheck *ac, const lh_abi_layout *l,
                        lh_json *j)
{
    size_t k;

    lh_json_begin_object(j);
    jkv(j, "kind", l->kind);
    lh_json_kv_int(j, "size", (long long)l->size);
    json_members(j, l);
    jstrings(j, "decl_files", l->decl_files, l->ndecl_files);
    lh_json_key(j, "objects");
    lh_json_begin_array(j);
    for (k = 0; k < l->nobjects; k++)
        jstr(j, file_path(ac, l->objects[k]));
    lh_json_end_array(j);
    lh_json_key(j, "units");
    lh_json_begin_array(j);
    for (k = 0; k < l->nunits; k++) {
        const lh_abi_unit *u = &ac->units[l->units[k]];

        lh_json_begin_object(j);
        jkv(j, "cu", u->cu);
        jkv(j, "file", u->file);
        lh_json_end_object(j);
    }
    lh_json_end_array(j);
    lh_json_end_object(j);
}

static void json_conflict(const lh_abicheck *ac, const lh_abi_type *t,
                          lh_json *j)
{
    size_t k;

    lh_json_begin_object(j);
    jkv(j, "kind", t->layouts[0].kind);
    jkv(j, "name", t->name);
    jkv(j, "header", t->header);
    lh_json_key(j, "typedef");
    lh_json_bool(j, t->is_typedef);
    lh_json_key(j, "local");
    lh_json_bool(j, t->is_local);
    jkv(j, "verdict", verdict_name(t->verdict));
    lh_json_key(j, "objects");
    lh_json_begin_array(j);
    jstr(j, file_path(ac, t->object_a));
    if (t->object_b != t->object_a)
        jstr(j, file_path(ac, t->object_b));
    lh_json_end_array(j);
    jkv(j, "via", t->via);
    if (ac->marked_lists) {
        lh_json_key(j, "marked");
        lh_json_bool(j, t->marked);
    }
    lh_json_key(j, "layouts");
    lh_json_begin_array(j);
    for (k = 0; k < t->nlayouts; k++)
        json_layout(ac, &t->layouts[k], j);
    lh_json_end_array(j);
    lh_json_end_object(j);
}

void lh_abicheck_json_conflicts(const lh_abicheck *ac, lh_json *j)
{
    size_t i;

    lh_json_begin_array(j);
    for (i = 0; i < ac->nshown; i++)
        if (is_conflict(ac->types[ac->shown[i]]))
            json_conflict(ac, ac->types[ac->shown[i]], j);
    lh_json_end_array(j);
}

static void json_apart(const lh_abicheck *ac, lh_json *j)
{
    size_t i, k, m;

    lh_json_begin_array(j);
    for (i = 0; i < ac->nshown; i++) {
        const lh_abi_type *t = ac->types[ac->shown[i]];

        if (t->verdict != LH_ABI_APART)
            continue;
        lh_json_begin_object(j);
        jkv(j, "kind", t->layouts[0].kind);
        jkv(j, "name", t->name);
        jkv(j, "header", t->header);
        lh_json_kv_int(j, "layouts", (long long)t->nlayouts);
        lh_json_key(j, "objects");
        lh_json_begin_array(j);
        for (k = 0; k < t->nlayouts; k++)
            for (m = 0; m < t->layouts[k].nobjects; m++)
                jstr(j, file_path(ac, t->layouts[k].objects[m]));
        lh_json_end_array(j);
        lh_json_end_object(j);
    }
    lh_json_end_array(j);
}

static void json_files(const lh_abicheck *ac, lh_json *j)
{
    static const char *const status_name[] = {"ok", "no-debug-info", "error"};
    static const char *const origin_name[] = {"named", "dependency",
                                              "mapped"};
    size_t i;

    lh_json_begin_array(j);
    for (i = 0; i < ac->nfiles; i++) {
        const lh_abi_file *f = &ac->files[i].pub;

        lh_json_begin_object(j);
        jkv(j, "path", f->path);
        jkv(j, "origin", origin_name[f->origin]);
        jkv(j, "status", status_name[f->status]);
        lh_json_kv_int(j, "units", (long long)f->units);
        jkv(j, "soname", f->soname);
        jkv(j, "debug_file", f->debug_file);
        jkv(j, "needed_by", f->needed_by);
        lh_json_end_object(j);
    }
    lh_json_end_array(j);
}

int lh_abicheck_write_json(const lh_abicheck *ac, FILE *out)
{
    lh_json j;

    lh_json_init(&j, out, 0);
    lh_json_begin_object(&j);
    lh_json_key(&j, "conflicts");
    lh_abicheck_json_conflicts(ac, &j);
    lh_json_key(&j, "files");
    json_files(ac, &j);
    jstrings(&j, "errors", ac->errors, ac->nerrors);
    jstrings(&j, "warnings", ac->warnings, ac->nwarnings);
    lh_json_key(&j, "apart");
    json_apart(ac, &j);
    lh_json_kv_int(&j, "types", (long long)ac->nshown);
    lh_json_kv_int(&j, "units", (long long)ac->nunits);
    lh_json_kv_int(&j, "status", lh_abicheck_status(ac));
    lh_json_end_object(&j);
    fputc('\n', out);
    return ferror(out) ? LH_EIO : 0;
}

/* ---------------------------------------------------------------- text */

/* Is member m present, identical, in every layout of t? */
static int member_common(const lh_abi_type *t, const lh_abi_member *m)
{
    size_t i, j;

    for (i = 0; i < t->nlayouts; i++) {
        const lh_abi_layout *o = &t->layouts[i];
        int found = 0;

        for (j = 0; j < o->nmembers && !found; j++) {
            const lh_abi_member *x = &o->members[j];

            found = x->offset == m->offset && x->bit_offset == m->bit_offset &&
                    x->bit_size == m->bit_size &&
                    strcmp(x->name, m->name) == 0 &&
                    strcmp(x->canon_type, m->canon_type) == 0;
        }
        if (!found)
            return 0;
    }
    return 1;
}

static int enumerator_common(const lh_abi_type *t, const lh_abi_enumerator *e)
{
    size_t i, j;

    for (i = 0; i < t->nlayouts; i++) {
        const lh_abi_layout *o = &t->layouts[i];
        int found = 0;

        for (j = 0; j < o->nenumerators && !found; j++)
            found = o->enumerators[j].value == e->value &&
                    strcmp(o->enumerators[j].name, e->name) == 0;
        if (!found)
            return 0;
    }
    return 1;
}

/* " in a.so, b.so and 2 more": the objects holding a layout. */
static void text_objects(const lh_abicheck *ac, const lh_abi_layout *l,
                         FILE *out)
{
    size_t k;

    for (k = 0; k < l->nobjects && k < TEXT_MAX_OBJECTS; k++)
        fprintf(out, "%s%s", k ? ", " : " in ",
                abi_base_name(file_path(ac, l->objects[k])));
    if (l->nobjects > TEXT_MAX_OBJECTS)
        fprintf(out, " and %zu more", l->nobjects - TEXT_MAX_OBJECTS);
}

static void text_members(const lh_abi_type *t, const lh_abi_layout *l,
                         FILE *out)
{
    size_t j;

    for (j = 0; j < l->nmembers; j++) {
        const lh_abi_member *m = &l->members[j];
        char pos[64];

        if (m->bit_size)
            snprintf(pos, sizeof pos, "%" PRIu64 " bit %u:%u", m->offset,
                     m->bit_offset, m->bit_size);
        else
            snprintf(pos, sizeof pos, "%" PRIu64, m->offset);
        fprintf(out, "   %c offset %-14s %s %s\n",
                member_common(t, m) ? ' ' : '*', pos, m->type, m->name);
    }
    for (j = 0; j < l->nenumerators; j++) {
        const lh_abi_enumerator *e = &l->enumerators[j];

        fprintf(out, "   %c %s = %" PRId64 "\n",
                enumerator_common(t, e) ? ' ' : '*', e->name, e->value);
    }
}

static void text_layout(const lh_abicheck *ac, const lh_abi_type *t,
                        size_t i, FILE *out)
{
    const lh_abi_layout *l = &t->layouts[i];
    size_t j;

    fprintf(out, "  layout %zu: %s, %" PRIu64 " bytes, %zu unit%s", i + 1,
            l->kind, l->size, l->nunits, l->nunits == 1 ? "" : "s");
    text_objects(ac, l, out);
    fputc('\n', out);
    text_members(t, l, out);
    for (j = 0; j < l->ndecl_files; j++)
        fprintf(out, "    declared in %s\n", l->decl_files[j]);
    for (j = 0; j < l->nunits && j < TEXT_MAX_UNITS; j++) {
        const lh_abi_unit *u = &ac->units[l->units[j]];

        fprintf(out, "    unit %s in %s\n", u->cu, u->file);
    }
    if (l->nunits > TEXT_MAX_UNITS)
        fprintf(out, "    ... and %zu more units\n",
                l->nunits - TEXT_MAX_UNITS);
}

/* "struct obj (header swap.h)" or "point_t (typedef of an anonymous
 * struct, header point.h)". */
static void text_title(const lh_abi_type *t, FILE *out)
{
    if (t->is_typedef)
        fprintf(out, "%s (typedef of an anonymous %s, %s %s)", t->name,
                t->layouts[0].kind, t->is_local ? "local to" : "header",
                t->header);
    else
        fprintf(out, "%s %s (%s %s)", t->layouts[0].kind, t->name,
                t->is_local ? "local to" : "header", t->header);
}

static void write_type_text(const lh_abicheck *ac, const lh_abi_type *t,
                            FILE *out)
{
    size_t i;

    text_title(t, out);
    fprintf(out, ": %zu layouts\n", t->nlayouts);
    if (t->verdict == LH_ABI_ACROSS)
        fprintf(out, "  exchanged between %s and %s through %s, which "
                     "share no layout of it\n",
                file_path(ac, t->object_a), file_path(ac, t->object_b),
                t->via);
    for (i = 0; i < t->nlayouts; i++)
        text_layout(ac, t, i, out);
}

static size_t count_verdict(const lh_abicheck *ac, lh_abi_verdict v)
{
    size_t i, n = 0;

    for (i = 0; i < ac->nshown; i++)
        n += ac->types[ac->shown[i]]->verdict == v;
    return n;
}

/* The types of the same name that never meet, one line each. */
static void text_apart(const lh_abicheck *ac, FILE *out)
{
    size_t i, n = count_verdict(ac, LH_ABI_APART), shown = 0;

    if (!n)
        return;
    fprintf(out, "same name, never exchanged (not conflicts): %zu type%s\n",
            n, n == 1 ? "" : "s");
    for (i = 0; i < ac->nshown && shown < TEXT_MAX_APART; i++) {
        const lh_abi_type *t = ac->types[ac->shown[i]];
        size_t k;

        if (t->verdict != LH_ABI_APART)
            continue;
        fputs("  ", out);
        text_title(t, out);
        for (k = 0; k < t->nlayouts; k++) {
            fprintf(out, "%slayout %zu", k ? "; " : ": ", k + 1);
            text_objects(ac, &t->layouts[k], out);
        }
        fputc('\n', out);
        shown++;
    }
    if (n > shown)
        fprintf(out, "  ... and %zu more (see --json)\n", n - shown);
    fputc('\n', out);
}

int lh_abicheck_write_text(const lh_abicheck *ac, FILE *out)
{
    size_t i, nconf = lh_abicheck_conflict_count(ac);
    size_t napart = count_verdict(ac, LH_ABI_APART);

    for (i = 0; i < ac->nshown; i++) {
        if (!is_conflict(ac->types[ac->shown[i]]))
            continue;
        write_type_text(ac, ac->types[ac->shown[i]], out);
        fputc('\n', out);
    }
    text_apart(ac, out);
    if (nconf)
        fprintf(out, "abi-check: %zu type%s with more than one layout",
                nconf, nconf == 1 ? "" : "s");
    else
        fputs("abi-check: no conflicting layouts", out);
    fprintf(out, " (%zu types in %zu units from %zu file%s%s", ac->nshown,
            ac->nunits, ac->nfiles, ac->nfiles == 1 ? "" : "s",
            nconf ? "; * marks what differs" : "");
    if (napart)
        fprintf(out, "; %zu same-named type%s never exchanged", napart,
                napart == 1 ? "" : "s");
    fputs(")\n", out);
    if (lh_abicheck_status(ac) == 2)
        fputs("abi-check: incomplete: some input could not be checked (see "
              "the messages above)\n",
              out);
    return ferror(out) ? LH_EIO : 0;
}

/* ------------------------------------------------------------ messages */

/* One line naming the dependencies and mapped objects without debug
 * info. */
static void no_debug_summary(const lh_abicheck *ac, FILE *err,
                             const char *prefix)
{
    size_t i, n = 0, named = 0;

    for (i = 0; i < ac->nfiles; i++)
        n += ac->files[i].pub.origin != LH_ABI_NAMED &&
             ac->files[i].pub.status == LH_ABI_FILE_NO_DEBUG;
    if (!n)
        return;
    fprintf(err, "%s%zu object%s without debug info, not checked:", prefix, n,
            n == 1 ? "" : "s");
    for (i = 0; i < ac->nfiles && named < SUMMARY_MAX_NAMES; i++)
        if (ac->files[i].pub.origin != LH_ABI_NAMED &&
            ac->files[i].pub.status == LH_ABI_FILE_NO_DEBUG)
            fprintf(err, "%s %s", named++ ? "," : "",
                    abi_base_name(ac->files[i].pub.path));
    if (n > named)
        fprintf(err, " and %zu more", n - named);
    fputs(" (install their debug packages, or --debug-dir)\n", err);
}

int lh_abicheck_write_messages(const lh_abicheck *ac, FILE *err,
                               const char *prefix)
{
    size_t k;

    for (k = 0; k < ac->nwarnings; k++)
        fprintf(err, "%swarning: %s\n", prefix, ac->warnings[k]);
    for (k = 0; k < ac->nerrors; k++)
        fprintf(err, "%s%s\n", prefix, ac->errors[k]);
    no_debug_summary(ac, err, prefix);
    if (!abi_checked_something(ac) && ac->nfiles)
        fprintf(err,
                "%snothing was checked: no object has debug info; build with "
                "-g, install the distribution's debug packages (Debian: the "
                "-dbgsym packages of the debian-debug archive; libc6-dbg for "
                "the C library), or point --debug-dir at the debug files\n",
                prefix);
    return ferror(err) ? LH_EIO : 0;
}
