/*
 * abicheck_cross.c - which same-named layouts are conflicts (the rules in
 * abicheck.h, "Objects and conflicts").
 *
 * Run after every addition (abi_settle).  First each layout learns the
 * files that hold it.  Then the exchanges: every symbol a file imports
 * (refers to without defining) is matched by name with every file that
 * defines it in another object; the types either side's declaration of
 * that symbol mentions (abicheck_syms.c) are exchanged between the two
 * objects.  The exchanges of types with more than one layout are kept as
 * sorted (type, object, object, symbol) records.  Last, each such type is
 * judged: two of its layouts in one primary object (INSIDE), or two
 * objects that hold no common layout and exchange it (ACROSS), else the
 * layouts live apart (APART).
 *
 * Cost: the symbols of all objects once (an index of definitions by
 * name), and per type with several layouts its (object, layout) pairs,
 * which are few: one per object that defines the type.
 */
#include "abicheck_int.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

struct exchange {
    size_t type;
    size_t ga, gb; /* objects (groups), ga < gb */
    const char *via;
};

struct definer {
    const char *name;
    size_t file;
    const struct abi_sym *sym;
};

struct settle {
    lh_abicheck *ac;
    struct definer *defs;
    size_t ndefs, defs_cap;
    abi_index def_index;
    struct exchange *ex;
    size_t nex, ex_cap;
};

/* ------------------------------------------------------ layout objects */

static int layout_objects(lh_abicheck *ac, lh_abi_layout *l)
{
    size_t i, k;
    int rc;

    l->nobjects = 0;
    for (i = 0; i < l->nunits; i++) {
        size_t f = ac->units[l->units[i]].file_index;

        for (k = 0; k < l->nobjects && l->objects[k] != f; k++)
            ;
        if (k < l->nobjects)
            continue;
        rc = lh_grow((void **)&l->objects, &l->objects_cap, l->nobjects + 1,
                     sizeof *l->objects, 2);
        if (rc)
            return rc;
        l->objects[l->nobjects++] = f;
    }
    return 0;
}

/* ----------------------------------------------------------- exchanges */

static uint64_t def_hash_of(size_t i, const void *ctx)
{
    const struct settle *st = ctx;

    return abi_fnv1a(st->defs[i].name, ABI_FNV_BASIS);
}

/* Indexes every defined symbol of every file by name. */
static int index_definitions(struct settle *st)
{
    lh_abicheck *ac = st->ac;
    size_t f, i;
    int rc = 0;

    for (f = 0; f < ac->nfiles && !rc; f++) {
        for (i = 0; i < ac->files[f].nsyms && !rc; i++) {
            const struct abi_sym *s = &ac->files[f].syms[i];

            if (!s->defined)
                continue;
            rc = abi_index_reserve(&st->def_index, def_hash_of, st);
            if (!rc)
                rc = lh_grow((void **)&st->defs, &st->defs_cap, st->ndefs + 1,
                             sizeof *st->defs, 64);
            if (rc)
                break;
            st->defs[st->ndefs].name = s->name;
            st->defs[st->ndefs].file = f;
            st->defs[st->ndefs].sym = s;
            abi_index_put(&st->def_index, abi_fnv1a(s->name, ABI_FNV_BASIS),
                          st->ndefs++);
        }
    }
    return rc;
}

static int add_exchange(struct settle *st, size_t type, size_t g1, size_t g2,
                        const char *via)
{
    int rc;

    if (st->ac->types[type]->nlayouts < 2)
        return 0;
    rc = lh_grow((void **)&st->ex, &st->ex_cap, st->nex + 1, sizeof *st->ex,
                 64);
    if (rc)
        return rc;
    st->ex[st->nex].type = type;
    st->ex[st->nex].ga = g1 < g2 ? g1 : g2;
    st->ex[st->nex].gb = g1 < g2 ? g2 : g1;
    st->ex[st->nex].via = via;
    st->nex++;
    return 0;
}

/* The types of an import and of one of its definitions, exchanged
 * between the two objects. */
static int exchange_pair(struct settle *st, const struct abi_sym *imp,
                         size_t gi, const struct definer *d)
{
    size_t gd = st->ac->files[d->file].group, k;
    int rc = 0;

    if (gd == gi)
        return 0;
    for (k = 0; k < imp->ntypes && !rc; k++)
        rc = add_exchange(st, imp->types[k], gi, gd, imp->name);
    for (k = 0; k < d->sym->ntypes && !rc; k++)
        rc = add_exchange(st, d->sym->types[k], gi, gd, imp->name);
    return rc;
}

/* Matches one file's imports with the definitions of the others. */
static int file_exchanges(struct settle *st, size_t f)
{
    const struct abi_file *file = &st->ac->files[f];
    const abi_index *x = &st->def_index;
    size_t i, s;
    int rc = 0;

    if (!x->nslots)
        return 0;
    for (i = 0; i < file->nsyms && !rc; i++) {
        const struct abi_sym *imp = &file->syms[i];

        if (!imp->undefined || imp->defined)
            continue;
        for (s = abi_index_first(x, abi_fnv1a(imp->name, ABI_FNV_BASIS));
             x->slots[s] && !rc; s = abi_index_next(x, s)) {
            const struct definer *d = &st->defs[x->slots[s] - 1];

            if (strcmp(d->name, imp->name) == 0)
                rc = exchange_pair(st, imp, file->group, d);
        }
    }
    return rc;
}

static int cmp_exchange(const void *a, const void *b)
{
    const struct exchange *x = a, *y = b;

    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    if (x->ga != y->ga)
        return x->ga < y->ga ? -1 : 1;
    if (x->gb != y->gb)
        return x->gb < y->gb ? -1 : 1;
    return 0;
}

/* The exchange of type t between objects g1 and g2, or NULL. */
static const struct exchange *find_exchange(const struct settle *st, size_t t,
                                            size_t g1, size_t g2)
{
    struct exchange key;

    if (!st->nex)
        return NULL; /* bsearch wants an array */
    key.type = t;
    key.ga = g1 < g2 ? g1 : g2;
    key.gb = g1 < g2 ? g2 : g1;
    return bsearch(&key, st->ex, st->nex, sizeof *st->ex, cmp_exchange);
}

/* ------------------------------------------------------------- verdicts */

/* One (object, layout) pair of a type, and a file of that object that
 * holds the layout. */
struct placed {
    size_t group, layout, file;
};

/* The distinct (object, layout) pairs of t, into *p (caller frees). */
static int place_layouts(lh_abicheck *ac, const lh_abi_type *t,
                         struct placed **p, size_t *n)
{
    size_t cap = 0, j, k, i;
    int rc = 0;

    *n = 0;
    for (j = 0; j < t->nlayouts && !rc; j++) {
        const lh_abi_layout *l = &t->layouts[j];

        for (k = 0; k < l->nobjects && !rc; k++) {
            size_t g = ac->files[l->objects[k]].group;

            for (i = 0; i < *n && !((*p)[i].group == g &&
                                    (*p)[i].layout == j); i++)
                ;
            if (i < *n)
                continue;
            rc = lh_grow((void **)p, &cap, *n + 1, sizeof **p, 8);
            if (!rc)
                (*p)[(*n)++] = (struct placed){g, j, l->objects[k]};
        }
    }
    return rc;
}

/* Is the object primary (today's rule inside it)? */
static int group_primary(const lh_abicheck *ac, size_t g)
{
    size_t f;

    if (g != ABI_STATIC_GROUP)
        return ac->files[g].pub.primary;
    for (f = 0; f < ac->nfiles; f++)
        if (ac->files[f].group == ABI_STATIC_GROUP && ac->files[f].pub.primary)
            return 1;
    return 0;
}

/* Does object g hold layout j of the type? */
static int holds(const struct placed *p, size_t n, size_t g, size_t j)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i].group == g && p[i].layout == j)
            return 1;
    return 0;
}

/* Do objects g1 and g2 share a layout? */
static int share_layout(const struct placed *p, size_t n, size_t g1, size_t g2)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i].group == g1 && holds(p, n, g2, p[i].layout))
            return 1;
    return 0;
}

/* INSIDE: two layouts in one primary object. */
static int judge_inside(lh_abicheck *ac, lh_abi_type *t, const struct placed *p,
                        size_t n)
{
    size_t a, b;

    for (a = 0; a < n; a++)
        for (b = a + 1; b < n; b++)
            if (p[a].group == p[b].group && p[a].layout != p[b].layout &&
                group_primary(ac, p[a].group)) {
                t->verdict = LH_ABI_INSIDE;
                t->object_a = p[a].file;
                t->object_b = p[b].file;
                return 1;
            }
    return 0;
}

/* ACROSS: exchanged between two objects without a common layout. */
static int judge_across(const struct settle *st, lh_abi_type *t, size_t ti,
                        const struct placed *p, size_t n)
{
    const struct exchange *e;
    size_t a, b;

    for (a = 0; a < n; a++)
        for (b = a + 1; b < n; b++) {
            if (p[a].group == p[b].group ||
                share_layout(p, n, p[a].group, p[b].group))
                continue;
            e = find_exchange(st, ti, p[a].group, p[b].group);
            if (!e)
                continue;
            t->verdict = LH_ABI_ACROSS;
            t->object_a = p[a].file;
            t->object_b = p[b].file;
            t->via = e->via;
            return 1;
        }
    return 0;
}

static int judge(struct settle *st, size_t ti)
{
    lh_abi_type *t = st->ac->types[ti];
    struct placed *p = NULL;
    size_t n = 0;
    int rc;

    t->verdict = LH_ABI_ONE_LAYOUT;
    t->via = NULL;
    t->object_a = t->object_b = 0;
    if (t->nlayouts < 2)
        return 0;
    rc = place_layouts(st->ac, t, &p, &n);
    if (!rc && !judge_inside(st->ac, t, p, n) &&
        !judge_across(st, t, ti, p, n))
        t->verdict = LH_ABI_APART;
    lh_free(p);
    return rc;
}

int abi_settle(lh_abicheck *ac)
{
    struct settle st;
    size_t i, j;
    int rc = 0;

    memset(&st, 0, sizeof st);
    st.ac = ac;
    for (i = 0; i < ac->nshown && !rc; i++)
        for (j = 0; j < ac->types[ac->shown[i]]->nlayouts && !rc; j++)
            rc = layout_objects(ac, &ac->types[ac->shown[i]]->layouts[j]);
    if (!rc)
        rc = index_definitions(&st);
    for (i = 0; i < ac->nfiles && !rc; i++)
        rc = file_exchanges(&st, i);
    if (!rc && st.nex)
        qsort(st.ex, st.nex, sizeof *st.ex, cmp_exchange);
    for (i = 0; i < ac->nshown && !rc; i++)
        rc = judge(&st, ac->shown[i]);
    lh_free(st.defs);
    lh_free(st.ex);
    abi_index_free(&st.def_index);
    return rc;
}
