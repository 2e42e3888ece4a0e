/*
 * The ABI conflicts of a hunt's culprit (lh_report.abi) in the three
 * outputs: report.json's "abi_conflicts" (abi-check --json's shape), a
 * clause of the verdict line, and a section of report.html that shows the
 * two layouts of each conflicting type side by side, the members that
 * differ marked.  The marked conflicts (their units on the culprit's top
 * allocation stacks) come first in the page and name the verdict.
 */
#include "report.h"

#include "abiconflicts.h"
#include "json.h"

#include <inttypes.h>
#include <string.h>

void lh_report_abi_json(const lh_report *r, lh_json *j)
{
    if (r->abi == NULL)
        return;
    lh_json_key(j, "abi_conflicts");
    lh_abiconflicts_write_json(r->abi, j);
}

/* The conflict to name: the first marked one, else the first. */
static size_t first_conflict(const lh_abiconflicts *c)
{
    for (size_t i = 0; i < c->count; i++)
        if (c->items[i].marked)
            return i;
    return 0;
}

void lh_report_abi_verdict(const lh_report *r, FILE *f)
{
    const lh_abiconflicts *c = r->abi;
    if (c == NULL || c->count == 0)
        return;
    size_t i = first_conflict(c);
    char line[512];
    lh_abiconflicts_describe(c, i, line, sizeof line);
    fprintf(f, "; ABI: %s%s", line,
            c->items[i].marked ? " (on the leak's allocation stack)" : "");
    if (c->count > 1)
        fprintf(f, " (%zu types with two layouts in all)", c->count);
}

/* One member as a row: offset, type, name; bit fields as offset.bit. */
static void member_cells(FILE *f, const lh_abi_member *m)
{
    fprintf(f, "<td>%" PRIu64, m->offset);
    if (m->bit_size)
        fprintf(f, ".%u:%u", m->bit_offset, m->bit_size);
    fprintf(f, "</td><td class=\"l code\">");
    lh_report_esc(f, m->type);
    fprintf(f, "</td><td class=\"l code\">");
    lh_report_esc(f, m->name[0] ? m->name : "(anonymous)");
    fprintf(f, "</td>");
}

/* 1 when the other layout has the same member at the same offset. */
static int same_member(const lh_abi_member *m, const lh_abi_layout *other)
{
    for (size_t k = 0; k < other->nmembers; k++) {
        const lh_abi_member *o = &other->members[k];
        if (o->offset == m->offset && o->bit_offset == m->bit_offset &&
            o->bit_size == m->bit_size && strcmp(o->name, m->name) == 0 &&
            strcmp(o->type, m->type) == 0)
            return 1;
    }
    return 0;
}

/* A layout's caption: kind, size, the objects that hold it. */
static void layout_caption(FILE *f, const lh_abicheck *ac,
                           const lh_abi_layout *l)
{
    fprintf(f, "%s, %" PRIu64 " bytes, in ", l->kind ? l->kind : "type",
            l->size);
    for (size_t k = 0; k < l->nobjects; k++) {
        const lh_abi_file *o = lh_abicheck_file(ac, l->objects[k]);
        const char *p = o && o->path ? o->path : "?";
        const char *base = strrchr(p, '/');
        fprintf(f, "%s<span class=\"code\">", k ? ", " : "");
        lh_report_esc(f, base ? base + 1 : p);
        fprintf(f, "</span>");
    }
}

/* The two layouts side by side: a row per member of either, a member
 * that the other layout lacks (at that offset, with that type and name)
 * marked. */
static void layouts_table(FILE *f, const lh_abicheck *ac,
                          const lh_abi_layout *a, const lh_abi_layout *b)
{
    fprintf(f, "<table class=\"abi\"><tr><th colspan=\"4\" class=\"l\">");
    layout_caption(f, ac, a);
    fprintf(f, "</th><th colspan=\"4\" class=\"l\">");
    layout_caption(f, ac, b);
    fprintf(f, "</th></tr>\n<tr>");
    for (int side = 0; side < 2; side++)
        fprintf(f, "<th></th><th>offset</th><th class=\"l\">type</th>"
                   "<th class=\"l\">member</th>");
    fprintf(f, "</tr>\n");
    size_t rows = a->nmembers > b->nmembers ? a->nmembers : b->nmembers;
    for (size_t k = 0; k < rows; k++) {
        fprintf(f, "<tr>");
        for (int side = 0; side < 2; side++) {
            const lh_abi_layout *l = side ? b : a, *other = side ? a : b;
            if (k >= l->nmembers) {
                fprintf(f, "<td></td><td></td><td></td><td></td>");
                continue;
            }
            /* the marker's cell, then the member's three */
            if (same_member(&l->members[k], other))
                fprintf(f, "<td></td>");
            else
                fprintf(f, "<td class=\"differs\">*</td>");
            member_cells(f, &l->members[k]);
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
}

/* One conflict: its description, then its first two layouts. */
static void conflict_html(FILE *f, const lh_abiconflicts *c, size_t i)
{
    const lh_abi_type *t = c->items[i].type;
    char line[512];
    lh_abiconflicts_describe(c, i, line, sizeof line);
    fprintf(f, "<h3 class=\"code\">");
    lh_report_esc(f, line);
    fprintf(f, "</h3>\n");
    if (c->items[i].marked)
        fprintf(f, "<p class=\"note\">One of its units is on the leak's top "
                   "allocation stacks.</p>\n");
    if (t->nlayouts >= 2)
        layouts_table(f, c->checker, &t->layouts[0], &t->layouts[1]);
}

void lh_report_abi_html(const lh_report *r, FILE *f)
{
    const lh_abiconflicts *c = r->abi;
    if (c == NULL)
        return;
    fprintf(f, "<h2 id=\"abi\">ABI conflicts in the culprit's processes</h2>"
               "\n");
    if (c->count == 0) {
        fprintf(f, "<p class=\"note\">No type with two layouts in what the "
                   "processes of the culprit's configuration loaded%s.</p>\n",
                c->status == 2 ? " (the check was incomplete)" : "");
        return;
    }
    fprintf(f, "<p class=\"note\">Types with two layouts among the objects "
               "the culprit's processes loaded, checked while they ran.  "
               "<span class=\"differs\">*</span> marks a member the other "
               "layout does not have at that offset.</p>\n");
    for (int pass = 0; pass < 2; pass++) /* marked first */
        for (size_t i = 0; i < c->count; i++)
            if ((c->items[i].marked != 0) == (pass == 0))
                conflict_html(f, c, i);
}
