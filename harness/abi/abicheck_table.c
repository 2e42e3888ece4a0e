/*
 * abicheck_table.c - the type table: keys, their layouts, units and files.
 *
 * Types live in a table keyed by (typedef-or-tag, name, key file), see
 * abicheck.h.  The table also holds keys that no definition was read for
 * yet (a type mentioned by a symbol's declaration, abicheck_syms.c); the
 * public accessors see only the types with a layout (`shown`).  Each type
 * keeps its distinct layouts; a layout is compared through a canonical
 * string (kind, size, members with bit positions and canonical types, and
 * enumerators), hashed with FNV-1a.  A layout seen again only gains a unit
 * index, so a header included by a thousand units costs one layout and a
 * thousand indexes.
 */
#include "abicheck_int.h"

#include "alloc.h"

#include <string.h>

void abi_layout_release(lh_abi_layout *l)
{
    size_t i;

    for (i = 0; i < l->nmembers; i++) {
        lh_free(l->members[i].name);
        lh_free(l->members[i].type);
        lh_free(l->members[i].canon_type);
    }
    lh_free(l->members);
    for (i = 0; i < l->nenumerators; i++)
        lh_free(l->enumerators[i].name);
    lh_free(l->enumerators);
    lh_free(l->units);
    abi_free_strings(l->decl_files, l->ndecl_files);
    lh_free(l->objects);
    lh_free(l->canon);
    memset(l, 0, sizeof *l);
}

void abi_type_free(lh_abi_type *t)
{
    size_t i;

    if (!t)
        return;
    for (i = 0; i < t->nlayouts; i++)
        abi_layout_release(&t->layouts[i]);
    lh_free(t->layouts);
    lh_free(t->name);
    lh_free(t->header);
    lh_free(t);
}

static uint64_t key_hash(int is_typedef, const char *name, const char *header)
{
    uint64_t h = ABI_FNV_BASIS;

    h = abi_fnv1a(is_typedef ? "T" : "t", h);
    h = abi_fnv1a(name, h);
    h = abi_fnv1a("\x1f", h);
    return abi_fnv1a(header, h);
}

static uint64_t type_hash_of(size_t i, const void *ctx)
{
    const lh_abicheck *ac = ctx;

    return ac->types[i]->hash;
}

/* The index of a key already in the table, or ABI_NONE. */
static size_t type_lookup(const lh_abicheck *ac, uint64_t h, int is_typedef,
                          const char *name, const char *header)
{
    const abi_index *x = &ac->type_index;
    size_t s;

    if (!x->nslots)
        return ABI_NONE;
    for (s = abi_index_first(x, h); x->slots[s]; s = abi_index_next(x, s)) {
        const lh_abi_type *t = ac->types[x->slots[s] - 1];

        if (t->hash == h && t->is_typedef == is_typedef &&
            strcmp(t->name, name) == 0 && strcmp(t->header, header) == 0)
            return x->slots[s] - 1;
    }
    return ABI_NONE;
}

int abi_type_get(lh_abicheck *ac, int is_typedef, int is_local,
                 const char *name, const char *header, size_t *index)
{
    uint64_t h = key_hash(is_typedef, name, header);
    lh_abi_type *t;
    int rc;

    *index = type_lookup(ac, h, is_typedef, name, header);
    if (*index != ABI_NONE)
        return 0;
    rc = abi_index_reserve(&ac->type_index, type_hash_of, ac);
    if (!rc)
        rc = lh_grow((void **)&ac->types, &ac->types_cap, ac->ntypes + 1,
                     sizeof *ac->types, 8);
    if (rc)
        return rc;
    t = lh_calloc(1, sizeof *t);
    if (!t)
        return LH_ENOMEM;
    t->name = lh_strdup(name);
    t->header = lh_strdup(header);
    if (!t->name || !t->header) {
        abi_type_free(t);
        return LH_ENOMEM;
    }
    t->is_typedef = is_typedef;
    t->is_local = is_local;
    t->hash = h;
    ac->types[ac->ntypes] = t;
    abi_index_put(&ac->type_index, h, ac->ntypes);
    *index = ac->ntypes++;
    return 0;
}

int abi_layout_add_unit(lh_abi_layout *l, size_t unit)
{
    int rc;

    if (l->nunits && l->units[l->nunits - 1] == unit)
        return 0;
    rc = lh_grow((void **)&l->units, &l->units_cap, l->nunits + 1,
                 sizeof *l->units, 8);
    if (rc)
        return rc;
    l->units[l->nunits++] = unit;
    return 0;
}

int abi_layout_add_decl(lh_abi_layout *l, const char *path)
{
    size_t i;
    char **p;

    for (i = 0; i < l->ndecl_files; i++)
        if (strcmp(l->decl_files[i], path) == 0)
            return 0;
    if (l->ndecl_files >= ABI_MAX_DECL_FILES)
        return 0;
    p = lh_realloc(l->decl_files, (l->ndecl_files + 1) * sizeof *p);
    if (!p)
        return LH_ENOMEM;
    l->decl_files = p;
    p[l->ndecl_files] = lh_strdup(path);
    if (!p[l->ndecl_files])
        return LH_ENOMEM;
    l->ndecl_files++;
    return 0;
}

lh_abi_layout *abi_type_find_layout(lh_abicheck *ac, size_t ti,
                                    const char *canon, uint64_t hash)
{
    lh_abi_type *t = ac->types[ti];
    size_t i;

    for (i = 0; i < t->nlayouts; i++)
        if (t->layouts[i].hash == hash &&
            strcmp(t->layouts[i].canon, canon) == 0)
            return &t->layouts[i];
    return NULL;
}

/* A type's first layout makes it visible to the accessors. */
static int show(lh_abicheck *ac, size_t ti)
{
    int rc = lh_grow((void **)&ac->shown, &ac->shown_cap, ac->nshown + 1,
                     sizeof *ac->shown, 64);

    if (rc)
        return rc;
    ac->shown[ac->nshown++] = ti;
    return 0;
}

int abi_type_add_layout(lh_abicheck *ac, size_t ti, lh_abi_layout *l,
                        size_t unit, const char *decl)
{
    lh_abi_type *t = ac->types[ti];
    lh_abi_layout *have;
    int rc;

    rc = lh_grow((void **)&t->layouts, &t->layouts_cap, t->nlayouts + 1,
                 sizeof *t->layouts, 2);
    if (!rc && t->nlayouts == 0)
        rc = show(ac, ti);
    if (rc)
        return rc;
    have = &t->layouts[t->nlayouts++];
    *have = *l;
    memset(l, 0, sizeof *l);
    rc = abi_layout_add_unit(have, unit);
    if (!rc && decl)
        rc = abi_layout_add_decl(have, decl);
    return rc;
}

int abi_unit_add(lh_abicheck *ac, const char *cu, const char *path,
                 const char *display, size_t *unit)
{
    lh_abi_unit *u;
    int rc;

    rc = lh_grow((void **)&ac->units, &ac->units_cap, ac->nunits + 1,
                 sizeof *ac->units, 64);
    if (rc)
        return rc;
    u = &ac->units[ac->nunits];
    u->cu = lh_strdup(cu);
    u->file = lh_strdup(display);
    u->path = lh_strdup(path ? path : cu);
    u->file_index = ac->cur_file;
    if (!u->cu || !u->file || !u->path) {
        lh_free(u->cu);
        lh_free(u->file);
        lh_free(u->path);
        return LH_ENOMEM;
    }
    *unit = ac->nunits++;
    return 0;
}

int abi_file_add(lh_abicheck *ac, const char *path, lh_abi_origin origin,
                 size_t *at)
{
    struct abi_file *f;
    int rc = lh_grow((void **)&ac->files, &ac->files_cap, ac->nfiles + 1,
                     sizeof *ac->files, 8);

    if (rc)
        return rc;
    f = &ac->files[ac->nfiles];
    memset(f, 0, sizeof *f);
    f->pub.path = lh_strdup(path);
    if (!f->pub.path)
        return LH_ENOMEM;
    f->pub.origin = origin;
    f->pub.status = LH_ABI_FILE_ERROR;
    f->pub.primary = origin == LH_ABI_NAMED;
    f->fatal = origin == LH_ABI_NAMED;
    f->group = ABI_STATIC_GROUP;
    *at = ac->nfiles++;
    return 0;
}
